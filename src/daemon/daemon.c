// SPDX-License-Identifier: MIT
/*
 * A node's life: the start-up ladder (network, identity, buffers, TUN, UDP, loop events),
 * the housekeeping tick that drives every timer, the stop path that is safe from signal
 * handlers and other threads, and the reverse-order teardown that wipes every secret and
 * removes the interface.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "core/log.h"
#include "core/meminfo.h"


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
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_stop = event_new(d->base, d->stop_fd, EV_READ | EV_PERSIST, on_stop, d);
	d->status.ev = event_new(d->base, -1, 0, on_status_request, d);
	if (!d->ev_tick || !d->ev_stop || !d->status.ev)
		return -ENOMEM;
	if (event_add(d->ev_tick, &tick) < 0 || event_add(d->ev_stop, NULL) < 0)
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

	return d->dp.tun_open && d->dp.udp_open && d->dp.tun.fd >= 0 && d->dp.udp.fd >= 0;
}

static int start_api(struct nt_daemon *d, struct nt_err *err)
{
	struct nt_api_host host = {
		.base = d->base,
		.listen = d->opts.api_listen,
		.token_file = d->opts.api_token_file,
		.hostname = d->hostname,
		.id = d->id,
		.ledger = d->claims.ledger,
		.dht = d->discovery.dht,
		.names = &d->names,
		.status = api_status,
		.ready = api_ready,
		.ctx = d,
	};

	return nt_api_start(&d->api, &host, err);
}

/* The first rungs, the same for every node: the network, the identity. */
static int node_new(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err)
{
	struct nt_daemon *d;
	struct nt_err e = { 0 };
	bool created = false;
	char buf[64];
	int ret;

	memset(err, 0, sizeof(*err));
	if (sodium_init() < 0)
		return fail(err, "libsodium failed to initialise");
	if (!opts->n_addresses && !opts->dhcp)
		return fail(err, "no VPN address: give --address CIDR or --dhcp");
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*out = d;
	d->opts = *opts;
	d->stop_fd = -1;
	pthread_mutex_init(&d->status.lock, NULL);
	pthread_cond_init(&d->status.cond, NULL);
	d->started_ms = nt_now_ms();
	nt_resolver_init(&d->resolver);
	ret = load_network(d, err);
	if (ret < 0)
		return ret;
	ret = nt_identity_load_or_create(&d->id, opts->state_dir, &created, &e);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "%s", e.msg);
		return ret;
	}
	log_info("netron %s: node %s%s, network %s", NT_VERSION, nt_node_id_short(d->id->ed_pk, buf),
		 created ? " (new identity)" : "", d->keys->fingerprint);
	return 0;
}

/* The modules on top of an open data plane, each given what it uses. */
static int start_modules(struct nt_daemon *d, struct nt_err *err)
{
	int ret;

	ret = nt_tunnel_start(&d->tunnel, &(struct nt_tunnel_host){
		.opts = &d->opts,
		.id = d->id,
		.keys = d->keys,
		.dp = &d->dp,
		.resolver = &d->resolver,
		.hostname = d->hostname,
		.addresses = nt_claims_addresses,
		.ctx = &d->claims,
	});
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "tunnel: %s", strerror(-ret));
		return ret;
	}
	ret = nt_claims_start(&d->claims, &(struct nt_claims_host){
		.opts = &d->opts,
		.id = d->id,
		.hostname = d->hostname,
		.seal_interval_ms = (uint64_t)d->net.otp_dht.interval * 1000,
		.dp = &d->dp,
		.tunnel = &d->tunnel,
		.started_ms = d->started_ms,
	}, err);
	if (ret < 0)
		return ret;
	ret = nt_discovery_start(&d->discovery, &(struct nt_discovery_host){
		.opts = &d->opts,
		.net = &d->net,
		.id = d->id,
		.keys = d->keys,
		.dp = &d->dp,
		.tunnel = &d->tunnel,
		.resolver = &d->resolver,
		.base = d->base,
	}, err);
	if (ret < 0)
		return ret;
	return nt_names_start(&d->names, &(struct nt_names_host){
		.opts = &d->opts,
		.base = d->base,
		.ledger = d->claims.ledger,
		.ifname = d->opts.ifname,
	}, err);
}

int nt_daemon_new(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err)
{
	struct nt_daemon *d = NULL;
	struct nt_err e = { 0 };
	int ret;

	if (!err)
		err = &e;
	ret = node_new(&d, opts, err);
	if (ret < 0)
		goto err_free;
	if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0)
		snprintf(d->hostname, sizeof(d->hostname), "netron");
	/* Tests only: rotate keypairs every few seconds instead of every two minutes. */
	if (getenv("NETRON_REKEY_AFTER_MS") && atoi(getenv("NETRON_REKEY_AFTER_MS")) > 0)
		nt_session_rekey_after_time_ms = (uint64_t)atoi(getenv("NETRON_REKEY_AFTER_MS"));
	ret = setup_events(d);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "event loop: %s", strerror(-ret));
		goto err_free;
	}
	ret = nt_dataplane_open(&d->dp, &d->opts, d->keys, d->base, err);
	if (ret < 0)
		goto err_free;
	ret = start_modules(d, err);
	if (ret < 0)
		goto err_free;
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
 * it frames (nt_dataplane_on_frame) and ticks (nt_daemon_tick) by hand.
 */
int nt_daemon_new_detached(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err)
{
	struct nt_daemon *d = NULL;
	struct nt_err e = { 0 };
	int ret;

	if (!err)
		err = &e;
	/* The node writes its remembered peers and its lease there: never to "/" by default. */
	if (!opts->state_dir[0])
		return fail(err, "a detached node needs a state directory");
	ret = node_new(&d, opts, err);
	if (ret < 0)
		goto err_free;
	/* Whatever would open a socket or look a name up stays off. */
	d->opts.mdns = false;
	d->opts.api = false;
	d->opts.dns_listen[0] = '\0';
	d->opts.n_peers = d->opts.n_bootstrap = d->opts.n_stun = 0;
	d->opts.workers = 1;
	snprintf(d->hostname, sizeof(d->hostname), "detached");
	ret = nt_dataplane_open_detached(&d->dp, &d->opts, d->keys);
	if (ret < 0)
		goto err_free;
	ret = start_modules(d, err);
	if (ret < 0)
		goto err_free;
	*out = d;
	return 0;

err_free:
	nt_daemon_free(d);
	return ret;
}

void nt_daemon_tick(struct nt_daemon *d, uint64_t now)
{
	nt_resolver_tick(&d->resolver, now);
	nt_dataplane_tick(&d->dp, now);
	nt_tunnel_tick(&d->tunnel, now);
	nt_claims_tick(&d->claims, now);
	nt_discovery_tick(&d->discovery, now);
	nt_names_tick(&d->names, now);
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

/* The start-up ladder undone from the top, whatever rung it reached; every secret wiped. */
void nt_daemon_free(struct nt_daemon *d)
{
	if (!d)
		return;
	if (d->thread_running) {
		nt_daemon_stop(d);
		pthread_join(d->thread, NULL);
		d->thread_running = false;
	}
	for (int i = 0; i < 3; i++)
		if (d->ev_sig[i])
			event_free(d->ev_sig[i]);
	nt_api_stop(d->api);
	nt_names_stop(&d->names);
	nt_discovery_stop(&d->discovery);
	nt_claims_stop(&d->claims);
	nt_tunnel_stop(&d->tunnel);
	nt_dataplane_close(&d->dp);
	if (d->status.ev)
		event_free(d->status.ev);
	if (d->ev_stop)
		event_free(d->ev_stop);
	if (d->ev_tick)
		event_free(d->ev_tick);
	if (d->base)
		event_base_free(d->base);
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	nt_identity_free(d->id);
	nt_network_keys_free(d->keys);
	nt_config_wipe(&d->net);
	nt_resolver_free(&d->resolver);
	pthread_mutex_destroy(&d->status.lock);
	pthread_cond_destroy(&d->status.cond);
	sodium_memzero(d, sizeof(*d));
	free(d);
}

/*
 * The modules' own sizes (filled in by their status calls) and the ledger's, and the rest
 * of the heap: kinds that do not overlap, whose sum is what malloc holds for us.
 */
static void memory_status(const struct nt_daemon *d, struct nt_memory_status *m)
{
	uint64_t heap = nt_meminfo_heap();
	uint64_t counted;

	m->ledger = d->claims.ledger ? nt_ledger_memory(d->claims.ledger) : 0;
	counted = m->packet_buffers + m->tables + m->ledger;
	m->heap = heap > counted ? heap - counted : 0;
	nt_meminfo_resident(&m->resident, &m->libraries);
}

int nt_daemon_status_fill(struct nt_daemon *d, struct nt_status **out)
{
	uint64_t now = nt_now_ms();
	struct nt_status *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	memcpy(s->id, d->id->ed_pk, 32);
	nt_node_id_short(d->id->ed_pk, s->id_short);
	snprintf(s->fingerprint, sizeof(s->fingerprint), "%s", d->keys->fingerprint);
	s->uptime_ms = now - d->started_ms;
	ret = nt_tunnel_status(&d->tunnel, s, now);
	if (ret < 0) {
		free(s);
		return ret;
	}
	nt_dataplane_status(&d->dp, s);
	nt_claims_status(&d->claims, s);
	nt_discovery_status(&d->discovery, s);
	nt_names_status(&d->names, s);
	memory_status(d, &s->memory);
	*out = s;
	return 0;
}

static void on_status_request(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&d->status.lock);
	d->status.ret = nt_daemon_status_fill(d, &d->status.out);
	d->status.done = true;
	pthread_cond_signal(&d->status.cond);
	pthread_mutex_unlock(&d->status.lock);
}

int nt_daemon_status(struct nt_daemon *d, struct nt_status **out)
{
	int ret;

	if (!d->thread_running || pthread_equal(pthread_self(), d->thread))
		return nt_daemon_status_fill(d, out);
	/* The loop runs in its own thread: ask it, and wait for the answer. */
	pthread_mutex_lock(&d->status.lock);
	d->status.done = false;
	event_active(d->status.ev, EV_READ, 0);
	while (!d->status.done)
		pthread_cond_wait(&d->status.cond, &d->status.lock);
	ret = d->status.ret;
	*out = d->status.out;
	d->status.out = NULL;
	pthread_mutex_unlock(&d->status.lock);
	return ret;
}

void nt_status_free(struct nt_status *s)
{
	if (!s)
		return;
	free(s->peers);
	free(s->routes);
	free(s);
}
