/* SPDX-License-Identifier: MIT */
/*
 * Overlay routing: which peer owns a VPN address or a prefix. Members own host addresses (an
 * IPv4 /32 and an IPv6 /128 each) and, with --accept-routes, the subnets others advertise
 * (docs/routes.md). The table is a hash keyed by (family, prefix length, masked address),
 * rebuilt from the claims whenever they change; a longest-prefix lookup probes it once per
 * prefix length present, longest first, so it costs O(lengths in use), and one probe when
 * only host addresses are held. It starts small and doubles as it fills, up to a size fixed
 * at start that holds NT_MAX_ADDRESSES for every member the peer table can hold. It answers
 * both questions of the data path: where does a packet read from the TUN go, and may this
 * peer send us a packet from that source.
 */
#ifndef NT_ROUTE_H
#define NT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef NT_ROUTE_SLOTS_MIN
#define NT_ROUTE_SLOTS_MIN 64 /* a power of two: the size at start */
#endif

struct nt_route_slot {
	uint8_t family; /* 0 = empty */
	uint8_t plen; /* prefix length: 32 or 128 for a host address */
	uint8_t addr[16]; /* masked to plen */
	void *owner;
};

struct nt_route {
	struct nt_route_slot *slots; /* mask + 1, at most half full */
	uint32_t mask;
	uint32_t max_slots; /* the size it may grow to */
	unsigned int count;
	/* Routes held per (family: 0 = IPv4, 1 = IPv6) and prefix length. */
	unsigned int per_len[2][129];
	/* The shorter-than-host lengths in use, longest first: the lookup's probe order. */
	uint8_t lens[2][128];
	unsigned int n_lens[2];
};

/* A table for max_addresses routes (it grows to that on demand). 0 or -ENOMEM. */
int nt_route_init(struct nt_route *r, size_t max_addresses);
void nt_route_uninit(struct nt_route *r);
/* Empties it (the size it grew to is kept: it is refilled at once). */
void nt_route_clear(struct nt_route *r);
/* Bytes allocated for it. */
size_t nt_route_bytes(const struct nt_route *r);
/* -EEXIST if another owner holds the address, -ENOSPC when full, -ENOMEM; 0 otherwise. */
int nt_route_add(struct nt_route *r, int family, const uint8_t *addr, void *owner);
/*
 * A prefix (addr is masked to plen here): -EEXIST if another owner holds the same prefix,
 * -EINVAL for a length beyond the family's, -ENOSPC when full, -ENOMEM; 0 otherwise.
 */
int nt_route_add_prefix(struct nt_route *r, int family, const uint8_t *addr, unsigned int plen,
			void *owner);
void nt_route_remove_owner(struct nt_route *r, void *owner);
/* The owner of the longest prefix holding addr, or NULL. */
void *nt_route_lookup(const struct nt_route *r, int family, const uint8_t *addr);

/* addr (4 or 16 bytes) with the bits past plen cleared, into out (16 bytes, zero-padded). */
void nt_route_mask(int family, const uint8_t *addr, unsigned int plen, uint8_t out[16]);

/*
 * The source and destination of an IP packet (v4 or v6 by the version nibble).
 * false when the packet is too short to be IP.
 */
bool nt_ip_addrs(const uint8_t *pkt, size_t len, int *family, const uint8_t **src,
		 const uint8_t **dst);

#endif
