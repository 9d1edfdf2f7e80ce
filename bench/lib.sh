# Shared by the bench/ scripts (sourced, not run): temporary directory and
# clean-up of the daemons started, free ports, CPU accounting from /proc,
# waiting for a quiet machine, small formatting helpers.
#
# The sourcing script sets NAME (for messages) before sourcing, and calls
# bench_init once; every daemon it starts goes through bench_track PID so
# that it is stopped on exit.

BENCH_PIDS=()  # daemons started, stopped on exit
BENCH_TMP=
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

fail() {
	echo "${NAME:-bench}: $*" >&2
	exit 1
}

bench_cleanup() {
	local p all=()
	# the whole trees: NSD's server processes outlive a signal to its
	# first process
	for p in "${BENCH_PIDS[@]}"; do
		all+=($(proc_tree "$p"))
	done
	for p in "${all[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${BENCH_PIDS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -f "$BENCH_PORTS_FILE"
	if [ -n "$BENCH_TMP" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "kept $BENCH_TMP"
		else
			rm -rf "$BENCH_TMP"
		fi
	fi
}

bench_init() { # sets tmp
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-bench.XXXXXX")
	chmod 755 "$tmp" # nginx workers may run as another user
	BENCH_TMP=$tmp
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_track() { BENCH_PIDS+=("$1"); }

# Builds the release idnode and idctl into $B (unless NO_BUILD=1), the
# make output in $tmp/build.log; sets IDNODE and IDCTL.
bench_build() {
	if [ "${NO_BUILD:-0}" != 1 ]; then
		echo "== make (release)"
		make -j"$(nproc)" B="$B" "$B/idnode" "$B/idctl" >"$tmp/build.log" 2>&1 ||
			{ tail -30 "$tmp/build.log" >&2; fail "build failed"; }
	fi
	IDNODE=$B/idnode
	IDCTL=$B/idctl
	[ -x "$IDNODE" ] && [ -x "$IDCTL" ] || fail "$IDNODE or $IDCTL is missing"
}

# Stops the idnode of $node_pid with SIGTERM and fails unless it exits 0.
idnode_stop() {
	kill -TERM "$node_pid"
	local rc=0
	wait "$node_pid" || rc=$?
	node_pid=
	[ "$rc" = 0 ] || fail "idnode exited with status $rc on SIGTERM"
}

# Stops one tracked daemon (SIGTERM, then waits for it).
bench_stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# A free TCP and UDP port on 127.0.0.1, below the kernel's ephemeral range
# (where client sockets of this run could take it before the daemon binds)
# and not handed out before in this run.
BENCH_PORTS_FILE=$(mktemp /tmp/bench-ports.XXXXXX)
pick_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 12000 ] 2>/dev/null || lo=32768
	for _ in $(seq 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		grep -qx "$p" "$BENCH_PORTS_FILE" 2>/dev/null && continue
		if [ -z "$(ss -Hlnuta "sport = :$p" 2>/dev/null)" ]; then
			echo "$p" >>"$BENCH_PORTS_FILE"
			echo "$p"
			return
		fi
	done
	fail "no free port"
}

# Waits until FILE contains PATTERN while PID lives (up to SEC seconds).
wait_log() { # file pattern pid sec
	local i
	for i in $(seq $(($4 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# "key": value from a JSON object printed with one key per line.
jget() {
	sed -n "s/^ *\"$2\": *\\([^,]*\\),\\{0,1\\}\$/\\1/p" "$1" | head -1 | tr -d '"'
}
fmt0() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
fmt1() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }
fmt2() { awk -v v="$1" 'BEGIN { printf "%.2f", v }'; }

# ---- CPU accounting ----
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
now_s() { date +%s.%N; }

# The process PID and all its descendants.
proc_tree() {
	local p=$1 c
	echo "$p"
	for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do
		proc_tree "$c"
	done
}

# user + system ticks of PIDs and their descendants (threads included).
tree_ticks() {
	local p t=0 q
	for p in "$@"; do
		for q in $(proc_tree "$p"); do
			[ -r "/proc/$q/stat" ] || continue
			# fields after the command name, which may hold spaces
			t=$((t + $(sed 's/.*) //' "/proc/$q/stat" 2>/dev/null |
				awk '{ print $12 + $13 } END { if (NR == 0) print 0 }')))
		done
	done
	echo "$t"
}

# Seconds of user + system time of this shell's finished children; call
# `times >"$tmp/times"` first in this shell (not in a $(...) subshell).
children_s() {
	awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, "m");
		sub("s", "", a[2]); n += a[1] * 60 + a[2] } print n }' "$tmp/times"
}

# Resident set of PIDs and their descendants, in KiB.
tree_rss_kib() {
	local p t=0 q r
	for p in "$@"; do
		for q in $(proc_tree "$p"); do
			r=$(awk '/^VmRSS/ { print $2 }' "/proc/$q/status" 2>/dev/null || true)
			t=$((t + ${r:-0}))
		done
	done
	echo "$t"
}

# Waits (up to QUIET_WAIT seconds) until the machine, without us, uses
# less than QUIET_MAX cores, measured over one second; all the waits of a
# run together stop after QUIET_BUDGET seconds (default 180), so that a
# busy machine delays a run by a bounded time.
quiet_spent=0
wait_quiet() {
	[ "${QUIET_WAIT:-0}" -gt 0 ] || return 0
	local left=$((${QUIET_BUDGET:-180} - quiet_spent))
	[ "$left" -gt 0 ] || return 0
	[ "$left" -lt "$QUIET_WAIT" ] || left=$QUIET_WAIT
	local start=$SECONDS deadline=$((SECONDS + left)) m0 m1 busy
	while :; do
		m0=$(machine_busy)
		sleep 1
		m1=$(machine_busy)
		busy=$(awk -v d=$((m1 - m0)) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
		if awk -v b="$busy" -v q="$QUIET_MAX" 'BEGIN { exit !(b < q) }' ||
			[ "$SECONDS" -ge "$deadline" ]; then
			quiet_spent=$((quiet_spent + SECONDS - start))
			return 0
		fi
		echo "   machine busy ($busy cores in use by others): waiting"
		sleep 2
	done
}

# taskset prefix for a CPU list ("-": none) into the array PFX.
pin_to() {
	if [ "$1" = - ] || ! command -v taskset >/dev/null 2>&1; then
		PFX=()
	else
		PFX=(taskset -c "$1")
	fi
}

# Placement on this machine: SCPU for the servers, GCPU for the load
# generators (different cores when there are two or more).
bench_placement() {
	ncpu=$(nproc)
	if command -v taskset >/dev/null 2>&1 && [ "$ncpu" -ge 2 ]; then
		SCPU=0
		GCPU=1
	else
		SCPU=-
		GCPU=-
	fi
}

machine_line() {
	local model
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	echo "$(nproc) CPUs (${model:-unknown}), $(uname -sr), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
}

# Median of the numbers on stdin (one per line).
median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0;
		else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
