/* SPDX-License-Identifier: MIT */
/*
 * The DNS server of the members' names (--dns ADDR:PORT, docs/dns.md): UDP and TCP on one
 * address, answers from the zone (zone.c) rebuilt when the ledger changes, the rest
 * forwarded (forward.c) to --dns-forward or the resolvers of /etc/resolv.conf, and, with
 * --dns-register, the domain registered with systemd-resolved on the interface as split
 * DNS for as long as the node runs. Without --dns only the zone is kept, for the names
 * /api/machines shows. Loop thread only.
 */
#ifndef NT_NAMES_H
#define NT_NAMES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/srclimit.h"
#include "core/util.h"
#include "netron/netron.h"
#include "netron/status.h"

struct event_base;
struct event;
struct bufferevent;
struct nt_ledger;
struct nt_zone;
struct nt_fwd;

#ifndef NT_NAMES_TCP_MAX
#define NT_NAMES_TCP_MAX 16 /* TCP clients at once */
#endif
#ifndef NT_NAMES_RATE
#define NT_NAMES_RATE 200 /* queries per second per source (an IPv4 address or IPv6 /64) */
#endif
#ifndef NT_NAMES_RATE_TOTAL
#define NT_NAMES_RATE_TOTAL 5000 /* queries per second from everybody */
#endif

struct nt_names_host {
	const struct nt_options *opts;
	struct event_base *base; /* NULL: no sockets (a detached node), the zone only */
	struct nt_ledger *ledger;
	const char *ifname; /* for --dns-register */
};

struct nt_names {
	struct nt_names_host host;
	struct nt_zone *zone;
	struct nt_fwd *fwd;
	union nt_sockaddr listen;
	int udp_fd, tcp_fd, up_fd[2]; /* up_fd: upstream sockets, IPv4 and IPv6 */
	struct event *ev_udp, *ev_tcp, *ev_up[2];
	struct {
		struct bufferevent *bev;
		uint32_t token; /* (accept count << 5) | (slot + 1): 0 is UDP */
		union nt_sockaddr peer;
	} conns[NT_NAMES_TCP_MAX];
	uint32_t accepts;
	struct nt_srclimit limit;
	uint8_t ledger_hash[32];
	uint64_t build_next_ms; /* monotonic */
	bool in_query; /* the forwarder answers from its cache inside nt_fwd_query */
	bool registered; /* with systemd-resolved */
	struct nt_dns_status st;
	uint8_t buf[4096], out[4096];
};

/* Builds the zone and, with opts->dns_listen, opens the server. 0 or -errno with err->msg. */
int nt_names_start(struct nt_names *n, const struct nt_names_host *host, struct nt_err *err);
void nt_names_stop(struct nt_names *n);
/* Rebuilds the zone when the ledger changed (at most once a second), times out forwards. */
void nt_names_tick(struct nt_names *n, uint64_t mono);
/* The name the member with this node ID answers to ("laptop.netron"); false if none. */
bool nt_names_name_of(const struct nt_names *n, const uint8_t owner[32], char *out, size_t len);
void nt_names_status(struct nt_names *n, struct nt_status *s);

#endif
