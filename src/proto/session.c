// SPDX-License-Identifier: MIT
/*
 * Data frames (type 0xE5) and keypair rotation, the transport half of DESIGN §5:
 *
 *	type(1)=0xE5 | zero(3) | receiver_index(4, LE) | counter(8, LE) | AEAD(plaintext) | tag(16)
 *
 * AEAD is ChaCha20-Poly1305-IETF with nonce = 0x00000000 || counter (LE), and the 16-byte
 * header as associated data, so no header bit can be changed without failing the tag.
 * The plaintext starts with an inner type byte (keepalive, IP packet, control message).
 * Keypairs rotate previous/current/next and expire as in WireGuard (REKEY 120 s / 2^60
 * messages, REJECT 180 s / 2^64 - 2^13 - 1 messages); the receive side uses the RFC 6479
 * window of replay.c, updated only after a frame authenticated. See docs/data-frames.md.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "proto/session.h"
#include "core/util.h"

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)nt_get_le32(p) | (uint64_t)nt_get_le32(p + 4) << 32;
}


/* The 96-bit IETF nonce: four zero bytes, then the counter little-endian. */
static inline void replay_lock(struct nt_keypair *kp)
{
	while (__atomic_test_and_set(&kp->replay_lock, __ATOMIC_ACQUIRE))
		;
}

static inline void replay_unlock(struct nt_keypair *kp)
{
	__atomic_clear(&kp->replay_lock, __ATOMIC_RELEASE);
}

static void make_nonce(uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES], uint64_t counter)
{
	memset(nonce, 0, 4);
	put_le64(nonce + 4, counter);
}

/* Monotonic age; a clock that went backwards counts as age 0. */
static inline uint64_t age_of(const struct nt_keypair *kp, uint64_t now_ms)
{
	return now_ms > kp->created_ms ? now_ms - kp->created_ms : 0;
}

int nt_session_keypair_new(struct nt_keypair **out, const uint8_t send_key[NT_DATA_KEY_LEN],
			   const uint8_t recv_key[NT_DATA_KEY_LEN], uint32_t local_index,
			   uint32_t remote_index, bool initiator, uint64_t now_ms)
{
	struct nt_keypair *kp;
	/* sodium_malloc aligns the end of the block, not its start: round the size up. */
	size_t size = (sizeof(*kp) + 15) & ~(size_t)15;

	*out = NULL;
	if (sodium_init() < 0)
		return -EIO;
	kp = sodium_malloc(size);
	if (!kp)
		return -ENOMEM;
	memset(kp, 0, size);
	memcpy(kp->send_key, send_key, NT_DATA_KEY_LEN);
	memcpy(kp->recv_key, recv_key, NT_DATA_KEY_LEN);
	nt_replay_init(&kp->replay);
	kp->created_ms = now_ms;
	kp->local_index = local_index;
	kp->remote_index = remote_index;
	kp->initiator = initiator;
	*out = kp;
	return 0;
}

void nt_session_keypair_free(struct nt_keypair *kp)
{
	/* sodium_free wipes the whole block, keys and window alike. */
	if (kp)
		sodium_free(kp);
}

uint64_t nt_session_rekey_after_time_ms = NT_REKEY_AFTER_TIME_MS;

static inline uint64_t sent_count(const struct nt_keypair *kp)
{
	return __atomic_load_n(&kp->send_counter, __ATOMIC_RELAXED);
}

bool nt_session_keypair_can_send(const struct nt_keypair *kp, uint64_t now_ms)
{
	return age_of(kp, now_ms) < NT_REJECT_AFTER_TIME_MS && sent_count(kp) < NT_REJECT_AFTER_MESSAGES;
}

bool nt_session_keypair_can_receive(const struct nt_keypair *kp, uint64_t now_ms)
{
	return age_of(kp, now_ms) < NT_REJECT_AFTER_TIME_MS;
}

int nt_session_keypair_encrypt(struct nt_keypair *kp, uint8_t *buf, size_t buf_size,
			       size_t plain_len, uint64_t now_ms)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint64_t counter;

	if (plain_len == 0)
		return -EINVAL;
	if (buf_size < NT_DATA_OVERHEAD || plain_len > buf_size - NT_DATA_OVERHEAD)
		return -EMSGSIZE;
	if (!nt_session_keypair_can_send(kp, now_ms))
		return -EKEYEXPIRED;
	/* Workers encrypt with one keypair at once: each takes its own counter. */
	counter = __atomic_fetch_add(&kp->send_counter, 1, __ATOMIC_RELAXED);
	if (counter >= NT_REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;

	/* The header first: it is the associated data. */
	buf[0] = NT_MSG_DATA;
	buf[1] = buf[2] = buf[3] = 0;
	put_le32(buf + 4, kp->remote_index);
	put_le64(buf + 8, counter);
	make_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		buf + NT_DATA_HEADER_LEN, buf + NT_DATA_HEADER_LEN + plain_len, NULL,
		buf + NT_DATA_HEADER_LEN, plain_len, buf, NT_DATA_HEADER_LEN, NULL, nonce,
		kp->send_key);
	return 0;
}

ssize_t nt_session_keypair_encrypt_batch(struct nt_keypair *kp, struct nt_data_buf *bufs, size_t n,
					 uint64_t now_ms)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int ret = nt_session_keypair_encrypt(kp, bufs[i].data, bufs[i].size, bufs[i].len,
						     now_ms);
		if (ret < 0) {
			if (i == 0)
				return ret;
			break;
		}
		bufs[i].len += NT_DATA_OVERHEAD;
	}
	return (ssize_t)i;
}

enum nt_pkt_verdict nt_session_frame_parse_header(const uint8_t *frame, size_t len,
						  uint32_t *receiver_index, uint64_t *counter)
{
	if (len < NT_DATA_MIN_LEN)
		return NT_PKT_DROP_SHORT;
	if (frame[0] != NT_MSG_DATA || frame[1] != 0 || frame[2] != 0 || frame[3] != 0)
		return NT_PKT_DROP_HEADER;
	if (receiver_index)
		*receiver_index = nt_get_le32(frame + 4);
	if (counter)
		*counter = get_le64(frame + 8);
	return NT_PKT_OK;
}

/*
 * The plaintext after authentication: p[0] is the inner type, n >= 1. An IP packet must
 * be a whole IPv4 or IPv6 packet by its own length field; bytes after it are padding.
 */
static enum nt_pkt_verdict parse_inner(uint8_t *p, size_t n, struct nt_data_rx *rx)
{
	size_t avail = n - 1, ip_len;

	rx->inner_type = p[0];
	rx->ip_version = 0;
	rx->payload = p + 1;
	rx->payload_len = avail;
	switch (p[0]) {
	case NT_DATA_INNER_KEEPALIVE:
		rx->payload_len = 0;
		return NT_PKT_OK;
	case NT_DATA_INNER_IP:
		break;
	default:
		return NT_PKT_OK; /* control: the integrator parses it */
	}

	if (avail < 1)
		return NT_PKT_DROP_INNER;
	switch (p[1] >> 4) {
	case 4:
		if (avail < 20)
			return NT_PKT_DROP_INNER;
		ip_len = nt_get_be16(p + 1 + 2); /* total length */
		if (ip_len < 20 || ip_len < (size_t)(p[1] & 0x0f) * 4)
			return NT_PKT_DROP_INNER;
		break;
	case 6:
		if (avail < 40)
			return NT_PKT_DROP_INNER;
		ip_len = 40 + (size_t)nt_get_be16(p + 1 + 4); /* header + payload length */
		break;
	default:
		return NT_PKT_DROP_INNER;
	}
	if (ip_len > avail)
		return NT_PKT_DROP_INNER;
	rx->ip_version = p[1] >> 4;
	rx->payload_len = ip_len;
	return NT_PKT_OK;
}

enum nt_pkt_verdict nt_session_keypair_decrypt(struct nt_keypair *kp, uint8_t *frame, size_t len,
					       uint64_t now_ms, struct nt_data_rx *rx)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	enum nt_pkt_verdict v;
	uint32_t index;
	uint64_t counter;
	size_t clen;
	bool fresh;

	v = nt_session_frame_parse_header(frame, len, &index, &counter);
	if (v != NT_PKT_OK)
		return v;
	if (index != kp->local_index)
		return NT_PKT_DROP_INDEX;
	if (!nt_session_keypair_can_receive(kp, now_ms) || counter >= NT_REJECT_AFTER_MESSAGES)
		return NT_PKT_DROP_EXPIRED;
	/* Cheap: no AEAD work for frames we would refuse anyway. */
	replay_lock(kp);
	fresh = nt_replay_is_fresh(&kp->replay, counter, NT_REJECT_AFTER_MESSAGES);
	replay_unlock(kp);
	if (!fresh)
		return NT_PKT_DROP_REPLAY;

	clen = len - NT_DATA_OVERHEAD;
	make_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		    frame + NT_DATA_HEADER_LEN, NULL, frame + NT_DATA_HEADER_LEN, clen,
		    frame + NT_DATA_HEADER_LEN + clen, frame, NT_DATA_HEADER_LEN, nonce,
		    kp->recv_key) != 0)
		return NT_PKT_DROP_AUTH;

	/*
	 * Only an authentic frame may slide the window. Checked again because a frame with
	 * the same counter may have been accepted since the first check, by another worker.
	 */
	replay_lock(kp);
	fresh = nt_replay_check_and_update(&kp->replay, counter, NT_REJECT_AFTER_MESSAGES);
	replay_unlock(kp);
	if (!fresh)
		return NT_PKT_DROP_REPLAY;

	rx->counter = counter;
	return parse_inner(frame + NT_DATA_HEADER_LEN, clen, rx);
}

const char *nt_session_verdict_name(enum nt_pkt_verdict v)
{
	static const char *const names[NT_PKT_VERDICT_COUNT] = {
		[NT_PKT_OK] = "ok",
		[NT_PKT_DROP_SHORT] = "drop_short",
		[NT_PKT_DROP_HEADER] = "drop_header",
		[NT_PKT_DROP_INDEX] = "drop_index",
		[NT_PKT_DROP_EXPIRED] = "drop_expired",
		[NT_PKT_DROP_REPLAY] = "drop_replay",
		[NT_PKT_DROP_AUTH] = "drop_auth",
		[NT_PKT_DROP_INNER] = "drop_inner",
	};

	if ((unsigned int)v >= NT_PKT_VERDICT_COUNT)
		return "unknown";
	return names[v];
}

void nt_session_init(struct nt_session *s, nt_keypair_drop_fn *on_drop, void *drop_ctx)
{
	memset(s, 0, sizeof(*s));
	s->on_drop = on_drop;
	s->drop_ctx = drop_ctx;
	s->persistent_keepalive_ms = NT_PERSISTENT_KEEPALIVE_MS;
}

/* kp must already be unlinked from s, so the callback sees a consistent session. */
static void drop(struct nt_session *s, struct nt_keypair *kp)
{
	if (!kp)
		return;
	if (s->on_drop)
		s->on_drop(s->drop_ctx, kp);
	if (s->release)
		s->release(s->drop_ctx, kp);
	else
		nt_session_keypair_free(kp);
}

void nt_session_clear(struct nt_session *s)
{
	struct nt_keypair *prev = s->previous, *cur = s->current, *next = s->next;

	/* Unlink next first: it is the one a concurrent receive could still promote. */
	s->next = NULL;
	s->current = NULL;
	s->previous = NULL;
	s->passive_keepalive_at = 0;
	drop(s, next);
	drop(s, cur);
	drop(s, prev);
}

void nt_session_uninit(struct nt_session *s)
{
	nt_session_clear(s);
}

void nt_session_keypair_install(struct nt_session *s, struct nt_keypair *kp)
{
	struct nt_keypair *prev = s->previous, *cur = s->current, *next = s->next;

	if (kp->initiator) {
		/*
		 * We can send on it at once: the responder has the keys since it answered.
		 * A pending next (from a handshake the peer initiated) keeps receiving as
		 * previous, since the peer may already use it; the old current then goes.
		 */
		s->current = kp;
		if (next) {
			s->next = NULL;
			s->previous = next;
			drop(s, cur);
		} else {
			s->previous = cur;
		}
		drop(s, prev);
	} else {
		/*
		 * The initiator has not confirmed it holds the keys until its first frame on
		 * them arrives: wait in next. Current keeps sending meanwhile.
		 */
		s->next = kp;
		s->previous = NULL;
		drop(s, next);
		drop(s, prev);
	}
}

bool nt_session_received_with(struct nt_session *s, struct nt_keypair *kp, bool keepalive,
			      uint64_t now_ms)
{
	bool promoted = false;

	s->last_received_ms = now_ms;
	if (!keepalive && !s->passive_keepalive_at)
		s->passive_keepalive_at = now_ms + NT_KEEPALIVE_TIMEOUT_MS;

	if (kp && kp == s->next) {
		struct nt_keypair *prev = s->previous;

		s->previous = s->current;
		s->current = kp;
		s->next = NULL;
		drop(s, prev);
		promoted = true;
	}
	return promoted;
}

void nt_session_sent(struct nt_session *s, uint64_t now_ms)
{
	s->last_sent_ms = now_ms;
	s->passive_keepalive_at = 0;
}

void nt_session_note_io(struct nt_session *s, uint64_t rx_ms, uint64_t rx_data_ms, uint64_t tx_ms)
{
	if (rx_ms > s->last_received_ms)
		s->last_received_ms = rx_ms;
	if (tx_ms > s->last_sent_ms)
		s->last_sent_ms = tx_ms;
	/* Armed by data at passive_keepalive_at - KEEPALIVE_TIMEOUT: a later send answered it. */
	if (s->passive_keepalive_at &&
	    s->last_sent_ms >= s->passive_keepalive_at - NT_KEEPALIVE_TIMEOUT_MS)
		s->passive_keepalive_at = 0;
	if (!s->passive_keepalive_at && rx_data_ms > s->last_sent_ms)
		s->passive_keepalive_at = rx_data_ms + NT_KEEPALIVE_TIMEOUT_MS;
}

struct nt_keypair *nt_session_keypair_for_send(const struct nt_session *s, uint64_t now_ms)
{
	if (s->current && nt_session_keypair_can_send(s->current, now_ms))
		return s->current;
	return NULL;
}

struct nt_keypair *nt_session_keypair_by_index(const struct nt_session *s, uint32_t idx)
{
	struct nt_keypair *const all[] = { s->current, s->previous, s->next };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i] && all[i]->local_index == idx)
			return all[i];
	return NULL;
}

bool nt_session_keypair_needs_rekey(const struct nt_keypair *kp, uint64_t now_ms)
{
	if (sent_count(kp) >= NT_REKEY_AFTER_MESSAGES)
		return true;
	return kp->initiator && age_of(kp, now_ms) >= nt_session_rekey_after_time_ms;
}

bool nt_session_needs_rekey(const struct nt_session *s, uint64_t now_ms)
{
	const struct nt_keypair *kp = s->current;

	if (!kp || !nt_session_keypair_can_send(kp, now_ms))
		return true;
	return nt_session_keypair_needs_rekey(kp, now_ms);
}

bool nt_session_keypair_needs_rekey_after_receive(const struct nt_keypair *kp, uint64_t now_ms)
{
	return kp->initiator && age_of(kp, now_ms) >= NT_REJECT_AFTER_TIME_MS -
							    NT_KEEPALIVE_TIMEOUT_MS - NT_REKEY_TIMEOUT_MS;
}

bool nt_session_needs_rekey_after_receive(const struct nt_session *s, uint64_t now_ms)
{
	return s->current && nt_session_keypair_needs_rekey_after_receive(s->current, now_ms);
}

static inline void earliest(uint64_t *next_ms, uint64_t t)
{
	if (t < *next_ms)
		*next_ms = t;
}

unsigned int nt_session_tick(struct nt_session *s, uint64_t now_ms, uint64_t *next_ms)
{
	struct nt_keypair **slots[] = { &s->next, &s->current, &s->previous };
	unsigned int due = 0;
	uint64_t next = UINT64_MAX;

	/* Expiry: a keypair nobody may use any more only costs a lookup slot. */
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		struct nt_keypair *kp = *slots[i];

		if (!kp)
			continue;
		if (!nt_session_keypair_can_receive(kp, now_ms)) {
			*slots[i] = NULL;
			drop(s, kp);
			continue;
		}
		earliest(&next, kp->created_ms + NT_REJECT_AFTER_TIME_MS);
	}

	if (!nt_session_keypair_for_send(s, now_ms)) {
		/* Nothing to send with: keepalives wait for the next handshake. */
		s->passive_keepalive_at = 0;
		*next_ms = next;
		return 0;
	}

	if (s->passive_keepalive_at) {
		if (now_ms >= s->passive_keepalive_at) {
			due |= NT_SESSION_SEND_KEEPALIVE;
			s->passive_keepalive_at = 0;
		} else {
			earliest(&next, s->passive_keepalive_at);
		}
	}
	if (s->persistent_keepalive_ms) {
		uint64_t at = s->last_sent_ms ? s->last_sent_ms + s->persistent_keepalive_ms : 0;

		if ((due & NT_SESSION_SEND_KEEPALIVE) || now_ms >= at) {
			due |= NT_SESSION_SEND_KEEPALIVE;
			at = now_ms + s->persistent_keepalive_ms;
		}
		earliest(&next, at);
	}
	*next_ms = next;
	return due;
}
