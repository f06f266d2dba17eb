// SPDX-License-Identifier: MIT
/*
 * What the store holds as time passes: expiry rotates entries out; the state hash
 * summarises what is left (docs/ledger.md), so two replicas compare their stores in 32
 * bytes; seal snapshots it into the next block of a ring, each block chained to the one
 * before by its hash. The state hash is cached until the next change (state_dirty) and
 * computed without allocating: it sorts the expiry heap's array, then heapifies it again.
 */
#include "ledger/ledger_state.h"

#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"
#include "ledger/ledger_impl.h"

static const char state_context[] = "netron ledger state v1";
static const char block_context[] = "netron ledger block v1";

size_t nt_ledger_expire(struct nt_ledger *l, uint64_t now_ms)
{
	uint32_t idx;
	size_t n = 0;

	/* The heap holds the first to expire on top: nothing to do while it is not due. */
	while ((idx = nt_ledger_heap_top(l)) != NIL && l->slots[idx].e.expires_at <= now_ms) {
		nt_ledger_slot_remove(l, idx);
		n++;
	}
	l->stats.expired += n;
	if (n)
		log_debug(NT_DBG_LEDGER, "ledger: %zu entries expired, %u left", n, l->used);
	return n;
}

/*
 * Entries in ascending order of their hash. A slot keeps the first 8 bytes of it: two that
 * share them (which takes 2^32 tries to make on purpose) are ordered by the whole hashes.
 */
static int by_hash(const struct nt_ledger *l, uint32_t a, uint32_t b)
{
	uint8_t ha[NT_LEDGER_HASH_LEN], hb[NT_LEDGER_HASH_LEN];
	int c = memcmp(l->slots[a].hash, l->slots[b].hash, NT_LEDGER_HASH_PREFIX_LEN);

	if (c)
		return c;
	nt_ledger_entry_hash(&l->slots[a].e, ha);
	nt_ledger_entry_hash(&l->slots[b].e, hb);
	return memcmp(ha, hb, NT_LEDGER_HASH_LEN);
}

/*
 * BLAKE2b-256(state_context || u32 count || entry hashes in ascending order). The entries'
 * hashes are computed again from their fields (one BLAKE2b of each entry's encoding), in
 * the order of the heap's array sorted in place, which is then made a heap again.
 */
void nt_ledger_state_hash(struct nt_ledger *l, uint8_t out[NT_LEDGER_HASH_LEN])
{
	crypto_generichash_state st;
	uint8_t cnt[4], h[NT_LEDGER_HASH_LEN];

	if (l->state_dirty) {
		nt_ledger_sort_slots(l, l->heap, l->nheap, by_hash);
		nt_put_be32(cnt, l->nheap);
		crypto_generichash_init(&st, NULL, 0, NT_LEDGER_HASH_LEN);
		crypto_generichash_update(&st, (const uint8_t *)state_context, sizeof(state_context) - 1);
		crypto_generichash_update(&st, cnt, sizeof(cnt));
		for (uint32_t i = 0; i < l->nheap; i++) {
			nt_ledger_entry_hash(&l->slots[l->heap[i]].e, h);
			crypto_generichash_update(&st, h, NT_LEDGER_HASH_LEN);
		}
		crypto_generichash_final(&st, l->state_hash, NT_LEDGER_HASH_LEN);
		nt_ledger_heap_rebuild(l);
		l->state_dirty = false;
	}
	memcpy(out, l->state_hash, NT_LEDGER_HASH_LEN);
}

/* hash = BLAKE2b-256(block_context || index || timestamp || entries || state || prev). */
const struct nt_ledger_block *nt_ledger_seal(struct nt_ledger *l, uint64_t now_ms)
{
	struct nt_ledger_block *b = &l->blocks[l->nblocks % NT_LEDGER_BLOCKS];
	const struct nt_ledger_block *prev = nt_ledger_block_get(l, 0);
	uint8_t hdr[8 + 8 + 4];
	crypto_generichash_state st;

	nt_ledger_expire(l, now_ms);
	b->index = l->nblocks;
	b->timestamp = now_ms;
	b->entries = l->used;
	if (prev)
		memcpy(b->prev_hash, prev->hash, NT_LEDGER_HASH_LEN);
	else
		memset(b->prev_hash, 0, NT_LEDGER_HASH_LEN);
	nt_ledger_state_hash(l, b->state_hash);
	nt_put_be64(hdr, b->index);
	nt_put_be64(hdr + 8, b->timestamp);
	nt_put_be32(hdr + 16, b->entries);
	crypto_generichash_init(&st, NULL, 0, NT_LEDGER_HASH_LEN);
	crypto_generichash_update(&st, (const uint8_t *)block_context, sizeof(block_context) - 1);
	crypto_generichash_update(&st, hdr, sizeof(hdr));
	crypto_generichash_update(&st, b->state_hash, NT_LEDGER_HASH_LEN);
	crypto_generichash_update(&st, b->prev_hash, NT_LEDGER_HASH_LEN);
	crypto_generichash_final(&st, b->hash, NT_LEDGER_HASH_LEN);
	l->nblocks++;
	return b;
}

const struct nt_ledger_block *nt_ledger_block_get(const struct nt_ledger *l, size_t i)
{
	uint64_t kept = NT_MIN(l->nblocks, (uint64_t)NT_LEDGER_BLOCKS);

	if (i >= kept)
		return NULL;
	return &l->blocks[(l->nblocks - 1 - i) % NT_LEDGER_BLOCKS];
}
