// SPDX-License-Identifier: MIT
/*
 * Answer rate limits (src/core/srclimit.c): a numbered table of bursts and refills on one
 * source, what counts as one source (ports, IPv4-mapped IPv6, IPv6 /64s), that a refused
 * answer costs the total nothing, and that nothing but time refills a source's bucket:
 * neither sources that share it nor thousands of others.
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

#include "core/srclimit.h"

static const uint8_t key[NT_SRCLIMIT_KEY_LEN] = "0123456789abcdef";

static union nt_sockaddr sa(const char *s)
{
	union nt_sockaddr a;

	assert_true(nt_sockaddr_parse(s, &a));
	return a;
}

static union nt_sockaddr v4(uint32_t ip)
{
	union nt_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(ip);
	a.in4.sin_port = htons(6881);
	return a;
}

/* How many of n tries at now_ms are allowed. */
static unsigned int tries(struct nt_srclimit *l, const union nt_sockaddr *a, unsigned int n,
			  uint64_t now_ms)
{
	unsigned int ok = 0;

	while (n--)
		ok += nt_srclimit_allow(l, a, now_ms);
	return ok;
}

/* Rate 8/s, burst 32 (the DHT's defaults): at each time, so many tries, so many allowed. */
static void test_burst_and_refill(void **state)
{
	static const struct {
		uint64_t at_ms;
		unsigned int tries, allowed;
	} cases[] = {
		/* 1 */ { 1000, 100, 32 }, /* a full burst to start with */
		/* 2 */ { 1000, 1, 0 },
		/* 3 */ { 1124, 1, 0 }, /* one interval is 125 ms */
		/* 4 */ { 1125, 2, 1 },
		/* 5 */ { 2125, 100, 8 }, /* a second gives 8 */
		/* 6 */ { 6125, 100, 32 }, /* 4 s refill the burst, and no more */
		/* 7 */ { 100000, 100, 32 },
	};
	struct nt_srclimit l;
	union nt_sockaddr a = sa("192.0.2.1:1");

	(void)state;
	assert_int_equal(nt_srclimit_init(&l, key, 8, 32, 1000000, 1000000), 0);
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		unsigned int got = tries(&l, &a, cases[i].tries, cases[i].at_ms);
		if (got != cases[i].allowed)
			fail_msg("case %zu: %u allowed, want %u", i + 1, got, cases[i].allowed);
	}
}

static void test_sources(void **state)
{
	struct nt_srclimit l;
	union nt_sockaddr a = sa("192.0.2.1:1"), a2 = sa("192.0.2.1:2"),
			  mapped = sa("[::ffff:192.0.2.1]:3"), p1 = sa("[2001:db8:1:2::1]:1"),
			  p2 = sa("[2001:db8:1:2:ffff:ffff:ffff:ffff]:9"), other = sa("[2001:db8:1:3::1]:1");
	union nt_sockaddr unix_addr;

	(void)state;
	assert_int_equal(nt_srclimit_init(&l, key, 2, 4, 1000000, 1000000), 0);
	/* Ports do not matter; an IPv4-mapped IPv6 source is that IPv4 address. */
	assert_int_equal(nt_srclimit_bucket_of(&l, &a), nt_srclimit_bucket_of(&l, &a2));
	assert_int_equal(nt_srclimit_bucket_of(&l, &a), nt_srclimit_bucket_of(&l, &mapped));
	assert_int_equal(tries(&l, &a, 2, 1000) + tries(&l, &a2, 1, 1000) + tries(&l, &mapped, 5, 1000), 4);
	/* One IPv6 /64 is one source. */
	assert_int_equal(nt_srclimit_bucket_of(&l, &p1), nt_srclimit_bucket_of(&l, &p2));
	assert_int_equal(tries(&l, &p1, 3, 1000) + tries(&l, &p2, 3, 1000), 4);
	if (nt_srclimit_bucket_of(&l, &other) != nt_srclimit_bucket_of(&l, &p1))
		assert_int_equal(tries(&l, &other, 1, 1000), 1);
	/* Not an IP address: never allowed. */
	memset(&unix_addr, 0, sizeof(unix_addr));
	unix_addr.sa.sa_family = AF_UNIX;
	assert_int_equal(nt_srclimit_bucket_of(&l, &unix_addr), NT_SRCLIMIT_BUCKETS);
	assert_false(nt_srclimit_allow(&l, &unix_addr, 1000));
	/* Bad settings. */
	assert_int_equal(nt_srclimit_init(&l, key, 0, 4, 10, 10), -EINVAL);
	assert_int_equal(nt_srclimit_init(&l, key, 1, 0, 10, 10), -EINVAL);
	assert_int_equal(nt_srclimit_init(&l, key, 1, 1, 0, 10), -EINVAL);
	assert_int_equal(nt_srclimit_init(&l, key, 1, 1, 10, 0), -EINVAL);
	assert_int_equal(nt_srclimit_init(&l, key, 1000001, 1, 10, 10), -EINVAL);
}

/* The total: 100/s, burst 10; a source over its own limit does not spend it. */
static void test_total(void **state)
{
	struct nt_srclimit l;
	union nt_sockaddr flooder = v4(0xc6336401);
	unsigned int ok = 0;

	(void)state;
	assert_int_equal(nt_srclimit_init(&l, key, 1, 2, 100, 10), 0);
	assert_int_equal(tries(&l, &flooder, 1000, 1000), 2);
	for (uint32_t i = 0; i < 100; i++) {
		union nt_sockaddr s = v4(0x0a000000 + i);
		if (nt_srclimit_bucket_of(&l, &s) != nt_srclimit_bucket_of(&l, &flooder))
			ok += tries(&l, &s, 1, 1000);
	}
	assert_int_equal(ok, 8);
	ok = 0;
	for (uint32_t i = 100; i < 200; i++) {
		union nt_sockaddr s = v4(0x0a000000 + i);
		ok += tries(&l, &s, 1, 1100); /* 100 ms: 10 more */
	}
	assert_int_equal(ok, 10);
}

/*
 * Nothing but time refills a bucket: a source that shares the victim's bucket spends it
 * too (and gets nothing once it is spent), and 100,000 other sources change nothing.
 */
static void test_no_refill_by_others(void **state)
{
	struct nt_srclimit l;
	union nt_sockaddr victim = v4(0xc6336407), twin;
	size_t vb;
	uint32_t ip;

	(void)state;
	assert_int_equal(nt_srclimit_init(&l, key, 2, 8, 1000000, 1000000), 0);
	vb = nt_srclimit_bucket_of(&l, &victim);
	for (ip = 0x0a000001;; ip++) {
		twin = v4(ip);
		if (nt_srclimit_bucket_of(&l, &twin) == vb)
			break;
	}
	assert_int_equal(tries(&l, &victim, 5, 1000), 5);
	assert_int_equal(tries(&l, &twin, 5, 1000), 3);
	assert_int_equal(tries(&l, &victim, 5, 1000), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		union nt_sockaddr s = v4(0x0b000000 + i);
		if (nt_srclimit_bucket_of(&l, &s) != vb)
			assert_true(tries(&l, &s, 1, 1000) <= 1);
	}
	assert_int_equal(tries(&l, &victim, 5, 1000), 0);
	assert_int_equal(tries(&l, &twin, 5, 1000), 0);
	assert_int_equal(tries(&l, &victim, 5, 1500), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_and_refill),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_total),
		cmocka_unit_test(test_no_refill_by_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
