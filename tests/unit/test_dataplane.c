// SPDX-License-Identifier: MIT
/*
 * The loop's side of the data plane (dataplane/dataplane.h) on a detached node with a
 * tunnel (tunnel_rig.h): what its counters and its demultiplexer make of what a member or
 * a stranger sends, as the API and /metrics show it (nt_dataplane_status). The TUN is one
 * end of a datagram socketpair, so a delivered packet can be read back. Checks: a packet
 * sent on the fast path and one delivered to the TUN are each counted once in the node's
 * totals and once in the member's (the engine counts the fast path, the loop what it sends
 * itself); a data frame whose header is malformed is a truncated frame, not a frame for an
 * unknown session (which would make the node look for a member at its source); an
 * authentic control message of a type nobody handles is a counted drop, whatever its type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "tunnel_rig.h"

static struct rig rig;
static int tun_pair[2] = { -1, -1 }; /* [0]: the node's TUN, [1]: the test's end */

static int setup(void **state)
{
	(void)state;
	rig_up(&rig, true);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, tun_pair), 0);
	rig.dp.tun.fd = tun_pair[0];
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rig.dp.tun.fd = -1;
	close(tun_pair[0]);
	close(tun_pair[1]);
	rig_down(&rig);
	return 0;
}

/* An IPv4 packet of len bytes (len >= 28) from src to dst, UDP, a recognisable payload. */
static size_t ipv4_packet(uint8_t *pkt, size_t len, const char *src, const char *dst)
{
	memset(pkt, 0, len);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 17;
	assert_int_equal(inet_pton(AF_INET, src, pkt + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, pkt + 16), 1);
	for (size_t i = 28; i < len; i++)
		pkt[i] = (uint8_t)i;
	return len;
}

/* The node's totals as its status (the API, /metrics) reports them. */
static void status_of(struct nt_status *s)
{
	memset(s, 0, sizeof(*s));
	nt_dataplane_status(&rig.dp, s);
}

/* A member holding 10.9.0.2, with a session and a proven endpoint (no socket: sends fail). */
static void member_with_address(struct member *m, uint64_t now)
{
	union nt_sockaddr ep = rig_addr("192.0.2.40:51820");
	uint8_t addr[16] = { 0 };

	member_new(&rig, m, &ep, now);
	assert_int_equal(inet_pton(AF_INET, "10.9.0.2", addr), 1);
	assert_int_equal(nt_route_add(&rig.dp.route, AF_INET, addr, m->p), 0);
}

static void test_bytes_counted_once(void **state)
{
	uint64_t now = rig.t0 + 10;
	uint8_t pkt[300], frame[512], got[512];
	struct virtio_net_hdr vh = { 0 };
	struct nt_status s;
	struct member m;
	size_t plen, flen;

	(void)state;
	member_with_address(&m, rig.t0);
	/* To the member: the loop's engine encrypts it on the fast path. */
	plen = ipv4_packet(pkt, 200, "10.9.0.1", "10.9.0.2");
	nt_engine_tun_packet(&rig.dp.engine, &vh, pkt, plen, now);
	assert_int_equal(m.p->session.current->send_counter, 1);
	assert_int_equal(m.p->tx_bytes, plen);
	status_of(&s);
	assert_int_equal(s.tx_bytes, plen);
	assert_int_equal(s.workers[0].tx_packets, 1);
	/* From the member: opened, its source is its own, written to the TUN. */
	plen = ipv4_packet(pkt, 250, "10.9.0.2", "10.9.0.1");
	flen = member_seal(&m, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, plen, now);
	nt_dataplane_on_frame(&rig.dp, frame, flen, &m.p->endpoint, NULL, NULL, now);
	assert_int_equal(recv(tun_pair[1], got, sizeof(got), 0), (ssize_t)plen);
	assert_memory_equal(got, pkt, plen);
	assert_int_equal(m.p->rx_bytes, plen);
	status_of(&s);
	assert_int_equal(s.rx_bytes, plen);
	assert_int_equal(s.tx_bytes, 200);
	assert_int_equal(s.workers[0].rx_packets, 1);
	member_free(&m);
}

static void test_bad_header_is_truncated(void **state)
{
	uint64_t now = rig.t0 + 10;
	uint8_t frame[NT_DATA_MIN_LEN + 40];
	struct member m;

	(void)state;
	member_with_address(&m, rig.t0);
	/* Long enough, but its reserved bytes are not zero: no header of ours. */
	memset(frame, 0x5a, sizeof(frame));
	frame[0] = NT_MSG_DATA;
	frame[1] = 1;
	frame[2] = frame[3] = 0;
	nt_dataplane_on_frame(&rig.dp, frame, sizeof(frame), &m.p->endpoint, NULL, NULL,
			      now + NT_REKEY_TIMEOUT_MS);
	assert_int_equal(rig_drops(&rig, NT_DROP_TRUNCATED), 1);
	assert_int_equal(rig_drops(&rig, NT_DROP_UNKNOWN_INDEX), 0);
	/* Nothing was asked of the member at that address: no handshake was wanted. */
	assert_int_equal(m.p->handshake_due_ms, 0);
	/* Too short for a header at all: truncated too. */
	nt_dataplane_on_frame(&rig.dp, frame, NT_DATA_MIN_LEN - 1, &m.p->endpoint, NULL, NULL, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_TRUNCATED), 2);
	member_free(&m);
}

static void test_unhandled_control_counted(void **state)
{
	static const uint8_t types[] = { 0x09, 0x0f, 0x10, 0x7f, 0xff };
	uint64_t now = rig.t0 + 10;
	uint8_t frame[256], body[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct member m;

	(void)state;
	member_with_address(&m, rig.t0);
	for (size_t i = 0; i < sizeof(types); i++) {
		size_t flen = member_seal(&m, frame, sizeof(frame), types[i], body, sizeof(body), now);

		nt_dataplane_on_frame(&rig.dp, frame, flen, &m.p->endpoint, NULL, NULL, now);
		assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), i + 1);
	}
	/* Authentic all the same: the member was heard. */
	assert_int_equal(m.p->session.last_received_ms, now);
	member_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bytes_counted_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_header_is_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhandled_control_counted, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
