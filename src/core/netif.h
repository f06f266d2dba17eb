/* SPDX-License-Identifier: MIT */
/*
 * This host's LAN interfaces and their addresses (getifaddrs), our TUN excluded.
 */
#ifndef NT_NETIF_H
#define NT_NETIF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct ifaddrs;

/* Up, multicast-capable, not loopback, not named exclude (may be NULL), with an address. */
bool nt_netif_is_lan(const struct ifaddrs *ifa, const char *exclude);
/*
 * The addresses of those interfaces: *n4 and *n6 give the capacities of v4 and v6 on entry
 * and the counts on return. 0 or -errno.
 */
int nt_netif_addresses(const char *exclude_ifname, struct in_addr *v4, size_t *n4,
		       struct in6_addr *v6, size_t *n6);

#endif
