// SPDX-License-Identifier: MIT
/*
 * The two packet pipelines (STYLE §2.1), batched on both sides:
 *   outbound  tun read (a packet, or a TSO/USO superpacket of up to 64 KB) -> route -> cut
 *             into MTU-sized packets, each written straight into the send queue -> session
 *             encrypt in place -> frames to one member joined into UDP GSO runs -> sendmmsg
 *   inbound   recvmmsg (a GRO receive holds many frames of one size) -> first-byte demux ->
 *             index -> decrypt in place (replay window after the tag) -> source check ->
 *             TCP segments of one flow coalesced -> one writev per superpacket to the tun
 * When the socket is full the TUN is not read until it drains, so the kernel's queues, not
 * this process, hold the backlog and nothing is dropped here for want of room.
 * Packets live in the daemon's preallocated buffers: nothing here allocates.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "proto/control.h"
#include "dataplane/icmp.h"
#include "core/log.h"
#include "dataplane/workers.h"

/* Plaintext starts after the frame header: one inner type byte, then the packet. */
enum { PLAIN_OFF = NT_DATA_HEADER_LEN, PKT_OFF = NT_DATA_HEADER_LEN + 1 };

static struct nt_ratelimit rl_drop, rl_icmp_log;

static void count_drop(struct nt_daemon *d, enum nt_drop_reason r, const union nt_sockaddr *from)
{
	char buf[NT_SOCKADDR_STRLEN];

	d->drops[r]++;
	log_ratelimited(&rl_drop, NT_DBG_PACKET, "drop %s from %s", nt_drop_reason_name(r),
			from ? nt_sockaddr_format(from, buf, sizeof(buf)) : "tun");
}

static void reply_unreachable(struct nt_daemon *d, const uint8_t *pkt, size_t len)
{
	static uint64_t window_start;
	static unsigned int sent_in_window;
	uint64_t now = nt_now_ms();
	size_t n;
	/* At most 20 replies a second, whatever the TUN hands us. */
	if (now - window_start >= 1000) {
		window_start = now;
		sent_in_window = 0;
	}
	if (sent_in_window >= 20)
		return;
	n = nt_icmp_unreachable(pkt, len, d->scratch, d->buf_size);
	if (n && nt_tun_write(&d->tun, d->scratch, n) > 0) {
		sent_in_window++;
		log_ratelimited(&rl_icmp_log, NT_DBG_PACKET, "no member owns the destination: ICMP unreachable sent");
	}
}

static void flush_tx(struct nt_daemon *d)
{
	int ret = nt_udp_txq_flush(&d->udp, &d->txq);

	if (d->txq.dropped) {
		d->drops[NT_DROP_UDP_SEND] += d->txq.dropped;
		d->txq.dropped = 0;
	}
	if (ret == -EAGAIN && !d->tx_blocked && d->ev_tun) {
		/* Let the kernel hold the backlog: no TUN reads until the socket drains. */
		d->tx_blocked = true;
		d->tx_paused++;
		event_del(d->ev_tun);
		event_add(d->ev_udp_out, NULL);
	}
}

void nt_datapath_on_udp_writable(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	flush_tx(d);
	if (!nt_udp_txq_empty(&d->txq)) {
		event_add(d->ev_udp_out, NULL);
		return;
	}
	d->tx_blocked = false;
	event_add(d->ev_tun, NULL);
}

static long gro_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct nt_daemon *d = ctx;

	return nt_tun_writev(&d->tun, iov, iovcnt);
}

void nt_datapath_init(struct nt_daemon *d)
{
	nt_gro_init(&d->gro, gro_write, d);
}

int nt_datapath_relay_send(struct nt_daemon *d, struct nt_peer *via, const uint8_t target[32],
			   const uint8_t *frame, size_t len)
{
	uint64_t now = nt_now_ms();
	struct nt_keypair *kp = nt_session_keypair_for_send(&via->session, now);
	uint8_t *buf = d->relay_buf;
	size_t plain = 1 + NT_CTRL_RELAY_HDR + len;
	int ret;

	/* A relay must be reached directly: no relays of relays. */
	if (!kp || via->via || !via->has_endpoint)
		return -ENOTCONN;
	if (PLAIN_OFF + plain + NT_DATA_TAG_LEN > d->buf_size)
		return -EMSGSIZE;
	buf[PLAIN_OFF] = NT_CTRL_RELAY;
	nt_control_relay_header(buf + PLAIN_OFF + 1, target);
	memmove(buf + PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR, frame, len);
	ret = nt_session_keypair_encrypt(kp, buf, d->buf_size, plain, now);
	if (ret < 0)
		return ret;
	ret = nt_udp_send(&d->udp, buf, plain + NT_DATA_OVERHEAD, &via->endpoint, 0);
	if (ret < 0) {
		d->drops[NT_DROP_UDP_SEND]++;
		return ret;
	}
	nt_session_sent(&via->session, now);
	return 0;
}

int nt_datapath_emit(struct nt_daemon *d, struct nt_peer *p, const uint8_t *frame, size_t len)
{
	int ret;

	if (p->via)
		return nt_datapath_relay_send(d, p->via, p->id, frame, len);
	if (!p->has_endpoint)
		return -ENOTCONN;
	ret = nt_udp_send(&d->udp, frame, len, &p->endpoint, 0);
	if (ret < 0)
		d->drops[NT_DROP_UDP_SEND]++;
	return ret;
}

/*
 * Encrypts the frame at f (room bytes, plaintext already at PLAIN_OFF), which is the send
 * queue's tail, and queues it for p.
 */
static bool queue_frame(struct nt_daemon *d, struct nt_peer *p, uint8_t *f, size_t room,
			size_t plain_len, uint64_t now)
{
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);

	if (!kp || (!p->has_endpoint && !p->via))
		return false;
	if (nt_session_keypair_encrypt(kp, f, room, plain_len, now) < 0)
		return false;
	nt_session_sent(&p->session, now);
	if (p->via) {
		/* The relayed path is the slow path: wrapped and sent one by one. */
		nt_datapath_emit(d, p, f, plain_len + NT_DATA_OVERHEAD);
		return true;
	}
	nt_udp_txq_commit(&d->udp, &d->txq, plain_len + NT_DATA_OVERHEAD, &p->endpoint);
	if (nt_session_needs_rekey(&p->session, now))
		nt_tunnel_want_handshake(d, p, now);
	return true;
}

/* The send queue's tail with room for need bytes, flushing it first if it is full. */
static uint8_t *tx_tail(struct nt_daemon *d, size_t need)
{
	uint8_t *f = nt_udp_txq_tail(&d->txq, need);

	if (!f) {
		flush_tx(d);
		f = nt_udp_txq_tail(&d->txq, need);
	}
	return f;
}

int nt_datapath_send_plain_to(struct nt_daemon *d, struct nt_peer *p, uint8_t *buf, size_t plain_len,
			      const union nt_sockaddr *to)
{
	uint64_t now = nt_now_ms();
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	int ret;

	if (!kp || (!to && !p->has_endpoint && !p->via))
		return -ENOTCONN;
	ret = nt_session_keypair_encrypt(kp, buf, d->buf_size, plain_len, now);
	if (ret < 0)
		return ret;
	if (to) {
		ret = nt_udp_send(&d->udp, buf, plain_len + NT_DATA_OVERHEAD, to, 0);
		if (ret < 0)
			d->drops[NT_DROP_UDP_SEND]++;
	} else {
		ret = nt_datapath_emit(d, p, buf, plain_len + NT_DATA_OVERHEAD);
	}
	if (ret < 0)
		return ret;
	nt_session_sent(&p->session, now);
	return 0;
}

int nt_datapath_send_plain(struct nt_daemon *d, struct nt_peer *p, uint8_t *buf, size_t plain_len)
{
	return nt_datapath_send_plain_to(d, p, buf, plain_len, NULL);
}

void nt_datapath_flush_staged(struct nt_daemon *d, struct nt_peer *p)
{
	uint64_t now = nt_now_ms();

	while (p->staged_count) {
		unsigned int slot = p->staged_head;
		size_t len = p->staged_len[slot];
		size_t need = PKT_OFF + len + NT_DATA_TAG_LEN;
		uint8_t *f = tx_tail(d, need);

		/* A full socket keeps the rest staged for the next call. */
		if (!f)
			break;
		f[PLAIN_OFF] = NT_DATA_INNER_IP;
		memcpy(f + PKT_OFF, p->staged + (size_t)slot * p->staged_cap, len);
		if (!queue_frame(d, p, f, need, len + 1, now))
			break;
		p->tx_bytes += len;
		p->tx_packets++;
		d->tx_bytes += len;
		p->staged_head = (p->staged_head + 1) % NT_STAGED_MAX;
		p->staged_count--;
	}
	flush_tx(d);
}

static struct nt_ratelimit rl_gso;

void nt_datapath_tun_packet(struct nt_daemon *d, const struct virtio_net_hdr *vh,
			    const uint8_t *pkt, size_t len, uint64_t now)
{
	const uint8_t *src, *dst;
	struct nt_gso_iter it;
	enum nt_gso_error e;
	struct nt_peer *p;
	size_t need;
	int family;

	if (!nt_ip_addrs(pkt, len, &family, &src, &dst)) {
		count_drop(d, NT_DROP_NOT_IP, NULL);
		return;
	}
	e = nt_gso_begin(&it, vh, pkt, len);
	if (e != NT_GSO_OK) {
		count_drop(d, NT_DROP_TUN_OFFLOAD, NULL);
		log_ratelimited(&rl_gso, NT_DBG_PACKET, "tun packet dropped: %s (gso type %u, size %u)",
				nt_gso_error_name(e), vh->gso_type, vh->gso_size);
		return;
	}
	p = nt_route_lookup(&d->route, family, dst);
	if (!p) {
		count_drop(d, NT_DROP_NO_ROUTE, NULL);
		reply_unreachable(d, pkt, len);
		return;
	}
	if (nt_gso_count(&it) > 1) {
		d->tun_superpackets++;
		d->tun_segments += nt_gso_count(&it);
	}
	need = PKT_OFF + (nt_gso_count(&it) > 1 ? it.hdr_len + it.mss : len) + NT_DATA_TAG_LEN;
	for (;;) {
		uint8_t *f = tx_tail(d, need);
		long n;

		if (!f) {
			/* Only when the socket is full and the queue too: the rest is lost. */
			d->drops[NT_DROP_UDP_SEND] += nt_gso_count(&it) - it.index;
			return;
		}
		n = nt_gso_next(&it, f + PKT_OFF, need - PKT_OFF - NT_DATA_TAG_LEN);
		if (n <= 0) {
			if (n < 0)
				count_drop(d, NT_DROP_TUN_OFFLOAD, NULL);
			return;
		}
		f[PLAIN_OFF] = NT_DATA_INNER_IP;
		if (!queue_frame(d, p, f, need, (size_t)n + 1, now)) {
			nt_peer_stage(p, f + PKT_OFF, (size_t)n);
			nt_tunnel_want_handshake(d, p, now);
			continue;
		}
		p->tx_bytes += (uint64_t)n;
		p->tx_packets++;
		d->tx_bytes += (uint64_t)n;
		d->tx_packets++;
	}
}

void nt_datapath_on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;
	uint64_t now = nt_now_ms();

	(void)fd;
	(void)what;
	/* Drain up to a batch per wake-up so the UDP side gets its turn under load. */
	for (unsigned int n = 0; n < NT_UDP_BATCH && !d->tx_blocked; n++) {
		struct virtio_net_hdr vh;
		ssize_t len;

		/* A whole superpacket must fit in the queue before it is read. */
		if (!nt_udp_txq_tail(&d->txq, NT_TX_SUPERPACKET_ROOM)) {
			flush_tx(d);
			if (d->tx_blocked)
				break;
		}
		len = nt_tun_read(&d->tun, &vh, d->tun_buf, d->tun_buf_size);
		if (len < 0) {
			if (len != -EAGAIN && len != -EINTR)
				log_warnx("read %s: %s", d->tun.name, strerror((int)-len));
			break;
		}
		nt_datapath_tun_packet(d, &vh, d->tun_buf, (size_t)len, now);
	}
	flush_tx(d);
}

static bool source_is_owned(const struct nt_daemon *d, const struct nt_peer *p, const uint8_t *pkt,
			    size_t len)
{
	const uint8_t *src, *dst;
	int family;

	if (!nt_ip_addrs(pkt, len, &family, &src, &dst))
		return false;
	return nt_route_lookup(&d->route, family, src) == p;
}

void nt_datapath_authenticated(struct nt_daemon *d, struct nt_keypair *kp,
			       const union nt_sockaddr *from, bool keepalive, uint64_t now)
{
	struct nt_peer *p = kp->owner;

	/* Authentic and fresh: the session learns of it; a new address is asked (roaming). */
	nt_tunnel_peer_seen_at(d, p, from, false);
	if (nt_session_received_with(&p->session, kp, keepalive, now)) {
		nt_workers_changed(d);
		nt_datapath_flush_staged(d, p);
	}
	if (nt_session_needs_rekey_after_receive(&p->session, now))
		nt_tunnel_want_handshake(d, p, now);
}

static void on_data(struct nt_daemon *d, uint8_t *frame, size_t len, const union nt_sockaddr *from,
		    uint64_t now)
{
	struct nt_keypair *kp;
	struct nt_data_rx rx;
	struct nt_peer *p;
	enum nt_pkt_verdict v;
	uint32_t index;
	uint64_t counter;

	if (nt_session_frame_parse_header(frame, len, &index, &counter) != NT_PKT_OK) {
		count_drop(d, NT_DROP_TRUNCATED, from);
		return;
	}
	kp = nt_index_lookup(&d->index, index, NT_INDEX_KEYPAIR);
	if (!kp) {
		count_drop(d, NT_DROP_UNKNOWN_INDEX, from);
		if (!d->rx_via)
			nt_tunnel_on_unknown_index(d, from, now);
		return;
	}
	p = kp->owner;
	v = nt_session_keypair_decrypt(kp, frame, len, now, &rx);
	if (v != NT_PKT_OK && v != NT_PKT_DROP_INNER) {
		count_drop(d, v == NT_PKT_DROP_AUTH ? NT_DROP_DATA_AUTH :
			      v == NT_PKT_DROP_REPLAY ? NT_DROP_DATA_REPLAY : NT_DROP_DATA_OTHER, from);
		return;
	}
	nt_datapath_authenticated(d, kp, from, v == NT_PKT_OK && rx.inner_type == NT_DATA_INNER_KEEPALIVE, now);
	if (v != NT_PKT_OK) {
		count_drop(d, NT_DROP_DATA_OTHER, from);
		return;
	}
	switch (rx.inner_type) {
	case NT_DATA_INNER_KEEPALIVE:
		return;
	case NT_DATA_INNER_IP:
		if (!source_is_owned(d, p, rx.payload, rx.payload_len)) {
			count_drop(d, NT_DROP_SPOOFED_SOURCE, from);
			return;
		}
		if ((d->tun.vnet ? nt_gro_add(&d->gro, rx.payload, rx.payload_len) :
				   nt_tun_write(&d->tun, rx.payload, rx.payload_len)) < 0) {
			count_drop(d, NT_DROP_TUN_WRITE, from);
			return;
		}
		p->rx_bytes += rx.payload_len;
		p->rx_packets++;
		d->rx_bytes += rx.payload_len;
		d->rx_packets++;
		return;
	default:
		nt_tunnel_on_control(d, p, rx.inner_type, rx.payload, rx.payload_len, from, now);
		return;
	}
}

void nt_datapath_on_frame(struct nt_daemon *d, uint8_t *buf, size_t len,
			  const union nt_sockaddr *from, uint64_t now)
{
	/*
	 * Every frame enters here (from the socket, a worker, or a relay), and nothing past
	 * this point copies more than d->buf_size: the socket drops longer ones already, this
	 * holds for the other ways in.
	 */
	if (len == 0 || len > d->buf_size) {
		count_drop(d, len ? NT_DROP_OVERSIZED : NT_DROP_TRUNCATED, from);
		return;
	}
	switch (buf[0]) {
	case NT_MSG_DATA:
		on_data(d, buf, len, from, now);
		break;
	case 'd':
		if (!d->rx_via)
			nt_discovery_on_dht(d, buf, len, from, now);
		break;
	case 0x00: case 0x01:
		if (!d->rx_via && nt_stun_is_stun(buf, len))
			nt_discovery_on_stun(d, buf, len, from, now);
		else
			count_drop(d, NT_DROP_UNKNOWN_TYPE, from);
		break;
	case 0xE1: case 0xE2: case 0xE3: case 0xE4:
		nt_tunnel_on_handshake(d, buf, len, from, now);
		break;
	default:
		count_drop(d, NT_DROP_UNKNOWN_TYPE, from);
		break;
	}
}

/* Writes the TCP segments held for coalescing: before the receive buffers are reused. */
static void flush_gro(struct nt_daemon *d)
{
	uint64_t errors = d->gro.write_errors;

	nt_gro_flush(&d->gro);
	d->drops[NT_DROP_TUN_WRITE] += d->gro.write_errors - errors;
}

void nt_datapath_flush(struct nt_daemon *d)
{
	flush_gro(d);
	flush_tx(d);
}

void nt_datapath_on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	/* A few batches per wake-up at most, so the TUN side is never starved. */
	for (int round = 0; round < 4; round++) {
		int n = nt_udp_recv_batch(&d->udp, &d->rx);
		uint64_t now = nt_now_ms();

		if (n <= 0) {
			if (n < 0 && n != -EINTR)
				log_warnx("udp receive: %s", strerror(-n));
			return;
		}
		d->drops[NT_DROP_OVERSIZED] += d->rx.oversized;
		d->rx.oversized = 0;
		for (int i = 0; i < n; i++) {
			size_t len = d->rx.len[i], seg = d->rx.seg[i] ? d->rx.seg[i] : len;

			/* Empty, or dropped by nt_udp_recv_batch as longer than d->buf_size. */
			if (len == 0)
				continue;
			/* A GRO receive: datagrams of seg bytes end to end, the last maybe shorter. */
			for (size_t off = 0; off < len; off += seg) {
				size_t flen = len - off < seg ? len - off : seg;

				nt_datapath_on_frame(d, d->rx.buf[i] + off, flen, &d->rx.addr[i], now);
			}
		}
		flush_gro(d);
		/* Replies queued while receiving (flushed staged packets) go out now. */
		flush_tx(d);
		if ((unsigned int)n < d->rx.slots)
			return;
	}
}
