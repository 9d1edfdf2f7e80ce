#!/usr/bin/env bash
# Attack drivers for the abuse limits, run against any build of idnode.
#
#   bench/attack/run.sh [BUILD_DIR]      (default: build)
#
# The attacks live in tests/e2e/test_abuse.c, one cmocka test each, and
# use only options every build knows, so the same drivers measure the node
# before and after a change. With IDN_ABUSE_MEASURE set they print their
# figures ("[ FIGURE   ] ...") without asserting. Each is bounded (a few
# seconds) and stays on loopback: attackers bind other 127.x addresses.
#
#   challenge flood   one UDP sender (127.0.0.2) sends creates for 1.5 s;
#                     then an admin on 127.0.0.1 writes over TCP
#   PBKDF2 answers    40 challenge answers from 127.0.5.2 naming PBKDF2
#                     with 200 000 iterations; then an admin writes
#   TCP slots         40 addresses (127.0.0.2..41) x 64 idle connections;
#                     then a real client resolves over TCP
#   amplification     2 s of UDP resolutions of a 4 KB record from one
#                     source; bytes of replies / bytes of queries
#   memory            4 200 challenged 256 KiB creates over 8 TCP
#                     connections; the node's VmRSS before and after
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
make -j2 build/tests/e2e/test_abuse >/dev/null
IDN_ABUSE_MEASURE=1 IDN_BUILD=$build build/tests/e2e/test_abuse 2>&1 |
	grep -E '^\[ FIGURE|^flood:'
