# Sourced by tests/interop/handle-net.sh after its core rows (shares T,
# IPORT, CPORT, IDNODE, IDCTL, HDL_SVR, HDL_HOME, CP, cnri, row).
# Replication both ways (docs/replication.md):
#  - an idnode mirror (port IPORT+4) copies the CNRI server (op 1002) and
#    follows it (op 1001) as its replication admin 300:0.NA/20.500 (the DSA
#    key admpriv.bin, turned into PEM), every stream block checked with the
#    server's pubkey.bin; a create and a delete on the CNRI server reach it;
#    it catches up by itself after kill -9 of itself and after a stop and
#    start of the CNRI server;
#  - HANDLE.NET's own replication client classes (tests/interop/
#    cnri_repl.py) read an idnode primary's 1002 and 1001 streams (port
#    IPORT+5, --server-key, --replication-admin 300:0.NA/20.500), every
#    block checked by CNRI's code with the server key;
#  - a CNRI mirror (its own server directory, ports IPORT+6 Handle and
#    IPORT+7 HTTP) is filled from that primary with hdl-dumpfromprimary, as
#    HANDLE.NET's operators fill a new mirror (op 1002), then follows it
#    (op 1001): a create, a modify and a delete on idnode reach it.
MP=$((IPORT + 4))
PP=$((IPORT + 5))
CMP=$((IPORT + 6))
CMH=$((IPORT + 7))
MPID=
PPID_=
CMDIR=$T/cnri-mirror

repl_wait() {  # seconds, then a command that succeeds when done
  local n=$(( $1 * 10 )); shift
  for _ in $(seq 1 $n); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

pem_of_cnri_dsa() {  # CNRI's unencrypted DSA private key file -> PEM
  python3 - "$1" "$2" <<'EOF'
import struct, sys
from cryptography.hazmat.primitives.asymmetric import dsa
from cryptography.hazmat.primitives import serialization
b = open(sys.argv[1], 'rb').read()
p = 4
def bs():
    global p
    n = struct.unpack('>I', b[p:p + 4])[0]; p += 4
    v = b[p:p + n]; p += n
    return v
assert bs() == b'DSA_PRIV_KEY'
x, P, q, g = [int.from_bytes(bs(), 'big') for _ in range(4)]
k = dsa.DSAPrivateNumbers(x, dsa.DSAPublicNumbers(pow(g, x, P),
    dsa.DSAParameterNumbers(P, q, g))).private_key()
open(sys.argv[2], 'wb').write(k.private_bytes(serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
EOF
}

# ---- an idnode mirror of the CNRI primary
if [ -z "$CP" ] || ! busy $CPORT || [ ! -f "$HDL_SVR/admpriv.bin" ]; then
  row "idnode mirror of the CNRI server" "CNRI -> idnode (1002, 1001)" "not run" "no CNRI server or keys"
elif ! python3 -c 'import cryptography' 2>/dev/null; then
  row "idnode mirror of the CNRI server" "CNRI -> idnode (1002, 1001)" "not run" "python3 cryptography missing (turns admpriv.bin into PEM)"
else
  pem_of_cnri_dsa "$HDL_SVR/admpriv.bin" "$T/repl300.pem" && chmod 600 "$T/repl300.pem"
  start_mirror() {
    "$IDNODE" --data "$T/mirror-data" --listen 127.0.0.1:$MP --control "$T/mirror.sock" \
      --replicate-from 127.0.0.1:$CPORT --replication-auth 0.NA/20.500:300 \
      --replication-key "$T/repl300.pem" --replication-source-key "$HDL_SVR/pubkey.bin" \
      --rrl-rate 0 >>"$T/mirror.log" 2>&1 &
    MPID=$!
  }
  start_mirror
  if repl_wait 20 "$IDCTL" -s 127.0.0.1:$MP resolve 20.500/test1; then
    out=$("$IDCTL" -s 127.0.0.1:$MP resolve 20.500/test1 2>&1)
    st=$("$IDCTL" -C "$T/mirror.sock" replication status 2>&1 | tr '\n' ' ')
    if grep -q 'http://example.org/test1' <<<"$out"; then
      row "copy of the CNRI server (op 1002, signed stream checked)" "CNRI -> idnode" pass "20.500/test1 resolves from the mirror; $st"
    else row "copy of the CNRI server (op 1002, signed stream checked)" "CNRI -> idnode" fail "$out"; fi
    cnri "$HDL_HOME" net.handle.apps.simple.HDLCreate 0.NA/20.500 300 "$HDL_SVR/admpriv.bin" 20.500/repl1 >"$T/repl1.log"
    t0=$(date +%s%N)
    if repl_wait 10 "$IDCTL" -s 127.0.0.1:$MP resolve 20.500/repl1; then
      ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      row "CREATE 20.500/repl1 on CNRI reaches the idnode mirror (op 1001)" "CNRI -> idnode" pass "resolves from the mirror after ${ms} ms (polled each second)"
    else
      row "CREATE 20.500/repl1 on CNRI reaches the idnode mirror (op 1001)" "CNRI -> idnode" fail "$(tail -1 "$T/repl1.log"); $(tail -2 "$T/mirror.log")"
    fi
    echo 20.500/repl1 | cnri "$HDL_HOME" net.handle.apps.simple.HDLDelete 0.NA/20.500 "$HDL_SVR/admpriv.bin" - >"$T/repl1d.log"
    gone() { ! "$IDCTL" -s 127.0.0.1:$MP resolve 20.500/repl1; }
    if repl_wait 10 gone; then
      row "DELETE 20.500/repl1 on CNRI reaches the idnode mirror" "CNRI -> idnode" pass "not found (rc 100) on the mirror"
    else row "DELETE 20.500/repl1 on CNRI reaches the idnode mirror" "CNRI -> idnode" fail "$(tail -1 "$T/repl1d.log")"; fi
    out=$("$IDCTL" -C "$T/mirror.sock" create 20.500/local 1:URL=x 2>&1)
    if grep -q "mirror" <<<"$out" && grep -q "127.0.0.1:$CPORT" <<<"$out"; then
      row "a local write on the idnode mirror" "operator -> idnode mirror" pass "refused: ${out#idctl: }"
    else row "a local write on the idnode mirror" "operator -> idnode mirror" fail "$out"; fi
    # outages of either side: the mirror catches up by itself
    kill -9 "$MPID"; wait "$MPID" 2>/dev/null
    cnri "$HDL_HOME" net.handle.apps.simple.HDLCreate 0.NA/20.500 300 "$HDL_SVR/admpriv.bin" 20.500/while-down >"$T/wd.log"
    copies=$(grep -c 'replication: copied' "$T/mirror.log")
    start_mirror
    t0=$(date +%s%N)
    if repl_wait 20 "$IDCTL" -s 127.0.0.1:$MP resolve 20.500/while-down &&
       [ "$(grep -c 'replication: copied' "$T/mirror.log")" = "$copies" ]; then
      row "the idnode mirror killed (-9), a create on CNRI meanwhile, mirror restarted" "CNRI -> idnode" pass "20.500/while-down resolves from the mirror $(( ($(date +%s%N) - t0) / 1000000 )) ms after its restart, followed from its kept position (no new copy)"
    else row "the idnode mirror killed (-9), a create on CNRI meanwhile, mirror restarted" "CNRI -> idnode" fail "$(tail -1 "$T/wd.log"); $(grep -c 'replication: copied' "$T/mirror.log") copies; $(tail -2 "$T/mirror.log")"; fi
    HDL_SVR=$HDL_SVR bash "$HN_DIR/stop.sh" >/dev/null 2>&1
    sleep 3
    down=$("$IDCTL" -C "$T/mirror.sock" replication status --json 2>&1 |
           python3 -c 'import json,sys; s=json.load(sys.stdin)["sources"][0]; print(s.get("state"), "-", s.get("reason") or "")' 2>&1)
    HS_DIST=$HS_DIST HDL_SVR=$HDL_SVR HDL_HOME=$HDL_HOME bash "$HN_DIR/start.sh" >/dev/null 2>&1
    cnri "$HDL_HOME" net.handle.apps.simple.HDLCreate 0.NA/20.500 300 "$HDL_SVR/admpriv.bin" 20.500/after-restart >"$T/ar.log"
    t0=$(date +%s%N)
    if repl_wait 20 "$IDCTL" -s 127.0.0.1:$MP resolve 20.500/after-restart; then
      st=$("$IDCTL" -C "$T/mirror.sock" replication status --json 2>&1 |
           python3 -c 'import json,sys; print(json.load(sys.stdin)["sources"][0].get("state"))' 2>&1)
      row "the CNRI primary stopped and restarted, then a create on it" "CNRI -> idnode" pass "while it was down the mirror said: $down; after: $st, 20.500/after-restart on the mirror in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    else row "the CNRI primary stopped and restarted, then a create on it" "CNRI -> idnode" fail "down: $down; $(tail -1 "$T/ar.log"); $(tail -2 "$T/mirror.log")"; fi
  else
    row "copy of the CNRI server (op 1002)" "CNRI -> idnode" fail "$("$IDCTL" -C "$T/mirror.sock" replication status 2>&1 | tr '\n' ' ')"
  fi
  kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
fi

# ---- a CNRI mirror of an idnode primary
if [ -z "$CP" ] || [ ! -f "$HDL_SVR/admpub.bin" ]; then
  row "CNRI mirror of an idnode primary" "idnode -> CNRI (1002, 1001)" "not run" "no CNRI jars or keys"
else
  mkdir -p "$T/prim"
  "$IDCTL" keygen --out "$T/prim/srv.pem" >/dev/null
  "$IDNODE" --data "$T/prim/data" --listen 127.0.0.1:$PP --control "$T/prim.sock" \
    --home 20.500 --server-key "$T/prim/srv.pem" --replication-admin 300:0.NA/20.500 \
    --rrl-rate 0 >"$T/prim.log" 2>&1 &
  PPID_=$!
  repl_wait 30 grep -q "idnode ready" "$T/prim.log"
  hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
  P() { "$IDCTL" -C "$T/prim.sock" "$@"; }
  P create 0.NA/20.500 '100:HS_ADMIN=0.NA/20.500@300' "300:HS_PUBKEY=hex:$(hex "$HDL_SVR/admpub.bin")" >"$T/p.log" 2>&1
  P create 20.500/from-idnode 1:URL=https://example.org/from-idnode '100:HS_ADMIN=0.NA/20.500@300' >>"$T/p.log" 2>&1
  # HANDLE.NET's own replication client classes read idnode's streams
  P create 20.500/gone 1:URL=https://example.org/gone '100:HS_ADMIN=0.NA/20.500@300' >>"$T/p.log" 2>&1
  P modify 20.500/from-idnode 1:URL=https://example.org/from-idnode-2 >>"$T/p.log" 2>&1
  P delete 20.500/gone >>"$T/p.log" 2>&1
  res=$(env IX_HOST=127.0.0.1 IX_PORT=$PP IX_KEY="$HDL_SVR/admpriv.bin" IX_ADMIN_ID=0.NA/20.500 \
        IX_ADMIN_IDX=300 IX_SRVPUB="$T/prim/srv.pem.pub" IX_LAST=1 timeout 90 java -Duser.home="$HDL_HOME" \
        -cp "$CP" net.handle.apps.tools.RunJython "$HERE/cnri_repl.py" 2>&1 | grep '^RESULT')
  d=$(grep 'dump:' <<<"$res")
  if [[ $d == "RESULT ok"* ]] && [[ $d == *"20.500/from-idnode(2)"* ]] && [[ $d == *"prefixes 0.NA/20.500"* ]]; then
    row "DUMP_HANDLES (1002) from idnode, read and checked by CNRI's DumpHandlesResponse" "idnode -> CNRI client" pass "${d#RESULT ok }"
  else row "DUMP_HANDLES (1002) from idnode, read and checked by CNRI's DumpHandlesResponse" "idnode -> CNRI client" fail "${d:-$res}"; fi
  x=$(grep 'txns:' <<<"$res")
  if [[ $x == "RESULT ok txns: status 2;"* ]] && [[ $x == *":3:20.500/from-idnode(2)"* ]] && [[ $x == *":2:20.500/gone(0)"* ]]; then
    row "RETRIEVE_TXN_LOG (1001) from idnode, read and checked by CNRI's RetrieveTxnResponse" "idnode -> CNRI client" pass "${x#RESULT ok }"
  else row "RETRIEVE_TXN_LOG (1001) from idnode, read and checked by CNRI's RetrieveTxnResponse" "idnode -> CNRI client" fail "${x:-$res}"; fi
  mkdir -p "$CMDIR"
  cp "$HDL_SVR"/privkey.bin "$HDL_SVR"/pubkey.bin "$CMDIR/"
  cp "$HDL_SVR/admpriv.bin" "$CMDIR/replpriv.bin"
  python3 - "$HDL_SVR/siteinfo.json" "$CMDIR" "$T/prim/srv.pem.pub" $PP $CMP $CMH <<'EOF'
import base64, json, sys
src, d, pub, pp, cmp, cmh = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
s = json.load(open(src))
def ports(site, hdl, http):
    for i in site['servers'][0]['interfaces']:
        i['port'] = http if i['protocol'] == 'HTTP' else hdl
own = json.loads(json.dumps(s)); own['primarySite'] = False; ports(own, cmp, cmh)
json.dump(own, open(d + '/siteinfo.json', 'w'))
prim = json.loads(json.dumps(s)); ports(prim, pp, cmh)
prim['servers'][0]['publicKey'] = {'format': 'base64', 'value': base64.b64encode(open(pub, 'rb').read()).decode()}
json.dump(prim, open(d + '/txnsrc.json', 'w'))
EOF
  cnri "$HDL_HOME" net.handle.apps.simple.SiteInfoConverter "$CMDIR/siteinfo.json" -o "$CMDIR/siteinfo.bin" >/dev/null
  cnri "$HDL_HOME" net.handle.apps.simple.SiteInfoConverter "$CMDIR/txnsrc.json" -o "$CMDIR/txnsrcsv.bin" >/dev/null
  sed -e "s/\"$CPORT\"/\"$CMP\"/g" -e "s/\"$HPORT\"/\"$CMH\"/g" \
      -e 's|"replication_admins" = (|"replication_authentication" = "privatekey:300:0.NA/20.500"\n    "replication_interval" = "2000"\n    "replication_admins" = (|' \
      "$HDL_SVR/config.dct" >"$CMDIR/config.dct"
  # a new HANDLE.NET mirror is filled by its operator with
  # hdl-dumpfromprimary (class DumpHandles: op 1002 to the primary named in
  # txnsrcsv.bin, as the replication admin of config.dct), then started; it
  # follows with op 1001 every replication_interval (2 s here)
  dump_ok=0
  if cnri "$HDL_HOME" net.handle.server.replication.DumpHandles "$CMDIR" >"$T/cnri-dump.log" 2>&1; then
    dump_ok=1
  fi
  setsid nohup java -server -Xmx200M -Duser.home="$HDL_HOME" -Djdk.crypto.KeyAgreement.legacyKDF=true \
    -cp "$CP" net.handle.server.Main "$CMDIR" >"$CMDIR/server.out" 2>&1 </dev/null &
  CMPID=$!
  ok=0
  for _ in $(seq 1 60); do
    "$IDCTL" -s 127.0.0.1:$CMP --tcp resolve 20.500/from-idnode 2>/dev/null | grep -q from-idnode-2 && { ok=1; break; }
    sleep 0.5
  done
  CR() { "$IDCTL" -s 127.0.0.1:$CMP --tcp resolve "$@" 2>&1; }
  if [ $ok = 1 ] && [ $dump_ok = 1 ]; then
    row "hdl-dumpfromprimary copies an idnode primary (op 1002)" "idnode -> CNRI" pass "DumpHandles exit 0; 20.500/from-idnode (modified URL) resolves from the CNRI mirror; 20.500/gone absent: $(CR 20.500/gone | tail -1)"
    P create 20.500/from-idnode-2 1:URL=https://example.org/2 '100:HS_ADMIN=0.NA/20.500@300' >/dev/null 2>&1
    t0=$(date +%s%N)
    if repl_wait 15 "$IDCTL" -s 127.0.0.1:$CMP --tcp resolve 20.500/from-idnode-2; then
      row "a create on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" pass "resolves from the CNRI mirror after $(( ($(date +%s%N) - t0) / 1000000 )) ms (its replication_interval: 2 s)"
    else row "a create on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" fail "not within 15 s: $(grep -v '^\s*at ' "$CMDIR"/logs/error.log | grep -E 'Error|Exception|REDUMP' | tail -1)"; fi
    P modify 20.500/from-idnode-2 1:URL=https://example.org/2-modified >/dev/null 2>&1
    moved() { CR 20.500/from-idnode-2 | grep -q 2-modified; }
    if repl_wait 15 moved; then
      row "a modify on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" pass "URL https://example.org/2-modified on the CNRI mirror"
    else row "a modify on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" fail "$(CR 20.500/from-idnode-2 | tr '\n' ' ')"; fi
    P delete 20.500/from-idnode-2 >/dev/null 2>&1
    cgone() { ! "$IDCTL" -s 127.0.0.1:$CMP --tcp resolve 20.500/from-idnode-2 >/dev/null 2>&1; }
    if repl_wait 15 cgone; then
      row "a delete on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" pass "$(CR 20.500/from-idnode-2 | tail -1)"
    else row "a delete on idnode reaches the CNRI mirror (op 1001)" "idnode -> CNRI" fail "still resolves"; fi
  elif [ $dump_ok = 0 ]; then
    row "hdl-dumpfromprimary copies an idnode primary (op 1002)" "idnode -> CNRI" fail "DumpHandles: $(grep -v '^\s*at ' "$T/cnri-dump.log" | tail -2 | tr '\n' ' ')"
  else
    why=$(grep -v '^\s*at ' "$CMDIR"/logs/error.log 2>/dev/null | grep -E 'Error|Exception' | tail -1)
    grep -q 'Error setting up session' "$CMDIR"/logs/error.log 2>/dev/null &&
      why="blocked on sessions: the CNRI mirror sets up a session (op 400) before 1002/1001 and does not accept idnode's answer: $why"
    row "hdl-dumpfromprimary copies an idnode primary (op 1002)" "idnode -> CNRI" fail "$why"
  fi
  kill "$CMPID" 2>/dev/null; wait "$CMPID" 2>/dev/null
  kill "$PPID_" 2>/dev/null && wait "$PPID_" 2>/dev/null
fi
