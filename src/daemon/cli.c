// SPDX-License-Identifier: MIT
/*
 * Parsing of the command-line contract (DESIGN §1). Environment variables are read first,
 * then flags override them; everything is validated here so that `--dry-run` can promise
 * that a real start would accept the same input. Nothing here touches the network.
 */
#include "daemon/cli.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/util.h"
#include "ledger/subnets.h"

enum {
	OPT_KEY_OTP_INTERVAL = 256,
	OPT_TOKEN,
	OPT_CONFIG,
	OPT_ADDRESS,
	OPT_DHCP,
	OPT_INTERFACE,
	OPT_MTU,
	OPT_WORKERS,
	OPT_LISTEN,
	OPT_PEER,
	OPT_BOOTSTRAP,
	OPT_DHT,
	OPT_MDNS,
	OPT_STUN,
	OPT_RELAY,
	OPT_API,
	OPT_API_LISTEN,
	OPT_API_TOKEN_FILE,
	OPT_STATE_DIR,
	OPT_LEDGER_CAPACITY,
	OPT_CLAIM_TTL,
	OPT_NEIGHBORS,
	OPT_MAX_PEERS,
	OPT_ADVERTISE_ROUTES,
	OPT_ACCEPT_ROUTES,
	OPT_ROUTER,
	OPT_LOG_LEVEL,
	OPT_DNS,
	OPT_DNS_DOMAIN,
	OPT_DNS_FORWARD,
	OPT_DNS_REGISTER,
	OPT_DRY_RUN,
};

static const struct option long_options[] = {
	{ "generate", no_argument, NULL, 'g' },
	{ "base64", no_argument, NULL, 'b' },
	{ "key-otp-interval", required_argument, NULL, OPT_KEY_OTP_INTERVAL },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "address", required_argument, NULL, OPT_ADDRESS },
	{ "dhcp", no_argument, NULL, OPT_DHCP },
	{ "interface", required_argument, NULL, OPT_INTERFACE },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
	{ "dht", required_argument, NULL, OPT_DHT },
	{ "mdns", required_argument, NULL, OPT_MDNS },
	{ "stun", required_argument, NULL, OPT_STUN },
	{ "relay", required_argument, NULL, OPT_RELAY },
	{ "api", no_argument, NULL, OPT_API },
	{ "api-listen", required_argument, NULL, OPT_API_LISTEN },
	{ "api-token-file", required_argument, NULL, OPT_API_TOKEN_FILE },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "ledger-capacity", required_argument, NULL, OPT_LEDGER_CAPACITY },
	{ "claim-ttl", required_argument, NULL, OPT_CLAIM_TTL },
	{ "neighbors", required_argument, NULL, OPT_NEIGHBORS },
	{ "max-peers", required_argument, NULL, OPT_MAX_PEERS },
	{ "advertise-routes", required_argument, NULL, OPT_ADVERTISE_ROUTES },
	{ "accept-routes", no_argument, NULL, OPT_ACCEPT_ROUTES },
	{ "router", required_argument, NULL, OPT_ROUTER },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "dns-domain", required_argument, NULL, OPT_DNS_DOMAIN },
	{ "dns-forward", required_argument, NULL, OPT_DNS_FORWARD },
	{ "dns-forward-server", required_argument, NULL, OPT_DNS_FORWARD }, /* EdgeVPN's name */
	{ "dns-register", no_argument, NULL, OPT_DNS_REGISTER },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char usage_text[] =
	"Usage: netron [OPTIONS]               run a node\n"
	"       netron -g [-b] [--key-otp-interval N]   print a new network (YAML, or a token with -b)\n"
	"       netron status [--api-listen ADDR]       show a running node's state\n"
	"\n"
	"Network (exactly one):\n"
	"  --token T              the network as a token              [NETRONTOKEN]\n"
	"  --config FILE          the network as a YAML file          [NETRONCONFIG]\n"
	"\n"
	"Node:\n"
	"  --address CIDR         VPN address, repeatable (one IPv4, one IPv6) [ADDRESS]\n"
	"                         with --dhcp: the range to pick from (default " NT_DEFAULT_DHCP_RANGE ")\n"
	"  --dhcp                 pick a free address through the ledger  [DHCP]\n"
	"  --interface NAME       TUN interface (default " NT_DEFAULT_IFACE ")         [IFACE]\n"
	"  --mtu N                interface MTU (default 1400: fits a 1500-byte path) [NETRONMTU]\n"
	"  --listen [ADDR:]PORT   the one UDP port (default 51830)     [NETRONLISTEN]\n"
	"  --workers N|auto       packet threads, one TUN queue and socket each (default 1)\n"
	"                                                             [NETRONWORKERS]\n"
	"  --state-dir DIR        identity key, leases, known peers (default " NT_DEFAULT_STATE_DIR ")\n"
	"                                                             [NETRONSTATEDIR]\n"
	"  --ledger-capacity N    ledger entries held (default 12288: 10,000 members)\n"
	"  --claim-ttl SECONDS    lifetime of this node's address claims, renewed at half\n"
	"                         (default 21600: a lease of 6 h; a clean exit releases it)\n"
	"  --neighbors N          members whose sessions stay up with no traffic (default 4);\n"
	"                         others open on the first packet and close when idle\n"
	"  --max-peers N          members this node can hold sessions with (default 16384)\n"
	"\n"
	"Subnet routes (docs/routes.md):\n"
	"  --advertise-routes CIDR[,CIDR]  prefixes this member forwards to, in its claim\n"
	"                         (at most 16; 0.0.0.0/0 and ::/0 offer it as a --router)\n"
	"                                                             [NETRONADVERTISEROUTES]\n"
	"  --accept-routes        use the prefixes other members advertise [NETRONACCEPTROUTES]\n"
	"  --router ADDR          send what no member claims to the member holding ADDR, if it\n"
	"                         advertises 0.0.0.0/0 or ::/0            [ROUTER]\n"
	"\n"
	"Discovery and NAT traversal:\n"
	"  --peer HOST:PORT       member to contact directly, repeatable or comma list [NETRONPEERS]\n"
	"  --bootstrap HOST:PORT  DHT bootstrap node, repeatable or comma list [NETRONBOOTSTRAP]\n"
	"                         (default: the public BitTorrent Mainline routers)\n"
	"  --dht on|off           Mainline DHT rendezvous (default on) [NETRONDHT]\n"
	"  --mdns on|off          LAN discovery with mDNS (default on) [NETRONMDNS]\n"
	"  --stun HOST:PORT       public STUN server, repeatable       [NETRONSTUN]\n"
	"  --relay on|off         relay traffic for other members (default on)\n"
	"\n"
	"Names (docs/dns.md):\n"
	"  --dns ADDR:PORT        serve members' names over DNS, UDP and TCP (default off)\n"
	"                                                             [DNSADDRESS]\n"
	"  --dns-domain NAME      their domain: <hostname>.NAME (default netron) [DNSDOMAIN]\n"
	"  --dns-forward ADDR[:PORT][,...]  resolvers for other names (default: the\n"
	"                         nameservers of /etc/resolv.conf) [DNSFORWARDSERVER]\n"
	"  --dns-register         register the domain with systemd-resolved on the interface\n"
	"                         (split DNS: `ping host.netron` just works), removed on exit\n"
	"\n"
	"API:\n"
	"  --api                  serve the HTTP API                  [API]\n"
	"  --api-listen ADDR      HOST:PORT or unix:/path (default " NT_DEFAULT_API_LISTEN ") [APILISTEN]\n"
	"  --api-token-file FILE  bearer token (required off loopback)\n"
	"\n"
	"Other:\n"
	"  --log-level L          error, warn, info, debug, debug:CAT,... (default info) [NETRONLOGLEVEL]\n"
	"                         categories: handshake packet dht mdns gossip nat ledger api tun\n"
	"  --dry-run              validate everything, print a summary, exit\n"
	"  -h, --help             this text;  -V, --version   the version\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 bad input.\n";

const char *nt_cli_usage(void)
{
	return usage_text;
}

/* A one-line error for the user; always -EINVAL, so callers can return it. */
#define fail(err, ...) (nt_err_set((err), 0, 0, __VA_ARGS__), -EINVAL)

static int parse_uint(const char *what, const char *s, unsigned long min, unsigned long max,
		      unsigned long *out, struct nt_err *err)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (!*s || !isdigit((unsigned char)s[0]))
		return fail(err, "%s: must be an integer from %lu to %lu, got '%s'", what, min, max, s);
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return fail(err, "%s: must be an integer from %lu to %lu, got '%s'", what, min, max, s);
	*out = v;
	return 0;
}

static int parse_onoff(const char *what, const char *s, bool *out, struct nt_err *err)
{
	if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
		*out = true;
	else if (!strcmp(s, "off") || !strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
		*out = false;
	else
		return fail(err, "%s: must be on or off, got '%s'", what, s);
	return 0;
}

static bool valid_hostport(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (!colon || colon == s || !colon[1])
		return false;
	if (s[0] == '[' && colon[-1] != ']')
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535 || !isdigit((unsigned char)colon[1]))
		return false;
	for (const char *p = s; p < colon; p++)
		if (isspace((unsigned char)*p) || *p == ',')
			return false;
	return true;
}

/* Appends a comma-separated list of HOST:PORT to a fixed array. */
static int add_hostports(const char *what, const char *s, char (*list)[NT_HOSTPORT_MAX],
			 unsigned int *n, unsigned int max, struct nt_err *err)
{
	const char *p = s;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[NT_HOSTPORT_MAX];

		if (len == 0) {
			p = comma ? comma + 1 : p + len;
			continue;
		}
		if (len >= sizeof(item))
			return fail(err, "%s: entry too long (at most %d characters)", what,
				    NT_HOSTPORT_MAX - 1);
		memcpy(item, p, len);
		item[len] = '\0';
		if (!valid_hostport(item))
			return fail(err, "%s: '%s' is not HOST:PORT (e.g. 192.0.2.1:51830 or [2001:db8::1]:51830)",
				    what, item);
		if (*n >= max)
			return fail(err, "%s: at most %u entries", what, max);
		memcpy(list[(*n)++], item, len + 1);
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

static int add_address(struct nt_options *o, const char *s, struct nt_err *err)
{
	const char *p = s;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[64];
		struct nt_cidr c;

		if (len == 0 || len >= sizeof(item))
			return fail(err, "--address: '%s' is not an address with a prefix (e.g. 10.1.0.11/24 or fd00::11/64)", s);
		memcpy(item, p, len);
		item[len] = '\0';
		if (!nt_cidr_parse(item, &c))
			return fail(err, "--address: '%s' is not an address with a prefix (e.g. 10.1.0.11/24 or fd00::11/64)", item);
		if (o->n_addresses >= NT_MAX_ADDRESSES)
			return fail(err, "--address: at most %d addresses", NT_MAX_ADDRESSES);
		o->addresses[o->n_addresses++] = c;
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

/* --advertise-routes: a comma list of network prefixes; the VPN overlap is checked at the end. */
static int add_routes(struct nt_options *o, const char *what, const char *s, struct nt_err *err)
{
	const char *p = s;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[64];
		const char *why;
		struct nt_cidr c;

		if (len == 0) {
			p = comma ? comma + 1 : p + len;
			continue;
		}
		if (len >= sizeof(item))
			return fail(err, "%s: '%s' is not a prefix (e.g. 198.51.100.0/24)", what, s);
		memcpy(item, p, len);
		item[len] = '\0';
		if (!nt_cidr_parse(item, &c))
			return fail(err, "%s: '%s' is not a prefix (e.g. 198.51.100.0/24)", what, item);
		why = nt_subnet_check(&c, NULL, 0);
		if (why)
			return fail(err, "%s: %s: %s", what, item, why);
		for (unsigned int i = 0; i < o->n_advertise_routes; i++)
			if (nt_subnet_overlaps(&o->advertise_routes[i], &c) &&
			    o->advertise_routes[i].prefix == c.prefix)
				return fail(err, "%s: %s is given twice", what, item);
		if (o->n_advertise_routes >= NT_MAX_ADVERTISED_ROUTES)
			return fail(err, "%s: at most %d prefixes", what, NT_MAX_ADVERTISED_ROUTES);
		o->advertise_routes[o->n_advertise_routes++] = c;
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

/* --router ADDR: a VPN address (EdgeVPN's form), kept as a host prefix. */
static int parse_router(struct nt_options *o, const char *what, const char *s, struct nt_err *err)
{
	memset(&o->router, 0, sizeof(o->router));
	if (inet_pton(AF_INET, s, o->router.addr) == 1) {
		o->router.family = AF_INET;
		o->router.prefix = 32;
	} else if (inet_pton(AF_INET6, s, o->router.addr) == 1) {
		o->router.family = AF_INET6;
		o->router.prefix = 128;
	} else {
		return fail(err, "%s: '%s' is not a VPN address (e.g. 10.1.0.1)", what, s);
	}
	o->has_router = true;
	return 0;
}

/*
 * After every option: advertised prefixes may not overlap the VPN's (that would draw
 * members' own traffic), the list must fit in a claim, and --router must be a VPN address.
 */
static int check_routes(const struct nt_options *o, struct nt_err *err)
{
	struct nt_cidr vpn[NT_MAX_ADDRESSES + 1];
	unsigned int n_vpn = 0;
	size_t text = 0;
	char buf[64];

	for (unsigned int i = 0; i < o->n_addresses; i++)
		vpn[n_vpn++] = o->addresses[i];
	if (o->dhcp)
		vpn[n_vpn++] = o->dhcp_range;
	for (unsigned int i = 0; i < o->n_advertise_routes; i++) {
		const char *why = nt_subnet_check(&o->advertise_routes[i], vpn, n_vpn);

		nt_cidr_format(&o->advertise_routes[i], buf, sizeof(buf));
		if (why)
			return fail(err, "--advertise-routes: %s: %s", buf, why);
		text += strlen(buf) + 3;
	}
	if (text > NT_SUBNETS_TEXT_MAX)
		return fail(err, "--advertise-routes: the list is too long for a claim (%d characters at most)",
			    NT_SUBNETS_TEXT_MAX);
	if (o->has_router) {
		bool inside = false;

		for (unsigned int i = 0; i < n_vpn; i++)
			inside |= nt_cidr_contains(&vpn[i], o->router.family, o->router.addr);
		if (!inside)
			return fail(err, "--router: %s is not in the VPN's prefix",
				    inet_ntop(o->router.family, o->router.addr, buf, sizeof(buf)));
	}
	return 0;
}

static int parse_listen(struct nt_options *o, const char *s, struct nt_err *err)
{
	const char *colon = strrchr(s, ':');
	const char *port_s = colon ? colon + 1 : s;
	unsigned long port;

	if (colon) {
		size_t hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(o->listen_host))
			return fail(err, "--listen: '%s' is not [ADDR:]PORT", s);
		if (s[0] == '[') {
			if (s[hlen - 1] != ']' || hlen < 3)
				return fail(err, "--listen: '%s' is not [ADDR:]PORT", s);
			memcpy(o->listen_host, s + 1, hlen - 2);
			o->listen_host[hlen - 2] = '\0';
		} else {
			if (memchr(s, ':', hlen))
				return fail(err, "--listen: write an IPv6 address in brackets: [ADDR]:PORT");
			memcpy(o->listen_host, s, hlen);
			o->listen_host[hlen] = '\0';
		}
	} else {
		o->listen_host[0] = '\0';
	}
	if (parse_uint("--listen", port_s, 1, 65535, &port, err) < 0)
		return -EINVAL;
	o->listen_port = (uint16_t)port;
	return 0;
}

static bool valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= NT_IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

static int copy_string(const char *what, char *dst, size_t cap, const char *s, struct nt_err *err)
{
	if (!*s)
		return fail(err, "%s: must not be empty", what);
	if (strlen(s) >= cap)
		return fail(err, "%s: too long (at most %zu characters)", what, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* --dns-domain: labels of [A-Za-z0-9-], dots between them, a trailing dot allowed. */
static int parse_domain(struct nt_options *o, const char *s, const char *what, struct nt_err *err)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > NT_DNS_DOMAIN_MAX || s[0] == '.')
		goto bad;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 && i)
				goto bad;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			if (++label > 63)
				goto bad;
		} else {
			goto bad;
		}
	}
	memcpy(o->dns_domain, s, len + 1);
	return 0;
bad:
	return fail(err, "%s: '%s' is not a domain name (e.g. netron or vpn.example)", what, s);
}

/* --dns-forward ADDR[:PORT][,...]: IP literals only (who would resolve the resolver?). */
static int add_forwards(struct nt_options *o, const char *s, const char *what, struct nt_err *err)
{
	const char *p = s;

	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char item[NT_HOSTPORT_MAX], host[NT_HOST_MAX];
		union nt_sockaddr sa;
		uint16_t port;

		if (len && len < sizeof(item)) {
			memcpy(item, p, len);
			item[len] = '\0';
			if (!nt_sockaddr_literal(item, 53, &sa) &&
			    !(nt_hostport_split(item, host, &port) && nt_sockaddr_literal(host, port, &sa)))
				return fail(err, "%s: '%s' is not ADDR[:PORT] (e.g. 192.0.2.53 or [2001:db8::53]:53)",
					    what, item);
			if (o->n_dns_forward >= NT_MAX_DNS_FORWARD)
				return fail(err, "%s: at most %d resolvers", what, NT_MAX_DNS_FORWARD);
			memcpy(o->dns_forward[o->n_dns_forward++], item, len + 1);
		} else if (len) {
			return fail(err, "%s: entry too long", what);
		}
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

/* One option, from a flag or from the environment; `what` names it in errors. */
static int apply(struct nt_cli *cli, int opt, const char *arg, const char *what, struct nt_err *err)
{
	struct nt_options *o = &cli->opts;
	unsigned long v;

	switch (opt) {
	case OPT_KEY_OTP_INTERVAL:
		if (parse_uint(what, arg, 1, 2147483647UL, &v, err) < 0)
			return -EINVAL;
		cli->otp_interval = (uint32_t)v;
		return 0;
	case OPT_TOKEN:
		if (!*arg)
			return fail(err, "%s: the token is empty", what);
		o->token = (char *)arg;
		return 0;
	case OPT_CONFIG:
		if (!*arg)
			return fail(err, "%s: the file name is empty", what);
		o->config_path = (char *)arg;
		return 0;
	case OPT_ADDRESS:
		return add_address(o, arg, err);
	case OPT_DHCP:
		return parse_onoff(what, arg, &o->dhcp, err);
	case OPT_INTERFACE:
		if (!valid_ifname(arg))
			return fail(err, "%s: '%s' is not an interface name (1-15 of A-Z a-z 0-9 - _ .)", what, arg);
		snprintf(o->ifname, sizeof(o->ifname), "%s", arg);
		return 0;
	case OPT_MTU:
		if (parse_uint(what, arg, NT_MTU_MIN, NT_MTU_MAX, &v, err) < 0)
			return -EINVAL;
		o->mtu = (unsigned int)v;
		return 0;
	case OPT_NEIGHBORS:
		if (parse_uint(what, arg, 1, NT_NEIGHBORS_MAX_OPT, &v, err) < 0)
			return -EINVAL;
		o->neighbors = (unsigned int)v;
		return 0;
	case OPT_MAX_PEERS:
		if (parse_uint(what, arg, 16, 1u << 20, &v, err) < 0)
			return -EINVAL;
		o->max_peers = (unsigned int)v;
		return 0;
	case OPT_WORKERS:
		if (!strcmp(arg, "auto")) {
			o->workers = 0;
			return 0;
		}
		if (parse_uint(what, arg, 1, NT_MAX_WORKERS, &v, err) < 0)
			return -EINVAL;
		o->workers = (unsigned int)v;
		return 0;
	case OPT_LISTEN:
		return parse_listen(o, arg, err);
	case OPT_PEER:
		return add_hostports(what, arg, o->peers, &o->n_peers, NT_MAX_PEERS_CONFIGURED, err);
	case OPT_BOOTSTRAP:
		return add_hostports(what, arg, o->bootstrap, &o->n_bootstrap, NT_MAX_BOOTSTRAP, err);
	case OPT_STUN:
		return add_hostports(what, arg, o->stun, &o->n_stun, NT_MAX_STUN, err);
	case OPT_DHT:
		return parse_onoff(what, arg, &o->dht, err);
	case OPT_MDNS:
		return parse_onoff(what, arg, &o->mdns, err);
	case OPT_RELAY:
		return parse_onoff(what, arg, &o->relay, err);
	case OPT_API:
		return parse_onoff(what, arg, &o->api, err);
	case OPT_API_LISTEN:
		if (strncmp(arg, "unix:", 5) == 0) {
			if (arg[5] != '/')
				return fail(err, "%s: a unix socket needs an absolute path (unix:/run/netron.sock)", what);
		} else if (!valid_hostport(arg)) {
			return fail(err, "%s: '%s' is not HOST:PORT or unix:/path", what, arg);
		}
		return copy_string(what, o->api_listen, sizeof(o->api_listen), arg, err);
	case OPT_API_TOKEN_FILE:
		return copy_string(what, o->api_token_file, sizeof(o->api_token_file), arg, err);
	case OPT_STATE_DIR:
		return copy_string(what, o->state_dir, sizeof(o->state_dir), arg, err);
	case OPT_LEDGER_CAPACITY:
		if (parse_uint(what, arg, 16, 1048576, &v, err) < 0)
			return -EINVAL;
		o->ledger_capacity = (unsigned int)v;
		return 0;
	case OPT_CLAIM_TTL:
		if (parse_uint(what, arg, 10, 86400, &v, err) < 0)
			return -EINVAL;
		o->claim_ttl_s = (unsigned int)v;
		return 0;
	case OPT_DNS:
		if (!valid_hostport(arg))
			return fail(err, "%s: '%s' is not ADDR:PORT (e.g. 127.0.0.1:53 or [fd00:6e74::1]:53)", what, arg);
		return copy_string(what, o->dns_listen, sizeof(o->dns_listen), arg, err);
	case OPT_DNS_DOMAIN:
		return parse_domain(o, arg, what, err);
	case OPT_DNS_FORWARD:
		return add_forwards(o, arg, what, err);
	case OPT_DNS_REGISTER:
		return parse_onoff(what, arg, &o->dns_register, err);
	case OPT_ADVERTISE_ROUTES:
		return add_routes(o, what, arg, err);
	case OPT_ACCEPT_ROUTES:
		return parse_onoff(what, arg, &o->accept_routes, err);
	case OPT_ROUTER:
		return parse_router(o, what, arg, err);
	case OPT_LOG_LEVEL:
		if (!nt_log_parse_level(arg, &o->log_level, &o->log_debug_mask))
			return fail(err, "%s: '%s' is not error, warn, info, debug or debug:CATEGORY,...", what, arg);
		return 0;
	}
	return fail(err, "internal: unknown option %d", opt);
}

static const struct {
	const char *name;
	int opt;
} env_table[] = {
	{ "NETRONTOKEN", OPT_TOKEN },	    { "NETRONCONFIG", OPT_CONFIG },
	{ "ADDRESS", OPT_ADDRESS },	    { "DHCP", OPT_DHCP },
	{ "IFACE", OPT_INTERFACE },	    { "NETRONMTU", OPT_MTU },
	{ "NETRONWORKERS", OPT_WORKERS },
	{ "NETRONLISTEN", OPT_LISTEN },	    { "NETRONPEERS", OPT_PEER },
	{ "NETRONBOOTSTRAP", OPT_BOOTSTRAP }, { "NETRONDHT", OPT_DHT },
	{ "NETRONMDNS", OPT_MDNS },	    { "NETRONSTUN", OPT_STUN },
	{ "API", OPT_API },		    { "APILISTEN", OPT_API_LISTEN },
	{ "NETRONSTATEDIR", OPT_STATE_DIR }, { "NETRONLOGLEVEL", OPT_LOG_LEVEL },
	{ "DNSADDRESS", OPT_DNS },	    { "DNSDOMAIN", OPT_DNS_DOMAIN },
	{ "DNSFORWARDSERVER", OPT_DNS_FORWARD },
	{ "NETRONADVERTISEROUTES", OPT_ADVERTISE_ROUTES },
	{ "NETRONACCEPTROUTES", OPT_ACCEPT_ROUTES },
	{ "ROUTER", OPT_ROUTER },
};

/* Host addresses only: 10.1.0.0/24 names a network, not a node. */
static int check_addresses(const struct nt_options *o, struct nt_err *err)
{
	bool have4 = false, have6 = false;

	for (unsigned int i = 0; i < o->n_addresses; i++) {
		const struct nt_cidr *c = &o->addresses[i];
		char buf[64];

		if (c->family == AF_INET) {
			uint32_t a = (uint32_t)c->addr[0] << 24 | (uint32_t)c->addr[1] << 16 |
				     (uint32_t)c->addr[2] << 8 | c->addr[3];
			uint32_t host = c->prefix == 0 ? a : a & (0xffffffffU >> c->prefix);
			if (have4)
				return fail(err, "--address: one IPv4 address only (got a second: %s)",
					    nt_cidr_format(c, buf, sizeof(buf)));
			have4 = true;
			if (o->dhcp)
				continue;
			if (c->prefix < 31 && (host == 0 || host == (0xffffffffU >> c->prefix)))
				return fail(err, "--address: %s is the network or broadcast address of its prefix; give a host address like 10.1.0.11/24",
					    nt_cidr_format(c, buf, sizeof(buf)));
		} else {
			if (have6)
				return fail(err, "--address: one IPv6 address only (got a second: %s)",
					    nt_cidr_format(c, buf, sizeof(buf)));
			have6 = true;
		}
	}
	return 0;
}

int nt_cli_parse(struct nt_cli *cli, int argc, char **argv, nt_getenv_fn *getenv_fn,
		 struct nt_err *err)
{
	bool flag_seen[OPT_DRY_RUN + 1] = { false };
	int opt, first_arg;

	memset(cli, 0, sizeof(*cli));
	memset(err, 0, sizeof(*err));
	nt_options_init(&cli->opts);
	cli->mode = NT_CLI_RUN;
	cli->otp_interval = 360;

	/* Flags first, remembering which were given, so that env only fills the rest. */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "gbhV", long_options, NULL)) != -1) {
		char what[64] = "";
		switch (opt) {
		case 'g':
			cli->mode = NT_CLI_GENERATE;
			continue;
		case 'b':
			cli->base64 = true;
			continue;
		case 'h':
			cli->mode = NT_CLI_HELP;
			return 0;
		case 'V':
			cli->mode = NT_CLI_VERSION;
			return 0;
		case OPT_DRY_RUN:
			cli->dry_run = true;
			continue;
		case '?':
			if (optopt)
				return fail(err, "unknown or incomplete option '-%c' (see netron --help)", optopt);
			return fail(err, "unknown option '%s' or missing value (see netron --help)",
				    argv[optind - 1]);
		case ':':
			return fail(err, "option '%s' needs a value", argv[optind - 1]);
		}
		/* The first use of a repeatable flag clears what the defaults put there. */
		if (!flag_seen[opt]) {
			if (opt == OPT_BOOTSTRAP)
				cli->opts.n_bootstrap = 0;
		}
		flag_seen[opt] = true;
		for (const struct option *lo = long_options; lo->name; lo++)
			if (lo->val == opt && !strstr(what, "--"))
				snprintf(what, sizeof(what), "--%s", lo->name);
		if (opt == OPT_DHCP || opt == OPT_API || opt == OPT_DNS_REGISTER || opt == OPT_ACCEPT_ROUTES) {
			if (apply(cli, opt, "on", what, err) < 0)
				return -EINVAL;
		} else if (apply(cli, opt, optarg, what, err) < 0) {
			return -EINVAL;
		}
	}
	first_arg = optind;

	for (size_t i = 0; i < sizeof(env_table) / sizeof(env_table[0]); i++) {
		const char *v = getenv_fn ? getenv_fn(env_table[i].name) : NULL;
		if (!v || flag_seen[env_table[i].opt])
			continue;
		if (!*v && env_table[i].opt != OPT_TOKEN && env_table[i].opt != OPT_CONFIG)
			continue;
		if (env_table[i].opt == OPT_BOOTSTRAP)
			cli->opts.n_bootstrap = 0;
		if (apply(cli, env_table[i].opt, v, env_table[i].name, err) < 0)
			return -EINVAL;
	}

	if (first_arg < argc) {
		if (!strcmp(argv[first_arg], "status") && cli->mode == NT_CLI_RUN) {
			cli->mode = NT_CLI_STATUS;
			first_arg++;
		}
		if (first_arg < argc)
			return fail(err, "unexpected argument '%s' (see netron --help)", argv[first_arg]);
	}

	if (cli->base64 && cli->mode != NT_CLI_GENERATE)
		return fail(err, "-b only goes with -g (netron -g -b prints a new token)");
	if (cli->mode != NT_CLI_RUN)
		return 0;

	if (cli->opts.token && cli->opts.config_path)
		return fail(err, "give the network once: --token/NETRONTOKEN or --config/NETRONCONFIG, not both");
	if (!cli->opts.token && !cli->opts.config_path)
		return fail(err, "no network: give --token T (or NETRONTOKEN) or --config FILE (or NETRONCONFIG); netron -g -b makes one");
	if (cli->opts.dhcp) {
		/* With --dhcp an IPv4 --address is the range to pick from. */
		unsigned int kept = 0;
		for (unsigned int i = 0; i < cli->opts.n_addresses; i++) {
			if (cli->opts.addresses[i].family == AF_INET)
				cli->opts.dhcp_range = cli->opts.addresses[i];
			else
				cli->opts.addresses[kept++] = cli->opts.addresses[i];
		}
		cli->opts.n_addresses = kept;
		if (cli->opts.dhcp_range.prefix < 8 || cli->opts.dhcp_range.prefix > 30)
			return fail(err, "--dhcp: the range needs a prefix from /8 to /30 (e.g. 10.1.0.0/24)");
	} else if (cli->opts.n_addresses == 0) {
		return fail(err, "no VPN address: give --address CIDR (e.g. 10.1.0.11/24) or --dhcp");
	}
	if (check_addresses(&cli->opts, err) < 0 || check_routes(&cli->opts, err) < 0)
		return -EINVAL;
	if (cli->opts.dns_register && !cli->opts.dns_listen[0])
		return fail(err, "--dns-register needs --dns ADDR:PORT (the server it registers)");
	if (cli->opts.api && strncmp(cli->opts.api_listen, "unix:", 5) != 0) {
		bool loopback = !strncmp(cli->opts.api_listen, "127.", 4) ||
				!strncmp(cli->opts.api_listen, "[::1]:", 6) ||
				!strncmp(cli->opts.api_listen, "localhost:", 10);
		if (!loopback && !cli->opts.api_token_file[0])
			return fail(err, "--api-listen %s is not loopback: give --api-token-file FILE (a bearer token, mode 0600)",
				    cli->opts.api_listen);
	}
	return 0;
}
