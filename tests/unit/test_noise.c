// SPDX-License-Identifier: MIT
/*
 * The Noise engine against the published test vectors (cacophony / snow) for
 * *_25519_ChaChaPoly_BLAKE2b: every handshake message, the handshake hash and the
 * transport messages that follow (they alternate direction, initiator first). Plus the
 * primitives' edge cases: low-order keys, pattern names, tamper and turn rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "proto/noise.h"
#include "core/util.h"

#define VECTORS NT_SOURCE_DIR "/tests/vectors/noise_25519_ChaChaPoly_BLAKE2b.json"

/* Decodes a hex field into out (at most cap bytes); returns the length, -1 if absent. */
static ssize_t hexfield(json_t *obj, const char *key, uint8_t *out, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (!v)
		return -1;
	s = json_string_value(v);
	assert_non_null(s);
	len = strlen(s);
	assert_int_equal(len % 2, 0);
	assert_true(len / 2 <= cap);
	assert_true(len == 0 || nt_hex_decode(out, len / 2, s));
	return (ssize_t)(len / 2);
}

/* Fills psks from a hex array field; returns the count. */
static size_t psk_list(json_t *obj, const char *key, uint8_t psks[NT_NOISE_MAX_PSKS][32])
{
	json_t *arr = json_object_get(obj, key), *v;
	size_t i;

	if (!arr)
		return 0;
	assert_true(json_array_size(arr) <= NT_NOISE_MAX_PSKS);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		assert_non_null(s);
		assert_int_equal(strlen(s), 64);
		assert_true(nt_hex_decode(psks[i], 32, s));
	}
	return json_array_size(arr);
}

struct side {
	struct nt_noise n;
	uint8_t tx[32], rx[32];
	uint64_t tx_n, rx_n;
};

static void setup_side(struct side *sd, json_t *v, const struct nt_noise_pattern *p, bool initiator)
{
	const char *pre = initiator ? "init_" : "resp_";
	char key[64];
	uint8_t prologue[256], s[32], e[32], rs[32], psks[NT_NOISE_MAX_PSKS][32];
	ssize_t plen, slen, elen, rslen;
	size_t npsk;

	snprintf(key, sizeof(key), "%sprologue", pre);
	plen = hexfield(v, key, prologue, sizeof(prologue));
	snprintf(key, sizeof(key), "%sstatic", pre);
	slen = hexfield(v, key, s, sizeof(s));
	snprintf(key, sizeof(key), "%sephemeral", pre);
	elen = hexfield(v, key, e, sizeof(e));
	snprintf(key, sizeof(key), "%sremote_static", pre);
	rslen = hexfield(v, key, rs, sizeof(rs));
	snprintf(key, sizeof(key), "%spsks", pre);
	npsk = psk_list(v, key, psks);

	assert_int_equal(elen, 32);
	assert_int_equal(nt_noise_init(&sd->n), 0);
	assert_int_equal(nt_noise_start(&sd->n, p, initiator, prologue, plen < 0 ? 0 : (size_t)plen,
					slen == 32 ? s : NULL, rslen == 32 ? rs : NULL,
					(const uint8_t(*)[32])psks, npsk),
			 0);
	nt_noise_set_ephemeral(&sd->n, e);
	sd->tx_n = sd->rx_n = 0;
}

static unsigned int ran_xx, ran_xxpsk3, ran_ik, ran_total;

static void run_vector(json_t *v)
{
	const char *name = json_string_value(json_object_get(v, "protocol_name"));
	json_t *msgs = json_object_get(v, "messages"), *m;
	struct nt_noise_pattern p;
	struct side sides[2]; /* 0 = initiator, 1 = responder */
	uint8_t expect_hash[64], h0[64], h1[64];
	ssize_t hash_len;
	size_t i;

	assert_non_null(name);
	if (!nt_noise_pattern_parse(&p, name)) {
		print_message("skip %s\n", name);
		return;
	}
	setup_side(&sides[0], v, &p, true);
	setup_side(&sides[1], v, &p, false);

	json_array_foreach(msgs, i, m)
	{
		uint8_t payload[1024], ct[1200], out[1200], back[1024];
		ssize_t plen = hexfield(m, "payload", payload, sizeof(payload));
		ssize_t clen = hexfield(m, "ciphertext", ct, sizeof(ct));
		struct side *tx = &sides[i % 2], *rx = &sides[(i + 1) % 2];
		ssize_t r;

		assert_true(plen >= 0 && clen >= 0);
		if (i < p.n_msgs) {
			r = nt_noise_write_message(&tx->n, payload, (size_t)plen, out, sizeof(out));
			assert_int_equal(r, clen);
			assert_memory_equal(out, ct, (size_t)clen);
			r = nt_noise_read_message(&rx->n, ct, (size_t)clen, back, sizeof(back));
			assert_int_equal(r, plen);
			assert_memory_equal(back, payload, (size_t)plen);
			if (i + 1 == p.n_msgs) {
				uint8_t i2r[32], r2i[32];
				assert_true(nt_noise_is_complete(&sides[0].n));
				assert_true(nt_noise_is_complete(&sides[1].n));
				assert_int_equal(nt_noise_split(&sides[0].n, i2r, r2i), 0);
				memcpy(sides[0].tx, i2r, 32);
				memcpy(sides[0].rx, r2i, 32);
				assert_int_equal(nt_noise_split(&sides[1].n, i2r, r2i), 0);
				memcpy(sides[1].tx, r2i, 32);
				memcpy(sides[1].rx, i2r, 32);
			}
		} else {
			assert_int_equal(nt_noise_cipher_encrypt(tx->tx, tx->tx_n++, NULL, 0, payload,
								 (size_t)plen, out),
					 0);
			assert_int_equal(plen + NT_NOISE_TAGLEN, clen);
			assert_memory_equal(out, ct, (size_t)clen);
			assert_int_equal(nt_noise_cipher_decrypt(rx->rx, rx->rx_n++, NULL, 0, ct,
								 (size_t)clen, back),
					 0);
			assert_memory_equal(back, payload, (size_t)plen);
		}
	}
	assert_true(json_array_size(msgs) > p.n_msgs);

	hash_len = hexfield(v, "handshake_hash", expect_hash, sizeof(expect_hash));
	nt_noise_get_handshake_hash(&sides[0].n, h0);
	nt_noise_get_handshake_hash(&sides[1].n, h1);
	assert_memory_equal(h0, h1, 64);
	if (hash_len >= 0) {
		assert_int_equal(hash_len, 64);
		assert_memory_equal(h0, expect_hash, 64);
	}
	nt_noise_uninit(&sides[0].n);
	nt_noise_uninit(&sides[1].n);

	ran_total++;
	if (strcmp(name, "Noise_XX_25519_ChaChaPoly_BLAKE2b") == 0)
		ran_xx++;
	if (strcmp(name, "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b") == 0)
		ran_xxpsk3++;
	if (strcmp(name, "Noise_IK_25519_ChaChaPoly_BLAKE2b") == 0)
		ran_ik++;
}

static void test_vectors(void **state)
{
	json_error_t err;
	json_t *root = json_load_file(VECTORS, 0, &err), *vectors, *v;
	size_t i;

	(void)state;
	if (!root)
		fail_msg("%s:%d: %s", VECTORS, err.line, err.text);
	vectors = json_object_get(root, "vectors");
	assert_true(json_is_array(vectors));
	json_array_foreach(vectors, i, v)
		run_vector(v);
	json_decref(root);
	assert_int_equal(ran_xx, 1);
	assert_int_equal(ran_xxpsk3, 1);
	assert_int_equal(ran_ik, 1);
	/* All eight vectors of the file belong to the XX and IK families we support. */
	assert_int_equal(ran_total, i);
	print_message("%u vectors reproduced\n", ran_total);
}

static void test_pattern_parse(void **state)
{
	static const struct {
		const char *name;
		bool ok;
		uint8_t n_psks;
	} cases[] = {
		/* 1 */ { "Noise_XX_25519_ChaChaPoly_BLAKE2b", true, 0 },
		/* 2 */ { "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", true, 1 },
		/* 3 */ { "Noise_IKpsk0+psk2_25519_ChaChaPoly_BLAKE2b", true, 2 },
		/* 4 */ { "Noise_XXpsk4_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 5 */ { "Noise_XX_25519_AESGCM_BLAKE2b", false, 0 },
		/* 6 */ { "Noise_XX_25519_ChaChaPoly_SHA256", false, 0 },
		/* 7 */ { "Noise_NN_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 8 */ { "Noise_XXpsk_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 9 */ { "Noise_XXpsk3psk1_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 10 */ { "Noise_XXpsk31_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 11 */ { "Noise_XXfallback_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 12 */ { "XX_25519_ChaChaPoly_BLAKE2b", false, 0 },
		/* 13 */ { "", false, 0 },
		/* 14 */ { "Noise_XXpsk0+psk1+psk2+psk3+psk3_25519_ChaChaPoly_BLAKE2b", false, 0 },
	};
	struct nt_noise_pattern p;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		bool ok = nt_noise_pattern_parse(&p, cases[i].name);
		if (ok != cases[i].ok)
			fail_msg("case %zu (%s): got %d", i + 1, cases[i].name, ok);
		if (ok)
			assert_int_equal(p.n_psks, cases[i].n_psks);
	}
	/* XXpsk3: the psk token is the last of message 3. */
	assert_true(nt_noise_pattern_parse(&p, "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b"));
	assert_int_equal(p.n_tokens[2], 3);
	assert_int_equal(p.tokens[2][2], NT_NOISE_TOK_PSK);
	assert_true(p.psk);
}

static void test_low_order(void **state)
{
	uint8_t pk[32], sk[32], out[32];

	(void)state;
	randombytes_buf(sk, sizeof(sk));
	/* Every listed point gives the all-zero DH output (libsodium refuses it). */
	memset(pk, 0, sizeof(pk));
	assert_true(nt_noise_is_low_order(pk));
	assert_int_not_equal(crypto_scalarmult(out, sk, pk), 0);
	pk[0] = 1;
	assert_true(nt_noise_is_low_order(pk));
	assert_int_not_equal(crypto_scalarmult(out, sk, pk), 0);
	assert_true(nt_hex_decode(pk, 32, "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"));
	assert_true(nt_noise_is_low_order(pk));
	assert_int_not_equal(crypto_scalarmult(out, sk, pk), 0);
	assert_true(nt_hex_decode(pk, 32, "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"));
	assert_true(nt_noise_is_low_order(pk));
	assert_int_not_equal(crypto_scalarmult(out, sk, pk), 0);
	pk[31] |= 0x80; /* bit 255 is ignored by X25519 */
	assert_true(nt_noise_is_low_order(pk));
	/* A real public key is not. */
	crypto_scalarmult_base(pk, sk);
	assert_false(nt_noise_is_low_order(pk));
}

/* XX between two random parties: turn rules, tamper rejection that leaves the state intact. */
static void test_xx_tamper_and_turns(void **state)
{
	struct nt_noise_pattern p;
	struct nt_noise a, b;
	uint8_t sa[32], sb[32], msg[256], pl[64], low[32] = { 0 };
	ssize_t len;

	(void)state;
	randombytes_buf(sa, 32);
	randombytes_buf(sb, 32);
	assert_true(nt_noise_pattern_parse(&p, "Noise_XX_25519_ChaChaPoly_BLAKE2b"));
	assert_int_equal(nt_noise_init(&a), 0);
	assert_int_equal(nt_noise_init(&b), 0);
	/* XX needs a static key; it has no pre-message, so no rs. */
	assert_int_equal(nt_noise_start(&a, &p, true, NULL, 0, NULL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(nt_noise_start(&a, &p, true, NULL, 0, sa, sb, NULL, 0), -EINVAL);
	assert_int_equal(nt_noise_start(&a, &p, true, (const uint8_t *)"x", 1, sa, NULL, NULL, 0), 0);
	assert_int_equal(nt_noise_start(&b, &p, false, (const uint8_t *)"x", 1, sb, NULL, NULL, 0), 0);

	assert_int_equal(nt_noise_read_message(&a, msg, 32, pl, sizeof(pl)), -EPROTO);
	assert_int_equal(nt_noise_write_message(&b, NULL, 0, msg, sizeof(msg)), -EPROTO);
	assert_int_equal(nt_noise_write_message(&a, NULL, 0, msg, 31), -EMSGSIZE);
	len = nt_noise_write_message(&a, NULL, 0, msg, sizeof(msg));
	assert_int_equal(len, 32);
	assert_int_equal(nt_noise_read_message(&b, msg, 31, pl, sizeof(pl)), -EMSGSIZE);
	assert_int_equal(nt_noise_read_message(&b, msg, 32, pl, sizeof(pl)), 0);

	len = nt_noise_write_message(&b, (const uint8_t *)"hi", 2, msg, sizeof(msg));
	assert_int_equal(len, 32 + 48 + 2 + 16);
	for (size_t bit = 0; bit < (size_t)len * 8; bit++) {
		msg[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		assert_true(nt_noise_read_message(&a, msg, (size_t)len, pl, sizeof(pl)) < 0);
		msg[bit / 8] ^= (uint8_t)(1U << (bit % 8));
	}
	/* A low-order e from the responder: the ee DH is refused. */
	{
		uint8_t bad[256];
		memcpy(bad, msg, (size_t)len);
		memcpy(bad, low, 32);
		assert_int_equal(nt_noise_read_message(&a, bad, (size_t)len, pl, sizeof(pl)), -EINVAL);
	}
	assert_int_equal(nt_noise_read_message(&a, msg, (size_t)len, pl, sizeof(pl)), 2);
	assert_memory_equal(pl, "hi", 2);
	{
		uint8_t rs[32], pb[32];
		assert_true(nt_noise_get_remote_static(&a, rs));
		crypto_scalarmult_base(pb, sb);
		assert_memory_equal(rs, pb, 32);
		assert_false(nt_noise_get_remote_static(&b, rs));
	}
	len = nt_noise_write_message(&a, NULL, 0, msg, sizeof(msg));
	assert_int_equal(len, 48 + 16);
	assert_int_equal(nt_noise_read_message(&b, msg, (size_t)len, pl, sizeof(pl)), 0);
	assert_true(nt_noise_is_complete(&a) && nt_noise_is_complete(&b));
	assert_int_equal(nt_noise_write_message(&a, NULL, 0, msg, sizeof(msg)), -EPROTO);
	{
		uint8_t a1[32], a2[32], b1[32], b2[32];
		assert_int_equal(nt_noise_split(&a, a1, a2), 0);
		assert_int_equal(nt_noise_split(&b, b1, b2), 0);
		assert_memory_equal(a1, b1, 32);
		assert_memory_equal(a2, b2, 32);
		assert_memory_not_equal(a1, a2, 32);
	}
	nt_noise_reset(&a);
	assert_false(nt_noise_is_complete(&a));
	nt_noise_uninit(&a);
	nt_noise_uninit(&b);
	nt_noise_uninit(NULL);
}

static void test_cipher(void **state)
{
	uint8_t k[32], buf[64], out[64];

	(void)state;
	randombytes_buf(k, sizeof(k));
	memcpy(buf, "0123456789abcdef", 16);
	assert_int_equal(nt_noise_cipher_encrypt(k, 7, (const uint8_t *)"ad", 2, buf, 16, out), 0);
	assert_int_equal(nt_noise_cipher_decrypt(k, 7, (const uint8_t *)"ad", 2, out, 32, buf), 0);
	assert_memory_equal(buf, "0123456789abcdef", 16);
	assert_int_equal(nt_noise_cipher_decrypt(k, 8, (const uint8_t *)"ad", 2, out, 32, buf), -EBADMSG);
	assert_int_equal(nt_noise_cipher_decrypt(k, 7, (const uint8_t *)"ae", 2, out, 32, buf), -EBADMSG);
	assert_int_equal(nt_noise_cipher_decrypt(k, 7, NULL, 0, out, 15, buf), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_pattern_parse),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_xx_tamper_and_turns),
		cmocka_unit_test(test_cipher),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
