// SPDX-License-Identifier: MIT
/*
 * The ledger: a fixed array of slots holding signed entries (DESIGN §7), indexed by
 * (bucket, key), by short id and by owner, with their bytes in an arena sized by a byte
 * budget, and a heap by expiry. Nothing is allocated after nt_ledger_new.
 *
 * Merge rule (docs/ledger.md has the table): the store keeps, for every
 * (bucket, key, owner), the entry with the highest version (equal versions: the lower
 * entry hash), so merging is a join and the result does not depend on the order in
 * which entries arrive. Competing claims by other owners on one (bucket, key) are kept
 * too: the effective entry is the earliest live claim (claimed_at), ties to the lower
 * owner, so nobody but the owner can change what a live key says, and a losing claim
 * can be reported. Expiry rotates entries out; a full store refuses and counts.
 *
 * Memory: a slot holds an entry's fixed fields; its bucket, key, value and signature are a
 * record of exactly the bytes they need in one arena. Records are written at the top of the
 * arena; a record that is freed or shrinks leaves a hole, and when a new record does not fit
 * above the top, the live records slide down over the holes (a compaction: one sort of the
 * slots by offset and one pass of memmove). So the arena refuses a record only when the live
 * records and it do not fit in it, whatever the churn before: a full arena is REJ_FULL.
 *
 * This file holds the slots and their indexes, the arena, the merge and its refusals, and
 * allocation;
 * struct nt_ledger is in ledger_impl.h, and ledger.h lists the ledger's other files.
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"
#include "ledger/ledger_impl.h"

const char nt_ledger_sign_context[16] = "netron ledger v1";
static const char id_context[16] = "netron ledger id";

uint32_t nt_ledger_bk_hash(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
			   size_t klen)
{
	uint8_t tmp[2 + NT_LEDGER_BUCKET_MAX + NT_LEDGER_KEY_LIMIT], out[8];

	tmp[0] = (uint8_t)blen;
	memcpy(tmp + 1, b, blen);
	tmp[1 + blen] = (uint8_t)klen;
	memcpy(tmp + 2 + blen, k, klen);
	crypto_shorthash(out, tmp, 2 + blen + klen, l->shkey);
	return ((uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
		(uint32_t)out[3] << 24) & l->hmask;
}

static uint32_t owner_hash(const struct nt_ledger *l, const uint8_t pk[32])
{
	uint8_t out[8];

	crypto_shorthash(out, pk, 32, l->shkey);
	return ((uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
		(uint32_t)out[3] << 24) & l->hmask;
}

static uint64_t compute_id(const struct nt_ledger_entry *e)
{
	crypto_generichash_state st;
	uint8_t out[16], len;

	crypto_generichash_init(&st, NULL, 0, sizeof(out));
	crypto_generichash_update(&st, (const uint8_t *)id_context, sizeof(id_context));
	len = e->bucket_len;
	crypto_generichash_update(&st, &len, 1);
	crypto_generichash_update(&st, (const uint8_t *)e->bucket, e->bucket_len);
	len = e->key_len;
	crypto_generichash_update(&st, &len, 1);
	crypto_generichash_update(&st, (const uint8_t *)e->key, e->key_len);
	crypto_generichash_update(&st, e->owner, 32);
	crypto_generichash_final(&st, out, sizeof(out));
	return nt_get_be64(out);
}

static const struct slot *stored_slot(const struct nt_ledger *l, const struct nt_ledger_entry *e)
{
	uintptr_t p = (uintptr_t)e, lo = (uintptr_t)l->slots;
	uintptr_t hi = (uintptr_t)(l->slots + l->cfg.capacity);

	if (p < lo || p >= hi || (p - lo) % sizeof(struct slot))
		return NULL;
	return (const struct slot *)e;
}

uint64_t nt_ledger_entry_id(const struct nt_ledger *l, const struct nt_ledger_entry *e)
{
	const struct slot *s = l ? stored_slot(l, e) : NULL;

	return s ? s->id : compute_id(e);
}

const uint8_t *nt_ledger_entry_hash(const struct nt_ledger *l, const struct nt_ledger_entry *e)
{
	const struct slot *s = stored_slot(l, e);

	return s ? s->hash : NULL;
}

bool nt_ledger_same_bk(const struct slot *s, const char *b, size_t blen, const char *k,
		       size_t klen)
{
	return s->e.bucket_len == blen && s->e.key_len == klen && memcmp(s->e.bucket, b, blen) == 0 &&
	       memcmp(s->e.key, k, klen) == 0;
}

uint32_t nt_ledger_find_owned(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
			      size_t klen, const uint8_t owner[32])
{
	uint32_t i = l->bk_heads[nt_ledger_bk_hash(l, b, blen, k, klen)];

	for (; i != NIL; i = l->slots[i].next_bk) {
		nt_ledger_probe(l);
		if (nt_ledger_same_bk(&l->slots[i], b, blen, k, klen) &&
		    memcmp(l->slots[i].e.owner, owner, 32) == 0)
			return i;
	}
	return NIL;
}

/* Whether claim a is older than claim b: earlier claimed_at, ties to the lower owner. */
static bool claim_is_older(const struct nt_ledger_entry *a, const struct nt_ledger_entry *b)
{
	if (a->claimed_at != b->claimed_at)
		return a->claimed_at < b->claimed_at;
	return memcmp(a->owner, b->owner, 32) < 0;
}

bool nt_ledger_owner_is_proven(const struct nt_ledger *l, const uint8_t owner[32])
{
	return !l->cfg.proven || l->cfg.proven(l->cfg.ctx, owner);
}

/* Whether claim a beats claim b: a proven owner's beats an unproven one's, then the older. */
bool nt_ledger_claim_beats(const struct nt_ledger *l, const struct nt_ledger_entry *a,
			   const struct nt_ledger_entry *b)
{
	bool pa = nt_ledger_owner_is_proven(l, a->owner),
	     pb = nt_ledger_owner_is_proven(l, b->owner);

	if (pa != pb)
		return pa;
	return claim_is_older(a, b);
}

static bool in_reserve(const struct nt_ledger *l, const char *b, size_t blen)
{
	return l->reserve_bucket[0] && strlen(l->reserve_bucket) == blen &&
	       memcmp(l->reserve_bucket, b, blen) == 0;
}

/*
 * Whether a new owner's claim `in` may join the claims others hold on its key, and which
 * stored claim it then displaces (*evict, NIL for none). Claims compete by proof, then age,
 * and age is what a claim says of itself, so: a claim that would beat the holder by age alone
 * gets in only as a race (both made within race_ms of now, and the holder first seen here
 * within race_ms); past that the holder keeps the key, however old the newcomer says it is.
 * A key keeps the NT_LEDGER_CLAIMS_PER_KEY best claims (tombstones rank by their age too),
 * so a crowd of owners on one key takes no more room.
 */
static enum nt_ledger_verdict check_contest(const struct nt_ledger *l, const struct nt_ledger_entry *in,
					    uint64_t now, uint32_t *evict)
{
	uint32_t i = l->bk_heads[nt_ledger_bk_hash(l, in->bucket, in->bucket_len, in->key,
						   in->key_len)];
	const struct slot *holder = NULL;
	uint32_t n = 0, worst = NIL;

	*evict = NIL;
	for (; i != NIL; i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];

		if (!nt_ledger_same_bk(s, in->bucket, in->bucket_len, in->key, in->key_len))
			continue;
		n++;
		if (worst == NIL || nt_ledger_claim_beats(l, &l->slots[worst].e, &s->e))
			worst = i;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE) &&
		    (!holder || nt_ledger_claim_beats(l, &s->e, &holder->e)))
			holder = s;
	}
	if (holder && nt_ledger_owner_is_proven(l, in->owner) ==
			      nt_ledger_owner_is_proven(l, holder->e.owner) &&
	    claim_is_older(in, &holder->e) &&
	    (in->claimed_at + l->cfg.race_ms < now || holder->seen_at + l->cfg.race_ms < now))
		return NT_LEDGER_REJ_HELD;
	if (n < NT_LEDGER_CLAIMS_PER_KEY)
		return NT_LEDGER_ADDED;
	if (!nt_ledger_claim_beats(l, in, &l->slots[worst].e))
		return NT_LEDGER_REJ_HELD;
	*evict = worst;
	return NT_LEDGER_ADDED;
}

static uint32_t owner_find(const struct nt_ledger *l, const uint8_t pk[32])
{
	uint32_t i = l->owner_heads[owner_hash(l, pk)];

	for (; i != NIL; i = l->owners[i].next) {
		nt_ledger_probe(l);
		if (memcmp(l->owners[i].pk, pk, 32) == 0)
			return i;
	}
	return NIL;
}

/* An entry's record in the arena: bucket NUL key NUL value signature. */
static size_t arena_need(const struct nt_ledger_entry *e)
{
	return (size_t)e->bucket_len + 1 + e->key_len + 1 + e->value_len + NT_LEDGER_SIG_LEN;
}

/* Points a slot's entry at its record. */
static void slot_point(struct nt_ledger *l, struct slot *s)
{
	uint8_t *r = l->arena + s->off;

	s->e.bucket = (const char *)r;
	s->e.key = (const char *)r + s->e.bucket_len + 1;
	s->e.value = r + s->e.bucket_len + 1 + s->e.key_len + 1;
	s->e.sig = s->e.value + s->e.value_len;
}

static int by_offset(const struct nt_ledger *l, uint32_t a, uint32_t b)
{
	return l->slots[a].off < l->slots[b].off ? -1 : l->slots[a].off > l->slots[b].off;
}

/* Slides every record down over the holes: afterwards arena_top == arena_live. */
static void arena_compact(struct nt_ledger *l)
{
	size_t n = 0, top = 0;

	for (uint32_t i = 0; i < l->fresh; i++)
		if (l->slots[i].used && l->slots[i].off != NIL)
			l->order[n++] = i;
	nt_ledger_sort_slots(l, l->order, n, by_offset);
	for (size_t j = 0; j < n; j++) {
		struct slot *s = &l->slots[l->order[j]];
		size_t need = arena_need(&s->e);

		if (s->off != top) {
			memmove(l->arena + top, l->arena + s->off, need);
			s->off = (uint32_t)top;
			slot_point(l, s);
		}
		top += need;
	}
	l->arena_top = top;
	l->stats.compactions++;
}

static bool in_reserve(const struct nt_ledger *l, const char *b, size_t blen);

/*
 * Gives slot s a record of need bytes; the caller checked that it fits (entry_fits()).
 * Records go above the top; the holes below are reclaimed when nothing fits above, and
 * also before the top would pass its high-water mark while an eighth of it is holes: the
 * pages the arena touches (its share of RSS) then follow the most it held, not the bytes
 * written over time, and each compaction reclaims at least an eighth of what it moves.
 */
static void arena_alloc(struct nt_ledger *l, struct slot *s, size_t need)
{
	if (l->arena_size - l->arena_top < need ||
	    (l->arena_top + need > l->arena_hwm && l->arena_top - l->arena_live >= l->arena_top / 8))
		arena_compact(l);
	s->off = (uint32_t)l->arena_top;
	l->arena_top += need;
	l->arena_live += need;
	l->arena_hwm = NT_MAX(l->arena_hwm, l->arena_top);
}

/* Frees slot s's record (a hole until the next compaction). */
static void arena_free(struct nt_ledger *l, struct slot *s)
{
	size_t need = arena_need(&s->e);

	if (s->off == NIL)
		return;
	if (s->off + need == l->arena_top)
		l->arena_top = s->off; /* the last record written: its bytes are free at once */
	l->arena_live -= need;
	if (in_reserve(l, s->e.bucket, s->e.bucket_len))
		l->arena_reserve_live -= need;
	s->off = NIL;
}

/*
 * Whether entry in (need bytes) fits, counting what replaces (idx: the owner's entry it
 * replaces) and evict (an entry that gives way) free, both NIL for none. Our own entries
 * and those of the reserved bucket may use all the room; the others together only what
 * the reserve leaves them, in slots and in bytes.
 */
static bool entry_fits(const struct nt_ledger *l, const struct nt_ledger_entry *in, size_t need,
		       uint32_t idx, uint32_t evict, bool local)
{
	bool reserve = in_reserve(l, in->bucket, in->bucket_len);
	size_t live = l->arena_live, others = l->arena_live - l->arena_reserve_live;
	uint32_t slots_others = l->used - l->reserve_used;

	if (idx != NIL) {
		live -= arena_need(&l->slots[idx].e);
		others -= reserve ? 0 : arena_need(&l->slots[idx].e);
	}
	if (evict != NIL) {
		const struct slot *v = &l->slots[evict];
		bool vres = in_reserve(l, v->e.bucket, v->e.bucket_len);

		live -= arena_need(&v->e);
		others -= vres ? 0 : arena_need(&v->e);
		slots_others -= vres ? 0 : 1;
	}
	if (live + need > l->arena_size)
		return false;
	if (idx == NIL && evict == NIL && l->used == l->cfg.capacity)
		return false;
	if (local || reserve)
		return true;
	if (idx == NIL && slots_others >= l->cfg.capacity - l->cfg.reserve_slots)
		return false;
	return others + need <= l->arena_other_max;
}

static void notify(struct nt_ledger *l, const struct slot *s, enum nt_ledger_change c, bool local)
{
	if (l->cfg.on_change)
		l->cfg.on_change(l->cfg.ctx, &s->e, c, local);
}

static void unlink_u32(uint32_t *head, uint32_t idx, struct slot *slots, size_t field_off)
{
	uint32_t *pp = head;

	while (*pp != NIL && *pp != idx)
		pp = (uint32_t *)((uint8_t *)&slots[*pp] + field_off);
	if (*pp == idx)
		*pp = *(uint32_t *)((uint8_t *)&slots[idx] + field_off);
}

void nt_ledger_slot_remove(struct nt_ledger *l, uint32_t idx)
{
	struct slot *s = &l->slots[idx];
	struct owner_rec *o = &l->owners[s->owner_idx];

	notify(l, s, NT_LEDGER_CHANGE_REMOVED, false);
	unlink_u32(&l->bk_heads[nt_ledger_bk_hash(l, s->e.bucket, s->e.bucket_len, s->e.key,
						  s->e.key_len)],
		   idx, l->slots, offsetof(struct slot, next_bk));
	nt_ledger_heap_remove(l, idx);
	unlink_u32(&l->id_heads[s->id & l->hmask], idx, l->slots, offsetof(struct slot, next_id));
	if (--o->count == 0) {
		uint32_t *pp = &l->owner_heads[owner_hash(l, o->pk)];
		while (*pp != s->owner_idx)
			pp = &l->owners[*pp].next;
		*pp = o->next;
		o->next = l->owner_free;
		l->owner_free = s->owner_idx;
		l->nowners--;
	}
	if (in_reserve(l, s->e.bucket, s->e.bucket_len)) {
		l->reserve_used--;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			o->reserve_live--;
	}
	arena_free(l, s);
	/* A holder gone: a claim refused while it held the key may pass now. */
	nt_ledger_forget_refusals(l);
	s->used = false;
	s->next_bk = l->free_head;
	l->free_head = idx;
	l->used--;
	l->state_dirty = true;
}

/*
 * Copies an entry into slot s, whose owner record is set: its record is rewritten in place
 * when it is no larger, or moves to a new one (the caller checked it fits). in must not
 * point into the arena, which a new record may compact.
 */
static void slot_store(struct nt_ledger *l, struct slot *s, const struct nt_ledger_entry *in,
		       const uint8_t hash[NT_LEDGER_HASH_LEN])
{
	size_t need = arena_need(in);
	bool reserve = in_reserve(l, in->bucket, in->bucket_len);
	uint8_t *r;

	if (s->off != NIL && arena_need(&s->e) >= need) {
		/* In place: what it no longer needs is a hole (the top again, if it was last). */
		size_t old = arena_need(&s->e);

		if (s->off + old == l->arena_top)
			l->arena_top -= old - need;
		l->arena_live -= old - need;
		if (reserve)
			l->arena_reserve_live -= old - need;
	} else {
		arena_free(l, s);
		arena_alloc(l, s, need);
		if (reserve)
			l->arena_reserve_live += need;
	}
	r = l->arena + s->off;
	memcpy(r, in->bucket, in->bucket_len);
	r[in->bucket_len] = '\0';
	r += in->bucket_len + 1;
	memcpy(r, in->key, in->key_len);
	r[in->key_len] = '\0';
	r += in->key_len + 1;
	if (in->value_len)
		memcpy(r, in->value, in->value_len);
	memcpy(r + in->value_len, in->sig, NT_LEDGER_SIG_LEN);
	memcpy(s->hash, hash, NT_LEDGER_HASH_LEN);
	s->e = *in;
	s->e.owner = l->owners[s->owner_idx].pk;
	slot_point(l, s);
	l->state_dirty = true;
}

static bool signature_is_valid(struct nt_ledger *l, const uint8_t *wire, size_t wlen,
			       const uint8_t owner[32])
{
	size_t body = wlen - NT_LEDGER_SIG_LEN;

	/* Ed25519 has no streaming verify: lay context and body out in the scratch buffer. */
	memcpy(l->scratch, nt_ledger_sign_context, sizeof(nt_ledger_sign_context));
	memcpy(l->scratch + sizeof(nt_ledger_sign_context), wire, body);
	return crypto_sign_verify_detached(wire + body, l->scratch,
					   sizeof(nt_ledger_sign_context) + body, owner) == 0;
}

/*
 * When the store (or the room of in's side of the reserve) is full: the slot a proven
 * owner's entry takes, that of the unproven owner's entry this node saw last (the newest
 * hearsay gives way first); NIL when in's owner is unproven or no such entry exists.
 */
static uint32_t room_for_proven(const struct nt_ledger *l, const struct nt_ledger_entry *in,
				bool reserve)
{
	uint32_t victim = NIL;

	if (!l->cfg.proven || !nt_ledger_owner_is_proven(l, in->owner))
		return NIL;
	for (uint32_t i = 0; i < l->fresh; i++) {
		const struct slot *s = &l->slots[i];

		if (!s->used || s->local_ttl || in_reserve(l, s->e.bucket, s->e.bucket_len) != reserve ||
		    nt_ledger_owner_is_proven(l, s->e.owner))
			continue;
		if (victim == NIL || s->seen_at > l->slots[victim].seen_at)
			victim = i;
	}
	return victim;
}

/*
 * The merge. wire is the encoding of in (wlen bytes, within this ledger's limits is
 * checked first). Cheap checks run before the signature, so a flood of stale or
 * duplicate entries costs no Ed25519 verification.
 */
enum nt_ledger_verdict nt_ledger_merge(struct nt_ledger *l, const struct nt_ledger_entry *in,
				       const uint8_t *wire, size_t wlen, uint64_t now, bool local,
				       uint64_t local_ttl, uint32_t *verify_budget,
				       const struct nt_ledger_entry **out)
{
	uint8_t hash[NT_LEDGER_HASH_LEN];
	uint32_t idx, oidx, evict = NIL;
	size_t need = arena_need(in);
	struct slot *s = NULL;
	enum nt_ledger_verdict v;

	if (in->key_len > l->cfg.max_key || in->value_len > l->cfg.max_value)
		return NT_LEDGER_REJ_TOO_LARGE;
	if (in->expires_at <= now)
		return NT_LEDGER_REJ_EXPIRED;
	if (in->expires_at - now > l->cfg.max_ttl_ms + l->cfg.skew_ms)
		return NT_LEDGER_REJ_TTL;
	if (in->claimed_at > now + l->cfg.skew_ms)
		return NT_LEDGER_REJ_FUTURE_CLAIM;
	nt_ledger_expire(l, now);

	crypto_generichash(hash, sizeof(hash), wire, wlen, NULL, 0);
	idx = nt_ledger_find_owned(l, in->bucket, in->bucket_len, in->key, in->key_len, in->owner);
	if (idx != NIL) {
		s = &l->slots[idx];
		if (in->version < s->e.version)
			return NT_LEDGER_REJ_REPLAY;
		if (in->version == s->e.version) {
			/* The owner signed two entries with one version: keep the lower hash. */
			int c = memcmp(hash, s->hash, sizeof(hash));
			if (c == 0) {
				if (out)
					*out = &s->e;
				return NT_LEDGER_DUPLICATE;
			}
			if (c > 0)
				return NT_LEDGER_REJ_REPLAY;
		}
		/*
		 * A claim keeps its age while it lives, and a new claim is younger: no new
		 * version of ours ever makes a claim older, so one that does is back-dating.
		 */
		if (!local && in->claimed_at < s->e.claimed_at)
			return NT_LEDGER_REJ_BACKDATED;
	}
	if (idx == NIL && !local) {
		/* A new owner for this key, from the network: the rules on room and contests. */
		bool reserve = in_reserve(l, in->bucket, in->bucket_len);

		if (l->cfg.accept && !l->cfg.accept(l->cfg.ctx, in))
			return NT_LEDGER_REJ_POLICY;
		oidx = owner_find(l, in->owner);
		if (reserve && !(in->flags & NT_LEDGER_F_TOMBSTONE) && oidx != NIL &&
		    l->owners[oidx].reserve_live >= l->cfg.reserve_per_owner)
			return NT_LEDGER_REJ_OWNER_FULL;
		v = check_contest(l, in, now, &evict);
		if (v != NT_LEDGER_ADDED)
			return v;
	} else if (idx == NIL) {
		/* Ours: refused only by its owner's cap, or a store that nothing can give way in. */
		oidx = owner_find(l, in->owner);
		if (oidx != NIL && l->owners[oidx].count >= l->cfg.max_per_owner)
			return NT_LEDGER_REJ_OWNER_FULL;
	}
	if (!entry_fits(l, in, need, idx, evict, local)) {
		/* Full: a proven owner's entry (ours first) takes the room of an unproven owner's. */
		if (evict == NIL)
			evict = room_for_proven(l, in, in_reserve(l, in->bucket, in->bucket_len));
		if (evict == NIL || !entry_fits(l, in, need, idx, evict, local))
			return NT_LEDGER_REJ_FULL;
	}
	if (!local) {
		if (verify_budget) {
			if (!*verify_budget)
				return NT_LEDGER_REJ_BUSY;
			(*verify_budget)--;
		}
		if (!signature_is_valid(l, wire, wlen, in->owner))
			return NT_LEDGER_REJ_SIGNATURE;
	}
	if (evict != NIL) {
		log_debug(NT_DBG_LEDGER, "ledger: %s/%s gives way", l->slots[evict].e.bucket,
			  l->slots[evict].e.key);
		nt_ledger_slot_remove(l, evict);
	}
	if (local && local_ttl && in->expires_at - local_ttl / 2 < l->refresh_at)
		l->refresh_at = in->expires_at - local_ttl / 2;

	if (idx != NIL) {
		bool was_live = !(s->e.flags & NT_LEDGER_F_TOMBSTONE), live = !(in->flags & NT_LEDGER_F_TOMBSTONE);
		struct owner_rec *o = &l->owners[s->owner_idx];

		if (in_reserve(l, s->e.bucket, s->e.bucket_len) && live != was_live) {
			/* A claim taken back after its tombstone counts against its owner again. */
			if (live && !local && o->reserve_live >= l->cfg.reserve_per_owner)
				return NT_LEDGER_REJ_OWNER_FULL;
			o->reserve_live = live ? o->reserve_live + 1 : o->reserve_live - 1;
		}
		if (!live && was_live)
			nt_ledger_forget_refusals(l); /* released: what it held off may pass */
		slot_store(l, s, in, hash);
		nt_ledger_heap_fix(l, s->heap_pos);
		s->local_ttl = local ? (uint32_t)local_ttl : 0;
		if (out)
			*out = &s->e;
		notify(l, s, NT_LEDGER_CHANGE_UPDATED, local);
		return NT_LEDGER_UPDATED;
	}

	oidx = owner_find(l, in->owner);
	if (oidx != NIL && l->owners[oidx].count >= l->cfg.max_per_owner)
		return NT_LEDGER_REJ_OWNER_FULL;
	if (l->used == l->cfg.capacity)
		return NT_LEDGER_REJ_FULL;
	if (oidx == NIL) {
		/* There are as many owner records as slots, so one is free when a slot is. */
		uint32_t h = owner_hash(l, in->owner);

		if (l->owner_free != NIL) {
			oidx = l->owner_free;
			l->owner_free = l->owners[oidx].next;
		} else {
			oidx = l->owner_fresh++;
		}
		memcpy(l->owners[oidx].pk, in->owner, 32);
		l->owners[oidx].count = 0;
		l->owners[oidx].reserve_live = 0;
		l->owners[oidx].next = l->owner_heads[h];
		l->owner_heads[h] = oidx;
		l->nowners++;
	}
	if (l->free_head != NIL) {
		idx = l->free_head;
		l->free_head = l->slots[idx].next_bk;
	} else {
		idx = l->fresh++;
		l->slots[idx].off = l->slots[idx].heap_pos = NIL;
	}
	s = &l->slots[idx];
	l->used++;
	l->owners[oidx].count++;
	s->owner_idx = oidx;
	slot_store(l, s, in, hash);
	s->used = true;
	s->local_ttl = local ? (uint32_t)local_ttl : 0;
	s->seen_at = now;
	nt_ledger_heap_push(l, idx);
	if (in_reserve(l, s->e.bucket, s->e.bucket_len)) {
		l->reserve_used++;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			l->owners[oidx].reserve_live++;
	}
	s->id = compute_id(&s->e);
	uint32_t h = nt_ledger_bk_hash(l, s->e.bucket, s->e.bucket_len, s->e.key, s->e.key_len);
	s->next_bk = l->bk_heads[h];
	l->bk_heads[h] = idx;
	s->next_id = l->id_heads[s->id & l->hmask];
	l->id_heads[s->id & l->hmask] = idx;
	if (out)
		*out = &s->e;
	notify(l, s, NT_LEDGER_CHANGE_ADDED, local);
	return NT_LEDGER_ADDED;
}

/* Remembers a refusal in the ring, in place of the oldest. */
static void refused_add(struct nt_ledger *l, uint64_t id, uint64_t version)
{
	uint32_t r = l->refused_next;
	uint16_t *pp;

	if (l->refused[r].version) {
		/* Unlink the one it replaces from its chain. */
		pp = &l->refused_heads[l->refused[r].id % REFUSED_HASH];
		while (*pp && *pp != r + 1)
			pp = &l->refused[*pp - 1].next;
		if (*pp)
			*pp = l->refused[r].next;
	}
	l->refused[r].id = id;
	l->refused[r].version = version;
	l->refused[r].next = l->refused_heads[id % REFUSED_HASH];
	l->refused_heads[id % REFUSED_HASH] = (uint16_t)(r + 1);
	l->refused_next = (r + 1) % REFUSED_RING;
}

enum nt_ledger_verdict nt_ledger_insert(struct nt_ledger *l, const uint8_t *buf, size_t len,
					uint64_t now_ms)
{
	return nt_ledger_insert_budget(l, buf, len, now_ms, NULL);
}

/*
 * Whether a refused entry is its owner's, at the cost of one check of the sender's budget
 * (none left: taken as not). The merge refuses before it checks signatures, so that stale
 * floods cost nothing; but a refusal is remembered (gossip then never asks for that id and
 * version again) and reported (on_held names the owner), and neither may follow from an
 * entry anyone could make up in another member's name.
 */
static bool refused_is_signed(struct nt_ledger *l, const struct nt_ledger_entry *e,
			      const uint8_t *wire, size_t wlen, uint32_t *verify_budget)
{
	if (verify_budget) {
		if (!*verify_budget)
			return false;
		(*verify_budget)--;
	}
	return signature_is_valid(l, wire, wlen, e->owner);
}

enum nt_ledger_verdict nt_ledger_insert_budget(struct nt_ledger *l, const uint8_t *buf, size_t len,
					       uint64_t now_ms, uint32_t *verify_budget)
{
	struct nt_ledger_entry e;
	enum nt_ledger_verdict v;

	if (!nt_ledger_entry_decode(buf, len, &e)) {
		v = NT_LEDGER_REJ_MALFORMED;
	} else {
		v = nt_ledger_merge(l, &e, buf, len, now_ms, false, 0, verify_budget, NULL);
		if ((v == NT_LEDGER_REJ_HELD || v == NT_LEDGER_REJ_POLICY || v == NT_LEDGER_REJ_FULL ||
		     v == NT_LEDGER_REJ_OWNER_FULL || v == NT_LEDGER_REJ_BACKDATED) &&
		    refused_is_signed(l, &e, buf, len, verify_budget)) {
			if (v == NT_LEDGER_REJ_HELD && l->cfg.on_held)
				l->cfg.on_held(l->cfg.ctx, &e);
			refused_add(l, compute_id(&e), e.version);
		}
	}
	l->stats.verdicts[v]++;
	return v;
}

void nt_ledger_forget_refusals(struct nt_ledger *l)
{
	memset(l->refused, 0, sizeof(l->refused));
	memset(l->refused_heads, 0, sizeof(l->refused_heads));
}

bool nt_ledger_was_refused(const struct nt_ledger *l, uint64_t id, uint64_t version)
{
	for (uint16_t i = l->refused_heads[id % REFUSED_HASH]; i; i = l->refused[i - 1].next) {
		nt_ledger_probe(l);
		if (l->refused[i - 1].id == id && l->refused[i - 1].version == version && version)
			return true;
	}
	return false;
}

uint32_t nt_ledger_count(const struct nt_ledger *l)
{
	return l->used;
}

void nt_ledger_stats_get(const struct nt_ledger *l, struct nt_ledger_stats *out)
{
	*out = l->stats;
	out->entries = l->used;
	out->capacity = l->cfg.capacity;
	out->owners = l->nowners;
	out->arena = l->arena_size;
	out->arena_live = l->arena_live;
}

size_t nt_ledger_memory(const struct nt_ledger *l)
{
	return l->mem;
}

size_t nt_ledger_entry_max_wire(const struct nt_ledger *l)
{
	return NT_LEDGER_WIRE_FIXED + NT_LEDGER_BUCKET_MAX + l->cfg.max_key + l->cfg.max_value;
}

/* The arena's bytes for the largest entry this configuration accepts. */
static size_t largest_record(const struct nt_ledger_cfg *c)
{
	return NT_LEDGER_BUCKET_MAX + 1 + c->max_key + 1 + c->max_value + NT_LEDGER_SIG_LEN;
}

/*
 * capacity typical entries (NT_LEDGER_TYPICAL_ENTRY bytes on the wire: a machine claim),
 * and never less than what a few of the largest take, so a small store still holds them.
 */
static size_t default_memory(const struct nt_ledger_cfg *c)
{
	uint64_t typical = NT_LEDGER_TYPICAL_ENTRY - NT_LEDGER_WIRE_FIXED + 2 + NT_LEDGER_SIG_LEN;
	uint64_t m = typical * c->capacity, few = (uint64_t)NT_MIN(c->capacity, 8U) * largest_record(c);

	return (size_t)NT_MIN(NT_MAX(m, few), (uint64_t)NT_LEDGER_MEMORY_LIMIT);
}

static void *alloc_counted(struct nt_ledger *l, size_t n, size_t size)
{
	l->mem += n * size;
	return calloc(n, size);
}

int nt_ledger_new(struct nt_ledger **out, const struct nt_ledger_cfg *cfg)
{
	struct nt_ledger *l;
	uint32_t hsize = 1;

	if (sodium_init() < 0)
		return -ENOMEM;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->mem = sizeof(*l);
	l->cfg = *cfg;
	if (!l->cfg.capacity)
		l->cfg.capacity = NT_LEDGER_DEFAULT_CAPACITY;
	if (!l->cfg.max_key)
		l->cfg.max_key = NT_LEDGER_DEFAULT_MAX_KEY;
	if (!l->cfg.max_value)
		l->cfg.max_value = NT_LEDGER_DEFAULT_MAX_VALUE;
	if (!l->cfg.max_per_owner)
		l->cfg.max_per_owner = NT_LEDGER_DEFAULT_MAX_PER_OWNER;
	if (!l->cfg.reserve_per_owner)
		l->cfg.reserve_per_owner = l->cfg.max_per_owner;
	if (!l->cfg.max_ttl_ms)
		l->cfg.max_ttl_ms = NT_LEDGER_DEFAULT_MAX_TTL_MS;
	if (!l->cfg.skew_ms)
		l->cfg.skew_ms = NT_LEDGER_DEFAULT_SKEW_MS;
	if (!l->cfg.tombstone_ttl_ms)
		l->cfg.tombstone_ttl_ms = NT_LEDGER_DEFAULT_TOMBSTONE_TTL_MS;
	if (!l->cfg.race_ms)
		l->cfg.race_ms = NT_LEDGER_DEFAULT_RACE_MS;
	if (l->cfg.reserve_bucket) {
		size_t n = strlen(l->cfg.reserve_bucket);
		if (!nt_ledger_bucket_is_valid(l->cfg.reserve_bucket, n) ||
		    l->cfg.reserve_slots > l->cfg.capacity) {
			free(l);
			return -EINVAL;
		}
		memcpy(l->reserve_bucket, l->cfg.reserve_bucket, n + 1);
		l->cfg.reserve_bucket = NULL; /* the caller's string need not outlive this call */
	} else {
		l->cfg.reserve_slots = 0;
	}
	if (!l->cfg.memory)
		l->cfg.memory = default_memory(&l->cfg);
	/* Offsets into the arena are 32-bit; a local TTL too (49 days). */
	if (l->cfg.capacity > (1U << 24) || l->cfg.max_key > NT_LEDGER_KEY_LIMIT ||
	    l->cfg.max_value > NT_LEDGER_VALUE_LIMIT ||
	    l->cfg.tombstone_ttl_ms > l->cfg.max_ttl_ms || l->cfg.max_ttl_ms > UINT32_MAX ||
	    l->cfg.memory > NT_LEDGER_MEMORY_LIMIT ||
	    l->cfg.memory < largest_record(&l->cfg)) {
		free(l);
		return -EINVAL;
	}
	/* At most one entry per chain on average when the store is full. */
	while (hsize < l->cfg.capacity)
		hsize <<= 1;
	l->hmask = hsize - 1;
	l->arena_size = l->cfg.memory;
	l->arena_other_max = l->arena_size -
			     (size_t)((uint64_t)l->arena_size * l->cfg.reserve_slots / l->cfg.capacity);
	l->scratch_len = sizeof(nt_ledger_sign_context) + nt_ledger_entry_max_wire(l);
	l->slots = alloc_counted(l, l->cfg.capacity, sizeof(*l->slots));
	l->arena = alloc_counted(l, 1, l->arena_size);
	l->bk_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->id_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->owner_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->owners = alloc_counted(l, l->cfg.capacity, sizeof(*l->owners));
	l->heap = alloc_counted(l, l->cfg.capacity, sizeof(uint32_t));
	l->order = alloc_counted(l, l->cfg.capacity, sizeof(uint32_t));
	l->scratch = alloc_counted(l, 1, l->scratch_len);
	if (!l->slots || !l->arena || !l->bk_heads || !l->id_heads || !l->owner_heads ||
	    !l->owners || !l->heap || !l->order || !l->scratch) {
		nt_ledger_free(l);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < hsize; i++)
		l->bk_heads[i] = l->id_heads[i] = l->owner_heads[i] = NIL;
	l->free_head = l->owner_free = NIL;
	l->refresh_at = UINT64_MAX;
	l->state_dirty = true;
	randombytes_buf(l->shkey, sizeof(l->shkey));
	*out = l;
	return 0;
}

void nt_ledger_free(struct nt_ledger *l)
{
	if (!l)
		return;
	free(l->slots);
	free(l->arena);
	free(l->bk_heads);
	free(l->id_heads);
	free(l->owner_heads);
	free(l->owners);
	free(l->heap);
	free(l->order);
	free(l->scratch);
	free(l);
}
