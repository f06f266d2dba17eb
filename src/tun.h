/* SPDX-License-Identifier: MIT */
/*
 * The TUN interface (Linux): create it, give it addresses and an MTU, bring it up, and
 * read and write IP packets (no packet-information header). Closing the descriptor
 * removes the interface, so a crash leaves nothing behind either.
 */
#ifndef NT_TUN_H
#define NT_TUN_H

#include <stddef.h>
#include <sys/types.h>

#include "netron/options.h"

struct nt_tun {
	int fd;
	int ifindex;
	char name[NT_IFNAME_MAX];
	unsigned int mtu;
};

/* Creates the interface (fails with -EBUSY if it exists and is in use). */
int nt_tun_open(struct nt_tun *t, const char *name, unsigned int mtu);
int nt_tun_add_address(struct nt_tun *t, const struct nt_cidr *c);
int nt_tun_del_address(struct nt_tun *t, const struct nt_cidr *c);
int nt_tun_set_up(struct nt_tun *t);
void nt_tun_close(struct nt_tun *t);

/* One packet; -EAGAIN when none is waiting. */
ssize_t nt_tun_read(struct nt_tun *t, void *buf, size_t len);
ssize_t nt_tun_write(struct nt_tun *t, const void *buf, size_t len);

#endif
