/* SPDX-License-Identifier: MIT */
/*
 * Which members a node keeps sessions with when nobody sends traffic (docs/scale.md): its
 * successor and predecessor on the ring of node IDs, and a few long links, each to the member
 * that follows a point of the ring derived from our ID. The ring keeps everyone's choices
 * connected; the long links keep its diameter near log N (a small world), so a change pushed
 * along neighbors reaches every member in a few hops, whatever N is. Sans-IO and deterministic:
 * the same members give the same choice, so sessions are not churned.
 */
#ifndef NT_TUNNEL_NEIGHBORS_H
#define NT_TUNNEL_NEIGHBORS_H

#include <stddef.h>
#include <stdint.h>

#ifndef NT_NEIGHBORS_DEFAULT
#define NT_NEIGHBORS_DEFAULT 4 /* successor, predecessor, two long links */
#endif
#define NT_NEIGHBORS_MAX 16

/*
 * Chooses up to k (<= NT_NEIGHBORS_MAX) of the n members ids[] (any order; self and
 * duplicates are skipped) and writes their positions in ids[] into out. Returns how many:
 * min(k, distinct members other than self).
 */
unsigned int nt_neighbors_pick(const uint8_t self[32], const uint8_t (*ids)[32], size_t n,
			       unsigned int k, size_t *out);

#endif
