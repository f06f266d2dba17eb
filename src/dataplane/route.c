// SPDX-License-Identifier: MIT
/*
 * The route table: open addressing with linear probing, keyed by (family, prefix length,
 * masked address), over an array that doubles as it fills, within the size fixed at start.
 * Removal uses backward-shift deletion, so lookups never need tombstones and the table
 * never degrades. Longest prefix match probes the host length first, then each shorter
 * length in use, longest first (the per-length hash tables of a classic LPM, folded into one
 * array).
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

static unsigned int fam_ix(int family)
{
	return family == AF_INET ? 0 : 1;
}

static unsigned int host_len(int family)
{
	return family == AF_INET ? 32 : 128;
}

static uint32_t slot_hash(const struct nt_route *r, int family, unsigned int plen, const uint8_t *addr)
{
	uint32_t h = 2166136261U ^ (uint32_t)family;

	h = (h ^ plen) * 16777619U;
	for (unsigned int i = 0; i < addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619U;
	return h & r->mask;
}

static bool slot_is(const struct nt_route_slot *s, int family, unsigned int plen, const uint8_t *addr)
{
	return s->family == family && s->plen == plen && memcmp(s->addr, addr, addr_len(family)) == 0;
}

void nt_route_mask(int family, const uint8_t *addr, unsigned int plen, uint8_t out[16])
{
	unsigned int n = addr_len(family);

	memset(out, 0, 16);
	memcpy(out, addr, n);
	for (unsigned int i = 0; i < n; i++) {
		if (plen >= 8 * (i + 1))
			continue;
		out[i] &= plen > 8 * i ? (uint8_t)(0xff << (8 - (plen - 8 * i))) : 0;
	}
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
	memset(r->per_len, 0, sizeof(r->per_len));
	memset(r->n_lens, 0, sizeof(r->n_lens));
}

size_t nt_route_bytes(const struct nt_route *r)
{
	return r->slots ? ((size_t)r->mask + 1) * sizeof(*r->slots) : 0;
}

static void place(struct nt_route *r, const struct nt_route_slot *s)
{
	uint32_t i = slot_hash(r, s->family, s->plen, s->addr);

	while (r->slots[i].family)
		i = (i + 1) & r->mask;
	r->slots[i] = *s;
}

/* Doubles the table and places every route again. 0 or -ENOMEM (the table is unchanged). */
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

/* The list of shorter lengths in use, longest first, after a count went to or from zero. */
static void lens_rebuild(struct nt_route *r, unsigned int f)
{
	unsigned int n = 0;

	for (int l = (int)host_len(f ? AF_INET6 : AF_INET) - 1; l >= 0; l--)
		if (r->per_len[f][l])
			r->lens[f][n++] = (uint8_t)l;
	r->n_lens[f] = n;
}

static void *probe(const struct nt_route *r, int family, unsigned int plen, const uint8_t *key)
{
	uint32_t i = slot_hash(r, family, plen, key);

	for (uint32_t n = 0; n <= r->mask; n++, i = (i + 1) & r->mask) {
		const struct nt_route_slot *s = &r->slots[i];
		if (!s->family)
			return NULL;
		if (slot_is(s, family, plen, key))
			return s->owner;
	}
	return NULL;
}

int nt_route_add_prefix(struct nt_route *r, int family, const uint8_t *addr, unsigned int plen,
			void *owner)
{
	struct nt_route_slot s = { .family = (uint8_t)family, .plen = (uint8_t)plen, .owner = owner };
	unsigned int f;
	void *held;
	int ret;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (plen > host_len(family))
		return -EINVAL;
	nt_route_mask(family, addr, plen, s.addr);
	held = probe(r, family, plen, s.addr);
	if (held)
		return held == owner ? 0 : -EEXIST;
	if (r->count + 1 > (r->mask + 1) / 2) {
		if (r->mask + 1 >= r->max_slots)
			return -ENOSPC;
		ret = grow(r);
		if (ret < 0)
			return ret;
	}
	place(r, &s);
	r->count++;
	f = fam_ix(family);
	if (r->per_len[f][plen]++ == 0 && plen < host_len(family))
		lens_rebuild(r, f);
	return 0;
}

int nt_route_add(struct nt_route *r, int family, const uint8_t *addr, void *owner)
{
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	return nt_route_add_prefix(r, family, addr, host_len(family), owner);
}

static void remove_at(struct nt_route *r, uint32_t i)
{
	unsigned int f = fam_ix(r->slots[i].family);
	unsigned int plen = r->slots[i].plen;
	uint32_t j = i;

	if (--r->per_len[f][plen] == 0 && plen < host_len(r->slots[i].family))
		lens_rebuild(r, f);
	r->slots[i].family = 0;
	r->count--;
	/* Shift back every later entry of the probe run that the hole would hide. */
	for (;;) {
		uint32_t home;
		j = (j + 1) & r->mask;
		if (!r->slots[j].family)
			return;
		home = slot_hash(r, r->slots[j].family, r->slots[j].plen, r->slots[j].addr);
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
	unsigned int f;
	uint8_t key[16];
	void *owner;

	if (family != AF_INET && family != AF_INET6)
		return NULL;
	f = fam_ix(family);
	/* Members' own addresses first: the one probe of a mesh with no subnet routes. */
	if (r->per_len[f][host_len(family)] && (owner = probe(r, family, host_len(family), addr)))
		return owner;
	for (unsigned int k = 0; k < r->n_lens[f]; k++) {
		nt_route_mask(family, addr, r->lens[f][k], key);
		owner = probe(r, family, r->lens[f][k], key);
		if (owner)
			return owner;
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
