#!/usr/bin/env bash
# The HTTP benchmark: GET /api/handles/{id} served by idnode's REST API,
# side by side with nginx serving the same JSON documents as static files,
# both loaded by wrk with the same random choice of stored identifiers.
#
# Writes COUNT identifiers 88.118.8/bench-<i> into a store (idctl populate;
# default one million), starts idnode with --http on loopback (HTTP threads
# = cores), saves every identifier's JSON answer as a file under an nginx
# root with the same path (all COUNT of them: one million small files),
# starts nginx (worker_processes = cores, access log off, open file cache
# for every file), and runs wrk (THREADS threads, CONNS connections,
# DURATION seconds, a uniformly random identifier per request) against
# each, twice, alternating. The report gives requests/s, latency, the ratio
# idnode / nginx (target >= 0.8), the exact commands and the machine's load
# average before each run (the machine may be shared).
#
# usage: bench/run-http.sh [--smoke] [--count N] [--duration SEC] [--out FILE]
# Environment: B (build dir, default build), NO_BUILD=1, THREADS (2),
#   CONNS (64), KEEP=1 (keep the temporary directory).
# Needs: wrk, nginx (nginx-light), curl (scripts/deps.sh --test installs them).
set -eu
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
OUT=bench/RESULTS-http.md
while [ $# -gt 0 ]; do
	case $1 in
	--smoke) COUNT=500; DURATION=2; OUT=; shift ;;
	--count) COUNT=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	*) echo "usage: $0 [--smoke] [--count N] [--duration SEC] [--out FILE]" >&2; exit 2 ;;
	esac
done
B=${B:-build}
for t in wrk nginx curl; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] ||
		{ echo "run-http.sh: $t is missing (scripts/deps.sh --test)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ngv=$("$NGINX" -v 2>&1 | sed 's/.*: //')
[ "${NO_BUILD:-}" = 1 ] || make -s B="$B" "$B/idnode" "$B/idctl"
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	[ "${KEEP:-}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cores=$(nproc)

echo "populating $COUNT identifiers"
t0=$(date +%s.%N)
"$B/idctl" populate --data "$tmp/data" --prefix 88.118.8 --count "$COUNT" >/dev/null
popsec=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
hp=$(port)
"$B/idnode" --data "$tmp/data" --listen "127.0.0.1:$(port)" --home 88.118.8 \
	--http "127.0.0.1:$hp" --http-threads "$cores" --log-level warn \
	>"$tmp/idnode.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$hp/api/prefixes" >/dev/null && break; sleep 0.1; done

echo "saving the JSON documents for nginx"
root=$tmp/www
chmod 755 "$tmp" # nginx workers may run as another user
mkdir -p "$root/api/handles/88.118.8"
t0=$(date +%s.%N)
# one curl, connections kept alive, a few transfers in parallel
awk -v n="$COUNT" -v hp="$hp" -v root="$root" 'BEGIN {
	for (i = 0; i < n; i++) {
		p = "/api/handles/88.118.8/bench-" i
		printf "url = \"http://127.0.0.1:%s%s\"\noutput = \"%s%s\"\n", hp, p, root, p
	}
}' >"$tmp/fetch.cfg"
curl -sf --no-progress-meter --parallel --parallel-max 4 -K "$tmp/fetch.cfg"
rm -f "$tmp/fetch.cfg"
n=$(find "$root/api/handles/88.118.8" -type f | wc -l)
[ "$n" -eq "$COUNT" ] || { echo "run-http.sh: saved $n of $COUNT documents" >&2; exit 1; }
savesec=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
sizes=$(find "$root/api/handles/88.118.8" -type f -printf '%s\n' |
	sort -n | awk '{a[NR]=$1; s+=$1} END {printf "%d-%d bytes, mean %.0f, median %d", a[1], a[NR], s/NR, a[int((NR+1)/2)]}')
chmod -R a+rX "$root"
np=$(port)
# nginx's open file cache keeps descriptors open: half the limit of open
# files, the other half for connections and misses
nofile=$(ulimit -n)
fcache=$((nofile / 2 < COUNT + 1000 ? nofile / 2 : COUNT + 1000))
cat >"$tmp/nginx.conf" <<NG
worker_processes $cores;
worker_rlimit_nofile $nofile;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
daemon on;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  sendfile on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=$fcache inactive=600s;
  client_body_temp_path $tmp/ngx-body;
  proxy_temp_path $tmp/ngx-proxy;
  fastcgi_temp_path $tmp/ngx-fcgi;
  uwsgi_temp_path $tmp/ngx-uwsgi;
  scgi_temp_path $tmp/ngx-scgi;
  server { listen 127.0.0.1:$np; root $root; }
}
NG
mkdir -p "$tmp/logs"
"$NGINX" -c "$tmp/nginx.conf" -p "$tmp" -e "$tmp/nginx-error.log"
for _ in $(seq 50); do [ -s "$tmp/nginx.pid" ] && break; sleep 0.1; done
cat >"$tmp/random.lua" <<LUA
math.randomseed(42)
request = function()
  return wrk.format("GET", "/api/handles/88.118.8/bench-" .. math.random(0, $COUNT - 1))
end
LUA
curl -sf "http://127.0.0.1:$np/api/handles/88.118.8/bench-1" >"$tmp/check.json" || { cat "$tmp/nginx-error.log" >&2; exit 1; }
cmp "$tmp/check.json" "$root/api/handles/88.118.8/bench-1"

load=()
snap() { load+=("$1 $(cut -d' ' -f1-3 /proc/loadavg)"); }
run() { # name port
	wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$tmp/random.lua" \
		"http://127.0.0.1:$2/" >"$tmp/wrk-$1.txt"
	rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/wrk-$1.txt")
	p50=$(awk '$1=="50%" {print $2}' "$tmp/wrk-$1.txt")
	p99=$(awk '$1=="99%" {print $2}' "$tmp/wrk-$1.txt")
	errs=$(grep -E "Non-2xx|Socket errors" "$tmp/wrk-$1.txt" | tr -s ' \n' ' ' || true)
	echo "$1 $rps $p50 $p99 ${errs:-none}"
}
echo "wrk: $THREADS threads, $CONNS connections, ${DURATION}s each"
snap idnode; a=$(run idnode "$hp")
snap nginx; b=$(run nginx "$np")
snap idnode; a2=$(run idnode "$hp") # again, to see the spread
snap nginx; b2=$(run nginx "$np")

ri=$(printf '%s\n%s\n' "$a" "$a2" | awk '$2>m {m=$2} END {print m}')
rn=$(printf '%s\n%s\n' "$b" "$b2" | awk '$2>m {m=$2} END {print m}')
ratio=$(awk -v i="$ri" -v n="$rn" 'BEGIN {printf "%.2f", i / n}')
report=$(cat <<REP
# HTTP benchmark (bench/run-http.sh)

$(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')),
$COUNT identifiers, GET /api/handles/88.118.8/bench-<random>, wrk -t$THREADS -c$CONNS -d${DURATION}s,
wrk, idnode and nginx on the same machine (loopback). nginx serves the
same $COUNT JSON documents as files ($sizes),
fetched from idnode before the runs; both answer the same random sequence
(wrk script seeded 42, identifier uniform over all $COUNT).

Command: \`bench/run-http.sh --count $COUNT --duration $DURATION\` (THREADS=$THREADS CONNS=$CONNS).
Inside: \`idctl populate --data DIR --prefix 88.118.8 --count $COUNT\` (${popsec} s),
\`idnode --data DIR --listen 127.0.0.1:P --home 88.118.8 --http 127.0.0.1:HP --http-threads $cores\`,
nginx $ngv with \`worker_processes $cores; sendfile on; open_file_cache max=$fcache\` (open files limit $nofile),
saving the documents took ${savesec} s,
\`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency -s random.lua http://127.0.0.1:PORT/\`.

| server | run | requests/s | p50 | p99 | errors |
|---|---|---|---|---|---|
$(printf '%s\n%s\n%s\n%s\n' "$a" "$b" "$a2" "$b2" | awk '{e=""; for (i=5;i<=NF;i++) e=e" "$i; n[$1]++; printf "| %s | %d | %s | %s | %s |%s |\n", $1, n[$1], $2, $3, $4, e}')

Best of two: idnode $ri req/s, nginx $rn req/s: **ratio $ratio** (target >= 0.8).

Load average (1, 5, 15 min) just before each run, in run order: $(printf '%s; ' "${load[@]}")
the machine's $(nproc) cores are shared with whatever else runs on it.
REP
)
echo "$report"
[ -n "$OUT" ] && echo "$report" >"$OUT" && echo "written to $OUT"
exit 0
