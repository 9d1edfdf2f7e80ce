/* HS_SITE values: building, printing, JSON (site.h). */
#include "site.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "error.h"
#include "msg.h"
#include "net.h"

/* ---- building ---- */

__attribute__((format(printf, 3, 4))) static int why_set(char *why, size_t cap,
							 const char *fmt, ...)
{
	if (why != NULL && cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return IDN_EINVAL;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* One server from "HOST[:PORT]": its address and port into sv (port 0 for
 * a wildcard). Returns 0, 1 when the server is to be left out, or
 * IDN_EINVAL. */
static int parse_server(const idn_site_opts_t *o, const char *item,
			uint8_t addr[16], uint16_t *port, char *why,
			size_t whycap)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	if (*item == '\0' || idn_addr_parse(item, o->default_port, &ss, &sl))
		return why_set(why, whycap,
			       "bad server '%s': expected HOST:PORT (an IPv4 "
			       "or [IPv6] address or localhost, port "
			       "1..65535)",
			       item);
	memset(addr, 0, 16);
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ss;
		memcpy(addr + 12, &v4->sin_addr, 4);
		*port = ntohs(v4->sin_port);
	} else {
		const struct sockaddr_in6 *v6 =
			(const struct sockaddr_in6 *)&ss;
		memcpy(addr, &v6->sin6_addr, 16);
		*port = ntohs(v6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr))
			memset(addr, 0, 12); /* the site layout's IPv4 form */
		else if (!o->listen && all_zero(addr, 12) &&
			 !all_zero(addr + 12, 4))
			return why_set(why, whycap,
				       "bad server '%s': HS_SITE cannot tell "
				       "this IPv6 address from an IPv4 one "
				       "(use 127.0.0.1 for loopback)",
				       item);
	}
	if (all_zero(addr, 16)) {
		if (o->listen)
			return 1; /* a wildcard names no server */
		return why_set(why, whycap,
			       "bad server '%s': a wildcard address is not "
			       "one clients can reach",
			       item);
	}
	if (*port == 0)
		return why_set(why, whycap,
			       "bad server '%s': needs a port (HOST:PORT)",
			       item);
	return 0;
}

int idn_site_build(idn_wr_t *w, const idn_site_opts_t *o,
		   const char *const *servers, size_t n, char *why,
		   size_t whycap)
{
	if (n > IDN_SITE_SERVERS_MAX) {
		why_set(why, whycap, "more than %d servers in one site",
			IDN_SITE_SERVERS_MAX);
		return IDN_ETOOMANY;
	}
	idn_hs_server_t list[IDN_SITE_SERVERS_MAX];
	idn_hs_iface_t ifaces[IDN_SITE_SERVERS_MAX][3];
	uint32_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		idn_hs_server_t *sv = &list[ns];
		memset(sv, 0, sizeof(*sv));
		uint16_t port = 0;
		int rc = parse_server(o, servers[i], sv->addr, &port, why,
				      whycap);
		if (rc < 0)
			return rc;
		if (rc > 0)
			continue;
		sv->id = ns + 1;
		sv->pubkey = o->pubkey;
		idn_hs_iface_t *f = ifaces[ns];
		if (o->own) {
			f[0] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_TCP,
						port};
			f[1] = (idn_hs_iface_t){IDN_IF_QUERY, IDN_PROTO_UDP,
						port};
			f[2] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_HTTP,
						o->http_port};
			bool http = o->http_port != 0 &&
				    (all_zero(o->http_addr, 16) ||
				     memcmp(o->http_addr, sv->addr, 16) == 0);
			sv->nifaces = http ? 3 : 2;
		} else {
			f[0] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_UDP,
						port};
			f[1] = (idn_hs_iface_t){IDN_IF_BOTH, IDN_PROTO_TCP,
						port};
			sv->nifaces = 2;
		}
		sv->ifaces = f;
		ns++;
	}
	idn_hs_attr_t attr = {idn_bytes_str("desc"), idn_bytes_str(o->desc)};
	idn_hs_site_t site = {
		.version = 1,
		.major = IDN_PROTO_MAJOR,
		.minor = IDN_PROTO_MINOR,
		.serial = o->serial,
		.flags = o->flags,
		.hash_option = IDN_HASH_PREFIX,
		.hash_filter = idn_bytes("", 0),
		.nattrs = 1,
		.attrs = &attr,
		.nservers = ns,
		.servers = list,
	};
	idn_hs_site_encode(w, &site);
	if (w->err)
		why_set(why, whycap, "site too large");
	return w->err;
}

/* ---- printing ---- */

void idn_site_addr_format(const uint8_t addr[16], char *out, size_t cap)
{
	char buf[INET6_ADDRSTRLEN];
	if (all_zero(addr, 12))
		inet_ntop(AF_INET, addr + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, addr, buf, sizeof(buf));
	snprintf(out, cap, "%s", buf);
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
	idn_site_addr_format(addr, host, sizeof(host));
	if (strchr(host, ':'))
		fprintf(f, "[%s]:%u", host, port);
	else
		fprintf(f, "%s:%u", host, port);
}

/* "HOST:PORT udp/tcp" for each distinct port of sv; *first tracks the
 * separator between entries. */
static void print_server(FILE *f, const idn_hs_server_t *sv, bool *first)
{
	if (sv->nifaces == 0) {
		fprintf(f, "%s", *first ? "" : ", ");
		print_hostport(f, sv->addr, 0);
		fprintf(f, " (no interfaces)");
		*first = false;
	}
	for (uint32_t j = 0; j < sv->nifaces; j++) {
		uint32_t port = sv->ifaces[j].port;
		bool seen = false;
		for (uint32_t k = 0; k < j; k++)
			seen |= sv->ifaces[k].port == port;
		if (seen)
			continue;
		fprintf(f, "%s", *first ? "" : ", ");
		*first = false;
		print_hostport(f, sv->addr, port);
		const char *sep = " ";
		for (uint32_t k = j; k < sv->nifaces; k++) {
			if (sv->ifaces[k].port != port)
				continue;
			fprintf(f, "%s%s", sep,
				proto_name(sv->ifaces[k].proto));
			if (sv->ifaces[k].type != IDN_IF_BOTH)
				fprintf(f, "(%s)",
					iface_type_name(sv->ifaces[k].type));
			sep = "/";
		}
	}
}

void idn_site_print_servers(FILE *f, const idn_hs_site_t *s)
{
	bool first = true;
	for (uint32_t i = 0; i < s->nservers; i++)
		print_server(f, &s->servers[i], &first);
	if (first)
		fprintf(f, "(no servers)");
}

void idn_site_print(FILE *f, const idn_hs_site_t *s)
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
	idn_site_print_servers(f, s);
}

/* ---- JSON ---- */

static json_t *jtext(idn_bytes_t b)
{
	json_t *j = json_stringn((const char *)b.p, b.len);
	return j ? j : json_string("");
}

static json_t *jb64(idn_bytes_t b)
{
	char *s = idn_base64(b.p, b.len);
	if (s == NULL)
		return json_null();
	json_t *j = json_string(s);
	free(s);
	return j;
}

static const char *json_proto_name(uint8_t p)
{
	switch (p) {
	case IDN_PROTO_UDP:
		return "UDP";
	case IDN_PROTO_TCP:
		return "TCP";
	case IDN_PROTO_HTTP:
		return "HTTP";
	case IDN_PROTO_HTTPS:
		return "HTTPS";
	default:
		return "?";
	}
}

/* handle.net writes IPv6 as eight groups, uncompressed (Java's
 * Inet6Address.getHostAddress). */
static void json_addr(const uint8_t addr[16], char out[48])
{
	if (all_zero(addr, 12)) {
		snprintf(out, 48, "%u.%u.%u.%u", addr[12], addr[13], addr[14],
			 addr[15]);
		return;
	}
	char *p = out;
	for (int k = 0; k < 16; k += 2)
		p += sprintf(p, "%s%x", k ? ":" : "",
			     (unsigned)(addr[k] << 8 | addr[k + 1]));
}

static json_t *server_json(const idn_hs_server_t *sv)
{
	json_t *so = json_object();
	char host[48];
	json_addr(sv->addr, host);
	json_object_set_new(so, "serverId", json_integer(sv->id));
	json_object_set_new(so, "address", json_string(host));
	if (sv->pubkey.len) {
		json_t *pk = json_object();
		json_object_set_new(pk, "format", json_string("base64"));
		json_object_set_new(pk, "value", jb64(sv->pubkey));
		json_object_set_new(so, "publicKey", pk);
	}
	json_t *ifs = json_array();
	for (uint32_t k = 0; k < sv->nifaces; k++) {
		json_t *io = json_object();
		uint8_t ty = sv->ifaces[k].type;
		json_object_set_new(io, "query",
				    json_boolean(ty & IDN_IF_QUERY));
		json_object_set_new(io, "admin",
				    json_boolean(ty & IDN_IF_ADMIN));
		json_object_set_new(
			io, "protocol",
			json_string(json_proto_name(sv->ifaces[k].proto)));
		json_object_set_new(io, "port",
				    json_integer(sv->ifaces[k].port));
		json_array_append_new(ifs, io);
	}
	json_object_set_new(so, "interfaces", ifs);
	return so;
}

json_t *idn_site_json(const idn_hs_site_t *s)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	char ver[16];
	snprintf(ver, sizeof(ver), "%u.%u", s->major, s->minor);
	json_object_set_new(o, "version", json_integer(s->version));
	json_object_set_new(o, "protocolVersion", json_string(ver));
	json_object_set_new(o, "serialNumber", json_integer(s->serial));
	json_object_set_new(o, "primaryMask",
			    json_integer(s->flags & (IDN_SITE_PRIMARY |
						     IDN_SITE_MULTI_PRIMARY)));
	json_object_set_new(o, "hashOption", json_integer(s->hash_option));
	json_object_set_new(o, "hashFilter", jtext(s->hash_filter));
	json_t *attrs = json_array();
	for (uint32_t i = 0; i < s->nattrs; i++) {
		json_t *a = json_object();
		json_object_set_new(a, "name", jtext(s->attrs[i].name));
		json_object_set_new(a, "value", jtext(s->attrs[i].value));
		json_array_append_new(attrs, a);
	}
	json_object_set_new(o, "attributes", attrs);
	json_t *servers = json_array();
	for (uint32_t i = 0; i < s->nservers; i++)
		json_array_append_new(servers, server_json(&s->servers[i]));
	json_object_set_new(o, "servers", servers);
	return o;
}
