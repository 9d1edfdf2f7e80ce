/* The browser proxy's identifier schemes (http_int.h): GS1 keys, element
 * strings and Digital Link URIs, OIDs, Ecodes, DOI and Handle URIs are
 * mapped to their canonical identifier under the prefix this node is
 * configured with for the scheme (--gs1-prefix, --oid-prefix,
 * --ecode-prefix), the way idctl resolve maps them. */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "scheme.h"

/* A GS1 Digital Link path served here: its first segment names a primary
 * key (DL 1.2, numeric AIs and short names). Such a path is read as a
 * Digital Link URI of this host, not as a handle with prefix "01". */
static bool dl_path(const char *in)
{
	static const char *const keys[] = {"01",   "00",  "414", "gtin",
					   "sscc", "gln", NULL};
	for (int i = 0; keys[i]; i++) {
		size_t n = strlen(keys[i]);
		if (!strncmp(in, keys[i], n) && in[n] == '/')
			return true;
	}
	return false;
}

/* Text that only a scheme could have meant: a URI, a URN, an element
 * string, bare digits, an Ecode label, or a dotted number without a '/'
 * (an OID). Invalid such text is an error, not a handle. */
static bool scheme_shaped(const char *in)
{
	return idn_scheme_shaped(in, strlen(in));
}

static const char *flag_of(idn_scheme_t s)
{
	return s == IDN_SCHEME_OID     ? "--oid-prefix"
	       : s == IDN_SCHEME_ECODE ? "--ecode-prefix"
				       : "--gs1-prefix";
}

int http_scheme_map(const node_conf_t *c, const char *in, char *out, size_t cap,
		    const char **scheme, char *err, size_t errcap)
{
	static _Thread_local idn_scheme_id_t sid;
	static _Thread_local char dl[IDN_IDENT_MAX + 32];
	*scheme = NULL;
	err[0] = 0;
	const char *text = in;
	if (dl_path(in)) {
		int n = snprintf(dl, sizeof(dl), "https://localhost/%s", in);
		if (n < 0 || (size_t)n >= sizeof(dl)) {
			snprintf(err, errcap, "identifier too long");
			return HTTP_SCHEME_INVALID;
		}
		text = dl;
	}
	if (idn_scheme_parse(text, strlen(text), &sid, err, errcap) != 0) {
		if (text == dl || scheme_shaped(in))
			return HTTP_SCHEME_INVALID; /* err says why */
		/* not a scheme's: the node judges it as an identifier */
		err[0] = 0;
		if (strlen(in) >= cap) {
			snprintf(err, errcap, "identifier too long");
			return HTTP_SCHEME_INVALID;
		}
		strcpy(out, in);
		return 0;
	}
	*scheme = idn_scheme_name(sid.scheme);
	idn_scheme_map_t map = {c->gs1_prefix, c->oid_prefix, c->ecode_prefix};
	int rc = idn_scheme_canonical(&sid, &map, out, cap);
	if (rc == IDN_EUNSUPPORTED) {
		snprintf(err, errcap,
			 "a %s identifier, and this node maps no %s "
			 "identifiers (idnode %s PREFIX)",
			 *scheme, *scheme, flag_of(sid.scheme));
		return HTTP_SCHEME_UNMAPPED;
	}
	if (rc != 0) {
		snprintf(err, errcap, "%s", idn_strerror(rc));
		return HTTP_SCHEME_INVALID;
	}
	return 0;
}
