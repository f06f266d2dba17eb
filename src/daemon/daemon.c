// SPDX-License-Identifier: MIT
/*
 * A node's life: the start-up ladder (network, identity, buffers, TUN, UDP, loop events),
 * the housekeeping tick that drives every timer, the stop path that is safe from signal
 * handlers and other threads, and the reverse-order teardown that wipes every secret and
 * removes the interface.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "discovery/dht.h"
#include "ledger/ledger.h"
#include "core/log.h"


/* A one-line error for the user; always -EINVAL, so callers can return it. */
#define fail(err, ...) (nt_err_set((err), 0, 0, __VA_ARGS__), -EINVAL)

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	nt_daemon_tick(d, nt_now_ms());
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("stop eventfd");
	event_base_loopbreak(d->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload (the network is fixed by the token)");
		return;
	}
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(d->base);
}

/*
 * The offloads to try: all of them, unless NETRON_OFFLOAD says "off" or lists the ones
 * wanted ("tun,gso,gro"): for troubleshooting a kernel or driver, and for the tests of a
 * member without them.
 */
enum { OFFLOAD_TUN = 1, OFFLOAD_GSO = 2, OFFLOAD_GRO = 4, OFFLOAD_ALL = 7 };

static unsigned int offloads_wanted(void)
{
	const char *env = getenv("NETRON_OFFLOAD");
	unsigned int want = 0;
	char buf[64], *save = NULL;

	if (!env || !*env || !strcmp(env, "on"))
		return OFFLOAD_ALL;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "tun"))
			want |= OFFLOAD_TUN;
		else if (!strcmp(w, "gso"))
			want |= OFFLOAD_GSO;
		else if (!strcmp(w, "gro"))
			want |= OFFLOAD_GRO;
		else if (strcmp(w, "off"))
			log_warnx("NETRON_OFFLOAD: unknown offload \"%s\" ignored (tun, gso, gro, off)", w);
	}
	return want;
}

/* --workers: as asked, or one per CPU this process may run on (0). */
static unsigned int workers_wanted(unsigned int asked)
{
	cpu_set_t set;
	int n;

	if (asked)
		return asked < NT_MAX_WORKERS ? asked : NT_MAX_WORKERS;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > NT_MAX_WORKERS ? NT_MAX_WORKERS : (unsigned int)n;
}

/*
 * The loop's socket. With workers it shares its port (SO_REUSEPORT), so a socket bound
 * without sharing first proves nobody else holds the port: another netron, even of the
 * same user, is refused as without workers instead of quietly getting half our traffic.
 */
static int open_udp(struct nt_daemon *d, unsigned int flags)
{
	struct nt_udp probe;
	int ret;

	if (d->n_workers <= 1)
		return nt_udp_open(&d->udp, d->opts.listen_host, d->opts.listen_port, flags);
	ret = nt_udp_open(&probe, d->opts.listen_host, d->opts.listen_port, 0);
	if (ret < 0)
		return ret;
	nt_udp_close(&probe);
	return nt_udp_open(&d->udp, d->opts.listen_host, probe.port, flags | NT_UDP_REUSEPORT);
}

/* Receive bundles of this many GRO buffers per system call (each holds up to 64 KB). */
#define GRO_RX_SLOTS 8

static int alloc_buffers(struct nt_daemon *d)
{
	/* Room for the largest frame any member may send us, and a packet plus our overhead. */
	size_t rx_cap = d->udp.gro ? NT_GSO_MAX + 1 + 4096 : NT_MTU_MAX + 256;
	unsigned int rx_slots = d->udp.gro ? GRO_RX_SLOTS : NT_UDP_BATCH;
	size_t txq_cap = 4 * NT_TX_SUPERPACKET_ROOM;
	uint8_t *m;

	d->buf_size = NT_MTU_MAX + 256;
	d->tun_buf_size = NT_GSO_MAX + 1;
	/* Pages never touched (a 9000-byte buffer holding 1400-byte packets) cost no memory. */
	d->buf_mem = malloc(rx_cap * rx_slots + txq_cap + d->tun_buf_size + 2 * d->buf_size);
	if (!d->buf_mem)
		return -ENOMEM;
	m = d->buf_mem;
	d->rx.cap = rx_cap;
	d->rx.slots = rx_slots;
	d->rx.max_frame = d->buf_size;
	for (unsigned int i = 0; i < rx_slots; i++, m += rx_cap)
		d->rx.buf[i] = m;
	d->txq.buf = m;
	d->txq.cap = txq_cap;
	m += txq_cap;
	d->tun_buf = m;
	m += d->tun_buf_size;
	d->scratch = m;
	d->relay_buf = m + d->buf_size;
	return 0;
}

static int load_network(struct nt_daemon *d, struct nt_err *err)
{
	struct nt_err e = { 0 };
	int ret;

	if (d->opts.token && d->opts.config_path)
		return fail(err, "give the network once: --token or --config, not both");
	if (d->opts.token)
		ret = nt_config_from_token(&d->net, d->opts.token, &e);
	else if (d->opts.config_path)
		ret = nt_config_load_file(&d->net, d->opts.config_path, &e);
	else
		return fail(err, "no network: set a token or a config file");
	if (ret < 0) {
		if (e.line)
			snprintf(err->msg, sizeof(err->msg), "%.140s (line %d)", e.msg, e.line);
		else
			snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		return -EINVAL;
	}
	return nt_network_keys_new(&d->keys, &d->net);
}

static int setup_tun(struct nt_daemon *d, struct nt_err *err, bool offload)
{
	char buf[64];
	int ret;

	ret = nt_tun_open(&d->tun, d->opts.ifname, d->opts.mtu,
			  offload ? NT_TUN_OFFLOAD_ON : NT_TUN_OFFLOAD_OFF, d->n_workers > 1);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot create TUN interface %s: %s%s",
			 d->opts.ifname, strerror(-ret),
			 ret == -EPERM ? " (needs root or CAP_NET_ADMIN)" :
			 ret == -EBUSY ? " (another program holds it)" : "");
		return ret;
	}
	d->tun_open = true;
	for (unsigned int i = 0; i < d->n_addresses; i++) {
		ret = nt_tun_add_address(&d->tun, &d->addresses[i]);
		if (ret < 0) {
			snprintf(err->msg, sizeof(err->msg), "cannot add %s to %s: %s",
				 nt_cidr_format(&d->addresses[i], buf, sizeof(buf)), d->tun.name,
				 strerror(-ret));
			return ret;
		}
		d->addr_on_tun[i] = true;
	}
	ret = nt_tun_set_up(&d->tun);
	if (ret < 0)
		snprintf(err->msg, sizeof(err->msg), "cannot bring %s up: %s", d->tun.name, strerror(-ret));
	return ret;
}

static void on_status_request(evutil_socket_t fd, short what, void *arg);

static int setup_events(struct nt_daemon *d)
{
	struct timeval tick = { 0, NT_TICK_MS * 1000 };

	/* Locking on, so nt_daemon_stop/_status may come from an embedding program's threads. */
	evthread_use_pthreads();
	d->base = event_base_new();
	if (!d->base)
		return -ENOMEM;
	d->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->stop_fd < 0)
		return -errno;
	d->ev_tun = event_new(d->base, d->tun.fd, EV_READ | EV_PERSIST, nt_datapath_on_tun, d);
	d->ev_udp = event_new(d->base, d->udp.fd, EV_READ | EV_PERSIST, nt_datapath_on_udp, d);
	d->ev_udp_out = event_new(d->base, d->udp.fd, EV_WRITE, nt_datapath_on_udp_writable, d);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_stop = event_new(d->base, d->stop_fd, EV_READ | EV_PERSIST, on_stop, d);
	d->ev_status = event_new(d->base, -1, 0, on_status_request, d);
	if (!d->ev_tun || !d->ev_udp || !d->ev_udp_out || !d->ev_tick || !d->ev_stop || !d->ev_status)
		return -ENOMEM;
	if (event_add(d->ev_tun, NULL) < 0 || event_add(d->ev_udp, NULL) < 0 ||
	    event_add(d->ev_tick, &tick) < 0 || event_add(d->ev_stop, NULL) < 0)
		return -EIO;
	return 0;
}

static int api_status(void *ctx, struct nt_status **out)
{
	return nt_daemon_status_fill(ctx, out);
}

static bool api_ready(void *ctx)
{
	struct nt_daemon *d = ctx;

	return d->tun_open && d->udp_open && d->tun.fd >= 0 && d->udp.fd >= 0;
}

static int start_api(struct nt_daemon *d, struct nt_err *err)
{
	struct nt_api_host host = {
		.base = d->base,
		.listen = d->opts.api_listen,
		.token_file = d->opts.api_token_file,
		.hostname = d->hostname,
		.id = d->id,
		.ledger = d->ledger,
		.dht = d->dht,
		.status = api_status,
		.ready = api_ready,
		.ctx = d,
	};

	return nt_api_start(&d->api, &host, err);
}

int nt_daemon_new(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err)
{
	struct nt_daemon *d;
	struct nt_err e = { 0 };
	bool created = false;
	unsigned int offload;
	char buf[64];
	int ret;

	if (!err)
		err = &e;
	memset(err, 0, sizeof(*err));
	if (sodium_init() < 0)
		return fail(err, "libsodium failed to initialise");
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	d->stop_fd = -1;
	d->tun.fd = d->udp.fd = -1;
	d->mdns_fd[0] = d->mdns_fd[1] = -1;
	pthread_mutex_init(&d->status_lock, NULL);
	pthread_cond_init(&d->status_cond, NULL);
	d->started_ms = nt_now_ms();
	if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0)
		snprintf(d->hostname, sizeof(d->hostname), "netron");
	for (unsigned int i = 0; i < opts->n_addresses && i < NT_MAX_ADDRESSES; i++)
		d->addresses[d->n_addresses++] = opts->addresses[i];
	if (!d->n_addresses && !opts->dhcp) {
		ret = fail(err, "no VPN address: give --address CIDR or --dhcp");
		goto err_free;
	}

	ret = load_network(d, err);
	if (ret < 0)
		goto err_free;
	ret = nt_identity_load_or_create(&d->id, opts->state_dir, &created, &e);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		goto err_free;
	}
	log_info("netron %s: node %s%s, network %s", NT_VERSION,
		 nt_node_id_short(d->id->ed_pk, buf), created ? " (new identity)" : "",
		 d->keys->fingerprint);
	offload = offloads_wanted();
	/* Tests only: rotate keypairs every few seconds instead of every two minutes. */
	if (getenv("NETRON_REKEY_AFTER_MS") && atoi(getenv("NETRON_REKEY_AFTER_MS")) > 0)
		nt_session_rekey_after_time_ms = (uint64_t)atoi(getenv("NETRON_REKEY_AFTER_MS"));
	d->n_workers = workers_wanted(opts->workers);
	ret = open_udp(d, (offload & OFFLOAD_GSO ? NT_UDP_OFFLOAD_GSO : 0) |
			  (offload & OFFLOAD_GRO ? NT_UDP_OFFLOAD_GRO : 0));
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot listen on UDP %.64s%s%u: %s%s",
			 opts->listen_host, opts->listen_host[0] ? ":" : "port ", opts->listen_port,
			 strerror(-ret), ret == -EADDRINUSE ? " (another netron running?)" : "");
		goto err_free;
	}
	d->udp_open = true;
	log_info("listening on udp port %u", d->udp.port);
	ret = alloc_buffers(d);
	if (ret < 0)
		goto err_free;
	ret = setup_tun(d, err, offload & OFFLOAD_TUN);
	if (ret < 0)
		goto err_free;
	nt_datapath_init(d);
	log_info("offloads: tun %s, udp segmentation %s, udp receive coalescing %s",
		 !d->tun.vnet ? "off" :
		 (d->tun.offloads & TUN_F_TSO4) && (d->tun.offloads & TUN_F_USO4) ? "tso+uso" :
		 d->tun.offloads & TUN_F_TSO4 ? "tso" : "checksum only",
		 d->udp.gso ? "on" : "off", d->udp.gro ? "on" : "off");
	for (unsigned int i = 0; i < d->n_addresses; i++)
		log_info("interface %s: %s, mtu %u", d->tun.name,
			 nt_cidr_format(&d->addresses[i], buf, sizeof(buf)), d->tun.mtu);
	if (!d->n_addresses)
		log_info("interface %s: mtu %u, address to come from --dhcp", d->tun.name, d->tun.mtu);
	ret = setup_events(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "event loop: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_workers_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot start %u data-plane workers: %s",
			 d->n_workers, strerror(-ret));
		goto err_free;
	}
	if (d->n_workers > 1)
		log_info("data plane: %u workers (TUN queues and sockets on port %u)", d->n_workers,
			 d->udp.port);
	nt_resolver_init(&d->resolver);
	ret = nt_tunnel_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "start: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_claims_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "ledger: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_discovery_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "discovery: %s", strerror(-ret));
		goto err_free;
	}
	if (opts->api) {
		ret = start_api(d, err);
		if (ret < 0)
			goto err_free;
	}

	*out = d;
	return 0;

err_free:
	nt_daemon_free(d);
	return ret;
}

/*
 * A test seam: nt_daemon_new without the outside world. The same ladder (network keys,
 * identity, packet buffers, tunnel, ledger and gossip, discovery engines) but no TUN, no
 * socket, no loop events, no mDNS sockets and no API, so that a test or a fuzzer can feed
 * it frames (nt_datapath_on_frame) and ticks (nt_daemon_tick) by hand.
 */
int nt_daemon_new_detached(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err)
{
	struct nt_daemon *d;
	struct nt_err e = { 0 };
	int ret;

	if (!err)
		err = &e;
	memset(err, 0, sizeof(*err));
	/* The node writes its remembered peers and its lease there: never to "/" by default. */
	if (!opts->state_dir[0])
		return fail(err, "a detached node needs a state directory");
	if (sodium_init() < 0)
		return fail(err, "libsodium failed to initialise");
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->opts = *opts;
	/* Whatever would open a socket or look a name up stays off. */
	d->opts.mdns = false;
	d->opts.api = false;
	d->opts.n_peers = d->opts.n_bootstrap = d->opts.n_stun = 0;
	d->opts.workers = 1;
	d->n_workers = 1;
	d->stop_fd = -1;
	d->tun.fd = d->udp.fd = -1;
	d->mdns_fd[0] = d->mdns_fd[1] = -1;
	/*
	 * The socket it would have: dual-stack, on the asked port. The TUN keeps an empty name,
	 * so an address change the ledger asks for names no interface and fails.
	 */
	d->udp.family = AF_INET6;
	d->udp.port = opts->listen_port;
	d->tun.mtu = opts->mtu;
	pthread_mutex_init(&d->status_lock, NULL);
	pthread_cond_init(&d->status_cond, NULL);
	d->started_ms = nt_now_ms();
	snprintf(d->hostname, sizeof(d->hostname), "detached");
	for (unsigned int i = 0; i < opts->n_addresses && i < NT_MAX_ADDRESSES; i++)
		d->addresses[d->n_addresses++] = opts->addresses[i];
	if (!d->n_addresses && !opts->dhcp) {
		ret = fail(err, "no VPN address: give --address CIDR or --dhcp");
		goto err_free;
	}
	ret = load_network(d, err);
	if (ret < 0)
		goto err_free;
	ret = nt_identity_load_or_create(&d->id, opts->state_dir, NULL, &e);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		goto err_free;
	}
	ret = alloc_buffers(d);
	if (ret < 0)
		goto err_free;
	nt_datapath_init(d);
	nt_resolver_init(&d->resolver);
	ret = nt_tunnel_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "start: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_claims_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "ledger: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_discovery_start(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "discovery: %s", strerror(-ret));
		goto err_free;
	}
	*out = d;
	return 0;

err_free:
	nt_daemon_free(d);
	return ret;
}

void nt_daemon_tick(struct nt_daemon *d, uint64_t now)
{
	nt_resolver_tick(&d->resolver, now);
	nt_workers_tick(d, now);
	nt_tunnel_tick(d, now);
	nt_claims_tick(d, now);
	nt_discovery_tick(d, now);
}

void nt_daemon_handle_signals(struct nt_daemon *d)
{
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };

	for (int i = 0; i < 3; i++) {
		if (d->ev_sig[i])
			continue;
		d->ev_sig[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (d->ev_sig[i])
			evsignal_add(d->ev_sig[i], NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

int nt_daemon_run(struct nt_daemon *d)
{
	int ret = event_base_dispatch(d->base);

	return ret < 0 ? -EIO : 0;
}

static void *thread_main(void *arg)
{
	nt_daemon_run(arg);
	return NULL;
}

int nt_daemon_start_thread(struct nt_daemon *d)
{
	int ret = pthread_create(&d->thread, NULL, thread_main, d);

	if (ret)
		return -ret;
	d->thread_running = true;
	return 0;
}

void nt_daemon_stop(struct nt_daemon *d)
{
	uint64_t one = 1;

	/* A failed write means the counter is already non-zero: the loop stops anyway. */
	if (d && d->stop_fd >= 0 && write(d->stop_fd, &one, sizeof(one)) < 0)
		return;
}

void nt_daemon_free(struct nt_daemon *d)
{
	if (!d)
		return;
	if (d->thread_running) {
		nt_daemon_stop(d);
		pthread_join(d->thread, NULL);
		d->thread_running = false;
	}
	nt_workers_stop(d);
	nt_discovery_stop(d);
	nt_tunnel_stop(d);
	nt_resolver_free(&d->resolver);
	nt_claims_stop(d);
	for (int i = 0; i < 3; i++)
		if (d->ev_sig[i])
			event_free(d->ev_sig[i]);
	nt_api_stop(d->api);
	d->api = NULL;
	if (d->ev_status)
		event_free(d->ev_status);
	if (d->ev_stop)
		event_free(d->ev_stop);
	if (d->ev_tick)
		event_free(d->ev_tick);
	if (d->ev_udp)
		event_free(d->ev_udp);
	if (d->ev_udp_out)
		event_free(d->ev_udp_out);
	if (d->ev_tun)
		event_free(d->ev_tun);
	if (d->base)
		event_base_free(d->base);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->tun_open)
		nt_tun_close(&d->tun);
	if (d->udp_open)
		nt_udp_close(&d->udp);
	free(d->buf_mem);
	nt_identity_free(d->id);
	nt_network_keys_free(d->keys);
	nt_config_wipe(&d->net);
	pthread_mutex_destroy(&d->status_lock);
	pthread_cond_destroy(&d->status_cond);
	sodium_memzero(d, sizeof(*d));
	free(d);
}

int nt_daemon_status_fill(struct nt_daemon *d, struct nt_status **out)
{
	uint64_t now = nt_now_ms();
	struct nt_status *s = calloc(1, sizeof(*s));
	struct ifaddrs *ifa;

	if (!s)
		return -ENOMEM;
	s->peers = calloc(d->peers.count ? d->peers.count : 1, sizeof(*s->peers));
	if (!s->peers) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->id, d->id->ed_pk, 32);
	nt_node_id_short(d->id->ed_pk, s->id_short);
	snprintf(s->fingerprint, sizeof(s->fingerprint), "%s", d->keys->fingerprint);
	snprintf(s->ifname, sizeof(s->ifname), "%s", d->tun.name);
	memcpy(s->addresses, d->addresses, sizeof(s->addresses));
	s->n_addresses = d->n_addresses;
	s->listen_port = d->udp.port;
	if (d->has_reflexive) {
		nt_sockaddr_format(&d->reflexive, s->reflexive, sizeof(s->reflexive));
	} else if (d->dht) {
		union nt_sockaddr ext;
		if (nt_dht_get_external_addr(d->dht, AF_INET, &ext))
			nt_sockaddr_format(&ext, s->reflexive, sizeof(s->reflexive));
	}
	s->uptime_ms = now - d->started_ms;
	s->handshakes_ok = d->handshakes_ok;
	s->handshakes_failed = d->handshakes_failed;
	s->rx_bytes = d->rx_bytes;
	s->tx_bytes = d->tx_bytes;
	_Static_assert(NT_DROP_COUNT <= NT_ARRAY_SIZE(s->drops), "struct nt_status drops[] too small");
	for (unsigned int i = 0; i < NT_DROP_COUNT; i++)
		s->drops[i] = d->drops[i];
	if (d->ledger) {
		struct nt_ledger_stats ls;
		uint8_t hash[NT_LEDGER_HASH_LEN];
		nt_ledger_state_hash(d->ledger, hash);
		nt_hex_encode(s->ledger_state, hash, sizeof(hash));
		nt_ledger_stats_get(d->ledger, &ls);
		s->ledger_entries = ls.entries;
		s->ledger_capacity = ls.capacity;
		s->ledger_refused = ls.verdicts[NT_LEDGER_REJ_FULL];
	}
	for (unsigned int i = 0; i < d->n_addresses; i++)
		if (d->addr_conflict[i])
			s->conflicts[s->n_conflicts++] = d->addresses[i];
	s->dhcp_pending = d->opts.dhcp && !d->dhcp_bound;
	s->dht_tx_bytes = d->dht_tx_bytes;
	s->dht_rx_bytes = d->dht_rx_bytes;
	s->mdns_tx_bytes = d->mdns_tx_bytes;
	s->mdns_rx_bytes = d->mdns_rx_bytes;
	s->gossip_tx_bytes = d->gossip_tx_bytes;
	s->gossip_rx_bytes = d->gossip_rx_bytes;
	s->offload = (struct nt_offload_status){
		.tun_vnet = d->tun.vnet,
		.tun_tso = d->tun.offloads & TUN_F_TSO4,
		.tun_uso = d->tun.offloads & TUN_F_USO4,
		.udp_gso = d->udp.gso,
		.udp_gro = d->udp.gro,
		.tun_superpackets = d->tun_superpackets,
		.tun_segments = d->tun_segments,
		.udp_gso_sends = d->udp.gso_sends,
		.udp_gso_fallbacks = d->udp.gso_fallbacks,
		.udp_gro_receives = d->udp.gro_receives,
		.udp_gro_frames = d->udp.gro_frames,
		.tun_coalesced_writes = d->gro.superpackets,
		.tun_coalesced_packets = d->gro.coalesced_pkts,
		.tx_paused = d->tx_paused,
	};
	nt_workers_status(d, s);
	/* Our links, read once: a direct member on one of them is on our LAN. */
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (unsigned int i = 0; i < d->peers.count; i++) {
		const struct nt_peer *p = d->peers.peers[i];
		struct nt_peer_status *ps = &s->peers[s->n_peers++];
		const struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);

		memcpy(ps->id, p->id, 32);
		memcpy(ps->id_short, p->id_short, sizeof(ps->id_short));
		if (p->has_endpoint)
			nt_sockaddr_format(&p->endpoint, ps->endpoint, sizeof(ps->endpoint));
		ps->connected = kp != NULL && nt_tunnel_peer_is_alive(p, now);
		ps->path = ps->connected ? p->path : NT_PATH_NONE;
		if (ps->path == NT_PATH_RELAYED && p->via)
			memcpy(ps->relay_via, p->via->id, 32);
		else if (ps->path == NT_PATH_DIRECT && p->has_endpoint && ifa && nt_sockaddr_on_link(ifa, &p->endpoint))
			ps->path = NT_PATH_LAN;
		memcpy(ps->addresses, p->addresses, sizeof(ps->addresses));
		ps->n_addresses = p->n_addresses;
		ps->rx_bytes = p->rx_bytes;
		ps->tx_bytes = p->tx_bytes;
		ps->rx_packets = p->rx_packets;
		ps->tx_packets = p->tx_packets;
		ps->last_handshake_unix_ms = p->last_handshake_wall_ms;
		ps->session_age_ms = kp ? now - kp->created_ms : 0;
		ps->rtt_us = p->rtt_us;
		ps->rtt_ms = (p->rtt_us + 999) / 1000;
		ps->handshakes = p->handshakes;
	}
	if (ifa)
		freeifaddrs(ifa);
	*out = s;
	return 0;
}

static void on_status_request(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&d->status_lock);
	d->status_ret = nt_daemon_status_fill(d, &d->status_out);
	d->status_done = true;
	pthread_cond_signal(&d->status_cond);
	pthread_mutex_unlock(&d->status_lock);
}

int nt_daemon_status(struct nt_daemon *d, struct nt_status **out)
{
	int ret;

	if (!d->thread_running || pthread_equal(pthread_self(), d->thread))
		return nt_daemon_status_fill(d, out);
	/* The loop runs in its own thread: ask it, and wait for the answer. */
	pthread_mutex_lock(&d->status_lock);
	d->status_done = false;
	event_active(d->ev_status, EV_READ, 0);
	while (!d->status_done)
		pthread_cond_wait(&d->status_cond, &d->status_lock);
	ret = d->status_ret;
	*out = d->status_out;
	d->status_out = NULL;
	pthread_mutex_unlock(&d->status_lock);
	return ret;
}

void nt_status_free(struct nt_status *s)
{
	if (!s)
		return;
	free(s->peers);
	free(s);
}
