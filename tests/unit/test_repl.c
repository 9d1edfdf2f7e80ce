/* Replication streams: the bytes a HANDLE.NET 7.3.1 primary sent its
 * mirror (tests/vectors/repl-*.hex) read back item by item with every
 * block's signature checked against the server's key; the request bodies
 * decoded; idnode's writer read back by the same reader (RSA key), and a
 * tampered block refused; idnode's own entries and the hash shares; op
 * 1003 BACKUP_SERVER as HANDLE.NET's hdl-docheckpoint sent it in a
 * session and the reference answered it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "msg.h"
#include "repl.h"
#include "repl_cnri.h"
#include "vector_fixture.h"

typedef struct {
	const uint8_t *p;
	size_t len, at;
} src_t;

static int src_read(void *ctx, uint8_t *buf, size_t n)
{
	src_t *s = ctx;
	if (s->len - s->at < n)
		return IDN_EMALFORMED;
	memcpy(buf, s->p + s->at, n);
	s->at += n;
	return 0;
}

static EVP_PKEY *server_key(void)
{
	size_t n;
	uint8_t *k = load_bin("keys/pubkey.bin", &n);
	EVP_PKEY *key = NULL;
	assert_int_equal(idn_pubkey_load(idn_bytes(k, n), &key), 0);
	free(k);
	return key;
}

/* The stream after a captured response message. */
static uint8_t *stream_of(const char *name, src_t *s, uint32_t *op)
{
	size_t len;
	uint8_t *b = load_hex(name, &len);
	assert_true(len > IDN_ENV_LEN);
	uint32_t ml = idn_get_u32(b + 16);
	assert_true(IDN_ENV_LEN + ml <= len);
	*op = idn_get_u32(b + IDN_ENV_LEN);
	s->p = b + IDN_ENV_LEN + ml;
	s->len = len - IDN_ENV_LEN - ml;
	s->at = 0;
	return b;
}

static void test_retrieve_request(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = load_hex("repl/repl-retrieve-request.hex", &len);
	idn_env_t env;
	idn_msg_t m;
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, 1001);
	idn_repl_req_t q;
	assert_int_equal(idn_repl_req_decode(m.body, true, &q), 0);
	assert_int_equal(q.last_txn, 50);
	assert_true(q.last_date > 1700000000000ull);
	assert_int_equal(q.hash_type, 2);
	assert_int_equal(q.nservers, 1);
	assert_int_equal(q.server_num, 0);
	/* re-encoded byte for byte */
	uint8_t out[64];
	idn_wr_t w;
	idn_wr_init(&w, out, sizeof(out));
	idn_repl_req_encode(&w, true, &q);
	assert_int_equal(w.len, m.body.len);
	assert_memory_equal(out, m.body.p, w.len);
	free(b);
	b = load_hex("repl/repl-dump-request.hex", &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, 1002);
	assert_int_equal(idn_repl_req_decode(m.body, false, &q), 0);
	assert_int_equal(q.hash_type, 2);
	assert_int_equal(q.nservers, 1);
	free(b);
}

static void test_retrieve_streams(void **state)
{
	(void)state;
	EVP_PKEY *key = server_key();
	src_t s;
	uint32_t op;
	idn_cnri_item_t it;
	idn_cnri_rd_t r;

	/* redump needed */
	uint8_t *b =
		stream_of("repl/repl-retrieve-redump-response.hex", &s, &op);
	assert_int_equal(op, 1001);
	idn_cnri_rd_init(&r, src_read, &s, key);
	assert_int_equal(idn_cnri_next(&r, false, true, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_STATUS);
	assert_int_equal(it.status, IDN_REPL_REDUMP);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_END);
	assert_int_equal(s.at, s.len);
	idn_cnri_rd_free(&r);
	free(b);

	/* two creates */
	b = stream_of("repl/repl-retrieve-response.hex", &s, &op);
	idn_cnri_rd_init(&r, src_read, &s, key);
	assert_int_equal(idn_cnri_next(&r, false, true, &it), 0);
	assert_int_equal(it.status, IDN_REPL_SENDING);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
		assert_int_equal(it.kind, IDN_CNRI_ITEM_TXN);
		assert_int_equal(it.txn_id, 51 + i);
		assert_int_equal(it.action, IDN_CNRI_CREATE);
		assert_bytes_str(it.name,
				 i ? "20.500/repl-2" : "20.500/repl-1");
		/* one HS_ADMIN value: u32 1 + the value */
		assert_int_equal(idn_get_u32(it.values.p), 1);
		assert_int_equal(it.values.len, 4 + 55);
	}
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_END);
	assert_true(it.date > 1700000000000ull);
	assert_int_equal(s.at, s.len);
	idn_cnri_rd_free(&r);
	free(b);

	/* a delete: no values */
	b = stream_of("repl/repl-retrieve-delete-response.hex", &s, &op);
	idn_cnri_rd_init(&r, src_read, &s, key);
	assert_int_equal(idn_cnri_next(&r, false, true, &it), 0);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.txn_id, 53);
	assert_int_equal(it.action, IDN_CNRI_DELETE);
	assert_int_equal(it.values.len, 0);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_END);
	idn_cnri_rd_free(&r);
	free(b);
	EVP_PKEY_free(key);
}

static void test_dump_stream(void **state)
{
	(void)state;
	EVP_PKEY *key = server_key();
	src_t s;
	uint32_t op;
	idn_cnri_item_t it;
	idn_cnri_rd_t r;
	uint8_t *b = stream_of("repl/repl-dump-response.hex", &s, &op);
	assert_int_equal(op, 1002);
	idn_cnri_rd_init(&r, src_read, &s, key);
	assert_int_equal(idn_cnri_next(&r, true, true, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_DUMP_START);
	int records = 0, nas = 0;
	for (;;) {
		assert_int_equal(idn_cnri_next(&r, true, false, &it), 0);
		if (it.kind == IDN_CNRI_ITEM_END)
			break;
		if (it.kind == IDN_CNRI_ITEM_RECORD) {
			if (records == 4)
				assert_bytes_str(it.name, "20.500/TEST1");
			assert_true(idn_get_u32(it.values.p) >= 2);
			records++;
		} else {
			assert_int_equal(it.kind, IDN_CNRI_ITEM_NA);
			assert_bytes_str(it.name,
					 nas ? "0.NA/20.500" : "0.NA/0.NA");
			nas++;
		}
	}
	assert_int_equal(records, 7);
	assert_int_equal(nas, 2);
	assert_int_equal(it.txn_id, 50);
	/* one byte follows the last block: 0xff */
	assert_int_equal(s.at + 1, s.len);
	assert_int_equal(s.p[s.at], 0xff);
	idn_cnri_rd_free(&r);

	/* one flipped byte in a record: its signature fails */
	uint8_t *copy = malloc(s.len);
	memcpy(copy, s.p, s.len);
	copy[200] ^= 1;
	src_t t = {copy, s.len, 0};
	idn_cnri_rd_init(&r, src_read, &t, key);
	assert_int_equal(idn_cnri_next(&r, true, true, &it), 0);
	assert_int_equal(idn_cnri_next(&r, true, false, &it), IDN_EAUTH);
	idn_cnri_rd_free(&r);
	free(copy);
	free(b);
	EVP_PKEY_free(key);
}

/* idnode's writer, read back by the reader with an RSA key. */
static void test_writer_round_trip(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_RSA_gen(2048);
	assert_non_null(key);
	static uint8_t buf[8192];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_cnri_stream_begin(&w);
	size_t b0 = w.len;
	idn_wr_u32(&w, 1);
	idn_wr_u32(&w, IDN_REPL_SENDING);
	assert_int_equal(idn_cnri_stream_sign(&w, b0, key), 0);
	/* a create of one value taken from the captured create */
	src_t s;
	uint32_t op;
	uint8_t *cap = stream_of("repl/repl-retrieve-response.hex", &s, &op);
	idn_cnri_rd_t r;
	idn_cnri_item_t it;
	idn_cnri_rd_init(&r, src_read, &s, NULL);
	assert_int_equal(idn_cnri_next(&r, false, true, &it), 0);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	b0 = w.len;
	uint8_t one = 1, act = IDN_CNRI_UPDATE;
	idn_wr_raw(&w, &one, 1);
	idn_wr_u64(&w, 77);
	idn_wr_str(&w, idn_bytes_str("88.118/x"));
	idn_wr_raw(&w, &act, 1);
	idn_wr_u64(&w, 1234);
	assert_int_equal(
		idn_cnri_values_write(
			&w, 1, idn_bytes(it.values.p + 4, it.values.len - 4)),
		0);
	assert_int_equal(idn_cnri_stream_sign(&w, b0, key), 0);
	uint8_t zero = 0;
	b0 = w.len;
	idn_wr_raw(&w, &zero, 1);
	idn_wr_u64(&w, 99);
	assert_int_equal(idn_cnri_stream_sign(&w, b0, key), 0);
	idn_cnri_rd_free(&r);

	src_t t = {buf, w.len, 0};
	idn_cnri_rd_init(&r, src_read, &t, key);
	assert_int_equal(idn_cnri_next(&r, false, true, &it), 0);
	assert_int_equal(it.status, IDN_REPL_SENDING);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.txn_id, 77);
	assert_int_equal(it.action, IDN_CNRI_UPDATE);
	assert_bytes_str(it.name, "88.118/x");
	assert_int_equal(it.values.len, 4 + 55);
	assert_int_equal(idn_cnri_next(&r, false, false, &it), 0);
	assert_int_equal(it.kind, IDN_CNRI_ITEM_END);
	assert_int_equal(it.date, 99);
	idn_cnri_rd_free(&r);
	free(cap);
	EVP_PKEY_free(key);
}

static void test_native_entry_and_shares(void **state)
{
	(void)state;
	uint8_t buf[256];
	idn_wr_t w;
	idn_wr_init(&w, buf, sizeof(buf));
	idn_change_t c = {42,
			  1700000000123ull,
			  IDN_CH_DELETE,
			  idn_bytes_str("operator"),
			  idn_bytes_str("88.118/a"),
			  {NULL, 0}};
	idn_repl_entry_encode(&w, &c);
	idn_rd_t r;
	idn_rd_init(&r, buf, w.len);
	idn_change_t d;
	assert_int_equal(idn_repl_entry_decode(&r, &d), 0);
	assert_int_equal(d.id, 42);
	assert_int_equal(d.time_ms, 1700000000123ull);
	assert_int_equal(d.op, IDN_CH_DELETE);
	assert_bytes_str(d.name, "88.118/a");
	assert_int_equal(idn_rd_left(&r), 0);
	/* a truncated entry */
	idn_rd_init(&r, buf, w.len - 1);
	assert_int_not_equal(idn_repl_entry_decode(&r, &d), 0);
	/* shares: every name in exactly one of 3 servers; by prefix, the
	 * identifiers of one prefix stay together; case does not matter */
	int count[3] = {0};
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "88.%d/x%d", i % 17, i);
		int in = 0;
		for (uint32_t s = 0; s < 3; s++)
			in += idn_repl_in_share(IDN_CH_CREATE,
						idn_bytes_str(name),
						IDN_HASH_BY_ALL, 3, s);
		assert_int_equal(in, 1);
		for (uint32_t s = 0; s < 3; s++)
			count[s] += idn_repl_in_share(IDN_CH_CREATE,
						      idn_bytes_str(name),
						      IDN_HASH_BY_ALL, 3, s);
	}
	assert_true(count[0] > 50 && count[1] > 50 && count[2] > 50);
	for (uint32_t s = 0; s < 4; s++)
		assert_int_equal(idn_repl_in_share(IDN_CH_CREATE,
						   idn_bytes_str("88.118/a"),
						   IDN_HASH_BY_PREFIX, 4, s),
				 idn_repl_in_share(IDN_CH_CREATE,
						   idn_bytes_str("88.118/ZZZ"),
						   IDN_HASH_BY_PREFIX, 4, s));
	assert_int_equal(
		idn_repl_in_share(IDN_CH_CREATE, idn_bytes_str("88.118/abc"),
				  IDN_HASH_BY_ALL, 5, 2),
		idn_repl_in_share(IDN_CH_CREATE, idn_bytes_str("88.118/ABC"),
				  IDN_HASH_BY_ALL, 5, 2));
	for (uint32_t s = 0; s < 5; s++) {
		assert_true(idn_repl_in_share(IDN_CH_INDEX_ADD,
					      idn_bytes_str("EMAIL"),
					      IDN_HASH_BY_ALL, 5, s));
		assert_true(idn_repl_in_share(IDN_CH_HOME,
					      idn_bytes_str("88.118"),
					      IDN_HASH_BY_PREFIX, 5, s));
	}
}

/* Op 1003 as hdl-docheckpoint sends it (repl/backup-server-*.hex): in a
 * session, an identifier body "/", an HS_MAC credential; the reference
 * challenged it (402, op 1003) and, the answer checked, replied rc 1 with
 * an empty body. idnode serves the same op to its server admins. */
static void test_backup_server_messages(void **state)
{
	(void)state;
	size_t len;
	idn_env_t env;
	idn_msg_t m;
	uint8_t *b = load_hex("repl/backup-server-request.hex", &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_BACKUP_SERVER);
	assert_int_equal(m.hdr.rc, 0);
	assert_int_not_equal(env.session_id, 0);
	uint32_t session = env.session_id;
	idn_bytes_t id;
	assert_int_equal(idn_id_body_decode(m.rest, &id), 0);
	assert_int_equal(id.len, 1);
	assert_memory_equal(id.p, "/", 1);
	assert_true(m.has_cred);
	assert_int_equal(m.cred.type.len, 6);
	assert_memory_equal(m.cred.type.p, "HS_MAC", 6);
	free(b);
	b = load_hex("repl/backup-server-challenge.hex", &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_BACKUP_SERVER);
	assert_int_equal(m.hdr.rc, IDN_RC_AUTH_NEEDED);
	assert_int_equal(env.session_id, session);
	free(b);
	b = load_hex("repl/backup-server-answer.hex", &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_CHALLENGE_ANSWER);
	assert_int_equal(env.session_id, session);
	free(b);
	b = load_hex("repl/backup-server-response.hex", &len);
	assert_int_equal(decode_full(b, len, &env, &m), 0);
	assert_int_equal(m.hdr.op, IDN_OC_BACKUP_SERVER);
	assert_int_equal(m.hdr.rc, IDN_RC_SUCCESS);
	assert_int_equal(m.rest.len, 0);
	assert_int_equal(env.session_id, session);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retrieve_request),
		cmocka_unit_test(test_retrieve_streams),
		cmocka_unit_test(test_dump_stream),
		cmocka_unit_test(test_backup_server_messages),
		cmocka_unit_test(test_writer_round_trip),
		cmocka_unit_test(test_native_entry_and_shares),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
