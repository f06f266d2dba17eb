// SPDX-License-Identifier: MIT
/*
 * ANNOUNCE, PEX and keepalives (announce.h); the wire format is proto/control.h's.
 */
#include "tunnel/announce.h"

#include <stdio.h>
#include <string.h>

#include "proto/control.h"
#include "tunnel/hints.h"
#include "tunnel/path.h"

enum { PLAIN_OFF = NT_DATA_HEADER_LEN };

/* A checksum of what we last told a member (not a defence: the member sees it all anyway). */
static uint64_t fnv1a64(const uint8_t *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ *p++) * UINT64_C(0x100000001b3);
	return h;
}

/*
 * Sends a control message unless it says what the last one of its kind in this session said
 * (*sum remembers a checksum of that): a member hears our port, name, keep flag and the
 * members we vouch for when they change, not every interval.
 */
static bool send_control(struct nt_tunnel *t, struct nt_peer *p, uint8_t type, uint64_t *sum,
			 int (*encode)(struct nt_tunnel *, struct nt_peer *, uint8_t *, size_t))
{
	uint8_t *buf = t->dp->scratch;
	uint64_t h;
	int n;

	if (!nt_tunnel_path_is_proven(p))
		return false;
	buf[PLAIN_OFF] = type;
	n = encode(t, p, buf + PLAIN_OFF + 1, t->dp->buf_size - PLAIN_OFF - 1 - NT_DATA_TAG_LEN);
	if (n < 0)
		return false;
	h = fnv1a64(buf + PLAIN_OFF, (size_t)n + 1) | 1; /* never 0: 0 is "nothing sent" */
	if (h == *sum)
		return false;
	*sum = h;
	return nt_dataplane_send_plain(t->dp, p, buf, (size_t)n + 1, NULL) == 0;
}

static int encode_announce(struct nt_tunnel *t, struct nt_peer *p, uint8_t *out, size_t cap)
{
	struct nt_announce a = { .listen_port = t->dp->udp.port };

	a.keep = p->neighbor;
	p->told_keep = p->neighbor;
	if (t->host.addresses)
		a.n_addresses = t->host.addresses(t->host.ctx, a.addresses, NT_MAX_ADDRESSES);
	snprintf(a.name, sizeof(a.name), "%s", t->host.hostname);
	return nt_control_announce_encode(&a, out, cap);
}

static int encode_pex(struct nt_tunnel *t, struct nt_peer *to, uint8_t *out, size_t cap)
{
	const struct nt_peer_table *peers = &t->dp->peers;
	struct nt_pex pex = { .count = 0 };
	uint64_t now = nt_now_ms();

	for (unsigned int i = 0; i < peers->count && pex.count < NT_PEX_MAX; i++) {
		struct nt_peer *p = peers->peers[i];

		/*
		 * Only addresses that answered us (a PEX makes others knock there), and only the
		 * sessions we keep: a session opened for traffic comes and goes, and would make
		 * every PEX differ from the last.
		 */
		if (p == to || p->dead || !p->has_endpoint || !p->ep_proven || p->via ||
		    !(p->neighbor || p->keeps_us) || !nt_dataplane_peer_is_alive(p, now))
			continue;
		memcpy(pex.entries[pex.count].id, p->id, 32);
		pex.entries[pex.count].endpoint = p->endpoint;
		pex.count++;
	}
	return nt_control_pex_encode(&pex, out, cap);
}

bool nt_tunnel_announce_to(struct nt_tunnel *t, struct nt_peer *p, uint64_t now)
{
	bool sent;

	if (!nt_tunnel_path_is_proven(p)) {
		p->announce_due_ms = now + 1000; /* once its address has answered */
		return false;
	}
	sent = send_control(t, p, NT_CTRL_ANNOUNCE, &p->announce_sum, encode_announce);
	sent |= send_control(t, p, NT_CTRL_PEX, &p->pex_sum, encode_pex);
	p->announce_due_ms = now + nt_tunnel_jitter(NT_ANNOUNCE_INTERVAL_MS);
	return sent;
}

void nt_tunnel_session_forget(struct nt_peer *p)
{
	p->keeps_us = false;
	p->told_keep = false;
	p->announce_sum = 0;
	p->pex_sum = 0;
}

void nt_tunnel_send_keepalive(struct nt_tunnel *t, struct nt_peer *p)
{
	if (!nt_tunnel_path_is_proven(p))
		return;
	t->dp->scratch[PLAIN_OFF] = NT_DATA_INNER_KEEPALIVE;
	nt_dataplane_send_plain(t->dp, p, t->dp->scratch, 1, NULL);
}

/*
 * A PEX: each member it names that we have no session with becomes a hint. A member may
 * have us try as many endpoints as one PEX names, no more, and each for what its share of
 * the PEX paid (4 times, as any answer).
 */
static void on_pex(struct nt_tunnel *t, struct nt_peer *p, const struct nt_pex *pex, size_t len,
		   uint64_t now)
{
	uint32_t budget = pex->count ? (uint32_t)(4 * (len + 1 + NT_DATA_OVERHEAD) / pex->count) : 0;
	unsigned int told = nt_tunnel_hints_told_by(t, p);

	for (unsigned int i = 0; i < pex->count; i++) {
		const struct nt_pex_entry *x = &pex->entries[i];
		struct nt_peer *known = nt_peer_lookup(&t->dp->peers, x->id);
		struct nt_hint *h;

		if (!memcmp(x->id, t->host.id->ed_pk, 32))
			continue;
		if (known && nt_dataplane_peer_is_alive(known, now))
			continue;
		h = nt_tunnel_hint_find(t, &x->endpoint);
		if (!h && told >= NT_PEX_MAX)
			continue;
		h = nt_tunnel_hint_add(t, NT_HINT_PEX, &x->endpoint, x->id, budget, now);
		if (h && h->told_by != p) {
			h->told_by = p;
			told++;
		}
	}
}

void nt_tunnel_announce_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
				   size_t len, const union nt_sockaddr *from, struct nt_peer *via,
				   uint64_t now)
{
	struct nt_tunnel *t = ctx;
	struct nt_announce an;
	struct nt_pex pex;

	(void)from;
	(void)via;
	if (type == NT_CTRL_ANNOUNCE && nt_control_announce_decode(&an, body, len)) {
		/*
		 * ANNOUNCE tells a member's port and name. Which addresses it owns is the
		 * ledger's to say: a claim is signed and its conflicts settled alike everywhere.
		 */
		p->listen_port = an.listen_port;
		snprintf(p->name, sizeof(p->name), "%s", an.name);
		/* It keeps our session open: so do we, until it says otherwise or the session ends. */
		p->keeps_us = an.keep;
		return;
	}
	if (type == NT_CTRL_PEX && nt_control_pex_decode(&pex, body, len)) {
		on_pex(t, p, &pex, len, now);
		return;
	}
	nt_dataplane_drop(t->dp, NT_DROP_CONTROL);
}
