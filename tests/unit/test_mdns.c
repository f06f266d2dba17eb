// SPDX-License-Identifier: MIT
/*
 * mDNS engine on a fake multicast bus with a fake clock: nodes of one network find each
 * other from the announcements or from a browse, other networks and the node itself are
 * never reported, queries get the right records, the one-per-second rule and known-answer
 * suppression hold, goodbyes carry TTL 0, and the browse interval backs off as documented.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dns.h"
#include "discovery/mdns.h"
#include "core/netif.h"
#include "discovery/mdns_socket.h"

#define TAG_A "0123456789abcdef0123456789abcdef"
#define TAG_B "fedcba9876543210fedcba9876543210"

enum { MAX_NODES = 4, MAX_PKTS = 64, MAX_SEEN = 32 };

struct pkt {
	int src;
	int family;
	size_t len;
	uint8_t buf[NT_MDNS_PKT_MAX];
};

struct seen {
	union nt_sockaddr ep;
	char id[65];
	uint64_t at_ms;
};

struct node {
	struct nt_mdns *m;
	union nt_sockaddr addr4; /* source of its packets, port 5353 */
	union nt_sockaddr addr6;
	uint64_t deadline;
	bool running;
	struct seen seen[MAX_SEEN];
	size_t nseen;
	unsigned int sent_queries, sent_responses;
	uint64_t query_at[64];
	uint8_t last_response[NT_MDNS_PKT_MAX];
	size_t last_response_len;
};

struct bus {
	struct node nodes[MAX_NODES];
	int n;
	struct pkt q[MAX_PKTS];
	int nq;
	uint64_t now;
	bool loopback; /* deliver packets to their sender too, as IP_MULTICAST_LOOP does */
};

static struct bus *bus;

static int node_index(void *ctx)
{
	return (int)((struct node *)ctx - bus->nodes);
}

static void on_send(void *ctx, const uint8_t *buf, size_t len, int family)
{
	struct node *nd = ctx;
	struct nt_dns_msg *msg = calloc(1, sizeof(*msg));
	struct pkt *p;

	assert_non_null(msg);
	assert_true(len <= NT_MDNS_PKT_MAX);
	/* Everything the engine sends must be a well-formed DNS message. */
	assert_int_equal(nt_dns_msg_decode(msg, buf, len), NT_DNS_OK);
	if (msg->flags & NT_DNS_FLAG_QR) {
		nd->sent_responses++;
		memcpy(nd->last_response, buf, len);
		nd->last_response_len = len;
	} else {
		if (nd->sent_queries < NT_ARRAY_SIZE(nd->query_at))
			nd->query_at[nd->sent_queries] = bus->now;
		nd->sent_queries++;
	}
	free(msg);
	assert_true(bus->nq < MAX_PKTS);
	p = &bus->q[bus->nq++];
	p->src = node_index(ctx);
	p->family = family;
	p->len = len;
	memcpy(p->buf, buf, len);
}

static void on_peer(void *ctx, const union nt_sockaddr *ep, const char *id)
{
	struct node *nd = ctx;

	assert_true(strlen(id) < sizeof(nd->seen[0].id));
	for (size_t i = 0; i < nd->nseen; i++)
		if (nt_sockaddr_equal(&nd->seen[i].ep, ep) && !strcmp(nd->seen[i].id, id))
			return;
	assert_true(nd->nseen < MAX_SEEN);
	nd->seen[nd->nseen].ep = *ep;
	strcpy(nd->seen[nd->nseen].id, id);
	nd->seen[nd->nseen].at_ms = bus->now;
	nd->nseen++;
}

static int setup(void **state)
{
	(void)state;
	bus = calloc(1, sizeof(*bus));
	return bus ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < bus->n; i++)
		nt_mdns_free(bus->nodes[i].m);
	free(bus);
	bus = NULL;
	return 0;
}

static void sa4(union nt_sockaddr *sa, const char *ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->in4.sin_family = AF_INET;
	sa->in4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sa->in4.sin_addr), 1);
}

static void sa6(union nt_sockaddr *sa, const char *ip, uint16_t port, uint32_t scope)
{
	memset(sa, 0, sizeof(*sa));
	sa->in6.sin6_family = AF_INET6;
	sa->in6.sin6_port = htons(port);
	sa->in6.sin6_scope_id = scope;
	assert_int_equal(inet_pton(AF_INET6, ip, &sa->in6.sin6_addr), 1);
}

/* Adds a node (not yet running) with one IPv4 address 192.168.1.<host>. */
static struct node *add_node(const char *tag, const char *id, uint16_t port, int host, bool v6)
{
	struct node *nd = &bus->nodes[bus->n++];
	struct nt_mdns_config cfg = {
		.tag = tag, .node_id = id, .port = port, .ipv4 = true, .ipv6 = v6,
		.send = on_send, .on_peer = on_peer, .ctx = nd,
	};
	char ip[32];
	struct in_addr a;

	snprintf(ip, sizeof(ip), "192.168.1.%d", host);
	sa4(&nd->addr4, ip, NT_MDNS_PORT);
	snprintf(ip, sizeof(ip), "fe80::%d", host);
	sa6(&nd->addr6, ip, NT_MDNS_PORT, 2);
	assert_int_equal(nt_mdns_new(&nd->m, &cfg), 0);
	a = nd->addr4.in4.sin_addr;
	if (v6)
		assert_int_equal(nt_mdns_set_addresses(nd->m, &a, 1, &nd->addr6.in6.sin6_addr, 1), 0);
	else
		assert_int_equal(nt_mdns_set_addresses(nd->m, &a, 1, NULL, 0), 0);
	return nd;
}

static void start_node(struct node *nd)
{
	nd->running = true;
	nd->deadline = bus->now;
}

/* Delivers queued packets to every running node, then lets each re-arm its timer. */
static void deliver(void)
{
	for (int i = 0; i < bus->nq; i++) {
		struct pkt *p = &bus->q[i];
		const struct node *src = &bus->nodes[p->src];

		for (int j = 0; j < bus->n; j++) {
			struct node *dst = &bus->nodes[j];

			if (!dst->running || (j == p->src && !bus->loopback))
				continue;
			nt_mdns_input(dst->m, p->buf, p->len,
				      p->family == AF_INET ? &src->addr4 : &src->addr6, bus->now);
			dst->deadline = nt_mdns_tick(dst->m, bus->now);
		}
	}
	bus->nq = 0;
}

/* Runs the event loop until end_ms, jumping from deadline to deadline. */
static void run_until(uint64_t end_ms)
{
	for (;;) {
		uint64_t next = UINT64_MAX;

		for (int i = 0; i < bus->n; i++)
			if (bus->nodes[i].running)
				next = NT_MIN(next, bus->nodes[i].deadline);
		if (next > end_ms)
			break;
		assert_true(next >= bus->now); /* deadlines never lie in the past */
		bus->now = next;
		for (int i = 0; i < bus->n; i++) {
			struct node *nd = &bus->nodes[i];

			if (nd->running && nd->deadline <= bus->now)
				nd->deadline = nt_mdns_tick(nd->m, bus->now);
			deliver();
		}
	}
	bus->now = end_ms;
}

static const struct seen *find_seen(const struct node *nd, const union nt_sockaddr *ep)
{
	for (size_t i = 0; i < nd->nseen; i++)
		if (nt_sockaddr_equal(&nd->seen[i].ep, ep))
			return &nd->seen[i];
	return NULL;
}

static void test_two_nodes_find_each_other(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111ffff", 51830, 10, false);
	struct node *b = add_node(TAG_A, "bbbbbbbb22222222", 51831, 11, false);
	union nt_sockaddr want_a, want_b;
	const struct seen *s;

	(void)state;
	start_node(a);
	start_node(b);
	run_until(3000);
	sa4(&want_a, "192.168.1.10", 51830);
	sa4(&want_b, "192.168.1.11", 51831);
	assert_int_equal(a->nseen, 1);
	assert_int_equal(b->nseen, 1);
	s = find_seen(a, &want_b);
	assert_non_null(s);
	assert_string_equal(s->id, "bbbbbbbb22222222");
	assert_int_equal(s->at_ms, 0); /* from b's first announcement */
	s = find_seen(b, &want_a);
	assert_non_null(s);
	assert_string_equal(s->id, "aaaaaaaa11111111"); /* TXT carries 16 hex chars */
}

/* b joins after a's announcements: b's first browse query gets a's answer. */
static void test_late_joiner_browses(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	struct node *b = add_node(TAG_A, "bbbbbbbb22222222", 51831, 11, false);
	union nt_sockaddr want_a;
	const struct seen *s;

	(void)state;
	start_node(a);
	run_until(100000);
	assert_int_equal(a->nseen, 0);
	start_node(b);
	run_until(100000 + 300);
	sa4(&want_a, "192.168.1.10", 51830);
	s = find_seen(b, &want_a);
	assert_non_null(s);
	/* first query after 20-120 ms, answered after another 20-120 ms */
	assert_true(s->at_ms >= 100000 + 40 && s->at_ms <= 100000 + 240);
	assert_int_equal(a->nseen, 1); /* and a heard b's announcement */
}

static void test_other_network_never_reported(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	struct node *c = add_node(TAG_B, "cccccccc33333333", 51832, 12, false);

	(void)state;
	start_node(a);
	start_node(c);
	run_until(200000);
	assert_int_equal(a->nseen, 0);
	assert_int_equal(c->nseen, 0);
	/* they still heard and answered each other's browse queries */
	assert_true(a->sent_responses > 2);
	assert_true(c->sent_responses > 2);
}

/* With multicast loopback a lone node hears all its own packets and reacts to none. */
static void test_ignores_itself(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, true);
	struct nt_mdns_stats st;

	(void)state;
	bus->loopback = true;
	start_node(a);
	run_until(300000);
	assert_int_equal(a->nseen, 0);
	nt_mdns_get_stats(a->m, &st);
	assert_int_equal(st.tx_response, 0); /* its own queries got no answer from itself */
	assert_int_equal(st.tx_announce, 4); /* two announcements on each of two families */
	assert_true(st.tx_query >= 2 * 9);
	assert_int_equal(st.rx_bad, 0);
	assert_int_equal(st.peers_reported, 0);
}

static size_t build_query(uint8_t *buf, size_t cap, const char *qname, uint16_t type,
			  const char *known_ptr, uint32_t known_ttl)
{
	struct nt_dns_builder b;
	struct nt_dns_name n;
	ssize_t len;

	nt_dns_builder_init(&b, buf, cap, 0, 0, true);
	assert_true(nt_dns_name_from_str(&n, qname));
	assert_int_equal(nt_dns_builder_add_question(&b, &n, type, NT_DNS_CLASS_IN), 0);
	if (known_ptr) {
		struct nt_dns_rr rr = { .type = NT_DNS_TYPE_PTR, .rclass = NT_DNS_CLASS_IN,
					.ttl = known_ttl };

		rr.name = n;
		assert_true(nt_dns_name_from_str(&rr.rd.ptr, known_ptr));
		assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
	}
	len = nt_dns_builder_finish(&b);
	assert_true(len > 0);
	return (size_t)len;
}

/* Feeds one packet from 192.168.1.99:5353 at bus->now and runs the loop to end_ms. */
static void inject(struct node *nd, const uint8_t *buf, size_t len, uint64_t end_ms)
{
	union nt_sockaddr from;

	sa4(&from, "192.168.1.99", NT_MDNS_PORT);
	nt_mdns_input(nd->m, buf, len, &from, bus->now);
	nd->deadline = nt_mdns_tick(nd->m, bus->now);
	run_until(end_ms);
}

#define INSTANCE_A TAG_A "-aaaaaaaa._netron._udp.local"

enum { T_A = 1, T_AAAA = 2, T_PTR = 4, T_SRV = 8, T_TXT = 16, T_OTHER = 32 };

static unsigned int type_bit(uint16_t type)
{
	switch (type) {
	case NT_DNS_TYPE_A:
		return T_A;
	case NT_DNS_TYPE_AAAA:
		return T_AAAA;
	case NT_DNS_TYPE_PTR:
		return T_PTR;
	case NT_DNS_TYPE_SRV:
		return T_SRV;
	case NT_DNS_TYPE_TXT:
		return T_TXT;
	default:
		return T_OTHER;
	}
}

static void test_query_gets_response(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, true);
	struct nt_dns_msg *msg = calloc(1, sizeof(*msg));
	char s[NT_DNS_NAME_STRLEN], v[32];
	static const struct {
		const char *qname;
		uint16_t qtype;
		unsigned int answers, types; /* count; type_bit()s of the answers */
	} cases[] = {
		{ "_netron._udp.local", NT_DNS_TYPE_PTR, 1, T_PTR },
		{ "_NETRON._udp.local", NT_DNS_TYPE_ANY, 1, T_PTR },
		{ INSTANCE_A, NT_DNS_TYPE_SRV, 1, T_SRV },
		{ INSTANCE_A, NT_DNS_TYPE_TXT, 1, T_TXT },
		{ INSTANCE_A, NT_DNS_TYPE_ANY, 2, T_SRV | T_TXT },
		{ "aaaaaaaa-netron.local", NT_DNS_TYPE_A, 2, T_A | T_AAAA },
		{ "_services._dns-sd._udp.local", NT_DNS_TYPE_PTR, 1, T_PTR },
		{ "_ipp._tcp.local", NT_DNS_TYPE_PTR, 0, 0 },
		{ TAG_A "-bbbbbbbb._netron._udp.local", NT_DNS_TYPE_SRV, 0, 0 },
	};
	uint8_t buf[512];

	(void)state;
	assert_non_null(msg);
	start_node(a);
	run_until(100000);
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		size_t len = build_query(buf, sizeof(buf), cases[i].qname, cases[i].qtype, NULL, 0);
		unsigned int before = a->sent_responses, types = 0, nans = 0;

		bus->now += 5000;
		inject(a, buf, len, bus->now + 200);
		if (!cases[i].answers) {
			assert_int_equal(a->sent_responses, before);
			continue;
		}
		assert_int_equal(a->sent_responses, before + 1);
		assert_int_equal(nt_dns_msg_decode(msg, a->last_response, a->last_response_len), 0);
		assert_int_equal(msg->flags, NT_DNS_FLAG_QR | NT_DNS_FLAG_AA);
		assert_int_equal(msg->qdcount, 0);
		for (unsigned int r = 0; r < msg->nrr; r++) {
			if (msg->rr[r].section != NT_DNS_SEC_ANSWER)
				continue;
			nans++;
			types |= type_bit(msg->rr[r].type);
		}
		if (nans != cases[i].answers || types != cases[i].types)
			fail_msg("case %zu (%s): %u answers, types %#x", i, cases[i].qname, nans, types);
		if (i == 0) {
			/* PTR answer, SRV/TXT/A/AAAA as additional records (RFC 6763 §12.1) */
			assert_string_equal(nt_dns_name_to_str(&msg->rr[0].rd.ptr, s, sizeof(s)),
					    INSTANCE_A);
			assert_int_equal(msg->rr[0].ttl, 4500);
			assert_int_equal(msg->arcount, 4);
			assert_int_equal(msg->rr[1].type, NT_DNS_TYPE_SRV);
			assert_int_equal(msg->rr[1].rd.srv.port, 51830);
			assert_true(msg->rr[1].cache_flush);
			assert_int_equal(msg->rr[1].ttl, 120);
			assert_string_equal(nt_dns_name_to_str(&msg->rr[1].rd.srv.target, s, sizeof(s)),
					    "aaaaaaaa-netron.local");
			assert_int_equal(msg->rr[2].type, NT_DNS_TYPE_TXT);
			assert_true(nt_dns_txt_get(&msg->rr[2].rd.txt, "v", v, sizeof(v)));
			assert_string_equal(v, "1");
			assert_true(nt_dns_txt_get(&msg->rr[2].rd.txt, "id", v, sizeof(v)));
			assert_string_equal(v, "aaaaaaaa11111111");
			assert_int_equal(msg->rr[3].type, NT_DNS_TYPE_A);
			assert_memory_equal(msg->rr[3].rd.a, ((uint8_t[]){ 192, 168, 1, 10 }), 4);
			assert_int_equal(msg->rr[4].type, NT_DNS_TYPE_AAAA);
		}
	}
	free(msg);
}

/* RFC 6762 §6: a record goes out at most once per second; the rest waits, none is lost. */
static void test_answer_rate_limit(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	uint8_t buf[512];
	size_t len = build_query(buf, sizeof(buf), "_netron._udp.local", NT_DNS_TYPE_PTR, NULL, 0);
	unsigned int r0;

	(void)state;
	start_node(a);
	run_until(1500); /* announcements at 0 and 1000 */
	r0 = a->sent_responses;
	assert_int_equal(r0, 2);
	inject(a, buf, len, 1900); /* last PTR at 1000: held until 2000 */
	assert_int_equal(a->sent_responses, r0);
	run_until(2000);
	assert_int_equal(a->sent_responses, r0 + 1);
	bus->nq = 0;
	inject(a, buf, len, 2100);
	bus->now = 2100;
	inject(a, buf, len, 2999); /* two queries, nothing before 3000 */
	assert_int_equal(a->sent_responses, r0 + 1);
	run_until(3500);
	assert_int_equal(a->sent_responses, r0 + 2); /* and one answer for both */
}

static void test_known_answer_suppression(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	uint8_t buf[512];
	size_t len;
	unsigned int r0;

	(void)state;
	start_node(a);
	run_until(10000);
	r0 = a->sent_responses;
	len = build_query(buf, sizeof(buf), "_netron._udp.local", NT_DNS_TYPE_PTR, INSTANCE_A, 4500);
	inject(a, buf, len, 12000);
	assert_int_equal(a->sent_responses, r0);
	/* a known answer at less than half its TTL does not suppress (§7.1) */
	len = build_query(buf, sizeof(buf), "_netron._udp.local", NT_DNS_TYPE_PTR, INSTANCE_A, 2000);
	inject(a, buf, len, 14000);
	assert_int_equal(a->sent_responses, r0 + 1);
	/* another instance's PTR does not suppress ours */
	len = build_query(buf, sizeof(buf), "_netron._udp.local", NT_DNS_TYPE_PTR,
			  TAG_A "-cccccccc._netron._udp.local", 4500);
	inject(a, buf, len, 16000);
	assert_int_equal(a->sent_responses, r0 + 2);
	/* the service enumeration PTR is suppressed the same way */
	len = build_query(buf, sizeof(buf), "_services._dns-sd._udp.local", NT_DNS_TYPE_PTR,
			  "_netron._udp.local", 4500);
	inject(a, buf, len, 18000);
	assert_int_equal(a->sent_responses, r0 + 2);
	len = build_query(buf, sizeof(buf), "_services._dns-sd._udp.local", NT_DNS_TYPE_PTR, NULL, 0);
	inject(a, buf, len, 20000);
	assert_int_equal(a->sent_responses, r0 + 3);
}

static void test_goodbye(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	struct node *b = add_node(TAG_A, "bbbbbbbb22222222", 51831, 11, false);
	struct nt_dns_msg *msg = calloc(1, sizeof(*msg));
	uint8_t buf[512];
	size_t len;

	(void)state;
	assert_non_null(msg);
	start_node(a);
	run_until(5000);
	nt_mdns_stop(a->m, bus->now);
	assert_int_equal(bus->nq, 1);
	assert_int_equal(a->sent_responses, 3);
	assert_int_equal(nt_dns_msg_decode(msg, a->last_response, a->last_response_len), 0);
	assert_int_equal(msg->ancount, 5); /* PTR, SRV, TXT, A, ENUM */
	for (unsigned int i = 0; i < msg->nrr; i++)
		assert_int_equal(msg->rr[i].ttl, 0);
	start_node(b);
	deliver(); /* b hears the goodbye: not a peer */
	assert_int_equal(b->nseen, 0);
	/* a is quiet now */
	assert_int_equal(nt_mdns_tick(a->m, bus->now + 100000), UINT64_MAX);
	a->running = false;
	len = build_query(buf, sizeof(buf), "_netron._udp.local", NT_DNS_TYPE_PTR, NULL, 0);
	inject(a, buf, len, bus->now + 1000);
	assert_int_equal(a->sent_responses, 3);
	nt_mdns_stop(a->m, bus->now); /* twice is harmless */
	free(msg);
}

static void test_browse_backoff(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	uint64_t t, want[12];
	unsigned int n;

	(void)state;
	start_node(a);
	run_until(400000);
	/* jitter, then 1, 2, 4 ... 32 s, then every 60 s */
	t = a->query_at[0];
	assert_true(t >= 20 && t <= 120);
	want[0] = t;
	for (unsigned int i = 1; i < 12; i++) {
		uint64_t step = i <= 6 ? 1000ULL << (i - 1) : 60000;

		want[i] = want[i - 1] + step;
	}
	for (unsigned int i = 0; i < 10; i++)
		if (a->query_at[i] != want[i])
			fail_msg("query %u at %llu, want %llu", i, (unsigned long long)a->query_at[i],
				 (unsigned long long)want[i]);

	/* With a session: keep doubling past 60 s. */
	nt_mdns_set_fast(a->m, false);
	n = a->sent_queries;
	run_until(400000 + 3600000);
	assert_true(a->sent_queries - n <= 8); /* 60,120,240,480,900,900,... s */
	assert_int_equal(a->query_at[a->sent_queries - 1] - a->query_at[a->sent_queries - 2],
			 900000);

	/* Session lost: browse at once, then 1 s again. */
	nt_mdns_set_fast(a->m, true);
	a->deadline = nt_mdns_tick(a->m, bus->now);
	n = a->sent_queries;
	assert_int_equal(a->query_at[n - 1], bus->now);
	run_until(bus->now + 1000);
	assert_int_equal(a->sent_queries, n + 1);
	assert_int_equal(a->query_at[n] - a->query_at[n - 1], 1000);
}

/* A new address is announced twice more (RFC 6762 §8.4). */
static void test_address_change_reannounces(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	struct in_addr addrs[2];
	struct nt_mdns_stats st;

	(void)state;
	start_node(a);
	run_until(10000);
	inet_pton(AF_INET, "192.168.1.10", &addrs[0]);
	inet_pton(AF_INET, "10.0.0.10", &addrs[1]);
	assert_int_equal(nt_mdns_set_addresses(a->m, addrs, 1, NULL, 0), 0); /* same: quiet */
	a->deadline = nt_mdns_tick(a->m, bus->now);
	nt_mdns_get_stats(a->m, &st);
	assert_int_equal(st.tx_announce, 2);
	assert_int_equal(nt_mdns_set_addresses(a->m, addrs, 2, NULL, 0), 0);
	a->deadline = nt_mdns_tick(a->m, bus->now);
	run_until(20000);
	nt_mdns_get_stats(a->m, &st);
	assert_int_equal(st.tx_announce, 4);
	assert_int_equal(nt_mdns_set_addresses(a->m, NULL, 1, NULL, 0), -EINVAL);
}

static ssize_t build_response(uint8_t *buf, size_t cap, const char *inst, uint16_t port,
			      const char *txt_id, const char *target, const char *a4,
			      const char *a6)
{
	struct nt_dns_builder b;
	struct nt_dns_rr rr;

	nt_dns_builder_init(&b, buf, cap, 0, NT_DNS_FLAG_QR | NT_DNS_FLAG_AA, true);
	memset(&rr, 0, sizeof(rr));
	assert_true(nt_dns_name_from_str(&rr.name, inst));
	rr.type = NT_DNS_TYPE_SRV;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.ttl = 120;
	rr.rd.srv.port = port;
	assert_true(nt_dns_name_from_str(&rr.rd.srv.target, target));
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
	if (txt_id) {
		char kv[80];

		rr.type = NT_DNS_TYPE_TXT;
		memset(&rr.rd, 0, sizeof(rr.rd));
		snprintf(kv, sizeof(kv), "id=%s", txt_id);
		assert_int_equal(nt_dns_txt_add(&rr.rd.txt, kv), 0);
		assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
	}
	assert_true(nt_dns_name_from_str(&rr.name, target));
	if (a4) {
		rr.type = NT_DNS_TYPE_A;
		assert_int_equal(inet_pton(AF_INET, a4, rr.rd.a), 1);
		assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ADDITIONAL, &rr), 0);
	}
	if (a6) {
		rr.type = NT_DNS_TYPE_AAAA;
		assert_int_equal(inet_pton(AF_INET6, a6, rr.rd.aaaa), 1);
		assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ADDITIONAL, &rr), 0);
	}
	return nt_dns_builder_finish(&b);
}

/* Responses written by other implementations: endpoint and id rules, one case per line. */
static void test_response_table(void **state)
{
	static const struct {
		const char *inst, *txt_id, *target, *a4, *a6;
		uint16_t port;
		int from_family, from_port;
		const char *want_ep; /* NULL: nothing reported */
		const char *want_id;
	} cases[] = {
		/* 0: A record of the target */
		{ TAG_A "-dddddddd._netron._udp.local", "dddddddd44444444", "h.local", "10.0.0.4",
		  NULL, 4000, AF_INET, 5353, "10.0.0.4:4000", "dddddddd44444444" },
		/* 1: no address records: the packet's source with the SRV port */
		{ TAG_A "-dddddddd._netron._udp.local", NULL, "h.local", NULL, NULL, 4000, AF_INET,
		  5353, "192.168.1.99:4000", "dddddddd" },
		/* 2: upper-case tag and id are the same names (DNS is case-insensitive) */
		{ "0123456789ABCDEF0123456789abcdef-DDDDDDDD._netron._udp.local", NULL, "h.local",
		  "10.0.0.4", NULL, 4000, AF_INET, 5353, "10.0.0.4:4000", "dddddddd" },
		/* 3: a TXT id that does not extend the name's is not believed */
		{ TAG_A "-dddddddd._netron._udp.local", "eeeeeeee44444444", "h.local", "10.0.0.4",
		  NULL, 4000, AF_INET, 5353, "10.0.0.4:4000", "dddddddd" },
		/* 4: link-local AAAA takes the scope of the interface it came in on */
		{ TAG_A "-dddddddd._netron._udp.local", NULL, "h.local", NULL, "fe80::4", 4000,
		  AF_INET6, 5353, "[fe80::4]:4000", "dddddddd" },
		/* 5: another network's tag */
		{ TAG_B "-dddddddd._netron._udp.local", NULL, "h.local", "10.0.0.4", NULL, 4000,
		  AF_INET, 5353, NULL, NULL },
		/* 6: tags one character off at either end */
		{ "0123456789abcdef0123456789abcdee-dddddddd._netron._udp.local", NULL, "h.local",
		  "10.0.0.4", NULL, 4000, AF_INET, 5353, NULL, NULL },
		{ "1123456789abcdef0123456789abcdef-dddddddd._netron._udp.local", NULL, "h.local",
		  "10.0.0.4", NULL, 4000, AF_INET, 5353, NULL, NULL },
		/* 8: our tag without a node part, or not hex */
		{ TAG_A "._netron._udp.local", NULL, "h.local", "10.0.0.4", NULL, 4000, AF_INET,
		  5353, NULL, NULL },
		{ TAG_A "-zz._netron._udp.local", NULL, "h.local", "10.0.0.4", NULL, 4000, AF_INET,
		  5353, NULL, NULL },
		/* 10: another service type */
		{ TAG_A "-dddddddd._other._udp.local", NULL, "h.local", "10.0.0.4", NULL, 4000,
		  AF_INET, 5353, NULL, NULL },
		/* 11: a response not from port 5353 (RFC 6762 §11) */
		{ TAG_A "-dddddddd._netron._udp.local", NULL, "h.local", "10.0.0.4", NULL, 4000,
		  AF_INET, 5354, NULL, NULL },
		/* 12: port 0 */
		{ TAG_A "-dddddddd._netron._udp.local", NULL, "h.local", "10.0.0.4", NULL, 0, AF_INET,
		  5353, NULL, NULL },
		/* 13: the engine's own instance, from another address */
		{ INSTANCE_A, NULL, "h.local", "10.0.0.4", NULL, 4000, AF_INET, 5353, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		struct node *a;
		union nt_sockaddr from, want;
		uint8_t buf[512];
		ssize_t len;
		char got[NT_SOCKADDR_STRLEN];

		bus->n = 0;
		a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, true);
		if (cases[i].from_family == AF_INET)
			sa4(&from, "192.168.1.99", (uint16_t)cases[i].from_port);
		else
			sa6(&from, "fe80::99", (uint16_t)cases[i].from_port, 7);
		len = build_response(buf, sizeof(buf), cases[i].inst, cases[i].port, cases[i].txt_id,
				     cases[i].target, cases[i].a4, cases[i].a6);
		assert_true(len > 0);
		nt_mdns_input(a->m, buf, (size_t)len, &from, 1000);
		if (!cases[i].want_ep) {
			if (a->nseen)
				fail_msg("case %zu: reported %s", i,
					 nt_sockaddr_format(&a->seen[0].ep, got, sizeof(got)));
		} else {
			if (a->nseen != 1)
				fail_msg("case %zu: %zu reports", i, a->nseen);
			assert_true(nt_sockaddr_parse(cases[i].want_ep, &want));
			if (want.sa.sa_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&want.in6.sin6_addr))
				want.in6.sin6_scope_id = 7;
			if (!nt_sockaddr_equal(&a->seen[0].ep, &want))
				fail_msg("case %zu: reported %s", i,
					 nt_sockaddr_format(&a->seen[0].ep, got, sizeof(got)));
			assert_string_equal(a->seen[0].id, cases[i].want_id);
		}
		nt_mdns_free(a->m);
		a->m = NULL;
		memset(a, 0, sizeof(*a));
	}
	bus->n = 0;
}

/* A link-local AAAA that arrived over IPv4 has no usable scope: fall back to the source. */
static void test_linklocal_over_ipv4(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, true);
	union nt_sockaddr from, want;
	uint8_t buf[512];
	ssize_t len;

	(void)state;
	sa4(&from, "192.168.1.99", 5353);
	len = build_response(buf, sizeof(buf), TAG_A "-dddddddd._netron._udp.local", 4000, NULL,
			     "h.local", NULL, "fe80::4");
	nt_mdns_input(a->m, buf, (size_t)len, &from, 0);
	sa4(&want, "192.168.1.99", 4000);
	assert_int_equal(a->nseen, 1);
	assert_true(nt_sockaddr_equal(&a->seen[0].ep, &want));
}

static void test_config_validation(void **state)
{
	static const struct {
		const char *tag, *id;
		uint16_t port;
		bool v4, v6;
	} bad[] = {
		{ NULL, "aaaaaaaa", 1, true, false },
		{ TAG_A, NULL, 1, true, false },
		{ "0123456789abcdef", "aaaaaaaa", 1, true, false },
		{ TAG_A "0", "aaaaaaaa", 1, true, false },
		{ "0123456789ABCDEF0123456789abcdef", "aaaaaaaa", 1, true, false },
		{ "0123456789abcdef0123456789abcdeg", "aaaaaaaa", 1, true, false },
		{ TAG_A, "aaaaaaa", 1, true, false },
		{ TAG_A, "aaaaaaaX", 1, true, false },
		{ TAG_A, "aaaaaaaa", 0, true, false },
		{ TAG_A, "aaaaaaaa", 1, false, false },
	};
	struct nt_mdns *m = (struct nt_mdns *)1;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(bad); i++) {
		struct nt_mdns_config cfg = { .tag = bad[i].tag, .node_id = bad[i].id,
					      .port = bad[i].port, .ipv4 = bad[i].v4,
					      .ipv6 = bad[i].v6, .send = on_send, .on_peer = on_peer };

		if (nt_mdns_new(&m, &cfg) != -EINVAL)
			fail_msg("case %zu accepted", i);
		assert_null(m);
	}
	nt_mdns_free(NULL);
}

/* Garbage and half-valid packets are counted and change nothing. */
static void test_bad_input_counted(void **state)
{
	struct node *a = add_node(TAG_A, "aaaaaaaa11111111", 51830, 10, false);
	static const uint8_t junk[] = { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1 };
	static const uint8_t opcode[] = { 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	union nt_sockaddr from;
	struct nt_mdns_stats st;

	(void)state;
	sa4(&from, "192.168.1.99", 5353);
	nt_mdns_input(a->m, junk, sizeof(junk), &from, 0);
	nt_mdns_input(a->m, opcode, sizeof(opcode), &from, 0);
	nt_mdns_input(a->m, junk, 3, &from, 0);
	nt_mdns_get_stats(a->m, &st);
	assert_int_equal(st.rx, 3);
	assert_int_equal(st.rx_bad, 2);
	assert_int_equal(st.rx_ignored, 1);
	assert_int_equal(a->nseen, 0);
}

/* The socket helper's address list: no loopback, counts within capacity. Touches no
 * network, only getifaddrs. */
static void test_socket_addresses(void **state)
{
	struct in_addr v4[4];
	struct in6_addr v6[4];
	size_t n4 = NT_ARRAY_SIZE(v4), n6 = NT_ARRAY_SIZE(v6);

	(void)state;
	assert_int_equal(nt_netif_addresses(NULL, v4, &n4, v6, &n6), 0);
	assert_true(n4 <= 4 && n6 <= 4);
	for (size_t i = 0; i < n4; i++)
		assert_int_not_equal(ntohl(v4[i].s_addr) >> 24, 127);
	for (size_t i = 0; i < n6; i++)
		assert_false(IN6_IS_ADDR_LOOPBACK(&v6[i]));
	n4 = n6 = 0;
	assert_int_equal(nt_netif_addresses(NULL, v4, &n4, v6, &n6), 0);
	assert_int_equal(n4 + n6, 0);
	assert_int_equal(nt_mdns_socket_open(AF_UNIX, NULL), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_nodes_find_each_other, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_joiner_browses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_network_never_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignores_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_gets_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_answer_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goodbye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_browse_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_change_reannounces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linklocal_over_ipv4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_addresses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
