// SPDX-License-Identifier: MIT
/*
 * Handshakes (handshakes.h). An attempt is a slot bound to a session index; when it
 * completes, the index is rebound to the new keypair, which goes into the peer's session by
 * WireGuard's rotation rules. Checks run cheapest first: the envelope (mac1) before anything
 * counts or costs, cookies and per-source limits under load, then the Noise messages.
 */
#include "tunnel/handshakes.h"

#include <string.h>

#include "core/log.h"
#include "tunnel/announce.h"
#include "tunnel/hints.h"
#include "tunnel/members.h"
#include "tunnel/path.h"

static void attempt_free(struct nt_tunnel *t, struct nt_attempt *a)
{
	if (!a->initiator)
		nt_dataplane_expect_fin(t->dp, (unsigned int)(a - t->attempts), 0);
	if (a->local_index)
		nt_index_remove(&t->dp->index, a->local_index);
	if (a->peer && a->peer->handshake == a)
		a->peer->handshake = NULL;
	if (a->hs_ready)
		nt_handshake_clear(&a->hs);
	a->used = false;
	a->peer = NULL;
	a->via = NULL;
	a->local_index = 0;
}

/*
 * A free slot; when none is free, the oldest responder attempt (then any) gives way. An
 * attempt toward an endpoint from an open source (DHT, mDNS: anyone can announce one) takes
 * only a free slot or another such attempt, and such attempts hold a quarter of the slots at
 * most: nothing an outsider announces can push out a member's handshake in flight.
 */
static struct nt_attempt *attempt_alloc(struct nt_tunnel *t, bool initiator, bool open, uint64_t now)
{
	struct nt_attempt *victim = NULL, *free_slot = NULL;
	unsigned int n_open = 0;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *a = &t->attempts[i];

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
		attempt_free(t, victim);
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
static int hs_send(struct nt_tunnel *t, struct nt_attempt *a, const uint8_t *msg, size_t len,
		   const union nt_sockaddr *to, int ttl)
{
	if (a->via)
		return nt_dataplane_relay_send(t->dp, a->via, a->via_target, msg, len);
	return nt_dataplane_send_raw(t->dp, msg, len, to, ttl);
}

static int send_init(struct nt_tunnel *t, struct nt_attempt *a, uint64_t now, bool punch)
{
	int ret;

	ret = nt_handshake_create_init(&a->hs, &t->hs_local, a->local_index, nt_wall_ms(), now,
				       a->init_msg);
	if (ret < 0)
		return ret;
	a->last_sent_ms = now;
	a->last_sent_us = nt_now_us();
	a->tries++;
	a->resend_ms = punch && !a->via ? now + NT_PUNCH_DELAY_MS : 0;
	return hs_send(t, a, a->init_msg, sizeof(a->init_msg), &a->endpoint,
		       punch && !a->via ? NT_PUNCH_TTL : 0);
}

/*
 * A fresh initiator attempt bound to a new session index, or NULL. The index names the
 * worker the session goes to: the member's own, so a rekey never moves its frames to another
 * thread (which could reorder them); the next in turn for strangers.
 */
static struct nt_attempt *initiator_attempt_new(struct nt_tunnel *t, const struct nt_peer *p,
						 bool open, uint64_t now)
{
	struct nt_attempt *a = attempt_alloc(t, true, open, now);

	if (a && nt_index_add(&t->dp->index, NT_INDEX_HANDSHAKE, a, t->dp->n_workers,
			      nt_dataplane_lane_for(t->dp, p), &a->local_index) < 0) {
		a->used = false;
		return NULL;
	}
	return a;
}

bool nt_tunnel_initiate(struct nt_tunnel *t, const union nt_sockaddr *ep, struct nt_peer *p,
			uint64_t now, bool punch, bool open)
{
	struct nt_attempt *a;
	char buf[NT_SOCKADDR_STRLEN];

	/* One attempt per endpoint at a time. */
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		if (t->attempts[i].used && t->attempts[i].initiator && !t->attempts[i].via &&
		    nt_sockaddr_equal(&t->attempts[i].endpoint, ep))
			return false;
	a = initiator_attempt_new(t, p, open, now);
	if (!a)
		return false;
	a->endpoint = *ep;
	a->peer = p;
	if (p)
		p->handshake = a;
	log_debug(NT_DBG_HANDSHAKE, "handshake initiation to %s%s%s%s",
		  nt_sockaddr_format(ep, buf, sizeof(buf)), p ? " for peer " : "", p ? p->id_short : "",
		  punch ? " (hole punch)" : "");
	if (send_init(t, a, now, punch) < 0) {
		attempt_free(t, a);
		return false;
	}
	return true;
}

void nt_tunnel_initiate_via(struct nt_tunnel *t, struct nt_peer *via, const uint8_t id[32], uint64_t now)
{
	struct nt_peer *p = nt_peer_lookup(&t->dp->peers, id);
	struct nt_attempt *a;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		if (t->attempts[i].used && t->attempts[i].initiator && t->attempts[i].via &&
		    !memcmp(t->attempts[i].via_target, id, 32))
			return;
	a = initiator_attempt_new(t, p, false, now);
	if (!a)
		return;
	memset(&a->endpoint, 0, sizeof(a->endpoint));
	a->via = via;
	memcpy(a->via_target, id, 32);
	a->peer = p;
	if (p && !p->handshake)
		p->handshake = a;
	log_debug(NT_DBG_NAT, "handshake initiation through relay %s", via->id_short);
	if (send_init(t, a, now, false) < 0)
		attempt_free(t, a);
}

void nt_tunnel_want_handshake(struct nt_tunnel *t, struct nt_peer *p, uint64_t now)
{
	if (p->dead || p->handshake || (!p->has_endpoint && !p->via) || now < p->handshake_due_ms)
		return;
	p->handshake_due_ms = now + nt_tunnel_jitter(NT_REKEY_TIMEOUT_MS);
	if (p->via)
		nt_tunnel_initiate_via(t, p->via, p->id, now);
	else
		nt_tunnel_initiate(t, &p->endpoint, p, now, false, false);
}

void nt_tunnel_on_unknown_index(struct nt_tunnel *t, const union nt_sockaddr *from, uint64_t now)
{
	/*
	 * A member we have a session with uses keys we no longer hold (crossed handshakes, or
	 * our restart): a new handshake puts both sides on the same keys again, at most once per
	 * rekey timeout. From anywhere else a data frame proves nothing (anyone can send one)
	 * and gets nothing: no hint, no handshake, not a byte back. A member that restarted
	 * calls us itself (remembered members, discovery). A member still heard on our keys
	 * needs nothing either: such a frame is a straggler, or a stranger spoofing its address.
	 */
	struct nt_peer *p = nt_tunnel_member_at(t, from);

	if (p && now - p->session.last_received_ms >= NT_REKEY_TIMEOUT_MS)
		nt_tunnel_want_handshake(t, p, now);
}

/* Whether initiator attempt x is aimed at peer p (by peer, endpoint, or what a hint knows). */
static bool attempt_targets(struct nt_tunnel *t, const struct nt_attempt *x, const struct nt_peer *p)
{
	const struct nt_hint *h;

	if (x->peer == p || (p->has_endpoint && nt_sockaddr_equal(&x->endpoint, &p->endpoint)))
		return true;
	h = nt_tunnel_hint_find(t, &x->endpoint);
	if (!h)
		return false;
	if (h->id_known)
		return memcmp(h->id, p->id, 32) == 0;
	return h->id_prefix[0] && !strncmp(h->id_prefix, p->id_short, NT_NODE_ID_SHORT_LEN);
}

/*
 * A session with p just came up: other initiations toward p (its other addresses, or a
 * crossing one) would only replace these keys again, so they stop here.
 */
static void cancel_other_attempts(struct nt_tunnel *t, const struct nt_attempt *done, struct nt_peer *p)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *x = &t->attempts[i];

		if (x != done && x->used && x->initiator && x->hs.state == NT_HS_STATE_INIT_SENT &&
		    attempt_targets(t, x, p))
			attempt_free(t, x);
	}
}

/* Refused for want of room: said once a minute at most (a member can cause it at will). */
static void no_room(struct nt_tunnel *t, const struct nt_attempt *a, uint64_t now)
{
	char buf[NT_SOCKADDR_STRLEN];

	if (t->room_warned_ms && now - t->room_warned_ms < 60000)
		return;
	t->room_warned_ms = now;
	log_warnx("no room for a new member at %s (%u members; %u at most from one address)",
		  nt_sockaddr_format(&a->endpoint, buf, sizeof(buf)), t->dp->peers.count,
		  NT_PEERS_PER_SOURCE);
}

/*
 * The handshake of attempt a produced keys: install them in the peer's session. via: the
 * relay its last message came through (NULL: straight from `from`).
 */
static void complete(struct nt_tunnel *t, struct nt_attempt *a, const union nt_sockaddr *from,
		     struct nt_peer *via, uint64_t now)
{
	struct nt_handshake_result res;
	struct nt_keypair *kp = NULL;
	struct nt_peer *p;
	bool was_connected;
	char buf[NT_SOCKADDR_STRLEN];

	if (nt_handshake_finish(&a->hs, &res) < 0) {
		t->handshakes_failed++;
		attempt_free(t, a);
		return;
	}
	p = nt_tunnel_member_get(t, res.peer_id, via || a->via ? NULL : &a->endpoint,
				 (struct nt_peer *const[2]){ via, a->via });
	if (!p) {
		no_room(t, a, now);
		goto out_fail;
	}
	/* A responder accepts a member's handshakes in the order it made them, never older. */
	if (!res.initiator) {
		static const uint8_t zero[NT_HS_TAI64N_LEN];

		if (memcmp(p->last_timestamp, zero, sizeof(zero)) != 0 &&
		    nt_handshake_tai64n_compare(res.tai64n, p->last_timestamp) <= 0) {
			log_ratelimited(&t->rl_hs, NT_DBG_HANDSHAKE, "peer %s: replayed or stale handshake dropped",
					p->id_short);
			nt_dataplane_drop(t->dp, NT_DROP_HANDSHAKE);
			goto out_fail;
		}
		memcpy(p->last_timestamp, res.tai64n, sizeof(res.tai64n));
	}
	if (nt_session_keypair_new(&kp, res.send_key, res.recv_key, res.local_index, res.remote_index,
				   res.initiator, now) < 0)
		goto out_fail;
	kp->owner = p;
	nt_index_rebind(&t->dp->index, a->local_index, NT_INDEX_KEYPAIR, kp);
	a->local_index = 0; /* the index belongs to the keypair now */
	was_connected = nt_dataplane_peer_is_alive(p, now);
	nt_session_keypair_install(&p->session, kp);
	/* The member may send on it at once: its worker must know it before those frames come. */
	nt_dataplane_publish(t->dp);
	/*
	 * The handshake is a round trip to a->endpoint: where we sent INIT (initiator) or RESP
	 * (responder to the INIT's source), so the member receives there, whatever address its
	 * last message says it came from: that one is only challenged. Through a relay, the
	 * relay is the path; a relayed handshake whose last message came straight from
	 * somewhere proves nothing of that address either.
	 */
	if (via || a->via) {
		nt_tunnel_path_seen(t, p, from, via, false);
	} else {
		nt_tunnel_path_seen(t, p, &a->endpoint, NULL, true);
		if (!nt_sockaddr_equal(from, &a->endpoint))
			nt_tunnel_path_seen(t, p, from, NULL, false);
	}
	p->handshakes++;
	p->last_handshake_wall_ms = nt_wall_ms();
	p->handshake_due_ms = 0;
	t->handshakes_ok++;
	/*
	 * A session begun before we knew who was there lands on any worker: a new one, on the
	 * member's own, moves it at once (a rekey like any other, nothing is lost).
	 */
	if (t->dp->n_workers > 1 && (kp->local_index & 0xff) % t->dp->n_workers != p->lane) {
		log_debug(NT_DBG_HANDSHAKE, "peer %s: new session to move it to worker %u", p->id_short, p->lane);
		nt_tunnel_want_handshake(t, p, now);
	}
	if (!was_connected) {
		/*
		 * Introduce the newcomer: every member we have a session with hears of it now
		 * (and it of them), so members behind NATs start punching toward each other at
		 * the same moment.
		 */
		for (unsigned int i = 0; i < t->dp->peers.count; i++)
			if (t->dp->peers.peers[i] != p)
				t->dp->peers.peers[i]->announce_due_ms = now;
		nt_tunnel_session_forget(p);
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
	cancel_other_attempts(t, a, p);
	/* Whoever answered there is this member: its other endpoints need no handshake now. */
	if (!via && !a->via) {
		nt_tunnel_hints_name(t, from, p->id);
		if (res.initiator)
			nt_tunnel_hints_name(t, &a->endpoint, p->id);
	}
	if (res.initiator) {
		/*
		 * Our first frame on the new keys confirms them to the responder, which cannot
		 * send on them before: an ANNOUNCE if ours changed, the staged packets, or else
		 * a keepalive.
		 */
		if (!nt_tunnel_announce_to(t, p, now) && !p->staged_count)
			nt_tunnel_send_keepalive(t, p);
		nt_dataplane_flush_staged(t->dp, p);
	} else {
		p->announce_due_ms = now;
	}
	sodium_memzero(&res, sizeof(res));
	attempt_free(t, a);
	return;

out_fail:
	sodium_memzero(&res, sizeof(res));
	t->handshakes_failed++;
	attempt_free(t, a);
}

/* A handshake reply to a message that came from `from`, or through the relay it came by. */
static int reply(struct nt_tunnel *t, const uint8_t *msg, size_t len, const union nt_sockaddr *from,
		 struct nt_peer *via, const uint8_t *via_id)
{
	if (via)
		return nt_dataplane_relay_send(t->dp, via, via_id, msg, len);
	return nt_dataplane_send_raw(t->dp, msg, len, from, 0);
}

static void send_cookie_reply(struct nt_tunnel *t, const uint8_t *msg, size_t len,
			      const union nt_sockaddr *from, struct nt_peer *via, const uint8_t *via_id,
			      uint64_t now)
{
	uint8_t out[NT_HS_COOKIE_REPLY_LEN];

	if (nt_handshake_create_cookie_reply(&t->hs_local, msg, len, from, now, out) == 0)
		reply(t, out, sizeof(out), from, via, via_id);
}

/*
 * An INIT with a valid mac1 (a member, or a replay of one). Under load only a source that
 * proved with a cookie that it receives there is served, and only then is it charged to its
 * address's bucket (WireGuard's rule: a spoofed source can drain no member's bucket). The
 * INIT is checked in a spare handshake first: only a verified one takes an attempt slot, so
 * nothing that fails can evict a member's handshake in flight.
 */
static void on_init(struct nt_tunnel *t, const uint8_t *msg, size_t len, const union nt_sockaddr *from,
		    struct nt_peer *via, const uint8_t *via_id, uint64_t now)
{
	uint8_t out[NT_HS_RESP_LEN];
	bool under_load = nt_ratelimit_table_is_under_load(&t->ratelimit, now);
	struct nt_handshake verified;
	enum nt_hs_verdict v;
	struct nt_attempt *a;
	char buf[NT_SOCKADDR_STRLEN];

	if (under_load) {
		if (!nt_handshake_has_cookie(&t->hs_local, msg, len, from, now)) {
			send_cookie_reply(t, msg, len, from, via, via_id, now);
			return;
		}
		if (!nt_ratelimit_table_allow(&t->ratelimit, from, now)) {
			nt_dataplane_drop(t->dp, NT_DROP_RATELIMIT);
			return;
		}
	}
	if (!t->init_hs_ready) {
		if (nt_handshake_init(&t->init_hs) < 0)
			return;
		t->init_hs_ready = true;
	}
	v = nt_handshake_consume_init(&t->init_hs, &t->hs_local, msg, len, from, under_load, now,
				      nt_wall_ms());
	if (v == NT_HS_DROP_MAC2_NEEDED) {
		send_cookie_reply(t, msg, len, from, via, via_id, now);
		return;
	}
	if (v != NT_HS_OK) {
		log_ratelimited(&t->rl_hs, NT_DBG_HANDSHAKE, "initiation from %s dropped: %s",
				nt_sockaddr_format(from, buf, sizeof(buf)), nt_handshake_verdict_str(v));
		nt_dataplane_drop(t->dp, NT_DROP_HANDSHAKE);
		return;
	}
	a = attempt_alloc(t, false, false, now);
	if (!a) {
		nt_handshake_clear(&t->init_hs);
		return;
	}
	/* The slot takes the verified handshake; the spare keeps the slot's wiped one. */
	verified = t->init_hs;
	t->init_hs = a->hs;
	a->hs = verified;
	if (via) {
		a->via = via;
		memcpy(a->via_target, via_id, 32);
	}
	if (nt_index_add(&t->dp->index, NT_INDEX_HANDSHAKE, a, t->dp->n_workers,
			 nt_dataplane_lane_for(t->dp, nt_tunnel_member_at(t, from)), &a->local_index) < 0 ||
	    nt_handshake_create_resp(&a->hs, &t->hs_local, a->local_index, now, out) < 0) {
		attempt_free(t, a);
		return;
	}
	a->endpoint = *from;
	a->last_sent_ms = now;
	a->last_sent_us = nt_now_us();
	nt_dataplane_expect_fin(t->dp, (unsigned int)(a - t->attempts), a->local_index);
	hs_send(t, a, out, NT_HS_RESP_LEN, from, 0);
}

bool nt_tunnel_on_handshake(void *ctx, uint8_t *msg, size_t len, const union nt_sockaddr *from,
			    struct nt_peer *via, const uint8_t *via_id, uint64_t now)
{
	struct nt_tunnel *t = ctx;
	uint8_t fin[NT_HS_FIN_LEN];
	enum nt_hs_verdict v;
	struct nt_attempt *a;
	uint32_t receiver;
	uint8_t type;
	char buf[NT_SOCKADDR_STRLEN];

	if (!nt_handshake_peek(msg, len, &type, &receiver)) {
		nt_dataplane_drop(t->dp, NT_DROP_TRUNCATED);
		return true;
	}
	/*
	 * mac1 first: a message from outside the network costs one hash, gets no answer, and
	 * counts toward nothing a member's handshake depends on (load, a source's bucket).
	 */
	v = nt_handshake_check_envelope(&t->hs_local, msg, len);
	if (v != NT_HS_OK) {
		nt_dataplane_drop(t->dp, NT_DROP_HANDSHAKE);
		return true;
	}
	nt_ratelimit_table_count_load(&t->ratelimit, now);
	if (type == NT_HS_MSG_INIT) {
		on_init(t, msg, len, from, via, via_id, now);
		return true;
	}
	a = nt_index_lookup(&t->dp->index, receiver, NT_INDEX_HANDSHAKE);
	if (!a) {
		nt_dataplane_drop(t->dp, NT_DROP_UNKNOWN_INDEX);
		return true;
	}
	switch (type) {
	case NT_HS_MSG_RESP:
		if (!a->initiator)
			break;
		v = nt_handshake_consume_resp(&a->hs, &t->hs_local, msg, len, from, now);
		if (v == NT_HS_DROP_SELF) {
			/* A configured or discovered endpoint that is this very node. */
			nt_tunnel_hint_add(t, NT_HINT_PEX, &a->endpoint, t->host.id->ed_pk, 0, now);
			attempt_free(t, a);
			return true;
		}
		if (v != NT_HS_OK)
			goto drop;
		if (nt_handshake_create_fin(&a->hs, &t->hs_local, now, fin) < 0)
			goto drop;
		hs_send(t, a, fin, sizeof(fin), from, 0);
		complete(t, a, from, via, now);
		return true;
	case NT_HS_MSG_FIN:
		if (a->initiator)
			break;
		v = nt_handshake_consume_fin(&a->hs, &t->hs_local, msg, len, from, now);
		if (v != NT_HS_OK)
			goto drop;
		complete(t, a, from, via, now);
		return true;
	case NT_HS_MSG_COOKIE_REPLY:
		if (!a->initiator)
			break;
		v = nt_handshake_consume_cookie_reply(&a->hs, &t->hs_local, msg, len, now);
		if (v != NT_HS_OK)
			goto drop;
		/* Under load at the other end: try again at once, now with mac2. */
		send_init(t, a, now, false);
		return true;
	}
	nt_dataplane_drop(t->dp, NT_DROP_HANDSHAKE);
	return true;
drop:
	log_ratelimited(&t->rl_hs, NT_DBG_HANDSHAKE, "handshake message from %s dropped: %s",
			nt_sockaddr_format(from, buf, sizeof(buf)), nt_handshake_verdict_str(v));
	nt_dataplane_drop(t->dp, NT_DROP_HANDSHAKE);
	t->handshakes_failed++;
	return true;
}

void nt_tunnel_handshakes_tick(struct nt_tunnel *t, uint64_t now)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		struct nt_attempt *a = &t->attempts[i];

		if (a->used && now - a->last_sent_ms >= NT_HS_ATTEMPT_TIMEOUT_MS &&
		    now - a->started_ms >= NT_HS_ATTEMPT_TIMEOUT_MS) {
			attempt_free(t, a);
			continue;
		}
		/* The punch opened our mapping; now the INIT itself, at full TTL. */
		if (a->used && a->resend_ms && now >= a->resend_ms && !a->via &&
		    a->hs.state == NT_HS_STATE_INIT_SENT) {
			a->resend_ms = 0;
			nt_dataplane_send_raw(t->dp, a->init_msg, sizeof(a->init_msg), &a->endpoint, 0);
		}
	}
}

void nt_tunnel_handshakes_on_gone(void *ctx, struct nt_peer *p)
{
	struct nt_tunnel *t = ctx;

	for (unsigned int k = 0; k < NT_MAX_ATTEMPTS; k++) {
		struct nt_attempt *a = &t->attempts[k];

		if (a->used && a->via == p)
			attempt_free(t, a);
		else if (a->used && a->peer == p)
			a->peer = NULL;
	}
}

void nt_tunnel_handshakes_clear(struct nt_tunnel *t)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		if (t->attempts[i].used)
			attempt_free(t, &t->attempts[i]);
		if (t->attempts[i].hs_ready)
			nt_handshake_uninit(&t->attempts[i].hs);
		t->attempts[i].hs_ready = false;
	}
	if (t->init_hs_ready)
		nt_handshake_uninit(&t->init_hs);
	t->init_hs_ready = false;
}
