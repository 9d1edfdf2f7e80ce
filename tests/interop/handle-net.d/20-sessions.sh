# Sessions as HANDLE.NET has them (docs/architecture.md, "Sessions"). Sourced
# by handle-net.sh after its core rows, with its variables and helpers.
#  - CNRI's GenericBatch (create, add, modify, remove, delete) and HDLCreate
#    administer an idnode through sessions: Diffie-Hellman key exchange,
#    requests MACed with the session key, the first one challenged; DSA
#    admin 300 and RSA admin 301; every effect checked with idctl. The
#    idnode here has a site key (--server-key) and its HS_SITE in
#    0.NA/20.502 carries it: CNRI's client checks the setup answer's
#    signature with the key of the site it talks to.
#  - CNRI's client library with encrypted session messages.
#  - idctl batch (and resolve --auth) administering the CNRI server in a
#    session, with the RSA admin's key exported to PEM.
# The idnode of these rows listens on the first free port from IDNODE_PORT+20.

S_DIR=$T/sessions
S_PORT=$((IPORT + 20))
while busy $S_PORT; do S_PORT=$((S_PORT + 1)); done
S_ID=
s_cleanup() { [ -n "$S_ID" ] && kill "$S_ID" 2>/dev/null && wait "$S_ID" 2>/dev/null; S_ID=; }
SC() { "$IDCTL" -C "$S_DIR/ctl.sock" "$@"; }
SN() { "$IDCTL" -s 127.0.0.1:$S_PORT "$@"; }
s_hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
# the HS_SITE data of a root_info file (one value, as cnri_client.py writes
# it: u32 length, u32 count, then the value)
s_site_hex() {
  python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
o = 4 + 4 + 4 + 4 + 1 + 4 + 1  # length, count, index, timestamp, ttl type, ttl, perms
n = int.from_bytes(b[o:o+4], "big"); o += 4 + n      # type
n = int.from_bytes(b[o:o+4], "big"); print(b[o+4:o+4+n].hex())' "$1"
}
# a GenericBatch run as admin $1 (300 DSA, 301 RSA) of the commands on stdin,
# in the user.home whose root is this idnode; prints its success count
s_gb() {
  local a=$1 name=$2 key=$HDL_SVR/admpriv.bin
  [ "$a" = 301 ] && key=$HDL_SVR/admpriv_rsa.bin
  { printf 'AUTHENTICATE PUBKEY:%s:0.NA/20.502\n%s\n\n' "$a" "$key"; cat; } >"$S_DIR/$name.txt"
  cnri "$S_DIR/home" net.handle.apps.batch.GenericBatch "$S_DIR/$name.txt" "$S_DIR/$name.log" >/dev/null
  grep -c '==>SUCCESS' "$S_DIR/$name.log" 2>/dev/null || echo 0
}

mkdir -p "$S_DIR/home/.handle"
S_OK=0
if [ -z "$CP" ] || ! [ -f "$HDL_SVR/admpub.bin" ] || ! command -v openssl >/dev/null 2>&1 ||
   ! command -v python3 >/dev/null 2>&1; then
  row "sessions" "CNRI <-> idnode" "not run" "no CNRI jars, admin keys, openssl or python3"
else
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$S_DIR/server.pem" 2>/dev/null
  "$IDNODE" --data "$S_DIR/data" --listen 127.0.0.1:$S_PORT --control "$S_DIR/ctl.sock" \
    --home 20.502 --home 0.NA --rrl-rate 0 --server-key "$S_DIR/server.pem" \
    >"$S_DIR/idnode.log" 2>&1 &
  S_ID=$!
  trap 's_cleanup; cleanup' EXIT
  for i in $(seq 1 300); do grep -q "idnode ready" "$S_DIR/idnode.log" 2>/dev/null && break; sleep 0.1; done
  # a loopback-only root_info first, replaced by this idnode's site
  cp "$HDL_HOME/.handle/root_info" "$S_DIR/home/.handle/root_info"
  res=$(jy "$S_DIR/home" IX_MODE=siteinfo IX_HOST=127.0.0.1 IX_PORT=$S_PORT \
        IX_OUT="$S_DIR/home/.handle/root_info.new")
  if [[ $res == "RESULT ok"* ]] && mv "$S_DIR/home/.handle/root_info.new" "$S_DIR/home/.handle/root_info" &&
     site=$(s_site_hex "$S_DIR/home/.handle/root_info") &&
     SC create 0.NA/20.502 "1:HS_SITE=hex:$site" '100:HS_ADMIN=0.NA/20.502@300' \
       '101:HS_ADMIN=0.NA/20.502@301' "300:HS_PUBKEY=hex:$(s_hex "$HDL_SVR/admpub.bin")" \
       "301:HS_PUBKEY=hex:$(s_hex "$HDL_SVR/admpub_rsa.bin")" >"$S_DIR/c.log" 2>&1; then
    row "idnode with a site key (sessions)" "-" pass "127.0.0.1:$S_PORT homes 0.NA + 20.502; HS_SITE with its RSA key; admins 300 (DSA), 301 (RSA)"
    S_OK=1
  else
    row "idnode with a site key (sessions)" "-" fail "${res:-no RESULT line}; $(cat "$S_DIR/c.log" 2>/dev/null)"
  fi
fi

if [ $S_OK = 1 ]; then
  # ---- GenericBatch, one run (one session) per operation, per admin
  for a in 300 301; do
    kind=DSA; [ $a = 301 ] && kind=RSA
    id=20.502/gb-$a
    dir="CNRI GenericBatch -> idnode"
    n=$(s_gb $a create-$a <<EOF
CREATE $id
100 HS_ADMIN 86400 1110 ADMIN $a:111111111111:0.NA/20.502
1 URL 86400 1110 UTF8 http://example.org/$id
EOF
)
    out=$(SN resolve $id 2>&1)
    if [ "$n" = 1 ] && grep -q "http://example.org/$id" <<<"$out"; then
      row "GenericBatch CREATE $id, $kind admin $a (session)" "$dir" pass "1/1 SUCCESS; idctl resolves its URL"
    else row "GenericBatch CREATE $id, $kind admin $a (session)" "$dir" fail "$n SUCCESS: $(tail -2 "$S_DIR/create-$a.log" | tr '\n' ' ') $out"; fi
    n=$(s_gb $a add-$a <<EOF
ADD $id
2 EMAIL 86400 1110 UTF8 gb$a@example.org
EOF
)
    out=$(SN resolve $id 2>&1)
    if [ "$n" = 1 ] && grep -q "gb$a@example.org" <<<"$out"; then
      row "GenericBatch ADD EMAIL@2, $kind admin $a (session)" "$dir" pass "1/1 SUCCESS; idctl sees the EMAIL"
    else row "GenericBatch ADD EMAIL@2, $kind admin $a (session)" "$dir" fail "$n SUCCESS: $(tail -2 "$S_DIR/add-$a.log" | tr '\n' ' ') $out"; fi
    n=$(s_gb $a modify-$a <<EOF
MODIFY $id
1 URL 86400 1110 UTF8 http://example.org/$id/modified
EOF
)
    out=$(SN resolve $id 2>&1)
    if [ "$n" = 1 ] && grep -q "http://example.org/$id/modified" <<<"$out"; then
      row "GenericBatch MODIFY URL@1, $kind admin $a (session)" "$dir" pass "1/1 SUCCESS; idctl sees the new URL"
    else row "GenericBatch MODIFY URL@1, $kind admin $a (session)" "$dir" fail "$n SUCCESS: $(tail -2 "$S_DIR/modify-$a.log" | tr '\n' ' ') $out"; fi
    n=$(s_gb $a remove-$a <<EOF
REMOVE 2:$id
EOF
)
    out=$(SN resolve $id 2>&1)
    if [ "$n" = 1 ] && ! grep -q "EMAIL" <<<"$out" && grep -q "modified" <<<"$out"; then
      row "GenericBatch REMOVE EMAIL@2, $kind admin $a (session)" "$dir" pass "1/1 SUCCESS; idctl sees URL and HS_ADMIN only"
    else row "GenericBatch REMOVE EMAIL@2, $kind admin $a (session)" "$dir" fail "$n SUCCESS: $(tail -2 "$S_DIR/remove-$a.log" | tr '\n' ' ') $out"; fi
    n=$(s_gb $a delete-$a <<EOF
DELETE $id
EOF
)
    out=$(SN resolve $id 2>&1); rc=$?
    if [ "$n" = 1 ] && [ $rc = 1 ] && grep -q 'rc 100' <<<"$out"; then
      row "GenericBatch DELETE $id, $kind admin $a (session)" "$dir" pass "1/1 SUCCESS; idctl: rc 100 (gone)"
    else row "GenericBatch DELETE $id, $kind admin $a (session)" "$dir" fail "$n SUCCESS: $(tail -2 "$S_DIR/delete-$a.log" | tr '\n' ' ') exit $rc $out"; fi
  done
  opened=$(grep -c 'session [0-9a-f]* opened for 0.NA/20.502:30[01]' "$S_DIR/idnode.log")
  if [ "$opened" -ge 10 ]; then
    row "GenericBatch runs were sessions" "CNRI GenericBatch -> idnode" pass "idnode log: $opened sessions bound to 0.NA/20.502:300/301 by their first challenge"
  else row "GenericBatch runs were sessions" "CNRI GenericBatch -> idnode" fail "idnode log: $opened sessions bound (want 10)"; fi

  # ---- HDLCreate: CNRI's stock tool sets a session up (op 400) first
  out=$(cnri "$S_DIR/home" net.handle.apps.simple.HDLCreate 0.NA/20.502 300 "$HDL_SVR/admpriv.bin" 20.502/hdlcreate)
  chk=$(SN resolve 20.502/hdlcreate 2>&1); crc=$?
  if [ $crc = 0 ] && grep -q 'rc=1;' <<<"$(tail -1 <<<"$out")"; then
    row "HDLCreate 20.502/hdlcreate (session, DSA admin 300)" "CNRI -> idnode" pass "rc=1; idctl resolves it (HS_ADMIN 0.NA/20.502@300)"
  else row "HDLCreate 20.502/hdlcreate (session, DSA admin 300)" "CNRI -> idnode" fail "$(tail -1 <<<"$out"); idctl: $chk"; fi

  # ---- the client library with encrypted session messages
  for enc in 0 1; do
    id=20.502/lib-enc$enc
    what=$([ $enc = 1 ] && echo "encrypted session" || echo "session")
    res=$(jy "$S_DIR/home" IX_MODE=session IX_ID=$id IX_ADMIN_ID=0.NA/20.502 IX_ADMIN_IDX=301 \
          IX_KEY="$HDL_SVR/admpriv_rsa.bin" IX_ENC=$enc)
    out=$(SN resolve $id 2>&1)
    if [[ $res == "RESULT ok"* ]] && grep -q 's@example.com' <<<"$out" && { [ $enc = 0 ] || grep -q encrypted <<<"$res"; }; then
      row "HandleResolver CREATE + ADD $id, RSA admin 301 ($what)" "CNRI -> idnode" pass "${res#RESULT ok }; idctl sees URL and EMAIL"
    else row "HandleResolver CREATE + ADD $id, RSA admin 301 ($what)" "CNRI -> idnode" fail "${res:-no RESULT line}; $out"; fi
  done
fi
s_cleanup
trap cleanup EXIT

# ---- idctl administers the CNRI server in a session
if busy $CPORT && [ -n "$CP" ] && [ -f "$HDL_SVR/admpriv_rsa.bin" ]; then
  res=$(jy "$HDL_HOME" IX_MODE=pem IX_KEY="$HDL_SVR/admpriv_rsa.bin" IX_OUT="$S_DIR/adm301.pem")
  CN() { "$IDCTL" -s 127.0.0.1:$CPORT "$@"; }
  if [[ $res == "RESULT ok"* ]]; then
    id=20.500/sess-idctl
    cat >"$S_DIR/b1.txt" <<EOF
create $id 1:URL=https://example.org/sess 100:HS_ADMIN=0.NA/20.500@301
add $id 2:EMAIL=sess@example.org
modify $id 1:URL=https://example.org/sess/modified
remove $id 2
EOF
    out=$(CN --auth 0.NA/20.500:301 --key "$S_DIR/adm301.pem" batch "$S_DIR/b1.txt" 2>&1); brc=$?
    chk=$(CN resolve $id 2>&1)
    if [ $brc = 0 ] && grep -q '4 requests in session' <<<"$out" && grep -q 'sess/modified' <<<"$chk" &&
       ! grep -q EMAIL <<<"$chk"; then
      row "idctl batch create/add/modify/remove $id, RSA admin 301" "idctl -> CNRI" pass "$(tail -1 <<<"$out"); idctl resolve: modified URL, no EMAIL"
    else row "idctl batch create/add/modify/remove $id, RSA admin 301" "idctl -> CNRI" fail "exit $brc: $out; $chk"; fi
    out=$(CN --auth 0.NA/20.500:301 --key "$S_DIR/adm301.pem" resolve $id 2>&1); rrc=$?
    if [ $rrc = 0 ] && grep -q 'sess/modified' <<<"$out"; then
      row "idctl resolve --auth $id (session)" "idctl -> CNRI" pass "rc 0; URL https://example.org/sess/modified"
    else row "idctl resolve --auth $id (session)" "idctl -> CNRI" fail "exit $rrc: $out"; fi
    echo "delete $id" >"$S_DIR/b2.txt"
    out=$(CN --auth 0.NA/20.500:301 --key "$S_DIR/adm301.pem" batch "$S_DIR/b2.txt" 2>&1); brc=$?
    chk=$(CN resolve $id 2>&1); crc=$?
    if [ $brc = 0 ] && [ $crc = 1 ] && grep -q 'rc 100' <<<"$chk"; then
      row "idctl batch delete $id, RSA admin 301" "idctl -> CNRI" pass "$(tail -1 <<<"$out"); idctl resolve: rc 100"
    else row "idctl batch delete $id, RSA admin 301" "idctl -> CNRI" fail "exit $brc: $out; $chk"; fi
  else
    row "idctl batch -> CNRI" "idctl -> CNRI" "not run" "cannot export the RSA admin key: ${res:-no RESULT line}"
  fi
else
  row "idctl batch -> CNRI" "idctl -> CNRI" "not run" "CNRI server not listening or no admin key"
fi
