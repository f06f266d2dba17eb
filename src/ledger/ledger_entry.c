// SPDX-License-Identifier: MIT
/*
 * An entry of the ledger on the wire (docs/ledger.md §1.1): the strict decoder, the
 * canonical encoder, what a bucket name and a key may hold, and the names of the merge's
 * verdicts. The same bytes are signed, stored, hashed and gossiped; this file knows
 * nothing of the store (ledger.c). An entry's hash is computed here from its fields, so a
 * store keeps only a prefix of it (ledger_impl.h).
 */
#include "ledger/ledger_entry.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "core/util.h"

bool nt_ledger_bucket_is_valid(const char *b, size_t len)
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
bool nt_ledger_key_is_valid(const char *k, size_t len)
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
 * signature covers nt_ledger_sign_context followed by every byte before it.
 */
bool nt_ledger_entry_decode(const uint8_t *buf, size_t len, struct nt_ledger_entry *out)
{
	size_t off = 2, vlen;

	if (len < NT_LEDGER_WIRE_FIXED || buf[0] != NT_LEDGER_FORMAT ||
	    (buf[1] & ~NT_LEDGER_F_TOMBSTONE))
		return false;
	out->flags = buf[1];
	out->bucket_len = buf[off++];
	if (len - off < out->bucket_len ||
	    !nt_ledger_bucket_is_valid((const char *)buf + off, out->bucket_len))
		return false;
	out->bucket = (const char *)buf + off;
	off += out->bucket_len;
	if (len - off < 1)
		return false;
	out->key_len = buf[off++];
	if (len - off < out->key_len ||
	    !nt_ledger_key_is_valid((const char *)buf + off, out->key_len))
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

	if (!nt_ledger_bucket_is_valid(e->bucket, e->bucket_len) ||
	    !nt_ledger_key_is_valid(e->key, e->key_len) || (e->flags & ~NT_LEDGER_F_TOMBSTONE) ||
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

void nt_ledger_entry_hash(const struct nt_ledger_entry *e, uint8_t out[NT_LEDGER_HASH_LEN])
{
	crypto_generichash_state st;
	uint8_t hdr[3], len[2], tail[8 + 8 + 8];

	/* The same bytes, in the same order, as nt_ledger_entry_encode() writes. */
	hdr[0] = NT_LEDGER_FORMAT;
	hdr[1] = e->flags;
	hdr[2] = e->bucket_len;
	crypto_generichash_init(&st, NULL, 0, NT_LEDGER_HASH_LEN);
	crypto_generichash_update(&st, hdr, sizeof(hdr));
	crypto_generichash_update(&st, (const uint8_t *)e->bucket, e->bucket_len);
	crypto_generichash_update(&st, &e->key_len, 1);
	crypto_generichash_update(&st, (const uint8_t *)e->key, e->key_len);
	nt_put_be16(len, e->value_len);
	crypto_generichash_update(&st, len, sizeof(len));
	if (e->value_len)
		crypto_generichash_update(&st, e->value, e->value_len);
	crypto_generichash_update(&st, e->owner, 32);
	nt_put_be64(tail, e->version);
	nt_put_be64(tail + 8, e->claimed_at);
	nt_put_be64(tail + 16, e->expires_at);
	crypto_generichash_update(&st, tail, sizeof(tail));
	crypto_generichash_update(&st, e->sig, NT_LEDGER_SIG_LEN);
	crypto_generichash_final(&st, out, NT_LEDGER_HASH_LEN);
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
