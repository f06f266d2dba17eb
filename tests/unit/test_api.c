// SPDX-License-Identifier: MIT
/*
 * The API with no sockets: tables for the listen address, path, Host and bearer parsers
 * and the status client's HTTP response parser; the JSON documents from a hand-made
 * snapshot and a real ledger; /metrics line by line; the status table; and the check
 * that src/api/dashboard.h was regenerated after src/api/dashboard.html changed.
 */
/* Tables list only the fields a case needs. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

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

#include "api/api.h"
#include "api/api_json.h"
#include "api/api_metrics.h"
#include "api/api_parse.h"
#include "dataplane/drop.h"
#include "ledger/ledger.h"
#include "api/status_cmd.h"

static void test_listen_parse(void **state)
{
	static const struct {
		const char *in;
		bool ok, is_unix, loopback;
		int family;
		uint16_t port;
		const char *host;
	} cases[] = {
		{ "127.0.0.1:8080", true, false, true, AF_INET, 8080, "127.0.0.1" },
		{ "127.1.2.3:1", true, false, true, AF_INET, 1, "127.1.2.3" },
		{ "localhost:9000", true, false, true, AF_INET, 9000, "localhost" },
		{ "192.0.2.1:8080", true, false, false, AF_INET, 8080, "192.0.2.1" },
		{ "0.0.0.0:0", true, false, false, AF_INET, 0, "0.0.0.0" },
		{ "[::1]:8080", true, false, true, AF_INET6, 8080, "::1" },
		{ "[fd00:6e74::1]:443", true, false, false, AF_INET6, 443, "fd00:6e74::1" },
		{ "unix:/run/netron.sock", true, true, true, 0, 0, "" },
		{ "unix:relative.sock", false },
		{ "unix:", false },
		{ "::1:8080", false }, /* IPv6 needs brackets */
		{ "[::1]8080", false },
		{ "[::1]:", false },
		{ "127.0.0.1", false },
		{ "127.0.0.1:65536", false },
		{ "127.0.0.1:123456", false },
		{ "127.0.0.1:-1", false },
		{ "127.0.0.1:80x", false },
		{ ":8080", false },
		{ "example.com:8080", false }, /* names other than localhost are refused */
		{ "[127.0.0.1]:80", false },
		{ "", false },
	};
	struct nt_api_listen l;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		bool ok = nt_api_listen_parse(cases[i].in, &l);

		if (ok != cases[i].ok)
			fail_msg("case %zu (%s): got %d", i, cases[i].in, ok);
		if (!ok)
			continue;
		assert_int_equal(l.is_unix, cases[i].is_unix);
		assert_int_equal(l.loopback, cases[i].loopback);
		assert_string_equal(l.host, cases[i].host);
		if (!l.is_unix) {
			assert_int_equal(l.addr.sa.sa_family, cases[i].family);
			assert_int_equal(ntohs(l.addr.in4.sin_port), cases[i].port);
		}
	}
	assert_true(nt_api_listen_parse("unix:/tmp/x.sock", &l));
	assert_string_equal(l.path, "/tmp/x.sock");
	{
		char longp[200] = "unix:/";

		memset(longp + 6, 'a', 150);
		longp[156] = '\0';
		assert_false(nt_api_listen_parse(longp, &l)); /* longer than sun_path */
	}
}

static void test_path_parse(void **state)
{
	static const struct {
		const char *url;
		enum nt_api_route route;
		unsigned int depth;
		const char *bucket, *key, *value;
	} cases[] = {
		{ "/", NT_API_ROUTE_DASHBOARD },
		{ "/index.html", NT_API_ROUTE_DASHBOARD },
		{ "/healthz", NT_API_ROUTE_HEALTHZ },
		{ "/metrics", NT_API_ROUTE_METRICS },
		{ "/api/summary", NT_API_ROUTE_SUMMARY },
		{ "/api/machines", NT_API_ROUTE_MACHINES },
		{ "/api/peers", NT_API_ROUTE_PEERS },
		{ "/api/dht", NT_API_ROUTE_DHT },
		{ "/api/blockchain", NT_API_ROUTE_BLOCKCHAIN },
		{ "/api/ledger", NT_API_ROUTE_LEDGER, 0 },
		{ "/api/ledger/machines", NT_API_ROUTE_LEDGER, 1, "machines" },
		{ "/api/ledger/machines/10.1.0.11", NT_API_ROUTE_LEDGER, 2, "machines", "10.1.0.11" },
		{ "/api/ledger/users/a%2Fb", NT_API_ROUTE_LEDGER, 2, "users", "a/b" },
		{ "/api/ledger/users/%C3%A9t%c3%a9", NT_API_ROUTE_LEDGER, 2, "users", "\xc3\xa9t\xc3\xa9" },
		{ "/api/ledger/b/k/hello%20world", NT_API_ROUTE_LEDGER, 3, "b", "k", "hello world" },
		{ "/api/ledger/b/k/v/extra", NT_API_ROUTE_NOT_FOUND },
		{ "/api/ledger/", NT_API_ROUTE_NOT_FOUND },
		{ "/api/ledger//k", NT_API_ROUTE_NOT_FOUND },
		{ "/api/ledger/b/", NT_API_ROUTE_NOT_FOUND },
		{ "/api/ledger/Bad", NT_API_ROUTE_BAD }, /* upper case is outside the alphabet */
		{ "/api/ledger/a%2Fb/k", NT_API_ROUTE_BAD },
		{ "/api/ledger/b/%00", NT_API_ROUTE_BAD },
		{ "/api/ledger/b/%0a", NT_API_ROUTE_BAD },
		{ "/api/ledger/b/%", NT_API_ROUTE_BAD },
		{ "/api/ledger/b/%4", NT_API_ROUTE_BAD },
		{ "/api/ledger/b/%zz", NT_API_ROUTE_BAD },
		{ "/api/ledger/0123456789012345678901234567890123/k", NT_API_ROUTE_BAD },
		{ "/api/summary/", NT_API_ROUTE_NOT_FOUND },
		{ "/API/summary", NT_API_ROUTE_NOT_FOUND },
		{ "/api/ledgerx", NT_API_ROUTE_NOT_FOUND },
		{ "", NT_API_ROUTE_NOT_FOUND },
		{ "*", NT_API_ROUTE_NOT_FOUND },
	};
	struct nt_api_path p;
	char url[600];

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		nt_api_path_parse(cases[i].url, &p);
		if (p.route != cases[i].route)
			fail_msg("case %zu (%s): route %d, want %d", i, cases[i].url, p.route,
				 cases[i].route);
		if (p.route != NT_API_ROUTE_LEDGER)
			continue;
		assert_int_equal(p.depth, cases[i].depth);
		if (cases[i].bucket)
			assert_string_equal(p.bucket, cases[i].bucket);
		if (cases[i].key) {
			assert_string_equal(p.key, cases[i].key);
			assert_int_equal(p.key_len, strlen(cases[i].key));
		}
		if (cases[i].value)
			assert_string_equal(p.value, cases[i].value);
	}
	/* A key of exactly 255 bytes fits; 256 does not. */
	snprintf(url, sizeof(url), "/api/ledger/b/");
	memset(url + strlen(url), 'k', 255);
	url[14 + 255] = '\0';
	nt_api_path_parse(url, &p);
	assert_int_equal(p.route, NT_API_ROUTE_LEDGER);
	assert_int_equal(p.key_len, 255);
	url[14 + 255] = 'k';
	url[14 + 256] = '\0';
	nt_api_path_parse(url, &p);
	assert_int_equal(p.route, NT_API_ROUTE_BAD);
}

static void test_host_check(void **state)
{
	static const struct {
		const char *host, *listen;
		bool ok;
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1", true },
		{ "127.0.0.1:8080", "127.0.0.1", true },
		{ "192.0.2.7:80", "127.0.0.1", true }, /* any IP literal */
		{ "[::1]", "127.0.0.1", true },
		{ "[::1]:8080", "127.0.0.1", true },
		{ "[fd00:6e74::2]:1", "::1", true },
		{ "localhost", "127.0.0.1", true },
		{ "LOCALHOST:8080", "127.0.0.1", true },
		{ "netron.lan:8080", "netron.lan", true }, /* the listen name itself */
		{ "evil.example", "127.0.0.1", false },
		{ "evil.example:8080", "127.0.0.1", false },
		{ "localhost.evil.example", "127.0.0.1", false },
		{ "127.0.0.1.evil.example", "127.0.0.1", false },
		{ "127.0.0.1:", "127.0.0.1", false },
		{ "127.0.0.1:99999", "127.0.0.1", false },
		{ "127.0.0.1:80:80", "127.0.0.1", false },
		{ "::1", "127.0.0.1", false }, /* IPv6 without brackets */
		{ "[::1", "127.0.0.1", false },
		{ "[::1]x", "127.0.0.1", false },
		{ "[localhost]", "127.0.0.1", false },
		{ "[127.0.0.1]", "127.0.0.1", false },
		{ "0x7f.1", "127.0.0.1", false }, /* not a strict dotted quad */
		{ "", "127.0.0.1", false },
		{ ":8080", "127.0.0.1", false },
		{ "anything", "", false },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++)
		if (nt_api_host_is_allowed(cases[i].host, cases[i].listen) != cases[i].ok)
			fail_msg("case %zu: Host '%s' listen '%s'", i, cases[i].host, cases[i].listen);
}

static void test_bearer_and_token(void **state)
{
	static const struct {
		const char *hdr, *tok;
	} cases[] = {
		{ "Bearer abc", "abc" },
		{ "bearer abc", "abc" },
		{ "BEARER \tabc  ", "abc" },
		{ "Bearer a.b-c_d~e+f/g==", "a.b-c_d~e+f/g==" },
		{ "Bearer", NULL },
		{ "Bearer ", NULL },
		{ "Bearerabc", NULL },
		{ "Basic abc", NULL },
		{ "Bearer abc def", NULL },
		{ "Bearer ab\x01", NULL },
		{ "", NULL },
	};
	const char *tok;
	size_t len;

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		bool ok = nt_api_bearer_parse(cases[i].hdr, &tok, &len);

		if (ok != (cases[i].tok != NULL))
			fail_msg("case %zu: '%s'", i, cases[i].hdr);
		if (ok) {
			assert_int_equal(len, strlen(cases[i].tok));
			assert_memory_equal(tok, cases[i].tok, len);
		}
	}
	assert_int_equal(nt_api_token_check("0123456789abcdef\n", 17), 16);
	assert_int_equal(nt_api_token_check("0123456789abcdef\r\n \t", 20), 16);
	assert_int_equal(nt_api_token_check("0123456789abcde\n", 16), -ERANGE);
	assert_int_equal(nt_api_token_check("0123456789 abcdef", 17), -EINVAL);
	assert_int_equal(nt_api_token_check("0123456789abcdef\nsecond", 23), -EINVAL);
	assert_int_equal(nt_api_token_check("0123456789abcd\xc3\xa9", 16), -EINVAL);
	assert_int_equal(nt_api_token_check("", 0), -ERANGE);
}

static void test_http_parse(void **state)
{
	static const struct {
		const char *in;
		int ret, status;
		const char *body;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 0, 200, "{}" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing", 0, 200, "{}" },
		{ "HTTP/1.0 404 Not Found\r\n\r\nnope", 0, 404, "nope" },
		{ "HTTP/1.1 200\r\ncontent-length:  3 \r\n\r\nabc", 0, 200, "abc" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
		  0, 200, "abcde" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n", 0,
		  200, "0123456789" },
		{ "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", 0, 401, "" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc\r\n0\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n", -EBADMSG }, /* headers never end */
		{ "HTTP/1.1 200 OK", -EBADMSG },
		{ "HTTP/2 200 OK\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 20 OK\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 2000 OK\r\n\r\n", -EBADMSG },
		{ "HTTP/1.1 099 x\r\n\r\n", -EBADMSG },
		{ "SSH-2.0-OpenSSH_9.2\r\n", -EBADMSG },
		{ "", -EBADMSG },
	};

	(void)state;
	for (size_t i = 0; i < NT_ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].in), body_len = 0;
		char *buf = malloc(len + 1), *body = NULL;
		int status = 0, ret;

		memcpy(buf, cases[i].in, len + 1);
		ret = nt_status_http_parse(buf, len, &status, &body, &body_len);
		if (ret != cases[i].ret)
			fail_msg("case %zu: ret %d, want %d", i, ret, cases[i].ret);
		if (ret == 0) {
			assert_int_equal(status, cases[i].status);
			assert_int_equal(body_len, strlen(cases[i].body));
			assert_memory_equal(body, cases[i].body, body_len);
		}
		free(buf);
	}
}

/* A snapshot with two peers, one connected and one not. */
static struct nt_status *make_status(void)
{
	struct nt_status *s = calloc(1, sizeof(*s));

	s->peers = calloc(2, sizeof(*s->peers));
	memset(s->id, 0xab, 32);
	strcpy(s->id_short, "abababab");
	strcpy(s->fingerprint, "0011223344556677");
	strcpy(s->ifname, "netron0");
	assert_true(nt_cidr_parse("10.1.0.1/24", &s->addresses[0]));
	assert_true(nt_cidr_parse("fd00:6e74::1/64", &s->addresses[1]));
	s->n_addresses = 2;
	s->listen_port = 51830;
	s->uptime_ms = 3723000;
	s->handshakes_ok = 3;
	s->handshakes_failed = 1;
	s->rx_bytes = 1000;
	s->tx_bytes = 2000;
	s->drops[NT_DROP_DATA_REPLAY] = 7;
	s->n_peers = 2;
	memset(s->peers[0].id, 0x12, 32);
	strcpy(s->peers[0].id_short, "12121212");
	strcpy(s->peers[0].endpoint, "192.0.2.2:51830");
	s->peers[0].path = NT_PATH_DIRECT;
	assert_true(nt_cidr_parse("10.1.0.2/24", &s->peers[0].addresses[0]));
	s->peers[0].n_addresses = 1;
	s->peers[0].connected = true;
	s->peers[0].rx_bytes = 1536;
	s->peers[0].tx_bytes = 10;
	s->peers[0].rx_packets = 3;
	s->peers[0].tx_packets = 1;
	s->peers[0].last_handshake_unix_ms = 1700000000123ULL;
	s->peers[0].session_age_ms = 12999;
	s->peers[0].rtt_ms = 5;
	s->peers[0].rtt_us = 4250;
	s->peers[0].handshakes = 2;
	memset(s->peers[1].id, 0x34, 32);
	strcpy(s->peers[1].id_short, "34343434");
	return s;
}

static const struct nt_api_self self = { "host1", "v0-test", "linux", "amd64", NULL, NULL, 0 };

static void test_json_summary_peers_machines(void **state)
{
	struct nt_status *s = make_status();
	json_t *j, *p;
	char ts[40];

	(void)state;
	assert_string_equal(nt_api_rfc3339(1700000000123ULL, ts, sizeof(ts)),
			    "2023-11-14T22:13:20.123Z");
	assert_string_equal(nt_api_rfc3339(0, ts, sizeof(ts)), "");

	j = nt_api_json_summary(s, NULL, &self);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "Machines")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "Peers")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "Files")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "BlockChain")), 0);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "NodeID"))), 64);
	assert_string_equal(json_string_value(json_object_get(j, "id_short")), "abababab");
	assert_string_equal(json_string_value(json_object_get(j, "interface")), "netron0");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "addresses"), 1)),
			    "fd00:6e74::1/64");
	assert_int_equal(json_integer_value(json_object_get(j, "uptime_s")), 3723);
	assert_int_equal(json_integer_value(json_object_get(j, "peers")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "peers_connected")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "drops"), "data_replay")), 7);
	assert_int_equal(json_object_size(json_object_get(j, "drops")), NT_DROP_COUNT);
	json_decref(j);

	j = nt_api_json_peers(s);
	assert_int_equal(json_array_size(j), 2);
	p = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(p, "path")), "direct");
	assert_string_equal(json_string_value(json_object_get(p, "endpoint")), "192.0.2.2:51830");
	assert_int_equal(json_integer_value(json_object_get(p, "rtt_ms")), 5);
	assert_int_equal(json_integer_value(json_object_get(p, "rtt_us")), 4250);
	assert_int_equal(json_integer_value(json_object_get(p, "session_age_s")), 12);
	assert_string_equal(json_string_value(json_object_get(p, "last_handshake")),
			    "2023-11-14T22:13:20.123Z");
	assert_true(json_is_true(json_object_get(p, "connected")));
	p = json_array_get(j, 1);
	assert_true(json_is_null(json_object_get(p, "endpoint")));
	assert_true(json_is_null(json_object_get(p, "rtt_ms")));
	assert_true(json_is_null(json_object_get(p, "rtt_us")));
	assert_true(json_is_null(json_object_get(p, "last_handshake")));
	assert_string_equal(json_string_value(json_object_get(p, "path")), "none");
	json_decref(j);

	j = nt_api_json_machines(s, NULL, &self, NULL);
	assert_int_equal(json_array_size(j), 2); /* ourselves and the connected peer */
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Hostname")), "host1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Address")), "10.1.0.1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "Address")), "10.1.0.2");
	json_decref(j);

	j = nt_api_json_dht(NULL);
	assert_true(json_is_false(json_object_get(j, "enabled")));
	json_decref(j);
	nt_status_free(s);
}

static void test_json_ledger(void **state)
{
	struct nt_ledger_cfg cfg = { .capacity = 64 };
	struct nt_identity *id;
	struct nt_ledger *l;
	struct nt_status *s = make_status();
	uint64_t now = nt_wall_ms();
	const char machine[] = "{\"Hostname\":\"alpha\",\"OS\":\"linux\",\"Arch\":\"arm64\",\"Version\":\"1\"}";
	const uint8_t binary[] = { 0xff, 0x00, 0x01 };
	json_t *j;
	char *dump;

	(void)state;
	assert_int_equal(nt_identity_new_ephemeral(&id), 0);
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);

	j = nt_api_json_ledger(l, NULL, NULL);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	j = nt_api_json_blockchain(l);
	assert_int_equal(json_integer_value(json_object_get(j, "Index")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "Blocks")), 0);
	json_decref(j);

	assert_int_equal(nt_ledger_put_local(l, id, "users", "bob", "hello", 5, 60000, now, NULL), 0);
	assert_int_equal(nt_ledger_put_local(l, id, "users", "bin", binary, sizeof(binary), 60000, now, NULL), 0);
	assert_int_equal(nt_ledger_put_local(l, id, "machines", "10.1.0.1", machine, strlen(machine),
					     60000, now, NULL), 0);
	nt_ledger_seal(l, now);

	j = nt_api_json_ledger(l, NULL, NULL);
	dump = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(dump, "{\"machines\":{\"10.1.0.1\":\"{\\\"Hostname\\\":\\\"alpha\\\",\\\"OS\\\":\\\"linux\\\",\\\"Arch\\\":\\\"arm64\\\",\\\"Version\\\":\\\"1\\\"}\"},"
				  "\"users\":{\"bin\":{\"base64\":\"/wAB\"},\"bob\":\"hello\"}}");
	free(dump);
	json_decref(j);
	j = nt_api_json_ledger(l, "users", NULL);
	assert_int_equal(json_object_size(j), 2);
	json_decref(j);
	j = nt_api_json_ledger(l, "nosuch", NULL);
	assert_int_equal(json_object_size(j), 0);
	json_decref(j);
	j = nt_api_json_ledger(l, "users", "bob");
	assert_string_equal(json_string_value(j), "hello");
	json_decref(j);
	assert_null(nt_api_json_ledger(l, "users", "nobody"));
	assert_null(nt_api_json_ledger(NULL, "users", "bob"));

	j = nt_api_json_blockchain(l);
	assert_int_equal(strlen(json_string_value(json_object_get(j, "Hash"))), 64);
	assert_int_equal(json_integer_value(json_object_get(j, "Entries")), 3);
	assert_int_equal(json_array_size(json_object_get(j, "Blocks")), 1);
	json_decref(j);

	{
		struct nt_api_self me = self;
		struct nt_cidr conflict;

		assert_true(nt_cidr_parse("10.1.0.5/24", &conflict));
		me.ledger_state = "00ff";
		me.conflicts = &conflict;
		me.n_conflicts = 1;
		j = nt_api_json_summary(s, l, &me);
		assert_string_equal(json_string_value(json_object_get(j, "ledger_state")), "00ff");
		assert_string_equal(json_string_value(json_array_get(json_object_get(j, "conflicts"), 0)),
				    "10.1.0.5/24");
		assert_int_equal(json_integer_value(json_object_get(j, "BlockChain")), 1);
		json_decref(j);
	}
	j = nt_api_json_summary(s, l, &self);
	assert_null(json_object_get(j, "ledger_state"));
	assert_int_equal(json_array_size(json_object_get(j, "conflicts")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "Users")), 2);
	assert_int_equal(json_integer_value(json_object_get(j, "Machines")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "OnChainNodes")), 1);
	json_decref(j);

	j = nt_api_json_machines(s, l, &self, NULL);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Hostname")), "alpha");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Arch")), "arm64");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "Address")), "10.1.0.1");
	json_decref(j);

	nt_status_free(s);
	nt_ledger_free(l);
	nt_identity_free(id);
}

static void test_metrics(void **state)
{
	struct nt_status *s = make_status();
	struct nt_api_metrics_extra x = { .version = "v\"1\\", .has_ledger = true,
					  .ledger_entries = 3, .ledger_capacity = 4096,
					  .resident_bytes = 12345 };
	char *text, *line, *save;
	size_t len;
	unsigned int help = 0, type = 0, samples = 0;

	(void)state;
	text = nt_api_metrics_render(s, &x, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	assert_true(len > 0 && text[len - 1] == '\n');
	assert_non_null(strstr(text, "# TYPE netron_handshakes_total counter\n"));
	assert_non_null(strstr(text, "netron_handshakes_total{result=\"ok\"} 3\n"));
	assert_non_null(strstr(text, "netron_handshakes_total{result=\"failed\"} 1\n"));
	assert_non_null(strstr(text, "netron_drops_total{reason=\"data_replay\"} 7\n"));
	assert_non_null(strstr(text, "netron_drops_total{reason=\"unknown_type\"} 0\n"));
	assert_non_null(strstr(text, "netron_peers 2\n"));
	assert_non_null(strstr(text, "netron_peers_connected 1\n"));
	assert_non_null(strstr(text, "netron_peer_rx_bytes_total{peer=\"12121212\"} 1536\n"));
	assert_non_null(strstr(text, "netron_peer_rtt_seconds{peer=\"12121212\"} 0.004250\n"));
	assert_null(strstr(text, "netron_peer_rtt_seconds{peer=\"34343434\"}"));
	assert_non_null(strstr(text, "netron_ledger_entries 3\n"));
	assert_non_null(strstr(text, "netron_ledger_capacity 4096\n"));
	assert_null(strstr(text, "netron_dht_nodes"));
	assert_non_null(strstr(text, "netron_resident_memory_bytes 12345\n"));
	assert_non_null(strstr(text, "netron_uptime_seconds 3723\n"));
	assert_non_null(strstr(text, "version=\"v\\\"1\\\\\""));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7))
			help++;
		else if (!strncmp(line, "# TYPE ", 7))
			type++;
		else
			samples++;
	}
	assert_int_equal(help, type);
	assert_true(samples > NT_DROP_COUNT);
	free(text);
	assert_true(nt_api_metrics_rss() > 0);

	/* The DNS server's counters, only when it runs; in /api/summary too. */
	s->dns.enabled = true;
	s->dns.queries_udp = 9;
	s->dns.results[NT_DNS_RESULT_NXDOMAIN] = 2;
	s->dns.results[NT_DNS_RESULT_RATELIMITED] = 5;
	s->dns.members = 3;
	snprintf(s->dns.listen, sizeof(s->dns.listen), "127.0.0.1:53");
	snprintf(s->dns.domain, sizeof(s->dns.domain), "netron");
	text = nt_api_metrics_render(s, &x, &len);
	assert_non_null(strstr(text, "netron_dns_queries_total{proto=\"udp\"} 9\n"));
	assert_non_null(strstr(text, "netron_dns_answers_total{result=\"nxdomain\"} 2\n"));
	assert_non_null(strstr(text, "netron_dns_answers_total{result=\"ratelimited\"} 5\n"));
	assert_non_null(strstr(text, "netron_dns_names{kind=\"member\"} 3\n"));
	free(text);
	{
		struct nt_api_self me = { .hostname = "h", .version = "1" };
		json_t *j = nt_api_json_summary(s, NULL, &me), *d = json_object_get(j, "dns");

		assert_string_equal(json_string_value(json_object_get(d, "listen")), "127.0.0.1:53");
		assert_int_equal(json_integer_value(json_object_get(d, "queries")), 9);
		assert_int_equal(json_integer_value(json_object_get(d, "ratelimited")), 5);
		json_decref(j);
	}
	nt_status_free(s);
}

static void test_status_render(void **state)
{
	struct nt_status *s = make_status();
	json_t *summary = nt_api_json_summary(s, NULL, &self), *peers = nt_api_json_peers(s);
	char *out = NULL, buf[32];
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	(void)state;
	assert_string_equal(nt_status_human_bytes(0, buf, sizeof(buf)), "0 B");
	assert_string_equal(nt_status_human_bytes(1023, buf, sizeof(buf)), "1023 B");
	assert_string_equal(nt_status_human_bytes(1536, buf, sizeof(buf)), "1.5 KiB");
	assert_string_equal(nt_status_human_bytes(5ULL << 30, buf, sizeof(buf)), "5.0 GiB");
	assert_string_equal(nt_status_ago(0, 1000, buf, sizeof(buf)), "never");
	assert_string_equal(nt_status_ago(1000, 13000, buf, sizeof(buf)), "12s ago");
	assert_string_equal(nt_status_ago(0 + 1, 3600001 + 120000, buf, sizeof(buf)), "1h02m ago");
	assert_string_equal(nt_status_ago(5000, 1000, buf, sizeof(buf)), "0s ago");

	nt_status_render(f, summary, peers, 1700000000123ULL + 12000);
	fclose(f);
	assert_non_null(strstr(out, "node       abababab"));
	assert_non_null(strstr(out, "addresses  10.1.0.1/24,fd00:6e74::1/64"));
	assert_non_null(strstr(out, "interface  netron0, udp port 51830"));
	assert_non_null(strstr(out, "uptime     1h02m"));
	assert_non_null(strstr(out, "peers      1 connected of 2"));
	assert_non_null(strstr(out, "PEER       ADDRESSES"));
	assert_non_null(strstr(out, "\n12121212   10.1.0.2/24  192.0.2.2:51830  direct  4.25 ms  1.5 KiB  10 B  12s ago\n"));
	assert_non_null(strstr(out, "\n34343434*  -            -                none    -        0 B      0 B   never\n"
				  "(* no session)\n"));
	free(out);
	json_decref(summary);
	json_decref(peers);
	nt_status_free(s);
}

static void test_dashboard_embedded(void **state)
{
	const char *path = NT_SOURCE_DIR "/src/api/dashboard.html";
	FILE *f = fopen(path, "rb");
	const uint8_t *page;
	size_t len, n;
	uint8_t *buf;

	(void)state;
	assert_non_null(f);
	page = nt_api_dashboard(&len);
	buf = malloc(len + 1);
	n = fread(buf, 1, len + 1, f);
	fclose(f);
	if (n != len || memcmp(buf, page, len) != 0)
		fail_msg("src/api/dashboard.h is stale: regenerate it from src/api/dashboard.html (see its header)");
	free(buf);
	/* The stable hooks the tests and the CSP rely on. */
	assert_non_null(memmem(page, len, "<table id=\"peers\">", 18));
	assert_non_null(memmem(page, len, "\"peer \"", 7));
	assert_null(memmem(page, len, "innerHTML", 9));
	assert_null(memmem(page, len, "http://", 7));
	assert_null(memmem(page, len, "https://", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_parse),
		cmocka_unit_test(test_path_parse),
		cmocka_unit_test(test_host_check),
		cmocka_unit_test(test_bearer_and_token),
		cmocka_unit_test(test_http_parse),
		cmocka_unit_test(test_json_summary_peers_machines),
		cmocka_unit_test(test_json_ledger),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_status_render),
		cmocka_unit_test(test_dashboard_embedded),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
