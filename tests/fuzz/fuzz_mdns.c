// SPDX-License-Identifier: MIT
/*
 * Fuzz target for LAN discovery input: the bytes go through the DNS decoder, which must
 * accept or reject without reading past them; an accepted message is re-encoded with the
 * builder and must decode to the same records. Then the same bytes are fed to one mDNS
 * engine (from IPv4 or IPv6 by the first byte), whose every reply must itself decode.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dns.h"
#include "discovery/mdns.h"

static struct nt_dns_msg msg, again;
static uint8_t out[65536];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool txt_equal(const struct nt_dns_txt *a, const struct nt_dns_txt *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void roundtrip(void)
{
	struct nt_dns_builder b;
	unsigned int n = 0;
	ssize_t len;

	nt_dns_builder_init(&b, out, sizeof(out), msg.id, msg.flags, msg.id & 1);
	for (unsigned int i = 0; i < msg.nq; i++)
		check(nt_dns_builder_add_question(&b, &msg.q[i].name, msg.q[i].type,
						  (uint16_t)(msg.q[i].qclass |
							     (msg.q[i].unicast_response ? 0x8000 : 0))) == 0);
	for (unsigned int i = 0; i < msg.nrr; i++) {
		if (msg.rr[i].type == NT_DNS_TYPE_TXT && msg.rr[i].rd.txt.truncated)
			continue;
		check(nt_dns_builder_add_rr(&b, msg.rr[i].section, &msg.rr[i]) == 0);
	}
	len = nt_dns_builder_finish(&b);
	check(len >= NT_DNS_HEADER_LEN);
	check(nt_dns_msg_decode(&again, out, (size_t)len) == NT_DNS_OK);
	check(again.nq == msg.nq);
	for (unsigned int i = 0; i < msg.nq; i++)
		check(nt_dns_name_equal(&again.q[i].name, &msg.q[i].name) &&
		      again.q[i].type == msg.q[i].type);
	for (unsigned int i = 0; i < msg.nrr; i++) {
		const struct nt_dns_rr *x = &msg.rr[i], *y;

		if (x->type == NT_DNS_TYPE_TXT && x->rd.txt.truncated)
			continue;
		check(n < again.nrr);
		y = &again.rr[n++];
		check(x->type == y->type && x->ttl == y->ttl && x->rclass == y->rclass &&
		      x->cache_flush == y->cache_flush && x->section == y->section &&
		      nt_dns_name_equal(&x->name, &y->name));
		if (x->type == NT_DNS_TYPE_PTR || x->type == NT_DNS_TYPE_CNAME)
			check(nt_dns_name_equal(&x->rd.ptr, &y->rd.ptr));
		else if (x->type == NT_DNS_TYPE_SOA)
			check(nt_dns_name_equal(&x->rd.soa.mname, &y->rd.soa.mname) &&
			      nt_dns_name_equal(&x->rd.soa.rname, &y->rd.soa.rname) &&
			      x->rd.soa.serial == y->rd.soa.serial &&
			      x->rd.soa.minimum == y->rd.soa.minimum);
		else if (x->type == NT_DNS_TYPE_SRV)
			check(x->rd.srv.port == y->rd.srv.port &&
			      nt_dns_name_equal(&x->rd.srv.target, &y->rd.srv.target));
		else if (x->type == NT_DNS_TYPE_TXT)
			check(txt_equal(&x->rd.txt, &y->rd.txt));
		else if (x->type == NT_DNS_TYPE_A)
			check(memcmp(x->rd.a, y->rd.a, 4) == 0);
		else
			check(memcmp(x->rd.aaaa, y->rd.aaaa, 16) == 0);
	}
	check(n == again.nrr);
}

static void on_send(void *ctx, const uint8_t *buf, size_t len, int family)
{
	(void)ctx;
	(void)family;
	check(len <= NT_MDNS_PKT_MAX);
	check(nt_dns_msg_decode(&again, buf, len) == NT_DNS_OK);
}

static void on_peer(void *ctx, const union nt_sockaddr *ep, const char *id)
{
	(void)ctx;
	check(ep->sa.sa_family == AF_INET || ep->sa.sa_family == AF_INET6);
	check(strlen(id) >= 1 && strlen(id) <= 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nt_mdns *m;
	static uint64_t now;
	union nt_sockaddr from;

	if (nt_dns_msg_decode(&msg, data, size) == NT_DNS_OK)
		roundtrip();

	if (!m) {
		struct nt_mdns_config cfg = {
			.tag = "0123456789abcdef0123456789abcdef", .node_id = "aaaaaaaa11111111",
			.port = 51830, .ipv4 = true, .ipv6 = true, .send = on_send, .on_peer = on_peer,
		};
		struct in_addr a4 = { htonl(0xc0a8010a) };
		struct in6_addr a6 = { { { 0xfe, 0x80, [15] = 1 } } };

		if (nt_mdns_new(&m, &cfg) < 0)
			abort();
		nt_mdns_set_addresses(m, &a4, 1, &a6, 1);
	}
	memset(&from, 0, sizeof(from));
	if (size && (data[size - 1] & 1)) {
		from.in6.sin6_family = AF_INET6;
		from.in6.sin6_port = htons(NT_MDNS_PORT);
		from.in6.sin6_addr.s6_addr[0] = 0xfe;
		from.in6.sin6_addr.s6_addr[1] = 0x80;
		from.in6.sin6_addr.s6_addr[15] = 9;
		from.in6.sin6_scope_id = 3;
	} else {
		from.in4.sin_family = AF_INET;
		from.in4.sin_port = htons(NT_MDNS_PORT);
		from.in4.sin_addr.s_addr = htonl(0xc0a80163);
	}
	now += 250;
	nt_mdns_input(m, data, size, &from, now);
	nt_mdns_tick(m, now);
	return 0;
}
