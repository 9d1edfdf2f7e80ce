#!/usr/bin/env bash
# The reference for bench/run-replication.sh: the lag of HANDLE.NET 7.3.1's
# own mirror following a HANDLE.NET primary, both on loopback.
#
# A CNRI mirror server (its own directory under the run's temporary
# directory, Handle port and HTTP port from PORTS or free ones) follows the
# CNRI server of the harness (/work/shared/interop/handle-net, default
# 127.0.0.1:12641, its replication admin 300:0.NA/20.500 and that admin's
# key admpriv.bin) with replication_interval as given (default: left out,
# HANDLE.NET's default). SAMPLES handles 20.500/TAG-<n> are created on the
# primary (HDLCreate), one every SPACING seconds, so their commits fall at
# unrelated moments of the mirror's poll cycle; each is resolved on the
# mirror every 100 ms (idctl resolve) until it answers:
#   lag = first answer on the mirror - end of HDLCreate on the primary.
# The handles are deleted at the end.
#
# usage: bench/repl-cnri-reference.sh [--samples N] [--spacing SEC]
#            [--interval MS] [--tag NAME]
# Environment: HS_DIST (/tmp/hs), HDL_SVR (/tmp/hdlsvr/svr), HDL_HOME
#   (/tmp/hdlsvr/home: a user.home whose .handle/root_info names only the
#   loopback server), CPORT (12641), PORTS (LO-HI), B (build), KEEP=1.
set -eu
cd "$(dirname "$0")/.."
NAME=bench/repl-cnri-reference.sh
. bench/lib.sh

SAMPLES=8
SPACING=17
INTERVAL=
TAG=rbench-lag
while [ $# -gt 0 ]; do
	case $1 in
	--samples) SAMPLES=${2:?}; shift ;;
	--spacing) SPACING=${2:?}; shift ;;
	--interval) INTERVAL=${2:?}; shift ;;
	--tag) TAG=${2:?}; shift ;;
	-h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "$NAME: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
HS_DIST=${HS_DIST:-/tmp/hs}
HDL_SVR=${HDL_SVR:-/tmp/hdlsvr/svr}
HDL_HOME=${HDL_HOME:-/tmp/hdlsvr/home}
CPORT=${CPORT:-12641}
B=${B:-build}
IDCTL=$B/idctl
[ -x "$IDCTL" ] || fail "$IDCTL is missing (make)"
[ -f "$HDL_HOME/.handle/root_info" ] || fail "no loopback root_info in $HDL_HOME"
CP=$(ls "$HS_DIST"/lib/*.jar 2>/dev/null | tr '\n' ':')
[ -n "$CP" ] || fail "no HANDLE.NET jars in $HS_DIST/lib"

port() {
	[ -n "${PORTS:-}" ] || { pick_port; return; }
	local lo=${PORTS%-*} hi=${PORTS#*-} p
	for _ in $(seq 200); do
		p=$((lo + RANDOM % (hi - lo + 1)))
		grep -qx "$p" "$BENCH_PORTS_FILE" 2>/dev/null && continue
		[ -n "$(ss -Hlnuta "sport = :$p" 2>/dev/null)" ] || { echo "$p" >>"$BENCH_PORTS_FILE"; echo "$p"; return; }
	done
	fail "no free port in $PORTS"
}
cnri() { # the class and its arguments: its status, its output without Jython's noise
	local rc=0
	timeout 90 java -Duser.home="$HDL_HOME" -Djdk.crypto.KeyAgreement.legacyKDF=true \
		-cp "$CP" "$@" >"$tmp/cnri.out" 2>&1 || rc=$?
	grep -v '^\*sys-package-mgr\*' "$tmp/cnri.out" || true
	return "$rc"
}
ms() { echo $(($(date +%s%N) / 1000000)); }

bench_init
D=$tmp/cnri-mirror
mkdir -p "$D"
CMP=$(port)
CMH=$(port)
cp "$HDL_SVR/privkey.bin" "$HDL_SVR/pubkey.bin" "$D/"
cp "$HDL_SVR/admpriv.bin" "$D/replpriv.bin"
python3 - "$HDL_SVR/siteinfo.json" "$D" "$CPORT" "$CMP" "$CMH" <<'EOF'
import json, sys
src, d, cp, cmp, cmh = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = json.load(open(src))
def ports(site, hdl, http):
    for i in site['servers'][0]['interfaces']:
        if i['protocol'] != 'HTTP':
            i['port'] = hdl
        elif http:
            i['port'] = http
own = json.loads(json.dumps(s)); own['primarySite'] = False; ports(own, cmp, cmh)
json.dump(own, open(d + '/siteinfo.json', 'w'))
prim = json.loads(json.dumps(s)); ports(prim, cp, 0)
json.dump(prim, open(d + '/txnsrc.json', 'w'))
EOF
cnri net.handle.apps.simple.SiteInfoConverter "$D/siteinfo.json" -o "$D/siteinfo.bin" >/dev/null
cnri net.handle.apps.simple.SiteInfoConverter "$D/txnsrc.json" -o "$D/txnsrcsv.bin" >/dev/null
hport=$(sed -n '/"http_config"/,/}/s/.*"bind_port" = "\([0-9]*\)".*/\1/p' "$HDL_SVR/config.dct" | head -1)
ivl=
[ -z "$INTERVAL" ] || ivl="\n    \"replication_interval\" = \"$INTERVAL\""
sed -e "s/\"$CPORT\"/\"$CMP\"/g" -e "s/\"${hport:-18000}\"/\"$CMH\"/g" \
	-e "s|\"replication_admins\" = (|\"replication_authentication\" = \"privatekey:300:0.NA/20.500\"$ivl\n    \"replication_admins\" = (|" \
	"$HDL_SVR/config.dct" >"$D/config.dct"
echo "== CNRI mirror on 127.0.0.1:$CMP following 127.0.0.1:$CPORT (replication_interval: ${INTERVAL:-default})"
start_mirror() {
	setsid java -server -Xmx200M -Duser.home="$HDL_HOME" -Djdk.crypto.KeyAgreement.legacyKDF=true \
		-cp "$CP" net.handle.server.Main "$D" >>"$D/server.out" 2>&1 </dev/null &
	mpid=$!
	bench_track "$mpid"
}
# copied: 0 when 20.500/test1 resolves on the mirror, 2 when the mirror
# wrote SERVER_NEEDS_REDUMP.txt (the primary answered "redump needed")
copied() {
	for _ in $(seq 240); do
		"$IDCTL" -s "127.0.0.1:$CMP" --timeout 300 resolve 20.500/test1 >/dev/null 2>&1 && return 0
		[ ! -f "$D/SERVER_NEEDS_REDUMP.txt" ] || return 2
		sleep 0.5
	done
	return 1
}
start_mirror
rc=0
copied || rc=$?
if [ "$rc" = 2 ]; then
	# HANDLE.NET's mirror does not copy by itself when its primary
	# answers "redump needed": the operator stops it and runs
	# hdl-dumpfromprimary (DumpHandles) on its directory
	echo "   the primary answered \"redump needed\": hdl-dumpfromprimary, as an operator would"
	bench_stop "$mpid"
	t0=$(ms)
	cnri net.handle.server.replication.DumpHandles "$D" >"$tmp/dump.log" ||
		fail "DumpHandles: $(tail -3 "$tmp/dump.log")"
	echo "   dumped in $(($(ms) - t0)) ms"
	rm -f "$D/SERVER_NEEDS_REDUMP.txt"
	start_mirror
	rc=0
	copied || rc=$?
fi
[ "$rc" = 0 ] || { tail -5 "$D/server.out" "$D"/logs/error.log 2>/dev/null >&2; fail "the CNRI mirror did not copy the primary"; }
echo "   copied (20.500/test1 resolves on the mirror)"

run=$RANDOM
declare -A made seen
ids=()
next=$SECONDS
n=0
deadline=
while :; do
	if [ "$n" -lt "$SAMPLES" ] && [ "$SECONDS" -ge "$next" ]; then
		id=20.500/$TAG-$run-$n
		cnri net.handle.apps.simple.HDLCreate 0.NA/20.500 300 "$HDL_SVR/admpriv.bin" "$id" >"$tmp/create.log" ||
			fail "HDLCreate $id: $(tail -1 "$tmp/create.log")"
		made[$id]=$(ms)
		ids+=("$id")
		n=$((n + 1))
		next=$((SECONDS + SPACING))
		[ "$n" -lt "$SAMPLES" ] || deadline=$((SECONDS + 180))
	fi
	left=0
	for id in "${ids[@]}"; do
		[ -z "${seen[$id]:-}" ] || continue
		if "$IDCTL" -s "127.0.0.1:$CMP" --timeout 300 resolve "$id" >/dev/null 2>&1; then
			seen[$id]=$(($(ms) - made[$id]))
			echo "   $id: on the mirror after ${seen[$id]} ms"
		else
			left=$((left + 1))
		fi
	done
	if [ -n "$deadline" ] && { [ "$left" = 0 ] || [ "$SECONDS" -ge "$deadline" ]; }; then
		break
	fi
	sleep 0.1
done
for id in "${ids[@]}"; do
	echo "$id" | cnri net.handle.apps.simple.HDLDelete 0.NA/20.500 "$HDL_SVR/admpriv.bin" - >/dev/null || true
done
lags=$(for id in "${ids[@]}"; do echo "${seen[$id]:-}"; done | grep . | sort -n)
got=$(echo "$lags" | grep -c . || true)
echo
echo "HANDLE.NET 7.3.1 mirror of a HANDLE.NET primary, loopback, replication_interval ${INTERVAL:-default}:"
echo "$got/$SAMPLES handles seen; lag ms (sorted): $(tr "\n" " " <<<"$lags")"
echo "median $(echo "$lags" | median) ms, max $(echo "$lags" | tail -1) ms"
[ "$got" = "$SAMPLES" ]
