#!/usr/bin/env bash
# The bulk registration benchmark (issue #6 item 3), in one command.
#
# Builds the release binaries, generates COUNT records as JSON Lines (three
# values each: URL, a BATCH text and HS_ADMIN, about 475 bytes a line) and
# the same records without HS_ADMIN as CSV, then for each input starts a
# fresh idnode on a temporary LMDB data directory on disk and times
# `idctl import` into it (batches over the control socket, one durable
# write transaction per batch). It reports identifiers/s, the CPU seconds
# of idctl and idnode, and on-disk bytes per identifier (data.mdb size and
# pages in use per mdb_stat). As the LMDB floor it dumps the imported
# records sub-database with mdb_dump (so exactly the same keys and value
# bytes) and times mdb_load of that text into an empty environment; the
# ratio import/mdb_load is printed. A last run repeats the JSON import
# with the data directory on /dev/shm to show what fsync costs.
#
# usage: bench/run-import.sh [--smoke] [--count N] [--out FILE]
#   --smoke      10 000 records; report to the temporary directory unless
#                --out is given
#   --count N    records (default 1000000, env COUNT)
#   --out FILE   report (default bench/RESULTS-import.md)
# Environment: B (build directory, default build), NO_BUILD=1, KEEP=1
#   (keep the temporary directory), TMPDIR (where the data directories and
#   inputs go: must be a disk for the durable figures), PREFIX (20.500.900).
# Needs python3 (the generator) and lmdb-utils (mdb_load, mdb_dump,
# mdb_stat). Exits non-zero when an import does not create every record.
set -eu
cd "$(dirname "$0")/.."

smoke=0
COUNT=${COUNT:-1000000}
PREFIX=${PREFIX:-20.500.900}
B=${B:-build}
OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) smoke=1 ;;
	--count) COUNT=${2:?--count needs a value}; shift ;;
	--out) OUT=${2:?--out needs a value}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-import.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$smoke" = 1 ] && COUNT=10000
for t in python3 mdb_load mdb_dump mdb_stat; do
	command -v $t >/dev/null || { echo "run-import.sh: needs $t (apt-get install lmdb-utils python3)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/idn-import.XXXXXX")
shm=
node_pid=
cleanup() {
	if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	[ -n "$shm" ] && rm -rf "$shm"
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ -z "$OUT" ]; then
	if [ "$smoke" = 1 ]; then OUT=$tmp/RESULTS-smoke.md; else OUT=bench/RESULTS-import.md; fi
fi

if [ "${NO_BUILD:-0}" != 1 ]; then
	make -s B="$B" -j"$(nproc)" all >/dev/null
fi
IDNODE=$B/idnode
IDCTL=$B/idctl

echo "generating $COUNT records..." >&2
python3 - "$COUNT" "$PREFIX" "$tmp/in.jsonl" "$tmp/in.csv" <<'EOF'
import sys
n, prefix, jpath, cpath = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
adm = ('{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":'
       '{"handle":"0.NA/%s","index":200,"permissions":"111111111111"}},'
       '"ttl":86400,"permissions":"rwr-"}' % prefix)
with open(jpath, "w") as j, open(cpath, "w") as c:
    c.write("handle,1:URL,2:BATCH\n")
    jo, co = [], []
    for i in range(n):
        h = "%s/item-%08d" % (prefix, i)
        url = "https://example.com/p/%d" % i
        lot = "lot=B2026-%06d;line=north;qty=%d" % (i // 1000, 100 + i % 900)
        jo.append('{"handle":"%s","values":[{"index":1,"type":"URL","data":'
                  '{"format":"string","value":"%s"},"ttl":86400,'
                  '"permissions":"rwr-"},{"index":2,"type":"BATCH","data":'
                  '{"format":"string","value":"%s"},"ttl":86400,'
                  '"permissions":"rwr-"},%s]}\n' % (h, url, lot, adm))
        co.append("%s,%s,%s\n" % (h.replace("item", "csv"), url, lot))
        if len(jo) >= 10000:
            j.write("".join(jo)); c.write("".join(co)); jo, co = [], []
    j.write("".join(jo)); c.write("".join(co))
EOF

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { awk '{printf "%.2f", ($14+$15)/100}' "/proc/$1/stat"; }

# start_node DATA: a fresh node homed for PREFIX
start_node() {
	local data=$1
	"$IDNODE" --data "$data" --listen "127.0.0.1:$(port)" \
		--control "$data.sock" --home "$PREFIX" --workers 1 \
		>"$data.log" 2>&1 &
	node_pid=$!
	for _ in $(seq 100); do
		[ -S "$data.sock" ] && grep -q "ready" "$data.log" 2>/dev/null && return 0
		sleep 0.1
	done
	[ -S "$data.sock" ] || { cat "$data.log" >&2; exit 1; }
}
stop_node() {
	kill -TERM "$node_pid"
	wait "$node_pid" || true
	node_pid=
}

# run_import DATA FILE: sets rate, secs, cpu_ctl, cpu_node, created
run_import() {
	local data=$1 file=$2
	sync # no writeback of earlier files competing with the commits
	start_node "$data"
	local c0 n0
	n0=$(cpu_of "$node_pid")
	/usr/bin/time -f "%U %S" -o "$tmp/time" "$IDCTL" -C "$data.sock" --json \
		import "$file" --quiet >"$tmp/sum.json"
	cpu_node=$(awk -v a="$(cpu_of "$node_pid")" -v b="$n0" 'BEGIN{printf "%.2f", a-b}')
	cpu_ctl=$(awk '{printf "%.2f", $1+$2}' "$tmp/time")
	read -r created secs rate < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["created"], "%.2f" % d["seconds"], "%.0f" % d["records_per_s"])' "$tmp/sum.json")
	[ "$created" = "$COUNT" ] || { echo "import created $created of $COUNT" >&2; cat "$tmp/sum.json" >&2; exit 1; }
	stop_node
}

pages_used() { mdb_stat -e "$1" | awk '/Number of pages used/ {print $5}'; }
page_size() { mdb_stat -e "$1" | awk '/Page size/ {print $3}'; }

echo "JSON Lines import into $tmp/json (disk)..." >&2
run_import "$tmp/json" "$tmp/in.jsonl"
j_rate=$rate j_secs=$secs j_ctl=$cpu_ctl j_node=$cpu_node
j_file=$(stat -c %s "$tmp/json/data.mdb")
j_used=$(( $(pages_used "$tmp/json") * $(page_size "$tmp/json") ))

echo "CSV import into $tmp/csv (disk)..." >&2
run_import "$tmp/csv" "$tmp/in.csv"
c_rate=$rate c_secs=$secs c_ctl=$cpu_ctl c_node=$cpu_node

echo "mdb_dump of the records, mdb_load into $tmp/floor (disk)..." >&2
mdb_dump -s records "$tmp/json" >"$tmp/records.dump"
mkdir "$tmp/floor"
t0=$(date +%s.%N)
# (mdb_load warns that it ignores mdb_dump's db_pagesize line)
mdb_load -s records -f "$tmp/records.dump" "$tmp/floor" 2>&1 | grep -v db_pagesize >&2 || true
t1=$(date +%s.%N)
f_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
f_rate=$(awk -v n="$COUNT" -v s="$f_secs" 'BEGIN{printf "%.0f", n/s}')
f_file=$(stat -c %s "$tmp/floor/data.mdb")
dump_bytes=$(stat -c %s "$tmp/records.dump")
key_val=$(mdb_stat -s records "$tmp/json" | awk '/Entries/ {print $2}')

echo "idctl populate into $tmp/populate (disk)..." >&2
"$IDCTL" populate --data "$tmp/populate" --prefix "$PREFIX" --count "$COUNT" \
	--json >"$tmp/populate.json"
read -r p_secs p_rate < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.2f" % d["seconds"], "%.0f" % d["identifiers_per_s"])' "$tmp/populate.json")

shm=$(mktemp -d /dev/shm/idn-import.XXXXXX)
echo "JSON Lines import into $shm (tmpfs, fsync free)..." >&2
run_import "$shm/json" "$tmp/in.jsonl"
s_rate=$rate s_secs=$secs s_ctl=$cpu_ctl s_node=$cpu_node

ratio=$(awk -v a="$j_rate" -v b="$f_rate" 'BEGIN{printf "%.2f", a/b}')
per=$(awk -v a="$j_file" -v n="$COUNT" 'BEGIN{printf "%.0f", a/n}')
per_used=$(awk -v a="$j_used" -v n="$COUNT" 'BEGIN{printf "%.0f", a/n}')
in_bytes=$(stat -c %s "$tmp/in.jsonl")

{
	echo "# Bulk registration: idctl import"
	echo
	echo "Recorded by \`bench/run-import.sh\` on $(date -u +%Y-%m-%dT%H:%MZ)."
	echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
	echo "$(free -g | awk '/Mem:/ {print $2}') GiB RAM, data directories under ${TMPDIR:-/tmp} on $(df --output=source "$tmp" | tail -1)."
	echo "idnode with one worker; idctl and idnode share the machine."
	echo
	echo "Input: $COUNT records, JSON Lines $(( in_bytes / 1000000 )) MB (URL, BATCH text,"
	echo "HS_ADMIN), and the same records without HS_ADMIN as CSV."
	echo
	echo "| run | seconds | identifiers/s | idctl CPU s | idnode CPU s |"
	echo "|---|---:|---:|---:|---:|"
	echo "| import JSON Lines, LMDB on disk | $j_secs | $j_rate | $j_ctl | $j_node |"
	echo "| import CSV, LMDB on disk | $c_secs | $c_rate | $c_ctl | $c_node |"
	echo "| import JSON Lines, LMDB on /dev/shm | $s_secs | $s_rate | $s_ctl | $s_node |"
	echo "| mdb_load of the same records (floor), disk | $f_secs | $f_rate | | |"
	echo "| idctl populate: store API in-process, batches of 10 000, its own 4-5 value records, disk | $p_secs | $p_rate | | |"
	echo
	echo "Import / mdb_load (JSON Lines, disk): **$ratio**. mdb_load is not a true"
	echo "floor here: it spends its time decoding the dump text (see the notes)."
	echo
	echo "On disk after the JSON Lines import: data.mdb $j_file bytes = **$per bytes"
	echo "per identifier** ($per_used in pages in use per mdb_stat, $key_val entries in"
	echo "the records sub-database); mdb_load of the same keys and values: $f_file"
	echo "bytes. The floor's input is \`mdb_dump -s records\` of the imported store"
	echo "($dump_bytes bytes of text): the same keys and value bytes, loaded by"
	echo "\`mdb_load -s records\` into an empty environment in one process."
	echo
	echo "Notes (profiled with perf on this machine during development):"
	echo
	echo "- Batches are cut at one message (256 KiB, the protocol's IDN_MSG_MAX):"
	echo "  about 1 200 of these JSON records or 2 000 CSV records per batch, so 1M"
	echo "  records are about 820 (JSON, counted by idctl stats) or 500 (CSV) durable commits. Four"
	echo "  batches are in flight, so idctl parses while idnode writes."
	echo "- idctl's time is the JSON parse (its own strict parser, import_json.c;"
	echo "  jansson's DOM made the client 3x slower), the value and identifier"
	echo "  checks, encoding and reading the file. idnode's is decoding and"
	echo "  checking each value again (it trusts no client), LMDB's B-tree"
	echo "  inserts (memcmp of keys) and, on disk, copying dirty pages into the"
	echo "  page cache at each commit and the fsync."
	echo "- With two cores shared by both processes the pipeline cannot beat the"
	echo "  busier of the two: about 2 CPU s per million JSON records on each"
	echo "  side, so about 500 000/s is the ceiling here for JSON Lines and the"
	echo "  node's ~1.2 CPU s per million bounds CSV. The issue's target of"
	echo "  1 000 000 identifiers/s is not reached on this machine."
	echo "- mdb_load is slower than the import because it decodes mdb_dump's"
	echo "  escaped text byte by byte (the dump is larger than the JSON input);"
	echo "  it is the LMDB command-line floor the issue asked for, not LMDB's"
	echo "  insert limit. idctl populate (the store API in one process, no"
	echo "  protocol, no checks, bigger records) is the closer in-process floor."
	echo "- Out of scope for this run: the 100 million record load of the issue."
	echo
	echo "Commands:"
	echo
	echo '```'
	echo "idnode --data DIR --home $PREFIX --workers 1 --control DIR.sock ..."
	echo "idctl -C DIR.sock --json import in.jsonl --quiet   # defaults: --batch 4096 --pipeline 4"
	echo "idctl -C DIR.sock --json import in.csv --quiet"
	echo "mdb_dump -s records DIR > records.dump; mdb_load -s records -f records.dump FLOOR"
	echo '```'
} >"$OUT"
cat "$OUT"
