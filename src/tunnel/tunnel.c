// SPDX-License-Identifier: MIT
/*
 * The tunnel's life (tunnel.h): start and stop, the handlers it gives the data plane, and
 * the tick that drives its parts: attempts, the members' sessions (keepalives,
 * announcements, rekeys, reconnects), the hints, and the forgetting of members.
 */
#include "tunnel/tunnel.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/resolve.h"
#include "proto/control.h"
#include "tunnel/announce.h"
#include "tunnel/demand.h"
#include "tunnel/handshakes.h"
#include "tunnel/path.h"
#include "tunnel/relay.h"

static void on_authenticated(void *ctx, struct nt_peer *p, const union nt_sockaddr *from,
			     struct nt_peer *via, uint64_t now)
{
	(void)now;
	nt_tunnel_path_seen(ctx, p, from, via, false);
}

static void on_unknown_index(void *ctx, const union nt_sockaddr *from, uint64_t now)
{
	nt_tunnel_on_unknown_index(ctx, from, now);
}

static void on_want_handshake(void *ctx, struct nt_peer *p, uint64_t now)
{
	nt_tunnel_want_handshake(ctx, p, now);
}

bool nt_tunnel_knows_member(struct nt_tunnel *t, const uint8_t id[32], uint64_t now)
{
	return nt_peer_lookup(&t->dp->peers, id) || nt_tunnel_hints_vouch(t, id, now);
}

bool nt_tunnel_has_session(struct nt_tunnel *t, uint64_t now)
{
	for (unsigned int i = 0; i < t->dp->peers.count; i++)
		if (nt_dataplane_peer_is_alive(t->dp->peers.peers[i], now))
			return true;
	return false;
}

static void tick_hints(struct nt_tunnel *t, uint64_t now)
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		struct nt_hint *h = &t->hints[i];

		if (!h->used)
			continue;
		if (h->expires_ms && now >= h->expires_ms) {
			h->used = false;
			continue;
		}
		if (now < h->next_try_ms)
			continue;
		if (nt_tunnel_hint_is_satisfied(t, h, now)) {
			/* Look again later: if the session goes, the hint is how we get it back. */
			h->backoff_ms = 1000;
			h->next_try_ms = now + 1000;
			continue;
		}
		/* A configured name is looked up in the background: ask again soon while it runs. */
		if (h->config_name[0] && !h->endpoint.sa.sa_family &&
		    !nt_resolve(t->host.resolver, h->config_name, &h->endpoint, now)) {
			h->next_try_ms = now + 500;
			continue;
		}
		if (nt_tunnel_hint_wanted(t, h, now))
			nt_tunnel_hint_try(t, h, now);
	}
}

/*
 * The session timers of every member: keepalives (the session's own), and for the sessions
 * worth keeping (demand.h) announcements, rekeys and, for neighbors, reconnects. Any other
 * session is left to WireGuard's timers: it ends when nobody has used it for a while.
 */
static void tick_sessions(struct nt_tunnel *t, uint64_t now)
{
	for (unsigned int i = 0; i < t->dp->peers.count; i++) {
		struct nt_peer *p = t->dp->peers.peers[i];
		uint64_t next;
		unsigned int due;
		bool wanted;

		if (p->dead)
			continue;
		due = nt_session_tick(&p->session, now, &next);
		if (due & NT_SESSION_SEND_KEEPALIVE)
			nt_tunnel_send_keepalive(t, p);
		wanted = nt_tunnel_wants(t, p, now);
		/*
		 * Nobody needs it: no packet went either way for a while, neither side counts it
		 * among its neighbors (ANNOUNCE's keep flag says so for the other side), and no
		 * packet waits for it. Close it; its keys and their memory go now. Gossip and
		 * keepalives do not keep a session open: only traffic or a neighbor does.
		 */
		if (!wanted && p->connected_since_ms && now - p->connected_since_ms >= t->idle_session_ms) {
			log_debug(NT_DBG_HANDSHAKE, "peer %s: idle session closed", p->id_short);
			nt_session_clear(&p->session);
			nt_dataplane_changed(t->dp);
			p->connected_since_ms = 0;
			nt_tunnel_session_forget(p);
			continue;
		}
		if (nt_dataplane_peer_is_alive(p, now)) {
			if ((p->neighbor || p->told_keep || !p->announce_sum) &&
			    nt_session_keypair_for_send(&p->session, now) &&
			    now >= p->announce_due_ms)
				nt_tunnel_announce_to(t, p, now);
			if (wanted && nt_session_needs_rekey(&p->session, now))
				nt_tunnel_want_handshake(t, p, now);
			continue;
		}
		if (p->connected_since_ms) {
			if (p->neighbor)
				log_info("peer %s: session lost, reconnecting", p->id_short);
			p->connected_since_ms = 0;
			nt_tunnel_session_forget(p);
		}
		/* Keep knocking on a neighbor's last endpoint, ever more slowly. */
		if (p->neighbor && !p->handshake && p->has_endpoint && p->ep_proven &&
		    now >= p->handshake_due_ms) {
			nt_tunnel_initiate(t, &p->endpoint, p, now, false, false);
			p->handshake_due_ms = now + nt_tunnel_jitter(NT_RECONNECT_MAX_MS);
		}
	}
}

void nt_tunnel_tick(struct nt_tunnel *t, uint64_t now)
{
	if (now >= t->reap_ms) {
		t->reap_ms = now + 1000;
		nt_tunnel_members_reap_idle(t, now);
	}
	nt_tunnel_handshakes_tick(t, now);
	nt_tunnel_demand_tick(t, now);
	tick_sessions(t, now);
	tick_hints(t, now);
	nt_tunnel_members_reap_dead(t);
}

int nt_tunnel_start(struct nt_tunnel *t, const struct nt_tunnel_host *host)
{
	uint8_t key[NT_SRCLIMIT_KEY_LEN];
	uint64_t now = nt_now_ms();
	struct nt_dataplane *dp = host->dp;
	int ret;

	t->host = *host;
	t->dp = dp;
	ret = nt_handshake_local_init(&t->hs_local, host->id, host->keys, now);
	if (ret < 0)
		return ret;
	/* Test knobs read from the environment: how long a departed member, an idle session is kept. */
	t->peer_idle_ms = NT_PEER_IDLE_MS;
	if (getenv("NETRON_PEER_IDLE_MS"))
		t->peer_idle_ms = strtoull(getenv("NETRON_PEER_IDLE_MS"), NULL, 10);
	t->idle_session_ms = NT_IDLE_SESSION_MS;
	if (getenv("NETRON_IDLE_SESSION_MS"))
		t->idle_session_ms = strtoull(getenv("NETRON_IDLE_SESSION_MS"), NULL, 10);
	randombytes_buf(key, sizeof(key));
	ret = nt_srclimit_init(&t->init_limit, key, 1, 3, 100, 100);
	if (ret < 0)
		return ret;
	ret = nt_ratelimit_table_init(&t->ratelimit, NT_RATELIMIT_DEFAULT_RATE,
				      NT_RATELIMIT_DEFAULT_BURST, NT_RATELIMIT_DEFAULT_LOAD);
	if (ret < 0)
		return ret;
	nt_dataplane_set_hooks(dp, &(struct nt_dataplane_hooks){
		.authenticated = on_authenticated,
		.unknown_index = on_unknown_index,
		.want_handshake = on_want_handshake,
		.ctx = t,
	});
	nt_dataplane_set_proto(dp, NT_DP_HANDSHAKE, nt_tunnel_on_handshake, t);
	nt_dataplane_set_control(dp, NT_CTRL_ANNOUNCE, nt_tunnel_announce_on_control, t);
	nt_dataplane_set_control(dp, NT_CTRL_PEX, nt_tunnel_announce_on_control, t);
	nt_dataplane_set_control(dp, NT_CTRL_RELAY, nt_tunnel_relay_on_control, t);
	nt_dataplane_set_control(dp, NT_CTRL_RELAYED, nt_tunnel_relay_on_control, t);
	nt_dataplane_set_control(dp, NT_CTRL_PATH_CHALLENGE, nt_tunnel_path_on_control, t);
	nt_dataplane_set_control(dp, NT_CTRL_PATH_RESPONSE, nt_tunnel_path_on_control, t);
	/* What points at a member lets go of it before it is freed. */
	if (nt_tunnel_members_observe(t, false, nt_tunnel_handshakes_on_gone, t) < 0 ||
	    nt_tunnel_members_observe(t, false, nt_tunnel_hints_on_gone, t) < 0 ||
	    nt_tunnel_members_observe(t, false, nt_tunnel_relay_on_gone, t) < 0 ||
	    nt_tunnel_members_observe(t, true, nt_tunnel_demand_on_joined, t) < 0)
		return -ENOSPC;
	t->k_neighbors = host->opts->neighbors ? host->opts->neighbors : NT_NEIGHBORS_DEFAULT;
	for (unsigned int i = 0; i < host->opts->n_peers; i++) {
		const char *name = host->opts->peers[i];
		union nt_sockaddr ep;
		struct nt_hint *h;

		memset(&ep, 0, sizeof(ep));
		if (!nt_resolve(host->resolver, name, &ep, now))
			log_info("--peer %s: looking the name up", name);
		h = nt_tunnel_hint_add(t, NT_HINT_CONFIG, &ep, NULL, NT_HINT_BUDGET_UNLIMITED, now);
		/* Remember the name, so an address that did not resolve is tried again. */
		if (h)
			snprintf(h->config_name, sizeof(h->config_name), "%s", name);
	}
	return 0;
}

void nt_tunnel_stop(struct nt_tunnel *t)
{
	if (!t->dp)
		return;
	nt_tunnel_handshakes_clear(t);
	nt_tunnel_demand_clear(t);
	if (t->init_hs_ready)
		nt_handshake_uninit(&t->init_hs);
	t->init_hs_ready = false;
	if (t->hs_local.id)
		nt_handshake_local_uninit(&t->hs_local);
	nt_ratelimit_table_clear(&t->ratelimit);
	/* Nothing of ours is called any more; the data plane frees the peers. */
	nt_dataplane_set_hooks(t->dp, &(struct nt_dataplane_hooks){ 0 });
	nt_dataplane_set_proto(t->dp, NT_DP_HANDSHAKE, NULL, NULL);
	for (uint8_t type = NT_CTRL_ANNOUNCE; type <= NT_CTRL_PATH_RESPONSE; type++)
		if (type != NT_CTRL_GOSSIP)
			nt_dataplane_set_control(t->dp, type, NULL, NULL);
	t->n_joined = t->n_gone = 0;
}

int nt_tunnel_status(struct nt_tunnel *t, struct nt_status *s, uint64_t now)
{
	const struct nt_peer_table *peers = &t->dp->peers;
	struct ifaddrs *ifa;

	s->handshakes_ok = t->handshakes_ok;
	s->handshakes_failed = t->handshakes_failed;
	s->peers = calloc(peers->count ? peers->count : 1, sizeof(*s->peers));
	if (!s->peers)
		return -ENOMEM;
	/* Our links, read once: a direct member on one of them is on our LAN. */
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (unsigned int i = 0; i < peers->count; i++) {
		const struct nt_peer *p = peers->peers[i];
		const struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
		struct nt_peer_status *ps;

		if (p->dead)
			continue;
		ps = &s->peers[s->n_peers++];
		memcpy(ps->id, p->id, 32);
		memcpy(ps->id_short, p->id_short, sizeof(ps->id_short));
		if (p->has_endpoint)
			nt_sockaddr_format(&p->endpoint, ps->endpoint, sizeof(ps->endpoint));
		ps->connected = kp != NULL && nt_dataplane_peer_is_alive(p, now);
		ps->path = ps->connected ? p->path : NT_PATH_NONE;
		if (ps->path == NT_PATH_RELAYED && p->via)
			memcpy(ps->relay_via, p->via->id, 32);
		else if (ps->path == NT_PATH_DIRECT && p->has_endpoint && ifa &&
			 nt_sockaddr_on_link(ifa, &p->endpoint))
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
	return 0;
}
