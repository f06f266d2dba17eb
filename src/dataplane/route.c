// SPDX-License-Identifier: MIT
/*
 * The exact-match route table: open addressing with linear probing over a fixed array,
 * keyed by (family, address). Removal uses backward-shift deletion, so lookups never need
 * tombstones and the table never degrades.
 */
#include "dataplane/route.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static uint32_t slot_hash(int family, const uint8_t *addr)
{
	uint32_t h = 2166136261U ^ (uint32_t)family;

	for (unsigned int i = 0; i < addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619U;
	return h & (NT_ROUTE_SLOTS - 1);
}

static bool slot_is(const struct nt_route_slot *s, int family, const uint8_t *addr)
{
	return s->family == family && memcmp(s->addr, addr, addr_len(family)) == 0;
}

void nt_route_clear(struct nt_route *r)
{
	memset(r, 0, sizeof(*r));
}

int nt_route_add(struct nt_route *r, int family, const uint8_t *addr, void *owner)
{
	uint32_t i = slot_hash(family, addr);

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	for (unsigned int n = 0; n < NT_ROUTE_SLOTS; n++, i = (i + 1) & (NT_ROUTE_SLOTS - 1)) {
		struct nt_route_slot *s = &r->slots[i];
		if (!s->family) {
			if (r->count >= NT_ROUTE_SLOTS / 2)
				return -ENOSPC;
			s->family = (uint8_t)family;
			memset(s->addr, 0, sizeof(s->addr));
			memcpy(s->addr, addr, addr_len(family));
			s->owner = owner;
			r->count++;
			return 0;
		}
		if (slot_is(s, family, addr))
			return s->owner == owner ? 0 : -EEXIST;
	}
	return -ENOSPC;
}

static void remove_at(struct nt_route *r, uint32_t i)
{
	uint32_t j = i;

	r->slots[i].family = 0;
	r->count--;
	/* Shift back every later entry of the probe run that the hole would hide. */
	for (;;) {
		uint32_t home;
		j = (j + 1) & (NT_ROUTE_SLOTS - 1);
		if (!r->slots[j].family)
			return;
		home = slot_hash(r->slots[j].family, r->slots[j].addr);
		if (((j - home) & (NT_ROUTE_SLOTS - 1)) >= ((j - i) & (NT_ROUTE_SLOTS - 1))) {
			r->slots[i] = r->slots[j];
			r->slots[j].family = 0;
			i = j;
		}
	}
}

void nt_route_remove_owner(struct nt_route *r, void *owner)
{
	for (uint32_t i = 0; i < NT_ROUTE_SLOTS; i++) {
		while (r->slots[i].family && r->slots[i].owner == owner)
			remove_at(r, i);
	}
}

void *nt_route_lookup(const struct nt_route *r, int family, const uint8_t *addr)
{
	uint32_t i = slot_hash(family, addr);

	for (unsigned int n = 0; n < NT_ROUTE_SLOTS; n++, i = (i + 1) & (NT_ROUTE_SLOTS - 1)) {
		const struct nt_route_slot *s = &r->slots[i];
		if (!s->family)
			return NULL;
		if (slot_is(s, family, addr))
			return s->owner;
	}
	return NULL;
}

bool nt_ip_addrs(const uint8_t *pkt, size_t len, int *family, const uint8_t **src,
		 const uint8_t **dst)
{
	if (len < 1)
		return false;
	switch (pkt[0] >> 4) {
	case 4:
		if (len < 20)
			return false;
		*family = AF_INET;
		*src = pkt + 12;
		*dst = pkt + 16;
		return true;
	case 6:
		if (len < 40)
			return false;
		*family = AF_INET6;
		*src = pkt + 8;
		*dst = pkt + 24;
		return true;
	}
	return false;
}
