// SPDX-License-Identifier: MIT
/*
 * Ledger unit tests: the strict decoder, the merge rules as tables, first-claim
 * conflicts, caps, the local owner API, leases renewed at half their own TTL (up to the
 * 24 h cap), order-independence of the merge over random
 * orders, state hash and block ring, and no allocation in steady state.
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/ledger.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif

#ifdef HAVE_ASAN
/* From the sanitizer runtime (its header is not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#ifndef HAVE_ASAN
/* Counts every allocation made by the process (interposes glibc's malloc family). */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
static volatile unsigned long nalloc;
void *malloc(size_t n)
{
	nalloc++;
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	nalloc++;
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	nalloc++;
	return __libc_realloc(p, n);
}
#endif

#define T0 1700000000000ULL /* a fake "now", unix ms */
#define MIN_MS 60000ULL

static struct nt_identity ids[6];

static void ids_init(void)
{
	for (size_t i = 0; i < 6; i++) {
		uint8_t seed[32] = { (uint8_t)(i + 1), 'l', 'e', 'd' };
		if (ids[i].ed_sk)
			continue;
		ids[i].ed_sk = sodium_malloc(64);
		assert_non_null(ids[i].ed_sk);
		crypto_sign_seed_keypair(ids[i].ed_pk, ids[i].ed_sk, seed);
	}
}

/* Builds a signed entry the way docs/ledger.md describes it, independently of ledger.c. */
static size_t make_entry(uint8_t *buf, size_t cap, const struct nt_identity *signer,
			 const uint8_t *owner, const char *bucket, const char *key, const char *value,
			 uint64_t version, uint64_t claimed, uint64_t expires, uint8_t flags)
{
	static const char ctx[16] = "netron ledger v1";
	uint8_t zsig[64] = { 0 }, msg[16 + 2048];
	struct nt_ledger_entry e = {
		.bucket = bucket,
		.key = key,
		.value = (const uint8_t *)value,
		.owner = owner ? owner : signer->ed_pk,
		.sig = zsig,
		.version = version,
		.claimed_at = claimed,
		.expires_at = expires,
		.value_len = (uint16_t)strlen(value),
		.bucket_len = (uint8_t)strlen(bucket),
		.key_len = (uint8_t)strlen(key),
		.flags = flags,
	};
	ssize_t n = nt_ledger_entry_encode(&e, buf, cap);

	assert_true(n > 64);
	memcpy(msg, ctx, 16);
	memcpy(msg + 16, buf, (size_t)n - 64);
	crypto_sign_detached(buf + n - 64, NULL, msg, 16 + (size_t)n - 64, signer->ed_sk);
	return (size_t)n;
}

static struct nt_ledger *ledger_new(uint32_t cap, uint32_t per_owner)
{
	struct nt_ledger_cfg cfg = { .capacity = cap, .max_per_owner = per_owner };
	struct nt_ledger *l;

	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	return l;
}

static void test_decode_table(void **state)
{
	uint8_t good[512], buf[520];
	struct nt_ledger_entry e;
	size_t n;

	(void)state;
	ids_init();
	n = make_entry(good, sizeof(good), &ids[0], NULL, "machines", "10.1.0.1", "hello", 7, T0,
		       T0 + MIN_MS, 0);
	assert_true(nt_ledger_entry_decode(good, n, &e));
	assert_int_equal(e.version, 7);
	assert_int_equal(e.claimed_at, T0);
	assert_int_equal(e.expires_at, T0 + MIN_MS);
	assert_int_equal(e.value_len, 5);
	assert_memory_equal(e.value, "hello", 5);
	assert_memory_equal(e.owner, ids[0].ed_pk, 32);
	{
		ssize_t m = nt_ledger_entry_encode(&e, buf, sizeof(buf));
		assert_int_equal(m, (ssize_t)n);
		assert_memory_equal(buf, good, n);
		assert_int_equal(nt_ledger_entry_encode(&e, buf, n - 1), -ENOSPC);
	}
	/* Every proper prefix is rejected, and so is one trailing byte. */
	for (size_t k = 0; k < n; k++)
		assert_false(nt_ledger_entry_decode(good, k, &e));
	memcpy(buf, good, n);
	buf[n] = 0;
	assert_false(nt_ledger_entry_decode(buf, n + 1, &e));

	/* Offsets: 0 format, 1 flags, 2 bucket_len, 3.. "machines", 11 key_len, 12.. key,
	 * 20 value_len (2), 22.. value, 27 owner, 59 version, 67 claimed, 75 expires, 83 sig */
	static const struct {
		size_t off;
		uint8_t val;
	} cases[] = {
		{ 0, 2 }, /* 1: unknown format */
		{ 1, 2 }, /* 2: unknown flag */
		{ 1, 1 }, /* 3: tombstone with a value */
		{ 2, 0 }, /* 4: empty bucket */
		{ 2, 33 }, /* 5: bucket too long / length mismatch */
		{ 3, 'M' }, /* 6: uppercase bucket */
		{ 3, '/' }, /* 7: bucket character outside [a-z0-9._-] */
		{ 11, 0 }, /* 8: empty key */
		{ 11, 200 }, /* 9: key running past the end */
		{ 12, ' ' }, /* 10: space in key */
		{ 12, 0x7f }, /* 11: DEL in key */
		{ 20, 0x01 }, /* 12: value length past the end */
		{ 21, 4 }, /* 13: value length short: trailing bytes */
		{ 66, 0 }, /* 14: version 0 (with byte 59.. zero below) */
		{ 74, 0xff }, /* 15: claimed_at > expires_at */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(buf, good, n);
		buf[cases[i].off] = cases[i].val;
		if (i == 13) /* version: zero all 8 bytes */
			memset(buf + 59, 0, 8);
		if (i == 14)
			memset(buf + 67, 0xff, 8);
		if (nt_ledger_entry_decode(buf, n, &e))
			fail_msg("decode case %zu accepted", i + 1);
	}
}

enum mutation { M_NONE, M_FLIP_SIG, M_FLIP_VALUE, M_GARBAGE };

struct rule_case {
	int signer, owner; /* ids index; owner -1: the signer */
	const char *bucket, *key, *value;
	uint64_t version;
	int64_t claimed_off, expires_off; /* relative to the step's now */
	uint8_t flags;
	enum mutation mut;
	enum nt_ledger_verdict want;
};

static void test_rules_table(void **state)
{
	static char big[1200];
	static const struct rule_case cases[] = {
		/* 1 */ { 0, -1, "machines", "10.1.0.1", "a", 1, 0, 60000, 0, M_NONE, NT_LEDGER_ADDED },
		/* 2 */ { 0, -1, "machines", "10.1.0.1", "a", 1, 0, 60000, 0, M_NONE, NT_LEDGER_DUPLICATE },
		/* 3 */ { 0, -1, "machines", "10.1.0.1", "b", 2, 0, 60000, 0, M_NONE, NT_LEDGER_UPDATED },
		/* 4 */ { 0, -1, "machines", "10.1.0.1", "a", 1, 0, 60000, 0, M_NONE, NT_LEDGER_REJ_REPLAY },
		/* 5 */ { 0, -1, "machines", "10.1.0.1", "c", 3, 0, 60000, 0, M_FLIP_SIG, NT_LEDGER_REJ_SIGNATURE },
		/* 6 */ { 0, -1, "machines", "10.1.0.1", "c", 3, 0, 60000, 0, M_FLIP_VALUE, NT_LEDGER_REJ_SIGNATURE },
		/* 7 */ { 1, 0, "machines", "10.1.0.1", "evil", 9, 0, 60000, 0, M_NONE, NT_LEDGER_REJ_SIGNATURE },
		/* 8 */ { 0, -1, "services", "web", "x", 1, -1000, 0, 0, M_NONE, NT_LEDGER_REJ_EXPIRED },
		/* 9: the default max TTL (24 h) + skew (60 s), plus 1 ms */
		/* 9 */ { 0, -1, "services", "web", "x", 1, 0, 86460001, 0, M_NONE, NT_LEDGER_REJ_TTL },
		/* 10 */ { 0, -1, "services", "web", "x", 1, 0, 86460000, 0, M_NONE, NT_LEDGER_ADDED },
		/* 11 */ { 0, -1, "services", "web2", "x", 1, 60001, 120000, 0, M_NONE, NT_LEDGER_REJ_FUTURE_CLAIM },
		/* 12 */ { 0, -1, "services", "big", big, 1, 0, 60000, 0, M_NONE, NT_LEDGER_REJ_TOO_LARGE },
		/* 13 */ { 0, -1, "services", "k", "", 1, 0, 60000, 0, M_GARBAGE, NT_LEDGER_REJ_MALFORMED },
		/* 14 */ { 1, -1, "machines", "10.1.0.1", "later", 1, 5, 60000, 0, M_NONE, NT_LEDGER_ADDED },
		/* 15 */ { 0, -1, "machines", "10.1.0.1", "", 4, 0, 60000, NT_LEDGER_F_TOMBSTONE, M_NONE, NT_LEDGER_UPDATED },
		/* 16 */ { 0, -1, "machines", "10.1.0.1", "a", 3, 0, 60000, 0, M_NONE, NT_LEDGER_REJ_REPLAY },
		/* 17 */ { 2, -1, "dns", "host.example", "10.1.0.3", 1, 0, 30000, 0, M_NONE, NT_LEDGER_ADDED },
	};
	struct nt_ledger *l;
	struct nt_ledger_stats st;
	uint8_t buf[2048];

	(void)state;
	ids_init();
	memset(big, 'v', 769);
	big[769] = '\0';
	l = ledger_new(64, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rule_case *c = &cases[i];
		uint64_t now = T0; /* offsets are relative to it */
		size_t n = make_entry(buf, sizeof(buf), &ids[c->signer],
				      c->owner < 0 ? NULL : ids[c->owner].ed_pk, c->bucket, c->key,
				      c->value, c->version, now + (uint64_t)c->claimed_off,
				      now + (uint64_t)c->expires_off, c->flags);
		enum nt_ledger_verdict v;

		if (c->mut == M_FLIP_SIG)
			buf[n - 1] ^= 1;
		else if (c->mut == M_FLIP_VALUE)
			buf[n - 64 - 57] ^= 1; /* the value's last byte */
		else if (c->mut == M_GARBAGE)
			n = 7;
		v = nt_ledger_insert(l, buf, n, now);
		if (v != c->want)
			fail_msg("rule case %zu: got %s, want %s", i + 1, nt_ledger_verdict_str(v),
				 nt_ledger_verdict_str(c->want));
	}
	/* Case 14's later claim by ids[1] never changed the effective entry; case 15's
	 * tombstone removed ids[0]'s claim, so the competing one is effective now. */
	{
		const struct nt_ledger_entry *e = nt_ledger_get(l, "machines", "10.1.0.1");
		assert_non_null(e);
		assert_memory_equal(e->owner, ids[1].ed_pk, 32);
		assert_memory_equal(e->value, "later", 5);
	}
	nt_ledger_stats_get(l, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.verdicts[NT_LEDGER_REJ_SIGNATURE], 3);
	assert_int_equal(st.verdicts[NT_LEDGER_REJ_REPLAY], 2);
	assert_int_equal(st.verdicts[NT_LEDGER_ADDED], 4);
	nt_ledger_free(l);
}

/* A foreign owner's later claim never changes a live entry's effective value. */
static void test_foreign_owner(void **state)
{
	struct nt_ledger *l = ledger_new(64, 0);
	uint8_t buf[512];
	size_t n;

	(void)state;
	ids_init();
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "dns", "a.example", "10.1.0.1", 1, T0,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[1], NULL, "dns", "a.example", "6.6.6.6", 99, T0 + 1,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 1), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_get(l, "dns", "a.example")->value, "10.1.0.1", 8);
	assert_true(nt_ledger_claim_is_beaten(l, "dns", "a.example", ids[1].ed_pk));
	assert_false(nt_ledger_claim_is_beaten(l, "dns", "a.example", ids[0].ed_pk));
	/* The owner updates: still effective. */
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "dns", "a.example", "10.1.0.2", 2, T0,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 2), NT_LEDGER_UPDATED);
	assert_memory_equal(nt_ledger_get(l, "dns", "a.example")->value, "10.1.0.2", 8);
	nt_ledger_free(l);
}

/* Conflicting machine claims: (claimant, claimed_at offset) in arrival order -> winner. */
static void test_machine_conflicts(void **state)
{
	static const struct {
		int a, b;
		int64_t ca, cb;
		int winner; /* 0: a, 1: b, 2: the lower node ID */
	} cases[] = {
		{ 0, 1, 0, 10, 0 }, /* 1: earlier first */
		{ 0, 1, 10, 0, 1 }, /* 2: earlier second */
		{ 2, 3, 5, 5, 2 }, /* 3: tie */
		{ 3, 2, 5, 5, 2 }, /* 4: tie, other order */
		{ 4, 5, -30000, -29999, 0 }, /* 5: a millisecond decides */
	};
	uint8_t buf[512];

	(void)state;
	ids_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nt_ledger *l = ledger_new(16, 0);
		const uint8_t *pa = ids[cases[i].a].ed_pk, *pb = ids[cases[i].b].ed_pk, *want, *got;
		size_t n;

		n = make_entry(buf, sizeof(buf), &ids[cases[i].a], NULL, "machines", "10.1.0.9", "a",
			       1, T0 + (uint64_t)cases[i].ca, T0 + MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 100), NT_LEDGER_ADDED);
		n = make_entry(buf, sizeof(buf), &ids[cases[i].b], NULL, "machines", "10.1.0.9", "b",
			       1, T0 + (uint64_t)cases[i].cb, T0 + MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 100), NT_LEDGER_ADDED);
		want = cases[i].winner == 0 ? pa : cases[i].winner == 1 ? pb :
		       memcmp(pa, pb, 32) < 0 ? pa : pb;
		got = nt_ledger_machine_owner(l, "10.1.0.9");
		if (!got || memcmp(got, want, 32) != 0)
			fail_msg("conflict case %zu: wrong winner", i + 1);
		assert_true(nt_ledger_claim_is_beaten(l, "machines", "10.1.0.9", want == pa ? pb : pa));
		assert_false(nt_ledger_claim_is_beaten(l, "machines", "10.1.0.9", want));
		assert_null(nt_ledger_machine_owner(l, "10.1.0.10"));
		nt_ledger_free(l);
	}
}

static void test_caps_and_expiry(void **state)
{
	struct nt_ledger *l = ledger_new(4, 2);
	struct nt_ledger_stats st;
	uint8_t buf[512];
	char key[16];
	size_t n;

	(void)state;
	ids_init();
	/* Per-owner cap 2. */
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		n = make_entry(buf, sizeof(buf), &ids[0], NULL, "services", key, "v", 1, T0,
			       T0 + 10000, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0),
				 i < 2 ? NT_LEDGER_ADDED : NT_LEDGER_REJ_OWNER_FULL);
	}
	/* An update of a held key is still fine at the cap. */
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "services", "k1", "v2", 2, T0, T0 + 10000, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_UPDATED);
	/* Capacity 4: two more owners fill it, the fifth entry is refused and counted. */
	n = make_entry(buf, sizeof(buf), &ids[1], NULL, "services", "x", "v", 1, T0, T0 + 20000, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[2], NULL, "services", "y", "v", 1, T0, T0 + 20000, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[3], NULL, "services", "z", "v", 1, T0, T0 + 20000, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 1), NT_LEDGER_REJ_FULL);
	nt_ledger_stats_get(l, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.verdicts[NT_LEDGER_REJ_FULL], 1);
	/* Once ids[0]'s entries expire they are evicted first and the entry fits. */
	n = make_entry(buf, sizeof(buf), &ids[3], NULL, "services", "z", "v", 1, T0, T0 + 20000, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 10000), NT_LEDGER_ADDED);
	nt_ledger_stats_get(l, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.owners, 3);
	assert_null(nt_ledger_get(l, "services", "k0"));
	assert_int_equal(nt_ledger_expire(l, T0 + 20000), 3);
	assert_int_equal(nt_ledger_count(l), 0);
	nt_ledger_free(l);
}

struct change_log {
	int added, updated, removed, local;
};

static void on_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change c, bool local)
{
	struct change_log *cl = ctx;

	(void)e;
	cl->added += c == NT_LEDGER_CHANGE_ADDED;
	cl->updated += c == NT_LEDGER_CHANGE_UPDATED;
	cl->removed += c == NT_LEDGER_CHANGE_REMOVED;
	cl->local += local;
}

static void test_local_api(void **state)
{
	struct change_log cl = { 0 };
	struct nt_ledger_cfg cfg = { .capacity = 32, .on_change = on_change, .ctx = &cl };
	const struct nt_ledger_entry *e, *o;
	struct nt_ledger *l;
	uint64_t v1, exp1;

	(void)state;
	ids_init();
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "10.1.0.5", "m", 1, MIN_MS, T0, &e), 0);
	assert_non_null(e);
	assert_int_equal(e->claimed_at, T0);
	v1 = e->version;
	assert_true(v1 >= T0);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "10.1.0.5", "mm", 2, MIN_MS,
					     T0 + 5000, &e), 0);
	assert_int_equal(e->claimed_at, T0); /* kept */
	assert_true(e->version > v1);
	assert_int_equal(e->expires_at, T0 + 5000 + MIN_MS);
	/* Bad arguments. */
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "Machines", "x", "", 0, MIN_MS, T0, NULL), -EINVAL);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "a b", "", 0, MIN_MS, T0, NULL), -EINVAL);
	/* A TTL past the ledger's max_ttl (default 24 h). */
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "x", "", 0, 24 * 60 * MIN_MS + 1, T0, NULL), -EINVAL);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "x", "", 0, 0, T0, NULL), -EINVAL);
	/* Refresh: nothing before half of the TTL (30 s of 60 s), the entry at it. */
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 5000 + 29999), 0);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[1], T0 + 5000 + 30000), 0);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 5000 + 30000), 1);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 5000 + 30001), 0);
	e = nt_ledger_get(l, "machines", "10.1.0.5");
	assert_int_equal(e->expires_at, T0 + 35000 + MIN_MS);
	assert_int_equal(e->claimed_at, T0);
	assert_memory_equal(e->value, "mm", 2);
	exp1 = e->expires_at;
	/* Delete: a tombstone that outlives the entry; get() no longer sees it. */
	assert_int_equal(nt_ledger_delete_local(l, &ids[0], "machines", "10.1.0.5", T0 + 50000), 0);
	assert_null(nt_ledger_get(l, "machines", "10.1.0.5"));
	o = nt_ledger_get_owned(l, "machines", "10.1.0.5", ids[0].ed_pk);
	assert_non_null(o);
	assert_true(o->flags & NT_LEDGER_F_TOMBSTONE);
	assert_int_equal(o->value_len, 0);
	assert_true(o->expires_at >= exp1);
	assert_int_equal(nt_ledger_delete_local(l, &ids[0], "machines", "10.1.0.5", T0 + 50001), -ENOENT);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], o->expires_at - 1), 0);
	/* Claiming again after a delete is a new claim. */
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "10.1.0.5", "n", 1, MIN_MS,
					     T0 + 60000, &e), 0);
	assert_int_equal(e->claimed_at, T0 + 60000);
	assert_int_equal(cl.added, 1);
	assert_int_equal(cl.updated, 4);
	assert_int_equal(cl.local, 5);
	assert_int_equal(nt_ledger_expire(l, T0 + 60000 + MIN_MS), 1);
	assert_int_equal(cl.removed, 1);
	nt_ledger_free(l);
}

/* Leases: each of our entries is renewed at half of its own TTL, however long. */
static void test_lease_renewal(void **state)
{
	const uint64_t hour = 3600 * 1000ULL;
	const struct nt_ledger_entry *e;
	struct nt_ledger *l;

	(void)state;
	ids_init();
	assert_int_equal(nt_ledger_new(&l, &(struct nt_ledger_cfg){ .capacity = 16 }), 0);
	/* The default cap is a day: a 24 h lease is accepted, one ms more is not. */
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "dns", "day", "d", 1, 24 * hour, T0, NULL), 0);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "dns", "more", "m", 1, 24 * hour + 1, T0, NULL),
			 -EINVAL);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "machines", "10.1.0.7", "m", 1, 6 * hour, T0, NULL), 0);
	assert_int_equal(nt_ledger_put_local(l, &ids[0], "services", "web", "w", 1, 10 * MIN_MS, T0, NULL), 0);
	/* The 10-minute entry at 5 minutes, again at 10, ... the 6 h one only at 3 h. */
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 5 * MIN_MS - 1), 0);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 5 * MIN_MS), 1);
	e = nt_ledger_get(l, "services", "web");
	assert_int_equal(e->expires_at, T0 + 15 * MIN_MS);
	for (uint64_t t = T0 + 10 * MIN_MS; t < T0 + 3 * hour; t += 5 * MIN_MS)
		assert_int_equal(nt_ledger_refresh_local(l, &ids[0], t), 1);
	e = nt_ledger_get(l, "machines", "10.1.0.7");
	assert_int_equal(e->expires_at, T0 + 6 * hour);
	/* At 3 h: the lease (and the 10-minute entry, due again). */
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 3 * hour), 2);
	e = nt_ledger_get(l, "machines", "10.1.0.7");
	assert_int_equal(e->expires_at, T0 + 9 * hour);
	assert_int_equal(e->claimed_at, T0); /* a renewal keeps the claim's age */
	/* Nobody refreshes past 3 h: the two expire (at 3 h 10 min and 9 h), the day-long one
	 * is renewed at 12 h. */
	assert_int_equal(nt_ledger_expire(l, T0 + 12 * hour - 1), 2);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 12 * hour - 1), 0);
	assert_int_equal(nt_ledger_refresh_local(l, &ids[0], T0 + 12 * hour), 1);
	e = nt_ledger_get(l, "dns", "day");
	assert_int_equal(e->expires_at, T0 + 36 * hour);
	nt_ledger_free(l);
}

/* xorshift64*: a deterministic generator for the random-order tests. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

struct item {
	uint8_t buf[256];
	size_t len;
};

/*
 * Taking a held address by back-dating: a claim that says it is older than the holder's
 * gets in only as a race (made within race_ms of now, while the holder is new here too).
 */
static void test_backdated_claims(void **state)
{
	struct nt_ledger *l = ledger_new(64, 0);
	uint8_t buf[512];
	size_t n;
	const uint64_t race = NT_LEDGER_DEFAULT_RACE_MS;

	(void)state;
	ids_init();
	/* ids[0] holds 10.1.0.1 since T0; we first see it at T0. */
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "machines", "10.1.0.1", "a", 1, T0, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	/* Within the race window, an earlier claim made now is a race, and wins. */
	n = make_entry(buf, sizeof(buf), &ids[1], NULL, "machines", "10.1.0.1", "b", 1, T0 - 100,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 1000), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.1"), ids[1].ed_pk, 32);
	/* A claim from long ago (claimed_at = 1), while the holder is fresh: not a race. */
	n = make_entry(buf, sizeof(buf), &ids[2], NULL, "machines", "10.1.0.2", "c", 1, T0, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[3], NULL, "machines", "10.1.0.2", "d", 1, 1, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 1000), NT_LEDGER_REJ_HELD);
	assert_true(nt_ledger_was_refused(l, nt_ledger_entry_id(NULL, &(struct nt_ledger_entry){
		.bucket = "machines", .bucket_len = 8, .key = "10.1.0.2", .key_len = 8,
		.owner = ids[3].ed_pk }), 1));
	/* Once the holder has been here race_ms, even a claim "one second older" is refused... */
	n = make_entry(buf, sizeof(buf), &ids[4], NULL, "machines", "10.1.0.2", "e", 1, T0 - 1000,
		       T0 + race + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + race + 1000), NT_LEDGER_REJ_HELD);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.2"), ids[2].ed_pk, 32);
	/* ...while a later claim is kept as the contender, to take over when the holder goes. */
	n = make_entry(buf, sizeof(buf), &ids[4], NULL, "machines", "10.1.0.2", "e", 1,
		       T0 + race + 500, T0 + 2 * MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + race + 1000), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.2"), ids[2].ed_pk, 32);
	nt_ledger_expire(l, T0 + MIN_MS);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.2"), ids[4].ed_pk, 32);
	nt_ledger_free(l);
}

/* A key keeps the NT_LEDGER_CLAIMS_PER_KEY oldest claims; a crowd of owners gets no more. */
static void test_claims_per_key(void **state)
{
	struct nt_ledger *l = ledger_new(64, 0);
	uint8_t buf[512];
	size_t n;

	(void)state;
	ids_init();
	for (int i = 0; i < 5; i++) {
		enum nt_ledger_verdict v;

		n = make_entry(buf, sizeof(buf), &ids[i], NULL, "services", "web", "x", 1,
			       T0 + 10 * (uint64_t)(5 - i), T0 + MIN_MS, 0);
		v = nt_ledger_insert(l, buf, n, T0 + 100);
		/* Each newcomer is older than the youngest kept, so it takes that one's place. */
		assert_int_equal(v, NT_LEDGER_ADDED);
		assert_true(nt_ledger_count(l) <= NT_LEDGER_CLAIMS_PER_KEY);
	}
	assert_memory_equal(nt_ledger_get(l, "services", "web")->owner, ids[4].ed_pk, 32);
	/* A younger sixth claim finds no room. */
	n = make_entry(buf, sizeof(buf), &ids[5], NULL, "services", "web", "x", 1, T0 + 90, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 100), NT_LEDGER_REJ_HELD);
	assert_int_equal(nt_ledger_count(l), NT_LEDGER_CLAIMS_PER_KEY);
	nt_ledger_free(l);
}

static bool only_10_1(void *ctx, const struct nt_ledger_entry *e)
{
	(void)ctx;
	return e->key_len > 5 && !memcmp(e->key, "10.1.", 5);
}

static bool proven_is_id0(void *ctx, const uint8_t owner[32])
{
	(void)ctx;
	return !memcmp(owner, ids[0].ed_pk, 32);
}

/*
 * Room kept for one bucket, the integrator's accept() and proven owners: other buckets
 * cannot crowd the reserved one out, refused entries are not stored (and gossip is told),
 * and an unproven owner's claim never beats a proven one's.
 */
static void test_room_policy_proven(void **state)
{
	struct nt_ledger_cfg cfg = {
		.capacity = 8, .reserve_bucket = "machines", .reserve_slots = 4,
		.accept = only_10_1, .proven = proven_is_id0,
	};
	struct nt_ledger *l;
	uint8_t buf[512];
	char key[32];
	size_t n;

	(void)state;
	ids_init();
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	for (int i = 0; i < 6; i++) {
		snprintf(key, sizeof(key), "10.1.junk%d", i);
		n = make_entry(buf, sizeof(buf), &ids[1], NULL, "junk", key, "x", 1, T0, T0 + MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0), i < 4 ? NT_LEDGER_ADDED : NT_LEDGER_REJ_FULL);
	}
	/* The reserved bucket still has its room. */
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "10.1.0.%d", i + 1);
		n = make_entry(buf, sizeof(buf), &ids[2], NULL, "machines", key, "x", 1, T0, T0 + MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	}
	/* accept() refuses what is outside the integrator's rules. */
	n = make_entry(buf, sizeof(buf), &ids[2], NULL, "machines", "198.51.100.7", "x", 1, T0, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_REJ_POLICY);
	nt_ledger_free(l);

	/* A proven owner's claim beats an older claim of an unproven one. */
	cfg = (struct nt_ledger_cfg){ .capacity = 8, .proven = proven_is_id0 };
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	n = make_entry(buf, sizeof(buf), &ids[1], NULL, "machines", "10.1.0.9", "x", 1, T0 - 10, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "machines", "10.1.0.9", "x", 1, T0, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.9"), ids[0].ed_pk, 32);
	assert_true(nt_ledger_claim_is_beaten(l, "machines", "10.1.0.9", ids[1].ed_pk));
	/* Two unproven squatters fill a key long before the proven owner comes: it still gets in. */
	for (int i = 1; i <= 2; i++) {
		n = make_entry(buf, sizeof(buf), &ids[i], NULL, "machines", "10.1.0.8", "x", 1, T0 - 100 * i,
			       T0 + 2 * MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	}
	n = make_entry(buf, sizeof(buf), &ids[3], NULL, "machines", "10.1.0.8", "x", 1, T0 + 60000,
		       T0 + 2 * MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 60000), NT_LEDGER_REJ_HELD);
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "machines", "10.1.0.8", "x", 1, T0 + 60000,
		       T0 + 2 * MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 60000), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.8"), ids[0].ed_pk, 32);
	nt_ledger_free(l);
}

/*
 * Back-dating by an update (review of issue 13's fixes): the race rule must hold for an
 * owner's new version as for a new owner. ids[1] first claims ids[0]'s address with a
 * younger claimed_at (kept as the contender), then re-signs that claim "older" than the
 * holder, well past the race window: refused, and the holder keeps the key.
 */
static void test_backdated_update(void **state)
{
	struct nt_ledger *l = ledger_new(64, 0);
	const uint64_t race = NT_LEDGER_DEFAULT_RACE_MS;
	const uint64_t claimed[] = { T0 - 1000, 1 };
	uint8_t buf[512];
	size_t n;

	(void)state;
	ids_init();
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "machines", "10.1.0.1", "a", 1, T0, T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	n = make_entry(buf, sizeof(buf), &ids[1], NULL, "machines", "10.1.0.1", "b", 1, T0 + 5000,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 5000), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.1"), ids[0].ed_pk, 32);
	for (size_t i = 0; i < 2; i++) {
		uint64_t now = T0 + 5000 + race + 1000 * (i + 1);

		n = make_entry(buf, sizeof(buf), &ids[1], NULL, "machines", "10.1.0.1", "b", 2 + i,
			       claimed[i], T0 + MIN_MS, 0);
		assert_int_not_equal(nt_ledger_insert(l, buf, n, now), NT_LEDGER_UPDATED);
		assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.1"), ids[0].ed_pk, 32);
	}
	nt_ledger_free(l);
}

/*
 * Room and proof (review of issue 13's fixes): claims of owners nobody proved fill the
 * reserved bucket on free keys; a proven owner's claim on another free key must still find
 * room (an unproven claim gives way), or minted identities crowd every member out.
 */
static void test_unproven_fill(void **state)
{
	struct nt_ledger_cfg cfg = {
		.capacity = 8, .reserve_bucket = "machines", .reserve_slots = 4,
		.proven = proven_is_id0,
	};
	struct nt_ledger *l;
	uint8_t buf[512];
	char key[32];
	size_t n;

	(void)state;
	ids_init();
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "10.1.1.%d", i + 1);
		n = make_entry(buf, sizeof(buf), &ids[1 + i % 5], NULL, "machines", key, "x", 1, T0,
			       T0 + MIN_MS, 0);
		assert_int_equal(nt_ledger_insert(l, buf, n, T0), NT_LEDGER_ADDED);
	}
	n = make_entry(buf, sizeof(buf), &ids[0], NULL, "machines", "10.1.0.20", "x", 1, T0 + 1000,
		       T0 + MIN_MS, 0);
	assert_int_equal(nt_ledger_insert(l, buf, n, T0 + 1000), NT_LEDGER_ADDED);
	assert_memory_equal(nt_ledger_machine_owner(l, "10.1.0.20"), ids[0].ed_pk, 32);
	nt_ledger_free(l);
}

static void test_merge_order_independent(void **state)
{
	enum { N = 90, ORDERS = 40 };
	static struct item items[N];
	static const char *buckets[] = { "machines", "services" };
	uint8_t ref[32], h[32];
	size_t order[N];

	(void)state;
	ids_init();
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (size_t i = 0; i < N; i++) {
		/* Each key is claimed by NT_LEDGER_CLAIMS_PER_KEY owners at most (the cap that a
		 * crowd of owners meets is tested in test_claims_per_key). */
		unsigned int k = (unsigned int)(rnd() % 6);
		int owner = (int)((k + rnd() % NT_LEDGER_CLAIMS_PER_KEY) % 5);
		char key[16], value[16];
		uint64_t version = 1 + rnd() % 3;
		/* Few distinct times, so ties happen; all within the race window of now; as an
		 * honest owner does, a later version never makes the claim older. */
		uint64_t claimed = T0 - 400 * (3 - version) - 100 * (uint64_t)owner;
		uint8_t flags = rnd() % 10 == 0 ? NT_LEDGER_F_TOMBSTONE : 0;

		snprintf(key, sizeof(key), "10.1.0.%u", k);
		snprintf(value, sizeof(value), "v%u", (unsigned)(rnd() % 3)); /* equivocations */
		items[i].len = make_entry(items[i].buf, sizeof(items[i].buf), &ids[owner], NULL,
					  buckets[rnd() % 2], key, flags ? "" : value, version,
					  claimed, T0 + MIN_MS, flags);
		if (rnd() % 8 == 0)
			items[i].buf[items[i].len - 1 - rnd() % 64] ^= 0x20; /* forged */
	}
	for (int o = 0; o < ORDERS; o++) {
		struct nt_ledger *l = ledger_new(256, 0);
		for (size_t i = 0; i < N; i++)
			order[i] = i;
		for (size_t i = N - 1; o > 0 && i > 0; i--) {
			size_t j = rnd() % (i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < N; i++)
			nt_ledger_insert(l, items[order[i]].buf, items[order[i]].len, T0);
		/* Some orders apply a random half again: idempotence. */
		for (size_t i = 0; o % 3 == 1 && i < N / 2; i++) {
			size_t k = order[rnd() % N];
			nt_ledger_insert(l, items[k].buf, items[k].len, T0);
		}
		nt_ledger_state_hash(l, h);
		if (o == 0) {
			memcpy(ref, h, 32);
			assert_true(nt_ledger_count(l) > 10);
		} else if (memcmp(ref, h, 32) != 0) {
			fail_msg("order %d produced a different state hash", o);
		}
		nt_ledger_free(l);
	}
}

static void test_state_hash_and_blocks(void **state)
{
	struct nt_ledger *a = ledger_new(16, 0), *b = ledger_new(16, 0);
	uint8_t ha[32], hb[32], empty[32];
	const struct nt_ledger_block *blk, *prev;

	(void)state;
	ids_init();
	nt_ledger_state_hash(a, empty);
	nt_ledger_state_hash(b, hb);
	assert_memory_equal(empty, hb, 32);
	assert_int_equal(nt_ledger_put_local(a, &ids[0], "services", "s", "1", 1, MIN_MS, T0, NULL), 0);
	nt_ledger_state_hash(a, ha);
	assert_memory_not_equal(ha, empty, 32);
	assert_null(nt_ledger_block_get(a, 0));
	for (uint64_t i = 0; i < 20; i++) {
		blk = nt_ledger_seal(a, T0 + i * 1000);
		assert_int_equal(blk->index, i);
		assert_int_equal(blk->entries, 1);
		assert_memory_equal(blk->state_hash, ha, 32);
		if (i > 0)
			assert_memory_equal(blk->prev_hash, prev->hash, 32);
		prev = nt_ledger_block_get(a, 0);
		assert_ptr_equal(prev, blk);
	}
	assert_non_null(nt_ledger_block_get(a, NT_LEDGER_BLOCKS - 1));
	assert_int_equal(nt_ledger_block_get(a, NT_LEDGER_BLOCKS - 1)->index, 20 - NT_LEDGER_BLOCKS);
	assert_null(nt_ledger_block_get(a, NT_LEDGER_BLOCKS));
	/* Expiry changes the state back. */
	blk = nt_ledger_seal(a, T0 + MIN_MS);
	assert_int_equal(blk->entries, 0);
	assert_memory_equal(blk->state_hash, empty, 32);
	nt_ledger_free(a);
	nt_ledger_free(b);
}

static void test_steady_state_no_alloc(void **state)
{
	struct nt_ledger *l = ledger_new(64, 8);
	struct nt_ledger_stats st;
	uint8_t buf[512], h[32];
	char key[32];
	unsigned long before;
	size_t n;

	(void)state;
	ids_init();
	for (int w = 0; w < 2; w++) { /* the first round warms up libsodium and stdio */
#ifdef HAVE_ASAN
		size_t bytes = __sanitizer_get_current_allocated_bytes();
#else
		before = nalloc;
#endif
		for (uint64_t i = 0; i < 400; i++) {
			uint64_t now = T0 + i * 500;
			snprintf(key, sizeof(key), "10.1.%u.%u", (unsigned)(i % 7), (unsigned)(i % 11));
			n = make_entry(buf, sizeof(buf), &ids[i % 5], NULL, "machines", key, "val", 1 + i,
				       now, now + 20000, 0);
			nt_ledger_insert(l, buf, n, now);
			nt_ledger_put_local(l, &ids[5], "services", key, "x", 1, 20000, now, NULL);
			nt_ledger_refresh_local(l, &ids[5], now);
			if (i % 50 == 0)
				nt_ledger_delete_local(l, &ids[5], "services", key, now);
			nt_ledger_state_hash(l, h);
			nt_ledger_seal(l, now);
			nt_ledger_expire(l, now);
		}
#ifdef HAVE_ASAN
		if (w == 1)
			assert_int_equal(__sanitizer_get_current_allocated_bytes(), bytes);
#else
		if (w == 1)
			assert_int_equal(nalloc, before);
#endif
	}
	(void)before;
	nt_ledger_stats_get(l, &st);
	assert_true(st.entries <= 64);
	assert_true(st.expired > 0);
	nt_ledger_free(l);
}

static void test_cfg_validation(void **state)
{
	struct nt_ledger_cfg bad[] = {
		{ .max_key = 256 },
		{ .max_value = 65536 },
		{ .capacity = (1U << 24) + 1 },
		{ .max_ttl_ms = 1000, .tombstone_ttl_ms = 2000 },
	};
	struct nt_ledger *l;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nt_ledger_new(&l, &bad[i]), -EINVAL);
	assert_int_equal(nt_ledger_new(&l, &(struct nt_ledger_cfg){ 0 }), 0);
	assert_int_equal(nt_ledger_entry_max_wire(l), NT_LEDGER_WIRE_FIXED + 32 + 64 + 768);
	printf("# default ledger (capacity %d): %zu bytes\n", NT_LEDGER_DEFAULT_CAPACITY,
	       nt_ledger_memory(l));
	assert_true(nt_ledger_memory(l) < 8u << 20);
	nt_ledger_free(l);
	nt_ledger_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_rules_table),
		cmocka_unit_test(test_foreign_owner),
		cmocka_unit_test(test_machine_conflicts),
		cmocka_unit_test(test_caps_and_expiry),
		cmocka_unit_test(test_local_api),
		cmocka_unit_test(test_lease_renewal),
		cmocka_unit_test(test_backdated_claims),
		cmocka_unit_test(test_claims_per_key),
		cmocka_unit_test(test_room_policy_proven),
		cmocka_unit_test(test_backdated_update),
		cmocka_unit_test(test_unproven_fill),
		cmocka_unit_test(test_merge_order_independent),
		cmocka_unit_test(test_state_hash_and_blocks),
		cmocka_unit_test(test_steady_state_no_alloc),
		cmocka_unit_test(test_cfg_validation),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
