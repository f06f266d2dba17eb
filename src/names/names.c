// SPDX-License-Identifier: MIT
/*
 * The DNS server (names.h, docs/dns.md): sockets, the zone's rebuilds, forwarding, and
 * systemd-resolved. It shares the event loop with the tunnel, so a flood of queries must not
 * starve it: each event reads at most NT_NAMES_BATCH datagrams (libevent calls again while
 * more wait), every query is charged to its source's token bucket and to a total one before
 * any work is done (a source over its rate is dropped unanswered: answering would make us
 * a reflector), TCP clients are few, idle ones are closed, and every table is fixed in size.
 */
#include "names/names.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "core/log.h"
#include "ledger/ledger.h"
#include "names/forward.h"
#include "names/zone.h"

#ifndef NT_NAMES_BATCH
#define NT_NAMES_BATCH 32 /* datagrams read per event */
#endif
#ifndef NT_NAMES_REBUILD_MS
#define NT_NAMES_REBUILD_MS 1000
#endif
#define RESOLVED_BUS "/run/systemd/resolve/io.systemd.Resolve"

extern char **environ;

enum {
	TCP_IDLE_S = 10,
	TCP_OUT_MAX = 65536, /* answers queued to a TCP client that does not read */
	TCP_QUERY_MAX = 4096,
};

static void count(struct nt_names *n, enum nt_dns_result r)
{
	n->st.results[r]++;
}

static uint32_t conn_slot(uint32_t token)
{
	return (token & 31) - 1;
}

static bool conn_alive(const struct nt_names *n, uint32_t token)
{
	uint32_t s = conn_slot(token);

	return token && s < NT_NAMES_TCP_MAX && n->conns[s].bev && n->conns[s].token == token;
}

static void conn_close(struct nt_names *n, uint32_t slot)
{
	if (!n->conns[slot].bev)
		return;
	bufferevent_free(n->conns[slot].bev);
	n->conns[slot].bev = NULL;
	if (n->fwd)
		nt_fwd_forget_conn(n->fwd, n->conns[slot].token);
	n->conns[slot].token = 0;
}

/* One answer to a client: a datagram, or a length-prefixed message on its TCP stream. */
static void send_answer(struct nt_names *n, const union nt_sockaddr *client, uint32_t conn,
			const uint8_t *buf, size_t len)
{
	if (!conn) {
		if (sendto(n->udp_fd, buf, len, MSG_DONTWAIT, &client->sa, nt_sockaddr_len(client)) < 0)
			log_debug(NT_DBG_API, "dns: send: %s", strerror(errno));
		return;
	}
	if (conn_alive(n, conn)) {
		uint32_t s = conn_slot(conn);
		struct evbuffer *out = bufferevent_get_output(n->conns[s].bev);
		uint8_t hdr[2];

		if (evbuffer_get_length(out) + len + 2 > TCP_OUT_MAX) {
			conn_close(n, s);
			return;
		}
		nt_put_be16(hdr, (uint16_t)len);
		bufferevent_write(n->conns[s].bev, hdr, 2);
		bufferevent_write(n->conns[s].bev, buf, len);
	}
}

static void fwd_send(void *ctx, const union nt_sockaddr *to, const uint8_t *buf, size_t len)
{
	struct nt_names *n = ctx;
	int fd = n->up_fd[to->sa.sa_family == AF_INET6];

	if (fd < 0 || sendto(fd, buf, len, MSG_DONTWAIT, &to->sa, nt_sockaddr_len(to)) < 0)
		log_debug(NT_DBG_API, "dns: forward: %s", fd < 0 ? "no socket" : strerror(errno));
}

static void fwd_reply(void *ctx, const union nt_sockaddr *client, uint32_t conn, const uint8_t *buf,
		      size_t len, bool servfail)
{
	struct nt_names *n = ctx;

	if (servfail) {
		len = nt_zone_error(n->zone, buf, len, n->out, sizeof(n->out), NT_DNS_RCODE_SERVFAIL);
		buf = n->out;
		count(n, NT_DNS_RESULT_SERVFAIL);
	} else if (!n->in_query) {
		count(n, NT_DNS_RESULT_FORWARDED);
	}
	if (len)
		send_answer(n, client, conn, buf, len);
}

static const enum nt_dns_result zone_results[NT_ZONE_RESULT_MAX] = {
	[NT_ZONE_ANSWER] = NT_DNS_RESULT_ANSWER, [NT_ZONE_RECORD] = NT_DNS_RESULT_RECORD,
	[NT_ZONE_NXDOMAIN] = NT_DNS_RESULT_NXDOMAIN, [NT_ZONE_NODATA] = NT_DNS_RESULT_NODATA,
	[NT_ZONE_FORMERR] = NT_DNS_RESULT_FORMERR, [NT_ZONE_NOTIMP] = NT_DNS_RESULT_NOTIMP,
};

/* One query from a client (conn 0: UDP), already charged to its source. */
static void on_query(struct nt_names *n, const uint8_t *buf, size_t len, const union nt_sockaddr *from,
		     uint32_t conn)
{
	size_t cap = conn ? sizeof(n->out) : NT_ZONE_UDP_MAX, outlen;
	enum nt_zone_result r = nt_zone_answer(n->zone, buf, len, n->out, cap, &outlen);
	enum nt_fwd_verdict v;

	if (r == NT_ZONE_DROP)
		return;
	if (r != NT_ZONE_FORWARD) {
		count(n, zone_results[r]);
		send_answer(n, from, conn, n->out, outlen);
		return;
	}
	n->in_query = true;
	v = n->fwd ? nt_fwd_query(n->fwd, nt_zone_question(n->zone), buf, len, from, conn, nt_now_ms()) :
		     NT_FWD_NONE;
	n->in_query = false;
	if (v == NT_FWD_CACHED) {
		count(n, NT_DNS_RESULT_CACHED);
	} else if (v == NT_FWD_FULL || v == NT_FWD_NONE) {
		count(n, NT_DNS_RESULT_SERVFAIL);
		outlen = nt_zone_error(n->zone, buf, len, n->out, sizeof(n->out), NT_DNS_RCODE_SERVFAIL);
		if (outlen)
			send_answer(n, from, conn, n->out, outlen);
	}
}

/* Charges a query to its source and to everybody: false (and counted) when over the rate. */
static bool admit(struct nt_names *n, const union nt_sockaddr *from)
{
	if (nt_srclimit_allow(&n->limit, from, nt_now_ms()))
		return true;
	count(n, NT_DNS_RESULT_RATELIMITED);
	return false;
}

/* Reads up to NT_NAMES_BATCH datagrams from fd into n->buf, each handed to handle. */
static void drain(struct nt_names *n, evutil_socket_t fd,
		  void (*handle)(struct nt_names *n, size_t len, const union nt_sockaddr *from))
{
	for (int i = 0; i < NT_NAMES_BATCH; i++) {
		union nt_sockaddr from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(fd, n->buf, sizeof(n->buf), MSG_DONTWAIT, &from.sa, &fl);

		if (len < 0)
			return;
		handle(n, (size_t)len, &from);
	}
}

static void udp_query(struct nt_names *n, size_t len, const union nt_sockaddr *from)
{
	n->st.queries_udp++;
	if (admit(n, from))
		on_query(n, n->buf, len, from, 0);
}

static void upstream_answer(struct nt_names *n, size_t len, const union nt_sockaddr *from)
{
	nt_fwd_on_response(n->fwd, n->buf, len, from, nt_now_ms());
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	drain(arg, fd, udp_query);
}

static void on_upstream(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	drain(arg, fd, upstream_answer);
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
	struct nt_names *n = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint32_t slot = NT_NAMES_TCP_MAX;

	for (uint32_t i = 0; i < NT_NAMES_TCP_MAX; i++)
		if (n->conns[i].bev == bev)
			slot = i;
	if (slot == NT_NAMES_TCP_MAX)
		return;
	/* The read watermark bounds what one callback can find here: a few queries. */
	while (evbuffer_get_length(in) >= 2) {
		uint8_t hdr[2];
		size_t len;
		uint32_t token = n->conns[slot].token;

		evbuffer_copyout(in, hdr, 2);
		len = nt_get_be16(hdr);
		if (len < NT_DNS_HEADER_LEN || len > TCP_QUERY_MAX) {
			conn_close(n, slot);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, n->buf, len);
		n->st.queries_tcp++;
		if (admit(n, &n->conns[slot].peer))
			on_query(n, n->buf, len, &n->conns[slot].peer, token);
		if (!conn_alive(n, token))
			return;
	}
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct nt_names *n = arg;

	(void)what; /* EOF, error or idle timeout: the client is gone either way */
	for (uint32_t i = 0; i < NT_NAMES_TCP_MAX; i++)
		if (n->conns[i].bev == bev)
			conn_close(n, i);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct nt_names *n = arg;

	(void)what;
	for (int k = 0; k < 4; k++) {
		union nt_sockaddr peer;
		socklen_t pl = sizeof(peer);
		struct timeval idle = { TCP_IDLE_S, 0 };
		int c = accept4(fd, &peer.sa, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		uint32_t slot = NT_NAMES_TCP_MAX;

		if (c < 0)
			return;
		for (uint32_t i = 0; i < NT_NAMES_TCP_MAX && slot == NT_NAMES_TCP_MAX; i++)
			if (!n->conns[i].bev)
				slot = i;
		if (slot == NT_NAMES_TCP_MAX || !nt_srclimit_allow(&n->limit, &peer, nt_now_ms())) {
			close(c);
			continue;
		}
		n->conns[slot].bev = bufferevent_socket_new(n->host.base, c, BEV_OPT_CLOSE_ON_FREE);
		if (!n->conns[slot].bev) {
			close(c);
			continue;
		}
		n->conns[slot].token = (++n->accepts << 5) | (slot + 1);
		n->conns[slot].peer = peer;
		bufferevent_setcb(n->conns[slot].bev, on_tcp_read, NULL, on_tcp_event, n);
		bufferevent_setwatermark(n->conns[slot].bev, EV_READ, 0, 4 * (TCP_QUERY_MAX + 2));
		bufferevent_set_timeouts(n->conns[slot].bev, &idle, &idle);
		bufferevent_enable(n->conns[slot].bev, EV_READ | EV_WRITE);
	}
}

static bool parse_server(const char *s, uint16_t dflt, union nt_sockaddr *out)
{
	char host[NT_HOST_MAX];
	uint16_t port;

	if (nt_sockaddr_literal(s, dflt, out))
		return true;
	return nt_hostport_split(s, host, &port) && nt_sockaddr_literal(host, port, out);
}

/* The resolvers of /etc/resolv.conf, port 53 ("nameserver ADDR", at most four). */
static unsigned int resolv_conf(union nt_sockaddr *out, unsigned int max)
{
	FILE *f = fopen("/etc/resolv.conf", "re");
	char line[256];
	unsigned int k = 0;

	if (!f)
		return 0;
	while (k < max && fgets(line, sizeof(line), f)) {
		char addr[128];

		if (sscanf(line, " nameserver %127s", addr) == 1 && strchr(addr, '%') == NULL &&
		    nt_sockaddr_literal(addr, 53, &out[k]))
			k++;
	}
	fclose(f);
	return k;
}

static uint16_t port_of(const union nt_sockaddr *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in4.sin_port : a->in6.sin6_port);
}

/*
 * Whether a resolver is this server: its address, or, when we listen on every address
 * (0.0.0.0, ::), any address of this host on our port.
 */
static bool is_us(const union nt_sockaddr *up, const union nt_sockaddr *listen)
{
	static const uint8_t zero[16];
	struct ifaddrs *ifa, *i;
	bool ours = false;

	if (nt_sockaddr_equal(up, listen))
		return true;
	if (port_of(up) != port_of(listen) ||
	    (listen->sa.sa_family == AF_INET ? listen->in4.sin_addr.s_addr != 0 :
					       memcmp(&listen->in6.sin6_addr, zero, 16) != 0))
		return false;
	if (getifaddrs(&ifa) < 0)
		return false;
	for (i = ifa; i && !ours; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != up->sa.sa_family)
			continue;
		if (up->sa.sa_family == AF_INET)
			ours = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr ==
			       up->in4.sin_addr.s_addr;
		else
			ours = !memcmp(&((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
				       &up->in6.sin6_addr, 16);
	}
	freeifaddrs(ifa);
	return ours;
}

static int upstreams_get(struct nt_names *n, union nt_sockaddr *ups, struct nt_err *err)
{
	const struct nt_options *o = n->host.opts;
	union nt_sockaddr all[NT_FWD_MAX_UPSTREAMS];
	unsigned int k = 0, m;

	if (o->n_dns_forward) {
		for (m = 0; m < o->n_dns_forward && m < NT_FWD_MAX_UPSTREAMS; m++) {
			if (!parse_server(o->dns_forward[m], 53, &all[m])) {
				snprintf(err->msg, sizeof(err->msg), "--dns-forward: '%.100s' is not ADDR[:PORT]",
					 o->dns_forward[m]);
				return -EINVAL;
			}
		}
	} else {
		m = resolv_conf(all, NT_FWD_MAX_UPSTREAMS);
	}
	/* Our own address would send every query we cannot answer back to us. */
	for (unsigned int i = 0; i < m; i++)
		if (!is_us(&all[i], &n->listen))
			ups[k++] = all[i];
	return (int)k;
}

static int sock_open(int family, int type)
{
	return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static int listen_open(struct nt_names *n, struct nt_err *err)
{
	int one = 1;
	char buf[NT_SOCKADDR_STRLEN];

	n->udp_fd = sock_open(n->listen.sa.sa_family, SOCK_DGRAM);
	n->tcp_fd = sock_open(n->listen.sa.sa_family, SOCK_STREAM);
	if (n->udp_fd < 0 || n->tcp_fd < 0)
		goto err_sys;
	setsockopt(n->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* The VPN address may still be tentative (IPv6 DAD) when we start: bind it anyway. */
	setsockopt(n->udp_fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	setsockopt(n->tcp_fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(n->udp_fd, &n->listen.sa, nt_sockaddr_len(&n->listen)) < 0 ||
	    bind(n->tcp_fd, &n->listen.sa, nt_sockaddr_len(&n->listen)) < 0 || listen(n->tcp_fd, 16) < 0)
		goto err_sys;
	n->ev_udp = event_new(n->host.base, n->udp_fd, EV_READ | EV_PERSIST, on_udp, n);
	n->ev_tcp = event_new(n->host.base, n->tcp_fd, EV_READ | EV_PERSIST, on_accept, n);
	if (!n->ev_udp || !n->ev_tcp || event_add(n->ev_udp, NULL) < 0 || event_add(n->ev_tcp, NULL) < 0)
		return -ENOMEM;
	return 0;

err_sys:
	snprintf(err->msg, sizeof(err->msg), "--dns %s: %s",
		 nt_sockaddr_format(&n->listen, buf, sizeof(buf)), strerror(errno));
	return -errno;
}

static int upstream_open(struct nt_names *n, const union nt_sockaddr *ups, unsigned int k)
{
	for (int fam = 0; fam < 2; fam++) {
		bool need = false;

		for (unsigned int i = 0; i < k; i++)
			need |= (ups[i].sa.sa_family == AF_INET6) == fam;
		if (!need)
			continue;
		n->up_fd[fam] = sock_open(fam ? AF_INET6 : AF_INET, SOCK_DGRAM);
		if (n->up_fd[fam] < 0)
			return -errno;
		n->ev_up[fam] = event_new(n->host.base, n->up_fd[fam], EV_READ | EV_PERSIST, on_upstream, n);
		if (!n->ev_up[fam] || event_add(n->ev_up[fam], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Runs resolvectl with args; its exit status, or -errno. At start and exit only. */
static int resolvectl(char *const argv[])
{
	pid_t pid;
	int st;

	if (posix_spawnp(&pid, "resolvectl", NULL, NULL, argv, environ) != 0)
		return -ENOENT;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -EIO;
}

/* --dns-register: the domain's queries on this link go to us (systemd-resolved split DNS). */
static void resolved_register(struct nt_names *n)
{
	char ifname[NT_IFNAME_MAX], server[NT_SOCKADDR_STRLEN], domain[NT_ZONE_DOMAIN_MAX + 2];
	char cmd_dns[] = "dns", cmd_domain[] = "domain", prog[] = "resolvectl";

	if (access(RESOLVED_BUS, F_OK) < 0) {
		log_info("dns: systemd-resolved is not running: --dns-register does nothing; point the "
			 "resolver at %s for *.%s yourself", n->host.opts->dns_listen, n->zone->domain);
		return;
	}
	snprintf(ifname, sizeof(ifname), "%s", n->host.ifname);
	nt_sockaddr_format(&n->listen, server, sizeof(server));
	snprintf(domain, sizeof(domain), "~%s", n->zone->domain);
	if (resolvectl((char *const[]){ prog, cmd_dns, ifname, server, NULL }) != 0 ||
	    resolvectl((char *const[]){ prog, cmd_domain, ifname, domain, NULL }) != 0) {
		log_warnx("dns: resolvectl could not register %s on %s: names resolve only through %s",
			  domain, ifname, server);
		return;
	}
	n->registered = true;
	log_info("dns: systemd-resolved sends *.%s on %s to %s", n->zone->domain, ifname, server);
}

static void resolved_unregister(struct nt_names *n)
{
	char ifname[NT_IFNAME_MAX], cmd[] = "revert", prog[] = "resolvectl";

	if (!n->registered)
		return;
	snprintf(ifname, sizeof(ifname), "%s", n->host.ifname);
	resolvectl((char *const[]){ prog, cmd, ifname, NULL });
	n->registered = false;
}

int nt_names_start(struct nt_names *n, const struct nt_names_host *host, struct nt_err *err)
{
	const struct nt_options *o = host->opts;
	union nt_sockaddr ups[NT_FWD_MAX_UPSTREAMS];
	uint8_t key[NT_SRCLIMIT_KEY_LEN];
	char list[4 * NT_SOCKADDR_STRLEN] = "", buf[NT_SOCKADDR_STRLEN];
	int ret, k;

	n->host = *host;
	n->udp_fd = n->tcp_fd = n->up_fd[0] = n->up_fd[1] = -1;
	n->zone = calloc(1, sizeof(*n->zone));
	if (!n->zone)
		return -ENOMEM;
	ret = nt_zone_init(n->zone, o->dns_domain[0] ? o->dns_domain : NT_ZONE_DEFAULT_DOMAIN);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "--dns-domain: '%.100s' is not a domain name", o->dns_domain);
		return ret;
	}
	nt_zone_build(n->zone, host->ledger);
	if (!o->dns_listen[0] || !host->base)
		return 0;
	if (!parse_server(o->dns_listen, 53, &n->listen)) {
		snprintf(err->msg, sizeof(err->msg), "--dns: '%.100s' is not ADDR:PORT", o->dns_listen);
		return -EINVAL;
	}
	randombytes_buf(key, sizeof(key));
	nt_srclimit_init(&n->limit, key, NT_NAMES_RATE, NT_NAMES_RATE, NT_NAMES_RATE_TOTAL, NT_NAMES_RATE_TOTAL);
	k = upstreams_get(n, ups, err);
	if (k < 0)
		return k;
	ret = nt_fwd_new(&n->fwd, ups, (unsigned int)k, fwd_send, fwd_reply, n);
	if (ret == 0)
		ret = listen_open(n, err);
	if (ret == 0)
		ret = upstream_open(n, ups, (unsigned int)k);
	if (ret < 0) {
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "--dns: %s", strerror(-ret));
		return ret;
	}
	for (int i = 0; i < k; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 nt_sockaddr_format(&ups[i], buf, sizeof(buf)));
	n->st.enabled = true;
	log_info("dns: serving *.%s on %s (UDP and TCP), forwarding the rest to %s", n->zone->domain,
		 nt_sockaddr_format(&n->listen, buf, sizeof(buf)), k ? list : "nobody (SERVFAIL)");
	if (o->dns_register)
		resolved_register(n);
	return 0;
}

void nt_names_stop(struct nt_names *n)
{
	if (!n->zone)
		return; /* never started: its descriptors are not even -1 */
	resolved_unregister(n);
	for (uint32_t i = 0; i < NT_NAMES_TCP_MAX; i++)
		conn_close(n, i);
	if (n->ev_udp)
		event_free(n->ev_udp);
	if (n->ev_tcp)
		event_free(n->ev_tcp);
	for (int i = 0; i < 2; i++) {
		if (n->ev_up[i])
			event_free(n->ev_up[i]);
		if (n->up_fd[i] >= 0)
			close(n->up_fd[i]);
		n->ev_up[i] = NULL;
		n->up_fd[i] = -1;
	}
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	if (n->tcp_fd >= 0)
		close(n->tcp_fd);
	n->ev_udp = n->ev_tcp = NULL;
	n->udp_fd = n->tcp_fd = -1;
	nt_fwd_free(n->fwd);
	n->fwd = NULL;
	if (n->zone)
		nt_zone_uninit(n->zone);
	free(n->zone);
	n->zone = NULL;
}

void nt_names_tick(struct nt_names *n, uint64_t mono)
{
	uint8_t hash[NT_LEDGER_HASH_LEN];

	if (!n->zone)
		return;
	if (n->fwd)
		nt_fwd_tick(n->fwd, mono);
	if (mono < n->build_next_ms || !n->host.ledger)
		return;
	n->build_next_ms = mono + NT_NAMES_REBUILD_MS;
	nt_ledger_state_hash(n->host.ledger, hash);
	if (!memcmp(hash, n->ledger_hash, sizeof(hash)))
		return;
	memcpy(n->ledger_hash, hash, sizeof(hash));
	nt_zone_build(n->zone, n->host.ledger);
}

bool nt_names_name_of(const struct nt_names *n, const uint8_t owner[32], char *out, size_t len)
{
	return n && n->zone && nt_zone_name_of(n->zone, owner, out, len);
}

void nt_names_status(struct nt_names *n, struct nt_status *s)
{
	s->dns = n->st;
	if (n->st.enabled)
		snprintf(s->dns.listen, sizeof(s->dns.listen), "%s", n->host.opts->dns_listen);
	if (n->zone) {
		snprintf(s->dns.domain, sizeof(s->dns.domain), "%s", n->zone->domain);
		s->dns.members = n->zone->n_members;
		s->dns.records = n->zone->n_records;
	}
	if (n->fwd) {
		s->dns.upstreams = n->fwd->n_upstreams;
		s->dns.pending = n->fwd->n_pending;
		s->dns.cached = n->fwd->n_cached;
	}
}
