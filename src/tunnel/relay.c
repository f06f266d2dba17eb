// SPDX-License-Identifier: MIT
/*
 * Relays (relay.h): a fixed table of member pairs, a token bucket per member.
 */
#include "tunnel/relay.h"

#include <string.h>

#include "core/log.h"
#include "proto/control.h"
#include "tunnel/handshakes.h"

enum { PLAIN_OFF = NT_ENGINE_PLAIN_OFF };

/* A relay pair slot for src -> dst: found, free, or the longest idle past a minute. */
static struct nt_relay_pair *pair_for(struct nt_tunnel *t, struct nt_peer *src, struct nt_peer *dst,
				      uint64_t now)
{
	struct nt_relay_pair *free_slot = NULL;

	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++) {
		struct nt_relay_pair *r = &t->relay_pairs[i];

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
static bool forward(struct nt_tunnel *t, struct nt_peer *src, const uint8_t *body, size_t len,
		    uint64_t now)
{
	struct nt_dataplane *dp = t->dp;
	const uint8_t *id, *frame;
	struct nt_relay_pair *pair;
	struct nt_peer *dst;
	size_t flen;

	if (!nt_control_relay_decode(body, len, &id, &frame, &flen))
		return false;
	if (!t->host.opts->relay) {
		log_ratelimited(&t->rl_relay, NT_DBG_NAT, "relay request from %s refused: --relay off",
				src->id_short);
		nt_dataplane_drop(dp, NT_DROP_RELAY_REFUSED);
		return true;
	}
	/* What we send on must fit the buffer it is built in (the receive path bounds it too). */
	if (PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR + flen + NT_DATA_TAG_LEN > dp->buf_size) {
		nt_dataplane_drop(dp, NT_DROP_OVERSIZED);
		return true;
	}
	dst = nt_peer_lookup(&dp->peers, id);
	if (!dst || dst == src || dst->via || !dst->ep_proven ||
	    !nt_session_keypair_for_send(&dst->session, now))
		return false;
	/* A token bucket per member, in frames: one second of NT_RELAY_PPS at most. */
	src->relay_tokens_ms += (now - src->relay_refill_ms) * NT_RELAY_PPS;
	if (src->relay_tokens_ms > (uint64_t)NT_RELAY_PPS * 1000)
		src->relay_tokens_ms = (uint64_t)NT_RELAY_PPS * 1000;
	src->relay_refill_ms = now;
	if (src->relay_tokens_ms < 1000 || !(pair = pair_for(t, src, dst, now))) {
		log_ratelimited(&t->rl_relay, NT_DBG_NAT, "relay for %s to %s refused: limit",
				src->id_short, dst->id_short);
		nt_dataplane_drop(dp, NT_DROP_RELAY_REFUSED);
		return true;
	}
	src->relay_tokens_ms -= 1000;
	pair->last_ms = now;
	dp->scratch[PLAIN_OFF] = NT_CTRL_RELAYED;
	nt_control_relay_header(dp->scratch + PLAIN_OFF + 1, src->id);
	memcpy(dp->scratch + PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR, frame, flen);
	if (nt_dataplane_send_plain(dp, dst, dp->scratch, 1 + NT_CTRL_RELAY_HDR + flen, NULL) == 0)
		t->relayed_frames++;
	return true;
}

/* A relay (member via) delivers a frame from another member: handled as if it came in. */
static bool deliver(struct nt_tunnel *t, struct nt_peer *via, const uint8_t *body, size_t len,
		    uint64_t now)
{
	const uint8_t *id, *frame;
	size_t flen;

	if (!nt_control_relay_decode(body, len, &id, &frame, &flen) ||
	    !memcmp(id, t->host.id->ed_pk, 32))
		return false;
	/* The frame lies in our receive buffer; decrypting it in place is allowed. */
	nt_dataplane_on_frame(t->dp, (uint8_t *)frame, flen, &via->endpoint, via, id, now);
	return true;
}

void nt_tunnel_relay_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
				size_t len, const union nt_sockaddr *from, struct nt_peer *via,
				uint64_t now)
{
	struct nt_tunnel *t = ctx;
	bool ok = false;

	(void)from;
	/* A frame that came through a relay is not relayed again. */
	if (!via && type == NT_CTRL_RELAY)
		ok = forward(t, p, body, len, now);
	else if (!via && type == NT_CTRL_RELAYED)
		ok = deliver(t, p, body, len, now);
	if (!ok)
		nt_dataplane_drop(t->dp, NT_DROP_CONTROL);
}

void nt_tunnel_relay_if_stuck(struct nt_tunnel *t, struct nt_hint *h, uint64_t now)
{
	struct nt_peer *p;

	if (!h->id_known || !h->told_by || now - h->created_ms < NT_RELAY_AFTER_MS ||
	    now < h->relay_next_ms)
		return;
	p = nt_peer_lookup(&t->dp->peers, h->id);
	if (p && nt_dataplane_peer_is_alive(p, now) && p->via)
		return; /* already relayed */
	if (!nt_session_keypair_for_send(&h->told_by->session, now) || h->told_by->via)
		return;
	h->relay_next_ms = now + 10000;
	nt_tunnel_initiate_via(t, h->told_by, h->id, now);
}

void nt_tunnel_relay_on_gone(void *ctx, struct nt_peer *p)
{
	struct nt_tunnel *t = ctx;

	for (unsigned int k = 0; k < NT_RELAY_PAIRS; k++)
		if (t->relay_pairs[k].src == p || t->relay_pairs[k].dst == p)
			memset(&t->relay_pairs[k], 0, sizeof(t->relay_pairs[k]));
}
