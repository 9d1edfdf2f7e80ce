#!/usr/bin/env bash
# Writes the DNS zone equivalent to `idctl populate --prefix P --count N`:
# zone P. with one TXT record per identifier, owner bench-<i>.P., whose
# character-strings carry the same values as the Handle record
# (URL, EMAIL, BATCH, DESC on every third, HS_ADMIN), each written as
# "TYPE=DATA", and one more string, "PAD=xx...", that makes the DNS
# answer exactly as long as idnode's answer for the same identifier.
#
# The padding, worked out from the two encodings (a query without EDNS,
# answered with the one TXT record and nothing else):
# - Handle: envelope 20 + message header 24 + identifier (4 + |P/bench-i|)
#   + value count 4 + per value 26 + |type| + |data| + credential length 4;
#   HS_ADMIN's data is binary: 2 + 4 + |0.NA/P| + 4.
# - DNS: header 12 + question (|bench-i| + |P| + 3 + 4) + answer record
#   (2 + 10) + per string 1 + |TYPE=DATA|; HS_ADMIN as "...@200".
# So the Handle answer is 22 + 4 longer before the values, 24 longer per
# URL/EMAIL/BATCH/DESC value and 30 longer for HS_ADMIN: 128 bytes without
# DESC, 152 with it. A string of s bytes adds 1 + s, so the pad string is
# 127 (151) bytes. `idctl bench` reports both mean answer sizes
# (datagram_bytes_mean), which is how bench/run shows they are equal.
#
# usage: bench/dns/zone.sh [--no-pad] PREFIX COUNT >FILE
set -eu
pad=1
if [ "${1-}" = --no-pad ]; then
	pad=0
	shift
fi
[ $# -eq 2 ] || { echo "usage: $0 [--no-pad] PREFIX COUNT" >&2; exit 2; }
awk -v p="$1" -v n="$2" -v pad="$pad" 'BEGIN {
	split("north south east west", line, " ")
	fill = "PAD="
	while (length(fill) < 151)
		fill = fill "x"
	printf "$ORIGIN %s.\n$TTL 86400\n", p
	printf "@ IN SOA ns.%s. hostmaster.%s. 1 3600 900 604800 86400\n", p, p
	printf "@ IN NS ns\nns IN A 127.0.0.1\n"
	for (i = 0; i < n; i++) {
		desc = (i % 3 == 0) ? sprintf(" \"DESC=Benchmark item %d, synthetic record written by idctl populate\"", i) : ""
		tail = pad ? sprintf(" \"%s\"", substr(fill, 1, (i % 3 == 0) ? 151 : 127)) : ""
		printf "bench-%d IN TXT \"URL=https://example.com/p/%d\" \"EMAIL=owner%d@example.com\" \"BATCH=lot=B2026-%06d;line=%s;qty=%d\"%s \"HS_ADMIN=0.NA/%s@200\"%s\n",
			i, i, i % 997, int(i / 1000), line[i % 4 + 1], 100 + i % 900, desc, p, tail
	}
}'
