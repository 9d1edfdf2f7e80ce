# Sourced by tests/interop/handle-net.sh after its core rows (shares T, CPORT,
# IPORT, IDNODE, IDCTL, C, row, SITEOK). idctl verify-sites with the CNRI
# server as the primary site of 20.500 and an idnode (port IPORT+40) as its
# mirror site, holding CNRI's records as imported from CNRI's own answers
# (values, ttls, permissions and timestamps kept). The core node's
# 0.NA/20.500 lists both sites while these rows run, then only CNRI again.
VP=$((IPORT + 40))
VPID=
if [ "${SITEOK:-0}" != 1 ] || ! busy $CPORT; then
  row "verify-sites (CNRI primary, idnode mirror)" "idctl -> CNRI, idnode" "not run" "no CNRI server or no core idnode"
else
  "$IDNODE" --data "$T/verify-data" --listen 127.0.0.1:$VP --control "$T/verify.sock" \
    --home 20.500 --rrl-rate 0 >"$T/verify.log" 2>&1 &
  VPID=$!
  for i in $(seq 1 300); do grep -q "idnode ready" "$T/verify.log" 2>/dev/null && break; sleep 0.1; done
  V() { "$IDCTL" -C "$T/verify.sock" "$@"; }
  : >"$T/verify.jsonl"
  for h in 20.500/test1 20.500/test2 20.500/test3; do
    "$IDCTL" -s 127.0.0.1:$CPORT --tcp --json resolve $h 2>>"$T/v.log" |
      python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' >>"$T/verify.jsonl"
  done
  IDS="20.500/test1 20.500/test2 20.500/test3"
  if V import "$T/verify.jsonl" >>"$T/v.log" 2>&1 &&
     C delegate 20.500 --to 127.0.0.1:$CPORT --mirror 127.0.0.1:$VP >>"$T/v.log" 2>&1; then
    # shellcheck disable=SC2086
    out=$("$IDCTL" -s 127.0.0.1:$IPORT verify-sites 20.500 $IDS 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q "site 1  primary 127.0.0.1:$CPORT" <<<"$out" &&
       grep -q "checked 3 identifiers at 2 sites .*3 agree, 0 differ, 0 with errors" <<<"$out"; then
      row "verify-sites 20.500: 3 records, CNRI vs idnode mirror" "idctl -> CNRI TCP, idnode TCP" pass \
        "exit 0; $(tail -1 <<<"$out")"
    else
      row "verify-sites 20.500: 3 records, CNRI vs idnode mirror" "idctl -> CNRI TCP, idnode TCP" fail "exit $rc: $out"
    fi
    V modify 20.500/test2 '3:URL=http://example.org/elsewhere' >>"$T/v.log" 2>&1
    V delete 20.500/test3 >>"$T/v.log" 2>&1
    # shellcheck disable=SC2086
    out=$("$IDCTL" -s 127.0.0.1:$IPORT --json verify-sites 20.500 $IDS 2>&1); rc=$?
    got=$(python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
for it in r["items"]:
    for d in it["differences"]:
        print(it["handle"], d["site"], d["kind"], d.get("index", "-"), ",".join(d.get("fields", [])))
' <<<"$out" 2>&1 | tr '\n' ';')
    if [ $rc = 1 ] && [[ $got == "20.500/test2 2 value-differs 3 data"*";20.500/test3 2 missing - ;" ]]; then
      row "verify-sites 20.500 after a modify and a delete on the mirror" "idctl -> CNRI TCP, idnode TCP" pass \
        "exit 1; $got"
    else
      row "verify-sites 20.500 after a modify and a delete on the mirror" "idctl -> CNRI TCP, idnode TCP" fail \
        "exit $rc: ${got:-$out}"
    fi
  else
    row "verify-sites setup (import CNRI's records, delegate)" "-" fail "$(tail -3 "$T/v.log")"
  fi
  C delegate 20.500 --to 127.0.0.1:$CPORT >/dev/null 2>&1
  kill "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
fi
