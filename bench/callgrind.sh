#!/usr/bin/env bash
# Instructions per UDP resolution, counted by callgrind (independent of
# machine load): a one-worker idnode under valgrind over a store of COUNT
# identifiers, sent REQUESTS paced requests by idctl bench, then the
# instructions of the worker thread and of do_resolve, per answer.
#
# usage: bench/callgrind.sh [BUILD_DIR [COUNT [RATE [SECONDS]]]]
#        (defaults: build 10000 5000 2: 10 000 requests)
set -eu
B=${1:-build} COUNT=${2:-10000} RATE=${3:-5000} SECS=${4:-2}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'kill "$vp" 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$B/idctl" populate --data "$tmp/data" --prefix 20.500.900 --count "$COUNT" --json >/dev/null
valgrind --tool=callgrind --toggle-collect=worker_main \
	--callgrind-out-file="$tmp/cg.out" "$B/idnode" --data "$tmp/data" \
	--listen "127.0.0.1:$port" --control "$tmp/c.sock" --workers 1 \
	--rrl-rate 0 \
	--map-size 1G >"$tmp/node.log" 2>&1 &
vp=$!
for _ in $(seq 100); do
	sleep 0.2
	"$B/idctl" bench -s "127.0.0.1:$port" --prefix 20.500.900 --duration 0.1 \
		--count 1 --inflight 1 --json >/dev/null 2>&1 && break
done
"$B/idctl" bench -s "127.0.0.1:$port" --prefix 20.500.900 --duration "$SECS" \
	--count "$COUNT" --inflight 256 --rate "$RATE" --seed 5 --json >"$tmp/bench.json"
kill -TERM "$vp"
wait "$vp" || true
n=$(grep -o '"received": [0-9]*' "$tmp/bench.json" | awk '{ print $2 }')
callgrind_annotate --inclusive=yes "$tmp/cg.out" 2>/dev/null |
	awk -v n="$n" '
	/PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
	/handler.c:do_resolve / { gsub(",", "", $1); dr = $1 }
	/\?\?\?:mdb_get / && !mg { gsub(",", "", $1); mg = $1 }
	END {
		printf "answers %d (plus the start-up probes)\n", n
		printf "worker thread   %8.0f instructions/answer\n", total / n
		printf "do_resolve      %8.0f instructions/answer\n", dr / n
		printf "  of which LMDB %8.0f (mdb_get)\n", mg / n
	}'
