// SPDX-License-Identifier: MIT
/*
 * TSO/USO segmentation of the superpackets the TUN hands over with a virtio_net_hdr, and
 * TCP receive coalescing (GRO) of decrypted packets before they are written back to it.
 *
 * Segmentation follows the kernel's virtio_net_hdr_to_skb() and tcp_gso_segment(): every
 * segment carries the IP and transport headers of the superpacket, with the IPv4 ID counted
 * up per segment, TCP sequence numbers advanced, CWR kept on the first segment only and
 * FIN/PSH on the last only. Coalescing follows tcp_gro_receive(): only pure ACK/PSH segments
 * of one flow, in sequence, all of one size but a shorter last, with identical options.
 *
 * Checksums (RFC 1071) are summed as 64-bit host-order words with end-around carry; the
 * folded 16-bit result is then also in host order, so it is stored with a plain memcpy.
 */
#include "dataplane/offload.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "core/util.h"

enum {
	TCP_FIN = 1U << 0,
	TCP_SYN = 1U << 1,
	TCP_RST = 1U << 2,
	TCP_PSH = 1U << 3,
	TCP_ACK = 1U << 4,
	TCP_URG = 1U << 5,
	TCP_ECE = 1U << 6,
	TCP_CWR = 1U << 7,
};

enum {
	IPV4_HLEN = 20,
	IPV6_HLEN = 40,
	TCP_HLEN = 20,
	UDP_HLEN = 8,
	TCP_CSUM_OFF = 16,
	UDP_CSUM_OFF = 6,
	IPV4_MF = 0x2000,
	IPV4_OFFSET_MASK = 0x1fff,
	IPV4_DF_BYTE6 = 0x40, /* DF in byte 6 of the header */
};

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

/*
 * Adds len bytes at p to sum. Pieces of one checksum may be summed separately and added
 * with add_carry() as long as each piece but the last has an even length.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint64_t s0 = sum, s1 = 0, carry = 0, w[4];

	/* Two accumulators and counted carries keep the adds independent of each other. */
	while (len >= 32) {
		memcpy(w, p, 32);
		s0 += w[0];
		carry += s0 < w[0];
		s1 += w[1];
		carry += s1 < w[1];
		s0 += w[2];
		carry += s0 < w[2];
		s1 += w[3];
		carry += s1 < w[3];
		p += 32;
		len -= 32;
	}
	s0 = add_carry(add_carry(s0, s1), carry);
	while (len >= 8) {
		memcpy(w, p, 8);
		s0 = add_carry(s0, w[0]);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		s0 = add_carry(s0, v);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		s0 = add_carry(s0, v);
		p += 2;
		len -= 2;
	}
	if (len) {
		uint16_t v = 0;

		memcpy(&v, p, 1); /* the odd byte is the high half of a zero-padded word */
		s0 = add_carry(s0, v);
	}
	return s0;
}

static inline uint16_t csum_fold(uint64_t s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The RFC 793 / RFC 8200 §8.1 pseudo-header of the packet at ip, for l4len bytes of proto. */
static uint64_t pseudo_sum(const uint8_t *ip, int family, uint8_t proto, size_t l4len)
{
	uint64_t s = family == AF_INET ? csum_add(0, ip + 12, 8) : csum_add(0, ip + 8, 32);

	return add_carry(s, (uint64_t)htons(proto) + htons((uint16_t)l4len) +
				    htons((uint16_t)(l4len >> 16)));
}

static inline void csum_store(uint8_t *field, uint16_t c)
{
	memcpy(field, &c, 2);
}

static void ipv4_csum_set(uint8_t *ip, size_t hlen)
{
	ip[10] = ip[11] = 0;
	csum_store(ip + 10, (uint16_t)~csum_fold(csum_add(0, ip, hlen)));
}

const char *nt_gso_error_name(enum nt_gso_error e)
{
	switch (e) {
	case NT_GSO_OK:
		return "ok";
	case NT_GSO_BAD_HEADER:
		return "bad_header";
	case NT_GSO_BAD_PACKET:
		return "bad_packet";
	case NT_GSO_BAD_CSUM:
		return "bad_csum";
	case NT_GSO_BAD_SIZE:
		return "bad_size";
	case NT_GSO_UNSUPPORTED:
		return "unsupported";
	}
	return "unknown";
}

static bool ipv6_is_ext_header(uint8_t nh)
{
	switch (nh) {
	case 0: /* hop-by-hop */
	case 43: /* routing */
	case 44: /* fragment */
	case 50: /* ESP */
	case 51: /* AH */
	case 60: /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
		return true;
	}
	return false;
}

/* The IP header: version, header length, and a total length equal to len. */
static enum nt_gso_error gso_parse_ip(struct nt_gso_iter *it, uint8_t *proto)
{
	const uint8_t *p = it->pkt;

	if (it->len < IPV4_HLEN)
		return NT_GSO_BAD_PACKET;
	switch (p[0] >> 4) {
	case 4:
		it->family = AF_INET;
		it->ip_hlen = (size_t)(p[0] & 15) * 4;
		if (it->ip_hlen < IPV4_HLEN || it->ip_hlen > it->len || nt_get_be16(p + 2) != it->len)
			return NT_GSO_BAD_PACKET;
		*proto = p[9];
		return NT_GSO_OK;
	case 6:
		it->family = AF_INET6;
		it->ip_hlen = IPV6_HLEN;
		if (it->len < IPV6_HLEN || (size_t)nt_get_be16(p + 4) + IPV6_HLEN != it->len)
			return NT_GSO_BAD_PACKET;
		*proto = p[6];
		return NT_GSO_OK;
	}
	return NT_GSO_BAD_PACKET;
}

/* The transport header of a superpacket and the segments it is cut into. */
static enum nt_gso_error gso_parse_l4(struct nt_gso_iter *it, uint8_t proto, uint8_t want,
				      uint16_t gso_size)
{
	const uint8_t *p = it->pkt;
	size_t payload;

	if ((it->gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && it->family != AF_INET) ||
	    (it->gso_type == VIRTIO_NET_HDR_GSO_TCPV6 && it->family != AF_INET6))
		return NT_GSO_BAD_PACKET;
	if (proto != want)
		return it->family == AF_INET6 && ipv6_is_ext_header(proto) ? NT_GSO_UNSUPPORTED
									   : NT_GSO_BAD_PACKET;
	if (it->family == AF_INET && (nt_get_be16(p + 6) & (IPV4_MF | IPV4_OFFSET_MASK)))
		return NT_GSO_BAD_PACKET; /* a fragment is not cut again */
	if (want == IPPROTO_TCP) {
		if (it->ip_hlen + TCP_HLEN > it->len)
			return NT_GSO_BAD_PACKET;
		it->hdr_len = it->ip_hlen + (size_t)(p[it->ip_hlen + 12] >> 4) * 4;
		if (it->hdr_len < it->ip_hlen + TCP_HLEN || it->hdr_len > it->len)
			return NT_GSO_BAD_PACKET;
	} else {
		it->hdr_len = it->ip_hlen + UDP_HLEN;
		if (it->hdr_len > it->len)
			return NT_GSO_BAD_PACKET;
	}
	/* The checksum is computed whole for every segment; only its place is checked. */
	if (it->needs_csum &&
	    (it->csum_start != it->ip_hlen ||
	     it->csum_offset != (want == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF)))
		return NT_GSO_BAD_CSUM;
	it->mss = gso_size;
	payload = it->len - it->hdr_len;
	/* As in the kernel, a packet that fits one segment is not really a superpacket. */
	if (payload <= it->mss) {
		it->count = 1;
		return NT_GSO_OK;
	}
	if ((payload - 1) / it->mss + 1 > NT_GSO_MAX_SEGS)
		return NT_GSO_BAD_SIZE;
	it->count = (unsigned int)((payload - 1) / it->mss + 1);
	return NT_GSO_OK;
}

enum nt_gso_error nt_gso_begin(struct nt_gso_iter *it, const struct virtio_net_hdr *hdr,
			       const uint8_t *pkt, size_t len)
{
	uint8_t type = hdr->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN, proto = 0, want;
	bool ecn = hdr->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	enum nt_gso_error ret;

	memset(it, 0, sizeof(*it));
	it->pkt = pkt;
	it->len = len;
	it->gso_type = type;
	/* DATA_VALID and any flag this code does not know say nothing about the packet. */
	it->needs_csum = hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	it->csum_start = nt_vnet16(hdr->csum_start);
	it->csum_offset = nt_vnet16(hdr->csum_offset);
	switch (type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		want = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		want = IPPROTO_TCP;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		want = IPPROTO_UDP;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		return NT_GSO_UNSUPPORTED; /* UFO: IP fragmentation, gone from Linux since 4.14 */
	default:
		return NT_GSO_BAD_HEADER;
	}
	if (ecn && want != IPPROTO_TCP)
		return NT_GSO_BAD_HEADER;
	if (want && nt_vnet16(hdr->gso_size) == 0)
		return NT_GSO_BAD_SIZE;
	ret = gso_parse_ip(it, &proto);
	if (ret != NT_GSO_OK)
		return ret;
	if (want)
		return gso_parse_l4(it, proto, want, nt_vnet16(hdr->gso_size));
	/* Not a superpacket: passed on whole, whatever it carries after the IP header. */
	if (it->needs_csum && (it->csum_start < it->ip_hlen ||
			       (size_t)it->csum_start + it->csum_offset + 2 > len))
		return NT_GSO_BAD_CSUM;
	it->hdr_len = it->ip_hlen;
	it->count = 1;
	return NT_GSO_OK;
}

/* A packet that is not a superpacket: copied, its checksum completed if the kernel left it. */
static long gso_next_whole(struct nt_gso_iter *it, uint8_t *out, size_t cap)
{
	uint16_t c;

	if (cap < it->len)
		return -1;
	memcpy(out, it->pkt, it->len);
	if (it->needs_csum) {
		/* The field holds the pseudo-header sum; the rest is summed from csum_start. */
		c = (uint16_t)~csum_fold(csum_add(0, out + it->csum_start, it->len - it->csum_start));
		csum_store(out + it->csum_start + it->csum_offset, c ? c : 0xffff);
	}
	it->index++;
	return (long)it->len;
}

long nt_gso_next(struct nt_gso_iter *it, uint8_t *out, size_t cap)
{
	size_t n, seg, l4len;
	uint8_t *l4, *field;
	bool tcp, last;
	uint16_t c;

	if (it->index >= it->count)
		return 0;
	if (it->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return gso_next_whole(it, out, cap);
	n = NT_MIN(it->mss, it->len - it->hdr_len - it->off);
	seg = it->hdr_len + n;
	if (cap < seg)
		return -1;
	memcpy(out, it->pkt, it->hdr_len);
	memcpy(out + it->hdr_len, it->pkt + it->hdr_len + it->off, n);
	tcp = it->gso_type != VIRTIO_NET_HDR_GSO_UDP_L4;
	last = it->index + 1 == it->count;
	l4 = out + it->ip_hlen;
	l4len = seg - it->ip_hlen;
	if (it->family == AF_INET) {
		nt_put_be16(out + 2, (uint16_t)seg);
		nt_put_be16(out + 4, (uint16_t)(nt_get_be16(out + 4) + it->index));
		ipv4_csum_set(out, it->ip_hlen);
	} else {
		nt_put_be16(out + 4, (uint16_t)l4len);
	}
	if (tcp) {
		nt_put_be32(l4 + 4, nt_get_be32(l4 + 4) + (uint32_t)it->off);
		if (it->index > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		if (!last)
			l4[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
		field = l4 + TCP_CSUM_OFF;
	} else {
		nt_put_be16(l4 + 4, (uint16_t)l4len);
		field = l4 + UDP_CSUM_OFF;
	}
	field[0] = field[1] = 0;
	c = (uint16_t)~csum_fold(
		csum_add(pseudo_sum(out, it->family, tcp ? IPPROTO_TCP : IPPROTO_UDP, l4len), l4, l4len));
	/* UDP sends 0 as "no checksum" (RFC 768); TCP accepts either form of zero. */
	csum_store(field, c == 0 && !tcp ? 0xffff : c);
	it->off += n;
	it->index++;
	return (long)seg;
}

/* What nt_gro_add() needs to know about one packet. */
struct gro_seg {
	int family;
	size_t ip_hlen, hdr_len, payload;
	uint32_t seq;
	uint8_t flags;
	bool coalescable;
};

/*
 * Finds the TCP header of pkt. Returns false when there is none to name a flow by (not
 * TCP, a later fragment, truncated); otherwise says whether the segment may be coalesced.
 */
static bool gro_parse(const uint8_t *p, size_t len, struct gro_seg *s)
{
	const uint8_t *th;
	bool ip_ok;

	s->payload = 0;
	s->coalescable = false;
	if (len < IPV4_HLEN)
		return false;
	if (p[0] >> 4 == 4) {
		s->family = AF_INET;
		s->ip_hlen = (size_t)(p[0] & 15) * 4;
		if (s->ip_hlen < IPV4_HLEN || p[9] != IPPROTO_TCP ||
		    (nt_get_be16(p + 6) & IPV4_OFFSET_MASK) || s->ip_hlen + TCP_HLEN > len)
			return false;
		/* A bad header checksum is not hidden by a fresh one: the kernel drops it alone. */
		ip_ok = s->ip_hlen == IPV4_HLEN && nt_get_be16(p + 2) == len &&
			!(nt_get_be16(p + 6) & IPV4_MF) && csum_fold(csum_add(0, p, IPV4_HLEN)) == 0xffff;
	} else if (p[0] >> 4 == 6) {
		s->family = AF_INET6;
		s->ip_hlen = IPV6_HLEN;
		if (len < IPV6_HLEN + TCP_HLEN || p[6] != IPPROTO_TCP)
			return false;
		ip_ok = (size_t)nt_get_be16(p + 4) + IPV6_HLEN == len;
	} else {
		return false;
	}
	th = p + s->ip_hlen;
	s->hdr_len = s->ip_hlen + (size_t)(th[12] >> 4) * 4;
	s->seq = nt_get_be32(th + 4);
	s->flags = th[13];
	if (!ip_ok || s->hdr_len < s->ip_hlen + TCP_HLEN || s->hdr_len >= len)
		return true;
	s->payload = len - s->hdr_len;
	if ((s->flags & ~TCP_PSH) != TCP_ACK || (th[12] & 15))
		return true;
	/*
	 * The coalesced packet goes to the kernel with its checksum marked as still to be
	 * computed, which it then trusts; so each segment's own checksum is checked here, as
	 * tcp_gro_receive() does, or a corrupt one would be delivered.
	 */
	s->coalescable = csum_fold(csum_add(pseudo_sum(p, s->family, IPPROTO_TCP, len - s->ip_hlen),
					    th, len - s->ip_hlen)) == 0xffff;
	return true;
}

/* Same addresses and ports, in the same direction. */
static bool gro_flow_matches(const struct nt_gro_flow *f, const uint8_t *p,
			     const struct gro_seg *s)
{
	if (!f->used || f->family != s->family)
		return false;
	if (memcmp(f->first + f->ip_hlen, p + s->ip_hlen, 4) != 0)
		return false;
	if (s->family == AF_INET)
		return memcmp(f->first + 12, p + 12, 8) == 0;
	return memcmp(f->first + 8, p + 8, 32) == 0;
}

/* Whether the segment continues the flow exactly (the checks of tcp_gro_receive). */
static bool gro_flow_fits(const struct nt_gro_flow *f, const uint8_t *p, const struct gro_seg *s)
{
	const uint8_t *a = f->first, *th = p + s->ip_hlen;

	if (f->closed || f->segs >= NT_GSO_MAX_SEGS || s->seq != f->next_seq ||
	    s->payload > f->mss || f->total + s->payload > NT_GSO_MAX || s->hdr_len != f->hdr_len)
		return false;
	if (s->family == AF_INET) {
		if (a[1] != p[1] || a[8] != p[8] || ((a[6] ^ p[6]) & IPV4_DF_BYTE6))
			return false;
	} else if (memcmp(a, p, 4) != 0 || a[7] != p[7]) {
		return false; /* traffic class, flow label, hop limit */
	}
	/* The same acknowledgment number and the same option bytes (timestamps included). */
	return memcmp(a + f->ip_hlen + 8, th + 8, 4) == 0 &&
	       memcmp(a + f->ip_hlen + TCP_HLEN, th + TCP_HLEN, s->hdr_len - s->ip_hlen - TCP_HLEN) == 0;
}

static int gro_write_single(struct nt_gro *g, uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr vh = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct iovec iov[2] = { { &vh, sizeof(vh) }, { pkt, len } };
	long r = g->write(g->ctx, iov, 2);

	if (r < 0) {
		g->write_errors++;
		return (int)r;
	}
	g->single_pkts++;
	return 0;
}

/*
 * Writes the flow and frees its slot. Two or more segments become one superpacket: the
 * first packet's headers are made those of the whole, with the TCP checksum field holding
 * the pseudo-header sum as VIRTIO_NET_HDR_F_NEEDS_CSUM asks.
 */
static int gro_flow_flush(struct nt_gro *g, struct nt_gro_flow *f)
{
	uint8_t *p = f->first;
	long r;

	f->used = false;
	if (f->segs == 1)
		return gro_write_single(g, p, f->first_len);
	if (f->family == AF_INET) {
		nt_put_be16(p + 2, (uint16_t)f->total);
		ipv4_csum_set(p, f->ip_hlen);
	} else {
		nt_put_be16(p + 4, (uint16_t)(f->total - IPV6_HLEN));
	}
	csum_store(p + f->ip_hlen + TCP_CSUM_OFF,
		   csum_fold(pseudo_sum(p, f->family, IPPROTO_TCP, f->total - f->ip_hlen)));
	f->vh = (struct virtio_net_hdr){
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.gso_type = f->family == AF_INET ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
		.hdr_len = nt_to_vnet16((uint16_t)f->hdr_len),
		.gso_size = nt_to_vnet16((uint16_t)f->mss),
		.csum_start = nt_to_vnet16((uint16_t)f->ip_hlen),
		.csum_offset = nt_to_vnet16(TCP_CSUM_OFF),
	};
	f->iov[0].iov_base = &f->vh;
	f->iov[0].iov_len = sizeof(f->vh);
	r = g->write(g->ctx, f->iov, (int)f->niov);
	if (r < 0) {
		g->write_errors++;
		return (int)r;
	}
	g->superpackets++;
	g->coalesced_pkts += f->segs;
	return 0;
}

static void gro_flow_open(struct nt_gro *g, struct nt_gro_flow *f, uint8_t *pkt, size_t len,
			  const struct gro_seg *s)
{
	f->used = true;
	f->family = s->family;
	f->first = pkt;
	f->first_len = len;
	f->ip_hlen = s->ip_hlen;
	f->hdr_len = s->hdr_len;
	f->mss = s->payload;
	f->total = len;
	f->next_seq = s->seq + (uint32_t)s->payload;
	f->closed = s->flags & TCP_PSH;
	f->segs = 1;
	f->iov[1].iov_base = pkt;
	f->iov[1].iov_len = len;
	f->niov = 2;
	f->age = g->clock++;
}

static void gro_flow_append(struct nt_gro_flow *f, uint8_t *pkt, const struct gro_seg *s)
{
	f->iov[f->niov].iov_base = pkt + s->hdr_len;
	f->iov[f->niov].iov_len = s->payload;
	f->niov++;
	f->segs++;
	f->total += s->payload;
	f->next_seq += (uint32_t)s->payload;
	if (s->payload < f->mss)
		f->closed = true;
	if (s->flags & TCP_PSH) {
		f->first[f->ip_hlen + 13] |= TCP_PSH; /* the coalesced packet ends with a push */
		f->closed = true;
	}
}

void nt_gro_init(struct nt_gro *g, nt_gro_write_fn *write, void *ctx)
{
	memset(g, 0, sizeof(*g));
	g->write = write;
	g->ctx = ctx;
}

/*
 * A flow that can take nothing more is written at once rather than held to the end of the
 * batch: the packets are the same, and its slot is free for another flow.
 */
int nt_gro_add(struct nt_gro *g, uint8_t *pkt, size_t len)
{
	struct nt_gro_flow *f = NULL, *spare = NULL;
	struct gro_seg s;
	int ret = 0, r;

	if (!gro_parse(pkt, len, &s))
		return gro_write_single(g, pkt, len);
	for (unsigned int i = 0; i < NT_GRO_FLOWS; i++) {
		struct nt_gro_flow *c = &g->flow[i];

		if (gro_flow_matches(c, pkt, &s)) {
			f = c;
			break;
		}
		if (!spare || (spare->used && (!c->used || c->age < spare->age)))
			spare = c;
	}
	if (!s.coalescable) {
		if (f)
			ret = gro_flow_flush(g, f);
		r = gro_write_single(g, pkt, len);
		return ret ? ret : r;
	}
	if (f && gro_flow_fits(f, pkt, &s)) {
		gro_flow_append(f, pkt, &s);
		return f->closed ? gro_flow_flush(g, f) : 0;
	}
	/* A new flow: in place of this one's held segments, in a free slot, or the oldest's. */
	if (!f) {
		f = spare;
		if (f->used)
			ret = gro_flow_flush(g, f);
	} else {
		ret = gro_flow_flush(g, f);
	}
	gro_flow_open(g, f, pkt, len, &s);
	if (f->closed) {
		r = gro_flow_flush(g, f);
		ret = ret ? ret : r;
	}
	return ret;
}

int nt_gro_flush(struct nt_gro *g)
{
	int ret = 0, r;

	/* Oldest first, so flows leave in the order they began. */
	for (;;) {
		struct nt_gro_flow *oldest = NULL;

		for (unsigned int i = 0; i < NT_GRO_FLOWS; i++)
			if (g->flow[i].used && (!oldest || g->flow[i].age < oldest->age))
				oldest = &g->flow[i];
		if (!oldest)
			return ret;
		r = gro_flow_flush(g, oldest);
		ret = ret ? ret : r;
	}
}
