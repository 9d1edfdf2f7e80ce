#!/usr/bin/env bash
# Builds idnode and starts a working node on the embedded LMDB store:
# homed for 88.118.8, listening on 127.0.0.1:2641 (UDP and TCP), with a few
# sample identifiers, then prints how to resolve them. The node keeps
# running in the background; the last lines say how to stop it.
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh
make -j"$(nproc)" >/dev/null
RUN=${IDNODE_RUN:-$PWD/run}
LISTEN=${IDNODE_LISTEN:-127.0.0.1:2641}
HTTP=${IDNODE_HTTP:-127.0.0.1:8000}
mkdir -p "$RUN"
if [ -f "$RUN/idnode.pid" ] && kill -0 "$(cat "$RUN/idnode.pid")" 2>/dev/null; then
	echo "stopping the node started earlier (pid $(cat "$RUN/idnode.pid"))"
	kill "$(cat "$RUN/idnode.pid")"
	for _ in $(seq 50); do
		kill -0 "$(cat "$RUN/idnode.pid")" 2>/dev/null || break
		sleep 0.1
	done
fi
# --rrl-rate 0: a local node gets every query from this one host
build/idnode --data "$RUN/data" --listen "$LISTEN" \
	--control "$RUN/control.sock" --home 88.118.8 --http "$HTTP" \
	--rrl-rate 0 \
	>"$RUN/idnode.log" 2>&1 &
echo $! >"$RUN/idnode.pid"
for _ in $(seq 100); do
	grep -q "idnode ready" "$RUN/idnode.log" && break
	if ! kill -0 "$(cat "$RUN/idnode.pid")" 2>/dev/null; then
		echo "idnode failed to start:" >&2
		cat "$RUN/idnode.log" >&2
		exit 1
	fi
	sleep 0.1
done
ctl() { build/idctl -C "$RUN/control.sock" "$@"; }
ctl --overwrite create 88.118.8/JXDY2106023 \
	'1:URL=https://example.com/products/JXDY2106023' \
	'2:EMAIL=quality@example.com' \
	'3:BATCH=2026-11-A' \
	'100:HS_ADMIN=0.NA/88.118.8@300'
ctl --overwrite create 88.118.8/motor-7731 \
	'1:URL=https://example.com/motors/7731' \
	'2,ttl=3600:SPEC=IE3 7.5kW 400V' \
	'3,ref=88.118.8/JXDY2106023@1:PART_OF=88.118.8/JXDY2106023'
ctl --overwrite create 88.118.8/pallet-0001 \
	'1:URL=https://example.com/logistics/pallet-0001' \
	'2,perms=c:SECRET=visible to the node operator only'
# searchable by batch (idctl search --type BATCH --data 2026-11-A)
ctl index add BATCH >/dev/null
# the dashboard's region of the enterprise prefix (GB/T 2260: Shenzhen),
# on its prefix handle (added to it if it exists, else created)
ctl add 0.NA/88.118.8 '50:REGION=440300' >/dev/null 2>&1 ||
	ctl create 0.NA/88.118.8 '50:REGION=440300' >/dev/null 2>&1 || true
cat <<EOT

Open the web console (resolve, browse, templates, live dashboard):
  http://$HTTP/

idnode is running (pid $(cat "$RUN/idnode.pid")) on $LISTEN, UDP and TCP,
homed for 88.118.8, with data in $RUN/data and its log in $RUN/idnode.log.

Resolve the samples:
  build/idctl -s $LISTEN resolve 88.118.8/JXDY2106023
  curl -s http://$HTTP/api/handles/88.118.8/JXDY2106023
  build/idctl -C $RUN/control.sock search --type BATCH --data 2026-11-A
  build/idctl -s $LISTEN --tcp --json resolve 88.118.8/motor-7731
  build/idctl -s $LISTEN resolve 88.118.8/JXDY2106023 --type URL

Administer through the control socket:
  build/idctl -C $RUN/control.sock list 88.118.8
  build/idctl -C $RUN/control.sock create 88.118.8/new-part '1:URL=https://example.com/new'

Stop the node:
  kill \$(cat $RUN/idnode.pid)
EOT
