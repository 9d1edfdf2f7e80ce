/* Registrations and resolutions by industry and region (activity.h). */
#include "activity.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tplcheck.h"
#include "value.h"
#include "wire.h"

#define CACHE_SLOTS 256
#define CACHE_KEY_MAX 192
#define UNKNOWN_IND (ACT_INDUSTRIES - 1)
#define UNKNOWN_REG (ACT_REGIONS - 1)

static const char *const ind_names[ACT_INDUSTRIES] = {
	"农、林、牧、渔业",
	"采矿业",
	"制造业",
	"电力、热力、燃气及水生产和供应业",
	"建筑业",
	"批发和零售业",
	"交通运输、仓储和邮政业",
	"住宿和餐饮业",
	"信息传输、软件和信息技术服务业",
	"金融业",
	"房地产业",
	"租赁和商务服务业",
	"科学研究和技术服务业",
	"水利、环境和公共设施管理业",
	"居民服务、修理和其他服务业",
	"教育",
	"卫生和社会工作",
	"文化、体育和娱乐业",
	"公共管理、社会保障和社会组织",
	"国际组织",
	"unknown",
};

static const char *const ind_codes[ACT_INDUSTRIES] = {
	"A", "B", "C", "D", "E", "F", "G", "H", "I", "J",      "K",
	"L", "M", "N", "O", "P", "Q", "R", "S", "T", "unknown"};

/* GB/T 2260 province-level divisions. */
static const struct {
	const char *code, *name;
} regions[ACT_REGIONS] = {
	{"110000", "北京市"},		{"120000", "天津市"},
	{"130000", "河北省"},		{"140000", "山西省"},
	{"150000", "内蒙古自治区"},	{"210000", "辽宁省"},
	{"220000", "吉林省"},		{"230000", "黑龙江省"},
	{"310000", "上海市"},		{"320000", "江苏省"},
	{"330000", "浙江省"},		{"340000", "安徽省"},
	{"350000", "福建省"},		{"360000", "江西省"},
	{"370000", "山东省"},		{"410000", "河南省"},
	{"420000", "湖北省"},		{"430000", "湖南省"},
	{"440000", "广东省"},		{"450000", "广西壮族自治区"},
	{"460000", "海南省"},		{"500000", "重庆市"},
	{"510000", "四川省"},		{"520000", "贵州省"},
	{"530000", "云南省"},		{"540000", "西藏自治区"},
	{"610000", "陕西省"},		{"620000", "甘肃省"},
	{"630000", "青海省"},		{"640000", "宁夏回族自治区"},
	{"650000", "新疆维吾尔自治区"}, {"710000", "台湾省"},
	{"810000", "香港特别行政区"},	{"820000", "澳门特别行政区"},
	{"unknown", "unknown"},
};

typedef struct {
	uint32_t expires; /* 0: empty */
	uint16_t klen;
	int8_t ind, reg;
	uint8_t key[CACHE_KEY_MAX];
} slot_t;

struct activity {
	act_counts_t c;
	uint64_t pend_ind[ACT_INDUSTRIES], pend_reg[ACT_REGIONS];
	bool pending;
	slot_t cache[CACHE_SLOTS];
	idn_ident_t tid; /* template identifier being looked up */
};

typedef int (*get_fn)(void *t, const uint8_t *key, size_t len,
		      idn_record_t *out);

activity_t *act_new(void)
{
	return calloc(1, sizeof(activity_t));
}

void act_free(activity_t *a)
{
	free(a);
}

const act_counts_t *act_counts(const activity_t *a)
{
	return &a->c;
}

void act_counts_add(act_counts_t *to, const act_counts_t *from)
{
	for (int k = 0; k < ACT_KINDS; k++) {
		for (int i = 0; i < ACT_INDUSTRIES; i++)
			atomic_fetch_add_explicit(
				&to->industry[k][i],
				atomic_load_explicit(&from->industry[k][i],
						     memory_order_relaxed),
				memory_order_relaxed);
		for (int i = 0; i < ACT_REGIONS; i++)
			atomic_fetch_add_explicit(
				&to->region[k][i],
				atomic_load_explicit(&from->region[k][i],
						     memory_order_relaxed),
				memory_order_relaxed);
	}
}

const char *act_industry_code(int i)
{
	return i >= 0 && i < ACT_INDUSTRIES ? ind_codes[i] : "unknown";
}

const char *act_industry_name(int i)
{
	return i >= 0 && i < ACT_INDUSTRIES ? ind_names[i] : "unknown";
}

const char *act_region_code(int i)
{
	return i >= 0 && i < ACT_REGIONS ? regions[i].code : "unknown";
}

const char *act_region_name(int i)
{
	return i >= 0 && i < ACT_REGIONS ? regions[i].name : "unknown";
}

int act_region_index(const uint8_t *p, size_t n)
{
	if (n != 6)
		return UNKNOWN_REG;
	for (size_t i = 0; i < 6; i++)
		if (p[i] < '0' || p[i] > '9')
			return UNKNOWN_REG;
	for (int i = 0; i < UNKNOWN_REG; i++)
		if (!memcmp(regions[i].code, p, 2))
			return i;
	return UNKNOWN_REG;
}

int act_industry_index(const uint8_t *p, size_t n)
{
	if (n == 0 || p[0] < 'A' || p[0] > 'T' || (n > 1 && p[1] != '/'))
		return UNKNOWN_IND;
	return p[0] - 'A';
}

/* The data of the first value of rec (encoded values) that has the given
 * index (0: any) and type; length 0 when there is none. */
static idn_bytes_t find_value(const idn_record_t *rec, uint32_t index,
			      const char *type)
{
	idn_rd_t rd;
	idn_rd_init(&rd, rec->values.p, rec->values.len);
	idn_bytes_t want = idn_bytes_str(type);
	for (uint32_t i = 0; i < rec->nvalues; i++) {
		uint32_t vi = idn_rd_u32(&rd);
		idn_rd_raw(&rd, 4 + 1 + 4 + 1); /* timestamp, ttl, perms */
		idn_bytes_t vt = idn_rd_str(&rd, IDN_TYPE_MAX);
		idn_bytes_t data = idn_rd_str(&rd, UINT32_MAX);
		uint32_t nrefs = idn_rd_count(&rd, IDN_REFS_MAX, 8);
		for (uint32_t k = 0; k < nrefs && !rd.err; k++) {
			idn_rd_str(&rd, IDN_IDENT_MAX);
			idn_rd_u32(&rd);
		}
		if (rd.err)
			break;
		if ((index == 0 || vi == index) && idn_type_matches(vt, want))
			return data;
		if (index != 0 && vi > index)
			break; /* values are stored by ascending index */
	}
	return idn_bytes(NULL, 0);
}

/* Section of the industry class in an encoded template (template.h:
 * magic, 4 header bytes, prefix, name, version, industry). */
static int template_industry(idn_bytes_t tpl)
{
	idn_rd_t rd;
	idn_rd_init(&rd, tpl.p, tpl.len);
	const uint8_t *magic = idn_rd_raw(&rd, 4);
	idn_rd_raw(&rd, 4);
	idn_rd_str(&rd, UINT32_MAX);
	idn_rd_str(&rd, UINT32_MAX);
	idn_rd_u32(&rd);
	idn_bytes_t ind = idn_rd_str(&rd, UINT32_MAX);
	if (rd.err || memcmp(magic, "IDNT", 4))
		return UNKNOWN_IND;
	return act_industry_index(ind.p, ind.len);
}

static int lookup_industry(activity_t *a, unsigned flags, const uint8_t *pfx,
			   size_t plen, idn_bytes_t ref, get_fn get, void *t)
{
	const uint8_t *at = memchr(ref.p, '@', ref.len);
	if (at == NULL || at == ref.p)
		return UNKNOWN_IND;
	size_t nlen = (size_t)(at - ref.p);
	uint32_t version = 0;
	for (const uint8_t *q = at + 1; q < ref.p + ref.len; q++) {
		if (*q < '0' || *q > '9' || version > TPL_VERSION_MAX)
			return UNKNOWN_IND;
		version = version * 10 + (uint32_t)(*q - '0');
	}
	uint8_t text[IDN_IDENT_MAX];
	size_t sl = strlen(TPL_SUFFIX);
	if (version == 0 || version > TPL_VERSION_MAX ||
	    plen + 1 + sl + nlen > sizeof(text))
		return UNKNOWN_IND;
	memcpy(text, pfx, plen);
	text[plen] = '/';
	memcpy(text + plen + 1, TPL_SUFFIX, sl);
	memcpy(text + plen + 1 + sl, ref.p, nlen);
	if (idn_ident_parse(text, plen + 1 + sl + nlen, flags, &a->tid) != 0)
		return UNKNOWN_IND;
	idn_record_t rec;
	if (get(t, a->tid.key, a->tid.key_len, &rec) != 0)
		return UNKNOWN_IND;
	return template_industry(find_value(&rec, version, TPL_TYPE));
}

static int lookup_region(const uint8_t *pfx, size_t plen, get_fn get, void *t)
{
	uint8_t key[5 + IDN_IDENT_MAX];
	if (plen > IDN_IDENT_MAX)
		return UNKNOWN_REG;
	memcpy(key, "0.NA/", 5);
	memcpy(key + 5, pfx, plen);
	idn_record_t rec;
	if (get(t, key, 5 + plen, &rec) != 0)
		return UNKNOWN_REG;
	idn_bytes_t code = find_value(&rec, 0, "REGION");
	return act_region_index(code.p, code.len);
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Industry and region of record rec of id; *ind and *reg get the indexes. */
static void classify(activity_t *a, uint32_t now, unsigned flags,
		     const idn_ident_t *id, idn_bytes_t ref, get_fn get,
		     void *t, int *ind, int *reg)
{
	/* the prefix as normalised (upper-cased): one slot per prefix and
	 * template binding (ref: the record's template reference, if any) */
	const uint8_t *pfx = id->key;
	size_t plen = id->prefix_len;
	uint8_t key[CACHE_KEY_MAX];
	size_t klen = plen + 1 + ref.len;
	slot_t *s = NULL;
	if (klen <= sizeof(key)) {
		memcpy(key, pfx, plen);
		key[plen] = '|';
		if (ref.len)
			memcpy(key + plen + 1, ref.p, ref.len);
		s = &a->cache[fnv(key, klen) % CACHE_SLOTS];
		if (s->expires > now && s->klen == klen &&
		    !memcmp(s->key, key, klen)) {
			*ind = s->ind;
			*reg = s->reg;
			return;
		}
	}
	*ind = ref.len ? lookup_industry(a, flags, pfx, plen, ref, get, t)
		       : UNKNOWN_IND;
	*reg = lookup_region(pfx, plen, get, t);
	if (s != NULL) {
		memcpy(s->key, key, klen);
		s->klen = (uint16_t)klen;
		s->ind = (int8_t)*ind;
		s->reg = (int8_t)*reg;
		s->expires = now + ACT_CACHE_SECONDS;
	}
}

static int rget(void *t, const uint8_t *key, size_t len, idn_record_t *out)
{
	return idn_store_get(t, key, len, out);
}

static int wget(void *t, const uint8_t *key, size_t len, idn_record_t *out)
{
	return idn_wtxn_get(t, key, len, out);
}

void act_resolved(activity_t *a, uint32_t now, unsigned flags,
		  const idn_ident_t *id, idn_bytes_t ref, idn_rtxn_t *t)
{
	if (a == NULL)
		return;
	int ind, reg;
	classify(a, now, flags, id, ref, rget, t, &ind, &reg);
	atomic_fetch_add_explicit(&a->c.industry[ACT_RESOLVE][ind], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&a->c.region[ACT_RESOLVE][reg], 1,
				  memory_order_relaxed);
}

void act_registered(activity_t *a, uint32_t now, unsigned flags,
		    const idn_ident_t *id, const idn_value_t *v, uint32_t nv,
		    idn_wtxn_t *t)
{
	if (a == NULL)
		return;
	idn_bytes_t ref = idn_bytes(NULL, 0);
	idn_bytes_t want = idn_bytes_str(TPL_REF_TYPE);
	for (uint32_t i = 0; i < nv; i++)
		if (v[i].index == TPL_REF_INDEX &&
		    idn_type_matches(v[i].type, want)) {
			ref = v[i].data;
			break;
		}
	int ind, reg;
	classify(a, now, flags, id, ref, wget, t, &ind, &reg);
	a->pend_ind[ind]++;
	a->pend_reg[reg]++;
	a->pending = true;
}

void act_commit(activity_t *a)
{
	if (a == NULL || !a->pending)
		return;
	for (int i = 0; i < ACT_INDUSTRIES; i++)
		if (a->pend_ind[i])
			atomic_fetch_add_explicit(
				&a->c.industry[ACT_REGISTER][i], a->pend_ind[i],
				memory_order_relaxed);
	for (int i = 0; i < ACT_REGIONS; i++)
		if (a->pend_reg[i])
			atomic_fetch_add_explicit(&a->c.region[ACT_REGISTER][i],
						  a->pend_reg[i],
						  memory_order_relaxed);
	act_discard(a);
}

void act_discard(activity_t *a)
{
	if (a == NULL)
		return;
	memset(a->pend_ind, 0, sizeof(a->pend_ind));
	memset(a->pend_reg, 0, sizeof(a->pend_reg));
	a->pending = false;
}
