/* SPDX-License-Identifier: MIT */
/*
 * What a node is told to do: the plain-data form of the command-line contract (DESIGN §1).
 * `netron` fills it from flags and environment variables; an embedding program fills it
 * by hand (nt_options_init gives the defaults) and passes it to nt_daemon_new.
 */
#ifndef NT_OPTIONS_H
#define NT_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	NT_MAX_ADDRESSES = 4,
	NT_MAX_PEERS_CONFIGURED = 64,
	NT_MAX_BOOTSTRAP = 16,
	NT_MAX_STUN = 8,
	NT_HOSTPORT_MAX = 262, /* "[ipv6]:port" or "hostname:port" */
	NT_IFNAME_MAX = 16, /* IFNAMSIZ */
	NT_PATH_MAX = 256,
	NT_DEFAULT_PORT = 51830,
	NT_DEFAULT_MTU = 1400,
	NT_MTU_MIN = 1280,
	NT_MTU_MAX = 9000,
	NT_DEFAULT_LEDGER_CAPACITY = 12288, /* 10,000 members' claims and room for the rest */
	NT_MAX_DNS_FORWARD = 4,
	NT_DNS_DOMAIN_MAX = 128,
};

#define NT_DEFAULT_IFACE "netron0"
#define NT_DEFAULT_STATE_DIR "/var/lib/netron"
#define NT_DEFAULT_API_LISTEN "127.0.0.1:8080"
#define NT_DEFAULT_DHCP_RANGE "10.1.0.0/24"

/* Prefixes one member may advertise (--advertise-routes), here and in any claim accepted. */
#define NT_MAX_ADVERTISED_ROUTES 16

/* An interface address: IPv4 or IPv6 with a prefix length. */
struct nt_cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	uint8_t prefix;
};

struct nt_options {
	/* the network: exactly one of these (token wins nothing: both is an error) */
	char *token; /* borrowed */
	char *config_path; /* borrowed */

	struct nt_cidr addresses[NT_MAX_ADDRESSES];
	unsigned int n_addresses;
	bool dhcp;
	struct nt_cidr dhcp_range; /* with dhcp: the range to pick from */
	char ifname[NT_IFNAME_MAX];
	unsigned int mtu;
	char listen_host[NT_HOSTPORT_MAX]; /* "" = every address */
	uint16_t listen_port;

	char peers[NT_MAX_PEERS_CONFIGURED][NT_HOSTPORT_MAX];
	unsigned int n_peers;
	char bootstrap[NT_MAX_BOOTSTRAP][NT_HOSTPORT_MAX];
	unsigned int n_bootstrap;
	char stun[NT_MAX_STUN][NT_HOSTPORT_MAX];
	unsigned int n_stun;
	bool dht;
	bool mdns;
	bool relay; /* relay traffic for other members */

	bool api;
	char api_listen[NT_PATH_MAX];
	char api_token_file[NT_PATH_MAX];

	char state_dir[NT_PATH_MAX];
	unsigned int ledger_capacity;
	unsigned int claim_ttl_s; /* lifetime of our address claims (a lease); 0 = default (6 h) */
	enum nt_log_level log_level;
	unsigned int log_debug_mask;
	/*
	 * Data-plane threads, the event loop's own included: 1 = the loop alone; more opens the
	 * TUN with one queue per worker and one UDP socket each (at most NT_MAX_WORKERS);
	 * 0 = one per CPU core the process may use, at most NT_MAX_WORKERS.
	 */
	unsigned int workers;
	/* Members whose sessions are kept alive with no traffic; 0 = default (4). */
	unsigned int neighbors;
	/* Members this node can hold sessions with (memory is reserved at start); 0 = default. */
	unsigned int max_peers;

	/* The DNS server of members' names (docs/dns.md); off while dns_listen is "". */
	char dns_listen[NT_HOSTPORT_MAX]; /* "127.0.0.1:53", "[::1]:53" */
	char dns_domain[NT_DNS_DOMAIN_MAX + 1]; /* default "netron" */
	char dns_forward[NT_MAX_DNS_FORWARD][NT_HOSTPORT_MAX]; /* "ADDR:PORT"; none: resolv.conf */
	unsigned int n_dns_forward;
	bool dns_register; /* systemd-resolved split DNS on the interface */
	/* Subnet routes (docs/routes.md): the prefixes this member forwards to, in its claim. */
	struct nt_cidr advertise_routes[NT_MAX_ADVERTISED_ROUTES];
	unsigned int n_advertise_routes;
	bool accept_routes; /* install the prefixes other members advertise */
	/* --router: unclaimed destinations go to the member holding this address (/32 or /128). */
	bool has_router;
	struct nt_cidr router;
};

#define NT_MAX_WORKERS 16
#define NT_NEIGHBORS_MAX_OPT 16 /* --neighbors at most (NT_NEIGHBORS_MAX) */

/* Fills in every default (no network, no address, DHT and mDNS on, public bootstrap). */
void nt_options_init(struct nt_options *o);
/* Parses "10.1.0.11/24" or "fd00::1/64"; false on anything else. */
bool nt_cidr_parse(const char *s, struct nt_cidr *out);
/* "10.1.0.11/24"; buf of at least 50 bytes. */
const char *nt_cidr_format(const struct nt_cidr *c, char *buf, size_t len);
/* Whether addr (4 or 16 bytes, network order, of family) lies in c's network. */
bool nt_cidr_contains(const struct nt_cidr *c, int family, const uint8_t *addr);

#ifdef __cplusplus
}
#endif
#endif
