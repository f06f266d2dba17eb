// SPDX-License-Identifier: MIT
/*
 * The token: base64 identical to `base64 -w0` (a fixed expected string computed once with
 * coreutils, RFC 4648 vectors, and libsodium's encoder as a reference for random data),
 * strict decoding (a table of every refusal), tampering and truncation, and networks that
 * go config -> token -> config unchanged.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "netron/config.h"
#include "netron/token.h"

#include "edgevpn_sample.h"

/* `base64 -w0 examples/edgevpn.yaml`, computed once with GNU coreutils. */
static const char edgevpn_token[] =
	"b3RwOgogIGRodDoKICAgIGludGVydmFsOiA5MDAwCiAgICBrZXk6IExIS05LVDZZWllRR0dZM0pBTkdYTUxKVEhS"
	"SDdTVzNDCiAgICBsZW5ndGg6IDMyCiAgY3J5cHRvOgogICAgaW50ZXJ2YWw6IDkwMDAKICAgIGtleTogU0dJQjZO"
	"WUpNU1JKRjJBSkRHVUkyTkRCNUxCVkNQTFMKICAgIGxlbmd0aDogMzIKcm9vbTogdWJPTlNCRmtkV2J6a1NCVGds"
	"RnpPaFd2Y3pUQlFKT1IKcmVuZGV6dm91czogZXhvSE9hak1ZTVNQckhoZXZBRUVqbkNITHNzRmZ6ZlQKbWRuczog"
	"Vm9aZmVQbFRjaGJTcmRtaXZhcWFPeVF5RW5UTWx1Z2kKbWF4X21lc3NhZ2Vfc2l6ZTogMjA5NzE1MjAK";

static void assert_config_equal(const struct nt_config *a, const struct nt_config *b)
{
	assert_int_equal(a->otp_dht.interval, b->otp_dht.interval);
	assert_int_equal(a->otp_dht.length, b->otp_dht.length);
	assert_string_equal(a->otp_dht.key, b->otp_dht.key);
	assert_int_equal(a->otp_crypto.interval, b->otp_crypto.interval);
	assert_int_equal(a->otp_crypto.length, b->otp_crypto.length);
	assert_string_equal(a->otp_crypto.key, b->otp_crypto.key);
	assert_string_equal(a->room, b->room);
	assert_string_equal(a->rendezvous, b->rendezvous);
	assert_string_equal(a->mdns, b->mdns);
	assert_int_equal(a->max_message_size, b->max_message_size);
}

static bool config_equal(const struct nt_config *a, const struct nt_config *b)
{
	return a->otp_dht.interval == b->otp_dht.interval && a->otp_dht.length == b->otp_dht.length &&
	       !strcmp(a->otp_dht.key, b->otp_dht.key) &&
	       a->otp_crypto.interval == b->otp_crypto.interval &&
	       a->otp_crypto.length == b->otp_crypto.length &&
	       !strcmp(a->otp_crypto.key, b->otp_crypto.key) && !strcmp(a->room, b->room) &&
	       !strcmp(a->rendezvous, b->rendezvous) && !strcmp(a->mdns, b->mdns) &&
	       a->max_message_size == b->max_message_size;
}

static void test_base64_w0(void **state)
{
	struct nt_config cfg;
	struct nt_err err;
	char *tok;

	(void)state;
	tok = nt_token_encode(EDGEVPN_SAMPLE, strlen(EDGEVPN_SAMPLE));
	assert_string_equal(tok, edgevpn_token);
	free(tok);

	assert_int_equal(nt_config_from_token(&cfg, edgevpn_token, &err), 0);
	assert_string_equal(cfg.room, "ubONSBFkdWbzkSBTglFzOhWvczTBQJOR");
	assert_int_equal(cfg.otp_dht.interval, 9000);
	/* The canonical print of the sample is the sample, so its token is the same. */
	tok = nt_config_to_token(&cfg);
	assert_string_equal(tok, edgevpn_token);
	free(tok);
}

/* RFC 4648 §10. */
static const struct {
	const char *in, *out;
} rfc4648[] = {
	{ "", "" },		{ "f", "Zg==" },	 { "fo", "Zm8=" },	   { "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void test_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *enc = nt_token_encode(rfc4648[i].in, strlen(rfc4648[i].in)), *dec;
		struct nt_err err;
		size_t len;

		assert_string_equal(enc, rfc4648[i].out);
		assert_int_equal(nt_token_decode(rfc4648[i].out, &dec, &len, &err), 0);
		assert_int_equal(len, strlen(rfc4648[i].in));
		assert_memory_equal(dec, rfc4648[i].in, len);
		assert_int_equal(dec[len], '\0');
		free(dec);
		free(enc);
	}
}

/* Random binary data of every length 0..300: same text as libsodium's encoder, and back. */
static void test_random_round_trip(void **state)
{
	uint8_t data[301];
	char ref[sizeof(data) * 2 + 8];

	(void)state;
	assert_true(sodium_init() >= 0);
	for (size_t n = 0; n <= 300; n++) {
		char *enc, *dec;
		struct nt_err err;
		size_t len;

		randombytes_buf(data, n);
		if (n % 3 == 0 && n > 0)
			data[n - 1] = 0xff;
		enc = nt_token_encode(data, n);
		assert_non_null(enc);
		sodium_bin2base64(ref, sizeof(ref), data, n, sodium_base64_VARIANT_ORIGINAL);
		assert_string_equal(enc, ref);
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		assert_int_equal(nt_token_decode(enc, &dec, &len, &err), 0);
		assert_int_equal(len, n);
		assert_memory_equal(dec, data, n);
		free(dec);
		free(enc);
	}
}

/* Every refusal of the decoder: token -> expected message substring. */
static const struct {
	const char *token;
	const char *msg;
} bad[] = {
	/* 0 */ { "Zm9v!mFy", "token: invalid base64 character '!' at position 5" },
	/* 1 */ { "Zm9v YmFy", "token: invalid base64 character ' ' at position 5" },
	/* 2 */ { "Zm9v\nYmFy", "token: invalid base64 character 0x0a at position 5" },
	/* 3 */ { "Zm9v-_Fy", "token: invalid base64 character '-' at position 5" },
	/* 4 */ { "Zm9v\xc3\xa9mFy", "token: invalid base64 character 0xc3 at position 5" },
	/* 5 */ { "  Zm9v.", "token: invalid base64 character '.' at position 7" },
	/* 6 */ { "Zm9vYmF", "token: length 7 is not a multiple of 4 (truncated?)" },
	/* 7 */ { "Z", "token: length 1 is not a multiple of 4" },
	/* 8 */ { "Zm9=", "token: bad padding" },
	/* 9 */ { "Zg=", "token: length 3 is not a multiple of 4" },
	/* 10 */ { "Z===", "token: bad padding" },
	/* 11 */ { "====", "token: bad padding" },
	/* 12 */ { "Zg==Zg==", "token: bad padding" },
	/* 13 */ { "Z=g=", "token: bad padding" },
	/* 14 */ { "Zh==", "token: bad padding (non-zero unused bits" },
	/* 15 */ { "Zm9=", "token: bad padding (non-zero unused bits" },
	/* 16 */ { "Zm/=", "token: bad padding (non-zero unused bits" },
};

static void test_decode_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nt_err err;
		char *out = (char *)1;
		size_t len = 99;
		int ret = nt_token_decode(bad[i].token, &out, &len, &err);

		if (ret != -EINVAL || !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: ret %d, msg \"%s\", expected \"%s\"", i, ret, err.msg, bad[i].msg);
		assert_null(out);
		assert_int_equal(len, 0);
		assert_null(strchr(err.msg, '\n'));
	}
}

static void test_size_limit(void **state)
{
	size_t n = (NT_CONFIG_MAX_BYTES / 3 + 1) * 4;
	char *tok = malloc(n + 1), *out;
	struct nt_err err;
	size_t len;

	(void)state;
	assert_non_null(tok);
	memset(tok, 'A', n);
	tok[n] = '\0';
	assert_int_equal(nt_token_decode(tok, &out, &len, &err), -EINVAL);
	assert_string_equal(err.msg, "token: decodes to 65538 bytes, more than the limit of 65536");
	/* Exactly the limit decodes. */
	n = NT_CONFIG_MAX_BYTES / 3 * 4;
	tok[n] = '\0';
	assert_int_equal(nt_token_decode(tok, &out, &len, &err), 0);
	assert_int_equal(len, NT_CONFIG_MAX_BYTES / 3 * 3);
	free(out);
	free(tok);
}

static void test_whitespace_trim(void **state)
{
	static const char *const ok[] = { "Zm9v\n", "Zm9v\r\n", "  Zm9v", "\tZm9v \n\n", "\nZm9v" };
	struct nt_config cfg;
	struct nt_err err;
	char *pasted;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char *out;
		size_t len;

		assert_int_equal(nt_token_decode(ok[i], &out, &len, &err), 0);
		assert_int_equal(len, 3);
		assert_memory_equal(out, "foo", 3);
		free(out);
	}
	/* A token pasted with its trailing newline (`base64 -w0 f; echo`) works. */
	assert_true(asprintf(&pasted, " %s\n", edgevpn_token) > 0);
	assert_int_equal(nt_config_from_token(&cfg, pasted, &err), 0);
	assert_string_equal(cfg.mdns, "VoZfePlTchbSrdmivaqaOyQyEnTMlugi");
	free(pasted);
}

/* YAML errors come back prefixed with "token: ". */
static void test_yaml_errors(void **state)
{
	struct nt_config cfg;
	struct nt_err err;
	char *tok;

	(void)state;
	assert_int_equal(nt_config_from_token(&cfg, "", &err), -EINVAL);
	assert_string_equal(err.msg, "token: network definition is empty");

	tok = nt_token_encode("room: r\n", 8);
	assert_int_equal(nt_config_from_token(&cfg, tok, &err), -EINVAL);
	assert_string_equal(err.msg, "token: otp: missing required key");
	assert_int_equal(err.line, 1);
	free(tok);

	tok = nt_token_encode("a: [\n", 5);
	assert_int_equal(nt_config_from_token(&cfg, tok, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "token: YAML syntax error"));
	free(tok);

	assert_int_equal(nt_config_from_token(&cfg, "b3RwOg=", &err), -EINVAL);
	assert_string_equal(err.msg, "token: length 7 is not a multiple of 4 (truncated?)");
}

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * One character changed anywhere: the token is refused, or (the change kept it valid
 * base64 and valid YAML) it decodes to a different network, never silently the same one.
 * max_message_size is not the default here, so renaming it (an unknown key is ignored)
 * changes the network too.
 */
static void test_tamper(void **state)
{
	struct nt_config orig, cfg;
	size_t n, refused = 0, yaml_named = 0;
	struct nt_err err;
	char *yaml, *good, *tok;

	(void)state;
	assert_int_equal(nt_config_from_token(&orig, edgevpn_token, &err), 0);
	orig.max_message_size = 1048576;
	yaml = nt_config_print(&orig);
	good = nt_token_encode(yaml, strlen(yaml));
	tok = strdup(good);
	n = strlen(good);
	for (size_t i = 0; i < n; i++) {
		const char *p = strchr(alphabet, good[i]);
		int ret;

		if (!p) /* padding */
			continue;
		tok[i] = alphabet[((size_t)(p - alphabet) + 1 + i % 63) % 64];
		ret = nt_config_from_token(&cfg, tok, &err);
		if (ret == 0) {
			if (config_equal(&orig, &cfg))
				fail_msg("position %zu: %s decodes to the same network", i, tok);
		} else {
			assert_int_equal(ret, -EINVAL);
			assert_true(strncmp(err.msg, "token: ", 7) == 0);
			refused++;
			if (err.line > 0 || strstr(err.msg, "YAML"))
				yaml_named++;
		}
		tok[i] = good[i];
	}
	assert_true(refused > n / 4);
	assert_true(yaml_named > 0);

	/* A character outside the alphabet is always refused by position. */
	tok[17] = '*';
	assert_int_equal(nt_config_from_token(&cfg, tok, &err), -EINVAL);
	assert_string_equal(err.msg, "token: invalid base64 character '*' at position 18");
	free(tok);
	free(good);
	free(yaml);
}

static void test_truncated(void **state)
{
	size_t n = strlen(edgevpn_token);
	char *tok = strdup(edgevpn_token);
	struct nt_config cfg;
	struct nt_err err;

	(void)state;
	for (size_t cut = 1; cut <= 3; cut++) {
		tok[n - cut] = '\0';
		assert_int_equal(nt_config_from_token(&cfg, tok, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "is not a multiple of 4 (truncated?)"));
	}
	/* Cut at a multiple of 4: valid base64 of a YAML that lacks required keys. */
	tok[n / 8 * 4] = '\0';
	assert_int_equal(nt_config_from_token(&cfg, tok, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "missing required key"));
	free(tok);
}

static void test_generated_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < 100; i++) {
		struct nt_config cfg, back;
		struct nt_err err;
		char *tok, *yaml, *dec;
		size_t len;

		assert_int_equal(nt_config_generate(&cfg, (uint32_t)(1 + i * 97)), 0);
		tok = nt_config_to_token(&cfg);
		assert_non_null(tok);
		assert_null(strchr(tok, '\n'));
		assert_int_equal(strlen(tok) % 4, 0);
		assert_int_equal(nt_config_from_token(&back, tok, &err), 0);
		assert_config_equal(&cfg, &back);
		/* The token is the base64 of exactly the canonical print. */
		yaml = nt_config_print(&cfg);
		assert_int_equal(nt_token_decode(tok, &dec, &len, &err), 0);
		assert_int_equal(len, strlen(yaml));
		assert_string_equal(dec, yaml);
		free(dec);
		free(yaml);
		free(tok);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_w0),
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_whitespace_trim),
		cmocka_unit_test(test_yaml_errors),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_generated_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
