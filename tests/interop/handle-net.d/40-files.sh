# Rows of the files area (sourced by handle-net.sh after its core rows):
# one HANDLE.NET batch file (CREATE, ADD, MODIFY, REMOVE, DELETE) run by
# CNRI's GenericBatch against the CNRI server and by idctl batch against
# idnode, and the records compared as anonymous clients see them over the
# network (values, ttl, permissions, the HS_ADMIN permission bits).

gb_file() {  # prefix, admin index, key file
  cat <<EOF
AUTHENTICATE PUBKEY:$2:0.NA/$1
$3

CREATE $1/files-gb1
100 HS_ADMIN 86400 1110 ADMIN $2:110011111111:0.NA/$1
1 URL 86400 1110 UTF8 http://example.org/files-gb1
2 EMAIL 86400 1110 UTF8 gb1@example.org
4 DESC 86400 1110 UTF8 text with spaces, and a comma

ADD $1/files-gb1
3 DESC 3600 1100 UTF8 admin-only value added by ADD
5 NOTE 600 1110 UTF8 public value added by ADD

MODIFY $1/files-gb1
1 URL 86400 1110 UTF8 http://example.org/files-gb1/modified

REMOVE 2:$1/files-gb1

CREATE $1/files-gb2
100 HS_ADMIN 86400 1110 ADMIN $2:111111111111:0.NA/$1
1 URL 86400 1110 UTF8 http://example.org/files-gb2

DELETE $1/files-gb2
EOF
}

# index type format value ttl permissions of each value, sorted, with the
# prefix and the admin index made neutral
gb_norm() {  # prefix, admin index (JSON on stdin)
  python3 -c '
import json, sys
p, ix = sys.argv[1], int(sys.argv[2])
out = []
for v in json.load(sys.stdin).get("values", []):
    d = v["data"]
    val = d["value"]
    if d.get("format") == "admin":
        val = "%s:%s:%s" % ("IX" if val["index"] == ix else val["index"],
                            val["permissions"], val["handle"].replace(p, "P"))
    out.append("%s %s %s %s %s %s" % (v["index"], v["type"], d.get("format"),
               val, v["ttl"], v["permissions"]))
print("; ".join(sorted(out)))' "$1" "$2"
}

if [ "${IDOK:-0}" = 1 ] && [ -n "$CP" ] && [ -f "$HDL_SVR/admpriv.bin" ] && busy "$CPORT"; then
  # CNRI's GenericBatch against the CNRI server (its own .bin key)
  gb_file 20.500 300 "$HDL_SVR/admpriv.bin" >"$T/gb-cnri.txt"
  out=$(cnri "$HDL_HOME" net.handle.apps.batch.GenericBatch "$T/gb-cnri.txt" "$T/gb-cnri.log")
  ok=$(grep -c '==>SUCCESS' "$T/gb-cnri.log" 2>/dev/null)
  if [ "${ok:-0}" = 6 ]; then
    row "GenericBatch file: CREATE, ADD, MODIFY, REMOVE, CREATE, DELETE" "CNRI GenericBatch -> CNRI" pass "6/6 SUCCESS"
  else
    row "GenericBatch file: CREATE, ADD, MODIFY, REMOVE, CREATE, DELETE" "CNRI GenericBatch -> CNRI" fail "${ok:-0}/6 SUCCESS: $(tail -3 "$T/gb-cnri.log" 2>/dev/null) $out"
  fi
  # the same file for idctl batch against idnode (a PEM key: idctl does not
  # read CNRI's .bin keys yet)
  "$IDCTL" keygen --out "$T/gb-admin.pem" >"$T/gb-keygen.log" 2>&1
  pub=$(od -An -tx1 -v "$T/gb-admin.pem.pub" | tr -d ' \n')
  if C add 0.NA/20.501 "320,perms=e:HS_PUBKEY=hex:$pub" '120:HS_ADMIN=0.NA/20.501@320' >"$T/c.log" 2>&1; then
    gb_file 20.501 320 "$T/gb-admin.pem" >"$T/gb-idn.txt"
    out=$("$IDCTL" -s 127.0.0.1:$IPORT batch "$T/gb-idn.txt" 2>&1); rc=$?
    if [ $rc = 0 ] && grep -q 'batch: 6 requests in session' <<<"$out"; then
      row "GenericBatch file: CREATE, ADD, MODIFY, REMOVE, CREATE, DELETE" "idctl batch -> idnode" pass "exit 0; $(tail -1 <<<"$out")"
    else
      row "GenericBatch file: CREATE, ADD, MODIFY, REMOVE, CREATE, DELETE" "idctl batch -> idnode" fail "exit $rc: $out"
    fi
    a=$("$IDCTL" -s 127.0.0.1:$CPORT --json resolve 20.500/files-gb1 2>&1 | gb_norm 20.500 300)
    b=$("$IDCTL" -s 127.0.0.1:$IPORT --json resolve 20.501/files-gb1 2>&1 | gb_norm 20.501 320)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then
      row "files-gb1 after the batch, as anonymous clients see it" "CNRI vs idnode" pass "equal: $a"
    else
      row "files-gb1 after the batch, as anonymous clients see it" "CNRI vs idnode" fail "CNRI: $a / idnode: $b"
    fi
    ga=$("$IDCTL" -s 127.0.0.1:$CPORT resolve 20.500/files-gb2 2>&1)
    gi=$("$IDCTL" -s 127.0.0.1:$IPORT resolve 20.501/files-gb2 2>&1)
    if grep -q 'rc 100' <<<"$ga" && grep -q 'rc 100' <<<"$gi"; then
      row "files-gb2 deleted by the batch" "CNRI vs idnode" pass "rc 100 on both"
    else
      row "files-gb2 deleted by the batch" "CNRI vs idnode" fail "CNRI: $ga / idnode: $gi"
    fi
  else
    row "GenericBatch file" "idctl batch -> idnode" "not run" "admin key not stored: $(cat "$T/c.log")"
  fi
else
  row "GenericBatch file" "CNRI and idnode" "not run" "idnode, CNRI jars, admin key or CNRI server missing"
fi
