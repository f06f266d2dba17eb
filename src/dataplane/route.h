/* SPDX-License-Identifier: MIT */
/*
 * Overlay routing: which peer owns a VPN address. Members own host addresses (an IPv4 /32
 * and an IPv6 /128 each), so the table is an exact-match hash of fixed capacity, rebuilt
 * from the claims whenever they change. It answers both questions of the data path: where
 * does a packet read from the TUN go, and may this peer send us a packet from that source.
 */
#ifndef NT_ROUTE_H
#define NT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef NT_ROUTE_SLOTS
#define NT_ROUTE_SLOTS 8192 /* a power of two, at least twice the addresses held */
#endif

struct nt_route_slot {
	uint8_t family; /* 0 = empty */
	uint8_t addr[16];
	void *owner;
};

struct nt_route {
	struct nt_route_slot slots[NT_ROUTE_SLOTS];
	unsigned int count;
};

void nt_route_clear(struct nt_route *r);
/* -EEXIST if another owner holds the address, -ENOSPC when full; 0 otherwise. */
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
