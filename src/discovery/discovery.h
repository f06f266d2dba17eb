/* SPDX-License-Identifier: MIT */
/*
 * Discovery: runs the sans-IO discovery engines in the node's loop and turns what they find
 * into endpoint hints for the tunnel. Everything found here is only a hint: a member is a
 * member once its handshake proves it holds the token.
 *
 * mDNS (mdns.c, RFC 6762/6763): sockets on 5353 for IPv4 and IPv6, joined on every multicast
 * interface but our TUN; the engine browses fast while we have no session.
 *
 * DHT (dht.c, BEP 5): a Mainline node on our one UDP socket. It announces the network's
 * rendezvous info-hash for the current epoch (and the next one near a boundary) with
 * implied_port, so the DHT stores exactly the NAT mapping our tunnel uses, and looks up the
 * previous, current and next epochs: fast while we have no session, slowly after. Good DHT
 * nodes and the members we reached are remembered in the state dir and tried first on the
 * next start, so a restart does not depend on the bootstrap nodes.
 *
 * STUN (stun.c): every node answers binding requests, and asks the --stun servers (or a
 * member beyond a router) for its own public address.
 */
#ifndef NT_DISCOVERY_H
#define NT_DISCOVERY_H

#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>

#include "discovery/stun.h"
#include "netron/netron.h"
#include "tunnel/tunnel.h"

struct nt_config;
struct nt_dht;
struct nt_mdns;
struct nt_resolver;

/* What discovery needs from the node, given at start. Everything must outlive it. */
struct nt_discovery_host {
	const struct nt_options *opts;
	const struct nt_config *net; /* the rendezvous info-hashes and their epochs */
	const struct nt_identity *id;
	const struct nt_network_keys *keys; /* the mDNS tag */
	struct nt_dataplane *dp; /* the socket, the TUN's name, the members' endpoints */
	struct nt_tunnel *tunnel; /* hints go there */
	struct nt_resolver *resolver; /* --bootstrap and --stun names */
	struct event_base *base; /* for the mDNS sockets' events */
};

struct nt_discovery {
	struct nt_discovery_host host;
	/* STUN on the one socket, and what we learn of our public address. */
	struct nt_stun stun;
	bool stun_ready;
	union nt_sockaddr reflexive;
	bool has_reflexive;
	uint64_t stun_next_ms;
	/* mDNS */
	struct nt_mdns *mdns;
	int mdns_fd[2]; /* AF_INET, AF_INET6; -1 when not open */
	struct event *ev_mdns[2];
	uint64_t mdns_next_ms, mdns_rejoin_ms;
	bool mdns_fast;
	/* DHT: NULL with --dht off */
	struct nt_dht *dht;
	uint64_t dht_next_ms; /* the engine's next deadline */
	uint64_t dht_announce_ms; /* next announce of the rendezvous info-hash */
	uint64_t dht_search_ms; /* next lookup */
	uint64_t dht_bootstrap_ms; /* next try of the bootstrap list while the table is empty */
	bool dht_bootstrap_waiting; /* some bootstrap names are still being looked up */
	uint64_t remember_ms; /* next save of known DHT nodes and members */
	uint64_t dht_tx_bytes, dht_rx_bytes, mdns_tx_bytes, mdns_rx_bytes;
};

/*
 * Starts STUN, mDNS (opts->mdns, sockets in host->base) and the DHT (opts->dht), and hints
 * at the members remembered from the last run. 0, or -errno with err->msg set.
 */
int nt_discovery_start(struct nt_discovery *disc, const struct nt_discovery_host *host,
		       struct nt_err *err);
/* Remembers the members and DHT nodes for the next run, then stops everything. */
void nt_discovery_stop(struct nt_discovery *disc);
void nt_discovery_tick(struct nt_discovery *disc, uint64_t now);
/* Discovery's part of a status: our public address, DHT and mDNS bytes. */
void nt_discovery_status(struct nt_discovery *disc, struct nt_status *s);

#endif
