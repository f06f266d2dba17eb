/* SPDX-License-Identifier: MIT */
/*
 * Our external address, and the BEP 42 node ID derived from it (dht_extaddr.c). Internal
 * to the DHT engine.
 */
#ifndef NT_DHT_EXTADDR_H
#define NT_DHT_EXTADDR_H

#include "core/util.h"
#include "discovery/dht_impl.h"

/* a is our address on f's family (STUN, or the votes): regenerates our ID if its IP changed. */
void nt_dht_extaddr_set(struct nt_dht *dht, struct family *f, const union nt_sockaddr *a);
/* The "ip" of an answer to our query from voter: one vote for seen. */
void nt_dht_extaddr_vote(struct nt_dht *dht, struct family *f, const union nt_sockaddr *voter,
			 const union nt_sockaddr *seen);

#endif
