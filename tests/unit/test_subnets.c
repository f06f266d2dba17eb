// SPDX-License-Identifier: MIT
/*
 * Subnet routes in the claims (ledger/subnets.h): which prefixes may be advertised (one
 * numbered line per case), the strict decoding of a claim's "routes", and the choice among
 * members advertising the same prefix (earliest claim, then lowest node ID), including who
 * takes over when the winner's claim goes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ledger/subnets.h"

static struct nt_cidr vpn[2];

static int setup(void **state)
{
	(void)state;
	nt_cidr_parse("10.1.0.11/24", &vpn[0]);
	nt_cidr_parse("fd00:6e74::1/64", &vpn[1]);
	return 0;
}

static void test_check(void **state)
{
	static const struct {
		const char *prefix;
		bool ok;
	} cases[] = {
		/*  1 */ { "198.51.100.0/24", true },
		/*  2 */ { "198.51.100.1/24", false }, /* host bits */
		/*  3 */ { "10.0.0.0/8", false }, /* holds the VPN's 10.1.0.0/24 */
		/*  4 */ { "10.1.0.128/25", false }, /* inside the VPN */
		/*  5 */ { "10.2.0.0/16", true }, /* beside it */
		/*  6 */ { "0.0.0.0/0", true }, /* the default route: --router */
		/*  7 */ { "::/0", true },
		/*  8 */ { "64.0.0.0/2", false }, /* too short */
		/*  9 */ { "127.0.0.0/8", false }, /* loopback */
		/* 10 */ { "224.0.0.0/24", false }, /* multicast */
		/* 11 */ { "169.254.0.0/16", false }, /* link-local */
		/* 12 */ { "2001:db8:1::/48", true },
		/* 13 */ { "fd00:6e74::/48", false }, /* holds the VPN's IPv6 prefix */
		/* 14 */ { "fe80::/64", false },
		/* 15 */ { "2000::/3", false }, /* too short */
		/* 16 */ { "198.51.100.7/32", true }, /* one host */
	};
	struct nt_cidr c;

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why;

		assert_true(nt_cidr_parse(cases[i].prefix, &c));
		why = nt_subnet_check(&c, vpn, 2);
		if ((why == NULL) != cases[i].ok)
			fail_msg("case %u (%s): %s", i + 1, cases[i].prefix, why ? why : "accepted");
	}
}

static int decode(const char *json, struct nt_cidr *out)
{
	return nt_subnet_decode((const uint8_t *)json, strlen(json), vpn, 2, out, NT_MAX_ADVERTISED_ROUTES);
}

static void test_decode(void **state)
{
	static const struct {
		const char *value;
		int want;
	} cases[] = {
		/*  1 */ { "{\"id\":\"x\"}", 0 },
		/*  2 */ { "{\"routes\":[]}", 0 },
		/*  3 */ { "{\"routes\":[\"198.51.100.0/24\",\"2001:db8:1::/48\"]}", 2 },
		/*  4 */ { "{\"routes\":\"198.51.100.0/24\"}", -EINVAL },
		/*  5 */ { "{\"routes\":[\"198.51.100.0/24\",7]}", -EINVAL },
		/*  6 */ { "{\"routes\":[\"198.51.100.1/24\"]}", -EINVAL }, /* host bits */
		/*  7 */ { "{\"routes\":[\"2001:DB8:1::/48\"]}", -EINVAL }, /* not canonical */
		/*  8 */ { "{\"routes\":[\"198.051.100.0/24\"]}", -EINVAL },
		/*  9 */ { "{\"routes\":[\"10.1.0.0/24\"]}", -EINVAL }, /* the VPN itself */
		/* 10 */ { "{\"routes\":[\"198.51.100.0/24\",\"198.51.100.0/24\"]}", -EINVAL },
		/* 11 */ { "not json", 0 }, /* no "routes": nothing offered, not even parsed */
		/* 12 */ { "[\"198.51.100.0/24\", \"routes\"]", -EINVAL }, /* not an object */
		/* 13 */ { "{\"routes\":[\"198.51.100.0/24\"", -EINVAL }, /* truncated */
		/* 14 */ { "{\"\\u0072outes\":[\"198.51.100.0/24\"]}", 0 }, /* escaped key: ignored */
		/* 15 */ { "{\"routes\":[\"198.51.100.0/24\"],\"routes\":[]}", -EINVAL }, /* duplicate key */
	};
	struct nt_cidr out[NT_MAX_ADVERTISED_ROUTES];
	char value[1024];
	size_t off;

	(void)state;
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = decode(cases[i].value, out);

		if (n != cases[i].want)
			fail_msg("case %u: %d, want %d", i + 1, n, cases[i].want);
	}
	/* Bounded: 16 prefixes pass, 17 do not. */
	for (unsigned int count = 16; count <= 17; count++) {
		off = (size_t)snprintf(value, sizeof(value), "{\"routes\":[");
		for (unsigned int i = 0; i < count; i++)
			off += (size_t)snprintf(value + off, sizeof(value) - off, "%s\"198.51.%u.0/24\"",
						i ? "," : "", i);
		snprintf(value + off, sizeof(value) - off, "]}");
		assert_int_equal(decode(value, out), count == 16 ? 16 : -E2BIG);
	}
}

static void offer(struct nt_subnet_offer *o, size_t *n, const char *prefix, uint8_t id, uint64_t at)
{
	struct nt_cidr c;
	uint8_t owner[32] = { 0 };
	char key[16];

	owner[0] = id;
	snprintf(key, sizeof(key), "10.1.0.%u", id);
	assert_true(nt_cidr_parse(prefix, &c));
	nt_subnet_offer_add(o, n, 16, &c, owner, at, key);
}

/* Which member (the first byte of its ID) is chosen for prefix. */
static int winner(const struct nt_subnet_offer *o, size_t n, const char *prefix)
{
	struct nt_cidr c;
	int who = -1;

	assert_true(nt_cidr_parse(prefix, &c));
	for (size_t i = 0; i < n; i++) {
		if (!o[i].chosen || !nt_subnet_same(&o[i].prefix, &c))
			continue;
		assert_int_equal(who, -1); /* one winner per prefix */
		who = o[i].owner[0];
	}
	return who;
}

static void test_choose(void **state)
{
	struct nt_subnet_offer o[16];
	size_t n = 0;

	(void)state;
	offer(o, &n, "198.51.100.0/24", 2, 1000); /* b, first */
	offer(o, &n, "198.51.100.0/24", 3, 2000); /* c, later */
	offer(o, &n, "203.0.113.0/24", 5, 3000); /* e and d at the same time: lower ID wins */
	offer(o, &n, "203.0.113.0/24", 4, 3000);
	offer(o, &n, "198.51.100.0/24", 3, 1500); /* c's other claim (IPv6) lowers its time, once */
	assert_int_equal(n, 4);
	nt_subnet_choose(o, n);
	assert_int_equal(winner(o, n, "198.51.100.0/24"), 2);
	assert_int_equal(winner(o, n, "203.0.113.0/24"), 4);
	/* Any order of the same offers makes the same choice. */
	for (size_t i = 0; i < n; i++) {
		struct nt_subnet_offer t = o[i];

		o[i] = o[n - 1 - i];
		o[n - 1 - i] = t;
	}
	nt_subnet_choose(o, n);
	assert_int_equal(winner(o, n, "198.51.100.0/24"), 2);
	/* b's claim goes (it left): the rebuild has only c's offer, and c takes over. */
	n = 0;
	offer(o, &n, "198.51.100.0/24", 3, 2000);
	offer(o, &n, "203.0.113.0/24", 5, 3000);
	offer(o, &n, "203.0.113.0/24", 4, 3000);
	nt_subnet_choose(o, n);
	assert_int_equal(winner(o, n, "198.51.100.0/24"), 3);
	assert_int_equal(winner(o, n, "203.0.113.0/24"), 4);
	/* b comes back with a new claim: it is later than c's now, so c keeps the prefix. */
	offer(o, &n, "198.51.100.0/24", 2, 9000);
	nt_subnet_choose(o, n);
	assert_int_equal(winner(o, n, "198.51.100.0/24"), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_choose),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
