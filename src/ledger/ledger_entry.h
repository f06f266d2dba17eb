/* SPDX-License-Identifier: MIT */
/*
 * An entry of the ledger and its wire format (docs/ledger.md §1.1): the limits of the
 * encoding, the entry, the merge's verdicts, the codec and what a bucket name and a key
 * may hold. Part of the ledger's public interface: include ledger/ledger.h.
 */
#ifndef NT_LEDGER_ENTRY_H
#define NT_LEDGER_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	NT_LEDGER_FORMAT = 1, /* first byte of every encoded entry */
	NT_LEDGER_BUCKET_MAX = 32, /* bytes of a bucket name, [a-z0-9._-] */
	NT_LEDGER_KEY_LIMIT = 255, /* what the wire can carry (u8 length) */
	NT_LEDGER_VALUE_LIMIT = 65535, /* what the wire can carry (u16 length) */
	NT_LEDGER_SIG_LEN = 64,
	NT_LEDGER_HASH_LEN = 32, /* BLAKE2b-256 */
	NT_LEDGER_HASH_PREFIX_LEN = 8, /* of it, what a stored entry keeps (gossip sends 8) */
	/* format, flags, 3 lengths (1+1+2), owner, version, claimed_at, expires_at, sig */
	NT_LEDGER_WIRE_FIXED = 1 + 1 + 1 + 1 + 2 + 32 + 8 + 8 + 8 + NT_LEDGER_SIG_LEN,
};

enum nt_ledger_flags {
	NT_LEDGER_F_TOMBSTONE = 1U << 0, /* a deletion by the owner; value is empty */
};

/*
 * One entry. Decoded entries point into the buffer they were decoded from; entries
 * stored in a ledger point into the ledger (bucket and key are then NUL-terminated)
 * and stay valid until the next call that modifies the ledger.
 */
struct nt_ledger_entry {
	const char *bucket;
	const char *key;
	const uint8_t *value;
	const uint8_t *owner; /* 32 bytes: the owner's Ed25519 public key = node ID */
	const uint8_t *sig; /* 64 bytes */
	uint64_t version; /* >= 1, strictly increasing per (bucket, key, owner) */
	uint64_t claimed_at; /* unix ms when the owner first claimed this key */
	uint64_t expires_at; /* unix ms */
	uint16_t value_len;
	uint8_t bucket_len;
	uint8_t key_len;
	uint8_t flags; /* enum nt_ledger_flags */
};

/* What the merge did with an entry. The first three are acceptances. */
enum nt_ledger_verdict {
	NT_LEDGER_ADDED, /* a new (bucket, key, owner) */
	NT_LEDGER_UPDATED, /* a newer version from the owner replaced the stored one */
	NT_LEDGER_DUPLICATE, /* the same bytes are already stored: no-op */
	NT_LEDGER_REJ_MALFORMED, /* does not decode */
	NT_LEDGER_REJ_TOO_LARGE, /* key or value above this ledger's limits */
	NT_LEDGER_REJ_SIGNATURE, /* signature does not verify for the owner */
	NT_LEDGER_REJ_EXPIRED, /* expires_at <= now */
	NT_LEDGER_REJ_TTL, /* expires_at > now + max_ttl + skew */
	NT_LEDGER_REJ_FUTURE_CLAIM, /* claimed_at > now + skew */
	NT_LEDGER_REJ_REPLAY, /* version not above the stored one */
	NT_LEDGER_REJ_OWNER_FULL, /* the owner already holds max_per_owner entries */
	NT_LEDGER_REJ_FULL, /* refused: the store (or the room left to its bucket) is full */
	NT_LEDGER_REJ_HELD, /* another owner holds the key: a back-dated claim, or one too many */
	NT_LEDGER_REJ_BACKDATED, /* an owner's new version says its claim is older than it was */
	NT_LEDGER_REJ_BUSY, /* it needed a signature check and the caller's budget had none left */
	NT_LEDGER_REJ_POLICY, /* the integrator's accept() refused it (e.g. outside our prefixes) */
	NT_LEDGER_VERDICT_MAX
};

/* Strict decoder: exactly len bytes, every length checked. out points into buf. */
bool nt_ledger_entry_decode(const uint8_t *buf, size_t len, struct nt_ledger_entry *out);
/* Canonical encoding; bytes written, or -ENOSPC / -EINVAL. */
ssize_t nt_ledger_entry_encode(const struct nt_ledger_entry *e, uint8_t *buf, size_t len);
/*
 * BLAKE2b-256 of the canonical encoding of e (the bytes nt_ledger_entry_encode writes), fed
 * field by field: no buffer, so it serves entries stored in a ledger as well as decoded ones.
 */
void nt_ledger_entry_hash(const struct nt_ledger_entry *e, uint8_t out[NT_LEDGER_HASH_LEN]);
bool nt_ledger_verdict_is_ok(enum nt_ledger_verdict v);
const char *nt_ledger_verdict_str(enum nt_ledger_verdict v);
/* A bucket name: 1 to NT_LEDGER_BUCKET_MAX bytes of [a-z0-9._-]. */
bool nt_ledger_bucket_is_valid(const char *b, size_t len);
/* A key: 1 to NT_LEDGER_KEY_LIMIT bytes of printable ASCII, no space. */
bool nt_ledger_key_is_valid(const char *k, size_t len);

#endif
