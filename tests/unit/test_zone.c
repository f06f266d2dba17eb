// SPDX-License-Identifier: MIT
/*
 * The zone of members' names (src/names/zone.c) and the forwarder (src/names/forward.c):
 * sanitising hostnames, the rule for shared names, A/AAAA/PTR/ID names, NXDOMAIN and
 * NODATA with the SOA, EdgeVPN records, FORMERR/NOTIMP, and the forwarder's matching,
 * cache aging, timeouts and bounds; all on a real ledger and a fake clock, no sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "names/forward.h"
#include "names/zone.h"
#include "netron/keys.h"

static struct nt_dns_msg reply;

static void test_sanitise(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		/* 1 */ { "laptop", "laptop" },
		/* 2 */ { "Laptop.example.com", "laptop" },
		/* 3 */ { "my_host!!name", "my-host-name" },
		/* 4 */ { "---", "" },
		/* 5 */ { "\xc3\xbcn\xc3\xaf", "n" },
		/* 6 */ { "\x01" "evil\n", "evil" },
		/* 7 */ { "a b\tc", "a-b-c" },
		/* 8 */ { ".hidden", "" },
		/* 9 */ { "x\\.y", "x" },
		/* 10 */ { "", "" },
	};
	char out[NT_ZONE_LABEL_MAX + 1], longname[300];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		nt_zone_sanitise(cases[i].in, out, NT_ZONE_LABEL_MAX);
		if (strcmp(out, cases[i].out))
			fail_msg("case %zu: '%s' -> '%s', want '%s'", i + 1, cases[i].in, out, cases[i].out);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	nt_zone_sanitise(longname, out, NT_ZONE_LABEL_MAX);
	assert_int_equal(strlen(out), NT_ZONE_LABEL_MAX);
}

struct rig {
	struct nt_ledger *l;
	struct nt_identity *id[4];
	struct nt_zone *z;
	uint64_t t0;
	uint8_t out[NT_ZONE_UDP_MAX];
	size_t outlen;
};

static void claim(struct rig *r, int who, const char *addr, const char *hostname, uint64_t at)
{
	char value[512];
	json_t *v = json_pack("{s:s,s:s}", "id", "x", "hostname", hostname);
	char *s = json_dumps(v, JSON_COMPACT);

	snprintf(value, sizeof(value), "%s", s);
	free(s);
	json_decref(v);
	assert_int_equal(nt_ledger_put_local(r->l, r->id[who], NT_LEDGER_MACHINES, addr, value,
					     strlen(value), 60000, r->t0 + at, NULL), 0);
}

static int rig_setup(void **state)
{
	struct nt_ledger_cfg cfg = { .capacity = 256 };
	struct rig *r = calloc(1, sizeof(*r));

	for (int i = 0; i < 4; i++)
		assert_int_equal(nt_identity_new_ephemeral(&r->id[i]), 0);
	assert_int_equal(nt_ledger_new(&r->l, &cfg), 0);
	r->z = malloc(sizeof(*r->z));
	assert_int_equal(nt_zone_init(r->z, "Netron."), 0);
	r->t0 = nt_wall_ms() - 10000;
	/* alpha first, then bravo, then a second alpha, then a hostile name. */
	claim(r, 0, "10.1.0.1", "alpha", 0);
	claim(r, 0, "fd00:6e74::1", "alpha", 1);
	claim(r, 1, "10.1.0.2", "Bravo.lan", 100);
	claim(r, 2, "10.1.0.3", "ALPHA", 200);
	claim(r, 3, "10.1.0.4", "id", 300);
	nt_zone_build(r->z, r->l);
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;

	nt_zone_uninit(r->z);
	free(r->z);
	nt_ledger_free(r->l);
	for (int i = 0; i < 4; i++)
		nt_identity_free(r->id[i]);
	free(r);
	return 0;
}

/* Asks the zone name/type; the result, with the answer decoded into `reply`. */
static enum nt_zone_result ask(struct rig *r, const char *name, uint16_t type)
{
	struct nt_dns_builder b;
	struct nt_dns_name n;
	uint8_t q[300];
	ssize_t len;
	enum nt_zone_result res;

	assert_true(nt_dns_name_from_str(&n, name));
	nt_dns_builder_init(&b, q, sizeof(q), 0x4242, NT_DNS_FLAG_RD, false);
	assert_int_equal(nt_dns_builder_add_question(&b, &n, type, NT_DNS_CLASS_IN), 0);
	len = nt_dns_builder_finish(&b);
	res = nt_zone_answer(r->z, q, (size_t)len, r->out, sizeof(r->out), &r->outlen);
	if (r->outlen) {
		assert_int_equal(nt_dns_msg_decode(&reply, r->out, r->outlen), NT_DNS_OK);
		assert_int_equal(reply.id, 0x4242);
		assert_true(reply.flags & NT_DNS_FLAG_QR);
	}
	return res;
}

static const char *a_of(const struct nt_dns_rr *rr, char *buf)
{
	return inet_ntop(rr->type == NT_DNS_TYPE_A ? AF_INET : AF_INET6, rr->rd.aaaa, buf, 64);
}

static void test_names_and_duplicates(void **state)
{
	struct rig *r = *state;
	char buf[64], name[128], hex[65], idname[128];

	assert_int_equal(r->z->n_members, 4);
	assert_int_equal(ask(r, "alpha.netron", NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_int_equal(reply.nrr, 1);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.1");
	assert_true(reply.flags & NT_DNS_FLAG_AA);
	assert_int_equal(ask(r, "ALPHA.NETRON.", NT_DNS_TYPE_AAAA), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "fd00:6e74::1");
	assert_int_equal(ask(r, "alpha.netron", NT_DNS_TYPE_ANY), NT_ZONE_ANSWER);
	assert_int_equal(reply.nrr, 2);
	assert_int_equal(ask(r, "bravo.netron", NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.2");

	/* The younger alpha is alpha-<6 hex of its ID>; "id" is never a member's name. */
	nt_hex_encode(hex, r->id[2]->ed_pk, 32);
	snprintf(name, sizeof(name), "alpha-%.6s.netron", hex);
	assert_int_equal(ask(r, name, NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.3");
	assert_true(nt_zone_name_of(r->z, r->id[2]->ed_pk, buf, sizeof(buf)));
	assert_string_equal(buf, name);
	nt_hex_encode(hex, r->id[3]->ed_pk, 32);
	snprintf(name, sizeof(name), "id-%.6s.netron", hex);
	assert_int_equal(ask(r, name, NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.4");

	/* ID names: a unique prefix of 6 or more hex digits. */
	snprintf(idname, sizeof(idname), "%.12s.id.netron", hex);
	assert_int_equal(ask(r, idname, NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.4");
	snprintf(idname, sizeof(idname), "%.5s.id.netron", hex);
	assert_int_equal(ask(r, idname, NT_DNS_TYPE_A), NT_ZONE_NXDOMAIN);

	/* The rule reads only the ledger: rebuilt, the same names. */
	nt_zone_build(r->z, r->l);
	assert_int_equal(ask(r, "alpha.netron", NT_DNS_TYPE_A), NT_ZONE_ANSWER);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.1");
}

static void test_ptr(void **state)
{
	struct rig *r = *state;
	char buf[NT_DNS_NAME_STRLEN];

	assert_int_equal(ask(r, "2.0.1.10.in-addr.arpa", NT_DNS_TYPE_PTR), NT_ZONE_ANSWER);
	assert_string_equal(nt_dns_name_to_str(&reply.rr[0].rd.ptr, buf, sizeof(buf)), "bravo.netron");
	assert_int_equal(ask(r, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.7.e.6.0.0.d.f.ip6.arpa",
			     NT_DNS_TYPE_PTR), NT_ZONE_ANSWER);
	assert_string_equal(nt_dns_name_to_str(&reply.rr[0].rd.ptr, buf, sizeof(buf)), "alpha.netron");
	/* Not a member's address, or not an address at all: somebody else's question. */
	assert_int_equal(ask(r, "9.0.1.10.in-addr.arpa", NT_DNS_TYPE_PTR), NT_ZONE_FORWARD);
	assert_int_equal(ask(r, "02.0.1.10.in-addr.arpa", NT_DNS_TYPE_PTR), NT_ZONE_FORWARD);
	assert_int_equal(ask(r, "0.1.10.in-addr.arpa", NT_DNS_TYPE_PTR), NT_ZONE_FORWARD);
}

static void test_negative_and_errors(void **state)
{
	struct rig *r = *state;
	char buf[NT_DNS_NAME_STRLEN];
	uint8_t q[64];

	assert_int_equal(ask(r, "nobody.netron", NT_DNS_TYPE_A), NT_ZONE_NXDOMAIN);
	assert_int_equal(reply.flags & NT_DNS_FLAG_RCODE, NT_DNS_RCODE_NXDOMAIN);
	assert_int_equal(reply.nscount, 1);
	assert_int_equal(reply.rr[0].type, NT_DNS_TYPE_SOA);
	assert_string_equal(nt_dns_name_to_str(&reply.rr[0].name, buf, sizeof(buf)), "netron");
	assert_int_equal(ask(r, "a.b.alpha.netron", NT_DNS_TYPE_A), NT_ZONE_NXDOMAIN);
	assert_int_equal(ask(r, "bravo.netron", NT_DNS_TYPE_TXT), NT_ZONE_NODATA);
	assert_int_equal(reply.flags & NT_DNS_FLAG_RCODE, NT_DNS_RCODE_NOERROR);
	assert_int_equal(reply.ancount, 0);
	assert_int_equal(reply.nscount, 1);
	assert_int_equal(ask(r, "netron", NT_DNS_TYPE_SOA), NT_ZONE_ANSWER);
	assert_int_equal(ask(r, "id.netron", NT_DNS_TYPE_A), NT_ZONE_NODATA);
	assert_int_equal(ask(r, "example.com", NT_DNS_TYPE_A), NT_ZONE_FORWARD);
	assert_int_equal(r->outlen, 0);
	assert_int_equal(ask(r, "netron.example.com", NT_DNS_TYPE_A), NT_ZONE_FORWARD);

	/* A truncated question: FORMERR under the query's id. A response: never answered. */
	memcpy(q, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05" "alpha", 18);
	assert_int_equal(nt_zone_answer(r->z, q, 18, r->out, sizeof(r->out), &r->outlen), NT_ZONE_FORMERR);
	assert_int_equal(r->outlen, NT_DNS_HEADER_LEN);
	assert_int_equal(r->out[0], 0x12);
	assert_int_equal(r->out[3] & 0xf, NT_DNS_RCODE_FORMERR);
	q[2] = 0x81;
	assert_int_equal(nt_zone_answer(r->z, q, 18, r->out, sizeof(r->out), &r->outlen), NT_ZONE_DROP);
	assert_int_equal(nt_zone_answer(r->z, q, 11, r->out, sizeof(r->out), &r->outlen), NT_ZONE_DROP);
	/* Two questions: FORMERR. An opcode other than QUERY: NOTIMP. */
	memcpy(q, "\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x01\x00\x01", 22);
	assert_int_equal(nt_zone_answer(r->z, q, 22, r->out, sizeof(r->out), &r->outlen), NT_ZONE_FORMERR);
	memcpy(q, "\x12\x34\x11\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01", 17);
	assert_int_equal(nt_zone_answer(r->z, q, 17, r->out, sizeof(r->out), &r->outlen), NT_ZONE_NOTIMP);
	assert_int_equal(r->out[3] & 0xf, NT_DNS_RCODE_NOTIMP);
}

static void test_records(void **state)
{
	struct rig *r = *state;
	char value[256], why[160], buf[64];
	json_t *rec = json_pack("{s:s,s:s}", "A", "10.1.0.200", "TXT", "hi");
	json_t *bad = json_pack("{s:s}", "MX", "x");
	json_t *badip = json_pack("{s:s}", "A", "10.1.0.300");
	ssize_t n;

	n = nt_zone_record_value("^db\\.example\\.", rec, value, sizeof(value), why, sizeof(why));
	assert_true(n > 0);
	assert_string_equal(value, "{\"1\":\"10.1.0.200\",\"16\":\"hi\"}");
	assert_int_equal(nt_zone_record_value("(a)\\1", rec, value, sizeof(value), why, sizeof(why)), -EINVAL);
	assert_int_equal(nt_zone_record_value("a b", rec, value, sizeof(value), why, sizeof(why)), -EINVAL);
	assert_int_equal(nt_zone_record_value("(", rec, value, sizeof(value), why, sizeof(why)), -EINVAL);
	assert_int_equal(nt_zone_record_value("x", bad, value, sizeof(value), why, sizeof(why)), -EINVAL);
	assert_int_equal(nt_zone_record_value("x", badip, value, sizeof(value), why, sizeof(why)), -EINVAL);
	assert_int_equal(nt_ledger_put_local(r->l, r->id[1], NT_ZONE_BUCKET, "^db\\.example\\.", value,
					     (size_t)n, 60000, nt_wall_ms(), NULL), 0);
	/* A member's record the API would refuse is skipped, not served. */
	assert_int_equal(nt_ledger_put_local(r->l, r->id[2], NT_ZONE_BUCKET, "(x)\\1", value, (size_t)n,
					     60000, nt_wall_ms(), NULL), 0);
	assert_int_equal(nt_ledger_put_local(r->l, r->id[2], NT_ZONE_BUCKET, "^evil", "{\"1\":\"no\"}",
					     11, 60000, nt_wall_ms(), NULL), 0);
	nt_zone_build(r->z, r->l);
	assert_int_equal(r->z->n_records, 1);
	assert_int_equal(r->z->dropped_records, 2);
	assert_int_equal(ask(r, "db.example.com", NT_DNS_TYPE_A), NT_ZONE_RECORD);
	assert_string_equal(a_of(&reply.rr[0], buf), "10.1.0.200");
	assert_int_equal(ask(r, "DB.example.org", NT_DNS_TYPE_TXT), NT_ZONE_RECORD);
	assert_int_equal(reply.rr[0].type, NT_DNS_TYPE_TXT);
	/* No AAAA in the record: not ours to answer, forwarded. */
	assert_int_equal(ask(r, "db.example.com", NT_DNS_TYPE_AAAA), NT_ZONE_FORWARD);
	assert_int_equal(ask(r, "evil.example.com", NT_DNS_TYPE_A), NT_ZONE_FORWARD);
	json_decref(rec);
	json_decref(bad);
	json_decref(badip);
}

/* The forwarder on a fake clock: what it sends and what it answers are captured. */
struct fwd_cap {
	union nt_sockaddr to;
	uint8_t sent[600], replied[2048];
	size_t sent_len, replied_len;
	unsigned int sends, replies;
	bool servfail;
	uint32_t conn;
};

static void cap_send(void *ctx, const union nt_sockaddr *to, const uint8_t *buf, size_t len)
{
	struct fwd_cap *c = ctx;

	c->to = *to;
	memcpy(c->sent, buf, len);
	c->sent_len = len;
	c->sends++;
}

static void cap_reply(void *ctx, const union nt_sockaddr *client, uint32_t conn, const uint8_t *buf,
		      size_t len, bool servfail)
{
	struct fwd_cap *c = ctx;

	(void)client;
	memcpy(c->replied, buf, len);
	c->replied_len = len;
	c->replies++;
	c->servfail = servfail;
	c->conn = conn;
}

static size_t make_msg(uint8_t *buf, uint16_t id, uint16_t flags, const char *name, uint32_t ttl)
{
	struct nt_dns_builder b;
	struct nt_dns_name n;
	struct nt_dns_rr rr = { .type = NT_DNS_TYPE_A, .rclass = NT_DNS_CLASS_IN, .ttl = ttl,
				.rd.a = { 203, 0, 113, 80 } };

	assert_true(nt_dns_name_from_str(&n, name));
	nt_dns_builder_init(&b, buf, 512, id, flags, true);
	nt_dns_builder_add_question(&b, &n, NT_DNS_TYPE_A, NT_DNS_CLASS_IN);
	if (flags & NT_DNS_FLAG_QR) {
		rr.name = n;
		nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr);
	}
	return (size_t)nt_dns_builder_finish(&b);
}

static void test_forward(void **state)
{
	struct fwd_cap c = { 0 };
	union nt_sockaddr ups[2], client, other;
	struct nt_fwd *f;
	struct nt_dns_msg *m = calloc(1, sizeof(*m));
	uint8_t q[512], resp[512];
	size_t qlen, rlen;
	uint16_t up_id;
	uint64_t now = 1000000;

	(void)state;
	assert_true(nt_sockaddr_literal("192.0.2.53", 53, &ups[0]));
	assert_true(nt_sockaddr_literal("192.0.2.54", 53, &ups[1]));
	assert_true(nt_sockaddr_literal("127.0.0.1", 40000, &client));
	assert_true(nt_sockaddr_literal("198.51.100.9", 53, &other));
	assert_int_equal(nt_fwd_new(&f, ups, 2, cap_send, cap_reply, &c), 0);

	qlen = make_msg(q, 0x1111, NT_DNS_FLAG_RD, "www.example.com", 0);
	assert_int_equal(nt_dns_msg_decode(m, q, qlen), NT_DNS_OK);
	assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now), NT_FWD_SENT);
	assert_int_equal(c.sends, 1);
	assert_true(nt_sockaddr_equal(&c.to, &ups[0]));
	up_id = nt_get_be16(c.sent);

	/* The right id from the wrong address, a wrong id, a wrong question: all ignored. */
	rlen = make_msg(resp, up_id, NT_DNS_FLAG_QR, "www.example.com", 300);
	assert_false(nt_fwd_on_response(f, resp, rlen, &other, now));
	rlen = make_msg(resp, (uint16_t)(up_id + 1), NT_DNS_FLAG_QR, "www.example.com", 300);
	assert_false(nt_fwd_on_response(f, resp, rlen, &ups[0], now));
	rlen = make_msg(resp, up_id, NT_DNS_FLAG_QR, "www.example.org", 300);
	assert_false(nt_fwd_on_response(f, resp, rlen, &ups[0], now));
	assert_int_equal(f->mismatched, 3);
	assert_int_equal(c.replies, 0);
	rlen = make_msg(resp, up_id, NT_DNS_FLAG_QR, "WWW.example.com", 300);
	assert_true(nt_fwd_on_response(f, resp, rlen, &ups[0], now));
	assert_int_equal(c.replies, 1);
	assert_int_equal(nt_get_be16(c.replied), 0x1111);
	assert_int_equal(f->n_pending, 0);
	/* The same answer twice is not taken twice. */
	assert_false(nt_fwd_on_response(f, resp, rlen, &ups[0], now));

	/* From the cache 100 s later, TTL aged, under the new query's id; gone after 300 s. */
	nt_put_be16(q, 0x2222);
	assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 7, now + 100000), NT_FWD_CACHED);
	assert_int_equal(c.sends, 1);
	assert_int_equal(c.conn, 7);
	assert_int_equal(nt_get_be16(c.replied), 0x2222);
	assert_int_equal(nt_dns_msg_decode(m, c.replied, c.replied_len), NT_DNS_OK);
	assert_int_equal(m->rr[0].ttl, 200);
	assert_int_equal(nt_dns_msg_decode(m, q, qlen), NT_DNS_OK);
	assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now + 300000), NT_FWD_SENT);

	/* No answer: the other resolver after the timeout, then SERVFAIL. */
	assert_int_equal(c.sends, 2);
	other = c.to;
	nt_fwd_tick(f, now + 300000 + NT_FWD_TIMEOUT_MS - 1);
	assert_int_equal(c.sends, 2);
	nt_fwd_tick(f, now + 300000 + NT_FWD_TIMEOUT_MS);
	assert_int_equal(c.sends, 3);
	assert_false(nt_sockaddr_equal(&c.to, &other));
	nt_fwd_tick(f, now + 300000 + 2 * NT_FWD_TIMEOUT_MS);
	assert_true(c.servfail);
	assert_int_equal(nt_get_be16(c.replied), 0x2222);
	assert_int_equal(f->n_pending, 0);

	/* A cached answer over 512 bytes goes to a UDP client only if it spoke EDNS (an OPT
	 * record: arcount 1), or over TCP; one without EDNS is sent upstream again. */
	{
		struct nt_dns_builder b;
		struct nt_dns_rr rr = { .type = NT_DNS_TYPE_A, .rclass = NT_DNS_CLASS_IN, .ttl = 60 };
		uint8_t big[1024];
		ssize_t blen;
		unsigned int sends;

		qlen = make_msg(q, 0x3333, NT_DNS_FLAG_RD, "big.example.com", 0);
		assert_int_equal(nt_dns_msg_decode(m, q, qlen), NT_DNS_OK);
		assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now + 500000), NT_FWD_SENT);
		nt_dns_builder_init(&b, big, sizeof(big), nt_get_be16(c.sent), NT_DNS_FLAG_QR, true);
		nt_dns_builder_add_question(&b, &m->q[0].name, NT_DNS_TYPE_A, NT_DNS_CLASS_IN);
		rr.name = m->q[0].name;
		rr.type = NT_DNS_TYPE_AAAA; /* 28 bytes each: 20 of them (the most whose TTLs we age
					     * is NT_FWD_TTLS) pass 512 */
		for (int i = 0; i < 20; i++) {
			rr.rd.aaaa[15] = (uint8_t)i;
			assert_int_equal(nt_dns_builder_add_rr(&b, NT_DNS_SEC_ANSWER, &rr), 0);
		}
		blen = nt_dns_builder_finish(&b);
		assert_true(blen > 512);
		assert_true(nt_fwd_on_response(f, big, (size_t)blen, &c.to, now + 500000));
		sends = c.sends;
		assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 9, now + 500000), NT_FWD_CACHED);
		assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now + 500000), NT_FWD_SENT);
		assert_int_equal(c.sends, sends + 1);
		nt_put_be16(q + 10, 1); /* as if it carried an OPT record */
		assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now + 500000), NT_FWD_CACHED);
		/* The query sent upstream again is left unanswered: clear the table for below. */
		for (unsigned int i = 0; i < NT_FWD_PENDING; i++)
			f->pending[i].used = false;
		f->n_pending = 0;
		qlen = make_msg(q, 0x2222, NT_DNS_FLAG_RD, "www.example.com", 0);
		assert_int_equal(nt_dns_msg_decode(m, q, qlen), NT_DNS_OK);
	}

	/* Bounded: past NT_FWD_PENDING in flight, FULL; a TCP client's queries go with it. */
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++)
		assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 5, now + 400000), NT_FWD_SENT);
	assert_int_equal(nt_fwd_query(f, &m->q[0], q, qlen, &client, 0, now + 400000), NT_FWD_FULL);
	/* Their upstream ids are all different (and random: no two queries in a row follow). */
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++)
		for (unsigned int j = i + 1; j < NT_FWD_PENDING; j++)
			assert_int_not_equal(f->pending[i].up_id, f->pending[j].up_id);
	{
		unsigned int sequential = 0;

		for (unsigned int i = 1; i < NT_FWD_PENDING; i++)
			sequential += f->pending[i].up_id == (uint16_t)(f->pending[i - 1].up_id + 1);
		assert_true(sequential < 4);
	}
	nt_fwd_forget_conn(f, 5);
	assert_int_equal(f->n_pending, 0);
	nt_fwd_free(f);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitise),
		cmocka_unit_test_setup_teardown(test_names_and_duplicates, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_ptr, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_negative_and_errors, rig_setup, rig_teardown),
		cmocka_unit_test_setup_teardown(test_records, rig_setup, rig_teardown),
		cmocka_unit_test(test_forward),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
