// SPDX-License-Identifier: MIT
/*
 * Fuzz target for what the DNS server (--dns) reads from anyone who can reach it: the bytes
 * are a query to a zone of three members (two sharing a hostname, one hostile) and a record
 * of bucket "dns"; every answer must fit the UDP limit and decode, and carry the query's id.
 * A query the zone forwards goes to the forwarder, and the same bytes come back as the
 * upstream's answer, from the upstream and from a stranger: nothing may be answered twice,
 * and what is answered must be at most what came in.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "names/forward.h"
#include "names/zone.h"
#include "netron/keys.h"

static struct nt_zone *zone;
static struct nt_fwd *fwd;
static struct nt_dns_msg msg;
static uint8_t out[NT_ZONE_UDP_MAX];
static unsigned int replies;
static union nt_sockaddr up, client, stranger;

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void on_send(void *ctx, const union nt_sockaddr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	check(nt_sockaddr_equal(to, &up) && len <= NT_FWD_QUERY_MAX && len >= NT_DNS_HEADER_LEN);
	(void)buf;
}

static void on_reply(void *ctx, const union nt_sockaddr *c, uint32_t conn, const uint8_t *buf,
		     size_t len, bool servfail)
{
	(void)ctx;
	(void)conn;
	(void)servfail;
	check(nt_sockaddr_equal(c, &client) && len >= NT_DNS_HEADER_LEN);
	(void)buf;
	replies++;
}

static void setup(void)
{
	static const char *const hosts[3] = { "alpha", "Alpha", "\x01../..evil host\xff name" };
	struct nt_ledger_cfg cfg = { .capacity = 64 };
	struct nt_ledger *l;
	uint64_t now = nt_wall_ms();

	if (nt_ledger_new(&l, &cfg) < 0)
		abort();
	for (int i = 0; i < 3; i++) {
		struct nt_identity *id;
		char key[32], value[128];

		if (nt_identity_new_ephemeral(&id) < 0)
			abort();
		snprintf(key, sizeof(key), "10.1.0.%d", i + 1);
		snprintf(value, sizeof(value), "{\"hostname\":\"%s\"}", hosts[i]);
		nt_ledger_put_local(l, id, NT_LEDGER_MACHINES, key, value, strlen(value), 60000, now + (uint64_t)i, NULL);
		snprintf(key, sizeof(key), "fd00::%d", i + 1);
		nt_ledger_put_local(l, id, NT_LEDGER_MACHINES, key, value, strlen(value), 60000, now + (uint64_t)i, NULL);
		if (i == 2)
			nt_ledger_put_local(l, id, NT_ZONE_BUCKET, "^db\\..*", "{\"1\":\"10.1.0.9\",\"16\":\"t\"}",
					    25, 60000, now, NULL);
		nt_identity_free(id);
	}
	zone = malloc(sizeof(*zone));
	if (!zone || nt_zone_init(zone, "netron") < 0)
		abort();
	nt_zone_build(zone, l);
	nt_ledger_free(l);
	nt_sockaddr_literal("192.0.2.53", 53, &up);
	nt_sockaddr_literal("127.0.0.1", 4000, &client);
	nt_sockaddr_literal("198.51.100.1", 53, &stranger);
	if (nt_fwd_new(&fwd, &up, 1, on_send, on_reply, NULL) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now = 1000000;
	enum nt_zone_result r;
	size_t len;

	if (!zone)
		setup();
	now += 500;
	r = nt_zone_answer(zone, data, size, out, sizeof(out), &len);
	check(len <= sizeof(out));
	if (r == NT_ZONE_DROP || r == NT_ZONE_FORWARD)
		check(len == 0);
	if (len) {
		check(nt_dns_msg_decode(&msg, out, len) == NT_DNS_OK);
		check(nt_get_be16(out) == nt_get_be16(data) && (msg.flags & NT_DNS_FLAG_QR));
	}
	if (r == NT_ZONE_FORWARD) {
		struct nt_dns_question q = *nt_zone_question(zone);
		unsigned int before = replies;
		uint8_t resp[NT_FWD_QUERY_MAX + 16];

		nt_fwd_query(fwd, &q, data, size, &client, 0, now);
		check(replies <= before + 1);
		before = replies;
		if (size <= NT_FWD_QUERY_MAX) {
			/* The same bytes as an answer, with the id of the newest query in flight. */
			memcpy(resp, data, size);
			resp[2] |= 0x80;
			for (unsigned int i = 0; i < NT_FWD_PENDING; i++)
				if (fwd->pending[i].used)
					nt_put_be16(resp, fwd->pending[i].up_id);
			check(!nt_fwd_on_response(fwd, resp, size, &stranger, now));
			nt_fwd_on_response(fwd, resp, size, &up, now);
			check(!nt_fwd_on_response(fwd, resp, size, &up, now));
			check(replies <= before + 1);
		}
		nt_fwd_tick(fwd, now + NT_FWD_TIMEOUT_MS);
	}
	return 0;
}
