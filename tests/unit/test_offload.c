// SPDX-License-Identifier: MIT
/*
 * Segmentation offloads: superpackets built here are cut with nt_gso_next() and every
 * segment is checked on its own against a plain byte-pair checksum written for this test;
 * then segments are coalesced again with nt_gro_add() and what the write callback receives
 * is compared with the superpacket they came from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dataplane/offload.h"
#include "core/util.h"

enum {
	FIN = 0x01,
	SYN = 0x02,
	RST = 0x04,
	PSH = 0x08,
	ACK = 0x10,
	URG = 0x20,
	ECE = 0x40,
	CWR = 0x80,
	STRIDE = 2048, /* one segment per slot of the segment buffer */
	BIG = NT_GSO_MAX + 128,
};

/* The reference: RFC 1071 in its plainest form. */
static uint32_t ref_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t ref_pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	if (ip[0] >> 4 == 4)
		return ref_add(0, ip + 12, 8) + proto + (uint32_t)l4len;
	return ref_add(0, ip + 8, 32) + proto + (uint32_t)(l4len >> 16) + (uint32_t)(l4len & 0xffff);
}

/* Whether the transport checksum of the packet (l4 at ip_hlen) verifies. */
static bool ref_l4_valid(const uint8_t *pkt, size_t len, size_t ip_hlen, uint8_t proto)
{
	return ref_fold(ref_add(ref_pseudo(pkt, proto, len - ip_hlen), pkt + ip_hlen,
				len - ip_hlen)) == 0xffff;
}

static bool ref_ipv4_valid(const uint8_t *pkt)
{
	return ref_fold(ref_add(0, pkt, (size_t)(pkt[0] & 15) * 4)) == 0xffff;
}

enum csum_mode { CSUM_FULL, CSUM_PSEUDO, CSUM_ZERO };

/* A packet to build: TCP or UDP over IPv4 or IPv6. */
struct spec {
	int family;
	uint8_t proto;
	bool ts; /* TCP timestamps option (12 bytes with two NOPs) */
	bool ip_opt; /* IPv4: 4 bytes of NOP options; IPv6: an 8-byte hop-by-hop header */
	uint8_t flags;
	uint32_t seq, ack, tsval;
	uint16_t id, sport, dport;
	uint8_t dst; /* last byte of the destination address */
	uint8_t ttl;
	size_t payload;
	uint32_t seed; /* payload byte i is a function of seed + i */
	enum csum_mode csum;
};

static size_t spec_ip_hlen(const struct spec *s)
{
	return s->family == AF_INET ? 20u + (s->ip_opt ? 4u : 0u) : 40u + (s->ip_opt ? 8u : 0u);
}

static size_t spec_hdr_len(const struct spec *s)
{
	return spec_ip_hlen(s) + (s->proto == IPPROTO_TCP ? 20u + (s->ts ? 12u : 0u) : 8u);
}

static uint8_t payload_byte(uint32_t seed, size_t i)
{
	return (uint8_t)((seed + i) * 131u + ((seed + i) >> 8));
}

static struct spec tcp_spec(int family, bool ts)
{
	return (struct spec){ .family = family, .proto = IPPROTO_TCP, .ts = ts, .flags = ACK,
			      .seq = 1000000, .ack = 777, .tsval = 4242, .id = 100,
			      .sport = 40000, .dport = 5201, .dst = 2, .ttl = 64, .payload = 1448,
			      .csum = CSUM_FULL };
}

static size_t build(uint8_t *b, const struct spec *s)
{
	size_t ip = spec_ip_hlen(s), hdr = spec_hdr_len(s), len = hdr + s->payload;
	uint8_t *l4 = b + ip, *field;
	uint16_t c = 0;

	memset(b, 0, hdr);
	if (s->family == AF_INET) {
		b[0] = (uint8_t)(0x40 | ip / 4);
		nt_put_be16(b + 2, (uint16_t)len);
		nt_put_be16(b + 4, s->id);
		b[6] = 0x40; /* DF */
		b[8] = s->ttl;
		b[9] = s->proto;
		b[12] = 10, b[15] = 1;
		b[16] = 10, b[19] = s->dst;
		memset(b + 20, 1, ip - 20);
	} else {
		b[0] = 0x60, b[1] = 0x01, b[2] = 0x23, b[3] = 0x45; /* with a flow label */
		nt_put_be16(b + 4, (uint16_t)(len - 40));
		b[6] = s->ip_opt ? 0 : s->proto;
		b[7] = s->ttl;
		b[8] = 0xfd, b[23] = 1;
		b[24] = 0xfd, b[39] = s->dst;
		if (s->ip_opt)
			b[40] = s->proto, b[42] = 1, b[43] = 4; /* PadN */
	}
	nt_put_be16(l4, s->sport);
	nt_put_be16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		nt_put_be32(l4 + 4, s->seq);
		nt_put_be32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((hdr - ip) / 4 << 4);
		l4[13] = s->flags;
		nt_put_be16(l4 + 14, 0x1f2e);
		if (s->ts) {
			l4[20] = 1, l4[21] = 1, l4[22] = 8, l4[23] = 10;
			nt_put_be32(l4 + 24, s->tsval);
			nt_put_be32(l4 + 28, 0x01020304);
		}
		field = l4 + 16;
	} else {
		nt_put_be16(l4 + 4, (uint16_t)(len - ip));
		field = l4 + 6;
	}
	for (size_t i = 0; i < s->payload; i++)
		b[hdr + i] = payload_byte(s->seed, i);
	if (s->csum == CSUM_FULL)
		c = (uint16_t)~ref_fold(ref_add(ref_pseudo(b, s->proto, len - ip), l4, len - ip));
	else if (s->csum == CSUM_PSEUDO)
		c = ref_fold(ref_pseudo(b, s->proto, len - ip));
	nt_put_be16(field, c);
	if (s->family == AF_INET)
		nt_put_be16(b + 10, (uint16_t)~ref_fold(ref_add(0, b, ip)));
	return len;
}

/* The header the kernel gives a TSO/USO superpacket built from s. */
static struct virtio_net_hdr super_vh(const struct spec *s, uint16_t mss)
{
	uint8_t type = s->proto == IPPROTO_UDP ? VIRTIO_NET_HDR_GSO_UDP_L4
			: s->family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4
					       : VIRTIO_NET_HDR_GSO_TCPV6;

	return (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					.gso_type = type,
					.hdr_len = nt_to_vnet16((uint16_t)spec_hdr_len(s)),
					.gso_size = nt_to_vnet16(mss),
					.csum_start = nt_to_vnet16((uint16_t)spec_ip_hlen(s)),
					.csum_offset = nt_to_vnet16(s->proto == IPPROTO_TCP ? 16 : 6) };
}

static uint8_t *super_buf, *seg_buf, *out_buf;
static size_t seg_len[NT_GSO_MAX_SEGS + 8];

static int setup(void **state)
{
	(void)state;
	super_buf = malloc(BIG);
	seg_buf = malloc((size_t)STRIDE * (NT_GSO_MAX_SEGS + 8));
	out_buf = malloc(BIG);
	return super_buf && seg_buf && out_buf ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(super_buf);
	free(seg_buf);
	free(out_buf);
	return 0;
}

static uint8_t *seg_at(unsigned int i)
{
	return seg_buf + (size_t)i * STRIDE;
}

/*
 * Cuts the superpacket sp (built from s) into seg_buf and checks every segment on its own:
 * lengths, IPv4 ID, sequence number, flags, checksums, and every other byte unchanged.
 */
static unsigned int cut_and_check(const uint8_t *sp, size_t len, const struct virtio_net_hdr *vh,
				  const struct spec *s, unsigned int want)
{
	size_t ip = spec_ip_hlen(s), hdr = spec_hdr_len(s), off = 0, mss = nt_vnet16(vh->gso_size);
	bool tcp = s->proto == IPPROTO_TCP;
	struct nt_gso_iter it;
	unsigned int i;
	long n;

	assert_int_equal(nt_gso_begin(&it, vh, sp, len), NT_GSO_OK);
	assert_int_equal(nt_gso_count(&it), want);
	for (i = 0; (n = nt_gso_next(&it, seg_at(i), STRIDE)) > 0; i++) {
		const uint8_t *p = seg_at(i);
		size_t plen = NT_MIN(mss, s->payload - off), l4len = (size_t)n - ip;
		bool last = i + 1 == want;
		uint8_t flags = s->flags;

		assert_true(i < want);
		seg_len[i] = (size_t)n;
		if (want == 1)
			plen = s->payload;
		assert_int_equal(n, hdr + plen);
		if (s->family == AF_INET) {
			assert_int_equal(nt_get_be16(p + 2), n);
			assert_int_equal(nt_get_be16(p + 4), (uint16_t)(s->id + i));
			assert_true(ref_ipv4_valid(p));
			assert_memory_equal(p, sp, 2);
			assert_memory_equal(p + 6, sp + 6, 4);
			assert_memory_equal(p + 12, sp + 12, ip - 12);
		} else {
			assert_int_equal(nt_get_be16(p + 4), n - 40);
			assert_memory_equal(p, sp, 4);
			assert_memory_equal(p + 6, sp + 6, ip - 6);
		}
		if (tcp) {
			if (i > 0)
				flags &= (uint8_t)~CWR;
			if (!last)
				flags &= (uint8_t)~(FIN | PSH);
			assert_int_equal(nt_get_be32(p + ip + 4), (uint32_t)(s->seq + off));
			assert_int_equal(p[ip + 13], flags);
			assert_memory_equal(p + ip, sp + ip, 4);
			assert_memory_equal(p + ip + 8, sp + ip + 8, 5);
			assert_memory_equal(p + ip + 14, sp + ip + 14, 2);
			assert_memory_equal(p + ip + 18, sp + ip + 18, hdr - ip - 18);
		} else {
			assert_int_equal(nt_get_be16(p + ip + 4), l4len);
			assert_int_not_equal(nt_get_be16(p + ip + 6), 0);
			assert_memory_equal(p + ip, sp + ip, 4);
		}
		assert_true(ref_l4_valid(p, (size_t)n, ip, s->proto));
		assert_memory_equal(p + hdr, sp + hdr + off, plen);
		off += plen;
	}
	assert_int_equal(n, 0);
	assert_int_equal(i, want);
	assert_int_equal(off, s->payload);
	assert_int_equal(nt_gso_next(&it, out_buf, BIG), 0);
	return i;
}

static void test_error_names(void **state)
{
	(void)state;
	assert_string_equal(nt_gso_error_name(NT_GSO_OK), "ok");
	assert_string_equal(nt_gso_error_name(NT_GSO_BAD_HEADER), "bad_header");
	assert_string_equal(nt_gso_error_name(NT_GSO_BAD_PACKET), "bad_packet");
	assert_string_equal(nt_gso_error_name(NT_GSO_BAD_CSUM), "bad_csum");
	assert_string_equal(nt_gso_error_name(NT_GSO_BAD_SIZE), "bad_size");
	assert_string_equal(nt_gso_error_name(NT_GSO_UNSUPPORTED), "unsupported");
	assert_string_equal(nt_gso_error_name((enum nt_gso_error)99), "unknown");
}

static void test_tso(void **state)
{
	static const struct {
		int family;
		bool ts, ip_opt;
		uint8_t flags;
		uint16_t id, mss;
		uint32_t seq;
		size_t payload;
		unsigned int segs;
	} cases[] = {
		/*  1 */ { AF_INET, false, false, ACK | PSH | FIN | CWR, 100, 1448, 1000, 5000, 4 },
		/*  2 */ { AF_INET, true, false, ACK | PSH, 100, 1448, 1000, 5000, 4 },
		/*  3 */ { AF_INET6, false, false, ACK | PSH | FIN | CWR, 0, 1428, 1000, 5000, 4 },
		/*  4 */ { AF_INET6, true, false, ACK | PSH | ECE, 0, 1428, 1000, 5000, 4 },
		/*  5 */ { AF_INET, true, false, ACK, 0xfffe, 1000, 0xfffffc00u, 4000, 4 }, /* wraps */
		/*  6 */ { AF_INET, false, false, ACK | PSH, 7, 1000, 1, 2000, 2 }, /* last is full */
		/*  7 */ { AF_INET, true, false, ACK | PSH | CWR | FIN, 7, 1448, 1, 1448, 1 },
		/*  8 */ { AF_INET, false, false, ACK | FIN, 7, 1448, 1, 0, 1 }, /* header only */
		/*  9 */ { AF_INET, false, true, ACK | PSH, 7, 1000, 1, 3500, 4 }, /* IPv4 options */
		/* 10 */ { AF_INET6, false, false, ACK, 0, 1, 1, 64, 64 }, /* most segments */
		/* 11 */ { AF_INET, true, false, ACK, 0, 1448, 1, 65535 - 52, 46 }, /* largest */
		/* 12 */ { AF_INET6, true, false, ACK, 0, 1100, 1, 65535 - 32, 60 },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		struct spec s = tcp_spec(cases[i].family, cases[i].ts);
		struct virtio_net_hdr vh;
		size_t len;

		s.ip_opt = cases[i].ip_opt;
		s.flags = cases[i].flags;
		s.id = cases[i].id;
		s.seq = cases[i].seq;
		s.payload = cases[i].payload;
		s.seed = (uint32_t)i;
		s.csum = CSUM_PSEUDO; /* as the kernel leaves it */
		len = build(super_buf, &s);
		vh = super_vh(&s, cases[i].mss);
		if (s.flags & CWR)
			vh.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
		print_message("case %zu\n", i + 1);
		cut_and_check(super_buf, len, &vh, &s, cases[i].segs);
		/* Without NEEDS_CSUM (the kernel accepts that too) the segments are the same. */
		vh.flags = 0;
		vh.csum_start = vh.csum_offset = 0;
		cut_and_check(super_buf, len, &vh, &s, cases[i].segs);
	}
}

static void test_uso(void **state)
{
	struct virtio_net_hdr vh;
	struct spec s;
	uint8_t *l4;
	uint16_t sum;
	size_t len;

	(void)state;
	for (int v6 = 0; v6 < 2; v6++) {
		s = tcp_spec(v6 ? AF_INET6 : AF_INET, false);
		s.proto = IPPROTO_UDP;
		s.payload = 3000;
		s.csum = CSUM_PSEUDO;
		len = build(super_buf, &s);
		vh = super_vh(&s, 1200);
		cut_and_check(super_buf, len, &vh, &s, 3);
		assert_int_equal(nt_get_be16(seg_at(2) + spec_ip_hlen(&s) + 4), 8 + 600);
	}
	/* A segment whose checksum comes out 0 is sent as 0xffff (RFC 768). */
	s.payload = 3000;
	s.seed = 9;
	len = build(super_buf, &s);
	super_buf[48 + 998] = super_buf[48 + 999] = 0; /* the last word of segment 1 */
	cut_and_check(super_buf, len, &vh, &s, 3);
	l4 = seg_at(0) + 40;
	l4[6] = l4[7] = 0;
	sum = ref_fold(ref_add(ref_pseudo(seg_at(0), IPPROTO_UDP, 1208), l4, 1208));
	nt_put_be16(super_buf + 48 + 998, (uint16_t)(0xffff - sum));
	cut_and_check(super_buf, len, &vh, &s, 3);
	assert_int_equal(nt_get_be16(seg_at(0) + 46), 0xffff);
}

/* GSO_NONE: copied unchanged, or with the partial checksum completed. */
static void test_none(void **state)
{
	struct virtio_net_hdr vh = { 0 };
	struct nt_gso_iter it;
	struct spec s;
	size_t len, ip;
	long n;

	(void)state;
	/* Without NEEDS_CSUM anything IP goes as it is, wrong checksum included. */
	s = tcp_spec(AF_INET, true);
	s.csum = CSUM_ZERO;
	len = build(super_buf, &s);
	assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), NT_GSO_OK);
	assert_int_equal(nt_gso_count(&it), 1);
	assert_int_equal(nt_gso_next(&it, out_buf, len - 1), -1);
	assert_int_equal(nt_gso_next(&it, out_buf, len), len);
	assert_memory_equal(out_buf, super_buf, len);
	assert_int_equal(nt_gso_next(&it, out_buf, BIG), 0);

	/* NEEDS_CSUM over TCP/UDP, IPv4/IPv6, and after an IPv6 extension header. */
	for (int i = 0; i < 8; i++) {
		s = tcp_spec(i & 1 ? AF_INET6 : AF_INET, i & 2);
		s.proto = i & 4 ? IPPROTO_UDP : IPPROTO_TCP;
		s.ip_opt = i == 3 || i == 5;
		s.payload = 333 + (size_t)i;
		s.seed = (uint32_t)i;
		s.csum = CSUM_PSEUDO;
		len = build(super_buf, &s);
		ip = spec_ip_hlen(&s);
		vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					      .csum_start = nt_to_vnet16((uint16_t)ip),
					      .csum_offset = nt_to_vnet16(s.proto == IPPROTO_TCP ? 16 : 6) };
		assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), NT_GSO_OK);
		n = nt_gso_next(&it, out_buf, BIG);
		assert_int_equal(n, len);
		assert_true(ref_l4_valid(out_buf, len, ip, s.proto));
		assert_memory_equal(out_buf, super_buf, ip + nt_vnet16(vh.csum_offset));
		assert_memory_equal(out_buf + ip + nt_vnet16(vh.csum_offset) + 2,
				    super_buf + ip + nt_vnet16(vh.csum_offset) + 2,
				    len - ip - nt_vnet16(vh.csum_offset) - 2);
		assert_int_equal(nt_gso_next(&it, out_buf, BIG), 0);
		/* DATA_VALID beside it changes nothing. */
		vh.flags |= VIRTIO_NET_HDR_F_DATA_VALID;
		assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), NT_GSO_OK);
		assert_int_equal(nt_gso_next(&it, out_buf, BIG), len);
		assert_true(ref_l4_valid(out_buf, len, ip, s.proto));
	}
}

/* A segment that does not fit the caller's buffer is not written, and can be retried. */
static void test_cap(void **state)
{
	struct spec s = tcp_spec(AF_INET6, true);
	struct virtio_net_hdr vh;
	struct nt_gso_iter it;
	size_t len;

	(void)state;
	s.payload = 3000;
	len = build(super_buf, &s);
	vh = super_vh(&s, 1400);
	assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), NT_GSO_OK);
	memset(out_buf, 0xaa, 2000);
	assert_int_equal(nt_gso_next(&it, out_buf, 40 + 32 + 1399), -1);
	assert_int_equal(out_buf[0], 0xaa);
	assert_int_equal(nt_gso_next(&it, out_buf, 40 + 32 + 1400), 40 + 32 + 1400);
	assert_int_equal(nt_gso_next(&it, out_buf, 40 + 32 + 1400), 40 + 32 + 1400);
	assert_int_equal(nt_gso_next(&it, out_buf, 40 + 32 + 199), -1);
	assert_int_equal(nt_gso_next(&it, out_buf, 40 + 32 + 200), 40 + 32 + 200);
	assert_int_equal(nt_gso_next(&it, out_buf, 0), 0);
}

enum base { V4_TCP, V6_TCP, V4_UDP, V6_UDP, V6_HBH_TCP, V6_HBH_UDP, V4_SMALL };

static size_t build_base(enum base b, struct spec *s)
{
	*s = tcp_spec(b == V4_TCP || b == V4_UDP || b == V4_SMALL ? AF_INET : AF_INET6, false);
	s->payload = b == V4_SMALL ? 10 : 3000;
	s->csum = CSUM_PSEUDO;
	s->ip_opt = b == V6_HBH_TCP || b == V6_HBH_UDP;
	if (b == V4_UDP || b == V6_UDP || b == V6_HBH_UDP)
		s->proto = IPPROTO_UDP;
	return build(super_buf, s);
}

static void test_rejections(void **state)
{
	enum { K = -1, HDR = 0x100 }; /* type HDR: the base's own TSO/USO header */
	static const struct {
		enum base base;
		int type; /* gso_type, or HDR */
		int flags; /* or K: unchanged */
		int gso_size, csum_start, csum_offset; /* or K */
		int len; /* or K */
		int poke_at, poke; /* a byte changed, or poke_at K */
		int poke2_at, poke2;
		enum nt_gso_error want;
	} cases[] = {
		/*  1 */ { V4_UDP, VIRTIO_NET_HDR_GSO_UDP, K, K, K, K, K, K, 0, K, 0, NT_GSO_UNSUPPORTED },
		/*  2 */ { V4_TCP, 2, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_HEADER },
		/*  3 */ { V4_TCP, 0x85, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_HEADER },
		/*  4 */ { V4_TCP, 0x80, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_HEADER },
		/*  5 */ { V4_UDP, 0x85, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_HEADER },
		/*  6 */ { V4_TCP, 0x81, K, K, K, K, K, K, 0, K, 0, NT_GSO_OK },
		/*  7 */ { V4_TCP, HDR, K, 0, K, K, K, K, 0, K, 0, NT_GSO_BAD_SIZE },
		/*  8 */ { V4_TCP, HDR, K, 46, K, K, K, K, 0, K, 0, NT_GSO_BAD_SIZE },
		/*  9 */ { V4_TCP, HDR, K, 47, K, K, K, K, 0, K, 0, NT_GSO_OK },
		/* 10 */ { V4_UDP, HDR, K, 0, K, K, K, K, 0, K, 0, NT_GSO_BAD_SIZE },
		/* 11 */ { V4_TCP, HDR, K, K, K, K, K, 0, 0x55, K, 0, NT_GSO_BAD_PACKET },
		/* 12 */ { V4_TCP, 0, 0, K, K, K, K, 0, 0x25, K, 0, NT_GSO_BAD_PACKET },
		/* 13 */ { V4_TCP, HDR, K, K, K, K, K, 0, 0x44, K, 0, NT_GSO_BAD_PACKET },
		/* 14 */ { V4_SMALL, HDR, K, K, K, K, K, 0, 0x4f, K, 0, NT_GSO_BAD_PACKET },
		/* 15 */ { V4_SMALL, 0, 0, K, K, K, K, 0, 0x4f, K, 0, NT_GSO_BAD_PACKET },
		/* 16 */ { V4_TCP, HDR, K, K, K, K, K, 2, 0xff, K, 0, NT_GSO_BAD_PACKET },
		/* 17 */ { V4_TCP, HDR, K, K, K, K, 3039, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 18 */ { V4_TCP, 0, 0, K, K, K, 19, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 19 */ { V4_TCP, 0, 0, K, K, K, 0, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 20 */ { V6_TCP, HDR, K, K, K, K, K, 5, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 21 */ { V6_TCP, 0, 0, K, K, K, 39, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 22 */ { V6_TCP, VIRTIO_NET_HDR_GSO_TCPV4, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 23 */ { V4_TCP, VIRTIO_NET_HDR_GSO_TCPV6, K, K, K, K, K, K, 0, K, 0, NT_GSO_BAD_PACKET },
		/* 24 */ { V4_TCP, HDR, K, K, K, K, K, 9, 17, K, 0, NT_GSO_BAD_PACKET },
		/* 25 */ { V6_TCP, HDR, K, K, K, K, K, 6, 17, K, 0, NT_GSO_BAD_PACKET },
		/* 26 */ { V4_UDP, HDR, K, K, K, K, K, 9, 6, K, 0, NT_GSO_BAD_PACKET },
		/* 27 */ { V4_TCP, HDR, K, K, K, K, K, 6, 0x20, K, 0, NT_GSO_BAD_PACKET },
		/* 28 */ { V4_TCP, HDR, K, K, K, K, K, 7, 1, K, 0, NT_GSO_BAD_PACKET },
		/* 29 */ { V4_TCP, HDR, K, K, K, K, K, 32, 0x40, K, 0, NT_GSO_BAD_PACKET },
		/* 30 */ { V4_SMALL, HDR, K, K, K, K, K, 32, 0xf0, K, 0, NT_GSO_BAD_PACKET },
		/* 31 */ { V4_SMALL, HDR, K, K, K, K, 30, 3, 30, K, 0, NT_GSO_BAD_PACKET },
		/* 32 */ { V4_UDP, HDR, K, K, K, K, 24, 2, 0, 3, 24, NT_GSO_BAD_PACKET },
		/* 33 */ { V4_TCP, HDR, K, K, 21, K, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 34 */ { V4_TCP, HDR, K, K, K, 6, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 35 */ { V6_UDP, HDR, K, K, K, 16, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 36 */ { V4_TCP, HDR, 0, K, 21, 0, K, K, 0, K, 0, NT_GSO_OK },
		/* 37 */ { V4_TCP, 0, K, K, 3039, 0, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 38 */ { V4_TCP, 0, K, K, 3038, 0, K, K, 0, K, 0, NT_GSO_OK },
		/* 39 */ { V4_TCP, 0, K, K, 19, 0, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 40 */ { V4_TCP, 0, K, K, 20, 0xffff, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 41 */ { V6_TCP, 0, K, K, 39, 16, K, K, 0, K, 0, NT_GSO_BAD_CSUM },
		/* 42 */ { V6_HBH_TCP, HDR, K, K, K, K, K, K, 0, K, 0, NT_GSO_UNSUPPORTED },
		/* 43 */ { V6_HBH_UDP, HDR, K, K, K, K, K, K, 0, K, 0, NT_GSO_UNSUPPORTED },
		/* 44 */ { V6_HBH_TCP, 0, K, 0, K, K, K, K, 0, K, 0, NT_GSO_OK },
		/* 45 */ { V6_HBH_TCP, HDR, K, K, K, K, K, 6, 59, K, 0, NT_GSO_BAD_PACKET },
		/* 46 */ { V4_TCP, 0, VIRTIO_NET_HDR_F_DATA_VALID, K, K, K, K, K, 0, K, 0, NT_GSO_OK },
		/* 47 */ { V4_UDP, HDR, K, 1, K, K, 92, 2, 0, 3, 92, NT_GSO_OK },
		/* 48 */ { V4_UDP, HDR, K, 1, K, K, 93, 2, 0, 3, 93, NT_GSO_BAD_SIZE },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		struct virtio_net_hdr vh;
		struct nt_gso_iter it;
		struct spec s;
		size_t len = build_base(cases[i].base, &s);
		unsigned int n = 0;
		long r;

		vh = super_vh(&s, 1000);
		if (cases[i].type != HDR)
			vh.gso_type = (uint8_t)cases[i].type;
		if (cases[i].flags != K)
			vh.flags = (uint8_t)cases[i].flags;
		if (cases[i].gso_size != K)
			vh.gso_size = nt_to_vnet16((uint16_t)cases[i].gso_size);
		if (cases[i].csum_start != K)
			vh.csum_start = nt_to_vnet16((uint16_t)cases[i].csum_start);
		if (cases[i].csum_offset != K)
			vh.csum_offset = nt_to_vnet16((uint16_t)cases[i].csum_offset);
		if (cases[i].len != K)
			len = (size_t)cases[i].len;
		if (cases[i].poke_at != K)
			super_buf[cases[i].poke_at] = (uint8_t)cases[i].poke;
		if (cases[i].poke2_at != K)
			super_buf[cases[i].poke2_at] = (uint8_t)cases[i].poke2;
		print_message("case %zu\n", i + 1);
		assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), cases[i].want);
		if (cases[i].want != NT_GSO_OK)
			continue;
		while ((r = nt_gso_next(&it, out_buf, BIG)) > 0)
			n++;
		assert_int_equal(r, 0);
		assert_int_equal(n, nt_gso_count(&it));
	}
}

/* What the GRO write callback was given, each write made linear. */
struct capture {
	unsigned int n;
	long fail; /* when negative, every write returns it */
	struct {
		struct virtio_net_hdr vh;
		uint8_t *data;
		size_t len;
		int iovcnt;
	} w[160];
};

static long capture_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct capture *c = ctx;
	size_t len = 0;
	uint8_t *d;

	if (c->fail < 0)
		return c->fail;
	assert_true(iovcnt >= 2);
	assert_true(c->n < NT_ARRAY_SIZE(c->w));
	assert_int_equal(iov[0].iov_len, sizeof(struct virtio_net_hdr));
	for (int i = 1; i < iovcnt; i++)
		len += iov[i].iov_len;
	d = malloc(len + 1);
	assert_non_null(d);
	len = 0;
	for (int i = 1; i < iovcnt; i++) {
		memcpy(d + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	memcpy(&c->w[c->n].vh, iov[0].iov_base, sizeof(struct virtio_net_hdr));
	c->w[c->n].data = d;
	c->w[c->n].len = len;
	c->w[c->n].iovcnt = iovcnt;
	c->n++;
	return (long)(len + sizeof(struct virtio_net_hdr));
}

static void capture_reset(struct capture *c)
{
	for (unsigned int i = 0; i < c->n; i++)
		free(c->w[i].data);
	c->n = 0;
	c->fail = 0;
}

static struct capture cap;

static int capture_teardown(void **state)
{
	(void)state;
	capture_reset(&cap);
	return 0;
}

static void assert_single(unsigned int w, const uint8_t *pkt, size_t len)
{
	static const struct virtio_net_hdr zero;

	assert_true(w < cap.n);
	assert_memory_equal(&cap.w[w].vh, &zero, sizeof(zero));
	assert_int_equal(cap.w[w].iovcnt, 2);
	assert_int_equal(cap.w[w].len, len);
	assert_memory_equal(cap.w[w].data, pkt, len);
}

/*
 * Checks write w is the superpacket sp (len bytes, built from s with the kernel's partial
 * checksum) coalesced from segs segments of mss bytes: the same bytes, header included.
 */
static void assert_super(unsigned int w, const uint8_t *sp, size_t len, const struct spec *s,
			 uint16_t mss, unsigned int segs)
{
	struct virtio_net_hdr vh = super_vh(s, mss);
	size_t ip = spec_ip_hlen(s);
	uint8_t *d;
	uint16_t c;

	assert_true(w < cap.n);
	assert_memory_equal(&cap.w[w].vh, &vh, sizeof(vh));
	assert_int_equal(cap.w[w].iovcnt, 1 + segs);
	assert_int_equal(cap.w[w].len, len);
	d = cap.w[w].data;
	if (s->family == AF_INET)
		assert_true(ref_ipv4_valid(d));
	assert_memory_equal(d, sp, len);
	/* Completing the checksum the way the kernel will gives a valid packet. */
	c = (uint16_t)~ref_fold(ref_add(0, d + ip, len - ip));
	nt_put_be16(d + ip + 16, c);
	assert_true(ref_l4_valid(d, len, ip, IPPROTO_TCP));
}

/*
 * The round trip: a superpacket cut by nt_gso_next() and coalesced again by nt_gro_add()
 * is the superpacket it was; cut once more, it gives the same segments.
 */
static void test_gro_round_trip(void **state)
{
	static const struct {
		int family;
		bool ts;
		uint8_t flags;
		uint16_t mss;
		size_t payload;
		unsigned int segs;
	} cases[] = {
		{ AF_INET, false, ACK | PSH, 1448, 10000, 7 }, /* short last with PSH */
		{ AF_INET, true, ACK, 1448, 1448 * 6, 6 }, /* all full: held until the flush */
		{ AF_INET6, false, ACK, 1428, 10000, 8 },
		{ AF_INET6, true, ACK | PSH, 1428, 1428 * 5, 5 },
		{ AF_INET, true, ACK, 1000, 63000, 63 },
		{ AF_INET6, false, ACK | PSH, 1000, 64000, 64 },
		{ AF_INET, false, ACK, 1448, 65535 - 40, 46 },
		{ AF_INET, true, ACK | PSH, 1448, 1448, 1 }, /* one segment: written alone */
	};
	struct nt_gro g;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		struct spec s = tcp_spec(cases[i].family, cases[i].ts);
		struct virtio_net_hdr vh;
		unsigned int n;
		size_t len;

		print_message("case %zu\n", i + 1);
		s.flags = cases[i].flags;
		s.payload = cases[i].payload;
		s.seed = (uint32_t)(77 * i);
		s.csum = CSUM_PSEUDO;
		len = build(super_buf, &s);
		vh = super_vh(&s, cases[i].mss);
		n = cut_and_check(super_buf, len, &vh, &s, cases[i].segs);
		nt_gro_init(&g, capture_write, &cap);
		for (unsigned int k = 0; k < n; k++)
			assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		/* A flow that ends with PSH or a short segment does not wait for the flush. */
		assert_int_equal(cap.n, s.flags & PSH || s.payload % cases[i].mss ? 1 : 0);
		assert_int_equal(nt_gro_flush(&g), 0);
		assert_int_equal(cap.n, 1);
		if (n == 1) {
			assert_single(0, seg_at(0), seg_len[0]);
			assert_int_equal(g.single_pkts, 1);
			capture_reset(&cap);
			continue;
		}
		assert_int_equal(g.superpackets, 1);
		assert_int_equal(g.coalesced_pkts, n);
		assert_int_equal(g.single_pkts, 0);
		/* Before assert_super completes the checksum: cut the coalesced packet again. */
		memcpy(out_buf, cap.w[0].data, cap.w[0].len);
		assert_int_equal(cut_and_check(out_buf, len, &cap.w[0].vh, &s, n), n);
		assert_super(0, super_buf, len, &s, cases[i].mss, n);
		capture_reset(&cap);
	}
}

/*
 * The virtio header as bytes: little-endian on every CPU (TUNSETVNETLE, offload.h), which
 * is what a big-endian member gets from and gives to the kernel. Passes on a little-endian
 * host whether or not the code converts; run on s390x (scripts/cross-build s390x --tests,
 * under qemu-user) it fails unless it does.
 */
static void test_vnet_le_bytes(void **state)
{
	struct spec s = tcp_spec(AF_INET, false);
	size_t len, ip = 20, hdr = 40;
	uint8_t raw[sizeof(struct virtio_net_hdr)] = {
		VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
		(uint8_t)hdr, 0, /* hdr_len */
		0xe8, 0x03, /* gso_size 1000 */
		(uint8_t)ip, 0, /* csum_start */
		16, 0, /* csum_offset */
	};
	struct virtio_net_hdr vh;
	const uint8_t *w;
	struct nt_gso_iter it;
	struct nt_gro g;
	unsigned int n;

	(void)state;
	s.payload = 3000;
	s.csum = CSUM_PSEUDO;
	len = build(super_buf, &s);
	memcpy(&vh, raw, sizeof(vh));
	assert_int_equal(nt_gso_begin(&it, &vh, super_buf, len), NT_GSO_OK);
	assert_int_equal(it.mss, 1000);
	assert_int_equal(nt_gso_count(&it), 3);
	n = cut_and_check(super_buf, len, &vh, &s, 3);
	/* Coalesced again, the header written for the kernel has the same bytes. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < n; k++)
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 1);
	w = (const uint8_t *)&cap.w[0].vh;
	assert_memory_equal(w, raw, sizeof(raw));
	capture_reset(&cap);
}

/* Segment k of a flow: payload bytes of mss, sequence numbers following each other. */
static size_t flow_seg(uint8_t *b, struct spec s, unsigned int k, size_t mss)
{
	s.seq += (uint32_t)(k * mss);
	s.seed += (uint32_t)(k * mss);
	s.id = (uint16_t)(s.id + k);
	return build(b, &s);
}

/* The superpacket of segments first..first+n-1 of that flow, as assert_super wants it. */
static size_t flow_super(uint8_t *b, struct spec s, unsigned int first, unsigned int n,
			 size_t mss, size_t last_payload, uint8_t flags)
{
	s.seq += (uint32_t)(first * mss);
	s.seed += (uint32_t)(first * mss);
	s.id = (uint16_t)(s.id + first);
	s.payload = (n - 1) * mss + last_payload;
	s.flags = flags;
	s.csum = CSUM_PSEUDO;
	return build(b, &s);
}

static void test_gro_interleaved(void **state)
{
	struct spec a = tcp_spec(AF_INET, true), b = tcp_spec(AF_INET6, false);
	struct nt_gro g;
	size_t len;

	(void)state;
	b.seq = 5;
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 3; k++) {
		len = flow_seg(seg_at(2 * k), a, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(2 * k), len), 0);
		len = flow_seg(seg_at(2 * k + 1), b, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(2 * k + 1), len), 0);
	}
	assert_int_equal(cap.n, 0);
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 3, 1448, 1448, ACK);
	assert_super(0, super_buf, len, &a, 1448, 3);
	len = flow_super(super_buf, b, 0, 3, 1448, 1448, ACK);
	assert_super(1, super_buf, len, &b, 1448, 3);
	/* The flows are gone after a flush. */
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	capture_reset(&cap);
}

/* A gap in sequence numbers ends the flow: 1 3 2 4 are four packets on their own. */
static void test_gro_out_of_order(void **state)
{
	static const unsigned int order[] = { 0, 2, 1, 3 };
	struct spec a = tcp_spec(AF_INET6, true);
	struct nt_gro g;

	(void)state;
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int i = 0; i < 4; i++) {
		seg_len[i] = flow_seg(seg_at(i), a, order[i], 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(i), seg_len[i]), 0);
		assert_int_equal(cap.n, i); /* each arrival writes the one before */
	}
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_single(i, seg_at(i), seg_len[i]);
	assert_int_equal(g.single_pkts, 4);
	assert_int_equal(g.superpackets, 0);
	capture_reset(&cap);

	/* A retransmission of the last segment is not appended either. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int i = 0; i < 3; i++) {
		seg_len[i] = flow_seg(seg_at(i), a, i < 2 ? i : 1, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(i), seg_len[i]), 0);
	}
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	seg_len[9] = flow_super(super_buf, a, 0, 2, 1448, 1448, ACK);
	assert_super(0, super_buf, seg_len[9], &a, 1448, 2);
	assert_single(1, seg_at(2), seg_len[2]);
	capture_reset(&cap);
}

/* PSH, a shorter segment and FIN end a flow; what follows starts a new one. */
static void test_gro_flow_end(void **state)
{
	struct spec a = tcp_spec(AF_INET, false), s;
	struct nt_gro g;
	size_t len;

	(void)state;
	/* PSH on the third: written at once, the push kept; then two more coalesced. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 5; k++) {
		s = a;
		if (k == 2)
			s.flags = ACK | PSH;
		seg_len[k] = flow_seg(seg_at(k), s, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		assert_int_equal(cap.n, k >= 2);
	}
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 3, 1448, 1448, ACK | PSH);
	assert_super(0, super_buf, len, &a, 1448, 3);
	len = flow_super(super_buf, a, 3, 2, 1448, 1448, ACK);
	assert_super(1, super_buf, len, &a, 1448, 2);
	capture_reset(&cap);

	/* A shorter third segment: written at once; the fourth, in sequence, starts again. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 4; k++) {
		s = a;
		if (k == 2)
			s.payload = 500;
		if (k == 3)
			s.seq -= 1448 - 500;
		seg_len[k] = flow_seg(seg_at(k), s, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		assert_int_equal(cap.n, k >= 2);
	}
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 3, 1448, 500, ACK);
	assert_super(0, super_buf, len, &a, 1448, 3);
	assert_single(1, seg_at(3), seg_len[3]);
	capture_reset(&cap);

	/* FIN: the held data first, then the FIN alone; then a pure ACK the same way. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 3; k++) {
		s = a;
		if (k == 2)
			s.flags = ACK | FIN;
		seg_len[k] = flow_seg(seg_at(k), s, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	}
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 2, 1448, 1448, ACK);
	assert_super(0, super_buf, len, &a, 1448, 2);
	assert_single(1, seg_at(2), seg_len[2]);
	s = a;
	s.payload = 0;
	seg_len[3] = flow_seg(seg_at(3), a, 3, 1448);
	seg_len[4] = flow_seg(seg_at(4), s, 4, 1448);
	assert_int_equal(nt_gro_add(&g, seg_at(3), seg_len[3]), 0);
	assert_int_equal(nt_gro_add(&g, seg_at(4), seg_len[4]), 0);
	assert_int_equal(cap.n, 4);
	assert_single(2, seg_at(3), seg_len[3]);
	assert_single(3, seg_at(4), seg_len[4]);
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 4);
	capture_reset(&cap);
}

/*
 * SYN, RST, URG, ECE, CWR, no ACK, or a bit of the reserved nibble (AccECN's AE): never
 * coalesced; each flushes its flow and goes alone.
 */
static void test_gro_flags(void **state)
{
	static const uint8_t flags[] = { ACK | SYN, ACK | RST, ACK | URG, ACK | ECE, ACK | CWR,
					 0, PSH, ACK };
	struct spec a = tcp_spec(AF_INET6, true), s;
	struct nt_gro g;
	size_t len;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(flags); i++) {
		nt_gro_init(&g, capture_write, &cap);
		for (unsigned int k = 0; k < 4; k++) {
			s = a;
			if (k == 2)
				s.flags = flags[i];
			seg_len[k] = flow_seg(seg_at(k), s, k, 1448);
			if (k == 2 && i + 1 == NT_ARRAY_SIZE(flags)) {
				uint8_t *th = seg_at(k) + 40;

				th[12] |= 1;
				th[16] = th[17] = 0;
				nt_put_be16(th + 16, (uint16_t)~ref_fold(ref_add(
					ref_pseudo(seg_at(k), IPPROTO_TCP, seg_len[k] - 40), th, seg_len[k] - 40)));
			}
			assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		}
		assert_int_equal(nt_gro_flush(&g), 0);
		assert_int_equal(cap.n, 3);
		len = flow_super(super_buf, a, 0, 2, 1448, 1448, ACK);
		assert_super(0, super_buf, len, &a, 1448, 2);
		assert_single(1, seg_at(2), seg_len[2]);
		assert_single(2, seg_at(3), seg_len[3]);
		capture_reset(&cap);
	}
}

enum mismatch { TSVAL, ACKNO, TTL, BIGGER, NOTS, DSCP, DF, FLOWLABEL, HOPLIMIT, MISMATCHES };

/* The changes build() has no field for, made to a built packet. */
static void mismatch_ip(uint8_t *p, enum mismatch m)
{
	if (m == DSCP)
		p[1] = 0x20;
	else if (m == DF)
		p[6] = 0;
	else if (m == FLOWLABEL)
		p[3] ^= 1;
	else
		return;
	if (p[0] >> 4 == 4) {
		p[10] = p[11] = 0;
		nt_put_be16(p + 10, (uint16_t)~ref_fold(ref_add(0, p, 20)));
	}
}

/*
 * A segment of the flow that differs from it (segment 2) starts a flow of its own, which
 * the next one like it (segment 3) joins.
 */
static void test_gro_mismatch(void **state)
{
	struct nt_gro g;
	size_t len;

	(void)state;
	for (int i = 0; i < MISMATCHES; i++) {
		bool v6 = i == FLOWLABEL || i == HOPLIMIT;
		struct spec a = tcp_spec(v6 ? AF_INET6 : AF_INET, true), s = a;

		print_message("case %d\n", i);
		switch (i) {
		case TSVAL:
			s.tsval++;
			break;
		case ACKNO:
			s.ack++;
			break;
		case TTL:
		case HOPLIMIT:
			s.ttl--;
			break;
		case BIGGER:
			s.payload++;
			break;
		case NOTS:
			s.ts = false;
			break;
		}
		nt_gro_init(&g, capture_write, &cap);
		for (unsigned int k = 0; k < 4; k++) {
			seg_len[k] = flow_seg(seg_at(k), k < 2 ? a : s, k, 1448);
			if (k >= 2)
				mismatch_ip(seg_at(k), (enum mismatch)i);
			assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		}
		assert_int_equal(nt_gro_flush(&g), 0);
		assert_int_equal(cap.n, i == BIGGER ? 3 : 2);
		len = flow_super(super_buf, a, 0, 2, 1448, 1448, ACK);
		assert_super(0, super_buf, len, &a, 1448, 2);
		if (i == BIGGER) {
			/* 1449 bytes is more than the flow's 1448; the next is then out of sequence. */
			assert_single(1, seg_at(2), seg_len[2]);
			assert_single(2, seg_at(3), seg_len[3]);
		} else {
			len = flow_super(super_buf, s, 2, 2, 1448, 1448, ACK);
			mismatch_ip(super_buf, (enum mismatch)i);
			assert_super(1, super_buf, len, &s, 1448, 2);
		}
		capture_reset(&cap);
	}
}

/* The limits of one superpacket: NT_GSO_MAX bytes, NT_GSO_MAX_SEGS segments. */
static void test_gro_limits(void **state)
{
	struct spec a = tcp_spec(AF_INET, false);
	struct nt_gro g;
	size_t len;

	(void)state;
	/* 45 segments of 1448 make 65200 bytes; a 46th would pass 65535. */
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 47; k++) {
		seg_len[k] = flow_seg(seg_at(k), a, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	}
	assert_int_equal(cap.n, 1);
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 45, 1448, 1448, ACK);
	assert_int_equal(len, 65200);
	assert_super(0, super_buf, len, &a, 1448, 45);
	len = flow_super(super_buf, a, 45, 2, 1448, 1448, ACK);
	assert_super(1, super_buf, len, &a, 1448, 2);
	capture_reset(&cap);

	/* 100-byte segments: 64 in one, the 65th starts the next. */
	a.payload = 100;
	a.family = AF_INET6;
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 65; k++) {
		seg_len[k] = flow_seg(seg_at(k), a, k, 100);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	}
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, a, 0, 64, 100, 100, ACK);
	assert_super(0, super_buf, len, &a, 100, 64);
	assert_single(1, seg_at(64), seg_len[64]);
	assert_int_equal(g.coalesced_pkts, 64);
	assert_int_equal(g.single_pkts, 1);
	assert_int_equal(g.superpackets, 1);
	capture_reset(&cap);
}

/* One more flow than there are slots: the oldest is written to make room. */
static void test_gro_many_flows(void **state)
{
	struct spec f[NT_GRO_FLOWS + 1];
	unsigned int n = 0, w;
	struct nt_gro g;
	size_t len;

	(void)state;
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int i = 0; i <= NT_GRO_FLOWS; i++) {
		f[i] = tcp_spec(i & 1 ? AF_INET6 : AF_INET, i & 2);
		f[i].dport = (uint16_t)(1000 + i);
		f[i].seq = 1000 * i;
	}
	/* First segments: flow 8 pushes out flow 0 (one segment, written alone). */
	for (unsigned int i = 0; i <= NT_GRO_FLOWS; i++, n++) {
		seg_len[n] = flow_seg(seg_at(n), f[i], 0, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(n), seg_len[n]), 0);
	}
	assert_int_equal(cap.n, 1);
	assert_single(0, seg_at(0), seg_len[0]);
	/* Second segments of flows 1..8 join theirs; flow 0 again pushes out flow 1. */
	for (unsigned int i = 1; i <= NT_GRO_FLOWS; i++, n++) {
		seg_len[n] = flow_seg(seg_at(n), f[i], 1, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(n), seg_len[n]), 0);
	}
	seg_len[n] = flow_seg(seg_at(n), f[0], 1, 1448);
	assert_int_equal(nt_gro_add(&g, seg_at(n), seg_len[n]), 0);
	assert_int_equal(cap.n, 2);
	len = flow_super(super_buf, f[1], 0, 2, 1448, 1448, ACK);
	assert_super(1, super_buf, len, &f[1], 1448, 2);
	/* The flush writes the rest oldest first: flows 2..8, then flow 0. */
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 2 + NT_GRO_FLOWS);
	for (w = 2; w < 1 + NT_GRO_FLOWS; w++) {
		len = flow_super(super_buf, f[w], 0, 2, 1448, 1448, ACK);
		assert_super(w, super_buf, len, &f[w], 1448, 2);
	}
	assert_single(w, seg_at(n), seg_len[n]);
	assert_int_equal(g.single_pkts, 2);
	assert_int_equal(g.superpackets, NT_GRO_FLOWS);
	capture_reset(&cap);
}

/* Anything but coalescable TCP goes alone, at once; held flows of others stay held. */
static void test_gro_other(void **state)
{
	struct spec a = tcp_spec(AF_INET, true), u = tcp_spec(AF_INET, false), h = a;
	static const uint8_t junk[] = { 0x45, 0, 0, 3 };
	struct nt_gro g;
	unsigned int k;
	size_t len;

	(void)state;
	u.proto = IPPROTO_UDP;
	u.payload = 200;
	h.family = AF_INET6;
	h.ip_opt = true;
	nt_gro_init(&g, capture_write, &cap);
	seg_len[0] = flow_seg(seg_at(0), a, 0, 1448);
	seg_len[1] = flow_seg(seg_at(1), a, 1, 1448);
	seg_len[2] = build(seg_at(2), &u); /* UDP */
	seg_len[3] = flow_seg(seg_at(3), h, 0, 1448); /* TCP behind an extension header */
	memcpy(seg_at(4), junk, sizeof(junk)); /* not even a header */
	seg_len[4] = sizeof(junk);
	seg_len[5] = 0;
	seg_len[6] = flow_seg(seg_at(6), a, 2, 1448);
	for (k = 0; k < 7; k++)
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	assert_int_equal(cap.n, 4);
	assert_single(0, seg_at(2), seg_len[2]);
	assert_single(1, seg_at(3), seg_len[3]);
	assert_single(2, seg_at(4), seg_len[4]);
	assert_single(3, seg_at(5), 0);
	assert_int_equal(nt_gro_flush(&g), 0);
	assert_int_equal(cap.n, 5);
	len = flow_super(super_buf, a, 0, 3, 1448, 1448, ACK);
	assert_super(4, super_buf, len, &a, 1448, 3);
	capture_reset(&cap);

	/* A bad TCP or IPv4 header checksum is not coalesced: the kernel drops it alone. */
	for (int bad = 0; bad < 2; bad++) {
		nt_gro_init(&g, capture_write, &cap);
		for (k = 0; k < 4; k++) {
			seg_len[k] = flow_seg(seg_at(k), a, k, 1448);
			if (k == 2)
				seg_at(k)[bad ? 10 : seg_len[k] - 1] ^= 0x40;
			assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
		}
		assert_int_equal(nt_gro_flush(&g), 0);
		assert_int_equal(cap.n, 3);
		len = flow_super(super_buf, a, 0, 2, 1448, 1448, ACK);
		assert_super(0, super_buf, len, &a, 1448, 2);
		assert_single(1, seg_at(2), seg_len[2]);
		assert_single(2, seg_at(3), seg_len[3]);
		capture_reset(&cap);
	}

	/* IPv4 options, a fragment, or trailing bytes after the IP packet: alone. */
	for (int i = 0; i < 3; i++) {
		struct spec s = a;

		nt_gro_init(&g, capture_write, &cap);
		s.ip_opt = i == 0;
		seg_len[0] = flow_seg(seg_at(0), s, 0, 1448);
		seg_len[1] = flow_seg(seg_at(1), s, 1, 1448);
		if (i == 1) {
			seg_at(1)[6] |= 0x20; /* MF */
			seg_at(1)[10] = seg_at(1)[11] = 0;
			nt_put_be16(seg_at(1) + 10, (uint16_t)~ref_fold(ref_add(0, seg_at(1), 20)));
		} else if (i == 2) {
			seg_len[1]++;
		}
		assert_int_equal(nt_gro_add(&g, seg_at(0), seg_len[0]), 0);
		assert_int_equal(nt_gro_add(&g, seg_at(1), seg_len[1]), 0);
		assert_int_equal(nt_gro_flush(&g), 0);
		assert_int_equal(cap.n, 2);
		assert_single(0, seg_at(0), seg_len[0]);
		assert_single(1, seg_at(1), seg_len[1]);
		capture_reset(&cap);
	}
}

/* A failed write is counted and returned, and the flow is gone all the same. */
static void test_gro_write_error(void **state)
{
	struct spec a = tcp_spec(AF_INET6, false), s = a;
	struct nt_gro g;

	(void)state;
	nt_gro_init(&g, capture_write, &cap);
	for (unsigned int k = 0; k < 2; k++) {
		seg_len[k] = flow_seg(seg_at(k), a, k, 1448);
		assert_int_equal(nt_gro_add(&g, seg_at(k), seg_len[k]), 0);
	}
	cap.fail = -EIO;
	assert_int_equal(nt_gro_flush(&g), -EIO);
	assert_int_equal(nt_gro_flush(&g), 0);
	s.flags = ACK | FIN;
	seg_len[2] = flow_seg(seg_at(2), s, 2, 1448);
	assert_int_equal(nt_gro_add(&g, seg_at(2), seg_len[2]), -EIO);
	assert_int_equal(g.write_errors, 2);
	assert_int_equal(g.superpackets + g.single_pkts + g.coalesced_pkts, 0);
	cap.fail = 0;
	assert_int_equal(nt_gro_add(&g, seg_at(2), seg_len[2]), 0);
	assert_int_equal(cap.n, 1);
	assert_int_equal(g.single_pkts, 1);
	capture_reset(&cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_names),
		cmocka_unit_test(test_tso),
		cmocka_unit_test(test_uso),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test_teardown(test_gro_round_trip, capture_teardown),
		cmocka_unit_test_teardown(test_vnet_le_bytes, capture_teardown),
		cmocka_unit_test_teardown(test_gro_interleaved, capture_teardown),
		cmocka_unit_test_teardown(test_gro_out_of_order, capture_teardown),
		cmocka_unit_test_teardown(test_gro_flow_end, capture_teardown),
		cmocka_unit_test_teardown(test_gro_flags, capture_teardown),
		cmocka_unit_test_teardown(test_gro_mismatch, capture_teardown),
		cmocka_unit_test_teardown(test_gro_limits, capture_teardown),
		cmocka_unit_test_teardown(test_gro_many_flows, capture_teardown),
		cmocka_unit_test_teardown(test_gro_other, capture_teardown),
		cmocka_unit_test_teardown(test_gro_write_error, capture_teardown),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
