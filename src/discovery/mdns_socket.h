/* SPDX-License-Identifier: MIT */
/*
 * The mDNS sockets on Linux: one UDP socket per family bound to port 5353 (shared with avahi
 * through SO_REUSEADDR/SO_REUSEPORT), joined to 224.0.0.251 / ff02::fb on every interface
 * that is up, multicast-capable, not loopback and not our own TUN. The engine in mdns.c
 * never sees these; daemon.c reads from them and hands the datagrams to nt_mdns_input.
 */
#ifndef NT_MDNS_SOCKET_H
#define NT_MDNS_SOCKET_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NT_MDNS_SOCKET_MAX_IFS
#define NT_MDNS_SOCKET_MAX_IFS 32
#endif

/* Opens, binds and joins; returns a non-blocking fd or -errno. family is AF_INET or AF_INET6;
 * exclude_ifname (the TUN, "netron0") may be NULL. */
int nt_mdns_socket_open(int family, const char *exclude_ifname);
/* Joins the group on interfaces that appeared since; already joined ones are fine. Returns
 * the number of interfaces the group is joined on, or -errno. Call every few seconds. */
int nt_mdns_socket_rejoin(int fd, int family, const char *exclude_ifname);
/* Multicasts buf to the group out of every eligible interface (TTL / hop limit 255); the
 * same exclude_ifname as for open, so nothing goes into our own tunnel. Returns the number
 * of interfaces it went out on (0 when there are none), or -errno if every send failed. */
int nt_mdns_socket_send(int fd, int family, const char *exclude_ifname, const uint8_t *buf,
			size_t len);

#ifdef __cplusplus
}
#endif
#endif
