// SPDX-License-Identifier: MIT
/*
 * The small helpers that guard what members tell us: prefix membership of a claimed
 * address (nt_cidr_contains) and whether an endpoint can be another node at all
 * (nt_sockaddr_is_unicast). Tables, one numbered line per case.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netron/options.h"
#include "core/util.h"

static void test_cidr_contains(void **state)
{
	static const struct {
		const char *cidr, *addr;
		bool want;
	} cases[] = {
		/* 1 */ { "10.1.0.11/24", "10.1.0.200", true },
		/* 2 */ { "10.1.0.11/24", "10.1.1.1", false },
		/* 3 */ { "10.1.0.11/24", "198.51.100.7", false },
		/* 4 */ { "10.1.0.0/23", "10.1.1.255", true },
		/* 5 */ { "10.1.0.0/23", "10.1.2.0", false },
		/* 6 */ { "10.1.0.5/32", "10.1.0.5", true },
		/* 7 */ { "10.1.0.5/32", "10.1.0.4", false },
		/* 8 */ { "0.0.0.0/0", "203.0.113.9", true },
		/* 9 */ { "fd00:6e74::12/64", "fd00:6e74::99", true },
		/* 10 */ { "fd00:6e74::12/64", "fd00:6e75::1", false },
		/* 11 */ { "fd00:6e74::12/64", "10.1.0.1", false }, /* another family */
		/* 12 */ { "10.1.0.11/24", "fd00:6e74::1", false },
		/* 13 */ { "fd00::/7", "fdff::1", true },
		/* 14 */ { "fd00::/8", "fe00::1", false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nt_cidr c;
		uint8_t a[16];
		int fam = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;

		assert_true(nt_cidr_parse(cases[i].cidr, &c));
		assert_int_equal(inet_pton(fam, cases[i].addr, a), 1);
		if (nt_cidr_contains(&c, fam, a) != cases[i].want)
			fail_msg("case %zu: %s in %s", i + 1, cases[i].addr, cases[i].cidr);
	}
}

static void test_unicast(void **state)
{
	static const struct {
		const char *ep;
		bool want;
	} cases[] = {
		/* 1 */ { "192.0.2.1:51830", true },
		/* 2 */ { "10.1.0.1:1", true },
		/* 3 */ { "127.0.0.1:51830", false },
		/* 4 */ { "127.9.9.9:51830", false },
		/* 5 */ { "0.0.0.0:51830", false },
		/* 6 */ { "224.0.0.1:51830", false },
		/* 7 */ { "239.255.255.250:1900", false },
		/* 8 */ { "255.255.255.255:51830", false },
		/* 9 */ { "240.0.0.1:51830", false },
		/* 10 */ { "192.0.2.1", false }, /* port 0 */
		/* 11 */ { "[2001:db8::1]:51830", true },
		/* 12 */ { "[::1]:51830", false },
		/* 13 */ { "[::]:51830", false },
		/* 14 */ { "[ff02::fb]:5353", false },
		/* 15 */ { "[fe80::1]:51830", false },
		/* 16 */ { "[::ffff:127.0.0.1]:51830", false },
		/* 17 */ { "[::ffff:192.0.2.1]:51830", true },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		union nt_sockaddr ep;

		if (!strchr(cases[i].ep, ':'))
			assert_true(nt_sockaddr_literal(cases[i].ep, 0, &ep));
		else
			assert_true(nt_sockaddr_parse(cases[i].ep, &ep));
		if (nt_sockaddr_is_unicast(&ep) != cases[i].want)
			fail_msg("case %zu: %s", i + 1, cases[i].ep);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr_contains),
		cmocka_unit_test(test_unicast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
