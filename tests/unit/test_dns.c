// SPDX-License-Identifier: MIT
/*
 * DNS codec: golden builder output compared byte for byte, a hand-written avahi-style
 * response decoded field by field, a table of malformed messages with the verdict each must
 * get, name text conversion, TXT helpers, and builder limits (rollback on -ENOSPC, order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/dns.h"

static struct nt_dns_msg *msg_new(void)
{
	struct nt_dns_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

static struct nt_dns_name name(const char *s)
{
	struct nt_dns_name n;

	assert_true(nt_dns_name_from_str(&n, s));
	return n;
}

static const char *str(const struct nt_dns_name *n)
{
	static char buf[NT_DNS_NAME_STRLEN];

	return nt_dns_name_to_str(n, buf, sizeof(buf));
}

/* Golden: a browse query, uncompressed. */
static void test_build_query_golden(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x07, '_', 'n', 'e', 't', 'r', 'o', 'n', 0x04, '_', 'u', 'd', 'p',
		0x05, 'l', 'o', 'c', 'a', 'l', 0x00, 0x00, 0x0c, 0x00, 0x01,
	};
	struct nt_dns_name n = name("_netron._udp.local");
	struct nt_dns_builder b;
	uint8_t buf[512];

	(void)state;
	nt_dns_builder_init(&b, buf, sizeof(buf), 0, 0, false);
	assert_int_equal(nt_dns_builder_add_question(&b, &n, NT_DNS_TYPE_PTR, NT_DNS_CLASS_IN), 0);
	assert_int_equal(nt_dns_builder_finish(&b), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* Golden: a compressed response with a PTR answer and an SRV additional. */
static void test_build_response_golden(void **state)
{
	static const uint8_t want[] = {
		/* header: QR|AA, 1 answer, 1 additional */
		0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
		/* 12: _netron._udp.local PTR IN 4500 */
		0x07, '_', 'n', 'e', 't', 'r', 'o', 'n', 0x04, '_', 'u', 'd', 'p',
		0x05, 'l', 'o', 'c', 'a', 'l', 0x00, 0x00, 0x0c, 0x00, 0x01,
		0x00, 0x00, 0x11, 0x94, 0x00, 0x06,
		/* 42: abc + pointer to 12 */
		0x03, 'a', 'b', 'c', 0xc0, 0x0c,
		/* 48: pointer to 42, SRV cache-flush IN 120, rdlength 13 */
		0xc0, 0x2a, 0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0d,
		/* 0 0 51830 host + pointer to "local" at 25 */
		0x00, 0x00, 0x00, 0x00, 0xca, 0x76, 0x04, 'h', 'o', 's', 't', 0xc0, 0x19,
	};
	struct nt_dns_builder b;
	struct nt_dns_rr rr;
	struct nt_dns_msg *m = msg_new();
	uint8_t buf[512];

	(void)state;
	nt_dns_builder_init(&b, buf, sizeof(buf), 0, NT_DNS_FLAG_QR | NT_DNS_FLAG_AA, true);
	memset(&rr, 0, sizeof(rr));
	rr.name = name("_netron._udp.local");
	rr.type = NT_DNS_TYPE_PTR;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.ttl = 4500;
	rr.rd.ptr = name("abc._netron._udp.local");
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
	memset(&rr, 0, sizeof(rr));
	rr.name = name("ABC._netron._udp.local"); /* compression is case-insensitive */
	rr.type = NT_DNS_TYPE_SRV;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.cache_flush = true;
	rr.ttl = 120;
	rr.rd.srv.port = 51830;
	rr.rd.srv.target = name("host.local");
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ADDITIONAL, &rr), 0);
	assert_int_equal(nt_dns_builder_finish(&b), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));

	/* And it decodes back to what was put in. */
	assert_int_equal(nt_dns_msg_decode(m, buf, sizeof(want)), NT_DNS_OK);
	assert_int_equal(m->nrr, 2);
	assert_int_equal(m->rr[0].section, NT_DNS_SEC_ANSWER);
	assert_string_equal(str(&m->rr[0].rd.ptr), "abc._netron._udp.local");
	assert_int_equal(m->rr[1].section, NT_DNS_SEC_ADDITIONAL);
	assert_true(m->rr[1].cache_flush);
	assert_int_equal(m->rr[1].rd.srv.port, 51830);
	assert_string_equal(str(&m->rr[1].rd.srv.target), "host.local");
	free(m);
}

/* A response as avahi sends it for "Printer Two" (_ipp._tcp), written out by hand. */
static const uint8_t avahi_response[] = {
	/*   0 header: id 0, QR|AA, 4 answers, 2 additional */
	0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02,
	/*  12 name _ipp._tcp.local (off 12) */
	0x04, 0x5f, 0x69, 0x70, 0x70, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c,
	0x6f, 0x63, 0x61, 0x6c, 0x00,
	/*  29 PTR IN ttl 4500 rdlen 14 */
	0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x0e,
	/*  39 rdata: 'Printer Two' + ptr -> 12 */
	0x0b, 0x50, 0x72, 0x69, 0x6e, 0x74, 0x65, 0x72, 0x20, 0x54, 0x77, 0x6f,
	0xc0, 0x0c,
	/*  53 name -> instance (39) */
	0xc0, 0x27,
	/*  55 SRV cache-flush IN ttl 120 */
	0x00, 0x21, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x0f,
	/*  65 prio 0 weight 0 port 631 */
	0x00, 0x00, 0x00, 0x00, 0x02, 0x77,
	/*  71 target office + ptr local(22) */
	0x06, 0x6f, 0x66, 0x66, 0x69, 0x63, 0x65, 0xc0, 0x16,
	/*  80 name -> instance */
	0xc0, 0x27,
	/*  82 TXT cache-flush IN ttl 4500 */
	0x00, 0x10, 0x80, 0x01, 0x00, 0x00, 0x11, 0x94, 0x00, 0x26,
	/*  92 strings */
	0x09, 0x74, 0x78, 0x74, 0x76, 0x65, 0x72, 0x73, 0x3d, 0x31, 0x0c, 0x72,
	0x70, 0x3d, 0x69, 0x70, 0x70, 0x2f, 0x70, 0x72, 0x69, 0x6e, 0x74, 0x0e,
	0x6e, 0x6f, 0x74, 0x65, 0x3d, 0x32, 0x6e, 0x64, 0x20, 0x66, 0x6c, 0x6f,
	0x6f, 0x72,
	/* 130 name -> office.local */
	0xc0, 0x47,
	/* 132 A 192.168.1.20 */
	0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0xc0, 0xa8,
	0x01, 0x14,
	/* 146 name -> office.local */
	0xc0, 0x47,
	/* 148 AAAA fe80::211:22ff:fe33:4455 */
	0x00, 0x1c, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x10, 0xfe, 0x80,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33,
	0x44, 0x55,
	/* 174 name -> office.local */
	0xc0, 0x47,
	/* 176 NSEC (A, AAAA): skipped */
	0x00, 0x2f, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x08, 0xc0, 0x47,
	0x00, 0x04, 0x40, 0x00, 0x00, 0x08,
};

static void test_decode_avahi_response(void **state)
{
	struct nt_dns_msg *m = msg_new();
	char v[64];
	static const uint8_t ll[16] = { 0xfe, 0x80, [8] = 0x02, 0x11, 0x22, 0xff,
					0xfe, 0x33, 0x44, 0x55 };

	(void)state;
	assert_int_equal(sizeof(avahi_response), 194);
	assert_int_equal(nt_dns_msg_decode(m, avahi_response, sizeof(avahi_response)), NT_DNS_OK);
	assert_int_equal(m->flags, 0x8400);
	assert_int_equal(m->ancount, 4);
	assert_int_equal(m->arcount, 2);
	assert_int_equal(m->nq, 0);
	assert_int_equal(m->nrr, 5);
	assert_int_equal(m->skipped, 1); /* the NSEC */
	assert_int_equal(m->dropped, 0);

	assert_int_equal(m->rr[0].type, NT_DNS_TYPE_PTR);
	assert_false(m->rr[0].cache_flush);
	assert_int_equal(m->rr[0].ttl, 4500);
	assert_string_equal(str(&m->rr[0].name), "_ipp._tcp.local");
	assert_string_equal(str(&m->rr[0].rd.ptr), "Printer\\032Two._ipp._tcp.local");

	assert_int_equal(m->rr[1].type, NT_DNS_TYPE_SRV);
	assert_true(m->rr[1].cache_flush);
	assert_int_equal(m->rr[1].rclass, NT_DNS_CLASS_IN);
	assert_int_equal(m->rr[1].ttl, 120);
	assert_int_equal(m->rr[1].rd.srv.port, 631);
	assert_true(nt_dns_name_equal(&m->rr[1].name, &m->rr[0].rd.ptr));
	assert_string_equal(str(&m->rr[1].rd.srv.target), "office.local");

	assert_int_equal(m->rr[2].type, NT_DNS_TYPE_TXT);
	assert_int_equal(m->rr[2].rd.txt.len, 38);
	assert_true(nt_dns_txt_get(&m->rr[2].rd.txt, "RP", v, sizeof(v)));
	assert_string_equal(v, "ipp/print");
	assert_true(nt_dns_txt_get(&m->rr[2].rd.txt, "note", v, sizeof(v)));
	assert_string_equal(v, "2nd floor");
	assert_false(nt_dns_txt_get(&m->rr[2].rd.txt, "txt", v, sizeof(v)));
	assert_false(nt_dns_txt_get(&m->rr[2].rd.txt, "note", v, 9)); /* no room for NUL */

	assert_int_equal(m->rr[3].type, NT_DNS_TYPE_A);
	assert_memory_equal(m->rr[3].rd.a, ((uint8_t[]){ 192, 168, 1, 20 }), 4);
	assert_string_equal(str(&m->rr[3].name), "office.local");

	assert_int_equal(m->rr[4].type, NT_DNS_TYPE_AAAA);
	assert_int_equal(m->rr[4].section, NT_DNS_SEC_ADDITIONAL);
	assert_memory_equal(m->rr[4].rd.aaaa, ll, 16);
	free(m);
}

/* Every prefix of a valid message is rejected, none is read past (ASan checks the latter). */
static void test_decode_every_truncation(void **state)
{
	struct nt_dns_msg *m = msg_new();

	(void)state;
	for (size_t len = 0; len < sizeof(avahi_response); len++) {
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, avahi_response, len);
		assert_int_not_equal(nt_dns_msg_decode(m, copy, len), NT_DNS_OK);
		free(copy);
	}
	free(m);
}

#define HDR(qd, an, ns, ar) 0, 0, 0x84, 0, 0, qd, 0, an, 0, ns, 0, ar
#define RRHDR(type, rdlen) 0, type, 0, 1, 0, 0, 0, 120, 0, rdlen

struct bad_case {
	const char *what;
	uint8_t bytes[64];
	size_t len;
	int verdict;
};

static const struct bad_case bad_cases[] = {
	{ "short header", { 0, 0, 0, 0, 0 }, 5, NT_DNS_E_TRUNCATED },
	{ "empty", { 0 }, 0, NT_DNS_E_TRUNCATED },
	{ "count overflow", { HDR(0, 0xff, 0, 0), 0, RRHDR(1, 4), 1, 2, 3, 4 }, 27, NT_DNS_E_COUNT },
	{ "question count overflow", { HDR(4, 0, 0, 0), 0, 0, 1, 0, 1 }, 17, NT_DNS_E_COUNT },
	{ "compression loop", { HDR(1, 0, 0, 0), 1, 'a', 0xc0, 12, 0, 1, 0, 1 }, 20,
	  NT_DNS_E_PTR_LOOP },
	{ "pointer to itself", { HDR(1, 0, 0, 0), 0xc0, 12, 0, 1, 0, 1 }, 18,
	  NT_DNS_E_PTR_FORWARD },
	{ "pointer forward", { HDR(1, 0, 0, 0), 0xc0, 18, 0, 1, 0, 1, 0 }, 19,
	  NT_DNS_E_PTR_FORWARD },
	{ "pointer past end", { HDR(1, 0, 0, 0), 0xff, 0xff, 0, 1, 0, 1 }, 18,
	  NT_DNS_E_PTR_FORWARD },
	{ "pointer cut in half", { HDR(1, 0, 0, 0), 1, 'a', 0xc0 }, 15, NT_DNS_E_COUNT },
	{ "label 64 (0x40 type)", { HDR(1, 0, 0, 0), 0x40, 'a', 0, 0, 1, 0, 1 }, 19,
	  NT_DNS_E_LABEL },
	{ "label type 0x80", { HDR(1, 0, 0, 0), 0x81, 'a', 0, 0, 1, 0, 1 }, 19, NT_DNS_E_LABEL },
	{ "label past end", { HDR(1, 0, 0, 0), 5, 'a', 'b', 0, 1 }, 17, NT_DNS_E_TRUNCATED },
	{ "question cut", { HDR(1, 0, 0, 0), 1, 'a', 0, 0, 1, 0 }, 18, NT_DNS_E_TRUNCATED },
	{ "truncated rr", { HDR(0, 1, 0, 0), 0, RRHDR(1, 4), 10, 0 }, 25, NT_DNS_E_TRUNCATED },
	{ "rr header cut", { HDR(0, 1, 0, 0), 1, 'a', 0, RRHDR(1, 4) }, 24, NT_DNS_E_TRUNCATED },
	{ "A rdlength 5", { HDR(0, 1, 0, 0), 0, RRHDR(1, 5), 1, 2, 3, 4, 5 }, 28, NT_DNS_E_RDLEN },
	{ "AAAA rdlength 4", { HDR(0, 1, 0, 0), 0, RRHDR(28, 4), 1, 2, 3, 4 }, 27,
	  NT_DNS_E_RDLEN },
	{ "PTR name shorter than rdlength", { HDR(0, 1, 0, 0), 0, RRHDR(12, 4), 1, 'a', 0, 9 }, 27,
	  NT_DNS_E_RDLEN },
	{ "PTR rdlength 2 cuts the name", { HDR(0, 1, 0, 0), 0, RRHDR(12, 2), 1, 'a', 0 }, 26,
	  NT_DNS_E_RDLEN },
	{ "PTR empty rdata", { HDR(0, 1, 0, 0), 0, RRHDR(12, 0) }, 23, NT_DNS_E_RDLEN },
	{ "SRV rdlength 6", { HDR(0, 1, 0, 0), 0, RRHDR(33, 6), 0, 0, 0, 0, 0, 1 }, 29,
	  NT_DNS_E_RDLEN },
	{ "TXT string overruns", { HDR(0, 1, 0, 0), 0, RRHDR(16, 3), 3, 'a', 'b' }, 26,
	  NT_DNS_E_RDLEN },
	{ "TXT empty", { HDR(0, 1, 0, 0), 0, RRHDR(16, 0) }, 23, NT_DNS_E_RDLEN },
	{ "trailing bytes", { HDR(0, 1, 0, 0), 0, RRHDR(1, 4), 1, 2, 3, 4, 9 }, 28,
	  NT_DNS_E_TRAILING },
	{ "unknown type rdata past end", { HDR(0, 1, 0, 0), 0, RRHDR(99, 9), 1 }, 24,
	  NT_DNS_E_TRUNCATED },
};

static void test_decode_malformed_table(void **state)
{
	struct nt_dns_msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		int got = nt_dns_msg_decode(m, c->bytes, c->len);

		if (got != c->verdict)
			fail_msg("case %zu (%s): got %d (%s), want %d (%s)", i, c->what, got,
				 nt_dns_strerror(got), c->verdict, nt_dns_strerror(c->verdict));
	}
	free(m);
}

/* Good counterparts of the table: backward pointers, unknown types, one label of 63. */
static void test_decode_valid_edges(void **state)
{
	static const uint8_t ok_ptr[] = { HDR(1, 1, 0, 0), 1, 'a', 0, 0, 1, 0, 1,
					  0xc0, 12, RRHDR(12, 4), 1, 'b', 0xc0, 12 };
	static const uint8_t unknown[] = { HDR(0, 2, 0, 0), 0, RRHDR(99, 2), 7, 7,
					   0, RRHDR(1, 4), 10, 0, 0, 1 };
	struct nt_dns_msg *m = msg_new();
	uint8_t buf[300];
	size_t n = 0;

	(void)state;
	assert_int_equal(nt_dns_msg_decode(m, ok_ptr, sizeof(ok_ptr)), NT_DNS_OK);
	assert_int_equal(m->nq, 1);
	assert_int_equal(m->nrr, 1);
	assert_string_equal(str(&m->rr[0].name), "a");
	assert_string_equal(str(&m->rr[0].rd.ptr), "b.a");

	assert_int_equal(nt_dns_msg_decode(m, unknown, sizeof(unknown)), NT_DNS_OK);
	assert_int_equal(m->skipped, 1);
	assert_int_equal(m->nrr, 1);
	assert_int_equal(m->rr[0].type, NT_DNS_TYPE_A);

	/* A name of exactly 255 octets (63+63+63+61 + root) passes; one more octet fails. */
	memcpy(buf, (uint8_t[]){ HDR(1, 0, 0, 0) }, 12);
	n = 12;
	for (int l = 0; l < 4; l++) {
		size_t ll = l < 3 ? 63 : 61;

		buf[n++] = (uint8_t)ll;
		memset(buf + n, 'x', ll);
		n += ll;
	}
	buf[n++] = 0;
	memcpy(buf + n, (uint8_t[]){ 0, 1, 0, 1 }, 4);
	assert_int_equal(n - 12, 255);
	assert_int_equal(nt_dns_msg_decode(m, buf, n + 4), NT_DNS_OK);
	assert_int_equal(m->q[0].name.len, 255);

	buf[12 + 64 * 3] = 62; /* name of 256 octets */
	memmove(buf + 12 + 64 * 3 + 1 + 62, buf + 12 + 64 * 3 + 1 + 61, 5);
	buf[12 + 64 * 3 + 62] = 'x';
	assert_int_equal(nt_dns_msg_decode(m, buf, n + 5), NT_DNS_E_NAME_LEN);
	free(m);
}

/* Questions chained by pointers: q[k] points at q[k-1], so q[k] needs k hops. */
static size_t build_chain(uint8_t *buf, unsigned int nq)
{
	size_t n = 12;

	memset(buf, 0, 12);
	buf[4] = (uint8_t)(nq >> 8);
	buf[5] = (uint8_t)nq;
	buf[n++] = 0; /* q0: root */
	memcpy(buf + n, (uint8_t[]){ 0, 1, 0, 1 }, 4);
	n += 4;
	for (unsigned int k = 1; k < nq; k++) {
		size_t prev = k == 1 ? 12 : n - 6;

		buf[n++] = (uint8_t)(0xc0 | prev >> 8);
		buf[n++] = (uint8_t)prev;
		memcpy(buf + n, (uint8_t[]){ 0, 1, 0, 1 }, 4);
		n += 4;
	}
	return n;
}

static void test_decode_hop_limit(void **state)
{
	struct nt_dns_msg *m = msg_new();
	uint8_t buf[512];
	size_t n;

	(void)state;
	n = build_chain(buf, NT_DNS_MAX_HOPS + 1);
	assert_int_equal(nt_dns_msg_decode(m, buf, n), NT_DNS_OK);
	assert_int_equal(m->nq, NT_DNS_MAX_QUESTIONS);
	assert_int_equal(m->dropped, NT_DNS_MAX_HOPS + 1 - NT_DNS_MAX_QUESTIONS);
	n = build_chain(buf, NT_DNS_MAX_HOPS + 2);
	assert_int_equal(nt_dns_msg_decode(m, buf, n), NT_DNS_E_PTR_LOOP);
	free(m);
}

/* More records than the fixed arrays hold: all are checked, the extra ones counted. */
static void test_decode_capacity(void **state)
{
	struct nt_dns_msg *m = msg_new();
	unsigned int nrr = NT_DNS_MAX_RRS + 5;
	uint8_t buf[2048];
	size_t n = 12;

	(void)state;
	memset(buf, 0, 12);
	buf[7] = (uint8_t)nrr;
	for (unsigned int i = 0; i < nrr; i++) {
		memcpy(buf + n, (uint8_t[]){ 0, RRHDR(1, 4), 10, 0, 0, (uint8_t)i }, 15);
		n += 15;
	}
	assert_int_equal(nt_dns_msg_decode(m, buf, n), NT_DNS_OK);
	assert_int_equal(m->nrr, NT_DNS_MAX_RRS);
	assert_int_equal(m->dropped, 5);
	assert_int_equal(m->rr[NT_DNS_MAX_RRS - 1].rd.a[3], NT_DNS_MAX_RRS - 1);
	buf[n - 15 + 2] = NT_DNS_TYPE_AAAA; /* the last, uncounted record is still checked */
	assert_int_equal(nt_dns_msg_decode(m, buf, n), NT_DNS_E_RDLEN);
	free(m);
}

static void test_name_text(void **state)
{
	static const struct {
		const char *in;
		bool ok;
		const char *out;
	} cases[] = {
		{ "a.b.local", true, "a.b.local" },
		{ "a.b.local.", true, "a.b.local" },
		{ ".", true, "." },
		{ "My\\ Printer._ipp._tcp.local", true, "My\\032Printer._ipp._tcp.local" },
		{ "dot\\.ted.local", true, "dot\\.ted.local" },
		{ "a\\046b", true, "a\\.b" },
		{ "", false, NULL },
		{ "a..b", false, NULL },
		{ ".a", false, NULL },
		{ "a\\", false, NULL },
		{ "a\\999", false, NULL },
		{ "0123456789012345678901234567890123456789012345678901234567890123.x", false, NULL },
		{ "012345678901234567890123456789012345678901234567890123456789012.x", true,
		  "012345678901234567890123456789012345678901234567890123456789012.x" },
	};
	struct nt_dns_name n;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = nt_dns_name_from_str(&n, cases[i].in);

		if (ok != cases[i].ok)
			fail_msg("case %zu (%s): got %d", i, cases[i].in, ok);
		if (ok)
			assert_string_equal(str(&n), cases[i].out);
	}
}

static void test_name_compare(void **state)
{
	struct nt_dns_name a = name("Foo._Netron._UDP.local"), b = name("foo._netron._udp.LOCAL");
	struct nt_dns_name svc = name("_netron._udp.local"), other = name("_ipp._tcp.local");
	const uint8_t *label;
	size_t llen;

	(void)state;
	assert_true(nt_dns_name_equal(&a, &b));
	assert_false(nt_dns_name_equal(&a, &svc));
	assert_true(nt_dns_name_is_child_of(&a, &svc, &label, &llen));
	assert_int_equal(llen, 3);
	assert_memory_equal(label, "Foo", 3);
	assert_false(nt_dns_name_is_child_of(&a, &other, NULL, NULL));
	assert_false(nt_dns_name_is_child_of(&svc, &svc, NULL, NULL));
	b = name("x.foo._netron._udp.local");
	assert_false(nt_dns_name_is_child_of(&b, &svc, NULL, NULL));
}

static void test_txt(void **state)
{
	struct nt_dns_txt t = { 0 };
	char big[300], v[32];

	(void)state;
	assert_int_equal(nt_dns_txt_add(&t, "v=1"), 0);
	assert_int_equal(nt_dns_txt_add(&t, "id=0123abcd"), 0);
	assert_int_equal(nt_dns_txt_add(&t, "flag"), 0);
	assert_int_equal(t.len, 4 + 12 + 5);
	assert_true(nt_dns_txt_get(&t, "id", v, sizeof(v)));
	assert_string_equal(v, "0123abcd");
	assert_true(nt_dns_txt_get(&t, "V", v, sizeof(v)));
	assert_string_equal(v, "1");
	assert_false(nt_dns_txt_get(&t, "flag", v, sizeof(v)));
	assert_false(nt_dns_txt_get(&t, "i", v, sizeof(v)));
	memset(big, 'a', 256);
	big[256] = '\0';
	assert_int_equal(nt_dns_txt_add(&t, big), -EINVAL);
	big[250] = '\0';
	assert_int_equal(nt_dns_txt_add(&t, big), -ENOSPC);
	assert_int_equal(t.len, 21);
}

/* A record that does not fit leaves the message as it was, and what fit still decodes. */
static void test_builder_limits(void **state)
{
	struct nt_dns_name n = name("host.local");
	struct nt_dns_msg *m = msg_new();
	struct nt_dns_builder b;
	struct nt_dns_rr rr;
	uint8_t buf[64];
	size_t before;
	ssize_t len;

	(void)state;
	nt_dns_builder_init(&b, buf, 11, 0, 0, true);
	assert_int_equal(nt_dns_builder_add_question(&b, &n, 1, 1), -ENOSPC);
	assert_int_equal(nt_dns_builder_finish(&b), -ENOSPC);

	memset(&rr, 0, sizeof(rr));
	rr.name = n;
	rr.type = NT_DNS_TYPE_A;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.ttl = 120;
	nt_dns_builder_init(&b, buf, sizeof(buf), 7, NT_DNS_FLAG_QR, true);
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0); /* 12+12+14 */
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0); /* +16 = 54 */
	before = b.len;
	rr.type = NT_DNS_TYPE_AAAA;
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), -ENOSPC);
	assert_int_equal(b.len, before);
	assert_int_equal(nt_dns_builder_add_question(&b, &n, 1, 1), -EINVAL); /* order */
	rr.type = 99;
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ADDITIONAL, &rr), -EINVAL);
	len = nt_dns_builder_finish(&b);
	assert_int_equal(len, 54);
	assert_int_equal(nt_dns_msg_decode(m, buf, (size_t)len), NT_DNS_OK);
	assert_int_equal(m->id, 7);
	assert_int_equal(m->ancount, 2);
	assert_int_equal(m->nrr, 2);
	free(m);
}

/* Compression shrinks a typical DNS-SD response and changes nothing in what it decodes to. */
static void test_builder_compression_roundtrip(void **state)
{
	static const char *const names[] = { "_netron._udp.local", "x._netron._udp.local",
					      "h-netron.local", "_services._dns-sd._udp.local" };
	struct nt_dns_msg *m1 = msg_new(), *m2 = msg_new();
	uint8_t plain[1024], packed[1024];
	ssize_t lp = 0, lc = 0;

	(void)state;
	for (int c = 0; c < 2; c++) {
		struct nt_dns_builder b;
		struct nt_dns_rr rr;

		nt_dns_builder_init(&b, c ? packed : plain, 1024, 0, NT_DNS_FLAG_QR, c);
		for (size_t i = 0; i < 4; i++) {
			memset(&rr, 0, sizeof(rr));
			rr.name = name(names[i]);
			rr.type = NT_DNS_TYPE_PTR;
			rr.rclass = NT_DNS_CLASS_IN;
			rr.rd.ptr = name(names[(i + 1) % 4]);
			assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
		}
		if (c)
			lc = nt_dns_builder_finish(&b);
		else
			lp = nt_dns_builder_finish(&b);
	}
	assert_true(lc > 0 && lp > 0 && lc < lp - 60);
	assert_int_equal(nt_dns_msg_decode(m1, plain, (size_t)lp), NT_DNS_OK);
	assert_int_equal(nt_dns_msg_decode(m2, packed, (size_t)lc), NT_DNS_OK);
	assert_int_equal(m1->nrr, 4);
	assert_int_equal(m2->nrr, 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_true(nt_dns_name_equal(&m1->rr[i].name, &m2->rr[i].name));
		assert_true(nt_dns_name_equal(&m1->rr[i].rd.ptr, &m2->rr[i].rd.ptr));
		assert_string_equal(str(&m2->rr[i].name), names[i]);
	}
	free(m1);
	free(m2);
}

/* SOA and CNAME (for the server of src/names/) round-trip, and every TTL is found but OPT's. */
static void test_soa_cname_ttl_offsets(void **state)
{
	struct nt_dns_msg *m = calloc(1, sizeof(*m));
	struct nt_dns_builder b;
	struct nt_dns_rr rr;
	uint8_t buf[512];
	uint16_t offs[4];
	/* A query with an EDNS OPT record: root name, type 41, class 1232, ttl 0, rdlen 0. */
	const uint8_t edns[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 'a', 0, 0, 1, 0, 1,
				 0, 0, 41, 4, 208, 0, 0, 0, 0, 0, 0 };
	ssize_t len;

	(void)state;
	nt_dns_builder_init(&b, buf, sizeof(buf), 7, NT_DNS_FLAG_QR, true);
	memset(&rr, 0, sizeof(rr));
	assert_true(nt_dns_name_from_str(&rr.name, "www.netron"));
	rr.type = NT_DNS_TYPE_CNAME;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.ttl = 30;
	assert_true(nt_dns_name_from_str(&rr.rd.ptr, "host.netron"));
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
	memset(&rr, 0, sizeof(rr));
	assert_true(nt_dns_name_from_str(&rr.name, "netron"));
	rr.type = NT_DNS_TYPE_SOA;
	rr.rclass = NT_DNS_CLASS_IN;
	rr.ttl = 60;
	assert_true(nt_dns_name_from_str(&rr.rd.soa.mname, "netron"));
	assert_true(nt_dns_name_from_str(&rr.rd.soa.rname, "hostmaster.netron"));
	rr.rd.soa.serial = 5;
	rr.rd.soa.minimum = 30;
	assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_AUTHORITY, &rr), 0);
	len = nt_dns_builder_finish(&b);
	assert_true(len > 0);
	assert_int_equal(nt_dns_msg_decode(m, buf, (size_t)len), NT_DNS_OK);
	assert_int_equal(m->nrr, 2);
	assert_string_equal(str(&m->rr[0].rd.ptr), "host.netron");
	assert_int_equal(m->rr[1].type, NT_DNS_TYPE_SOA);
	assert_string_equal(str(&m->rr[1].rd.soa.rname), "hostmaster.netron");
	assert_int_equal(m->rr[1].rd.soa.serial, 5);
	assert_int_equal(m->rr[1].rd.soa.minimum, 30);
	assert_int_equal(nt_dns_msg_ttl_offsets(buf, (size_t)len, offs, 4), 2);
	assert_int_equal((buf[offs[0] + 3]), 30);
	assert_int_equal((buf[offs[1] + 3]), 60);
	/* A SOA whose rdata is one byte short is an rdlength error. */
	buf[offs[1] + 5]--;
	assert_int_equal(nt_dns_msg_decode(m, buf, (size_t)len - 1), NT_DNS_E_RDLEN);
	assert_int_equal(nt_dns_msg_ttl_offsets(edns, sizeof(edns), offs, 4), 0);
	assert_int_equal(nt_dns_msg_ttl_offsets(edns, sizeof(edns) - 1, offs, 4), NT_DNS_E_TRUNCATED);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_query_golden),
		cmocka_unit_test(test_build_response_golden),
		cmocka_unit_test(test_decode_avahi_response),
		cmocka_unit_test(test_decode_every_truncation),
		cmocka_unit_test(test_decode_malformed_table),
		cmocka_unit_test(test_decode_valid_edges),
		cmocka_unit_test(test_decode_hop_limit),
		cmocka_unit_test(test_decode_capacity),
		cmocka_unit_test(test_name_text),
		cmocka_unit_test(test_name_compare),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_builder_limits),
		cmocka_unit_test(test_builder_compression_roundtrip),
		cmocka_unit_test(test_soa_cname_ttl_offsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
