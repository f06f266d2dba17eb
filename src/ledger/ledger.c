// SPDX-License-Identifier: MIT
/*
 * The ledger: a fixed array of slots holding signed entries (DESIGN §7), indexed by
 * (bucket, key), by short id and by owner. Nothing is allocated after nt_ledger_new.
 *
 * Merge rule (docs/ledger.md has the table): the store keeps, for every
 * (bucket, key, owner), the entry with the highest version (equal versions: the lower
 * entry hash), so merging is a join and the result does not depend on the order in
 * which entries arrive. Competing claims by other owners on one (bucket, key) are kept
 * too: the effective entry is the earliest live claim (claimed_at), ties to the lower
 * owner, so nobody but the owner can change what a live key says, and a losing claim
 * can be reported. Expiry rotates entries out; a full store refuses and counts.
 */
#include "ledger/ledger.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "core/util.h"

#define NIL UINT32_MAX
#define REFUSED_RING 256

static const char sign_context[16] = "netron ledger v1";
static const char id_context[16] = "netron ledger id";
static const char state_context[] = "netron ledger state v1";
static const char block_context[] = "netron ledger block v1";

struct slot {
	struct nt_ledger_entry e; /* first: a stored entry pointer is its slot's address */
	uint8_t owner[32];
	uint8_t sig[NT_LEDGER_SIG_LEN];
	char bucket[NT_LEDGER_BUCKET_MAX + 1];
	uint8_t hash[NT_LEDGER_HASH_LEN]; /* BLAKE2b-256 of the encoding */
	uint64_t id;
	uint64_t local_ttl; /* ms, for entries signed by this process; 0 otherwise */
	uint64_t seen_at; /* unix ms: when this node first stored this (bucket, key, owner) */
	uint32_t next_bk; /* (bucket, key) chain, or the free list */
	uint32_t next_id;
	uint32_t owner_idx;
	bool used;
};

struct owner_rec {
	uint8_t pk[32];
	uint32_t count;
	uint32_t reserve_live; /* of them live claims (no tombstones) in the reserved bucket */
	uint32_t next; /* chain, or the free list */
};

struct nt_ledger {
	struct nt_ledger_cfg cfg; /* defaults resolved */
	struct slot *slots;
	uint8_t *slab; /* per slot: key (max_key + 1) then value (max_value) */
	size_t slab_stride;
	uint32_t *bk_heads, *id_heads, *owner_heads;
	uint32_t hmask;
	struct owner_rec *owners;
	uint32_t owner_free, nowners;
	uint32_t free_head, used;
	uint8_t (*hashes)[NT_LEDGER_HASH_LEN]; /* scratch for the state hash */
	uint8_t *scratch; /* sign_context + one encoded entry */
	size_t scratch_len;
	uint8_t shkey[crypto_shorthash_KEYBYTES]; /* table hashing only */
	uint8_t state_hash[NT_LEDGER_HASH_LEN];
	bool state_dirty;
	uint64_t min_expires;
	struct nt_ledger_block blocks[NT_LEDGER_BLOCKS];
	uint64_t nblocks;
	struct nt_ledger_stats stats;
	size_t mem;
	char reserve_bucket[NT_LEDGER_BUCKET_MAX + 1]; /* "" when none */
	uint32_t reserve_used; /* slots holding entries of that bucket */
	/* Entries refused by rule, so gossip does not fetch them again and again. */
	struct {
		uint64_t id, version;
	} refused[REFUSED_RING];
	uint32_t refused_next;
};





static bool bucket_is_valid(const char *b, size_t len)
{
	if (len == 0 || len > NT_LEDGER_BUCKET_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = b[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* Keys are printable ASCII without space, so they are C strings, JSON-safe and URL paths. */
static bool key_is_valid(const char *k, size_t len)
{
	if (len == 0 || len > NT_LEDGER_KEY_LIMIT)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return false;
	return true;
}

/*
 * format(1) flags(1) bucket_len(1) bucket key_len(1) key value_len(2) value owner(32)
 * version(8) claimed_at(8) expires_at(8) signature(64), integers big-endian; the
 * signature covers sign_context followed by every byte before it.
 */
bool nt_ledger_entry_decode(const uint8_t *buf, size_t len, struct nt_ledger_entry *out)
{
	size_t off = 2, vlen;

	if (len < NT_LEDGER_WIRE_FIXED || buf[0] != NT_LEDGER_FORMAT ||
	    (buf[1] & ~NT_LEDGER_F_TOMBSTONE))
		return false;
	out->flags = buf[1];
	out->bucket_len = buf[off++];
	if (len - off < out->bucket_len || !bucket_is_valid((const char *)buf + off, out->bucket_len))
		return false;
	out->bucket = (const char *)buf + off;
	off += out->bucket_len;
	if (len - off < 1)
		return false;
	out->key_len = buf[off++];
	if (len - off < out->key_len || !key_is_valid((const char *)buf + off, out->key_len))
		return false;
	out->key = (const char *)buf + off;
	off += out->key_len;
	if (len - off < 2)
		return false;
	vlen = (size_t)buf[off] << 8 | buf[off + 1];
	off += 2;
	if (len - off < vlen)
		return false;
	out->value_len = (uint16_t)vlen;
	out->value = buf + off;
	off += vlen;
	if (len - off != 32 + 8 + 8 + 8 + NT_LEDGER_SIG_LEN)
		return false;
	out->owner = buf + off;
	out->version = nt_get_be64(buf + off + 32);
	out->claimed_at = nt_get_be64(buf + off + 40);
	out->expires_at = nt_get_be64(buf + off + 48);
	out->sig = buf + off + 56;
	if (out->version == 0 || out->claimed_at > out->expires_at)
		return false;
	if ((out->flags & NT_LEDGER_F_TOMBSTONE) && out->value_len != 0)
		return false;
	return true;
}

static size_t wire_len(const struct nt_ledger_entry *e)
{
	return NT_LEDGER_WIRE_FIXED + e->bucket_len + e->key_len + e->value_len;
}

ssize_t nt_ledger_entry_encode(const struct nt_ledger_entry *e, uint8_t *buf, size_t len)
{
	size_t need = wire_len(e), off = 0;

	if (!bucket_is_valid(e->bucket, e->bucket_len) || !key_is_valid(e->key, e->key_len) ||
	    (e->flags & ~NT_LEDGER_F_TOMBSTONE) ||
	    ((e->flags & NT_LEDGER_F_TOMBSTONE) && e->value_len))
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	buf[off++] = NT_LEDGER_FORMAT;
	buf[off++] = e->flags;
	buf[off++] = e->bucket_len;
	memcpy(buf + off, e->bucket, e->bucket_len);
	off += e->bucket_len;
	buf[off++] = e->key_len;
	memcpy(buf + off, e->key, e->key_len);
	off += e->key_len;
	nt_put_be16(buf + off, e->value_len);
	off += 2;
	if (e->value_len)
		memcpy(buf + off, e->value, e->value_len);
	off += e->value_len;
	memcpy(buf + off, e->owner, 32);
	nt_put_be64(buf + off + 32, e->version);
	nt_put_be64(buf + off + 40, e->claimed_at);
	nt_put_be64(buf + off + 48, e->expires_at);
	memcpy(buf + off + 56, e->sig, NT_LEDGER_SIG_LEN);
	return (ssize_t)need;
}

bool nt_ledger_verdict_is_ok(enum nt_ledger_verdict v)
{
	return v == NT_LEDGER_ADDED || v == NT_LEDGER_UPDATED || v == NT_LEDGER_DUPLICATE;
}

const char *nt_ledger_verdict_str(enum nt_ledger_verdict v)
{
	static const char *const names[NT_LEDGER_VERDICT_MAX] = {
		[NT_LEDGER_ADDED] = "added",
		[NT_LEDGER_UPDATED] = "updated",
		[NT_LEDGER_DUPLICATE] = "duplicate",
		[NT_LEDGER_REJ_MALFORMED] = "malformed",
		[NT_LEDGER_REJ_TOO_LARGE] = "too large",
		[NT_LEDGER_REJ_SIGNATURE] = "bad signature",
		[NT_LEDGER_REJ_EXPIRED] = "expired",
		[NT_LEDGER_REJ_TTL] = "expiry too far ahead",
		[NT_LEDGER_REJ_FUTURE_CLAIM] = "claimed in the future",
		[NT_LEDGER_REJ_REPLAY] = "replayed version",
		[NT_LEDGER_REJ_OWNER_FULL] = "owner at its entry cap",
		[NT_LEDGER_REJ_FULL] = "store full",
		[NT_LEDGER_REJ_HELD] = "key held by another owner",
		[NT_LEDGER_REJ_BACKDATED] = "claim made older by an update",
		[NT_LEDGER_REJ_BUSY] = "no signature checks left for its sender",
		[NT_LEDGER_REJ_POLICY] = "refused by this node's rules",
	};
	return (unsigned)v < NT_LEDGER_VERDICT_MAX ? names[v] : "?";
}

static uint32_t bk_hash(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
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

static bool same_bk(const struct slot *s, const char *b, size_t blen, const char *k, size_t klen)
{
	return s->e.bucket_len == blen && s->e.key_len == klen && memcmp(s->bucket, b, blen) == 0 &&
	       memcmp(s->e.key, k, klen) == 0;
}

static uint32_t find_owned(const struct nt_ledger *l, const char *b, size_t blen, const char *k,
			   size_t klen, const uint8_t owner[32])
{
	uint32_t i = l->bk_heads[bk_hash(l, b, blen, k, klen)];

	for (; i != NIL; i = l->slots[i].next_bk)
		if (same_bk(&l->slots[i], b, blen, k, klen) && memcmp(l->slots[i].owner, owner, 32) == 0)
			return i;
	return NIL;
}

/* Whether claim a is older than claim b: earlier claimed_at, ties to the lower owner. */
static bool claim_is_older(const struct nt_ledger_entry *a, const struct nt_ledger_entry *b)
{
	if (a->claimed_at != b->claimed_at)
		return a->claimed_at < b->claimed_at;
	return memcmp(a->owner, b->owner, 32) < 0;
}

static bool owner_is_proven(const struct nt_ledger *l, const uint8_t owner[32])
{
	return !l->cfg.proven || l->cfg.proven(l->cfg.ctx, owner);
}

/* Whether claim a beats claim b: a proven owner's beats an unproven one's, then the older. */
static bool claim_beats(const struct nt_ledger *l, const struct nt_ledger_entry *a,
			const struct nt_ledger_entry *b)
{
	bool pa = owner_is_proven(l, a->owner), pb = owner_is_proven(l, b->owner);

	if (pa != pb)
		return pa;
	return claim_is_older(a, b);
}

static const struct slot *winner(const struct nt_ledger *l, const char *b, size_t blen,
				 const char *k, size_t klen)
{
	const struct slot *best = NULL;
	uint32_t i = l->bk_heads[bk_hash(l, b, blen, k, klen)];

	for (; i != NIL; i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];
		if (!same_bk(s, b, blen, k, klen) || (s->e.flags & NT_LEDGER_F_TOMBSTONE))
			continue;
		if (!best || claim_beats(l, &s->e, &best->e))
			best = s;
	}
	return best;
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
	uint32_t i = l->bk_heads[bk_hash(l, in->bucket, in->bucket_len, in->key, in->key_len)];
	const struct slot *holder = NULL;
	uint32_t n = 0, worst = NIL;

	*evict = NIL;
	for (; i != NIL; i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];

		if (!same_bk(s, in->bucket, in->bucket_len, in->key, in->key_len))
			continue;
		n++;
		if (worst == NIL || claim_beats(l, &l->slots[worst].e, &s->e))
			worst = i;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE) && (!holder || claim_beats(l, &s->e, &holder->e)))
			holder = s;
	}
	if (holder && owner_is_proven(l, in->owner) == owner_is_proven(l, holder->owner) &&
	    claim_is_older(in, &holder->e) &&
	    (in->claimed_at + l->cfg.race_ms < now || holder->seen_at + l->cfg.race_ms < now))
		return NT_LEDGER_REJ_HELD;
	if (n < NT_LEDGER_CLAIMS_PER_KEY)
		return NT_LEDGER_ADDED;
	if (!claim_beats(l, in, &l->slots[worst].e))
		return NT_LEDGER_REJ_HELD;
	*evict = worst;
	return NT_LEDGER_ADDED;
}

static uint32_t owner_find(const struct nt_ledger *l, const uint8_t pk[32])
{
	uint32_t i = l->owner_heads[owner_hash(l, pk)];

	for (; i != NIL; i = l->owners[i].next)
		if (memcmp(l->owners[i].pk, pk, 32) == 0)
			return i;
	return NIL;
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

static void slot_remove(struct nt_ledger *l, uint32_t idx)
{
	struct slot *s = &l->slots[idx];
	struct owner_rec *o = &l->owners[s->owner_idx];

	notify(l, s, NT_LEDGER_CHANGE_REMOVED, false);
	unlink_u32(&l->bk_heads[bk_hash(l, s->bucket, s->e.bucket_len, s->e.key, s->e.key_len)],
		   idx, l->slots, offsetof(struct slot, next_bk));
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
	if (in_reserve(l, s->bucket, s->e.bucket_len)) {
		l->reserve_used--;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			o->reserve_live--;
	}
	/* A holder gone: a claim refused while it held the key may pass now. */
	nt_ledger_forget_refusals(l);
	s->used = false;
	s->next_bk = l->free_head;
	l->free_head = idx;
	l->used--;
	l->state_dirty = true;
}

size_t nt_ledger_expire(struct nt_ledger *l, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	size_t n = 0;

	if (now_ms < l->min_expires)
		return 0;
	for (uint32_t i = 0; i < l->cfg.capacity; i++) {
		struct slot *s = &l->slots[i];
		if (!s->used)
			continue;
		if (s->e.expires_at <= now_ms) {
			slot_remove(l, i);
			n++;
		} else if (s->e.expires_at < next) {
			next = s->e.expires_at;
		}
	}
	l->min_expires = next;
	l->stats.expired += n;
	if (n)
		log_debug(NT_DBG_LEDGER, "ledger: %zu entries expired, %u left", n, l->used);
	return n;
}

/* Copies an entry into a slot; in may point into the slot's own storage. */
static void slot_store(struct nt_ledger *l, struct slot *s, const struct nt_ledger_entry *in,
		       const uint8_t hash[NT_LEDGER_HASH_LEN])
{
	char *key = (char *)l->slab + (size_t)(s - l->slots) * l->slab_stride;
	uint8_t *value = (uint8_t *)key + l->cfg.max_key + 1;

	memmove(s->bucket, in->bucket, in->bucket_len);
	s->bucket[in->bucket_len] = '\0';
	memmove(key, in->key, in->key_len);
	key[in->key_len] = '\0';
	if (in->value_len)
		memmove(value, in->value, in->value_len);
	memmove(s->owner, in->owner, 32);
	memmove(s->sig, in->sig, NT_LEDGER_SIG_LEN);
	memcpy(s->hash, hash, NT_LEDGER_HASH_LEN);
	s->e = *in;
	s->e.bucket = s->bucket;
	s->e.key = key;
	s->e.value = value;
	s->e.owner = s->owner;
	s->e.sig = s->sig;
	if (s->e.expires_at < l->min_expires)
		l->min_expires = s->e.expires_at;
	l->state_dirty = true;
}

static bool signature_is_valid(struct nt_ledger *l, const uint8_t *wire, size_t wlen,
			       const uint8_t owner[32])
{
	size_t body = wlen - NT_LEDGER_SIG_LEN;

	/* Ed25519 has no streaming verify: lay context and body out in the scratch buffer. */
	memcpy(l->scratch, sign_context, sizeof(sign_context));
	memcpy(l->scratch + sizeof(sign_context), wire, body);
	return crypto_sign_verify_detached(wire + body, l->scratch, sizeof(sign_context) + body,
					   owner) == 0;
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

	if (!l->cfg.proven || !owner_is_proven(l, in->owner))
		return NIL;
	for (uint32_t i = 0; i < l->cfg.capacity; i++) {
		const struct slot *s = &l->slots[i];

		if (!s->used || s->local_ttl || in_reserve(l, s->bucket, s->e.bucket_len) != reserve ||
		    owner_is_proven(l, s->owner))
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
static enum nt_ledger_verdict merge(struct nt_ledger *l, const struct nt_ledger_entry *in,
				    const uint8_t *wire, size_t wlen, uint64_t now, bool local,
				    uint64_t local_ttl, uint32_t *verify_budget,
				    const struct nt_ledger_entry **out)
{
	uint8_t hash[NT_LEDGER_HASH_LEN];
	uint32_t idx, oidx, evict = NIL;
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
	idx = find_owned(l, in->bucket, in->bucket_len, in->key, in->key_len, in->owner);
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
		if (evict == NIL && (l->free_head == NIL ||
				     (!reserve && l->used - l->reserve_used >=
							  l->cfg.capacity - l->cfg.reserve_slots))) {
			/* Full: a proven owner's entry takes the room of an unproven owner's. */
			evict = room_for_proven(l, in, reserve);
			if (evict == NIL)
				return NT_LEDGER_REJ_FULL;
		}
	} else if (idx == NIL && l->free_head == NIL) {
		/* Our own entry in a full store: ahead of any unproven owner's. */
		evict = room_for_proven(l, in, in_reserve(l, in->bucket, in->bucket_len));
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
		log_debug(NT_DBG_LEDGER, "ledger: %s/%s gives way", l->slots[evict].bucket,
			  l->slots[evict].e.key);
		slot_remove(l, evict);
	}

	if (idx != NIL) {
		bool was_live = !(s->e.flags & NT_LEDGER_F_TOMBSTONE), live = !(in->flags & NT_LEDGER_F_TOMBSTONE);
		struct owner_rec *o = &l->owners[s->owner_idx];

		if (in_reserve(l, s->bucket, s->e.bucket_len) && live != was_live) {
			/* A claim taken back after its tombstone counts against its owner again. */
			if (live && !local && o->reserve_live >= l->cfg.reserve_per_owner)
				return NT_LEDGER_REJ_OWNER_FULL;
			o->reserve_live = live ? o->reserve_live + 1 : o->reserve_live - 1;
		}
		if (!live && was_live)
			nt_ledger_forget_refusals(l); /* released: what it held off may pass */
		slot_store(l, s, in, hash);
		s->local_ttl = local ? local_ttl : 0;
		if (out)
			*out = &s->e;
		notify(l, s, NT_LEDGER_CHANGE_UPDATED, local);
		return NT_LEDGER_UPDATED;
	}

	oidx = owner_find(l, in->owner);
	if (oidx != NIL && l->owners[oidx].count >= l->cfg.max_per_owner)
		return NT_LEDGER_REJ_OWNER_FULL;
	if (l->free_head == NIL)
		return NT_LEDGER_REJ_FULL;
	if (oidx == NIL) {
		/* There are as many owner records as slots, so one is free when a slot is. */
		uint32_t h = owner_hash(l, in->owner);
		oidx = l->owner_free;
		l->owner_free = l->owners[oidx].next;
		memcpy(l->owners[oidx].pk, in->owner, 32);
		l->owners[oidx].count = 0;
		l->owners[oidx].reserve_live = 0;
		l->owners[oidx].next = l->owner_heads[h];
		l->owner_heads[h] = oidx;
		l->nowners++;
	}
	idx = l->free_head;
	s = &l->slots[idx];
	l->free_head = s->next_bk;
	l->used++;
	l->owners[oidx].count++;
	slot_store(l, s, in, hash);
	s->used = true;
	s->owner_idx = oidx;
	s->local_ttl = local ? local_ttl : 0;
	s->seen_at = now;
	if (in_reserve(l, s->bucket, s->e.bucket_len)) {
		l->reserve_used++;
		if (!(s->e.flags & NT_LEDGER_F_TOMBSTONE))
			l->owners[oidx].reserve_live++;
	}
	s->id = compute_id(&s->e);
	uint32_t h = bk_hash(l, s->bucket, s->e.bucket_len, s->e.key, s->e.key_len);
	s->next_bk = l->bk_heads[h];
	l->bk_heads[h] = idx;
	s->next_id = l->id_heads[s->id & l->hmask];
	l->id_heads[s->id & l->hmask] = idx;
	if (out)
		*out = &s->e;
	notify(l, s, NT_LEDGER_CHANGE_ADDED, local);
	return NT_LEDGER_ADDED;
}

enum nt_ledger_verdict nt_ledger_insert(struct nt_ledger *l, const uint8_t *buf, size_t len,
					uint64_t now_ms)
{
	return nt_ledger_insert_budget(l, buf, len, now_ms, NULL);
}

enum nt_ledger_verdict nt_ledger_insert_budget(struct nt_ledger *l, const uint8_t *buf, size_t len,
					       uint64_t now_ms, uint32_t *verify_budget)
{
	struct nt_ledger_entry e;
	enum nt_ledger_verdict v;

	if (!nt_ledger_entry_decode(buf, len, &e)) {
		v = NT_LEDGER_REJ_MALFORMED;
	} else {
		v = merge(l, &e, buf, len, now_ms, false, 0, verify_budget, NULL);
		if (v == NT_LEDGER_REJ_HELD && l->cfg.on_held)
			l->cfg.on_held(l->cfg.ctx, &e);
		if (v == NT_LEDGER_REJ_HELD || v == NT_LEDGER_REJ_POLICY || v == NT_LEDGER_REJ_FULL ||
		    v == NT_LEDGER_REJ_OWNER_FULL || v == NT_LEDGER_REJ_BACKDATED) {
			l->refused[l->refused_next].id = compute_id(&e);
			l->refused[l->refused_next].version = e.version;
			l->refused_next = (l->refused_next + 1) % REFUSED_RING;
		}
	}
	l->stats.verdicts[v]++;
	return v;
}

void nt_ledger_forget_refusals(struct nt_ledger *l)
{
	memset(l->refused, 0, sizeof(l->refused));
}

bool nt_ledger_was_refused(const struct nt_ledger *l, uint64_t id, uint64_t version)
{
	for (uint32_t i = 0; i < REFUSED_RING; i++)
		if (l->refused[i].id == id && l->refused[i].version == version && version)
			return true;
	return false;
}

static int verdict_errno(enum nt_ledger_verdict v)
{
	switch (v) {
	case NT_LEDGER_ADDED:
	case NT_LEDGER_UPDATED:
	case NT_LEDGER_DUPLICATE:
		return 0;
	case NT_LEDGER_REJ_FULL:
		return -ENOSPC;
	case NT_LEDGER_REJ_OWNER_FULL:
		return -EDQUOT;
	case NT_LEDGER_REJ_REPLAY:
		return -ESTALE;
	default:
		return -EINVAL;
	}
}

/* Encodes, signs and merges one of our entries; tmp may point into the ledger. */
static int sign_and_merge(struct nt_ledger *l, const struct nt_identity *id,
			  const struct nt_ledger_entry *tmp, uint64_t now, uint64_t ttl,
			  const struct nt_ledger_entry **out)
{
	uint8_t *wire = l->scratch + sizeof(sign_context);
	uint8_t zero_sig[NT_LEDGER_SIG_LEN] = { 0 };
	struct nt_ledger_entry t = *tmp, view;
	enum nt_ledger_verdict v;
	ssize_t n;

	t.sig = zero_sig;
	n = nt_ledger_entry_encode(&t, wire, l->scratch_len - sizeof(sign_context));
	if (n < 0)
		return (int)n;
	memcpy(l->scratch, sign_context, sizeof(sign_context));
	crypto_sign_detached(wire + n - NT_LEDGER_SIG_LEN, NULL, l->scratch,
			     sizeof(sign_context) + (size_t)n - NT_LEDGER_SIG_LEN, id->ed_sk);
	/* Merge from the signed copy, never from the slot that is about to be overwritten. */
	if (!nt_ledger_entry_decode(wire, (size_t)n, &view))
		return -EINVAL;
	v = merge(l, &view, wire, (size_t)n, now, true, ttl, NULL, out);
	l->stats.verdicts[v]++;
	return verdict_errno(v);
}

static uint64_t next_version(const struct slot *s, uint64_t now)
{
	uint64_t v = s ? s->e.version + 1 : 1;

	/* Wall-clock versions survive a restart that forgot the previous counter. */
	return v < now ? now : v;
}

int nt_ledger_put_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			const char *key, const void *value, size_t len, uint64_t ttl_ms,
			uint64_t now_ms, const struct nt_ledger_entry **out)
{
	size_t blen = strlen(bucket), klen = strlen(key);
	const struct slot *s = NULL;
	struct nt_ledger_entry t;
	uint32_t idx;

	if (!bucket_is_valid(bucket, blen) || !key_is_valid(key, klen) || klen > l->cfg.max_key ||
	    len > l->cfg.max_value || ttl_ms == 0 || ttl_ms > l->cfg.max_ttl_ms)
		return -EINVAL;
	idx = find_owned(l, bucket, blen, key, klen, id->ed_pk);
	if (idx != NIL)
		s = &l->slots[idx];
	t = (struct nt_ledger_entry){
		.bucket = bucket,
		.key = key,
		.value = value,
		.owner = id->ed_pk,
		.version = next_version(s, now_ms),
		.claimed_at = now_ms,
		.expires_at = now_ms + ttl_ms,
		.value_len = (uint16_t)len,
		.bucket_len = (uint8_t)blen,
		.key_len = (uint8_t)klen,
	};
	/* A live claim keeps its age, which is what wins address conflicts. */
	if (s && !(s->e.flags & NT_LEDGER_F_TOMBSTONE) && s->e.expires_at > now_ms &&
	    s->e.claimed_at <= now_ms)
		t.claimed_at = s->e.claimed_at;
	return sign_and_merge(l, id, &t, now_ms, ttl_ms, out);
}

/*
 * Deletion is a signed tombstone: a newer version with an empty value that replaces
 * the entry everywhere at once, and lives at least as long as the entry it replaces,
 * so no replica can bring the old version back once the tombstone has rotated out.
 */
int nt_ledger_delete_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			   const char *key, uint64_t now_ms)
{
	size_t blen = strlen(bucket), klen = strlen(key);
	struct nt_ledger_entry t;
	const struct slot *s;
	uint32_t idx;

	if (!bucket_is_valid(bucket, blen) || !key_is_valid(key, klen) || klen > l->cfg.max_key)
		return -EINVAL;
	nt_ledger_expire(l, now_ms);
	idx = find_owned(l, bucket, blen, key, klen, id->ed_pk);
	if (idx == NIL || (l->slots[idx].e.flags & NT_LEDGER_F_TOMBSTONE))
		return -ENOENT;
	s = &l->slots[idx];
	t = s->e;
	t.flags = NT_LEDGER_F_TOMBSTONE;
	t.value_len = 0;
	t.version = next_version(s, now_ms);
	t.expires_at = NT_MAX(now_ms + l->cfg.tombstone_ttl_ms, s->e.expires_at);
	if (t.claimed_at > t.expires_at)
		t.claimed_at = now_ms;
	return sign_and_merge(l, id, &t, now_ms, 0, NULL);
}

int nt_ledger_refresh_local(struct nt_ledger *l, const struct nt_identity *id, uint64_t now_ms)
{
	int n = 0, ret;

	nt_ledger_expire(l, now_ms);
	for (uint32_t i = 0; i < l->cfg.capacity; i++) {
		struct slot *s = &l->slots[i];
		struct nt_ledger_entry t;

		if (!s->used || !s->local_ttl || (s->e.flags & NT_LEDGER_F_TOMBSTONE) ||
		    memcmp(s->owner, id->ed_pk, 32) != 0 || s->e.expires_at - now_ms > s->local_ttl / 3)
			continue;
		t = s->e;
		t.version = next_version(s, now_ms);
		t.expires_at = now_ms + s->local_ttl;
		ret = sign_and_merge(l, id, &t, now_ms, s->local_ttl, NULL);
		if (ret < 0)
			return ret;
		n++;
	}
	return n;
}

const struct nt_ledger_entry *nt_ledger_get(const struct nt_ledger *l, const char *bucket,
					    const char *key)
{
	size_t blen = strlen(bucket), klen = strlen(key);
	const struct slot *s;

	if (!bucket_is_valid(bucket, blen) || !key_is_valid(key, klen))
		return NULL;
	s = winner(l, bucket, blen, key, klen);
	return s ? &s->e : NULL;
}

const struct nt_ledger_entry *nt_ledger_get_owned(const struct nt_ledger *l, const char *bucket,
						  const char *key, const uint8_t owner[32])
{
	size_t blen = strlen(bucket), klen = strlen(key);
	uint32_t idx;

	if (!bucket_is_valid(bucket, blen) || !key_is_valid(key, klen))
		return NULL;
	idx = find_owned(l, bucket, blen, key, klen, owner);
	return idx == NIL ? NULL : &l->slots[idx].e;
}

const struct nt_ledger_entry *nt_ledger_get_by_id(const struct nt_ledger *l, uint64_t id)
{
	for (uint32_t i = l->id_heads[id & l->hmask]; i != NIL; i = l->slots[i].next_id)
		if (l->slots[i].id == id)
			return &l->slots[i].e;
	return NULL;
}

void nt_ledger_foreach(const struct nt_ledger *l, const char *bucket, nt_ledger_foreach_fn *cb,
		       void *ctx)
{
	size_t blen = bucket ? strlen(bucket) : 0;

	for (uint32_t i = 0; i < l->cfg.capacity; i++) {
		const struct slot *s = &l->slots[i];
		if (!s->used || (s->e.flags & NT_LEDGER_F_TOMBSTONE))
			continue;
		if (bucket && (s->e.bucket_len != blen || memcmp(s->bucket, bucket, blen) != 0))
			continue;
		if (winner(l, s->bucket, s->e.bucket_len, s->e.key, s->e.key_len) != s)
			continue;
		if (!cb(ctx, &s->e))
			return;
	}
}

void nt_ledger_foreach_stored(const struct nt_ledger *l, nt_ledger_foreach_fn *cb, void *ctx)
{
	for (uint32_t i = 0; i < l->cfg.capacity; i++)
		if (l->slots[i].used && !cb(ctx, &l->slots[i].e))
			return;
}

const uint8_t *nt_ledger_machine_owner(const struct nt_ledger *l, const char *ip_text)
{
	const struct nt_ledger_entry *e = nt_ledger_get(l, NT_LEDGER_MACHINES, ip_text);

	return e ? e->owner : NULL;
}

bool nt_ledger_is_claimed(const struct nt_ledger *l, const char *bucket, const char *key,
			  const uint8_t owner[32])
{
	size_t blen = strlen(bucket), klen = strlen(key);
	uint32_t i;

	if (!bucket_is_valid(bucket, blen) || !key_is_valid(key, klen))
		return false;
	for (i = l->bk_heads[bk_hash(l, bucket, blen, key, klen)]; i != NIL; i = l->slots[i].next_bk) {
		const struct slot *s = &l->slots[i];

		if (same_bk(s, bucket, blen, key, klen) && !(s->e.flags & NT_LEDGER_F_TOMBSTONE) &&
		    memcmp(s->owner, owner, 32) != 0)
			return true;
	}
	return false;
}

bool nt_ledger_claim_is_beaten(const struct nt_ledger *l, const char *bucket, const char *key,
			       const uint8_t owner[32])
{
	const struct nt_ledger_entry *w = nt_ledger_get(l, bucket, key), *own;

	if (!w || memcmp(w->owner, owner, 32) == 0)
		return false;
	/* Our live claim exists and is not the winner: the winner beats it. */
	own = nt_ledger_get_owned(l, bucket, key, owner);
	if (own && !(own->flags & NT_LEDGER_F_TOMBSTONE))
		return true;
	/* One we would make now is younger than any live claim: it wins only by proof. */
	return owner_is_proven(l, w->owner) || !owner_is_proven(l, owner);
}

static void sift_down(uint8_t (*h)[NT_LEDGER_HASH_LEN], size_t root, size_t n)
{
	uint8_t tmp[NT_LEDGER_HASH_LEN];

	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && memcmp(h[child], h[child + 1], NT_LEDGER_HASH_LEN) < 0)
			child++;
		if (memcmp(h[root], h[child], NT_LEDGER_HASH_LEN) >= 0)
			return;
		memcpy(tmp, h[root], sizeof(tmp));
		memcpy(h[root], h[child], sizeof(tmp));
		memcpy(h[child], tmp, sizeof(tmp));
	}
}

/* Heapsort: glibc's qsort may malloc a merge buffer, and steady state must not allocate. */
static void sort_hashes(uint8_t (*h)[NT_LEDGER_HASH_LEN], size_t n)
{
	uint8_t tmp[NT_LEDGER_HASH_LEN];

	for (size_t i = n / 2; i-- > 0;)
		sift_down(h, i, n);
	for (size_t end = n; end-- > 1;) {
		memcpy(tmp, h[0], sizeof(tmp));
		memcpy(h[0], h[end], sizeof(tmp));
		memcpy(h[end], tmp, sizeof(tmp));
		sift_down(h, 0, end);
	}
}

/* BLAKE2b-256(state_context || u32 count || entry hashes in ascending order). */
void nt_ledger_state_hash(struct nt_ledger *l, uint8_t out[NT_LEDGER_HASH_LEN])
{
	crypto_generichash_state st;
	uint8_t cnt[4];
	uint32_t n = 0;

	if (l->state_dirty) {
		for (uint32_t i = 0; i < l->cfg.capacity; i++)
			if (l->slots[i].used)
				memcpy(l->hashes[n++], l->slots[i].hash, NT_LEDGER_HASH_LEN);
		sort_hashes(l->hashes, n);
		nt_put_be32(cnt, n);
		crypto_generichash_init(&st, NULL, 0, NT_LEDGER_HASH_LEN);
		crypto_generichash_update(&st, (const uint8_t *)state_context, sizeof(state_context) - 1);
		crypto_generichash_update(&st, cnt, sizeof(cnt));
		crypto_generichash_update(&st, (const uint8_t *)l->hashes, (size_t)n * NT_LEDGER_HASH_LEN);
		crypto_generichash_final(&st, l->state_hash, NT_LEDGER_HASH_LEN);
		l->state_dirty = false;
	}
	memcpy(out, l->state_hash, NT_LEDGER_HASH_LEN);
}

uint32_t nt_ledger_count(const struct nt_ledger *l)
{
	return l->used;
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

void nt_ledger_stats_get(const struct nt_ledger *l, struct nt_ledger_stats *out)
{
	*out = l->stats;
	out->entries = l->used;
	out->capacity = l->cfg.capacity;
	out->owners = l->nowners;
}

size_t nt_ledger_memory(const struct nt_ledger *l)
{
	return l->mem;
}

size_t nt_ledger_entry_max_wire(const struct nt_ledger *l)
{
	return NT_LEDGER_WIRE_FIXED + NT_LEDGER_BUCKET_MAX + l->cfg.max_key + l->cfg.max_value;
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
		if (!bucket_is_valid(l->cfg.reserve_bucket, n) || l->cfg.reserve_slots > l->cfg.capacity) {
			free(l);
			return -EINVAL;
		}
		memcpy(l->reserve_bucket, l->cfg.reserve_bucket, n + 1);
		l->cfg.reserve_bucket = NULL; /* the caller's string need not outlive this call */
	} else {
		l->cfg.reserve_slots = 0;
	}
	if (l->cfg.capacity > (1U << 24) || l->cfg.max_key > NT_LEDGER_KEY_LIMIT ||
	    l->cfg.max_value > NT_LEDGER_VALUE_LIMIT ||
	    l->cfg.tombstone_ttl_ms > l->cfg.max_ttl_ms) {
		free(l);
		return -EINVAL;
	}
	while (hsize < 2 * l->cfg.capacity)
		hsize <<= 1;
	l->hmask = hsize - 1;
	l->slab_stride = l->cfg.max_key + 1 + l->cfg.max_value;
	l->scratch_len = sizeof(sign_context) + nt_ledger_entry_max_wire(l);
	l->slots = alloc_counted(l, l->cfg.capacity, sizeof(*l->slots));
	l->slab = alloc_counted(l, l->cfg.capacity, l->slab_stride);
	l->bk_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->id_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->owner_heads = alloc_counted(l, hsize, sizeof(uint32_t));
	l->owners = alloc_counted(l, l->cfg.capacity, sizeof(*l->owners));
	l->hashes = alloc_counted(l, l->cfg.capacity, sizeof(*l->hashes));
	l->scratch = alloc_counted(l, 1, l->scratch_len);
	if (!l->slots || !l->slab || !l->bk_heads || !l->id_heads || !l->owner_heads ||
	    !l->owners || !l->hashes || !l->scratch) {
		nt_ledger_free(l);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < hsize; i++)
		l->bk_heads[i] = l->id_heads[i] = l->owner_heads[i] = NIL;
	for (uint32_t i = 0; i < l->cfg.capacity; i++) {
		l->slots[i].next_bk = i + 1 < l->cfg.capacity ? i + 1 : NIL;
		l->owners[i].next = i + 1 < l->cfg.capacity ? i + 1 : NIL;
	}
	l->free_head = 0;
	l->owner_free = 0;
	l->min_expires = UINT64_MAX;
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
	free(l->slab);
	free(l->bk_heads);
	free(l->id_heads);
	free(l->owner_heads);
	free(l->owners);
	free(l->hashes);
	free(l->scratch);
	free(l);
}
