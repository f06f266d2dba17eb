// SPDX-License-Identifier: MIT
/* Background name lookups: literals at once, names once their lookup has finished. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "core/resolve.h"

static void test_literals_need_no_lookup(void **state)
{
	struct nt_resolver r;
	union nt_sockaddr a;

	(void)state;
	nt_resolver_init(&r);
	assert_true(nt_resolve(&r, "192.0.2.7:51830", &a, 0));
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(a.in4.sin_port), 51830);
	assert_true(nt_resolve(&r, "[2001:db8::1]:6881", &a, 0));
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(a.in6.sin6_port), 6881);
	assert_int_equal(r.n, 0);
	assert_int_equal(nt_resolver_tick(&r, 0), 0);
	nt_resolver_free(&r);
}

static void test_malformed(void **state)
{
	struct nt_resolver r;
	union nt_sockaddr a;
	static const char *const bad[] = { "", "host", "host:", "host:0", "host:65536", "a:b:c",
					   "[::1]", "[::1]x:1", ":51830" };

	(void)state;
	nt_resolver_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(nt_resolve(&r, bad[i], &a, 0));
	assert_int_equal(r.n, 0);
	nt_resolver_free(&r);
}

/* "localhost" comes from /etc/hosts: no query leaves the machine. */
static void test_name_after_lookup(void **state)
{
	struct nt_resolver r;
	union nt_sockaddr a;
	uint64_t now = 1000;
	bool got = false;

	(void)state;
	nt_resolver_init(&r);
	assert_false(nt_resolve(&r, "localhost:4242", &a, now)); /* started, not done */
	assert_int_equal(r.pending, 1);
	assert_false(nt_resolve(&r, "localhost:4243", &a, now)); /* the same lookup */
	assert_int_equal(r.n, 1);
	for (int i = 0; i < 500 && !got; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		nt_resolver_tick(&r, now);
		got = nt_resolve(&r, "localhost:4242", &a, now);
	}
	assert_true(got);
	if (a.sa.sa_family == AF_INET) {
		assert_int_equal(ntohl(a.in4.sin_addr.s_addr) >> 24, 127);
		assert_int_equal(ntohs(a.in4.sin_port), 4242);
	} else {
		assert_int_equal(a.sa.sa_family, AF_INET6);
		assert_true(IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr));
		assert_int_equal(ntohs(a.in6.sin6_port), 4242);
	}
	/* Another port of the same name: from the cache, at once. */
	assert_true(nt_resolve(&r, "localhost:9", &a, now + 1));
	assert_int_equal(r.pending, 0);
	/* After the TTL the old address is still given while a new lookup runs. */
	assert_true(nt_resolve(&r, "localhost:9", &a, now + NT_RESOLVE_TTL_MS));
	assert_int_equal(r.pending, 1);
	nt_resolver_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals_need_no_lookup),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_name_after_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
