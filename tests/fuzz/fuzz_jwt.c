/* Fuzz target: compact JWS tokens and the trust layer (jwt.c, trust.c).
 * The input is decoded as base64url (which must re-encode to itself), as a
 * token (checked against fixed RSA and SM2 keys, its times, its JWK), and
 * as both an HS_SIGNATURE and the HS_CERT of its signer in a record
 * verification, and as a self-issued root certificate. None of it may
 * crash, leak or verify with our keys. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "jwt.h"
#include "trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *rsa, *sm2;

static void keys(void)
{
	if (rsa == NULL)
		rsa = EVP_RSA_gen(2048);
	if (sm2 == NULL)
		sm2 = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
	if (rsa == NULL || sm2 == NULL)
		abort();
}

static const uint8_t *in;
static size_t in_len;

/* Every record holds the input as an HS_CERT at 400. */
static int fetch(void *ctx, const char *id, idn_arena_t *a, idn_value_t **out,
		 uint32_t *n)
{
	(void)ctx;
	(void)id;
	idn_value_t *v = idn_arena_alloc(a, sizeof(*v));
	if (v == NULL)
		return -1;
	memset(v, 0, sizeof(*v));
	v->index = 400;
	v->type = idn_bytes_str("HS_CERT");
	v->data = idn_bytes(in, in_len);
	*out = v;
	*n = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys();
	uint8_t *raw;
	size_t n;
	if (idn_b64url_decode((const char *)data, size, &raw, &n) == 0) {
		char *back = idn_b64url_encode(raw, n);
		if (back == NULL || strlen(back) != size ||
		    memcmp(back, data, size))
			abort();
		free(back);
		free(raw);
	}
	idn_jwt_t t;
	if (idn_jwt_decode((const char *)data, size, &t) == 0) {
		/* a forged signature never verifies with our keys */
		if (idn_jwt_verify(&t, rsa) == 0 ||
		    idn_jwt_verify(&t, sm2) == 0)
			abort();
		char why[200];
		idn_jwt_check_time(&t, 1700000000, 60, why, sizeof(why));
		EVP_PKEY *k;
		if (idn_jwk_to_key(json_object_get(t.claims, "publicKey"),
				   &k) == 0)
			EVP_PKEY_free(k);
		idn_jwt_free(&t);
	}
	in = data;
	in_len = size;
	idn_value_t sig = {400,
			   0,
			   0,
			   86400,
			   0xe,
			   idn_bytes_str("HS_SIGNATURE"),
			   idn_bytes(data, size),
			   0,
			   NULL};
	idn_value_t vals[2] = {{1, 0, 0, 86400, 0xe, idn_bytes_str("URL"),
				idn_bytes("https://example.com/", 20), 0, NULL},
			       sig};
	idn_trust_t tr = {rsa, fetch, NULL, 1700000000, 60};
	idn_arena_t a;
	idn_arena_init(&a, 0);
	idn_trust_report_t rep;
	if (idn_trust_verify_record(&tr, "88.118.8/x", vals, 2, &a, &rep) ==
		    0 &&
	    rep.ok)
		abort();
	/* the input as a self-issued root at a handle: it may well be one */
	EVP_PKEY *root = NULL;
	char why[300];
	if (idn_trust_root_at(&tr, "88.118.8", 400, &a, &root, why,
			      sizeof(why)) == 0)
		EVP_PKEY_free(root);
	idn_arena_free(&a);
	return 0;
}
