#include "nego.h"

#include <strings.h>

#include "auth.h"

static const char *const names[] = {"?", "md5", "sha1", "sha256"};

int idn_hash_rank_parse(const char *s)
{
	for (int r = IDN_HASH_RANK_MD5; r <= IDN_HASH_RANK_SHA256; r++)
		if (!strcasecmp(s, names[r]))
			return r;
	return -1;
}

const char *idn_hash_rank_name(int rank)
{
	return rank >= IDN_HASH_RANK_MD5 && rank <= IDN_HASH_RANK_SHA256
		       ? names[rank]
		       : names[0];
}

int idn_hash_rank_of(idn_bytes_t h)
{
	if (idn_bytes_eq_str(h, "MD5"))
		return IDN_HASH_RANK_MD5;
	if (idn_bytes_eq_str(h, "SHA1") || idn_bytes_eq_str(h, "SHA-1"))
		return IDN_HASH_RANK_SHA1;
	if (idn_bytes_eq_str(h, "SHA256") || idn_bytes_eq_str(h, "SHA-256") ||
	    idn_bytes_eq_str(h, "SM3"))
		return IDN_HASH_RANK_SHA256;
	return 0;
}

bool idn_peer_knows_sha256(uint8_t major, uint8_t minor)
{
	return major > 2 || (major == 2 && minor >= IDN_PROTO_MINOR_SHA256);
}

const char *idn_sig_hash_for_peer(EVP_PKEY *key, uint8_t major, uint8_t minor,
				  int floor)
{
	/* SM2 signs with SM3 only; the others with SHA-256 unless the peer
	 * cannot check it and the floor allows SHA-1 */
	if (EVP_PKEY_is_a(key, "SM2") || idn_peer_knows_sha256(major, minor) ||
	    floor > IDN_HASH_RANK_SHA1)
		return idn_sig_hash_for(key);
	return "SHA1";
}
