/* The PostgreSQL backend's change log, the reading side (changes.h;
 * store_pg.c has the tables, store_pg_write.c the writing side). Reads run
 * in the read transaction's snapshot, on a replica when there is one. */
#include "store_pg.h"

#include <string.h>

#include "error.h"

static uint64_t u64_at(const PGresult *r, int row, int col, bool *ok)
{
	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8) {
		*ok = false;
		return 0;
	}
	return idn_get_u64((const uint8_t *)PQgetvalue(r, row, col));
}

int idn__pg_changes_bounds(idn_rtxn_t *t, uint64_t *first, uint64_t *next)
{
	PGresult *r = NULL;
	int err = idn__pg_rquery(t, S_CH_BOUNDS, 0, NULL, NULL, &r);
	if (err)
		return err;
	bool ok = PQntuples(r) == 1;
	if (ok) {
		*first = u64_at(r, 0, 0, &ok);
		*next = u64_at(r, 0, 1, &ok);
	}
	PQclear(r);
	return ok && *first >= 1 && *first <= *next ? 0 : IDN_ECORRUPT;
}

#define READ_BATCH 1000u /* entries a query reads */

int idn__pg_changes_read(idn_rtxn_t *t, uint64_t from, uint32_t max,
			 idn_change_cb cb, void *ctx)
{
	uint32_t done = 0;
	for (;;) {
		uint32_t want = READ_BATCH;
		if (max && max - done < want)
			want = max - done;
		if (want == 0)
			return 0;
		uint8_t a[8], b[8];
		idn_put_u64(a, from);
		idn_put_u64(b, want);
		const char *v[2] = {(const char *)a, (const char *)b};
		int l[2] = {8, 8};
		PGresult *r = NULL;
		int err = idn__pg_rquery(t, S_CH_READ, 2, v, l, &r);
		if (err)
			return err;
		int n = PQntuples(r);
		for (int i = 0; i < n && err == 0; i++) {
			bool ok = true;
			idn_change_t c;
			c.id = u64_at(r, i, 0, &ok);
			if (!ok ||
			    idn__change_decode(
				    (const uint8_t *)PQgetvalue(r, i, 1),
				    (size_t)PQgetlength(r, i, 1), &c) != 0) {
				err = IDN_ECORRUPT;
				break;
			}
			err = cb(ctx, &c);
			from = c.id + 1;
			done++;
		}
		PQclear(r);
		if (err)
			return err;
		if ((uint32_t)n < want)
			return 0;
	}
}
