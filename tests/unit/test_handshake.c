// SPDX-License-Identifier: MIT
/*
 * The handshake between in-process identities, with a fake clock and no sockets: a full
 * INIT/RESP/FIN whose keys work crosswise, wrong networks and wrong PSKs, every single-bit
 * flip of every message (as an outsider and as a network member who can recompute mac1),
 * lengths, replays, low-order keys, node-ID mismatches, self-handshakes, the cookie flow
 * under load and simultaneous initiation.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/util.h"
#include "proto/handshake.h"

enum { T0 = 1000000, WALL = 1700000000123ULL };

struct node {
	struct nt_identity id;
	struct nt_network_keys *keys;
	struct nt_handshake_local local;
	union nt_sockaddr addr;
};

/* Network keys from a seed; psk_seed lets two networks share mac1/cookie keys only. */
static struct nt_network_keys *make_keys(uint8_t seed, uint8_t psk_seed)
{
	struct nt_network_keys *k = sodium_malloc(sizeof(*k));
	uint8_t s[2] = { seed, psk_seed };

	assert_non_null(k);
	memset(k, 0, sizeof(*k));
	crypto_generichash(k->psk, 32, s + 1, 1, (const uint8_t *)"test psk........", 16);
	crypto_generichash(k->mac1_key, 32, s, 1, (const uint8_t *)"test mac1.......", 16);
	crypto_generichash(k->cookie_key, 32, s, 1, (const uint8_t *)"test cookie.....", 16);
	return k;
}

static void make_identity(struct nt_identity *id)
{
	id->ed_sk = sodium_malloc(64);
	id->x_sk = sodium_malloc(32);
	assert_non_null(id->ed_sk);
	assert_non_null(id->x_sk);
	crypto_sign_keypair(id->ed_pk, id->ed_sk);
	assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->ed_pk), 0);
	assert_int_equal(crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk), 0);
}

static void node_up(struct node *n, uint8_t net, uint8_t psk, const char *addr)
{
	memset(n, 0, sizeof(*n));
	make_identity(&n->id);
	n->keys = make_keys(net, psk);
	assert_int_equal(nt_handshake_local_init(&n->local, &n->id, n->keys, T0), 0);
	assert_true(nt_sockaddr_parse(addr, &n->addr));
}

static void node_down(struct node *n)
{
	nt_handshake_local_uninit(&n->local);
	sodium_free(n->keys);
	sodium_free(n->id.ed_sk);
	sodium_free(n->id.x_sk);
}

struct pair {
	struct node a, b;
	struct nt_handshake ha, hb; /* a initiates, b responds */
	uint8_t init[NT_HS_INIT_LEN], resp[NT_HS_RESP_LEN], fin[NT_HS_FIN_LEN];
};

static int pair_setup(void **state)
{
	struct pair *p = test_malloc(sizeof(*p));

	node_up(&p->a, 1, 1, "192.0.2.1:51830");
	node_up(&p->b, 1, 1, "198.51.100.2:51830");
	assert_int_equal(nt_handshake_init(&p->ha), 0);
	assert_int_equal(nt_handshake_init(&p->hb), 0);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;

	nt_handshake_uninit(&p->ha);
	nt_handshake_uninit(&p->hb);
	node_down(&p->a);
	node_down(&p->b);
	test_free(p);
	return 0;
}

/* INIT and RESP, leaving a in RESP_CONSUMED... no: a in INIT_SENT with p->resp ready. */
static void run_to_resp(struct pair *p, uint64_t now)
{
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 0x11111111, WALL, now, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, sizeof(p->init),
						   &p->a.addr, false, now, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->b.local, 0x22222222, now, p->resp), 0);
}

static void run_to_fin(struct pair *p, uint64_t now)
{
	run_to_resp(p, now);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, sizeof(p->resp),
						   &p->b.addr, now),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_fin(&p->ha, &p->a.local, now, p->fin), 0);
}

/* Both results' keys work crosswise for ChaCha20-Poly1305 in both directions. */
static void assert_keys_interoperate(const struct nt_handshake_result *x,
				     const struct nt_handshake_result *y)
{
	static const uint8_t msg[] = "an IP packet, more or less";
	uint8_t nonce[12] = { 0 }, ct[sizeof(msg) + 16], pt[sizeof(msg)];
	unsigned long long len;

	assert_memory_equal(x->send_key, y->recv_key, 32);
	assert_memory_equal(x->recv_key, y->send_key, 32);
	assert_memory_not_equal(x->send_key, x->recv_key, 32);
	assert_int_equal(x->local_index, y->remote_index);
	assert_int_equal(x->remote_index, y->local_index);
	assert_true(x->initiator != y->initiator);
	assert_memory_equal(x->tai64n, y->tai64n, NT_HS_TAI64N_LEN);

	crypto_aead_chacha20poly1305_ietf_encrypt(ct, &len, msg, sizeof(msg), NULL, 0, NULL, nonce,
						  x->send_key);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &len, NULL, ct, sizeof(ct),
								   NULL, 0, nonce, y->recv_key),
			 0);
	assert_memory_equal(pt, msg, sizeof(msg));
	crypto_aead_chacha20poly1305_ietf_encrypt(ct, &len, msg, sizeof(msg), NULL, 0, NULL, nonce,
						  y->send_key);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &len, NULL, ct, sizeof(ct),
								   NULL, 0, nonce, x->recv_key),
			 0);
	/* And the other direction's key does not decrypt it. */
	assert_int_not_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &len, NULL, ct, sizeof(ct),
								       NULL, 0, nonce, x->send_key),
			     0);
}

static void test_full_handshake(void **state)
{
	struct pair *p = *state;
	struct nt_handshake_result ra, rb;
	uint8_t type, tai[NT_HS_TAI64N_LEN];
	uint32_t idx;

	run_to_fin(p, T0);
	assert_int_equal(p->init[0], 0xE1);
	assert_int_equal(p->resp[0], 0xE2);
	assert_int_equal(p->fin[0], 0xE3);
	/* The integrator routes by the receiver index before consuming. */
	assert_true(nt_handshake_peek(p->resp, sizeof(p->resp), &type, &idx));
	assert_int_equal(type, NT_HS_MSG_RESP);
	assert_int_equal(idx, 0x11111111);
	assert_true(nt_handshake_peek(p->fin, sizeof(p->fin), &type, &idx));
	assert_int_equal(type, NT_HS_MSG_FIN);
	assert_int_equal(idx, 0x22222222);
	assert_true(nt_handshake_peek(p->init, sizeof(p->init), &type, &idx));
	assert_int_equal(type, NT_HS_MSG_INIT);
	assert_int_equal(idx, 0);
	/* Little-endian indices at their offsets. */
	assert_int_equal(p->init[4], 0x11);
	assert_int_equal(p->resp[4], 0x22);
	assert_int_equal(p->resp[8], 0x11);

	assert_int_equal(nt_handshake_finish(&p->hb, &rb), -EPROTO); /* FIN not consumed yet */
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, sizeof(p->fin),
						  &p->a.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_finish(&p->ha, &ra), 0);
	assert_int_equal(nt_handshake_finish(&p->hb, &rb), 0);
	assert_int_equal(nt_handshake_finish(&p->ha, &ra), -EPROTO); /* secrets are gone */

	assert_memory_equal(ra.peer_id, p->b.id.ed_pk, 32);
	assert_memory_equal(rb.peer_id, p->a.id.ed_pk, 32);
	assert_true(ra.initiator);
	assert_false(rb.initiator);
	assert_int_equal(ra.local_index, 0x11111111);
	assert_int_equal(ra.remote_index, 0x22222222);
	nt_handshake_tai64n(WALL, tai);
	assert_memory_equal(rb.tai64n, tai, sizeof(tai));
	assert_keys_interoperate(&ra, &rb);
	assert_int_equal(p->ha.state, NT_HS_STATE_FINISHED);
	sodium_memzero(&ra, sizeof(ra));
	sodium_memzero(&rb, sizeof(rb));
}

static void test_wrong_network(void **state)
{
	struct pair *p = *state;
	struct node other, psk_only;
	struct nt_handshake h;

	(void)p;
	/* Another network: mac1 differs, so INIT dies at the first hash. */
	node_up(&other, 2, 2, "203.0.113.9:1");
	assert_int_equal(nt_handshake_init(&h), 0);
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 1, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&h, &other.local, p->init, sizeof(p->init),
						   &p->a.addr, false, T0, WALL),
			 NT_HS_DROP_MAC1);
	assert_int_equal(h.state, NT_HS_STATE_IDLE);

	/* Same mac1 and cookie keys, another PSK: fails exactly at the psk3 step (FIN). */
	node_up(&psk_only, 1, 9, "203.0.113.10:1");
	assert_int_equal(nt_handshake_consume_init(&h, &psk_only.local, p->init, sizeof(p->init),
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&h, &psk_only.local, 2, T0, p->resp), 0);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, sizeof(p->resp),
						   &psk_only.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_fin(&p->ha, &p->a.local, T0, p->fin), 0);
	assert_int_equal(nt_handshake_consume_fin(&h, &psk_only.local, p->fin, sizeof(p->fin),
						  &p->a.addr, T0),
			 NT_HS_DROP_DECRYPT);
	nt_handshake_uninit(&h);
	node_down(&other);
	node_down(&psk_only);
}

/* Recomputes mac1 (and zeroes mac2) as a network member could. */
static void remac(const struct node *n, uint8_t *msg, size_t len)
{
	nt_cookie_mac1_compute(n->keys->mac1_key, msg, len, msg + len - 32);
	memset(msg + len - 16, 0, 16);
}

static void flip(uint8_t *m, size_t bit)
{
	m[bit / 8] ^= (uint8_t)(1U << (bit % 8));
}

static void test_bit_flips(void **state)
{
	struct pair *p = *state;
	struct nt_handshake scratch;
	uint8_t m[NT_HS_RESP_LEN], cookie[NT_HS_COOKIE_REPLY_LEN];
	struct nt_handshake_result ra, rb;
	enum nt_hs_verdict v;

	assert_int_equal(nt_handshake_init(&scratch), 0);
	run_to_fin(p, T0);

	/* INIT: every flip, by an outsider (macs as is) and by a member (mac1 recomputed). */
	for (size_t bit = 0; bit < NT_HS_INIT_LEN * 8; bit++) {
		memcpy(m, p->init, NT_HS_INIT_LEN);
		flip(m, bit);
		v = nt_handshake_consume_init(&scratch, &p->b.local, m, NT_HS_INIT_LEN, &p->a.addr,
					      false, T0, WALL);
		if (v == NT_HS_OK)
			fail_msg("INIT bit %zu accepted", bit);
		/* The sender index is authenticated by mac1 only (as in WireGuard). */
		if (bit / 8 >= 4 && bit / 8 < 8)
			continue;
		if (bit / 8 < NT_HS_INIT_LEN - 32) {
			remac(&p->a, m, NT_HS_INIT_LEN);
			v = nt_handshake_consume_init(&scratch, &p->b.local, m, NT_HS_INIT_LEN,
						      &p->a.addr, false, T0, WALL);
			if (v == NT_HS_OK)
				fail_msg("INIT bit %zu accepted with a member's mac1", bit);
		}
	}
	/* RESP into a's waiting handshake: each rejection leaves it able to take the real one. */
	for (size_t bit = 0; bit < NT_HS_RESP_LEN * 8; bit++) {
		memcpy(m, p->resp, NT_HS_RESP_LEN);
		flip(m, bit);
		v = nt_handshake_consume_resp(&p->ha, &p->a.local, m, NT_HS_RESP_LEN, &p->b.addr, T0);
		if (v == NT_HS_OK)
			fail_msg("RESP bit %zu accepted", bit);
		if (bit / 8 >= 4 && bit / 8 < 8)
			continue;
		if (bit / 8 < NT_HS_RESP_LEN - 32) {
			remac(&p->b, m, NT_HS_RESP_LEN);
			v = nt_handshake_consume_resp(&p->ha, &p->a.local, m, NT_HS_RESP_LEN,
						      &p->b.addr, T0);
			if (v == NT_HS_OK)
				fail_msg("RESP bit %zu accepted with a member's mac1", bit);
		}
	}
	/* a already consumed the real RESP in run_to_fin; b is waiting for FIN. */
	for (size_t bit = 0; bit < NT_HS_FIN_LEN * 8; bit++) {
		memcpy(m, p->fin, NT_HS_FIN_LEN);
		flip(m, bit);
		v = nt_handshake_consume_fin(&p->hb, &p->b.local, m, NT_HS_FIN_LEN, &p->a.addr, T0);
		if (v == NT_HS_OK)
			fail_msg("FIN bit %zu accepted", bit);
		if (bit / 8 < NT_HS_FIN_LEN - 32) {
			remac(&p->a, m, NT_HS_FIN_LEN);
			v = nt_handshake_consume_fin(&p->hb, &p->b.local, m, NT_HS_FIN_LEN,
						     &p->a.addr, T0);
			if (v == NT_HS_OK)
				fail_msg("FIN bit %zu accepted with a member's mac1", bit);
		}
	}
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, NT_HS_FIN_LEN,
						  &p->a.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_finish(&p->ha, &ra), 0);
	assert_int_equal(nt_handshake_finish(&p->hb, &rb), 0);
	assert_keys_interoperate(&ra, &rb);

	/* The real INIT and RESP still pass after all that (fresh attempt, same bytes). */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 7, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, true, T0, WALL),
			 NT_HS_DROP_MAC2_NEEDED);
	assert_int_equal(nt_handshake_create_cookie_reply(&p->b.local, p->init, NT_HS_INIT_LEN,
							  &p->a.addr, T0, cookie),
			 0);
	for (size_t bit = 0; bit < NT_HS_COOKIE_REPLY_LEN * 8; bit++) {
		memcpy(m, cookie, NT_HS_COOKIE_REPLY_LEN);
		flip(m, bit);
		v = nt_handshake_consume_cookie_reply(&p->ha, &p->a.local, m, NT_HS_COOKIE_REPLY_LEN, T0);
		if (v == NT_HS_OK)
			fail_msg("COOKIE_REPLY bit %zu accepted", bit);
	}
	assert_int_equal(nt_handshake_consume_cookie_reply(&p->ha, &p->a.local, cookie,
							   NT_HS_COOKIE_REPLY_LEN, T0),
			 NT_HS_OK);
	nt_handshake_uninit(&scratch);
}

static void test_lengths(void **state)
{
	struct pair *p = *state;
	uint8_t big[400], type;
	uint32_t idx;
	static const struct {
		uint8_t type;
		size_t len;
	} msgs[] = { { 0xE1, NT_HS_INIT_LEN }, { 0xE2, NT_HS_RESP_LEN }, { 0xE3, NT_HS_FIN_LEN },
		     { 0xE4, NT_HS_COOKIE_REPLY_LEN } };

	run_to_resp(p, T0);
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i < NT_ARRAY_SIZE(msgs); i++) {
		size_t lens[] = { 0, 1, 4, 8, msgs[i].len - 1, msgs[i].len + 1, sizeof(big) };
		const uint8_t *src = msgs[i].type == 0xE1 ? p->init : msgs[i].type == 0xE2 ? p->resp : NULL;

		for (size_t j = 0; j < NT_ARRAY_SIZE(lens); j++) {
			memset(big, 0, sizeof(big));
			if (src)
				memcpy(big, src, msgs[i].len);
			big[0] = msgs[i].type;
			assert_false(nt_handshake_peek(big, lens[j], &type, &idx));
			assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, big, lens[j],
								   &p->a.addr, false, T0, WALL),
					 NT_HS_DROP_MALFORMED);
			assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, big, lens[j],
								   &p->b.addr, T0),
					 NT_HS_DROP_MALFORMED);
			assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, big, lens[j],
								  &p->a.addr, T0),
					 NT_HS_DROP_MALFORMED);
			assert_int_equal(nt_handshake_consume_cookie_reply(&p->ha, &p->a.local, big,
									   lens[j], T0),
					 NT_HS_DROP_MALFORMED);
		}
	}
	/* Unknown types, right lengths. */
	big[0] = 0xE5;
	assert_false(nt_handshake_peek(big, NT_HS_INIT_LEN, &type, &idx));
	big[0] = 0x64;
	assert_false(nt_handshake_peek(big, NT_HS_RESP_LEN, &type, &idx));
	/* The real RESP is still accepted. */
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_OK);
}

static void test_replayed_init(void **state)
{
	struct pair *p = *state;
	struct nt_handshake other;
	uint8_t m[NT_HS_INIT_LEN];

	assert_int_equal(nt_handshake_init(&other), 0);
	run_to_resp(p, T0);
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, p->init, sizeof(p->init),
						   &p->a.addr, false, T0 + 5, WALL),
			 NT_HS_DROP_REPLAY);
	assert_int_equal(other.state, NT_HS_STATE_IDLE);
	/* Same e, garbled payload, valid member mac1: still REPLAY, not DECRYPT: the cache is
	 * checked before any decryption (and consume_init does no DH at all). */
	memcpy(m, p->init, sizeof(m));
	m[50] ^= 1;
	remac(&p->a, m, sizeof(m));
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr,
						   false, T0, WALL),
			 NT_HS_DROP_REPLAY);
	/* A forgery with a fresh e fails to decrypt and is not remembered... */
	memcpy(m, p->init, sizeof(m));
	m[8] ^= 2;
	remac(&p->a, m, sizeof(m));
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr,
						   false, T0, WALL),
			 NT_HS_DROP_DECRYPT);
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr,
						   false, T0, WALL),
			 NT_HS_DROP_DECRYPT);
	/* ...and b's first attempt is intact. */
	assert_int_equal(p->hb.state, NT_HS_STATE_RESP_SENT);
	nt_handshake_uninit(&other);
}

/*
 * A captured INIT replayed after many others (more than the cache holds at once) is still
 * refused: the cache keeps each INIT for as long as its timestamp is in the window, a full
 * set asks for a cookie instead of forgetting, and an INIT older than the window is refused
 * outright.
 */
static void test_replay_after_flood(void **state)
{
	struct pair *p = *state;
	struct nt_handshake other, h;
	uint8_t first[NT_HS_INIT_LEN], m[NT_HS_INIT_LEN];
	unsigned int ok = 0, cookie = 0;

	assert_int_equal(nt_handshake_init(&other), 0);
	assert_int_equal(nt_handshake_init(&h), 0);
	assert_int_equal(nt_handshake_create_init(&h, &p->a.local, 1, WALL, T0, first), 0);
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, first, sizeof(first),
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	/* 8,000 fresh INITs from a member, twice what the cache holds. */
	for (unsigned int i = 0; i < 8000; i++) {
		enum nt_hs_verdict v;

		assert_int_equal(nt_handshake_create_init(&h, &p->a.local, 2 + i, WALL, T0 + i, m), 0);
		v = nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr, false,
					      T0 + i, WALL + i);
		assert_true(v == NT_HS_OK || v == NT_HS_DROP_MAC2_NEEDED);
		ok += v == NT_HS_OK;
		cookie += v == NT_HS_DROP_MAC2_NEEDED;
	}
	assert_true(ok >= 3900); /* nearly every way of every set is used */
	assert_true(cookie > 0); /* and a full set asks for a cookie instead of forgetting */
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, first, sizeof(first),
						   &p->a.addr, false, T0 + 9000, WALL + 9000),
			 NT_HS_DROP_REPLAY);
	/* Once its timestamp has left the window, it is refused for that, and forgotten. */
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, first, sizeof(first),
						   &p->a.addr, false, T0 + NT_HS_INIT_WINDOW_MS + 2000,
						   WALL + NT_HS_INIT_WINDOW_MS + 2000),
			 NT_HS_DROP_STALE);
	/* An INIT from a clock further ahead than the window is refused too. */
	assert_int_equal(nt_handshake_create_init(&h, &p->a.local, 9, WALL + NT_HS_INIT_WINDOW_MS + 1000,
						  T0, m),
			 0);
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr, false,
						   T0 + NT_HS_INIT_WINDOW_MS + 5000, WALL),
			 NT_HS_DROP_STALE);
	/* Within the window, either way, is fine. */
	assert_int_equal(nt_handshake_create_init(&h, &p->a.local, 10, WALL + NT_HS_INIT_WINDOW_MS - 1000,
						  T0, m),
			 0);
	assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, sizeof(m), &p->a.addr, false,
						   T0 + NT_HS_INIT_WINDOW_MS + 6000, WALL),
			 NT_HS_OK);
	nt_handshake_uninit(&h);
	nt_handshake_uninit(&other);
}

/* The envelope check: what a stranger's junk costs (one hash) and what it is told (nothing). */
static void test_envelope(void **state)
{
	struct pair *p = *state;
	uint8_t m[NT_HS_INIT_LEN];

	run_to_fin(p, T0);
	assert_int_equal(nt_handshake_check_envelope(&p->b.local, p->init, NT_HS_INIT_LEN), NT_HS_OK);
	assert_int_equal(nt_handshake_check_envelope(&p->a.local, p->resp, NT_HS_RESP_LEN), NT_HS_OK);
	assert_int_equal(nt_handshake_check_envelope(&p->b.local, p->fin, NT_HS_FIN_LEN), NT_HS_OK);
	memcpy(m, p->init, sizeof(m));
	m[20] ^= 1;
	assert_int_equal(nt_handshake_check_envelope(&p->b.local, m, sizeof(m)), NT_HS_DROP_MAC1);
	assert_int_equal(nt_handshake_check_envelope(&p->b.local, p->init, NT_HS_INIT_LEN - 1),
			 NT_HS_DROP_MALFORMED);
	assert_int_equal(nt_handshake_check_envelope(&p->b.local, p->resp, NT_HS_INIT_LEN),
			 NT_HS_DROP_MALFORMED);
	/* No cookie in a zero mac2. */
	assert_false(nt_handshake_has_cookie(&p->b.local, p->init, NT_HS_INIT_LEN, &p->a.addr, T0));
}

static void test_replayed_fin(void **state)
{
	struct pair *p = *state;
	struct nt_handshake_result r;
	uint8_t old_fin[NT_HS_FIN_LEN];

	run_to_fin(p, T0);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, sizeof(p->fin),
						  &p->a.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, sizeof(p->fin),
						  &p->a.addr, T0),
			 NT_HS_DROP_REPLAY);
	assert_int_equal(nt_handshake_finish(&p->hb, &r), 0);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, sizeof(p->fin),
						  &p->a.addr, T0),
			 NT_HS_DROP_REPLAY);
	/* Into a later attempt that reuses the same index: bound to the old ephemerals. */
	memcpy(old_fin, p->fin, sizeof(old_fin));
	run_to_resp(p, T0 + 1000);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, old_fin, sizeof(old_fin),
						  &p->a.addr, T0 + 1000),
			 NT_HS_DROP_DECRYPT);
	assert_int_equal(p->hb.state, NT_HS_STATE_RESP_SENT);
	/* A FIN sent to the initiator's slot is not for it. */
	assert_int_equal(nt_handshake_consume_fin(&p->ha, &p->a.local, old_fin, sizeof(old_fin),
						  &p->b.addr, T0 + 1000),
			 NT_HS_DROP_STATE);
	sodium_memzero(&r, sizeof(r));
}

static void test_low_order(void **state)
{
	struct pair *p = *state;
	struct nt_handshake other;
	uint8_t m[NT_HS_RESP_LEN];
	static const char *const points[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"0100000000000000000000000000000000000000000000000000000000000080",
	};

	assert_int_equal(nt_handshake_init(&other), 0);
	run_to_resp(p, T0);
	for (size_t i = 0; i < NT_ARRAY_SIZE(points); i++) {
		memcpy(m, p->init, NT_HS_INIT_LEN);
		assert_true(nt_hex_decode(m + 8, 32, points[i]));
		remac(&p->a, m, NT_HS_INIT_LEN);
		assert_int_equal(nt_handshake_consume_init(&other, &p->b.local, m, NT_HS_INIT_LEN,
							   &p->a.addr, false, T0, WALL),
				 NT_HS_DROP_LOW_ORDER);
		memcpy(m, p->resp, NT_HS_RESP_LEN);
		assert_true(nt_hex_decode(m + 12, 32, points[i]));
		remac(&p->b, m, NT_HS_RESP_LEN);
		assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, m, NT_HS_RESP_LEN,
							   &p->b.addr, T0),
				 NT_HS_DROP_LOW_ORDER);
	}
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_OK);
	nt_handshake_uninit(&other);
}

/* Builds a RESP or FIN by hand with an arbitrary payload, through the raw Noise state. */
static void forge(struct nt_handshake *hs, const struct node *n, uint8_t type, uint32_t sender,
		  uint32_t receiver, const uint8_t *payload, size_t plen, uint8_t *out, size_t len)
{
	size_t off = type == NT_HS_MSG_RESP ? 12 : 8;

	memset(out, 0, len);
	out[0] = type;
	if (type == NT_HS_MSG_RESP) {
		nt_put_le32(out + 4, sender); /* session indices are little-endian */
		nt_put_le32(out + 8, receiver);
	} else {
		nt_put_le32(out + 4, receiver);
	}
	assert_int_equal(nt_noise_write_message(&hs->noise, payload, plen, out + off, len - off - 32),
			 (ssize_t)(len - off - 32));
	remac(n, out, len);
}

static void test_identity_checks(void **state)
{
	struct pair *p = *state;
	struct node liar;
	uint8_t m[NT_HS_RESP_LEN], payload[44];

	node_up(&liar, 1, 1, "203.0.113.7:9");
	/* RESP whose Ed25519 payload is someone else's node ID. */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 1, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	forge(&p->hb, &p->b, NT_HS_MSG_RESP, 2, 1, liar.id.ed_pk, 32, m, NT_HS_RESP_LEN);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, m, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_DROP_IDENTITY);
	assert_int_equal(p->ha.state, NT_HS_STATE_IDLE);

	/* FIN with a foreign node ID, then with a TAI64N other than INIT's. */
	for (int round = 0; round < 2; round++) {
		run_to_resp(p, T0);
		assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp,
							   NT_HS_RESP_LEN, &p->b.addr, T0),
				 NT_HS_OK);
		memcpy(payload, round == 0 ? liar.id.ed_pk : p->a.id.ed_pk, 32);
		nt_handshake_tai64n(WALL + (round == 0 ? 0 : 1), payload + 32);
		forge(&p->ha, &p->a, NT_HS_MSG_FIN, 0, 0x22222222, payload, 44, m, NT_HS_FIN_LEN);
		assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, m, NT_HS_FIN_LEN,
							  &p->a.addr, T0),
				 round == 0 ? NT_HS_DROP_IDENTITY : NT_HS_DROP_TIMESTAMP);
		assert_int_equal(p->hb.state, NT_HS_STATE_IDLE);
	}
	node_down(&liar);
}

static void test_self_handshake(void **state)
{
	struct pair *p = *state;
	struct node twin;
	struct nt_handshake_local twin_local;
	struct nt_identity bad;

	/* a sends INIT to its own address and answers it. */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 1, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->a.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->a.local, 2, T0, p->resp), 0);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->a.addr, T0),
			 NT_HS_DROP_SELF);

	/* Two processes with one identity (a copied state dir) reject each other too. */
	node_up(&twin, 1, 1, "192.0.2.99:1");
	assert_int_equal(nt_handshake_local_init(&twin_local, &p->a.id, twin.keys, T0), 0);
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 1, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &twin_local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &twin_local, 2, T0, p->resp), 0);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->a.addr, T0),
			 NT_HS_DROP_SELF);
	nt_handshake_local_uninit(&twin_local);

	/* An identity whose X25519 pair is not its Ed25519 key's is refused up front. */
	bad = p->a.id;
	bad.x_pk[0] ^= 1;
	assert_int_equal(nt_handshake_local_init(&twin_local, &bad, twin.keys, T0), -EINVAL);
	bad = p->a.id;
	bad.x_sk = p->b.id.x_sk;
	assert_int_equal(nt_handshake_local_init(&twin_local, &bad, twin.keys, T0), -EINVAL);
	node_down(&twin);
}

static void test_cookie_under_load(void **state)
{
	struct pair *p = *state;
	union nt_sockaddr elsewhere, other_port;
	uint8_t cookie[NT_HS_COOKIE_REPLY_LEN], type;
	struct nt_handshake_result ra, rb;
	uint32_t idx;

	assert_true(nt_sockaddr_parse("192.0.2.77:51830", &elsewhere));
	assert_true(nt_sockaddr_parse("192.0.2.1:51831", &other_port));
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 5, WALL, T0, p->init), 0);
	assert_true(sodium_is_zero(p->init + NT_HS_INIT_LEN - 16, 16)); /* no cookie yet */
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, true, T0, WALL),
			 NT_HS_DROP_MAC2_NEEDED);
	assert_int_equal(p->hb.state, NT_HS_STATE_IDLE);
	assert_int_equal(nt_handshake_create_cookie_reply(&p->b.local, p->init, NT_HS_INIT_LEN,
							  &p->a.addr, T0, cookie),
			 0);
	assert_true(nt_handshake_peek(cookie, sizeof(cookie), &type, &idx));
	assert_int_equal(type, NT_HS_MSG_COOKIE_REPLY);
	assert_int_equal(idx, 5);
	assert_int_equal(nt_handshake_create_cookie_reply(&p->b.local, p->resp, 10, &p->a.addr, T0,
							  cookie + 0),
			 -EINVAL);
	assert_int_equal(nt_handshake_create_cookie_reply(&p->b.local, p->init, NT_HS_INIT_LEN,
							  &p->a.addr, T0, cookie),
			 0);
	assert_int_equal(nt_handshake_consume_cookie_reply(&p->ha, &p->a.local, cookie,
							   sizeof(cookie), T0 + 10),
			 NT_HS_OK);
	/* One reply per message: a replay of it finds nothing to answer. */
	assert_int_equal(nt_handshake_consume_cookie_reply(&p->ha, &p->a.local, cookie,
							   sizeof(cookie), T0 + 10),
			 NT_HS_DROP_STATE);

	/* The retry carries mac2 and gets through, from the cookie's address only. */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 5, WALL + 20, T0 + 20, p->init), 0);
	assert_false(sodium_is_zero(p->init + NT_HS_INIT_LEN - 16, 16));
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &elsewhere, true, T0 + 20, WALL),
			 NT_HS_DROP_MAC2_NEEDED);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &other_port, true, T0 + 20, WALL),
			 NT_HS_DROP_MAC2_NEEDED);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, true, T0 + 20, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->b.local, 6, T0 + 20, p->resp), 0);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0 + 20),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_fin(&p->ha, &p->a.local, T0 + 20, p->fin), 0);
	/* FIN carries mac2 too: checked against a's address, and valid. */
	assert_false(sodium_is_zero(p->fin + NT_HS_FIN_LEN - 16, 16));
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, NT_HS_FIN_LEN,
						  &elsewhere, T0 + 20),
			 NT_HS_DROP_MAC2);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, NT_HS_FIN_LEN,
						  &p->a.addr, T0 + 20),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_finish(&p->ha, &ra), 0);
	assert_int_equal(nt_handshake_finish(&p->hb, &rb), 0);
	assert_keys_interoperate(&ra, &rb);

	/* 120 s later the initiator stops using the cookie: mac2 is needed again. */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 5, WALL, T0 + 10 + 120000,
						  p->init),
			 0);
	assert_true(sodium_is_zero(p->init + NT_HS_INIT_LEN - 16, 16));
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, true, T0 + 10 + 120000, WALL),
			 NT_HS_DROP_MAC2_NEEDED);
	/* Not under load, the same INIT is fine. */
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0 + 10 + 120000, WALL),
			 NT_HS_OK);
}

/* Both sides initiate at once; each ends with two sessions, and each works with its twin. */
static void test_simultaneous(void **state)
{
	struct pair *p = *state;
	struct nt_handshake a_resp, b_init;
	uint8_t init_b[NT_HS_INIT_LEN], resp_a[NT_HS_RESP_LEN], fin_b[NT_HS_FIN_LEN];
	struct nt_handshake_result a_as_i, a_as_r, b_as_i, b_as_r;

	assert_int_equal(nt_handshake_init(&a_resp), 0);
	assert_int_equal(nt_handshake_init(&b_init), 0);
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 0xA1, WALL, T0, p->init), 0);
	assert_int_equal(nt_handshake_create_init(&b_init, &p->b.local, 0xB1, WALL + 3, T0, init_b), 0);
	/* The INITs cross. */
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_consume_init(&a_resp, &p->a.local, init_b, NT_HS_INIT_LEN,
						   &p->b.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->b.local, 0xB2, T0, p->resp), 0);
	assert_int_equal(nt_handshake_create_resp(&a_resp, &p->a.local, 0xA2, T0, resp_a), 0);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_consume_resp(&b_init, &p->b.local, resp_a, NT_HS_RESP_LEN,
						   &p->a.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_fin(&p->ha, &p->a.local, T0, p->fin), 0);
	assert_int_equal(nt_handshake_create_fin(&b_init, &p->b.local, T0, fin_b), 0);
	assert_int_equal(nt_handshake_consume_fin(&p->hb, &p->b.local, p->fin, NT_HS_FIN_LEN,
						  &p->a.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_consume_fin(&a_resp, &p->a.local, fin_b, NT_HS_FIN_LEN,
						  &p->b.addr, T0),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_finish(&p->ha, &a_as_i), 0);
	assert_int_equal(nt_handshake_finish(&a_resp, &a_as_r), 0);
	assert_int_equal(nt_handshake_finish(&b_init, &b_as_i), 0);
	assert_int_equal(nt_handshake_finish(&p->hb, &b_as_r), 0);

	assert_keys_interoperate(&a_as_i, &b_as_r);
	assert_keys_interoperate(&b_as_i, &a_as_r);
	assert_memory_equal(a_as_i.peer_id, p->b.id.ed_pk, 32);
	assert_memory_equal(a_as_r.peer_id, p->b.id.ed_pk, 32);
	/* Two distinct sessions: neither pair of keys works with the other pair. */
	assert_memory_not_equal(a_as_i.send_key, a_as_r.send_key, 32);
	assert_memory_not_equal(a_as_i.send_key, b_as_i.recv_key, 32);
	/* Each side learns the other's timestamps to keep the newest per peer. */
	assert_true(nt_handshake_tai64n_compare(a_as_r.tai64n, b_as_r.tai64n) > 0);
	nt_handshake_uninit(&a_resp);
	nt_handshake_uninit(&b_init);
}

static void test_states(void **state)
{
	struct pair *p = *state;
	uint8_t out[NT_HS_RESP_LEN];

	/* Creating out of order is refused and does not disturb anything. */
	assert_int_equal(nt_handshake_create_resp(&p->ha, &p->a.local, 1, T0, out), -EPROTO);
	assert_int_equal(nt_handshake_create_fin(&p->ha, &p->a.local, T0, out), -EPROTO);
	run_to_resp(p, T0);
	assert_int_equal(nt_handshake_create_fin(&p->hb, &p->b.local, T0, out), -EPROTO);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->b.local, 1, T0, out), -EPROTO);
	/* RESP for another index, RESP to the responder. */
	out[0] = 0;
	memcpy(out, p->resp, NT_HS_RESP_LEN);
	out[8] ^= 1;
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, out, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_DROP_STATE);
	assert_int_equal(nt_handshake_consume_resp(&p->hb, &p->b.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_DROP_STATE);
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_OK);
	/* A second RESP after the first. */
	assert_int_equal(nt_handshake_consume_resp(&p->ha, &p->a.local, p->resp, NT_HS_RESP_LEN,
						   &p->b.addr, T0),
			 NT_HS_DROP_STATE);
}

static void test_tai64n(void **state)
{
	uint8_t a[12], b[12];
	static const uint8_t zero[12] = { 0x40, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 0 };
	static const uint8_t t1500[12] = { 0x40, 0, 0, 0, 0, 0, 0, 0x0b, 0x1d, 0xcd, 0x65, 0x00 };

	(void)state;
	nt_handshake_tai64n(0, a);
	assert_memory_equal(a, zero, 12);
	nt_handshake_tai64n(1500, a);
	assert_memory_equal(a, t1500, 12);
	nt_handshake_tai64n(WALL, a);
	nt_handshake_tai64n(WALL + 1, b);
	assert_true(nt_handshake_tai64n_compare(a, b) < 0);
	assert_true(nt_handshake_tai64n_compare(b, a) > 0);
	assert_int_equal(nt_handshake_tai64n_compare(a, a), 0);
	nt_handshake_tai64n(999, a);
	nt_handshake_tai64n(1000, b);
	assert_true(nt_handshake_tai64n_compare(a, b) < 0);
}

/* The test hook makes messages reproducible (the fuzz seeds rely on it). */
static void test_injected_ephemeral(void **state)
{
	struct pair *p = *state;
	uint8_t e[32], first[NT_HS_INIT_LEN], pk[32];

	memset(e, 0x5a, sizeof(e));
	crypto_scalarmult_base(pk, e);
	nt_handshake_set_ephemeral(&p->ha, e);
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 3, WALL, T0, first), 0);
	assert_memory_equal(first + 8, pk, 32);
	nt_handshake_set_ephemeral(&p->ha, e);
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 3, WALL, T0, p->init), 0);
	assert_memory_equal(first, p->init, NT_HS_INIT_LEN);
	/* Used once: the next one is random again. */
	assert_int_equal(nt_handshake_create_init(&p->ha, &p->a.local, 3, WALL, T0, p->init), 0);
	assert_memory_not_equal(first + 8, p->init + 8, 32);
	/* A responder's injected key survives consume_init and is used by create_resp. */
	nt_handshake_set_ephemeral(&p->hb, e);
	assert_int_equal(nt_handshake_consume_init(&p->hb, &p->b.local, p->init, NT_HS_INIT_LEN,
						   &p->a.addr, false, T0, WALL),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_resp(&p->hb, &p->b.local, 4, T0, p->resp), 0);
	assert_memory_equal(p->resp + 12, pk, 32);
}

static void test_verdict_str(void **state)
{
	(void)state;
	for (int v = 0; v < NT_HS_VERDICT_COUNT; v++) {
		const char *s = nt_handshake_verdict_str((enum nt_hs_verdict)v);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown");
		for (int w = 0; w < v; w++)
			assert_string_not_equal(s, nt_handshake_verdict_str((enum nt_hs_verdict)w));
	}
	assert_string_equal(nt_handshake_verdict_str(NT_HS_VERDICT_COUNT), "unknown");
}

#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_handshake),   T(test_wrong_network),	T(test_bit_flips),
		T(test_lengths),	  T(test_injected_ephemeral),	  T(test_replayed_init),	T(test_replayed_fin),
		T(test_replay_after_flood), T(test_envelope),
		T(test_low_order),	  T(test_identity_checks),	T(test_self_handshake),
		T(test_cookie_under_load), T(test_simultaneous),	T(test_states),
		cmocka_unit_test(test_tai64n), cmocka_unit_test(test_verdict_str),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
