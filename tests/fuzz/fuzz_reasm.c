/* Fuzz target: UDP reassembly.
 *
 * Mode 0 (first byte even): the rest is a series of datagrams, each a
 * big-endian u16 length then that many bytes, fed to one reassembly; a
 * completed message is decoded and the reassembly started afresh.
 * Mode 1 (first byte odd): the rest is a message, split with idn_udp_frag
 * and fed back in an order chosen by the second byte, with duplicates; it
 * must come back complete and identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void chunks(const uint8_t *p, size_t n, uint8_t *buf)
{
	idn_reasm_t r;
	idn_reasm_init(&r, buf);
	while (n > 0) {
		size_t len = n >= 2 ? (size_t)(p[0] << 8 | p[1]) : 0;
		size_t skip = n >= 2 ? 2 : n;
		p += skip;
		n -= skip;
		if (len > n)
			len = n;
		int rc = idn_reasm_add(&r, p, len);
		if (rc == 1) {
			if (r.got != r.nfrags || r.env.msg_len > IDN_MSG_MAX)
				abort();
			idn_msg_t m;
			(void)idn_msg_decode(buf, r.env.msg_len, &m);
			idn_reasm_init(&r, buf);
		}
		p += len;
		n -= len;
	}
}

static size_t gcd(size_t a, size_t b)
{
	while (b != 0) {
		size_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static void roundtrip(const uint8_t *msg, size_t len, uint8_t order,
		      uint8_t *buf)
{
	if (len < IDN_HDR_LEN + 4 || len > IDN_MSG_MAX)
		return;
	idn_env_t env = {2, 10, 0, 0, 1, 0x01020304, 0, 0};
	size_t nf = idn_udp_frag_count(len);
	idn_reasm_t r;
	idn_reasm_init(&r, buf);
	uint8_t d[IDN_UDP_DGRAM_MAX];
	int rc = 0;
	/* a walk through all datagrams with a stride coprime to nf, then a
	 * duplicate of the first one sent */
	size_t stride = 1 + (size_t)order;
	while (gcd(stride, nf) != 1)
		stride++;
	for (size_t k = 0; k < nf; k++) {
		size_t i = (k * stride) % nf;
		size_t n = idn_udp_frag(&env, msg, len, i, d);
		if (n < IDN_ENV_LEN || n > IDN_UDP_DGRAM_MAX)
			abort();
		rc = idn_reasm_add(&r, d, n);
		if (rc < 0 || (rc == 1) != (k == nf - 1))
			abort();
		if (k == 0 && idn_reasm_add(&r, d, n) != (nf == 1))
			abort();
	}
	if (rc != 1 || r.env.msg_len != len || memcmp(buf, msg, len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t *buf = malloc(IDN_MSG_MAX);
	if (buf == NULL)
		return 0;
	if ((data[0] & 1) == 0)
		chunks(data + 1, size - 1, buf);
	else if (size >= 2)
		roundtrip(data + 2, size - 2, data[1], buf);
	free(buf);
	return 0;
}
