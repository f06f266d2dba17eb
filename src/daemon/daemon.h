/* SPDX-License-Identifier: MIT */
/*
 * struct nt_daemon: one node, the composition of its modules (src/README.md). It owns the
 * event loop, the network's keys and the node's identity, and wires the modules together at
 * start, each given only what it uses:
 *   dataplane  the TUN, the socket, the packet engines, the peer and route tables
 *   tunnel     handshakes, members and their sessions, hints, relays
 *   claims     the ledger, gossip, routes from the claims, --dhcp
 *   discovery  DHT, mDNS, STUN
 *   api        the HTTP API (--api)
 * daemon.c runs the start-up ladder, the tick that drives every module's timers, the stop
 * path that is safe from signal handlers and other threads, the reverse-order teardown, and
 * the status snapshot each module fills its part of. Only daemon/ includes this header.
 */
#ifndef NT_DAEMON_H
#define NT_DAEMON_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/resolve.h"
#include "dataplane/dataplane.h"
#include "discovery/discovery.h"
#include "ledger/claims.h"
#include "netron/netron.h"
#include "tunnel/tunnel.h"

#ifndef NT_TICK_MS
#define NT_TICK_MS 100
#endif

struct nt_api;

struct nt_daemon {
	struct nt_options opts;
	struct nt_config net;
	struct nt_network_keys *keys;
	struct nt_identity *id;
	char hostname[64];
	uint64_t started_ms;

	struct event_base *base;
	struct event *ev_tick, *ev_stop;
	struct event *ev_sig[3];
	int stop_fd; /* eventfd: nt_daemon_stop writes, the loop reads */
	pthread_t thread;
	bool thread_running;
	/* nt_daemon_status from another thread: the loop fills the request and signals. */
	struct {
		struct event *ev;
		pthread_mutex_t lock;
		pthread_cond_t cond;
		struct nt_status *out;
		int ret;
		bool done;
	} status;

	struct nt_resolver resolver; /* host names of --peer, --bootstrap, --stun */
	struct nt_dataplane dp;
	struct nt_tunnel tunnel;
	struct nt_claims claims;
	struct nt_discovery discovery;
	struct nt_api *api; /* NULL unless --api */
};

/*
 * Test seam (tests/fuzz/fuzz_daemon.c): a node that touches nothing outside its process.
 * Everything nt_daemon_new does (network keys from the token or config, the identity from
 * opts->state_dir, packet buffers, tunnel, ledger and gossip, the DHT engine if opts->dht)
 * except opening the TUN, the UDP socket, the mDNS sockets and the API, and creating loop
 * events. Every send fails and is counted (NT_DROP_UDP_SEND), TUN writes too
 * (NT_DROP_TUN_WRITE), and it needs no privilege. mDNS, the API, --peer, --bootstrap and
 * --stun are ignored (no name is ever looked up) and it runs one data-plane thread.
 * opts->state_dir is required. Feed it frames with nt_dataplane_on_frame(&d->dp, ...).
 * Free it with nt_daemon_free; never run its loop.
 */
int nt_daemon_new_detached(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err);
/* The housekeeping tick (every timer) at monotonic time now: for a detached node. */
void nt_daemon_tick(struct nt_daemon *d, uint64_t now);

/* Fills a snapshot; call from the loop thread. */
int nt_daemon_status_fill(struct nt_daemon *d, struct nt_status **out);

#endif
