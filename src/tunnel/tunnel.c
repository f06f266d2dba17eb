// SPDX-License-Identifier: MIT
/*
 * Sessions with members: who to handshake with and when, what a completed handshake
 * becomes, and the control messages that follow it.
 *
 * Endpoints worth a handshake are "hints" (configured --peer, peer exchange, mDNS, the
 * DHT, a frame for an unknown index): each is tried with exponential backoff until a
 * session with the member behind it exists. A handshake attempt is a slot bound to a
 * session index; when it completes, the index is rebound to the new keypair, which goes
 * into the peer's session by WireGuard's rotation rules. Nothing from the network is
 * believed before the handshake proves the sender holds the token (mac1, psk3) and its
 * node key (the Noise static key matches the Ed25519 node ID).
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "proto/control.h"
#include "ledger/gossip.h"
#include "core/log.h"
#include "core/srclimit.h"

#ifndef NT_HS_ATTEMPT_TIMEOUT_MS
#define NT_HS_ATTEMPT_TIMEOUT_MS NT_REKEY_TIMEOUT_MS
#endif
#ifndef NT_HINT_TTL_MS
#define NT_HINT_TTL_MS (10 * 60 * 1000) /* a discovered endpoint not seen again is dropped */
#endif
#ifndef NT_RECONNECT_MAX_MS
#define NT_RECONNECT_MAX_MS 30000
#endif

static struct nt_ratelimit rl_hs;

/* Plaintext offset in a frame buffer (after the data frame header). */
enum { PLAIN_OFF = NT_DATA_HEADER_LEN };

static uint64_t jitter(uint64_t ms)
{
	/* Up to a quarter more, so members that lost each other do not retry in lockstep. */
	return ms + randombytes_uniform((uint32_t)(ms / 4 + 1));
}

static void on_keypair_drop(void *ctx, struct nt_keypair *kp)
{
	struct nt_daemon *d = ctx;

	nt_index_remove(&d->index, kp->local_index);
}

bool nt_tunnel_peer_is_alive(const struct nt_peer *p, uint64_t now)
{
	const struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	uint64_t heard;

	if (!kp && !(p->session.next && nt_session_keypair_can_receive(p->session.next, now)))
		return false;
	/* Live members send at least a keepalive every 25 s: silence past two is death. */
	heard = NT_MAX(p->session.last_received_ms, p->connected_since_ms);
	if (kp)
		heard = NT_MAX(heard, kp->created_ms);
	return now - heard < NT_PEER_DEAD_MS;
}

/* The worker with the fewest members: where a new member's sessions go. */
static unsigned int least_busy_lane(const struct nt_daemon *d, const struct nt_peer *self)
{
	unsigned int count[NT_MAX_WORKERS] = { 0 }, best = 0;

	for (unsigned int i = 0; i < d->peers.count; i++)
		if (d->peers.peers[i] != self)
			count[d->peers.peers[i]->lane % d->n_workers]++;
	for (unsigned int l = 1; l < d->n_workers; l++)
		if (count[l] < count[best])
			best = l;
	return best;
}

static bool peer_room(struct nt_daemon *d, const union nt_sockaddr *from);

struct nt_peer *nt_tunnel_peer_get(struct nt_daemon *d, const uint8_t id[32],
				   const union nt_sockaddr *from)
{
	struct nt_peer *p = nt_peer_lookup(&d->peers, id);

	if (!p && peer_room(d, from)) {
		p = nt_peer_new(&d->peers, id, d->opts.mtu + 64, on_keypair_drop, d);
		/* With workers, a dropped keypair is freed once none of them can hold it. */
		if (p && d->wk) {
			p->session.release = nt_workers_release_keypair;
			p->lane = least_busy_lane(d, p);
		}
		if (p) {
			p->created_ms = nt_now_ms();
			nt_claims_on_new_member(d);
		}
	}
	return p;
}

static void attempt_free(struct nt_daemon *d, struct nt_attempt *a);

/* Lets go of p everywhere and frees it (p is in d->peers). */
static void forget_peer(struct nt_daemon *d, struct nt_peer *p)
{
	for (unsigned int k = 0; k < NT_MAX_ATTEMPTS; k++) {
		struct nt_attempt *a = &d->attempts[k];
		if (a->used && a->via == p)
			attempt_free(d, a);
		else if (a->used && a->peer == p)
			a->peer = NULL;
	}
	for (unsigned int k = 0; k < NT_MAX_HINTS; k++)
		if (d->hints[k].told_by == p)
			d->hints[k].told_by = NULL;
	for (unsigned int k = 0; k < NT_RELAY_PAIRS; k++)
		if (d->relay_pairs[k].src == p || d->relay_pairs[k].dst == p)
			memset(&d->relay_pairs[k], 0, sizeof(d->relay_pairs[k]));
	for (unsigned int k = 0; k < d->peers.count; k++) {
		struct nt_peer *o = d->peers.peers[k];
		if (o->via == p) {
			o->via = NULL;
			o->path = NT_PATH_NONE;
		}
	}
	if (p->in_gossip && d->gossip)
		nt_gossip_peer_remove(d->gossip, (uint64_t)(uintptr_t)p);
	nt_route_remove_owner(&d->route, p);
	nt_workers_peer_gone(d, p);
	nt_peer_remove(&d->peers, p);
}

/*
 * Forgets members that left: no session, no address claimed in the ledger, nothing in
 * flight, and quiet for NT_PEER_IDLE_MS. Without this, churn would fill the peer table for
 * good.
 */
static void reap_idle_peers(struct nt_daemon *d, uint64_t now)
{
	for (unsigned int i = 0; i < d->peers.count;) {
		struct nt_peer *p = d->peers.peers[i];
		uint64_t last = NT_MAX(NT_MAX(p->created_ms, p->session.last_received_ms),
				       p->connected_since_ms);

		if (nt_tunnel_peer_is_alive(p, now) || p->n_addresses || p->handshake || p->staged_count ||
		    now - last < d->peer_idle_ms) {
			i++;
			continue;
		}
		log_info("peer %s: gone for %llu min, forgotten", p->id_short,
			 (unsigned long long)((now - last) / 60000));
		forget_peer(d, p); /* swaps the last peer into slot i */
	}
}

/* Whether two endpoints are one source: the same IPv4 address, or the same IPv6 /64. */
static bool same_source(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->sa.sa_family == AF_INET6 &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
		      IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) ? 16 : 8) == 0;
}

/*
 * Room for a new member that completed a handshake from `from` (NULL: through a relay).
 * One source address holds NT_PEERS_PER_SOURCE members at most, so identities one member
 * mints cannot fill the table; a full table gives up the member that routes nothing and
 * carried the least traffic (nobody's address, keepalives only: minted ones first).
 */
static bool peer_room(struct nt_daemon *d, const union nt_sockaddr *from)
{
	struct nt_peer *victim = NULL;
	unsigned int same = 0;

	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];

		if (from && p->has_endpoint && same_source(&p->endpoint, from))
			same++;
		if (p->n_addresses || p->handshake)
			continue;
		if (!victim || p->rx_bytes + p->tx_bytes < victim->rx_bytes + victim->tx_bytes)
			victim = p;
	}
	if (same >= NT_PEERS_PER_SOURCE)
		return false;
	if (d->peers.count < NT_MAX_PEERS)
		return true;
	if (!victim)
		return false;
	log_info("peer table full: %s (no address, least traffic) makes room", victim->id_short);
	forget_peer(d, victim);
	return true;
}

bool nt_tunnel_knows_member(struct nt_daemon *d, const uint8_t id[32], uint64_t now)
{
	if (nt_peer_lookup(&d->peers, id))
		return true;
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &d->hints[i];

		if (h->used && h->id_known && h->told_by && !memcmp(h->id, id, 32) &&
		    nt_tunnel_peer_is_alive(h->told_by, now))
			return true;
	}
	return false;
}

bool nt_tunnel_has_session(struct nt_daemon *d, uint64_t now)
{
	for (unsigned int i = 0; i < d->peers.count; i++)
		if (nt_tunnel_peer_is_alive(d->peers.peers[i], now))
			return true;
	return false;
}

static void attempt_free(struct nt_daemon *d, struct nt_attempt *a)
{
	if (!a->initiator)
		nt_workers_expect_fin(d, (unsigned int)(a - d->attempts), 0);
	if (a->local_index)
		nt_index_remove(&d->index, a->local_index);
	if (a->peer && a->peer->handshake == a)
		a->peer->handshake = NULL;
	if (a->hs_ready)
		nt_handshake_clear(&a->hs);
	a->used = false;
	a->peer = NULL;
	a->local_index = 0;
}

/*
 * A free slot; when none is free, the oldest responder attempt (then any) gives way. An
 * attempt toward an endpoint from an open source (DHT, mDNS: anyone can announce one) takes
 * only a free slot or another such attempt, and such attempts hold a quarter of the slots at
 * most: nothing an outsider announces can push out a member's handshake in flight.
 */
static struct nt_attempt *attempt_alloc(struct nt_daemon *d, bool initiator, bool open, uint64_t now)
{
	struct nt_attempt *victim = NULL, *free_slot = NULL;
	unsigned int n_open = 0;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *a = &d->attempts[i];
		if (!a->used) {
			if (!free_slot)
				free_slot = a;
			continue;
		}
		n_open += a->open;
		if (open && !a->open)
			continue;
		if (!victim || (a->open && !victim->open) ||
		    (a->open == victim->open &&
		     ((!a->initiator && victim->initiator) ||
		      (a->initiator == victim->initiator && a->started_ms < victim->started_ms))))
			victim = a;
	}
	if (!open || n_open < NT_MAX_ATTEMPTS / 4)
		victim = free_slot ? free_slot : victim;
	if (!victim)
		return NULL;
	if (victim->used)
		attempt_free(d, victim);
	if (!victim->hs_ready) {
		if (nt_handshake_init(&victim->hs) < 0)
			return NULL;
		victim->hs_ready = true;
	}
	victim->used = true;
	victim->initiator = initiator;
	victim->open = open;
	victim->started_ms = now;
	victim->tries = 0;
	victim->peer = NULL;
	victim->via = NULL;
	victim->resend_ms = 0;
	victim->local_index = 0;
	return victim;
}

/* A handshake message of attempt a: to its endpoint, or through its relay. */
static int hs_send(struct nt_daemon *d, struct nt_attempt *a, const uint8_t *msg, size_t len,
		   const union nt_sockaddr *to, int ttl)
{
	if (a->via)
		return nt_datapath_relay_send(d, a->via, a->via_target, msg, len);
	return nt_udp_send(&d->udp, msg, len, to, ttl);
}

static int send_init(struct nt_daemon *d, struct nt_attempt *a, uint64_t now, bool punch)
{
	int ret;

	ret = nt_handshake_create_init(&a->hs, &d->hs_local, a->local_index, nt_wall_ms(), now,
				       a->init_msg);
	if (ret < 0)
		return ret;
	a->last_sent_ms = now;
	a->last_sent_us = nt_now_us();
	a->tries++;
	a->resend_ms = punch && !a->via ? now + NT_PUNCH_DELAY_MS : 0;
	return hs_send(d, a, a->init_msg, sizeof(a->init_msg), &a->endpoint,
		       punch && !a->via ? NT_PUNCH_TTL : 0);
}

/* A fresh initiator attempt bound to a new session index, or NULL. */
/*
 * The worker a session with this member goes to: the member's own, so a rekey never moves
 * its frames to another thread (which could reorder them); the next in turn for strangers.
 */
static unsigned int lane_of(struct nt_daemon *d, const struct nt_peer *p)
{
	if (d->n_workers <= 1)
		return 0;
	return p ? p->lane : d->next_lane++ % d->n_workers;
}

/* The member whose frames come from ep: an initiator names itself only in its last message. */
static struct nt_peer *peer_at(struct nt_daemon *d, const union nt_sockaddr *ep)
{
	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];

		if (p->has_endpoint && nt_sockaddr_equal(&p->endpoint, ep))
			return p;
	}
	return NULL;
}

static struct nt_attempt *initiator_attempt_new(struct nt_daemon *d, const struct nt_peer *p,
						 bool open, uint64_t now)
{
	struct nt_attempt *a = attempt_alloc(d, true, open, now);

	if (a && nt_index_add(&d->index, NT_INDEX_HANDSHAKE, a, d->n_workers, lane_of(d, p),
			      &a->local_index) < 0) {
		a->used = false;
		return NULL;
	}
	return a;
}

/*
 * Starts a handshake to ep (for peer p, when we know who is there); punch: see nt_attempt;
 * open: ep came from an open source (attempt_alloc).
 */
static bool initiate(struct nt_daemon *d, const union nt_sockaddr *ep, struct nt_peer *p, uint64_t now,
		     bool punch, bool open)
{
	struct nt_attempt *a;
	char buf[NT_SOCKADDR_STRLEN];

	/* One attempt per endpoint at a time. */
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		if (d->attempts[i].used && d->attempts[i].initiator && !d->attempts[i].via &&
		    nt_sockaddr_equal(&d->attempts[i].endpoint, ep))
			return false;
	a = initiator_attempt_new(d, p, open, now);
	if (!a)
		return false;
	a->endpoint = *ep;
	a->peer = p;
	if (p)
		p->handshake = a;
	log_debug(NT_DBG_HANDSHAKE, "handshake initiation to %s%s%s%s",
		  nt_sockaddr_format(ep, buf, sizeof(buf)), p ? " for peer " : "", p ? p->id_short : "",
		  punch ? " (hole punch)" : "");
	if (send_init(d, a, now, punch) < 0) {
		d->drops[NT_DROP_UDP_SEND]++;
		attempt_free(d, a);
		return false;
	}
	return true;
}

/* Starts a handshake with node `id` through the relay member `via`. */
static void initiate_via(struct nt_daemon *d, struct nt_peer *via, const uint8_t id[32], uint64_t now)
{
	struct nt_attempt *a;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		if (d->attempts[i].used && d->attempts[i].initiator && d->attempts[i].via &&
		    !memcmp(d->attempts[i].via_target, id, 32))
			return;
	a = initiator_attempt_new(d, nt_peer_lookup(&d->peers, id), false, now);
	if (!a)
		return;
	memset(&a->endpoint, 0, sizeof(a->endpoint));
	a->via = via;
	memcpy(a->via_target, id, 32);
	a->peer = nt_peer_lookup(&d->peers, id);
	if (a->peer && !a->peer->handshake)
		a->peer->handshake = a;
	log_debug(NT_DBG_NAT, "handshake initiation through relay %s", via->id_short);
	if (send_init(d, a, now, false) < 0)
		attempt_free(d, a);
}

/*
 * Whether p's endpoint has answered us (a round trip), or p is reached through a relay:
 * only then may we send what a member's request draws (announcements, gossip, relayed
 * frames), which can be many times the request's size. A frame with a spoofed source would
 * otherwise turn us into an amplifier aimed at whoever owns that address.
 */
static bool reply_path_is_proven(const struct nt_peer *p)
{
	return p->via || (p->has_endpoint && p->ep_proven);
}

static void send_control(struct nt_daemon *d, struct nt_peer *p, uint8_t type,
			 int (*encode)(struct nt_daemon *, struct nt_peer *, uint8_t *, size_t))
{
	uint8_t *buf = d->scratch;
	int n;

	if (!reply_path_is_proven(p))
		return;
	buf[PLAIN_OFF] = type;
	n = encode(d, p, buf + PLAIN_OFF + 1, d->buf_size - PLAIN_OFF - 1 - NT_DATA_TAG_LEN);
	if (n < 0)
		return;
	nt_datapath_send_plain(d, p, buf, (size_t)n + 1);
}

static int encode_announce(struct nt_daemon *d, struct nt_peer *p, uint8_t *out, size_t cap)
{
	struct nt_announce a = { .listen_port = d->udp.port };

	(void)p;
	for (unsigned int i = 0; i < d->n_addresses; i++)
		a.addresses[a.n_addresses++] = d->addresses[i];
	snprintf(a.name, sizeof(a.name), "%s", d->hostname);
	return nt_control_announce_encode(&a, out, cap);
}

static int encode_pex(struct nt_daemon *d, struct nt_peer *to, uint8_t *out, size_t cap)
{
	struct nt_pex pex = { .count = 0 };
	uint64_t now = nt_now_ms();

	for (unsigned int i = 0; i < d->peers.count && pex.count < NT_PEX_MAX; i++) {
		struct nt_peer *p = d->peers.peers[i];
		/* Only addresses that answered us: a PEX makes others knock there. */
		if (p == to || !p->has_endpoint || !p->ep_proven || p->via || !nt_tunnel_peer_is_alive(p, now))
			continue;
		memcpy(pex.entries[pex.count].id, p->id, 32);
		pex.entries[pex.count].endpoint = p->endpoint;
		pex.count++;
	}
	return nt_control_pex_encode(&pex, out, cap);
}

static void announce_to(struct nt_daemon *d, struct nt_peer *p, uint64_t now)
{
	if (!reply_path_is_proven(p)) {
		p->announce_due_ms = now + 1000; /* once its address has answered */
		return;
	}
	send_control(d, p, NT_CTRL_ANNOUNCE, encode_announce);
	send_control(d, p, NT_CTRL_PEX, encode_pex);
	p->announce_due_ms = now + jitter(NT_ANNOUNCE_INTERVAL_MS);
}

/* The members behind a hint: a connected peer with that ID or at that endpoint. */
static bool hint_is_satisfied(struct nt_daemon *d, const struct nt_hint *h, uint64_t now)
{
	if (h->id_known && memcmp(h->id, d->id->ed_pk, 32) == 0)
		return true; /* ourselves: never worth a handshake */
	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];
		/* A relayed session does not satisfy a hint: the direct path is still wanted. */
		if (!nt_tunnel_peer_is_alive(p, now) || p->via)
			continue;
		if (h->id_known && memcmp(h->id, p->id, 32) == 0)
			return true;
		if (h->id_prefix[0] && !strncmp(h->id_prefix, p->id_short, NT_NODE_ID_SHORT_LEN))
			return true;
		if (p->has_endpoint && nt_sockaddr_equal(&p->endpoint, &h->endpoint))
			return true;
	}
	return false;
}

struct nt_hint *nt_tunnel_hint_find(struct nt_daemon *d, const union nt_sockaddr *ep)
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		if (d->hints[i].used && nt_sockaddr_equal(&d->hints[i].endpoint, ep))
			return &d->hints[i];
	return NULL;
}

/* Hints from sources anyone can feed (a DHT announce, an mDNS answer on the LAN). */
static bool source_is_open(enum nt_hint_source src)
{
	return src == NT_HINT_DHT || src == NT_HINT_MDNS;
}

/*
 * The slot a new hint from src takes when the table is full, or NULL: the one that expires
 * first among those it may replace. Hints from open sources hold at most a quarter of the
 * table and replace only each other, so nothing an outsider announces can push out what the
 * operator configured or a member told us; configured hints are never replaced.
 */
static struct nt_hint *hint_victim(struct nt_daemon *d, enum nt_hint_source src)
{
	struct nt_hint *victim = NULL, *free_slot = NULL;
	unsigned int open = 0;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		struct nt_hint *x = &d->hints[i];

		if (!x->used) {
			if (!free_slot)
				free_slot = x;
			continue;
		}
		if (source_is_open(x->source))
			open++;
		if (!x->expires_ms || (source_is_open(src) && !source_is_open(x->source)))
			continue;
		/* A member's or our own hint replaces an open one first. */
		if (!victim || (source_is_open(x->source) && !source_is_open(victim->source)) ||
		    (source_is_open(x->source) == source_is_open(victim->source) &&
		     x->expires_ms < victim->expires_ms))
			victim = x;
	}
	if (source_is_open(src) && open >= NT_MAX_HINTS / 4)
		return victim;
	return free_slot ? free_slot : victim;
}

struct nt_hint *nt_tunnel_add_hint(struct nt_daemon *d, enum nt_hint_source src,
				   const union nt_sockaddr *ep, const uint8_t *id, uint32_t budget,
				   uint64_t now)
{
	struct nt_hint *h = NULL;

	/* Only the operator may name a loopback, multicast or otherwise odd endpoint. */
	if (src != NT_HINT_CONFIG && !nt_sockaddr_is_unicast(ep))
		return NULL;
	h = nt_tunnel_hint_find(d, ep);
	if (!h) {
		h = hint_victim(d, src);
		if (!h)
			return NULL;
		memset(h, 0, sizeof(*h));
		h->used = true;
		h->source = src;
		h->endpoint = *ep;
		h->next_try_ms = now;
		h->backoff_ms = 1000;
		h->created_ms = now;
	} else if (source_is_open(h->source) && !source_is_open(src)) {
		h->source = src; /* vouched for now: out of the open sources' quarter */
	}
	if (id) {
		memcpy(h->id, id, 32);
		h->id_known = true;
	}
	/*
	 * What naming it again allows us to send there, at least one INIT, at most four: an
	 * endpoint nobody has seen answer costs what the input that named it paid for.
	 */
	if (budget == NT_HINT_BUDGET_UNLIMITED || h->budget == NT_HINT_BUDGET_UNLIMITED)
		h->budget = NT_HINT_BUDGET_UNLIMITED;
	else
		h->budget = NT_MIN(h->budget + NT_MAX(budget, (uint32_t)NT_HS_INIT_LEN),
				   4u * NT_HS_INIT_LEN);
	/* Configured endpoints never expire; a discovered one lives on while it is seen. */
	if (src == NT_HINT_CONFIG) {
		h->expires_ms = 0;
		h->source = src;
	} else if (h->source != NT_HINT_CONFIG) {
		h->expires_ms = NT_MAX(h->expires_ms, now + NT_HINT_TTL_MS);
	}
	return h;
}

#ifndef NT_PATH_CHALLENGE_EVERY_MS
#define NT_PATH_CHALLENGE_EVERY_MS 1000 /* one challenge of one address per member at most */
#endif
#ifndef NT_PATH_RESPONSES_PER_S
#define NT_PATH_RESPONSES_PER_S 10 /* our answers to one member's challenges (burst: 1 s) */
#endif

/* Sends a PATH_CHALLENGE or PATH_RESPONSE on p's session straight to `to`. */
static void send_path(struct nt_daemon *d, struct nt_peer *p, uint8_t type, const uint8_t *nonce,
		      const union nt_sockaddr *to)
{
	uint8_t *buf = d->scratch;

	buf[PLAIN_OFF] = type;
	nt_control_path_encode(buf + PLAIN_OFF + 1, nonce);
	if (nt_datapath_send_plain_to(d, p, buf, 1 + NT_CTRL_PATH_LEN, d->rx_via ? NULL : to) < 0)
		d->drops[NT_DROP_UDP_SEND]++;
}

/* Asks whether p receives at `at` (once a second per address at most). */
static void challenge(struct nt_daemon *d, struct nt_peer *p, const union nt_sockaddr *at, uint64_t now)
{
	if (p->probe_sent_ms && nt_sockaddr_equal(&p->probe_ep, at) &&
	    now - p->probe_sent_ms < NT_PATH_CHALLENGE_EVERY_MS)
		return;
	p->probe_ep = *at;
	p->probe_sent_ms = now;
	randombytes_buf(p->probe_nonce, sizeof(p->probe_nonce));
	send_path(d, p, NT_CTRL_PATH_CHALLENGE, p->probe_nonce, at);
}

/* p answered us at `at`: that is where we send from now on. */
static void move_to(struct nt_daemon *d, struct nt_peer *p, const union nt_sockaddr *at)
{
	char a[NT_SOCKADDR_STRLEN], b[NT_SOCKADDR_STRLEN];

	if (p->via)
		log_info("peer %s: direct path at %s works, leaving relay %s", p->id_short,
			 nt_sockaddr_format(at, b, sizeof(b)), p->via->id_short);
	else if (p->has_endpoint && !nt_sockaddr_equal(&p->endpoint, at))
		log_info("peer %s moved from %s to %s", p->id_short,
			 nt_sockaddr_format(&p->endpoint, a, sizeof(a)), nt_sockaddr_format(at, b, sizeof(b)));
	p->via = NULL;
	p->path = NT_PATH_DIRECT;
	p->endpoint = *at;
	p->has_endpoint = true;
	p->ep_proven = true;
	p->probe_sent_ms = 0;
	nt_workers_changed(d);
}

void nt_tunnel_peer_seen_at(struct nt_daemon *d, struct nt_peer *p, const union nt_sockaddr *from,
			    bool proven)
{
	uint64_t now = nt_now_ms();

	if (d->rx_via) {
		/*
		 * Through a relay. A straggler on a path we have left must not undo a direct
		 * path that works: only a member silent on the direct path moves to the relay.
		 */
		if (p->via == d->rx_via || now - p->last_direct_rx_ms < 30000)
			return;
		log_info("peer %s: relayed through %s", p->id_short, d->rx_via->id_short);
		p->via = d->rx_via;
		p->path = NT_PATH_RELAYED;
		nt_workers_changed(d);
		return;
	}
	p->last_direct_rx_ms = now;
	if (!p->via && p->has_endpoint && nt_sockaddr_equal(&p->endpoint, from)) {
		if (proven && !p->ep_proven)
			move_to(d, p, from);
		return;
	}
	if (proven) {
		move_to(d, p, from);
		return;
	}
	/*
	 * An authentic frame from a new address: the member roamed, or it sent with a spoofed
	 * source. Nothing moves, and nothing but the challenge goes there, until the address
	 * answers it.
	 */
	challenge(d, p, from, now);
}

/* PATH_CHALLENGE: answered to where it came from, at the rate a member may ask. */
static void on_path_challenge(struct nt_daemon *d, struct nt_peer *p, const uint8_t nonce[8],
			      const union nt_sockaddr *from, uint64_t now)
{
	p->path_replies_ms += (now - p->path_refill_ms) * NT_PATH_RESPONSES_PER_S;
	if (p->path_replies_ms > (uint64_t)NT_PATH_RESPONSES_PER_S * 1000)
		p->path_replies_ms = (uint64_t)NT_PATH_RESPONSES_PER_S * 1000;
	p->path_refill_ms = now;
	if (p->path_replies_ms < 1000)
		return;
	p->path_replies_ms -= 1000;
	send_path(d, p, NT_CTRL_PATH_RESPONSE, nonce, from);
}

/* PATH_RESPONSE: the address we asked answered (from there, with our nonce): move to it. */
static void on_path_response(struct nt_daemon *d, struct nt_peer *p, const uint8_t nonce[8],
			     const union nt_sockaddr *from)
{
	if (d->rx_via || !p->probe_sent_ms || !nt_sockaddr_equal(&p->probe_ep, from) ||
	    sodium_memcmp(p->probe_nonce, nonce, sizeof(p->probe_nonce)) != 0)
		return;
	move_to(d, p, from);
}

void nt_tunnel_want_handshake(struct nt_daemon *d, struct nt_peer *p, uint64_t now)
{
	if (p->handshake || (!p->has_endpoint && !p->via) || now < p->handshake_due_ms)
		return;
	p->handshake_due_ms = now + jitter(NT_REKEY_TIMEOUT_MS);
	if (p->via)
		initiate_via(d, p->via, p->id, now);
	else
		initiate(d, &p->endpoint, p, now, false, false);
}

void nt_tunnel_on_unknown_index(struct nt_daemon *d, const union nt_sockaddr *from, uint64_t now)
{
	/*
	 * A member we have a session with uses keys we no longer hold (crossed handshakes, or
	 * our restart): a new handshake puts both sides on the same keys again, at most once per
	 * rekey timeout. From anywhere else a data frame proves nothing (anyone can send one)
	 * and gets nothing: no hint, no handshake, not a byte back. A member that restarted
	 * calls us itself (remembered members, discovery). A member still heard on our keys
	 * needs nothing either: such a frame is a straggler, or a stranger spoofing its address.
	 */
	struct nt_peer *p = peer_at(d, from);

	if (p && now - p->session.last_received_ms >= NT_REKEY_TIMEOUT_MS)
		nt_tunnel_want_handshake(d, p, now);
}

/* Whether initiator attempt x is aimed at peer p (by peer, endpoint, or what a hint knows). */
static bool attempt_targets(struct nt_daemon *d, const struct nt_attempt *x, const struct nt_peer *p)
{
	if (x->peer == p || (p->has_endpoint && nt_sockaddr_equal(&x->endpoint, &p->endpoint)))
		return true;
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		const struct nt_hint *h = &d->hints[i];
		if (!h->used || !nt_sockaddr_equal(&h->endpoint, &x->endpoint))
			continue;
		if (h->id_known)
			return memcmp(h->id, p->id, 32) == 0;
		return h->id_prefix[0] && !strncmp(h->id_prefix, p->id_short, NT_NODE_ID_SHORT_LEN);
	}
	return false;
}

/*
 * A session with p just came up: other initiations toward p (its other addresses, or a
 * crossing one) would only replace these keys again, so they stop here.
 */
static void cancel_other_attempts(struct nt_daemon *d, const struct nt_attempt *done, struct nt_peer *p)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *x = &d->attempts[i];
		if (x != done && x->used && x->initiator && x->hs.state == NT_HS_STATE_INIT_SENT &&
		    attempt_targets(d, x, p))
			attempt_free(d, x);
	}
}

/* The handshake of attempt a produced keys: install them in the peer's session. */
static void complete(struct nt_daemon *d, struct nt_attempt *a, const union nt_sockaddr *from,
		     uint64_t now)
{
	struct nt_handshake_result res;
	struct nt_keypair *kp = NULL;
	struct nt_peer *p;
	bool was_connected;
	char buf[NT_SOCKADDR_STRLEN];

	if (nt_handshake_finish(&a->hs, &res) < 0) {
		d->handshakes_failed++;
		attempt_free(d, a);
		return;
	}
	p = nt_tunnel_peer_get(d, res.peer_id, d->rx_via || a->via ? NULL : &a->endpoint);
	if (!p) {
		static uint64_t warned_ms;

		if (!warned_ms || now - warned_ms >= 60000) {
			warned_ms = now;
			log_warnx("no room for a new member at %s (%u members; %u at most from one address)",
				  nt_sockaddr_format(&a->endpoint, buf, sizeof(buf)), d->peers.count,
				  NT_PEERS_PER_SOURCE);
		}
		goto out_fail;
	}
	/* A responder accepts a member's handshakes in the order it made them, never older. */
	if (!res.initiator) {
		static const uint8_t zero[NT_HS_TAI64N_LEN];
		if (memcmp(p->last_timestamp, zero, sizeof(zero)) != 0 &&
		    nt_handshake_tai64n_compare(res.tai64n, p->last_timestamp) <= 0) {
			log_ratelimited(&rl_hs, NT_DBG_HANDSHAKE, "peer %s: replayed or stale handshake dropped",
					p->id_short);
			d->drops[NT_DROP_HANDSHAKE]++;
			goto out_fail;
		}
		memcpy(p->last_timestamp, res.tai64n, sizeof(res.tai64n));
	}
	if (nt_session_keypair_new(&kp, res.send_key, res.recv_key, res.local_index, res.remote_index,
				   res.initiator, now) < 0)
		goto out_fail;
	kp->owner = p;
	nt_index_rebind(&d->index, a->local_index, NT_INDEX_KEYPAIR, kp);
	a->local_index = 0; /* the index belongs to the keypair now */
	was_connected = nt_tunnel_peer_is_alive(p, now);
	nt_session_keypair_install(&p->session, kp);
	/* The member may send on it at once: its worker must know it before those frames come. */
	nt_workers_publish(d);
	/*
	 * The handshake is a round trip to a->endpoint: where we sent INIT (initiator) or RESP
	 * (responder to the INIT's source), so the member receives there, whatever address its
	 * last message says it came from: that one is only challenged. Through a relay, the
	 * relay is the path; a relayed handshake whose last message came straight from
	 * somewhere proves nothing of that address either.
	 */
	if (d->rx_via || a->via) {
		nt_tunnel_peer_seen_at(d, p, from, false);
	} else {
		nt_tunnel_peer_seen_at(d, p, &a->endpoint, true);
		if (!nt_sockaddr_equal(from, &a->endpoint))
			nt_tunnel_peer_seen_at(d, p, from, false);
	}
	p->handshakes++;
	p->last_handshake_wall_ms = nt_wall_ms();
	p->handshake_due_ms = 0;
	d->handshakes_ok++;
	/*
	 * A session begun before we knew who was there lands on any worker: a new one, on the
	 * member's own, moves it at once (a rekey like any other, nothing is lost).
	 */
	if (d->n_workers > 1 && (kp->local_index & 0xff) % d->n_workers != p->lane) {
		log_debug(NT_DBG_HANDSHAKE, "peer %s: new session to move it to worker %u", p->id_short, p->lane);
		nt_tunnel_want_handshake(d, p, now);
	}
	if (!was_connected) {
		/*
		 * Introduce the newcomer: every member we have a session with hears of it now
		 * (and it of them), so members behind NATs start punching toward each other at
		 * the same moment.
		 */
		for (unsigned int i = 0; i < d->peers.count; i++)
			if (d->peers.peers[i] != p)
				d->peers.peers[i]->announce_due_ms = now;
		p->connected_since_ms = now;
		log_info("peer %s connected at %s (%s)", p->id_short,
			 nt_sockaddr_format(from, buf, sizeof(buf)), res.initiator ? "we initiated" : "it initiated");
	} else {
		log_debug(NT_DBG_HANDSHAKE, "peer %s: new session keys", p->id_short);
	}
	/*
	 * Either side has just seen one round trip: the initiator from its INIT to the
	 * response, the responder from its response to the final message.
	 */
	if (a->last_sent_us) {
		uint64_t rtt = nt_now_us() - a->last_sent_us;
		p->rtt_us = rtt ? (rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt) : 1;
	}
	cancel_other_attempts(d, a, p);
	/* Whoever answered there is this member: its other endpoints need no handshake now. */
	for (unsigned int i = 0; i < NT_MAX_HINTS && !d->rx_via && !a->via; i++) {
		struct nt_hint *h = &d->hints[i];
		if (h->used && (nt_sockaddr_equal(&h->endpoint, from) ||
				(res.initiator && nt_sockaddr_equal(&h->endpoint, &a->endpoint)))) {
			memcpy(h->id, p->id, 32);
			h->id_known = true;
		}
	}
	if (res.initiator) {
		/* Our first frame on the new keys confirms them to the responder. */
		announce_to(d, p, now);
		nt_datapath_flush_staged(d, p);
	} else {
		p->announce_due_ms = now;
	}
	sodium_memzero(&res, sizeof(res));
	attempt_free(d, a);
	return;

out_fail:
	sodium_memzero(&res, sizeof(res));
	d->handshakes_failed++;
	attempt_free(d, a);
}

/* A handshake reply to a message that came from `from`, or through the relay it came by. */
static int reply(struct nt_daemon *d, const uint8_t *msg, size_t len, const union nt_sockaddr *from)
{
	if (d->rx_via)
		return nt_datapath_relay_send(d, d->rx_via, d->rx_via_id, msg, len);
	return nt_udp_send(&d->udp, msg, len, from, 0);
}

static void send_cookie_reply(struct nt_daemon *d, const uint8_t *msg, size_t len,
			      const union nt_sockaddr *from, uint64_t now)
{
	uint8_t out[NT_HS_COOKIE_REPLY_LEN];

	if (nt_handshake_create_cookie_reply(&d->hs_local, msg, len, from, now, out) == 0)
		reply(d, out, sizeof(out), from);
}

/*
 * An INIT with a valid mac1 (a member, or a replay of one). Under load only a source that
 * proved with a cookie that it receives there is served, and only then is it charged to its
 * address's bucket (WireGuard's rule: a spoofed source can drain no member's bucket). The
 * INIT is checked in a spare handshake first: only a verified one takes an attempt slot, so
 * nothing that fails can evict a member's handshake in flight.
 */
static void on_init(struct nt_daemon *d, const uint8_t *msg, size_t len,
		    const union nt_sockaddr *from, uint64_t now)
{
	uint8_t out[NT_HS_RESP_LEN];
	bool under_load = nt_ratelimit_table_is_under_load(&d->ratelimit, now);
	struct nt_handshake verified;
	enum nt_hs_verdict v;
	struct nt_attempt *a;
	char buf[NT_SOCKADDR_STRLEN];

	if (under_load) {
		if (!nt_handshake_has_cookie(&d->hs_local, msg, len, from, now)) {
			send_cookie_reply(d, msg, len, from, now);
			return;
		}
		if (!nt_ratelimit_table_allow(&d->ratelimit, from, now)) {
			d->drops[NT_DROP_RATELIMIT]++;
			return;
		}
	}
	if (!d->init_hs_ready) {
		if (nt_handshake_init(&d->init_hs) < 0)
			return;
		d->init_hs_ready = true;
	}
	v = nt_handshake_consume_init(&d->init_hs, &d->hs_local, msg, len, from, under_load, now,
				      nt_wall_ms());
	if (v == NT_HS_DROP_MAC2_NEEDED) {
		send_cookie_reply(d, msg, len, from, now);
		return;
	}
	if (v != NT_HS_OK) {
		log_ratelimited(&rl_hs, NT_DBG_HANDSHAKE, "initiation from %s dropped: %s",
				nt_sockaddr_format(from, buf, sizeof(buf)), nt_handshake_verdict_str(v));
		d->drops[NT_DROP_HANDSHAKE]++;
		return;
	}
	a = attempt_alloc(d, false, false, now);
	if (!a) {
		nt_handshake_clear(&d->init_hs);
		return;
	}
	/* The slot takes the verified handshake; the spare keeps the slot's wiped one. */
	verified = d->init_hs;
	d->init_hs = a->hs;
	a->hs = verified;
	if (d->rx_via) {
		a->via = d->rx_via;
		memcpy(a->via_target, d->rx_via_id, 32);
	}
	if (nt_index_add(&d->index, NT_INDEX_HANDSHAKE, a, d->n_workers,
			 lane_of(d, peer_at(d, from)), &a->local_index) < 0 ||
	    nt_handshake_create_resp(&a->hs, &d->hs_local, a->local_index, now, out) < 0) {
		attempt_free(d, a);
		return;
	}
	a->endpoint = *from;
	a->last_sent_ms = now;
	a->last_sent_us = nt_now_us();
	nt_workers_expect_fin(d, (unsigned int)(a - d->attempts), a->local_index);
	if (hs_send(d, a, out, NT_HS_RESP_LEN, from, 0) < 0)
		d->drops[NT_DROP_UDP_SEND]++;
}

void nt_tunnel_on_handshake(struct nt_daemon *d, uint8_t *msg, size_t len,
			    const union nt_sockaddr *from, uint64_t now)
{
	uint8_t fin[NT_HS_FIN_LEN];
	enum nt_hs_verdict v;
	struct nt_attempt *a;
	uint32_t receiver;
	uint8_t type;
	char buf[NT_SOCKADDR_STRLEN];

	if (!nt_handshake_peek(msg, len, &type, &receiver)) {
		d->drops[NT_DROP_TRUNCATED]++;
		return;
	}
	/*
	 * mac1 first: a message from outside the network costs one hash, gets no answer, and
	 * counts toward nothing a member's handshake depends on (load, a source's bucket).
	 */
	v = nt_handshake_check_envelope(&d->hs_local, msg, len);
	if (v != NT_HS_OK) {
		d->drops[NT_DROP_HANDSHAKE]++;
		return;
	}
	nt_ratelimit_table_count_load(&d->ratelimit, now);
	if (type == NT_HS_MSG_INIT) {
		on_init(d, msg, len, from, now);
		return;
	}
	a = nt_index_lookup(&d->index, receiver, NT_INDEX_HANDSHAKE);
	if (!a) {
		d->drops[NT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	switch (type) {
	case NT_HS_MSG_RESP:
		if (!a->initiator)
			break;
		v = nt_handshake_consume_resp(&a->hs, &d->hs_local, msg, len, from, now);
		if (v == NT_HS_DROP_SELF) {
			/* A configured or discovered endpoint that is this very node. */
			nt_tunnel_add_hint(d, NT_HINT_PEX, &a->endpoint, d->id->ed_pk, 0, now);
			attempt_free(d, a);
			return;
		}
		if (v != NT_HS_OK)
			goto drop;
		if (nt_handshake_create_fin(&a->hs, &d->hs_local, now, fin) < 0)
			goto drop;
		if (hs_send(d, a, fin, sizeof(fin), from, 0) < 0)
			d->drops[NT_DROP_UDP_SEND]++;
		complete(d, a, from, now);
		return;
	case NT_HS_MSG_FIN:
		if (a->initiator)
			break;
		v = nt_handshake_consume_fin(&a->hs, &d->hs_local, msg, len, from, now);
		if (v != NT_HS_OK)
			goto drop;
		complete(d, a, from, now);
		return;
	case NT_HS_MSG_COOKIE_REPLY:
		if (!a->initiator)
			break;
		v = nt_handshake_consume_cookie_reply(&a->hs, &d->hs_local, msg, len, now);
		if (v != NT_HS_OK)
			goto drop;
		/* Under load at the other end: try again at once, now with mac2. */
		if (send_init(d, a, now, false) < 0)
			d->drops[NT_DROP_UDP_SEND]++;
		return;
	}
	d->drops[NT_DROP_HANDSHAKE]++;
	return;
drop:
	log_ratelimited(&rl_hs, NT_DBG_HANDSHAKE, "handshake message from %s dropped: %s",
			nt_sockaddr_format(from, buf, sizeof(buf)), nt_handshake_verdict_str(v));
	d->drops[NT_DROP_HANDSHAKE]++;
	d->handshakes_failed++;
}

/*
 * ANNOUNCE tells a member's port and name. Which addresses it owns is the ledger's to
 * say (claims.c): a claim is signed and its conflicts are settled the same way everywhere.
 */
static void apply_announce(struct nt_daemon *d, struct nt_peer *p, const struct nt_announce *an)
{
	(void)d;
	p->listen_port = an->listen_port;
	snprintf(p->name, sizeof(p->name), "%s", an->name);
}

/* A relay pair slot for src -> dst: found, free, or the longest idle past a minute. */
static struct nt_relay_pair *relay_pair(struct nt_daemon *d, struct nt_peer *src, struct nt_peer *dst,
					uint64_t now)
{
	struct nt_relay_pair *free_slot = NULL;

	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++) {
		struct nt_relay_pair *r = &d->relay_pairs[i];
		if (r->src == src && r->dst == dst)
			return r;
		if (!r->src || now - r->last_ms > 60000) {
			if (!free_slot || (free_slot->src && (!r->src || r->last_ms < free_slot->last_ms)))
				free_slot = r;
		}
	}
	if (free_slot) {
		free_slot->src = src;
		free_slot->dst = dst;
		log_info("relaying between %s and %s", src->id_short, dst->id_short);
	}
	return free_slot;
}

/* As a relay: member src asks us to pass a frame to another member. */
static bool relay_forward(struct nt_daemon *d, struct nt_peer *src, const uint8_t *body, size_t len,
			  uint64_t now)
{
	static struct nt_ratelimit rl;
	const uint8_t *id, *frame;
	struct nt_relay_pair *pair;
	struct nt_peer *dst;
	size_t flen;

	if (!nt_control_relay_decode(body, len, &id, &frame, &flen))
		return false;
	if (!d->opts.relay) {
		log_ratelimited(&rl, NT_DBG_NAT, "relay request from %s refused: --relay off", src->id_short);
		d->drops[NT_DROP_RELAY_REFUSED]++;
		return true;
	}
	/* What we send on must fit the buffer it is built in (the receive path bounds it too). */
	if (PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR + flen + NT_DATA_TAG_LEN > d->buf_size) {
		d->drops[NT_DROP_OVERSIZED]++;
		return true;
	}
	dst = nt_peer_lookup(&d->peers, id);
	if (!dst || dst == src || dst->via || !dst->ep_proven ||
	    !nt_session_keypair_for_send(&dst->session, now))
		return false;
	/* A token bucket per member, in frames: one second of NT_RELAY_PPS at most. */
	src->relay_tokens_ms += (now - src->relay_refill_ms) * NT_RELAY_PPS;
	if (src->relay_tokens_ms > (uint64_t)NT_RELAY_PPS * 1000)
		src->relay_tokens_ms = (uint64_t)NT_RELAY_PPS * 1000;
	src->relay_refill_ms = now;
	if (src->relay_tokens_ms < 1000 || !(pair = relay_pair(d, src, dst, now))) {
		log_ratelimited(&rl, NT_DBG_NAT, "relay for %s to %s refused: limit", src->id_short,
				dst->id_short);
		d->drops[NT_DROP_RELAY_REFUSED]++;
		return true;
	}
	src->relay_tokens_ms -= 1000;
	pair->last_ms = now;
	d->scratch[PLAIN_OFF] = NT_CTRL_RELAYED;
	nt_control_relay_header(d->scratch + PLAIN_OFF + 1, src->id);
	memcpy(d->scratch + PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR, frame, flen);
	if (nt_datapath_send_plain(d, dst, d->scratch, 1 + NT_CTRL_RELAY_HDR + flen) == 0)
		d->relayed_frames++;
	return true;
}

/* A relay (member via) delivers a frame from another member: handle it as if it came in. */
static bool relay_deliver(struct nt_daemon *d, struct nt_peer *via, const uint8_t *body, size_t len,
			  uint64_t now)
{
	const uint8_t *id, *frame;
	size_t flen;

	if (!nt_control_relay_decode(body, len, &id, &frame, &flen) || !memcmp(id, d->id->ed_pk, 32))
		return false;
	d->rx_via = via;
	memcpy(d->rx_via_id, id, 32);
	/* The frame lies in our receive buffer; decrypting it in place is allowed. */
	nt_datapath_on_frame(d, (uint8_t *)frame, flen, &via->endpoint, now);
	d->rx_via = NULL;
	return true;
}

void nt_tunnel_on_control(struct nt_daemon *d, struct nt_peer *p, uint8_t type,
			  const uint8_t *body, size_t len, const union nt_sockaddr *from, uint64_t now)
{
	uint8_t nonce[NT_CTRL_PATH_NONCE];

	switch (type) {
	case NT_CTRL_PATH_CHALLENGE:
		if (!nt_control_path_decode(body, len, nonce))
			break;
		on_path_challenge(d, p, nonce, from, now);
		return;
	case NT_CTRL_PATH_RESPONSE:
		if (!nt_control_path_decode(body, len, nonce))
			break;
		on_path_response(d, p, nonce, from);
		return;
	case NT_CTRL_ANNOUNCE: {
		struct nt_announce an;
		if (!nt_control_announce_decode(&an, body, len))
			break;
		apply_announce(d, p, &an);
		return;
	}
	case NT_CTRL_GOSSIP:
		nt_claims_on_gossip(d, p, body, len);
		return;
	case NT_CTRL_RELAY:
		if (!d->rx_via && relay_forward(d, p, body, len, now))
			return;
		break;
	case NT_CTRL_RELAYED:
		if (!d->rx_via && relay_deliver(d, p, body, len, now))
			return;
		break;
	case NT_CTRL_PEX: {
		struct nt_pex pex;
		if (!nt_control_pex_decode(&pex, body, len))
			break;
		/* A member may have us try as many endpoints as one PEX names, no more, and each
		 * for what its share of the PEX paid (4 times, as any answer). */
		uint32_t budget = pex.count ? (uint32_t)(4 * (len + 1 + NT_DATA_OVERHEAD) / pex.count) : 0;
		unsigned int told = 0;
		for (unsigned int k = 0; k < NT_MAX_HINTS; k++)
			told += d->hints[k].used && d->hints[k].told_by == p;
		for (unsigned int i = 0; i < pex.count; i++) {
			struct nt_peer *known = nt_peer_lookup(&d->peers, pex.entries[i].id);
			struct nt_hint *h;

			if (!memcmp(pex.entries[i].id, d->id->ed_pk, 32))
				continue;
			if (known && nt_tunnel_peer_is_alive(known, now))
				continue;
			h = nt_tunnel_hint_find(d, &pex.entries[i].endpoint);
			if (!h && told >= NT_PEX_MAX)
				continue;
			h = nt_tunnel_add_hint(d, NT_HINT_PEX, &pex.entries[i].endpoint, pex.entries[i].id,
					       budget, now);
			if (h && h->told_by != p) {
				h->told_by = p;
				told++;
			}
		}
		return;
	}
	default:
		break;
	}
	d->drops[NT_DROP_CONTROL]++;
}

static void send_keepalive(struct nt_daemon *d, struct nt_peer *p)
{
	if (!reply_path_is_proven(p))
		return;
	d->scratch[PLAIN_OFF] = NT_DATA_INNER_KEEPALIVE;
	nt_datapath_send_plain(d, p, d->scratch, 1);
}

/*
 * Punching toward h's member has not worked for a while: reach it through the member that
 * told us about it (it has a session with both of us). The direct tries go on; the first
 * direct session takes over from the relay.
 */
static void relay_if_stuck(struct nt_daemon *d, struct nt_hint *h, uint64_t now)
{
	struct nt_peer *p;

	if (!h->id_known || !h->told_by || now - h->created_ms < NT_RELAY_AFTER_MS ||
	    now < h->relay_next_ms)
		return;
	p = nt_peer_lookup(&d->peers, h->id);
	if (p && nt_tunnel_peer_is_alive(p, now) && p->via)
		return; /* already relayed */
	if (!nt_session_keypair_for_send(&h->told_by->session, now) || h->told_by->via)
		return;
	h->relay_next_ms = now + 10000;
	initiate_via(d, h->told_by, h->id, now);
}

static void tick_hints(struct nt_daemon *d, uint64_t now)
{
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++) {
		struct nt_hint *h = &d->hints[i];

		if (!h->used)
			continue;
		if (h->expires_ms && now >= h->expires_ms) {
			h->used = false;
			continue;
		}
		if (now < h->next_try_ms)
			continue;
		if (hint_is_satisfied(d, h, now)) {
			/* Look again later: if the session goes, the hint is how we get it back. */
			h->backoff_ms = 1000;
			h->next_try_ms = now + 1000;
			continue;
		}
		if (h->config_name[0] && !h->endpoint.sa.sa_family) {
			/* Looked up in the background: ask again soon while it runs. */
			if (!nt_resolve(&d->resolver, h->config_name, &h->endpoint, now)) {
				h->next_try_ms = now + 500;
				continue;
			}
		}
		/*
		 * Endpoints learnt from other members may sit behind a NAT: punch (two INITs).
		 * Beyond the operator's own, an endpoint that never answered gets what its
		 * budget pays for, and no address more than one such INIT a second.
		 */
		bool punch = h->source == NT_HINT_PEX;
		uint32_t cost = (punch ? 2 : 1) * NT_HS_INIT_LEN;

		if (h->budget != NT_HINT_BUDGET_UNLIMITED && h->budget < cost && punch) {
			punch = false;
			cost = NT_HS_INIT_LEN;
		}
		if (h->budget != NT_HINT_BUDGET_UNLIMITED &&
		    (h->budget < cost || !nt_srclimit_allow(&d->init_limit, &h->endpoint, now))) {
			relay_if_stuck(d, h, now);
			h->next_try_ms = now + jitter(h->backoff_ms);
			continue;
		}
		if (initiate(d, &h->endpoint, NULL, now, punch, source_is_open(h->source)) &&
		    h->budget != NT_HINT_BUDGET_UNLIMITED)
			h->budget -= cost;
		relay_if_stuck(d, h, now);
		h->next_try_ms = now + jitter(h->backoff_ms);
		h->backoff_ms = h->backoff_ms * 2 > NT_HINT_BACKOFF_MAX_MS ? NT_HINT_BACKOFF_MAX_MS :
									     h->backoff_ms * 2;
	}
}

void nt_tunnel_tick(struct nt_daemon *d, uint64_t now)
{
	if (now >= d->reap_ms) {
		d->reap_ms = now + 1000;
		reap_idle_peers(d, now);
	}
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *a = &d->attempts[i];
		if (a->used && now - a->last_sent_ms >= NT_HS_ATTEMPT_TIMEOUT_MS &&
		    now - a->started_ms >= NT_HS_ATTEMPT_TIMEOUT_MS) {
			attempt_free(d, a);
			continue;
		}
		/* The punch opened our mapping; now the INIT itself, at full TTL. */
		if (a->used && a->resend_ms && now >= a->resend_ms && !a->via &&
		    a->hs.state == NT_HS_STATE_INIT_SENT) {
			a->resend_ms = 0;
			if (nt_udp_send(&d->udp, a->init_msg, sizeof(a->init_msg), &a->endpoint, 0) < 0)
				d->drops[NT_DROP_UDP_SEND]++;
		}
	}
	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];
		uint64_t next;
		unsigned int due = nt_session_tick(&p->session, now, &next);

		if (due & NT_SESSION_SEND_KEEPALIVE)
			send_keepalive(d, p);
		if (nt_tunnel_peer_is_alive(p, now)) {
			if (nt_session_keypair_for_send(&p->session, now) && now >= p->announce_due_ms)
				announce_to(d, p, now);
			if (nt_session_needs_rekey(&p->session, now))
				nt_tunnel_want_handshake(d, p, now);
		} else {
			if (p->connected_since_ms) {
				log_info("peer %s: session lost, reconnecting", p->id_short);
				p->connected_since_ms = 0;
			}
			/* Keep knocking on its last endpoint, ever more slowly. */
			if (!p->handshake && p->has_endpoint && p->ep_proven && now >= p->handshake_due_ms) {
				initiate(d, &p->endpoint, p, now, false, false);
				p->handshake_due_ms = now + jitter(NT_RECONNECT_MAX_MS);
			}
		}
	}
	tick_hints(d, now);
}

int nt_tunnel_start(struct nt_daemon *d)
{
	uint8_t key[NT_SRCLIMIT_KEY_LEN];
	uint64_t now = nt_now_ms();
	int ret;

	ret = nt_handshake_local_init(&d->hs_local, d->id, d->keys, now);
	if (ret < 0)
		return ret;
	/* The only test knob read from the environment: how long a departed member is kept. */
	d->peer_idle_ms = NT_PEER_IDLE_MS;
	if (getenv("NETRON_PEER_IDLE_MS"))
		d->peer_idle_ms = strtoull(getenv("NETRON_PEER_IDLE_MS"), NULL, 10);
	randombytes_buf(key, sizeof(key));
	ret = nt_srclimit_init(&d->init_limit, key, 1, 3, 100, 100);
	if (ret < 0)
		return ret;
	ret = nt_ratelimit_table_init(&d->ratelimit, NT_RATELIMIT_DEFAULT_RATE,
				      NT_RATELIMIT_DEFAULT_BURST, NT_RATELIMIT_DEFAULT_LOAD);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < d->opts.n_peers; i++) {
		union nt_sockaddr ep;
		struct nt_hint *h;
		memset(&ep, 0, sizeof(ep));
		if (!nt_resolve(&d->resolver, d->opts.peers[i], &ep, now))
			log_info("--peer %s: looking the name up", d->opts.peers[i]);
		h = nt_tunnel_add_hint(d, NT_HINT_CONFIG, &ep, NULL, NT_HINT_BUDGET_UNLIMITED, now);
		/* Remember the name, so an address that did not resolve is tried again. */
		if (h)
			snprintf(h->config_name, sizeof(h->config_name), "%s", d->opts.peers[i]);
	}
	return 0;
}

void nt_tunnel_stop(struct nt_daemon *d)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		if (d->attempts[i].used)
			attempt_free(d, &d->attempts[i]);
		if (d->attempts[i].hs_ready)
			nt_handshake_uninit(&d->attempts[i].hs);
		d->attempts[i].hs_ready = false;
	}
	if (d->init_hs_ready)
		nt_handshake_uninit(&d->init_hs);
	d->init_hs_ready = false;
	nt_peer_table_clear(&d->peers);
	if (d->hs_local.id)
		nt_handshake_local_uninit(&d->hs_local);
	nt_ratelimit_table_clear(&d->ratelimit);
}
