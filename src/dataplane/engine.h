/* SPDX-License-Identifier: MIT */
/*
 * The packet engine: what one thread does to move packets between its TUN queue and its
 * UDP socket, written once (STYLE §2.1's two pipelines). The event loop runs one, and each
 * data-plane worker runs its own (workers.c):
 *
 *   outbound  TUN read (a packet, or a TSO/USO superpacket of up to 64 KB) -> ops->route ->
 *             cut into MTU-sized packets straight into the send queue -> encrypt in place ->
 *             frames to one member joined into UDP GSO runs -> sendmmsg
 *   inbound   recvmmsg (a GRO receive holds many frames of one size) -> data frame:
 *             ops->key -> decrypt in place (replay window after the tag) -> ops->authentic ->
 *             source check (ops->holds) -> TCP segments of one flow coalesced -> one writev
 *             per superpacket to the TUN; anything else -> ops->frame
 *
 * What differs between the loop and a worker is where routes and keys come from (the live
 * tables, or a published snapshot) and what becomes of what the fast path does not take
 * (handled at once, or handed to the loop): that is struct nt_engine_ops. When the socket
 * is full the TUN is not read until it drains, so the kernel's queues, not this process,
 * hold the backlog. Buffers are allocated once; nothing here allocates per packet.
 * Counters have one writer, the engine's thread, and are stored atomically so that another
 * thread may read them (nt_engine_counters_read).
 */
#ifndef NT_ENGINE_H
#define NT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"
#include "dataplane/drop.h"
#include "dataplane/offload.h"
#include "dataplane/tun.h"
#include "dataplane/udp.h"
#include "proto/session.h"

struct event;
struct event_base;

/* Plaintext starts after the frame header: one inner type byte, then the packet. */
enum { NT_ENGINE_PLAIN_OFF = NT_DATA_HEADER_LEN, NT_ENGINE_PKT_OFF = NT_DATA_HEADER_LEN + 1 };

/* A TUN superpacket cut into frames takes at most this much room in the send queue. */
#define NT_ENGINE_SUPERPACKET_ROOM \
	(NT_GSO_MAX + NT_GSO_MAX_SEGS * (120 + NT_DATA_HEADER_LEN + 1 + NT_DATA_TAG_LEN))

/* Where the fast path sends a packet: a member with an endpoint and a keypair that can send. */
struct nt_engine_dest {
	struct nt_keypair *kp;
	const union nt_sockaddr *endpoint;
	void *member; /* the ops' handle, given back to ops->sent */
};

enum nt_engine_route {
	NT_ENGINE_NO_MEMBER = -1, /* nobody holds the destination */
	NT_ENGINE_SLOW = 0, /* a member, but not for the fast path (no keypair, a relay...) */
	NT_ENGINE_FAST = 1, /* dest is filled */
};

struct nt_engine_ops {
	/* Where a packet to dst (4 or 16 bytes of family) goes. */
	enum nt_engine_route (*route)(void *ctx, int family, const uint8_t *dst, uint64_t now,
				      struct nt_engine_dest *dest);
	/*
	 * A packet the fast path does not send (r says why), one at a time: a superpacket is cut
	 * first. pkt lies in the engine's buffer until the call returns.
	 */
	void (*packet)(void *ctx, enum nt_engine_route r, const uint8_t *pkt, size_t len,
		       uint64_t now);
	/* The fast path sent packets to dest's member (after the send queue took them). */
	void (*sent)(void *ctx, const struct nt_engine_dest *dest, uint64_t bytes, uint64_t packets,
		     uint64_t now);
	/* The keypair of a session index, and its member in *member; NULL: ops->frame takes it. */
	struct nt_keypair *(*key)(void *ctx, uint32_t index, void **member);
	/*
	 * A frame on kp authenticated and fresh (malformed: its plaintext was not well formed).
	 * Every such frame comes here; for an IP packet, before its delivery. via: what the
	 * caller of nt_engine_rx_frame gave (where a relayed frame came from), NULL from the socket.
	 */
	void (*authentic)(void *ctx, void *member, struct nt_keypair *kp, const struct nt_data_rx *rx,
			  bool malformed, const union nt_sockaddr *from, const void *via, uint64_t now);
	/* Whether member holds addr: a decrypted packet's inner source must be its own. */
	bool (*holds)(void *ctx, void *member, int family, const uint8_t *addr);
	/* An IP packet of member's went to the TUN. */
	void (*delivered)(void *ctx, void *member, size_t bytes, uint64_t now);
	/* A datagram that is not a data frame of a keypair ops->key knows (via: as above). */
	void (*frame)(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from,
		      const void *via, uint64_t now);
	/* Optional: around each wake-up (a worker takes and lets go of its snapshot). */
	void (*enter)(void *ctx);
	void (*leave)(void *ctx);
};

/* Read with nt_engine_counters_read from another thread. */
struct nt_engine_counters {
	uint64_t drops[NT_DROP_COUNT];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets; /* TUN side, inner packets */
	uint64_t superpackets, segments; /* read from the TUN, and frames cut from them */
	uint64_t tx_paused; /* the socket was full: TUN reads stopped until it drained */
	uint64_t gso_sends, gso_fallbacks, gro_receives, gro_frames; /* the socket's */
	uint64_t gro_writes, gro_packets; /* superpackets written to the TUN, packets in them */
};

struct nt_engine {
	struct nt_tun *tun; /* a queue of the TUN: not owned */
	struct nt_udp *udp; /* a socket on the node's port: not owned */
	const struct nt_engine_ops *ops;
	void *ctx;
	struct event *ev_tun, *ev_udp, *ev_udp_out;
	bool tx_blocked; /* the socket was full: the TUN is not read until it drains */
	uint8_t *mem; /* every buffer below, in one allocation */
	size_t mem_size; /* its bytes (netron_memory_bytes{kind="packet_buffers"}) */
	struct nt_udp_batch rx; /* datagrams, or GRO bundles of them */
	struct nt_udp_txq txq; /* frames waiting for the socket, in GSO runs */
	uint8_t *tun_buf; /* one packet or superpacket read from the TUN */
	size_t tun_buf_size;
	uint8_t *cut; /* one packet cut from a superpacket for ops->packet */
	size_t cut_size;
	struct nt_gro gro; /* received TCP segments coalesced before the TUN write */
	struct nt_engine_counters c;
	/* Debug lines about drops, one a second: per engine, as engines run on their own threads. */
	struct nt_ratelimit rl_drop, rl_gso;
};

/*
 * Allocates the buffers: datagrams (or segments) longer than max_frame are dropped where
 * they are received (counted as oversized). 0 or -ENOMEM. The engine registers nothing
 * until nt_engine_start.
 */
int nt_engine_init(struct nt_engine *e, struct nt_tun *tun, struct nt_udp *udp, size_t max_frame,
		   const struct nt_engine_ops *ops, void *ctx);
void nt_engine_uninit(struct nt_engine *e);
/* Registers the TUN and socket events in base (the engine's thread). 0 or -errno. */
int nt_engine_start(struct nt_engine *e, struct event_base *base);
void nt_engine_stop(struct nt_engine *e);

/* One packet or superpacket from the TUN (vh: its virtio header; zero for a plain packet). */
void nt_engine_tun_packet(struct nt_engine *e, const struct virtio_net_hdr *vh, const uint8_t *pkt,
			  size_t len, uint64_t now);
/*
 * One received datagram (len <= max_frame: the caller checked, as receive does). via is
 * passed to the ops untouched: NULL for what came from the socket.
 */
void nt_engine_rx_frame(struct nt_engine *e, uint8_t *frame, size_t len,
			const union nt_sockaddr *from, const void *via, uint64_t now);
/* Writes coalesced segments to the TUN and sends the queued frames. */
void nt_engine_flush(struct nt_engine *e);
/* Counts a drop of what came from `from` (NULL: the TUN), the engine's thread only. */
void nt_engine_drop(struct nt_engine *e, enum nt_drop_reason r, const union nt_sockaddr *from);
/* A copy of the counters, from any thread. */
void nt_engine_counters_read(const struct nt_engine *e, struct nt_engine_counters *out);

#endif
