// SPDX-License-Identifier: MIT
/*
 * Announce tokens and the peer store of a DHT node (BEP 5).
 *
 * token = BLAKE2b(key = secret, message = requester IP)[0..8]; the secret is rotated every
 * NT_DHT_SECRET_MS by the engine and the previous one is still accepted, so a token lives
 * 5 to 10 minutes. The IP, not the port, is hashed: a NAT may give the announce another
 * source port than the get_peers. Peers are kept per (IP, port) for NT_DHT_PEER_TTL_MS
 * after their last announce, in max_hashes x max_peers slots allocated once.
 */
#include "discovery/dht_store.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int nt_dht_store_init(struct nt_dht_store *st, size_t max_hashes, size_t max_peers,
		      const uint8_t secrets[2 * NT_DHT_SECRET_LEN])
{
	memset(st, 0, sizeof(*st));
	if (max_peers && max_hashes > SIZE_MAX / max_peers)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	st->max_hashes = max_hashes;
	st->max_peers = max_peers;
	st->hashes = calloc(max_hashes, sizeof(*st->hashes));
	if (!st->hashes)
		goto err;
	st->pool = calloc(max_hashes * max_peers, sizeof(*st->pool));
	if (!st->pool)
		goto err_hashes;
	st->secrets = sodium_malloc(2 * NT_DHT_SECRET_LEN);
	if (!st->secrets)
		goto err_pool;
	memcpy(st->secrets, secrets, 2 * NT_DHT_SECRET_LEN);
	for (size_t i = 0; i < max_hashes; i++)
		st->hashes[i].peers = &st->pool[i * max_peers];
	return 0;

err_pool:
	free(st->pool);
err_hashes:
	free(st->hashes);
err:
	memset(st, 0, sizeof(*st));
	return -ENOMEM;
}

void nt_dht_store_uninit(struct nt_dht_store *st)
{
	free(st->hashes);
	free(st->pool);
	if (st->secrets)
		sodium_free(st->secrets); /* wipes */
	memset(st, 0, sizeof(*st));
}

void nt_dht_store_rotate(struct nt_dht_store *st, const uint8_t fresh[NT_DHT_SECRET_LEN],
			 uint64_t now_ms)
{
	memcpy(st->secrets + NT_DHT_SECRET_LEN, st->secrets, NT_DHT_SECRET_LEN);
	memcpy(st->secrets, fresh, NT_DHT_SECRET_LEN);
	st->secret_ms = now_ms;
}

static void token_under(const struct nt_dht_store *st, int which, const union nt_sockaddr *from,
			uint8_t out[NT_DHT_TOKEN_LEN])
{
	const uint8_t *ip = from->sa.sa_family == AF_INET6 ?
				    (const uint8_t *)&from->in6.sin6_addr :
				    (const uint8_t *)&from->in4.sin_addr;
	size_t n = from->sa.sa_family == AF_INET6 ? 16 : 4;

	crypto_generichash(out, NT_DHT_TOKEN_LEN, ip, n, st->secrets + which * NT_DHT_SECRET_LEN,
			   NT_DHT_SECRET_LEN);
}

void nt_dht_store_token(const struct nt_dht_store *st, const union nt_sockaddr *from,
			uint8_t out[NT_DHT_TOKEN_LEN])
{
	token_under(st, 0, from, out);
}

bool nt_dht_store_token_ok(const struct nt_dht_store *st, const union nt_sockaddr *from,
			   const uint8_t *tok, size_t len)
{
	uint8_t want[NT_DHT_TOKEN_LEN];
	bool ok = false;

	if (!tok || len != NT_DHT_TOKEN_LEN)
		return false;
	for (int i = 0; i < 2 && !ok; i++) {
		token_under(st, i, from, want);
		ok = sodium_memcmp(want, tok, NT_DHT_TOKEN_LEN) == 0;
	}
	sodium_memzero(want, sizeof(want));
	return ok;
}

static struct nt_dht_stored_hash *find(const struct nt_dht_store *st,
				       const uint8_t ih[NT_DHT_ID_LEN])
{
	for (size_t i = 0; i < st->max_hashes; i++)
		if (st->hashes[i].used && memcmp(st->hashes[i].ih, ih, NT_DHT_ID_LEN) == 0)
			return &st->hashes[i];
	return NULL;
}

static struct nt_dht_stored_hash *free_slot(const struct nt_dht_store *st)
{
	for (size_t i = 0; i < st->max_hashes; i++)
		if (!st->hashes[i].used)
			return &st->hashes[i];
	return NULL;
}

void nt_dht_store_expire(struct nt_dht_store *st, uint64_t now_ms)
{
	for (size_t i = 0; i < st->max_hashes; i++) {
		struct nt_dht_stored_hash *h = &st->hashes[i];
		size_t k = 0;
		if (!h->used)
			continue;
		for (size_t j = 0; j < h->n; j++)
			if (now_ms - h->peers[j].seen_ms < NT_DHT_PEER_TTL_MS)
				h->peers[k++] = h->peers[j];
		h->n = k;
		h->used = k > 0;
	}
}

bool nt_dht_store_add(struct nt_dht_store *st, const uint8_t ih[NT_DHT_ID_LEN],
		      const union nt_sockaddr *peer, uint64_t now_ms)
{
	struct nt_dht_stored_hash *h = find(st, ih);
	size_t slot = 0;

	if (!h) {
		h = free_slot(st);
		if (!h) {
			/* Only when full: expiry walks every slot. */
			nt_dht_store_expire(st, now_ms);
			h = free_slot(st);
		}
		if (!h)
			return false;
		h->used = true;
		memcpy(h->ih, ih, NT_DHT_ID_LEN);
		h->n = 0;
	}
	for (size_t j = 0; j < h->n; j++) {
		if (nt_sockaddr_equal(&h->peers[j].addr, peer)) {
			h->peers[j].seen_ms = now_ms;
			return true;
		}
		if (h->peers[j].seen_ms < h->peers[slot].seen_ms)
			slot = j;
	}
	if (h->n < st->max_peers)
		slot = h->n++;
	h->peers[slot].addr = *peer;
	h->peers[slot].seen_ms = now_ms;
	return true;
}

size_t nt_dht_store_get(const struct nt_dht_store *st, const uint8_t ih[NT_DHT_ID_LEN], int af,
			union nt_sockaddr *out, size_t max, size_t first, uint64_t now_ms)
{
	const struct nt_dht_stored_hash *h = find(st, ih);
	size_t n = 0;

	if (!h || !h->n)
		return 0;
	for (size_t i = 0; i < h->n && n < max; i++) {
		const struct nt_dht_stored_peer *p = &h->peers[(first + i) % h->n];
		if (p->addr.sa.sa_family == af && now_ms - p->seen_ms < NT_DHT_PEER_TTL_MS)
			out[n++] = p->addr;
	}
	return n;
}

void nt_dht_store_count(const struct nt_dht_store *st, uint64_t now_ms, size_t *hashes,
			size_t *peers)
{
	*hashes = *peers = 0;
	for (size_t i = 0; i < st->max_hashes; i++) {
		const struct nt_dht_stored_hash *h = &st->hashes[i];
		size_t live = 0;
		for (size_t j = 0; h->used && j < h->n; j++)
			live += now_ms - h->peers[j].seen_ms < NT_DHT_PEER_TTL_MS;
		*hashes += live > 0;
		*peers += live;
	}
}
