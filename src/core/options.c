// SPDX-License-Identifier: MIT
/*
 * Defaults of struct nt_options and the CIDR helpers shared by the command line and the
 * daemon. The defaults are DESIGN §1's table; README.md lists the same values.
 */
#include "netron/options.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_bootstrap[] = {
	"router.bittorrent.com:6881",
	"dht.transmissionbt.com:6881",
	"router.utorrent.com:6881",
};

void nt_options_init(struct nt_options *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->ifname, sizeof(o->ifname), "%s", NT_DEFAULT_IFACE);
	o->mtu = NT_DEFAULT_MTU;
	o->workers = 1;
	snprintf(o->dns_domain, sizeof(o->dns_domain), "netron");
	o->listen_port = NT_DEFAULT_PORT;
	o->dht = true;
	o->mdns = true;
	o->relay = true;
	snprintf(o->api_listen, sizeof(o->api_listen), "%s", NT_DEFAULT_API_LISTEN);
	snprintf(o->state_dir, sizeof(o->state_dir), "%s", NT_DEFAULT_STATE_DIR);
	o->ledger_capacity = NT_DEFAULT_LEDGER_CAPACITY;
	o->log_level = NT_LOG_INFO;
	nt_cidr_parse(NT_DEFAULT_DHCP_RANGE, &o->dhcp_range);
	for (size_t i = 0; i < sizeof(default_bootstrap) / sizeof(default_bootstrap[0]); i++)
		snprintf(o->bootstrap[o->n_bootstrap++], NT_HOSTPORT_MAX, "%s", default_bootstrap[i]);
}

bool nt_cidr_parse(const char *s, struct nt_cidr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long prefix;
	size_t hlen;

	if (!slash)
		return false;
	hlen = (size_t)(slash - s);
	if (hlen == 0 || hlen >= sizeof(host) || !slash[1])
		return false;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	prefix = strtoul(slash + 1, &end, 10);
	if (*end || slash[1] == '-' || slash[1] == '+')
		return false;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		if (prefix > 32)
			return false;
		out->family = AF_INET;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		if (prefix > 128)
			return false;
		out->family = AF_INET6;
	} else {
		return false;
	}
	out->prefix = (uint8_t)prefix;
	return true;
}

const char *nt_cidr_format(const struct nt_cidr *c, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, host, sizeof(host)))
		snprintf(host, sizeof(host), "?");
	snprintf(buf, len, "%s/%u", host, c->prefix);
	return buf;
}

bool nt_cidr_contains(const struct nt_cidr *c, int family, const uint8_t *addr)
{
	unsigned int bits = c->prefix, len = family == AF_INET ? 4 : 16;

	if (c->family != family || (family != AF_INET && family != AF_INET6) || bits > len * 8)
		return false;
	if (memcmp(c->addr, addr, bits / 8) != 0)
		return false;
	if (bits % 8 == 0)
		return true;
	return ((c->addr[bits / 8] ^ addr[bits / 8]) & (0xff00 >> (bits % 8))) == 0;
}
