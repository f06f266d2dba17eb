// SPDX-License-Identifier: MIT
/*
 * mac1/mac2/cookie replies at the byte level (the checker and maker without the Noise
 * layer), secret rotation and cookie expiry on a fake clock, and the handshake rate
 * limiter: per-source buckets, IPv6 /64 grouping, bounded table, the load indicator.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "proto/cookie.h"
#include "core/ratelimit.h"

enum { T0 = 5000000, MSG_LEN = 100 };

static struct nt_network_keys *make_keys(uint8_t seed)
{
	struct nt_network_keys *k = sodium_malloc(sizeof(*k));

	assert_non_null(k);
	memset(k, 0, sizeof(*k));
	memset(k->psk, seed, 32);
	memset(k->mac1_key, seed + 1, 32);
	memset(k->cookie_key, seed + 2, 32);
	return k;
}

static union nt_sockaddr addr(const char *s)
{
	union nt_sockaddr a;

	assert_true(nt_sockaddr_parse(s, &a));
	return a;
}

/* A message: 68 bytes of "content", then mac1 | mac2 from the maker. */
static void make_msg(struct nt_cookie_maker *cm, const struct nt_network_keys *k, uint8_t *m,
		     uint64_t now)
{
	for (int i = 0; i < MSG_LEN - 32; i++)
		m[i] = (uint8_t)(i * 7);
	m[0] = 0xE1;
	nt_cookie_maker_add_macs(cm, k, m, MSG_LEN, now);
}

static void test_mac1(void **state)
{
	struct nt_network_keys *k = make_keys(1);
	struct nt_cookie_maker cm;
	uint8_t m[MSG_LEN], want[16];

	(void)state;
	nt_cookie_maker_init(&cm);
	make_msg(&cm, k, m, T0);
	/* mac1 is BLAKE2b-128 keyed with mac1_key over the bytes before it. */
	crypto_generichash(want, 16, m, MSG_LEN - 32, k->mac1_key, 32);
	assert_memory_equal(m + MSG_LEN - 32, want, 16);
	assert_true(sodium_is_zero(m + MSG_LEN - 16, 16));
	assert_memory_equal(cm.last_mac1, want, 16);
	sodium_free(k);
}

static void test_validate_table(void **state)
{
	struct nt_network_keys *k = make_keys(1), *other = make_keys(9);
	struct nt_cookie_checker cc;
	struct nt_cookie_maker cm;
	union nt_sockaddr a = addr("192.0.2.1:4000"), a6 = addr("[2001:db8::1]:4000");
	uint8_t m[MSG_LEN], reply[NT_COOKIE_REPLY_LEN], bad[MSG_LEN];

	(void)state;
	assert_int_equal(nt_cookie_checker_init(&cc, k, T0), 0);
	nt_cookie_maker_init(&cm);

	/* 1: no mac2, not under load: fine. 2: under load: wants a cookie. */
	make_msg(&cm, k, m, T0);
	assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, false, T0), NT_COOKIE_OK);
	assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, true, T0), NT_COOKIE_BAD_MAC2);
	/* 3: another network's mac1 is refused before mac2 is looked at. */
	memcpy(bad, m, MSG_LEN);
	nt_cookie_maker_add_macs(&cm, other, bad, MSG_LEN, T0);
	assert_int_equal(nt_cookie_checker_validate(&cc, bad, MSG_LEN, &a, false, T0),
			 NT_COOKIE_BAD_MAC1);
	/* 4: a non-zero but wrong mac2 is refused even when not under load. */
	make_msg(&cm, k, m, T0);
	memcpy(bad, m, MSG_LEN);
	bad[MSG_LEN - 1] = 1;
	assert_int_equal(nt_cookie_checker_validate(&cc, bad, MSG_LEN, &a, false, T0),
			 NT_COOKIE_BAD_MAC2);

	/* The reply round trip gives the maker a cookie for its address. */
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m, MSG_LEN, 0x01020304, &a, T0, reply), 0);
	assert_int_equal(reply[0], NT_COOKIE_REPLY_TYPE);
	assert_int_equal(reply[4], 0x04);
	assert_int_equal(reply[7], 0x01);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), 0);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), -EPROTO);
	make_msg(&cm, k, m, T0 + 1);
	assert_false(sodium_is_zero(m + MSG_LEN - 16, 16));
	/* 5: right address, under load. 6: another IP. 7: another port. 8: another family. */
	assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, true, T0 + 1), NT_COOKIE_OK_WITH_COOKIE);
	{
		union nt_sockaddr x = addr("192.0.2.2:4000"), y = addr("192.0.2.1:4001");
		assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &x, true, T0 + 1),
				 NT_COOKIE_BAD_MAC2);
		assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &y, true, T0 + 1),
				 NT_COOKIE_BAD_MAC2);
		assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a6, true, T0 + 1),
				 NT_COOKIE_BAD_MAC2);
	}

	/* IPv6 sources work the same way. */
	make_msg(&cm, k, m, T0);
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m, MSG_LEN, 1, &a6, T0, reply), 0);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), 0);
	make_msg(&cm, k, m, T0);
	assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a6, true, T0), NT_COOKIE_OK_WITH_COOKIE);
	assert_int_equal(nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, true, T0), NT_COOKIE_BAD_MAC2);

	nt_cookie_checker_uninit(&cc);
	nt_cookie_checker_uninit(&cc); /* idempotent */
	sodium_free(k);
	sodium_free(other);
}

static void test_reply_binding(void **state)
{
	struct nt_network_keys *k = make_keys(1), *other = make_keys(9);
	struct nt_cookie_checker cc;
	struct nt_cookie_maker cm;
	union nt_sockaddr a = addr("192.0.2.1:4000"), unix_addr;
	uint8_t m[MSG_LEN], m2[MSG_LEN], reply[NT_COOKIE_REPLY_LEN];

	(void)state;
	assert_int_equal(nt_cookie_checker_init(&cc, k, T0), 0);
	nt_cookie_maker_init(&cm);
	/* Nothing sent yet: nothing to answer. */
	memset(reply, 0, sizeof(reply));
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), -EPROTO);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, 63, T0), -EINVAL);

	/* A reply to an earlier message does not decrypt (AD = that message's mac1). */
	make_msg(&cm, k, m, T0);
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m, MSG_LEN, 1, &a, T0, reply), 0);
	make_msg(&cm, k, m2, T0);
	m2[5] ^= 1;
	nt_cookie_maker_add_macs(&cm, k, m2, MSG_LEN, T0);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), -EBADMSG);
	/* Another network's cookie key does not decrypt either. */
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m2, MSG_LEN, 1, &a, T0, reply), 0);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, other, reply, sizeof(reply), T0), -EBADMSG);
	assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply), T0), 0);

	/* Bad inputs to the checker. */
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.sa.sa_family = AF_UNIX;
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m, MSG_LEN, 1, &unix_addr, T0, reply),
			 -EINVAL);
	assert_int_equal(nt_cookie_checker_create_reply(&cc, m, 31, 1, &a, T0, reply), -EINVAL);
	nt_cookie_maker_clear(&cm);
	assert_false(cm.has_cookie);
	nt_cookie_checker_uninit(&cc);
	sodium_free(k);
	sodium_free(other);
}

/* Secret rotation (checker) and cookie lifetime (maker) on the fake clock. */
static void test_lifetimes(void **state)
{
	static const struct {
		uint64_t reply_at, send_at, check_at;
		enum nt_cookie_verdict want;
	} cases[] = {
		/* 1 */ { 0, 0, 0, NT_COOKIE_OK_WITH_COOKIE },
		/* 2 */ { 0, 119999, 119999, NT_COOKIE_OK_WITH_COOKIE },
		/* 3: the maker no longer sends it (mac2 zero, under load). */
		/* */ { 0, 120000, 120000, NT_COOKIE_BAD_MAC2 },
		/* 4: secret rotated once; the previous one is still accepted. */
		/* */ { 100000, 200000, 200000, NT_COOKIE_OK_WITH_COOKIE },
		/* 5: the message was made in time but checked after two rotations. */
		/* */ { 0, 100000, 250000, NT_COOKIE_BAD_MAC2 },
		/* 6: made at 110 s, rotated at 130 s, still good at 229.999 s. */
		/* */ { 110000, 229999, 229999, NT_COOKIE_OK_WITH_COOKIE },
	};
	struct nt_network_keys *k = make_keys(1);
	union nt_sockaddr a = addr("192.0.2.1:4000");
	uint8_t m[MSG_LEN], reply[NT_COOKIE_REPLY_LEN];

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		struct nt_cookie_checker cc;
		struct nt_cookie_maker cm;
		enum nt_cookie_verdict v;

		assert_int_equal(nt_cookie_checker_init(&cc, k, T0), 0);
		nt_cookie_maker_init(&cm);
		make_msg(&cm, k, m, T0 + cases[i].reply_at);
		assert_int_equal(nt_cookie_checker_create_reply(&cc, m, MSG_LEN, 1, &a,
								T0 + cases[i].reply_at, reply),
				 0);
		assert_int_equal(nt_cookie_maker_consume_reply(&cm, k, reply, sizeof(reply),
							       T0 + cases[i].reply_at),
				 0);
		if (i == 5) /* something else makes the checker rotate at 130 s */
			(void)nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, false, T0 + 130000);
		make_msg(&cm, k, m, T0 + cases[i].send_at);
		v = nt_cookie_checker_validate(&cc, m, MSG_LEN, &a, true, T0 + cases[i].check_at);
		if (v != cases[i].want)
			fail_msg("case %zu: verdict %d, want %d", i + 1, v, cases[i].want);
		nt_cookie_checker_uninit(&cc);
	}
	sodium_free(k);
}

static void test_ratelimit_buckets(void **state)
{
	struct nt_ratelimit_table *t = test_malloc(sizeof(*t));
	union nt_sockaddr a = addr("192.0.2.1:1"), a_other_port = addr("192.0.2.1:2"),
			  b = addr("192.0.2.2:1"), v6a = addr("[2001:db8:0:1::1]:1"),
			  v6b = addr("[2001:db8:0:1::ffff]:9"), v6c = addr("[2001:db8:0:2::1]:1"),
			  mapped = addr("[::ffff:192.0.2.1]:1");
	uint64_t now = T0;
	int allowed = 0;

	(void)state;
	assert_int_equal(nt_ratelimit_table_init(t, 0, 5, 100), -EINVAL);
	assert_int_equal(nt_ratelimit_table_init(t, 20, 0, 100), -EINVAL);
	assert_int_equal(nt_ratelimit_table_init(t, 20, 5, 1000000), 0);

	/* Burst of 5, then nothing until 50 ms of credit has come back. */
	for (int i = 0; i < 10; i++)
		allowed += nt_ratelimit_table_allow(t, &a, now);
	assert_int_equal(allowed, 5);
	assert_false(nt_ratelimit_table_allow(t, &a_other_port, now)); /* port does not matter */
	assert_false(nt_ratelimit_table_allow(t, &mapped, now)); /* v4-mapped is the same host */
	assert_true(nt_ratelimit_table_allow(t, &b, now)); /* another source has its own */
	assert_false(nt_ratelimit_table_allow(t, &a, now + 49));
	assert_true(nt_ratelimit_table_allow(t, &a, now + 50));
	assert_false(nt_ratelimit_table_allow(t, &a, now + 51));
	/* Steady 20/s is sustained for ten seconds: every 50 ms one passes. */
	allowed = 0;
	for (uint64_t ms = 100; ms <= 10000; ms += 10)
		allowed += nt_ratelimit_table_allow(t, &a, now + ms);
	assert_true(allowed >= 198 && allowed <= 200);
	/* After a quiet while, the burst is back but not more. */
	allowed = 0;
	for (int i = 0; i < 10; i++)
		allowed += nt_ratelimit_table_allow(t, &a, now + 60000);
	assert_int_equal(allowed, 5);

	/* An IPv6 /64 is one source. */
	allowed = 0;
	for (int i = 0; i < 5; i++)
		allowed += nt_ratelimit_table_allow(t, &v6a, now);
	assert_int_equal(allowed, 5);
	assert_false(nt_ratelimit_table_allow(t, &v6b, now));
	assert_true(nt_ratelimit_table_allow(t, &v6c, now));
	test_free(t);
}

static void test_ratelimit_bounded(void **state)
{
	struct nt_ratelimit_table *t = test_malloc(sizeof(*t));
	union nt_sockaddr a = addr("10.0.0.1:1"), x;
	size_t used = 0;

	(void)state;
	assert_int_equal(nt_ratelimit_table_init(t, 20, 5, 1000000), 0);
	for (int i = 0; i < 5; i++)
		assert_true(nt_ratelimit_table_allow(t, &a, T0));
	assert_false(nt_ratelimit_table_allow(t, &a, T0));
	/* 100000 sources: the table never grows, each newcomer gets its burst. */
	x = addr("10.0.0.2:1");
	for (uint32_t i = 0; i < 100000; i++) {
		x.in4.sin_addr.s_addr = htonl(0xac100000U + i);
		assert_true(nt_ratelimit_table_allow(t, &x, T0 + 1 + i / 1000));
	}
	for (size_t s = 0; s < NT_RATELIMIT_SETS; s++)
		for (size_t w = 0; w < NT_RATELIMIT_WAYS; w++)
			used += t->buckets[s][w].last_ms != 0;
	assert_int_equal(used, NT_RATELIMIT_SETS * NT_RATELIMIT_WAYS);
	/* Unknown families are never allowed. */
	memset(&x, 0, sizeof(x));
	x.sa.sa_family = AF_UNIX;
	assert_false(nt_ratelimit_table_allow(t, &x, T0 + 200));
	test_free(t);
}

static void test_under_load(void **state)
{
	struct nt_ratelimit_table *t = test_malloc(sizeof(*t));
	union nt_sockaddr x = addr("10.0.0.2:1");

	(void)state;
	assert_int_equal(nt_ratelimit_table_init(t, 20, 5, 50), 0);
	assert_false(nt_ratelimit_table_is_under_load(t, T0));
	/* 50 messages in a second is not "more than 50"; the 51st is. */
	for (uint32_t i = 0; i < 50; i++)
		nt_ratelimit_table_count_load(t, T0 + i * 10);
	assert_false(nt_ratelimit_table_is_under_load(t, T0 + 500));
	nt_ratelimit_table_count_load(t, T0 + 500);
	assert_true(nt_ratelimit_table_is_under_load(t, T0 + 500));
	assert_true(nt_ratelimit_table_is_under_load(t, T0 + 900));
	/* A second after the burst started, the early slots have aged out. */
	assert_false(nt_ratelimit_table_is_under_load(t, T0 + 1300));
	assert_false(nt_ratelimit_table_is_under_load(t, T0 + 5000));
	/* Charging a source's bucket is not counting load: the caller decides what counts. */
	for (int i = 0; i < 60; i++)
		nt_ratelimit_table_allow(t, &x, T0 + 10000);
	assert_false(nt_ratelimit_table_is_under_load(t, T0 + 10000));
	for (int i = 0; i < 60; i++)
		nt_ratelimit_table_count_load(t, T0 + 10000);
	assert_true(nt_ratelimit_table_is_under_load(t, T0 + 10000));
	nt_ratelimit_table_clear(t);
	assert_false(nt_ratelimit_table_is_under_load(t, T0 + 10000));
	test_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac1),
		cmocka_unit_test(test_validate_table),
		cmocka_unit_test(test_reply_binding),
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_ratelimit_buckets),
		cmocka_unit_test(test_ratelimit_bounded),
		cmocka_unit_test(test_under_load),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
