// SPDX-License-Identifier: MIT
/* ICMP unreachable replies: headers, checksums, quoting, and the cases that get none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/icmp.h"

static void test_v4_reply(void **state)
{
	uint8_t pkt[84] = { 0x45, 0, 0, 84, 0, 0, 0x40, 0, 64, 1, 0, 0, 10, 1, 0, 1, 10, 1, 0, 77 };
	uint8_t out[1500];
	size_t n;

	(void)state;
	pkt[20] = 8; /* echo request */
	n = nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	assert_int_equal(n, 28 + sizeof(pkt));
	assert_int_equal(out[0], 0x45);
	assert_int_equal(out[9], 1);
	assert_memory_equal(out + 12, pkt + 16, 4); /* from the unreachable host */
	assert_memory_equal(out + 16, pkt + 12, 4); /* to the sender */
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 1);
	assert_int_equal(nt_inet_checksum(out, 20, 0), 0);
	assert_int_equal(nt_inet_checksum(out + 20, n - 20, 0), 0);
	assert_memory_equal(out + 28, pkt, sizeof(pkt));
	/* No reply to broadcast, multicast, ICMP errors, non-first fragments, runts. */
	pkt[19] = 255;
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
	pkt[19] = 77;
	pkt[16] = 224;
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
	pkt[16] = 10;
	pkt[20] = 3;
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
	pkt[20] = 8;
	pkt[7] = 1;
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
	pkt[7] = 0;
	assert_int_equal(nt_icmp_unreachable(pkt, 19, out, sizeof(out)), 0);
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, 50), 0);
}

static void test_v6_reply(void **state)
{
	uint8_t pkt[104] = { 0x60, 0, 0, 0, 0, 64, 58, 64 };
	uint8_t out[1500], pseudo[40 + 1500];
	size_t n, plen;

	(void)state;
	pkt[8] = 0xfd, pkt[23] = 1; /* fd00::1 */
	pkt[24] = 0xfd, pkt[39] = 0x77; /* fd00::77 */
	pkt[40] = 128; /* echo request */
	n = nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	assert_int_equal(n, 48 + sizeof(pkt));
	assert_memory_equal(out + 8, pkt + 24, 16);
	assert_memory_equal(out + 24, pkt + 8, 16);
	assert_int_equal(out[40], 1);
	assert_int_equal(out[41], 3);
	/* Verify the checksum over the pseudo-header independently. */
	plen = n - 40;
	memcpy(pseudo, out + 8, 32);
	memset(pseudo + 32, 0, 8);
	pseudo[34] = (uint8_t)(plen >> 8), pseudo[35] = (uint8_t)plen, pseudo[39] = 58;
	memcpy(pseudo + 40, out + 40, plen);
	assert_int_equal(nt_inet_checksum(pseudo, 40 + plen, 0), 0);
	pkt[24] = 0xff; /* multicast */
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
	pkt[24] = 0xfd;
	pkt[40] = 1; /* an ICMPv6 error */
	assert_int_equal(nt_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_reply),
		cmocka_unit_test(test_v6_reply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
