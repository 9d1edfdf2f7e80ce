# Hash and version negotiation, site info, key files (issue 14, items 2, 5,
# 6, 7). Sourced by tests/interop/handle-net.sh after its core rows: uses its
# variables (T, IPORT, CPORT, CP, HDL_SVR, IH, IDOK, SITEOK, IDCTL, IDNODE)
# and helpers (row, cnri, busy, C). Two more idnodes: IPORT+11 (a server
# admin, --server-admin, HTTP on IPORT+13) and IPORT+12 (--min-auth-hash
# sha256).
NSA=$((IPORT + 11))
NFLOOR=$((IPORT + 12))
NHTTP=$((IPORT + 13))
NPIDS=()
nnode() {  # name port args...: an idnode in $T/<name>, ready
  local name=$1 port=$2; shift 2
  "$IDNODE" --data "$T/$name" --listen 127.0.0.1:$port --control "$T/$name.sock" \
    --rrl-rate 0 "$@" >"$T/$name.log" 2>&1 &
  NPIDS+=($!)
  for _ in $(seq 1 300); do grep -q "idnode ready" "$T/$name.log" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
njy() {  # user.home, then IX_* assignments: cnri_nego.py, its RESULT line
  local home=$1; shift
  env "$@" timeout 90 java -Duser.home="$home" -Djdk.crypto.KeyAgreement.legacyKDF=true \
    -cp "$CP" net.handle.apps.tools.RunJython "$HERE/cnri_nego.py" 2>&1 |
    grep '^RESULT' | tail -1
}
nhex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# a user.home whose root_info is the site idnode at port $2 answers with
nhome() {
  local home=$1 port=$2
  mkdir -p "$home/.handle"
  cp "$IH/.handle/root_info" "$home/.handle/root_info"
  res=$(env IX_MODE=siteinfo IX_HOST=127.0.0.1 IX_PORT=$port IX_OUT="$home/.handle/root_info.new" \
        timeout 90 java -Duser.home="$home" -cp "$CP" net.handle.apps.tools.RunJython \
        "$HERE/cnri_client.py" 2>&1 | grep '^RESULT' | tail -1)
  [[ $res == "RESULT ok"* ]] && mv "$home/.handle/root_info.new" "$home/.handle/root_info"
  echo "${res#RESULT ok }" >"$home/.handle/site.txt"
}

if [ -z "$CP" ] || [ "${IDOK:-0}" != 1 ] || [ "${SITEOK:-0}" != 1 ]; then
  row "negotiation rows" "-" "not run" "no CNRI jars, idnode or root_info"
else
  # ---- site info: a key, interfaces as CNRI lists them
  out=$("$IDCTL" -s 127.0.0.1:$IPORT --json siteinfo 2>&1)
  ifs=$(python3 -c 'import json,sys; s=json.load(sys.stdin)["site"]["servers"][0]
print(",".join("%s/%s" % (i["protocol"], "both" if i["admin"] and i["query"] else ("query" if i["query"] else "admin")) for i in s["interfaces"]), "key" if s.get("publicKey") else "nokey")' <<<"$out" 2>&1)
  cifs=$("$IDCTL" -s 127.0.0.1:$CPORT --json siteinfo 2>&1 | python3 -c 'import json,sys; s=json.load(sys.stdin)["site"]["servers"][0]
print(",".join("%s/%s" % (i["protocol"], "both" if i["admin"] and i["query"] else ("query" if i["query"] else "admin")) for i in s["interfaces"] if i["protocol"] != "HTTP"))' 2>&1)
  if [ "$ifs" = "$cifs key" ] && [ "$(stat -c %a "$T/data/site-key.pem" 2>/dev/null)" = 600 ]; then
    row "GET_SITE_INFO: site key, interfaces" "idctl -> idnode, CNRI" pass "idnode $ifs (CNRI $cifs); data/site-key.pem 0600"
  else row "GET_SITE_INFO: site key, interfaces" "idctl -> idnode, CNRI" fail "idnode '$ifs', CNRI '$cifs'"; fi

  # ---- CNRI verifies idnode's signed replies with the key of its site
  for t in 0 1; do
    dir="CNRI -> idnode $([ $t = 1 ] && echo TCP || echo UDP)"
    res=$(njy "$IH" IX_MODE=certified IX_ID=0.NA/20.501 IX_TCP=$t)
    if [[ $res == "RESULT ok verified"* ]]; then
      row "certified resolve 0.NA/20.501, SHA-1 signature checked" "$dir" pass "${res#RESULT ok }"
    else row "certified resolve 0.NA/20.501, SHA-1 signature checked" "$dir" fail "${res:-no RESULT line}"; fi
  done

  # ---- a CNRI HS_SECKEY admin writes to idnode
  if C add 0.NA/20.501 '310:HS_SECKEY=nego-s3cret' '102:HS_ADMIN=0.NA/20.501@310' >"$T/n.log" 2>&1; then
    res=$(njy "$IH" IX_MODE=seckey IX_ID=20.501/nego-sec IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=310 IX_SECRET=nego-s3cret)
    out=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/nego-sec 2>&1)
    if [[ $res == "RESULT ok"* ]] && grep -q 'https://example.com/20.501/nego-sec' <<<"$out"; then
      row "CREATE 20.501/nego-sec, HS_SECKEY admin 310 (SHA-1 form)" "CNRI -> idnode TCP" pass "${res#RESULT ok }; idctl resolves it"
    else row "CREATE 20.501/nego-sec, HS_SECKEY admin 310 (SHA-1 form)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; $out"; fi
    res=$(njy "$IH" IX_MODE=seckey IX_ID=20.501/nego-sec2 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=310 IX_SECRET=wrong)
    out=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/nego-sec2 2>&1)
    if grep -q 'rc=403' <<<"$res" && grep -q 'rc 100' <<<"$out"; then
      row "CREATE with a wrong secret" "CNRI -> idnode TCP" pass "refused: ${res#RESULT fail }"
    else row "CREATE with a wrong secret" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; $out"; fi
  else
    row "HS_SECKEY admin" "CNRI -> idnode" "not run" "storing HS_SECKEY failed: $(cat "$T/n.log")"
  fi

  # ---- protocol versions from a CNRI client
  for v in 2.0 2.12 3.0; do
    for t in 0 1; do
      res=$(njy "$IH" IX_MODE=version IX_ID=20.501/x IX_MAJOR=${v%%.*} IX_MINOR=${v#*.} \
            IX_HOST=127.0.0.1 IX_PORT=$IPORT IX_TCP=$t)
      want=$([ $v = 2.0 ] && echo v2.0 || echo v2.10)
      dir="CNRI -> idnode $([ $t = 1 ] && echo TCP || echo UDP)"
      if [[ $res == "RESULT ok rc=1 $want" ]]; then
        row "resolve in protocol $v" "$dir" pass "rc=1, answered $want (CNRI: 2.0 in kind, newer as its 2.5)"
      else row "resolve in protocol $v" "$dir" fail "${res:-no RESULT line}, want $want"; fi
    done
  done

  # ---- idctl checks CNRI's signed replies (DSA, SHA-1)
  for tcp in "" --tcp; do
    dir="idctl -> CNRI $([ -n "$tcp" ] && echo TCP || echo UDP)"
    out=$("$IDCTL" -s 127.0.0.1:$CPORT $tcp --verify resolve 20.500/test1 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q 'signature verified' <<<"$out"; then
      row "resolve --verify 20.500/test1" "$dir" pass "$(grep 'signature verified' <<<"$out")"
    else row "resolve --verify 20.500/test1" "$dir" fail "exit $rc: $(tail -1 <<<"$out")"; fi
  done

  # ---- idctl administers the CNRI server with its own .bin key files
  cadmin() {  # label key index: create/add/modify/remove/delete 20.500/nego-<label>
    local label=$1 key=$2 idx=$3 id=20.500/nego-$1 s="-s 127.0.0.1:$CPORT" a steps=""
    a=(--auth 0.NA/20.500:$idx --key "$key")
    "$IDCTL" $s "${a[@]}" delete $id >/dev/null 2>&1
    "$IDCTL" $s "${a[@]}" create $id "1:URL=https://example.com/$label" "100:HS_ADMIN=0.NA/20.500@$idx" >"$T/n.log" 2>&1 &&
      "$IDCTL" $s resolve $id 2>&1 | grep -q "https://example.com/$label" && steps="create"
    [ -n "$steps" ] && "$IDCTL" $s "${a[@]}" add $id '2:EMAIL=nego@example.com' >>"$T/n.log" 2>&1 &&
      "$IDCTL" $s resolve $id 2>&1 | grep -q 'nego@example.com' && steps="$steps,add"
    [ "$steps" = create,add ] && "$IDCTL" $s "${a[@]}" modify $id "1:URL=https://example.com/$label/2" >>"$T/n.log" 2>&1 &&
      "$IDCTL" $s resolve $id 2>&1 | grep -q "https://example.com/$label/2" && steps="$steps,modify"
    [ "$steps" = create,add,modify ] && "$IDCTL" $s "${a[@]}" remove $id 2 >>"$T/n.log" 2>&1 &&
      ! "$IDCTL" $s resolve $id 2>&1 | grep -q 'nego@example.com' && steps="$steps,remove"
    [ "$steps" = create,add,modify,remove ] && "$IDCTL" $s "${a[@]}" delete $id >>"$T/n.log" 2>&1 &&
      "$IDCTL" $s resolve $id 2>&1 | grep -q 'rc 100' && steps="$steps,delete"
    echo "$steps"
  }
  for k in "dsa $HDL_SVR/admpriv.bin 300" "rsa $HDL_SVR/admpriv_rsa.bin 301"; do
    read -r kl kf ki <<<"$k"
    steps=$(cadmin "$kl" "$kf" "$ki")
    what="idctl --auth 0.NA/20.500:$ki --key $(basename "$kf") ($(tr a-z A-Z <<<"$kl"))"
    if [ "$steps" = create,add,modify,remove,delete ]; then
      row "$what: create/add/modify/remove/delete" "idctl -> CNRI TCP" pass "$steps, each checked by resolving"
    else row "$what: create/add/modify/remove/delete" "idctl -> CNRI TCP" fail "done: ${steps:-none}; $(tail -1 "$T/n.log")"; fi
  done
  # the key file converted to PEM and back: the same key, both usable
  rm -f "$T/adm.pem" "$T/adm-back.bin"
  if "$IDCTL" key convert "$HDL_SVR/admpriv.bin" "$T/adm.pem" >"$T/n.log" 2>&1 &&
     "$IDCTL" key convert "$T/adm.pem" "$T/adm-back.bin" >>"$T/n.log" 2>&1 &&
     cmp -s "$HDL_SVR/admpriv.bin" "$T/adm-back.bin"; then
    steps=$(cadmin pem "$T/adm.pem" 300)
    if [ "$steps" = create,add,modify,remove,delete ]; then
      row "idctl key convert admpriv.bin -> PEM -> .bin" "idctl -> CNRI TCP" pass "same bytes back; the PEM administers CNRI ($steps)"
    else row "idctl key convert admpriv.bin -> PEM -> .bin" "idctl -> CNRI TCP" fail "PEM key: ${steps:-none}"; fi
  else row "idctl key convert admpriv.bin -> PEM -> .bin" "idctl" fail "$(tail -2 "$T/n.log")"; fi

  # ---- HOME_NA by a server admin (CNRI's server_admins)
  if busy $NSA || busy $NFLOOR || busy $NHTTP; then
    row "server admin, hash floor rows" "-" "not run" "port $NSA, $NFLOOR or $NHTTP in use"
  elif nnode nsa $NSA --home 0.NA --home 20.540 --server-admin 0.NA/20.501:300 \
         --server-key "$HDL_SVR/privkey.bin" --http 127.0.0.1:$NHTTP &&
       "$IDCTL" -C "$T/nsa.sock" create 0.NA/20.501 "300:HS_PUBKEY=hex:$(nhex "$HDL_SVR/admpub.bin")" \
         "301:HS_PUBKEY=hex:$(nhex "$HDL_SVR/admpub_rsa.bin")" >"$T/n.log" 2>&1; then
    res=$(njy "$IH" IX_MODE=home IX_ID=0.NA/20.530 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=300 \
          IX_KEY="$HDL_SVR/admpriv.bin" IX_HOST=127.0.0.1 IX_PORT=$NSA)
    homed=$("$IDCTL" -C "$T/nsa.sock" homed 2>&1)
    if [[ $res == "RESULT ok"* ]] && grep -qx '20.530' <<<"$homed"; then
      row "HOME_NA 0.NA/20.530 by server admin 300 (no HS_ADMIN)" "CNRI -> idnode TCP" pass "${res#RESULT ok }; idctl homed lists 20.530"
    else row "HOME_NA 0.NA/20.530 by server admin 300 (no HS_ADMIN)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; homed: $homed"; fi
    res=$(njy "$IH" IX_MODE=home IX_OP=unhome IX_ID=0.NA/20.530 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=300 \
          IX_KEY="$HDL_SVR/admpriv.bin" IX_HOST=127.0.0.1 IX_PORT=$NSA)
    homed=$("$IDCTL" -C "$T/nsa.sock" homed 2>&1)
    if [[ $res == "RESULT ok"* ]] && ! grep -qx '20.530' <<<"$homed"; then
      row "UNHOME_NA 0.NA/20.530 by server admin 300" "CNRI -> idnode TCP" pass "${res#RESULT ok }; no longer homed"
    else row "UNHOME_NA 0.NA/20.530 by server admin 300" "CNRI -> idnode TCP" fail "${res:-no RESULT line}; homed: $homed"; fi
    res=$(njy "$IH" IX_MODE=home IX_ID=0.NA/20.531 IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=301 \
          IX_KEY="$HDL_SVR/admpriv_rsa.bin" IX_HOST=127.0.0.1 IX_PORT=$NSA)
    if grep -q 'rc=401' <<<"$res"; then
      row "HOME_NA by admin 301 (not a server admin)" "CNRI -> idnode TCP" pass "refused: ${res#RESULT fail }"
    else row "HOME_NA by admin 301 (not a server admin)" "CNRI -> idnode TCP" fail "${res:-no RESULT line}"; fi
    # that node's site key is the CNRI server's own (privkey.bin, DSA)
    nhome "$T/nsahome" $NSA
    res=$(njy "$T/nsahome" IX_MODE=certified IX_ID=0.NA/20.501)
    if [[ $res == "RESULT ok verified"* ]] && cmp -s <("$IDCTL" -s 127.0.0.1:$NSA --json siteinfo |
         python3 -c 'import json,sys,base64; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["site"]["servers"][0]["publicKey"]["value"]))') \
         "$HDL_SVR/pubkey.bin"; then
      row "--server-key CNRI privkey.bin (DSA): certified resolve" "CNRI -> idnode UDP" pass "site key = CNRI's pubkey.bin byte for byte; ${res#RESULT ok }"
    else row "--server-key CNRI privkey.bin (DSA): certified resolve" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"; fi
    # a delegation made from the site's own GET_SITE_INFO carries the key:
    # CNRI checks the certified answers of the delegated prefix too
    if "$IDCTL" -C "$T/nsa.sock" create 20.540/x '1:URL=https://example.com/20.540/x' >"$T/n.log" 2>&1 &&
       "$IDCTL" -C "$T/nsa.sock" delegate 20.540 --to 127.0.0.1:$NSA --site-info >>"$T/n.log" 2>&1; then
      res=$(njy "$T/nsahome" IX_MODE=certified IX_ID=20.540/x)
      if [[ $res == "RESULT ok verified"* ]]; then
        row "certified resolve 20.540/x (delegate --site-info)" "CNRI -> idnode UDP" pass "${res#RESULT ok }"
      else row "certified resolve 20.540/x (delegate --site-info)" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"; fi
    else row "certified resolve 20.540/x (delegate --site-info)" "CNRI -> idnode" fail "$(tail -1 "$T/n.log")"; fi
    # the HTTP interface its site lists, used by CNRI's client
    res=$(njy "$T/nsahome" IX_MODE=certified IX_ID=0.NA/20.501 IX_HTTP=1)
    if [[ $res == "RESULT ok verified"* ]] && grep -q "HTTP/$NHTTP" "$T/nsahome/.handle/site.txt" 2>/dev/null; then
      row "certified resolve over the site's HTTP interface" "CNRI -> idnode HTTP" pass "$(cat "$T/nsahome/.handle/site.txt"); ${res#RESULT ok }"
    else row "certified resolve over the site's HTTP interface" "CNRI -> idnode HTTP" fail "${res:-no RESULT line}; site: $(cat "$T/nsahome/.handle/site.txt" 2>/dev/null)"; fi
    # GenericBatch's HOME (it sets up a session first: issue 14 item 1)
    printf 'AUTHENTICATE PUBKEY:300:0.NA/20.501\n%s\n\nHOME 127.0.0.1:%s:TCP\n0.NA/20.532\n\n' \
      "$HDL_SVR/admpriv.bin" $NSA >"$T/home.batch"
    out=$(cnri "$IH" net.handle.apps.batch.GenericBatch "$T/home.batch" "$T/home.log")
    homed=$("$IDCTL" -C "$T/nsa.sock" homed 2>&1)
    if grep -qx '20.532' <<<"$homed"; then
      row "GenericBatch HOME 0.NA/20.532 by server admin 300" "CNRI -> idnode" pass "homed; $(grep -ci success "$T/home.log") success line(s)"
    else
      why=$(grep -m1 FAILURE "$T/home.log" 2>/dev/null || tail -1 <<<"$out")
      grep -q 'setting up session' <<<"$why" && why="$why (GenericBatch sets up a session first: op 400)"
      row "GenericBatch HOME 0.NA/20.532 by server admin 300" "CNRI -> idnode" fail "$why"
    fi
  else
    row "server admin rows" "-" fail "idnode --server-admin did not start: $(tail -2 "$T/nsa.log" "$T/n.log")"
  fi

  # ---- the floor: an idnode with --min-auth-hash sha256
  if nnode nfloor $NFLOOR --home 0.NA --home 20.501 --min-auth-hash sha256 &&
     "$IDCTL" -C "$T/nfloor.sock" delegate 20.501 --to 127.0.0.1:$NFLOOR >"$T/n.log" 2>&1 &&
     "$IDCTL" -C "$T/nfloor.sock" add 0.NA/20.501 "300:HS_PUBKEY=hex:$(nhex "$HDL_SVR/admpub.bin")" \
       >>"$T/n.log" 2>&1 &&
     nhome "$T/floorhome" $NFLOOR; then
    res=$(njy "$T/floorhome" IX_MODE=certified IX_ID=0.NA/20.501)
    if [[ $res == "RESULT fail"* ]] && grep -qi 'signature' <<<"$res"; then
      row "certified resolve, node floor sha256" "CNRI -> idnode UDP" pass "CNRI cannot check SHA-256: ${res#RESULT fail }"
    else row "certified resolve, node floor sha256" "CNRI -> idnode UDP" fail "${res:-no RESULT line}"; fi
    res=$(env IX_MODE=create IX_ID=20.501/nego-floor IX_ADMIN_ID=0.NA/20.501 IX_ADMIN_IDX=300 \
          IX_KEY="$HDL_SVR/admpriv.bin" timeout 90 java -Duser.home="$T/floorhome" \
          -cp "$CP" net.handle.apps.tools.RunJython "$HERE/cnri_client.py" 2>&1 | grep '^RESULT' | tail -1)
    if grep -q 'rc=406' <<<"$res" && grep -q 'min-auth-hash (sha256)' <<<"$res"; then
      row "CREATE with a SHA-1 DSA answer, node floor sha256" "CNRI -> idnode TCP" pass "refused: ${res#RESULT fail }"
    else row "CREATE with a SHA-1 DSA answer, node floor sha256" "CNRI -> idnode TCP" fail "${res:-no RESULT line}"; fi
  else
    row "hash floor rows" "-" fail "idnode --min-auth-hash sha256 did not start: $(tail -2 "$T/nfloor.log" "$T/n.log")"
  fi
fi
for p in "${NPIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
