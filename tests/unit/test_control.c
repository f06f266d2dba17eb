// SPDX-License-Identifier: MIT
/* Control messages: round trips, and a table of malformed bodies that must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "proto/control.h"

static void test_announce_round_trip(void **state)
{
	struct nt_announce a = { .listen_port = 51830, .n_addresses = 2 }, b;
	uint8_t buf[256];
	int n;

	(void)state;
	assert_true(nt_cidr_parse("10.1.0.11/24", &a.addresses[0]));
	assert_true(nt_cidr_parse("fd00:6e74::11/64", &a.addresses[1]));
	strcpy(a.name, "alpha");
	a.keep = true;
	n = nt_control_announce_encode(&a, buf, sizeof(buf));
	assert_int_equal(n, 1 + 2 + 1 + (2 + 4) + (2 + 16) + 1 + 5 + 1);
	assert_true(nt_control_announce_decode(&b, buf, (size_t)n));
	assert_int_equal(b.listen_port, 51830);
	assert_int_equal(b.n_addresses, 2);
	assert_memory_equal(&a.addresses[0], &b.addresses[0], sizeof(a.addresses[0]));
	assert_memory_equal(&a.addresses[1], &b.addresses[1], sizeof(a.addresses[1]));
	assert_string_equal(b.name, "alpha");
	assert_true(b.keep);
	/* Flags it does not know are ignored; the keep flag is read alone. */
	buf[n - 1] = 0xfe;
	assert_true(nt_control_announce_decode(&b, buf, (size_t)n));
	assert_false(b.keep);
	buf[n - 1] = NT_ANNOUNCE_KEEP;
	/* Every truncation fails, and so does one byte too many. */
	for (int i = 0; i < n; i++)
		assert_false(nt_control_announce_decode(&b, buf, (size_t)i));
	buf[n] = 0;
	assert_false(nt_control_announce_decode(&b, buf, (size_t)n + 1));
	assert_int_equal(nt_control_announce_encode(&a, buf, 10), -90 /* EMSGSIZE */);
}

static void test_announce_malformed(void **state)
{
	static const struct {
		uint8_t bytes[16];
		size_t len;
	} bad[] = {
		{ { 2, 0, 1, 0, 0 }, 5 }, /* version 2 */
		{ { 1, 0, 1, 5 }, 4 }, /* five addresses */
		{ { 1, 0, 1, 1, 5, 24, 10, 1, 0, 1, 0 }, 11 }, /* family 5 */
		{ { 1, 0, 1, 1, 4, 33, 10, 1, 0, 1, 0 }, 11 }, /* /33 */
		{ { 1, 0, 1, 0, 2, 'a', 0x07 }, 7 }, /* control character in the name */
		{ { 1, 0, 1, 0, 64 }, 5 }, /* name length 64 */
	};
	struct nt_announce a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(nt_control_announce_decode(&a, bad[i].bytes, bad[i].len));
}

static void test_pex_round_trip(void **state)
{
	struct nt_pex p = { .count = 2 }, q;
	uint8_t buf[512];
	int n;

	(void)state;
	memset(p.entries[0].id, 0xaa, 32);
	assert_true(nt_sockaddr_parse("192.0.2.7:51830", &p.entries[0].endpoint));
	memset(p.entries[1].id, 0xbb, 32);
	assert_true(nt_sockaddr_parse("[fd00::7]:4000", &p.entries[1].endpoint));
	n = nt_control_pex_encode(&p, buf, sizeof(buf));
	assert_int_equal(n, 2 + (32 + 1 + 4 + 2) + (32 + 1 + 16 + 2));
	assert_true(nt_control_pex_decode(&q, buf, (size_t)n));
	assert_int_equal(q.count, 2);
	assert_true(nt_sockaddr_equal(&q.entries[0].endpoint, &p.entries[0].endpoint));
	assert_true(nt_sockaddr_equal(&q.entries[1].endpoint, &p.entries[1].endpoint));
	assert_memory_equal(q.entries[1].id, p.entries[1].id, 32);
	for (int i = 0; i < n; i++)
		assert_false(nt_control_pex_decode(&q, buf, (size_t)i));
	buf[1] = NT_PEX_MAX + 1;
	assert_false(nt_control_pex_decode(&q, buf, (size_t)n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announce_round_trip),
		cmocka_unit_test(test_announce_malformed),
		cmocka_unit_test(test_pex_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
