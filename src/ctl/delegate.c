/* HS_SITE values for idctl: built from the command line, shown to people
 * and as JSON; and the node's statistics as aligned lines. */
#include "delegate.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "net.h"

void site_addr_format(const uint8_t addr[16], char *out, size_t cap)
{
	static const uint8_t zero[12];
	char buf[INET6_ADDRSTRLEN];
	if (memcmp(addr, zero, 12) == 0)
		inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	snprintf(out, cap, "%s", buf);
}

/* One "HOST:PORT" of a server list into a server entry. */
static int parse_server(const char *item, uint32_t id, idn_arena_t *a,
			idn_hs_server_t *s, char *why, size_t whycap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	/* default port 0: a missing port is then an error of its own */
	if (*item == 0 || idn_addr_parse(item, 0, &ss, &sl) != 0) {
		snprintf(why, whycap,
			 "bad server '%s': expected HOST:PORT (an IPv4 or "
			 "[IPv6] address or localhost, port 1..65535)",
			 item);
		return -1;
	}
	uint16_t port;
	memset(s, 0, sizeof(*s));
	s->id = id;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
		memcpy(s->addr + 12, &v4->sin_addr, 4);
		port = ntohs(v4->sin_port);
		if (v4->sin_addr.s_addr == htonl(INADDR_ANY))
			port = 0; /* flagged below */
	} else {
		const struct sockaddr_in6 *v6 =
			(const struct sockaddr_in6 *)&ss;
		memcpy(s->addr, &v6->sin6_addr, 16);
		port = ntohs(v6->sin6_port);
		static const uint8_t zero12[12];
		if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) {
			port = 0;
		} else if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
			/* the site layout's IPv4 form: 12 zero bytes */
			memset(s->addr, 0, 12);
		} else if (memcmp(s->addr, zero12, 12) == 0) {
			/* ::1 and the like: readers take 12 zero bytes for
			 * IPv4 (::1 would come back as 0.0.0.1) */
			snprintf(why, whycap,
				 "bad server '%s': HS_SITE cannot tell this "
				 "IPv6 address from an IPv4 one (use "
				 "127.0.0.1 for loopback)",
				 item);
			return -1;
		}
	}
	if (port == 0) {
		static const uint8_t zero[16];
		snprintf(why, whycap,
			 memcmp(s->addr, zero, 16) == 0
				 ? "bad server '%s': a wildcard address is "
				   "not one clients can reach"
				 : "bad server '%s': needs a port (HOST:PORT)",
			 item);
		return -1;
	}
	s->pubkey = idn_bytes("", 0);
	s->nifaces = 2;
	s->ifaces = idn_arena_array(a, 2, sizeof(*s->ifaces));
	if (s->ifaces == NULL) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	s->ifaces[0] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_UDP, port};
	s->ifaces[1] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_TCP, port};
	return 0;
}

int site_build(const char *servers, bool primary, const char *desc,
	       idn_arena_t *a, idn_bytes_t *out, char *why, size_t whycap)
{
	idn_hs_server_t list[SITE_SERVERS_CLI_MAX];
	uint32_t n = 0;
	size_t len = strlen(servers);
	char *copy = idn_arena_alloc(a, len + 1);
	if (copy == NULL) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	memcpy(copy, servers, len + 1);
	char *p = copy;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (n == SITE_SERVERS_CLI_MAX) {
			snprintf(why, whycap,
				 "more than %d servers in one site",
				 SITE_SERVERS_CLI_MAX);
			return -1;
		}
		if (parse_server(p, n + 1, a, &list[n], why, whycap) != 0)
			return -1;
		n++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	idn_hs_attr_t attr = {idn_bytes_str("desc"), idn_bytes_str(desc)};
	idn_hs_site_t site = {
		.version = 1,
		.major = IDN_PROTO_MAJOR,
		.minor = IDN_PROTO_MINOR,
		.serial = 1,
		.flags = primary ? IDN_SITE_PRIMARY : 0,
		.hash_option = IDN_HASH_PREFIX,
		.hash_filter = idn_bytes("", 0),
		.nattrs = 1,
		.attrs = &attr,
		.nservers = n,
		.servers = list,
	};
	size_t cap = 64 + strlen(desc) + (size_t)n * 64;
	uint8_t *buf = idn_arena_alloc(a, cap);
	if (buf == NULL) {
		snprintf(why, whycap, "out of memory");
		return -1;
	}
	idn_wr_t w;
	idn_wr_init(&w, buf, cap);
	idn_hs_site_encode(&w, &site);
	if (w.err) {
		snprintf(why, whycap, "site too large");
		return -1;
	}
	*out = idn_bytes(buf, w.len);
	return 0;
}

static const char *proto_name(uint8_t p)
{
	switch (p) {
	case IDN_PROTO_UDP:
		return "udp";
	case IDN_PROTO_TCP:
		return "tcp";
	case IDN_PROTO_HTTP:
		return "http";
	case IDN_PROTO_HTTPS:
		return "https";
	default:
		return "?";
	}
}

static const char *iface_type_name(uint8_t t)
{
	switch (t) {
	case IDN_IF_ADMIN:
		return "admin";
	case IDN_IF_QUERY:
		return "query";
	case IDN_IF_BOTH:
		return "both";
	default:
		return "?";
	}
}

static void print_hostport(FILE *f, const uint8_t addr[16], uint32_t port)
{
	char host[64];
	site_addr_format(addr, host, sizeof(host));
	if (strchr(host, ':'))
		fprintf(f, "[%s]:%u", host, port);
	else
		fprintf(f, "%s:%u", host, port);
}

void site_print_servers(FILE *f, const idn_hs_site_t *s)
{
	bool first = true;
	for (uint32_t i = 0; i < s->nservers; i++) {
		const idn_hs_server_t *sv = &s->servers[i];
		if (sv->nifaces == 0) {
			fprintf(f, "%s", first ? "" : ", ");
			print_hostport(f, sv->addr, 0);
			fprintf(f, " (no interfaces)");
			first = false;
		}
		/* one entry per distinct port: "HOST:PORT udp/tcp" */
		for (uint32_t j = 0; j < sv->nifaces; j++) {
			uint32_t port = sv->ifaces[j].port;
			bool seen = false;
			for (uint32_t k = 0; k < j; k++)
				seen |= sv->ifaces[k].port == port;
			if (seen)
				continue;
			fprintf(f, "%s", first ? "" : ", ");
			first = false;
			print_hostport(f, sv->addr, port);
			const char *sep = " ";
			for (uint32_t k = j; k < sv->nifaces; k++) {
				if (sv->ifaces[k].port != port)
					continue;
				fprintf(f, "%s%s", sep,
					proto_name(sv->ifaces[k].proto));
				if (sv->ifaces[k].type != IDN_IF_BOTH)
					fprintf(f, "(%s)",
						iface_type_name(
							sv->ifaces[k].type));
				sep = "/";
			}
		}
	}
	if (first)
		fprintf(f, "(no servers)");
}

void site_print(FILE *f, const idn_hs_site_t *s)
{
	const char *role = s->flags & IDN_SITE_MULTI_PRIMARY ? "multi-primary"
			   : s->flags & IDN_SITE_PRIMARY     ? "primary"
							     : "mirror";
	fprintf(f, "site %s", role);
	if (s->serial != 1)
		fprintf(f, " serial %u", s->serial);
	if (s->hash_option != IDN_HASH_PREFIX)
		fprintf(f, " hash %s",
			s->hash_option == IDN_HASH_SUFFIX  ? "suffix"
			: s->hash_option == IDN_HASH_WHOLE ? "whole"
							   : "?");
	fprintf(f, ": ");
	site_print_servers(f, s);
}

static json_t *jstrn(idn_bytes_t b)
{
	json_t *j = json_stringn((const char *)b.p, b.len);
	/* not UTF-8: jansson refuses it; show it as hex instead */
	if (j == NULL) {
		char *h = malloc((size_t)b.len * 2 + 1);
		if (h == NULL)
			return json_null();
		for (uint32_t i = 0; i < b.len; i++)
			sprintf(h + 2 * i, "%02x", b.p[i]);
		h[2 * b.len] = 0;
		j = json_string(h);
		free(h);
	}
	return j;
}

json_t *site_json(const idn_hs_site_t *s)
{
	json_t *o = json_object();
	char ver[16];
	snprintf(ver, sizeof(ver), "%u.%u", s->major, s->minor);
	json_object_set_new(o, "version", json_integer(s->version));
	json_object_set_new(o, "protocolVersion", json_string(ver));
	json_object_set_new(o, "serialNumber", json_integer(s->serial));
	json_object_set_new(o, "primary",
			    json_boolean(s->flags & IDN_SITE_PRIMARY));
	json_object_set_new(o, "multiPrimary",
			    json_boolean(s->flags & IDN_SITE_MULTI_PRIMARY));
	json_object_set_new(o, "hashOption", json_integer(s->hash_option));
	json_object_set_new(o, "hashFilter", jstrn(s->hash_filter));
	json_t *attrs = json_array();
	for (uint32_t i = 0; i < s->nattrs; i++) {
		json_t *at = json_object();
		json_object_set_new(at, "name", jstrn(s->attrs[i].name));
		json_object_set_new(at, "value", jstrn(s->attrs[i].value));
		json_array_append_new(attrs, at);
	}
	json_object_set_new(o, "attributes", attrs);
	json_t *servers = json_array();
	for (uint32_t i = 0; i < s->nservers; i++) {
		const idn_hs_server_t *sv = &s->servers[i];
		json_t *so = json_object();
		char host[64];
		site_addr_format(sv->addr, host, sizeof(host));
		json_object_set_new(so, "id", json_integer(sv->id));
		json_object_set_new(so, "address", json_string(host));
		if (sv->pubkey.len) {
			char *h = malloc((size_t)sv->pubkey.len * 2 + 1);
			if (h != NULL) {
				for (uint32_t k = 0; k < sv->pubkey.len; k++)
					sprintf(h + 2 * k, "%02x",
						sv->pubkey.p[k]);
				h[2 * sv->pubkey.len] = 0;
				json_object_set_new(so, "publicKey",
						    json_string(h));
				free(h);
			}
		}
		json_t *ifs = json_array();
		for (uint32_t j = 0; j < sv->nifaces; j++) {
			json_t *io = json_object();
			json_object_set_new(io, "type",
					    json_string(iface_type_name(
						    sv->ifaces[j].type)));
			json_object_set_new(
				io, "protocol",
				json_string(proto_name(sv->ifaces[j].proto)));
			json_object_set_new(io, "port",
					    json_integer(sv->ifaces[j].port));
			json_array_append_new(ifs, io);
		}
		json_object_set_new(so, "interfaces", ifs);
		json_array_append_new(servers, so);
	}
	json_object_set_new(o, "servers", servers);
	return o;
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
