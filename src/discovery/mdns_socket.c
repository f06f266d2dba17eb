// SPDX-License-Identifier: MIT
/*
 * Linux sockets for Multicast DNS (RFC 6762 §3, §11): bound to the wildcard address on port
 * 5353 with SO_REUSEADDR and SO_REUSEPORT so avahi-daemon and we both receive every packet,
 * joined to 224.0.0.251 or ff02::fb per interface (by index, ip_mreqn / ipv6_mreq), sending
 * with TTL / hop limit 255 out of each interface in turn (IP_MULTICAST_IF / IPV6_MULTICAST_IF).
 * Eligible interfaces: up, multicast-capable, not loopback, not the excluded one (our TUN),
 * and holding an address of the family. Multicast loopback stays on: another node on the same
 * host must hear us, and the engine recognises its own packets by their content.
 *
 * Two fallbacks, for systems that refuse what a Linux kernel accepts. qemu-user 7.2 (a
 * member of another CPU run under emulation) declares the index of ip_mreqn as a long, so
 * on a 64-bit target it never reaches the kernel and IP_ADD_MEMBERSHIP by index fails with
 * ENODEV: the group is then joined by the interface's address (ip_mreq). The same qemu does
 * not know IP_MULTICAST_IF nor IPV6_MULTICAST_IF (ENOPROTOOPT): IPv6 still picks each
 * interface through the scope id of ff02::fb, and IPv4 sends once, out of the interface
 * the routing table gives 224.0.0.251. Each is said in one line when the socket opens.
 */
#include "discovery/mdns_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/netif.h"

struct iface {
	unsigned int index;
	struct in_addr addr4; /* an IPv4 address of it, for joining by address */
};

static const uint8_t group6[16] = { 0xff, 0x02, [15] = 0xfb }; /* ff02::fb */
#define GROUP4 "224.0.0.251"
enum { MDNS_PORT = 5353 };

/* Up to max distinct eligible interfaces with an address of family. Returns count or -errno. */
static int list_ifaces(int family, const char *exclude, struct iface *out, int max)
{
	struct ifaddrs *ifap, *ifa;
	int n = 0;

	if (getifaddrs(&ifap) < 0)
		return -errno;
	for (ifa = ifap; ifa && n < max; ifa = ifa->ifa_next) {
		unsigned int index;
		bool dup = false;

		if (!nt_netif_is_lan(ifa, exclude) || ifa->ifa_addr->sa_family != family)
			continue;
		index = if_nametoindex(ifa->ifa_name);
		if (index == 0)
			continue;
		for (int i = 0; i < n; i++)
			dup |= out[i].index == index;
		if (dup)
			continue;
		out[n].index = index;
		if (family == AF_INET)
			out[n].addr4 = ((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
		n++;
	}
	freeifaddrs(ifap);
	return n;
}

/* 0 when joined by index, 1 when joined by address (ip_mreq, see the top), or -errno. */
static int join(int fd, int family, const struct iface *ifc)
{
	int ret;

	if (family == AF_INET) {
		struct ip_mreqn mr = { .imr_ifindex = (int)ifc->index };
		struct ip_mreq by_addr = { .imr_interface = ifc->addr4 };

		inet_pton(AF_INET, GROUP4, &mr.imr_multiaddr);
		ret = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr));
		if (ret == 0 || errno == EADDRINUSE || (errno != ENODEV && errno != EINVAL))
			goto out;
		by_addr.imr_multiaddr = mr.imr_multiaddr;
		ret = setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &by_addr, sizeof(by_addr));
		if (ret == 0 || errno == EADDRINUSE)
			return 1;
	} else {
		struct ipv6_mreq mr = { .ipv6mr_interface = ifc->index };

		memcpy(&mr.ipv6mr_multiaddr, group6, 16);
		ret = setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr));
	}
out:
	/* EADDRINUSE: already a member on that interface, which is what we wanted. */
	if (ret < 0 && errno != EADDRINUSE)
		return -errno;
	return 0;
}

/* nt_mdns_socket_rejoin, and whether some interface was joined by address (*by_addr). */
static int rejoin(int fd, int family, const char *exclude_ifname, bool *by_addr)
{
	struct iface ifs[NT_MDNS_SOCKET_MAX_IFS];
	int n, joined = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	n = list_ifaces(family, exclude_ifname, ifs, NT_MDNS_SOCKET_MAX_IFS);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		int ret = join(fd, family, &ifs[i]);
		char name[IF_NAMESIZE] = "?";

		if (ret >= 0) {
			*by_addr |= ret == 1;
			joined++;
			continue;
		}
		if_indextoname(ifs[i].index, name);
		errno = -ret;
		log_warn("mdns: cannot join the %s group on %s", family == AF_INET ? "IPv4" : "IPv6",
			 name);
	}
	return joined;
}

int nt_mdns_socket_rejoin(int fd, int family, const char *exclude_ifname)
{
	bool by_addr = false;

	return rejoin(fd, family, exclude_ifname, &by_addr);
}

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

int nt_mdns_socket_open(int family, const char *exclude_ifname)
{
	union {
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t salen;
	bool by_addr = false;
	int fd, ret;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if ((ret = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1)) < 0 ||
	    (ret = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
		goto err_close;

	memset(&sa, 0, sizeof(sa));
	if (family == AF_INET) {
		if ((ret = set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255)) < 0 ||
		    (ret = set_int(fd, IPPROTO_IP, IP_TTL, 255)) < 0 ||
		    (ret = set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1)) < 0)
			goto err_close;
		/* Only the groups joined on this socket, not every group of the host on 5353. */
		set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
		sa.in4.sin_family = AF_INET;
		sa.in4.sin_port = htons(MDNS_PORT);
		sa.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		salen = sizeof(sa.in4);
	} else {
		if ((ret = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0 ||
		    (ret = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)) < 0 ||
		    (ret = set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255)) < 0 ||
		    (ret = set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1)) < 0)
			goto err_close;
		set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons(MDNS_PORT);
		sa.in6.sin6_addr = in6addr_any;
		salen = sizeof(sa.in6);
	}
	if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
		ret = -errno;
		goto err_close;
	}
	ret = rejoin(fd, family, exclude_ifname, &by_addr);
	if (ret < 0)
		goto err_close;
	if (by_addr)
		log_info("mdns: joining %s by interface index was refused: joined by address", GROUP4);
	/* Index 0 (any interface) is valid everywhere IP_MULTICAST_IF exists at all. */
	if (family == AF_INET) {
		struct ip_mreqn any = { .imr_ifindex = 0 };

		if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &any, sizeof(any)) < 0)
			log_warn("mdns: IP_MULTICAST_IF refused: announcing out of the interface of "
				 "the route to %s only", GROUP4);
	} else if (set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, 0) < 0) {
		log_info("mdns: IPV6_MULTICAST_IF refused: choosing the interface by scope id");
	}
	return fd;

err_close:
	close(fd);
	return ret;
}

int nt_mdns_socket_send(int fd, int family, const char *exclude_ifname, const uint8_t *buf,
			size_t len)
{
	struct iface ifs[NT_MDNS_SOCKET_MAX_IFS];
	int n, sent = 0, err = 0;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	n = list_ifaces(family, exclude_ifname, ifs, NT_MDNS_SOCKET_MAX_IFS);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		ssize_t w;

		if (family == AF_INET) {
			struct ip_mreqn mr = { .imr_ifindex = (int)ifs[i].index };
			struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(MDNS_PORT) };

			inet_pton(AF_INET, GROUP4, &to.sin_addr);
			if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0) {
				err = errno;
				if (err != ENOPROTOOPT)
					continue;
				/* Refused (said at open): once, where the route to the group goes. */
				w = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
				if (w < 0)
					return sent ? sent : -errno;
				return sent + 1;
			}
			w = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
		} else {
			struct sockaddr_in6 to = { .sin6_family = AF_INET6,
						   .sin6_port = htons(MDNS_PORT),
						   .sin6_scope_id = ifs[i].index };
			int index = (int)ifs[i].index;

			memcpy(&to.sin6_addr, group6, 16);
			/* Refused (ENOPROTOOPT, said at open): the scope id picks the interface. */
			if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index, sizeof(index)) < 0 &&
			    errno != ENOPROTOOPT) {
				err = errno;
				continue;
			}
			w = sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
		}
		if (w < 0)
			err = errno;
		else
			sent++;
	}
	if (n > 0 && sent == 0)
		return -err;
	return sent;
}
