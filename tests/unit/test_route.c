// SPDX-License-Identifier: MIT
/*
 * Route table: random inserts, lookups and owner removals checked against a brute-force
 * list (the idea of WireGuard's horrible_allowedips), the same for prefixes against a
 * brute-force longest-prefix match, a numbered table of prefix edge cases, plus the IP header
 * address parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "dataplane/route.h"

struct ref {
	int family;
	uint8_t addr[16];
	void *owner;
};

static struct nt_route table;
static struct ref refs[3000];
static unsigned int n_refs;

static void *ref_lookup(int family, const uint8_t *addr)
{
	for (unsigned int i = 0; i < n_refs; i++)
		if (refs[i].family == family &&
		    memcmp(refs[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
			return refs[i].owner;
	return NULL;
}

static void random_addr(int *family, uint8_t *addr)
{
	*family = rand() % 2 ? AF_INET : AF_INET6;
	memset(addr, 0, 16);
	/* A small space, so collisions and repeated inserts happen often. */
	addr[0] = 10;
	addr[3] = (uint8_t)(rand() % 256);
	addr[2] = (uint8_t)(rand() % 8);
}

static void test_random_against_reference(void **state)
{
	(void)state;
	srand(1234);
	/* Room for every address random_addr makes: the table grows from its small start. */
	assert_int_equal(nt_route_init(&table, 2 * 8 * 256), 0);
	n_refs = 0;
	for (int step = 0; step < 20000; step++) {
		int family, op = rand() % 10;
		uint8_t addr[16];
		void *owner = (void *)(uintptr_t)(1 + rand() % 50);

		random_addr(&family, addr);
		if (op < 6) {
			void *have = ref_lookup(family, addr);
			int ret = nt_route_add(&table, family, addr, owner);
			if (have && have != owner) {
				assert_int_equal(ret, -17 /* EEXIST */);
			} else {
				assert_int_equal(ret, 0);
				if (!have && n_refs < 3000) {
					refs[n_refs].family = family;
					memcpy(refs[n_refs].addr, addr, 16);
					refs[n_refs++].owner = owner;
				}
			}
		} else if (op < 7) {
			nt_route_remove_owner(&table, owner);
			for (unsigned int i = 0; i < n_refs;)
				if (refs[i].owner == owner)
					refs[i] = refs[--n_refs];
				else
					i++;
		}
		random_addr(&family, addr);
		assert_ptr_equal(nt_route_lookup(&table, family, addr), ref_lookup(family, addr));
		assert_int_equal(table.count, n_refs);
	}
	/* Every reference entry is still found after all the removals. */
	for (unsigned int i = 0; i < n_refs; i++)
		assert_ptr_equal(nt_route_lookup(&table, refs[i].family, refs[i].addr), refs[i].owner);
	nt_route_clear(&table);
	assert_int_equal(table.count, 0);
	assert_null(nt_route_lookup(&table, refs[0].family, refs[0].addr));
	nt_route_uninit(&table);
}

/*
 * Sized for 100 addresses: it starts small, grows as they come, holds all 100 (no cap below
 * what it was sized for), and refuses with -ENOSPC once the size fixed at start is full.
 */
static void test_grows_to_its_cap(void **state)
{
	struct nt_route r;
	uint8_t addr[16] = { 10 };
	unsigned int n = 0;
	size_t start;
	int ret;

	(void)state;
	assert_int_equal(nt_route_init(&r, 100), 0);
	start = nt_route_bytes(&r);
	assert_true(start <= NT_ROUTE_SLOTS_MIN * sizeof(struct nt_route_slot));
	for (;;) {
		addr[2] = (uint8_t)(n >> 8);
		addr[3] = (uint8_t)n;
		ret = nt_route_add(&r, AF_INET, addr, (void *)(uintptr_t)(n + 1));
		if (ret < 0)
			break;
		n++;
		assert_true(n < 100000);
	}
	assert_int_equal(ret, -28 /* ENOSPC */);
	assert_true(n >= 100);
	assert_true(n <= 2 * 100);
	assert_true(nt_route_bytes(&r) > start);
	for (unsigned int i = 0; i < n; i++) {
		addr[2] = (uint8_t)(i >> 8);
		addr[3] = (uint8_t)i;
		assert_ptr_equal(nt_route_lookup(&r, AF_INET, addr), (void *)(uintptr_t)(i + 1));
	}
	nt_route_uninit(&r);
}

/* A brute-force longest prefix match: the reference of the prefix table. */
struct pref {
	int family;
	uint8_t addr[16];
	unsigned int plen;
	void *owner;
};

static struct pref prefs[400];
static unsigned int n_prefs;

static bool pref_holds(const struct pref *p, int family, const uint8_t *addr)
{
	for (unsigned int b = 0; b < p->plen; b++)
		if (((p->addr[b / 8] ^ addr[b / 8]) >> (7 - b % 8)) & 1)
			return false;
	return p->family == family;
}

static void *pref_lookup(int family, const uint8_t *addr)
{
	const struct pref *best = NULL;

	for (unsigned int i = 0; i < n_prefs; i++)
		if (pref_holds(&prefs[i], family, addr) && (!best || prefs[i].plen > best->plen))
			best = &prefs[i];
	return best ? best->owner : NULL;
}

static void test_prefix_random_against_reference(void **state)
{
	static uint8_t owners[8];

	(void)state;
	srand(4242);
	assert_int_equal(nt_route_init(&table, 8192), 0);
	n_prefs = 0;
	/* Few base addresses, so that prefixes nest and lookups often hit several of them. */
	for (unsigned int round = 0; round < 20000; round++) {
		int family = rand() % 2 ? AF_INET : AF_INET6;
		unsigned int host = family == AF_INET ? 32 : 128;
		uint8_t addr[16] = { 0 };
		unsigned int op = (unsigned int)rand() % 10;

		addr[0] = (uint8_t)(rand() % 2 ? 198 : 10);
		for (unsigned int i = 1; i < (family == AF_INET ? 4 : 16); i++)
			addr[i] = (uint8_t)(rand() % 4);
		if (op < 2 && n_prefs < 400) {
			struct pref p = { .family = family, .plen = (unsigned int)rand() % (host + 1),
					  .owner = &owners[rand() % 8] };
			bool dup = false;
			int ret;

			nt_route_mask(family, addr, p.plen, p.addr);
			for (unsigned int i = 0; i < n_prefs; i++)
				if (prefs[i].family == family && prefs[i].plen == p.plen &&
				    !memcmp(prefs[i].addr, p.addr, 16)) {
					dup = true;
					assert_int_equal(nt_route_add_prefix(&table, family, addr, p.plen, p.owner),
							 prefs[i].owner == p.owner ? 0 : -EEXIST);
				}
			if (dup)
				continue;
			ret = nt_route_add_prefix(&table, family, addr, p.plen, p.owner);
			assert_int_equal(ret, 0);
			prefs[n_prefs++] = p;
		} else if (op == 2) {
			void *gone = &owners[rand() % 8];
			unsigned int kept = 0;

			nt_route_remove_owner(&table, gone);
			for (unsigned int i = 0; i < n_prefs; i++)
				if (prefs[i].owner != gone)
					prefs[kept++] = prefs[i];
			n_prefs = kept;
		} else {
			assert_ptr_equal(nt_route_lookup(&table, family, addr), pref_lookup(family, addr));
		}
		assert_int_equal(table.count, n_prefs);
	}
	nt_route_uninit(&table);
}

/* One numbered line per case: what a lookup of `addr` answers with these routes. */
static void test_prefix_cases(void **state)
{
	static int a, b, c, d;
	static const struct {
		const char *addr;
		void *want;
	} cases[] = {
		/* 1 */ { "198.51.100.7", &b }, /* inside B's /24 only */
		/* 2 */ { "198.51.100.200", &c }, /* C's /25 is longer than B's /24 */
		/* 3 */ { "198.51.100.129", &a }, /* A's host address beats both */
		/* 4 */ { "198.51.101.1", &d }, /* outside both: the default route */
		/* 5 */ { "10.1.0.1", &a }, /* a member's own address */
		/* 6 */ { "2001:db8::1", NULL }, /* no IPv6 default route */
		/* 7 */ { "2001:db8:1::5", &b }, /* B's IPv6 /48 */
	};
	uint8_t x[16];

	(void)state;
	assert_int_equal(nt_route_init(&table, 64), 0);
	inet_pton(AF_INET, "198.51.100.0", x);
	assert_int_equal(nt_route_add_prefix(&table, AF_INET, x, 24, &b), 0);
	inet_pton(AF_INET, "198.51.100.255", x); /* masked on the way in */
	assert_int_equal(nt_route_add_prefix(&table, AF_INET, x, 25, &c), 0);
	assert_int_equal(nt_route_add_prefix(&table, AF_INET, x, 25, &d), -EEXIST);
	assert_int_equal(nt_route_add_prefix(&table, AF_INET, x, 33, &d), -EINVAL);
	inet_pton(AF_INET, "198.51.100.129", x);
	assert_int_equal(nt_route_add(&table, AF_INET, x, &a), 0);
	inet_pton(AF_INET, "10.1.0.1", x);
	assert_int_equal(nt_route_add(&table, AF_INET, x, &a), 0);
	assert_int_equal(nt_route_add_prefix(&table, AF_INET, x, 0, &d), 0);
	inet_pton(AF_INET6, "2001:db8:1::", x);
	assert_int_equal(nt_route_add_prefix(&table, AF_INET6, x, 48, &b), 0);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int family = strchr(cases[i].addr, ':') ? AF_INET6 : AF_INET;

		assert_int_equal(inet_pton(family, cases[i].addr, x), 1);
		if (nt_route_lookup(&table, family, x) != cases[i].want)
			fail_msg("case %u (%s): wrong owner", i + 1, cases[i].addr);
	}
	/* Removing C's /25 leaves its addresses to B's /24; the lengths in use follow. */
	nt_route_remove_owner(&table, &c);
	inet_pton(AF_INET, "198.51.100.200", x);
	assert_ptr_equal(nt_route_lookup(&table, AF_INET, x), &b);
	assert_int_equal(table.n_lens[0], 2); /* 24 and 0 */
	nt_route_remove_owner(&table, &d);
	assert_int_equal(table.n_lens[0], 1);
	inet_pton(AF_INET, "192.0.2.1", x);
	assert_null(nt_route_lookup(&table, AF_INET, x));
	nt_route_uninit(&table);
}

static void test_ip_addrs(void **state)
{
	uint8_t v4[20] = { 0x45 }, v6[40] = { 0x60 };
	const uint8_t *src, *dst;
	int family;

	(void)state;
	v4[12] = 10, v4[15] = 1, v4[16] = 10, v4[19] = 2;
	assert_true(nt_ip_addrs(v4, sizeof(v4), &family, &src, &dst));
	assert_int_equal(family, AF_INET);
	assert_int_equal(src[3], 1);
	assert_int_equal(dst[3], 2);
	assert_false(nt_ip_addrs(v4, 19, &family, &src, &dst));
	v6[8] = 0xfd, v6[24] = 0xfe;
	assert_true(nt_ip_addrs(v6, sizeof(v6), &family, &src, &dst));
	assert_int_equal(family, AF_INET6);
	assert_int_equal(src[0], 0xfd);
	assert_int_equal(dst[0], 0xfe);
	assert_false(nt_ip_addrs(v6, 39, &family, &src, &dst));
	v6[0] = 0x50;
	assert_false(nt_ip_addrs(v6, sizeof(v6), &family, &src, &dst));
	assert_false(nt_ip_addrs(v6, 0, &family, &src, &dst));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_reference),
		cmocka_unit_test(test_grows_to_its_cap),
		cmocka_unit_test(test_prefix_random_against_reference),
		cmocka_unit_test(test_prefix_cases),
		cmocka_unit_test(test_ip_addrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
