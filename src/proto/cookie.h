/* SPDX-License-Identifier: MIT */
/*
 * mac1, mac2 and cookie replies around every handshake message (DESIGN §5), in the
 * manner of WireGuard's cookie.c. A message ends in mac1 | mac2, 16 bytes each:
 *   mac1 = BLAKE2b-128(key = network mac1_key, every byte before mac1)
 *   mac2 = BLAKE2b-128(key = cookie, every byte before mac2), or 16 zero bytes
 *   cookie = BLAKE2b-128(key = responder secret (rotated every 120 s), src IP || src port)
 * The checker is the responder's side (one per node), the maker the initiator's (one per
 * handshake). Sans-IO: the caller passes the monotonic time in milliseconds.
 */
#ifndef NT_COOKIE_H
#define NT_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/keys.h"
#include "core/util.h"

enum {
	NT_COOKIE_LEN = 16,
	NT_COOKIE_MAC_LEN = 16,
	NT_COOKIE_MACS_LEN = 2 * NT_COOKIE_MAC_LEN, /* mac1 | mac2 at the end of a message */
	NT_COOKIE_NONCE_LEN = 24,
	NT_COOKIE_REPLY_TYPE = 0xE4,
	NT_COOKIE_REPLY_LEN = 64, /* type | 0 0 0 | receiver index | nonce | enc cookie + tag */
};

#ifndef NT_COOKIE_SECRET_LIFETIME_MS
#define NT_COOKIE_SECRET_LIFETIME_MS 120000 /* responder's secret rotates */
#endif
#ifndef NT_COOKIE_LIFETIME_MS
#define NT_COOKIE_LIFETIME_MS 120000 /* initiator stops using a cookie */
#endif

enum nt_cookie_verdict {
	NT_COOKIE_OK = 0, /* mac1 right, mac2 zero (accepted when not under load) */
	NT_COOKIE_OK_WITH_COOKIE, /* mac1 right, mac2 a cookie for the source: it receives there */
	NT_COOKIE_BAD_MAC1, /* not from the network: no answer at all */
	NT_COOKIE_BAD_MAC2, /* mac2 present but wrong (or missing under load) */
};

/* The responder's side. keys must outlive it. */
struct nt_cookie_checker {
	const struct nt_network_keys *keys;
	uint8_t *secrets; /* sodium_malloc: current (32) | previous (32) */
	uint64_t secret_birth_ms; /* monotonic, when "current" was drawn */
	bool has_previous;
};

/* The initiator's side: the last cookie received and the mac1 it must answer. */
struct nt_cookie_maker {
	uint8_t cookie[NT_COOKIE_LEN];
	uint64_t cookie_birth_ms; /* monotonic */
	bool has_cookie;
	uint8_t last_mac1[NT_COOKIE_MAC_LEN]; /* of the last message we sent */
	bool has_last_mac1;
};

/* mac1 of msg[0 .. len - 32): the caller checked len >= 32. */
void nt_cookie_mac1_compute(const uint8_t mac1_key[32], const uint8_t *msg, size_t len,
			    uint8_t out[NT_COOKIE_MAC_LEN]);

/* Draws the first secret. 0 or -ENOMEM. */
int nt_cookie_checker_init(struct nt_cookie_checker *cc, const struct nt_network_keys *keys,
			   uint64_t now_ms);
void nt_cookie_checker_uninit(struct nt_cookie_checker *cc);

/*
 * Checks the two MACs at the end of msg (len >= 32, checked by the caller): mac1 first,
 * in constant time and before anything else costs more than one hash. Then mac2: a
 * non-zero mac2 must be right (the cookie of the current or previous secret for `from`);
 * an all-zero mac2 is accepted unless under_load.
 */
enum nt_cookie_verdict nt_cookie_checker_validate(struct nt_cookie_checker *cc, const uint8_t *msg,
						  size_t len, const union nt_sockaddr *from,
						  bool under_load, uint64_t now_ms);

/*
 * Writes the COOKIE_REPLY that answers msg (whose mac1 the caller has validated):
 * receiver_index is the sender index of msg. 0 or -EINVAL (len < 32, unknown family).
 */
int nt_cookie_checker_create_reply(struct nt_cookie_checker *cc, const uint8_t *msg, size_t len,
				   uint32_t receiver_index, const union nt_sockaddr *from,
				   uint64_t now_ms, uint8_t out[NT_COOKIE_REPLY_LEN]);

void nt_cookie_maker_init(struct nt_cookie_maker *cm);
/* Wipes the stored cookie and mac1. */
void nt_cookie_maker_clear(struct nt_cookie_maker *cm);

/*
 * Fills the last 32 bytes of msg (len >= 32) with mac1 and mac2 (mac2 zero unless a cookie
 * younger than NT_COOKIE_LIFETIME_MS is stored) and remembers mac1.
 */
void nt_cookie_maker_add_macs(struct nt_cookie_maker *cm, const struct nt_network_keys *keys,
			      uint8_t *msg, size_t len, uint64_t now_ms);

/*
 * Decrypts a COOKIE_REPLY (the caller checked type, length and receiver index) and stores
 * its cookie. 0; -EPROTO if we have sent nothing it can answer (or it was already
 * answered); -EBADMSG if it does not decrypt.
 */
int nt_cookie_maker_consume_reply(struct nt_cookie_maker *cm, const struct nt_network_keys *keys,
				  const uint8_t *msg, size_t len, uint64_t now_ms);

#endif
