// SPDX-License-Identifier: MIT
/*
 * The simulated network (simnet.h): a heap of datagrams in flight ordered by delivery
 * time. Latency of a link is a hash of its two ends, so it does not depend on the order
 * in which members first talk; loss and jitter come from a seeded xorshift generator, so
 * a run is reproducible from its seed.
 */
#include "simnet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next_rand(uint64_t *s)
{
	/* xorshift64* (Vigna): small, fast and good enough for loss and jitter. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

uint64_t simnet_rand(struct simnet *net, uint64_t n)
{
	return next_rand(&net->rng) % n;
}

void simnet_init(struct simnet *net, uint64_t seed)
{
	memset(net, 0, sizeof(*net));
	net->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
	net->lat_min_ms = 10;
	net->lat_span_ms = 71; /* 10..80 ms one way */
	net->jitter_ms = 5;
}

void simnet_uninit(struct simnet *net)
{
	for (size_t i = 0; i < net->n; i++)
		free(net->heap[i].data);
	free(net->heap);
	memset(net, 0, sizeof(*net));
}

uint32_t simnet_latency(const struct simnet *net, uint32_t a, uint32_t b)
{
	uint64_t h = (uint64_t)(a < b ? a : b) << 32 | (a < b ? b : a);

	/* splitmix64 finaliser: a fixed, well-spread latency per pair. */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return net->lat_min_ms + (uint32_t)(h % net->lat_span_ms);
}

static bool before(const struct simnet_pkt *a, const struct simnet_pkt *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int simnet_send(struct simnet *net, uint32_t from, uint32_t to, const uint8_t *buf, size_t len,
		uint64_t now)
{
	struct simnet_pkt p;
	size_t i;

	net->sent++;
	if (net->loss > 0 && (double)(next_rand(&net->rng) >> 11) / 9007199254740992.0 < net->loss) {
		net->lost++;
		return 0;
	}
	if (net->n == net->cap) {
		size_t cap = net->cap ? 2 * net->cap : 1024;
		struct simnet_pkt *h = realloc(net->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		net->heap = h;
		net->cap = cap;
	}
	p.data = malloc(len ? len : 1);
	if (!p.data)
		return -ENOMEM;
	memcpy(p.data, buf, len);
	p.len = (uint32_t)len;
	p.from = from;
	p.to = to;
	p.seq = net->seq++;
	p.at = now + simnet_latency(net, from, to) + next_rand(&net->rng) % (net->jitter_ms + 1);
	for (i = net->n++; i > 0 && before(&p, &net->heap[(i - 1) / 2]); i = (i - 1) / 2)
		net->heap[i] = net->heap[(i - 1) / 2];
	net->heap[i] = p;
	return 0;
}

bool simnet_pop(struct simnet *net, uint64_t now, struct simnet_pkt *out)
{
	struct simnet_pkt last;
	size_t i = 0;

	if (!net->n || net->heap[0].at > now)
		return false;
	*out = net->heap[0];
	last = net->heap[--net->n];
	for (size_t c; (c = 2 * i + 1) < net->n; i = c) {
		if (c + 1 < net->n && before(&net->heap[c + 1], &net->heap[c]))
			c++;
		if (!before(&net->heap[c], &last))
			break;
		net->heap[i] = net->heap[c];
	}
	if (net->n)
		net->heap[i] = last;
	return true;
}
