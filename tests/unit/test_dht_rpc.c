// SPDX-License-Identifier: MIT
/*
 * KRPC codec: the example messages of BEP 5 decoded and re-encoded byte for byte, a
 * round trip of every field (BEP 32 nodes6/want, BEP 42 ip, BEP 43 ro), and a numbered
 * table of malformed messages each rejected with its own error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "discovery/dht_rpc.h"

static struct nt_krpc_msg m, m2;

#define S(lit) (const uint8_t *)(lit), sizeof(lit) - 1

/* BEP 5, "KRPC Protocol" examples (nodes placeholders replaced where noted). */
static const char ping_q[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
static const char ping_r[] = "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re";
static const char find_q[] = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
			     "1:q9:find_node1:t2:aa1:y1:qe";
static const char getp_q[] = "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e"
			     "1:q9:get_peers1:t2:aa1:y1:qe";
static const char getp_r_values[] = "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth"
				    "6:valuesl6:axje.u6:idhtnmee1:t2:aa1:y1:re";
static const char announce_q[] = "d1:ad2:id20:abcdefghij012345678912:implied_porti1e"
				 "9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe"
				 "1:q13:announce_peer1:t2:aa1:y1:qe";
static const char error_e[] = "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee";
/* find_node response with one real 26-byte node: "0123456789abcdefghij" at 1.2.3.4:6881. */
static const char find_r[] = "d1:rd2:id20:0123456789abcdefghij5:nodes26:0123456789abcdefghij"
			     "\x01\x02\x03\x04\x1a\xe1"
			     "e1:t2:aa1:y1:re";

static void decode_ok(const char *what, const uint8_t *buf, size_t len)
{
	int ret = nt_krpc_decode(&m, buf, len);

	if (ret != 0)
		fail_msg("%s: %s (bencode: %s)", what, nt_krpc_strerror(ret),
			 nt_bencode_strerror(m.bencode_err));
}

static void reencode_equals(const char *want, size_t len)
{
	uint8_t buf[512];
	ssize_t n = nt_krpc_encode(&m, buf, sizeof(buf));

	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(buf, want, len);
}

static void test_golden_queries(void **state)
{
	(void)state;
	decode_ok("ping", S(ping_q));
	assert_int_equal(m.type, NT_KRPC_QUERY);
	assert_int_equal(m.method, NT_KRPC_PING);
	assert_int_equal(m.tid_len, 2);
	assert_memory_equal(m.tid, "aa", 2);
	assert_memory_equal(m.id, "abcdefghij0123456789", 20);
	assert_false(m.has_v);
	reencode_equals(ping_q, sizeof(ping_q) - 1);

	decode_ok("find_node", S(find_q));
	assert_int_equal(m.method, NT_KRPC_FIND_NODE);
	assert_memory_equal(m.target, "mnopqrstuvwxyz123456", 20);
	assert_int_equal(m.want, 0);
	reencode_equals(find_q, sizeof(find_q) - 1);

	decode_ok("get_peers", S(getp_q));
	assert_int_equal(m.method, NT_KRPC_GET_PEERS);
	assert_memory_equal(m.target, "mnopqrstuvwxyz123456", 20);
	reencode_equals(getp_q, sizeof(getp_q) - 1);

	decode_ok("announce_peer", S(announce_q));
	assert_int_equal(m.method, NT_KRPC_ANNOUNCE_PEER);
	assert_true(m.implied_port);
	assert_int_equal(m.port, 6881);
	assert_int_equal(m.token_len, 8);
	assert_memory_equal(m.token, "aoeusnth", 8);
	reencode_equals(announce_q, sizeof(announce_q) - 1);
}

static void test_golden_responses(void **state)
{
	char buf[NT_SOCKADDR_STRLEN];
	uint8_t id[20];
	union nt_sockaddr a;

	(void)state;
	decode_ok("ping response", S(ping_r));
	assert_int_equal(m.type, NT_KRPC_RESPONSE);
	assert_int_equal(m.method, NT_KRPC_NONE);
	assert_memory_equal(m.id, "mnopqrstuvwxyz123456", 20);
	assert_null(m.nodes);
	reencode_equals(ping_r, sizeof(ping_r) - 1);

	decode_ok("get_peers values", S(getp_r_values));
	assert_int_equal(m.token_len, 8);
	assert_int_equal(m.n_values, 2);
	/* "axje.u" = 97.120.106.101:11893, "idhtnm" = 105.100.104.116:28269 */
	assert_string_equal(nt_sockaddr_format(&m.values[0], buf, sizeof(buf)), "97.120.106.101:11893");
	assert_string_equal(nt_sockaddr_format(&m.values[1], buf, sizeof(buf)),
			    "105.100.104.116:28269");
	reencode_equals(getp_r_values, sizeof(getp_r_values) - 1);

	decode_ok("find_node response", S(find_r));
	assert_int_equal(m.nodes_len, 26);
	assert_true(nt_krpc_node_get(m.nodes, m.nodes_len, AF_INET, 0, id, &a));
	assert_memory_equal(id, "0123456789abcdefghij", 20);
	assert_string_equal(nt_sockaddr_format(&a, buf, sizeof(buf)), "1.2.3.4:6881");
	assert_false(nt_krpc_node_get(m.nodes, m.nodes_len, AF_INET, 1, id, &a));
	reencode_equals(find_r, sizeof(find_r) - 1);

	decode_ok("error", S(error_e));
	assert_int_equal(m.type, NT_KRPC_ERROR);
	assert_int_equal(m.error_code, 201);
	assert_int_equal(m.error_msg_len, 23);
	assert_memory_equal(m.error_msg, "A Generic Error Ocurred", 23);
	reencode_equals(error_e, sizeof(error_e) - 1);
}

static void test_round_trip_all_fields(void **state)
{
	uint8_t buf[1500], nodes[2 * 26], nodes6[38];
	union nt_sockaddr a4, a6;
	ssize_t n;

	(void)state;
	assert_true(nt_sockaddr_parse("192.0.2.7:51830", &a4));
	assert_true(nt_sockaddr_parse("[2001:db8::42]:6881", &a6));
	assert_int_equal(nt_krpc_node_put(nodes, (const uint8_t *)"AAAAAAAAAAAAAAAAAAAA", &a4), 26);
	assert_int_equal(nt_krpc_node_put(nodes + 26, (const uint8_t *)"BBBBBBBBBBBBBBBBBBBB", &a4), 26);
	assert_int_equal(nt_krpc_node_put(nodes6, (const uint8_t *)"CCCCCCCCCCCCCCCCCCCC", &a6), 38);

	memset(&m, 0, sizeof(m));
	m.type = NT_KRPC_RESPONSE;
	memcpy(m.tid, "\x00\xff\x10\x7f", 4);
	m.tid_len = 4;
	m.has_v = true;
	memcpy(m.v, "NT\x00\x01", 4);
	m.has_ip = true;
	m.ip = a6;
	memcpy(m.id, "abcdefghij0123456789", 20);
	m.nodes = nodes;
	m.nodes_len = sizeof(nodes);
	m.nodes6 = nodes6;
	m.nodes6_len = sizeof(nodes6);
	m.token = (const uint8_t *)"tok";
	m.token_len = 3;
	m.n_values = 3;
	m.values[0] = a4;
	m.values[1] = a6;
	m.values[2] = a4;
	n = nt_krpc_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(nt_krpc_decode(&m2, buf, (size_t)n), 0);
	assert_int_equal(m2.type, NT_KRPC_RESPONSE);
	assert_int_equal(m2.tid_len, 4);
	assert_memory_equal(m2.tid, m.tid, 4);
	assert_true(m2.has_v);
	assert_memory_equal(m2.v, "NT\x00\x01", 4);
	assert_true(m2.has_ip);
	assert_true(nt_sockaddr_equal(&m2.ip, &a6));
	assert_memory_equal(m2.id, m.id, 20);
	assert_int_equal(m2.nodes_len, sizeof(nodes));
	assert_memory_equal(m2.nodes, nodes, sizeof(nodes));
	assert_int_equal(m2.nodes6_len, sizeof(nodes6));
	assert_memory_equal(m2.nodes6, nodes6, sizeof(nodes6));
	assert_int_equal(m2.token_len, 3);
	assert_int_equal(m2.n_values, 3);
	assert_true(nt_sockaddr_equal(&m2.values[1], &a6));
	assert_true(nt_sockaddr_equal(&m2.values[2], &a4));

	/* A query with want both, ro, and announce without implied_port. */
	memset(&m, 0, sizeof(m));
	m.type = NT_KRPC_QUERY;
	m.method = NT_KRPC_GET_PEERS;
	m.tid[0] = 'x';
	m.tid_len = 1;
	m.want = NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6;
	m.ro = true;
	n = nt_krpc_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(nt_krpc_decode(&m2, buf, (size_t)n), 0);
	assert_int_equal(m2.want, NT_KRPC_WANT_N4 | NT_KRPC_WANT_N6);
	assert_true(m2.ro);

	m.method = NT_KRPC_ANNOUNCE_PEER;
	m.port = 51830;
	m.token = (const uint8_t *)"12345678";
	m.token_len = 8;
	n = nt_krpc_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(nt_krpc_decode(&m2, buf, (size_t)n), 0);
	assert_false(m2.implied_port);
	assert_int_equal(m2.port, 51830);

	/* Encoder refusals. */
	m.token = NULL;
	assert_int_equal(nt_krpc_encode(&m, buf, sizeof(buf)), -EINVAL);
	m.method = NT_KRPC_PING;
	assert_int_equal(nt_krpc_encode(&m, buf, 10), -ENOBUFS);
	m.tid_len = 0;
	assert_int_equal(nt_krpc_encode(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_malformed(void **state)
{
	static const struct {
		const char *in;
		size_t len; /* 0: strlen */
		int err;
	} cases[] = {
		/* 0 */ { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:q", 0, NT_KRPC_E_BENCODE },
		/* 1 */ { "l1:ae", 0, NT_KRPC_E_NOT_DICT },
		/* 2 */ { "d1:y1:qe", 0, NT_KRPC_E_TID },
		/* 3 */ { "d1:t0:1:y1:qe", 0, NT_KRPC_E_TID },
		/* 4 */ { "d1:t17:aaaaaaaaaaaaaaaaa1:y1:qe", 0, NT_KRPC_E_TID },
		/* 5 */ { "d1:ti1e1:y1:qe", 0, NT_KRPC_E_TID },
		/* 6 */ { "d1:t2:aae", 0, NT_KRPC_E_TYPE },
		/* 7 */ { "d1:t2:aa1:y1:xe", 0, NT_KRPC_E_TYPE },
		/* 8 */ { "d1:t2:aa1:y1:qe", 0, NT_KRPC_E_METHOD },
		/* 9 */ { "d1:q4:ping1:t2:aa1:y1:qe", 0, NT_KRPC_E_ARGS },
		/* 10 */ { "d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe", 0, NT_KRPC_E_ID },
		/* 11 */ { "d1:ade1:q4:ping1:t2:aa1:y1:qe", 0, NT_KRPC_E_ID },
		/* 12 */ { "d1:ad2:id20:abcdefghij0123456789e1:q9:find_node1:t2:aa1:y1:qe", 0,
			   NT_KRPC_E_TARGET },
		/* 13 */ { "d1:ad2:id20:abcdefghij01234567899:info_hash3:abce1:q9:get_peers1:t2:aa1:y1:qe",
			   0, NT_KRPC_E_INFO_HASH },
		/* 14 */ { "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti6881ee"
			   "1:q13:announce_peer1:t2:aa1:y1:qe", 0, NT_KRPC_E_TOKEN },
		/* 15 */ { "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234565:token2:xxe"
			   "1:q13:announce_peer1:t2:aa1:y1:qe", 0, NT_KRPC_E_PORT },
		/* 16 */ { "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:porti65536e"
			   "5:token2:xxe1:q13:announce_peer1:t2:aa1:y1:qe", 0, NT_KRPC_E_PORT },
		/* 17 */ { "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz1234564:port4:6881"
			   "5:token2:xxe1:q13:announce_peer1:t2:aa1:y1:qe", 0, NT_KRPC_E_PORT },
		/* 18 */ { "d1:rd2:id20:0123456789abcdefghij5:nodes9:def456...e1:t2:aa1:y1:re", 0,
			   NT_KRPC_E_NODES },
		/* 19 */ { "d1:rd2:id20:0123456789abcdefghij6:nodes626:0123456789abcdefghij123456e"
			   "1:t2:aa1:y1:re", 0, NT_KRPC_E_NODES6 },
		/* 20 */ { "d1:rd2:id20:abcdefghij01234567896:valuesl5:axje.ee1:t2:aa1:y1:re", 0,
			   NT_KRPC_E_VALUES },
		/* 21 */ { "d1:rd2:id20:abcdefghij01234567896:values6:axje.ue1:t2:aa1:y1:re", 0,
			   NT_KRPC_E_VALUES },
		/* 22 */ { "d2:ip5:123451:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re", 0, NT_KRPC_E_IP },
		/* 23 */ { "d1:eli201ee1:t2:aa1:y1:ee", 0, NT_KRPC_E_ERROR_LIST },
		/* 24 */ { "d1:el3:abci201ee1:t2:aa1:y1:ee", 0, NT_KRPC_E_ERROR_LIST },
		/* 25 */ { "d1:e3:abc1:t2:aa1:y1:ee", 0, NT_KRPC_E_ERROR_LIST },
		/* 26 */ { "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz1234564:wanti4ee"
			   "1:q9:find_node1:t2:aa1:y1:qe", 0, NT_KRPC_E_WANT },
		/* 27 */ { "d1:ad2:id20:abcdefghij012345678912:implied_porti2e9:info_hash20:mnopqrstuvwxyz123456"
			   "5:token2:xxe1:q13:announce_peer1:t2:aa1:y1:qe", 0, NT_KRPC_E_FLAG },
		/* 28 */ { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi5e1:t2:aa1:y1:qe", 0, NT_KRPC_E_FLAG },
		/* 29 */ { "d1:r0:1:t2:aa1:y1:re", 0, NT_KRPC_E_ARGS },
		/* 30 */ { "d1:rd2:id20:abcdefghij01234567895:token0:e1:t2:aa1:y1:re", 0, NT_KRPC_E_TOKEN },
		/* 31 */ { "d1:rd2:id20:abcdefghij01234567895:token41:"
			   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaae1:t2:aa1:y1:re", 0, NT_KRPC_E_TOKEN },
		/* 32 */ { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe1:x", 0, NT_KRPC_E_BENCODE },
		/* 33 */ { "d1:t2:aa1:y1:q1:ad2:id20:abcdefghij0123456789e1:q4:pinge", 0, NT_KRPC_E_BENCODE },
		/* 34 */ { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", 10, NT_KRPC_E_BENCODE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		int ret = nt_krpc_decode(&m, (const uint8_t *)cases[i].in, len);
		if (ret != cases[i].err)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, nt_krpc_strerror(ret),
				 nt_krpc_strerror(cases[i].err));
	}
	/* A bad query still exposes its type and tid, for the 203 answer. */
	assert_int_equal(nt_krpc_decode(&m, (const uint8_t *)cases[12].in, strlen(cases[12].in)),
			 NT_KRPC_E_TARGET);
	assert_int_equal(m.type, NT_KRPC_QUERY);
	assert_int_equal(m.tid_len, 2);
	assert_int_equal(nt_krpc_decode(&m, (const uint8_t *)cases[32].in, strlen(cases[32].in)),
			 NT_KRPC_E_BENCODE);
	assert_int_equal(m.bencode_err, NT_BENC_E_TRAILING);
}

static void test_lenient_where_bep5_says(void **state)
{
	/* Unknown keys are ignored; an unknown method decodes as such (answered with 204). */
	static const char unknown[] = "d1:ad2:id20:abcdefghij01234567896:targeti1ee"
				      "1:q11:sample_info1:t2:aa1:v4:UT\x01\x02" "1:y1:q1:zi0ee";
	/* More values than we keep: the rest are counted, not an error. */
	uint8_t buf[4096];
	size_t n = 0;

	(void)state;
	decode_ok("unknown method", S(unknown));
	assert_int_equal(m.method, NT_KRPC_UNKNOWN);
	assert_true(m.has_v);
	assert_memory_equal(m.v, "UT\x01\x02", 4);

	n += (size_t)sprintf((char *)buf, "d1:rd2:id20:abcdefghij01234567896:valuesl");
	for (int i = 0; i < NT_KRPC_VALUES_MAX + 5; i++) {
		memcpy(buf + n, "6:\x0a\x00\x00\x01\x1a\xe1", 8);
		n += 8;
	}
	n += (size_t)sprintf((char *)buf + n, "ee1:t2:aa1:y1:re");
	decode_ok("many values", buf, n);
	assert_int_equal(m.n_values, NT_KRPC_VALUES_MAX);
	assert_int_equal(m.values_dropped, 5);
}

static void test_compact(void **state)
{
	union nt_sockaddr a;
	uint8_t out[18];

	(void)state;
	assert_false(nt_krpc_compact_decode(&a, (const uint8_t *)"12345", 5));
	assert_false(nt_krpc_compact_decode(&a, (const uint8_t *)"1234567", 7));
	assert_true(nt_krpc_compact_decode(&a, (const uint8_t *)"\xc0\x00\x02\x01\xca\x76", 6));
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(a.in4.sin_port), 51830);
	assert_int_equal(nt_krpc_compact_encode(out, &a), 6);
	assert_memory_equal(out, "\xc0\x00\x02\x01\xca\x76", 6);
	memset(&a, 0, sizeof(a));
	assert_int_equal(nt_krpc_compact_encode(out, &a), 0);
	assert_string_equal(nt_krpc_method_name(NT_KRPC_ANNOUNCE_PEER), "announce_peer");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_queries),
		cmocka_unit_test(test_golden_responses),
		cmocka_unit_test(test_round_trip_all_fields),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_lenient_where_bep5_says),
		cmocka_unit_test(test_compact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
