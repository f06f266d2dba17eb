// SPDX-License-Identifier: MIT
/*
 * Path validation (path.h): challenges, responses, and moving a member's endpoint.
 */
#include "tunnel/path.h"

#include <string.h>

#include "core/log.h"
#include "proto/control.h"

#ifndef NT_PATH_CHALLENGE_EVERY_MS
#define NT_PATH_CHALLENGE_EVERY_MS 1000 /* one challenge of one address per member at most */
#endif
#ifndef NT_PATH_RESPONSES_PER_S
#define NT_PATH_RESPONSES_PER_S 10 /* our answers to one member's challenges (burst: 1 s) */
#endif

enum { PLAIN_OFF = NT_DATA_HEADER_LEN };

bool nt_tunnel_path_is_proven(const struct nt_peer *p)
{
	return p->via || (p->has_endpoint && p->ep_proven);
}

/* Sends a PATH_CHALLENGE or PATH_RESPONSE on p's session to `to` (NULL: its relay path). */
static void send_path(struct nt_tunnel *t, struct nt_peer *p, uint8_t type, const uint8_t *nonce,
		      const union nt_sockaddr *to)
{
	uint8_t *buf = t->dp->scratch;

	buf[PLAIN_OFF] = type;
	nt_control_path_encode(buf + PLAIN_OFF + 1, nonce);
	if (nt_dataplane_send_plain(t->dp, p, buf, 1 + NT_CTRL_PATH_LEN, to) < 0)
		nt_dataplane_drop(t->dp, NT_DROP_UDP_SEND);
}

/* Asks whether p receives at `at` (once a second per address at most). */
static void challenge(struct nt_tunnel *t, struct nt_peer *p, const union nt_sockaddr *at, uint64_t now)
{
	if (p->probe_sent_ms && nt_sockaddr_equal(&p->probe_ep, at) &&
	    now - p->probe_sent_ms < NT_PATH_CHALLENGE_EVERY_MS)
		return;
	p->probe_ep = *at;
	p->probe_sent_ms = now;
	randombytes_buf(p->probe_nonce, sizeof(p->probe_nonce));
	send_path(t, p, NT_CTRL_PATH_CHALLENGE, p->probe_nonce, at);
}

/* p answered us at `at`: that is where we send from now on. */
static void move_to(struct nt_tunnel *t, struct nt_peer *p, const union nt_sockaddr *at)
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
	nt_dataplane_changed(t->dp);
}

void nt_tunnel_path_seen(struct nt_tunnel *t, struct nt_peer *p, const union nt_sockaddr *from,
			 struct nt_peer *via, bool proven)
{
	uint64_t now = nt_now_ms();

	if (via) {
		/*
		 * Through a relay. A straggler on a path we have left must not undo a direct
		 * path that works: only a member silent on the direct path moves to the relay.
		 */
		if (p->via == via || now - p->last_direct_rx_ms < 30000)
			return;
		log_info("peer %s: relayed through %s", p->id_short, via->id_short);
		p->via = via;
		p->path = NT_PATH_RELAYED;
		nt_dataplane_changed(t->dp);
		return;
	}
	p->last_direct_rx_ms = now;
	if (!p->via && p->has_endpoint && nt_sockaddr_equal(&p->endpoint, from)) {
		if (proven && !p->ep_proven)
			move_to(t, p, from);
		return;
	}
	if (proven) {
		move_to(t, p, from);
		return;
	}
	/*
	 * An authentic frame from a new address: the member roamed, or it sent with a spoofed
	 * source. Nothing moves, and nothing but the challenge goes there, until the address
	 * answers it.
	 */
	challenge(t, p, from, now);
}

/* PATH_CHALLENGE: answered to where it came from, at the rate a member may ask. */
static void on_challenge(struct nt_tunnel *t, struct nt_peer *p, const uint8_t nonce[8],
			 const union nt_sockaddr *from, struct nt_peer *via, uint64_t now)
{
	p->path_replies_ms += (now - p->path_refill_ms) * NT_PATH_RESPONSES_PER_S;
	if (p->path_replies_ms > (uint64_t)NT_PATH_RESPONSES_PER_S * 1000)
		p->path_replies_ms = (uint64_t)NT_PATH_RESPONSES_PER_S * 1000;
	p->path_refill_ms = now;
	if (p->path_replies_ms < 1000)
		return;
	p->path_replies_ms -= 1000;
	send_path(t, p, NT_CTRL_PATH_RESPONSE, nonce, via ? NULL : from);
}

/* PATH_RESPONSE: the address we asked answered (from there, with our nonce): move to it. */
static void on_response(struct nt_tunnel *t, struct nt_peer *p, const uint8_t nonce[8],
			const union nt_sockaddr *from, struct nt_peer *via)
{
	if (via || !p->probe_sent_ms || !nt_sockaddr_equal(&p->probe_ep, from) ||
	    sodium_memcmp(p->probe_nonce, nonce, sizeof(p->probe_nonce)) != 0)
		return;
	move_to(t, p, from);
}

void nt_tunnel_path_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
			       size_t len, const union nt_sockaddr *from, struct nt_peer *via,
			       uint64_t now)
{
	struct nt_tunnel *t = ctx;
	uint8_t nonce[NT_CTRL_PATH_NONCE];

	if (!nt_control_path_decode(body, len, nonce)) {
		nt_dataplane_drop(t->dp, NT_DROP_CONTROL);
		return;
	}
	if (type == NT_CTRL_PATH_CHALLENGE)
		on_challenge(t, p, nonce, from, via, now);
	else
		on_response(t, p, nonce, from, via);
}
