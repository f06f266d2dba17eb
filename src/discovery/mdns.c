// SPDX-License-Identifier: MIT
/*
 * mDNS / DNS-SD responder and browser for one service instance (RFC 6762, RFC 6763), sans-IO.
 *
 * We own five records (names for tag t, node id prefix n = first 8 hex chars):
 *   _netron._udp.local           PTR  t-n._netron._udp.local           shared, TTL 4500
 *   t-n._netron._udp.local       SRV  0 0 <port> n-netron.local        unique, TTL 120
 *   t-n._netron._udp.local       TXT  "v=1" "id=<16 hex>"              unique, TTL 4500
 *   n-netron.local               A / AAAA for each interface address   unique, TTL 120
 *   _services._dns-sd._udp.local PTR  _netron._udp.local  (RFC 6763 §9) shared, TTL 4500
 * Timing: two announcements 1 s apart at start and after an address change (§8.3, §8.4);
 * a browse query 20-120 ms after start, then every 1 s doubling to 60 s while the caller has
 * no session, up to 15 min otherwise (§5.2); answers after 20-120 ms (§6), and no record
 * multicast twice within 1 s per family (§6, "per interface"); goodbyes with TTL 0 (§10.1).
 * Our browse query carries our own PTR as a known answer (§7.1), which makes it unique to us:
 * when it loops back, known-answer suppression leaves nothing to answer. Our responses loop
 * back too and are recognised by our instance name. Names are never probed (§8.1): they
 * contain the node id, so they cannot collide unless two nodes share an identity.
 */
#include "discovery/mdns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "discovery/dns.h"
#include "core/log.h"

#ifndef NT_MDNS_ANNOUNCE_COUNT
#define NT_MDNS_ANNOUNCE_COUNT 2
#endif
#ifndef NT_MDNS_ANNOUNCE_INTERVAL_MS
#define NT_MDNS_ANNOUNCE_INTERVAL_MS 1000
#endif
#ifndef NT_MDNS_BROWSE_FIRST_MS
#define NT_MDNS_BROWSE_FIRST_MS 1000
#endif
#ifndef NT_MDNS_BROWSE_FAST_MAX_MS
#define NT_MDNS_BROWSE_FAST_MAX_MS 60000
#endif
#ifndef NT_MDNS_BROWSE_SLOW_MAX_MS
#define NT_MDNS_BROWSE_SLOW_MAX_MS (15 * 60000)
#endif
#ifndef NT_MDNS_RECORD_MIN_INTERVAL_MS
#define NT_MDNS_RECORD_MIN_INTERVAL_MS 1000
#endif

enum {
	TTL_HOST = 120, /* SRV, A, AAAA: records naming a host (RFC 6762 §10) */
	TTL_OTHER = 4500, /* PTR, TXT */
};

/* The records we own, as bits in pending-answer masks. */
enum rec {
	REC_PTR,
	REC_SRV,
	REC_TXT,
	REC_ADDR, /* all A and AAAA records of the host name */
	REC_ENUM, /* the service type enumeration PTR */
	REC_COUNT,
};
#define BIT(r) (1U << (r))
#define REC_ALL (BIT(REC_COUNT) - 1)

enum { FAM_V4, FAM_V6, FAM_COUNT };

struct fam_state {
	bool enabled;
	unsigned int answers; /* records owed to a querier */
	unsigned int additional; /* records to add to that answer */
	uint64_t due_ms; /* when the answer goes out, if answers != 0 */
	unsigned int sent; /* records multicast at least once */
	uint64_t last_ms[REC_COUNT]; /* last multicast of each record */
};

struct nt_mdns {
	nt_mdns_send_fn *send;
	nt_mdns_peer_fn *on_peer;
	void *ctx;
	uint16_t port;
	char tag[NT_MDNS_TAG_LEN + 1];
	char id[NT_MDNS_ID_MAX + 1]; /* TXT id= */

	struct nt_dns_name service, instance, host, enum_name;
	struct in_addr v4[NT_MDNS_MAX_ADDRS];
	struct in6_addr v6[NT_MDNS_MAX_ADDRS];
	size_t n4, n6;

	bool started, stopped, fast;
	unsigned int announce_left;
	uint64_t announce_due_ms;
	uint64_t browse_due_ms;
	uint64_t browse_interval_ms;
	uint32_t jitter_ms; /* 20..120, fixed per node, for first query and answers */
	struct fam_state fam[FAM_COUNT];

	struct nt_mdns_stats stats;
	struct nt_ratelimit rl_bad, rl_peer;
	struct nt_dns_msg msg; /* decode scratch: no allocation per packet */
	uint8_t pkt[NT_MDNS_PKT_MAX]; /* encode scratch */
};

static const int fam_af[FAM_COUNT] = { AF_INET, AF_INET6 };

static bool is_lower_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* FNV-1a: spreads nodes' delays apart; no security role. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int nt_mdns_new(struct nt_mdns **out, const struct nt_mdns_config *cfg)
{
	char id8[NT_MDNS_ID_MIN + 1], buf[NT_DNS_NAME_STRLEN];
	struct nt_mdns *m;
	size_t idlen;

	*out = NULL;
	if (!cfg || !cfg->tag || !cfg->node_id || !cfg->send || !cfg->on_peer || cfg->port == 0 ||
	    (!cfg->ipv4 && !cfg->ipv6))
		return -EINVAL;
	idlen = strlen(cfg->node_id);
	if (strlen(cfg->tag) != NT_MDNS_TAG_LEN || !is_lower_hex(cfg->tag, NT_MDNS_TAG_LEN) ||
	    idlen < NT_MDNS_ID_MIN || !is_lower_hex(cfg->node_id, idlen))
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->send = cfg->send;
	m->on_peer = cfg->on_peer;
	m->ctx = cfg->ctx;
	m->port = cfg->port;
	memcpy(m->tag, cfg->tag, NT_MDNS_TAG_LEN);
	memcpy(m->id, cfg->node_id, NT_MIN(idlen, (size_t)NT_MDNS_ID_MAX));
	memcpy(id8, cfg->node_id, NT_MDNS_ID_MIN);
	id8[NT_MDNS_ID_MIN] = '\0';
	m->fam[FAM_V4].enabled = cfg->ipv4;
	m->fam[FAM_V6].enabled = cfg->ipv6;
	m->fast = true;
	m->jitter_ms = 20 + fnv1a(m->id) % 101;

	/* Fixed lengths: tag 32 + '-' + 8 = 41 octets, well within one label. */
	nt_dns_name_from_str(&m->service, "_netron._udp.local");
	nt_dns_name_from_str(&m->enum_name, "_services._dns-sd._udp.local");
	snprintf(buf, sizeof(buf), "%s-%s._netron._udp.local", m->tag, id8);
	nt_dns_name_from_str(&m->instance, buf);
	snprintf(buf, sizeof(buf), "%s-netron.local", id8);
	nt_dns_name_from_str(&m->host, buf);
	*out = m;
	return 0;
}

void nt_mdns_free(struct nt_mdns *m)
{
	free(m);
}

int nt_mdns_set_addresses(struct nt_mdns *m, const struct in_addr *v4, size_t n4,
			  const struct in6_addr *v6, size_t n6)
{
	struct in_addr new4[NT_MDNS_MAX_ADDRS];
	struct in6_addr new6[NT_MDNS_MAX_ADDRS];

	if ((n4 && !v4) || (n6 && !v6))
		return -EINVAL;
	n4 = NT_MIN(n4, (size_t)NT_MDNS_MAX_ADDRS);
	n6 = NT_MIN(n6, (size_t)NT_MDNS_MAX_ADDRS);
	memset(new4, 0, sizeof(new4));
	memset(new6, 0, sizeof(new6));
	if (n4)
		memcpy(new4, v4, n4 * sizeof(*v4));
	if (n6)
		memcpy(new6, v6, n6 * sizeof(*v6));
	if (n4 == m->n4 && n6 == m->n6 && !memcmp(new4, m->v4, sizeof(new4)) &&
	    !memcmp(new6, m->v6, sizeof(new6)))
		return 0;
	memcpy(m->v4, new4, sizeof(new4));
	memcpy(m->v6, new6, sizeof(new6));
	m->n4 = n4;
	m->n6 = n6;
	if (m->started && !m->stopped) {
		/* RFC 6762 §8.4: announce the new data again; the next tick sends it. */
		m->announce_left = NT_MDNS_ANNOUNCE_COUNT;
		m->announce_due_ms = 0;
	}
	return 0;
}

void nt_mdns_set_fast(struct nt_mdns *m, bool fast)
{
	if (fast && !m->fast && m->started) {
		/* Lost every session: look again now, then back off from the start. */
		m->browse_interval_ms = NT_MDNS_BROWSE_FIRST_MS;
		m->browse_due_ms = 0;
	}
	m->fast = fast;
}

void nt_mdns_get_stats(const struct nt_mdns *m, struct nt_mdns_stats *st)
{
	*st = m->stats;
}

static void rr_fill(struct nt_dns_rr *rr, const struct nt_dns_name *name, uint16_t type,
		    uint32_t ttl, bool unique)
{
	memset(rr, 0, sizeof(*rr));
	rr->name = *name;
	rr->type = type;
	rr->rclass = NT_DNS_CLASS_IN;
	rr->cache_flush = unique;
	rr->ttl = ttl;
}

/* Adds the records in mask to one section; stops quietly at the first that does not fit. */
static int add_records(struct nt_mdns *m, struct nt_dns_builder *b, enum nt_dns_section sec,
		       unsigned int mask, bool goodbye)
{
	struct nt_dns_rr rr;
	int ret = 0;

	if (mask & BIT(REC_PTR)) {
		rr_fill(&rr, &m->service, NT_DNS_TYPE_PTR, goodbye ? 0 : TTL_OTHER, false);
		rr.rd.ptr = m->instance;
		if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
			return ret;
	}
	if (mask & BIT(REC_SRV)) {
		rr_fill(&rr, &m->instance, NT_DNS_TYPE_SRV, goodbye ? 0 : TTL_HOST, true);
		rr.rd.srv.port = m->port;
		rr.rd.srv.target = m->host;
		if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
			return ret;
	}
	if (mask & BIT(REC_TXT)) {
		char kv[4 + NT_MDNS_ID_MAX];

		rr_fill(&rr, &m->instance, NT_DNS_TYPE_TXT, goodbye ? 0 : TTL_OTHER, true);
		snprintf(kv, sizeof(kv), "id=%s", m->id);
		nt_dns_txt_add(&rr.rd.txt, "v=1");
		nt_dns_txt_add(&rr.rd.txt, kv);
		if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
			return ret;
	}
	if (mask & BIT(REC_ADDR)) {
		for (size_t i = 0; i < m->n4; i++) {
			rr_fill(&rr, &m->host, NT_DNS_TYPE_A, goodbye ? 0 : TTL_HOST, true);
			memcpy(rr.rd.a, &m->v4[i], 4);
			if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
				return ret;
		}
		for (size_t i = 0; i < m->n6; i++) {
			rr_fill(&rr, &m->host, NT_DNS_TYPE_AAAA, goodbye ? 0 : TTL_HOST, true);
			memcpy(rr.rd.aaaa, &m->v6[i], 16);
			if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
				return ret;
		}
	}
	if (mask & BIT(REC_ENUM)) {
		rr_fill(&rr, &m->enum_name, NT_DNS_TYPE_PTR, goodbye ? 0 : TTL_OTHER, false);
		rr.rd.ptr = m->service;
		if ((ret = nt_dns_builder_add_rr(b, sec, &rr)) < 0)
			return ret;
	}
	return 0;
}

/* One response (QR|AA, id 0, no questions: RFC 6762 §6) to the group of family f. */
static void send_response(struct nt_mdns *m, int f, unsigned int answers, unsigned int additional,
			  bool goodbye, uint64_t now_ms)
{
	struct nt_dns_builder b;
	ssize_t len;

	nt_dns_builder_init(&b, m->pkt, sizeof(m->pkt), 0, NT_DNS_FLAG_QR | NT_DNS_FLAG_AA, true);
	if (add_records(m, &b, NT_DNS_SEC_ANSWER, answers, goodbye) == 0)
		add_records(m, &b, NT_DNS_SEC_ADDITIONAL, additional & ~answers, goodbye);
	len = nt_dns_builder_finish(&b);
	if (len <= NT_DNS_HEADER_LEN)
		return;
	for (int r = 0; r < REC_COUNT; r++) {
		if (answers & BIT(r)) {
			m->fam[f].last_ms[r] = now_ms;
			m->fam[f].sent |= BIT(r);
		}
	}
	m->send(m->ctx, m->pkt, (size_t)len, fam_af[f]);
}

static void send_query(struct nt_mdns *m, int f)
{
	struct nt_dns_builder b;
	ssize_t len;

	nt_dns_builder_init(&b, m->pkt, sizeof(m->pkt), 0, 0, true);
	if (nt_dns_builder_add_question(&b, &m->service, NT_DNS_TYPE_PTR, NT_DNS_CLASS_IN) < 0)
		return;
	/* Our own PTR as a known answer: nobody else holds it, so it suppresses nothing but
	 * our own reply when the query loops back, and it makes the packet ours. */
	add_records(m, &b, NT_DNS_SEC_ANSWER, BIT(REC_PTR), false);
	len = nt_dns_builder_finish(&b);
	if (len > 0)
		m->send(m->ctx, m->pkt, (size_t)len, fam_af[f]);
}

static void start(struct nt_mdns *m, uint64_t now_ms)
{
	m->started = true;
	m->announce_left = NT_MDNS_ANNOUNCE_COUNT;
	m->announce_due_ms = now_ms;
	m->browse_due_ms = now_ms + m->jitter_ms;
	m->browse_interval_ms = NT_MDNS_BROWSE_FIRST_MS;
}

static bool record_allowed(const struct fam_state *fs, int r, uint64_t now_ms)
{
	return !(fs->sent & BIT(r)) || now_ms >= fs->last_ms[r] + NT_MDNS_RECORD_MIN_INTERVAL_MS;
}

/* Sends the answers that the one-per-second rule allows; re-arms for the rest. */
static void flush_answers(struct nt_mdns *m, int f, uint64_t now_ms)
{
	struct fam_state *fs = &m->fam[f];
	unsigned int now_ok = 0;
	uint64_t next = UINT64_MAX;

	for (int r = 0; r < REC_COUNT; r++) {
		if (!(fs->answers & BIT(r)))
			continue;
		if (record_allowed(fs, r, now_ms))
			now_ok |= BIT(r);
		else
			next = NT_MIN(next, fs->last_ms[r] + NT_MDNS_RECORD_MIN_INTERVAL_MS);
	}
	if (now_ok) {
		send_response(m, f, now_ok, fs->additional, false, now_ms);
		m->stats.tx_response++;
		fs->answers &= ~now_ok;
	}
	if (fs->answers)
		fs->due_ms = next;
	else
		fs->additional = 0;
}

uint64_t nt_mdns_tick(struct nt_mdns *m, uint64_t now_ms)
{
	uint64_t next;

	if (m->stopped)
		return UINT64_MAX;
	if (!m->started)
		start(m, now_ms);

	if (m->announce_left && now_ms >= m->announce_due_ms) {
		for (int f = 0; f < FAM_COUNT; f++) {
			if (!m->fam[f].enabled)
				continue;
			send_response(m, f, REC_ALL, 0, false, now_ms);
			m->stats.tx_announce++;
			m->fam[f].answers = m->fam[f].additional = 0;
		}
		m->announce_left--;
		m->announce_due_ms = now_ms + NT_MDNS_ANNOUNCE_INTERVAL_MS;
	}
	if (now_ms >= m->browse_due_ms) {
		uint64_t cap = m->fast ? NT_MDNS_BROWSE_FAST_MAX_MS : NT_MDNS_BROWSE_SLOW_MAX_MS;

		for (int f = 0; f < FAM_COUNT; f++) {
			if (!m->fam[f].enabled)
				continue;
			send_query(m, f);
			m->stats.tx_query++;
		}
		m->browse_interval_ms = NT_MIN(m->browse_interval_ms, cap);
		m->browse_due_ms = now_ms + m->browse_interval_ms;
		m->browse_interval_ms = NT_MIN(m->browse_interval_ms * 2, cap);
	}

	next = m->browse_due_ms;
	if (m->announce_left)
		next = NT_MIN(next, m->announce_due_ms);
	for (int f = 0; f < FAM_COUNT; f++) {
		struct fam_state *fs = &m->fam[f];

		if (fs->answers && now_ms >= fs->due_ms)
			flush_answers(m, f, now_ms);
		if (fs->answers)
			next = NT_MIN(next, fs->due_ms);
	}
	return next;
}

void nt_mdns_stop(struct nt_mdns *m, uint64_t now_ms)
{
	if (m->stopped)
		return;
	if (m->started) {
		for (int f = 0; f < FAM_COUNT; f++) {
			if (!m->fam[f].enabled)
				continue;
			send_response(m, f, REC_ALL, 0, true, now_ms);
			m->stats.tx_announce++;
		}
	}
	m->stopped = true;
}

/* Known-answer suppression (RFC 6762 §7.1) and duplicate answer suppression (§7.4) for our
 * shared PTRs: someone already holds the record with at least half its TTL. */
static unsigned int held_elsewhere(const struct nt_mdns *m, const struct nt_dns_msg *msg)
{
	unsigned int held = 0;

	for (unsigned int i = 0; i < msg->nrr; i++) {
		const struct nt_dns_rr *rr = &msg->rr[i];

		if (rr->section != NT_DNS_SEC_ANSWER || rr->type != NT_DNS_TYPE_PTR ||
		    rr->rclass != NT_DNS_CLASS_IN || rr->ttl < TTL_OTHER / 2)
			continue;
		if (nt_dns_name_equal(&rr->name, &m->service) &&
		    nt_dns_name_equal(&rr->rd.ptr, &m->instance))
			held |= BIT(REC_PTR);
		if (nt_dns_name_equal(&rr->name, &m->enum_name) &&
		    nt_dns_name_equal(&rr->rd.ptr, &m->service))
			held |= BIT(REC_ENUM);
	}
	return held;
}

static void handle_query(struct nt_mdns *m, const struct nt_dns_msg *msg, int f, uint64_t now_ms)
{
	struct fam_state *fs = &m->fam[f];
	unsigned int ans = 0, add = 0, held;

	for (unsigned int i = 0; i < msg->nq; i++) {
		const struct nt_dns_question *q = &msg->q[i];
		bool any = q->type == NT_DNS_TYPE_ANY;

		if (q->qclass != NT_DNS_CLASS_IN && q->qclass != NT_DNS_TYPE_ANY)
			continue;
		if (nt_dns_name_equal(&q->name, &m->service) && (any || q->type == NT_DNS_TYPE_PTR)) {
			ans |= BIT(REC_PTR);
			add |= BIT(REC_SRV) | BIT(REC_TXT) | BIT(REC_ADDR);
		} else if (nt_dns_name_equal(&q->name, &m->instance)) {
			if (any || q->type == NT_DNS_TYPE_SRV)
				ans |= BIT(REC_SRV);
			if (any || q->type == NT_DNS_TYPE_TXT)
				ans |= BIT(REC_TXT);
			add |= BIT(REC_ADDR);
		} else if (nt_dns_name_equal(&q->name, &m->host)) {
			if (any || q->type == NT_DNS_TYPE_A || q->type == NT_DNS_TYPE_AAAA)
				ans |= BIT(REC_ADDR);
		} else if (nt_dns_name_equal(&q->name, &m->enum_name) &&
			   (any || q->type == NT_DNS_TYPE_PTR)) {
			ans |= BIT(REC_ENUM);
		}
	}
	if ((ans & BIT(REC_ADDR)) && m->n4 + m->n6 == 0)
		ans &= ~BIT(REC_ADDR);
	held = held_elsewhere(m, msg);
	ans &= ~held;
	if (!ans)
		return;
	if (!fs->answers || fs->due_ms > now_ms + m->jitter_ms)
		fs->due_ms = now_ms + m->jitter_ms;
	fs->answers |= ans;
	fs->additional |= add;
}

/* "<tag>-<hex>" with our tag: copies the lowercased hex part into id. */
static bool instance_label_match(const struct nt_mdns *m, const uint8_t *label, size_t len,
				 char *id, size_t idcap)
{
	size_t idlen;

	if (len < NT_MDNS_TAG_LEN + 2 || label[NT_MDNS_TAG_LEN] != '-')
		return false;
	idlen = len - NT_MDNS_TAG_LEN - 1;
	if (idlen >= idcap)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = (char)label[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c + 32);
		if (i < NT_MDNS_TAG_LEN) {
			if (c != m->tag[i])
				return false;
		} else if (i > NT_MDNS_TAG_LEN) {
			if (!is_lower_hex(&c, 1))
				return false;
			id[i - NT_MDNS_TAG_LEN - 1] = c;
		}
	}
	id[idlen] = '\0';
	return true;
}

/* The node id prefix: TXT "id=" when it extends the one in the name, else the name's. */
static void peer_id(const struct nt_dns_msg *msg, const struct nt_dns_name *inst, char *id,
		    size_t idcap)
{
	char txt[NT_MDNS_ID_MAX * 4 + 1];
	size_t namelen = strlen(id), tlen;

	for (unsigned int i = 0; i < msg->nrr; i++) {
		const struct nt_dns_rr *rr = &msg->rr[i];

		if (rr->type != NT_DNS_TYPE_TXT || !nt_dns_name_equal(&rr->name, inst) ||
		    !nt_dns_txt_get(&rr->rd.txt, "id", txt, sizeof(txt)))
			continue;
		tlen = strlen(txt);
		if (tlen >= namelen && tlen < idcap && is_lower_hex(txt, tlen) &&
		    memcmp(txt, id, namelen) == 0)
			memcpy(id, txt, tlen + 1);
		return;
	}
}

static bool endpoint_seen(const union nt_sockaddr *seen, size_t n, const union nt_sockaddr *ep)
{
	for (size_t i = 0; i < n; i++)
		if (nt_sockaddr_equal(&seen[i], ep))
			return true;
	return false;
}

static void report(struct nt_mdns *m, union nt_sockaddr *seen, size_t *nseen,
		   const union nt_sockaddr *ep, const char *id)
{
	char s[NT_SOCKADDR_STRLEN];

	if (*nseen >= NT_DNS_MAX_RRS || endpoint_seen(seen, *nseen, ep))
		return;
	seen[(*nseen)++] = *ep;
	m->stats.peers_reported++;
	log_ratelimited(&m->rl_peer, NT_DBG_MDNS, "mdns: member %s may be at %s", id,
			nt_sockaddr_format(ep, s, sizeof(s)));
	m->on_peer(m->ctx, ep, id);
}

/* Reports every endpoint of one SRV record: its target's A/AAAA in this message, or the
 * packet's source with the SRV port when the message has none. */
static void handle_srv(struct nt_mdns *m, const struct nt_dns_msg *msg, const struct nt_dns_rr *srv,
		       const char *id, const union nt_sockaddr *from, union nt_sockaddr *seen,
		       size_t *nseen)
{
	union nt_sockaddr ep;
	bool found = false;

	for (unsigned int i = 0; i < msg->nrr; i++) {
		const struct nt_dns_rr *rr = &msg->rr[i];

		if ((rr->type != NT_DNS_TYPE_A && rr->type != NT_DNS_TYPE_AAAA) || rr->ttl == 0 ||
		    rr->rclass != NT_DNS_CLASS_IN || !nt_dns_name_equal(&rr->name, &srv->rd.srv.target))
			continue;
		memset(&ep, 0, sizeof(ep));
		if (rr->type == NT_DNS_TYPE_A) {
			ep.in4.sin_family = AF_INET;
			memcpy(&ep.in4.sin_addr, rr->rd.a, 4);
			ep.in4.sin_port = htons(srv->rd.srv.port);
		} else {
			ep.in6.sin6_family = AF_INET6;
			memcpy(&ep.in6.sin6_addr, rr->rd.aaaa, 16);
			ep.in6.sin6_port = htons(srv->rd.srv.port);
			/* A link-local address is only usable on the interface it came in on. */
			if (IN6_IS_ADDR_LINKLOCAL(&ep.in6.sin6_addr)) {
				if (from->sa.sa_family != AF_INET6 || !from->in6.sin6_scope_id)
					continue;
				ep.in6.sin6_scope_id = from->in6.sin6_scope_id;
			}
		}
		found = true;
		report(m, seen, nseen, &ep, id);
	}
	if (!found) {
		ep = *from;
		if (ep.sa.sa_family == AF_INET)
			ep.in4.sin_port = htons(srv->rd.srv.port);
		else
			ep.in6.sin6_port = htons(srv->rd.srv.port);
		report(m, seen, nseen, &ep, id);
	}
}

static void handle_response(struct nt_mdns *m, const struct nt_dns_msg *msg, int f,
			    const union nt_sockaddr *from)
{
	union nt_sockaddr seen[NT_DNS_MAX_RRS];
	size_t nseen = 0;
	char id[64 + 1];

	/* Someone else just multicast our shared ENUM PTR: no need to repeat it (§7.4). */
	if (held_elsewhere(m, msg) & BIT(REC_ENUM))
		m->fam[f].answers &= ~BIT(REC_ENUM);

	for (unsigned int i = 0; i < msg->nrr; i++) {
		const struct nt_dns_rr *rr = &msg->rr[i];
		const uint8_t *label;
		size_t llen;

		if (rr->type != NT_DNS_TYPE_SRV || rr->rclass != NT_DNS_CLASS_IN ||
		    !nt_dns_name_is_child_of(&rr->name, &m->service, &label, &llen) ||
		    !instance_label_match(m, label, llen, id, sizeof(id)))
			continue;
		if (nt_dns_name_equal(&rr->name, &m->instance)) {
			m->stats.rx_ignored++; /* our own, looped back */
			continue;
		}
		if (rr->ttl == 0) {
			log_ratelimited(&m->rl_peer, NT_DBG_MDNS, "mdns: member %s said goodbye", id);
			continue;
		}
		if (rr->rd.srv.port == 0)
			continue;
		peer_id(msg, &rr->name, id, sizeof(id));
		handle_srv(m, msg, rr, id, from, seen, &nseen);
	}
}

void nt_mdns_input(struct nt_mdns *m, const uint8_t *buf, size_t len,
		   const union nt_sockaddr *from, uint64_t now_ms)
{
	struct nt_dns_msg *msg = &m->msg;
	uint16_t sport;
	int f, ret;

	if (m->stopped)
		return;
	m->stats.rx++;
	if (from->sa.sa_family == AF_INET) {
		f = FAM_V4;
		sport = ntohs(from->in4.sin_port);
	} else if (from->sa.sa_family == AF_INET6) {
		f = FAM_V6;
		sport = ntohs(from->in6.sin6_port);
	} else {
		m->stats.rx_ignored++;
		return;
	}
	ret = nt_dns_msg_decode(msg, buf, len);
	if (ret < 0) {
		char s[NT_SOCKADDR_STRLEN];

		m->stats.rx_bad++;
		log_ratelimited(&m->rl_bad, NT_DBG_MDNS, "mdns: bad packet from %s: %s",
				nt_sockaddr_format(from, s, sizeof(s)), nt_dns_strerror(ret));
		return;
	}
	/* RFC 6762 §18.3, §18.11: ignore other opcodes and non-zero rcodes. Legacy unicast
	 * queries (source port != 5353, §6.7) would need a unicast reply: not supported. */
	if ((msg->flags & (NT_DNS_FLAG_OPCODE | NT_DNS_FLAG_RCODE)) || sport != NT_MDNS_PORT ||
	    !m->fam[f].enabled) {
		m->stats.rx_ignored++;
		return;
	}
	if (!m->started)
		start(m, now_ms);
	if (msg->flags & NT_DNS_FLAG_QR)
		handle_response(m, msg, f, from);
	else
		handle_query(m, msg, f, now_ms);
}
