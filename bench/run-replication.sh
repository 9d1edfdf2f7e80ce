#!/usr/bin/env bash
# Replication: an LMDB primary and an idnode mirror following it on
# loopback (docs/replication.md), measured in one run:
#
#   lag      commit on the primary to visibility on the mirror, p50/p99,
#            under a steady RATES creates/s (idctl import fed at a fixed
#            rate by bench/repl_lag.py), measured two ways: the same UDP
#            prober resolving sampled identifiers on both nodes (first
#            answer on the mirror - first answer on the primary), and the
#            mirror's own lag_ms of `idctl replication status --json`
#            read every 100 ms;
#   catch-up the mirror stopped (SIGTERM) while CHANGES creates are
#            imported on the primary, then started: changes/s until it
#            has applied them all (lag_txns 0);
#   dump     a new mirror on an empty store copies the primary's whole
#            store (CHANGES + the lag runs' identifiers): ids/s, time;
#   checksum resolution throughput before and after the record checksum
#            (bench/compare.sh --base CHECKSUM_BASE, UDP and HTTP,
#            alternated in this run).
#
# The reference: HANDLE.NET's mirrors poll every replication_interval,
# a minute by default, so a change reaches them in 0-60 s (30 s mean).
#
# usage: bench/run-replication.sh [--smoke] [--rates "1000 10000"]
#            [--duration SEC] [--changes N] [--no-compare]
#            [--primary-store URI] [--out FILE]
#   --smoke            small counts (a few s of 200 and 1000 creates/s,
#                      20 000 changes, no checksum comparison): < 1 min
#   --primary-store U  the primary on this store (a postgresql:// URI;
#                      default LMDB in the run's directory); the mirror
#                      is LMDB either way; adds the two nodes' UDP
#                      resolution rates (idctl bench) to the report
#   --out FILE         also write the report there (markdown)
# Environment: B (build), NO_BUILD=1, PORTS (LO-HI: the ports to use,
#   default any free one), CHECKSUM_BASE (1aed58f, the last commit before
#   record checksums), BASE_BUILD (a built base: passed to compare.sh as
#   --base-build instead of building CHECKSUM_BASE), COMPARE_SIZE (200000),
#   KEEP=1 (keep the run's directory).
# Exits 0 when every sampled identifier reached the mirror and every phase
# completed.
set -eu
cd "$(dirname "$0")/.."
NAME=bench/run-replication.sh
. bench/lib.sh

B=${B:-build}
RATES="1000 10000"
DURATION=30
CHANGES=1000000
BENCH_S=5
COMPARE=1
PSTORE=
OUT=
CHECKSUM_BASE=${CHECKSUM_BASE:-1aed58f}
COMPARE_SIZE=${COMPARE_SIZE:-200000}
PREFIX=20.500.77
args="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) RATES="200 1000" DURATION=3 CHANGES=20000 COMPARE=0 BENCH_S=1 ;;
	--rates) RATES=${2:?--rates needs a list}; shift ;;
	--duration) DURATION=${2:?--duration needs seconds}; shift ;;
	--changes) CHANGES=${2:?--changes needs a count}; shift ;;
	--no-compare) COMPARE=0 ;;
	--primary-store) PSTORE=${2:?--primary-store needs a URI}; shift ;;
	--out) OUT=${2:?--out needs a file}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "$NAME: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $CHANGES in '' | *[!0-9]*) fail "--changes wants a number" ;; esac
command -v python3 >/dev/null || fail "python3 is missing"

# A free port in PORTS (LO-HI) when given, else lib.sh's pick_port.
port() {
	[ -n "${PORTS:-}" ] || { pick_port; return; }
	local lo=${PORTS%-*} hi=${PORTS#*-} p
	for _ in $(seq 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		grep -qx "$p" "$BENCH_PORTS_FILE" 2>/dev/null && continue
		if [ -z "$(ss -Hlnuta "sport = :$p" 2>/dev/null)" ]; then
			echo "$p" >>"$BENCH_PORTS_FILE"
			echo "$p"
			return
		fi
	done
	fail "no free port in $PORTS"
}

bench_init
bench_build
run_start=$SECONDS
res=$tmp/results.md
: >"$res"
bad=0

echo "== keys"
"$IDCTL" keygen --out "$tmp/repl.pem" >/dev/null
"$IDCTL" keygen --out "$tmp/server.pem" >/dev/null
pubhex=$(od -An -v -tx1 "$tmp/repl.pem.pub" | tr -d ' \n')
ADMIN=0.NA/$PREFIX:300

# start_node NAME ARGS...: sets NAME_pid, NAME_port, NAME_sock
prim_port='' prim_sock='' mir_pid='' mir_port='' mir_sock='' # set by eval
start_node() {
	local n=$1 p pid
	shift
	for _ in 1 2 3; do
		p=$(port)
		"$IDNODE" --listen "127.0.0.1:$p" --control "$tmp/$n.sock" \
			--rrl-rate 0 "$@" >>"$tmp/$n.log" 2>&1 &
		pid=$!
		if wait_log "$tmp/$n.log" "idnode ready" "$pid" 60; then
			bench_track "$pid"
			eval "${n}_pid=$pid ${n}_port=$p"
			eval "${n}_sock=$tmp/$n.sock"
			return 0
		fi
		bench_stop "$pid"
	done
	tail -20 "$tmp/$n.log" >&2
	fail "$n did not start"
}

# status NAME KEY: a field of source 0 of NAME's replication status
status() {
	"$IDCTL" -C "$tmp/$1.sock" replication status --json 2>/dev/null |
		python3 -c 'import json, sys
try: print(json.load(sys.stdin)["sources"][0][sys.argv[1]])
except Exception: print("")' "$2"
}

# wait_synced NAME MIN_APPLIED SEC: until NAME follows with lag_txns 0
# and has applied at least MIN_APPLIED changes since it started
wait_synced() {
	local end=$((SECONDS + $3)) st lt ap
	while [ "$SECONDS" -lt "$end" ]; do
		st=$(status "$1" state)
		lt=$(status "$1" lag_txns)
		ap=$(status "$1" applied)
		if [ "$st" = following ] && [ "$lt" = 0 ] && [ "${ap:-0}" -ge "$2" ]; then
			return 0
		fi
		sleep 0.05
	done
	echo "   $1: state '$st' lag_txns '$lt' applied '$ap'" >&2
	return 1
}

mirror_args() {
	echo --data "$tmp/$1-data" --replicate-from "127.0.0.1:$prim_port" \
		--replication-auth "$ADMIN" --replication-key "$tmp/repl.pem"
}

echo "== primary ($([ -n "$PSTORE" ] && echo PostgreSQL || echo LMDB)) and mirror"
if [ -n "$PSTORE" ]; then
	# --data too: the node keeps its lock and markers there
	pstore=(--store "$PSTORE" --data "$tmp/prim-data")
else
	pstore=(--data "$tmp/prim-data")
fi
start_node prim "${pstore[@]}" --home "$PREFIX" --replication-admin "$ADMIN" \
	--server-key "$tmp/server.pem"
"$IDCTL" -C "$prim_sock" create "0.NA/$PREFIX" \
	"100:HS_ADMIN=0.NA/$PREFIX@300" "300:HS_PUBKEY=hex:$pubhex" >/dev/null ||
	fail "cannot create the replication admin"
# shellcheck disable=SC2046
start_node mir $(mirror_args mir)
wait_synced mir 0 60 || fail "the mirror did not reach the primary"

{
	echo "## Lag: commit on the primary to visibility on the mirror"
	echo
	echo "| creates/s asked | achieved | s | creates | probed | prober p50 ms | prober p99 ms | prober max ms | status lag_ms p50 | p99 | max | write to primary p50/p99 ms | writer late max ms |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} >>"$res"
for r in $RATES; do
	# about 50 probed identifiers a second, whatever the rate
	s=$(((r + 49) / 50))
	# a batch per millisecond's records: the import sends as lines come
	batch=$(((r + 999) / 1000))
	echo "== lag at $r creates/s for $DURATION s (one probe per $s creates, import batch $batch)"
	rc=0
	python3 bench/repl_lag.py "$IDCTL" "$prim_sock" "127.0.0.1:$prim_port" \
		"$mir_sock" "127.0.0.1:$mir_port" "$PREFIX" "r$r" "$r" "$DURATION" \
		"$s" 1 "$batch" >"$tmp/lag-$r.json" || rc=$?
	[ "$rc" = 0 ] || bad=1
	python3 - "$tmp/lag-$r.json" "$rc" >>"$res" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
f = lambda v: "-" if v is None else ("%.1f" % v)
imp = j["import"] if isinstance(j["import"], dict) else {}
print("| %d | %s | %g | %d | %d/%d | %s | %s | %s | %s | %s | %s | %s/%s | %s |" % (
    j["rate"], f(imp.get("records_per_s")), j["duration_s"],
    imp.get("created", 0), j["seen_on_both"], j["samples"],
    f(j["lag_p50_ms"]), f(j["lag_p99_ms"]), f(j["lag_max_ms"]),
    f(j["status_lag_p50_ms"]), f(j["status_lag_p99_ms"]),
    f(j["status_lag_max_ms"]), f(j["write_to_primary_p50_ms"]),
    f(j["write_to_primary_p99_ms"]), f(j["writer_late_max_ms"])))
PY
	tail -1 "$res"
done
echo >>"$res"

echo "== catch-up: mirror stopped, $CHANGES creates on the primary"
bench_stop "$mir_pid"
awk -v n="$CHANGES" -v p="$PREFIX" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"handle\":\"%s/bench-%d\",\"values\":[{\"index\":1,\"type\":\"URL\",\"data\":{\"format\":\"string\",\"value\":\"https://cu.example/%d\"}}]}\n", p, i, i }' \
	>"$tmp/changes.jsonl"
t0=$(now_s)
"$IDCTL" -C "$prim_sock" import "$tmp/changes.jsonl" --quiet --json >"$tmp/import.json" ||
	fail "the import of $CHANGES records failed"
t1=$(now_s)
rm -f "$tmp/changes.jsonl"
imp_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
echo "   imported in $(fmt1 "$imp_s") s ($(fmt0 "$(awk -v n="$CHANGES" -v s="$imp_s" 'BEGIN { print n / s }')")/s)"
t0=$(now_s)
# shellcheck disable=SC2046
start_node mir $(mirror_args mir)
wait_synced mir "$CHANGES" 1800 || { bad=1; echo "   the mirror did not catch up"; }
t1=$(now_s)
cu_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
dumps=$(status mir dumps)
cu_got=$("$IDCTL" -C "$mir_sock" export "$PREFIX" 2>/dev/null | wc -l) || cu_got=0
cu_want=$("$IDCTL" -C "$prim_sock" export "$PREFIX" 2>/dev/null | wc -l) || cu_want=0
[ "$cu_got" = "$cu_want" ] || { bad=1; echo "   the mirror holds $cu_got records, the primary $cu_want"; }
echo "   caught up in $(fmt1 "$cu_s") s: $(fmt0 "$(awk -v n="$CHANGES" -v s="$cu_s" 'BEGIN { print n / s }')") changes/s (copies made since start: $dumps)"

echo "== UDP resolution: the primary vs the mirror (idctl bench, $BENCH_S s each)"
for n in prim mir; do
	eval "p=\$${n}_port"
	"$IDCTL" bench -s "127.0.0.1:$p" --prefix "$PREFIX" --count "$CHANGES" \
		--duration "$BENCH_S" --inflight 64 --json >"$tmp/bench-$n.json" 2>&1 ||
		bad=1
	echo "   $n: $(jget "$tmp/bench-$n.json" resolutions_per_s)/s p50 $(jget "$tmp/bench-$n.json" p50) p99 $(jget "$tmp/bench-$n.json" p99) us, errors $(jget "$tmp/bench-$n.json" errors)"
done

echo "== dump: a new mirror copies the whole store"
total=$("$IDCTL" -C "$prim_sock" export "$PREFIX" 2>/dev/null | wc -l) || total=0
t0=$(now_s)
# shellcheck disable=SC2046
start_node new $(mirror_args new)
wait_synced new 0 1800 || { bad=1; echo "   the new mirror did not finish its copy"; }
t1=$(now_s)
dump_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
got=$("$IDCTL" -C "$tmp/new.sock" export "$PREFIX" 2>/dev/null | wc -l) || got=0
[ "$got" = "$total" ] || { bad=1; echo "   the copy holds $got records, the primary $total"; }
echo "   $total records copied in $(fmt1 "$dump_s") s: $(fmt0 "$(awk -v n="$total" -v s="$dump_s" 'BEGIN { print n / s }')") ids/s"
du_p=-
[ -n "$PSTORE" ] || du_p=$(du -sm "$tmp/prim-data" | cut -f1)
du_m=$(du -sm "$tmp/new-data" | cut -f1)
{
	echo "## Catch-up and full copy"
	echo
	echo "| phase | records | s | per s | detail |"
	echo "| --- | ---: | ---: | ---: | --- |"
	echo "| import on the primary (mirror stopped) | $CHANGES | $(fmt1 "$imp_s") | $(fmt0 "$(awk -v n="$CHANGES" -v s="$imp_s" 'BEGIN { print n / s }')") | idctl import, 4096-record batches |"
	echo "| catch-up of the restarted mirror | $CHANGES | $(fmt1 "$cu_s") | $(fmt0 "$(awk -v n="$CHANGES" -v s="$cu_s" 'BEGIN { print n / s }')") | start to lag_txns 0; copies made: $dumps; $cu_got records exported from it, $cu_want from the primary |"
	echo "| full copy to a new mirror | $total | $(fmt1 "$dump_s") | $(fmt0 "$(awk -v n="$total" -v s="$dump_s" 'BEGIN { print n / s }')") | start to following, lag_txns 0; $got records exported from it; store $du_m MiB (primary $du_p MiB) |"
	echo
} >>"$res"
{
	echo "## UDP resolution of the $CHANGES records, primary ($([ -n "$PSTORE" ] && echo PostgreSQL || echo LMDB)) vs LMDB mirror (idctl bench, 64 in flight, $BENCH_S s, both nodes on the same 2 cores)"
	echo
	echo "| node | resolutions/s | p50 µs | p99 µs |"
	echo "| --- | ---: | ---: | ---: |"
	for n in prim mir; do
		echo "| $n | $(jget "$tmp/bench-$n.json" resolutions_per_s) | $(jget "$tmp/bench-$n.json" p50) | $(jget "$tmp/bench-$n.json" p99) |"
	done
	echo
} >>"$res"
for n in new mir prim; do
	eval "bench_stop \$${n}_pid"
done

if [ "$COMPARE" = 1 ]; then
	echo "== checksum cost: bench/compare.sh against $CHECKSUM_BASE"
	if [ -n "${BASE_BUILD:-}" ]; then
		cmp=(bench/compare.sh --base-build "$BASE_BUILD" --size "$COMPARE_SIZE")
	else
		cmp=(bench/compare.sh --base "$CHECKSUM_BASE" --size "$COMPARE_SIZE")
	fi
	NO_BUILD=1 B=$B "${cmp[@]}" --out "$tmp/compare.md" || bad=1
	{
		echo "## Record checksum: resolution before/after (\`${cmp[*]}\`)"
		echo
		sed '1,2d' "$tmp/compare.md"
		echo
	} >>"$res"
fi

report() {
	echo "# Replication: lag, catch-up, full copy$([ "$COMPARE" = 1 ] && echo ", checksum cost")"
	echo
	echo "\`bench/run-replication.sh $args\` at $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes') on $(date -u +%F), $(machine_line); $((SECONDS - run_start)) s."
	echo
	cat "$res"
}
echo
report | tee "${OUT:-/dev/null}"
exit "$bad"
