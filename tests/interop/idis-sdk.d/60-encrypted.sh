# Encrypted sessions of the national SDK (docs/national.md, "Encrypted
# sessions"), sourced by tests/interop/idis-sdk.sh. SDK 2.3.1's
# DefaultIdClient ignores its encrypt argument; the probe EncAdmin drives
# the SDK's encrypted-session transport (TransportOnTcpLogin): op 400 mode
# 3, the SM4 key unwrapped with the admin's private key, then login and
# write in SM4-CBC. Each effect is checked with idctl; that the SDK took an
# SM4 key is its own log line ("sessionKeyAlg:4") in $T/probe.log.
if [ "${OK:-0}" = 1 ]; then
  E() { probe EncAdmin 127.0.0.1 $IPORT $ADM "$@"; }
  sm4keys() { grep -c 'sessionKeyAlg:4,' "$T/probe.log" 2>/dev/null; }
  enc_rows() {  # index key label
    local id=$PFX/enc-$1 before out chk
    before=$(sm4keys)
    out=$(E "$1" "$2" create $id "1:URL=https://example.com/enc$1" "100:HS_ADMIN=$ADM@$1")
    chk=$(C resolve $id 2>&1)
    if [ "$out" = ok ] && has "$chk" "https://example.com/enc$1" && [ "$(sm4keys)" -gt "$before" ] &&
       grep -q "login: session .* for $ADM:$1" "$T/idnode.log"; then
      row "encrypted session $3: create $id" "SDK -> idnode" pass "op 400 mode 3, SDK unwrapped an SM4 key; login and create in SM4-CBC; idctl: 1 URL"
    else row "encrypted session $3: create $id" "SDK -> idnode" fail "$out; $chk"; fi
    out=$(E "$1" "$2" modify $id "1:URL=https://example.com/enc$1-2"); chk=$(C resolve $id 2>&1)
    if [ "$out" = ok ] && has "$chk" "https://example.com/enc$1-2"; then
      row "encrypted session $3: modify value 1" "SDK -> idnode" pass "idctl: 1 URL https://example.com/enc$1-2"
    else row "encrypted session $3: modify value 1" "SDK -> idnode" fail "$out; $chk"; fi
    out=$(E "$1" "$2" delete $id); chk=$(C resolve $id 2>&1)
    if [ "$out" = ok ] && has "$chk" "rc 100"; then
      row "encrypted session $3: delete $id" "SDK -> idnode" pass "idctl: not found (rc 100)"
    else row "encrypted session $3: delete $id" "SDK -> idnode" fail "$out; $chk"; fi
  }
  enc_rows 300 "$T/rsa.pem" "RSA (admin 300)"
  enc_rows 301 "$T/sdksm2.pem" "SM2, SDK-made key (301)"
  enc_rows 302 "$T/sm2n.pem" "SM2, idctl --form national key (302)"

  # the key goes to the HS_PUBKEY's holder only: another private key
  # cannot unwrap it, and nothing is written
  out=$(E 300 "$T/rsa2.pem" create $PFX/enc-xkey '1:URL=https://example.com/x')
  chk=$(C resolve $PFX/enc-xkey 2>&1)
  if [[ $out == rc* ]] && has "$chk" "rc 100" && has "$out" "decrypt sessionKey error"; then
    row "encrypted session as 300 with another key" "SDK -> idnode" pass "SDK cannot unwrap the session key; not stored"
  else row "encrypted session as 300 with another key" "SDK -> idnode" fail "$out; $chk"; fi
  # rights are still checked per request
  out=$(E 303 "$T/rsa2.pem" create $PFX/enc-x401 '1:URL=https://example.com/x')
  chk=$(C resolve $PFX/enc-x401 2>&1)
  if has "$out" "rc 401" && has "$chk" "rc 100"; then
    row "encrypted session, admin 303 without HS_ADMIN right" "SDK -> idnode" pass "login ok, create rc 401; idctl: not stored"
  else row "encrypted session, admin 303 without HS_ADMIN right" "SDK -> idnode" fail "$out; $chk"; fi
fi
