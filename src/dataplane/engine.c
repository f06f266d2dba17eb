// SPDX-License-Identifier: MIT
/*
 * The packet engine (engine.h): the TUN and socket pipelines of one thread, with the
 * decisions that are not the fast path's left to the ops. Batched on both sides; packets
 * live in the engine's buffers, and nothing here allocates after nt_engine_init.
 */
#include "dataplane/engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/event.h>

#include "core/log.h"
#include "dataplane/route.h"

/* Counters: one writer, readers on other threads; exactness across threads is not needed. */

enum { PLAIN_OFF = NT_ENGINE_PLAIN_OFF, PKT_OFF = NT_ENGINE_PKT_OFF };

/*
 * Receive bundles of this many GRO buffers per system call (each holds up to 64 KB): 2 is
 * about 90 frames a call, and 136 KiB of buffers a node touches under load (4 took 272, 8
 * 544). A call per 90 frames costs little beside decrypting them: scripts/bench measured the
 * same TCP throughput with 2 as with 4 (docs/bench.md, "Memory").
 */
#ifndef NT_GRO_RX_SLOTS
#define NT_GRO_RX_SLOTS 2
#endif
/* Superpackets the send queue holds before it is flushed (each up to 64 KB of frames). */
#ifndef NT_TXQ_SUPERPACKETS
#define NT_TXQ_SUPERPACKETS 2
#endif

static void count(uint64_t *c, uint64_t n)
{
	NT_RELAXED_STORE(*c, *c + n);
}

void nt_engine_drop(struct nt_engine *e, enum nt_drop_reason r, const union nt_sockaddr *from)
{
	char buf[NT_SOCKADDR_STRLEN];

	count(&e->c.drops[r], 1);
	log_ratelimited(&e->rl_drop, NT_DBG_PACKET, "drop %s from %s", nt_drop_reason_name(r),
			from ? nt_sockaddr_format(from, buf, sizeof(buf)) : "tun");
}

static long gro_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct nt_engine *e = ctx;

	return nt_tun_writev(e->tun, iov, iovcnt);
}

int nt_engine_init(struct nt_engine *e, struct nt_tun *tun, struct nt_udp *udp, size_t max_frame,
		   const struct nt_engine_ops *ops, void *ctx)
{
	/* A GRO bundle holds up to 64 KB of frames; without GRO a buffer holds one frame. */
	size_t rx_cap = udp->gro ? NT_GSO_MAX + 1 + 4096 : max_frame;
	unsigned int rx_slots = udp->gro ? NT_GRO_RX_SLOTS : NT_UDP_BATCH;
	size_t txq_cap = NT_TXQ_SUPERPACKETS * NT_ENGINE_SUPERPACKET_ROOM;
	uint8_t *m;

	memset(e, 0, sizeof(*e));
	e->tun = tun;
	e->udp = udp;
	e->ops = ops;
	e->ctx = ctx;
	e->tun_buf_size = NT_GSO_MAX + 1;
	e->cut_size = max_frame;
	/* Pages never touched (a 9000-byte buffer holding 1400-byte packets) cost no memory. */
	e->mem_size = rx_cap * rx_slots + txq_cap + e->tun_buf_size + e->cut_size;
	e->mem = malloc(e->mem_size);
	if (!e->mem)
		return -ENOMEM;
	m = e->mem;
	e->rx.cap = rx_cap;
	e->rx.slots = rx_slots;
	e->rx.max_frame = max_frame;
	for (unsigned int i = 0; i < rx_slots; i++, m += rx_cap)
		e->rx.buf[i] = m;
	e->txq.buf = m;
	e->txq.cap = txq_cap;
	m += txq_cap;
	e->tun_buf = m;
	m += e->tun_buf_size;
	e->cut = m;
	nt_gro_init(&e->gro, gro_write, e);
	return 0;
}

void nt_engine_uninit(struct nt_engine *e)
{
	nt_engine_stop(e);
	free(e->mem);
	e->mem = NULL;
}

/* The socket's and the coalescer's own counters, mirrored for readers on other threads. */
static void mirror_counters(struct nt_engine *e)
{
	NT_RELAXED_STORE(e->c.gso_sends, e->udp->gso_sends);
	NT_RELAXED_STORE(e->c.gso_fallbacks, e->udp->gso_fallbacks);
	NT_RELAXED_STORE(e->c.gro_receives, e->udp->gro_receives);
	NT_RELAXED_STORE(e->c.gro_frames, e->udp->gro_frames);
	NT_RELAXED_STORE(e->c.gro_writes, e->gro.superpackets);
	NT_RELAXED_STORE(e->c.gro_packets, e->gro.coalesced_pkts);
}

void nt_engine_counters_read(const struct nt_engine *e, struct nt_engine_counters *out)
{
	/* Every counter is a uint64_t with one writer: copied one by one, each atomically. */
	const uint64_t *src = (const uint64_t *)&e->c;
	uint64_t *dst = (uint64_t *)out;

	_Static_assert(sizeof(*out) % sizeof(uint64_t) == 0, "counters are uint64_t only");
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = NT_RELAXED_LOAD(src[i]);
}

/* ---- sending ---- */

static void flush_tx(struct nt_engine *e)
{
	int ret = nt_udp_txq_flush(e->udp, &e->txq);

	if (e->txq.dropped) {
		count(&e->c.drops[NT_DROP_UDP_SEND], e->txq.dropped);
		e->txq.dropped = 0;
	}
	if (ret == -EAGAIN && !e->tx_blocked && e->ev_tun) {
		/* Let the kernel hold the backlog: no TUN reads until the socket drains. */
		e->tx_blocked = true;
		count(&e->c.tx_paused, 1);
		event_del(e->ev_tun);
		event_add(e->ev_udp_out, NULL);
	}
}

/* The send queue's tail with room for need bytes, flushing it first if it is full. */
static uint8_t *tx_tail(struct nt_engine *e, size_t need)
{
	uint8_t *f = nt_udp_txq_tail(&e->txq, need);

	if (!f) {
		flush_tx(e);
		f = nt_udp_txq_tail(&e->txq, need);
	}
	return f;
}

/* The rest of a superpacket, packet by packet, for ops->packet. */
static void slow_rest(struct nt_engine *e, enum nt_engine_route r, struct nt_gso_iter *it,
		      uint64_t now)
{
	for (;;) {
		long n = nt_gso_next(it, e->cut, e->cut_size);

		if (n <= 0) {
			if (n < 0)
				nt_engine_drop(e, NT_DROP_TUN_OFFLOAD, NULL);
			return;
		}
		e->ops->packet(e->ctx, r, e->cut, (size_t)n, now);
	}
}

void nt_engine_tun_packet(struct nt_engine *e, const struct virtio_net_hdr *vh, const uint8_t *pkt,
			  size_t len, uint64_t now)
{
	uint64_t bytes = 0, packets = 0;
	struct nt_engine_dest dest;
	enum nt_engine_route r;
	const uint8_t *src, *dst;
	struct nt_gso_iter it;
	enum nt_gso_error ge;
	size_t need;
	int family;

	if (!nt_ip_addrs(pkt, len, &family, &src, &dst)) {
		nt_engine_drop(e, NT_DROP_NOT_IP, NULL);
		return;
	}
	ge = nt_gso_begin(&it, vh, pkt, len);
	if (ge != NT_GSO_OK) {
		nt_engine_drop(e, NT_DROP_TUN_OFFLOAD, NULL);
		log_ratelimited(&e->rl_gso, NT_DBG_PACKET, "tun packet dropped: %s (gso type %u, size %u)",
				nt_gso_error_name(ge), vh->gso_type, nt_vnet16(vh->gso_size));
		return;
	}
	if (nt_gso_count(&it) > 1) {
		count(&e->c.superpackets, 1);
		count(&e->c.segments, nt_gso_count(&it));
	}
	r = e->ops->route(e->ctx, family, dst, now, &dest);
	if (r != NT_ENGINE_FAST) {
		slow_rest(e, r, &it, now);
		return;
	}
	need = PKT_OFF + (nt_gso_count(&it) > 1 ? it.hdr_len + it.mss : len) + NT_DATA_TAG_LEN;
	for (;;) {
		uint8_t *f = tx_tail(e, need);
		long n;

		if (!f) {
			/* Only when the socket is full and the queue too: the rest is lost. */
			count(&e->c.drops[NT_DROP_UDP_SEND], nt_gso_count(&it) - it.index);
			break;
		}
		n = nt_gso_next(&it, f + PKT_OFF, need - PKT_OFF - NT_DATA_TAG_LEN);
		if (n <= 0) {
			if (n < 0)
				nt_engine_drop(e, NT_DROP_TUN_OFFLOAD, NULL);
			break;
		}
		f[PLAIN_OFF] = NT_DATA_INNER_IP;
		if (nt_session_keypair_encrypt(dest.kp, f, need, (size_t)n + 1, now) < 0) {
			/* The keypair ran out since the route was read: this packet and the rest
			 * take the slow path. */
			memcpy(e->cut, f + PKT_OFF, (size_t)n);
			e->ops->packet(e->ctx, NT_ENGINE_SLOW, e->cut, (size_t)n, now);
			slow_rest(e, NT_ENGINE_SLOW, &it, now);
			break;
		}
		nt_udp_txq_commit(e->udp, &e->txq, (size_t)n + 1 + NT_DATA_OVERHEAD, dest.endpoint);
		bytes += (uint64_t)n;
		packets++;
	}
	if (packets) {
		count(&e->c.tx_bytes, bytes);
		count(&e->c.tx_packets, packets);
		e->ops->sent(e->ctx, &dest, bytes, packets, now);
	}
}

static void on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct nt_engine *e = arg;
	uint64_t now = nt_now_ms();

	(void)fd;
	(void)what;
	if (e->ops->enter)
		e->ops->enter(e->ctx);
	/* Drain up to a batch per wake-up so the UDP side gets its turn under load. */
	for (unsigned int n = 0; n < NT_UDP_BATCH && !e->tx_blocked; n++) {
		struct virtio_net_hdr vh;
		ssize_t len;

		/* A whole superpacket must fit in the queue before it is read. */
		if (!nt_udp_txq_tail(&e->txq, NT_ENGINE_SUPERPACKET_ROOM)) {
			flush_tx(e);
			if (e->tx_blocked)
				break;
		}
		len = nt_tun_read(e->tun, &vh, e->tun_buf, e->tun_buf_size);
		if (len < 0) {
			if (len != -EAGAIN && len != -EINTR)
				log_warnx("read %s: %s", e->tun->name, strerror((int)-len));
			break;
		}
		nt_engine_tun_packet(e, &vh, e->tun_buf, (size_t)len, now);
	}
	flush_tx(e);
	mirror_counters(e);
	if (e->ops->leave)
		e->ops->leave(e->ctx);
}

static void on_udp_writable(evutil_socket_t fd, short what, void *arg)
{
	struct nt_engine *e = arg;

	(void)fd;
	(void)what;
	flush_tx(e);
	if (!nt_udp_txq_empty(&e->txq)) {
		event_add(e->ev_udp_out, NULL);
		return;
	}
	e->tx_blocked = false;
	event_add(e->ev_tun, NULL);
}

/* ---- receiving ---- */

void nt_engine_rx_frame(struct nt_engine *e, uint8_t *frame, size_t len,
			const union nt_sockaddr *from, const void *via, uint64_t now)
{
	const uint8_t *src, *dst;
	struct nt_keypair *kp;
	struct nt_data_rx rx;
	enum nt_pkt_verdict v;
	void *member = NULL;
	uint64_t counter;
	uint32_t index;
	int family;

	if (frame[0] != NT_MSG_DATA ||
	    nt_session_frame_parse_header(frame, len, &index, &counter) != NT_PKT_OK ||
	    !(kp = e->ops->key(e->ctx, index, &member))) {
		e->ops->frame(e->ctx, frame, len, from, via, now);
		return;
	}
	v = nt_session_keypair_decrypt(kp, frame, len, now, &rx);
	if (v != NT_PKT_OK && v != NT_PKT_DROP_INNER) {
		nt_engine_drop(e, v == NT_PKT_DROP_AUTH ? NT_DROP_DATA_AUTH :
				  v == NT_PKT_DROP_REPLAY ? NT_DROP_DATA_REPLAY : NT_DROP_DATA_OTHER, from);
		return;
	}
	e->ops->authentic(e->ctx, member, kp, &rx, v != NT_PKT_OK, from, via, now);
	if (v != NT_PKT_OK || rx.inner_type != NT_DATA_INNER_IP)
		return;
	if (!nt_ip_addrs(rx.payload, rx.payload_len, &family, &src, &dst) ||
	    !e->ops->holds(e->ctx, member, family, src)) {
		nt_engine_drop(e, NT_DROP_SPOOFED_SOURCE, from);
		return;
	}
	if ((e->tun->vnet ? nt_gro_add(&e->gro, rx.payload, rx.payload_len) :
			    nt_tun_write(e->tun, rx.payload, rx.payload_len)) < 0) {
		nt_engine_drop(e, NT_DROP_TUN_WRITE, from);
		return;
	}
	count(&e->c.rx_bytes, rx.payload_len);
	count(&e->c.rx_packets, 1);
	e->ops->delivered(e->ctx, member, rx.payload_len, now);
}

/* Writes the TCP segments held for coalescing: before the receive buffers are reused. */
static void flush_gro(struct nt_engine *e)
{
	uint64_t errors = e->gro.write_errors;

	nt_gro_flush(&e->gro);
	count(&e->c.drops[NT_DROP_TUN_WRITE], e->gro.write_errors - errors);
}

void nt_engine_flush(struct nt_engine *e)
{
	flush_gro(e);
	flush_tx(e);
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct nt_engine *e = arg;

	(void)fd;
	(void)what;
	if (e->ops->enter)
		e->ops->enter(e->ctx);
	/* A few batches per wake-up at most, so the TUN side is never starved. */
	for (int round = 0; round < 4; round++) {
		int n = nt_udp_recv_batch(e->udp, &e->rx);
		uint64_t now = nt_now_ms();

		if (n <= 0) {
			if (n < 0 && n != -EINTR)
				log_warnx("udp receive: %s", strerror(-n));
			break;
		}
		count(&e->c.drops[NT_DROP_OVERSIZED], e->rx.oversized);
		e->rx.oversized = 0;
		for (int i = 0; i < n; i++) {
			size_t len = e->rx.len[i], seg = e->rx.seg[i] ? e->rx.seg[i] : len;

			/* Empty, or dropped by nt_udp_recv_batch as longer than max_frame. */
			if (len == 0)
				continue;
			/* A GRO receive: datagrams of seg bytes end to end, the last maybe shorter. */
			for (size_t off = 0; off < len; off += seg)
				nt_engine_rx_frame(e, e->rx.buf[i] + off, len - off < seg ? len - off : seg,
						   &e->rx.addr[i], NULL, now);
		}
		flush_gro(e);
		/* Replies queued while receiving (flushed staged packets) go out now. */
		flush_tx(e);
		if ((unsigned int)n < e->rx.slots)
			break;
	}
	mirror_counters(e);
	if (e->ops->leave)
		e->ops->leave(e->ctx);
}

int nt_engine_start(struct nt_engine *e, struct event_base *base)
{
	e->ev_tun = event_new(base, e->tun->fd, EV_READ | EV_PERSIST, on_tun, e);
	e->ev_udp = event_new(base, e->udp->fd, EV_READ | EV_PERSIST, on_udp, e);
	e->ev_udp_out = event_new(base, e->udp->fd, EV_WRITE, on_udp_writable, e);
	if (!e->ev_tun || !e->ev_udp || !e->ev_udp_out)
		return -ENOMEM;
	if (event_add(e->ev_tun, NULL) < 0 || event_add(e->ev_udp, NULL) < 0)
		return -EIO;
	return 0;
}

void nt_engine_stop(struct nt_engine *e)
{
	if (e->ev_tun)
		event_free(e->ev_tun);
	if (e->ev_udp)
		event_free(e->ev_udp);
	if (e->ev_udp_out)
		event_free(e->ev_udp_out);
	e->ev_tun = e->ev_udp = e->ev_udp_out = NULL;
}
