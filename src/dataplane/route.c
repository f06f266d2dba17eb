// SPDX-License-Identifier: MIT
/*
 * The exact-match route table: open addressing with linear probing, keyed by (family,
 * address), over an array that doubles as it fills, within the size fixed at start.
 * Removal uses backward-shift deletion, so lookups never need tombstones and the table
 * never degrades.
 */
#include "dataplane/route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static uint32_t slot_hash(const struct nt_route *r, int family, const uint8_t *addr)
{
	uint32_t h = 2166136261U ^ (uint32_t)family;

	for (unsigned int i = 0; i < addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619U;
	return h & r->mask;
}

static bool slot_is(const struct nt_route_slot *s, int family, const uint8_t *addr)
{
	return s->family == family && memcmp(s->addr, addr, addr_len(family)) == 0;
}

int nt_route_init(struct nt_route *r, size_t max_addresses)
{
	uint32_t max = NT_ROUTE_SLOTS_MIN;

	memset(r, 0, sizeof(*r));
	while (max / 2 < max_addresses && max < (1U << 31))
		max *= 2;
	r->slots = calloc(NT_ROUTE_SLOTS_MIN, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	r->mask = NT_ROUTE_SLOTS_MIN - 1;
	r->max_slots = max;
	return 0;
}

void nt_route_uninit(struct nt_route *r)
{
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

void nt_route_clear(struct nt_route *r)
{
	if (r->slots)
		memset(r->slots, 0, ((size_t)r->mask + 1) * sizeof(*r->slots));
	r->count = 0;
}

size_t nt_route_bytes(const struct nt_route *r)
{
	return r->slots ? ((size_t)r->mask + 1) * sizeof(*r->slots) : 0;
}

static void place(struct nt_route *r, const struct nt_route_slot *s)
{
	uint32_t i = slot_hash(r, s->family, s->addr);

	while (r->slots[i].family)
		i = (i + 1) & r->mask;
	r->slots[i] = *s;
}

/* Doubles the table and places every address again. 0 or -ENOMEM (the table is unchanged). */
static int grow(struct nt_route *r)
{
	struct nt_route_slot *old = r->slots;
	uint32_t n = r->mask + 1;
	struct nt_route_slot *slots = calloc((size_t)n * 2, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	r->slots = slots;
	r->mask = n * 2 - 1;
	for (uint32_t i = 0; i < n; i++)
		if (old[i].family)
			place(r, &old[i]);
	free(old);
	return 0;
}

int nt_route_add(struct nt_route *r, int family, const uint8_t *addr, void *owner)
{
	struct nt_route_slot s = { .family = (uint8_t)family, .owner = owner };
	void *held;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	held = nt_route_lookup(r, family, addr);
	if (held)
		return held == owner ? 0 : -EEXIST;
	if (r->count + 1 > (r->mask + 1) / 2) {
		if (r->mask + 1 >= r->max_slots)
			return -ENOSPC;
		int ret = grow(r);
		if (ret < 0)
			return ret;
	}
	memcpy(s.addr, addr, addr_len(family));
	place(r, &s);
	r->count++;
	return 0;
}

static void remove_at(struct nt_route *r, uint32_t i)
{
	uint32_t j = i;

	r->slots[i].family = 0;
	r->count--;
	/* Shift back every later entry of the probe run that the hole would hide. */
	for (;;) {
		uint32_t home;
		j = (j + 1) & r->mask;
		if (!r->slots[j].family)
			return;
		home = slot_hash(r, r->slots[j].family, r->slots[j].addr);
		if (((j - home) & r->mask) >= ((j - i) & r->mask)) {
			r->slots[i] = r->slots[j];
			r->slots[j].family = 0;
			i = j;
		}
	}
}

void nt_route_remove_owner(struct nt_route *r, void *owner)
{
	for (uint32_t i = 0; i <= r->mask; i++) {
		while (r->slots[i].family && r->slots[i].owner == owner)
			remove_at(r, i);
	}
}

void *nt_route_lookup(const struct nt_route *r, int family, const uint8_t *addr)
{
	uint32_t i = slot_hash(r, family, addr);

	for (uint32_t n = 0; n <= r->mask; n++, i = (i + 1) & r->mask) {
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
