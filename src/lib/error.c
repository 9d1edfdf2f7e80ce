#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const texts[] = {
	[IDN_EMALFORMED - IDN_ERR_BASE] = "malformed or truncated encoding",
	[IDN_ETOOLONG - IDN_ERR_BASE] = "length exceeds limit",
	[IDN_EUTF8 - IDN_ERR_BASE] = "invalid UTF-8",
	[IDN_EIDENT - IDN_ERR_BASE] = "invalid identifier",
	[IDN_ENOTFOUND - IDN_ERR_BASE] = "identifier not found",
	[IDN_EEXISTS - IDN_ERR_BASE] = "identifier already exists",
	[IDN_EVALNOTFOUND - IDN_ERR_BASE] = "value not found",
	[IDN_EVALEXISTS - IDN_ERR_BASE] = "value already exists",
	[IDN_EVALUE - IDN_ERR_BASE] = "invalid value",
	[IDN_ETOOMANY - IDN_ERR_BASE] = "too many values",
	[IDN_ENOSPACE - IDN_ERR_BASE] = "no space left in store",
	[IDN_EVERSION - IDN_ERR_BASE] = "unsupported protocol version",
	[IDN_EUNSUPPORTED - IDN_ERR_BASE] = "operation not supported",
	[IDN_ENOTHOMED - IDN_ERR_BASE] = "prefix not homed on this node",
	[IDN_ESTORE - IDN_ERR_BASE] = "storage backend failure",
	[IDN_ECORRUPT - IDN_ERR_BASE] = "stored data is corrupt",
	[IDN_ETIMEOUT - IDN_ERR_BASE] = "timed out",
	[IDN_EPROTO - IDN_ERR_BASE] = "protocol error from peer",
	[IDN_EINVAL - IDN_ERR_BASE] = "invalid argument",
	[IDN_EAUTH - IDN_ERR_BASE] = "authentication failed",
	[IDN_ENOTINDEXED - IDN_ERR_BASE] = "type is not indexed",
	[IDN_EREADONLY - IDN_ERR_BASE] = "store is open read-only",
	[IDN_EUNKNOWN_OUTCOME - IDN_ERR_BASE] =
		"the write may or may not have been applied: resolve the "
		"identifier before retrying",
	[IDN_ENOPRIMARY - IDN_ERR_BASE] = "primary unavailable; read-only",
};

const char *idn_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err >= IDN_ERR_BASE && err < IDN_ERR_LAST) {
		const char *t = texts[err - IDN_ERR_BASE];
		return t ? t : "unknown error";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}

int idn__fail(idn__errbuf_t *e, int code, const char *fmt, ...)
{
	if (e->buf != NULL && e->cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->buf, e->cap, fmt, ap);
		va_end(ap);
	}
	return code;
}
