/* HS_SITE values for idctl: built from the command line, shown to people
 * and as JSON; and the node's statistics as aligned lines. */
#include "delegate.h"

#include <stdlib.h>
#include <string.h>

#include "site.h"

int site_build(const char *servers, bool primary, const char *desc,
	       idn_arena_t *a, idn_bytes_t *out, char *why, size_t whycap)
{
	const char *list[SITE_SERVERS_CLI_MAX];
	size_t n = 0;
	size_t len = strlen(servers);
	char *copy = idn_arena_alloc(a, len + 1);
	if (copy == NULL) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	memcpy(copy, servers, len + 1);
	for (char *p = copy;; n++) {
		if (n == SITE_SERVERS_CLI_MAX) {
			snprintf(why, whycap,
				 "more than %d servers in one site",
				 SITE_SERVERS_CLI_MAX);
			return -1;
		}
		list[n] = p;
		char *comma = strchr(p, ',');
		if (comma == NULL) {
			n++;
			break;
		}
		*comma = 0;
		p = comma + 1;
	}
	idn_site_opts_t o = {1,	   primary ? IDN_SITE_PRIMARY : 0,
			     desc, idn_bytes("", 0),
			     0,	   false};
	size_t cap = 64 + strlen(desc) + n * 64;
	uint8_t *buf = idn_arena_alloc(a, cap);
	if (buf == NULL) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	if (idn_site_build(&w, &o, list, n, why, whycap) != 0)
		return -1;
	*out = idn_bytes(buf, w.len);
	return 0;
}

/* Longest dotted key under obj, for the alignment. */
static size_t key_width(json_t *obj, size_t prefix)
{
	size_t w = 0;
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		size_t n = prefix + strlen(k);
		if (json_is_object(v))
			n = key_width(v, n + 1);
		if (n > w)
			w = n;
	}
	return w;
}

static void print_flat(FILE *f, json_t *obj, const char *prefix, int width)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		char key[256];
		snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "",
			 k);
		if (json_is_object(v)) {
			print_flat(f, v, key, width);
			continue;
		}
		fprintf(f, "%-*s  ", width, key);
		if (json_is_integer(v))
			fprintf(f, "%" JSON_INTEGER_FORMAT "\n",
				json_integer_value(v));
		else if (json_is_string(v))
			fprintf(f, "%s\n", json_string_value(v));
		else {
			char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			fprintf(f, "%s\n", s ? s : "?");
			free(s);
		}
	}
}

void stats_print(FILE *f, json_t *obj)
{
	print_flat(f, obj, "", (int)key_width(obj, 0));
}
