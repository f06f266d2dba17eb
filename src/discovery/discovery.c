// SPDX-License-Identifier: MIT
/*
 * Discovery in the node's loop (discovery.h): the engines' sockets, timers and callbacks,
 * and the files that remember members and DHT nodes across runs.
 */
#include "discovery/discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/resolve.h"
#include "discovery/dht.h"
#include "core/log.h"
#include "discovery/mdns.h"
#include "core/netif.h"
#include "discovery/mdns_socket.h"

#ifndef NT_MDNS_REJOIN_MS
#define NT_MDNS_REJOIN_MS 15000
#endif
#ifndef NT_DHT_ANNOUNCE_MS
#define NT_DHT_ANNOUNCE_MS (15 * 60 * 1000) /* stored peers live 30 min */
#endif
#ifndef NT_DHT_SEARCH_FAST_MS
#define NT_DHT_SEARCH_FAST_MS 5000 /* while we have no session */
#endif
#ifndef NT_DHT_SEARCH_SLOW_MS
/*
 * Once connected, members come to know each other through the ledger; the DHT search is
 * left to heal a network split in two, which a quarter of an hour does.
 */
#define NT_DHT_SEARCH_SLOW_MS (15 * 60 * 1000)
#endif
#ifndef NT_REMEMBER_MS
#define NT_REMEMBER_MS 60000
#endif
enum { REMEMBER_MAX = 64 };

static int family_slot(int family)
{
	return family == AF_INET ? 0 : 1;
}

static void mdns_send(void *ctx, const uint8_t *buf, size_t len, int family)
{
	struct nt_discovery *disc = ctx;
	int fd = disc->mdns_fd[family_slot(family)];

	if (fd >= 0) {
		int n = nt_mdns_socket_send(fd, family, disc->host.dp->tun.name, buf, len);
		if (n > 0)
			disc->mdns_tx_bytes += (uint64_t)n * len;
	}
}

static void mdns_peer(void *ctx, const union nt_sockaddr *endpoint, const char *id_prefix)
{
	struct nt_discovery *disc = ctx;
	char buf[NT_SOCKADDR_STRLEN];

	log_debug(NT_DBG_MDNS, "mdns: member %s may be at %s", id_prefix,
		  nt_sockaddr_format(endpoint, buf, sizeof(buf)));
	/* One INIT each time it is announced: the answer was a few hundred bytes at most. */
	struct nt_hint *h = nt_tunnel_hint_add(disc->host.tunnel, NT_HINT_MDNS, endpoint, NULL, 0, nt_now_ms());

	/* The prefix lets a member seen at two addresses (IPv4, IPv6) get one handshake. */
	if (h && strlen(id_prefix) >= NT_NODE_ID_SHORT_LEN)
		snprintf(h->id_prefix, sizeof(h->id_prefix), "%.*s", NT_NODE_ID_SHORT_LEN, id_prefix);
}

static void mdns_refresh_addresses(struct nt_discovery *disc)
{
	struct in_addr v4[NT_MDNS_MAX_ADDRS];
	struct in6_addr v6[NT_MDNS_MAX_ADDRS];
	size_t n4 = NT_MDNS_MAX_ADDRS, n6 = NT_MDNS_MAX_ADDRS;

	if (nt_netif_addresses(disc->host.dp->tun.name, v4, &n4, v6, &n6) == 0)
		nt_mdns_set_addresses(disc->mdns, v4, disc->mdns_fd[0] >= 0 ? n4 : 0, v6,
				      disc->mdns_fd[1] >= 0 ? n6 : 0);
}

static void on_mdns_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nt_discovery *disc = arg;

	(void)what;
	/* A handful per wake-up: mDNS is a trickle, never worth starving the tunnel for. */
	for (int i = 0; i < 16; i++) {
		union nt_sockaddr from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, disc->host.dp->scratch, disc->host.dp->buf_size, MSG_DONTWAIT, &from.sa, &flen);

		if (n < 0)
			break;
		disc->mdns_rx_bytes += (uint64_t)n;
		nt_mdns_input(disc->mdns, disc->host.dp->scratch, (size_t)n, &from, nt_now_ms());
	}
	disc->mdns_next_ms = 0; /* answers may be due: tick at once */
	nt_discovery_tick(disc, nt_now_ms());
}

static int mdns_start(struct nt_discovery *disc)
{
	char node_hex[2 * 32 + 1];
	struct nt_mdns_config cfg = { 0 };
	static const int families[2] = { AF_INET, AF_INET6 };
	int ret;

	for (int i = 0; i < 2; i++) {
		disc->mdns_fd[i] = nt_mdns_socket_open(families[i], disc->host.dp->tun.name);
		if (disc->mdns_fd[i] < 0) {
			log_debug(NT_DBG_MDNS, "mdns: no %s socket: %s", i ? "IPv6" : "IPv4",
				  strerror(-disc->mdns_fd[i]));
			disc->mdns_fd[i] = -1;
		}
	}
	if (disc->mdns_fd[0] < 0 && disc->mdns_fd[1] < 0) {
		log_warnx("mdns: cannot open a multicast socket on port 5353; LAN discovery is off");
		return 0;
	}
	nt_hex_encode(node_hex, disc->host.id->ed_pk, 32);
	cfg.tag = disc->host.keys->mdns_tag;
	cfg.node_id = node_hex;
	cfg.port = disc->host.dp->udp.port;
	cfg.ipv4 = disc->mdns_fd[0] >= 0;
	cfg.ipv6 = disc->mdns_fd[1] >= 0;
	cfg.send = mdns_send;
	cfg.on_peer = mdns_peer;
	cfg.ctx = disc;
	ret = nt_mdns_new(&disc->mdns, &cfg);
	if (ret < 0)
		return ret;
	mdns_refresh_addresses(disc);
	for (int i = 0; i < 2; i++) {
		if (disc->mdns_fd[i] < 0)
			continue;
		disc->ev_mdns[i] = event_new(disc->host.base, disc->mdns_fd[i], EV_READ | EV_PERSIST, on_mdns_readable, disc);
		if (!disc->ev_mdns[i] || event_add(disc->ev_mdns[i], NULL) < 0)
			return -ENOMEM;
	}
	disc->mdns_fast = true;
	disc->mdns_rejoin_ms = nt_now_ms() + NT_MDNS_REJOIN_MS;
	log_info("mdns: announcing _netron._udp.local on the LAN");
	return 0;
}

static void mdns_tick(struct nt_discovery *disc, uint64_t now)
{
	bool fast = !nt_tunnel_has_session(disc->host.tunnel, now);

	if (fast != disc->mdns_fast) {
		disc->mdns_fast = fast;
		nt_mdns_set_fast(disc->mdns, fast);
		disc->mdns_next_ms = 0;
	}
	if (now >= disc->mdns_rejoin_ms) {
		for (int i = 0; i < 2; i++)
			if (disc->mdns_fd[i] >= 0)
				nt_mdns_socket_rejoin(disc->mdns_fd[i], i ? AF_INET6 : AF_INET, disc->host.dp->tun.name);
		mdns_refresh_addresses(disc);
		disc->mdns_rejoin_ms = now + NT_MDNS_REJOIN_MS;
		disc->mdns_next_ms = 0;
	}
	if (now >= disc->mdns_next_ms)
		disc->mdns_next_ms = nt_mdns_tick(disc->mdns, now);
}

static void mdns_stop(struct nt_discovery *disc)
{
	if (disc->mdns) {
		nt_mdns_stop(disc->mdns, nt_now_ms());
		nt_mdns_free(disc->mdns);
		disc->mdns = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (disc->ev_mdns[i])
			event_free(disc->ev_mdns[i]);
		disc->ev_mdns[i] = NULL;
		if (disc->mdns_fd[i] >= 0)
			close(disc->mdns_fd[i]);
		disc->mdns_fd[i] = -1;
	}
}

static void dht_send(void *ctx, const void *buf, size_t len, const union nt_sockaddr *to)
{
	struct nt_discovery *disc = ctx;

	if (nt_udp_send(&disc->host.dp->udp, buf, len, to, 0) < 0)
		nt_dataplane_drop(disc->host.dp, NT_DROP_UDP_SEND);
	else
		disc->dht_tx_bytes += len;
}

static void dht_on_peers(void *ctx, const uint8_t ih[20], const union nt_sockaddr *peers, size_t n)
{
	struct nt_discovery *disc = ctx;
	uint64_t now = nt_now_ms();
	char buf[NT_SOCKADDR_STRLEN];

	(void)ih;
	for (size_t i = 0; i < n; i++) {
		/* Our own announcement comes back too: the handshake would refuse it anyway. */
		log_debug(NT_DBG_DHT, "dht: a member may be at %s", nt_sockaddr_format(&peers[i], buf, sizeof(buf)));
		/* A value is 6 bytes of an answer we asked for: it pays for one INIT, the least. */
		nt_tunnel_hint_add(disc->host.tunnel, NT_HINT_DHT, &peers[i], NULL, 0, now);
	}
}

/* state_dir/NAME: one "host:port" per line. */
static void remember_path(const struct nt_discovery *disc, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", disc->host.opts->state_dir, name);
}

static void remember_write(const struct nt_discovery *disc, const char *name,
			   const union nt_sockaddr *list, size_t n)
{
	char path[NT_PATH_MAX + 32], tmp[NT_PATH_MAX + 40], buf[NT_SOCKADDR_STRLEN];
	FILE *f;

	remember_path(disc, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", nt_sockaddr_format(&list[i], buf, sizeof(buf)));
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		fclose(f);
		unlink(tmp);
		return;
	}
	fclose(f);
	if (rename(tmp, path) < 0)
		unlink(tmp);
}

static size_t remember_read(const struct nt_discovery *disc, const char *name, union nt_sockaddr *out,
			    size_t max)
{
	char path[NT_PATH_MAX + 32], line[128];
	size_t n = 0;
	FILE *f;

	remember_path(disc, name, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (nt_sockaddr_parse(line, &out[n]))
			n++;
	}
	fclose(f);
	return n;
}

/* Saves the good DHT nodes and the endpoints of the members we have sessions with. */
static void remember_save(struct nt_discovery *disc, uint64_t now)
{
	union nt_sockaddr list[REMEMBER_MAX];
	size_t n = 0;
	int k;

	for (unsigned int i = 0; i < disc->host.dp->peers.count && n < REMEMBER_MAX; i++) {
		struct nt_peer *p = disc->host.dp->peers.peers[i];
		if (p->has_endpoint && nt_session_keypair_for_send(&p->session, now))
			list[n++] = p->endpoint;
	}
	if (n)
		remember_write(disc, "peers", list, n);
	if (disc->dht) {
		k = nt_dht_export_nodes(disc->dht, list, REMEMBER_MAX);
		if (k > 0)
			remember_write(disc, "dht-nodes", list, (size_t)k);
	}
}

/* Returns whether a bootstrap name is still being looked up (then call again soon). */
static bool dht_bootstrap(struct nt_discovery *disc, uint64_t now, bool remembered)
{
	union nt_sockaddr saved[REMEMBER_MAX];
	size_t n = remembered ? remember_read(disc, "dht-nodes", saved, REMEMBER_MAX) : 0;
	bool waiting = false;

	for (size_t i = 0; i < n; i++)
		nt_dht_add_node(disc->dht, &saved[i], now);
	for (unsigned int i = 0; i < disc->host.opts->n_bootstrap; i++) {
		union nt_sockaddr a;
		if (nt_resolve(disc->host.resolver, disc->host.opts->bootstrap[i], &a, now))
			nt_dht_add_node(disc->dht, &a, now);
		else
			waiting = true;
	}
	return waiting;
}

static int dht_start(struct nt_discovery *disc)
{
	struct nt_dht_config cfg = {
		.ipv4 = true,
		.ipv6 = disc->host.dp->udp.family == AF_INET6,
		.port = disc->host.dp->udp.port,
		.send = dht_send,
		.on_peers = dht_on_peers,
		.ctx = disc,
	};
	uint64_t now = nt_now_ms();
	int ret = nt_dht_new(&disc->dht, &cfg);

	if (ret < 0)
		return ret;
	disc->dht_bootstrap_ms = now + (dht_bootstrap(disc, now, true) ? 1000 : 30000);
	disc->dht_announce_ms = now;
	disc->dht_search_ms = now + 1000;
	log_info("dht: joining the Mainline DHT through %u bootstrap node%s", disc->host.opts->n_bootstrap,
		 disc->host.opts->n_bootstrap == 1 ? "" : "s");
	return 0;
}

/* A datagram whose first byte is 'd' (BitTorrent DHT, bencoded KRPC). */
static bool on_dht(void *ctx, uint8_t *buf, size_t len, const union nt_sockaddr *from,
		   struct nt_peer *via, const uint8_t *via_id, uint64_t now)
{
	struct nt_discovery *disc = ctx;

	(void)via;
	(void)via_id;
	if (!disc->dht)
		return false;
	disc->dht_rx_bytes += len;
	nt_dht_input(disc->dht, buf, len, from, now);
	disc->dht_next_ms = 0; /* an answer may have moved the engine's deadline */
	return true;
}

static void dht_tick(struct nt_discovery *disc, uint64_t now)
{
	uint64_t unix_s = nt_wall_ms() / 1000;
	uint64_t interval = disc->host.net->otp_dht.interval;
	uint64_t epoch = nt_network_epoch(disc->host.net, unix_s);
	uint8_t ih[NT_INFOHASH_LEN];
	struct nt_dht_stats st;

	if (now >= disc->dht_announce_ms) {
		nt_network_rendezvous(disc->host.net, epoch, ih);
		if (nt_dht_announce(disc->dht, ih, now) == 0)
			disc->dht_announce_ms = now + NT_DHT_ANNOUNCE_MS;
		else
			disc->dht_announce_ms = now + 5000;
		/* Near the end of an epoch, be findable under the next one already. */
		if (unix_s % interval >= interval - interval / 10) {
			nt_network_rendezvous(disc->host.net, epoch + 1, ih);
			nt_dht_announce(disc->dht, ih, now);
		}
		/* Announce again right after the epoch turns. */
		if (disc->dht_announce_ms > now + (interval - unix_s % interval) * 1000 + 2000)
			disc->dht_announce_ms = now + (interval - unix_s % interval) * 1000 + 2000;
	}
	if (now >= disc->dht_search_ms) {
		/* Clocks may disagree by up to an interval: look under all three epochs. */
		for (int delta = -1; delta <= 1; delta++) {
			nt_network_rendezvous(disc->host.net, epoch + (uint64_t)(int64_t)delta, ih);
			nt_dht_search(disc->dht, ih, now);
		}
		disc->dht_search_ms = now + (nt_tunnel_has_session(disc->host.tunnel, now) ? NT_DHT_SEARCH_SLOW_MS :
									  NT_DHT_SEARCH_FAST_MS);
	}
	if (now >= disc->dht_bootstrap_ms) {
		bool waiting = false, empty;

		nt_dht_get_stats(disc->dht, &st);
		/* Names still being looked up are tried again each second until they answer. */
		empty = st.good4 + st.dubious4 + st.good6 + st.dubious6 == 0;

		if (empty || disc->dht_bootstrap_waiting)
			waiting = dht_bootstrap(disc, now, empty);
		disc->dht_bootstrap_waiting = waiting;
		disc->dht_bootstrap_ms = now + (waiting ? 1000 : 30000);
	}
	if (now >= disc->dht_next_ms)
		disc->dht_next_ms = nt_dht_tick(disc->dht, now);
}

#ifndef NT_STUN_INTERVAL_MS
#define NT_STUN_INTERVAL_MS 30000
#endif

/* A datagram whose first byte is 0x00 or 0x01: STUN, answered or consumed. */
static bool on_stun(void *ctx, uint8_t *buf, size_t len, const union nt_sockaddr *from,
		    struct nt_peer *via, const uint8_t *via_id, uint64_t now)
{
	struct nt_discovery *disc = ctx;
	uint8_t out[NT_STUN_MSG_MAX];
	union nt_sockaddr refl;
	char a[NT_SOCKADDR_STRLEN], b[NT_SOCKADDR_STRLEN];
	ssize_t n;

	(void)via;
	(void)via_id;
	if (!nt_stun_is_stun(buf, len))
		return false;
	if (!disc->stun_ready)
		return true;
	/*
	 * Every node answers binding requests: members learn their public address from us.
	 * Within the limits of nt_stun_answer (per source, in all, 4x the request), since
	 * the source address is whatever the sender wrote.
	 */
	n = nt_stun_answer(&disc->stun, buf, len, from, now, out, sizeof(out));
	if (n > 0)
		nt_udp_send(&disc->host.dp->udp, out, (size_t)n, from, 0);
	if (n != 0)
		return true; /* answered, over a limit (disc->stun.limited), or no libnice */
	if (!nt_stun_consume_response(&disc->stun, buf, len, from, &refl))
		return true;
	if (!disc->has_reflexive || !nt_sockaddr_equal(&disc->reflexive, &refl))
		log_info("nat: our public address is %s (told by %s)", nt_sockaddr_format(&refl, a, sizeof(a)),
			 nt_sockaddr_format(from, b, sizeof(b)));
	disc->reflexive = refl;
	disc->has_reflexive = true;
	return true;
}

/*
 * The member to ask for our public address: the first with a session that is beyond a
 * router, since one on our own links could only tell us our interface address (so a
 * LAN-only node never loads the STUN library at all). *on_link counts those passed over.
 * Our links are read only once a member could be asked.
 */
static struct nt_peer *stun_member(struct nt_discovery *disc, uint64_t now, unsigned int *on_link)
{
	struct ifaddrs *ifa = NULL;
	struct nt_peer *found = NULL;
	bool links_read = false;

	for (unsigned int i = 0; i < disc->host.dp->peers.count && !found; i++) {
		struct nt_peer *p = disc->host.dp->peers.peers[i];
		if (!p->has_endpoint || p->via || !nt_session_keypair_for_send(&p->session, now))
			continue;
		if (!links_read && getifaddrs(&ifa) < 0)
			ifa = NULL;
		links_read = true;
		if (ifa && nt_sockaddr_on_link(ifa, &p->endpoint))
			(*on_link)++;
		else
			found = p;
	}
	if (ifa)
		freeifaddrs(ifa);
	return found;
}

/* Binding requests to the --stun servers, or to a member when none is configured. */
static void stun_tick(struct nt_discovery *disc, uint64_t now)
{
	uint8_t out[NT_STUN_MSG_MAX];
	unsigned int on_link = 0;
	union nt_sockaddr to;
	struct nt_peer *p;
	ssize_t n;

	if (!disc->stun_ready || now < disc->stun_next_ms)
		return;
	disc->stun_next_ms = now + NT_STUN_INTERVAL_MS;
	nt_stun_expire(&disc->stun, now);
	for (unsigned int i = 0; i < disc->host.opts->n_stun; i++) {
		if (!nt_resolve(disc->host.resolver, disc->host.opts->stun[i], &to, now)) {
			disc->stun_next_ms = now + 1000; /* looked up in the background: soon again */
			continue;
		}
		n = nt_stun_request(&disc->stun, &to, now, out, sizeof(out));
		if (n > 0)
			nt_udp_send(&disc->host.dp->udp, out, (size_t)n, &to, 0);
	}
	if (disc->host.opts->n_stun)
		return;
	p = stun_member(disc, now, &on_link);
	if (p) {
		n = nt_stun_request(&disc->stun, &p->endpoint, now, out, sizeof(out));
		if (n > 0)
			nt_udp_send(&disc->host.dp->udp, out, (size_t)n, &p->endpoint, 0);
	} else if (!on_link) {
		disc->stun_next_ms = now + 2000; /* no member yet: ask again soon */
	}
}

int nt_discovery_start(struct nt_discovery *disc, const struct nt_discovery_host *host,
		       struct nt_err *err)
{
	union nt_sockaddr saved[REMEMBER_MAX];
	uint64_t now = nt_now_ms();
	size_t n;
	int ret;

	disc->host = *host;
	disc->mdns_fd[0] = disc->mdns_fd[1] = -1;
	/* Members we reached last time: the quickest way back into the network. */
	n = remember_read(disc, "peers", saved, REMEMBER_MAX);
	for (size_t i = 0; i < n; i++)
		nt_tunnel_hint_add(host->tunnel, NT_HINT_REMEMBERED, &saved[i], NULL,
				   NT_HINT_BUDGET_UNLIMITED, now);
	if (n)
		log_info("trying %zu member%s remembered from the last run", n, n == 1 ? "" : "s");
	disc->remember_ms = now + 5000;
	if (nt_stun_init(&disc->stun) == 0) {
		disc->stun_ready = true;
		disc->stun_next_ms = now + 500;
	}
	nt_dataplane_set_proto(host->dp, NT_DP_STUN, on_stun, disc);
	if (host->opts->mdns && host->base && (ret = mdns_start(disc)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "discovery: mdns: %s", strerror(-ret));
		return ret;
	}
	if (host->opts->dht) {
		ret = dht_start(disc);
		if (ret < 0) {
			snprintf(err->msg, sizeof(err->msg), "discovery: dht: %s", strerror(-ret));
			return ret;
		}
		nt_dataplane_set_proto(host->dp, NT_DP_DHT, on_dht, disc);
	}
	return 0;
}

void nt_discovery_stop(struct nt_discovery *disc)
{
	if (!disc->host.dp)
		return;
	nt_dataplane_set_proto(disc->host.dp, NT_DP_STUN, NULL, NULL);
	nt_dataplane_set_proto(disc->host.dp, NT_DP_DHT, NULL, NULL);
	if (disc->host.dp->peers.count)
		remember_save(disc, nt_now_ms());
	mdns_stop(disc);
	nt_dht_free(disc->dht);
	disc->dht = NULL;
	if (disc->stun_ready)
		nt_stun_uninit(&disc->stun);
	disc->stun_ready = false;
}

void nt_discovery_status(struct nt_discovery *disc, struct nt_status *s)
{
	if (disc->has_reflexive) {
		nt_sockaddr_format(&disc->reflexive, s->reflexive, sizeof(s->reflexive));
	} else if (disc->dht) {
		union nt_sockaddr ext;

		if (nt_dht_get_external_addr(disc->dht, AF_INET, &ext))
			nt_sockaddr_format(&ext, s->reflexive, sizeof(s->reflexive));
	}
	s->dht_tx_bytes = disc->dht_tx_bytes;
	s->dht_rx_bytes = disc->dht_rx_bytes;
	s->mdns_tx_bytes = disc->mdns_tx_bytes;
	s->mdns_rx_bytes = disc->mdns_rx_bytes;
}

void nt_discovery_tick(struct nt_discovery *disc, uint64_t now)
{
	if (disc->mdns)
		mdns_tick(disc, now);
	if (disc->dht)
		dht_tick(disc, now);
	stun_tick(disc, now);
	if (now >= disc->remember_ms) {
		remember_save(disc, now);
		disc->remember_ms = now + NT_REMEMBER_MS;
	}
}
