#!/usr/bin/env bash
# The identifier hierarchy on one machine: starts four idnode daemons on
# loopback, wires the delegations and shows a resolution travelling the
# levels.
#
#   top-level node   127.0.0.1:26411  homed 88       0.NA/88.118   -> secondary
#   secondary node   127.0.0.1:26412  homed 88.118   0.NA/88.118.8 -> enterprise
#   enterprise node  127.0.0.1:26413  homed 88.118.8 hosts 88.118.8/*
#   recursive node   127.0.0.1:26414  --recursive --root 127.0.0.1:26411
#
# usage: scripts/demo.sh [start]   (re)start the nodes and run the tour
#        scripts/demo.sh stop      stop the nodes started here
# Environment: B (build directory, default build), DEMO_DIR (default
#   ./run/demo: data, logs, control sockets, pid files), DEMO_PORT (first
#   of the four ports, default 26411).
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
DIR=${DEMO_DIR:-$PWD/run/demo}
PORT=${DEMO_PORT:-26411}
NAMES="top secondary enterprise recursive"
IDCTL=$B/idctl
IDNODE=$B/idnode

addr_of() {
	local i=0 n
	for n in $NAMES; do
		[ "$n" = "$1" ] && { echo "127.0.0.1:$((PORT + i))"; return; }
		i=$((i + 1))
	done
}
TOP=$(addr_of top)
SEC=$(addr_of secondary)
ENT=$(addr_of enterprise)
REC=$(addr_of recursive)

# The pid in a pid file, if that process is still an idnode of ours.
our_pid() {
	local f=$DIR/$1/idnode.pid pid
	[ -f "$f" ] || return 1
	pid=$(cat "$f")
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "idnode.*$DIR/$1" ||
		return 1
	echo "$pid"
}

stop_all() {
	local n pid stopped=0
	for n in $NAMES; do
		if pid=$(our_pid "$n"); then
			kill -TERM "$pid"
			for _ in $(seq 100); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.05
			done
			if kill -0 "$pid" 2>/dev/null; then
				echo "demo: $n node (pid $pid) did not stop in 5 s" >&2
			else
				echo "stopped the $n node (pid $pid)"
				stopped=$((stopped + 1))
			fi
		fi
		rm -f "$DIR/$n/idnode.pid"
	done
	[ "$stopped" -gt 0 ] || echo "no demo nodes were running"
}

case ${1:-start} in
stop) stop_all; exit 0 ;;
start) ;;
-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
*) echo "demo.sh: unknown command '$1' (start, stop)" >&2; exit 2 ;;
esac

for bin in "$IDNODE" "$IDCTL"; do
	[ -x "$bin" ] || { echo "demo.sh: $bin is missing: run make (or make demo)" >&2; exit 1; }
done

# Restart cleanly: a demo is a fresh tour each time.
for n in $NAMES; do
	if our_pid "$n" >/dev/null; then
		stop_all >/dev/null
		break
	fi
done
rm -rf "$DIR"
mkdir -p "$DIR"

start_node() {
	local name=$1
	shift
	mkdir -p "$DIR/$name"
	"$IDNODE" --data "$DIR/$name/data" --listen "$(addr_of "$name")" \
		--control "$DIR/$name/control.sock" --workers 2 "$@" \
		>"$DIR/$name/idnode.log" 2>&1 &
	echo $! >"$DIR/$name/idnode.pid"
}

start_node top --home 88 --advertise "$TOP"
start_node secondary --home 88.118 --parent "$TOP"
start_node enterprise --home 88.118.8 --parent "$SEC"
start_node recursive --recursive --root "$TOP" --cache-negative-ttl 10

for n in $NAMES; do
	for _ in $(seq 200); do
		grep -q "idnode ready" "$DIR/$n/idnode.log" && break
		if ! kill -0 "$(cat "$DIR/$n/idnode.pid")" 2>/dev/null; then
			echo "demo.sh: the $n node failed to start ($(addr_of "$n")):" >&2
			cat "$DIR/$n/idnode.log" >&2
			stop_all >/dev/null
			exit 1
		fi
		sleep 0.05
	done
	grep -q "idnode ready" "$DIR/$n/idnode.log" || {
		echo "demo.sh: the $n node did not get ready" >&2
		stop_all >/dev/null
		exit 1
	}
done

ctl() { local n=$1; shift; "$IDCTL" -C "$DIR/$n/control.sock" "$@"; }
if [ -t 1 ]; then
	say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	say() { printf '\n== %s\n' "$*"; }
fi
show() { printf '$ %s\n' "$*"; "$@" || true; }

say "Four nodes on loopback"
printf '  %-11s %-16s %s\n' top "$TOP" "homed 88" \
	secondary "$SEC" "homed 88.118" \
	enterprise "$ENT" "homed 88.118.8" \
	recursive "$REC" "recursive, root hint $TOP"

say "Delegations: the parent holds 0.NA/<child> with the child's HS_SITE"
show "$IDCTL" -C "$DIR/top/control.sock" delegate 88.118 --to "$SEC"
show "$IDCTL" -C "$DIR/secondary/control.sock" delegate 88.118.8 --to "$ENT"

say "The enterprise registers identifiers"
ctl enterprise --overwrite create 88.118.8/JXDY2106023 \
	'1:URL=https://example.com/products/JXDY2106023' \
	'2:EMAIL=quality@example.com' \
	'3:BATCH=2026-11-A' \
	'4,perms=c:COST=visible to the enterprise only' \
	'100:HS_ADMIN=0.NA/88.118.8@300'
ctl enterprise --overwrite create 88.118.8/motor-7731 \
	'1:URL=https://example.com/motors/7731' \
	'2,ttl=3600:SPEC=IE3 7.5kW 400V' \
	'3,ref=88.118.8/JXDY2106023@1:PART_OF=88.118.8/JXDY2106023'
ctl enterprise list 88.118.8

say "Walking the levels by hand (--no-recursion): each node refers onward"
show "$IDCTL" -s "$TOP" resolve 88.118.8/JXDY2106023 --no-recursion
show "$IDCTL" -s "$SEC" resolve 88.118.8/JXDY2106023 --no-recursion
show "$IDCTL" -s "$ENT" resolve 88.118.8/JXDY2106023 --no-recursion

say "The recursive node walks them for the client"
# requests each upstream node has seen (the stats request may count itself)
reqs() { ctl "$1" --json stats | sed -n 's/^ *"requests": \([0-9]*\).*/\1/p'; }
snap() { local n; for n in top secondary enterprise; do reqs "$n"; done | tr '\n' ' '; }
c1=$(reqs top)
c2=$(reqs top)
cost=$((c2 - c1)) # what one stats request adds
read -r -a s0 <<<"$(snap)"
t0=$(date +%s%N)
show "$IDCTL" -s "$REC" resolve 88.118.8/JXDY2106023
t1=$(date +%s%N)
read -r -a s1 <<<"$(snap)"
echo "(first answer: $(((t1 - t0) / 1000000)) ms, idctl start-up included)"

say "Asked again: answered from the recursive node's cache"
t0=$(date +%s%N)
show "$IDCTL" -s "$REC" resolve 88.118.8/JXDY2106023
t1=$(date +%s%N)
read -r -a s2 <<<"$(snap)"
echo "(second answer: $(((t1 - t0) / 1000000)) ms, idctl start-up included)"
echo
echo "requests the upstream nodes received:"
printf '  %-11s %12s %13s\n' node "1st query" "2nd query"
i=0
for n in top secondary enterprise; do
	printf '  %-11s %12d %13d\n' "$n" $((s1[i] - s0[i] - cost)) $((s2[i] - s1[i] - cost))
	i=$((i + 1))
done
echo
show "$IDCTL" -C "$DIR/recursive/control.sock" cache stats

stop_cmd="scripts/demo.sh stop"
[ -n "${DEMO_DIR:-}" ] && stop_cmd="DEMO_DIR=$DIR $stop_cmd"
[ -n "${DEMO_PORT:-}" ] && stop_cmd="DEMO_PORT=$PORT $stop_cmd"
say "Other things to try"
cat <<EOT
  $IDCTL -s $REC resolve 88.118.8/motor-7731
  $IDCTL -s $REC resolve 88.118.8/no-such-thing        # rc 100, cached 10 s
  $IDCTL -s $TOP siteinfo
  $IDCTL -C $DIR/recursive/control.sock stats
  $IDCTL -C $DIR/recursive/control.sock cache flush 88.118.8
  $IDCTL -C $DIR/secondary/control.sock undelegate 88.118.8

The nodes keep running; data, logs and control sockets are in $DIR.
Stop them with:
  $stop_cmd
EOT
