// SPDX-License-Identifier: MIT
/*
 * The packet engine (dataplane/engine.h) with fake ops and a fake clock: no TUN device and
 * no socket. The TUN is one end of a datagram socketpair, so what the engine delivers can be
 * read back; the UDP socket is descriptor -1, so frames the fast path queued are read from
 * the send queue before nt_engine_flush and every send then fails and is counted. Checks:
 * the routing verdicts reach the right op (FAST encrypts to the member's endpoint, SLOW and
 * NO_MEMBER go to ops->packet, a superpacket cut into its segments either way), a frame on a
 * known keypair reaches ops->authentic and then ops->delivered only if ops->holds says the
 * inner source is the member's, forged and replayed frames are counted drops that reach no
 * op, and whatever is not a data frame of a known keypair reaches ops->frame with its via
 * untouched.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/log.h"
#include "dataplane/engine.h"
#include "proto/handshake.h"

enum {
	NOW = 5000000, /* the fake clock, ms */
	MAX_FRAME = 2048,
	OUR_INDEX = 0x1111, /* frames to us carry it */
	THEIR_INDEX = 0x2222, /* frames we send carry it */
	LOG_MAX = 64,
};

/* What the fake ops were asked and what they answer. */
struct fake {
	/* route(): the verdict for every destination, and the member it names */
	enum nt_engine_route verdict;
	struct nt_keypair *route_kp;
	union nt_sockaddr endpoint;
	unsigned int n_route;
	int route_family;
	uint8_t route_dst[16];
	/* packet() */
	unsigned int n_packet;
	enum nt_engine_route packet_r[LOG_MAX];
	size_t packet_len[LOG_MAX];
	uint8_t packet_first[4096]; /* the first packet handed over */
	/* sent() */
	unsigned int n_sent;
	uint64_t sent_bytes, sent_packets;
	void *sent_member;
	/* key(): the one keypair it knows */
	struct nt_keypair *kp;
	unsigned int n_key;
	/* authentic() */
	unsigned int n_authentic;
	bool authentic_malformed;
	uint8_t authentic_inner;
	const void *authentic_via;
	void *authentic_member;
	/* holds(): the answer, and what it was asked */
	bool holds;
	unsigned int n_holds;
	int holds_family;
	uint8_t holds_addr[16];
	/* delivered() */
	unsigned int n_delivered;
	size_t delivered_bytes;
	/* frame() */
	unsigned int n_frame;
	size_t frame_len;
	uint8_t frame_first;
	const void *frame_via;
	union nt_sockaddr frame_from;
	/* every call in order, one letter each: r p s k a h d f */
	char calls[LOG_MAX + 1];
	unsigned int n_calls;
};

static int member_tag; /* the member handle the fake ops hand around */

static void called(struct fake *f, char c)
{
	if (f->n_calls < LOG_MAX)
		f->calls[f->n_calls++] = c;
}

static enum nt_engine_route fake_route(void *ctx, int family, const uint8_t *dst, uint64_t now,
				       struct nt_engine_dest *dest)
{
	struct fake *f = ctx;

	assert_int_equal(now, NOW);
	called(f, 'r');
	f->n_route++;
	f->route_family = family;
	memcpy(f->route_dst, dst, family == AF_INET ? 4 : 16);
	if (f->verdict == NT_ENGINE_FAST) {
		dest->kp = f->route_kp;
		dest->endpoint = &f->endpoint;
		dest->member = &member_tag;
	}
	return f->verdict;
}

static void fake_packet(void *ctx, enum nt_engine_route r, const uint8_t *pkt, size_t len,
			uint64_t now)
{
	struct fake *f = ctx;

	assert_int_equal(now, NOW);
	called(f, 'p');
	if (f->n_packet == 0 && len <= sizeof(f->packet_first))
		memcpy(f->packet_first, pkt, len);
	if (f->n_packet < LOG_MAX) {
		f->packet_r[f->n_packet] = r;
		f->packet_len[f->n_packet] = len;
	}
	f->n_packet++;
}

static void fake_sent(void *ctx, const struct nt_engine_dest *dest, uint64_t bytes, uint64_t packets,
		      uint64_t now)
{
	struct fake *f = ctx;

	assert_int_equal(now, NOW);
	called(f, 's');
	f->n_sent++;
	f->sent_bytes += bytes;
	f->sent_packets += packets;
	f->sent_member = dest->member;
}

static struct nt_keypair *fake_key(void *ctx, uint32_t index, void **member)
{
	struct fake *f = ctx;

	called(f, 'k');
	f->n_key++;
	if (!f->kp || index != f->kp->local_index)
		return NULL;
	*member = &member_tag;
	return f->kp;
}

static void fake_authentic(void *ctx, void *member, struct nt_keypair *kp, const struct nt_data_rx *rx,
			   bool malformed, const union nt_sockaddr *from, const void *via, uint64_t now)
{
	struct fake *f = ctx;

	(void)from;
	assert_int_equal(now, NOW);
	assert_ptr_equal(kp, f->kp);
	called(f, 'a');
	f->n_authentic++;
	f->authentic_malformed = malformed;
	f->authentic_inner = rx->inner_type;
	f->authentic_via = via;
	f->authentic_member = member;
}

static bool fake_holds(void *ctx, void *member, int family, const uint8_t *addr)
{
	struct fake *f = ctx;

	assert_ptr_equal(member, &member_tag);
	called(f, 'h');
	f->n_holds++;
	f->holds_family = family;
	memcpy(f->holds_addr, addr, family == AF_INET ? 4 : 16);
	return f->holds;
}

static void fake_delivered(void *ctx, void *member, size_t bytes, uint64_t now)
{
	struct fake *f = ctx;

	assert_int_equal(now, NOW);
	assert_ptr_equal(member, &member_tag);
	called(f, 'd');
	f->n_delivered++;
	f->delivered_bytes += bytes;
}

static void fake_frame(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from,
		       const void *via, uint64_t now)
{
	struct fake *f = ctx;

	assert_int_equal(now, NOW);
	called(f, 'f');
	f->n_frame++;
	f->frame_len = len;
	f->frame_first = frame[0];
	f->frame_via = via;
	f->frame_from = *from;
}

static const struct nt_engine_ops fake_ops = {
	.route = fake_route,
	.packet = fake_packet,
	.sent = fake_sent,
	.key = fake_key,
	.authentic = fake_authentic,
	.holds = fake_holds,
	.delivered = fake_delivered,
	.frame = fake_frame,
};

/* One engine, its fake ops, a keypair with a member and the member's side of it. */
struct rig {
	struct fake f;
	struct nt_engine e;
	struct nt_tun tun;
	struct nt_udp udp;
	int tun_peer; /* the other end of the TUN's socketpair: what the engine wrote */
	struct nt_keypair *ours; /* the engine's: receives OUR_INDEX, sends THEIR_INDEX */
	struct nt_keypair *theirs; /* the member's: seals what the engine opens, and back */
	union nt_sockaddr from;
};

static int rig_setup(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	uint8_t k1[NT_DATA_KEY_LEN], k2[NT_DATA_KEY_LEN];
	int sv[2];

	assert_non_null(r);
	assert_int_equal(sodium_init() >= 0, 1);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	r->tun.fd = sv[0];
	r->tun.mtu = 1420;
	r->tun_peer = sv[1];
	r->udp.fd = -1;
	r->udp.family = AF_INET6;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	assert_int_equal(nt_session_keypair_new(&r->ours, k1, k2, OUR_INDEX, THEIR_INDEX, true, NOW), 0);
	assert_int_equal(nt_session_keypair_new(&r->theirs, k2, k1, THEIR_INDEX, OUR_INDEX, false, NOW), 0);
	assert_true(nt_sockaddr_parse("192.0.2.7:51820", &r->f.endpoint));
	assert_true(nt_sockaddr_parse("192.0.2.7:51820", &r->from));
	r->f.kp = r->ours;
	r->f.route_kp = r->ours;
	r->f.holds = true;
	assert_int_equal(nt_engine_init(&r->e, &r->tun, &r->udp, MAX_FRAME, &fake_ops, &r->f), 0);
	*state = r;
	return 0;
}

static int rig_teardown(void **state)
{
	struct rig *r = *state;

	nt_engine_uninit(&r->e);
	nt_session_keypair_free(r->ours);
	nt_session_keypair_free(r->theirs);
	close(r->tun.fd);
	close(r->tun_peer);
	free(r);
	return 0;
}

static void fake_reset(struct fake *f)
{
	f->n_route = f->n_packet = f->n_sent = f->n_key = f->n_authentic = 0;
	f->n_holds = f->n_delivered = f->n_frame = f->n_calls = 0;
	f->sent_bytes = f->sent_packets = f->delivered_bytes = 0;
	f->sent_member = f->authentic_member = NULL;
	f->authentic_via = f->frame_via = NULL;
	memset(f->calls, 0, sizeof(f->calls));
}

static uint64_t drops(const struct nt_engine *e, enum nt_drop_reason why)
{
	struct nt_engine_counters c;

	nt_engine_counters_read(e, &c);
	return c.drops[why];
}

static uint64_t total_drops(const struct nt_engine *e)
{
	struct nt_engine_counters c;
	uint64_t n = 0;

	nt_engine_counters_read(e, &c);
	for (unsigned int i = 0; i < NT_DROP_COUNT; i++)
		n += c.drops[i];
	return n;
}

/* An IPv4 UDP packet from 10.0.0.src to 10.0.0.dst with `payload` bytes. */
static size_t ipv4_packet(uint8_t *b, uint8_t src, uint8_t dst, size_t payload)
{
	size_t len = 28 + payload;

	memset(b, 0, 28);
	b[0] = 0x45;
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[8] = 64;
	b[9] = 17;
	b[12] = 10, b[15] = src;
	b[16] = 10, b[19] = dst;
	b[20] = 0x9c, b[21] = 0x40; /* ports 40000 -> 5201 */
	b[22] = 0x14, b[23] = 0x51;
	b[24] = (uint8_t)((8 + payload) >> 8);
	b[25] = (uint8_t)(8 + payload);
	for (size_t i = 0; i < payload; i++)
		b[28 + i] = (uint8_t)(i * 7 + src);
	return len;
}

/* An IPv6 UDP packet from fd00::src to fd00::dst. */
static size_t ipv6_packet(uint8_t *b, uint8_t src, uint8_t dst, size_t payload)
{
	memset(b, 0, 48);
	b[0] = 0x60;
	b[4] = (uint8_t)((8 + payload) >> 8);
	b[5] = (uint8_t)(8 + payload);
	b[6] = 17;
	b[7] = 64;
	b[8] = 0xfd, b[23] = src;
	b[24] = 0xfd, b[39] = dst;
	b[44] = (uint8_t)((8 + payload) >> 8);
	b[45] = (uint8_t)(8 + payload);
	for (size_t i = 0; i < payload; i++)
		b[48 + i] = (uint8_t)(i * 3 + dst);
	return 48 + payload;
}

/* A data frame sealed by the member: inner type, then body. Its length. */
static size_t seal(struct rig *r, uint8_t *buf, size_t cap, uint8_t inner, const uint8_t *body,
		   size_t len)
{
	buf[NT_DATA_HEADER_LEN] = inner;
	memcpy(buf + NT_DATA_HEADER_LEN + 1, body, len);
	assert_int_equal(nt_session_keypair_encrypt(r->theirs, buf, cap, 1 + len, NOW), 0);
	return 1 + len + NT_DATA_OVERHEAD;
}

/* ---- outbound ---- */

static void test_fast_path(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], frame[512];
	struct nt_engine_counters c;
	struct nt_data_rx rx;
	size_t len = ipv4_packet(pkt, 1, 2, 100);
	const struct nt_udp_run *run;
	struct virtio_net_hdr vh = { 0 };

	r->f.verdict = NT_ENGINE_FAST;
	nt_engine_tun_packet(&r->e, &vh, pkt, len, NOW);
	assert_string_equal(r->f.calls, "rs");
	assert_int_equal(r->f.route_family, AF_INET);
	assert_memory_equal(r->f.route_dst, pkt + 16, 4);
	assert_int_equal(r->f.n_packet, 0);
	assert_int_equal(r->f.sent_bytes, len);
	assert_int_equal(r->f.sent_packets, 1);
	assert_ptr_equal(r->f.sent_member, &member_tag);
	/* One frame in the send queue, to the member's endpoint: the member can open it. */
	assert_int_equal(r->e.txq.count - r->e.txq.head, 1);
	run = &r->e.txq.run[r->e.txq.head];
	assert_int_equal(run->len, 1 + len + NT_DATA_OVERHEAD);
	assert_int_equal(run->nseg, 1);
	assert_true(nt_sockaddr_equal(&run->to, &r->f.endpoint));
	memcpy(frame, r->e.txq.buf + run->off, run->len);
	assert_int_equal(frame[0], NT_MSG_DATA);
	assert_int_equal(nt_session_keypair_decrypt(r->theirs, frame, run->len, NOW, &rx), NT_PKT_OK);
	assert_int_equal(rx.inner_type, NT_DATA_INNER_IP);
	assert_int_equal(rx.payload_len, len);
	assert_memory_equal(rx.payload, pkt, len);
	nt_engine_counters_read(&r->e, &c);
	assert_int_equal(c.tx_packets, 1);
	assert_int_equal(c.tx_bytes, len);
	assert_int_equal(total_drops(&r->e), 0);
	/* The socket is descriptor -1: the flush fails, the frame is counted as lost. */
	nt_engine_flush(&r->e);
	assert_true(nt_udp_txq_empty(&r->e.txq));
	assert_int_equal(drops(&r->e, NT_DROP_UDP_SEND), 1);
	assert_int_equal(total_drops(&r->e), 1);
}

static void test_slow_and_no_member(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256];
	size_t len4 = ipv4_packet(pkt, 1, 3, 60), len6;
	struct virtio_net_hdr vh = { 0 };

	r->f.verdict = NT_ENGINE_SLOW;
	nt_engine_tun_packet(&r->e, &vh, pkt, len4, NOW);
	assert_string_equal(r->f.calls, "rp");
	assert_int_equal(r->f.packet_r[0], NT_ENGINE_SLOW);
	assert_int_equal(r->f.packet_len[0], len4);
	assert_memory_equal(r->f.packet_first, pkt, len4);
	assert_true(nt_udp_txq_empty(&r->e.txq));

	fake_reset(&r->f);
	r->f.verdict = NT_ENGINE_NO_MEMBER;
	len6 = ipv6_packet(pkt, 1, 9, 40);
	nt_engine_tun_packet(&r->e, &vh, pkt, len6, NOW);
	assert_string_equal(r->f.calls, "rp");
	assert_int_equal(r->f.route_family, AF_INET6);
	assert_memory_equal(r->f.route_dst, pkt + 24, 16);
	assert_int_equal(r->f.packet_r[0], NT_ENGINE_NO_MEMBER);
	assert_int_equal(r->f.packet_len[0], len6);
	assert_memory_equal(r->f.packet_first, pkt, len6);
	assert_true(nt_udp_txq_empty(&r->e.txq));
	assert_int_equal(total_drops(&r->e), 0);

	/* Not IP at all: counted, and no op hears of it. */
	fake_reset(&r->f);
	memset(pkt, 0, 40);
	pkt[0] = 0x20;
	nt_engine_tun_packet(&r->e, &vh, pkt, 40, NOW);
	assert_int_equal(r->f.n_calls, 0);
	assert_int_equal(drops(&r->e, NT_DROP_NOT_IP), 1);
	assert_int_equal(total_drops(&r->e), 1);
}

/* A keypair that ran out between the route and the encryption: the packet goes slow. */
static void test_fast_keypair_spent(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], k[NT_DATA_KEY_LEN] = { 1 };
	struct nt_keypair *old;
	size_t len = ipv4_packet(pkt, 1, 2, 10);
	struct virtio_net_hdr vh = { 0 };

	/* Created more than REJECT_AFTER_TIME before now: it encrypts nothing. */
	assert_int_equal(nt_session_keypair_new(&old, k, k, 7, 8, true, NOW - NT_REJECT_AFTER_TIME_MS), 0);
	r->f.verdict = NT_ENGINE_FAST;
	r->f.route_kp = old;
	nt_engine_tun_packet(&r->e, &vh, pkt, len, NOW);
	assert_string_equal(r->f.calls, "rp");
	assert_int_equal(r->f.packet_r[0], NT_ENGINE_SLOW);
	assert_int_equal(r->f.packet_len[0], len);
	assert_memory_equal(r->f.packet_first, pkt, len);
	assert_true(nt_udp_txq_empty(&r->e.txq));
	assert_int_equal(total_drops(&r->e), 0);
	nt_session_keypair_free(old);
}

/* A UDP superpacket (USO) of three segments: three frames, or three slow packets. */
static size_t udp_superpacket(uint8_t *b, struct virtio_net_hdr *vh, unsigned int mss, unsigned int n)
{
	size_t len = ipv4_packet(b, 1, 2, (size_t)mss * n);

	b[26] = b[27] = 0; /* the checksum is the kernel's to fill (NEEDS_CSUM) */
	*vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_UDP_L4,
				       .hdr_len = nt_to_vnet16(28),
				       .gso_size = nt_to_vnet16((uint16_t)mss),
				       .csum_start = nt_to_vnet16(20),
				       .csum_offset = nt_to_vnet16(6) };
	return len;
}

static void test_superpacket(void **state)
{
	struct rig *r = *state;
	uint8_t sp[2048], frame[512];
	struct nt_engine_counters c;
	struct virtio_net_hdr vh;
	struct nt_data_rx rx;
	size_t len = udp_superpacket(sp, &vh, 300, 3);

	r->f.verdict = NT_ENGINE_FAST;
	nt_engine_tun_packet(&r->e, &vh, sp, len, NOW);
	assert_string_equal(r->f.calls, "rs");
	assert_int_equal(r->f.n_sent, 1);
	assert_int_equal(r->f.sent_packets, 3);
	assert_int_equal(r->f.sent_bytes, 3 * (28 + 300));
	/* No GSO on this socket: three runs of one frame, each a whole IP packet. */
	assert_int_equal(r->e.txq.count - r->e.txq.head, 3);
	for (unsigned int i = 0; i < 3; i++) {
		const struct nt_udp_run *run = &r->e.txq.run[r->e.txq.head + i];

		assert_int_equal(run->len, 1 + 28 + 300 + NT_DATA_OVERHEAD);
		memcpy(frame, r->e.txq.buf + run->off, run->len);
		assert_int_equal(nt_session_keypair_decrypt(r->theirs, frame, run->len, NOW, &rx),
				 NT_PKT_OK);
		assert_int_equal(rx.payload_len, 28 + 300);
		assert_memory_equal(rx.payload + 28, sp + 28 + 300 * i, 300);
	}
	nt_engine_counters_read(&r->e, &c);
	assert_int_equal(c.superpackets, 1);
	assert_int_equal(c.segments, 3);
	assert_int_equal(c.tx_packets, 3);
	nt_engine_flush(&r->e);
	assert_int_equal(drops(&r->e, NT_DROP_UDP_SEND), 3);

	/* The slow path takes it packet by packet. */
	fake_reset(&r->f);
	r->f.verdict = NT_ENGINE_SLOW;
	nt_engine_tun_packet(&r->e, &vh, sp, len, NOW);
	assert_string_equal(r->f.calls, "rppp");
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(r->f.packet_r[i], NT_ENGINE_SLOW);
		assert_int_equal(r->f.packet_len[i], 28 + 300);
	}
	assert_memory_equal(r->f.packet_first + 28, sp + 28, 300);
	assert_true(nt_udp_txq_empty(&r->e.txq));

	/* A header that does not fit the packet: counted, nobody is asked. */
	fake_reset(&r->f);
	vh.hdr_len = nt_to_vnet16(200);
	vh.csum_start = nt_to_vnet16(180);
	nt_engine_tun_packet(&r->e, &vh, sp, len, NOW);
	assert_int_equal(r->f.n_calls, 0);
	assert_int_equal(drops(&r->e, NT_DROP_TUN_OFFLOAD), 1);
}

/* ---- inbound ---- */

static void test_rx_delivered(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], frame[512], got[512];
	struct nt_engine_counters c;
	size_t len = ipv4_packet(pkt, 2, 1, 120), flen;
	ssize_t n;

	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	/* Key, authentic, the source check, then the delivery. */
	assert_string_equal(r->f.calls, "kahd");
	assert_false(r->f.authentic_malformed);
	assert_int_equal(r->f.authentic_inner, NT_DATA_INNER_IP);
	assert_null(r->f.authentic_via);
	assert_ptr_equal(r->f.authentic_member, &member_tag);
	assert_int_equal(r->f.holds_family, AF_INET);
	assert_memory_equal(r->f.holds_addr, pkt + 12, 4);
	assert_int_equal(r->f.delivered_bytes, len);
	n = recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, pkt, len);
	nt_engine_counters_read(&r->e, &c);
	assert_int_equal(c.rx_packets, 1);
	assert_int_equal(c.rx_bytes, len);
	assert_int_equal(total_drops(&r->e), 0);

	/* IPv6 likewise; the source asked about is the inner packet's. */
	fake_reset(&r->f);
	len = ipv6_packet(pkt, 2, 1, 30);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "kahd");
	assert_int_equal(r->f.holds_family, AF_INET6);
	assert_memory_equal(r->f.holds_addr, pkt + 8, 16);
	n = recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, pkt, len);
}

static void test_rx_spoofed_source(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], frame[512], got[512];
	size_t len = ipv4_packet(pkt, 66, 1, 50), flen;

	r->f.holds = false;
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	/* Authentic (the session learns of it), but not delivered. */
	assert_string_equal(r->f.calls, "kah");
	assert_int_equal(r->f.n_delivered, 0);
	assert_memory_equal(r->f.holds_addr, pkt + 12, 4);
	assert_int_equal(drops(&r->e, NT_DROP_SPOOFED_SOURCE), 1);
	assert_int_equal(total_drops(&r->e), 1);
	assert_int_equal(recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_rx_forged_and_replayed(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], frame[512], copy[512], got[512];
	size_t len = ipv4_packet(pkt, 2, 1, 64), flen;

	/* One bit of the ciphertext flipped: the tag fails. */
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	frame[NT_DATA_HEADER_LEN + 5] ^= 0x01;
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "k");
	assert_int_equal(drops(&r->e, NT_DROP_DATA_AUTH), 1);

	/* A good frame, then the same bytes again: the second is a replay. */
	fake_reset(&r->f);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	memcpy(copy, frame, flen);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "kahd");
	assert_int_equal(recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT), (ssize_t)len);
	fake_reset(&r->f);
	nt_engine_rx_frame(&r->e, copy, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "k");
	assert_int_equal(drops(&r->e, NT_DROP_DATA_REPLAY), 1);
	assert_int_equal(total_drops(&r->e), 2);
	assert_int_equal(recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT), -1);
	/* The replay window was not disturbed: the next fresh frame still passes. */
	fake_reset(&r->f);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "kahd");
	assert_int_equal(recv(r->tun_peer, got, sizeof(got), MSG_DONTWAIT), (ssize_t)len);
}

/* Keepalives, control messages and malformed plaintexts: authentic, never delivered. */
static void test_rx_not_ip(void **state)
{
	struct rig *r = *state;
	uint8_t body[64] = { 1, 2, 3 }, frame[512];
	size_t flen;

	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_KEEPALIVE, body, 0);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "ka");
	assert_false(r->f.authentic_malformed);
	assert_int_equal(r->f.authentic_inner, NT_DATA_INNER_KEEPALIVE);

	fake_reset(&r->f);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_CONTROL + 3, body, 3);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "ka");
	assert_false(r->f.authentic_malformed);
	assert_int_equal(r->f.authentic_inner, NT_DATA_INNER_CONTROL + 3);

	/* Inner type IP, but no IP packet: authentic and malformed, nothing more. */
	fake_reset(&r->f);
	body[0] = 0x45; /* an IPv4 header cut at 10 bytes */
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, body, 10);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "ka");
	assert_true(r->f.authentic_malformed);
	assert_int_equal(total_drops(&r->e), 0);
	assert_int_equal(r->f.n_delivered, 0);
}

static void test_rx_tun_write_fails(void **state)
{
	struct rig *r = *state;
	uint8_t pkt[256], frame[512];
	size_t len = ipv4_packet(pkt, 2, 1, 20), flen;
	int fd = r->tun.fd;

	r->tun.fd = -1;
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, len);
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, NULL, NOW);
	r->tun.fd = fd;
	assert_string_equal(r->f.calls, "kah");
	assert_int_equal(drops(&r->e, NT_DROP_TUN_WRITE), 1);
	assert_int_equal(total_drops(&r->e), 1);
}

/* Whatever is not a data frame of a keypair ops->key knows goes to ops->frame, via intact. */
static void test_rx_frame_op(void **state)
{
	struct rig *r = *state;
	uint8_t msg[NT_HS_INIT_LEN] = { NT_HS_MSG_INIT }, pkt[128], frame[512];
	static const int relay_tag = 7; /* what a relay's delivery passes as via */
	size_t flen;

	nt_engine_rx_frame(&r->e, msg, sizeof(msg), &r->from, &relay_tag, NOW);
	assert_string_equal(r->f.calls, "f");
	assert_int_equal(r->f.frame_len, sizeof(msg));
	assert_int_equal(r->f.frame_first, NT_HS_MSG_INIT);
	assert_ptr_equal(r->f.frame_via, &relay_tag);
	assert_true(nt_sockaddr_equal(&r->f.frame_from, &r->from));

	/* A data frame for an index nobody holds: asked, then handed over unopened. */
	fake_reset(&r->f);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, ipv4_packet(pkt, 2, 1, 10));
	frame[4] ^= 0xff; /* another receiver index */
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, &relay_tag, NOW);
	assert_string_equal(r->f.calls, "kf");
	assert_int_equal(r->f.frame_len, flen);
	assert_int_equal(r->f.frame_first, NT_MSG_DATA);
	assert_ptr_equal(r->f.frame_via, &relay_tag);

	/* A data frame too short for its header: not parsed, not looked up. */
	fake_reset(&r->f);
	nt_engine_rx_frame(&r->e, frame, 10, &r->from, NULL, NOW);
	assert_string_equal(r->f.calls, "f");
	assert_int_equal(r->f.frame_len, 10);
	assert_null(r->f.frame_via);
	assert_int_equal(total_drops(&r->e), 0);

	/* A relayed data frame on a known keypair: authentic hears the same via. */
	fake_reset(&r->f);
	flen = seal(r, frame, sizeof(frame), NT_DATA_INNER_IP, pkt, ipv4_packet(pkt, 2, 1, 10));
	nt_engine_rx_frame(&r->e, frame, flen, &r->from, &relay_tag, NOW);
	assert_string_equal(r->f.calls, "kahd");
	assert_ptr_equal(r->f.authentic_via, &relay_tag);
}

/*
 * Two engines on two threads, as the loop and a worker run them, with packet debugging on:
 * each counts its own drops, and they share nothing else (run under ThreadSanitizer, the
 * way scripts/test runs every unit test, a shared rate limit of their drop log would show).
 */
struct drop_thread {
	struct rig *r;
	uint8_t frame[512];
	size_t flen;
};

enum { THREAD_DROPS = 3000 };

static void *drop_forged(void *arg)
{
	struct drop_thread *t = arg;
	uint8_t buf[512];

	for (unsigned int i = 0; i < THREAD_DROPS; i++) {
		memcpy(buf, t->frame, t->flen);
		nt_engine_rx_frame(&t->r->e, buf, t->flen, &t->r->from, NULL, NOW);
	}
	return NULL;
}

static void log_discard(void *ctx, enum nt_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void test_engines_share_nothing(void **state)
{
	struct drop_thread t[2] = { { .r = *state } };
	void *second = NULL;
	uint8_t pkt[256];
	size_t len = ipv4_packet(pkt, 2, 1, 64);
	pthread_t th[2];

	assert_int_equal(rig_setup(&second), 0);
	t[1].r = second;
	nt_log_set_callback(log_discard, NULL);
	nt_log_set_level(NT_LOG_DEBUG, NT_DBG_PACKET);
	for (unsigned int i = 0; i < 2; i++) {
		t[i].flen = seal(t[i].r, t[i].frame, sizeof(t[i].frame), NT_DATA_INNER_IP, pkt, len);
		t[i].frame[NT_DATA_HEADER_LEN + 5] ^= 0x01;
	}
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, drop_forged, &t[i]), 0);
	for (unsigned int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	nt_log_set_level(NT_LOG_INFO, 0);
	nt_log_set_callback(NULL, NULL);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(drops(&t[i].r->e, NT_DROP_DATA_AUTH), THREAD_DROPS);
		assert_int_equal(total_drops(&t[i].r->e), THREAD_DROPS);
	}
	rig_teardown(&second);
}

#define T(f) cmocka_unit_test_setup_teardown(f, rig_setup, rig_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fast_path),	    T(test_slow_and_no_member), T(test_fast_keypair_spent),
		T(test_superpacket),	    T(test_rx_delivered),	T(test_rx_spoofed_source),
		T(test_rx_forged_and_replayed), T(test_rx_not_ip),	T(test_rx_tun_write_fails),
		T(test_rx_frame_op),	    T(test_engines_share_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
