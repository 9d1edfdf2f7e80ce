#!/usr/bin/env bash
# Runs every test binary of one build ($B, default build): unit tests,
# end-to-end tests (real daemons on loopback) and the fuzz corpus replays;
# then the store tests and the end-to-end tests again on a throwaway
# PostgreSQL when it is installed; then, for the release build, the
# service install and the Debian package (tests/install.sh).
# Prints one closing line "N passed, N failed" and exits non-zero on any
# failure.
set -u
B=${B:-build}
cd "$(dirname "$0")/.."
passed=0
failed=0
failures=()
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_cmocka() {
	local bin=$1
	"$bin" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or failed outside a test
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("$bin")
		echo "---- $bin (exit $rc)"
		cat "$log"
	fi
	printf '%-40s %3d passed, %d failed%s\n' "$(basename "$bin")" "$p" "$f" \
		"${s:+, $s skipped}"
}

unset IDN_TEST_PG IDN_TEST_PG_REPLICA # the first pass is LMDB's
for bin in "$B"/tests/unit/test_*; do
	[ -x "$bin" ] && run_cmocka "$bin"
done
# The store suites again on a throwaway PostgreSQL primary with a streaming
# replica (tests/pg.sh), stopped and removed afterwards.
if pg_env=$(tests/pg.sh start --replica 2>"$log"); then
	eval "$pg_env"
	trap 'tests/pg.sh stop "$IDN_PG_DIR" 2>/dev/null; rm -f "$log"' EXIT
	echo "== store tests on PostgreSQL ($IDN_TEST_PG)"
	for bin in "$B"/tests/unit/test_store "$B"/tests/unit/test_store_fault "$B"/tests/unit/test_store_iter "$B"/tests/unit/test_store_pg "$B"/tests/unit/test_search "$B"/tests/unit/test_changes; do
		[ -x "$bin" ] && run_cmocka "$bin"
	done
	# kept running for the end-to-end tests on PostgreSQL below
	pg_uri=$IDN_TEST_PG
	unset IDN_TEST_PG IDN_TEST_PG_REPLICA IDN_TEST_PG_CTL
elif ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo "== PostgreSQL is installed but did not start:"
	tail -5 "$log"
	failed=$((failed + 1))
	failures+=("tests/pg.sh start")
else
	echo "== PostgreSQL not installed: store and end-to-end tests on it skipped"
fi
for bin in "$B"/tests/e2e/test_*; do
	[ -x "$bin" ] && IDN_BUILD="$B" run_cmocka "$bin"
done
# The end-to-end tests again with every node on PostgreSQL: a database of
# its own per node on the cluster above (tests/e2e/harness.h), which is
# then stopped and removed.
if [ -n "${pg_uri:-}" ]; then
	echo "== end-to-end tests on PostgreSQL"
	for bin in "$B"/tests/e2e/test_*; do
		[ -x "$bin" ] && IDN_BUILD="$B" IDN_E2E_PG="$pg_uri" run_cmocka "$bin"
	done
	tests/pg.sh stop "$IDN_PG_DIR" 2>/dev/null
	trap 'rm -f "$log"' EXIT
	unset IDN_PG_DIR pg_uri
fi
for bin in "$B"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	if "$bin" "tests/fuzz/corpus/$name" >"$log" 2>&1; then
		passed=$((passed + 1))
		printf '%-40s replay: %s\n' "$name" "$(tail -1 "$log")"
	else
		failed=$((failed + 1))
		failures+=("$bin")
		echo "---- $bin corpus replay failed"
		tail -30 "$log"
	fi
done

# The benchmark suite works (every path once, tiny; no figures judged).
if NO_BUILD=1 B="$B" bench/run --smoke >"$log" 2>&1; then
	passed=$((passed + 1))
	printf '%-40s ok\n' "bench/run --smoke"
else
	failed=$((failed + 1))
	failures+=("bench/run --smoke")
	echo "---- bench/run --smoke failed"
	tail -30 "$log"
fi
# The service install and the Debian package (tests/install.sh), once:
# in the release pass only, as it installs the release build.
if [ "$B" = build ]; then
	tests/install.sh >"$log" 2>&1
	rc=$?
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$log" | tail -1)
	p=${p:-0}
	f=${f:-0}
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		failures+=("tests/install.sh")
		echo "---- tests/install.sh (exit $rc)"
		cat "$log"
	fi
	printf '%-40s %3d passed, %d failed (%s)\n' "install.sh" "$p" "$f" \
		"$(sed -n 's/^install test: //p' "$log")"
fi
if [ "${#failures[@]}" -ne 0 ]; then
	echo "failing: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
