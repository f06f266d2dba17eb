/* SPDX-License-Identifier: MIT */
/*
 * Netron's handshake (DESIGN §5, docs/handshake.md): Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b
 * with prologue "netron/1" and the network PSK, in a WireGuard-style envelope:
 *   INIT  0xE1  -> e                 payload TAI64N                         100 bytes
 *   RESP  0xE2  <- e, ee, s, es      payload responder's Ed25519 node ID    172 bytes
 *   FIN   0xE3  -> s, se, psk        payload initiator's node ID + TAI64N   148 bytes
 *   COOKIE_REPLY 0xE4 (cookie.h)                                            64 bytes
 * Sans-IO: functions take bytes, the source address and the time, and write bytes into
 * caller buffers; they never log or touch a socket. The caller owns one struct
 * nt_handshake per attempt and one struct nt_handshake_local per node.
 */
#ifndef NT_HANDSHAKE_H
#define NT_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cookie.h"
#include "netron/keys.h"
#include "proto/noise.h"
#include "core/util.h"

enum nt_hs_msg_type {
	NT_HS_MSG_INIT = 0xE1,
	NT_HS_MSG_RESP = 0xE2,
	NT_HS_MSG_FIN = 0xE3,
	NT_HS_MSG_COOKIE_REPLY = NT_COOKIE_REPLY_TYPE,
};

enum {
	NT_HS_INIT_LEN = 100,
	NT_HS_RESP_LEN = 172,
	NT_HS_FIN_LEN = 148,
	NT_HS_COOKIE_REPLY_LEN = NT_COOKIE_REPLY_LEN,
	NT_HS_TAI64N_LEN = 12,
};

#define NT_HS_PROTOCOL_NAME "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"
#define NT_HS_PROLOGUE "netron/1"

#ifndef NT_HS_REPLAY_SETS
#define NT_HS_REPLAY_SETS 1024 /* x NT_HS_REPLAY_WAYS = 4096 remembered INIT ephemerals */
#endif
#define NT_HS_REPLAY_WAYS 4
#ifndef NT_HS_INIT_WINDOW_MS
/*
 * An INIT whose timestamp is further than this from our clock, either way, is refused; the
 * replay cache remembers every accepted INIT until its timestamp leaves the window, so a
 * captured INIT can never be answered twice. Members' clocks must agree to this much.
 */
#define NT_HS_INIT_WINDOW_MS (10 * 60 * 1000ULL)
#endif

/* What a consume_* function decided. The caller counts them; only MAC2_NEEDED answers. */
enum nt_hs_verdict {
	NT_HS_OK = 0,
	NT_HS_DROP_MALFORMED, /* length, type or reserved bytes */
	NT_HS_DROP_MAC1, /* not from this network: send nothing */
	NT_HS_DROP_MAC2_NEEDED, /* INIT under load without a valid mac2: send a COOKIE_REPLY */
	NT_HS_DROP_MAC2, /* RESP/FIN with a wrong non-zero mac2 */
	NT_HS_DROP_REPLAY, /* an INIT ephemeral seen recently, or a second FIN */
	NT_HS_DROP_LOW_ORDER, /* a small-order X25519 key */
	NT_HS_DROP_DECRYPT, /* AEAD failure: wrong keys, PSK or tampering */
	NT_HS_DROP_SELF, /* the remote static is our own */
	NT_HS_DROP_IDENTITY, /* the Ed25519 node ID does not match the Noise static key */
	NT_HS_DROP_TIMESTAMP, /* FIN's TAI64N differs from INIT's */
	NT_HS_DROP_STATE, /* not expected in this state, or the receiver index is not ours */
	NT_HS_DROP_STALE, /* INIT's timestamp is outside NT_HS_INIT_WINDOW_MS of our clock */
	NT_HS_VERDICT_COUNT,
};

enum nt_hs_state {
	NT_HS_STATE_IDLE = 0,
	NT_HS_STATE_INIT_SENT, /* initiator, waiting for RESP */
	NT_HS_STATE_INIT_CONSUMED, /* responder, about to create RESP */
	NT_HS_STATE_RESP_SENT, /* responder, waiting for FIN */
	NT_HS_STATE_RESP_CONSUMED, /* initiator, about to create FIN */
	NT_HS_STATE_ESTABLISHED, /* both: call nt_handshake_finish */
	NT_HS_STATE_FINISHED, /* keys handed out, secrets wiped */
};

/*
 * Remembers the ephemeral key (as a keyed 64-bit hash) of every INIT accepted while its
 * timestamp is inside the window, to drop replays. When a set holds only live entries, a
 * new INIT must prove its source address with a cookie (mac2) before it may evict one.
 */
struct nt_hs_replay_cache {
	uint8_t key[16]; /* SipHash key: set and tag */
	uint64_t tag[NT_HS_REPLAY_SETS][NT_HS_REPLAY_WAYS];
	uint32_t until_s[NT_HS_REPLAY_SETS][NT_HS_REPLAY_WAYS]; /* monotonic seconds; 0 = free */
};

/* One per node: who we are, the network keys, the responder's cookie checker and cache. */
struct nt_handshake_local {
	const struct nt_identity *id; /* not owned; must outlive this */
	const struct nt_network_keys *keys; /* not owned; must outlive this */
	struct nt_noise_pattern pattern;
	struct nt_cookie_checker checker;
	struct nt_hs_replay_cache replay;
};

/* One handshake attempt; embed it. Secrets are in noise's sodium_malloc block. */
struct nt_handshake {
	struct nt_noise noise;
	struct nt_cookie_maker cookie; /* survives a new attempt: retries use the cookie */
	enum nt_hs_state state;
	bool initiator;
	uint32_t local_index; /* ours: the peer puts it in receiver_index */
	uint32_t remote_index;
	uint8_t tai64n[NT_HS_TAI64N_LEN]; /* INIT's timestamp */
	uint8_t remote_id[32]; /* the peer's Ed25519 node ID, once authenticated */
	bool has_remote_id;
};

/* What a completed handshake yields. Holds keys: wipe it after copying them. */
struct nt_handshake_result {
	uint8_t peer_id[32]; /* Ed25519 public key = node ID */
	uint8_t send_key[32];
	uint8_t recv_key[32];
	uint32_t local_index;
	uint32_t remote_index;
	bool initiator;
	uint8_t tai64n[NT_HS_TAI64N_LEN];
};

/*
 * Checks that id's X25519 pair matches its Ed25519 key, parses the pattern and draws the
 * cookie secret. 0, -EINVAL (inconsistent identity) or -ENOMEM.
 */
int nt_handshake_local_init(struct nt_handshake_local *l, const struct nt_identity *id,
			    const struct nt_network_keys *keys, uint64_t now_ms);
void nt_handshake_local_uninit(struct nt_handshake_local *l);

/* Allocates the secret block of one handshake slot. 0 or -ENOMEM. */
int nt_handshake_init(struct nt_handshake *hs);
/* Wipes everything (cookie too) and frees; accepts a zeroed struct. */
void nt_handshake_uninit(struct nt_handshake *hs);
/* Wipes the attempt (back to IDLE), keeping the cookie maker. */
void nt_handshake_clear(struct nt_handshake *hs);
/* Tests and fuzzing only: the next ephemeral key this handshake creates. */
void nt_handshake_set_ephemeral(struct nt_handshake *hs, const uint8_t e_sk[32]);

/*
 * Initiator: starts a new attempt (any previous one is wiped) and writes INIT.
 * local_index must be unique among our live handshakes and sessions; wall_ms is the Unix
 * time in milliseconds (the TAI64N), now_ms the monotonic clock (cookie age). 0 or -errno.
 */
int nt_handshake_create_init(struct nt_handshake *hs, struct nt_handshake_local *l,
			     uint32_t local_index, uint64_t wall_ms, uint64_t now_ms,
			     uint8_t out[NT_HS_INIT_LEN]);

/*
 * The envelope of a handshake message, before anything costs more than one hash or touches
 * any state: exact length and header for its type, then mac1. NT_HS_OK, NT_HS_DROP_MALFORMED
 * or NT_HS_DROP_MAC1 (not from this network: it gets nothing). COOKIE_REPLY carries no mac1
 * and is NT_HS_OK when well formed.
 */
enum nt_hs_verdict nt_handshake_check_envelope(const struct nt_handshake_local *l,
					       const uint8_t *msg, size_t len);
/* The same with the network keys alone (thread-safe: they never change). */
enum nt_hs_verdict nt_handshake_check_mac1(const struct nt_network_keys *keys, const uint8_t *msg,
					   size_t len);

/* Whether msg (a checked envelope) carries a valid cookie for from: it receives there. */
bool nt_handshake_has_cookie(struct nt_handshake_local *l, const uint8_t *msg, size_t len,
			     const union nt_sockaddr *from, uint64_t now_ms);

/*
 * Responder: consumes an INIT into hs (a free slot; its previous attempt is wiped on
 * success). Order: length and header, mac1, mac2 (if under_load or present), low-order e,
 * replay cache, decryption, the timestamp against our clock (wall_ms, unix ms). A full
 * replay set asks for a cookie (NT_HS_DROP_MAC2_NEEDED). No Diffie-Hellman happens here.
 */
enum nt_hs_verdict nt_handshake_consume_init(struct nt_handshake *hs, struct nt_handshake_local *l,
					     const uint8_t *msg, size_t len,
					     const union nt_sockaddr *from, bool under_load,
					     uint64_t now_ms, uint64_t wall_ms);

/* Responder, after consume_init: writes RESP (two DH). 0 or -errno (hs is then cleared). */
int nt_handshake_create_resp(struct nt_handshake *hs, struct nt_handshake_local *l,
			     uint32_t local_index, uint64_t now_ms, uint8_t out[NT_HS_RESP_LEN]);

/* Initiator, in INIT_SENT: consumes RESP. On SELF/IDENTITY the attempt is cleared. */
enum nt_hs_verdict nt_handshake_consume_resp(struct nt_handshake *hs, struct nt_handshake_local *l,
					     const uint8_t *msg, size_t len,
					     const union nt_sockaddr *from, uint64_t now_ms);

/* Initiator, after consume_resp: writes FIN; the handshake is then ESTABLISHED. */
int nt_handshake_create_fin(struct nt_handshake *hs, struct nt_handshake_local *l, uint64_t now_ms,
			    uint8_t out[NT_HS_FIN_LEN]);

/* Responder, in RESP_SENT: consumes FIN; ESTABLISHED on NT_HS_OK. */
enum nt_hs_verdict nt_handshake_consume_fin(struct nt_handshake *hs, struct nt_handshake_local *l,
					    const uint8_t *msg, size_t len,
					    const union nt_sockaddr *from, uint64_t now_ms);

/*
 * Both sides, once ESTABLISHED: Split() into send and receive keys (the initiator sends
 * with the first), fills out, wipes every handshake secret and moves to FINISHED.
 * 0 or -EPROTO.
 */
int nt_handshake_finish(struct nt_handshake *hs, struct nt_handshake_result *out);

/*
 * Responder: the COOKIE_REPLY answering an INIT that got NT_HS_DROP_MAC2_NEEDED.
 * 0 or -EINVAL (not a well-formed INIT).
 */
int nt_handshake_create_cookie_reply(struct nt_handshake_local *l, const uint8_t *msg, size_t len,
				     const union nt_sockaddr *from, uint64_t now_ms,
				     uint8_t out[NT_HS_COOKIE_REPLY_LEN]);

/* Initiator, in INIT_SENT: stores the cookie; the caller then sends a new INIT. */
enum nt_hs_verdict nt_handshake_consume_cookie_reply(struct nt_handshake *hs,
						     struct nt_handshake_local *l,
						     const uint8_t *msg, size_t len, uint64_t now_ms);

/*
 * Cheap routing, before any crypto: true if msg has the exact length of its type byte's
 * message; then *type is set and *receiver_index is the index of ours the message is for
 * (RESP, FIN, COOKIE_REPLY) or 0 (INIT: it goes to a fresh slot).
 */
bool nt_handshake_peek(const uint8_t *msg, size_t len, uint8_t *type, uint32_t *receiver_index);

/* TAI64N (big-endian label 2^62 + 10 + seconds, then nanoseconds) of a Unix time in ms. */
void nt_handshake_tai64n(uint64_t wall_ms, uint8_t out[NT_HS_TAI64N_LEN]);
/* <0, 0, >0 as a is older, equal, newer than b (the caller keeps the newest per peer). */
int nt_handshake_tai64n_compare(const uint8_t a[NT_HS_TAI64N_LEN], const uint8_t b[NT_HS_TAI64N_LEN]);

const char *nt_handshake_verdict_str(enum nt_hs_verdict v);

#endif
