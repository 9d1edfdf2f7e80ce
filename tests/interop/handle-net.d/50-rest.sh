# Sourced by tests/interop/handle-net.sh after its core rows (shares T, IH,
# IPORT, IDNODE, IDCTL, C, jy, row, SITEOK). The handle.net REST API as the
# HANDLE.NET 9 manual documents it (docs/http-api.md), on a second idnode
# on loopback (ports IPORT+30 Handle, IPORT+31 HTTP), delegated from the core
# node's 0.NA: what an admin writes over REST (Basic index%3Ahandle with
# its HS_SECKEY, mintNewSuffix), CNRI's own resolver reads back over the
# Handle protocol.
RP=$((IPORT + 30))
RH=$((IPORT + 31))
RPID=
if ! command -v curl >/dev/null 2>&1; then
  row "REST (handle.net manual)" "REST -> idnode -> CNRI" "not run" "curl not found"
elif [ "${SITEOK:-0}" != 1 ]; then
  row "REST (handle.net manual)" "REST -> idnode -> CNRI" "not run" "no idnode root_info for the CNRI clients"
else
  "$IDNODE" --data "$T/rest-data" --listen 127.0.0.1:$RP --control "$T/rest.sock" \
    --home 20.502 --http 127.0.0.1:$RH --rrl-rate 0 >"$T/rest.log" 2>&1 &
  RPID=$!
  for i in $(seq 1 300); do grep -q "idnode ready" "$T/rest.log" 2>/dev/null && break; sleep 0.1; done
  R() { "$IDCTL" -C "$T/rest.sock" "$@"; }
  RA="300%3A20.502/admin:interop-rest-secret"
  if R create 0.NA/20.502 '100:HS_ADMIN=20.502/admin@300' >"$T/r.log" 2>&1 &&
     R create 20.502/admin '300,perms=c:HS_SECKEY=interop-rest-secret' >>"$T/r.log" 2>&1 &&
     C delegate 20.502 --to 127.0.0.1:$RP >>"$T/r.log" 2>&1; then
    # Basic PUT of the manual's record form, then CNRI resolves it
    out=$(curl -s -m 10 -X PUT -u "$RA" -H 'Content-Type: application/json' \
      -d '{"values":[{"index":1,"type":"URL","data":{"format":"string","value":"https://example.org/rest1"}},{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":{"handle":"20.502/admin","index":300,"permissions":"011111110011"}}}]}' \
      -w ' %{http_code}' "http://127.0.0.1:$RH/api/handles/20.502/rest1")
    res=$(jy "$IH" IX_MODE=resolve IX_ID=20.502/rest1)
    if [[ $out == *' 201' ]] && [[ $res == "RESULT ok"* ]] && [[ $res == *rest1* ]]; then
      row "PUT 20.502/rest1 (Basic 300%3A20.502/admin), CNRI resolves it" "REST -> idnode; CNRI -> idnode" pass "HTTP 201; ${res#RESULT ok }"
    else
      row "PUT 20.502/rest1 (Basic 300%3A20.502/admin), CNRI resolves it" "REST -> idnode; CNRI -> idnode" fail "PUT: $out; CNRI: ${res:-no RESULT line}"
    fi
    # mintNewSuffix: the server's UUID suffix, resolved by CNRI
    out=$(curl -s -m 10 -X PUT -u "$RA" -d '[{"index":1,"type":"URL","data":"https://example.org/minted"}]' \
      "http://127.0.0.1:$RH/api/handles/20.502/?mintNewSuffix=true")
    h=$(sed -n 's/.*"handle":"\([^"]*\)".*/\1/p' <<<"$out")
    res=$(jy "$IH" IX_MODE=resolve IX_ID="${h:-20.502/none}")
    if [[ $h == 20.502/????????-????-4???-????-???????????? ]] && [[ $res == "RESULT ok"* ]] && [[ $res == *minted* ]]; then
      row "PUT 20.502/?mintNewSuffix=true, CNRI resolves the minted handle" "REST -> idnode; CNRI -> idnode" pass "$h: ${res#RESULT ok }"
    else
      row "PUT 20.502/?mintNewSuffix=true, CNRI resolves the minted handle" "REST -> idnode; CNRI -> idnode" fail "PUT: $out; CNRI: ${res:-no RESULT line}"
    fi
    # a wrong secret writes nothing, and CNRI finds nothing
    out=$(curl -s -m 10 -X PUT -u "300%3A20.502/admin:wrong" -d '[{"index":1,"type":"URL","data":"https://x"}]' \
      -w ' %{http_code}' "http://127.0.0.1:$RH/api/handles/20.502/rest2")
    res=$(jy "$IH" IX_MODE=resolve IX_ID=20.502/rest2)
    if [[ $out == *' 401' ]] && [[ $res == "RESULT fail"* ]] && [[ $res == *100* ]]; then
      row "PUT 20.502/rest2 with a wrong secret" "REST -> idnode; CNRI -> idnode" pass "HTTP 401; CNRI: ${res#RESULT fail }"
    else
      row "PUT 20.502/rest2 with a wrong secret" "REST -> idnode; CNRI -> idnode" fail "PUT: $out; CNRI: ${res:-no RESULT line}"
    fi
  else
    row "REST idnode setup" "-" fail "$(cat "$T/r.log")"
  fi
  kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
fi
