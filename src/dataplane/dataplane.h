/* SPDX-License-Identifier: MIT */
/*
 * The data plane of one node, as the event loop sees it (STYLE §2.1): the TUN interface and
 * the UDP socket, the loop's packet engine (worker 0) and the worker threads, the members'
 * sessions (peer.h: the peer and index tables), the route table, and the demultiplexer that
 * hands whatever is not a data packet to the module that registered for it:
 *
 *   first byte 0xE1-0xE4 handshake  -> the tunnel (NT_DP_HANDSHAKE)
 *              'd'       DHT        -> discovery (NT_DP_DHT)
 *              0x00-0x01 STUN       -> discovery (NT_DP_STUN)
 *   a data frame's inner type >= 2  -> the handler of that control type
 *
 * Higher layers talk to it through this header and are told of what happens through the
 * hooks they set (struct nt_dataplane_hooks): an authenticated frame (roaming, path
 * validation), a frame for an unknown session, a member that needs a handshake. Everything
 * here runs in the loop thread; the workers (workers.h) only read snapshots it publishes.
 */
#ifndef NT_DATAPLANE_H
#define NT_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/drop.h"
#include "dataplane/engine.h"
#include "dataplane/peer.h"
#include "dataplane/route.h"
#include "dataplane/tun.h"
#include "dataplane/udp.h"
#include "netron/options.h"
#include "netron/status.h"

struct event_base;
struct nt_network_keys;
struct nt_workers;

/* What a datagram that is not a data frame is, by its first byte (docs/protocol.md 6.1). */
enum nt_dp_proto {
	NT_DP_HANDSHAKE, /* 0xE1..0xE4 */
	NT_DP_DHT, /* 'd' */
	NT_DP_STUN, /* 0x00, 0x01: the handler refuses what is not STUN */
	NT_DP_PROTO_COUNT,
};

/*
 * A frame for a module: via is the member whose relay delivered it (via_id: the node it came
 * from), NULL for one from the socket. Returns false when it is not one (counted).
 */
typedef bool nt_dp_frame_fn(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from,
			    struct nt_peer *via, const uint8_t *via_id, uint64_t now);
/* A control message of member p (authenticated): type, body, where its frame came from. */
typedef void nt_dp_control_fn(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
			      size_t len, const union nt_sockaddr *from, struct nt_peer *via,
			      uint64_t now);

/*
 * A packet from the TUN for an address no member we know holds (dst: 4 or 16 bytes of family):
 * true when the handler took it (it dials the owner); false answers ICMP unreachable.
 */
typedef bool nt_dp_no_route_fn(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt,
			       size_t len, uint64_t now);

/* The control plane's side: what the data plane tells it (loop thread). */
struct nt_dataplane_hooks {
	/* An authenticated, fresh frame of p came from `from` (via: through that relay). */
	void (*authenticated)(void *ctx, struct nt_peer *p, const union nt_sockaddr *from,
			      struct nt_peer *via, uint64_t now);
	/* A data frame for a session index we do not hold came straight from `from`. */
	void (*unknown_index)(void *ctx, const union nt_sockaddr *from, uint64_t now);
	/* p has packets and no usable keypair, or its keypair is due for renewal. */
	void (*want_handshake)(void *ctx, struct nt_peer *p, uint64_t now);
	void *ctx;
};

#ifndef NT_ICMP_REPLIES_PER_S
#define NT_ICMP_REPLIES_PER_S 20 /* ICMP unreachable answers to the TUN, whatever it hands us */
#endif

struct nt_dataplane {
	const struct nt_options *opts; /* not owned: must outlive this */
	const struct nt_network_keys *keys; /* mac1 for the workers' handshake checks */
	struct nt_tun tun;
	bool tun_open;
	struct nt_udp udp;
	bool udp_open;
	size_t buf_size; /* the largest frame a member may send us */
	uint8_t *bufs; /* scratch and relay_buf */
	uint8_t *scratch; /* buf_size: a control message or an ICMP reply being built */
	uint8_t *relay_buf; /* buf_size: a frame wrapped for a relay */
	struct nt_engine engine; /* the loop's packet path: worker 0 */
	bool engine_ready;
	unsigned int n_workers;
	struct nt_workers *wk; /* NULL with one worker (the loop) */
	unsigned int next_lane; /* the worker the next member's sessions go to */
	struct nt_peer_table peers;
	struct nt_index_table index;
	struct nt_route route;
	uint64_t drops[NT_DROP_COUNT]; /* the loop's own, beyond its engine's */
	uint64_t tx_bytes; /* what the loop sends beyond its engine (relayed, staged): TUN side */
	uint64_t icmp_window_ms; /* ICMP unreachable replies: start of this second... */
	unsigned int icmp_in_window; /* ...and how many went out in it */
	struct {
		nt_dp_frame_fn *fn;
		void *ctx;
	} proto[NT_DP_PROTO_COUNT];
	struct {
		nt_dp_control_fn *fn;
		void *ctx;
	} control[16]; /* by inner type: NT_DATA_INNER_CONTROL (2) .. 15 */
	struct nt_dataplane_hooks hooks;
	struct {
		nt_dp_no_route_fn *fn;
		void *ctx;
	} no_route;
	struct nt_ratelimit rl_drop, rl_icmp_log; /* log throttles, per node (log.h) */
};

/*
 * Opens the TUN (opts->ifname, opts->mtu, the offloads NETRON_OFFLOAD allows, one queue per
 * worker) and the UDP socket (opts->listen_*), allocates the buffers, and starts the loop's
 * engine and the workers in base. 0, or -errno with err->msg naming the problem.
 */
int nt_dataplane_open(struct nt_dataplane *dp, const struct nt_options *opts,
		      const struct nt_network_keys *keys, struct event_base *base, struct nt_err *err);
/*
 * The same for a node that has no TUN and no socket (tests and fuzzers): buffers and tables,
 * sends fail and are counted. 0 or -ENOMEM.
 */
int nt_dataplane_open_detached(struct nt_dataplane *dp, const struct nt_options *opts,
			       const struct nt_network_keys *keys);
/* Stops the workers and the engine, frees the peers, closes the TUN and the socket. */
void nt_dataplane_close(struct nt_dataplane *dp);

void nt_dataplane_set_hooks(struct nt_dataplane *dp, const struct nt_dataplane_hooks *hooks);
void nt_dataplane_set_proto(struct nt_dataplane *dp, enum nt_dp_proto proto, nt_dp_frame_fn *fn,
			    void *ctx);
/* type: a control type, NT_DATA_INNER_CONTROL .. 15. */
void nt_dataplane_set_control(struct nt_dataplane *dp, uint8_t type, nt_dp_control_fn *fn, void *ctx);

/* The handler of packets for addresses with no route (NULL: ICMP unreachable for all). */
void nt_dataplane_set_no_route(struct nt_dataplane *dp, nt_dp_no_route_fn *fn, void *ctx);
/* Counts a drop of the loop's. */
void nt_dataplane_drop(struct nt_dataplane *dp, enum nt_drop_reason r);

/*
 * Handles one datagram as if it came from the socket (from a worker, or a relay's delivery:
 * via and via_id then name the relay and the node it came from). Frames longer than
 * buf_size are dropped here.
 */
void nt_dataplane_on_frame(struct nt_dataplane *dp, uint8_t *buf, size_t len,
			   const union nt_sockaddr *from, struct nt_peer *via, const uint8_t *via_id,
			   uint64_t now);

/* A member for id, new or known; NULL when the table is full (the caller makes room). */
struct nt_peer *nt_dataplane_peer_new(struct nt_dataplane *dp, const uint8_t id[32]);
/* Frees p: its routes, its keypairs, its place in the workers' snapshot. */
void nt_dataplane_peer_free(struct nt_dataplane *dp, struct nt_peer *p);
/* Whether p has a usable session on which it was heard within NT_PEER_DEAD_MS. */
bool nt_dataplane_peer_is_alive(const struct nt_peer *p, uint64_t now);

/*
 * Encrypts one plaintext (inner type + body at buf[NT_DATA_HEADER_LEN..], buf of buf_size
 * bytes) on p's session and sends it: to p's endpoint or through its relay, or to `to`
 * when not NULL. 0 or -errno.
 */
int nt_dataplane_send_plain(struct nt_dataplane *dp, struct nt_peer *p, uint8_t *buf,
			    size_t plain_len, const union nt_sockaddr *to);
/* Sends an encrypted frame to p: straight to its endpoint, or wrapped through its relay. */
int nt_dataplane_emit(struct nt_dataplane *dp, struct nt_peer *p, const uint8_t *frame, size_t len);
/* Wraps a frame for target (node ID) in a RELAY message to the member via. */
int nt_dataplane_relay_send(struct nt_dataplane *dp, struct nt_peer *via, const uint8_t target[32],
			    const uint8_t *frame, size_t len);
/* Sends what the peer queued while it had no keypair. */
void nt_dataplane_flush_staged(struct nt_dataplane *dp, struct nt_peer *p);
/* Sends a datagram (a handshake message) straight to `to`, with an IP TTL (0: default). */
int nt_dataplane_send_raw(struct nt_dataplane *dp, const uint8_t *buf, size_t len,
			  const union nt_sockaddr *to, int ttl);

/* A new keypair was installed: workers must know it before its frames come. */
void nt_dataplane_publish(struct nt_dataplane *dp);
/* The tables changed (routes, endpoints, paths): workers learn it soon. */
void nt_dataplane_changed(struct nt_dataplane *dp);
/* From the loop's tick: snapshots due, workers' counters folded. */
void nt_dataplane_tick(struct nt_dataplane *dp, uint64_t now);
/* The responder handshake in attempt slot `slot` waits for a FIN on `index` (0: no longer). */
void nt_dataplane_expect_fin(struct nt_dataplane *dp, unsigned int slot, uint32_t index);
/* The worker lane for a new member (the least busy) and for a session we begin. */
unsigned int nt_dataplane_lane_for(struct nt_dataplane *dp, const struct nt_peer *p);

/* The data plane's part of a status: interface, port, counters, offloads, workers. */
void nt_dataplane_status(struct nt_dataplane *dp, struct nt_status *s);

#endif
