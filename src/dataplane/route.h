/* SPDX-License-Identifier: MIT */
/*
 * Overlay routing: which peer owns a VPN address. Members own host addresses (an IPv4 /32
 * and an IPv6 /128 each), so the table is an exact-match hash, rebuilt from the claims
 * whenever they change. It starts small and doubles as it fills, up to a size fixed at
 * start that holds NT_MAX_ADDRESSES for every member the peer table can hold. It answers both questions of the data path: where
 * does a packet read from the TUN go, and may this peer send us a packet from that source.
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
	uint8_t addr[16];
	void *owner;
};

struct nt_route {
	struct nt_route_slot *slots; /* mask + 1, at most half full */
	uint32_t mask;
	uint32_t max_slots; /* the size it may grow to */
	unsigned int count;
};

/* A table for max_addresses addresses (it grows to that on demand). 0 or -ENOMEM. */
int nt_route_init(struct nt_route *r, size_t max_addresses);
void nt_route_uninit(struct nt_route *r);
/* Empties it (the size it grew to is kept: it is refilled at once). */
void nt_route_clear(struct nt_route *r);
/* Bytes allocated for it. */
size_t nt_route_bytes(const struct nt_route *r);
/* -EEXIST if another owner holds the address, -ENOSPC when full, -ENOMEM; 0 otherwise. */
int nt_route_add(struct nt_route *r, int family, const uint8_t *addr, void *owner);
void nt_route_remove_owner(struct nt_route *r, void *owner);
void *nt_route_lookup(const struct nt_route *r, int family, const uint8_t *addr);

/*
 * The source and destination of an IP packet (v4 or v6 by the version nibble).
 * false when the packet is too short to be IP.
 */
bool nt_ip_addrs(const uint8_t *pkt, size_t len, int *family, const uint8_t **src,
		 const uint8_t **dst);

#endif
