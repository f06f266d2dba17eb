// SPDX-License-Identifier: MIT
/*
 * Netron's handshake messages (DESIGN §5, byte layout in docs/handshake.md):
 * Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b, prologue "netron/1", psk = the network PSK.
 *
 *   initiator                                   responder
 *   INIT  type|0|sender|e|enc(TAI64N)|mac1|mac2        -> e            (psk: MixKey(e))
 *   RESP  type|0|sender|receiver|e|enc(s)|enc(ed_pk)|macs   <- e, ee, s, es
 *   FIN   type|0|receiver|enc(s)|enc(ed_pk||TAI64N)|macs    -> s, se, psk
 *
 * The Noise static key is the X25519 form of the node's Ed25519 key; the Ed25519 key
 * itself (the node ID) rides in the payload and must map onto the Noise static key.
 * Checks run cheapest first: length and header, mac1 (one keyed hash, no answer when
 * wrong), mac2/cookie, low-order keys, the INIT replay cache, and only then DH and AEAD.
 */
#include "proto/handshake.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

/* Offsets of the envelope. */
enum {
	OFF_TYPE = 0,
	OFF_SENDER = 4, /* INIT, RESP */
	OFF_RECEIVER_FIN = 4,
	OFF_RECEIVER_RESP = 8,
	INIT_NOISE_OFF = 8,
	INIT_NOISE_LEN = 32 + NT_HS_TAI64N_LEN + 16, /* e | enc(TAI64N) */
	RESP_NOISE_OFF = 12,
	RESP_NOISE_LEN = 32 + 48 + 32 + 16, /* e | enc(s) | enc(ed_pk) */
	FIN_NOISE_OFF = 8,
	FIN_NOISE_LEN = 48 + 32 + NT_HS_TAI64N_LEN + 16, /* enc(s) | enc(ed_pk || TAI64N) */
	FIN_PAYLOAD_LEN = 32 + NT_HS_TAI64N_LEN,
};

_Static_assert(INIT_NOISE_OFF + INIT_NOISE_LEN + NT_COOKIE_MACS_LEN == NT_HS_INIT_LEN, "INIT");
_Static_assert(RESP_NOISE_OFF + RESP_NOISE_LEN + NT_COOKIE_MACS_LEN == NT_HS_RESP_LEN, "RESP");
_Static_assert(FIN_NOISE_OFF + FIN_NOISE_LEN + NT_COOKIE_MACS_LEN == NT_HS_FIN_LEN, "FIN");

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_header(uint8_t *out, uint8_t type)
{
	out[0] = type;
	out[1] = out[2] = out[3] = 0;
}

/* Exact length, type byte and three zero bytes. */
static bool header_ok(const uint8_t *msg, size_t len, uint8_t type, size_t want)
{
	return len == want && msg[OFF_TYPE] == type && msg[1] == 0 && msg[2] == 0 && msg[3] == 0;
}

static enum nt_hs_verdict noise_verdict(ssize_t err)
{
	switch (err) {
	case -EINVAL:
		return NT_HS_DROP_LOW_ORDER;
	case -EBADMSG:
		return NT_HS_DROP_DECRYPT;
	case -EPROTO:
		return NT_HS_DROP_STATE;
	default:
		return NT_HS_DROP_MALFORMED;
	}
}

static uint64_t replay_tag(const struct nt_hs_replay_cache *c, const uint8_t e[32])
{
	uint8_t h[8];
	uint64_t v;

	crypto_shorthash(h, e, 32, c->key);
	memcpy(&v, h, sizeof(v));
	return v | 1; /* never 0 */
}

static bool replay_contains(const struct nt_hs_replay_cache *c, uint64_t tag, uint32_t now_s)
{
	size_t s = (tag >> 32) % NT_HS_REPLAY_SETS;

	for (size_t w = 0; w < NT_HS_REPLAY_WAYS; w++)
		if (c->tag[s][w] == tag && c->until_s[s][w] > now_s)
			return true;
	return false;
}

/*
 * Remembers tag until until_s. A set whose entries all still count gives up its
 * shortest-lived one only when `proven` (the INIT carried a cookie); false otherwise.
 */
static bool replay_insert(struct nt_hs_replay_cache *c, uint64_t tag, uint32_t now_s,
			  uint32_t until_s, bool proven)
{
	size_t s = (tag >> 32) % NT_HS_REPLAY_SETS, victim = 0;

	for (size_t w = 0; w < NT_HS_REPLAY_WAYS; w++) {
		if (c->until_s[s][w] <= now_s) {
			victim = w;
			goto store;
		}
		if (c->until_s[s][w] < c->until_s[s][victim])
			victim = w;
	}
	if (!proven)
		return false;
store:
	c->tag[s][victim] = tag;
	c->until_s[s][victim] = until_s;
	return true;
}

/* Unix milliseconds of a TAI64N label (nt_handshake_tai64n's inverse); 0 if out of range. */
static uint64_t tai64n_to_ms(const uint8_t ts[NT_HS_TAI64N_LEN])
{
	uint64_t label = nt_get_be64(ts);
	uint32_t nsec = (uint32_t)ts[8] << 24 | (uint32_t)ts[9] << 16 | (uint32_t)ts[10] << 8 | ts[11];

	if (label < 0x400000000000000aULL || label - 0x400000000000000aULL > UINT64_MAX / 1000 - 1)
		return 0;
	return (label - 0x400000000000000aULL) * 1000 + nsec / 1000000U;
}

int nt_handshake_local_init(struct nt_handshake_local *l, const struct nt_identity *id,
			    const struct nt_network_keys *keys, uint64_t now_ms)
{
	uint8_t x_pk[32];
	int ret;

	memset(l, 0, sizeof(*l));
	if (!id || !keys || !id->x_sk)
		return -EINVAL;
	/* The X25519 pair must be the Ed25519 key's, or peers would reject our node ID. */
	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, id->ed_pk) != 0 ||
	    sodium_memcmp(x_pk, id->x_pk, 32) != 0)
		return -EINVAL;
	crypto_scalarmult_base(x_pk, id->x_sk);
	if (sodium_memcmp(x_pk, id->x_pk, 32) != 0)
		return -EINVAL;
	if (!nt_noise_pattern_parse(&l->pattern, NT_HS_PROTOCOL_NAME))
		return -EINVAL;
	ret = nt_cookie_checker_init(&l->checker, keys, now_ms);
	if (ret < 0)
		return ret;
	l->id = id;
	l->keys = keys;
	randombytes_buf(l->replay.key, sizeof(l->replay.key));
	return 0;
}

void nt_handshake_local_uninit(struct nt_handshake_local *l)
{
	if (!l)
		return;
	nt_cookie_checker_uninit(&l->checker);
	sodium_memzero(l, sizeof(*l));
}

int nt_handshake_init(struct nt_handshake *hs)
{
	memset(hs, 0, sizeof(*hs));
	nt_cookie_maker_init(&hs->cookie);
	return nt_noise_init(&hs->noise);
}

void nt_handshake_uninit(struct nt_handshake *hs)
{
	if (!hs)
		return;
	nt_noise_uninit(&hs->noise);
	sodium_memzero(hs, sizeof(*hs));
}

/* Everything but the Noise state (which nt_noise_start wipes) and the cookie maker. */
static void reset_attempt(struct nt_handshake *hs)
{
	hs->state = NT_HS_STATE_IDLE;
	hs->initiator = false;
	hs->local_index = hs->remote_index = 0;
	hs->has_remote_id = false;
	memset(hs->tai64n, 0, sizeof(hs->tai64n));
	memset(hs->remote_id, 0, sizeof(hs->remote_id));
}

void nt_handshake_clear(struct nt_handshake *hs)
{
	nt_noise_reset(&hs->noise);
	reset_attempt(hs);
}

void nt_handshake_set_ephemeral(struct nt_handshake *hs, const uint8_t e_sk[32])
{
	nt_noise_set_ephemeral(&hs->noise, e_sk);
}

static int start_noise(struct nt_handshake *hs, struct nt_handshake_local *l, bool initiator)
{
	const uint8_t(*psk)[NT_NOISE_KEYLEN] = (const uint8_t(*)[NT_NOISE_KEYLEN])l->keys->psk;

	return nt_noise_start(&hs->noise, &l->pattern, initiator, (const uint8_t *)NT_HS_PROLOGUE,
			      sizeof(NT_HS_PROLOGUE) - 1, l->id->x_sk, NULL, psk, 1);
}

void nt_handshake_tai64n(uint64_t wall_ms, uint8_t out[NT_HS_TAI64N_LEN])
{
	uint64_t label = 0x400000000000000aULL + wall_ms / 1000;
	uint32_t nsec = (uint32_t)(wall_ms % 1000) * 1000000U;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(label >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}

int nt_handshake_tai64n_compare(const uint8_t a[NT_HS_TAI64N_LEN], const uint8_t b[NT_HS_TAI64N_LEN])
{
	return memcmp(a, b, NT_HS_TAI64N_LEN);
}

/* -> e: the payload is the TAI64N, encrypted because psk handshakes MixKey(e). */
int nt_handshake_create_init(struct nt_handshake *hs, struct nt_handshake_local *l,
			     uint32_t local_index, uint64_t wall_ms, uint64_t now_ms,
			     uint8_t out[NT_HS_INIT_LEN])
{
	ssize_t n;
	int ret;

	reset_attempt(hs);
	ret = start_noise(hs, l, true);
	if (ret < 0)
		goto err;
	nt_handshake_tai64n(wall_ms, hs->tai64n);
	put_header(out, NT_HS_MSG_INIT);
	put_le32(out + OFF_SENDER, local_index);
	n = nt_noise_write_message(&hs->noise, hs->tai64n, NT_HS_TAI64N_LEN, out + INIT_NOISE_OFF,
				   INIT_NOISE_LEN);
	if (n != INIT_NOISE_LEN) {
		ret = n < 0 ? (int)n : -EPROTO;
		goto err;
	}
	nt_cookie_maker_add_macs(&hs->cookie, l->keys, out, NT_HS_INIT_LEN, now_ms);
	hs->state = NT_HS_STATE_INIT_SENT;
	hs->initiator = true;
	hs->local_index = local_index;
	return 0;
err:
	nt_handshake_clear(hs);
	return ret;
}

static enum nt_hs_verdict check_macs(struct nt_handshake_local *l, const uint8_t *msg, size_t len,
				     const union nt_sockaddr *from, bool under_load,
				     uint64_t now_ms, bool is_init)
{
	switch (nt_cookie_checker_validate(&l->checker, msg, len, from, under_load, now_ms)) {
	case NT_COOKIE_OK:
	case NT_COOKIE_OK_WITH_COOKIE:
		return NT_HS_OK;
	case NT_COOKIE_BAD_MAC1:
		return NT_HS_DROP_MAC1;
	default:
		return is_init ? NT_HS_DROP_MAC2_NEEDED : NT_HS_DROP_MAC2;
	}
}

enum nt_hs_verdict nt_handshake_consume_init(struct nt_handshake *hs, struct nt_handshake_local *l,
					     const uint8_t *msg, size_t len,
					     const union nt_sockaddr *from, bool under_load,
					     uint64_t now_ms, uint64_t wall_ms)
{
	const uint8_t *e = msg + INIT_NOISE_OFF;
	uint32_t now_s = (uint32_t)(now_ms / 1000) + 1;
	uint8_t ts[NT_HS_TAI64N_LEN];
	enum nt_hs_verdict v;
	uint64_t tag, sent;
	ssize_t n;

	if (!header_ok(msg, len, NT_HS_MSG_INIT, NT_HS_INIT_LEN))
		return NT_HS_DROP_MALFORMED;
	v = check_macs(l, msg, len, from, under_load, now_ms, true);
	if (v != NT_HS_OK)
		return v;
	if (nt_noise_is_low_order(e))
		return NT_HS_DROP_LOW_ORDER;
	tag = replay_tag(&l->replay, e);
	if (replay_contains(&l->replay, tag, now_s))
		return NT_HS_DROP_REPLAY;

	reset_attempt(hs);
	if (start_noise(hs, l, false) < 0) {
		v = NT_HS_DROP_STATE;
		goto err;
	}
	n = nt_noise_read_message(&hs->noise, e, INIT_NOISE_LEN, ts, sizeof(ts));
	if (n != NT_HS_TAI64N_LEN) {
		v = n < 0 ? noise_verdict(n) : NT_HS_DROP_MALFORMED;
		goto err;
	}
	/*
	 * Fresh by our clock, or refused: then the cache need only hold the window's INITs for
	 * no captured INIT ever to be answered twice.
	 */
	sent = tai64n_to_ms(ts);
	if (!sent || sent + NT_HS_INIT_WINDOW_MS < wall_ms || sent > wall_ms + NT_HS_INIT_WINDOW_MS) {
		v = NT_HS_DROP_STALE;
		goto err;
	}
	/* Remembered only once it decrypted, so a forgery cannot block the real INIT. */
	if (!replay_insert(&l->replay, tag, now_s,
			   now_s + (uint32_t)((sent + NT_HS_INIT_WINDOW_MS - wall_ms) / 1000) + 1,
			   nt_handshake_has_cookie(l, msg, len, from, now_ms))) {
		v = NT_HS_DROP_MAC2_NEEDED;
		goto err;
	}
	memcpy(hs->tai64n, ts, sizeof(ts));
	hs->remote_index = nt_get_le32(msg + OFF_SENDER);
	hs->initiator = false;
	hs->state = NT_HS_STATE_INIT_CONSUMED;
	return NT_HS_OK;
err:
	nt_handshake_clear(hs);
	return v;
}

/* <- e, ee, s, es: the payload is our Ed25519 node ID. */
int nt_handshake_create_resp(struct nt_handshake *hs, struct nt_handshake_local *l,
			     uint32_t local_index, uint64_t now_ms, uint8_t out[NT_HS_RESP_LEN])
{
	ssize_t n;
	int ret;

	if (hs->state != NT_HS_STATE_INIT_CONSUMED)
		return -EPROTO;
	put_header(out, NT_HS_MSG_RESP);
	put_le32(out + OFF_SENDER, local_index);
	put_le32(out + OFF_RECEIVER_RESP, hs->remote_index);
	n = nt_noise_write_message(&hs->noise, l->id->ed_pk, 32, out + RESP_NOISE_OFF, RESP_NOISE_LEN);
	if (n != RESP_NOISE_LEN) {
		ret = n < 0 ? (int)n : -EPROTO;
		nt_handshake_clear(hs);
		return ret;
	}
	nt_cookie_maker_add_macs(&hs->cookie, l->keys, out, NT_HS_RESP_LEN, now_ms);
	hs->local_index = local_index;
	hs->state = NT_HS_STATE_RESP_SENT;
	return 0;
}

/*
 * After the peer's s decrypted: it is not us, and its Ed25519 node ID (in the payload)
 * maps onto it.
 */
static enum nt_hs_verdict check_peer(struct nt_handshake *hs, struct nt_handshake_local *l,
				     const uint8_t ed_pk[32])
{
	uint8_t rs[32], x[32];
	enum nt_hs_verdict v = NT_HS_OK;

	if (!nt_noise_get_remote_static(&hs->noise, rs))
		return NT_HS_DROP_STATE;
	if (sodium_memcmp(rs, l->id->x_pk, 32) == 0 || sodium_memcmp(ed_pk, l->id->ed_pk, 32) == 0)
		v = NT_HS_DROP_SELF;
	else if (crypto_sign_ed25519_pk_to_curve25519(x, ed_pk) != 0 ||
		 sodium_memcmp(x, rs, 32) != 0)
		v = NT_HS_DROP_IDENTITY;
	sodium_memzero(x, sizeof(x));
	return v;
}

enum nt_hs_verdict nt_handshake_consume_resp(struct nt_handshake *hs, struct nt_handshake_local *l,
					     const uint8_t *msg, size_t len,
					     const union nt_sockaddr *from, uint64_t now_ms)
{
	uint8_t ed_pk[32];
	enum nt_hs_verdict v;
	ssize_t n;

	if (!header_ok(msg, len, NT_HS_MSG_RESP, NT_HS_RESP_LEN))
		return NT_HS_DROP_MALFORMED;
	if (hs->state != NT_HS_STATE_INIT_SENT ||
	    nt_get_le32(msg + OFF_RECEIVER_RESP) != hs->local_index)
		return NT_HS_DROP_STATE;
	v = check_macs(l, msg, len, from, false, now_ms, false);
	if (v != NT_HS_OK)
		return v;
	if (nt_noise_is_low_order(msg + RESP_NOISE_OFF))
		return NT_HS_DROP_LOW_ORDER;
	/* A failed read leaves the Noise state untouched: the real RESP can still come. */
	n = nt_noise_read_message(&hs->noise, msg + RESP_NOISE_OFF, RESP_NOISE_LEN, ed_pk,
				  sizeof(ed_pk));
	if (n != 32)
		return n < 0 ? noise_verdict(n) : NT_HS_DROP_MALFORMED;
	v = check_peer(hs, l, ed_pk);
	if (v != NT_HS_OK) {
		nt_handshake_clear(hs);
		return v;
	}
	memcpy(hs->remote_id, ed_pk, 32);
	hs->has_remote_id = true;
	hs->remote_index = nt_get_le32(msg + OFF_SENDER);
	hs->state = NT_HS_STATE_RESP_CONSUMED;
	return NT_HS_OK;
}

/* -> s, se, psk: the payload is our node ID and INIT's TAI64N, now authenticated. */
int nt_handshake_create_fin(struct nt_handshake *hs, struct nt_handshake_local *l, uint64_t now_ms,
			    uint8_t out[NT_HS_FIN_LEN])
{
	uint8_t payload[FIN_PAYLOAD_LEN];
	ssize_t n;
	int ret = 0;

	if (hs->state != NT_HS_STATE_RESP_CONSUMED)
		return -EPROTO;
	memcpy(payload, l->id->ed_pk, 32);
	memcpy(payload + 32, hs->tai64n, NT_HS_TAI64N_LEN);
	put_header(out, NT_HS_MSG_FIN);
	put_le32(out + OFF_RECEIVER_FIN, hs->remote_index);
	n = nt_noise_write_message(&hs->noise, payload, sizeof(payload), out + FIN_NOISE_OFF,
				   FIN_NOISE_LEN);
	if (n != FIN_NOISE_LEN) {
		ret = n < 0 ? (int)n : -EPROTO;
		nt_handshake_clear(hs);
		goto out;
	}
	nt_cookie_maker_add_macs(&hs->cookie, l->keys, out, NT_HS_FIN_LEN, now_ms);
	hs->state = NT_HS_STATE_ESTABLISHED;
out:
	sodium_memzero(payload, sizeof(payload));
	return ret;
}

enum nt_hs_verdict nt_handshake_consume_fin(struct nt_handshake *hs, struct nt_handshake_local *l,
					    const uint8_t *msg, size_t len,
					    const union nt_sockaddr *from, uint64_t now_ms)
{
	uint8_t payload[FIN_PAYLOAD_LEN];
	enum nt_hs_verdict v;
	ssize_t n;

	if (!header_ok(msg, len, NT_HS_MSG_FIN, NT_HS_FIN_LEN))
		return NT_HS_DROP_MALFORMED;
	if (nt_get_le32(msg + OFF_RECEIVER_FIN) != hs->local_index)
		return NT_HS_DROP_STATE;
	v = check_macs(l, msg, len, from, false, now_ms, false);
	if (v != NT_HS_OK)
		return v;
	if (!hs->initiator &&
	    (hs->state == NT_HS_STATE_ESTABLISHED || hs->state == NT_HS_STATE_FINISHED))
		return NT_HS_DROP_REPLAY;
	if (hs->state != NT_HS_STATE_RESP_SENT)
		return NT_HS_DROP_STATE;
	n = nt_noise_read_message(&hs->noise, msg + FIN_NOISE_OFF, FIN_NOISE_LEN, payload,
				  sizeof(payload));
	if (n != FIN_PAYLOAD_LEN) {
		v = n < 0 ? noise_verdict(n) : NT_HS_DROP_MALFORMED;
		goto out;
	}
	v = check_peer(hs, l, payload);
	if (v == NT_HS_OK && sodium_memcmp(payload + 32, hs->tai64n, NT_HS_TAI64N_LEN) != 0)
		v = NT_HS_DROP_TIMESTAMP;
	if (v != NT_HS_OK) {
		nt_handshake_clear(hs);
		goto out;
	}
	memcpy(hs->remote_id, payload, 32);
	hs->has_remote_id = true;
	hs->state = NT_HS_STATE_ESTABLISHED;
out:
	sodium_memzero(payload, sizeof(payload));
	return v;
}

int nt_handshake_finish(struct nt_handshake *hs, struct nt_handshake_result *out)
{
	uint8_t i2r[32], r2i[32];
	int ret;

	if (hs->state != NT_HS_STATE_ESTABLISHED || !hs->has_remote_id)
		return -EPROTO;
	ret = nt_noise_split(&hs->noise, i2r, r2i);
	if (ret < 0)
		goto out;
	memcpy(out->peer_id, hs->remote_id, 32);
	memcpy(out->send_key, hs->initiator ? i2r : r2i, 32);
	memcpy(out->recv_key, hs->initiator ? r2i : i2r, 32);
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	out->initiator = hs->initiator;
	memcpy(out->tai64n, hs->tai64n, NT_HS_TAI64N_LEN);
	nt_noise_reset(&hs->noise);
	hs->state = NT_HS_STATE_FINISHED;
out:
	sodium_memzero(i2r, sizeof(i2r));
	sodium_memzero(r2i, sizeof(r2i));
	return ret;
}

int nt_handshake_create_cookie_reply(struct nt_handshake_local *l, const uint8_t *msg, size_t len,
				     const union nt_sockaddr *from, uint64_t now_ms,
				     uint8_t out[NT_HS_COOKIE_REPLY_LEN])
{
	if (!header_ok(msg, len, NT_HS_MSG_INIT, NT_HS_INIT_LEN))
		return -EINVAL;
	return nt_cookie_checker_create_reply(&l->checker, msg, len, nt_get_le32(msg + OFF_SENDER),
					      from, now_ms, out);
}

enum nt_hs_verdict nt_handshake_consume_cookie_reply(struct nt_handshake *hs,
						     struct nt_handshake_local *l,
						     const uint8_t *msg, size_t len, uint64_t now_ms)
{
	int ret;

	if (!header_ok(msg, len, NT_HS_MSG_COOKIE_REPLY, NT_HS_COOKIE_REPLY_LEN))
		return NT_HS_DROP_MALFORMED;
	if (hs->state != NT_HS_STATE_INIT_SENT || nt_get_le32(msg + 4) != hs->local_index)
		return NT_HS_DROP_STATE;
	ret = nt_cookie_maker_consume_reply(&hs->cookie, l->keys, msg, len, now_ms);
	if (ret == -EBADMSG)
		return NT_HS_DROP_DECRYPT;
	if (ret < 0)
		return NT_HS_DROP_STATE;
	return NT_HS_OK;
}

enum nt_hs_verdict nt_handshake_check_envelope(const struct nt_handshake_local *l,
					       const uint8_t *msg, size_t len)
{
	return nt_handshake_check_mac1(l->keys, msg, len);
}

enum nt_hs_verdict nt_handshake_check_mac1(const struct nt_network_keys *keys, const uint8_t *msg,
					   size_t len)
{
	uint8_t mac1[NT_COOKIE_MAC_LEN];
	uint32_t receiver;
	uint8_t type;

	if (!nt_handshake_peek(msg, len, &type, &receiver))
		return NT_HS_DROP_MALFORMED;
	if (type == NT_HS_MSG_COOKIE_REPLY)
		return NT_HS_OK;
	nt_cookie_mac1_compute(keys->mac1_key, msg, len, mac1);
	if (sodium_memcmp(mac1, msg + len - NT_COOKIE_MACS_LEN, NT_COOKIE_MAC_LEN) != 0)
		return NT_HS_DROP_MAC1;
	return NT_HS_OK;
}

bool nt_handshake_has_cookie(struct nt_handshake_local *l, const uint8_t *msg, size_t len,
			     const union nt_sockaddr *from, uint64_t now_ms)
{
	return len >= NT_COOKIE_MACS_LEN &&
	       nt_cookie_checker_validate(&l->checker, msg, len, from, true, now_ms) ==
		       NT_COOKIE_OK_WITH_COOKIE;
}

bool nt_handshake_peek(const uint8_t *msg, size_t len, uint8_t *type, uint32_t *receiver_index)
{
	if (len < 4)
		return false;
	switch (msg[0]) {
	case NT_HS_MSG_INIT:
		if (!header_ok(msg, len, NT_HS_MSG_INIT, NT_HS_INIT_LEN))
			return false;
		*receiver_index = 0;
		break;
	case NT_HS_MSG_RESP:
		if (!header_ok(msg, len, NT_HS_MSG_RESP, NT_HS_RESP_LEN))
			return false;
		*receiver_index = nt_get_le32(msg + OFF_RECEIVER_RESP);
		break;
	case NT_HS_MSG_FIN:
		if (!header_ok(msg, len, NT_HS_MSG_FIN, NT_HS_FIN_LEN))
			return false;
		*receiver_index = nt_get_le32(msg + OFF_RECEIVER_FIN);
		break;
	case NT_HS_MSG_COOKIE_REPLY:
		if (!header_ok(msg, len, NT_HS_MSG_COOKIE_REPLY, NT_HS_COOKIE_REPLY_LEN))
			return false;
		*receiver_index = nt_get_le32(msg + 4);
		break;
	default:
		return false;
	}
	*type = msg[0];
	return true;
}

const char *nt_handshake_verdict_str(enum nt_hs_verdict v)
{
	static const char *const names[NT_HS_VERDICT_COUNT] = {
		[NT_HS_OK] = "ok",
		[NT_HS_DROP_MALFORMED] = "malformed",
		[NT_HS_DROP_MAC1] = "bad mac1",
		[NT_HS_DROP_MAC2_NEEDED] = "mac2 needed",
		[NT_HS_DROP_MAC2] = "bad mac2",
		[NT_HS_DROP_REPLAY] = "replay",
		[NT_HS_DROP_LOW_ORDER] = "low-order key",
		[NT_HS_DROP_DECRYPT] = "decryption failed",
		[NT_HS_DROP_SELF] = "handshake with ourselves",
		[NT_HS_DROP_IDENTITY] = "node ID does not match static key",
		[NT_HS_DROP_TIMESTAMP] = "timestamp mismatch",
		[NT_HS_DROP_STATE] = "unexpected in this state",
		[NT_HS_DROP_STALE] = "timestamp outside the window",
	};

	if ((unsigned int)v >= NT_HS_VERDICT_COUNT)
		return "unknown";
	return names[v];
}
