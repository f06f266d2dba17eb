// SPDX-License-Identifier: MIT
/*
 * The network definition: golden files (tests/golden/config/NN.in -> NN.ok, parse -> print or
 * the one-line error), a table of every validation error, the EdgeVPN sample, every shipped
 * example, generated networks and print -> parse round trips for strings that need quoting.
 */
#include <errno.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "netron/config.h"

#include "edgevpn_sample.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

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

/* print(cfg) parses back to cfg, and printing that gives the same text. */
static void assert_round_trip(const struct nt_config *cfg)
{
	struct nt_config back;
	struct nt_err err;
	char *text = nt_config_print(cfg), *again;

	assert_non_null(text);
	if (nt_config_parse(&back, text, strlen(text), &err) != 0)
		fail_msg("reparse failed: %d:%d: %s\n%s", err.line, err.col, err.msg, text);
	assert_config_equal(cfg, &back);
	again = nt_config_print(&back);
	assert_string_equal(text, again);
	free(again);
	free(text);
}

static void test_edgevpn_sample(void **state)
{
	struct nt_config cfg;
	struct nt_err err;
	char *text;

	(void)state;
	assert_int_equal(nt_config_parse(&cfg, EDGEVPN_SAMPLE, strlen(EDGEVPN_SAMPLE), &err), 0);
	assert_int_equal(cfg.otp_dht.interval, 9000);
	assert_string_equal(cfg.otp_dht.key, "LHKNKT6YZYQGGY3JANGXMLJTHRH7SW3C");
	assert_int_equal(cfg.otp_dht.length, 32);
	assert_int_equal(cfg.otp_crypto.interval, 9000);
	assert_string_equal(cfg.otp_crypto.key, "SGIB6NYJMSRJF2AJDGUI2NDB5LBVCPLS");
	assert_int_equal(cfg.otp_crypto.length, 32);
	assert_string_equal(cfg.room, "ubONSBFkdWbzkSBTglFzOhWvczTBQJOR");
	assert_string_equal(cfg.rendezvous, "exoHOajMYMSPrHhevAEEjnCHLssFfzfT");
	assert_string_equal(cfg.mdns, "VoZfePlTchbSrdmivaqaOyQyEnTMlugi");
	assert_int_equal(cfg.max_message_size, 20971520);
	/* The sample is already canonical: printing gives it back byte for byte. */
	text = nt_config_print(&cfg);
	assert_string_equal(text, EDGEVPN_SAMPLE);
	free(text);

	/* examples/edgevpn.yaml is the same sample, verbatim. */
	text = read_file(NT_SOURCE_DIR "/examples/edgevpn.yaml", NULL);
	assert_string_equal(text, EDGEVPN_SAMPLE);
	free(text);
}

static void test_examples_parse(void **state)
{
	glob_t g;

	(void)state;
	assert_int_equal(glob(NT_SOURCE_DIR "/examples/*.yaml", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 2);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct nt_config cfg;
		struct nt_err err;

		if (nt_config_load_file(&cfg, g.gl_pathv[i], &err) != 0)
			fail_msg("%s:%d:%d: %s", g.gl_pathv[i], err.line, err.col, err.msg);
		assert_true(cfg.otp_dht.interval > 0);
		assert_true(cfg.room[0] != '\0');
		assert_round_trip(&cfg);
	}
	globfree(&g);
}

/* Each golden NN.in gives NN.ok: the canonical print, or "line:col: message" (or "message"). */
static void test_golden(void **state)
{
	glob_t g;

	(void)state;
	assert_int_equal(glob(NT_SOURCE_DIR "/tests/golden/config/*.in", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 20);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char okpath[4096], *in, *ok, *got, line[200];
		struct nt_config cfg;
		struct nt_err err;
		size_t len, n;

		n = strlen(g.gl_pathv[i]);
		assert_true(n < sizeof(okpath));
		memcpy(okpath, g.gl_pathv[i], n - 3);
		strcpy(okpath + n - 3, ".ok");
		in = read_file(g.gl_pathv[i], &len);
		ok = read_file(okpath, NULL);
		if (nt_config_parse(&cfg, in, len, &err) == 0) {
			got = nt_config_print(&cfg);
		} else {
			if (err.line > 0)
				snprintf(line, sizeof(line), "%d:%d: %s\n", err.line, err.col, err.msg);
			else
				snprintf(line, sizeof(line), "%s\n", err.msg);
			got = strdup(line);
		}
		if (strcmp(got, ok) != 0)
			fail_msg("%s: expected\n%s\ngot\n%s", g.gl_pathv[i], ok, got);
		free(got);
		free(ok);
		free(in);
	}
	globfree(&g);
}

#define OTP(n, i, k, l) "  " n ":\n    interval: " i "\n    key: " k "\n    length: " l "\n"
#define DOC(di, dk, dl, ci, ck, cl, room, rdv, mdns, extra)                                        \
	"otp:\n" OTP("dht", di, dk, dl) OTP("crypto", ci, ck, cl) "room: " room "\nrendezvous: " rdv \
	"\nmdns: " mdns "\n" extra
#define GOOD(...) DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "m", "")

static const char long129[] =
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/* Every validation error: input -> expected message substring and position (0 = any). */
static const struct {
	const char *yaml;
	const char *msg;
	int line, col;
} bad[] = {
	/* 0 */ { "", "network definition is empty", 0, 0 },
	/* 1 */ { "just a string\n", "network definition: must be a mapping, got a scalar", 1, 1 },
	/* 2 */ { "[1, 2]\n", "must be a mapping, got a sequence", 1, 1 },
	/* 3 */ { "room: r\n", "otp: missing required key", 1, 1 },
	/* 4 */ { "otp: 5\n", "otp: must be a mapping, got a scalar", 1, 6 },
	/* 5 */ { "otp: {crypto: {}}\n", "otp.dht: missing required key", 1, 6 },
	/* 6 */ { "otp: {dht: {key: a, length: 1}}\n", "otp.dht.interval: missing required key", 1, 12 },
	/* 7 */ { DOC("0", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		  "otp.dht.interval: must be a positive integer, got 0", 3, 15 },
	/* 8 */ { DOC("360", "dk", "43", "0", "ck", "43", "r", "z", "m", ""),
		  "otp.crypto.interval: must be a positive integer, got 0", 7, 15 },
	/* 9 */ { DOC("-1", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		  "otp.dht.interval: must be a positive integer, got -1", 3, 15 },
	/* 10 */ { DOC("2147483649", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.interval: must be at most 2147483648, got 2147483649", 3, 15 },
	/* 11 */ { DOC("99999999999999999999999", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.interval: must be at most 2147483648", 3, 15 },
	/* 12 */ { DOC("abc", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.interval: must be a positive integer, got \"abc\"", 3, 15 },
	/* 13 */ { DOC("'360'", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.interval: must be a positive integer, got a quoted string", 3, 15 },
	/* 14 */ { DOC("1.5", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "got \"1.5\"", 3, 15 },
	/* 15 */ { DOC("0360", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "got \"0360\"", 3, 15 },
	/* 16 */ { DOC("[360]", "dk", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.interval: must be a scalar, got a sequence", 3, 15 },
	/* 17 */ { DOC("360", "dk", "0", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.length: must be a positive integer, got 0", 5, 13 },
	/* 18 */ { DOC("360", "dk", "43", "360", "ck", "45", "r", "z", "m", ""),
		   "otp.crypto.length: must be at most 44, got 45", 9, 13 },
	/* 19 */ { DOC("360", "''", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.key: must not be empty", 4, 10 },
	/* 20 */ { DOC("360", "", "43", "360", "ck", "43", "r", "z", "m", ""),
		   "otp.dht.key: must not be empty", 0, 0 },
	/* 21 */ { DOC("360", "dk", "43", "360", "~", "43", "r", "z", "m", ""),
		   "otp.crypto.key: must not be empty", 8, 10 },
	/* 22 */ { DOC("360", "dk", "43", "360", "{a: b}", "43", "r", "z", "m", ""),
		   "otp.crypto.key: must be a scalar, got a mapping", 8, 10 },
	/* 23 */ { DOC("360", "dk", "43", "360", "ck", "43", "null", "z", "m", ""),
		   "room: must not be empty", 10, 7 },
	/* 24 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "[z]", "m", ""),
		   "rendezvous: must be a scalar, got a sequence", 11, 13 },
	/* 25 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "\"a\\0b\"", ""),
		   "mdns: must not contain a NUL character", 12, 7 },
	/* 26 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "m", "max_message_size: 0\n"),
		   "max_message_size: must be a positive integer, got 0", 13, 19 },
	/* 27 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "m", "max_message_size: -3\n"),
		   "max_message_size: must be a positive integer, got -3", 13, 19 },
	/* 28 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "m", "max_message_size: {}\n"),
		   "max_message_size: must be a scalar, got a mapping", 13, 19 },
	/* 29 */ { "otp: {dht: {interval: 1, key: &a k, length: 1}}\n", "anchors are not allowed", 1, 31 },
	/* 30 */ { "x: &a [1]\ny: *a\n", "anchors are not allowed", 1, 4 },
	/* 31 */ { "x: *a\n", "aliases are not allowed", 1, 4 },
	/* 32 */ { "a: 1\nb: 2\na: 3\n", "a: duplicate key (first at line 1)", 3, 1 },
	/* 33 */ { "otp: {dht: {x: 1, x: 2}}\n", "otp.dht.x: duplicate key", 1, 19 },
	/* 34 */ { "l: [{k: 1, k: 2}]\n", "l[0].k: duplicate key", 1, 12 },
	/* 35 */ { "a: 1\n'a': 2\n", "a: duplicate key", 2, 1 },
	/* 36 */ { "a: [1\n", "YAML syntax error: did not find expected ',' or ']'", 2, 1 },
	/* 37 */ { "a: b: c\n", "YAML syntax error: mapping values are not allowed", 1, 5 },
	/* 38 */ { "a: 1\n---\nb: 2\n", "more than one YAML document", 2, 1 },
	/* 39 */ { "? [a]\n: 1\n", "mapping keys must be strings", 1, 3 },
	/* 40 */ { "a: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
		   "nested deeper than", 0, 0 },
	/* 41 */ { DOC("360", "dk", "43", "360", "ck", "43", "r", "z", "m", "mdns: twice\n"),
		   "mdns: duplicate key (first at line 12)", 13, 1 },
	/* 42 */ { "a: \"\\q\"\n", "YAML syntax error: found unknown escape character", 0, 0 },
	/* 43 */ { "a: b\n\x01\n", "YAML syntax error: control characters are not allowed at byte 5", 0, 0 },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nt_config cfg;
		struct nt_err err;
		int ret = nt_config_parse(&cfg, bad[i].yaml, strlen(bad[i].yaml), &err);

		if (ret != -EINVAL || !strstr(err.msg, bad[i].msg))
			fail_msg("case %zu: ret %d, msg \"%s\", expected \"%s\"", i, ret, err.msg, bad[i].msg);
		if (bad[i].line && (err.line != bad[i].line || err.col != bad[i].col))
			fail_msg("case %zu: at %d:%d, expected %d:%d (%s)", i, err.line, err.col,
				 bad[i].line, bad[i].col, err.msg);
		assert_null(strchr(err.msg, '\n'));
		/* A failed parse leaves no secret behind. */
		assert_int_equal(cfg.room[0], 0);
		assert_int_equal(cfg.otp_dht.key[0], 0);
	}
}

static void test_secret_length_limit(void **state)
{
	struct nt_config cfg;
	struct nt_err err;
	char doc[1024];

	(void)state;
	snprintf(doc, sizeof(doc), DOC("360", "dk", "43", "360", "ck", "43", "%s", "z", "m", ""), long129);
	assert_int_equal(nt_config_parse(&cfg, doc, strlen(doc), &err), -EINVAL);
	assert_string_equal(err.msg, "room: longer than 128 bytes (got 129)");
	/* 128 is accepted. */
	snprintf(doc, sizeof(doc), DOC("360", "dk", "43", "360", "ck", "43", "%.128s", "z", "m", ""),
		 long129);
	assert_int_equal(nt_config_parse(&cfg, doc, strlen(doc), &err), 0);
	assert_int_equal(strlen(cfg.room), 128);
	assert_round_trip(&cfg);
}

static void test_bounds_accepted(void **state)
{
	static const char doc[] = DOC("2147483648", "dk", "1", "1", "ck", "44", "r", "z", "m",
				      "max_message_size: 9223372036854775807\nextra: {deep: [1, {x: y}]}\n");
	struct nt_config cfg;
	struct nt_err err;

	(void)state;
	assert_int_equal(nt_config_parse(&cfg, doc, strlen(doc), &err), 0);
	assert_int_equal(cfg.otp_dht.interval, 2147483648U);
	assert_int_equal(cfg.otp_dht.length, 1);
	assert_int_equal(cfg.otp_crypto.interval, 1);
	assert_int_equal(cfg.otp_crypto.length, 44);
	assert_int_equal(cfg.max_message_size, 9223372036854775807ULL);
	assert_round_trip(&cfg);

	/* max_message_size is optional. */
	assert_int_equal(nt_config_parse(&cfg, GOOD(), strlen(GOOD()), &err), 0);
	assert_int_equal(cfg.max_message_size, NT_MAX_MESSAGE_SIZE_DEFAULT);
}

static void test_size_limit(void **state)
{
	struct nt_config cfg;
	struct nt_err err;
	size_t base = strlen(GOOD());
	char *doc = malloc(NT_CONFIG_MAX_BYTES + 2);

	(void)state;
	assert_non_null(doc);
	/* Padded with a comment to exactly the limit: accepted. */
	memcpy(doc, GOOD(), base);
	doc[base] = '#';
	memset(doc + base + 1, 'x', NT_CONFIG_MAX_BYTES - base - 2);
	doc[NT_CONFIG_MAX_BYTES - 1] = '\n';
	assert_int_equal(nt_config_parse(&cfg, doc, NT_CONFIG_MAX_BYTES, &err), 0);
	/* One byte more: refused before parsing. */
	doc[NT_CONFIG_MAX_BYTES - 1] = 'x';
	doc[NT_CONFIG_MAX_BYTES] = '\n';
	assert_int_equal(nt_config_parse(&cfg, doc, NT_CONFIG_MAX_BYTES + 1, &err), -EINVAL);
	assert_string_equal(err.msg, "network definition is 65537 bytes, more than the limit of 65536");
	free(doc);
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static void test_generate(void **state)
{
	struct nt_config cfg, prev;

	(void)state;
	assert_int_equal(nt_config_generate(&cfg, 0), -EINVAL);
	memset(&prev, 0, sizeof(prev));
	for (int n = 0; n < 200; n++) {
		const char *secrets[] = { cfg.otp_dht.key, cfg.otp_crypto.key, cfg.room,
					  cfg.rendezvous, cfg.mdns };

		assert_int_equal(nt_config_generate(&cfg, n == 0 ? 360 : (uint32_t)n), 0);
		assert_int_equal(cfg.otp_dht.interval, n == 0 ? 360 : n);
		assert_int_equal(cfg.otp_crypto.interval, cfg.otp_dht.interval);
		assert_int_equal(cfg.otp_dht.length, 43);
		assert_int_equal(cfg.otp_crypto.length, 43);
		assert_int_equal(cfg.max_message_size, 20971520);
		for (size_t i = 0; i < 5; i++) {
			assert_int_equal(strlen(secrets[i]), NT_SECRET_GEN_LEN);
			for (size_t j = 0; j < NT_SECRET_GEN_LEN; j++)
				assert_true(is_alnum(secrets[i][j]));
			for (size_t j = 0; j < i; j++)
				assert_string_not_equal(secrets[i], secrets[j]);
		}
		assert_string_not_equal(cfg.room, prev.room);
		assert_round_trip(&cfg);
		prev = cfg;
	}
}

/* Strings that need quoting survive print -> parse unchanged. */
static void test_quoting_round_trip(void **state)
{
	static const char *const strings[] = {
		"plain",      "123",        "0x1F",      "0o17",         "0b101",      "1e5",
		"12abc",      "null",       "Null",      "~",            "true",       "NO",
		"y",          "off",        "with space", " lead",       "trail ",     "a:b",
		"a: b",       "#hash",      "a #b",      "-",            "- a",        "?",
		"'single'",   "\"double\"", "back\\slash", "tab\there",  "new\nline",  "cr\rx",
		"\x01\x1f\x7f", "caf\xc3\xa9", "\xe2\x80\xa8", "\xef\xbb\xbf", "\xf0\x9f\x98\x80",
		"&anchor",    "*alias",     "!tag",      "%dir",         "@at",        "`tick",
		"{a}",        "[a]",        "a,b",       "|",            ">",          "...",
		"---",        "=",          "<<",
	};
	struct nt_config cfg;

	(void)state;
	assert_int_equal(nt_config_generate(&cfg, 360), 0);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		snprintf(cfg.room, sizeof(cfg.room), "%s", strings[i]);
		snprintf(cfg.otp_dht.key, sizeof(cfg.otp_dht.key), "%s", strings[i]);
		assert_round_trip(&cfg);
	}
	/* Only [A-Za-z0-9] strings that read as no number, null or boolean stay plain. */
	snprintf(cfg.room, sizeof(cfg.room), "plain");
	snprintf(cfg.rendezvous, sizeof(cfg.rendezvous), "123");
	snprintf(cfg.mdns, sizeof(cfg.mdns), "a b\"\\\t\xc3\xa9");
	{
		char *text = nt_config_print(&cfg);
		assert_non_null(strstr(text, "\nroom: plain\n"));
		assert_non_null(strstr(text, "\nrendezvous: \"123\"\n"));
		assert_non_null(strstr(text, "\nmdns: \"a b\\\"\\\\\\x09\\xE9\"\n"));
		free(text);
	}
}

static void test_print_exact(void **state)
{
	struct nt_config cfg;
	char *text;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.otp_dht.interval = 360;
	cfg.otp_dht.length = 43;
	strcpy(cfg.otp_dht.key, "XXX");
	cfg.otp_crypto.interval = 360;
	cfg.otp_crypto.length = 43;
	strcpy(cfg.otp_crypto.key, "YYY");
	strcpy(cfg.room, "R");
	strcpy(cfg.rendezvous, "Z");
	strcpy(cfg.mdns, "M");
	cfg.max_message_size = 20971520;
	text = nt_config_print(&cfg);
	assert_string_equal(text, "otp:\n  dht:\n    interval: 360\n    key: XXX\n    length: 43\n"
				  "  crypto:\n    interval: 360\n    key: YYY\n    length: 43\n"
				  "room: R\nrendezvous: Z\nmdns: M\nmax_message_size: 20971520\n");
	free(text);
}

static void test_load_file(void **state)
{
	char dir[] = "/tmp/nt-test-config-XXXXXX", path[256];
	struct nt_config cfg;
	struct nt_err err;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.yaml", dir);
	assert_int_equal(nt_config_load_file(&cfg, path, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "missing.yaml: No such file or directory"));

	assert_int_equal(nt_config_load_file(&cfg, dir, &err), -EISDIR);

	snprintf(path, sizeof(path), "%s/net.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(EDGEVPN_SAMPLE, f);
	fclose(f);
	assert_int_equal(nt_config_load_file(&cfg, path, &err), 0);
	assert_string_equal(cfg.mdns, "VoZfePlTchbSrdmivaqaOyQyEnTMlugi");

	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < NT_CONFIG_MAX_BYTES / 8 + 1; i++)
		fputs("#......\n", f);
	fclose(f);
	assert_int_equal(nt_config_load_file(&cfg, path, &err), -EFBIG);
	assert_non_null(strstr(err.msg, "larger than the limit of 65536 bytes"));
	unlink(path);
	rmdir(dir);
}

static void test_wipe(void **state)
{
	struct nt_config cfg, zero;

	(void)state;
	assert_int_equal(nt_config_generate(&cfg, 360), 0);
	nt_config_wipe(&cfg);
	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(&cfg, &zero, sizeof(cfg));
	nt_config_wipe(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edgevpn_sample),
		cmocka_unit_test(test_examples_parse),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_secret_length_limit),
		cmocka_unit_test(test_bounds_accepted),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_quoting_round_trip),
		cmocka_unit_test(test_print_exact),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
