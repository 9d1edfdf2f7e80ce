#!/usr/bin/env bash
# Regenerates the seed corpora of the codec fuzz targets from the wire
# vectors (tests/vectors/*.hex), plus a set of hand-made malformed inputs
# whose bytes are spelled out below. Files written here are prefixed vec-,
# bare-, val-, dg- or hand-; anything else in the corpus directories (such
# as saved crash inputs) is left alone.
#   usage: tests/fuzz/make_corpus.sh   (from anywhere; needs xxd)
set -euo pipefail
cd "$(dirname "$0")/../.."
V=tests/vectors
C=tests/fuzz/corpus
mkdir -p "$C/fuzz_msg" "$C/fuzz_value" "$C/fuzz_reasm"
rm -f "$C"/fuzz_*/{vec,bare,val,dg,hand}-*

hexof() { tr -d ' \n\r' <"$1"; }
# u32 at a hex-character offset of a hex string
u32() { echo $((16#${1:$2:8})); }
# writes hex string $2 as bytes to file $1
put() { printf '%s' "$2" | xxd -r -p >"$1"; }
# big-endian u16 / u32 as hex
h16() { printf '%04x' "$1"; }
h32() { printf '%08x' "$1"; }

# One vector as envelope + message hex: HTTP headers split off, UDP
# datagrams joined (first envelope, then every payload).
message_hex() {
	local f=$1 h
	case $f in
	*.udp0.hex)
		h=$(hexof "$f")
		local i=1 base=${f%.udp0.hex}
		while [ -f "$base.udp$i.hex" ]; do
			h+=$(hexof "$base.udp$i.hex" | cut -c41-)
			i=$((i + 1))
		done
		;;
	*/http-*)
		h=$(hexof "$f")
		local pre=${h%%0d0a0d0a*}
		h=${h:${#pre}+8}
		;;
	*) h=$(hexof "$f") ;;
	esac
	printf '%s' "$h"
}

declare -A MSG
for f in "$V"/*.hex; do
	case $f in *.udp[1-9].hex) continue ;; esac
	n=$(basename "$f" .hex)
	n=${n%.udp0}
	h=$(message_hex "$f")
	MSG[$n]=$h
	put "$C/fuzz_msg/vec-$n" "$h"
	put "$C/fuzz_msg/bare-$n" "${h:40}"
done

# ---- value lists and HS_* data for fuzz_value ----
# body of a message hex (after envelope and header)
body_hex() {
	local h=$1
	local bl
	bl=$(u32 "$h" 80)
	printf '%s' "${h:88:2*bl}"
}
for n in resolve-response create-request add-value-request \
	tcp-prefix-resolve-response certified-resolve-response \
	session-create-request; do
	b=$(body_hex "${MSG[$n]}")
	idl=$(u32 "$b" 0)
	list=${b:8+2*idl}
	put "$C/fuzz_value/val-list-$n" "$list"
	# each value's data on its own
	count=$(u32 "$list" 0)
	o=8
	for ((i = 0; i < count; i++)); do
		tl=$(u32 "$list" $((o + 28)))
		type=$(printf '%s' "${list:o+36:2*tl}" | xxd -r -p)
		d=$((o + 36 + 2 * tl))
		dl=$(u32 "$list" $d)
		put "$C/fuzz_value/val-$n-$i-$type" "${list:d+8:2*dl}"
		r=$((d + 8 + 2 * dl))
		nr=$(u32 "$list" $r)
		r=$((r + 8))
		for ((j = 0; j < nr; j++)); do
			rl=$(u32 "$list" $r)
			r=$((r + 8 + 2 * rl + 8))
		done
		o=$r
	done
done
put "$C/fuzz_value/val-site-info" "$(body_hex "${MSG[get-site-info-response]}")"
for k in "$V"/keys/*.bin; do
	cp "$k" "$C/fuzz_value/val-key-$(basename "$k" .bin)"
done
# the DH exchange key of the session setup request (HS_PUBKEY layout)
b=$(body_hex "${MSG[session-setup-request]}")
il=$(u32 "$b" 12)
kl=$(u32 "$b" $((20 + 2 * il + 8)))
put "$C/fuzz_value/val-dh-key" "${b:20+2*il+16:2*kl}"

# ---- datagram series for fuzz_reasm ----
dgrams() { # base name, then datagram numbers in order
	local base=$1 out=00
	shift
	for i in "$@"; do
		local d
		d=$(hexof "$V/$base.udp$i.hex")
		out+=$(h16 $((${#d} / 2)))$d
	done
	printf '%s' "$out"
}
put "$C/fuzz_reasm/dg-prefix-inorder" "$(dgrams prefix-resolve-response 0 1 2 3)"
put "$C/fuzz_reasm/dg-prefix-reverse" "$(dgrams prefix-resolve-response 3 2 1 0)"
put "$C/fuzz_reasm/dg-prefix-dup" "$(dgrams prefix-resolve-response 1 1 0 3 3 2)"
put "$C/fuzz_reasm/dg-prefix-twice" "$(dgrams prefix-resolve-response 0 1 2 3)$(dgrams prefix-resolve-response 2 0 3 1 | cut -c3-)"
put "$C/fuzz_reasm/dg-certified" "$(dgrams certified-resolve-response 1 0)"
for n in resolve-request resolve-response session-setup-request; do
	h=${MSG[$n]}
	put "$C/fuzz_reasm/dg-single-$n" "00$(h16 $((${#h} / 2)))$h"
	put "$C/fuzz_reasm/dg-split-$n" "0103${h:40}"
done
put "$C/fuzz_reasm/dg-split-prefix" "0102${MSG[tcp-prefix-resolve-response]:40}"
put "$C/fuzz_reasm/dg-split-certified" "0107${MSG[certified-resolve-response]:40}"

# ---- hand-made malformed inputs ----
E=0205000000000000000012340000000000000000 # envelope, msg_len patched below
env_for() { printf '%s' "${E:0:32}$(h32 $(($1)))"; }
# header: op rc flags serial rcount reserved expiry bodylen
hdr() { printf '%08x%08x%08x%04x%02x%02x%08x%08x' "$1" "$2" "$3" 65535 0 0 1795388659 "$4"; }
msg() { # op rc flags body-hex [cred-hex]
	local body=$4 cred=${5:-}
	printf '%s%s%s' "$(hdr "$1" "$2" "$3" $((${#body} / 2)))" "$body" \
		"$(h32 $((${#cred} / 2)))$cred"
}
full() { local m=$1; printf '%s%s' "$(env_for $((${#m} / 2)))" "$m"; }
ID=0000000c32302e3530302f7465737431 # "20.500/test1"
hm() { put "$C/fuzz_msg/hand-$1" "$2"; }
hm empty ""
hm env-short 02050000000000000000
hm env-only "$(env_for 0)"
hm wrong-major "05${E:2:30}$(h32 52)$(msg 1 0 0 "${ID}0000000000000000")"
hm minor-zero "0200${E:4:28}$(h32 52)$(msg 1 0 0 "${ID}0000000000000000")"
hm msg-len-huge "$(env_for 262145)$(msg 1 0 0 "${ID}0000000000000000")"
hm msg-len-short "$(env_for 20)$(msg 1 0 0 "${ID}0000000000000000")"
hm body-len-huge "$(env_for 28)$(hdr 1 0 0 4294967295)00000000"
hm cred-len-huge "$(full "$(hdr 1 0 0 0)ffffffff")"
hm trailing "$(full "$(msg 1 0 0 "${ID}0000000000000000")00")"
hm zero-length-id "$(full "$(msg 1 0 0 000000000000000000000000)")"
hm id-len-huge "$(full "$(msg 1 0 0 ffffffff0000000000000000)")"
hm index-count-huge "$(full "$(msg 1 0 0 "${ID}7fffffff00000001")")"
hm type-count-huge "$(full "$(msg 1 0 0 "${ID}00000000ffffffff")")"
hm values-count-huge "$(full "$(msg 100 0 0 "${ID}ffffffff")")"
hm values-count-over "$(full "$(msg 100 0 0 "${ID}00000002")")"
hm value-refs-huge "$(full "$(msg 100 0 0 "${ID}00000001000000010000000000000151800e0000000355524c00000000ffffffff")")"
hm digest-bad-alg "$(full "$(msg 1 402 0x00800000 "09$(printf '%040d' 0)00000000")")"
hm digest-short "$(full "$(msg 1 402 0x00800000 "0211223344")")"
hm digest-sha256 "$(full "$(msg 1 1 0x00800000 "03$(printf '%064d' 0)${ID}00000000")")"
hm cred-signer-huge "$(full "$(msg 1 1 0 "${ID}00000000" 00000000ffffffff)")"
hm cred-trailing "$(full "$(msg 1 1 0 "${ID}00000000" 0000000000000000000000000000000948535f5349474e45440000000000)")"
hm session-key-short "$(full "$(msg 400 0 0 "000400015180${ID}0000012c00000100abcd")")"
hm answer-sig-huge "$(full "$(msg 200 0 0 "0000000948535f5055424b4559${ID}0000012cfffffff0")")"

hv() { put "$C/fuzz_value/hand-$1" "$2"; }
hv empty ""
hv count-zero 00000000
hv count-huge ffffffff
hv count-over 00000005000000010000000000000151800e00000003
hv type-len-huge 00000001000000010000000000000151800e0fffffffff
hv data-len-huge 00000001000000010000000000000151800e0000000355524cfffffff0
hv refs-count-huge 00000001000000010000000000000151800e0000000355524c00000000ffffffff
hv admin-short 0fff0000000b302e4e412f
hv admin-trailing 0fff00000003312f610000012c00
hv vlist-huge ffffffff0000000131
hv vlist-one 0000000100000003312f610000012c
hv site-servers-huge 0001020a00018002000000000000000000ffffffff
hv site-ifaces-huge 0001020a000180020000000000000000000000010000000100000000000000000000000000000001000000007fffffff
hv site-attr-huge 0001020a00018002000000000000000100000004646573637fffffff
hv pubkey-too-many "0000000b534d325f5055425f4b45590000$(printf '00000001%02x' 1 2 3 4 5 6 7 8 9)"
hv pubkey-param-huge 0000000b4453415f5055425f4b45590000ffffffff00

hr() { put "$C/fuzz_reasm/hand-$1" "$2"; }
hr empty ""
hr garbage 000005deadbeef00
hr len-over-rest "00ffff${E}"
hr msg-len-zero "0000140205000000000000000000123400000000$(h32 0)"
hr msg-len-huge "000014${E:0:32}$(h32 262145)"
hr seq-huge "000020${E:0:24}ffffffff$(h32 12)$(printf '%024d' 0)"
hr wrong-version "00002003${E:2:30}$(h32 12)$(printf '%024d' 0)"
hr short-payload "000030${E:0:32}$(h32 1488)$(printf '%056d' 0)"
hr split-too-short "0100$(printf '%054d' 0)"
hr split-empty 01

for t in fuzz_msg fuzz_value fuzz_reasm; do
	printf '%s: %s files\n' "$t" "$(ls "$C/$t" | wc -l)"
done
