#!/usr/bin/env bash
# The hierarchy benchmark: what a recursive node's cache buys, in one
# command.
#
# Builds the release binaries, writes COUNT identifiers 88.118.8/bench-<i>
# into an enterprise node's store (idctl populate), starts a top-level node
# (homed 88, delegating 88.118), a secondary node (homed 88.118, delegating
# 88.118.8), the enterprise node, a recursive node with the default cache and
# a recursive node whose cache holds nothing (--cache-size 1K), all on
# loopback, and loads them with the same generator (idctl bench, UDP):
#
#   authoritative  the enterprise node answers from its store
#   cached         the recursive node answers from its warm cache
#   uncached       the cacheless recursive node walks top -> secondary ->
#                  enterprise for every request (3 upstream queries)
#
# Each is run at 1 request in flight (latency) and at INFLIGHT (throughput).
# The recursive nodes' `idctl stats` before and after each run give the
# cache hit ratio and the upstream queries per answer, recorded beside the
# latency percentiles in a Markdown report.
#
# usage: bench/run-hierarchy.sh [--smoke] [--count N] [--duration SEC]
#                               [--out FILE]
#   --smoke          2 000 identifiers, 1 s per run; the report goes to the
#                    temporary directory unless --out is given
#   --count N        identifiers to populate (default 20000, env COUNT)
#   --duration SEC   seconds per run (default 5, env DURATION)
#   --out FILE       report file (default bench/RESULTS-hierarchy.md)
# Environment: INFLIGHT (64), B (build directory, default build),
#   NO_BUILD=1 (use existing binaries), KEEP=1 (keep the temporary
#   directory), QUIET_MAX (0.25 cores) / QUIET_WAIT (120 s; 0 with --smoke):
#   each run first waits up to QUIET_WAIT seconds for the rest of the
#   machine to use less than QUIET_MAX cores, and a run during which others
#   used more is repeated up to RETRIES (2; 0 with --smoke) times, then
#   marked.
# Exits 0 when every run got answers and no errors; prints the table.
set -eu
cd "$(dirname "$0")/.."
NAME=run-hierarchy.sh
. bench/lib.sh

smoke=0
COUNT=${COUNT:-20000}
DURATION=${DURATION:-5}
INFLIGHT=${INFLIGHT:-64}
B=${B:-build}
QUIET_MAX=${QUIET_MAX:-0.25}
QUIET_WAIT=${QUIET_WAIT:-120}
RETRIES=${RETRIES:-2}
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--count) COUNT=${2:?--count needs a value}; shift ;;
	--duration) DURATION=${2:?--duration needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-hierarchy.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$smoke" = 1 ]; then
	COUNT=2000
	DURATION=1
	QUIET_WAIT=0
	RETRIES=0
fi
PREFIX=88.118.8

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-hier-bench.XXXXXX")
declare -A pid=() addr=()
NODES="top secondary enterprise recursive nocache"
cleanup() {
	local n
	for n in $NODES; do
		if [ -n "${pid[$n]:-}" ] && kill -0 "${pid[$n]}" 2>/dev/null; then
			kill -TERM "${pid[$n]}" 2>/dev/null || true
			wait "${pid[$n]}" 2>/dev/null || true
		fi
	done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$OUT" ]; then
	if [ "$smoke" = 1 ]; then OUT=$tmp/RESULTS-smoke.md; else OUT=bench/RESULTS-hierarchy.md; fi
fi

bench_build

# Daemons on cpu 0, the generator on cpu 1, where the machine allows.
bench_placement

commands=()
show() { # the command as recorded in the report, temp paths named $DIR
	local cpus=$1
	shift
	local s="$*"
	s=${s//$tmp/\$DIR}
	if [ "$cpus" = - ]; then echo "$s"; else echo "taskset -c $cpus $s"; fi
}

pick_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 40000))
		if ! command -v ss >/dev/null 2>&1 ||
			[ -z "$(ss -Hlnut "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return
		fi
	done
	fail "no free port"
}
for n in $NODES; do addr[$n]=127.0.0.1:$(pick_port); done

start_node() { # name args...
	local n=$1
	shift
	mkdir -p "$tmp/$n"
	local cmd=("$IDNODE" --data "$tmp/$n" --listen "${addr[$n]}"
		--control "$tmp/$n/ctl.sock" --workers 1 --rrl-rate 0 "$@")
	pin_to "$SCPU"
	${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >"$tmp/$n.log" 2>&1 &
	pid[$n]=$!
	commands+=("$(show "$SCPU" "${cmd[@]}") &")
}
wait_ready() {
	local n
	for n in $NODES; do
		for _ in $(seq 200); do
			grep -q "idnode ready" "$tmp/$n.log" && break
			kill -0 "${pid[$n]}" 2>/dev/null || break
			sleep 0.05
		done
		grep -q "idnode ready" "$tmp/$n.log" ||
			{ cat "$tmp/$n.log" >&2; fail "the $n node did not start"; }
	done
}
ctl() { local n=$1; shift; "$IDCTL" -C "$tmp/$n/ctl.sock" "$@"; }
ctl_rec() { # recorded
	local n=$1
	shift
	commands+=("$(show - "$IDCTL" -C "$tmp/$n/ctl.sock" "$@")")
	ctl "$n" "$@" >/dev/null
}

proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) m0 m1 busy
	while :; do
		m0=$(machine_busy)
		sleep 1
		m1=$(machine_busy)
		busy=$(awk -v d=$((m1 - m0)) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
		if awk -v b="$busy" -v q="$QUIET_MAX" 'BEGIN { exit !(b < q) }' ||
			[ "$SECONDS" -ge "$deadline" ]; then
			return
		fi
		echo "   machine busy ($busy cores in use by others): waiting"
		sleep 4
	done
}

# ---- the hierarchy ----
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== populate $COUNT identifiers under $PREFIX (enterprise store)"
pop=("$IDCTL" populate --data "$tmp/enterprise" --prefix "$PREFIX" --count "$COUNT" --json)
commands+=("$(show - "${pop[@]}")")
mkdir -p "$tmp/enterprise"
"${pop[@]}" >"$tmp/populate.json" || fail "populate failed"

echo "== start five nodes"
start_node top --home 88
start_node secondary --home 88.118
start_node enterprise
start_node recursive --recursive --root "${addr[top]}"
start_node nocache --recursive --root "${addr[top]}" --cache-size 1K
wait_ready
ctl_rec top delegate 88.118 --to "${addr[secondary]}"
ctl_rec secondary delegate 88.118.8 --to "${addr[enterprise]}"
# a sanity check through the whole chain
"$IDCTL" -s "${addr[recursive]}" resolve "$PREFIX/bench-0" >/dev/null ||
	fail "the recursive node does not resolve $PREFIX/bench-0"

rows=()
bad=0
noisy_rows=0
declare -A RATE=() P50=() P99=()
# stats counters of a node into an associative array named by $2
stat_of() { # node key
	jget "$tmp/stats-$1.json" "$2"
}
snap_stats() { # node
	ctl "$1" --json stats >"$tmp/stats-$1.json"
}

daemon_ticks() {
	local p t=0
	for p in "${pid[@]}"; do t=$((t + $(proc_ticks "$p"))); done
	echo "$t"
}

# One measured run of "${cmd[@]}" into $j: sets srv (cores the daemons kept
# busy) and other (cores used by anything but daemons and generator).
one_run() {
	local t0 t1 mb0 mb1 s0 s1 c0 c1
	pin_to "$GCPU"
	times >"$tmp/times"
	t0=$(now_s) mb0=$(machine_busy) s0=$(daemon_ticks) c0=$(children_s)
	${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >"$j" || return 1
	times >"$tmp/times"
	t1=$(now_s) mb1=$(machine_busy) s1=$(daemon_ticks) c1=$(children_s)
	read -r srv other < <(awk -v hz="$hz" -v m=$((mb1 - mb0)) \
		-v s=$((s1 - s0)) -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
		'BEGIN { w = t1 - t0; srv = s / hz / w
		oth = m / hz / w - srv - (c1 - c0) / w; if (oth < 0) oth = 0
		printf "%.2f %.2f\n", srv, oth }')
}

run() { # label node inflight [bench flags...]
	local label=$1 n=$2 k=$3
	shift 3
	cmd=("$IDCTL" bench -s "${addr[$n]}" --prefix "$PREFIX" --count "$COUNT"
		--duration "$DURATION" --inflight "$k" "$@" --json)
	commands+=("$(show "$GCPU" "${cmd[@]}")")
	echo "== $label: ${addr[$n]} ($n node), $k in flight"
	local h0 m0q u0 h1 m1q u1 attempt=0 noisy
	j=$tmp/bench.json
	while :; do
		wait_quiet
		snap_stats "$n"
		h0=$(stat_of "$n" hits) m0q=$(stat_of "$n" misses) u0=$(stat_of "$n" upstream_queries)
		if ! one_run; then
			bad=1
			rows+=("| $label | $k | FAILED | | | | | | | | |")
			return
		fi
		snap_stats "$n"
		noisy=$(awk -v o="$other" -v q="$QUIET_MAX" 'BEGIN { print (o >= q) ? 1 : 0 }')
		[ "$noisy" = 1 ] && [ "$attempt" -lt "$RETRIES" ] || break
		attempt=$((attempt + 1))
		echo "   others used $other cores during the run: again"
	done
	h1=$(stat_of "$n" hits) m1q=$(stat_of "$n" misses) u1=$(stat_of "$n" upstream_queries)
	local rate p50 p99 p999 to err ok
	rate=$(jget "$j" resolutions_per_s)
	p50=$(jget "$j" p50)
	p99=$(jget "$j" p99)
	p999=$(jget "$j" p99.9)
	to=$(jget "$j" timeouts)
	err=$(jget "$j" errors)
	ok=$(jget "$j" success)
	if [ "${ok:-0}" = 0 ] || [ "${err:-1}" != 0 ] || [ "$(jget "$j" malformed)" != 0 ] ||
		[ "$(jget "$j" wrong_id)" != 0 ]; then
		echo "run-hierarchy.sh: bad answers: success $ok, errors $err" >&2
		bad=1
	fi
	local hit up mark=
	hit=$(awk -v h=$((h1 - h0)) -v m=$((m1q - m0q)) 'BEGIN { if (h + m == 0) print "–"; else printf "%.1f%%", 100 * h / (h + m) }')
	up=$(awk -v u=$((u1 - u0)) -v ok="$ok" -v n="$n" 'BEGIN { if (n == "enterprise") print "–"; else if (ok > 0) printf "%.2f", u / ok; else print "?" }')
	[ "$noisy" = 1 ] && mark=" (!)" && noisy_rows=1
	echo "   $(fmt0 "$rate") resolutions/s, p50 $(fmt1 "$p50") us, p99 $(fmt1 "$p99") us, timeouts $to, cache hits $hit, upstream/answer $up, daemons $srv cores, others $other cores"
	RATE["$n|$k"]=$rate P50["$n|$k"]=$p50 P99["$n|$k"]=$p99
	rows+=("| $label | $k | $(fmt0 "$rate") | $(fmt1 "$p50") | $(fmt1 "$p99") | $(fmt1 "$p999") | $to | $hit | $up | $srv | $other$mark |")
}

# the cached runs need a warm cache: one pass that resolves every
# identifier (bench draws at random; a few passes cover the set)
echo "== warm the recursive node's cache"
warm=("$IDCTL" bench -s "${addr[recursive]}" --prefix "$PREFIX" --count "$COUNT"
	--duration "$([ "$smoke" = 1 ] && echo 1 || echo 4)" --inflight 64 --recursive --json)
commands+=("$(show "$GCPU" "${warm[@]}")  # warm-up, not measured")
pin_to "$GCPU"
${PFX[@]+"${PFX[@]}"} "${warm[@]}" >/dev/null || fail "warm-up failed"
snap_stats recursive
echo "   cache entries: $(stat_of recursive entries)"

for k in 1 $INFLIGHT; do
	run authoritative enterprise "$k"
	run "recursive, cached" recursive "$k" --recursive
	run "recursive, uncached (3 levels)" nocache "$k" --recursive
done
snap_stats nocache
nocache_entries=$(stat_of nocache entries)
snap_stats recursive
cache_entries=$(stat_of recursive entries)
cache_bytes=$(stat_of recursive bytes)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

table() {
	echo "| path | in flight | resolutions/s | p50 µs | p99 µs | p99.9 µs | timeouts | cache hits | upstream queries / answer | daemons' CPU | other CPU |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then rev="$rev + uncommitted changes in src/"; fi
{
	echo "# Hierarchy benchmark: recursive node, cached and uncached, vs. authoritative"
	echo
	if [ "$smoke" = 1 ]; then echo "Smoke run (\`--smoke\`): too short to quote."; echo; fi
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- source: $rev"
	echo "- machine: $ncpu CPUs (${cpu_model:-unknown}), $(uname -sr)"
	echo "- load average before / after: $load_before / $load_after"
	if [ "$SCPU" != - ]; then
		echo "- placement: the five daemons (one worker each) on cpu $SCPU, \`idctl bench\` on cpu $GCPU (taskset)"
	else
		echo "- placement: not pinned"
	fi
	echo
	echo "## Set-up"
	echo
	echo "- enterprise node: \`idctl populate\` wrote $COUNT identifiers \`$PREFIX/bench-<i>\`"
	echo "  (4–5 public values each) into its store; it is homed for $PREFIX"
	echo "- top node homed 88 holds \`0.NA/88.118\` → secondary; secondary homed"
	echo "  88.118 holds \`0.NA/88.118.8\` → enterprise (\`idctl delegate\`)"
	echo "- recursive node: \`--recursive --root TOP\`, default cache (256 MiB,"
	echo "  TTLs of the records: 86 400 s); warmed by one unmeasured bench pass;"
	echo "  after the runs it held $cache_entries entries, $cache_bytes bytes"
	echo "- uncached recursive node: the same with \`--cache-size 1K\`, so that no"
	echo "  answer or delegation fits (entries after the runs: $nocache_entries): every"
	echo "  request is resolved top → secondary → enterprise"
	echo
	echo "## Results"
	echo
	echo "Same generator for every row: \`idctl bench\` over UDP, random identifiers"
	echo "among the $COUNT, ${DURATION} s per run, a fixed number of requests in flight"
	echo "(closed loop); rows against the recursive nodes set the recursive flag"
	echo "(\`--recursive\`). Latency is from send to answer, in microseconds."
	echo "*cache hits* is hits / (hits + misses) of the node's cache during the"
	echo "run; *upstream queries / answer* counts the queries the recursive node"
	echo "sent per answer (from \`idctl stats\`); *daemons' CPU* is the cores the"
	echo "five daemons kept busy together on average (1.00 = cpu $SCPU saturated);"
	echo "*other CPU* the cores used meanwhile by anything but daemons and"
	echo "generator (other work on the machine): when it is not near 0 the run"
	echo "competed for the CPUs and its figures are low."
	if [ "$noisy_rows" = 1 ]; then
		echo "Rows marked (!) stayed above $QUIET_MAX other cores after $RETRIES"
		echo "retries: read them as lower bounds."
	fi
	echo
	table
	echo
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "?" }'; }
	echo "## Reading"
	echo
	echo "- Latency, one request in flight: p50 / p99 authoritative"
	echo "  $(fmt1 "${P50[enterprise|1]:-0}") / $(fmt1 "${P99[enterprise|1]:-0}") µs, recursive from cache"
	echo "  $(fmt1 "${P50[recursive|1]:-0}") / $(fmt1 "${P99[recursive|1]:-0}") µs, recursive through three"
	echo "  levels $(fmt1 "${P50[nocache|1]:-0}") / $(fmt1 "${P99[nocache|1]:-0}") µs: a cached answer costs"
	echo "  $(ratio "${P50[recursive|1]:-0}" "${P50[enterprise|1]:-0}")× the authoritative p50, an uncached one"
	echo "  $(ratio "${P50[nocache|1]:-0}" "${P50[recursive|1]:-0}")× the cached one (three upstream round trips on loopback)."
	echo "- Throughput at $INFLIGHT in flight: the cached recursive node answers"
	echo "  $(ratio "${RATE[recursive|$INFLIGHT]:-0}" "${RATE[enterprise|$INFLIGHT]:-0}")× as many requests per second as the authoritative node"
	echo "  ($(fmt0 "${RATE[recursive|$INFLIGHT]:-0}") vs. $(fmt0 "${RATE[enterprise|$INFLIGHT]:-0}")): a cache hit is answered by the worker"
	echo "  that received the query, like a store read. Uncached, $(fmt0 "${RATE[nocache|$INFLIGHT]:-0}")/s"
	echo "  ($(ratio "${RATE[nocache|$INFLIGHT]:-0}" "${RATE[recursive|$INFLIGHT]:-0}")× the cached rate): every answer"
	echo "  costs the recursive node three upstream queries and the three"
	echo "  upstream nodes one answer each, all on the one server core here, so"
	echo "  this row measures the whole hierarchy's CPU, not the recursive node's."
	echo
	echo "## Commands"
	echo
	echo "\`bench/run-hierarchy.sh$([ "$smoke" = 1 ] && echo " --smoke")\` ran, with \$DIR a temporary directory:"
	echo
	echo '```'
	printf '%s\n' "${commands[@]}"
	echo '```'
} >"$OUT"

echo
table
echo
if [ "$smoke" = 1 ] && [ "$OUT" = "$tmp/RESULTS-smoke.md" ] && [ "${KEEP:-0}" != 1 ]; then
	echo "smoke run: report not kept (use --out FILE to keep it)"
else
	echo "report: $OUT"
fi
[ "$bad" = 0 ]
