// SPDX-License-Identifier: MIT
/*
 * mac1/mac2 and cookie replies (DESIGN §5; the scheme of WireGuard's §5.4.4 and §5.4.7 with
 * a network-wide key instead of the responder's public key).
 *
 * mac1 proves the sender holds the network token: a message with a wrong mac1 costs one
 * BLAKE2b and gets no answer. Under load, the responder also wants mac2, keyed with a
 * cookie that proves the sender can receive at its source address: it answers such a
 * message with a COOKIE_REPLY instead of doing Diffie-Hellman, and the initiator retries
 * with mac2. The cookie is a MAC of the source address under a secret that rotates every
 * NT_COOKIE_SECRET_LIFETIME_MS, so the responder stores nothing per initiator.
 */
#include "proto/cookie.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static void mac16(uint8_t out[NT_COOKIE_MAC_LEN], const uint8_t *key, size_t key_len,
		  const uint8_t *msg, size_t len)
{
	crypto_generichash(out, NT_COOKIE_MAC_LEN, msg, len, key, key_len);
}

void nt_cookie_mac1_compute(const uint8_t mac1_key[32], const uint8_t *msg, size_t len,
			    uint8_t out[NT_COOKIE_MAC_LEN])
{
	mac16(out, mac1_key, 32, msg, len - NT_COOKIE_MACS_LEN);
}

/* cookie = BLAKE2b-128(secret, IPv4 (4) or IPv6 (16) address || port, network order). */
static int make_cookie(uint8_t out[NT_COOKIE_LEN], const uint8_t secret[32],
		       const union nt_sockaddr *from)
{
	uint8_t in[18];
	size_t len;

	switch (from->sa.sa_family) {
	case AF_INET:
		memcpy(in, &from->in4.sin_addr, 4);
		memcpy(in + 4, &from->in4.sin_port, 2);
		len = 6;
		break;
	case AF_INET6:
		memcpy(in, &from->in6.sin6_addr, 16);
		memcpy(in + 16, &from->in6.sin6_port, 2);
		len = 18;
		break;
	default:
		return -EINVAL;
	}
	mac16(out, secret, 32, in, len);
	return 0;
}

/* Rotates the secret when it is older than its lifetime; called before every use. */
static void rotate_secret(struct nt_cookie_checker *cc, uint64_t now_ms)
{
	uint64_t age = now_ms - cc->secret_birth_ms;

	if (now_ms >= cc->secret_birth_ms && age < NT_COOKIE_SECRET_LIFETIME_MS)
		return;
	/* Older than two lifetimes (or the clock went back): nothing issued under it lives. */
	cc->has_previous = now_ms >= cc->secret_birth_ms && age < 2ULL * NT_COOKIE_SECRET_LIFETIME_MS;
	memcpy(cc->secrets + 32, cc->secrets, 32);
	randombytes_buf(cc->secrets, 32);
	cc->secret_birth_ms = now_ms;
}

int nt_cookie_checker_init(struct nt_cookie_checker *cc, const struct nt_network_keys *keys,
			   uint64_t now_ms)
{
	memset(cc, 0, sizeof(*cc));
	cc->secrets = sodium_malloc(64);
	if (!cc->secrets)
		return -ENOMEM;
	randombytes_buf(cc->secrets, 64);
	cc->keys = keys;
	cc->secret_birth_ms = now_ms;
	cc->has_previous = false;
	return 0;
}

void nt_cookie_checker_uninit(struct nt_cookie_checker *cc)
{
	if (!cc)
		return;
	if (cc->secrets)
		sodium_free(cc->secrets);
	memset(cc, 0, sizeof(*cc));
}

static bool mac2_matches(const uint8_t secret[32], const uint8_t *msg, size_t len,
			 const union nt_sockaddr *from)
{
	uint8_t cookie[NT_COOKIE_LEN], mac2[NT_COOKIE_MAC_LEN];
	bool ok = false;

	if (make_cookie(cookie, secret, from) == 0) {
		mac16(mac2, cookie, sizeof(cookie), msg, len - NT_COOKIE_MAC_LEN);
		ok = sodium_memcmp(mac2, msg + len - NT_COOKIE_MAC_LEN, NT_COOKIE_MAC_LEN) == 0;
	}
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

enum nt_cookie_verdict nt_cookie_checker_validate(struct nt_cookie_checker *cc, const uint8_t *msg,
						  size_t len, const union nt_sockaddr *from,
						  bool under_load, uint64_t now_ms)
{
	uint8_t mac1[NT_COOKIE_MAC_LEN];
	const uint8_t *mac2 = msg + len - NT_COOKIE_MAC_LEN;

	nt_cookie_mac1_compute(cc->keys->mac1_key, msg, len, mac1);
	if (sodium_memcmp(mac1, msg + len - NT_COOKIE_MACS_LEN, NT_COOKIE_MAC_LEN) != 0)
		return NT_COOKIE_BAD_MAC1;
	if (sodium_is_zero(mac2, NT_COOKIE_MAC_LEN))
		return under_load ? NT_COOKIE_BAD_MAC2 : NT_COOKIE_OK;
	rotate_secret(cc, now_ms);
	if (mac2_matches(cc->secrets, msg, len, from))
		return NT_COOKIE_OK_WITH_COOKIE;
	if (cc->has_previous && mac2_matches(cc->secrets + 32, msg, len, from))
		return NT_COOKIE_OK_WITH_COOKIE;
	return NT_COOKIE_BAD_MAC2;
}

int nt_cookie_checker_create_reply(struct nt_cookie_checker *cc, const uint8_t *msg, size_t len,
				   uint32_t receiver_index, const union nt_sockaddr *from,
				   uint64_t now_ms, uint8_t out[NT_COOKIE_REPLY_LEN])
{
	uint8_t cookie[NT_COOKIE_LEN];
	const uint8_t *mac1;
	int ret;

	if (len < NT_COOKIE_MACS_LEN)
		return -EINVAL;
	mac1 = msg + len - NT_COOKIE_MACS_LEN;
	rotate_secret(cc, now_ms);
	ret = make_cookie(cookie, cc->secrets, from);
	if (ret < 0)
		goto out;
	out[0] = NT_COOKIE_REPLY_TYPE;
	out[1] = out[2] = out[3] = 0;
	for (int i = 0; i < 4; i++)
		out[4 + i] = (uint8_t)(receiver_index >> (8 * i));
	randombytes_buf(out + 8, NT_COOKIE_NONCE_LEN);
	/* The AD ties the reply to the one message it answers. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 8 + NT_COOKIE_NONCE_LEN, NULL, cookie,
						   sizeof(cookie), mac1, NT_COOKIE_MAC_LEN, NULL,
						   out + 8, cc->keys->cookie_key);
out:
	sodium_memzero(cookie, sizeof(cookie));
	return ret;
}

void nt_cookie_maker_init(struct nt_cookie_maker *cm)
{
	memset(cm, 0, sizeof(*cm));
}

void nt_cookie_maker_clear(struct nt_cookie_maker *cm)
{
	sodium_memzero(cm, sizeof(*cm));
}

void nt_cookie_maker_add_macs(struct nt_cookie_maker *cm, const struct nt_network_keys *keys,
			      uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t *mac1 = msg + len - NT_COOKIE_MACS_LEN, *mac2 = mac1 + NT_COOKIE_MAC_LEN;

	nt_cookie_mac1_compute(keys->mac1_key, msg, len, mac1);
	memcpy(cm->last_mac1, mac1, NT_COOKIE_MAC_LEN);
	cm->has_last_mac1 = true;
	if (cm->has_cookie && now_ms >= cm->cookie_birth_ms &&
	    now_ms - cm->cookie_birth_ms < NT_COOKIE_LIFETIME_MS)
		mac16(mac2, cm->cookie, NT_COOKIE_LEN, msg, len - NT_COOKIE_MAC_LEN);
	else
		memset(mac2, 0, NT_COOKIE_MAC_LEN);
}

int nt_cookie_maker_consume_reply(struct nt_cookie_maker *cm, const struct nt_network_keys *keys,
				  const uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t cookie[NT_COOKIE_LEN];

	if (len != NT_COOKIE_REPLY_LEN)
		return -EINVAL;
	if (!cm->has_last_mac1)
		return -EPROTO;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, NULL, NULL,
						       msg + 8 + NT_COOKIE_NONCE_LEN,
						       NT_COOKIE_LEN + 16, cm->last_mac1,
						       NT_COOKIE_MAC_LEN, msg + 8,
						       keys->cookie_key) != 0) {
		sodium_memzero(cookie, sizeof(cookie));
		return -EBADMSG;
	}
	memcpy(cm->cookie, cookie, NT_COOKIE_LEN);
	cm->cookie_birth_ms = now_ms;
	cm->has_cookie = true;
	/* One reply per message sent: a replayed reply finds nothing to answer. */
	cm->has_last_mac1 = false;
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}
