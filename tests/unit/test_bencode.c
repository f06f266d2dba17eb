// SPDX-License-Identifier: MIT
/*
 * Strict bencode: accepted values, a numbered table of rejected inputs each with its
 * error, the writer, and decode(write(x)) == x.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "discovery/bencode.h"

static struct nt_bencode b;

static int dec(const char *s)
{
	return nt_bencode_decode(&b, (const uint8_t *)s, strlen(s));
}

static void test_valid(void **state)
{
	static const struct {
		const char *in;
		size_t ntok;
		uint8_t type;
	} cases[] = {
		{ "i0e", 1, NT_BENC_INT },
		{ "i42e", 1, NT_BENC_INT },
		{ "i-42e", 1, NT_BENC_INT },
		{ "i9223372036854775807e", 1, NT_BENC_INT },
		{ "i-9223372036854775808e", 1, NT_BENC_INT },
		{ "0:", 1, NT_BENC_STR },
		{ "4:spam", 1, NT_BENC_STR },
		{ "le", 1, NT_BENC_LIST },
		{ "de", 1, NT_BENC_DICT },
		{ "l4:spam4:eggse", 3, NT_BENC_LIST },
		{ "d3:cow3:moo4:spam4:eggse", 5, NT_BENC_DICT },
		{ "d4:spaml1:a1:bee", 5, NT_BENC_DICT },
		{ "d1:a0:2:aai1ee", 5, NT_BENC_DICT }, /* "a" < "aa" */
		{ "lllllllleeeeeeee", 8, NT_BENC_LIST }, /* depth 8 = the limit */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = dec(cases[i].in);
		if (ret != 0)
			fail_msg("case %zu (%s): %s", i, cases[i].in, nt_bencode_strerror(ret));
		assert_int_equal(b.ntok, cases[i].ntok);
		assert_int_equal(b.tok[0].type, cases[i].type);
	}
	assert_int_equal(dec("i-9223372036854775808e"), 0);
	assert_true(b.tok[0].ival == INT64_MIN);
	assert_int_equal(dec("i9223372036854775807e"), 0);
	assert_true(b.tok[0].ival == INT64_MAX);
	assert_int_equal(dec("i-42e"), 0);
	assert_int_equal(b.tok[0].ival, -42);
}

static void test_invalid(void **state)
{
	static const struct {
		const char *in;
		int err;
	} cases[] = {
		/* 0 */ { "", NT_BENC_E_TRUNCATED },
		/* 1 */ { "i", NT_BENC_E_TRUNCATED },
		/* 2 */ { "i12", NT_BENC_E_TRUNCATED },
		/* 3 */ { "ie", NT_BENC_E_INT },
		/* 4 */ { "i-e", NT_BENC_E_INT },
		/* 5 */ { "i-0e", NT_BENC_E_INT },
		/* 6 */ { "i03e", NT_BENC_E_INT },
		/* 7 */ { "i-03e", NT_BENC_E_INT },
		/* 8 */ { "i1.5e", NT_BENC_E_INT },
		/* 9 */ { "i+1e", NT_BENC_E_INT },
		/* 10 */ { "i9223372036854775808e", NT_BENC_E_INT },
		/* 11 */ { "i-9223372036854775809e", NT_BENC_E_INT },
		/* 12 */ { "5:abc", NT_BENC_E_STRLEN },
		/* 13 */ { "04:spam", NT_BENC_E_STRLEN },
		/* 14 */ { "4294967296:x", NT_BENC_E_STRLEN },
		/* 15 */ { "4", NT_BENC_E_TRUNCATED },
		/* 16 */ { "-1:a", NT_BENC_E_SYNTAX },
		/* 17 */ { "x", NT_BENC_E_SYNTAX },
		/* 18 */ { "l", NT_BENC_E_TRUNCATED },
		/* 19 */ { "l4:spam", NT_BENC_E_TRUNCATED },
		/* 20 */ { "d", NT_BENC_E_TRUNCATED },
		/* 21 */ { "di1e1:ae", NT_BENC_E_KEY },
		/* 22 */ { "dle1:ae", NT_BENC_E_KEY },
		/* 23 */ { "d1:ae", NT_BENC_E_SYNTAX },
		/* 24 */ { "d1:b0:1:a0:e", NT_BENC_E_ORDER },
		/* 25 */ { "d1:a0:1:a0:e", NT_BENC_E_ORDER },
		/* 26 */ { "d2:aa0:1:a0:e", NT_BENC_E_ORDER },
		/* 27 */ { "i1ei2e", NT_BENC_E_TRAILING },
		/* 28 */ { "dex", NT_BENC_E_TRAILING },
		/* 29 */ { "llllllllleeeeeeeee", NT_BENC_E_DEPTH },
		/* 30 */ { "e", NT_BENC_E_SYNTAX },
		/* 31 */ { "4:spa", NT_BENC_E_STRLEN },
		/* 32 */ { "d1:a", NT_BENC_E_TRUNCATED },
		/* 33 */ { "li1e", NT_BENC_E_TRUNCATED },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = dec(cases[i].in);
		if (ret != cases[i].err)
			fail_msg("case %zu (%s): got %s, want %s", i, cases[i].in,
				 nt_bencode_strerror(ret), nt_bencode_strerror(cases[i].err));
		assert_int_equal(b.ntok, 0);
	}
}

static void test_too_many_tokens(void **state)
{
	char buf[2 + 3 * (NT_BENCODE_TOKENS_MAX + 1)];
	size_t n = 0;

	(void)state;
	buf[n++] = 'l';
	for (int i = 0; i < NT_BENCODE_TOKENS_MAX - 1; i++) {
		memcpy(buf + n, "i0e", 3);
		n += 3;
	}
	buf[n++] = 'e';
	assert_int_equal(nt_bencode_decode(&b, (uint8_t *)buf, n), 0);
	assert_int_equal(b.ntok, NT_BENCODE_TOKENS_MAX);
	memmove(buf + 4, buf + 1, n - 1);
	memcpy(buf + 1, "i0e", 3);
	assert_int_equal(nt_bencode_decode(&b, (uint8_t *)buf, n + 3), NT_BENC_E_TOO_MANY);
}

static void test_truncations_never_succeed(void **state)
{
	static const char msg[] = "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e"
				  "1:q9:find_node1:t2:aa1:y1:qe";
	(void)state;
	assert_int_equal(dec(msg), 0);
	for (size_t n = 0; n < sizeof(msg) - 1; n++)
		assert_true(nt_bencode_decode(&b, (const uint8_t *)msg, n) < 0);
}

static void test_dict_get(void **state)
{
	size_t len;
	const uint8_t *p;
	int i;

	(void)state;
	assert_int_equal(dec("d1:ad2:id3:xyze1:q4:ping1:t2:aa1:y1:qe"), 0);
	i = nt_bencode_dict_get(&b, 0, "q");
	assert_true(nt_bencode_str_is(&b, i, "ping"));
	i = nt_bencode_dict_get_type(&b, 0, "a", NT_BENC_DICT);
	assert_true(i > 0);
	p = nt_bencode_str(&b, nt_bencode_dict_get(&b, i, "id"), &len);
	assert_non_null(p);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "xyz", 3);
	assert_int_equal(nt_bencode_dict_get(&b, 0, "id"), -1); /* not at top level */
	assert_int_equal(nt_bencode_dict_get_type(&b, 0, "q", NT_BENC_INT), -1);
	assert_int_equal(nt_bencode_dict_get(&b, 0, "zz"), -1);
	assert_int_equal(nt_bencode_dict_get(&b, i, "q"), -1);
	assert_true(nt_bencode_str_is(&b, nt_bencode_dict_get(&b, 0, "y"), "q"));
}

static void test_writer_round_trip(void **state)
{
	uint8_t buf[128];
	struct nt_bencode_writer w;
	static const char want[] = "d3:bari-7e3:fool4:spami0ei123456789012ee3:zzz0:e";

	(void)state;
	nt_bencode_writer_init(&w, buf, sizeof(buf));
	nt_bencode_put_dict(&w);
	nt_bencode_put_cstr(&w, "bar");
	nt_bencode_put_int(&w, -7);
	nt_bencode_put_cstr(&w, "foo");
	nt_bencode_put_list(&w);
	nt_bencode_put_cstr(&w, "spam");
	nt_bencode_put_int(&w, 0);
	nt_bencode_put_int(&w, 123456789012LL);
	nt_bencode_put_end(&w);
	nt_bencode_put_cstr(&w, "zzz");
	nt_bencode_put_str(&w, "", 0);
	nt_bencode_put_end(&w);
	assert_int_equal(nt_bencode_writer_finish(&w), (ssize_t)strlen(want));
	assert_memory_equal(buf, want, strlen(want));
	assert_int_equal(nt_bencode_decode(&b, buf, w.len), 0);
	assert_int_equal(b.tok[nt_bencode_dict_get(&b, 0, "bar")].ival, -7);

	/* Overflow is sticky and reported. */
	nt_bencode_writer_init(&w, buf, 5);
	nt_bencode_put_cstr(&w, "hello");
	nt_bencode_put_int(&w, 1);
	assert_true(nt_bencode_writer_finish(&w) < 0);
	assert_true(w.len <= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_too_many_tokens),
		cmocka_unit_test(test_truncations_never_succeed),
		cmocka_unit_test(test_dict_get),
		cmocka_unit_test(test_writer_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
