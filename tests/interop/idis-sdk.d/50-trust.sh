# Rows of tests/interop/idis-sdk.sh (sourced; uses its row, C, probe,
# $IDCTL, $IPORT, $T): national trust tokens both ways (docs/trust.md).
#   - an RS256 and an SM2 chain made by the SDK's HandleSigner, stored in
#     idnode, verified by `idctl resolve --verify-chain --trust-root
#     ROOT:400` (the root's self-issued HS_CERT named by its handle);
#   - a national-form SM2 chain made by `idctl cert issue` and `idctl sign`,
#     verified by the SDK's ChainBuilder and ChainVerifier, the records
#     resolved by the SDK from idnode, and once more from the records
#     `idctl resolve --json` read (which needs no SDK resolution).
# The records are made under the harness's prefix $PFX (TRUST_PREFIX to
# choose another the node is home for); the SM2 root is kept at PREFIX/0.0
# index 400, as the national root at 88.111.1/0.0.

TP=${TRUST_PREFIX:-${PFX:-88.111.1}}

# the value of KEY in the probe's make output $1
trust_get() { sed -n "s/^$2 //p" "$1" | head -1; }

# SDK-made chain for alg $1 (rsa|sm2) under root handle $2
trust_sdk_chain() {
  local alg=$1 root=$2 ent=$TP/trust-ent-$1 rec=$TP/trust-rec-$1 out=$T/trust-$1.out
  local name="SDK $( [ $alg = rsa ] && echo RS256 || echo SM2256 ) chain, idctl --verify-chain"
  if ! probe TrustProbe.java make "$alg" "$root" "$ent" "$rec" >"$out" 2>"$T/trust-$alg.err" ||
     ! grep -q '^SIG ' "$out"; then
    row "$name" "SDK -> idctl" fail "probe: $(grep -m1 RESULT "$out") $(tail -1 "$T/trust-$alg.err")"; return
  fi
  local specs=() s
  while read -r s; do specs+=("$s"); done < <(sed -n 's/^SPEC //p' "$out")
  if ! { C create "$root" "400:HS_CERT=$(trust_get "$out" ROOT_CERT)" &&
         C create "$ent" "400:HS_CERT=$(trust_get "$out" ENT_CERT)" &&
         C create "$rec" "${specs[@]}" "400:HS_SIGNATURE=$(trust_get "$out" SIG)"; } >"$T/trust-c.log" 2>&1; then
    row "$name" "SDK -> idctl" fail "storing: $(tail -1 "$T/trust-c.log")"; return
  fi
  local v rc
  v=$("$IDCTL" -s 127.0.0.1:$IPORT --tcp resolve "$rec" --verify-chain --trust-root "$root:400" 2>&1); rc=$?
  if [ $rc = 0 ] && grep -q "^VERIFIED: 2 verified, 0 withheld, 0 mismatched, 0 unsigned" <<<"$v"; then
    row "$name" "SDK -> idctl" pass "$(grep -m1 '^signature' <<<"$v"); root $root:400 self-issued; $(tail -1 <<<"$v")"
  else
    row "$name" "SDK -> idctl" fail "exit $rc: $(grep -E 'signature|VERIFIED|idctl' <<<"$v" | tr '\n' ' ')"
  fi
}

trust_sdk_chain rsa "$TP/trust-root-rsa"
trust_sdk_chain sm2 "$TP/0.0"

# idctl-made national-form SM2 chain, verified by the SDK
tr_root=$TP/trust-root-idctl tr_ent=$TP/trust-ent-idctl tr_rec=$TP/trust-rec-idctl
if openssl genpkey -algorithm SM2 -out "$T/tr-root.pem" 2>/dev/null &&
   openssl genpkey -algorithm SM2 -out "$T/tr-ent.pem" 2>/dev/null &&
   openssl pkey -in "$T/tr-root.pem" -pubout -out "$T/tr-root.pub" 2>/dev/null &&
   { C create "$tr_root" "1:URL=https://example.com/root" &&
     C cert issue --issuer "$tr_root:300" --key "$T/tr-root.pem" --subject "$tr_root:300" \
       --pubkey "$T/tr-root.pem" --perms everything --store "$tr_root:400" &&
     C create "$tr_ent" "1:URL=https://example.com/ent" &&
     C cert issue --issuer "$tr_root:300" --key "$T/tr-root.pem" --subject "$tr_ent:300" \
       --pubkey "$T/tr-ent.pem" --perms "handlesUnderThisPrefix:$TP" --store "$tr_ent:400" &&
     C create "$tr_rec" "1:URL=https://example.com/idctl" "2:EMAIL=qa@example.com" &&
     C sign "$tr_rec" --signer "$tr_ent:300" --key "$T/tr-ent.pem"; } >"$T/trust-c.log" 2>&1; then
  res=$(probe TrustProbe.java verify "$IPORT" "$tr_root" "$T/tr-root.pub" "$tr_rec" "$tr_ent" 2>"$T/trust-v.err" | grep '^RESULT')
  if [[ $res == "RESULT ok"* ]]; then
    row "idctl national SM2 chain, SDK verifies (SDK resolves)" "idctl -> SDK" pass "${res#RESULT ok }"
  else
    row "idctl national SM2 chain, SDK verifies (SDK resolves)" "idctl -> SDK" fail "${res:-$(grep -m1 -E 'Exception|Error' "$T/trust-v.err")}"
  fi
  mkdir -p "$T/trust-json"
  n=0
  for h in "$tr_rec" "$tr_root" "$tr_ent"; do C --json resolve "$h" >"$T/trust-json/$n.json"; n=$((n + 1)); done
  res=$(probe TrustProbe.java verify "json:$T/trust-json" "$tr_root" "$T/tr-root.pub" "$tr_rec" "$tr_ent" 2>"$T/trust-v.err" | grep '^RESULT')
  if [[ $res == "RESULT ok"* ]]; then
    row "idctl national SM2 chain, SDK verifies (records via idctl)" "idctl -> SDK" pass "${res#RESULT ok }"
  else
    row "idctl national SM2 chain, SDK verifies (records via idctl)" "idctl -> SDK" fail "${res:-$(grep -m1 -E 'Exception|Error' "$T/trust-v.err")}"
  fi
else
  row "idctl national SM2 chain, SDK verifies" "idctl -> SDK" fail "making the chain: $(tail -1 "$T/trust-c.log")"
fi
