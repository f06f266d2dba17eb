// SPDX-License-Identifier: MIT
/*
 * ICMPv4/ICMPv6 unreachable replies, written into a caller buffer. The quoted part of the
 * original packet is as much as fits in the minimum MTU (576 bytes for IPv4, 1280 for
 * IPv6), as both RFCs ask.
 */
#include "dataplane/icmp.h"

#include <string.h>

uint16_t nt_inet_checksum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t unreachable_v4(const uint8_t *pkt, size_t len, uint8_t *out,
			     size_t cap)
{
	size_t ihl = (size_t)(pkt[0] & 15) * 4, quote, total;
	uint16_t sum;

	if (ihl < 20 || len < ihl)
		return 0;
	/* Never answer multicast/broadcast, an ICMP error, or a non-first fragment. */
	if (pkt[16] >= 224 || (pkt[16] == 255) || pkt[19] == 255 || pkt[19] == 0)
		return 0;
	if ((((pkt[6] & 0x1f) << 8) | pkt[7]) != 0)
		return 0;
	if (pkt[9] == 1 && len > ihl && pkt[ihl] != 8 && pkt[ihl] != 0 && pkt[ihl] != 13 &&
	    pkt[ihl] != 15 && pkt[ihl] != 17)
		return 0;
	quote = len < 576 - 28 ? len : 576 - 28;
	total = 28 + quote;
	if (cap < total)
		return 0;
	memset(out, 0, 28);
	out[0] = 0x45;
	out[2] = (uint8_t)(total >> 8);
	out[3] = (uint8_t)total;
	out[8] = 64; /* TTL */
	out[9] = 1; /* ICMP */
	memcpy(out + 12, pkt + 16, 4);
	memcpy(out + 16, pkt + 12, 4);
	sum = nt_inet_checksum(out, 20, 0);
	out[10] = (uint8_t)(sum >> 8);
	out[11] = (uint8_t)sum;
	out[20] = 3; /* destination unreachable */
	out[21] = 1; /* host unreachable */
	memcpy(out + 28, pkt, quote);
	sum = nt_inet_checksum(out + 20, 8 + quote, 0);
	out[22] = (uint8_t)(sum >> 8);
	out[23] = (uint8_t)sum;
	return total;
}

static size_t unreachable_v6(const uint8_t *pkt, size_t len, uint8_t *out,
			     size_t cap)
{
	size_t quote, plen, total;
	uint32_t sum = 0;
	uint16_t csum;

	if (len < 40)
		return 0;
	if (pkt[24] == 0xff || (pkt[8] == 0xfe && (pkt[9] & 0xc0) == 0x80))
		return 0; /* multicast destination or link-local source */
	if (pkt[6] == 58 && len > 40 && pkt[40] < 128)
		return 0; /* an ICMPv6 error */
	quote = len < 1280 - 48 ? len : 1280 - 48;
	plen = 8 + quote;
	total = 40 + plen;
	if (cap < total)
		return 0;
	memset(out, 0, 48);
	out[0] = 0x60;
	out[4] = (uint8_t)(plen >> 8);
	out[5] = (uint8_t)plen;
	out[6] = 58; /* ICMPv6 */
	out[7] = 64;
	memcpy(out + 8, pkt + 24, 16);
	memcpy(out + 24, pkt + 8, 16);
	out[40] = 1; /* destination unreachable */
	out[41] = 3; /* address unreachable */
	memcpy(out + 48, pkt, quote);
	/* Pseudo-header: source, destination, upper-layer length, next header. */
	for (int i = 8; i < 40; i += 2)
		sum += (uint32_t)(out[i] << 8 | out[i + 1]);
	sum += (uint32_t)plen + 58;
	csum = nt_inet_checksum(out + 40, plen, sum);
	out[42] = (uint8_t)(csum >> 8);
	out[43] = (uint8_t)csum;
	return total;
}

size_t nt_icmp_unreachable(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	if (len < 1)
		return 0;
	if (pkt[0] >> 4 == 4)
		return unreachable_v4(pkt, len, out, cap);
	if (pkt[0] >> 4 == 6)
		return unreachable_v6(pkt, len, out, cap);
	return 0;
}
