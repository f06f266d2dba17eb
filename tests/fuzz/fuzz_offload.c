// SPDX-License-Identifier: MIT
/*
 * Fuzz target for offload.c. The first 8 bytes choose a virtio_net_hdr (byte 0: gso type
 * in bits 0-1, ECN bit 2, NEEDS_CSUM bit 3, bit 4 "fix the lengths and the checksum place
 * so the packet gets past the checks", bit 5 "use byte 7 as the raw gso type"; then
 * gso_size, csum_start, csum_offset little-endian, then the raw type); the rest is the
 * packet. Every segment nt_gso_next() writes is checked (checksums, payload in order), then
 * the segments go through nt_gro_add() one per exact-size buffer; whatever is written,
 * superpackets cut again, must be the same packets in the same order.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "dataplane/offload.h"
#include "core/util.h"

/* Segments add at most one copy of the headers (60 + 60 bytes) each to the packet. */
enum { HDR = 8, OUT_CAP = NT_GSO_MAX + 64, ALL_CAP = OUT_CAP + NT_GSO_MAX_SEGS * 120 };

static uint8_t out[OUT_CAP], cut[OUT_CAP], all[ALL_CAP];
static uint8_t *seg[NT_GSO_MAX_SEGS], *want[NT_GSO_MAX_SEGS];
static size_t seg_len[NT_GSO_MAX_SEGS];
static unsigned int nseg, nseen; /* segments cut; packets the GRO writes amount to */

static uint16_t ref_fold(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A segment of a TSO/USO superpacket: lengths and checksums must all verify. */
static void check_segment(const struct nt_gso_iter *it, const uint8_t *p, size_t len)
{
	size_t l4len = len - it->ip_hlen;
	uint8_t proto = it->gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 ? IPPROTO_UDP : IPPROTO_TCP;
	uint32_t pseudo;

	if (len < it->hdr_len || len > it->hdr_len + it->mss)
		abort();
	if (it->family == AF_INET) {
		if (nt_get_be16(p + 2) != len || ref_fold(0, p, it->ip_hlen) != 0xffff)
			abort();
		pseudo = ref_fold(0, p + 12, 8);
	} else {
		if (nt_get_be16(p + 4) + 40u != len)
			abort();
		pseudo = ref_fold(0, p + 8, 32);
	}
	pseudo += proto + (uint32_t)l4len;
	if (ref_fold(pseudo, p + it->ip_hlen, l4len) != 0xffff)
		abort();
	if (proto == IPPROTO_UDP && (nt_get_be16(p + it->ip_hlen + 4) != l4len ||
				     nt_get_be16(p + it->ip_hlen + 6) == 0))
		abort();
}

/* The next packet out of the GRO must be the next segment that went in. */
static void expect(const uint8_t *p, size_t len)
{
	if (nseen >= nseg || len != seg_len[nseen] || memcmp(p, want[nseen], len) != 0)
		abort();
	nseen++;
}

static long gro_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct virtio_net_hdr vh;
	struct nt_gso_iter it;
	size_t len = 0;
	long n;

	(void)ctx;
	if (iovcnt < 2 || iovcnt > (int)NT_GSO_MAX_SEGS + 1 || iov[0].iov_len != sizeof(vh))
		abort();
	memcpy(&vh, iov[0].iov_base, sizeof(vh));
	for (int i = 1; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(cut))
			abort();
		memcpy(cut + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
		if (vh.flags || iovcnt != 2)
			abort();
		expect(cut, len);
		return (long)(sizeof(vh) + len);
	}
	if (nt_gso_begin(&it, &vh, cut, len) != NT_GSO_OK ||
	    nt_gso_count(&it) != (unsigned int)iovcnt - 1)
		abort();
	while ((n = nt_gso_next(&it, out, sizeof(out))) > 0)
		expect(out, (size_t)n);
	if (n < 0)
		abort();
	return (long)(sizeof(vh) + len);
}

/* With control bit 4: lengths that agree, and the checksum where the gso type puts it. */
static void fix(uint8_t *p, size_t len, struct virtio_net_hdr *vh)
{
	size_t ip_hlen;

	if (len >= 20 && p[0] >> 4 == 4) {
		nt_put_be16(p + 2, (uint16_t)len);
		ip_hlen = (size_t)(p[0] & 15) * 4;
		p[9] = vh->gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 ? IPPROTO_UDP : IPPROTO_TCP;
	} else if (len >= 40 && p[0] >> 4 == 6) {
		nt_put_be16(p + 4, (uint16_t)(len - 40));
		ip_hlen = 40;
	} else {
		return;
	}
	vh->csum_start = (uint16_t)ip_hlen;
	vh->csum_offset = vh->gso_type == VIRTIO_NET_HDR_GSO_UDP_L4 ? 6 : 16;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t types[] = { VIRTIO_NET_HDR_GSO_NONE, VIRTIO_NET_HDR_GSO_TCPV4,
					 VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_HDR_GSO_UDP_L4 };
	struct virtio_net_hdr vh = { 0 };
	struct nt_gso_iter it;
	struct nt_gro g;
	size_t len, off = 0, payload = 0;
	uint8_t *pkt;
	long n;

	if (size < HDR || size - HDR > OUT_CAP)
		return 0;
	vh.gso_type = data[0] & 0x20 ? data[7] : types[data[0] & 3];
	vh.gso_type |= data[0] & 4 ? VIRTIO_NET_HDR_GSO_ECN : 0;
	vh.flags = data[0] & 8 ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0;
	vh.gso_size = (uint16_t)(data[1] | data[2] << 8);
	vh.csum_start = (uint16_t)(data[3] | data[4] << 8);
	vh.csum_offset = (uint16_t)(data[5] | data[6] << 8);
	len = size - HDR;
	pkt = malloc(len ? len : 1);
	if (!pkt)
		abort();
	memcpy(pkt, data + HDR, len);
	if (data[0] & 0x10)
		fix(pkt, len, &vh);

	nseg = nseen = 0;
	if (nt_gso_begin(&it, &vh, pkt, len) == NT_GSO_OK) {
		if (it.count < 1 || it.count > NT_GSO_MAX_SEGS)
			abort();
		/* Each segment into a buffer of its exact size, so ASan sees any overrun. */
		for (; (n = nt_gso_next(&it, out, sizeof(out))) > 0; nseg++) {
			if (nseg >= it.count || (size_t)n > len || off + (size_t)n > sizeof(all))
				abort();
			if (it.gso_type != VIRTIO_NET_HDR_GSO_NONE)
				check_segment(&it, out, (size_t)n);
			want[nseg] = all + off;
			memcpy(want[nseg], out, (size_t)n);
			off += (size_t)n;
			seg_len[nseg] = (size_t)n;
			seg[nseg] = malloc((size_t)n);
			if (!seg[nseg])
				abort();
			memcpy(seg[nseg], out, (size_t)n);
			payload += (size_t)n - it.hdr_len;
		}
		if (n < 0 || nseg != it.count)
			abort();
		if (payload != len - it.hdr_len)
			abort(); /* the payload, each byte once */
		nt_gro_init(&g, gro_write, NULL);
		for (unsigned int i = 0; i < nseg; i++)
			if (nt_gro_add(&g, seg[i], seg_len[i]) != 0)
				abort();
		if (nt_gro_flush(&g) != 0 || nseen != nseg)
			abort();
		for (unsigned int i = 0; i < nseg; i++)
			free(seg[i]);
	}

	/* The raw packet alone through the GRO: written once, as it was. */
	memcpy(pkt, data + HDR, len);
	want[0] = all;
	memcpy(all, pkt, len);
	seg_len[0] = len;
	nseg = 1;
	nseen = 0;
	nt_gro_init(&g, gro_write, NULL);
	if (nt_gro_add(&g, pkt, len) != 0 || nt_gro_flush(&g) != 0 || nseen != 1)
		abort();
	free(pkt);
	return 0;
}
