#!/usr/bin/env bash
# The foundation throughput benchmark, in one command.
#
# Builds the release binaries, writes COUNT synthetic identifiers into a
# temporary data directory (idctl populate), starts idnode on a free
# loopback port, loads it with idctl bench over UDP at a few in-flight
# settings and over TCP, stops it with SIGTERM, and writes a Markdown report
# (machine, exact commands, populate rate, bytes per identifier, a table of
# resolutions/s and latency percentiles). Server and load generator are
# pinned to different cores with taskset where the machine allows.
#
# usage: bench/run-foundation.sh [--smoke] [--count N] [--duration SEC]
#                                [--out FILE]
#   --smoke          10 000 identifiers, 2 s per run, one UDP and one TCP
#                    run; the report goes to the temporary directory unless
#                    --out is given (the recorded results are left alone)
#   --count N        identifiers to populate (default 1000000, env COUNT)
#   --duration SEC   seconds per run (default 10, env DURATION)
#   --out FILE       report file (default bench/RESULTS-foundation.md)
# Environment: INFLIGHT ("1 16 64 256": UDP in-flight settings),
#   TCP_INFLIGHT ("64 256"), PREFIX (20.500.900), PORT (default: a free one),
#   B (build directory, default build), NO_BUILD=1 (use existing binaries),
#   KEEP=1 (keep the temporary directory). On a shared machine each run
#   waits up to QUIET_WAIT seconds (600; 0 with --smoke) for the others to
#   use less than QUIET_MAX cores (0.1), and a run during which they used
#   more is repeated up to RETRIES times (3; 0 with --smoke), then marked.
# Exits 0 when every run got answers and no errors; prints the table.
set -eu
cd "$(dirname "$0")/.."
NAME=run-foundation.sh
. bench/lib.sh

smoke=0
COUNT=${COUNT:-1000000}
DURATION=${DURATION:-10}
INFLIGHT=${INFLIGHT:-"1 16 64 256"}
TCP_INFLIGHT=${TCP_INFLIGHT:-"64 256"}
PREFIX=${PREFIX:-20.500.900}
B=${B:-build}
QUIET_MAX=${QUIET_MAX:-0.1}
QUIET_WAIT=${QUIET_WAIT:-600}
RETRIES=${RETRIES:-3}
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--count) COUNT=${2:?--count needs a value}; shift ;;
	--duration) DURATION=${2:?--duration needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-foundation.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$smoke" = 1 ]; then
	COUNT=10000
	DURATION=2
	INFLIGHT=64
	TCP_INFLIGHT=64
	QUIET_WAIT=0
	RETRIES=0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-bench.XXXXXX")
DATA=$tmp/data
node_pid=
cleanup() {
	if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$OUT" ]; then
	if [ "$smoke" = 1 ]; then OUT=$tmp/RESULTS-smoke.md; else OUT=bench/RESULTS-foundation.md; fi
fi

# ---- build ----
bench_build

# ---- placement: server and generator on different cores ----
ncpu=$(nproc)
pin=0
if command -v taskset >/dev/null 2>&1 && [ "$ncpu" -ge 2 ]; then
	pin=1
fi
# "workers server-cpus generator-cpus generator-threads udp-sockets"
configs=()
if [ "$pin" = 1 ]; then
	configs+=("1 0 1 1 1")
	if [ "$ncpu" -ge 3 ] && [ "$smoke" = 0 ]; then
		gthreads=$((ncpu - 2))
		configs+=("2 0-1 2-$((ncpu - 1)) $gthreads 8")
	fi
else
	configs+=("1 - - 1 1")
fi

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
	echo 24641
}

show() { # the command as recorded in the report, temp paths named $DATA
	local cpus=$1
	shift
	local s="$*"
	s=${s//$DATA/\$DATA}
	if [ "$cpus" = - ]; then echo "$s"; else echo "taskset -c $cpus $s"; fi
}

commands=()
rows=()
bad=0
noisy_rows=0

# CPU accounting of a run: ticks the whole machine spent busy
# (machine_busy), ticks of the daemon, and seconds of the generator (this
# shell's waited-for children, children_s).
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Waits (up to QUIET_WAIT seconds) until the rest of the machine uses less
# than QUIET_MAX cores, measured over one second.
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

# ---- machine ----
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$cpu_model" ] || cpu_model=unknown
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- populate ----
echo "== populate $COUNT identifiers under $PREFIX"
pop=("$IDCTL" populate --data "$DATA" --prefix "$PREFIX" --count "$COUNT" --json)
commands+=("$(show - "${pop[@]}")")
wait_quiet
times >"$tmp/times"
t0=$(now_s) m0=$(machine_busy) c0=$(children_s)
"${pop[@]}" >"$tmp/populate.json" || fail "populate failed"
times >"$tmp/times"
t1=$(now_s) m1=$(machine_busy) c1=$(children_s)
pop_other=$(awk -v hz="$hz" -v m=$((m1 - m0)) -v c0="$c0" -v c1="$c1" \
	-v t0="$t0" -v t1="$t1" 'BEGIN { w = t1 - t0
	o = m / hz / w - (c1 - c0) / w; if (o < 0) o = 0; printf "%.2f", o }')
pop_rate=$(jget "$tmp/populate.json" identifiers_per_s)
pop_secs=$(jget "$tmp/populate.json" seconds)
pop_bpi=$(jget "$tmp/populate.json" bytes_per_identifier)
pop_bytes=$(jget "$tmp/populate.json" store_bytes)
echo "populate: $(fmt0 "$pop_rate") identifiers/s, $(fmt1 "$pop_bpi") bytes/identifier"

start_node() { # workers cpus
	local tries
	for tries in 1 2 3; do
		PORT=${PORT_FIXED:-$(pick_port)}
		node=("$IDNODE" --data "$DATA" --listen "127.0.0.1:$PORT"
			--control "$DATA/ctl.sock" --workers "$1" --rrl-rate 0)
		pin_to "$2"
		# taskset execs idnode, so $! is the daemon's own pid
		${PFX[@]+"${PFX[@]}"} "${node[@]}" >"$tmp/idnode.log" 2>&1 &
		node_pid=$!
		for _ in $(seq 100); do
			grep -q "idnode ready" "$tmp/idnode.log" && break
			kill -0 "$node_pid" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q "idnode ready" "$tmp/idnode.log" &&
			kill -0 "$node_pid" 2>/dev/null; then
			commands+=("$(show "$2" "${node[@]}")")
			return 0
		fi
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
		node_pid=
		[ -n "${PORT_FIXED:-}" ] && break
	done
	cat "$tmp/idnode.log" >&2
	fail "idnode did not start"
}


# One measured run: sets j (the JSON), cpu_srv, cpu_other; 1 if it failed.
one_run() {
	pin_to "$gcpu"
	local t0 m0 s0 c0 t1 m1 s1 c1
	times >"$tmp/times"
	t0=$(now_s) m0=$(machine_busy) s0=$(proc_ticks "$node_pid") c0=$(children_s)
	local rc=0
	${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >"$j" || rc=1
	if ! kill -0 "$node_pid" 2>/dev/null; then
		tail -20 "$tmp/idnode.log" >&2
		fail "idnode died during the run"
	fi
	[ "$rc" = 0 ] || return 1
	times >"$tmp/times"
	t1=$(now_s) m1=$(machine_busy) s1=$(proc_ticks "$node_pid") c1=$(children_s)
	# cores busy on average: the daemon, and everything but daemon and
	# generator (other users of the machine, ksoftirqd)
	read -r cpu_srv cpu_other < <(awk -v hz="$hz" \
		-v m=$((m1 - m0)) -v s=$((s1 - s0)) -v c0="$c0" -v c1="$c1" \
		-v t0="$t0" -v t1="$t1" 'BEGIN { w = t1 - t0
		srv = s / hz / w; oth = m / hz / w - srv - (c1 - c0) / w
		if (oth < 0) oth = 0; printf "%.2f %.2f\n", srv, oth }')
}

run_bench() { # workers srv-cpus gen-cpus threads sockets transport inflight
	local w=$1 scpu=$2 gcpu=$3 th=$4 so=$5 tr=$6 k=$7
	cmd=("$IDCTL" bench -s "127.0.0.1:$PORT" --prefix "$PREFIX"
		--count "$COUNT" --duration "$DURATION" --inflight "$k"
		--threads "$th")
	if [ "$tr" = tcp ]; then cmd+=(--tcp); elif [ "$so" != 1 ]; then cmd+=(--sockets "$so"); fi
	cmd+=(--json)
	commands+=("$(show "$gcpu" "${cmd[@]}")")
	echo "== $tr, $w worker(s), $k in flight x $th thread(s)"
	j=$tmp/bench.json
	local attempt=0 noisy=0
	while :; do
		wait_quiet
		if ! one_run; then
			bad=1
			rows+=("| $tr | $w | $scpu | $gcpu | | $k | FAILED | | | | | | |")
			return
		fi
		noisy=$(awk -v o="$cpu_other" -v q="$QUIET_MAX" 'BEGIN { print (o >= q) ? 1 : 0 }')
		[ "$noisy" = 1 ] && [ "$attempt" -lt "$RETRIES" ] || break
		attempt=$((attempt + 1))
		echo "   others used $cpu_other cores during the run: again"
	done
	local rate p50 p99 p999 to err mal ok wid
	rate=$(jget "$j" resolutions_per_s)
	p50=$(jget "$j" p50)
	p99=$(jget "$j" p99)
	p999=$(jget "$j" p99.9)
	to=$(jget "$j" timeouts)
	err=$(jget "$j" errors)
	mal=$(jget "$j" malformed)
	ok=$(jget "$j" success)
	wid=$(jget "$j" wrong_id)
	if [ "${ok:-0}" = 0 ] || [ "${err:-1}" != 0 ] || [ "${mal:-1}" != 0 ] ||
		[ "${wid:-1}" != 0 ]; then
		echo "run-foundation.sh: bad answers: success $ok, errors $err, malformed $mal, wrong identifier $wid" >&2
		bad=1
	fi
	echo "   $(fmt0 "$rate") resolutions/s, p50 $(fmt1 "$p50") us, p99 $(fmt1 "$p99") us, timeouts $to, idnode $cpu_srv cores, others $cpu_other cores"
	local conns mark=
	if [ "$tr" = tcp ]; then conns="${th} conn"; else conns="${th}x${so} sock"; fi
	[ "$noisy" = 1 ] && mark=" (!)" && noisy_rows=1
	rows+=("| $tr | $w | $scpu | $gcpu | $conns | $k | $(fmt0 "$rate") | $(fmt1 "$p50") | $(fmt1 "$p99") | $(fmt1 "$p999") | $to | $cpu_srv | $cpu_other$mark |")
}

PORT_FIXED=${PORT:-}
for c in "${configs[@]}"; do
	read -r w scpu gcpu th so <<<"$c"
	start_node "$w" "$scpu"
	for k in $INFLIGHT; do
		run_bench "$w" "$scpu" "$gcpu" "$th" "$so" udp "$k"
	done
	for k in $TCP_INFLIGHT; do
		run_bench "$w" "$scpu" "$gcpu" "$th" "$so" tcp "$k"
	done
	idnode_stop
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
table() {
	echo "| transport | workers | server cpus | generator cpus | generator | in flight | resolutions/s | p50 µs | p99 µs | p99.9 µs | timeouts | idnode CPU | other CPU |"
	echo "| --- | ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then rev="$rev + uncommitted changes in src/"; fi
{
	echo "# Foundation benchmark: idnode resolution throughput"
	echo
	if [ "$smoke" = 1 ]; then echo "Smoke run (\`--smoke\`): too short to quote."; echo; fi
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- source: $rev"
	echo "- machine: $ncpu CPUs ($cpu_model), $(uname -sr), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
	echo "- load average before / after the runs: $load_before / $load_after"
	if [ "$pin" = 1 ]; then
		echo "- placement: idnode and idctl bench pinned to different cores with taskset"
	else
		echo "- placement: not pinned (taskset missing or a single core)"
	fi
	if [ "$pin" = 1 ] && [ "$ncpu" -lt 3 ]; then
		echo "- \`--workers 2\` was not run: with $ncpu cores the server's second"
		echo "  worker would share the load generator's core"
	fi
	echo
	echo "## Store"
	echo
	echo "\`idctl populate\` wrote $COUNT identifiers \`$PREFIX/bench-<i>\` (4–5 public"
	echo "values each: URL, EMAIL, BATCH, DESC on every third, HS_ADMIN) in"
	echo "batches of 10 000 per durable write transaction:"
	echo
	echo "- populate: $(fmt0 "$pop_rate") identifiers/s ($(fmt1 "$pop_secs") s;"
	echo "  other processes used $pop_other cores meanwhile)"
	echo "- store: $pop_bytes bytes in use, $(fmt1 "$pop_bpi") bytes/identifier"
	echo
	echo "## Resolution"
	echo
	echo "Each run: random identifiers among the $COUNT, ${DURATION} s, UDP with"
	echo "\`sendmmsg\`/\`recvmmsg\` or one pipelined TCP connection per generator thread,"
	echo "a fixed number of requests in flight (closed loop). Latency is per"
	echo "request, from send to answer, in microseconds. *idnode CPU* is the"
	echo "cores the daemon kept busy on average (1.00 = its core saturated);"
	echo "*other CPU* the cores used meanwhile by anything but daemon and"
	echo "generator (other work on the machine, ksoftirqd): when it is not"
	echo "near 0 the run competed for the CPUs and its figures are low."
	if [ "$noisy_rows" = 1 ]; then
		echo "Rows marked (!) stayed above $QUIET_MAX other cores after $RETRIES"
		echo "retries: read them as lower bounds."
	fi
	echo
	table
	echo
	echo "## Commands"
	echo
	echo "\`bench/run-foundation.sh$([ "$smoke" = 1 ] && echo " --smoke")\` ran, with \$DATA a temporary directory:"
	echo
	echo '```'
	printf '%s\n' "${commands[@]}"
	echo '```'
	echo
	echo "## Reference"
	echo
	echo "These are raw figures for idnode alone. The project asks for speed as"
	echo "ratios against a reference server on the same machine; the side-by-side"
	echo "run against NSD / Knot DNS is a later issue."
} >"$OUT"

echo
table
echo
if [ "$smoke" = 1 ] && [ "$OUT" = "$tmp/RESULTS-smoke.md" ] && [ "${KEEP:-0}" != 1 ]; then
	echo "smoke run: report not kept (use --out FILE to keep it)"
else
	echo "report: $OUT"
fi
[ "$bad" = 0 ] || fail "some runs failed or got error answers"
