// SPDX-License-Identifier: MIT
/*
 * The two packet pipelines (STYLE §2.1), batched on both sides:
 *   outbound  tun (up to NT_UDP_BATCH reads) -> route -> session encrypt in place -> sendmmsg
 *   inbound   recvmmsg -> first-byte demux -> index -> decrypt in place (replay window after
 *             the tag) -> source check -> tun
 * Packets live in the daemon's preallocated buffers: nothing here allocates.
 */
#include "daemon.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "control.h"
#include "icmp.h"
#include "log.h"

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
	int sent;

	if (!d->tx.count)
		return;
	sent = nt_udp_send_batch(&d->udp, &d->tx);
	if (sent < (int)d->tx.count)
		d->drops[NT_DROP_UDP_SEND] += d->tx.count - (unsigned int)(sent < 0 ? 0 : sent);
	d->tx.count = 0;
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

/* Encrypts tx slot i (plaintext already at PLAIN_OFF) for p and queues it. */
static bool queue_frame(struct nt_daemon *d, struct nt_peer *p, unsigned int i, size_t plain_len,
			uint64_t now)
{
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);

	if (!kp || (!p->has_endpoint && !p->via))
		return false;
	if (nt_session_keypair_encrypt(kp, d->tx.buf[i], d->tx.cap, plain_len, now) < 0)
		return false;
	nt_session_sent(&p->session, now);
	if (p->via) {
		/* The relayed path is the slow path: wrapped and sent one by one. */
		nt_datapath_emit(d, p, d->tx.buf[i], plain_len + NT_DATA_OVERHEAD);
		return true;
	}
	d->tx.len[i] = plain_len + NT_DATA_OVERHEAD;
	d->tx.addr[i] = p->endpoint;
	d->tx.count = i + 1;
	if (nt_session_needs_rekey(&p->session, now))
		nt_tunnel_want_handshake(d, p, now);
	return true;
}

int nt_datapath_send_plain(struct nt_daemon *d, struct nt_peer *p, uint8_t *buf, size_t plain_len)
{
	uint64_t now = nt_now_ms();
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	int ret;

	if (!kp || (!p->has_endpoint && !p->via))
		return -ENOTCONN;
	ret = nt_session_keypair_encrypt(kp, buf, d->buf_size, plain_len, now);
	if (ret < 0)
		return ret;
	ret = nt_datapath_emit(d, p, buf, plain_len + NT_DATA_OVERHEAD);
	if (ret < 0)
		return ret;
	nt_session_sent(&p->session, now);
	return 0;
}

void nt_datapath_flush_staged(struct nt_daemon *d, struct nt_peer *p)
{
	uint64_t now = nt_now_ms();

	while (p->staged_count) {
		unsigned int slot = p->staged_head, i = d->tx.count;
		size_t len = p->staged_len[slot];

		d->tx.buf[i][PLAIN_OFF] = NT_DATA_INNER_IP;
		memcpy(d->tx.buf[i] + PKT_OFF, p->staged + (size_t)slot * p->staged_cap, len);
		if (!queue_frame(d, p, i, len + 1, now))
			break;
		p->tx_bytes += len;
		p->tx_packets++;
		d->tx_bytes += len;
		p->staged_head = (p->staged_head + 1) % NT_STAGED_MAX;
		p->staged_count--;
		if (d->tx.count == NT_UDP_BATCH)
			flush_tx(d);
	}
	flush_tx(d);
}

void nt_datapath_on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;
	uint64_t now = nt_now_ms();

	(void)fd;
	(void)what;
	/* Drain up to a batch per wake-up so the UDP side gets its turn under load. */
	for (unsigned int n = 0; n < NT_UDP_BATCH; n++) {
		unsigned int i = d->tx.count;
		uint8_t *pkt = d->tx.buf[i] + PKT_OFF;
		const uint8_t *src, *dst;
		struct nt_peer *p;
		ssize_t len;
		int family;

		len = nt_tun_read(&d->tun, pkt, d->tx.cap - PKT_OFF - NT_DATA_TAG_LEN);
		if (len < 0) {
			if (len != -EAGAIN && len != -EINTR)
				log_warnx("read %s: %s", d->tun.name, strerror((int)-len));
			break;
		}
		if (!nt_ip_addrs(pkt, (size_t)len, &family, &src, &dst)) {
			count_drop(d, NT_DROP_NOT_IP, NULL);
			continue;
		}
		p = nt_route_lookup(&d->route, family, dst);
		if (!p) {
			count_drop(d, NT_DROP_NO_ROUTE, NULL);
			reply_unreachable(d, pkt, (size_t)len);
			continue;
		}
		d->tx.buf[i][PLAIN_OFF] = NT_DATA_INNER_IP;
		if (!queue_frame(d, p, i, (size_t)len + 1, now)) {
			nt_peer_stage(p, pkt, (size_t)len);
			nt_tunnel_want_handshake(d, p, now);
			continue;
		}
		p->tx_bytes += (uint64_t)len;
		p->tx_packets++;
		d->tx_bytes += (uint64_t)len;
		if (d->tx.count == NT_UDP_BATCH)
			flush_tx(d);
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
	/* Authentic and fresh: the endpoint follows it (roaming), the session learns of it. */
	nt_tunnel_peer_seen_at(d, p, from);
	if (nt_session_received_with(&p->session, kp, v == NT_PKT_OK && rx.inner_type == NT_DATA_INNER_KEEPALIVE, now))
		nt_datapath_flush_staged(d, p);
	if (nt_session_needs_rekey_after_receive(&p->session, now))
		nt_tunnel_want_handshake(d, p, now);
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
		if (nt_tun_write(&d->tun, rx.payload, rx.payload_len) < 0) {
			count_drop(d, NT_DROP_TUN_WRITE, from);
			return;
		}
		p->rx_bytes += rx.payload_len;
		p->rx_packets++;
		d->rx_bytes += rx.payload_len;
		return;
	default:
		nt_tunnel_on_control(d, p, rx.inner_type, rx.payload, rx.payload_len, now);
		return;
	}
}

void nt_datapath_on_frame(struct nt_daemon *d, uint8_t *buf, size_t len,
			  const union nt_sockaddr *from, uint64_t now)
{
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
		for (int i = 0; i < n; i++) {
			if (d->rx.len[i] == 0) {
				count_drop(d, NT_DROP_TRUNCATED, &d->rx.addr[i]);
				continue;
			}
			nt_datapath_on_frame(d, d->rx.buf[i], d->rx.len[i], &d->rx.addr[i], now);
		}
		/* Replies queued while receiving (flushed staged packets) go out now. */
		flush_tx(d);
		if (n < NT_UDP_BATCH)
			return;
	}
}
