#!/usr/bin/env python3
"""Replication lag under a steady rate of creates (run by
bench/run-replication.sh; not a test).

Feeds `idctl -C PRIMARY_SOCK import -` JSON Lines at RATE records/s for
DURATION seconds (identifiers PREFIX/lag-TAG-N, one URL value each, the
import cutting a batch every BATCH records). Every SAMPLE-th identifier is
then resolved over UDP on the primary and on the mirror, every PROBE_MS,
from the moment its line is written until both answer it:

  lag = first answer on the mirror - first answer on the primary

(the same prober, the same polling on both sides, so the figure is commit
on the primary to visibility on the mirror, to within PROBE_MS). Meanwhile
a thread reads the mirror's own figure, lag_ms of `idctl replication
status --json` (the source's commit time of the last applied change to
its commit on the mirror), every 100 ms. Prints one JSON object.

usage: repl_lag.py IDCTL PRIMARY_SOCK PRIMARY_UDP MIRROR_SOCK MIRROR_UDP
                   PREFIX TAG RATE DURATION SAMPLE [PROBE_MS] [BATCH]
"""
import json
import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time


def resolve_msg(ident, req_id):
    """A Handle resolution request (envelope, header, body, empty
    credential; RFC 3652)."""
    h = ident.encode()
    body = struct.pack(">I", len(h)) + h + struct.pack(">II", 0, 0)
    hdr = struct.pack(">IIIHBBII", 1, 0, 0, 0, 0, 0,
                      int(time.time()) + 3600, len(body))
    msg = hdr + body + struct.pack(">I", 0)
    env = struct.pack(">BBHIIII", 2, 1, 0, 0, req_id, 1, len(msg))
    return env + msg


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def main():
    a = sys.argv[1:]
    if len(a) < 10:
        sys.exit(__doc__)
    idctl, psock, paddr, msock, maddr, prefix, tag = a[:7]
    rate, duration, sample = float(a[7]), float(a[8]), int(a[9])
    probe = (float(a[10]) if len(a) > 10 else 2.0) / 1000.0
    batch = a[11] if len(a) > 11 else "1"

    def addr(s):
        h, p = s.rsplit(":", 1)
        return (h, int(p))

    targets = [addr(paddr), addr(maddr)]
    socks = []
    for _ in targets:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        socks.append(s)

    imp = subprocess.Popen([idctl, "-C", psock, "import", "-", "--quiet",
                            "--json", "--batch", batch, "--pipeline", "16"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = imp.stdin

    status_lags = []
    stop = threading.Event()

    def status_loop():
        while not stop.is_set():
            r = subprocess.run([idctl, "-C", msock, "replication", "status",
                                "--json"], capture_output=True, text=True)
            try:
                s0 = json.loads(r.stdout)["sources"][0]
                status_lags.append((int(s0["lag_ms"]), int(s0["lag_txns"])))
            except (ValueError, KeyError, IndexError):
                pass
            stop.wait(0.1)

    th = threading.Thread(target=status_loop)
    th.start()

    total = int(rate * duration)
    # sample k: identifier, write time, [first answer on each side],
    # [last probe sent on each side]
    samples = []
    pending = set()
    written = 0
    late_max = 0.0
    t0 = time.monotonic()
    end_wait = None
    while True:
        now = time.monotonic()
        due = min(total, int((now - t0) * rate) + 1)
        if written < due:
            late_max = max(late_max, now - (t0 + written / rate))
            lines = []
            while written < due:
                ident = "%s/lag-%s-%d" % (prefix, tag, written)
                lines.append('{"handle":"%s","values":[{"index":1,'
                             '"type":"URL","data":{"format":"string",'
                             '"value":"https://lag.example/%d"}}]}\n'
                             % (ident, written))
                if written % sample == 0:
                    samples.append([ident, now, [None, None], [0.0, 0.0]])
                    pending.add(len(samples) - 1)
                written += 1
            out.write("".join(lines).encode())
            out.flush()
        if written == total and end_wait is None:
            out.close()
            end_wait = now
        for k in list(pending):
            smp = samples[k]
            for side in (0, 1):
                if smp[2][side] is None and now - smp[3][side] >= probe:
                    smp[3][side] = now
                    socks[side].sendto(resolve_msg(smp[0], k * 2 + side),
                                       targets[side])
        r, _, _ = select.select(socks, [], [], probe / 4)
        now = time.monotonic()
        for side, s in enumerate(socks):
            if s not in r:
                continue
            while True:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    break
                if len(d) < 28:
                    continue
                req, = struct.unpack(">I", d[8:12])
                rc, = struct.unpack(">I", d[24:28])
                k = req // 2
                if rc == 1 and k < len(samples) and req % 2 == side and \
                        samples[k][2][side] is None:
                    samples[k][2][side] = now
                    if samples[k][2][0] is not None and \
                            samples[k][2][1] is not None:
                        pending.discard(k)
        if end_wait is not None and (not pending or now - end_wait > 30):
            break
    stop.set()
    th.join()
    summary = imp.stdout.read().decode()
    imp.wait()

    lags = [(s[2][1] - s[2][0]) * 1000 for s in samples
            if s[2][0] is not None and s[2][1] is not None]
    commit = [(s[2][0] - s[1]) * 1000 for s in samples if s[2][0] is not None]
    st = [x[0] for x in status_lags]
    try:
        imported = json.loads(summary)
    except ValueError:
        imported = summary.strip()
    print(json.dumps({
        "rate": rate, "duration_s": duration, "creates": total,
        "import": imported, "import_rc": imp.returncode,
        "writer_late_max_ms": round(late_max * 1000, 1),
        "samples": len(samples), "seen_on_both": len(lags),
        "probe_ms": probe * 1000,
        "lag_p50_ms": pct(lags, 50), "lag_p99_ms": pct(lags, 99),
        "lag_max_ms": max(lags) if lags else None,
        "write_to_primary_p50_ms": pct(commit, 50),
        "write_to_primary_p99_ms": pct(commit, 99),
        "status_samples": len(st),
        "status_lag_p50_ms": pct(st, 50), "status_lag_p99_ms": pct(st, 99),
        "status_lag_max_ms": max(st) if st else None,
        "status_lag_txns_max": max(x[1] for x in status_lags)
        if status_lags else None,
    }, indent=1))
    return 0 if len(lags) == len(samples) and imp.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
