#!/usr/bin/env bash
# PostgreSQL versus LMDB through the storage interface, with pgbench's
# select-only figure of the same server in the same run as the reference.
#
#   bench/store-pg.sh [RECORDS] [THREADS] [SECONDS]   (100000 2 10)
#   B=build/x bench/store-pg.sh ...                   another build dir
#
# Starts a throwaway PostgreSQL on loopback (tests/pg.sh, default settings:
# fsync and synchronous_commit on), imports RECORDS identifiers of three
# values into an LMDB store and into PostgreSQL, resolves random ones from
# THREADS workers for SECONDS each (renew, homed, get, reset: what the
# daemon's handler does per request), then runs pgbench -S -M prepared with
# THREADS clients on the same server. Prints a table and keeps the raw
# lines in bench/results/store-pg-<date>.txt.
set -eu
cd "$(dirname "$0")/.."
records=${1:-100000}
threads=${2:-2}
secs=${3:-10}
B=${B:-build}
make -s B="$B" "$B/libidn.a"
tool=$B/bench/store_bench
mkdir -p "$B/bench" bench/results
cc -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc/lib \
	"$(pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)" \
	bench/store_bench.c "$B/libidn.a" -llmdb -lpq -lcrypto -o "$tool"

eval "$(tests/pg.sh start)"
lmdb=$(mktemp -d)
trap 'tests/pg.sh stop "$IDN_PG_DIR"; rm -rf "$lmdb"' EXIT
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
out=bench/results/store-pg-$(date -u +%Y%m%dT%H%M%SZ).txt
{
	echo "# $(date -u) $(uname -srm), $(nproc) CPUs"
	echo "# $("$bin/postgres" --version), records=$records threads=$threads seconds=$secs"
	echo "lmdb $("$tool" --store "$lmdb/db" --import --records "$records" \
		--threads "$threads" --seconds "$secs" | tr '\n' ' ')"
	echo "postgresql $("$tool" --store "$IDN_TEST_PG" --import \
		--records "$records" --threads "$threads" --seconds "$secs" \
		2>/dev/null | tr '\n' ' ')"
	"$bin/pgbench" -i -s 10 -q "$IDN_TEST_PG" >/dev/null 2>&1
	echo "pgbench $("$bin/pgbench" -S -M prepared -c "$threads" \
		-j "$threads" -T "$secs" "$IDN_TEST_PG" 2>/dev/null |
		grep -E '^(tps|latency average)' | tr '\n' ' ')"
} | tee "$out"

python3 - "$out" <<'EOF'
import json, re, sys
rows = {}
for line in open(sys.argv[1]):
    if line.startswith("#"):
        print(line.rstrip()); continue
    name, rest = line.split(" ", 1)
    if name == "pgbench":
        tps = float(re.search(r"tps = ([\d.]+)", rest).group(1))
        lat = float(re.search(r"latency average = ([\d.]+)", rest).group(1))
        rows[name] = {"tps": tps, "avg_us": lat * 1000}
    else:
        rows[name] = {d["phase"]: d for d in
                      (json.loads(x) for x in re.findall(r"\{[^}]*\}", rest))}
pg, lm, ref = rows["postgresql"], rows["lmdb"], rows["pgbench"]
print(f"{'':28} {'LMDB':>12} {'PostgreSQL':>12} {'PG/LMDB':>8}")
def row(label, a, b, fmt="{:12.0f}"):
    print(f"{label:28} {fmt.format(a)} {fmt.format(b)} {b / a:8.3f}")
row("import records/s", lm["import"]["records_per_second"], pg["import"]["records_per_second"])
row("import commit p99 ms", lm["import"]["commit_p99_ms"], pg["import"]["commit_p99_ms"], "{:12.2f}")
row("resolutions/s", lm["resolve"]["resolutions_per_second"], pg["resolve"]["resolutions_per_second"])
row("resolution p50 us", lm["resolve"]["p50_us"], pg["resolve"]["p50_us"], "{:12.1f}")
row("resolution p99 us", lm["resolve"]["p99_us"], pg["resolve"]["p99_us"], "{:12.1f}")
r = pg["resolve"]["resolutions_per_second"]
print(f"pgbench -S on the same server: {ref['tps']:.0f} tps, "
      f"avg {ref['avg_us']:.1f} us; PostgreSQL store / pgbench -S = "
      f"{r / ref['tps']:.3f}")
EOF
