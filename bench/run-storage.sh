#!/usr/bin/env bash
# The storage benchmark: idnode on LMDB versus idnode on PostgreSQL, with
# pgbench's select-only figure of the same PostgreSQL server in the same
# run as the reference. One command, a few minutes.
#
# Builds the release binaries, starts a throwaway PostgreSQL on loopback
# (tests/pg.sh: default settings, fsync and synchronous_commit on), and
#   1. bulk-imports COUNT synthetic identifiers: idctl populate into an
#      LMDB directory, idctl populate straight into a PostgreSQL database,
#      and idctl migrate from the LMDB directory into another database;
#   2. starts idnode --workers 1 on each store in turn (the LMDB directory,
#      then the migrated database) and loads it with idctl bench over UDP
#      at a few in-flight settings, after an unrecorded warm-up run;
#   3. runs pgbench -i at a small scale and pgbench -S -M prepared with one
#      and with four clients against the same server;
# then stops everything and writes a Markdown report (machine, versions,
# exact commands, tables). The server side (idnode, and every PostgreSQL
# process) is pinned to one core and the client (idctl bench, pgbench) to
# another with taskset where the machine allows.
#
# usage: bench/run-storage.sh [--smoke] [--count N] [--duration SEC]
#                             [--out FILE]
#   --smoke          10 000 identifiers, 1 s per run, in-flight 1 and 16;
#                    the report goes to the temporary directory unless
#                    --out is given (the recorded results are left alone)
#   --count N        identifiers (default 200000, env COUNT)
#   --duration SEC   seconds per measured run (default 5, env DURATION)
#   --out FILE       report file (default bench/RESULTS-storage.md)
# Environment: INFLIGHT ("1 16 64"), PREFIX (20.500.900), PGBENCH_SCALE
#   (10), B (build directory, default build), NO_BUILD=1, KEEP=1 (keep the
#   temporary directory; the cluster is stopped all the same). Each run
#   waits up to QUIET_WAIT seconds (60; 0 with --smoke) for the rest of the
#   machine to use less than QUIET_MAX cores (0.15) and to stall on I/O
#   less than IO_MAX percent of the time (2, from /proc/pressure/io); a run
#   during which it did not is repeated up to RETRIES times (2; 0 with
#   --smoke), then marked.
# Exits 0 when every run got answers and no errors; prints the tables.
set -eu
cd "$(dirname "$0")/.."
NAME=run-storage.sh
. bench/lib.sh

smoke=0
COUNT=${COUNT:-200000}
DURATION=${DURATION:-5}
INFLIGHT=${INFLIGHT:-"1 16 64"}
PREFIX=${PREFIX:-20.500.900}
PGBENCH_SCALE=${PGBENCH_SCALE:-10}
B=${B:-build}
QUIET_MAX=${QUIET_MAX:-0.15}
IO_MAX=${IO_MAX:-2}
QUIET_WAIT=${QUIET_WAIT:-60}
RETRIES=${RETRIES:-2}
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--count) COUNT=${2:?--count needs a value}; shift ;;
	--duration) DURATION=${2:?--duration needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-storage.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$smoke" = 1 ]; then
	COUNT=10000
	DURATION=1
	INFLIGHT="1 16"
	PGBENCH_SCALE=1
	QUIET_WAIT=0
	RETRIES=0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-bench-storage.XXXXXX")
LMDB=$tmp/lmdb
node_pid=
IDN_PG_DIR=
cleanup() {
	if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	[ -n "$IDN_PG_DIR" ] && tests/pg.sh stop "$IDN_PG_DIR" >/dev/null 2>&1
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$OUT" ]; then
	if [ "$smoke" = 1 ]; then OUT=$tmp/RESULTS-smoke.md; else OUT=bench/RESULTS-storage.md; fi
fi

# ---- build ----
bench_build

# ---- placement: server side on one core, client on another ----
bench_placement

# ---- helpers ----
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
# microseconds during which some task waited for I/O (0 without PSI)
io_stall() { sed -n 's/^some .*total=\([0-9]*\).*/\1/p' /proc/pressure/io 2>/dev/null || echo 0; }
ticks_of() { # pids...: user + system ticks, summed
	local p t=0 x
	for p in "$@"; do
		x=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || x=0
		t=$((t + ${x:-0}))
	done
	echo "$t"
}
pg_pids() { # the postmaster and its children
	local pm
	pm=$(head -1 "$IDN_PG_DIR/primary/postmaster.pid")
	echo "$pm" $(pgrep -P "$pm" || true)
}
# Ticks of the server side: idnode ($srv_node, if set) and, with srv_pg=1,
# the whole PostgreSQL cluster: the postmaster with the backends it has
# reaped (pgbench's exit before the run ends) and those still running.
srv_node=
srv_pg=0
server_ticks() {
	local t=0 pm
	[ -n "$srv_node" ] && t=$(ticks_of "$srv_node")
	if [ "$srv_pg" = 1 ]; then
		pm=$(head -1 "$IDN_PG_DIR/primary/postmaster.pid")
		t=$((t + $(awk '{ print $16 + $17 }' "/proc/$pm/stat")))
		t=$((t + $(ticks_of $(pg_pids))))
	fi
	echo "$t"
}
# Waits (up to QUIET_WAIT seconds) until the machine uses less than
# QUIET_MAX cores, measured over one second.
wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) m0 m1 i0 i1 busy io
	[ "$QUIET_WAIT" = 0 ] && return
	while :; do
		m0=$(machine_busy) i0=$(io_stall)
		sleep 1
		m1=$(machine_busy) i1=$(io_stall)
		busy=$(awk -v d=$((m1 - m0)) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
		io=$(((${i1:-0} - ${i0:-0}) / 10000))
		if { awk -v b="$busy" -v q="$QUIET_MAX" 'BEGIN { exit !(b < q) }' &&
			[ "$io" -lt "$IO_MAX" ]; } || [ "$SECONDS" -ge "$deadline" ]; then
			return
		fi
		echo "   machine busy ($busy cores in use, $io% I/O stall): waiting"
		sleep 2
	done
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
	echo 24641
}
commands=()
show() { # cpus command...: as recorded in the report, temp paths named
	local cpus=$1
	shift
	local s="$*"
	s=${s//$LMDB/\$LMDB}
	s=${s//$tmp/\$TMP}
	s=${s//$PGURI/\$PG}
	if [ "$cpus" = - ]; then echo "$s"; else echo "taskset -c $cpus $s"; fi
}

# ---- PostgreSQL ----
echo "== start PostgreSQL (tests/pg.sh)"
pg_env=$(tests/pg.sh start) || fail "tests/pg.sh start failed"
eval "$pg_env"
pg_bin=$(cat "$IDN_PG_DIR/bin")
PGURI=${IDN_TEST_PG%/*} # postgresql://postgres@127.0.0.1:PORT
psql_q() { "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
commands+=('eval "$(tests/pg.sh start)"   # $PG: its URI without the database')
if [ "$SCPU" != - ]; then
	# the backends forked later inherit the postmaster's affinity
	for p in $(pg_pids); do taskset -a -p -c "$SCPU" "$p" >/dev/null; done
	commands+=("taskset -a -p -c $SCPU PID   # for the postmaster and each of its processes")
fi
for db in idn_populate idn_migrate idn_pgbench; do
	psql_q "$PGURI/postgres" -c "CREATE DATABASE $db"
	commands+=("psql \$PG/postgres -c 'CREATE DATABASE $db'")
done

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
[ -n "$cpu_model" ] || cpu_model=unknown
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

rows=()
bad=0
noisy_rows=0
declare -A rate_of p50_of p99_of
# One measured run of cmd; sets cpu_srv and cpu_other (cores busy on
# average: the server side, and the rest of the machine besides the
# client), io_pct (percent of the time some task stalled on I/O) and
# noisy; 1 if the command failed.
measured() {
	local t0 m0 s0 c0 t1 m1 s1 c1 i0 i1 rc=0
	times >"$tmp/times"
	i0=$(io_stall)
	t0=$(now_s) m0=$(machine_busy) s0=$(server_ticks) c0=$(children_s)
	pin_to "$GCPU"
	${PFX[@]+"${PFX[@]}"} "${cmd[@]}" >"$out" 2>"$tmp/run.err" || rc=1
	times >"$tmp/times"
	t1=$(now_s) m1=$(machine_busy) c1=$(children_s)
	i1=$(io_stall)
	# backends that exited are in the postmaster's children's time only
	# once it has reaped them, which it does lazily
	[ "$srv_pg" = 1 ] && sleep 0.5
	s1=$(server_ticks)
	read -r cpu_srv cpu_other < <(awk -v hz="$hz" \
		-v m=$((m1 - m0)) -v s=$((s1 - s0)) -v c0="$c0" -v c1="$c1" \
		-v t0="$t0" -v t1="$t1" 'BEGIN { w = t1 - t0
		srv = s / hz / w; oth = m / hz / w - srv - (c1 - c0) / w
		if (oth < 0) oth = 0; printf "%.2f %.2f\n", srv, oth }')
	io_pct=$(awk -v d=$((${i1:-0} - ${i0:-0})) -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%.0f", d / 1e4 / (t1 - t0) }')
	noisy=$(awk -v o="$cpu_other" -v q="$QUIET_MAX" -v io="$io_pct" \
		-v iq="$IO_MAX" 'BEGIN { print (o >= q || io >= iq) ? 1 : 0 }')
	return $rc
}
# Runs cmd until the rest of the machine kept quiet (RETRIES); sets noisy.
run_quiet() {
	local attempt=0
	while :; do
		wait_quiet
		measured || { cat "$tmp/run.err" >&2; return 1; }
		[ "$noisy" = 1 ] && [ "$attempt" -lt "$RETRIES" ] || return 0
		attempt=$((attempt + 1))
		echo "   others used $cpu_other cores, $io_pct% I/O stall during the run: again"
	done
}

# ---- bulk import ----
imports=()
import_run() { # label json-rate-key command...
	local label=$1 key=$2
	shift 2
	cmd=("$@")
	commands+=("$(show "$GCPU" "$@")")
	echo "== import: $label"
	out=$tmp/import.json
	# the server side of an import into PostgreSQL is the cluster
	srv_node=
	srv_pg=0
	[ "${label%%:*}" = PostgreSQL ] && srv_pg=1
	# once: a second import would replace records, not insert them
	wait_quiet
	measured || { cat "$tmp/run.err" >&2; fail "$label failed"; }
	# an import's own writes stall on I/O: only other CPU use counts
	noisy=$(awk -v o="$cpu_other" -v q="$QUIET_MAX" 'BEGIN { print (o >= q) ? 1 : 0 }')
	[ "$srv_pg" = 1 ] || cpu_srv=-
	local rate secs mark=
	rate=$(jget "$out" "$key")
	secs=$(jget "$out" seconds)
	[ "$noisy" = 1 ] && mark=" (!)" && noisy_rows=1
	echo "   $(fmt0 "$rate") identifiers/s ($(fmt1 "$secs") s), server $cpu_srv cores, others $cpu_other cores"
	imports+=("$label|$(fmt0 "$rate")|$(fmt1 "$secs")|$cpu_srv|$cpu_other|$io_pct%$mark")
}
import_run "LMDB: idctl populate" identifiers_per_s \
	"$IDCTL" populate --data "$LMDB" --prefix "$PREFIX" --count "$COUNT" --json
lmdb_import=$(jget "$tmp/import.json" identifiers_per_s)
lmdb_bytes=$(jget "$tmp/import.json" store_bytes)
import_run "PostgreSQL: idctl populate" identifiers_per_s \
	"$IDCTL" populate --data "$PGURI/idn_populate" --prefix "$PREFIX" --count "$COUNT" --json
pg_populate=$(jget "$tmp/import.json" identifiers_per_s)
import_run "PostgreSQL: idctl migrate from LMDB" records_per_second \
	"$IDCTL" migrate --from "lmdb:$LMDB" --to "$PGURI/idn_migrate" --no-progress --json
pg_migrate=$(jget "$tmp/import.json" records_per_second)
# the node runs on the migrated copy; settle it so that autovacuum does
# not start during the runs
psql_q "$PGURI/postgres" -c "DROP DATABASE idn_populate"
psql_q "$PGURI/idn_migrate" -c "VACUUM ANALYZE" -c "CHECKPOINT"
pg_bytes=$(psql_q "$PGURI/idn_migrate" -c "SELECT pg_database_size(current_database())")
commands+=("psql \$PG/idn_migrate -c 'VACUUM ANALYZE' -c CHECKPOINT")

# ---- resolution ----
start_node() { # data-dir store-args...
	local tries data=$1
	shift
	for tries in 1 2 3; do
		PORT=$(pick_port)
		node=("$IDNODE" --data "$data" --listen "127.0.0.1:$PORT"
			--control "$tmp/ctl.sock" --workers 1 --rrl-rate 0 "$@")
		pin_to "$SCPU"
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
			commands+=("$(show "$SCPU" "${node[@]}")")
			return 0
		fi
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
		node_pid=
	done
	cat "$tmp/idnode.log" >&2
	fail "idnode did not start"
}

bench_store() { # label data-dir store-args...
	local label=$1
	shift
	echo "== idnode on $label"
	start_node "$@"
	srv_node=$node_pid
	srv_pg=0
	[ "$label" = PostgreSQL ] && srv_pg=1
	out=$tmp/bench.json
	# warm-up, not recorded: page cache, PostgreSQL's buffers
	cmd=("$IDCTL" bench -s "127.0.0.1:$PORT" --prefix "$PREFIX" --count "$COUNT"
		--duration 1 --inflight 16 --json)
	measured || fail "warm-up run on $label failed"
	for k in $INFLIGHT; do
		cmd=("$IDCTL" bench -s "127.0.0.1:$PORT" --prefix "$PREFIX"
			--count "$COUNT" --duration "$DURATION" --inflight "$k" --json)
		commands+=("$(show "$GCPU" "${cmd[@]}")")
		if ! run_quiet; then
			bad=1
			rows+=("| $label | $k | FAILED | | | | | | | |")
			continue
		fi
		local rate p50 p99 p999 to err mal ok wid mark=
		rate=$(jget "$out" resolutions_per_s)
		p50=$(jget "$out" p50)
		p99=$(jget "$out" p99)
		p999=$(jget "$out" p99.9)
		to=$(jget "$out" timeouts)
		err=$(jget "$out" errors)
		mal=$(jget "$out" malformed)
		ok=$(jget "$out" success)
		wid=$(jget "$out" wrong_id)
		if [ "${ok:-0}" = 0 ] || [ "${err:-1}" != 0 ] || [ "${mal:-1}" != 0 ] ||
			[ "${wid:-1}" != 0 ]; then
			echo "run-storage.sh: bad answers: success $ok, errors $err, malformed $mal, wrong identifier $wid" >&2
			bad=1
		fi
		[ "$noisy" = 1 ] && mark=" (!)" && noisy_rows=1
		echo "   in flight $k: $(fmt0 "$rate") resolutions/s, p50 $(fmt1 "$p50") us, p99 $(fmt1 "$p99") us, timeouts $to, server $cpu_srv cores, others $cpu_other cores, I/O stall $io_pct%"
		rate_of[$label,$k]=$rate
		p50_of[$label,$k]=$p50
		p99_of[$label,$k]=$p99
		rows+=("| $label | $k | $(fmt0 "$rate") | $(fmt1 "$p50") | $(fmt1 "$p99") | $(fmt1 "$p999") | $to | $cpu_srv | $cpu_other | $io_pct%$mark |")
	done
	idnode_stop
	srv_node=
}
bench_store LMDB "$LMDB"
# --data holds only the control socket then
bench_store PostgreSQL "$tmp/pgnode" --store "$PGURI/idn_migrate"

# ---- the reference: pgbench on the same server ----
echo "== pgbench -i -s $PGBENCH_SCALE"
"$pg_bin/pgbench" -i -s "$PGBENCH_SCALE" -q "$PGURI/idn_pgbench" >"$tmp/pgbench-init.log" 2>&1 ||
	{ cat "$tmp/pgbench-init.log" >&2; fail "pgbench -i failed"; }
commands+=("$pg_bin/pgbench -i -s $PGBENCH_SCALE -q \$PG/idn_pgbench")
psql_q "$PGURI/idn_pgbench" -c "VACUUM ANALYZE" -c "CHECKPOINT"
pgrows=()
declare -A tps_of
for c in 1 4; do
	echo "== pgbench -S, $c client(s)"
	rm -f "$tmp"/pgb.*
	cmd=("$pg_bin/pgbench" -S -M prepared -c "$c" -j 1 -T "$DURATION" -l
		--log-prefix "$tmp/pgb" "$PGURI/idn_pgbench")
	commands+=("$(show "$GCPU" "${cmd[@]}")")
	out=$tmp/pgbench.out
	srv_pg=1
	if ! run_quiet; then
		bad=1
		pgrows+=("| $c | FAILED | | | | | | |")
		continue
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out" | tail -1)
	avg=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$out")
	# per-transaction log: column 3 is the latency in microseconds
	read -r lp50 lp99 < <(cat "$tmp"/pgb.* | awk '{ print $3 }' | sort -n |
		awk '{ a[NR] = $1 } END { i = int(NR * 0.5); j = int(NR * 0.99)
		if (i < 1) i = 1; if (j < 1) j = 1; print a[i], a[j] }')
	mark=
	[ "$noisy" = 1 ] && mark=" (!)" && noisy_rows=1
	tps_of[$c]=$tps
	echo "   $(fmt0 "$tps") tps, p50 $lp50 us, p99 $lp99 us, server $cpu_srv cores, others $cpu_other cores, I/O stall $io_pct%"
	pgrows+=("| $c | $(fmt0 "$tps") | $(fmt1 "$lp50") | $(fmt1 "$lp99") | $(awk -v a="$avg" 'BEGIN { printf "%.1f", a * 1000 }') | $cpu_srv | $cpu_other | $io_pct%$mark |")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
pg_version=$("$pg_bin/postgres" --version)
tests/pg.sh stop "$IDN_PG_DIR" >/dev/null 2>&1
IDN_PG_DIR=

# ---- report ----
import_table() {
	echo "| store | how | identifiers/s | seconds | server CPU | other CPU | I/O stall |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	local r
	for r in "${imports[@]}"; do
		IFS='|' read -r a b c d e f <<<"$r"
		echo "| ${a%%:*} | \`${a#*: }\` | $b | $c | $d | $e | $f |"
	done
}
res_table() {
	echo "| store | in flight | resolutions/s | p50 µs | p99 µs | p99.9 µs | timeouts | server CPU | other CPU | I/O stall |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
}
ratio_table() {
	echo "| in flight | PostgreSQL / LMDB resolutions/s | p50 µs LMDB / PostgreSQL | p99 µs LMDB / PostgreSQL | PostgreSQL resolutions/s / pgbench tps, 1 client | the same, 4 clients |"
	echo "| ---: | ---: | --- | --- | ---: | ---: |"
	local k
	for k in $INFLIGHT; do
		echo "| $k | $(ratio "${rate_of[PostgreSQL,$k]:-0}" "${rate_of[LMDB,$k]:-0}") | $(fmt1 "${p50_of[LMDB,$k]:-0}") / $(fmt1 "${p50_of[PostgreSQL,$k]:-0}") | $(fmt1 "${p99_of[LMDB,$k]:-0}") / $(fmt1 "${p99_of[PostgreSQL,$k]:-0}") | $(ratio "${rate_of[PostgreSQL,$k]:-0}" "${tps_of[1]:-0}") | $(ratio "${rate_of[PostgreSQL,$k]:-0}" "${tps_of[4]:-0}") |"
	done
}
pgbench_table() {
	echo "| clients | tps | p50 µs | p99 µs | average µs | server CPU | other CPU | I/O stall |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${pgrows[@]}"
}
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then rev="$rev + uncommitted changes in src/"; fi
{
	echo "# Storage benchmark: idnode on LMDB and on PostgreSQL"
	echo
	if [ "$smoke" = 1 ]; then echo "Smoke run (\`--smoke\`): too short to quote."; echo; fi
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- source: $rev; \`bench/run-storage.sh$([ "$smoke" = 1 ] && echo " --smoke")\`, $COUNT identifiers, ${DURATION} s per run"
	echo "- machine: $ncpu CPUs ($cpu_model), $(uname -sr), $(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
	echo "- storage: LMDB directory and PostgreSQL cluster both in \`$(dirname "$tmp")\` ($(df -PT "$tmp" | awk 'NR == 2 { print $2 }'))"
	echo "- $pg_version, cluster from \`tests/pg.sh\`: default settings (shared_buffers 128 MB, fsync and synchronous_commit on), TCP on 127.0.0.1"
	echo "- $(cc --version | head -1); idctl and idnode built with the Makefile's release flags (-O2)"
	echo "- load average before / after: $load_before / $load_after"
	if [ "$SCPU" != - ]; then
		echo "- placement: the server side on CPU $SCPU (idnode, and every PostgreSQL process, with taskset), the client (idctl bench, pgbench) on CPU $GCPU"
	else
		echo "- placement: not pinned (taskset missing or a single core)"
	fi
	echo
	echo "## Bulk import"
	echo
	echo "$COUNT identifiers \`$PREFIX/bench-<i>\` (4–5 values each: URL, EMAIL, BATCH,"
	echo "DESC on every third, HS_ADMIN). \`idctl populate\` commits every 10 000"
	echo "identifiers; \`idctl migrate\` reads the LMDB store in one snapshot and"
	echo "commits every 1 000 records. The importing idctl runs on the client's"
	echo "core; *server CPU* is what the PostgreSQL cluster used (LMDB has no"
	echo "server: idctl writes the store itself); *I/O stall* includes the"
	echo "import's own waits for the disk. Store size: LMDB $lmdb_bytes bytes"
	echo "($(awk -v a="$lmdb_bytes" -v n="$COUNT" 'BEGIN { printf "%.0f", a / n }') bytes/identifier), PostgreSQL database"
	echo "$pg_bytes bytes ($(awk -v a="$pg_bytes" -v n="$COUNT" 'BEGIN { printf "%.0f", a / n }') bytes/identifier, indexes and catalogue included)."
	echo
	import_table
	echo
	echo "PostgreSQL / LMDB import rate: $(ratio "$pg_populate" "$lmdb_import") (populate), $(ratio "$pg_migrate" "$lmdb_import") (migrate)."
	echo
	echo "## Resolution"
	echo
	echo "\`idnode --workers 1\` on each store, loaded by \`idctl bench\` over UDP:"
	echo "random identifiers among the $COUNT, a fixed number of requests in flight"
	echo "(closed loop), ${DURATION} s a run after an unrecorded 1 s warm-up. Latency is"
	echo "per request, from send to answer. *server CPU* is the cores used on"
	echo "average by idnode plus, on PostgreSQL, every PostgreSQL process (1.00 ="
	echo "the server core saturated); *other CPU* what the rest of the machine"
	echo "used meanwhile besides the client; *I/O stall* the share of the time"
	echo "some task on the machine waited for the disk (\`/proc/pressure/io\`)."
	if [ "$noisy_rows" = 1 ]; then
		echo "Rows marked (!) here or above had other work on the machine (above"
		echo "$QUIET_MAX cores or $IO_MAX% I/O stall, after $RETRIES retries; imports are"
		echo "not repeated): read them as lower bounds."
	fi
	echo
	res_table
	echo
	echo "## Reference: pgbench -S on the same server"
	echo
	echo "pgbench's select-only transaction (one primary-key \`SELECT\` on"
	echo "\`pgbench_accounts\`, scale $PGBENCH_SCALE, prepared statements), run after"
	echo "the idnode runs on the same cluster with the same placement. With one"
	echo "client it is the closest thing to idnode's one worker, which holds one"
	echo "read connection and resolves one request at a time on it. Percentiles"
	echo "come from pgbench's per-transaction log."
	echo
	pgbench_table
	echo
	ratio_table
	echo
	echo "How to read the last columns: idnode's worker resolves a whole receive"
	echo "batch (up to 64 datagrams) in one read snapshot, one \`BEGIN\` travelling"
	echo "with the first query, then one round trip per identifier, the"
	echo "\`ROLLBACK\` not waited for; pgbench's client waits for each one-statement"
	echo "transaction. With one request in flight both make one round trip to"
	echo "the server per answer, and the 1-client ratio shows what idnode adds"
	echo "(the UDP hop, decoding, \`BEGIN\`/\`ROLLBACK\`, the reply) on the same"
	echo "core; with many in flight the 4-client figure, which keeps the server"
	echo "core busy, is the ceiling to compare with."
	echo
	echo "## Commands"
	echo
	echo "With \$TMP a temporary directory, \$LMDB=\$TMP/lmdb and \$PG the cluster's"
	echo "URI without a database (\`postgresql://postgres@127.0.0.1:PORT\`), in this"
	echo "order:"
	echo
	echo '```'
	printf '%s\n' "${commands[@]}"
	echo '```'
} >"$OUT"

echo
import_table
echo
res_table
echo
pgbench_table
echo
ratio_table
echo
if [ "$smoke" = 1 ] && [ "$OUT" = "$tmp/RESULTS-smoke.md" ] && [ "${KEEP:-0}" != 1 ]; then
	echo "smoke run: report not kept (use --out FILE to keep it)"
else
	echo "report: $OUT"
fi
[ "$bad" = 0 ] || fail "some runs failed or got error answers"
