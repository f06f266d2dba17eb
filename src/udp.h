/* SPDX-License-Identifier: MIT */
/*
 * The node's one UDP socket: dual-stack IPv6 where the kernel allows it (IPv4 peers appear
 * as plain AF_INET addresses to the rest of the code), IPv4 otherwise or when --listen names
 * an IPv4 address. Batched receive (recvmmsg) and send (sendmmsg), and single sends with an
 * explicit IP TTL for the first hole-punching packets.
 */
#ifndef NT_UDP_H
#define NT_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util.h"

#ifndef NT_UDP_BATCH
#define NT_UDP_BATCH 64
#endif

struct nt_udp {
	int fd;
	int family; /* of the socket: AF_INET6 (dual-stack) or AF_INET */
	uint16_t port; /* bound port, host order */
};

/* host "" = any address. 0 or -errno. */
int nt_udp_open(struct nt_udp *u, const char *host, uint16_t port);
void nt_udp_close(struct nt_udp *u);

/* A batch of datagrams: buffers owned by the caller (allocated once). */
struct nt_udp_batch {
	unsigned int count; /* filled by recv, or by the caller before send */
	uint8_t *buf[NT_UDP_BATCH];
	size_t cap; /* bytes per buffer */
	size_t len[NT_UDP_BATCH];
	union nt_sockaddr addr[NT_UDP_BATCH];
};

/* Fills up to NT_UDP_BATCH datagrams; returns how many, 0 when none, or -errno. */
int nt_udp_recv_batch(struct nt_udp *u, struct nt_udp_batch *b);
/* Sends the count datagrams of b; returns how many went out or -errno. */
int nt_udp_send_batch(struct nt_udp *u, struct nt_udp_batch *b);
/* One datagram; ttl 0 = the system default. 0 or -errno. */
int nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		int ttl);

#endif
