// SPDX-License-Identifier: MIT
/*
 * The peer table (an array sized at start, and a keyed hash by node ID) and the session
 * index table (open addressing with backward-shift deletion, found per packet so O(1); it
 * doubles as it fills, up to the size --max-peers needs).
 */
#include "dataplane/peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

int nt_peer_table_init(struct nt_peer_table *t, unsigned int cap)
{
	uint32_t slots = 16;

	memset(t, 0, sizeof(*t));
	t->cap = cap ? cap : NT_MAX_PEERS;
	while (slots < 2 * t->cap)
		slots *= 2;
	t->peers = calloc(t->cap, sizeof(*t->peers));
	t->by_id = calloc(slots, sizeof(*t->by_id));
	if (!t->peers || !t->by_id) {
		nt_peer_table_free(t);
		return -ENOMEM;
	}
	t->mask = slots - 1;
	randombytes_buf(t->key, sizeof(t->key));
	return 0;
}

static uint32_t home_of(const struct nt_peer_table *t, const uint8_t id[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(h, id, 32, t->key);
	memcpy(&v, h, sizeof(v));
	return v & t->mask;
}

struct nt_peer *nt_peer_new(struct nt_peer_table *t, const uint8_t id[32], size_t slot_size,
			    nt_keypair_drop_fn *on_drop, void *drop_ctx)
{
	struct nt_peer *p;
	uint32_t i;

	if (t->count >= t->cap)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->staged_cap = slot_size;
	memcpy(p->id, id, 32);
	nt_hex_encode(p->id_short, id, NT_NODE_ID_SHORT_LEN / 2);
	nt_session_init(&p->session, on_drop, drop_ctx);
	t->peers[t->count++] = p;
	for (i = home_of(t, id); t->by_id[i]; i = (i + 1) & t->mask)
		;
	t->by_id[i] = p;
	return p;
}

struct nt_peer *nt_peer_lookup_any(const struct nt_peer_table *t, const uint8_t id[32])
{
	if (!t->by_id)
		return NULL;
	for (uint32_t i = home_of(t, id); t->by_id[i]; i = (i + 1) & t->mask)
		if (memcmp(t->by_id[i]->id, id, 32) == 0)
			return t->by_id[i];
	return NULL;
}

struct nt_peer *nt_peer_lookup(const struct nt_peer_table *t, const uint8_t id[32])
{
	struct nt_peer *p = nt_peer_lookup_any(t, id);

	return p && !p->dead ? p : NULL;
}

static void peer_free(struct nt_peer *p)
{
	nt_session_uninit(&p->session);
	free(p->staged);
	free(p);
}

/* Takes p out of the hash, shifting back the entries after it (no tombstones). */
static void unhash(struct nt_peer_table *t, const struct nt_peer *p)
{
	uint32_t i = home_of(t, p->id), j;

	while (t->by_id[i] && t->by_id[i] != p)
		i = (i + 1) & t->mask;
	if (!t->by_id[i])
		return;
	t->by_id[i] = NULL;
	for (j = (i + 1) & t->mask; t->by_id[j]; j = (j + 1) & t->mask) {
		uint32_t home = home_of(t, t->by_id[j]->id);

		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->by_id[i] = t->by_id[j];
			t->by_id[j] = NULL;
			i = j;
		}
	}
}

void nt_peer_remove(struct nt_peer_table *t, struct nt_peer *p)
{
	for (unsigned int i = 0; i < t->count; i++) {
		if (t->peers[i] == p) {
			t->peers[i] = t->peers[--t->count];
			t->peers[t->count] = NULL;
			break;
		}
	}
	unhash(t, p);
	peer_free(p);
}

void nt_peer_table_free(struct nt_peer_table *t)
{
	for (unsigned int i = 0; t->peers && i < t->count; i++)
		peer_free(t->peers[i]);
	free(t->peers);
	free(t->by_id);
	memset(t, 0, sizeof(*t));
}

void nt_peer_stage(struct nt_peer *p, const uint8_t *pkt, size_t len)
{
	unsigned int slot;

	if (len > p->staged_cap)
		return;
	/* Most members never need it: the queue costs memory only once a packet waits. */
	if (!p->staged && !(p->staged = malloc(p->staged_cap * NT_STAGED_MAX)))
		return;
	if (p->staged_count == NT_STAGED_MAX) {
		p->staged_head = (p->staged_head + 1) % NT_STAGED_MAX;
		p->staged_count--;
	}
	slot = (p->staged_head + p->staged_count) % NT_STAGED_MAX;
	memcpy(p->staged + (size_t)slot * p->staged_cap, pkt, len);
	p->staged_len[slot] = (uint16_t)len;
	p->staged_count++;
}

size_t nt_peer_table_bytes(const struct nt_peer_table *t)
{
	return (size_t)t->cap * sizeof(*t->peers) + ((size_t)t->mask + 1) * sizeof(*t->by_id) +
	       (size_t)t->count * sizeof(struct nt_peer);
}

size_t nt_peer_table_staged_bytes(const struct nt_peer_table *t)
{
	size_t n = 0;

	for (unsigned int i = 0; i < t->count; i++)
		if (t->peers[i]->staged)
			n += t->peers[i]->staged_cap * NT_STAGED_MAX;
	return n;
}

int nt_index_table_init(struct nt_index_table *t, unsigned int max_peers)
{
	/* Three keypairs per member, the handshakes in flight, at most 3/4 full. */
	uint64_t need = ((uint64_t)3 * (max_peers ? max_peers : NT_MAX_PEERS) + NT_MAX_ATTEMPTS) * 4 / 3;
	uint32_t max = NT_INDEX_SLOTS_MIN;

	memset(t, 0, sizeof(*t));
	while (max < need && max < (1U << 31))
		max *= 2;
	t->slots = calloc(NT_INDEX_SLOTS_MIN, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->mask = NT_INDEX_SLOTS_MIN - 1;
	t->max_slots = max;
	return 0;
}

void nt_index_table_uninit(struct nt_index_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

size_t nt_index_table_bytes(const struct nt_index_table *t)
{
	return t->slots ? ((size_t)t->mask + 1) * sizeof(*t->slots) : 0;
}

static uint32_t index_home(const struct nt_index_table *t, uint32_t index)
{
	/* Indices are random already; mix anyway so a chosen index cannot pick its slot. */
	uint32_t h = index * 2654435761U;

	return (h ^ h >> 15) & t->mask;
}

static void index_place(struct nt_index_table *t, const struct nt_index_slot *s)
{
	uint32_t i = index_home(t, s->index);

	while (t->slots[i].kind != NT_INDEX_FREE)
		i = (i + 1) & t->mask;
	t->slots[i] = *s;
}

/* Doubles the table and places every index again. 0 or -ENOMEM (the table is unchanged). */
static int index_grow(struct nt_index_table *t)
{
	struct nt_index_slot *old = t->slots;
	uint32_t n = t->mask + 1;
	struct nt_index_slot *slots = calloc((size_t)n * 2, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	t->slots = slots;
	t->mask = n * 2 - 1;
	for (uint32_t i = 0; i < n; i++)
		if (old[i].kind != NT_INDEX_FREE)
			index_place(t, &old[i]);
	free(old);
	return 0;
}

int nt_index_add(struct nt_index_table *t, enum nt_index_kind kind, void *ptr, unsigned int lanes,
		 unsigned int lane, uint32_t *out)
{
	if (t->count + 1 > (t->mask + 1) / 4 * 3) {
		if (t->mask + 1 >= t->max_slots)
			return -ENOSPC;
		int ret = index_grow(t);
		if (ret < 0)
			return ret;
	}
	for (;;) {
		uint32_t index = randombytes_random();

		if (index == 0 || (lanes > 1 && (index & 0xff) % lanes != lane) ||
		    nt_index_lookup(t, index, NT_INDEX_KEYPAIR) ||
		    nt_index_lookup(t, index, NT_INDEX_HANDSHAKE))
			continue;
		index_place(t, &(struct nt_index_slot){ .index = index, .kind = (uint8_t)kind, .ptr = ptr });
		t->count++;
		*out = index;
		return 0;
	}
}

static struct nt_index_slot *find(const struct nt_index_table *t, uint32_t index)
{
	uint32_t i = index_home(t, index);

	for (uint32_t n = 0; n <= t->mask; n++, i = (i + 1) & t->mask) {
		const struct nt_index_slot *s = &t->slots[i];
		if (s->kind == NT_INDEX_FREE)
			return NULL;
		if (s->index == index)
			return (struct nt_index_slot *)s;
	}
	return NULL;
}

void *nt_index_lookup(const struct nt_index_table *t, uint32_t index, enum nt_index_kind kind)
{
	struct nt_index_slot *s = find(t, index);

	return s && s->kind == kind ? s->ptr : NULL;
}

void nt_index_remove(struct nt_index_table *t, uint32_t index)
{
	struct nt_index_slot *s = find(t, index);
	uint32_t i, j;

	if (!s)
		return;
	i = (uint32_t)(s - t->slots);
	j = i;
	t->slots[i].kind = NT_INDEX_FREE;
	t->count--;
	for (;;) {
		uint32_t home;
		j = (j + 1) & t->mask;
		if (t->slots[j].kind == NT_INDEX_FREE)
			return;
		home = index_home(t, t->slots[j].index);
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			t->slots[j].kind = NT_INDEX_FREE;
			i = j;
		}
	}
}

bool nt_index_rebind(struct nt_index_table *t, uint32_t index, enum nt_index_kind kind, void *ptr)
{
	struct nt_index_slot *s = find(t, index);

	if (!s)
		return false;
	s->kind = (uint8_t)kind;
	s->ptr = ptr;
	return true;
}
