/* SPDX-License-Identifier: MIT */
/*
 * Data frames and the keypairs that protect them (DESIGN §5, §9; docs/data-frames.md).
 * Sans-IO: nothing here touches a socket or a clock; times are passed in (monotonic ms).
 *
 * A keypair is what one completed handshake yields: a send key, a receive key, a local
 * and a remote session index. A session holds up to three keypairs of one peer (previous,
 * current, next) and rotates them by WireGuard's rules. Frames are encrypted and decrypted
 * in place in caller-owned buffers; no allocation happens per packet.
 */
#ifndef NT_SESSION_H
#define NT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/replay.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Wire constants of the data frame. */
enum {
	NT_MSG_DATA = 0xE5, /* first byte of a data frame */
	NT_DATA_HEADER_LEN = 16, /* type(1) zero(3) receiver_index(4) counter(8) */
	NT_DATA_TAG_LEN = 16, /* Poly1305 */
	NT_DATA_OVERHEAD = NT_DATA_HEADER_LEN + NT_DATA_TAG_LEN, /* 32 */
	NT_DATA_MIN_LEN = NT_DATA_OVERHEAD + 1, /* every plaintext has an inner type byte */
	NT_DATA_KEY_LEN = 32,
};

/* The first byte of every plaintext. 0x02 and up are control messages for the integrator. */
enum {
	NT_DATA_INNER_KEEPALIVE = 0x00, /* nothing follows (bytes that do are ignored) */
	NT_DATA_INNER_IP = 0x01, /* an IPv4 or IPv6 packet, told by its version nibble */
	NT_DATA_INNER_CONTROL = 0x02, /* the first control type */
};

/* Limits and timers (WireGuard's values). Tunable at build time for tests. */
#ifndef NT_REKEY_AFTER_MESSAGES
#define NT_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#endif
#ifndef NT_REJECT_AFTER_MESSAGES
#define NT_REJECT_AFTER_MESSAGES (UINT64_MAX - NT_REPLAY_RING_BITS - 1)
#endif
#ifndef NT_REKEY_AFTER_TIME_MS
#define NT_REKEY_AFTER_TIME_MS 120000
#endif
#ifndef NT_REJECT_AFTER_TIME_MS
#define NT_REJECT_AFTER_TIME_MS 180000
#endif
#ifndef NT_REKEY_TIMEOUT_MS
#define NT_REKEY_TIMEOUT_MS 5000
#endif
#ifndef NT_KEEPALIVE_TIMEOUT_MS
#define NT_KEEPALIVE_TIMEOUT_MS 10000
#endif
#ifndef NT_PERSISTENT_KEEPALIVE_MS
#define NT_PERSISTENT_KEEPALIVE_MS 25000
#endif

/*
 * What became of one received frame. The caller counts each verdict (nt_session_verdict_name
 * names it for metrics) and logs drops only through log_ratelimited().
 */
enum nt_pkt_verdict {
	NT_PKT_OK = 0, /* authenticated, fresh, plaintext well formed */
	NT_PKT_DROP_SHORT, /* shorter than NT_DATA_MIN_LEN */
	NT_PKT_DROP_HEADER, /* not type 0xE5, or reserved bytes not zero */
	NT_PKT_DROP_INDEX, /* receiver index is not this keypair's local index */
	NT_PKT_DROP_EXPIRED, /* keypair older than REJECT_AFTER_TIME, or counter past the limit */
	NT_PKT_DROP_REPLAY, /* counter already accepted, or left of the window */
	NT_PKT_DROP_AUTH, /* tag did not verify: forged, corrupted or wrong key */
	NT_PKT_DROP_INNER, /* authenticated and fresh, but the plaintext is malformed */
	NT_PKT_VERDICT_COUNT
};

/*
 * One direction pair of keys from one handshake. The whole struct lives in sodium_malloc
 * memory (guarded, locked, wiped by nt_session_keypair_free). Fields other than the keys
 * may be read by the caller; owner is the caller's.
 */
struct nt_keypair {
	uint8_t send_key[NT_DATA_KEY_LEN];
	uint8_t recv_key[NT_DATA_KEY_LEN];
	uint64_t send_counter; /* next counter to send */
	struct nt_replay replay; /* receive window */
	uint64_t created_ms; /* monotonic, when the handshake completed */
	uint32_t local_index; /* frames to us carry this receiver index */
	uint32_t remote_index; /* frames we send carry this receiver index */
	bool initiator; /* we sent handshake message 1 */
	uint8_t replay_lock; /* held around the window: data-plane workers share keypairs */
	void *owner; /* the integrator's (its peer, index table entry, ...) */
};

/*
 * Creates a keypair from a completed handshake. The keys are copied; the caller wipes its
 * own copies. Returns 0, -EIO if libsodium cannot start, -ENOMEM.
 */
int nt_session_keypair_new(struct nt_keypair **out, const uint8_t send_key[NT_DATA_KEY_LEN],
			   const uint8_t recv_key[NT_DATA_KEY_LEN], uint32_t local_index,
			   uint32_t remote_index, bool initiator, uint64_t now_ms);
/* Wipes and frees kp; NULL is fine. */
void nt_session_keypair_free(struct nt_keypair *kp);

/*
 * REKEY_AFTER_TIME in force: NT_REKEY_AFTER_TIME_MS unless a test shortened it (the daemon
 * reads NETRON_REKEY_AFTER_MS) to rotate keypairs many times in a few seconds.
 */
extern uint64_t nt_session_rekey_after_time_ms;

/*
 * Thread safety: a keypair may be used by several threads at once for encrypting (the send
 * counter is taken atomically) and decrypting (the replay window is locked). Everything else
 * in this file belongs to one thread, the one that owns the session.
 */

/* Whether kp may still encrypt: younger than REJECT_AFTER_TIME and counter below the limit. */
bool nt_session_keypair_can_send(const struct nt_keypair *kp, uint64_t now_ms);
/* Whether kp may still decrypt: younger than REJECT_AFTER_TIME. */
bool nt_session_keypair_can_receive(const struct nt_keypair *kp, uint64_t now_ms);

/*
 * Encrypts one frame in place. buf holds the plaintext (inner type byte, then payload) at
 * offset NT_DATA_HEADER_LEN, plain_len bytes, and has room for buf_size bytes in total,
 * at least plain_len + NT_DATA_OVERHEAD. Writes header, ciphertext and tag; the frame is
 * buf[0 .. plain_len + NT_DATA_OVERHEAD). Consumes one counter on success only.
 * Returns 0, -EINVAL (plain_len 0), -EMSGSIZE (no room), -EKEYEXPIRED (cannot send).
 */
int nt_session_keypair_encrypt(struct nt_keypair *kp, uint8_t *buf, size_t buf_size,
			       size_t plain_len, uint64_t now_ms);

/* One buffer of a batch: data[NT_DATA_HEADER_LEN ..] holds len plaintext bytes. */
struct nt_data_buf {
	uint8_t *data;
	size_t len; /* in: plaintext length; out: frame length */
	size_t size; /* room in data */
};
/*
 * Encrypts bufs[0..n) with kp in order (for one sendmmsg). Returns how many were encrypted
 * (they are a prefix of bufs; each len is now the frame length), or -errno if the first
 * one failed.
 */
ssize_t nt_session_keypair_encrypt_batch(struct nt_keypair *kp, struct nt_data_buf *bufs, size_t n,
					 uint64_t now_ms);

/* A decrypted frame; payload points into the caller's buffer. */
struct nt_data_rx {
	uint64_t counter;
	uint8_t inner_type; /* NT_DATA_INNER_* or a control type */
	uint8_t ip_version; /* 4 or 6 when inner_type is NT_DATA_INNER_IP, else 0 */
	uint8_t *payload; /* after the inner type byte; for IP, the packet */
	size_t payload_len; /* for IP, the IP header's length (trailing padding removed) */
};

/*
 * Cheap header check before any crypto, to find the keypair by index: NT_PKT_OK and the
 * receiver index (the receiver's local index) and counter, or SHORT/HEADER.
 */
enum nt_pkt_verdict nt_session_frame_parse_header(const uint8_t *frame, size_t len,
						  uint32_t *receiver_index, uint64_t *counter);

/*
 * Decrypts frame[0..len) in place with kp. Order: header and length; receiver index;
 * keypair age and counter limit; replay window (read only); AEAD open; only then the
 * replay window is updated; then the plaintext is checked. NT_PKT_OK and
 * NT_PKT_DROP_INNER mean the frame was authentic and its counter is now used; the caller
 * then calls nt_session_received_with(). After NT_PKT_DROP_AUTH the ciphertext in frame
 * is zeroed. rx is filled only for NT_PKT_OK (counter and inner_type also for DROP_INNER).
 */
enum nt_pkt_verdict nt_session_keypair_decrypt(struct nt_keypair *kp, uint8_t *frame, size_t len,
					       uint64_t now_ms, struct nt_data_rx *rx);

/* "ok", "drop_short", ...: stable names for metrics and logs. */
const char *nt_session_verdict_name(enum nt_pkt_verdict v);

/* Called just before the session frees a keypair, so the caller can unlink its index. */
typedef void nt_keypair_drop_fn(void *ctx, struct nt_keypair *kp);

/*
 * The keypairs of one peer, embedded in the peer. Rules (WireGuard's):
 * - the initiator's new keypair is current at once; the old current becomes previous (or,
 *   if a next was pending, that next becomes previous and the old current is dropped);
 * - the responder's new keypair waits in next (dropping any older next and the previous)
 *   until the first authenticated frame on it (nt_session_received_with), because the
 *   initiator may not have the keys yet; then current -> previous, next -> current;
 * - previous still decrypts late frames, never encrypts;
 * - a keypair past REJECT_AFTER_TIME is used for nothing and nt_session_tick drops it; one
 *   that sent REJECT_AFTER_MESSAGES frames no longer sends.
 */
struct nt_session {
	struct nt_keypair *previous;
	struct nt_keypair *current;
	struct nt_keypair *next;
	nt_keypair_drop_fn *on_drop;
	void *drop_ctx;
	/*
	 * NULL: a dropped keypair is freed at once. Otherwise it is handed to release (after
	 * on_drop), which frees it with nt_session_keypair_free once no other thread can still
	 * hold it (data-plane workers).
	 */
	nt_keypair_drop_fn *release;
	uint64_t last_sent_ms; /* any frame, keepalives included; 0 = never (times are
				  CLOCK_MONOTONIC, never 0 in practice) */
	uint64_t last_received_ms; /* any authenticated frame; 0 = never */
	uint64_t passive_keepalive_at; /* 0 = not armed */
	uint32_t persistent_keepalive_ms; /* 0 = off; NT_PERSISTENT_KEEPALIVE_MS by default */
};

void nt_session_init(struct nt_session *s, nt_keypair_drop_fn *on_drop, void *drop_ctx);
/* Drops (on_drop, then wipe and free) every keypair. The session can be reused. */
void nt_session_clear(struct nt_session *s);
void nt_session_uninit(struct nt_session *s);

/* Takes kp (never fails) and slots it by the rules above; may drop older keypairs. */
void nt_session_keypair_install(struct nt_session *s, struct nt_keypair *kp);

/*
 * Call after every authenticated frame (NT_PKT_OK) on kp. Promotes kp when it is the
 * pending next; returns true then (the caller may flush packets queued for a key). A
 * non-keepalive frame arms the passive keepalive unless we send something first.
 */
bool nt_session_received_with(struct nt_session *s, struct nt_keypair *kp, bool keepalive,
			      uint64_t now_ms);
/* Call after sending any frame (data or keepalive): disarms the passive keepalive. */
void nt_session_sent(struct nt_session *s, uint64_t now_ms);
/*
 * What other threads did with this session's keypairs since the last call, as the times of
 * their latest authenticated frame (rx_ms), latest one carrying data (rx_data_ms) and latest
 * frame sent (tx_ms); 0 = none. Applied in time order as nt_session_received_with (without
 * promotion) and nt_session_sent would have been.
 */
void nt_session_note_io(struct nt_session *s, uint64_t rx_ms, uint64_t rx_data_ms, uint64_t tx_ms);

/* The keypair to encrypt with: current if it can still send, else NULL (handshake). */
struct nt_keypair *nt_session_keypair_for_send(const struct nt_session *s, uint64_t now_ms);
/* The keypair among previous/current/next whose local index is idx, or NULL. */
struct nt_keypair *nt_session_keypair_by_index(const struct nt_session *s, uint32_t idx);

/*
 * Whether to start a handshake before sending: the current keypair is missing or cannot
 * send, or it sent REKEY_AFTER_MESSAGES, or (initiator only) it is older than
 * REKEY_AFTER_TIME.
 */
bool nt_session_needs_rekey(const struct nt_session *s, uint64_t now_ms);
/*
 * Whether to start a handshake after receiving: we initiated the current keypair and it
 * is older than REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT, so it would expire
 * before the peer's next keepalive could prompt us.
 */
bool nt_session_needs_rekey_after_receive(const struct nt_session *s, uint64_t now_ms);
/*
 * The same two rules for a keypair known to be the current one (data-plane workers hold
 * keypairs, not sessions): it sent REKEY_AFTER_MESSAGES or, ours, is older than
 * REKEY_AFTER_TIME; and, after receiving, the age rule above.
 */
bool nt_session_keypair_needs_rekey(const struct nt_keypair *kp, uint64_t now_ms);
bool nt_session_keypair_needs_rekey_after_receive(const struct nt_keypair *kp, uint64_t now_ms);

enum {
	NT_SESSION_SEND_KEEPALIVE = 1U << 0, /* encrypt NT_DATA_INNER_KEEPALIVE with for_send */
};
/*
 * Timer work: drops expired keypairs, then says what is due now (NT_SESSION_* flags) and
 * stores in *next_ms when to call again (UINT64_MAX: nothing pending). A keepalive is due
 * KEEPALIVE_TIMEOUT after an unanswered data frame, or after persistent_keepalive_ms of
 * send silence (at once if nothing was ever sent); only while a keypair can send. A due
 * keepalive is reported once: the deadlines returned assume the caller sends it (and
 * calls nt_session_sent). Rekeying is not a timer: check nt_session_needs_rekey() on the
 * send path and nt_session_needs_rekey_after_receive() on the receive path, as WireGuard.
 */
unsigned int nt_session_tick(struct nt_session *s, uint64_t now_ms, uint64_t *next_ms);

#ifdef __cplusplus
}
#endif
#endif
