#!/bin/bash
# On-demand interoperability check between idnode and CNRI's HANDLE.NET 7.3.1,
# both on loopback.  Not run by CI (needs Java and a snapshot of the CNRI
# distribution); see tests/interop/README.md.
#
#   HS_SNAPSHOT=<git dir printed by fetch github:ugent-library/handle-server> \
#     tests/interop/handle-net.sh
#
# Environment:
#   HS_SNAPSHOT  git directory of the CNRI distribution snapshot (or HS_DIST)
#   HS_DIST      an already unpacked distribution (lib/*.jar); default: unpack
#                HS_SNAPSHOT into the temp dir
#   HN_DIR       the loopback harness (setup.sh, stop.sh, conf/)
#                default /work/shared/interop/handle-net
#   IDNODE_PORT  idnode's loopback port, default 22641
#   CNRI_PORT    the CNRI server's Handle port (UDP+TCP), default 12641
#   CNRI_HTTP_PORT  its HTTP port, default 18000
#   KEEP=1       keep the temp dir (logs) after the run
#   HN_PARTS     a pattern: source only the handle-net.d parts whose names
#                match it (e.g. HN_PARTS=60 for the replication rows)
# The CNRI server takes 127.0.0.1:CNRI_PORT (UDP+TCP) and CNRI_HTTP_PORT; both
# must be free. The harness is copied into the temp dir with those ports, so
# several checks can run side by side on different ports.
# Further rows come from tests/interop/handle-net.d/*.sh, sourced in name
# order after the core rows, with the helpers and variables defined here.  Every CNRI client runs with a user.home whose root_info names
# only a loopback server (the distribution's built-in one names public servers).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/interop
IDNODE=$ROOT/build/idnode
IDCTL=$ROOT/build/idctl
# the harness lives in the shared folder beside the repository
HN_DIR=${HN_DIR:-$ROOT/../shared/interop/handle-net}
IPORT=${IDNODE_PORT:-22641}
CPORT=${CNRI_PORT:-12641}
HPORT=${CNRI_HTTP_PORT:-18000}

skip() { echo "SKIP: $*"; exit 0; }
command -v java >/dev/null 2>&1 || skip "java not found (HANDLE.NET needs a JRE)"
[ -x "$IDNODE" ] && [ -x "$IDCTL" ] || skip "build/idnode and build/idctl not built (run make)"
[ -x "$HN_DIR/setup.sh" ] || skip "harness $HN_DIR/setup.sh not found (set HN_DIR)"
if [ -z "${HS_DIST:-}" ] || [ ! -f "${HS_DIST:-}/lib/handle.jar" ]; then
  [ -n "${HS_SNAPSHOT:-}" ] && [ -d "${HS_SNAPSHOT:-}" ] ||
    skip "HANDLE.NET snapshot missing: set HS_SNAPSHOT to the git directory that 'fetch github:ugent-library/handle-server' printed (or HS_DIST to an unpacked one)"
fi
busy() { ss -H -ltn "sport = :$1" 2>/dev/null | grep -q . || ss -H -lun "sport = :$1" 2>/dev/null | grep -q .; }
for p in $CPORT $HPORT $IPORT; do
  busy $p && skip "port $p on this host is in use (a HANDLE.NET server already running? its stop.sh stops it)"
done

T=$(mktemp -d /tmp/idn-interop.XXXXXX)
export HS_DIST=${HS_DIST:-$T/hs} HDL_SVR=$T/svr HDL_HOME=$T/home
IDPID=
cleanup() {
  [ -n "$IDPID" ] && kill "$IDPID" 2>/dev/null && wait "$IDPID" 2>/dev/null
  [ -f "$HDL_SVR/server.pid" ] && bash "$HN_DIR/stop.sh" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROWS=()
PASS=0
FAIL=0
row() {  # flow direction result detail
  local d=${4//|/\\|}
  d=${d//$'\n'/ }
  [ ${#d} -gt 160 ] && d="${d:0:157}..."
  ROWS+=("| $1 | $2 | $3 | $d |")
  case $3 in pass) PASS=$((PASS+1)) ;; fail) FAIL=$((FAIL+1)) ;; esac
}
CP=
cnri() {  # user.home, then the class and its args; stderr folded in, Jython noise dropped
  local home=$1; shift
  timeout 90 java -Duser.home="$home" -Djdk.crypto.KeyAgreement.legacyKDF=true \
    -cp "$CP" "$@" 2>&1 | grep -v '^\*sys-package-mgr\*'
}
jy() {  # user.home, then IX_* assignments: the Jython client, its RESULT line
  local home=$1; shift
  env "$@" timeout 90 java -Duser.home="$home" -Djdk.crypto.KeyAgreement.legacyKDF=true \
    -cp "$CP" net.handle.apps.tools.RunJython "$HERE/cnri_client.py" 2>&1 |
    grep '^RESULT' | tail -1
}

# a copy of the harness with this run's ports
mkdir -p "$T/hn"
cp -r "$HN_DIR"/. "$T/hn/"
grep -rl -e 12641 -e 18000 "$T/hn" | xargs -r sed -i -e "s/12641/$CPORT/g" -e "s/18000/$HPORT/g"
HN_DIR=$T/hn

echo "== HANDLE.NET peer (setup.sh, temp dir $T)"
if ! bash "$HN_DIR/setup.sh" >"$T/setup.log" 2>&1; then
  echo "setup.sh failed:"; tail -20 "$T/setup.log"
  row "CNRI server setup" "-" fail "setup.sh failed, see log"
else
  row "CNRI server setup" "-" pass "20.500/test1..3 on 127.0.0.1:$CPORT"
fi
CP=$(ls "$HS_DIST"/lib/*.jar 2>/dev/null | tr '\n' ':')

# ---- 1. idctl resolves from the CNRI server
if busy $CPORT; then
  for tcp in "" --tcp; do
    dir="idctl -> CNRI $([ -n "$tcp" ] && echo TCP || echo UDP)"
    out=$("$IDCTL" -s 127.0.0.1:$CPORT $tcp resolve 20.500/test1 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q 'http://example.org/test1' <<<"$out" && grep -q 'HS_ADMIN' <<<"$out"; then
      row "resolve 20.500/test1" "$dir" pass "rc 0; URL http://example.org/test1, EMAIL, HS_ADMIN 0.NA/20.500@300"
    else row "resolve 20.500/test1" "$dir" fail "rc $rc: $out"; fi
    out=$("$IDCTL" -s 127.0.0.1:$CPORT $tcp --json resolve 20.500/test1 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q '"responseCode": 1' <<<"$out" && grep -q '"value": "http://example.org/test1"' <<<"$out"; then
      row "resolve --json 20.500/test1" "$dir" pass "responseCode 1, 3 values, URL string"
    else row "resolve --json 20.500/test1" "$dir" fail "rc $rc: $out"; fi
    out=$("$IDCTL" -s 127.0.0.1:$CPORT $tcp resolve 20.500/nope 2>&1); rc=$?
    if [ $rc = 1 ] && grep -q 'rc 100' <<<"$out"; then
      row "resolve 20.500/nope (absent)" "$dir" pass "exit 1, handle rc 100 (not found)"
    else row "resolve 20.500/nope (absent)" "$dir" fail "exit $rc: $out"; fi
  done
else
  row "idctl resolves CNRI records" "idctl -> CNRI" "not run" "CNRI server not listening"
fi

# ---- 2. CNRI clients resolve from idnode
"$IDNODE" --data "$T/data" --listen 127.0.0.1:$IPORT --control "$T/ctl.sock" \
  --home 20.501 --home 0.NA --rrl-rate 0 >"$T/idnode.log" 2>&1 &
IDPID=$!
for i in $(seq 1 300); do grep -q "idnode ready" "$T/idnode.log" 2>/dev/null && break; sleep 0.1; done
C() { "$IDCTL" -C "$T/ctl.sock" "$@"; }
if C create 20.501/x '1:URL=https://example.com/x' '100:HS_ADMIN=0.NA/20.501@300' >"$T/c.log" 2>&1 &&
   C delegate 20.501 --to 127.0.0.1:$IPORT >>"$T/c.log" 2>&1; then
  row "idnode setup" "-" pass "homes 0.NA + 20.501, 20.501/x, 0.NA/20.501 HS_SITE"
  IDOK=1
else
  row "idnode setup" "-" fail "$(cat "$T/c.log")"; IDOK=0
fi

IH=$T/idhome
mkdir -p "$IH/.handle"
# a loopback-only root_info first (the CNRI server's), replaced by idnode's site
cp "$HDL_HOME/.handle/root_info" "$IH/.handle/root_info" 2>/dev/null
if [ -z "$CP" ] || [ ! -f "$IH/.handle/root_info" ]; then
  row "CNRI clients vs idnode" "CNRI -> idnode" "not run" "no CNRI jars or no loopback root_info"
elif [ $IDOK = 1 ]; then
  res=$(jy "$IH" IX_MODE=siteinfo IX_HOST=127.0.0.1 IX_PORT=$IPORT IX_OUT="$IH/.handle/root_info.new")
  if [[ $res == "RESULT ok"* ]] && [ -s "$IH/.handle/root_info.new" ]; then
    mv "$IH/.handle/root_info.new" "$IH/.handle/root_info"
    row "GET_SITE_INFO -> root_info" "CNRI -> idnode UDP" pass "${res#RESULT ok }"
    SITEOK=1
  else
    row "GET_SITE_INFO -> root_info" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"
    SITEOK=0
  fi
  if [ $SITEOK = 1 ]; then
    for t in 0 1; do
      dir="CNRI -> idnode $([ $t = 1 ] && echo TCP || echo UDP)"
      res=$(jy "$IH" IX_MODE=resolve IX_ID=20.501/x IX_TCP=$t)
      if [[ $res == "RESULT ok"* ]] && grep -q '1:URL=https://example.com/x' <<<"$res"; then
        row "resolve 20.501/x (HandleResolver)" "$dir" pass "${res#RESULT ok }"
      else row "resolve 20.501/x (HandleResolver)" "$dir" fail "${res:-no RESULT line}"; fi
    done
    out=$(cnri "$IH" net.handle.apps.simple.HDLTrace 20.501/x)
    if grep -q 'rc=1;' <<<"$out" && grep -q 'type=URL.*https://example.com/x' <<<"$out"; then
      row "HDLTrace 20.501/x" "CNRI -> idnode" pass "rc=1, URL https://example.com/x, HS_ADMIN"
    else row "HDLTrace 20.501/x" "CNRI -> idnode" fail "$(tail -3 <<<"$out")"; fi
    # idnode as the CNRI client's root, delegating 20.500 to the CNRI server
    if C delegate 20.500 --to 127.0.0.1:$CPORT >"$T/c.log" 2>&1; then
      res=$(jy "$IH" IX_MODE=resolve IX_ID=20.500/test1)
      if [[ $res == "RESULT ok"* ]] && grep -q '1:URL=http://example.org/test1' <<<"$res"; then
        row "resolve 20.500/test1 via idnode root (0.NA/20.500 -> CNRI)" "CNRI -> idnode -> CNRI" pass "${res#RESULT ok }"
      else row "resolve 20.500/test1 via idnode root (0.NA/20.500 -> CNRI)" "CNRI -> idnode -> CNRI" fail "${res:-no RESULT line}"; fi
    else
      row "resolve 20.500/test1 via idnode root" "CNRI -> idnode -> CNRI" "not run" "delegate failed: $(cat "$T/c.log")"
    fi
    res=$(jy "$IH" IX_MODE=resolve IX_ID=20.501/nope)
    if grep -q 'Error(100)' <<<"$res"; then
      row "resolve 20.501/nope (absent)" "CNRI -> idnode UDP" pass "Error(100): HANDLE NOT FOUND"
    else row "resolve 20.501/nope (absent)" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"; fi
  fi
fi

# ---- 3. CNRI admins write to idnode (public-key challenge, no session)
if [ $IDOK = 1 ] && [ "${SITEOK:-0}" = 1 ] && [ -f "$HDL_SVR/admpub.bin" ]; then
  hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
  if C add 0.NA/20.501 "300:HS_PUBKEY=hex:$(hex "$HDL_SVR/admpub.bin")" \
       "301:HS_PUBKEY=hex:$(hex "$HDL_SVR/admpub_rsa.bin")" >"$T/c.log" 2>&1; then
    res=$(jy "$IH" IX_MODE=create IX_ID=20.501/cnri1 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=300 \
          IX_KEY="$HDL_SVR/admpriv.bin")
    out=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/cnri1 2>&1)
    if [[ $res == "RESULT ok"* ]] && grep -q 'https://example.com/20.501/cnri1' <<<"$out"; then
      row "CREATE 20.501/cnri1, DSA admin 300 (HS_ADMIN)" "CNRI -> idnode TCP" pass "rc=1; idctl resolves it"
    else row "CREATE 20.501/cnri1, DSA admin 300 (HS_ADMIN)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; $out"; fi
    res=$(jy "$IH" IX_MODE=create IX_ID=20.501/cnri2 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=301 \
          IX_KEY="$HDL_SVR/admpriv_rsa.bin")
    out=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/cnri2 2>&1)
    if grep -q 'rc=401' <<<"$res" && grep -q 'rc 100' <<<"$out"; then
      row "CREATE 20.501/cnri2, RSA admin 301 (no right)" "CNRI -> idnode TCP" pass "refused: ${res#RESULT fail }"
    else row "CREATE 20.501/cnri2, RSA admin 301 (no right)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; $out"; fi
    if C add 0.NA/20.501 '101:HS_ADMIN=0.NA/20.501@301' >"$T/c.log" 2>&1; then
      res=$(jy "$IH" IX_MODE=create IX_ID=20.501/cnri3 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=301 \
            IX_KEY="$HDL_SVR/admpriv_rsa.bin")
      out=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/cnri3 2>&1)
      if [[ $res == "RESULT ok"* ]] && grep -q 'https://example.com/20.501/cnri3' <<<"$out"; then
        row "CREATE 20.501/cnri3, RSA admin 301 (granted)" "CNRI -> idnode TCP" pass "rc=1; idctl resolves it"
      else row "CREATE 20.501/cnri3, RSA admin 301 (granted)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; $out"; fi
    else
      row "CREATE 20.501/cnri3, RSA admin 301 (granted)" "CNRI -> idnode TCP" "not run" "grant failed: $(cat "$T/c.log")"
    fi
    # HDLCreate and the other session flows: handle-net.d/20-sessions.sh
  else
    row "CNRI admin writes" "CNRI -> idnode" "not run" "storing HS_PUBKEY failed: $(cat "$T/c.log")"
  fi
else
  row "CNRI admin writes" "CNRI -> idnode" "not run" "idnode, root_info or admin keys missing"
fi

# ---- rows of each area (sessions, negotiation, global resolution, ...)
for part in "$HERE"/handle-net.d/*.sh; do
  [ -f "$part" ] || continue
  [[ -z ${HN_PARTS:-} || $(basename "$part") == *${HN_PARTS}* ]] || continue
  # shellcheck source=/dev/null
  . "$part"
done

# ---- nothing left loopback
off=$(ss -Htunp 2>/dev/null | grep -E 'java|idnode|idctl' | awk '{print $5, $6}' |
      grep -vE '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' )
if [ -z "$off" ]; then row "no traffic off loopback (ss -tunp)" "-" pass "only 127.0.0.1 peers"
else row "no traffic off loopback (ss -tunp)" "-" fail "$off"; fi

echo
echo "| flow | direction | result | detail |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "$PASS passed, $FAIL failed"
[ $FAIL = 0 ]
