/* Fuzz target: the search request of op 1103 (idn_search_req_decode and
 * idn_search_from_req: prefix, cursor), the time parameters, and the value
 * walks the search backends run over stored values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "ident.h"
#include "search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	idn_search_req_t rq;
	if (idn_search_req_decode(idn_bytes(data, size), &rq) == 0) {
		static uint8_t pbuf[IDN_IDENT_MAX], cbuf[IDN_SEARCH_CURSOR_MAX];
		idn_search_t q;
		uint32_t page;
		const char *why;
		int err = idn_search_from_req(&rq, true, pbuf, cbuf, &q, &page,
					      &why);
		if (err == 0 && (page == 0 || page > IDN_SEARCH_PAGE_MAX ||
				 q.prefix.len >= IDN_IDENT_MAX ||
				 q.cursor.len > IDN_SEARCH_CURSOR_MAX ||
				 (q.type.len == 0 && q.data.len)))
			abort();
		if (err != 0 && (err != IDN_EINVAL || why == NULL))
			abort();
		/* what was encoded decodes to the same */
		static uint8_t wb[IDN_MSG_MAX];
		idn_wr_t w;
		idn_wr_init(&w, wb, sizeof(wb));
		idn_search_req_encode(&w, &rq);
		if (w.err == 0 && (w.len != size || memcmp(wb, data, size)))
			abort();
	}
	/* the input as a time parameter */
	char text[64];
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
	memcpy(text, data, n);
	text[n] = 0;
	uint32_t t;
	idn_search_time_parse(text, &t);
	/* the input as a values section of 1 to 4 values */
	for (uint32_t k = 1; k <= 4; k++) {
		int64_t ct = idn__values_ctime(idn_bytes(data, size), k);
		int m = idn__values_match(idn_bytes(data, size), k,
					  idn_bytes_str("URL"),
					  idn_bytes_str("x"), true);
		if ((ct < 0 && ct != IDN_ECORRUPT) ||
		    (m < 0 && m != IDN_ECORRUPT) || m > 1)
			abort();
	}
	return 0;
}
