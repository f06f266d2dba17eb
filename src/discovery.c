// SPDX-License-Identifier: MIT
/*
 * Discovery glue: runs the sans-IO discovery engines in the daemon's loop and turns what
 * they find into endpoint hints for tunnel.c. Everything found here is only a hint: a
 * member is a member once its handshake proves it holds the token.
 *
 * mDNS (src/mdns.c, RFC 6762/6763): sockets on 5353 for IPv4 and IPv6, joined on every
 * multicast interface but our TUN; the engine browses fast while we have no session.
 */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "mdns.h"
#include "mdns_socket.h"

#ifndef NT_MDNS_REJOIN_MS
#define NT_MDNS_REJOIN_MS 15000
#endif

static int family_slot(int family)
{
	return family == AF_INET ? 0 : 1;
}

static void mdns_send(void *ctx, const uint8_t *buf, size_t len, int family)
{
	struct nt_daemon *d = ctx;
	int fd = d->mdns_fd[family_slot(family)];

	if (fd >= 0)
		nt_mdns_socket_send(fd, family, d->tun.name, buf, len);
}

static void mdns_peer(void *ctx, const union nt_sockaddr *endpoint, const char *id_prefix)
{
	struct nt_daemon *d = ctx;
	char buf[NT_SOCKADDR_STRLEN];

	log_debug(NT_DBG_MDNS, "mdns: member %s may be at %s", id_prefix,
		  nt_sockaddr_format(endpoint, buf, sizeof(buf)));
	struct nt_hint *h = nt_tunnel_add_hint(d, NT_HINT_MDNS, endpoint, NULL, nt_now_ms());

	/* The prefix lets a member seen at two addresses (IPv4, IPv6) get one handshake. */
	if (h && strlen(id_prefix) >= NT_NODE_ID_SHORT_LEN)
		snprintf(h->id_prefix, sizeof(h->id_prefix), "%.*s", NT_NODE_ID_SHORT_LEN, id_prefix);
}

static void mdns_refresh_addresses(struct nt_daemon *d)
{
	struct in_addr v4[NT_MDNS_MAX_ADDRS];
	struct in6_addr v6[NT_MDNS_MAX_ADDRS];
	size_t n4 = NT_MDNS_MAX_ADDRS, n6 = NT_MDNS_MAX_ADDRS;

	if (nt_mdns_socket_addresses(d->tun.name, v4, &n4, v6, &n6) == 0)
		nt_mdns_set_addresses(d->mdns, v4, d->mdns_fd[0] >= 0 ? n4 : 0, v6,
				      d->mdns_fd[1] >= 0 ? n6 : 0);
}

static void on_mdns_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)what;
	/* A handful per wake-up: mDNS is a trickle, never worth starving the tunnel for. */
	for (int i = 0; i < 16; i++) {
		union nt_sockaddr from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, d->scratch, d->buf_size, MSG_DONTWAIT, &from.sa, &flen);

		if (n < 0)
			break;
		nt_mdns_input(d->mdns, d->scratch, (size_t)n, &from, nt_now_ms());
	}
	d->mdns_next_ms = 0; /* answers may be due: tick at once */
	nt_discovery_tick(d, nt_now_ms());
}

static int mdns_start(struct nt_daemon *d)
{
	char node_hex[2 * 32 + 1];
	struct nt_mdns_config cfg = { 0 };
	static const int families[2] = { AF_INET, AF_INET6 };
	int ret;

	for (int i = 0; i < 2; i++) {
		d->mdns_fd[i] = nt_mdns_socket_open(families[i], d->tun.name);
		if (d->mdns_fd[i] < 0) {
			log_debug(NT_DBG_MDNS, "mdns: no %s socket: %s", i ? "IPv6" : "IPv4",
				  strerror(-d->mdns_fd[i]));
			d->mdns_fd[i] = -1;
		}
	}
	if (d->mdns_fd[0] < 0 && d->mdns_fd[1] < 0) {
		log_warnx("mdns: cannot open a multicast socket on port 5353; LAN discovery is off");
		return 0;
	}
	nt_hex_encode(node_hex, d->id->ed_pk, 32);
	cfg.tag = d->keys->mdns_tag;
	cfg.node_id = node_hex;
	cfg.port = d->udp.port;
	cfg.ipv4 = d->mdns_fd[0] >= 0;
	cfg.ipv6 = d->mdns_fd[1] >= 0;
	cfg.send = mdns_send;
	cfg.on_peer = mdns_peer;
	cfg.ctx = d;
	ret = nt_mdns_new(&d->mdns, &cfg);
	if (ret < 0)
		return ret;
	mdns_refresh_addresses(d);
	for (int i = 0; i < 2; i++) {
		if (d->mdns_fd[i] < 0)
			continue;
		d->ev_mdns[i] = event_new(d->base, d->mdns_fd[i], EV_READ | EV_PERSIST, on_mdns_readable, d);
		if (!d->ev_mdns[i] || event_add(d->ev_mdns[i], NULL) < 0)
			return -ENOMEM;
	}
	d->mdns_fast = true;
	d->mdns_rejoin_ms = nt_now_ms() + NT_MDNS_REJOIN_MS;
	log_info("mdns: announcing _netron._udp.local on the LAN");
	return 0;
}

static void mdns_tick(struct nt_daemon *d, uint64_t now)
{
	bool fast = !nt_tunnel_has_session(d, now);

	if (fast != d->mdns_fast) {
		d->mdns_fast = fast;
		nt_mdns_set_fast(d->mdns, fast);
		d->mdns_next_ms = 0;
	}
	if (now >= d->mdns_rejoin_ms) {
		for (int i = 0; i < 2; i++)
			if (d->mdns_fd[i] >= 0)
				nt_mdns_socket_rejoin(d->mdns_fd[i], i ? AF_INET6 : AF_INET, d->tun.name);
		mdns_refresh_addresses(d);
		d->mdns_rejoin_ms = now + NT_MDNS_REJOIN_MS;
		d->mdns_next_ms = 0;
	}
	if (now >= d->mdns_next_ms)
		d->mdns_next_ms = nt_mdns_tick(d->mdns, now);
}

static void mdns_stop(struct nt_daemon *d)
{
	if (d->mdns) {
		nt_mdns_stop(d->mdns, nt_now_ms());
		nt_mdns_free(d->mdns);
		d->mdns = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (d->ev_mdns[i])
			event_free(d->ev_mdns[i]);
		d->ev_mdns[i] = NULL;
		if (d->mdns_fd[i] >= 0)
			close(d->mdns_fd[i]);
		d->mdns_fd[i] = -1;
	}
}

int nt_discovery_start(struct nt_daemon *d)
{
	if (d->opts.mdns)
		return mdns_start(d);
	return 0;
}

void nt_discovery_stop(struct nt_daemon *d)
{
	mdns_stop(d);
}

void nt_discovery_tick(struct nt_daemon *d, uint64_t now)
{
	if (d->mdns)
		mdns_tick(d, now);
}
