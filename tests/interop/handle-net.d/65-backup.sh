# Sourced by tests/interop/handle-net.sh after its core rows (shares T,
# IPORT, CPORT, IDNODE, IDCTL, HDL_SVR, HDL_HOME, CP, cnri, row, busy).
# Op 1003 BACKUP_SERVER as HANDLE.NET's hdl-docheckpoint (class
# DoCheckpoint) sends it: a session (op 400), the request in it, the
# server's challenge answered by a backup admin (HANDLE.NET's
# backup_admins; its server admins are refused, rc 400); the server writes
# a backup. Against the CNRI server first (what the reference does), then
# an idnode (port IPORT+9) with --backup-admin 0.NA/20.500:300 and
# --server-admin 0.NA/20.500:301, as the CNRI server's lists are, through
# a relay (IPORT+8) that keeps the bytes in $T/ckpt-*.bin. The idnode signs
# with the CNRI server's own key (privkey.bin), so that the site info the
# tool is given (the CNRI server's, ports changed) names its key.
BP=$((IPORT + 9))
RP=$((IPORT + 8))
relay() {  # listen port, destination port, capture prefix
  python3 - "$1" "$2" "$3" <<'PY' &
import socket, sys, threading
lp, dp, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', lp)); s.listen(5)
def pump(a, b, f):
    while True:
        d = a.recv(65536)
        if not d: break
        f.write(d); f.flush(); b.sendall(d)
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
n = 0
while True:
    c, _ = s.accept(); n += 1
    u = socket.create_connection(('127.0.0.1', dp))
    for src, dst, way in ((c, u, 'c2s'), (u, c, 's2c')):
        f = open('%s.%d.%s.bin' % (out, n, way), 'wb')
        threading.Thread(target=pump, args=(src, dst, f), daemon=True).start()
PY
  RLY=$!
  repl_wait 5 busy "$1"
}
site_at() {  # siteinfo.json of the CNRI server, port, output .bin: TCP only
  python3 - "$HDL_SVR/siteinfo.json" "$2.json" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s['servers'][0]['interfaces'] = [{'query': True, 'admin': True, 'protocol': 'TCP', 'port': int(sys.argv[3])}]
json.dump(s, open(sys.argv[2], 'w'))
PY
  cnri "$HDL_HOME" net.handle.apps.simple.SiteInfoConverter "$2.json" -o "$2" >/dev/null
}
ckpt() {  # site .bin, admin index, key file
  cnri "$HDL_HOME" net.handle.apps.tools.DoCheckpoint "$1" 0.NA/20.500 "$2" PRIVATE "$3"
}
if [ -z "$CP" ] || ! busy $CPORT || [ ! -f "$HDL_SVR/admpriv.bin" ]; then
  row "BACKUP_SERVER (op 1003)" "CNRI -> idnode" "not run" "no CNRI server or keys"
else
  # the reference: CNRI's own server, as its backup admin 300, then as
  # 301, a server admin only
  dumps() { ls -l --time-style=+%s.%N "$HDL_SVR"/*.dump 2>/dev/null | md5sum; }
  d0=$(dumps)
  relay $RP $CPORT "$T/ckpt-cnri"
  site_at $RP "$T/ckpt-cnri-site.bin"
  out=$(ckpt "$T/ckpt-cnri-site.bin" 300 "$HDL_SVR/admpriv.bin" 2>&1)
  if [ "$d0" != "$(dumps)" ] && ! grep -qiE 'error|exception' <<<"$out"; then
    row "hdl-docheckpoint (op 1003) to the CNRI server, DSA backup admin 300" "CNRI -> CNRI (reference)" pass "DoCheckpoint without error; the server rewrote its database dumps ($(cd "$HDL_SVR" && ls *.dump | tr '\n' ' '))"
  else row "hdl-docheckpoint (op 1003) to the CNRI server, DSA backup admin 300" "CNRI -> CNRI (reference)" fail "$out"; fi
  out=$(ckpt "$T/ckpt-cnri-site.bin" 301 "$HDL_SVR/admpriv_rsa.bin" 2>&1)
  if grep -q 'Error(400)' <<<"$out"; then
    row "hdl-docheckpoint (op 1003) to the CNRI server, RSA admin 301 (server admin, not backup admin)" "CNRI -> CNRI (reference)" pass "refused: $(grep -m1 'Error(' <<<"$out")"
  else row "hdl-docheckpoint (op 1003) to the CNRI server, RSA admin 301 (server admin, not backup admin)" "CNRI -> CNRI (reference)" fail "$out"; fi
  kill $RLY 2>/dev/null; wait $RLY 2>/dev/null

  hex() { od -An -tx1 -v "$1" | tr -d ' \n'; }
  mkdir -p "$T/bk"
  "$IDNODE" --data "$T/bk/data" --listen 127.0.0.1:$BP --control "$T/bk.sock" \
    --home 20.500 --backup-admin 0.NA/20.500:300 --server-admin 0.NA/20.500:301 --backup-keep 2 \
    --server-key "$HDL_SVR/privkey.bin" \
    --rrl-rate 0 >"$T/bk.log" 2>&1 &
  BPID=$!
  repl_wait 30 grep -q "idnode ready" "$T/bk.log"
  "$IDCTL" -C "$T/bk.sock" create 0.NA/20.500 '100:HS_ADMIN=0.NA/20.500@300' \
    "300:HS_PUBKEY=hex:$(hex "$HDL_SVR/admpub.bin")" \
    "301:HS_PUBKEY=hex:$(hex "$HDL_SVR/admpub_rsa.bin")" >"$T/bk-setup.log" 2>&1
  "$IDCTL" -C "$T/bk.sock" create 20.500/bk1 1:URL=https://example.org/bk1 >>"$T/bk-setup.log" 2>&1
  relay $RP $BP "$T/ckpt-idnode"
  site_at $RP "$T/ckpt-idnode-site.bin"
  out=$(ckpt "$T/ckpt-idnode-site.bin" 300 "$HDL_SVR/admpriv.bin" 2>&1)
  copy=$(ls -d "$T"/bk/data/backups/idnode-* 2>/dev/null | tail -1)
  chk=$([ -n "$copy" ] && "$IDCTL" check --data "$copy" 2>&1)
  if [ -n "$copy" ] && grep -q ': clean' <<<"$chk" && ! grep -qiE 'error|exception' <<<"$out"; then
    row "hdl-docheckpoint (op 1003) to idnode, DSA backup admin 300 (session)" "CNRI -> idnode" pass "DoCheckpoint without error; $(basename "$copy"): $chk"
  else row "hdl-docheckpoint (op 1003) to idnode, DSA backup admin 300 (session)" "CNRI -> idnode" fail "${out:-no copy} $chk"; fi
  out=$(ckpt "$T/ckpt-idnode-site.bin" 301 "$HDL_SVR/admpriv_rsa.bin" 2>&1)
  n=$(ls -d "$T"/bk/data/backups/idnode-* 2>/dev/null | wc -l)
  if grep -q '401\|INSUFFICIENT' <<<"$out" && [ "$n" = 1 ]; then
    row "hdl-docheckpoint (op 1003) to idnode, RSA admin 301 (server admin, not backup admin)" "CNRI -> idnode" pass "refused: $(grep -m1 -iE '401|insufficient' <<<"$out"); no copy made"
  else row "hdl-docheckpoint (op 1003) to idnode, RSA admin 301 (server admin, not backup admin)" "CNRI -> idnode" fail "$out; $n copies"; fi
  for _ in 1 2; do ckpt "$T/ckpt-idnode-site.bin" 300 "$HDL_SVR/admpriv.bin" >/dev/null 2>&1; done
  kill $RLY 2>/dev/null; wait $RLY 2>/dev/null
  n=$(ls -d "$T"/bk/data/backups/idnode-* 2>/dev/null | wc -l)
  if [ "$n" = 2 ]; then
    row "three checkpoints with --backup-keep 2" "CNRI -> idnode" pass "2 dated copies kept: $(cd "$T/bk/data/backups" && ls | tr '\n' ' ')"
  else row "three checkpoints with --backup-keep 2" "CNRI -> idnode" fail "$n copies: $(ls "$T/bk/data/backups")"; fi
  kill $BPID 2>/dev/null; wait $BPID 2>/dev/null
fi
