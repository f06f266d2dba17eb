// SPDX-License-Identifier: MIT
/*
 * Relaying (tunnel/relay.h) on a tunnel with a detached data plane, members with real
 * keypairs and a fake clock. Where a test must see what the node sends, the node gets a UDP
 * socket on 127.0.0.1 and the members' endpoints are the test's own sockets there; elsewhere
 * the node has no socket, sends fail, and what was forwarded is read from the destination's
 * keypair (one counter per frame encrypted for it). Checks: a RELAY from a member reaches the
 * other member as RELAYED from it, and nothing is forwarded to an unknown, unproven or
 * relayed member or back to the sender; --relay off refuses (NT_DROP_RELAY_REFUSED); one
 * token bucket per member (NT_RELAY_PPS, one second of burst); at most NT_RELAY_PAIRS pairs,
 * a pair idle past a minute giving way; a frame that came through a relay is never relayed
 * again; a member that leaves takes its pairs with it; and a handshake that completes through
 * a relay on a full peer table never makes room by giving up that relay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "tunnel/relay.h"
#include "tunnel_rig.h"

static struct rig rig;

static int setup_socket(void **state)
{
	(void)state;
	rig_up(&rig, true);
	rig_udp_open(&rig, "127.0.0.1");
	return 0;
}

static int setup_detached(void **state)
{
	(void)state;
	rig_up(&rig, true);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rig_down(&rig);
	return 0;
}

/* A member reached at a socket of the test's on 127.0.0.1 (fd: that socket). */
static int member_local(struct member *m, union nt_sockaddr *ep, uint64_t now)
{
	int fd;

	*ep = rig_addr("127.0.0.1:1");
	ep->in4.sin_port = 0;
	fd = rig_listen(ep);
	member_new(&rig, m, ep, now);
	return fd;
}

/* A frame some member sealed for another: the relay sees only that it is a data frame. */
static size_t opaque_frame(uint8_t *f, size_t len, uint8_t seed)
{
	f[0] = NT_MSG_DATA;
	for (size_t i = 1; i < len; i++)
		f[i] = (uint8_t)(seed + i * 13);
	return len;
}

/* The body of a RELAY to target (or of a RELAYED from it): header, then the frame. */
static size_t relay_body(uint8_t *out, const uint8_t target[32], const uint8_t *frame, size_t len)
{
	nt_control_relay_header(out, target);
	memcpy(out + NT_CTRL_RELAY_HDR, frame, len);
	return NT_CTRL_RELAY_HDR + len;
}

/* Member m sends the node a control message of `type`, as a frame from `from`. */
static void member_says(struct member *m, const union nt_sockaddr *from, uint8_t type,
			const uint8_t *body, size_t len, uint64_t now)
{
	uint8_t buf[4096];
	size_t flen = member_seal(m, buf, sizeof(buf), type, body, len, now);

	nt_dataplane_on_frame(&rig.dp, buf, flen, from, NULL, NULL, now);
}

/* Frames the node encrypted for member m so far. */
static uint64_t sealed_for(const struct member *m)
{
	return m->p->session.current->send_counter;
}

static unsigned int pairs_used(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++)
		n += rig.t.relay_pairs[i].src != NULL;
	return n;
}

static bool pair_exists(const struct member *src, const struct member *dst)
{
	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++)
		if (rig.t.relay_pairs[i].src == src->p && rig.t.relay_pairs[i].dst == dst->p)
			return true;
	return false;
}

static uint64_t all_drops(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < NT_DROP_COUNT; i++)
		n += rig_drops(&rig, (enum nt_drop_reason)i);
	return n;
}

static void test_forward(void **state)
{
	uint64_t now = rig.t0 + 10;
	union nt_sockaddr a_ep, b_ep;
	struct member a, b;
	uint8_t frame[200], body[400], got[1024];
	struct nt_data_rx rx;
	size_t flen = opaque_frame(frame, 150, 1), blen;
	int a_fd = member_local(&a, &a_ep, rig.t0), b_fd = member_local(&b, &b_ep, rig.t0);
	ssize_t n;

	(void)state;
	blen = relay_body(body, b.pk, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig.t.relayed_frames, 1);
	assert_int_equal(all_drops(), 0);
	assert_true(pair_exists(&a, &b));
	assert_int_equal(pairs_used(), 1);
	/* At b's endpoint, on b's session: RELAYED, from a, the frame as it was. */
	n = recv(b_fd, got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)(1 + NT_CTRL_RELAY_HDR + flen + NT_DATA_OVERHEAD));
	assert_int_equal(nt_session_keypair_decrypt(b.mirror, got, (size_t)n, now, &rx), NT_PKT_OK);
	assert_int_equal(rx.inner_type, NT_CTRL_RELAYED);
	assert_int_equal(rx.payload_len, NT_CTRL_RELAY_HDR + flen);
	assert_int_equal(rx.payload[0], NT_CTRL_VERSION);
	assert_memory_equal(rx.payload + 1, a.pk, 32);
	assert_memory_equal(rx.payload + NT_CTRL_RELAY_HDR, frame, flen);
	/* Nothing went back to a. */
	assert_int_equal(recv(a_fd, got, sizeof(got), MSG_DONTWAIT), -1);
	close(a_fd);
	close(b_fd);
	member_free(&a);
	member_free(&b);
}

static void test_forward_refused(void **state)
{
	uint64_t now = rig.t0 + 10;
	union nt_sockaddr a_ep, b_ep, far = rig_addr("127.0.0.1:9");
	struct member a, b, unproven, relayed;
	uint8_t frame[100], body[400], got[1024], stranger[32];
	size_t flen = opaque_frame(frame, 80, 2), blen;
	int a_fd = member_local(&a, &a_ep, rig.t0), b_fd = member_local(&b, &b_ep, rig.t0);

	(void)state;
	member_new(&rig, &unproven, NULL, rig.t0);
	member_new(&rig, &relayed, NULL, rig.t0);
	/* It wrote from an address that has not answered yet: only challenged. */
	nt_tunnel_path_seen(&rig.t, unproven.p, &far, NULL, false);
	assert_false(unproven.p->ep_proven);
	nt_tunnel_path_seen(&rig.t, relayed.p, &far, b.p, false);
	assert_ptr_equal(relayed.p->via, b.p);
	randombytes_buf(stranger, sizeof(stranger));
	/* Each of these is a control message the node does not act on. */
	blen = relay_body(body, stranger, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 1);
	blen = relay_body(body, a.pk, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 2);
	blen = relay_body(body, unproven.pk, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 3);
	blen = relay_body(body, relayed.pk, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 4);
	/* Not a frame inside (a relay passes only handshakes and data frames). */
	blen = relay_body(body, b.pk, frame, flen);
	body[NT_CTRL_RELAY_HDR] = 'd';
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 5);
	assert_int_equal(rig.t.relayed_frames, 0);
	assert_int_equal(pairs_used(), 0);
	assert_int_equal(sealed_for(&b), 0);
	assert_int_equal(recv(b_fd, got, sizeof(got), MSG_DONTWAIT), -1);

	/* --relay off: refused and counted as such, b hears nothing. */
	rig.opts.relay = false;
	blen = relay_body(body, b.pk, frame, flen);
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 5);
	assert_int_equal(rig.t.relayed_frames, 0);
	assert_int_equal(pairs_used(), 0);
	assert_int_equal(sealed_for(&b), 0);
	assert_int_equal(recv(b_fd, got, sizeof(got), MSG_DONTWAIT), -1);
	/* On again: the same message goes through. */
	rig.opts.relay = true;
	member_says(&a, &a_ep, NT_CTRL_RELAY, body, blen, now);
	assert_int_equal(rig.t.relayed_frames, 1);
	assert_int_equal(sealed_for(&b), 1);
	assert_true(recv(b_fd, got, sizeof(got), MSG_DONTWAIT) > 0);
	close(a_fd);
	close(b_fd);
	member_free(&a);
	member_free(&b);
	member_free(&unproven);
	member_free(&relayed);
}

/* src asks for one frame to dst; the handler as the data plane calls it. */
static void relay_one(struct member *src, struct member *dst, uint64_t now)
{
	uint8_t frame[64], body[200];
	size_t blen = relay_body(body, dst->pk, frame, opaque_frame(frame, sizeof(frame), 3));

	nt_tunnel_relay_on_control(&rig.t, src->p, NT_CTRL_RELAY, body, blen, &src->p->endpoint, NULL,
				   now);
}

static void test_token_bucket(void **state)
{
	union nt_sockaddr ep = rig_addr("192.0.2.10:51820");
	uint64_t now = rig.t0 + 5000, before;
	struct member a, b, c;

	(void)state;
	member_new(&rig, &a, &ep, rig.t0);
	ep.in4.sin_port = htons(51821);
	member_new(&rig, &b, &ep, rig.t0);
	ep.in4.sin_port = htons(51822);
	member_new(&rig, &c, &ep, rig.t0);
	/* A member nobody relayed for yet has one second's worth. */
	for (unsigned int i = 0; i < NT_RELAY_PPS; i++)
		relay_one(&a, &b, now);
	assert_int_equal(sealed_for(&b), NT_RELAY_PPS);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 0);
	/* No socket here: every forwarded frame failed to go out, and was counted. */
	assert_int_equal(rig_drops(&rig, NT_DROP_UDP_SEND), NT_RELAY_PPS);
	relay_one(&a, &b, now);
	assert_int_equal(sealed_for(&b), NT_RELAY_PPS);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1);
	/* Another member's bucket is its own. */
	relay_one(&c, &b, now);
	assert_int_equal(sealed_for(&b), NT_RELAY_PPS + 1);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1);
	/* A millisecond later a has NT_RELAY_PPS / 1000 frames more, not one more. */
	before = sealed_for(&b);
	for (unsigned int i = 0; i < NT_RELAY_PPS / 1000 + 5; i++)
		relay_one(&a, &b, now + 1);
	assert_int_equal(sealed_for(&b) - before, NT_RELAY_PPS / 1000);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1 + 5);
	/* Ten seconds of quiet still buy one second's worth only. */
	before = sealed_for(&b);
	for (unsigned int i = 0; i < NT_RELAY_PPS + 3; i++)
		relay_one(&a, &b, now + 10001);
	assert_int_equal(sealed_for(&b) - before, NT_RELAY_PPS);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1 + 5 + 3);
	assert_int_equal(pairs_used(), 2);
	member_free(&a);
	member_free(&b);
	member_free(&c);
}

static void test_pairs_bounded(void **state)
{
	enum { N = NT_RELAY_PAIRS + 1 };
	static struct member dst[N];
	union nt_sockaddr ep = rig_addr("192.0.2.20:51820");
	uint64_t now = rig.t0 + 5000;
	struct member a;

	(void)state;
	member_new(&rig, &a, &ep, rig.t0);
	for (unsigned int i = 0; i < N; i++) {
		ep.in4.sin_port = htons((uint16_t)(40000 + i));
		member_new(&rig, &dst[i], &ep, rig.t0);
	}
	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++)
		relay_one(&a, &dst[i], now);
	assert_int_equal(pairs_used(), NT_RELAY_PAIRS);
	/* The table is full of pairs used within the minute: the next pair is refused... */
	relay_one(&a, &dst[N - 1], now);
	assert_int_equal(sealed_for(&dst[N - 1]), 0);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 1);
	assert_false(pair_exists(&a, &dst[N - 1]));
	/* ...while a pair it holds goes on. */
	relay_one(&a, &dst[0], now);
	assert_int_equal(sealed_for(&dst[0]), 2);
	/* Every pair but the first used again at +30 s; at +60 s + 1 ms the first gives way. */
	for (unsigned int i = 1; i < NT_RELAY_PAIRS; i++)
		relay_one(&a, &dst[i], now + 30000);
	relay_one(&a, &dst[N - 1], now + 60000);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 2);
	relay_one(&a, &dst[N - 1], now + 60001);
	assert_int_equal(sealed_for(&dst[N - 1]), 1);
	assert_true(pair_exists(&a, &dst[N - 1]));
	assert_false(pair_exists(&a, &dst[0]));
	assert_int_equal(pairs_used(), NT_RELAY_PAIRS);
	/* And now dst[0] is the one without a place. */
	relay_one(&a, &dst[0], now + 60001);
	assert_int_equal(sealed_for(&dst[0]), 2);
	assert_int_equal(rig_drops(&rig, NT_DROP_RELAY_REFUSED), 3);
	member_free(&a);
	for (unsigned int i = 0; i < N; i++)
		member_free(&dst[i]);
}

/*
 * Member a relays for c: a RELAYED from a carries c's frame. The frame is opened on c's
 * session as if it came in; a RELAY inside it is not relayed again.
 */
static void test_relayed_not_relayed_again(void **state)
{
	uint64_t now = rig.t0 + 10;
	union nt_sockaddr a_ep, b_ep, c_ep;
	struct member a, b, c;
	uint8_t inner[64], cbody[300], cframe[512], abody[800], got[1024];
	size_t ilen = opaque_frame(inner, sizeof(inner), 4), cblen, cflen, ablen;
	int a_fd = member_local(&a, &a_ep, rig.t0), b_fd = member_local(&b, &b_ep, rig.t0);
	int c_fd = member_local(&c, &c_ep, rig.t0);
	uint64_t c_heard;

	(void)state;
	/* c's frame: "relay this to b", sealed on c's session with the node. */
	cblen = relay_body(cbody, b.pk, inner, ilen);
	cframe[NT_DATA_HEADER_LEN] = NT_CTRL_RELAY;
	memcpy(cframe + NT_DATA_HEADER_LEN + 1, cbody, cblen);
	assert_int_equal(nt_session_keypair_encrypt(c.mirror, cframe, sizeof(cframe), 1 + cblen, now), 0);
	cflen = 1 + cblen + NT_DATA_OVERHEAD;
	c_heard = c.p->session.last_received_ms;
	/* a delivers it: RELAYED from c. */
	ablen = relay_body(abody, c.pk, cframe, cflen);
	member_says(&a, &a_ep, NT_CTRL_RELAYED, abody, ablen, now);
	/* Opened on c's session (c was heard), then refused: a control message not taken. */
	assert_true(c.p->session.last_received_ms > c_heard);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 1);
	assert_int_equal(all_drops(), 1);
	assert_int_equal(rig.t.relayed_frames, 0);
	assert_int_equal(pairs_used(), 0);
	assert_int_equal(sealed_for(&b), 0);
	assert_int_equal(recv(b_fd, got, sizeof(got), MSG_DONTWAIT), -1);
	/* The handler alone, told the frame came through a relay: the same. */
	nt_tunnel_relay_on_control(&rig.t, c.p, NT_CTRL_RELAY, cbody, cblen, &c_ep, a.p, now);
	nt_tunnel_relay_on_control(&rig.t, c.p, NT_CTRL_RELAYED, cbody, cblen, &c_ep, a.p, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 3);
	assert_int_equal(sealed_for(&b), 0);
	/* A RELAYED that claims to come from ourselves is refused too. */
	ablen = relay_body(abody, rig.id->ed_pk, cframe, cflen);
	member_says(&a, &a_ep, NT_CTRL_RELAYED, abody, ablen, now);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 4);
	/* The same RELAY straight from c is relayed, once. */
	member_says(&c, &c_ep, NT_CTRL_RELAY, cbody, cblen, now);
	assert_int_equal(rig.t.relayed_frames, 1);
	assert_int_equal(sealed_for(&b), 1);
	assert_true(recv(b_fd, got, sizeof(got), MSG_DONTWAIT) > 0);
	assert_int_equal(rig_drops(&rig, NT_DROP_CONTROL), 4);
	close(a_fd);
	close(b_fd);
	close(c_fd);
	member_free(&a);
	member_free(&b);
	member_free(&c);
}

static void test_gone_forgets_pairs(void **state)
{
	union nt_sockaddr ep = rig_addr("192.0.2.30:51820");
	uint64_t now = rig.t0 + 5000;
	struct member a, b, c;

	(void)state;
	member_new(&rig, &a, &ep, rig.t0);
	ep.in4.sin_port = htons(51821);
	member_new(&rig, &b, &ep, rig.t0);
	ep.in4.sin_port = htons(51822);
	member_new(&rig, &c, &ep, rig.t0);
	relay_one(&a, &b, now);
	relay_one(&c, &b, now);
	relay_one(&b, &c, now);
	relay_one(&a, &c, now);
	assert_int_equal(pairs_used(), 4);
	member_free(&b);
	nt_tunnel_member_kill(&rig.t, b.p);
	/* Dead, but not yet freed: its pairs are there until the end of the tick. */
	assert_int_equal(pairs_used(), 4);
	nt_tunnel_members_reap_dead(&rig.t);
	assert_int_equal(pairs_used(), 1);
	assert_true(pair_exists(&a, &c));
	/* The freed slots are free: new pairs take them. */
	relay_one(&c, &a, now);
	assert_int_equal(pairs_used(), 2);
	assert_int_equal(sealed_for(&a), 1);
	member_free(&a);
	member_free(&c);
}

/* Fills the peer table up to its size with members that hold an address: never given up. */
static void fill_table(uint64_t now)
{
	struct member m;

	while (rig.dp.peers.count < rig.dp.peers.cap) {
		member_bare(&rig, &m, now);
		m.p->n_addresses = 1;
	}
}

/*
 * A node we have no session with (x) reaches us through member a's relay while the peer
 * table is full. The handshake completes inside a's RELAYED frame, so the member that
 * makes room must not be a: a is the path the handshake came by and the path the newcomer
 * is reached by. Here a carried no traffic and holds no address (the first to go by
 * room()'s rule); b carried a little: b makes room, a stays and relays x.
 */
static void test_relayed_handshake_full_table(void **state)
{
	uint64_t now = rig.t0 + 10;
	union nt_sockaddr a_ep, anywhere = rig_addr("192.0.2.99:51820");
	struct nt_handshake_local xl = { 0 };
	struct nt_handshake xhs = { 0 };
	struct nt_identity *x;
	struct member a, b;
	uint8_t init[NT_HS_INIT_LEN], resp[NT_HS_RESP_LEN], fin[NT_HS_FIN_LEN];
	uint8_t body[256], got[1024];
	struct nt_peer *xp;
	struct nt_data_rx rx;
	int a_fd = member_local(&a, &a_ep, rig.t0);
	ssize_t n;

	(void)state;
	member_bare(&rig, &b, rig.t0);
	b.p->rx_bytes = 1;
	fill_table(rig.t0);
	assert_int_equal(nt_identity_new_ephemeral(&x), 0);
	assert_int_equal(nt_handshake_local_init(&xl, x, rig.keys, now), 0);
	assert_int_equal(nt_handshake_init(&xhs), 0);
	/* x's INIT, delivered by a; our RESP goes back through a. */
	assert_int_equal(nt_handshake_create_init(&xhs, &xl, 0x7777, nt_wall_ms(), now, init), 0);
	member_says(&a, &a_ep, NT_CTRL_RELAYED, body, relay_body(body, x->ed_pk, init, sizeof(init)),
		    now);
	n = recv(a_fd, got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)(1 + NT_CTRL_RELAY_HDR + NT_HS_RESP_LEN + NT_DATA_OVERHEAD));
	assert_int_equal(nt_session_keypair_decrypt(a.mirror, got, (size_t)n, now, &rx), NT_PKT_OK);
	assert_int_equal(rx.inner_type, NT_CTRL_RELAY);
	assert_memory_equal(rx.payload + 1, x->ed_pk, 32);
	memcpy(resp, rx.payload + NT_CTRL_RELAY_HDR, sizeof(resp));
	assert_int_equal(nt_handshake_consume_resp(&xhs, &xl, resp, sizeof(resp), &anywhere, now),
			 NT_HS_OK);
	assert_int_equal(nt_handshake_create_fin(&xhs, &xl, now, fin), 0);
	/* x's FIN, delivered by a: the handshake completes on a full table. */
	assert_int_equal(rig.dp.peers.count, rig.dp.peers.cap);
	member_says(&a, &a_ep, NT_CTRL_RELAYED, body, relay_body(body, x->ed_pk, fin, sizeof(fin)),
		    now);
	assert_int_equal(rig.t.handshakes_ok, 1);
	xp = nt_peer_lookup(&rig.dp.peers, x->ed_pk);
	assert_non_null(xp);
	assert_ptr_equal(nt_peer_lookup(&rig.dp.peers, a.pk), a.p);
	assert_null(nt_peer_lookup_any(&rig.dp.peers, b.pk));
	assert_ptr_equal(xp->via, a.p);
	assert_int_equal(xp->path, NT_PATH_RELAYED);
	assert_int_equal(rig.dp.peers.count, rig.dp.peers.cap);
	nt_handshake_uninit(&xhs);
	nt_handshake_local_uninit(&xl);
	nt_identity_free(x);
	close(a_fd);
	member_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward, setup_socket, teardown),
		cmocka_unit_test_setup_teardown(test_forward_refused, setup_socket, teardown),
		cmocka_unit_test_setup_teardown(test_token_bucket, setup_detached, teardown),
		cmocka_unit_test_setup_teardown(test_pairs_bounded, setup_detached, teardown),
		cmocka_unit_test_setup_teardown(test_relayed_not_relayed_again, setup_socket, teardown),
		cmocka_unit_test_setup_teardown(test_gone_forgets_pairs, setup_detached, teardown),
		cmocka_unit_test_setup_teardown(test_relayed_handshake_full_table, setup_socket, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
