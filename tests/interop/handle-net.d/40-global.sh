# Global resolution and UDP as HANDLE.NET does them (issue 14, items 3-4).
# Sourced by tests/interop/handle-net.sh after its core rows: uses its
# variables (T, IPORT, CPORT, CP, HDL_SVR, HDL_HOME, IH, IDOK, SITEOK) and
# helpers (row, cnri, jy, C). Two more idnodes on IPORT+1 (recursive, root:
# the CNRI server) and IPORT+2 (the site of 20.600, 20.610, 20.620.1).
GREC=$((IPORT + 1))
GSITE=$((IPORT + 2))
GPIDS=()
gnode() {  # name port args...: an idnode in $T/<name>, ready
  local name=$1 port=$2; shift 2
  "$IDNODE" --data "$T/$name" --listen 127.0.0.1:$port --control "$T/$name.sock" \
    --rrl-rate 0 "$@" >"$T/$name.log" 2>&1 &
  GPIDS+=($!)
  for _ in $(seq 1 300); do grep -q "idnode ready" "$T/$name.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
gjy() {  # IX_* assignments: cnri_global.py with the CNRI server's root_info
  env "$@" timeout 90 java -Duser.home="$HDL_HOME" -Djdk.crypto.KeyAgreement.legacyKDF=true \
    -cp "$CP" net.handle.apps.tools.RunJython "$HERE/cnri_global.py" 2>&1 |
    grep '^RESULT' | tail -1
}
S() { "$IDCTL" -C "$T/gsite.sock" "$@"; }

if [ -z "$CP" ] || ! busy $CPORT; then
  row "global resolution rows" "-" "not run" "no CNRI server or jars"
elif busy $GREC || busy $GSITE; then
  row "global resolution rows" "-" "not run" "port $GREC or $GSITE in use"
elif ! gnode grec $GREC --recursive --root 127.0.0.1:$CPORT ||
     ! gnode gsite $GSITE --home 20.600 --home 20.610 --home 20.620.1; then
  row "global resolution rows" "-" fail "an idnode did not start: $(tail -2 "$T"/grec.log "$T"/gsite.log)"
else
  # ---- the CNRI server as the root of an idnode recursive node
  out=$("$IDCTL" -s 127.0.0.1:$GREC resolve 20.500/test1 2>&1); rc=$?
  order=$(awk '$1 ~ /^[0-9]+$/ {printf "%s%s", sep, $1; sep=","}' <<<"$out")
  if [ $rc = 0 ] && [ "$order" = "1,2,100" ] && grep -q 'http://example.org/test1' <<<"$out"; then
    row "recursive idnode, root CNRI: 20.500/test1" "idctl -> idnode -> CNRI" pass "rc 0; values $order (CNRI sends 100,1,2)"
  else row "recursive idnode, root CNRI: 20.500/test1" "idctl -> idnode -> CNRI" fail "exit $rc, values ${order:-none}: $out"; fi

  # ---- CNRI as a GHR-style root: 0.NA/<prefix> made with CNRI's library
  S create 20.600/x '1:URL=https://example.com/20.600/x' '100:HS_ADMIN=0.NA/20.600@300' >"$T/g.log" 2>&1
  S create 20.610/x '1:URL=https://example.com/20.610/x' >>"$T/g.log" 2>&1
  S create 20.620.1/x '1:URL=https://example.com/20.620.1/x' >>"$T/g.log" 2>&1
  S delegate 20.620.1 --to 127.0.0.1:$GSITE >>"$T/g.log" 2>&1
  K=(IX_KEY="$HDL_SVR/admpriv.bin" IX_SITE_PORT=$GSITE)
  for how in site serv prefix; do
    case $how in
      site) pfx=20.600 id=20.600/x what="0.NA/20.600 HS_SITE" ;;
      serv) pfx=20.610 id=20.610/x what="0.NA/20.610 HS_SERV -> 0.NA/SERV-20.610 HS_SITE" ;;
      prefix) pfx=20.620 id=20.620.1/x what="0.NA/20.620 HS_SITE.PREFIX -> 0.NA/20.620.1 at idnode" ;;
    esac
    res=$(gjy "${K[@]}" IX_PREFIX=0.NA/$pfx IX_HOW=$how IX_SERV=0.NA/SERV-$pfx)
    if [[ $res != "RESULT ok"* ]]; then
      row "CNRI GHR-style root, $what" "CNRI admin -> CNRI" fail "${res:-no RESULT line}"
      continue
    fi
    out=$("$IDCTL" -s 127.0.0.1:$CPORT resolve $id 2>&1)
    grep -q 'rc 301' <<<"$out" || { row "CNRI root answers 301 for $id" "idctl -> CNRI" fail "$out"; continue; }
    out=$("$IDCTL" -s 127.0.0.1:$GREC resolve $id 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q "https://example.com/$id" <<<"$out"; then
      row "$id through idnode recursive, root CNRI ($what)" "idctl -> idnode -> CNRI -> idnode" pass "CNRI 301, then prefix handle; URL https://example.com/$id"
    else row "$id through idnode recursive, root CNRI ($what)" "idctl -> idnode -> CNRI -> idnode" fail "exit $rc: $out"; fi
  done
  out=$("$IDCTL" -s 127.0.0.1:$CPORT resolve --trace 20.610/x 2>&1); rc=$?
  steps=$(grep -cE '20.610/x  rc 301|0.NA/20.610  rc 1|0.NA/SERV-20.610  rc 1|20.610/x  rc 1' <<<"$out")
  if [ $rc = 0 ] && [ "$steps" = 4 ]; then
    row "idctl --trace 20.610/x from the CNRI root" "idctl -> CNRI -> idnode" pass "301, 0.NA/20.610 HS_SERV, service handle HS_SITE, answer"
  else row "idctl --trace 20.610/x from the CNRI root" "idctl -> CNRI -> idnode" fail "exit $rc, $steps of 4 steps: $out"; fi

  # ---- 301 for a prefix neither homed nor delegated, as CNRI answers
  a=$("$IDCTL" -s 127.0.0.1:$CPORT --no-recursion resolve 20.999/x 2>&1)
  b=$("$IDCTL" -s 127.0.0.1:$GSITE --no-recursion resolve 20.999/x 2>&1)
  if grep -q 'rc 301' <<<"$a" && grep -q 'rc 301' <<<"$b"; then
    row "20.999/x (not homed, no recursion)" "idctl -> CNRI / idnode" pass "both rc 301"
  else row "20.999/x (not homed, no recursion)" "idctl -> CNRI / idnode" fail "CNRI: $a; idnode: $b"; fi

  # ---- a 5 KiB record over UDP to CNRI clients, HDLTrace through idnode
  if [ "${IDOK:-0}" = 1 ] && [ "${SITEOK:-0}" = 1 ]; then
    big=$(printf 'k%.0s' $(seq 1 5000))
    C create 20.501/big "1:URL=https://example.com/$big" '2:EMAIL=big@example.com' >"$T/g.log" 2>&1
    res=$(gjy IX_MODE=udp IX_ID=20.501/big IX_SITE_PORT=$IPORT)
    if [[ $res == "RESULT ok 1:URL:5020 2:EMAIL:15"* ]]; then
      row "5 KiB record 20.501/big (sendHdlUdpRequest)" "CNRI -> idnode UDP" pass "${res#RESULT ok } (11 datagrams)"
    else row "5 KiB record 20.501/big (sendHdlUdpRequest)" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"; fi
    a=$(gjy IX_MODE=udp IX_ID=20.500/test1 IX_TYPES=30 IX_SITE_PORT=$CPORT)
    b=$(gjy IX_MODE=udp IX_ID=20.501/big IX_TYPES=30 IX_SITE_PORT=$IPORT)
    if grep -q 'Error(200)' <<<"$a" && grep -q 'Error(200)' <<<"$b"; then
      row "2-datagram request (30 types, sendHdlUdpRequest)" "CNRI -> CNRI / idnode UDP" pass "both reassemble it: rc 200, no such types"
    else row "2-datagram request (30 types, sendHdlUdpRequest)" "CNRI -> CNRI / idnode UDP" fail "CNRI: $a; idnode: $b"; fi
    res=$(jy "$IH" IX_MODE=resolve IX_ID=20.501/big)
    if [[ $res == "RESULT ok"* ]] && grep -q "1:URL=https://example.com/kkkk" <<<"$res"; then
      row "5 KiB record 20.501/big (HandleResolver)" "CNRI -> idnode" pass "URL of 5020 bytes, EMAIL"
    else row "5 KiB record 20.501/big (HandleResolver)" "CNRI -> idnode" fail "${res:0:150}"; fi
    out=$(cnri "$IH" net.handle.apps.simple.HDLTrace 20.501/big)
    if grep -q 'rc=1;' <<<"$out" && grep -q 'kkkkkkkk' <<<"$out"; then
      row "HDLTrace 20.501/big, idnode as root" "CNRI -> idnode" pass "rc=1, 5 KiB URL"
    else row "HDLTrace 20.501/big, idnode as root" "CNRI -> idnode" fail "$(tail -3 <<<"$out")"; fi
    # idnode as the root, delegating 20.600 to the other idnode
    if C delegate 20.600 --to 127.0.0.1:$GSITE >"$T/g.log" 2>&1; then
      out=$(cnri "$IH" net.handle.apps.simple.HDLTrace 20.600/x)
      if grep -q 'rc=1;' <<<"$out" && grep -q 'https://example.com/20.600/x' <<<"$out"; then
        row "HDLTrace 20.600/x, idnode root -> 0.NA/20.600 -> idnode" "CNRI -> idnode -> idnode" pass "rc=1, URL https://example.com/20.600/x"
      else row "HDLTrace 20.600/x, idnode root -> 0.NA/20.600 -> idnode" "CNRI -> idnode -> idnode" fail "$(tail -3 <<<"$out")"; fi
    else
      row "HDLTrace 20.600/x through idnode root" "CNRI -> idnode" "not run" "delegate: $(cat "$T/g.log")"
    fi
  else
    row "CNRI clients read a 5 KiB record from idnode" "CNRI -> idnode" "not run" "idnode or its root_info not set up"
  fi
fi
for p in "${GPIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
