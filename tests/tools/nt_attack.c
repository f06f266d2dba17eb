// SPDX-License-Identifier: MIT
/*
 * nt_attack: the attacker's harness of issue 13, for the netns scenarios
 * (tests/netns/hostile_*.sh, outsider*.sh). It is built on the library's own modules, so
 * what it sends is exactly what a member would send, only chosen by an enemy:
 *   - a HOSTILE MEMBER holds the token, completes a real handshake with one node (Noise
 *     XXpsk3 with its own Ed25519 identity, src/proto/handshake.c), keeps the session alive
 *     (keepalives; the ledger gossip of src/ledger/gossip.c with a replica of its own) and sends
 *     crafted, correctly encrypted frames (attack_member.c);
 *   - an OUTSIDER has no token, or does not use it: random session indices, handshake junk,
 *     FIN-then-data pairs, DHT and STUN floods (attack_outsider.c).
 * This file owns the command line, the sockets (one UDP socket; a raw one for spoofed IPv4
 * sources) and the member's session. Everything read from the network is length-checked
 * before use. Each action prints one line "nt_attack: action=NAME key=value ..."; exit
 * status 2 means the harness could not attack (no result either way), 1 a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sodium.h>

#include "attack.h"
#include "ledger/claims.h"
#include "proto/control.h"
#include "netron/token.h"

enum {
	KEEPALIVE_MS = 10000, /* well inside the node's 25 s persistent keepalive */
	REJOIN_AFTER_MS = 100000, /* before the node's REKEY (120 s) and REJECT (180 s) times */
	HS_RETRY_MS = 1000,
	HS_TRIES = 10,
};

static const char usage[] =
	"usage: nt_attack --node IP:PORT [--bind IP:PORT] [--state-dir DIR] [--token T]\n"
	"                 ACTION [ARGS] [+ ACTION [ARGS]]...\n"
	"The token comes from --token or $NETRONTOKEN (member actions and init-replay).\n"
	"Member actions (a handshake first, then crafted encrypted frames):\n"
	"  join                                    become a member, report what the node said\n"
	"  hold SECONDS                            stay a member (keepalives, gossip)\n"
	"  oversize-relay [--size N] [--target ID] one N-byte datagram (30000): RELAY to member ID\n"
	"  fake-claims N [--first IP] [--endpoint IP:PORT]... [--ttl S]\n"
	"                                          N machines claims by N throw-away identities\n"
	"  backdate ADDR [--claimed-at 1|before] [--update 1]\n"
	"                                          our claim on ADDR with claimed_at 1, or 1 s\n"
	"                                          before the holder's (--update: as a new\n"
	"                                          version of a claim made now)\n"
	"  foreign-claim ADDR [--dst IP] [--count N] our claim on ADDR, then N ICMP echoes from it\n"
	"  spoof-digest --as IP:PORT [--count N] [--interval MS] [--fill N]\n"
	"                                          gossip DIGESTs with a spoofed UDP source\n"
	"  init-replay [--count N] [--rate PPS] [--from IP] [--sources N]\n"
	"                                          an INIT, N others to cycle the replay cache, the\n"
	"                                          first again: are there answers?\n"
	"  want-edge [--fill-to N]                 12 entries of ours, then a WANT whose ENTRIES\n"
	"                                          answer fills to N bytes after two of them\n"
	"  claim-many N [--first IP]               N free addresses claimed as ourselves\n"
	"  bad-sigs [--rate MSGS] [--duration S] [--type T]\n"
	"                                          PUSHes of entries with wrong signatures\n"
	"  spoof-fin --as IP:PORT [--count N] [--relay 1] [--digests N] [--hold S]\n"
	"                                          N throw-away identities whose FIN comes from\n"
	"                                          IP:PORT+i (--relay: INIT, RESP via our session)\n"
	"  pex --endpoint IP:PORT [--count N] [--hold S]\n"
	"                                          one PEX naming N endpoints from IP:PORT on\n"
	"  mint-peers N [--rate PER_S] [--hold S]  N throw-away identities keep sessions\n"
	"Outsider actions (no session):\n"
	"  random-index [--sources N] [--from IP] [--count N] [--linger S]\n"
	"  hs-junk [--as IP:PORT] [--rate PPS] [--duration S]\n"
	"  fin-data [--rate PAIRS] [--duration S]\n"
	"  fin-replay [--rate PAIRS] [--duration S] (a real FIN, long over: needs the token)\n"
	"  dht-flood [--count N] [--rate QPS] [--announces N] [--neighbours N] [--from IP]\n"
	"  stun-flood [--count N] [--rate PPS]\n";

void attack_report(const char *action, const char *fmt, ...)
{
	va_list ap;

	printf("nt_attack: action=%s ", action);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void attack_error(const char *fmt, ...)
{
	va_list ap;

	fputs("nt_attack: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool is_opt(const char *w)
{
	return w[0] == '-' && w[1] == '-';
}

const char *attack_opt(const struct attack_args *a, const char *name)
{
	const char *v = NULL;

	for (int i = 0; i < a->argc; i++) {
		if (!is_opt(a->argv[i]))
			continue;
		if (!strcmp(a->argv[i] + 2, name) && i + 1 < a->argc)
			v = a->argv[i + 1];
		i++;
	}
	return v;
}

unsigned int attack_opt_all(const struct attack_args *a, const char *name, const char **out,
			    unsigned int max)
{
	unsigned int n = 0;

	for (int i = 0; i < a->argc; i++) {
		if (!is_opt(a->argv[i]))
			continue;
		if (!strcmp(a->argv[i] + 2, name) && i + 1 < a->argc && n < max)
			out[n++] = a->argv[i + 1];
		i++;
	}
	return n;
}

const char *attack_pos(const struct attack_args *a, unsigned int i)
{
	for (int k = 0; k < a->argc; k++) {
		if (is_opt(a->argv[k])) {
			k++;
			continue;
		}
		if (i-- == 0)
			return a->argv[k];
	}
	return NULL;
}

bool attack_args_check(const struct attack_args *a, const char *action, const char *const *known)
{
	for (int i = 0; i < a->argc; i++) {
		bool ok = false;

		if (!is_opt(a->argv[i]))
			continue;
		for (const char *const *k = known; *k && !ok; k++)
			ok = !strcmp(a->argv[i] + 2, *k);
		if (!ok || i + 1 >= a->argc) {
			attack_error("%s: %s %s", action, a->argv[i],
				     ok ? "needs a value" : "is not an option of this action");
			return false;
		}
		i++;
	}
	return true;
}

bool attack_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool attack_opt_u64(const struct attack_args *a, const char *name, uint64_t def, uint64_t *out)
{
	const char *v = attack_opt(a, name);

	*out = def;
	if (!v)
		return true;
	if (!attack_parse_u64(v, out)) {
		attack_error("--%s %s: not a number", name, v);
		return false;
	}
	return true;
}

bool attack_parse_v4(const char *what, const char *s, union nt_sockaddr *out)
{
	if (!s || !nt_sockaddr_parse(s, out) || out->sa.sa_family != AF_INET) {
		attack_error("%s %s: want IPv4:PORT", what, s ? s : "(missing)");
		return false;
	}
	return true;
}

union nt_sockaddr attack_v4_add(const union nt_sockaddr *base, uint32_t i)
{
	union nt_sockaddr a = *base;

	a.in4.sin_addr.s_addr = htonl(ntohl(base->in4.sin_addr.s_addr) + i);
	return a;
}

int attack_send(struct harness *h, const uint8_t *buf, size_t len, const union nt_sockaddr *to)
{
	for (int tries = 0; tries < 100; tries++) {
		if (sendto(h->fd, buf, len, 0, &to->sa, nt_sockaddr_len(to)) == (ssize_t)len)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -errno;
		usleep(1000); /* the socket's queue is full: let it drain */
	}
	return -ENOBUFS;
}

/* The Internet checksum (RFC 1071) of a buffer, folded into an accumulator. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int attack_send_as(struct harness *h, const union nt_sockaddr *src, const union nt_sockaddr *to,
		   const uint8_t *payload, size_t len)
{
	uint8_t pkt[1500];
	size_t tot = 28 + len;
	uint32_t sum;
	uint16_t c;

	if (src->sa.sa_family != AF_INET || to->sa.sa_family != AF_INET)
		return -EAFNOSUPPORT;
	if (tot > sizeof(pkt))
		return -EMSGSIZE; /* spoofed datagrams are sent unfragmented */
	if (h->raw < 0) {
		/* IPPROTO_RAW implies IP_HDRINCL: we write the IP header, source included. */
		h->raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
		if (h->raw < 0)
			return -errno;
	}
	memset(pkt, 0, 28);
	pkt[0] = 0x45; /* IPv4, 20-byte header */
	nt_put_be16(pkt + 2, (uint16_t)tot);
	nt_put_be16(pkt + 4, (uint16_t)randombytes_uniform(65536));
	pkt[8] = 64; /* TTL */
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &src->in4.sin_addr, 4);
	memcpy(pkt + 16, &to->in4.sin_addr, 4);
	nt_put_be16(pkt + 10, csum_fold(csum_add(0, pkt, 20)));
	memcpy(pkt + 20, &src->in4.sin_port, 2);
	memcpy(pkt + 22, &to->in4.sin_port, 2);
	nt_put_be16(pkt + 24, (uint16_t)(8 + len));
	memcpy(pkt + 28, payload, len);
	/* UDP checksum over the pseudo-header (addresses, protocol, length) and the datagram. */
	sum = csum_add(0, pkt + 12, 8);
	sum += IPPROTO_UDP + (uint32_t)(8 + len);
	sum = csum_add(sum, pkt + 20, 8 + len);
	c = csum_fold(sum);
	nt_put_be16(pkt + 26, c ? c : 0xffff);
	for (int tries = 0; tries < 100; tries++) {
		if (sendto(h->raw, pkt, tot, 0, &to->sa, sizeof(to->in4)) == (ssize_t)tot)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			return -errno;
		usleep(1000);
	}
	return -ENOBUFS;
}

int attack_net_load(struct harness *h)
{
	struct nt_err err = { .msg = "" };
	bool created;
	int ret;

	if (h->have_net)
		return 0;
	if (!h->token || !*h->token) {
		attack_error("this action needs the token (--token or NETRONTOKEN)");
		return -EINVAL;
	}
	ret = nt_config_from_token(&h->cfg, h->token, &err);
	if (ret < 0) {
		attack_error("token: %s", err.msg);
		return ret;
	}
	ret = nt_network_keys_new(&h->keys, &h->cfg);
	if (ret < 0)
		goto err_cfg;
	if (h->state_dir)
		ret = nt_identity_load_or_create(&h->id, h->state_dir, &created, &err);
	else
		ret = nt_identity_new_ephemeral(&h->id);
	if (ret < 0) {
		attack_error("identity: %s", err.msg[0] ? err.msg : strerror(-ret));
		goto err_keys;
	}
	ret = nt_handshake_local_init(&h->hs_local, h->id, h->keys, nt_now_ms());
	if (ret < 0)
		goto err_id;
	h->have_net = true;
	return 0;

err_id:
	nt_identity_free(h->id);
	h->id = NULL;
err_keys:
	nt_network_keys_free(h->keys);
	h->keys = NULL;
err_cfg:
	nt_config_wipe(&h->cfg);
	return ret;
}

static uint32_t random_index(void)
{
	uint32_t i;

	do
		i = randombytes_random();
	while (i == 0);
	return i;
}

ssize_t attack_seal(struct harness *h, struct nt_keypair *kp, uint8_t inner, const uint8_t *body,
		    size_t len)
{
	int ret;

	if (!kp)
		return -ENOTCONN;
	if (NT_DATA_HEADER_LEN + 1 + len + NT_DATA_TAG_LEN > sizeof(h->tx))
		return -EMSGSIZE;
	h->tx[NT_DATA_HEADER_LEN] = inner;
	if (len)
		memmove(h->tx + NT_DATA_HEADER_LEN + 1, body, len);
	ret = nt_session_keypair_encrypt(kp, h->tx, sizeof(h->tx), len + 1, nt_now_ms());
	if (ret < 0)
		return ret;
	return (ssize_t)(len + 1 + NT_DATA_OVERHEAD);
}

ssize_t attack_member_seal(struct harness *h, uint8_t inner, const uint8_t *body, size_t len)
{
	ssize_t n = attack_seal(h, h->kp, inner, body, len);

	if (n >= 0)
		h->last_tx_ms = nt_now_ms();
	return n;
}

ssize_t attack_member_send(struct harness *h, uint8_t inner, const uint8_t *body, size_t len)
{
	ssize_t n = attack_member_seal(h, inner, body, len);
	int ret;

	if (n < 0)
		return n;
	ret = attack_send(h, h->tx, (size_t)n, &h->node);
	return ret < 0 ? ret : n;
}

static void gossip_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
	struct harness *h = ctx;

	(void)peer;
	attack_member_send(h, NT_CTRL_GOSSIP, buf, len);
}

static void on_ledger_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change change,
			     bool local)
{
	struct harness *h = ctx;

	(void)change;
	/* Our own entries go out as a member's do: pushed at once. */
	if (local && h->gossip)
		nt_gossip_on_local_change(h->gossip, e, nt_wall_ms());
}

static int gossip_start(struct harness *h)
{
	/* A member's ledger, as a node sets it up (claims.c): leases up to a day. */
	struct nt_ledger_cfg lc = { .on_change = on_ledger_change, .ctx = h, .max_ttl_ms = NT_CLAIM_MAX_TTL_MS };
	struct nt_gossip_cfg gc = {
		.max_peers = 4,
		.max_msg = ATTACK_GOSSIP_MAX_MSG,
		.send = gossip_send,
		.ctx = h,
	};
	int ret;

	if (h->gossip)
		return 0;
	ret = nt_ledger_new(&h->ledger, &lc);
	if (ret < 0)
		return ret;
	ret = nt_gossip_new(&h->gossip, h->ledger, &gc);
	if (ret < 0)
		return ret;
	h->gossip_next_ms = 0;
	return nt_gossip_peer_add(h->gossip, ATTACK_GOSSIP_PEER);
}

/* A new INIT to the node, from a fresh ephemeral (a resent INIT would be a replay). */
static int hs_send_init(struct harness *h)
{
	uint8_t init[NT_HS_INIT_LEN];
	uint64_t now = nt_now_ms();
	int ret;

	if (!h->hs_ready) {
		ret = nt_handshake_init(&h->hs);
		if (ret < 0)
			return ret;
		h->hs_ready = true;
	}
	ret = nt_handshake_create_init(&h->hs, &h->hs_local, h->hs_index, nt_wall_ms(), now, init);
	if (ret < 0)
		return ret;
	h->hs_pending = true;
	h->hs_sent_ms = now;
	h->hs_tries++;
	return attack_send(h, init, sizeof(init), &h->node);
}

static int hs_start(struct harness *h)
{
	h->hs_index = random_index();
	h->hs_tries = 0;
	return hs_send_init(h);
}

/* RESP or COOKIE_REPLY for our pending INIT. */
static void member_on_handshake(struct harness *h, const uint8_t *buf, size_t len,
				const union nt_sockaddr *from)
{
	struct nt_handshake_result res;
	struct nt_keypair *kp;
	uint8_t fin[NT_HS_FIN_LEN];
	uint64_t now = nt_now_ms();
	uint32_t receiver;
	uint8_t type;

	if (!h->hs_pending || !nt_handshake_peek(buf, len, &type, &receiver) || receiver != h->hs_index)
		return;
	if (type == NT_HS_MSG_COOKIE_REPLY) {
		/* The node is under load: the next INIT carries mac2. */
		if (nt_handshake_consume_cookie_reply(&h->hs, &h->hs_local, buf, len, now) == NT_HS_OK)
			hs_send_init(h);
		return;
	}
	if (type != NT_HS_MSG_RESP ||
	    nt_handshake_consume_resp(&h->hs, &h->hs_local, buf, len, from, now) != NT_HS_OK)
		return;
	if (nt_handshake_create_fin(&h->hs, &h->hs_local, now, fin) < 0 ||
	    attack_send(h, fin, sizeof(fin), &h->node) < 0 || nt_handshake_finish(&h->hs, &res) < 0) {
		nt_handshake_clear(&h->hs);
		return;
	}
	h->hs_pending = false;
	if (nt_session_keypair_new(&kp, res.send_key, res.recv_key, res.local_index, res.remote_index,
				   true, now) < 0) {
		sodium_memzero(&res, sizeof(res));
		return;
	}
	memcpy(h->node_id, res.peer_id, 32);
	sodium_memzero(&res, sizeof(res));
	nt_session_keypair_free(h->kp_prev);
	h->kp_prev = h->kp;
	h->kp = kp;
	/* The node holds the new keys as "next" until our first frame on them. */
	attack_member_send(h, NT_DATA_INNER_KEEPALIVE, NULL, 0);
}

static void remember_member(struct harness *h, const uint8_t id[32])
{
	if (!memcmp(id, h->id->ed_pk, 32) || !memcmp(id, h->node_id, 32))
		return;
	for (unsigned int i = 0; i < h->n_members; i++)
		if (!memcmp(h->members[i], id, 32))
			return;
	if (h->n_members < ATTACK_MEMBERS_MAX)
		memcpy(h->members[h->n_members++], id, 32);
}

static void member_on_data(struct harness *h, uint8_t *buf, size_t len)
{
	struct nt_keypair *kp = NULL;
	struct nt_data_rx rx;
	struct nt_pex pex;
	uint32_t index;
	uint64_t counter;

	if (nt_session_frame_parse_header(buf, len, &index, &counter) != NT_PKT_OK)
		return;
	if (h->kp && h->kp->local_index == index)
		kp = h->kp;
	else if (h->kp_prev && h->kp_prev->local_index == index)
		kp = h->kp_prev;
	if (!kp || nt_session_keypair_decrypt(kp, buf, len, nt_now_ms(), &rx) != NT_PKT_OK)
		return;
	switch (rx.inner_type) {
	case NT_DATA_INNER_IP:
		h->rx_ip.n++;
		h->rx_ip.bytes += rx.payload_len;
		break;
	case NT_CTRL_PEX:
		if (!nt_control_pex_decode(&pex, rx.payload, rx.payload_len))
			break;
		for (unsigned int i = 0; i < pex.count; i++)
			remember_member(h, pex.entries[i].id);
		break;
	case NT_CTRL_GOSSIP:
		if (h->gossip)
			nt_gossip_input(h->gossip, ATTACK_GOSSIP_PEER, rx.payload, rx.payload_len,
					nt_wall_ms());
		break;
	default:
		/* keepalives, ANNOUNCE, relay traffic: nothing to do, unless the action asks */
		if (h->on_control && rx.inner_type >= NT_DATA_INNER_CONTROL)
			h->on_control(h, rx.inner_type, rx.payload, rx.payload_len);
		break;
	}
}

static void on_datagram(struct harness *h, uint8_t *buf, size_t len, const union nt_sockaddr *from)
{
	if (from->sa.sa_family == AF_INET && from->in4.sin_addr.s_addr == h->node.in4.sin_addr.s_addr) {
		h->rx_node.n++;
		h->rx_node.bytes += len;
	}
	if (h->tap)
		h->tap(h, buf, len, from);
	/* Our session is with the node only; other members knocking are left alone. */
	if (len == 0 || !h->have_net || !nt_sockaddr_equal(from, &h->node))
		return;
	if (buf[0] == NT_MSG_DATA)
		member_on_data(h, buf, len);
	else if (buf[0] == NT_HS_MSG_RESP || buf[0] == NT_HS_MSG_COOKIE_REPLY)
		member_on_handshake(h, buf, len, from);
}

/* Keepalives, handshake retries and rekeys, gossip: what keeps us a member. */
static void member_tick(struct harness *h)
{
	uint64_t now = nt_now_ms(), wall = nt_wall_ms();

	if (h->hs_pending && now - h->hs_sent_ms >= HS_RETRY_MS && h->hs_tries < HS_TRIES)
		hs_send_init(h);
	if (!h->kp)
		return;
	if (!h->hs_pending && now - h->kp->created_ms >= REJOIN_AFTER_MS)
		hs_start(h);
	if (now - h->last_tx_ms >= KEEPALIVE_MS)
		attack_member_send(h, NT_DATA_INNER_KEEPALIVE, NULL, 0);
	if (h->gossip && wall >= h->gossip_next_ms)
		h->gossip_next_ms = nt_gossip_tick(h->gossip, wall);
}

void attack_pump(struct harness *h, uint64_t ms)
{
	uint64_t deadline = nt_now_ms() + ms;

	for (;;) {
		uint64_t now = nt_now_ms();
		struct pollfd pfd = { .fd = h->fd, .events = POLLIN };

		member_tick(h);
		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (int)NT_MIN(deadline - now, 50)) <= 0)
			continue;
		for (int i = 0; i < 256; i++) {
			union nt_sockaddr from;
			union {
				struct cmsghdr align;
				uint8_t buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
			} ctl;
			struct iovec iov = { .iov_base = h->rx, .iov_len = sizeof(h->rx) };
			struct msghdr msg = {
				.msg_name = &from,
				.msg_namelen = sizeof(from),
				.msg_iov = &iov,
				.msg_iovlen = 1,
				.msg_control = ctl.buf,
				.msg_controllen = sizeof(ctl.buf),
			};
			struct cmsghdr *c;
			ssize_t n = recvmsg(h->fd, &msg, MSG_DONTWAIT);

			if (n < 0)
				break;
			if (msg.msg_namelen > sizeof(from) || from.sa.sa_family != AF_INET ||
			    (msg.msg_flags & MSG_TRUNC))
				continue;
			/* Which of our addresses it was sent to: several are ours (AnyIP). */
			h->rx_dst = h->local.in4.sin_addr;
			for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
				    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo)))
					h->rx_dst = ((struct in_pktinfo *)(void *)CMSG_DATA(c))->ipi_addr;
			on_datagram(h, h->rx, (size_t)n, &from);
		}
	}
}

int attack_member_join(struct harness *h)
{
	uint64_t deadline;
	int ret;

	if (h->kp && nt_now_ms() - h->kp->created_ms < REJOIN_AFTER_MS)
		return 0;
	ret = attack_net_load(h);
	if (ret < 0)
		return ret;
	ret = hs_start(h);
	if (ret < 0) {
		attack_error("handshake: %s", strerror(-ret));
		return ret;
	}
	deadline = nt_now_ms() + (uint64_t)HS_TRIES * HS_RETRY_MS + 500;
	while (h->hs_pending && nt_now_ms() < deadline)
		attack_pump(h, 50);
	if (h->hs_pending || !h->kp) {
		attack_error("no handshake with the node after %u tries", h->hs_tries);
		return -ETIMEDOUT;
	}
	ret = gossip_start(h);
	if (ret < 0)
		attack_error("gossip: %s", strerror(-ret));
	return ret;
}

bool attack_member_wait_members(struct harness *h, uint64_t ms)
{
	uint64_t deadline = nt_now_ms() + ms;

	while (!h->n_members && nt_now_ms() < deadline)
		attack_pump(h, 100);
	return h->n_members > 0;
}

int attack_join(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { NULL };
	char node[65];
	int ret;

	if (!attack_args_check(a, "join", known))
		return -EINVAL;
	ret = attack_member_join(h);
	if (ret < 0)
		return ret;
	attack_member_wait_members(h, 5000);
	nt_hex_encode(node, h->node_id, 32);
	attack_report("join", "node_id=%s members=%u", node, h->n_members);
	return 0;
}

int attack_hold(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { NULL };
	uint64_t s;

	if (!attack_args_check(a, "hold", known) || !attack_parse_u64(attack_pos(a, 0), &s)) {
		attack_error("hold SECONDS");
		return -EINVAL;
	}
	if (h->have_net && !h->kp && attack_member_join(h) < 0)
		return -ENOTCONN;
	attack_pump(h, s * 1000);
	attack_report("hold", "seconds=%llu member=%d members=%u", (unsigned long long)s, h->kp != NULL,
		      h->n_members);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(struct harness *h, const struct attack_args *a);
} actions[] = {
	{ "join", attack_join },
	{ "hold", attack_hold },
	{ "oversize-relay", attack_oversize_relay },
	{ "fake-claims", attack_fake_claims },
	{ "backdate", attack_backdate },
	{ "foreign-claim", attack_foreign_claim },
	{ "spoof-digest", attack_spoof_digest },
	{ "init-replay", attack_init_replay },
	{ "want-edge", attack_want_edge },
	{ "random-index", attack_random_index },
	{ "hs-junk", attack_hs_junk },
	{ "fin-data", attack_fin_data },
	{ "dht-flood", attack_dht_flood },
	{ "stun-flood", attack_stun_flood },
	{ "fin-replay", attack_fin_replay },
	{ "claim-many", attack_claim_many },
	{ "bad-sigs", attack_bad_sigs },
	{ "spoof-fin", attack_spoof_fin },
	{ "pex", attack_pex },
	{ "mint-peers", attack_mint_peers },
};

static int open_socket(struct harness *h)
{
	socklen_t len = sizeof(h->local.in4);
	int buf = 4 << 20, on = 1;

	h->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	/* Floods are answered in bursts: room for them, so the counts are what was sent. */
	setsockopt(h->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(h->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	if (setsockopt(h->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0)
		return -errno;
	if (bind(h->fd, &h->local.sa, sizeof(h->local.in4)) < 0 ||
	    getsockname(h->fd, &h->local.sa, &len) < 0)
		return -errno;
	return 0;
}

static void harness_free(struct harness *h)
{
	nt_gossip_free(h->gossip);
	nt_ledger_free(h->ledger);
	nt_session_keypair_free(h->kp);
	nt_session_keypair_free(h->kp_prev);
	if (h->hs_ready)
		nt_handshake_uninit(&h->hs);
	if (h->have_net) {
		nt_handshake_local_uninit(&h->hs_local);
		nt_identity_free(h->id);
		nt_network_keys_free(h->keys);
		nt_config_wipe(&h->cfg);
	}
	if (h->raw >= 0)
		close(h->raw);
	if (h->fd >= 0)
		close(h->fd);
}

static int run_action(struct harness *h, int argc, char **argv)
{
	struct attack_args a = { .argc = argc - 1, .argv = argv + 1 };

	for (size_t i = 0; i < NT_ARRAY_SIZE(actions); i++)
		if (!strcmp(argv[0], actions[i].name))
			return actions[i].run(h, &a);
	attack_error("unknown action %s", argv[0]);
	fputs(usage, stderr);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static struct harness h; /* large buffers: not on the stack */
	const char *node = NULL, *bind_to = NULL;
	int i, ret;

	h.fd = h.raw = -1;
	h.token = getenv("NETRONTOKEN");
	for (i = 1; i < argc && is_opt(argv[i]); i += 2) {
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--node"))
			node = argv[i + 1];
		else if (!strcmp(argv[i], "--bind"))
			bind_to = argv[i + 1];
		else if (!strcmp(argv[i], "--state-dir"))
			h.state_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--token"))
			h.token = argv[i + 1];
		else
			break;
	}
	if (i >= argc || is_opt(argv[i]) || !node) {
		fputs(usage, stderr);
		return 1;
	}
	if (sodium_init() < 0 || !attack_parse_v4("--node", node, &h.node) ||
	    (bind_to && !attack_parse_v4("--bind", bind_to, &h.local)))
		return 1;
	if (!bind_to)
		h.local.in4.sin_family = AF_INET; /* any address, a port of the kernel's choice */
	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = open_socket(&h);
	if (ret < 0) {
		attack_error("socket on %s: %s", bind_to ? bind_to : "0.0.0.0:0", strerror(-ret));
		harness_free(&h);
		return 2;
	}
	/* Actions run one after the other, separated by "+" words. */
	while (i < argc) {
		int end = i;

		while (end < argc && strcmp(argv[end], "+"))
			end++;
		if (end > i) {
			h.tap = NULL;
			h.on_control = NULL;
			ret = run_action(&h, end - i, argv + i);
			if (ret < 0)
				break;
		}
		i = end + 1;
	}
	harness_free(&h);
	return ret == -EINVAL ? 1 : ret < 0 ? 2 : 0;
}
