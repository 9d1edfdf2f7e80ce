#!/bin/bash
# On-demand interoperability check between idnode and the national IDIS Java
# SDK (teleinfo-dev/id-pointer-sdk), both on loopback. Not run by CI (needs
# Java and the SDK built by ../shared/interop/idis-sdk/build.sh); see
# tests/interop/README.md and docs/national.md.
#
#   tests/interop/idis-sdk.sh
#
# Environment:
#   OUT          the built SDK (sdk.jar, cp.txt), default /tmp/idis-sdk
#   IDNODE_PORT  idnode's loopback port (TCP+UDP), default 33100
#   IDN_BUILD    the build directory holding idnode and idctl, default build
#                (build/san for the sanitizer build)
#   KEEP=1       keep the temp dir (logs, keys) after the run
# The probes (tests/interop/idis/*.java) are compiled against the SDK and
# name 127.0.0.1 explicitly: the SDK's built-in configuration names the
# national public servers, and nothing may leave the machine (checked at
# the end with ss).
# Further rows come from tests/interop/idis-sdk.d/*.sh, sourced in name
# order after the rows here, with: row, probe, C, $IDNODE, $IDCTL, $T,
# $IPORT, $SDKCP (see below).
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$ROOT/tests/interop
IDNODE=$ROOT/${IDN_BUILD:-build}/idnode
IDCTL=$ROOT/${IDN_BUILD:-build}/idctl
SDK=${OUT:-/tmp/idis-sdk}
IPORT=${IDNODE_PORT:-33100}
PFX=88.118.8
ADM=0.NA/$PFX

skip() { echo "SKIP: $*"; exit 0; }
command -v java >/dev/null 2>&1 && command -v javac >/dev/null 2>&1 ||
  skip "java or javac not found (the SDK needs a JDK)"
[ -f "$SDK/cp.txt" ] && [ -f "$SDK/sdk.jar" ] ||
  skip "the IDIS SDK is not built in $SDK (run ../shared/interop/idis-sdk/build.sh, or set OUT)"
[ -x "$IDNODE" ] && [ -x "$IDCTL" ] || skip "build/idnode and build/idctl not built (run make)"
busy() { ss -H -ltn "sport = :$1" 2>/dev/null | grep -q . || ss -H -lun "sport = :$1" 2>/dev/null | grep -q .; }
busy "$IPORT" && skip "port $IPORT on this host is in use (set IDNODE_PORT)"

T=$(mktemp -d /tmp/idn-idis.XXXXXX)
SDKCP=$(cat "$SDK/cp.txt")
IDPID=
SSPID=
cleanup() {
  [ -n "$SSPID" ] && kill "$SSPID" 2>/dev/null && wait "$SSPID" 2>/dev/null
  [ -n "$IDPID" ] && kill "$IDPID" 2>/dev/null && wait "$IDPID" 2>/dev/null
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
# probe NAME.java ARGS...: compiles tests/interop/idis/NAME.java (or
# idis-sdk.d/NAME.java) against the SDK once, runs it, prints its stdout
# (the SDK's own traces go to $T/probe.log)
probe() {
  local name=${1%.java}; shift
  local src=$HERE/idis/$name.java
  [ -f "$src" ] || src=$HERE/idis-sdk.d/$name.java
  mkdir -p "$T/cls"
  if [ ! -f "$T/cls/$name.class" ]; then
    javac -nowarn -encoding UTF-8 -d "$T/cls" -cp "$SDKCP" \
      -sourcepath "$HERE/idis:$HERE/idis-sdk.d" "$src" >>"$T/javac.log" 2>&1 ||
      { echo "probe $name: javac failed (see $T/javac.log)"; return 1; }
  fi
  timeout 90 java -cp "$SDKCP:$T/cls" "$name" "$@" 2>>"$T/probe.log"
}
C() { "$IDCTL" -C "$T/ctl.sock" "$@"; }
has() { grep -qF -- "$2" <<<"$1"; }  # text needle

# the sockets of the SDK's probes and idnode, sampled while they run
(while :; do ss -Htunp 2>/dev/null | grep -E 'java|idnode|idctl'; sleep 0.2; done) >"$T/ss.log" &
SSPID=$!

# ---- the node: one prefix, admins with RSA and SM2 keys
"$IDNODE" --data "$T/data" --listen 127.0.0.1:$IPORT --control "$T/ctl.sock" \
  --home $PFX --rrl-rate 0 >"$T/idnode.log" 2>&1 &
IDPID=$!
for i in $(seq 1 50); do [ -S "$T/ctl.sock" ] && break; sleep 0.1; done
hexof() { sed -n 's/.*HS_PUBKEY=hex://p' "$1" | tr -d ' \n'; }
SETUP=$T/setup.log
if "$IDCTL" keygen --out "$T/rsa.pem" >"$T/rsa.val" 2>>"$SETUP" &&
   "$IDCTL" keygen --out "$T/rsa2.pem" >"$T/rsa2.val" 2>>"$SETUP" &&
   "$IDCTL" keygen --type sm2 --form national --out "$T/sm2n.pem" >"$T/sm2n.val" 2>>"$SETUP" &&
   probe Keys sm2 "$T/sdksm2.pem" >"$T/sdksm2.hex" 2>>"$SETUP" && [ -s "$T/sdksm2.hex" ] &&
   C create $ADM "300:HS_PUBKEY=hex:$(hexof "$T/rsa.val")" \
     "301:HS_PUBKEY=hex:$(cat "$T/sdksm2.hex")" "302:HS_PUBKEY=hex:$(hexof "$T/sm2n.val")" \
     "303:HS_PUBKEY=hex:$(hexof "$T/rsa2.val")" \
     "100:HS_ADMIN=$ADM@300" "101:HS_ADMIN=$ADM@301" "102:HS_ADMIN=$ADM@302" >>"$SETUP" 2>&1 &&
   C create $PFX/a '1:URL=https://example.com/a' '2:EMAIL=a@example.com' \
     '3,perms=c:SECRET=admins-only' "100:HS_ADMIN=$ADM@300" >>"$SETUP" 2>&1; then
  row "idnode setup" "-" pass "$PFX homed; $ADM: RSA 300, SDK SM2 301 (PEM SPKI), idctl national SM2 302, RSA 303 without rights"
  OK=1
else
  row "idnode setup" "-" fail "$(tail -3 "$SETUP")"; OK=0
fi

if [ $OK = 1 ]; then
  # ---- resolution
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a)
  if has "$out" "rc 1" && has "$out" "1:URL=https://example.com/a" && has "$out" "2:EMAIL=a@example.com" &&
     ! has "$out" SECRET; then
    row "resolve $PFX/a, all values" "SDK -> idnode" pass "rc 1; URL, EMAIL, HS_ADMIN; admins-only SECRET withheld"
  else row "resolve $PFX/a, all values" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --types EMAIL)
  if [ "$out" = $'rc 1\n2:EMAIL=a@example.com' ]; then
    row "resolve by type EMAIL" "SDK -> idnode" pass "rc 1; only 2:EMAIL"
  else row "resolve by type EMAIL" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --indexes 1,100)
  if [ "$(grep -c '^[0-9]*:' <<<"$out")" = 2 ] && has "$out" "1:URL=" && has "$out" "100:HS_ADMIN="; then
    row "resolve by index 1,100" "SDK -> idnode" pass "rc 1; values 1 and 100 only"
  else row "resolve by index 1,100" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/nope)
  if has "$out" "rc 100"; then
    row "resolve $PFX/nope (absent)" "SDK -> idnode" pass "${out%% response*}: HANDLE NOT FOUND"
  else row "resolve $PFX/nope (absent)" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $ADM --types HS_PUBKEY,HS_ADMIN)
  if has "$out" "rc 1" && [ "$(grep -c '^30[0-3]:HS_PUBKEY=' <<<"$out")" = 4 ] &&
     [ "$(grep -c ':HS_ADMIN=' <<<"$out")" = 3 ]; then
    row "resolve prefix handle $ADM" "SDK -> idnode" pass "rc 1; 4 HS_PUBKEY, 3 HS_ADMIN"
  else row "resolve prefix handle $ADM" "SDK -> idnode" fail "$out"; fi

  # ---- resolution with the SDK's token (E1)
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --token $ADM 300 "$T/rsa.pem")
  if has "$out" "rc 1" && has "$out" "3:SECRET=admins-only"; then
    row "resolve with RS256 token of admin 300" "SDK -> idnode" pass "rc 1; admins-only SECRET shown to the token's admin"
  else row "resolve with RS256 token of admin 300" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --token $ADM 303 "$T/rsa2.pem")
  if has "$out" "rc 1" && ! has "$out" SECRET; then
    row "resolve with token of admin 303 (not a reader)" "SDK -> idnode" pass "rc 1; SECRET withheld"
  else row "resolve with token of admin 303 (not a reader)" "SDK -> idnode" fail "$out"; fi
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --token $ADM 300 "$T/rsa2.pem")
  if has "$out" "rc 403"; then
    row "resolve with token signed by another key" "SDK -> idnode" pass "rc 403 (token signature does not verify)"
  else row "resolve with token signed by another key" "SDK -> idnode" fail "$out"; fi
  # in a session the request's own public-only flag (which the SDK always
  # sets) is honoured, as for every Handle client
  out=$(probe Resolve 127.0.0.1 $IPORT $PFX/a --login $ADM 300 "$T/rsa.pem")
  if has "$out" "rc 1" && has "$out" "1:URL=https://example.com/a" && ! has "$out" SECRET &&
     grep -q "login: session .* for $ADM:300" "$T/idnode.log"; then
    row "resolve in a login session (admin 300)" "SDK -> idnode" pass "op 2001 then rc 1; public-only as the SDK flags it: SECRET withheld"
  else row "resolve in a login session (admin 300)" "SDK -> idnode" fail "$out"; fi

  # ---- key login (E2-E4) and writes in the session, each checked with idctl
  login_row() {  # index key label
    local id=$PFX/login-$1
    out=$(probe Admin 127.0.0.1 $IPORT $ADM "$1" "$2" create $id "1:URL=https://example.com/$1")
    chk=$(C resolve $id 2>&1)
    if [ "$out" = ok ] && has "$chk" "https://example.com/$1" && grep -q "login: session .* for $ADM:$1" "$T/idnode.log"; then
      row "login $3, create $id" "SDK -> idnode" pass "op 2001 challenged, answered, rc 1; create in session stored (idctl)"
    else row "login $3, create $id" "SDK -> idnode" fail "$out; $chk"; fi
  }
  login_row 300 "$T/rsa.pem" "RSA (admin 300)"
  login_row 301 "$T/sdksm2.pem" "SM2, SDK-made key (301)"
  login_row 302 "$T/sm2n.pem" "SM2, idctl --form national key (302)"

  A() { probe Admin 127.0.0.1 $IPORT $ADM 301 "$T/sdksm2.pem" "$@"; }
  W=$PFX/w
  out=$(A create $W '1:URL=https://example.com/w' "100:HS_ADMIN=$ADM@301"); chk=$(C resolve $W 2>&1)
  if [ "$out" = ok ] && has "$chk" "https://example.com/w" && has "$chk" "$ADM@301"; then
    row "create $W" "SDK -> idnode" pass "idctl: 1 URL, 100 HS_ADMIN $ADM@301"
  else row "create $W" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(A add $W '2:EMAIL=w@example.com'); chk=$(C resolve $W 2>&1)
  if [ "$out" = ok ] && has "$chk" "w@example.com"; then
    row "add value 2 EMAIL" "SDK -> idnode" pass "idctl: 2 EMAIL w@example.com"
  else row "add value 2 EMAIL" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(A modify $W '1:URL=https://example.com/w2'); chk=$(C resolve $W 2>&1)
  if [ "$out" = ok ] && has "$chk" "https://example.com/w2"; then
    row "modify value 1 URL" "SDK -> idnode" pass "idctl: 1 URL https://example.com/w2"
  else row "modify value 1 URL" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(A remove $W 2); chk=$(C resolve $W 2>&1)
  if [ "$out" = ok ] && ! has "$chk" "EMAIL" && has "$chk" "(2 values)"; then
    row "remove value 2" "SDK -> idnode" pass "idctl: EMAIL gone, 2 values left"
  else row "remove value 2" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(A delete $W); chk=$(C resolve $W 2>&1)
  if [ "$out" = ok ] && has "$chk" "rc 100"; then
    row "delete $W" "SDK -> idnode" pass "idctl: not found (rc 100)"
  else row "delete $W" "SDK -> idnode" fail "$out; $chk"; fi

  # ---- refusals
  out=$(probe Admin 127.0.0.1 $IPORT $ADM 303 "$T/rsa2.pem" create $PFX/x401 '1:URL=https://example.com/x')
  chk=$(C resolve $PFX/x401 2>&1)
  if has "$out" "rc 401" && has "$chk" "rc 100"; then
    row "create by admin 303 without HS_ADMIN right" "SDK -> idnode" pass "login ok, create rc 401; idctl: not stored (rc 100)"
  else row "create by admin 303 without HS_ADMIN right" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(probe Admin 127.0.0.1 $IPORT $ADM 300 "$T/rsa2.pem" create $PFX/xkey '1:URL=https://example.com/x')
  chk=$(C resolve $PFX/xkey 2>&1)
  if [[ $out == rc* ]] && has "$chk" "rc 100" && grep -q "authentication failed for $ADM:300" "$T/idnode.log"; then
    row "login as 300 with another key" "SDK -> idnode" pass "answer refused (403), SDK: ${out:0:40}; not stored"
  else row "login as 300 with another key" "SDK -> idnode" fail "$out; $chk"; fi
  out=$(probe Reuse 127.0.0.1 $IPORT $ADM 300 "$T/rsa.pem" $PFX/reuse 10001)
  chk=$(C resolve $PFX/reuse 2>&1); own=$(C resolve $PFX/reuse-own 2>&1)
  if has "$out" "login rc 1" && has "$out" "other-connection rc 500" && has "$out" "same-connection rc 1" &&
     has "$chk" "rc 100" && has "$own" "https://example.com/reuse"; then
    row "session id 10001 reused on another connection" "SDK bytes -> idnode" pass "create there rc 500, not stored; on the login's connection rc 1"
  else row "session id 10001 reused on another connection" "SDK bytes -> idnode" fail "$out; $chk"; fi

  # ---- E4: the SDK reads idnode's national-form SM2 key
  out=$(probe Keys read "$(hexof "$T/sm2n.val")")
  want=$(openssl pkey -in "$T/sm2n.pem" -pubout 2>/dev/null | grep -v -- ----- | tr -d '\n')
  if [[ $out == EC* ]] && has "$out" "$want"; then
    row "SDK reads idctl keygen --form national HS_PUBKEY" "idnode -> SDK" pass "EC key, same SubjectPublicKeyInfo"
  else row "SDK reads idctl keygen --form national HS_PUBKEY" "idnode -> SDK" fail "$out"; fi
fi

# ---- rows of other areas (trust tokens, ...)
for part in "$HERE"/idis-sdk.d/*.sh; do
  [ -f "$part" ] || continue
  # shellcheck source=/dev/null
  . "$part"
done

# ---- nothing left loopback: every peer seen while the probes ran
kill "$SSPID" 2>/dev/null; wait "$SSPID" 2>/dev/null; SSPID=
off=$( (cat "$T/ss.log"; ss -Htunp 2>/dev/null | grep -E 'java|idnode|idctl') | awk '{print $5, $6}' |
      grep -vE '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]|\*|0\.0\.0\.0):' | sort -u)
seen=$(awk '{print $6}' "$T/ss.log" | grep -c '^127\.0\.0\.1:')
if [ -z "$off" ]; then row "no traffic off loopback (ss -tunp)" "-" pass "$seen socket samples, all peers 127.0.0.1"
else row "no traffic off loopback (ss -tunp)" "-" fail "$off"; fi

echo
echo "| flow | direction | result | detail |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "$PASS passed, $FAIL failed"
[ $FAIL = 0 ]
