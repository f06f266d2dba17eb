// SPDX-License-Identifier: MIT
/*
 * STUN Binding: our request answered by our own server side and consumed (IPv4, IPv6,
 * IPv4-mapped), hand-made messages in the shapes other stacks send (no FINGERPRINT,
 * MAPPED-ADDRESS only, unknown attributes), and every refusal: foreign transactions, the
 * wrong source, replays, expiry, eviction, bad FINGERPRINT, errors, garbage and truncation.
 * The answers' limits: per source and in all, and never more than 4 times the request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <stun/stunmessage.h>

#include "discovery/stun.h"
#include "core/util.h"

/* A clock for the tests that are not about rate limits: a second between answers. */
static uint64_t later(void)
{
	static uint64_t t;

	return t += 1000;
}

static union nt_sockaddr addr(const char *s)
{
	union nt_sockaddr a;

	assert_true(nt_sockaddr_parse(s, &a));
	return a;
}

/* One full exchange: client asks server, server answers the client as it sees it. */
static void exchange(const char *server_s, const char *client_seen_s)
{
	struct nt_stun client, server;
	union nt_sockaddr srv = addr(server_s), seen = addr(client_seen_s), refl;
	uint8_t req[NT_STUN_MSG_MAX], resp[NT_STUN_MSG_MAX];
	ssize_t n, m;

	assert_int_equal(nt_stun_init(&client), 0);
	assert_int_equal(nt_stun_init(&server), 0);
	n = nt_stun_request(&client, &srv, 1000, req, sizeof(req));
	assert_int_equal(n, 28); /* header + FINGERPRINT */
	assert_true(nt_stun_is_stun(req, (size_t)n));
	assert_int_equal(nt_stun_pending_count(&client), 1);
	m = nt_stun_answer(&server, req, (size_t)n, &seen, later(), resp, sizeof(resp));
	assert_true(m > 0);
	assert_true(nt_stun_is_stun(resp, (size_t)m));
	assert_int_equal(memcmp(req + 4, resp + 4, 16), 0); /* same transaction */
	assert_true(nt_stun_consume_response(&client, resp, (size_t)m, &srv, &refl));
	assert_true(nt_sockaddr_equal(&refl, &seen));
	assert_int_equal(nt_stun_pending_count(&client), 0);
	/* Once only. */
	assert_false(nt_stun_consume_response(&client, resp, (size_t)m, &srv, &refl));
	nt_stun_uninit(&client);
	nt_stun_uninit(&server);
}

static void test_round_trip_v4(void **state)
{
	exchange("203.0.113.10:51830", "198.51.100.7:40001");
}

static void test_round_trip_v6(void **state)
{
	exchange("[2001:db8::10]:51830", "[2001:db8:1::7]:61000");
}

static void test_v4_mapped_source(void **state)
{
	struct nt_stun c, s;
	union nt_sockaddr srv = addr("203.0.113.10:3478"), want = addr("198.51.100.9:4242"), refl, mapped;
	uint8_t req[64], resp[64];
	ssize_t n, m;

	memset(&mapped, 0, sizeof(mapped));
	mapped.in6.sin6_family = AF_INET6;
	mapped.in6.sin6_port = htons(4242);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.9", &mapped.in6.sin6_addr), 1);
	nt_stun_init(&c);
	nt_stun_init(&s);
	n = nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = nt_stun_answer(&s, req, (size_t)n, &mapped, later(), resp, sizeof(resp));
	assert_true(m > 0);
	assert_true(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl));
	assert_int_equal(refl.sa.sa_family, AF_INET);
	assert_true(nt_sockaddr_equal(&refl, &want));
	nt_stun_uninit(&c);
	nt_stun_uninit(&s);
}

static void test_is_stun(void **state)
{
	uint8_t m[32] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42 };

	assert_true(nt_stun_is_stun(m, 20));
	assert_false(nt_stun_is_stun(m, 19)); /* truncated */
	assert_false(nt_stun_is_stun(m, 24)); /* length field says 0 */
	assert_false(nt_stun_is_stun(NULL, 20));
	m[3] = 4;
	assert_true(nt_stun_is_stun(m, 24));
	m[3] = 2;
	assert_false(nt_stun_is_stun(m, 22)); /* not a multiple of 4 */
	m[3] = 0;
	m[7] = 0x43;
	assert_false(nt_stun_is_stun(m, 20)); /* wrong cookie */
	m[7] = 0x42;
	m[0] = 0x04;
	assert_false(nt_stun_is_stun(m, 20)); /* outside 0x00-0x03 */
	m[0] = 0xE1;
	assert_false(nt_stun_is_stun(m, 20)); /* a Netron frame */
	m[0] = 'd';
	assert_false(nt_stun_is_stun(m, 20)); /* a DHT message */
}

/* A bare 20-byte Binding request, as stunclient, coturn's turnutils and browsers send. */
static size_t bare_request(uint8_t *m, uint16_t type, uint8_t id_byte)
{
	memset(m, 0, 20);
	m[0] = type >> 8;
	m[1] = type & 0xff;
	m[4] = 0x21, m[5] = 0x12, m[6] = 0xA4, m[7] = 0x42;
	memset(m + 8, id_byte, 12);
	return 20;
}

static bool has_attr(const uint8_t *buf, size_t len, uint16_t type)
{
	StunMessage msg = { 0 };

	msg.buffer = (uint8_t *)buf;
	msg.buffer_len = len;
	return stun_message_has_attribute(&msg, type);
}

static void test_answer_bare_request(void **state)
{
	struct nt_stun s;
	union nt_sockaddr from = addr("198.51.100.7:1234");
	uint8_t req[64], resp[NT_STUN_MSG_MAX];
	ssize_t m;

	nt_stun_init(&s);
	bare_request(req, 0x0001, 0x5a);
	m = nt_stun_answer(&s, req, 20, &from, later(), resp, sizeof(resp));
	assert_int_equal(m, 20 + 12); /* XOR-MAPPED-ADDRESS (v4), no FINGERPRINT asked for */
	assert_int_equal(resp[0], 0x01);
	assert_int_equal(resp[1], 0x01);
	assert_true(has_attr(resp, (size_t)m, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS));
	assert_false(has_attr(resp, (size_t)m, STUN_ATTRIBUTE_FINGERPRINT));
	/* XOR-MAPPED-ADDRESS by hand: port ^ 0x2112, address ^ cookie (RFC 8489 §14.2). */
	assert_int_equal(resp[20], 0x00);
	assert_int_equal(resp[21], 0x20);
	assert_int_equal(resp[25], 0x01);
	assert_int_equal((resp[26] << 8 | resp[27]) ^ 0x2112, 1234);
	assert_int_equal(resp[28] ^ 0x21, 198);
	assert_int_equal(resp[29] ^ 0x12, 51);
	assert_int_equal(resp[30] ^ 0xA4, 100);
	assert_int_equal(resp[31] ^ 0x42, 7);
	assert_int_equal(s.answered, 1);
	nt_stun_uninit(&s);
}

static void test_answer_refusals(void **state)
{
	struct nt_stun c, s;
	union nt_sockaddr from = addr("198.51.100.7:1234"), srv = addr("203.0.113.10:51830");
	uint8_t req[64], resp[NT_STUN_MSG_MAX], buf[64];
	ssize_t n, m;
	size_t i;

	nt_stun_init(&c);
	nt_stun_init(&s);
	/* 1 */ bare_request(buf, 0x0101, 1); /* a success response */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 2 */ bare_request(buf, 0x0111, 1); /* an error response */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 3 */ bare_request(buf, 0x0011, 1); /* a Binding indication (keepalive) */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 4 */ bare_request(buf, 0x0003, 1); /* TURN Allocate request */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 5 */ bare_request(buf, 0x0001, 1);
	buf[4] = 0; /* RFC 3489, no cookie */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 6 */ bare_request(buf, 0x0001, 1);
	assert_int_equal(nt_stun_answer(&s, buf, 19, &from, later(), resp, sizeof(resp)), 0);
	/* 7 */ buf[3] = 8; /* claims 8 bytes of attributes it does not have */
	assert_int_equal(nt_stun_answer(&s, buf, 20, &from, later(), resp, sizeof(resp)), 0);
	/* 8 */ memset(buf + 20, 0xff, 8); /* and now has 8 bytes that are no attribute */
	assert_int_equal(nt_stun_answer(&s, buf, 28, &from, later(), resp, sizeof(resp)), 0);

	/* 9: our request with its FINGERPRINT broken */
	n = nt_stun_request(&c, &srv, 0, req, sizeof(req));
	assert_int_equal(n, 28);
	req[27] ^= 1;
	assert_int_equal(nt_stun_answer(&s, req, (size_t)n, &from, later(), resp, sizeof(resp)), 0);
	req[27] ^= 1;
	/* 10: our own response is not a request */
	m = nt_stun_answer(&s, req, (size_t)n, &from, later(), resp, sizeof(resp));
	assert_true(m > 0);
	assert_int_equal(nt_stun_answer(&s, resp, (size_t)m, &from, later(), buf, sizeof(buf)), 0);
	/* 11: every truncation of a valid request */
	for (i = 0; i < (size_t)n; i++)
		assert_int_equal(nt_stun_answer(&s, req, i, &from, later(), resp, sizeof(resp)), 0);
	/* 12: too little room, a from of no known family */
	assert_int_equal(nt_stun_answer(&s, req, (size_t)n, &from, later(), resp, 30), -ENOBUFS);
	{
		union nt_sockaddr none = { 0 };

		assert_int_equal(nt_stun_answer(&s, req, (size_t)n, &none, later(), resp, sizeof(resp)), -EINVAL);
	}
	assert_int_equal(s.answered, 1);
	nt_stun_uninit(&c);
	nt_stun_uninit(&s);
}

static void test_answer_unknown_attribute(void **state)
{
	struct nt_stun s;
	union nt_sockaddr from = addr("198.51.100.7:1234");
	uint8_t req[64], resp[NT_STUN_MSG_MAX];
	ssize_t m;
	int code;
	StunMessage msg = { 0 };

	nt_stun_init(&s);
	/* CHANGE-REQUEST (RFC 5780), comprehension-required, which we do not implement: 420. */
	bare_request(req, 0x0001, 7);
	req[3] = 8;
	req[20] = 0x00, req[21] = 0x03, req[22] = 0x00, req[23] = 0x04;
	memset(req + 24, 0, 4);
	req[27] = 0x06;
	m = nt_stun_answer(&s, req, 28, &from, later(), resp, sizeof(resp));
	assert_true(m > 0);
	assert_int_equal(resp[0], 0x01);
	assert_int_equal(resp[1], 0x11); /* Binding error response */
	msg.buffer = resp;
	msg.buffer_len = (size_t)m;
	assert_int_equal(stun_message_find_error(&msg, &code), STUN_MESSAGE_RETURN_SUCCESS);
	assert_int_equal(code, 420);
	assert_true(has_attr(resp, (size_t)m, STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES));

	/* SOFTWARE is comprehension-optional: answered normally. */
	bare_request(req, 0x0001, 8);
	req[3] = 8;
	req[20] = 0x80, req[21] = 0x22, req[22] = 0x00, req[23] = 0x03;
	memcpy(req + 24, "abc", 4);
	m = nt_stun_answer(&s, req, 28, &from, later(), resp, sizeof(resp));
	assert_true(m > 0);
	assert_int_equal(resp[1], 0x01);
	nt_stun_uninit(&s);
}

static void test_consume_refusals(void **state)
{
	struct nt_stun c, other, s;
	union nt_sockaddr srv = addr("203.0.113.10:51830"), me = addr("198.51.100.7:40000"), refl;
	union nt_sockaddr wrong_port = addr("203.0.113.10:51831"), wrong_host = addr("203.0.113.11:51830");
	uint8_t req[64], resp[NT_STUN_MSG_MAX], foreign[NT_STUN_MSG_MAX];
	ssize_t n, m, f;

	nt_stun_init(&c);
	nt_stun_init(&other);
	nt_stun_init(&s);
	n = nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = nt_stun_answer(&s, req, (size_t)n, &me, later(), resp, sizeof(resp));
	assert_true(m > 0);

	/* A response to someone else's transaction, from the right server. */
	n = nt_stun_request(&other, &srv, 0, req, sizeof(req));
	f = nt_stun_answer(&s, req, (size_t)n, &me, later(), foreign, sizeof(foreign));
	assert_true(f > 0);
	assert_false(nt_stun_consume_response(&c, foreign, (size_t)f, &srv, &refl));
	/* Ours, but from another port or host: refused, and the transaction stays open. */
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m, &wrong_port, &refl));
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m, &wrong_host, &refl));
	/* A broken FINGERPRINT, then a truncation: refused, still open. */
	resp[m - 1] ^= 0x80;
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl));
	resp[m - 1] ^= 0x80;
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m - 4, &srv, &refl));
	/* A request echoed back is not a response. */
	assert_false(nt_stun_consume_response(&c, req, (size_t)n, &srv, &refl));
	assert_int_equal(nt_stun_pending_count(&c), 1);
	assert_true(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl));
	assert_true(nt_sockaddr_equal(&refl, &me));
	nt_stun_uninit(&c);
	nt_stun_uninit(&other);
	nt_stun_uninit(&s);
}

/* A response by hand around our transaction ID: type, then attributes (already padded). */
static size_t craft_response(uint8_t *out, const uint8_t *req, uint16_t type, const uint8_t *attrs, size_t alen)
{
	out[0] = type >> 8;
	out[1] = type & 0xff;
	out[2] = alen >> 8;
	out[3] = alen & 0xff;
	memcpy(out + 4, req + 4, 16);
	if (alen)
		memcpy(out + 20, attrs, alen);
	return 20 + alen;
}

static void test_consume_other_shapes(void **state)
{
	struct nt_stun c;
	union nt_sockaddr srv = addr("203.0.113.20:3478"), refl, want = addr("203.0.113.1:1024");
	uint8_t req[64], resp[128];
	/* MAPPED-ADDRESS only (servers that predate XOR-MAPPED-ADDRESS), 203.0.113.1:1024. */
	static const uint8_t mapped[] = { 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x04, 0x00, 203, 0, 113, 1 };
	/* XOR-MAPPED-ADDRESS of 0.0.0.0:0: no usable address. */
	static const uint8_t zero[] = { 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0x21, 0x12, 0x21, 0x12, 0xA4, 0x42 };
	/* An error response 400. */
	static const uint8_t err400[] = { 0x00, 0x09, 0x00, 0x04, 0x00, 0x00, 0x04, 0x00 };
	/* A success response with an unknown comprehension-required attribute 0x7f00. */
	static const uint8_t unknown[] = { 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08,
					   0x00, 0x01, 0x04, 0x00, 203,  0,    113,  1 };
	size_t m;

	nt_stun_init(&c);
	nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = craft_response(resp, req, 0x0101, mapped, sizeof(mapped));
	assert_true(nt_stun_consume_response(&c, resp, m, &srv, &refl));
	assert_true(nt_sockaddr_equal(&refl, &want));

	nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = craft_response(resp, req, 0x0101, zero, sizeof(zero));
	assert_false(nt_stun_consume_response(&c, resp, m, &srv, &refl));
	assert_int_equal(nt_stun_pending_count(&c), 0); /* answered, uselessly: over */

	nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = craft_response(resp, req, 0x0111, err400, sizeof(err400));
	assert_false(nt_stun_consume_response(&c, resp, m, &srv, &refl));
	assert_int_equal(nt_stun_pending_count(&c), 0);

	nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = craft_response(resp, req, 0x0101, unknown, sizeof(unknown));
	assert_false(nt_stun_consume_response(&c, resp, m, &srv, &refl));
	assert_int_equal(nt_stun_pending_count(&c), 0);

	/* A success response with no address at all. */
	nt_stun_request(&c, &srv, 0, req, sizeof(req));
	m = craft_response(resp, req, 0x0101, NULL, 0);
	assert_false(nt_stun_consume_response(&c, resp, m, &srv, &refl));
	nt_stun_uninit(&c);
}

static void test_expiry_and_eviction(void **state)
{
	struct nt_stun c, s;
	union nt_sockaddr srv = addr("203.0.113.10:51830"), me = addr("198.51.100.7:40000"), refl;
	uint8_t req[NT_STUN_MAX_PENDING + 1][64], resp[NT_STUN_MSG_MAX];
	ssize_t n[NT_STUN_MAX_PENDING + 1], m;
	unsigned int i;

	nt_stun_init(&c);
	nt_stun_init(&s);
	n[0] = nt_stun_request(&c, &srv, 1000, req[0], sizeof(req[0]));
	assert_int_equal(nt_stun_expire(&c, 1000 + NT_STUN_TIMEOUT_MS - 1), 0);
	assert_int_equal(nt_stun_expire(&c, 1000 + NT_STUN_TIMEOUT_MS), 1);
	m = nt_stun_answer(&s, req[0], (size_t)n[0], &me, later(), resp, sizeof(resp));
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl)); /* too late */

	/* One more than the table holds: the oldest goes. */
	for (i = 0; i <= NT_STUN_MAX_PENDING; i++) {
		n[i] = nt_stun_request(&c, &srv, 2000 + i, req[i], sizeof(req[i]));
		assert_true(n[i] > 0);
	}
	assert_int_equal(nt_stun_pending_count(&c), NT_STUN_MAX_PENDING);
	m = nt_stun_answer(&s, req[0], (size_t)n[0], &me, later(), resp, sizeof(resp));
	assert_false(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl));
	for (i = 1; i <= NT_STUN_MAX_PENDING; i++) {
		m = nt_stun_answer(&s, req[i], (size_t)n[i], &me, later(), resp, sizeof(resp));
		assert_true(nt_stun_consume_response(&c, resp, (size_t)m, &srv, &refl));
	}
	assert_int_equal(nt_stun_pending_count(&c), 0);
	/* The agent's own table (200 IDs) never fills: a long run of expired requests. */
	for (i = 0; i < 1000; i++) {
		assert_true(nt_stun_request(&c, &srv, 10000 + i * 100000ULL, req[0], sizeof(req[0])) > 0);
		nt_stun_expire(&c, 10000 + i * 100000ULL + NT_STUN_TIMEOUT_MS);
	}
	for (i = 0; i < 1000; i++)
		assert_true(nt_stun_request(&c, &srv, 1, req[0], sizeof(req[0])) > 0); /* evictions */
	assert_int_equal(nt_stun_request(&c, &srv, 1, req[0], 10), -ENOBUFS);
	{
		union nt_sockaddr none = addr("0.0.0.0:3478");

		assert_int_equal(nt_stun_request(&c, &none, 1, req[0], sizeof(req[0])), -EINVAL);
	}
	nt_stun_uninit(&c);
	nt_stun_uninit(&s);
}

/* Random bytes behind a valid header: no crash, no answer to anything but a request. */
static void test_garbage(void **state)
{
	struct nt_stun c, s;
	union nt_sockaddr srv = addr("203.0.113.10:51830"), refl;
	uint8_t buf[128], resp[NT_STUN_MSG_MAX];
	unsigned int i, j;
	size_t len;

	nt_stun_init(&c);
	nt_stun_init(&s);
	nt_stun_request(&c, &srv, 0, buf, sizeof(buf));
	srand(42);
	for (i = 0; i < 200000; i++) {
		len = 20 + 4 * (size_t)(rand() % 27);
		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rand();
		buf[0] &= 0x01;
		buf[2] = 0;
		buf[3] = (uint8_t)(len - 20);
		buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xA4, buf[7] = 0x42;
		if (nt_stun_answer(&s, buf, len, &srv, later(), resp, sizeof(resp)) > 0)
			assert_true((buf[0] & 0x01) == 0 && (buf[1] & 0x10) == 0);
		assert_false(nt_stun_consume_response(&c, buf, len, &srv, &refl));
	}
	nt_stun_uninit(&c);
	nt_stun_uninit(&s);
}

/* A bare request with transaction ID i (so that each is new), answered at now_ms? */
static ssize_t ask(struct nt_stun *s, const union nt_sockaddr *from, uint32_t i, uint64_t now_ms)
{
	uint8_t req[20], resp[NT_STUN_MSG_MAX];
	ssize_t m;

	bare_request(req, 0x0001, 0);
	memcpy(req + 8, &i, sizeof(i));
	m = nt_stun_answer(s, req, sizeof(req), from, now_ms, resp, sizeof(resp));
	assert_true(m > 0 || m == -EAGAIN);
	if (m > 0)
		assert_true((size_t)m <= 4 * sizeof(req));
	return m;
}

static unsigned int flood(struct nt_stun *s, const union nt_sockaddr *from, unsigned int n,
			  uint64_t now_ms)
{
	static uint32_t id;
	unsigned int ok = 0;

	while (n--)
		ok += ask(s, from, id++, now_ms) > 0;
	return ok;
}

/*
 * A flood from one source gets the burst (NT_STUN_ANSWER_BURST), then the rate; a source is
 * an IPv4 address (any port) or an IPv6 /64; all sources together get the total burst;
 * and what is not answered (junk, responses) costs nothing.
 */
static void test_answer_rate_limits(void **state)
{
	struct nt_stun s;
	union nt_sockaddr from = addr("198.51.100.7:1234"), port2 = addr("198.51.100.7:999");
	uint8_t buf[20], resp[NT_STUN_MSG_MAX];
	uint64_t t = 1000000;

	nt_stun_init(&s);
	assert_int_equal(flood(&s, &from, 1000, t), NT_STUN_ANSWER_BURST);
	assert_int_equal(s.limited, 1000 - NT_STUN_ANSWER_BURST);
	assert_int_equal(flood(&s, &port2, 10, t), 0);
	assert_int_equal(flood(&s, &from, 10, t + 1000 / NT_STUN_ANSWER_RATE), 1);
	assert_int_equal(flood(&s, &from, 100, t + 1000 + 1000 / NT_STUN_ANSWER_RATE), NT_STUN_ANSWER_RATE);
	/* Another source is not affected; one IPv6 /64 is one source. */
	t += 2000;
	assert_int_equal(flood(&s, &from, 100, t), 1);
	{
		union nt_sockaddr other = addr("198.51.100.8:1234");
		assert_int_equal(flood(&s, &other, 100, t), NT_STUN_ANSWER_BURST);
	}
	{
		unsigned int ok = 0;
		for (int i = 0; i < 100; i++) {
			char a[64];
			snprintf(a, sizeof(a), "[2001:db8:5:6:%x::1]:3478", i);
			union nt_sockaddr v6 = addr(a);
			ok += flood(&s, &v6, 1, t);
		}
		assert_int_equal(ok, NT_STUN_ANSWER_BURST);
	}
	nt_stun_uninit(&s);

	/* Junk with a member's address (responses, indications) does not spend its limit. */
	nt_stun_init(&s);
	for (int i = 0; i < 1000; i++) {
		bare_request(buf, i & 1 ? 0x0101 : 0x0011, (uint8_t)i);
		assert_int_equal(nt_stun_answer(&s, buf, 20, &from, t, resp, sizeof(resp)), 0);
	}
	assert_int_equal(flood(&s, &from, 10, t), NT_STUN_ANSWER_BURST);
	nt_stun_uninit(&s);

	/* All sources together. */
	nt_stun_init(&s);
	{
		unsigned int ok = 0;
		for (int i = 0; i < 1000; i++) {
			char a[32];
			snprintf(a, sizeof(a), "10.%d.%d.1:3478", i / 250, i % 250);
			union nt_sockaddr src = addr(a);
			ok += flood(&s, &src, 1, t);
		}
		assert_int_equal(ok, NT_STUN_ANSWER_TOTAL_BURST);
	}
	nt_stun_uninit(&s);
}

/* FINGERPRINT over buf (RFC 8489 §14.7): CRC-32 (ISO HDLC) XOR 0x5354554e. */
static uint32_t fingerprint(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffff;

	for (size_t i = 0; i < len; i++) {
		crc ^= buf[i];
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320 & -(crc & 1));
	}
	return ~crc ^ 0x5354554e;
}

/*
 * Whatever a request carries, its answer is at most 4 times its size: bare, with
 * FINGERPRINT, with one or many unknown comprehension-required attributes (the 420 lists
 * them), with comprehension-optional ones, from IPv4, IPv6 and IPv4-mapped sources.
 */
static void test_answer_size_bound(void **state)
{
	static const char *const froms[] = {
		"198.51.100.7:1234", "[2001:db8::7]:1234", "[::ffff:198.51.100.7]:1234",
	};
	struct nt_stun c, s;
	union nt_sockaddr srv = addr("203.0.113.10:3478");
	uint8_t req[NT_STUN_MSG_MAX], resp[NT_STUN_MSG_MAX];
	ssize_t n, m;
	size_t len;
	double worst = 0;

	nt_stun_init(&c);
	nt_stun_init(&s);
	for (size_t f = 0; f < NT_ARRAY_SIZE(froms); f++) {
		union nt_sockaddr from = addr(froms[f]);
		for (unsigned int shape = 0; shape < 8; shape++) {
			unsigned int nattr = shape < 2 ? 0 : shape < 4 ? 1 : shape < 6 ? 2 : 120;
			if (shape % 2 == 0) {
				len = bare_request(req, 0x0001, (uint8_t)shape);
			} else {
				n = nt_stun_request(&c, &srv, 1, req, sizeof(req));
				assert_int_equal(n, 28);
				len = 20; /* attributes go before its FINGERPRINT: rebuilt below */
			}
			/*
			 * Unknown comprehension-required attributes 0x0030..: empty ones (the
			 * 420 is then largest next to the request, x2.33), or of 4 bytes.
			 */
			for (unsigned int a = 0; a < nattr && len + 8 <= sizeof(req) - 8; a++) {
				uint8_t vlen = shape < 4 ? 0 : 4;
				req[len] = 0x00, req[len + 1] = (uint8_t)(0x30 + a % 64);
				req[len + 2] = 0x00, req[len + 3] = vlen;
				memset(req + len + 4, 0, vlen);
				len += 4 + vlen;
			}
			if (shape % 2) {
				/* Our request's FINGERPRINT, recomputed over the new length. */
				uint32_t crc;
				req[2] = (uint8_t)((len + 8 - 20) >> 8);
				req[3] = (uint8_t)(len + 8 - 20);
				crc = htonl(fingerprint(req, len));
				req[len] = 0x80, req[len + 1] = 0x28, req[len + 2] = 0x00, req[len + 3] = 0x04;
				memcpy(req + len + 4, &crc, 4);
				len += 8;
			} else {
				req[2] = (uint8_t)((len - 20) >> 8);
				req[3] = (uint8_t)(len - 20);
			}
			m = nt_stun_answer(&s, req, len, &from, later(), resp, sizeof(resp));
			if (m <= 0)
				fail_msg("from %s, shape %u (%zu bytes): %zd", froms[f], shape, len, m);
			if ((size_t)m > 4 * len)
				fail_msg("from %s, shape %u: %zd bytes for %zu", froms[f], shape, m, len);
			assert_int_equal(resp[1] & 0x10, nattr ? 0x10 : 0x00); /* 420 iff unknown */
			worst = NT_MAX(worst, (double)m / (double)len);
		}
	}
	print_message("stun: the largest answer was %.2f times its request\n", worst);
	nt_stun_uninit(&c);
	nt_stun_uninit(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_stun),
		cmocka_unit_test(test_round_trip_v4),
		cmocka_unit_test(test_round_trip_v6),
		cmocka_unit_test(test_v4_mapped_source),
		cmocka_unit_test(test_answer_bare_request),
		cmocka_unit_test(test_answer_refusals),
		cmocka_unit_test(test_answer_unknown_attribute),
		cmocka_unit_test(test_consume_refusals),
		cmocka_unit_test(test_consume_other_shapes),
		cmocka_unit_test(test_expiry_and_eviction),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_answer_rate_limits),
		cmocka_unit_test(test_answer_size_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
