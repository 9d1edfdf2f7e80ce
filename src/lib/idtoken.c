/* The national system's resolution token (idtoken.h). */
#include "idtoken.h"

#include <string.h>

#include "error.h"

int idn_idtoken_decode(idn_bytes_t token, idn_idtoken_t *out)
{
	memset(out, 0, sizeof(*out));
	int err = idn_jwt_decode((const char *)token.p, token.len, &out->jwt);
	if (err)
		return err;
	json_t *jh = json_object_get(out->jwt.claims, "user_handle");
	json_t *ji = json_object_get(out->jwt.claims, "user_index");
	json_t *jt = json_object_get(out->jwt.claims, "timestamp");
	size_t n = json_is_string(jh) ? json_string_length(jh) : 0;
	if (n == 0 || n > IDN_IDENT_MAX || !json_is_integer(ji) ||
	    !json_is_integer(jt) || json_integer_value(ji) < 0 ||
	    json_integer_value(ji) > (json_int_t)UINT32_MAX) {
		idn_idtoken_free(out);
		return IDN_EMALFORMED;
	}
	memcpy(out->admin, json_string_value(jh), n);
	out->admin_len = n;
	out->index = (uint32_t)json_integer_value(ji);
	out->timestamp_ms = (int64_t)json_integer_value(jt);
	return 0;
}

void idn_idtoken_free(idn_idtoken_t *t)
{
	idn_jwt_free(&t->jwt);
	memset(t, 0, sizeof(*t));
}

int idn_idtoken_verify(const idn_idtoken_t *t, EVP_PKEY *key, int64_t now_ms,
		       int64_t skew_ms, const char **why)
{
	int64_t d = now_ms - t->timestamp_ms;
	if (d > skew_ms || d < -skew_ms) {
		*why = "token timestamp too far from the node's clock";
		return IDN_EAUTH;
	}
	if (idn_jwt_verify(&t->jwt, key) != 0) {
		*why = "token signature does not verify";
		return IDN_EAUTH;
	}
	return 0;
}
