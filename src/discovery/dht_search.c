// SPDX-License-Identifier: MIT
/*
 * Iterative lookup (Kademlia, as BEP 5 uses it): keep the NT_DHT_SEARCH_NODES closest
 * candidates by XOR distance; keep alpha = NT_DHT_ALPHA queries in flight to the nearest
 * candidates not yet asked, restricted to the k = NT_DHT_K nearest that have not failed;
 * each answer adds the nodes it names; the lookup ends when those k nearest have all
 * answered. No I/O and no clock here: dht.c sends, and reports timeouts as failures.
 */
#include "discovery/dht_search.h"

#include <string.h>

void nt_dht_search_init(struct nt_dht_search *s, enum nt_dht_search_kind kind, int af,
			const uint8_t target[NT_DHT_ID_LEN], uint32_t gen, uint64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->active = true;
	s->kind = kind;
	s->af = af;
	memcpy(s->target, target, NT_DHT_ID_LEN);
	s->gen = gen;
	s->started_ms = now_ms;
}

struct nt_dht_cand *nt_dht_search_find(struct nt_dht_search *s, const union nt_sockaddr *addr)
{
	for (size_t i = 0; i < s->n; i++)
		if (nt_sockaddr_equal(&s->cand[i].addr, addr))
			return &s->cand[i];
	return NULL;
}

bool nt_dht_search_add(struct nt_dht_search *s, const uint8_t id[NT_DHT_ID_LEN],
		       const union nt_sockaddr *addr)
{
	size_t pos;

	if (addr->sa.sa_family != s->af || nt_dht_search_find(s, addr))
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (memcmp(s->cand[i].id, id, NT_DHT_ID_LEN) == 0)
			return false;
	for (pos = 0; pos < s->n; pos++)
		if (nt_dht_id_closer(s->target, id, s->cand[pos].id) < 0)
			break;
	if (pos == NT_DHT_SEARCH_NODES)
		return false;
	if (s->n == NT_DHT_SEARCH_NODES)
		s->n--; /* the farthest falls off; a late answer from it is ignored */
	memmove(&s->cand[pos + 1], &s->cand[pos], (s->n - pos) * sizeof(s->cand[0]));
	memset(&s->cand[pos], 0, sizeof(s->cand[pos]));
	memcpy(s->cand[pos].id, id, NT_DHT_ID_LEN);
	s->cand[pos].addr = *addr;
	s->cand[pos].state = NT_DHT_CAND_NEW;
	s->n++;
	return true;
}

size_t nt_dht_search_inflight(const struct nt_dht_search *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->cand[i].state == NT_DHT_CAND_INFLIGHT;
	return n;
}

struct nt_dht_cand *nt_dht_search_next(struct nt_dht_search *s)
{
	size_t live = 0;

	if (!s->active || nt_dht_search_inflight(s) >= NT_DHT_ALPHA)
		return NULL;
	for (size_t i = 0; i < s->n && live < NT_DHT_K; i++) {
		struct nt_dht_cand *c = &s->cand[i];
		if (c->state == NT_DHT_CAND_FAILED)
			continue;
		live++;
		if (c->state == NT_DHT_CAND_NEW) {
			c->state = NT_DHT_CAND_INFLIGHT;
			s->queries++;
			return c;
		}
	}
	return NULL;
}

void nt_dht_search_replied(struct nt_dht_search *s, const union nt_sockaddr *addr,
			   const uint8_t id[NT_DHT_ID_LEN], const uint8_t *token, size_t token_len)
{
	struct nt_dht_cand *c = nt_dht_search_find(s, addr), tmp;
	size_t from, pos;

	if (!c || c->state == NT_DHT_CAND_REPLIED)
		return;
	c->state = NT_DHT_CAND_REPLIED;
	s->replies++;
	if (token && token_len && token_len <= sizeof(c->token)) {
		memcpy(c->token, token, token_len);
		c->token_len = (uint8_t)token_len;
	}
	if (memcmp(c->id, id, NT_DHT_ID_LEN) == 0)
		return;
	/*
	 * The node answered with another ID than the one we were told (it regenerated it,
	 * BEP 42): rank it where it really is.
	 */
	from = (size_t)(c - s->cand);
	tmp = *c;
	memcpy(tmp.id, id, NT_DHT_ID_LEN);
	memmove(&s->cand[from], &s->cand[from + 1], (s->n - from - 1) * sizeof(tmp));
	for (pos = 0; pos < s->n - 1; pos++)
		if (nt_dht_id_closer(s->target, tmp.id, s->cand[pos].id) < 0)
			break;
	memmove(&s->cand[pos + 1], &s->cand[pos], (s->n - 1 - pos) * sizeof(tmp));
	s->cand[pos] = tmp;
}

void nt_dht_search_failed(struct nt_dht_search *s, const union nt_sockaddr *addr)
{
	struct nt_dht_cand *c = nt_dht_search_find(s, addr);

	if (c && c->state == NT_DHT_CAND_INFLIGHT)
		c->state = NT_DHT_CAND_FAILED;
}

bool nt_dht_search_is_done(const struct nt_dht_search *s)
{
	size_t live = 0;

	for (size_t i = 0; i < s->n && live < NT_DHT_K; i++) {
		if (s->cand[i].state == NT_DHT_CAND_FAILED)
			continue;
		if (s->cand[i].state != NT_DHT_CAND_REPLIED)
			return false;
		live++;
	}
	return true;
}
