#!/usr/bin/env bash
# What the search index costs and how fast search is, in one command.
#
# Builds the release binaries of this tree and of BASE (a commit without
# the search index, default the one before it was added) from git, then,
# for BASE and for this tree with three declared sets (docs/search.md):
# none (a new store), BATCH alone, and all (URL, EMAIL, BATCH, DESC and
# the creation time):
#   1. `idctl populate` of COUNT identifiers into a fresh LMDB store, with
#      each in turn, ROUNDS times: identifiers/s, CPU seconds, and bytes
#      per identifier (file size; pages of each database per mdb_stat for
#      the store with every type declared);
#   2. `idctl import` of IMPORT_COUNT JSON Lines records (URL, BATCH,
#      EMAIL, HS_ADMIN) through the control socket of a fresh idnode of
#      each, the types declared with `idctl index add` first: records/s;
#   3. `idctl index add BATCH` and `index remove BATCH` on the COUNT store
#      with nothing declared: seconds (one transaction over every record);
#   4. search latency through the storage interface on the COUNT store
#      with every type declared (bench/search_bench.c): p50 / p99 of each
#      kind of query;
#   5. unless PG=0: populate of PG_COUNT identifiers into PostgreSQL
#      (tests/pg.sh starts a throwaway cluster) with each build (the
#      expression indexes cover every type whatever is declared), and
#      search latency there.
# Writes bench/RESULTS-search.md (or --out FILE).
#
# usage: bench/run-search.sh [--count N] [--import-count N] [--rounds R]
#                            [--out FILE]
# Environment: BASE (git commit), COUNT (1000000), IMPORT_COUNT (200000),
#   PG_COUNT (100000), PG (1), ROUNDS (2), TMPDIR (where the stores go),
#   PREFIX (20.500.900).
# Needs git, python3 and lmdb-utils (mdb_stat).
set -eu
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000000}
IMPORT_COUNT=${IMPORT_COUNT:-200000}
PG_COUNT=${PG_COUNT:-100000}
ROUNDS=${ROUNDS:-2}
PREFIX=${PREFIX:-20.500.900}
BASE=${BASE:-3c35bf04aff88b7ce6cdc41c0f805e8d3c654cd7}
OUT=bench/RESULTS-search.md
while [ $# -gt 0 ]; do
	case $1 in
	--count) COUNT=${2:?}; shift ;;
	--import-count) IMPORT_COUNT=${2:?}; shift ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-search.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for t in git python3 mdb_stat; do
	command -v $t >/dev/null || { echo "run-search.sh: needs $t" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-search.XXXXXX")
node_pid=
cleanup() {
	if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "building this tree and $BASE..." >&2
make -s -j2 build/idnode build/idctl build/libidn.a >/dev/null
cc -std=c11 -D_GNU_SOURCE -O2 -g -pthread -Isrc/lib \
	"$(pkg-config --cflags libpq 2>/dev/null || echo -I/usr/include/postgresql)" \
	bench/search_bench.c build/libidn.a -llmdb -lpq -lcrypto \
	-o "$tmp/search_bench"
mkdir -p "$tmp/base"
git archive "$BASE" | tar -x -C "$tmp/base"
make -s -C "$tmp/base" -j2 build/idnode build/idctl >/dev/null
new=build
old=$tmp/base/build

ALL_TYPES="URL EMAIL BATCH DESC"
# the configurations: BASE, then this tree with nothing, BATCH, everything
CONFIGS="base none batch all"
# populate options declaring the types of a configuration
decl_opts() {
	case $1 in
	batch) echo "--index-type BATCH" ;;
	all) echo "--index-created$(for t in $ALL_TYPES; do printf ' --index-type %s' "$t"; done)" ;;
	esac
}
bin_of() { if [ "$1" = base ]; then echo "$old"; else echo "$new"; fi; }
label() {
	case $1 in
	base) echo "BASE (no index)" ;;
	none) echo "declared: none" ;;
	batch) echo "declared: BATCH" ;;
	all) echo "declared: all + creation time" ;;
	esac
}

# populate CONFIG DIR: prints "rate cpu bytes_per_id"
populate() {
	rm -rf "$2"
	# shellcheck disable=SC2046
	/usr/bin/time -f "%U %S" -o "$tmp/time" "$(bin_of "$1")/idctl" populate \
		--data "$2" --prefix "$PREFIX" --count "$COUNT" --json \
		$(decl_opts "$1") >"$tmp/pop.json" 2>/dev/null
	python3 - "$tmp/pop.json" "$tmp/time" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
u, s = open(sys.argv[2]).read().split()[-2:]
print("%.0f %.2f %.0f" % (d["identifiers_per_s"], float(u) + float(s),
			  d["bytes_per_identifier"]))
EOF
}

echo "populate, $COUNT identifiers, $ROUNDS rounds..." >&2
pop_rows=
for r in $(seq "$ROUNDS"); do
	for b in $CONFIGS; do
		read -r rate cpu bpi < <(populate "$b" "$tmp/store-$b")
		pop_rows="$pop_rows| $r | $(label $b) | $rate | $cpu | $bpi |
"
		eval "rate_$b=\$rate cpu_$b=\$cpu bpi_$b=\$bpi"
	done
done
stat_new=$(mdb_stat -a "$tmp/store-all" | awk '
	/^Status of/ { db = $3 }
	/Branch pages|Leaf pages|Overflow pages/ { pages[db] += $3 }
	END { for (d in pages) if (pages[d] > 1) printf "%s=%d ", d, pages[d] }')
free_new=$(mdb_stat -f "$tmp/store-all" | awk '/Free pages/ { print $3; exit }')

echo "import through idnode, $IMPORT_COUNT records..." >&2
python3 - "$IMPORT_COUNT" "$PREFIX" >"$tmp/in.jsonl" <<'EOF'
import sys
n, p = int(sys.argv[1]), sys.argv[2]
out = sys.stdout
for i in range(n):
    out.write('{"handle":"%s/imp-%d","values":[{"index":1,"type":"URL","data":"https://example.com/i/%d"},{"index":2,"type":"BATCH","data":"lot=B2026-%06d"},{"index":3,"type":"EMAIL","data":"owner%d@example.com"},{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"0.NA/%s","index":300,"permissions":"111111111111"}}}]}\n' % (p, i, i, i // 1000, i % 997, p))
EOF
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
import_rate() { # CONFIG DATA
	rm -rf "$2"
	bin=$(bin_of "$1")
	"$bin/idnode" --data "$2" --listen "127.0.0.1:$(port)" --control "$2.sock" \
		--home "$PREFIX" --workers 1 --log-level warn 2>"$tmp/node.log" &
	node_pid=$!
	for _ in $(seq 100); do [ -S "$2.sock" ] && break; sleep 0.1; done
	case $1 in
	batch) "$bin/idctl" -C "$2.sock" index add BATCH >/dev/null ;;
	all)
		"$bin/idctl" -C "$2.sock" index add --created >/dev/null
		for t in URL EMAIL BATCH; do
			"$bin/idctl" -C "$2.sock" index add "$t" >/dev/null
		done ;;
	esac
	"$bin/idctl" -C "$2.sock" import "$tmp/in.jsonl" --quiet --json >"$tmp/sum.json"
	kill -TERM "$node_pid"
	wait "$node_pid" || true
	node_pid=
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["created"] == int(sys.argv[2]), d; print("%.0f" % d["records_per_s"])' \
		"$tmp/sum.json" "$IMPORT_COUNT"
}
imp_rows=
for r in $(seq "$ROUNDS"); do
	for b in $CONFIGS; do
		rate=$(import_rate "$b" "$tmp/imp-$b")
		imp_rows="$imp_rows| $r | $(label $b) | $rate |
"
	done
done

echo "index add/remove BATCH on $COUNT identifiers..." >&2
idx_time() { # ACTION: seconds of idctl index ACTION BATCH through idnode
	"$new/idnode" --data "$tmp/store-none" --listen "127.0.0.1:$(port)" \
		--control "$tmp/idx.sock" --home "$PREFIX" --workers 1 \
		--log-level warn 2>"$tmp/node.log" &
	node_pid=$!
	for _ in $(seq 100); do [ -S "$tmp/idx.sock" ] && break; sleep 0.1; done
	/usr/bin/time -f "%e" -o "$tmp/time" "$new/idctl" -C "$tmp/idx.sock" \
		index "$1" BATCH >/dev/null
	kill -TERM "$node_pid"
	wait "$node_pid" || true
	node_pid=
	cat "$tmp/time"
}
size_none=$(du -b "$tmp/store-none/data.mdb" | cut -f1)
add_s=$(idx_time add)
size_added=$(du -b "$tmp/store-none/data.mdb" | cut -f1)
entries_added=$(mdb_stat -s search_values "$tmp/store-none" | awk '/Entries/ { print $2 }')
rm_s=$(idx_time remove)
entries_removed=$(mdb_stat -s search_values "$tmp/store-none" | awk '/Entries/ { print $2 }')

pg_rows=
if [ "${PG:-1}" = 1 ] && [ -x tests/pg.sh ]; then
	echo "populate into PostgreSQL, $PG_COUNT identifiers..." >&2
	eval "$(tests/pg.sh start)"
	trap 'tests/pg.sh stop "$IDN_PG_DIR" >/dev/null 2>&1; cleanup' EXIT
	pg_uri() { # a schema of its own, on the search path
		psql -qX "$IDN_TEST_PG" -c "CREATE SCHEMA $1" >/dev/null
		echo "$IDN_TEST_PG?options=-c%20search_path%3D$1"
	}
	for r in $(seq "$ROUNDS"); do
		for b in base all; do
			bin=$(bin_of $b)
			u=$(pg_uri "bench_${b}_$r")
			# shellcheck disable=SC2046
			/usr/bin/time -f "%e" -o "$tmp/time" "$bin/idctl" populate \
				--data "$u" --prefix "$PREFIX" --count "$PG_COUNT" \
				--batch 1000 --json $(decl_opts $b) >"$tmp/pop.json" 2>/dev/null
			rate=$(python3 -c 'import json,sys; print("%.0f" % json.load(open(sys.argv[1]))["identifiers_per_s"])' "$tmp/pop.json")
			size=$(psql -qXtA "$IDN_TEST_PG" -c "SELECT pg_total_relation_size('bench_${b}_$r.idn_records') / $PG_COUNT")
			pg_rows="$pg_rows| $r | $(label $b) | $rate | $size |
"
		done
	done
	pg_lat=$("$tmp/search_bench" --store "$(echo "$IDN_TEST_PG?options=-c%20search_path%3Dbench_all_1")" \
		--prefix "$PREFIX" --count "$PG_COUNT" --runs 200)
fi

echo "search latency on $COUNT identifiers..." >&2
lat=$("$tmp/search_bench" --store "$tmp/store-all" --prefix "$PREFIX" --count "$COUNT" --runs 500)

{
	echo "# Search: index cost and latency"
	echo
	echo "\`bench/run-search.sh --count $COUNT --import-count $IMPORT_COUNT --rounds $ROUNDS\`"
	echo "on $(uname -srm), $(nproc) CPUs, $(date -u +%Y-%m-%d), LMDB store in"
	echo "${TMPDIR:-/tmp}. The machine is shared: compare rows of one run, and"
	echo "prefer CPU seconds to rates, which move with the other load."
	echo "BASE is $BASE (no search index), built from git in the same run;"
	echo "the other rows are this tree with the declared set named (all:"
	echo "$ALL_TYPES and the creation time; idctl populate --index-type,"
	echo "idctl index add for the import)."
	echo
	echo "## Writing: idctl populate, $COUNT identifiers (4-5 values each)"
	echo
	echo "| round | build | identifiers/s | CPU s | bytes/identifier (file) |"
	echo "| ---: | --- | ---: | ---: | ---: |"
	printf "%s" "$pop_rows"
	echo
	for b in none batch all; do
		eval "c=\$cpu_$b r=\$rate_$b s=\$bpi_$b"
		echo "Last round, $(label $b) against BASE: CPU ratio $(awk -v a="$c" -v b="$cpu_base" 'BEGIN{printf "%.2f", a/b}'),"
		echo "rate ratio $(awk -v a="$r" -v b="$rate_base" 'BEGIN{printf "%.2f", a/b}'), $((s - bpi_base)) more bytes per identifier."
		echo
	done
	echo "Pages of the store with everything declared (4 KiB; records, the"
	echo "indexes, and free pages left by copy-on-write): $stat_new free=$free_new."
	echo
	echo "## Declaring a type on a full store: idctl index add / remove BATCH"
	echo
	echo "Through idnode's control socket on the $COUNT-identifier store"
	echo "populated with nothing declared, one transaction each:"
	echo
	echo "| action | seconds | search_values entries after | data.mdb bytes after |"
	echo "| --- | ---: | ---: | ---: |"
	echo "| (before) | | 0 | $size_none |"
	echo "| index add BATCH | $add_s | $entries_added | $size_added |"
	echo "| index remove BATCH | $rm_s | $entries_removed | $(du -b "$tmp/store-none/data.mdb" | cut -f1) |"
	echo
	echo "## Writing: idctl import through idnode, $IMPORT_COUNT records (URL, BATCH, EMAIL, HS_ADMIN)"
	echo
	echo "| round | build | records/s |"
	echo "| ---: | --- | ---: |"
	printf "%s" "$imp_rows"
	echo
	if [ -n "$pg_rows" ]; then
		echo "## PostgreSQL: idctl populate, $PG_COUNT identifiers, batches of 1000"
		echo
		echo "A throwaway PostgreSQL 15 cluster on loopback (tests/pg.sh), default"
		echo "settings. Bytes: pg_total_relation_size(idn_records) per identifier"
		echo "(table, primary key and, with the index, the two search indexes)."
		echo
		echo "| round | build | identifiers/s | bytes/identifier |"
		echo "| ---: | --- | ---: | ---: |"
		printf "%s" "$pg_rows"
		echo
		echo "Search latency on PostgreSQL, $PG_COUNT identifiers (200 runs each):"
		echo
		echo "$pg_lat"
		echo
	fi
	echo "## Search latency, $COUNT identifiers, in-process (storage interface)"
	echo
	echo "On the store with everything declared."
	echo
	echo "One page (up to 100 results) a search, each in a renewed read"
	echo "snapshot, 500 runs; the record of every match is read and checked."
	echo
	echo "$lat"
} >"$OUT"
echo "wrote $OUT" >&2
cat "$OUT"
