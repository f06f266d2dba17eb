// SPDX-License-Identifier: MIT
/*
 * This host's LAN interfaces: up, multicast-capable, not loopback, not the one excluded (our
 * own TUN). mDNS sends and joins on them; address claims and mDNS answers name their
 * addresses as where this node can be reached without a router in between.
 */
#include "core/netif.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

bool nt_netif_is_lan(const struct ifaddrs *ifa, const char *exclude)
{
	if (!ifa->ifa_addr || !ifa->ifa_name)
		return false;
	if (!(ifa->ifa_flags & IFF_UP) || !(ifa->ifa_flags & IFF_MULTICAST) ||
	    (ifa->ifa_flags & IFF_LOOPBACK))
		return false;
	return !exclude || strcmp(ifa->ifa_name, exclude) != 0;
}

int nt_netif_addresses(const char *exclude_ifname, struct in_addr *v4, size_t *n4,
		       struct in6_addr *v6, size_t *n6)
{
	struct ifaddrs *ifap, *ifa;
	size_t c4 = 0, c6 = 0;

	if (getifaddrs(&ifap) < 0)
		return -errno;
	for (ifa = ifap; ifa; ifa = ifa->ifa_next) {
		if (!nt_netif_is_lan(ifa, exclude_ifname))
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET && c4 < *n4)
			v4[c4++] = ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
		else if (ifa->ifa_addr->sa_family == AF_INET6 && c6 < *n6)
			v6[c6++] = ((const struct sockaddr_in6 *)(const void *)ifa->ifa_addr)->sin6_addr;
	}
	freeifaddrs(ifap);
	*n4 = c4;
	*n6 = c6;
	return 0;
}
