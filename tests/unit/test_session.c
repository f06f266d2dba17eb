// SPDX-License-Identifier: MIT
/*
 * Data frames and keypair rotation: round trips between a keypair and its mirror, the
 * frame layout against libsodium's combined AEAD, tampering with every bit, replay,
 * reordering, the window edge, the REJECT/REKEY limits, the plaintext parser, batches,
 * and the previous/current/next rules with a fake clock (no sockets, no sleeping).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/session.h"
#include "core/util.h"

#define T0 UINT64_C(1000000) /* the fake clock's start, ms */
#define IDX_A UINT32_C(0x11223344)
#define IDX_B UINT32_C(0xa0b0c0d0)

enum { BUF = 2048 };

struct pair {
	struct nt_keypair *a; /* initiator: sends with k1, receives with k2 */
	struct nt_keypair *b; /* responder: the mirror */
};

static void keys(uint8_t k1[32], uint8_t k2[32], uint8_t seed)
{
	for (int i = 0; i < 32; i++) {
		k1[i] = (uint8_t)(seed + i);
		k2[i] = (uint8_t)(seed + 0x80 + i);
	}
}

static void pair_new(struct pair *p, uint8_t seed, uint32_t ia, uint32_t ib, uint64_t now)
{
	uint8_t k1[32], k2[32];

	keys(k1, k2, seed);
	assert_int_equal(nt_session_keypair_new(&p->a, k1, k2, ia, ib, true, now), 0);
	assert_int_equal(nt_session_keypair_new(&p->b, k2, k1, ib, ia, false, now), 0);
}

static int setup(void **state)
{
	static struct pair p;

	pair_new(&p, 1, IDX_A, IDX_B, T0);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	nt_session_keypair_free(p->a);
	nt_session_keypair_free(p->b);
	return 0;
}

/* Encrypts plain with from into buf; returns the frame length. */
static size_t seal(struct nt_keypair *from, uint8_t *buf, const uint8_t *plain, size_t n, uint64_t now)
{
	memcpy(buf + NT_DATA_HEADER_LEN, plain, n);
	assert_int_equal(nt_session_keypair_encrypt(from, buf, BUF, n, now), 0);
	return n + NT_DATA_OVERHEAD;
}

/* A well-formed IPv4 packet of total length len (>= 20) after the inner type byte. */
static size_t ipv4_plain(uint8_t *p, size_t len)
{
	memset(p, 0, len + 1);
	p[0] = NT_DATA_INNER_IP;
	p[1] = 0x45;
	p[3] = (uint8_t)(len >> 8);
	p[4] = (uint8_t)len;
	for (size_t i = 21; i <= len; i++)
		p[i] = (uint8_t)i;
	return len + 1;
}

static void test_round_trip(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], buf[BUF], expect[BUF];
	struct nt_data_rx rx;
	static const size_t sizes[] = { 20, 21, 64, 1280, 1420 };

	for (size_t i = 0; i < NT_ARRAY_SIZE(sizes); i++) {
		size_t n = ipv4_plain(plain, sizes[i]), len;

		len = seal(p->a, buf, plain, n, T0);
		assert_int_equal(len, n + 32);
		/* header: type, zeros, receiver index LE, counter LE */
		assert_int_equal(buf[0], 0xE5);
		assert_int_equal(buf[1] | buf[2] | buf[3], 0);
		assert_int_equal(buf[4] | buf[5] << 8 | buf[6] << 16 | (uint32_t)buf[7] << 24, IDX_B);
		assert_int_equal(buf[8], i);
		for (int j = 9; j < 16; j++)
			assert_int_equal(buf[j], 0);
		assert_memory_not_equal(buf + 16, plain, n); /* it is encrypted */

		assert_int_equal(nt_session_keypair_decrypt(p->b, buf, len, T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.counter, i);
		assert_int_equal(rx.inner_type, NT_DATA_INNER_IP);
		assert_int_equal(rx.ip_version, 4);
		assert_int_equal(rx.payload_len, sizes[i]);
		assert_ptr_equal(rx.payload, buf + 17);
		memcpy(expect, plain + 1, sizes[i]);
		assert_memory_equal(rx.payload, expect, sizes[i]);
	}
	assert_int_equal(p->a->send_counter, NT_ARRAY_SIZE(sizes));

	/* The other direction, a keepalive and a control message. */
	{
		static const uint8_t ka[] = { NT_DATA_INNER_KEEPALIVE };
		static const uint8_t ctl[] = { 0x07, 'h', 'e', 'l', 'l', 'o' };
		size_t len = seal(p->b, buf, ka, sizeof(ka), T0);

		assert_int_equal(len, 33);
		assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.inner_type, NT_DATA_INNER_KEEPALIVE);
		assert_int_equal(rx.payload_len, 0);
		len = seal(p->b, buf, ctl, sizeof(ctl), T0);
		assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.inner_type, 0x07);
		assert_int_equal(rx.counter, 1);
		assert_int_equal(rx.payload_len, 5);
		assert_memory_equal(rx.payload, "hello", 5);
	}
}

/* The layout, independently: libsodium's combined API with the header as AD. */
static void test_known_layout(void **state)
{
	struct pair *p = *state;
	uint8_t k1[32], k2[32], buf[BUF], ref[BUF], nonce[12] = { 0 };
	static const uint8_t msg[] = { 0x09, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	unsigned long long clen;
	size_t len;

	keys(k1, k2, 1);
	p->a->send_counter = UINT64_C(0x0102030405060708);
	len = seal(p->a, buf, msg, sizeof(msg), T0);
	memcpy(nonce + 4, buf + 8, 8);
	assert_memory_equal(buf + 8, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(ref, &clen, msg, sizeof(msg), buf,
								   16, NULL, nonce, k1), 0);
	assert_int_equal(clen + 16, len);
	assert_memory_equal(buf + 16, ref, clen);
}

static void test_tamper(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], frame[BUF], copy[BUF];
	struct nt_replay before;
	struct nt_data_rx rx;
	size_t n = ipv4_plain(plain, 40), len;
	unsigned int verdicts[NT_PKT_VERDICT_COUNT] = { 0 };

	/* A previous frame so the window is not empty. */
	len = seal(p->a, frame, plain, n, T0);
	assert_int_equal(nt_session_keypair_decrypt(p->b, frame, len, T0, &rx), NT_PKT_OK);

	len = seal(p->a, frame, plain, n, T0);
	before = p->b->replay;
	for (size_t bit = 0; bit < len * 8; bit++) {
		enum nt_pkt_verdict v;

		memcpy(copy, frame, len);
		copy[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		v = nt_session_keypair_decrypt(p->b, copy, len, T0, &rx);
		if (v == NT_PKT_OK || v == NT_PKT_DROP_INNER)
			fail_msg("bit %zu flipped: accepted", bit);
		verdicts[v]++;
		if (memcmp(&before, &p->b->replay, sizeof(before)) != 0)
			fail_msg("bit %zu flipped: the replay window moved", bit);
	}
	/* type and reserved bytes, index, counter bits, the rest */
	assert_int_equal(verdicts[NT_PKT_DROP_HEADER], 32);
	assert_int_equal(verdicts[NT_PKT_DROP_INDEX], 32);
	/* counter 1 -> 0 was seen already; any other counter flip is fresh but forged */
	assert_int_equal(verdicts[NT_PKT_DROP_REPLAY], 1);
	assert_int_equal(verdicts[NT_PKT_DROP_AUTH], len * 8 - 65);
	/* Truncation and extension fail too. */
	for (size_t cut = 1; cut < len; cut++) {
		memcpy(copy, frame, len);
		assert_int_not_equal(nt_session_keypair_decrypt(p->b, copy, len - cut, T0, &rx), NT_PKT_OK);
	}
	memcpy(copy, frame, len);
	copy[len] = 0;
	assert_int_equal(nt_session_keypair_decrypt(p->b, copy, len + 1, T0, &rx), NT_PKT_DROP_AUTH);
	/* The untouched frame still decrypts: nothing forged moved the window. */
	assert_int_equal(nt_session_keypair_decrypt(p->b, frame, len, T0, &rx), NT_PKT_OK);
	assert_int_equal(rx.counter, 1);
}

/* A forged frame with a far-ahead counter must not push good frames out of the window. */
static void test_forged_jump(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], good[BUF], forged[BUF];
	struct nt_data_rx rx;
	size_t n = ipv4_plain(plain, 20), len;

	len = seal(p->a, good, plain, n, T0);
	memcpy(forged, good, len);
	forged[8 + 3] = 0x40; /* counter 0x40000000 */
	assert_int_equal(nt_session_keypair_decrypt(p->b, forged, len, T0, &rx), NT_PKT_DROP_AUTH);
	assert_int_equal(p->b->replay.next, 0);
	assert_int_equal(nt_session_keypair_decrypt(p->b, good, len, T0, &rx), NT_PKT_OK);
}

static void test_replay_and_reorder(void **state)
{
	struct pair *p = *state;
	enum { N = 64 };
	static uint8_t frames[N][128];
	uint8_t plain[BUF], copy[BUF];
	size_t lens[N];
	struct nt_data_rx rx;
	size_t n = ipv4_plain(plain, 60);

	for (size_t i = 0; i < N; i++)
		lens[i] = seal(p->a, frames[i], plain, n, T0);
	/* A fixed permutation: 37 is coprime with 64. */
	for (size_t i = 0; i < N; i++) {
		size_t j = (i * 37 + 5) % N;

		memcpy(copy, frames[j], lens[j]);
		assert_int_equal(nt_session_keypair_decrypt(p->b, copy, lens[j], T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.counter, j);
	}
	for (size_t j = 0; j < N; j++) {
		memcpy(copy, frames[j], lens[j]);
		assert_int_equal(nt_session_keypair_decrypt(p->b, copy, lens[j], T0, &rx),
				 NT_PKT_DROP_REPLAY);
	}
}

static void test_window_edge(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], f0[BUF], f1[BUF], far[BUF], copy[BUF];
	struct nt_data_rx rx;
	size_t n = ipv4_plain(plain, 20), l0, l1, lf;

	l0 = seal(p->a, f0, plain, n, T0); /* counter 0 */
	l1 = seal(p->a, f1, plain, n, T0); /* counter 1 */
	p->a->send_counter = NT_REPLAY_WINDOW + 1;
	lf = seal(p->a, far, plain, n, T0);
	assert_int_equal(nt_session_keypair_decrypt(p->b, far, lf, T0, &rx), NT_PKT_OK);
	/* greatest is W + 1: counter 1 is W behind (just out), counter 2 the oldest inside */
	memcpy(copy, f1, l1);
	assert_int_equal(nt_session_keypair_decrypt(p->b, copy, l1, T0, &rx), NT_PKT_DROP_REPLAY);
	memcpy(copy, f0, l0);
	assert_int_equal(nt_session_keypair_decrypt(p->b, copy, l0, T0, &rx), NT_PKT_DROP_REPLAY);
	p->a->send_counter = 2;
	l0 = seal(p->a, f0, plain, n, T0);
	assert_int_equal(nt_session_keypair_decrypt(p->b, f0, l0, T0, &rx), NT_PKT_OK);
	assert_int_equal(rx.counter, 2);
}

static void test_limits(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], buf[BUF];
	struct nt_data_rx rx;
	size_t n = ipv4_plain(plain, 20), len;

	/* The last counter a keypair may send, and then none. */
	p->a->send_counter = NT_REJECT_AFTER_MESSAGES - 1;
	assert_true(nt_session_keypair_can_send(p->a, T0));
	len = seal(p->a, buf, plain, n, T0);
	assert_false(nt_session_keypair_can_send(p->a, T0));
	memcpy(buf + 16, plain, n);
	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, BUF, n, T0), -EKEYEXPIRED);
	assert_int_equal(p->a->send_counter, NT_REJECT_AFTER_MESSAGES);
	len = seal(p->b, buf, plain, n, T0); /* the other direction is unaffected */
	assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0, &rx), NT_PKT_OK);

	/* Receive side: REJ - 1 is accepted; REJ refused before any crypto. */
	p->a->send_counter = 0;
	{
		uint8_t k1[32], k2[32];
		struct nt_keypair *c;

		keys(k1, k2, 1);
		assert_int_equal(nt_session_keypair_new(&c, k1, k2, IDX_A, IDX_B, true, T0), 0);
		c->send_counter = NT_REJECT_AFTER_MESSAGES - 1;
		len = seal(c, buf, plain, n, T0);
		assert_int_equal(nt_session_keypair_decrypt(p->b, buf, len, T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.counter, NT_REJECT_AFTER_MESSAGES - 1);
		nt_session_keypair_free(c);
	}
	buf[8] = 0xfe; /* counter = REJ = 2^64 - 8194 = ...dffe */
	buf[9] = 0xdf;
	assert_int_equal(nt_session_keypair_decrypt(p->b, buf, len, T0, &rx), NT_PKT_DROP_EXPIRED);

	/* Time: usable until just before REJECT_AFTER_TIME. */
	assert_true(nt_session_keypair_can_send(p->b, T0 + NT_REJECT_AFTER_TIME_MS - 1));
	assert_false(nt_session_keypair_can_send(p->b, T0 + NT_REJECT_AFTER_TIME_MS));
	assert_false(nt_session_keypair_can_receive(p->a, T0 + NT_REJECT_AFTER_TIME_MS));
	len = seal(p->b, buf, plain, n, T0 + NT_REJECT_AFTER_TIME_MS - 1);
	assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0 + NT_REJECT_AFTER_TIME_MS, &rx),
			 NT_PKT_DROP_EXPIRED);
	assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0 + NT_REJECT_AFTER_TIME_MS - 1,
						    &rx),
			 NT_PKT_OK);
	memcpy(buf + 16, plain, n);
	assert_int_equal(nt_session_keypair_encrypt(p->b, buf, BUF, n, T0 + NT_REJECT_AFTER_TIME_MS),
			 -EKEYEXPIRED);
}

static void test_encrypt_errors(void **state)
{
	struct pair *p = *state;
	uint8_t buf[BUF] = { NT_DATA_INNER_KEEPALIVE };

	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, BUF, 0, T0), -EINVAL);
	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, 32 + 9, 10, T0), -EMSGSIZE);
	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, 16, 1, T0), -EMSGSIZE);
	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, 0, SIZE_MAX, T0), -EMSGSIZE);
	assert_int_equal(p->a->send_counter, 0); /* no counter consumed */
	assert_int_equal(nt_session_keypair_encrypt(p->a, buf, 32 + 10, 10, T0), 0);
	assert_int_equal(p->a->send_counter, 1);
}

static void test_header(void **state)
{
	struct pair *p = *state;
	uint8_t plain[BUF], buf[BUF], copy[BUF];
	struct nt_data_rx rx;
	uint32_t idx;
	uint64_t ctr;
	size_t len = seal(p->a, buf, (const uint8_t *)"\x00", 1, T0);

	for (size_t l = 0; l < NT_DATA_MIN_LEN; l++)
		assert_int_equal(nt_session_frame_parse_header(buf, l, &idx, &ctr), NT_PKT_DROP_SHORT);
	assert_int_equal(nt_session_frame_parse_header(buf, len, &idx, &ctr), NT_PKT_OK);
	assert_int_equal(idx, IDX_B);
	assert_int_equal(ctr, 0);
	assert_int_equal(nt_session_frame_parse_header(buf, len, NULL, NULL), NT_PKT_OK);
	for (int i = 0; i < 4; i++) {
		memcpy(copy, buf, len);
		copy[i] ^= 0x10;
		assert_int_equal(nt_session_frame_parse_header(copy, len, &idx, &ctr),
				 NT_PKT_DROP_HEADER);
		assert_int_equal(nt_session_keypair_decrypt(p->b, copy, len, T0, &rx),
				 NT_PKT_DROP_HEADER);
	}
	/* A frame for another keypair. */
	assert_int_equal(nt_session_keypair_decrypt(p->a, buf, len, T0, &rx), NT_PKT_DROP_INDEX);
	/* A short frame never reaches the AEAD. */
	memcpy(copy, buf, len);
	assert_int_equal(nt_session_keypair_decrypt(p->b, copy, 32, T0, &rx), NT_PKT_DROP_SHORT);
	(void)plain;
}

struct inner_case {
	const char *name;
	uint8_t plain[64];
	size_t len;
	enum nt_pkt_verdict verdict;
	uint8_t type, version;
	size_t payload_len;
};

/* IPv4 header: 0x45, tos, total length (BE) */
#define V4(tl) 0x01, 0x45, 0, 0, (tl)
/* IPv6 header: 0x60, ..., payload length (BE) at bytes 4..5 */
#define V6(pl) 0x01, 0x60, 0, 0, 0, 0, (pl)

static const struct inner_case inner_cases[] = {
	/* 1 */ { "keepalive", { 0x00 }, 1, NT_PKT_OK, 0x00, 0, 0 },
	/* 2 */ { "keepalive with padding", { 0x00, 0, 0, 0 }, 4, NT_PKT_OK, 0x00, 0, 0 },
	/* 3 */ { "control, empty", { 0x02 }, 1, NT_PKT_OK, 0x02, 0, 0 },
	/* 4 */ { "control 0xff", { 0xff, 1, 2, 3 }, 4, NT_PKT_OK, 0xff, 0, 3 },
	/* 5 */ { "ip, nothing", { 0x01 }, 1, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 6 */ { "ipv4 20", { V4(20) }, 21, NT_PKT_OK, 0x01, 4, 20 },
	/* 7 */ { "ipv4 20 + padding", { V4(20) }, 37, NT_PKT_OK, 0x01, 4, 20 },
	/* 8 */ { "ipv4 longer than frame", { V4(21) }, 21, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 9 */ { "ipv4 total length 19", { V4(19) }, 21, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 10 */ { "ipv4 19 bytes", { V4(19) }, 20, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 11 */ { "ipv4 ihl 15, total 40", { 0x01, 0x4f, 0, 0, 40 }, 41, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 12 */ { "ipv4 ihl 6, total 24", { 0x01, 0x46, 0, 0, 24 }, 25, NT_PKT_OK, 0x01, 4, 24 },
	/* 13 */ { "ipv6 no payload", { V6(0) }, 41, NT_PKT_OK, 0x01, 6, 40 },
	/* 14 */ { "ipv6 8 + padding", { V6(8) }, 60, NT_PKT_OK, 0x01, 6, 48 },
	/* 15 */ { "ipv6 payload past end", { V6(8) }, 48, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 16 */ { "ipv6 39 bytes", { V6(0) }, 40, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 17 */ { "version 5", { 0x01, 0x50, 0, 0, 20 }, 21, NT_PKT_DROP_INNER, 0x01, 0, 0 },
	/* 18 */ { "version 0", { 0x01, 0x00 }, 21, NT_PKT_DROP_INNER, 0x01, 0, 0 },
};

static void test_inner(void **state)
{
	struct pair *p = *state;
	uint8_t buf[BUF];
	struct nt_data_rx rx;

	for (size_t i = 0; i < NT_ARRAY_SIZE(inner_cases); i++) {
		const struct inner_case *c = &inner_cases[i];
		size_t len = seal(p->a, buf, c->plain, c->len, T0);
		enum nt_pkt_verdict v;

		memset(&rx, 0, sizeof(rx));
		v = nt_session_keypair_decrypt(p->b, buf, len, T0, &rx);
		if (v != c->verdict)
			fail_msg("case %zu (%s): %s, want %s", i + 1, c->name, nt_session_verdict_name(v),
				 nt_session_verdict_name(c->verdict));
		assert_int_equal(rx.counter, i);
		assert_int_equal(rx.inner_type, c->type);
		if (v != NT_PKT_OK)
			continue;
		if (rx.ip_version != c->version || rx.payload_len != c->payload_len)
			fail_msg("case %zu (%s): version %u length %zu", i + 1, c->name, rx.ip_version,
				 rx.payload_len);
		assert_ptr_equal(rx.payload, buf + 17);
	}
	/* A malformed but authentic frame used its counter. */
	{
		size_t len = seal(p->a, buf, inner_cases[4].plain, inner_cases[4].len, T0);
		uint8_t copy[BUF];

		memcpy(copy, buf, len);
		assert_int_equal(nt_session_keypair_decrypt(p->b, buf, len, T0, &rx), NT_PKT_DROP_INNER);
		assert_int_equal(nt_session_keypair_decrypt(p->b, copy, len, T0, &rx), NT_PKT_DROP_REPLAY);
	}
}

static void test_batch(void **state)
{
	struct pair *p = *state;
	enum { N = 8 };
	static uint8_t mem[N][256];
	struct nt_data_buf bufs[N];
	struct nt_data_rx rx;
	uint8_t plain[BUF];
	size_t n = ipv4_plain(plain, 100);

	for (size_t i = 0; i < N; i++) {
		memcpy(mem[i] + 16, plain, n);
		bufs[i] = (struct nt_data_buf){ mem[i], n, sizeof(mem[i]) };
	}
	bufs[5].size = n + 31; /* one byte short of the tag */
	assert_int_equal(nt_session_keypair_encrypt_batch(p->a, bufs, N, T0), 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(bufs[i].len, n + 32);
		assert_int_equal(nt_session_keypair_decrypt(p->b, mem[i], bufs[i].len, T0, &rx), NT_PKT_OK);
		assert_int_equal(rx.counter, i);
	}
	assert_int_equal(bufs[5].len, n);
	assert_int_equal(nt_session_keypair_encrypt_batch(p->a, bufs + 5, 3, T0), -EMSGSIZE);
	assert_int_equal(nt_session_keypair_encrypt_batch(p->a, bufs + 6, 2, T0), 2);
	assert_int_equal(nt_session_keypair_decrypt(p->b, mem[7], bufs[7].len, T0, &rx), NT_PKT_OK);
	assert_int_equal(rx.counter, 6);
	assert_int_equal(nt_session_keypair_encrypt_batch(p->a, bufs, 0, T0), 0);
}

static void test_verdict_names(void **state)
{
	(void)state;
	for (int i = 0; i < NT_PKT_VERDICT_COUNT; i++) {
		const char *a = nt_session_verdict_name((enum nt_pkt_verdict)i);

		assert_non_null(a);
		assert_string_not_equal(a, "unknown");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(a, nt_session_verdict_name((enum nt_pkt_verdict)j));
	}
	assert_string_equal(nt_session_verdict_name(NT_PKT_OK), "ok");
	assert_string_equal(nt_session_verdict_name(NT_PKT_DROP_REPLAY), "drop_replay");
	assert_string_equal(nt_session_verdict_name(NT_PKT_VERDICT_COUNT), "unknown");
	assert_string_equal(nt_session_verdict_name((enum nt_pkt_verdict)-1), "unknown");
}

/* Session rotation. Keypairs are named by their local index; drops are recorded. */
static uint32_t dropped[16];
static size_t ndropped;

static void on_drop(void *ctx, struct nt_keypair *kp)
{
	struct nt_session *s = ctx;

	/* The session no longer points at it when we hear of it. */
	assert_true(s->previous != kp && s->current != kp && s->next != kp);
	assert_true(ndropped < NT_ARRAY_SIZE(dropped));
	dropped[ndropped++] = kp->local_index;
}

static struct nt_keypair *kp_new(uint32_t idx, bool initiator, uint64_t now)
{
	uint8_t k1[32], k2[32];
	struct nt_keypair *kp;

	keys(k1, k2, (uint8_t)idx);
	assert_int_equal(nt_session_keypair_new(&kp, k1, k2, idx, idx + 100, initiator, now), 0);
	return kp;
}

static uint32_t idx_of(const struct nt_keypair *kp)
{
	return kp ? kp->local_index : 0;
}

#define SLOTS(s, p, c, n)                               \
	do {                                            \
		assert_int_equal(idx_of((s)->previous), p); \
		assert_int_equal(idx_of((s)->current), c);  \
		assert_int_equal(idx_of((s)->next), n);     \
	} while (0)

static void test_rotation_rules(void **state)
{
	struct nt_session s;

	(void)state;
	ndropped = 0;
	nt_session_init(&s, on_drop, &s);

	/* Initiator: current at once, old current to previous, older previous dropped. */
	nt_session_keypair_install(&s, kp_new(1, true, T0));
	SLOTS(&s, 0, 1, 0);
	nt_session_keypair_install(&s, kp_new(2, true, T0));
	SLOTS(&s, 1, 2, 0);
	nt_session_keypair_install(&s, kp_new(3, true, T0));
	SLOTS(&s, 2, 3, 0);
	assert_int_equal(ndropped, 1);
	assert_int_equal(dropped[0], 1);

	/* Responder: waits in next; previous dropped; current keeps sending. */
	nt_session_keypair_install(&s, kp_new(4, false, T0));
	SLOTS(&s, 0, 3, 4);
	assert_int_equal(dropped[1], 2);
	assert_ptr_equal(nt_session_keypair_for_send(&s, T0), s.current);
	/* A newer responder keypair replaces the pending next. */
	nt_session_keypair_install(&s, kp_new(5, false, T0));
	SLOTS(&s, 0, 3, 5);
	assert_int_equal(dropped[2], 4);
	/* Receiving on current promotes nothing; on next promotes it. */
	assert_false(nt_session_received_with(&s, s.current, false, T0));
	SLOTS(&s, 0, 3, 5);
	assert_true(nt_session_received_with(&s, s.next, false, T0));
	SLOTS(&s, 3, 5, 0);
	assert_false(nt_session_received_with(&s, s.current, false, T0));

	/* Initiator while a next is pending: next -> previous, current dropped. */
	nt_session_keypair_install(&s, kp_new(6, false, T0));
	SLOTS(&s, 0, 5, 6);
	assert_int_equal(dropped[3], 3);
	nt_session_keypair_install(&s, kp_new(7, true, T0));
	SLOTS(&s, 6, 7, 0);
	assert_int_equal(dropped[4], 5);
	assert_int_equal(ndropped, 5);

	/* Lookup by index. */
	assert_int_equal(idx_of(nt_session_keypair_by_index(&s, 6)), 6);
	assert_int_equal(idx_of(nt_session_keypair_by_index(&s, 7)), 7);
	assert_null(nt_session_keypair_by_index(&s, 5));

	nt_session_uninit(&s);
	SLOTS(&s, 0, 0, 0);
	assert_int_equal(ndropped, 7);

	/* A responder alone has nothing to send until the first frame arrives. */
	nt_session_init(&s, NULL, NULL);
	nt_session_keypair_install(&s, kp_new(8, false, T0));
	assert_null(nt_session_keypair_for_send(&s, T0));
	assert_true(nt_session_needs_rekey(&s, T0));
	assert_true(nt_session_received_with(&s, nt_session_keypair_by_index(&s, 8), true, T0));
	assert_int_equal(idx_of(nt_session_keypair_for_send(&s, T0)), 8);
	nt_session_uninit(&s);
}

/* Two peers, two handshakes, frames crossing the rotation. */
static void test_rotation_traffic(void **state)
{
	struct nt_session alice, bob;
	struct pair h1, h2;
	uint8_t plain[BUF], buf[BUF];
	struct nt_data_rx rx;
	struct nt_keypair *kp;
	size_t n = ipv4_plain(plain, 20), len;
	uint64_t now = T0;

	(void)state;
	nt_session_init(&alice, NULL, NULL);
	nt_session_init(&bob, NULL, NULL);

	/* Handshake 1, Alice initiates. */
	pair_new(&h1, 10, 0x100, 0x200, now);
	nt_session_keypair_install(&alice, h1.a);
	nt_session_keypair_install(&bob, h1.b);
	assert_null(nt_session_keypair_for_send(&bob, now));
	kp = nt_session_keypair_for_send(&alice, now);
	assert_ptr_equal(kp, h1.a);
	len = seal(kp, buf, plain, n, now);
	kp = nt_session_keypair_by_index(&bob, buf[4] | buf[5] << 8);
	assert_ptr_equal(kp, h1.b);
	assert_int_equal(nt_session_keypair_decrypt(kp, buf, len, now, &rx), NT_PKT_OK);
	assert_true(nt_session_received_with(&bob, kp, false, now));
	assert_ptr_equal(nt_session_keypair_for_send(&bob, now), h1.b);

	/* Handshake 2, Bob initiates 60 s later. */
	now += 60000;
	pair_new(&h2, 20, 0x300, 0x400, now);
	nt_session_keypair_install(&bob, h2.a);
	nt_session_keypair_install(&alice, h2.b);
	assert_ptr_equal(bob.previous, h1.b);
	assert_ptr_equal(alice.current, h1.a);
	assert_ptr_equal(alice.next, h2.b);

	/* Alice still sends on h1; Bob decrypts with his previous. */
	len = seal(nt_session_keypair_for_send(&alice, now), buf, plain, n, now);
	kp = nt_session_keypair_by_index(&bob, buf[4] | buf[5] << 8);
	assert_ptr_equal(kp, bob.previous);
	assert_int_equal(nt_session_keypair_decrypt(kp, buf, len, now, &rx), NT_PKT_OK);
	assert_false(nt_session_received_with(&bob, kp, false, now));

	/* Bob's first frame on h2 confirms it for Alice. */
	len = seal(nt_session_keypair_for_send(&bob, now), buf, plain, n, now);
	kp = nt_session_keypair_by_index(&alice, buf[4] | buf[5] << 8 | buf[6] << 16);
	assert_ptr_equal(kp, h2.b);
	assert_int_equal(nt_session_keypair_decrypt(kp, buf, len, now, &rx), NT_PKT_OK);
	assert_true(nt_session_received_with(&alice, kp, false, now));
	assert_ptr_equal(alice.current, h2.b);
	assert_ptr_equal(alice.previous, h1.a);
	assert_ptr_equal(nt_session_keypair_for_send(&alice, now), h2.b);

	/* h1 expires at T0 + 180 s, h2 at T0 + 240 s. */
	now = T0 + NT_REJECT_AFTER_TIME_MS;
	len = seal(h2.b, buf, plain, n, now);
	{
		uint8_t late[BUF];
		size_t ll;

		h1.b->send_counter = 5;
		ll = seal(h1.b, late, plain, n, now - 1);
		assert_int_equal(nt_session_keypair_decrypt(h1.a, late, ll, now, &rx), NT_PKT_DROP_EXPIRED);
	}
	{
		uint64_t next_ms;

		nt_session_tick(&alice, now, &next_ms);
		nt_session_tick(&bob, now, &next_ms);
		assert_null(alice.previous);
		assert_null(bob.previous);
		assert_ptr_equal(bob.current, h2.a);
		assert_int_equal(nt_session_keypair_decrypt(h2.a, buf, len, now, &rx), NT_PKT_OK);
	}
	now = T0 + 60000 + NT_REJECT_AFTER_TIME_MS;
	assert_null(nt_session_keypair_for_send(&bob, now));
	{
		uint64_t next_ms;

		assert_int_equal(nt_session_tick(&bob, now, &next_ms), 0);
		assert_int_equal(next_ms, UINT64_MAX);
		assert_null(bob.current);
	}
	nt_session_uninit(&alice);
	nt_session_uninit(&bob);
}

static void test_rekey(void **state)
{
	struct nt_session s;
	struct nt_keypair *kp;

	(void)state;
	nt_session_init(&s, NULL, NULL);
	assert_true(nt_session_needs_rekey(&s, T0)); /* no keypair at all */
	assert_false(nt_session_needs_rekey_after_receive(&s, T0));

	kp = kp_new(1, true, T0);
	nt_session_keypair_install(&s, kp);
	assert_false(nt_session_needs_rekey(&s, T0 + NT_REKEY_AFTER_TIME_MS - 1));
	assert_true(nt_session_needs_rekey(&s, T0 + NT_REKEY_AFTER_TIME_MS));
	kp->send_counter = NT_REKEY_AFTER_MESSAGES - 1;
	assert_false(nt_session_needs_rekey(&s, T0));
	kp->send_counter = NT_REKEY_AFTER_MESSAGES;
	assert_true(nt_session_needs_rekey(&s, T0));
	kp->send_counter = 0;
	/* 165 s: would expire before the peer's next keepalive could prompt a handshake */
	assert_false(nt_session_needs_rekey_after_receive(&s, T0 + 164999));
	assert_true(nt_session_needs_rekey_after_receive(&s, T0 + 165000));

	/* A responder's keypair rekeys on messages and on expiry, not on time. */
	nt_session_keypair_install(&s, kp_new(2, false, T0));
	assert_true(nt_session_received_with(&s, s.next, false, T0));
	assert_false(nt_session_needs_rekey(&s, T0 + NT_REKEY_AFTER_TIME_MS));
	assert_false(nt_session_needs_rekey_after_receive(&s, T0 + 170000));
	assert_false(nt_session_needs_rekey(&s, T0 + NT_REJECT_AFTER_TIME_MS - 1));
	assert_true(nt_session_needs_rekey(&s, T0 + NT_REJECT_AFTER_TIME_MS));
	s.current->send_counter = NT_REKEY_AFTER_MESSAGES;
	assert_true(nt_session_needs_rekey(&s, T0));
	nt_session_uninit(&s);
}

static void test_keepalive_timers(void **state)
{
	struct nt_session s;
	uint64_t next_ms, t = T0;

	(void)state;
	nt_session_init(&s, NULL, NULL);
	assert_int_equal(s.persistent_keepalive_ms, NT_PERSISTENT_KEEPALIVE_MS);
	s.persistent_keepalive_ms = 0;

	/* No keypair: nothing due, even after data arrived. */
	nt_session_received_with(&s, NULL, false, t);
	assert_int_equal(nt_session_tick(&s, t + NT_KEEPALIVE_TIMEOUT_MS, &next_ms), 0);
	assert_int_equal(next_ms, UINT64_MAX);

	nt_session_keypair_install(&s, kp_new(1, true, t));
	assert_int_equal(nt_session_tick(&s, t, &next_ms), 0);
	assert_int_equal(next_ms, t + NT_REJECT_AFTER_TIME_MS); /* only expiry pending */

	/* Passive: data received, nothing sent for KEEPALIVE_TIMEOUT. */
	nt_session_received_with(&s, s.current, false, t);
	assert_int_equal(nt_session_tick(&s, t + 1, &next_ms), 0);
	assert_int_equal(next_ms, t + NT_KEEPALIVE_TIMEOUT_MS);
	nt_session_received_with(&s, s.current, false, t + 5000); /* does not push it back */
	assert_int_equal(nt_session_tick(&s, t + NT_KEEPALIVE_TIMEOUT_MS - 1, &next_ms), 0);
	assert_int_equal(nt_session_tick(&s, t + NT_KEEPALIVE_TIMEOUT_MS, &next_ms),
			 NT_SESSION_SEND_KEEPALIVE);
	/* reported once */
	assert_int_equal(nt_session_tick(&s, t + NT_KEEPALIVE_TIMEOUT_MS, &next_ms), 0);
	nt_session_sent(&s, t + NT_KEEPALIVE_TIMEOUT_MS);

	/* Sending anything in time cancels it; receiving a keepalive does not arm it. */
	t += 20000;
	nt_session_received_with(&s, s.current, false, t);
	nt_session_sent(&s, t + 3000);
	assert_int_equal(nt_session_tick(&s, t + 30000, &next_ms), 0);
	nt_session_received_with(&s, s.current, true, t + 31000);
	assert_int_equal(nt_session_tick(&s, t + 50000, &next_ms), 0);
	assert_int_equal(next_ms, T0 + NT_REJECT_AFTER_TIME_MS);

	/* Persistent: after that much send silence, then again an interval later. */
	s.persistent_keepalive_ms = NT_PERSISTENT_KEEPALIVE_MS;
	nt_session_sent(&s, t);
	assert_int_equal(nt_session_tick(&s, t + 1000, &next_ms), 0);
	assert_int_equal(next_ms, t + NT_PERSISTENT_KEEPALIVE_MS);
	assert_int_equal(nt_session_tick(&s, t + NT_PERSISTENT_KEEPALIVE_MS, &next_ms),
			 NT_SESSION_SEND_KEEPALIVE);
	assert_int_equal(next_ms, t + 2 * NT_PERSISTENT_KEEPALIVE_MS);
	nt_session_sent(&s, t + NT_PERSISTENT_KEEPALIVE_MS + 7);
	assert_int_equal(nt_session_tick(&s, t + NT_PERSISTENT_KEEPALIVE_MS + 8, &next_ms), 0);
	assert_int_equal(next_ms, t + 2 * NT_PERSISTENT_KEEPALIVE_MS + 7);

	/* Expired keypair: dropped, and no more keepalives. */
	assert_int_equal(nt_session_tick(&s, T0 + NT_REJECT_AFTER_TIME_MS, &next_ms), 0);
	assert_null(s.current);
	assert_int_equal(next_ms, UINT64_MAX);
	nt_session_uninit(&s);

	/* A fresh session with persistent keepalive sends one at once. */
	nt_session_init(&s, NULL, NULL);
	nt_session_keypair_install(&s, kp_new(2, true, T0));
	assert_int_equal(nt_session_tick(&s, T0, &next_ms), NT_SESSION_SEND_KEEPALIVE);
	assert_int_equal(next_ms, T0 + NT_PERSISTENT_KEEPALIVE_MS);
	nt_session_uninit(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forged_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_and_reorder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypt_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test(test_verdict_names),
		cmocka_unit_test(test_rotation_rules),
		cmocka_unit_test(test_rotation_traffic),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_keepalive_timers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
