// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the DHT's untrusted input: the KRPC codec and the engine.
 * 1. The input is decoded; if it is valid, it is re-encoded and decoded again, and the
 *    known fields must survive the round trip.
 * 2. The input, split at each "\xff\xfe" into datagrams, is fed to an engine with a
 *    fixed clock and a constant random source (so its transaction IDs are "aaaa" and
 *    responses can match), alternately from an IPv4 and an IPv6 bootstrap node; then
 *    a lookup runs over whatever the table learned. Everything the engine sends must
 *    itself be a valid KRPC message, and what a query makes it send back to the
 *    query's source IP must be at most 4 times the query (docs/dht.md §6).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dht.h"
#include "discovery/dht_rpc.h"
#include "core/log.h"

static struct nt_krpc_msg m1, m2, sent, in;
static uint8_t buf[1 << 16];
static const union nt_sockaddr *query_from; /* source of the query being fed, or NULL */
static size_t query_back; /* bytes sent back to its IP */

static bool same_ip(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
}

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void round_trip(const uint8_t *data, size_t size)
{
	ssize_t n;

	if (nt_krpc_decode(&m1, data, size) != 0)
		return;
	if (m1.type == NT_KRPC_QUERY && m1.method == NT_KRPC_UNKNOWN)
		return; /* we do not encode methods we do not know */
	n = nt_krpc_encode(&m1, buf, sizeof(buf));
	check(n > 0);
	check(nt_krpc_decode(&m2, buf, (size_t)n) == 0);
	check(m2.type == m1.type && m2.method == m1.method && m2.tid_len == m1.tid_len);
	check(memcmp(m2.tid, m1.tid, m1.tid_len) == 0);
	check(m2.has_v == m1.has_v && (!m1.has_v || memcmp(m2.v, m1.v, 4) == 0));
	if (m1.type == NT_KRPC_ERROR) {
		check(m2.error_code == m1.error_code && m2.error_msg_len == m1.error_msg_len);
		check(memcmp(m2.error_msg, m1.error_msg, m1.error_msg_len) == 0);
		return;
	}
	check(memcmp(m2.id, m1.id, sizeof(m1.id)) == 0);
	if (m1.type == NT_KRPC_QUERY) {
		check(m2.ro == m1.ro);
		if (m1.method != NT_KRPC_PING)
			check(memcmp(m2.target, m1.target, sizeof(m1.target)) == 0);
		if (m1.method == NT_KRPC_FIND_NODE || m1.method == NT_KRPC_GET_PEERS)
			check(m2.want == m1.want);
		if (m1.method == NT_KRPC_ANNOUNCE_PEER)
			check(m2.port == m1.port && m2.implied_port == m1.implied_port &&
			      m2.token_len == m1.token_len);
		return;
	}
	check(m2.has_ip == m1.has_ip && (!m1.has_ip || nt_sockaddr_equal(&m2.ip, &m1.ip)));
	check(m2.nodes_len == m1.nodes_len && m2.nodes6_len == m1.nodes6_len);
	check(m2.token_len == m1.token_len && m2.n_values == m1.n_values);
	for (size_t i = 0; i < m1.n_values; i++)
		check(nt_sockaddr_equal(&m2.values[i], &m1.values[i]));
}

static void fixed_rand(void *ctx, void *p, size_t len)
{
	memset(p, 'a', len);
}

static void on_send(void *ctx, const void *p, size_t len, const union nt_sockaddr *to)
{
	check(len <= 1500);
	check(to->sa.sa_family == AF_INET || to->sa.sa_family == AF_INET6);
	check(nt_krpc_decode(&sent, p, len) == 0);
	if (query_from && same_ip(to, query_from))
		query_back += len;
}

static void on_peers(void *ctx, const uint8_t ih[20], const union nt_sockaddr *p, size_t n)
{
	check(n > 0 && n <= NT_KRPC_VALUES_MAX);
	for (size_t i = 0; i < n; i++)
		check(p[i].sa.sa_family == AF_INET || p[i].sa.sa_family == AF_INET6);
}

static void engine(const uint8_t *data, size_t size)
{
	struct nt_dht_config cfg = {
		.ipv4 = true, .ipv6 = true, .port = 51830, .send = on_send, .on_peers = on_peers,
		.rand = fixed_rand, .max_nodes = 64, .max_hashes = 4, .max_peers = 4,
		.max_searches = 2, .max_pending = 32, .rate_per_ip = 1000, .rate_total = 100000,
	};
	union nt_sockaddr from[2];
	struct nt_dht *dht;
	uint64_t now = 1000000;
	size_t start = 0, k = 0;
	uint8_t ih[20];

	if (nt_dht_new(&dht, &cfg) < 0)
		return;
	nt_sockaddr_parse("10.0.0.1:6881", &from[0]);
	nt_sockaddr_parse("[2001:db8::1]:6881", &from[1]);
	nt_dht_add_node(dht, &from[0], now);
	nt_dht_add_node(dht, &from[1], now);
	for (size_t i = 0; i <= size; i++) {
		if (i < size && !(i + 1 < size && data[i] == 0xff && data[i + 1] == 0xfe))
			continue;
		/* The engine takes anything whose "y" it could read as q for a query. */
		nt_krpc_decode(&in, data + start, i - start);
		query_from = in.type == NT_KRPC_QUERY ? &from[k & 1] : NULL;
		query_back = 0;
		nt_dht_input(dht, data + start, i - start, &from[k++ & 1], now);
		check(query_back <= 4 * (i - start));
		query_from = NULL;
		now += 100;
		nt_dht_tick(dht, now);
		start = i + 2;
		i++;
	}
	memset(ih, 0x42, sizeof(ih));
	nt_dht_announce(dht, ih, now);
	for (int t = 0; t < 5; t++) {
		now += 1500;
		nt_dht_tick(dht, now);
	}
	nt_dht_free(dht);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;

	if (!quiet) {
		nt_log_set_level(NT_LOG_ERROR, 0);
		quiet = true;
	}
	round_trip(data, size);
	engine(data, size);
	return 0;
}
