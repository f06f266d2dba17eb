/* SPDX-License-Identifier: MIT */
/*
 * The TUN interface (Linux): create it, give it addresses and an MTU, bring it up, and
 * read and write IP packets (no packet-information header). Closing the descriptor
 * removes the interface, so a crash leaves nothing behind either.
 */
#ifndef NT_TUN_H
#define NT_TUN_H

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
#include <sys/types.h>

#include "netron/options.h"

/* UDP segmentation offload on the TUN (Linux 6.2); older headers lack the flags. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

struct nt_tun {
	int fd;
	int ifindex;
	char name[NT_IFNAME_MAX];
	unsigned int mtu;
	bool vnet; /* every read and write starts with a struct virtio_net_hdr */
	bool multi_queue; /* IFF_MULTI_QUEUE: more queues may be attached (nt_tun_queue_open) */
	unsigned int offloads; /* TUN_F_* the kernel accepted (TSO/USO superpackets) */
};

/* Offloads asked for: none, the virtio header with checksum/TSO/USO where the kernel has them. */
enum nt_tun_offload { NT_TUN_OFFLOAD_OFF, NT_TUN_OFFLOAD_ON };

/*
 * Creates the interface (fails with -EBUSY if it exists and is in use). With
 * NT_TUN_OFFLOAD_ON the kernel may hand over TCP/UDP superpackets of up to 64 KB and
 * packets with partial checksums (see offload.h); a kernel without IFF_VNET_HDR or some
 * TUN_F_* offload simply gets fewer of them.
 */
int nt_tun_open(struct nt_tun *t, const char *name, unsigned int mtu, enum nt_tun_offload off,
		bool multi_queue);
/*
 * Attaches one more queue to a multi-queue interface: q is t with its own descriptor. The
 * kernel hands each flow's packets to one queue (by flow hash, following the queue that last
 * wrote that flow), so a flow is never reordered across queues. Close it with nt_tun_close;
 * the interface stays until its last queue is closed.
 */
int nt_tun_queue_open(const struct nt_tun *t, struct nt_tun *q);
int nt_tun_add_address(struct nt_tun *t, const struct nt_cidr *c);
int nt_tun_del_address(struct nt_tun *t, const struct nt_cidr *c);
int nt_tun_set_up(struct nt_tun *t);
/*
 * A kernel route for prefix c through the interface (netlink RTM_NEWROUTE; -EEXIST when the
 * main table already routes that prefix, which is left alone), or its removal (only ours,
 * through this interface): how --accept-routes draws a member's subnet to us.
 */
int nt_tun_add_route(struct nt_tun *t, const struct nt_cidr *c);
int nt_tun_del_route(struct nt_tun *t, const struct nt_cidr *c);
void nt_tun_close(struct nt_tun *t);

/*
 * One packet (its length, without the virtio header); -EAGAIN when none is waiting. vh is
 * filled from the kernel's header, or zeroed (an ordinary packet) without t->vnet.
 */
ssize_t nt_tun_read(struct nt_tun *t, struct virtio_net_hdr *vh, void *buf, size_t len);
/* One ordinary IP packet (a zero virtio header is put in front when t->vnet). */
ssize_t nt_tun_write(struct nt_tun *t, const void *buf, size_t len);
/* Only with t->vnet: iov[0] is the struct virtio_net_hdr, the rest one (super)packet. */
ssize_t nt_tun_writev(struct nt_tun *t, const struct iovec *iov, int iovcnt);

#endif
