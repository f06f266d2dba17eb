/* SPDX-License-Identifier: MIT */
/*
 * A simulated network for in-process simulations (tests/sim): datagrams between numbered
 * members, each delivered after its link's latency (fixed per pair of members, plus a few
 * ms of jitter, so datagrams may overtake each other as UDP's do) or lost with a given
 * probability. No sockets and no clock: the simulation reads what is due at its own
 * simulated time.
 */
#ifndef NT_SIMNET_H
#define NT_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct simnet_pkt {
	uint64_t at; /* simulated ms of delivery */
	uint64_t seq; /* sending order: ties are delivered in it */
	uint32_t from, to;
	uint32_t len;
	uint8_t *data; /* malloc'd; the caller frees what simnet_pop gives it */
};

struct simnet {
	struct simnet_pkt *heap; /* a binary min-heap on (at, seq) */
	size_t n, cap;
	double loss; /* probability that a datagram is lost, 0..1 */
	uint32_t lat_min_ms, lat_span_ms, jitter_ms;
	uint64_t rng;
	uint64_t seq;
	uint64_t sent, lost;
};

void simnet_init(struct simnet *net, uint64_t seed);
void simnet_uninit(struct simnet *net);
/* The one-way latency of the link between a and b (the same both ways), without jitter. */
uint32_t simnet_latency(const struct simnet *net, uint32_t a, uint32_t b);
/* Sends a copy of buf at simulated time now. 0, or -ENOMEM. */
int simnet_send(struct simnet *net, uint32_t from, uint32_t to, const uint8_t *buf, size_t len,
		uint64_t now);
/* Takes the next datagram due at or before now into *out; false when none is. */
bool simnet_pop(struct simnet *net, uint64_t now, struct simnet_pkt *out);
/* A uniform random number below n (n > 0), from the network's generator. */
uint64_t simnet_rand(struct simnet *net, uint64_t n);

#endif
