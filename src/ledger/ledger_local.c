// SPDX-License-Identifier: MIT
/*
 * The entries this node signs: put (a new version of our entry, keeping the age of a live
 * claim), delete (a signed tombstone) and refresh (re-signing before expiry). Each is
 * encoded, signed with the node's Ed25519 key and merged like an entry from the network,
 * minus the checks that only a remote entry needs (ledger.c). Their TTLs, which refresh
 * re-signs them with, are kept in a small side table by slot.
 */
#include "ledger/ledger_local.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"
#include "ledger/ledger_impl.h"
#include "ledger/ledger_state.h"

/*
 * The side table of the entries we signed: a handful (our claims and what the API wrote),
 * so they need not cost a TTL field in every slot. Open addressing by slot index with linear
 * probing; a removal shifts the entries after it back (no tombstones).
 */
/* Fibonacci hashing: the top bits of the product, which every bit of idx reaches. */
static uint32_t local_home(const struct nt_ledger *l, uint32_t idx)
{
	return (idx * 2654435769U) >> l->local_shift;
}

static uint32_t local_find(const struct nt_ledger *l, uint32_t idx)
{
	for (uint32_t i = local_home(l, idx); l->local[i].idx != NIL; i = (i + 1) & l->local_mask)
		if (l->local[i].idx == idx)
			return i;
	return NIL;
}

uint32_t nt_ledger_local_ttl(const struct nt_ledger *l, uint32_t idx)
{
	uint32_t i;

	if (!l->nlocal)
		return 0;
	i = local_find(l, idx);
	return i == NIL ? 0 : l->local[i].ttl_ms;
}

bool nt_ledger_local_has_room(const struct nt_ledger *l, uint32_t idx)
{
	return l->nlocal < l->local_max || (idx != NIL && local_find(l, idx) != NIL);
}

void nt_ledger_local_set(struct nt_ledger *l, uint32_t idx, uint32_t ttl_ms)
{
	uint32_t i = local_find(l, idx), j, home;

	if (ttl_ms) {
		if (i == NIL) {
			for (i = local_home(l, idx); l->local[i].idx != NIL; i = (i + 1) & l->local_mask)
				;
			l->local[i].idx = idx;
			l->nlocal++;
		}
		l->local[i].ttl_ms = ttl_ms;
		return;
	}
	if (i == NIL)
		return;
	/* Every entry after the hole whose home is not between the hole and it moves back. */
	for (j = i;;) {
		j = (j + 1) & l->local_mask;
		if (l->local[j].idx == NIL)
			break;
		home = local_home(l, l->local[j].idx);
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		l->local[i] = l->local[j];
		i = j;
	}
	l->local[i].idx = NIL;
	l->nlocal--;
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
	uint8_t *wire = l->scratch + sizeof(nt_ledger_sign_context);
	uint8_t zero_sig[NT_LEDGER_SIG_LEN] = { 0 };
	struct nt_ledger_entry t = *tmp, view;
	enum nt_ledger_verdict v;
	ssize_t n;

	t.sig = zero_sig;
	n = nt_ledger_entry_encode(&t, wire, l->scratch_len - sizeof(nt_ledger_sign_context));
	if (n < 0)
		return (int)n;
	memcpy(l->scratch, nt_ledger_sign_context, sizeof(nt_ledger_sign_context));
	crypto_sign_detached(wire + n - NT_LEDGER_SIG_LEN, NULL, l->scratch,
			     sizeof(nt_ledger_sign_context) + (size_t)n - NT_LEDGER_SIG_LEN,
			     id->ed_sk);
	/* Merge from the signed copy, never from the slot that is about to be overwritten. */
	if (!nt_ledger_entry_decode(wire, (size_t)n, &view))
		return -EINVAL;
	v = nt_ledger_merge(l, &view, wire, (size_t)n, now, true, ttl, NULL, out);
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

	if (!nt_ledger_bucket_is_valid(bucket, blen) || !nt_ledger_key_is_valid(key, klen) ||
	    klen > l->cfg.max_key || len > l->cfg.max_value || ttl_ms == 0 || ttl_ms > l->cfg.max_ttl_ms)
		return -EINVAL;
	idx = nt_ledger_find_owned(l, bucket, blen, key, klen, id->ed_pk);
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

	if (!nt_ledger_bucket_is_valid(bucket, blen) || !nt_ledger_key_is_valid(key, klen) ||
	    klen > l->cfg.max_key)
		return -EINVAL;
	nt_ledger_expire(l, now_ms);
	idx = nt_ledger_find_owned(l, bucket, blen, key, klen, id->ed_pk);
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

/*
 * Our entries are re-signed at half their life: a lease of hours is renewed hours before it
 * runs out, so a member that misses a renewal or two (a partition) keeps its claim. Nothing
 * is scanned before the first of them is due (refresh_at).
 */
int nt_ledger_refresh_local(struct nt_ledger *l, const struct nt_identity *id, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	int n = 0, ret = 0;

	nt_ledger_expire(l, now_ms);
	if (now_ms < l->refresh_at)
		return 0;
	for (uint32_t i = 0; i < l->fresh && l->nlocal; i++) {
		struct slot *s = &l->slots[i];
		uint32_t ttl = nt_ledger_local_ttl(l, i);
		struct nt_ledger_entry t;
		uint64_t due;

		if (!nt_ledger_slot_is_used(s) || !ttl || (s->e.flags & NT_LEDGER_F_TOMBSTONE))
			continue;
		due = s->e.expires_at - ttl / 2;
		if (now_ms < due || memcmp(s->e.owner, id->ed_pk, 32) != 0) {
			/* Not due, or another identity's, due at its own refresh. */
			next = NT_MIN(next, due);
			continue;
		}
		t = s->e;
		t.version = next_version(s, now_ms);
		t.expires_at = now_ms + ttl;
		ret = sign_and_merge(l, id, &t, now_ms, ttl, NULL);
		if (ret < 0)
			break;
		n++;
		next = NT_MIN(next, t.expires_at - ttl / 2);
	}
	/* An entry that failed stays due: the next call tries it again. */
	l->refresh_at = ret < 0 ? now_ms : next;
	return ret < 0 ? ret : n;
}
