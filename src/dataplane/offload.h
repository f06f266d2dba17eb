/* SPDX-License-Identifier: MIT */
/*
 * Segmentation offloads between the TUN (opened with IFF_VNET_HDR) and Netron frames.
 *
 * Outbound, the kernel hands the TUN reader a struct virtio_net_hdr and a packet of up to
 * 64 KB: a TCP (TSO) or UDP (USO) "superpacket" to be cut into MTU-sized IP packets, or one
 * ordinary packet whose transport checksum is left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM).
 * nt_gso_begin() checks the header against the packet; nt_gso_next() then writes one
 * complete IP packet at a time (headers fixed up, checksums computed) into the caller's
 * buffer, which is where the frame is then encrypted in place.
 *
 * Inbound, decrypted packets of one TCP flow that follow each other are coalesced into one
 * superpacket and written to the TUN with one writev(): the first packet whole (its IP length
 * and checksums fixed for the coalesced packet), then only the payload of the others, read
 * from where they lie in the receive buffers (no copy). Anything that cannot be coalesced is
 * written on its own, with an empty header, after any pending data of its own flow.
 *
 * Rules follow the kernel's (virtio_net_hdr_to_skb, tcp_gro_receive): nothing from outside
 * is trusted, every length is checked before it is used.
 */
#ifndef NT_OFFLOAD_H
#define NT_OFFLOAD_H

#include <endian.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO; Linux 6.2, missing from older uapi headers */
#endif

/*
 * A struct virtio_net_hdr is little-endian on every CPU, as virtio 1.0 has it: the TUN is
 * told so (TUNSETVNETLE, tun_linux.c), because the kernel a big-endian program talks to may
 * be little-endian (qemu-user on x86-64) and, without it, a big-endian kernel would use its
 * own order. Its 16-bit fields (hdr_len, gso_size, csum_start, csum_offset) are read with
 * nt_vnet16 and written with nt_to_vnet16; flags and gso_type are bytes.
 */
static inline uint16_t nt_vnet16(__virtio16 v)
{
	return le16toh(v);
}

static inline __virtio16 nt_to_vnet16(uint16_t v)
{
	return htole16(v);
}

/* The most one superpacket may carry: the IPv4 total length limit. */
#define NT_GSO_MAX 65535u
/* The most segments one superpacket is cut into or coalesced from. */
#define NT_GSO_MAX_SEGS 64u

enum nt_gso_error {
	NT_GSO_OK = 0,
	NT_GSO_BAD_HEADER,    /* virtio header inconsistent with itself (gso type, flags) */
	NT_GSO_BAD_PACKET,    /* not IPv4/IPv6, truncated, or lengths that disagree */
	NT_GSO_BAD_CSUM,      /* csum_start/csum_offset outside the packet */
	NT_GSO_BAD_SIZE,      /* gso_size 0, or more than NT_GSO_MAX_SEGS segments */
	NT_GSO_UNSUPPORTED,   /* a gso type or protocol this code does not cut */
};
const char *nt_gso_error_name(enum nt_gso_error e);

/* The state of cutting one superpacket. The packet itself is not modified. */
struct nt_gso_iter {
	const uint8_t *pkt;
	size_t len;
	uint8_t gso_type; /* VIRTIO_NET_HDR_GSO_NONE, _TCPV4, _TCPV6, _UDP_L4 */
	bool needs_csum; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	uint16_t csum_start, csum_offset;
	int family; /* AF_INET or AF_INET6 */
	size_t ip_hlen; /* IPv4: ihl * 4; IPv6: 40 (no extension headers are cut) */
	size_t hdr_len; /* IP + transport header */
	size_t mss; /* payload bytes per segment */
	size_t off; /* payload offset of the next segment, from hdr_len */
	unsigned int index; /* segments written so far */
	unsigned int count; /* segments in all */
};

/*
 * Checks hdr against the len bytes of pkt (which follow the header as read from the TUN).
 * A packet with gso_type NONE yields exactly one segment (its checksum completed when
 * NEEDS_CSUM is set). Returns NT_GSO_OK or why the packet must be dropped.
 */
enum nt_gso_error nt_gso_begin(struct nt_gso_iter *it, const struct virtio_net_hdr *hdr,
			       const uint8_t *pkt, size_t len);
/* Segments nt_gso_begin() found (1 for a packet that is not a superpacket). */
static inline unsigned int nt_gso_count(const struct nt_gso_iter *it) { return it->count; }
/*
 * Writes the next segment into out (cap bytes): a complete IP packet, lengths, IPv4 ID
 * (incremented per segment), TCP sequence number and flags (CWR on the first only, FIN and
 * PSH on the last only), and IP/TCP/UDP checksums all correct. Returns its length, 0 when
 * all segments have been written, or -1 if cap is too small (nothing written).
 */
long nt_gso_next(struct nt_gso_iter *it, uint8_t *out, size_t cap);

/* --- inbound coalescing --------------------------------------------------------------- */

#define NT_GRO_FLOWS 8

/* Writes one packet (iov[0] is its struct virtio_net_hdr). Returns bytes or -errno. */
typedef long nt_gro_write_fn(void *ctx, const struct iovec *iov, int iovcnt);

struct nt_gro_flow {
	bool used;
	int family;
	uint8_t *first; /* the first packet, in the caller's buffer; headers patched on flush */
	size_t first_len;
	size_t ip_hlen, hdr_len; /* of the first packet */
	size_t mss; /* payload of the first packet: every one but the last must carry this */
	size_t total; /* IP bytes of the coalesced packet so far */
	uint32_t next_seq; /* TCP sequence number the next segment must start with */
	bool closed; /* a shorter segment or PSH was appended: nothing more may follow */
	unsigned int segs;
	struct virtio_net_hdr vh;
	struct iovec iov[NT_GSO_MAX_SEGS + 1];
	unsigned int niov;
	uint64_t age; /* order of creation, to flush the oldest when all flows are in use */
};

struct nt_gro {
	struct nt_gro_flow flow[NT_GRO_FLOWS];
	uint64_t clock;
	nt_gro_write_fn *write;
	void *ctx;
	/* Counters: packets written coalesced and on their own, superpackets written. */
	uint64_t coalesced_pkts, single_pkts, superpackets;
	uint64_t write_errors;
};

void nt_gro_init(struct nt_gro *g, nt_gro_write_fn *write, void *ctx);
/*
 * Takes one IP packet (len bytes at pkt, which must stay valid and unmodified by anyone else
 * until the next nt_gro_flush()). It may be patched in place. The packet is written now (if
 * it cannot be coalesced, after pending packets of its own flow) or held for coalescing.
 * Returns 0, or -errno from the write function for a packet that was not written.
 */
int nt_gro_add(struct nt_gro *g, uint8_t *pkt, size_t len);
/* Writes every held flow. Call before the buffers behind held packets are reused. */
int nt_gro_flush(struct nt_gro *g);

#endif
