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
 * Memory (docs/ledger.md §5): a slot holds an entry's fixed fields, 104 bytes, and the first
 * 8 bytes of its hash (the whole one is computed again when a tie or the state hash needs
 * it); its key, value and signature are a record of exactly the bytes they need in one arena
 * (ledger_arena.c), its bucket's name is shared. The arena refuses a record only when the
 * live records and it do not fit in it, whatever the churn before: a full arena is REJ_FULL.
 *
 * This file holds the slots and their indexes, the merge and its refusals, and allocation;
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

/* What docs/ledger.md §5 counts: a slot of 104 bytes, an owner record of 40. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct slot) == 104, "struct slot grew");
_Static_assert(sizeof(struct owner_rec) == 40, "struct owner_rec grew");
_Static_assert(offsetof(struct owner_rec, pk) == 0, "e.owner must give its owner record");
_Static_assert(offsetof(struct bucket_name, name) == 0, "e.bucket must give its name");

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
	return nt_ledger_chain(l, (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
				       (uint32_t)out[3] << 24);
}

static uint32_t owner_hash(const struct nt_ledger *l, const uint8_t pk[32])
{
	uint8_t out[8];

	crypto_shorthash(out, pk, 32, l->shkey);
	return nt_ledger_chain(l, (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
				       (uint32_t)out[3] << 24);
}

static uint32_t id_chain(const struct nt_ledger *l, uint64_t id)
{
	return nt_ledger_chain(l, (uint32_t)id);
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

const uint8_t *nt_ledger_entry_hash_prefix(const struct nt_ledger *l, const struct nt_ledger_entry *e)
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
	uint32_t i = nt_ledger_head(l->bk_heads, nt_ledger_bk_hash(l, b, blen, k, klen));

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

bool nt_ledger_in_reserve(const struct nt_ledger *l, const char *b, size_t blen)
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
	uint32_t i = nt_ledger_head(l->bk_heads, nt_ledger_bk_hash(l, in->bucket, in->bucket_len,
								     in->key, in->key_len));
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
	    (in->claimed_at + l->cfg.race_ms < now || nt_ledger_seen_at(l, holder) + l->cfg.race_ms < now))
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
	uint32_t i = nt_ledger_head(l->owner_heads, owner_hash(l, pk));

	for (; i != NIL; i = l->owners[i].next) {
		nt_ledger_probe(l);
		if (memcmp(l->owners[i].pk, pk, 32) == 0)
			return i;
	}
	return NIL;
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
	bool reserve = nt_ledger_in_reserve(l, in->bucket, in->bucket_len);
	size_t live = l->arena_live, others = l->arena_live - l->arena_reserve_live;
	uint32_t slots_others = l->used - l->reserve_used;

	if (idx != NIL) {
		live -= nt_ledger_record_size(l, &l->slots[idx]);
		others -= reserve ? 0 : nt_ledger_record_size(l, &l->slots[idx]);
	}
	if (evict != NIL) {
		const struct slot *v = &l->slots[evict];
		bool vres = nt_ledger_in_reserve(l, v->e.bucket, v->e.bucket_len);

		live -= nt_ledger_record_size(l, v);
		others -= vres ? 0 : nt_ledger_record_size(l, v);
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

/* Takes slot idx out of the chain that starts at heads[h], linked by the field at field_off. */
static void unlink_u32(uint32_t *heads, uint32_t h, uint32_t idx, struct slot *slots, size_t field_off)
{
	uint32_t next = *(uint32_t *)((uint8_t *)&slots[idx] + field_off), *pp;

	if (nt_ledger_head(heads, h) == idx) {
		nt_ledger_head_set(heads, h, next);
		return;
	}
	for (uint32_t i = nt_ledger_head(heads, h); i != NIL; i = *pp) {
		pp = (uint32_t *)((uint8_t *)&slots[i] + field_off);
		if (*pp == idx) {
			*pp = next;
			return;
		}
	}
}

void nt_ledger_slot_remove(struct nt_ledger *l, uint32_t idx)
{
	struct slot *s = &l->slots[idx];
	uint32_t oidx = nt_ledger_owner_idx(l, s);
	struct owner_rec *o = &l->owners[oidx];

	notify(l, s, NT_LEDGER_CHANGE_REMOVED, false);
	unlink_u32(l->bk_heads, nt_ledger_bk_hash(l, s->e.bucket, s->e.bucket_len, s->e.key, s->e.key_len),
		   idx, l->slots, offsetof(struct slot, next_bk));
	nt_ledger_heap_remove(l, idx);
	unlink_u32(l->id_heads, id_chain(l, s->id), idx, l->slots, offsetof(struct slot, next_id));
	if (--o->count == 0) {
		uint32_t h = owner_hash(l, o->pk), *pp;

		if (nt_ledger_head(l->owner_heads, h) == oidx) {
			nt_ledger_head_set(l->owner_heads, h, o->next);
		} else {
			for (pp = &l->owners[nt_ledger_head(l->owner_heads, h)].next; *pp != oidx;
			     pp = &l->owners[*pp].next)
				;
			*pp = o->next;
		}
		o->next = l->owner_free;
		l->owner_free = oidx;
		l->nowners--;
	}
	if (nt_ledger_in_reserve(l, s->e.bucket, s->e.bucket_len)) {
		l->reserve_used--;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			o->reserve_live--;
	}
	nt_ledger_record_free(l, s);
	nt_ledger_local_set(l, idx, 0);
	/* A holder gone: a claim refused while it held the key may pass now. */
	nt_ledger_forget_refusals(l);
	s->next_bk = l->free_head;
	l->free_head = idx;
	l->used--;
	l->state_dirty = true;
}

/* Whether a and b, same (bucket, key, owner, version), are the same entry, byte for byte. */
static bool same_entry(const struct nt_ledger_entry *a, const struct nt_ledger_entry *b)
{
	return a->flags == b->flags && a->claimed_at == b->claimed_at &&
	       a->expires_at == b->expires_at && a->value_len == b->value_len &&
	       memcmp(a->sig, b->sig, NT_LEDGER_SIG_LEN) == 0 &&
	       (!a->value_len || memcmp(a->value, b->value, a->value_len) == 0);
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
 * First-seen times are u32 milliseconds after seen_base. When now runs SEEN_SPAN past it,
 * the base moves up to half that before now, and every time with it; a time older than the
 * new base becomes the base (days old: older than any race, which is all it is asked).
 * A clock set back before the base gives the base.
 */
#define SEEN_SPAN (1ULL << 31)

static uint32_t seen_stamp(struct nt_ledger *l, uint64_t now)
{
	if (now < l->seen_base)
		return 0;
	if (now - l->seen_base >= SEEN_SPAN) {
		uint64_t base = now - SEEN_SPAN / 2;

		for (uint32_t i = 0; i < l->fresh; i++) {
			struct slot *s = &l->slots[i];
			uint64_t at = nt_ledger_seen_at(l, s);

			if (nt_ledger_slot_is_used(s))
				s->seen = at > base ? (uint32_t)NT_MIN(at - base, (uint64_t)UINT32_MAX) : 0;
		}
		l->seen_base = base;
	}
	return (uint32_t)(now - l->seen_base);
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

		if (!nt_ledger_slot_is_used(s) || nt_ledger_local_ttl(l, i) ||
		    nt_ledger_in_reserve(l, s->e.bucket, s->e.bucket_len) != reserve ||
		    nt_ledger_owner_is_proven(l, s->e.owner))
			continue;
		if (victim == NIL || s->seen > l->slots[victim].seen)
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
	uint8_t hash[NT_LEDGER_HASH_LEN], stored[NT_LEDGER_HASH_LEN];
	uint32_t idx, oidx, evict = NIL;
	size_t need;
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
			int c;

			if (same_entry(in, &s->e)) {
				if (out)
					*out = &s->e;
				return NT_LEDGER_DUPLICATE;
			}
			/*
			 * The owner signed two entries with one version: keep the lower hash. The
			 * slot keeps the start of its hash; the rest is computed on a tie.
			 */
			c = memcmp(hash, s->hash, NT_LEDGER_HASH_PREFIX_LEN);
			if (c == 0) {
				nt_ledger_entry_hash(&s->e, stored);
				c = memcmp(hash, stored, sizeof(hash));
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
	/* Ours are re-signed with their TTL, which a side table of bounded room keeps. */
	if (local && local_ttl && !nt_ledger_local_has_room(l, idx))
		return NT_LEDGER_REJ_OWNER_FULL;
	need = nt_ledger_record_need(l, in);
	if (idx == NIL && !local) {
		/* A new owner for this key, from the network: the rules on room and contests. */
		bool reserve = nt_ledger_in_reserve(l, in->bucket, in->bucket_len);

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
			evict = room_for_proven(l, in, nt_ledger_in_reserve(l, in->bucket, in->bucket_len));
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
		struct owner_rec *o = &l->owners[nt_ledger_owner_idx(l, s)];

		if (nt_ledger_in_reserve(l, s->e.bucket, s->e.bucket_len) && live != was_live) {
			/* A claim taken back after its tombstone counts against its owner again. */
			if (live && !local && o->reserve_live >= l->cfg.reserve_per_owner)
				return NT_LEDGER_REJ_OWNER_FULL;
			o->reserve_live = live ? o->reserve_live + 1 : o->reserve_live - 1;
		}
		if (!live && was_live)
			nt_ledger_forget_refusals(l); /* released: what it held off may pass */
		nt_ledger_record_store(l, s, in, hash);
		nt_ledger_heap_fix(l, s->heap_pos);
		nt_ledger_local_set(l, idx, local ? (uint32_t)local_ttl : 0);
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
		l->owners[oidx].next = nt_ledger_head(l->owner_heads, h);
		nt_ledger_head_set(l->owner_heads, h, oidx);
		l->nowners++;
	}
	if (l->free_head != NIL) {
		idx = l->free_head;
		l->free_head = l->slots[idx].next_bk;
	} else {
		idx = l->fresh++;
	}
	s = &l->slots[idx];
	s->heap_pos = NIL;
	s->e.key = NULL; /* no record yet */
	s->e.owner = l->owners[oidx].pk;
	l->used++;
	l->owners[oidx].count++;
	nt_ledger_record_store(l, s, in, hash);
	s->seen = seen_stamp(l, now);
	nt_ledger_heap_push(l, idx);
	nt_ledger_local_set(l, idx, local ? (uint32_t)local_ttl : 0);
	if (nt_ledger_in_reserve(l, s->e.bucket, s->e.bucket_len)) {
		l->reserve_used++;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			l->owners[oidx].reserve_live++;
	}
	s->id = compute_id(&s->e);
	uint32_t h = nt_ledger_bk_hash(l, s->e.bucket, s->e.bucket_len, s->e.key, s->e.key_len);
	s->next_bk = nt_ledger_head(l->bk_heads, h);
	nt_ledger_head_set(l->bk_heads, h, idx);
	s->next_id = nt_ledger_head(l->id_heads, id_chain(l, s->id));
	nt_ledger_head_set(l->id_heads, id_chain(l, s->id), idx);
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
	return nt_ledger_insert_budget(l, buf, len, now_ms, NULL, NULL);
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
					       uint64_t now_ms, uint32_t *verify_budget,
					       const struct nt_ledger_entry **out)
{
	struct nt_ledger_entry e;
	enum nt_ledger_verdict v;

	if (!nt_ledger_entry_decode(buf, len, &e)) {
		v = NT_LEDGER_REJ_MALFORMED;
	} else {
		v = nt_ledger_merge(l, &e, buf, len, now_ms, false, 0, verify_budget, out);
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
 * capacity typical entries (NT_LEDGER_TYPICAL_ENTRY bytes on the wire: a machine claim, whose
 * bucket name is interned), and never less than what a few of the largest take, so a small
 * store still holds them.
 */
static size_t default_memory(const struct nt_ledger_cfg *c)
{
	uint64_t typical = NT_LEDGER_TYPICAL_ENTRY - NT_LEDGER_WIRE_FIXED -
			   (sizeof(NT_LEDGER_MACHINES) - 1) + 1 + NT_LEDGER_SIG_LEN;
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
	uint32_t lsize = 1;

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
	    l->cfg.max_per_owner > UINT16_MAX ||
	    l->cfg.max_value > NT_LEDGER_VALUE_LIMIT ||
	    l->cfg.tombstone_ttl_ms > l->cfg.max_ttl_ms || l->cfg.max_ttl_ms > UINT32_MAX ||
	    l->cfg.memory > NT_LEDGER_MEMORY_LIMIT ||
	    l->cfg.memory < largest_record(&l->cfg)) {
		free(l);
		return -EINVAL;
	}
	/* One entry per chain on average when the store is full. */
	l->hsize = l->cfg.capacity;
	if (!l->cfg.max_local)
		l->cfg.max_local = (uint32_t)NT_MIN((uint64_t)l->cfg.capacity,
						    (uint64_t)l->cfg.max_per_owner * NT_LEDGER_LOCAL_SIGNERS);
	l->local_max = NT_MIN(l->cfg.max_local, l->cfg.capacity);
	l->local_shift = 32;
	while (lsize < 2 * l->local_max) {
		lsize <<= 1;
		l->local_shift--;
	}
	l->local_mask = lsize - 1;
	l->arena_size = l->cfg.memory;
	l->arena_other_max = l->arena_size -
			     (size_t)((uint64_t)l->arena_size * l->cfg.reserve_slots / l->cfg.capacity);
	l->scratch_len = sizeof(nt_ledger_sign_context) + nt_ledger_entry_max_wire(l);
	l->slots = alloc_counted(l, l->cfg.capacity, sizeof(*l->slots));
	l->arena = alloc_counted(l, 1, l->arena_size);
	l->bk_heads = alloc_counted(l, l->hsize, sizeof(uint32_t));
	l->id_heads = alloc_counted(l, l->hsize, sizeof(uint32_t));
	l->owner_heads = alloc_counted(l, l->hsize, sizeof(uint32_t));
	l->owners = alloc_counted(l, l->cfg.capacity, sizeof(*l->owners));
	l->heap = alloc_counted(l, l->cfg.capacity, sizeof(uint32_t));
	l->local = alloc_counted(l, lsize, sizeof(*l->local));
	l->scratch = alloc_counted(l, 1, l->scratch_len);
	if (!l->slots || !l->arena || !l->bk_heads || !l->id_heads || !l->owner_heads ||
	    !l->owners || !l->heap || !l->local || !l->scratch) {
		nt_ledger_free(l);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < lsize; i++)
		l->local[i].idx = NIL;
	if (l->reserve_bucket[0])
		nt_ledger_bucket_get(l, l->reserve_bucket, strlen(l->reserve_bucket)); /* for good */
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
	free(l->local);
	free(l->scratch);
	free(l);
}
