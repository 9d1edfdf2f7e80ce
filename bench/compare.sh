#!/usr/bin/env bash
# Before and after in one run: two builds of idnode, the same store, the
# same load, alternated on the same machine, so a refactor can show that
# it costs nothing (STYLE: "a refactor shows before/after figures from one
# run").
#
# Builds the working tree into $B (unless NO_BUILD=1) and the commit BASE
# (default: the merge base with main's first parent, else HEAD~1) into
# $tmp/base; populates SIZE identifiers once for each build, with its own
# idctl populate (a store format may differ between them); then REPEAT times, base and new alternating, starts the node
# (one worker, HTTP with one thread, on the first CPU) and drives it from
# the second CPU with
#   udp    idctl bench, INFLIGHT in flight, random identifiers
#   http   wrk -t1 -c WRK_CONNS, GET /api/handles/P/bench-<random>
# and prints the medians (requests/s, p50/p99 latency, server CPU per
# request) and the ratios new/base.
#
# usage: bench/compare.sh [--base REF] [--base-build DIR] [--size N]
#                         [--duration SEC] [--repeat R] [--out FILE]
#   --base REF        the commit to compare against
#   --base-build DIR  use DIR/idnode as the base instead of building REF
#   --out FILE        also write the report there (markdown)
# Environment: INFLIGHT (64), WRK_CONNS (64), HTTP_COUNT (20000), PREFIX
#   (20.500.900), B (build), NO_BUILD=1, QUIET_WAIT (20), QUIET_MAX (0.15).
# Exits 0 when every run got correct answers only.
set -eu
cd "$(dirname "$0")/.."
NAME=bench/compare.sh
. bench/lib.sh

BASE=
BASE_B=
SIZE=200000
DURATION=5
REPEAT=3
OUT=
INFLIGHT=${INFLIGHT:-64}
WRK_CONNS=${WRK_CONNS:-64}
HTTP_COUNT=${HTTP_COUNT:-20000}
PREFIX=${PREFIX:-20.500.900}
B=${B:-build}
QUIET_WAIT=${QUIET_WAIT:-20}
QUIET_MAX=${QUIET_MAX:-0.15}
args="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--base) BASE=${2:?--base needs a commit}; shift ;;
	--base-build) BASE_B=${2:?--base-build needs a directory}; shift ;;
	--size) SIZE=${2:?--size needs a value}; shift ;;
	--duration) DURATION=${2:?--duration needs a value}; shift ;;
	--repeat) REPEAT=${2:?--repeat needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "$NAME: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $SIZE in '' | *[!0-9]*) fail "--size wants a number" ;; esac
case $REPEAT in '' | *[!0-9]* | 0) fail "--repeat wants a number >= 1" ;; esac
[ "$HTTP_COUNT" -le "$SIZE" ] || HTTP_COUNT=$SIZE
command -v wrk >/dev/null || fail "wrk is missing: run scripts/deps.sh --test"

bench_init
bench_build
NEW_IDNODE=$IDNODE
if [ -z "$BASE_B" ]; then
	if [ -z "$BASE" ]; then
		BASE=$(git rev-parse -q --verify HEAD^2 >/dev/null 2>&1 &&
			git merge-base HEAD^1 HEAD^2 || git rev-parse HEAD~1)
	fi
	echo "== build the base $(git rev-parse --short "$BASE")"
	mkdir -p "$tmp/base"
	git archive "$BASE" | tar -x -C "$tmp/base"
	make -C "$tmp/base" -j"$(nproc)" build/idnode build/idctl >"$tmp/base-build.log" 2>&1 ||
		{ tail -30 "$tmp/base-build.log" >&2; fail "the base did not build"; }
	BASE_B=$tmp/base/build
fi
BASE_IDNODE=$BASE_B/idnode
BASE_IDCTL=$BASE_B/idctl
[ -x "$BASE_IDNODE" ] || fail "$BASE_IDNODE is missing"
[ -x "$BASE_IDCTL" ] || fail "$BASE_IDCTL is missing"
bench_placement

echo "== populate $SIZE identifiers under $PREFIX (each build's own store)"
"$IDCTL" populate --data "$tmp/data-new" --prefix "$PREFIX" --count "$SIZE" \
	--json >"$tmp/populate.json" || fail "populate failed"
"$BASE_IDCTL" populate --data "$tmp/data-base" --prefix "$PREFIX" \
	--count "$SIZE" --json >"$tmp/populate-base.json" ||
	fail "populate (base) failed"

cat >"$tmp/wrk.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/handles/$PREFIX/bench-" .. math.random(0, $HTTP_COUNT - 1))
end
done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %d\nERRORS %d\nP50 %.1f\nP99 %.1f\n",
    summary.requests, summary.errors.status + summary.errors.connect +
    summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
LUA

# start BIN: the node on its populated store; sets pid, port, hport
start() {
	local try data=$tmp/data-new
	[ "$1" = "$BASE_IDNODE" ] && data=$tmp/data-base
	for try in 1 2 3; do
		port=$(pick_port)
		hport=$(pick_port)
		pin_to "$SCPU"
		${PFX[@]+"${PFX[@]}"} "$1" --data "$data" --listen "127.0.0.1:$port" \
			--control "$tmp/node.sock" --workers 1 --rrl-rate 0 \
			--http "127.0.0.1:$hport" --http-threads 1 >"$tmp/node.log" 2>&1 &
		pid=$!
		if wait_log "$tmp/node.log" "idnode ready" "$pid" 60; then
			bench_track "$pid"
			return 0
		fi
		bench_stop "$pid"
	done
	cat "$tmp/node.log" >&2
	fail "$1 did not start"
}

wdur=$(awk -v d="$DURATION" 'BEGIN { s = int(d); if (s < d) s++; print (s < 1) ? 1 : s }')
bad=0
: >"$tmp/results"
# run NAME KIND: runs "${cmd[@]}" on GCPU against $pid; appends
# "NAME rate p50 p99 cpu_us_per_request" to $tmp/results
run() {
	local name=$1 kind=$2 out=$tmp/out.txt s0 s1 rc=0 n rate p50 p99
	wait_quiet
	pin_to "$GCPU"
	s0=$(tree_ticks "$pid")
	${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >"$out" 2>"$tmp/err.txt" || rc=$?
	s1=$(tree_ticks "$pid")
	if [ "$kind" = bench ]; then
		n=$(jget "$out" success)
		rate=$(jget "$out" resolutions_per_s)
		p50=$(jget "$out" p50)
		p99=$(jget "$out" p99)
		[ "$(jget "$out" errors)" = 0 ] && [ "$(jget "$out" wrong_id)" = 0 ] || rc=1
	else
		n=$(awk '$1 == "REQUESTS" { print $2 }' "$out")
		rate=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
		p50=$(awk '$1 == "P50" { print $2 }' "$out")
		p99=$(awk '$1 == "P99" { print $2 }' "$out")
		[ "$(awk '$1 == "ERRORS" { print $2 }' "$out")" = 0 ] &&
			! grep -q "Non-2xx" "$out" || rc=1
	fi
	if [ "$rc" != 0 ] || [ -z "$n" ] || [ "$n" = 0 ]; then
		cat "$tmp/err.txt" "$out" >&2
		echo "   $name: FAILED"
		bad=1
		return
	fi
	awk -v hz="$hz" -v s=$((s1 - s0)) -v n="$n" -v name="$name" -v rate="$rate" \
		-v p50="$p50" -v p99="$p99" 'BEGIN {
		printf "%s %.0f %s %s %.2f\n", name, rate, p50, p99, s / hz / n * 1e6 }' |
		tee -a "$tmp/results" | awk '{ printf "   %-10s %9s/s  p50 %s p99 %s us  %s us CPU/req\n", $1, $2, $3, $4, $5 }'
}

for r in $(seq "$REPEAT"); do
	for v in base new; do
		[ "$v" = base ] && bin=$BASE_IDNODE || bin=$NEW_IDNODE
		echo "== round $r: $v"
		start "$bin"
		cmd=("$IDCTL" bench -s "127.0.0.1:$port" --prefix "$PREFIX" --count "$SIZE" \
			--duration "$DURATION" --inflight "$INFLIGHT" --json)
		run "$v-udp" bench
		cmd=(wrk -t1 -c"$WRK_CONNS" -d"${wdur}s" -s "$tmp/wrk.lua" "http://127.0.0.1:$hport/")
		run "$v-http" wrk
		bench_stop "$pid"
	done
done

med() { awk -v n="$1" -v c="$2" '$1 == n { print $c }' "$tmp/results" | median; }
report() {
	local base_name=$BASE_B
	[ -z "$BASE" ] || base_name=$(git rev-parse --short "$BASE")
	echo "# idnode before and after: $base_name vs $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo '+changes')"
	echo
	echo "\`bench/compare.sh $args\` on $(date -u +%F), $(machine_line);"
	echo "$SIZE identifiers, $REPEAT rounds of ${DURATION} s, base and new alternating;"
	echo "server on CPU $SCPU (1 worker, 1 HTTP thread), load from CPU $GCPU. Medians:"
	echo
	echo "| path | base req/s | new req/s | new/base | base p99 µs | new p99 µs | base CPU µs/req | new CPU µs/req |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	local p
	for p in udp http; do
		awk -v p="$p" -v br="$(med "base-$p" 2)" -v nr="$(med "new-$p" 2)" \
			-v bp="$(med "base-$p" 4)" -v np="$(med "new-$p" 4)" \
			-v bc="$(med "base-$p" 5)" -v nc="$(med "new-$p" 5)" 'BEGIN {
			printf "| %s | %.0f | %.0f | %.3f | %s | %s | %s | %s |\n", p, br, nr,
				(br > 0 ? nr / br : 0), bp, np, bc, nc }'
	done
	echo
	echo "Every run, in order (name req/s p50 p99 CPU-µs/req):"
	echo
	sed 's/^/    /' "$tmp/results"
}
echo
report | tee "${OUT:-/dev/null}"
exit "$bad"
