/* SPDX-License-Identifier: MIT */
/*
 * The node's one UDP socket: dual-stack IPv6 where the kernel allows it (IPv4 peers appear
 * as plain AF_INET addresses to the rest of the code), IPv4 otherwise or when --listen names
 * an IPv4 address. Batched receive (recvmmsg) and send (sendmmsg), and single sends with an
 * explicit IP TTL for the first hole-punching packets.
 *
 * With offloads, frames to one destination go out as one UDP GSO send (UDP_SEGMENT: the
 * kernel, or the NIC, cuts it into datagrams), and a receive may return many datagrams of one
 * size coalesced by UDP GRO. Both fall back to one datagram per system call where the kernel
 * or a route refuses them.
 */
#ifndef NT_UDP_H
#define NT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/util.h"

#ifndef NT_UDP_BATCH
#define NT_UDP_BATCH 64
#endif

/* Datagrams coalesced into one GRO receive or one GSO send, at most (the kernel allows 64). */
#define NT_UDP_MAX_SEGS 64
/* Bytes of one GSO send or GRO receive, at most: UDP's 16-bit length, with room to spare. */
#define NT_UDP_GSO_MAX 65000

struct nt_udp {
	int fd;
	int family; /* of the socket: AF_INET6 (dual-stack) or AF_INET */
	uint16_t port; /* bound port, host order */
	bool gso; /* UDP_SEGMENT sends work (cleared if the kernel refuses one with EIO) */
	bool gro; /* UDP_GRO is on: a receive buffer must hold NT_UDP_GSO_MAX + a frame */
	bool ttl_sockopt; /* a datagram's TTL is set on the socket, not sent with it (see udp.c) */
	uint64_t gso_sends, gso_fallbacks; /* sends that carried several datagrams; and were refused */
	uint64_t gro_receives, gro_frames; /* receives that held several datagrams; and how many */
};

enum {
	NT_UDP_OFFLOAD_GSO = 1,
	NT_UDP_OFFLOAD_GRO = 2,
	/*
	 * SO_REUSEPORT: data-plane workers each bind a socket to the one port and the kernel
	 * spreads datagrams over them by their addresses (one member always reaches one socket).
	 */
	NT_UDP_REUSEPORT = 4,
};
/* host "" = any address; flags: the NT_UDP_* to try (REUSEPORT is required). 0 or -errno. */
int nt_udp_open(struct nt_udp *u, const char *host, uint16_t port, unsigned int offload);
void nt_udp_close(struct nt_udp *u);

/* A batch of received datagrams: buffers owned by the caller (allocated once). */
struct nt_udp_batch {
	unsigned int count; /* filled by recv */
	unsigned int slots; /* buffers to receive into, at most NT_UDP_BATCH */
	uint8_t *buf[NT_UDP_BATCH];
	size_t cap; /* bytes per buffer */
	size_t len[NT_UDP_BATCH];
	/* Not 0: buf[i] holds len[i] / seg[i] datagrams of seg[i] bytes (the last may be shorter). */
	uint16_t seg[NT_UDP_BATCH];
	union nt_sockaddr addr[NT_UDP_BATCH];
	/*
	 * The largest frame the caller will handle (0: cap). A datagram, or GRO segment, that is
	 * longer is dropped here, where it enters, and counted: len[i] is 0 then.
	 */
	size_t max_frame;
	uint64_t oversized; /* datagrams dropped for it; the caller reads and resets it */
};

/*
 * With NT_UDP_REUSEPORT, for the whole group of sockets on the port: datagrams whose first
 * byte is type1 or type2 go to socket (byte at offset off) % lanes, in the order the sockets
 * were opened; all others to the first. 0 or -errno (the kernel then spreads them by address).
 */
int nt_udp_steer(struct nt_udp *u, uint8_t type1, uint8_t type2, unsigned int off,
		 unsigned int lanes);

/*
 * Fills up to b->slots buffers; returns how many, 0 when none, or -errno. A buffer whose
 * len is 0 holds nothing to handle (empty, or dropped as oversized and counted).
 */
int nt_udp_recv_batch(struct nt_udp *u, struct nt_udp_batch *b);

/*
 * The send queue: frames laid end to end in one buffer, grouped in runs of equal-sized frames
 * to one destination (the last of a run may be shorter), each run one GSO send.
 */
#define NT_UDP_RUNS 64
struct nt_udp_run {
	size_t off, len;
	uint16_t seg, nseg;
	bool closed; /* ended by a shorter frame */
	union nt_sockaddr to;
};
struct nt_udp_txq {
	uint8_t *buf;
	size_t cap, tail;
	struct nt_udp_run run[NT_UDP_RUNS];
	unsigned int head, count; /* runs [head, count) wait to be sent */
	uint64_t dropped; /* frames that could not be sent (the caller reads and resets it) */
};

/* Where the next frame of up to need bytes goes, or NULL while the queue is full. */
uint8_t *nt_udp_txq_tail(struct nt_udp_txq *q, size_t need);
/* The frame of len bytes written at nt_udp_txq_tail() is queued for to. */
void nt_udp_txq_commit(const struct nt_udp *u, struct nt_udp_txq *q, size_t len,
		       const union nt_sockaddr *to);
static inline bool nt_udp_txq_empty(const struct nt_udp_txq *q) { return q->head == q->count; }
/*
 * Sends what is queued. 0 when the queue is empty again, -EAGAIN when the socket is full
 * and frames wait (send again when it is writable). Frames that fail otherwise are dropped
 * and counted in q->dropped.
 */
int nt_udp_txq_flush(struct nt_udp *u, struct nt_udp_txq *q);
/* One datagram; ttl 0 = the system default. 0 or -errno. */
int nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		int ttl);

#endif
