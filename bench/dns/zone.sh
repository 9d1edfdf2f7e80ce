#!/usr/bin/env bash
# Writes the DNS zone equivalent to `idctl populate --prefix P --count N`:
# zone P. with one TXT record per identifier, owner bench-<i>.P., whose
# character-strings carry the same values as the Handle record
# (URL, EMAIL, BATCH, DESC on every third, HS_ADMIN), each written as
# "TYPE=DATA", so that answers have similar sizes.
#
# usage: bench/dns/zone.sh PREFIX COUNT >FILE
set -eu
[ $# -eq 2 ] || { echo "usage: $0 PREFIX COUNT" >&2; exit 2; }
awk -v p="$1" -v n="$2" 'BEGIN {
	split("north south east west", line, " ")
	printf "$ORIGIN %s.\n$TTL 86400\n", p
	printf "@ IN SOA ns.%s. hostmaster.%s. 1 3600 900 604800 86400\n", p, p
	printf "@ IN NS ns\nns IN A 127.0.0.1\n"
	for (i = 0; i < n; i++) {
		desc = (i % 3 == 0) ? sprintf(" \"DESC=Benchmark item %d, synthetic record written by idctl populate\"", i) : ""
		printf "bench-%d IN TXT \"URL=https://example.com/p/%d\" \"EMAIL=owner%d@example.com\" \"BATCH=lot=B2026-%06d;line=%s;qty=%d\"%s \"HS_ADMIN=0.NA/%s@200\"\n",
			i, i, i % 997, int(i / 1000), line[i % 4 + 1], 100 + i % 900, desc, p
	}
}'
