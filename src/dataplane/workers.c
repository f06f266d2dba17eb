// SPDX-License-Identifier: MIT
/*
 * Data-plane workers: see workers.h for the model. The loop thread's side (snapshots, grace
 * periods, the rings it drains, counters it folds) is at the top, a worker's side below.
 */
#include "dataplane/workers.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "core/log.h"
#include "netron/status.h"

/* Relaxed atomics for counters and times: exactness across threads is not needed, tearing is. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)
#define TAKE(x) __atomic_exchange_n(&(x), 0, __ATOMIC_RELAXED)

enum { PLAIN_OFF = NT_DATA_HEADER_LEN, PKT_OFF = NT_DATA_HEADER_LEN + 1 };

/* ---- the snapshot ---- */

enum { ROLE_PREVIOUS, ROLE_CURRENT, ROLE_NEXT };

struct snap_peer {
	struct nt_peer *peer; /* the loop's, for folding; NULL once forgotten; workers never read it */
	uint8_t id[32];
	union nt_sockaddr endpoint;
	bool direct; /* an endpoint and no relay: workers may send */
	struct nt_keypair *send_kp; /* the session's current keypair, NULL: hand packets over */
	/* Written by workers, taken by the loop. */
	uint64_t tx_bytes, tx_packets, rx_bytes, rx_packets;
	uint64_t last_tx_ms, last_rx_ms;
	uint8_t handshake_asked; /* one request per snapshot is enough */
};

struct snap_key {
	uint32_t index;
	uint16_t peer;
	uint8_t role;
	struct nt_keypair *kp;
};

struct snap_route {
	uint8_t family;
	uint8_t addr[16];
	uint16_t peer;
};

struct nt_snapshot {
	uint64_t gen;
	unsigned int npeers, nkeys, nroutes;
	struct snap_peer *peers;
	struct snap_key *keys; /* by index */
	struct snap_route *routes; /* by family, then address */
};

/* ---- what workers hand to the loop ---- */

enum msg_kind {
	MSG_FRAME, /* a datagram as received: the loop handles it as its own */
	MSG_EXPECTED_FIN, /* the same, a FIN the loop waits for: the worker waits until it is handled */
	MSG_AUTH, /* an authenticated frame on index, from `from`; inner type and control body */
	MSG_TUN, /* a packet from the TUN the worker could not send */
	MSG_HANDSHAKE, /* the member whose id is the data wants a handshake (rekey due) */
	MSG_SKIP, /* nothing up to the end of the ring */
};

struct msg {
	uint8_t kind;
	uint8_t inner; /* MSG_AUTH: the inner type */
	bool malformed; /* MSG_AUTH: authentic, but the plaintext was not well formed */
	uint16_t len;
	uint32_t index;
	union nt_sockaddr from;
	uint8_t data[]; /* len bytes */
};
_Static_assert(sizeof(struct msg) <= 64, "a skip marker must fit in the smallest gap");

/*
 * A worker's ring: messages of any length laid end to end (each rounded up to RING_ALIGN),
 * one writer (the worker) and one reader (the loop). Large enough for the frames that
 * arrive on a new session in the moment before the loop publishes it (at 5 Gbit/s about
 * 450 a millisecond); untouched pages cost no memory.
 */
#define RING_SIZE (1u << 20) /* a power of two */
#define RING_ALIGN 64

struct ring {
	uint8_t *mem;
	size_t head; /* the loop's: bytes read (and released), ever */
	size_t tail; /* the worker's: bytes written, ever */
	size_t max_len; /* the longest message body */
};

static inline size_t ring_need(size_t len)
{
	return (sizeof(struct msg) + len + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1);
}

struct worker {
	struct nt_daemon *d;
	unsigned int id;
	pthread_t thread;
	bool running;
	struct event_base *base;
	struct event *ev_tun, *ev_udp, *ev_udp_out, *ev_stop;
	int stop_fd;
	struct nt_tun tun; /* our queue of the daemon's interface */
	bool tun_open;
	struct nt_udp udp;
	bool udp_open;
	uint8_t *mem;
	struct nt_udp_batch rx;
	struct nt_udp_txq txq;
	bool tx_blocked;
	uint8_t *tun_buf;
	size_t tun_buf_size;
	struct nt_gro gro;
	struct ring ring;
	bool pushed; /* something went into the ring during this wake-up */

	/* The snapshot in use during a wake-up, and its generation for the loop (0 = none). */
	const struct nt_snapshot *snap;
	uint64_t busy_gen;
	/*
	 * A new session's last handshake message (a FIN whose mac1 we checked) went to the loop:
	 * its index, and how many FINs we handed over and the loop has handled (atomic).
	 */
	uint32_t fin_index;
	uint64_t fins_handed, fins_done;
	/* The last note about a frame sent to the loop, so a burst sends one. */
	uint64_t noted_gen;
	uint32_t noted_index;
	union nt_sockaddr noted_from;

	/* Counters: the worker writes (atomically), the loop reads; folded_* are the loop's. */
	uint64_t drops[NT_DROP_COUNT], folded_drops[NT_DROP_COUNT];
	uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;
	uint64_t tx_paused, superpackets, segments, ring_full, waits;
	uint64_t gso_sends, gso_fallbacks, gro_receives, gro_frames, gro_writes, gro_packets;
	uint64_t folded[5]; /* of the five totals fold_workers adds up */
};

struct nt_workers {
	struct worker *w[NT_MAX_WORKERS]; /* [1, n_workers) */
	struct nt_snapshot *snap; /* published: workers load it atomically */
	uint64_t gen; /* of the snapshot published last (atomic: workers read it holding none) */
	bool dirty;
	uint64_t published_ms;
	struct event *ev_publish, *ev_wake;
	int wake_fd;
	struct nt_keypair **retired;
	unsigned int n_retired, cap_retired;
	/*
	 * The session indices of the loop's responder handshakes waiting for their FIN (atomic;
	 * 0 = none): only such a FIN may make a worker wait, never a replayed one.
	 */
	uint32_t expect_fin[NT_MAX_ATTEMPTS];
};

static int snap_key_cmp(const void *a, const void *b)
{
	const struct snap_key *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int snap_route_cmp(const void *a, const void *b)
{
	const struct snap_route *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

static struct nt_snapshot *snapshot_build(struct nt_daemon *d, uint64_t gen, uint64_t now)
{
	unsigned int npeers = d->peers.count, nkeys = 0, nroutes = 0;
	struct nt_snapshot *s;
	size_t size;

	for (unsigned int i = 0; i < NT_ROUTE_SLOTS; i++)
		nroutes += d->route.slots[i].family != 0;
	size = sizeof(*s) + npeers * sizeof(struct snap_peer) + 3 * npeers * sizeof(struct snap_key) +
	       nroutes * sizeof(struct snap_route);
	s = calloc(1, size);
	if (!s)
		return NULL;
	s->gen = gen;
	s->peers = (struct snap_peer *)(s + 1);
	s->keys = (struct snap_key *)(s->peers + npeers);
	s->routes = (struct snap_route *)(s->keys + 3 * npeers);
	for (unsigned int i = 0; i < npeers; i++) {
		struct nt_peer *p = d->peers.peers[i];
		struct snap_peer *e = &s->peers[i];
		struct nt_keypair *const kps[3] = { p->session.previous, p->session.current,
						    p->session.next };

		p->snap_slot = i;
		e->peer = p;
		memcpy(e->id, p->id, 32);
		e->endpoint = p->endpoint;
		e->direct = p->has_endpoint && !p->via;
		e->send_kp = nt_session_keypair_for_send(&p->session, now);
		for (unsigned int r = 0; r < 3; r++)
			if (kps[r])
				s->keys[nkeys++] = (struct snap_key){ kps[r]->local_index, (uint16_t)i,
								      (uint8_t)r, kps[r] };
	}
	s->npeers = npeers;
	s->nkeys = nkeys;
	for (unsigned int i = 0; i < NT_ROUTE_SLOTS; i++) {
		const struct nt_route_slot *r = &d->route.slots[i];
		const struct nt_peer *p = r->owner;

		if (!r->family)
			continue;
		s->routes[s->nroutes].family = r->family;
		memcpy(s->routes[s->nroutes].addr, r->addr, 16);
		s->routes[s->nroutes].peer = (uint16_t)p->snap_slot;
		s->nroutes++;
	}
	qsort(s->keys, s->nkeys, sizeof(s->keys[0]), snap_key_cmp);
	qsort(s->routes, s->nroutes, sizeof(s->routes[0]), snap_route_cmp);
	return s;
}

static const struct snap_key *snap_find_key(const struct nt_snapshot *s, uint32_t index)
{
	struct snap_key k = { .index = index };

	return bsearch(&k, s->keys, s->nkeys, sizeof(k), snap_key_cmp);
}

/* The member owning an address (an IP packet's source or destination), or -1. */
static int snap_find_route(const struct nt_snapshot *s, int family, const uint8_t *addr)
{
	struct snap_route k = { .family = (uint8_t)family };
	const struct snap_route *r;

	memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
	r = bsearch(&k, s->routes, s->nroutes, sizeof(k), snap_route_cmp);
	return r ? r->peer : -1;
}

/* What workers counted for the members since the last fold. */
static void snapshot_fold(struct nt_snapshot *s)
{
	for (unsigned int i = 0; i < s->npeers; i++) {
		struct snap_peer *e = &s->peers[i];
		struct nt_peer *p = e->peer;
		uint64_t tx = TAKE(e->tx_bytes), txp = TAKE(e->tx_packets);
		uint64_t rx = TAKE(e->rx_bytes), rxp = TAKE(e->rx_packets);
		uint64_t rx_ms = LOAD(e->last_rx_ms), tx_ms = LOAD(e->last_tx_ms);

		if (!p)
			continue;
		p->tx_bytes += tx;
		p->tx_packets += txp;
		p->rx_bytes += rx;
		p->rx_packets += rxp;
		/* Only data frames reach a worker's counters; keepalives go to the loop. */
		nt_session_note_io(&p->session, rx_ms, rx_ms, tx_ms);
		if (rx_ms > p->last_direct_rx_ms)
			p->last_direct_rx_ms = rx_ms;
	}
}

/* Waits until no worker still uses a snapshot older than gen (they never wait for us). */
static void synchronize(struct nt_workers *wk, unsigned int n, uint64_t gen)
{
	for (unsigned int i = 1; i < n; i++) {
		uint64_t g;

		while ((g = __atomic_load_n(&wk->w[i]->busy_gen, __ATOMIC_SEQ_CST)) != 0 && g < gen)
			sched_yield();
	}
}

static void publish(struct nt_daemon *d, uint64_t now)
{
	struct nt_workers *wk = d->wk;
	struct nt_snapshot *s = snapshot_build(d, wk->gen + 1, now), *old;

	if (!s)
		return; /* out of memory: the old snapshot stays, retired keypairs wait */
	old = __atomic_exchange_n(&wk->snap, s, __ATOMIC_SEQ_CST);
	__atomic_store_n(&wk->gen, s->gen, __ATOMIC_RELEASE);
	synchronize(wk, d->n_workers, s->gen);
	/* No worker holds old, nor any keypair released before s was built. */
	if (old) {
		snapshot_fold(old);
		free(old);
	}
	for (unsigned int i = 0; i < wk->n_retired; i++)
		nt_session_keypair_free(wk->retired[i]);
	wk->n_retired = 0;
	wk->dirty = false;
	wk->published_ms = now;
}

static void on_publish(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;

	(void)fd;
	(void)what;
	if (d->wk->dirty)
		publish(d, nt_now_ms());
}

void nt_workers_publish(struct nt_daemon *d)
{
	if (d->wk)
		publish(d, nt_now_ms());
}

void nt_workers_changed(struct nt_daemon *d)
{
	if (!d->wk || d->wk->dirty)
		return;
	d->wk->dirty = true;
	/* After what the loop is doing now: a burst of changes makes one snapshot. */
	event_active(d->wk->ev_publish, EV_TIMEOUT, 0);
}

void nt_workers_release_keypair(void *ctx, struct nt_keypair *kp)
{
	struct nt_daemon *d = ctx;
	struct nt_workers *wk = d->wk;

	if (!wk) {
		nt_session_keypair_free(kp);
		return;
	}
	if (wk->n_retired == wk->cap_retired) {
		unsigned int cap = wk->cap_retired ? 2 * wk->cap_retired : 16;
		struct nt_keypair **r = realloc(wk->retired, cap * sizeof(*r));

		if (!r) {
			/* No room to wait in: make sure no worker holds it, now. */
			publish(d, nt_now_ms());
			nt_session_keypair_free(kp);
			return;
		}
		wk->retired = r;
		wk->cap_retired = cap;
	}
	wk->retired[wk->n_retired++] = kp;
	nt_workers_changed(d);
}

void nt_workers_peer_gone(struct nt_daemon *d, struct nt_peer *p)
{
	struct nt_snapshot *s;

	if (!d->wk)
		return;
	s = d->wk->snap;
	if (s && p->snap_slot < s->npeers && s->peers[p->snap_slot].peer == p)
		s->peers[p->snap_slot].peer = NULL;
	nt_workers_changed(d);
}

/* ---- the loop drains the rings ---- */

static void handle_msg(struct nt_daemon *d, struct worker *w, struct msg *m, uint64_t now)
{
	struct nt_keypair *kp;
	struct nt_peer *p;

	switch (m->kind) {
	case MSG_FRAME:
		nt_datapath_on_frame(d, m->data, m->len, &m->from, now);
		return;
	case MSG_EXPECTED_FIN:
		nt_datapath_on_frame(d, m->data, m->len, &m->from, now);
		/* Done with it, session installed and published or not: the worker waits no more. */
		__atomic_add_fetch(&w->fins_done, 1, __ATOMIC_RELEASE);
		return;
	case MSG_AUTH:
		kp = nt_index_lookup(&d->index, m->index, NT_INDEX_KEYPAIR);
		if (!kp)
			return; /* dropped since: the frame was authentic, nothing more to do */
		p = kp->owner;
		nt_datapath_authenticated(d, kp, &m->from, m->inner == NT_DATA_INNER_KEEPALIVE && !m->malformed, now);
		if (m->malformed)
			d->drops[NT_DROP_DATA_OTHER]++;
		else if (m->inner >= NT_DATA_INNER_CONTROL)
			nt_tunnel_on_control(d, p, m->inner, m->data, m->len, &m->from, now);
		return;
	case MSG_TUN: {
		struct virtio_net_hdr vh = { 0 };

		nt_datapath_tun_packet(d, &vh, m->data, m->len, now);
		return;
	}
	case MSG_HANDSHAKE:
		p = m->len == 32 ? nt_peer_lookup(&d->peers, m->data) : NULL;
		if (p)
			nt_tunnel_want_handshake(d, p, now);
		return;
	case MSG_SKIP:
		return;
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct nt_daemon *d = arg;
	uint64_t v, now = nt_now_ms();

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker eventfd");
	for (unsigned int i = 1; i < d->n_workers; i++) {
		struct ring *r = &d->wk->w[i]->ring;
		size_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

		while (head != tail) {
			struct msg *m = (struct msg *)(r->mem + head % RING_SIZE);

			if (m->kind == MSG_SKIP) {
				head += RING_SIZE - head % RING_SIZE;
				continue;
			}
			handle_msg(d, d->wk->w[i], m, now);
			head += ring_need(m->len);
		}
		/* Coalesced segments may point into the ring: written before it is released. */
		nt_datapath_flush(d);
		__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	}
}

/* ---- a worker ---- */

static void wcount(uint64_t *c, uint64_t n)
{
	STORE(*c, *c + n);
}

static void wdrop(struct worker *w, enum nt_drop_reason r)
{
	wcount(&w->drops[r], 1);
}

/*
 * Room for a message of up to len bytes, or NULL (counted) when the loop is that far
 * behind: what would go in is lost. ring_push then says how long it really is.
 */
static bool ring_fits(struct ring *r, size_t need)
{
	size_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	size_t room = RING_SIZE - (r->tail - head), to_end = RING_SIZE - r->tail % RING_SIZE;

	return room >= need + (need > to_end ? to_end : 0);
}

static struct msg *ring_slot(struct worker *w, size_t len)
{
	struct ring *r = &w->ring;
	size_t need = ring_need(len), to_end = RING_SIZE - r->tail % RING_SIZE;

	if (len > r->max_len || !ring_fits(r, need)) {
		wcount(&w->ring_full, 1);
		return NULL;
	}
	if (need > to_end) {
		/* Messages are never split: the rest of the ring is skipped. */
		((struct msg *)(r->mem + r->tail % RING_SIZE))->kind = MSG_SKIP;
		__atomic_store_n(&r->tail, r->tail + to_end, __ATOMIC_RELEASE);
	}
	return (struct msg *)(r->mem + r->tail % RING_SIZE);
}

static void ring_push(struct worker *w, size_t len)
{
	__atomic_store_n(&w->ring.tail, w->ring.tail + ring_need(len), __ATOMIC_RELEASE);
	w->pushed = true;
}

static void wake_loop(struct worker *w);
static void enter(struct worker *w);

/*
 * A member's handshake message for the loop while the ring is full: rather than lose it,
 * wait for room (20 ms at most; the socket's buffer holds what arrives meanwhile), holding
 * no snapshot, so the loop never waits for us. Only where the caller keeps no pointer into
 * the snapshot, which may change.
 */
static void wait_for_room(struct worker *w, size_t len)
{
	uint64_t until;

	if (len > w->ring.max_len || ring_fits(&w->ring, ring_need(len)))
		return;
	wcount(&w->waits, 1);
	wake_loop(w);
	__atomic_store_n(&w->busy_gen, 0, __ATOMIC_RELEASE);
	until = nt_now_us() + 20000;
	while (!ring_fits(&w->ring, ring_need(len)) && nt_now_us() < until)
		sched_yield();
	enter(w);
}

/*
 * Passes a message to the loop. may_wait only for a member's handshake message (mac1
 * checked): anything else a stranger could send is lost when the ring is full (counted),
 * so no outsider can make a worker wait.
 */
static void hand_over(struct worker *w, enum msg_kind kind, const uint8_t *data, size_t len,
		      const union nt_sockaddr *from, bool may_wait)
{
	struct msg *m;

	if (may_wait)
		wait_for_room(w, len);
	m = ring_slot(w, len);

	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	m->kind = (uint8_t)kind;
	m->len = (uint16_t)len;
	if (from)
		m->from = *from;
	memcpy(m->data, data, len);
	ring_push(w, len);
}

/* Takes the newest snapshot for this wake-up, so the loop knows which it may free. */
static void enter(struct worker *w)
{
	struct nt_workers *wk = w->d->wk;
	const struct nt_snapshot *s;

	do {
		s = __atomic_load_n(&wk->snap, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->busy_gen, s->gen, __ATOMIC_SEQ_CST);
	} while (__atomic_load_n(&wk->snap, __ATOMIC_SEQ_CST) != s);
	w->snap = s;
}

static void wake_loop(struct worker *w)
{
	uint64_t one = 1;

	w->pushed = false;
	if (write(w->d->wk->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("worker %u: wake the loop", w->id);
}

/*
 * The first frame of a session whose last handshake message (a member's: mac1 checked) we
 * just handed to the loop: rather than hand the whole burst over too, wait (a few
 * milliseconds at most, holding no snapshot, so the loop never waits for us) until the loop
 * has handled that message, which publishes the session if it is one. True if it did.
 */
static bool wait_for_session(struct worker *w)
{
	uint64_t until = nt_now_us() + 5000;
	bool published = false;

	w->fin_index = 0;
	wcount(&w->waits, 1);
	wake_loop(w);
	__atomic_store_n(&w->busy_gen, 0, __ATOMIC_RELEASE);
	while (nt_now_us() < until) {
		if (__atomic_load_n(&w->fins_done, __ATOMIC_ACQUIRE) == w->fins_handed) {
			published = true;
			break;
		}
		sched_yield();
	}
	enter(w);
	return published;
}

static void leave(struct worker *w)
{
	w->snap = NULL;
	__atomic_store_n(&w->busy_gen, 0, __ATOMIC_RELEASE);
	/* Mirrors of counters kept by the socket and the coalescer, for the loop to read. */
	STORE(w->gso_sends, w->udp.gso_sends);
	STORE(w->gso_fallbacks, w->udp.gso_fallbacks);
	STORE(w->gro_receives, w->udp.gro_receives);
	STORE(w->gro_frames, w->udp.gro_frames);
	STORE(w->gro_writes, w->gro.superpackets);
	STORE(w->gro_packets, w->gro.coalesced_pkts);
	if (w->pushed)
		wake_loop(w);
}

static void w_flush_tx(struct worker *w)
{
	int ret = nt_udp_txq_flush(&w->udp, &w->txq);

	if (w->txq.dropped) {
		wcount(&w->drops[NT_DROP_UDP_SEND], w->txq.dropped);
		w->txq.dropped = 0;
	}
	if (ret == -EAGAIN && !w->tx_blocked) {
		w->tx_blocked = true;
		wcount(&w->tx_paused, 1);
		event_del(w->ev_tun);
		event_add(w->ev_udp_out, NULL);
	}
}

static void w_on_udp_writable(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w_flush_tx(w);
	if (!nt_udp_txq_empty(&w->txq)) {
		event_add(w->ev_udp_out, NULL);
		return;
	}
	w->tx_blocked = false;
	event_add(w->ev_tun, NULL);
}

static uint8_t *w_tx_tail(struct worker *w, size_t need)
{
	uint8_t *f = nt_udp_txq_tail(&w->txq, need);

	if (!f) {
		w_flush_tx(w);
		f = nt_udp_txq_tail(&w->txq, need);
	}
	return f;
}

/* The rest of a superpacket the worker cannot send: the loop stages it or answers it. */
static void hand_over_rest(struct worker *w, struct nt_gso_iter *it)
{
	for (;;) {
		struct msg *m = ring_slot(w, w->ring.max_len);
		long n;

		if (!m) {
			wcount(&w->drops[NT_DROP_UDP_SEND], nt_gso_count(it) - it->index);
			return;
		}
		n = nt_gso_next(it, m->data, w->ring.max_len);
		if (n <= 0)
			return;
		memset(m, 0, sizeof(*m));
		m->kind = MSG_TUN;
		m->len = (uint16_t)n;
		ring_push(w, (size_t)n);
	}
}

static void ask_handshake(struct worker *w, struct snap_peer *e)
{
	struct msg *m;

	if (__atomic_exchange_n(&e->handshake_asked, 1, __ATOMIC_RELAXED))
		return;
	m = ring_slot(w, 32);
	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	m->kind = MSG_HANDSHAKE;
	m->len = 32;
	memcpy(m->data, e->id, 32);
	ring_push(w, 32);
}

static void w_tun_packet(struct worker *w, const struct virtio_net_hdr *vh, size_t len, uint64_t now)
{
	const struct nt_snapshot *s = w->snap;
	const uint8_t *pkt = w->tun_buf, *src, *dst;
	uint64_t bytes = 0, packets = 0;
	struct nt_gso_iter it;
	struct snap_peer *e;
	size_t need;
	int family, slot;

	if (!nt_ip_addrs(pkt, len, &family, &src, &dst)) {
		wdrop(w, NT_DROP_NOT_IP);
		return;
	}
	if (nt_gso_begin(&it, vh, pkt, len) != NT_GSO_OK) {
		wdrop(w, NT_DROP_TUN_OFFLOAD);
		return;
	}
	slot = snap_find_route(s, family, dst);
	if (nt_gso_count(&it) > 1) {
		wcount(&w->superpackets, 1);
		wcount(&w->segments, nt_gso_count(&it));
	}
	e = slot >= 0 ? &s->peers[slot] : NULL;
	/* No member, no keypair, a relay: the loop answers, stages or wraps. */
	if (!e || !e->direct || !e->send_kp || !nt_session_keypair_can_send(e->send_kp, now)) {
		hand_over_rest(w, &it);
		return;
	}
	need = PKT_OFF + (nt_gso_count(&it) > 1 ? it.hdr_len + it.mss : len) + NT_DATA_TAG_LEN;
	for (;;) {
		uint8_t *f = w_tx_tail(w, need);
		long n;

		if (!f) {
			wcount(&w->drops[NT_DROP_UDP_SEND], nt_gso_count(&it) - it.index);
			break;
		}
		n = nt_gso_next(&it, f + PKT_OFF, need - PKT_OFF - NT_DATA_TAG_LEN);
		if (n <= 0) {
			if (n < 0)
				wdrop(w, NT_DROP_TUN_OFFLOAD);
			break;
		}
		f[PLAIN_OFF] = NT_DATA_INNER_IP;
		if (nt_session_keypair_encrypt(e->send_kp, f, need, (size_t)n + 1, now) < 0) {
			/* Expired since the snapshot: this packet and the rest go to the loop. */
			hand_over(w, MSG_TUN, f + PKT_OFF, (size_t)n, NULL, false);
			hand_over_rest(w, &it);
			break;
		}
		nt_udp_txq_commit(&w->udp, &w->txq, (size_t)n + 1 + NT_DATA_OVERHEAD, &e->endpoint);
		bytes += (uint64_t)n;
		packets++;
	}
	if (packets) {
		ADD(e->tx_bytes, bytes);
		ADD(e->tx_packets, packets);
		STORE(e->last_tx_ms, now);
		wcount(&w->tx_bytes, bytes);
		wcount(&w->tx_packets, packets);
		if (nt_session_keypair_needs_rekey(e->send_kp, now))
			ask_handshake(w, e);
	}
}

static void w_on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t now = nt_now_ms();

	(void)fd;
	(void)what;
	enter(w);
	for (unsigned int n = 0; n < NT_UDP_BATCH && !w->tx_blocked; n++) {
		struct virtio_net_hdr vh;
		ssize_t len;

		if (!nt_udp_txq_tail(&w->txq, NT_TX_SUPERPACKET_ROOM)) {
			w_flush_tx(w);
			if (w->tx_blocked)
				break;
		}
		len = nt_tun_read(&w->tun, &vh, w->tun_buf, w->tun_buf_size);
		if (len < 0) {
			if (len != -EAGAIN && len != -EINTR)
				log_warnx("worker %u: read %s: %s", w->id, w->tun.name, strerror((int)-len));
			break;
		}
		w_tun_packet(w, &vh, (size_t)len, now);
	}
	w_flush_tx(w);
	leave(w);
}

/*
 * Tells the loop of an authenticated frame: always for keepalives and control messages,
 * once per snapshot for data that changes something there (a pending keypair confirmed, a
 * new address, a rekey due).
 */
static void note_auth(struct worker *w, const struct snap_key *k, const struct nt_data_rx *rx,
		      bool malformed, const union nt_sockaddr *from)
{
	size_t len = !malformed && rx->inner_type >= NT_DATA_INNER_CONTROL ? rx->payload_len : 0;
	struct msg *m;

	if (!malformed && rx->inner_type == NT_DATA_INNER_IP) {
		if (w->noted_gen == w->snap->gen && w->noted_index == k->index &&
		    nt_sockaddr_equal(&w->noted_from, from))
			return;
		w->noted_gen = w->snap->gen;
		w->noted_index = k->index;
		w->noted_from = *from;
	}
	m = ring_slot(w, len);
	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	m->kind = MSG_AUTH;
	m->inner = malformed ? 0 : rx->inner_type;
	m->malformed = malformed;
	m->index = k->index;
	m->from = *from;
	m->len = (uint16_t)len;
	if (len)
		memcpy(m->data, rx->payload, len);
	ring_push(w, len);
}

static bool fin_is_expected(const struct nt_workers *wk, uint32_t index)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS && index; i++)
		if (__atomic_load_n(&wk->expect_fin[i], __ATOMIC_ACQUIRE) == index)
			return true;
	return false;
}

void nt_workers_expect_fin(struct nt_daemon *d, unsigned int slot, uint32_t index)
{
	if (d->wk && slot < NT_MAX_ATTEMPTS)
		__atomic_store_n(&d->wk->expect_fin[slot], index, __ATOMIC_RELEASE);
}

static void w_frame(struct worker *w, uint8_t *frame, size_t len, const union nt_sockaddr *from,
		    uint64_t now)
{
	const struct nt_snapshot *s = w->snap;
	const struct snap_key *k;
	struct snap_peer *e;
	enum nt_pkt_verdict v;
	struct nt_data_rx rx;
	const uint8_t *src, *dst;
	uint32_t index;
	uint64_t counter;
	int family;

	if (frame[0] >= NT_HS_MSG_INIT && frame[0] <= NT_HS_MSG_FIN) {
		/* mac1 here too, so only a member's handshake may wait for room or a session. */
		if (nt_handshake_check_envelope(&w->d->hs_local, frame, len) != NT_HS_OK) {
			wdrop(w, NT_DROP_HANDSHAKE);
			return;
		}
		if (frame[0] == NT_HS_MSG_FIN && fin_is_expected(w->d->wk, nt_get_le32(frame + 4))) {
			/* The member's first frames on the session follow: see wait_for_session. */
			w->fin_index = nt_get_le32(frame + 4);
			w->fins_handed++;
			hand_over(w, MSG_EXPECTED_FIN, frame, len, from, true);
			wake_loop(w);
			return;
		}
		/* A FIN the loop does not wait for (a replay) makes nobody wait. */
		hand_over(w, MSG_FRAME, frame, len, from, frame[0] != NT_HS_MSG_FIN);
		wake_loop(w);
		return;
	}
	/* DHT, STUN, cookie replies, and data for a keypair this snapshot does not know. */
	if (frame[0] != NT_MSG_DATA ||
	    nt_session_frame_parse_header(frame, len, &index, &counter) != NT_PKT_OK) {
		hand_over(w, MSG_FRAME, frame, len, from, false);
		return;
	}
	k = snap_find_key(s, index);
	if (!k && index == w->fin_index && wait_for_session(w)) {
		s = w->snap;
		k = snap_find_key(s, index);
	}
	if (!k) {
		hand_over(w, MSG_FRAME, frame, len, from, false);
		return;
	}
	v = nt_session_keypair_decrypt(k->kp, frame, len, now, &rx);
	if (v != NT_PKT_OK && v != NT_PKT_DROP_INNER) {
		wdrop(w, v == NT_PKT_DROP_AUTH ? NT_DROP_DATA_AUTH :
			 v == NT_PKT_DROP_REPLAY ? NT_DROP_DATA_REPLAY : NT_DROP_DATA_OTHER);
		return;
	}
	e = &s->peers[k->peer];
	if (v != NT_PKT_OK || rx.inner_type != NT_DATA_INNER_IP) {
		note_auth(w, k, &rx, v != NT_PKT_OK, from);
		return;
	}
	if (k->role == ROLE_NEXT || !e->direct || !nt_sockaddr_equal(&e->endpoint, from) ||
	    (k->role == ROLE_CURRENT && nt_session_keypair_needs_rekey_after_receive(k->kp, now)))
		note_auth(w, k, &rx, false, from);
	STORE(e->last_rx_ms, now);
	if (!nt_ip_addrs(rx.payload, rx.payload_len, &family, &src, &dst) ||
	    snap_find_route(s, family, src) != k->peer) {
		wdrop(w, NT_DROP_SPOOFED_SOURCE);
		return;
	}
	if ((w->tun.vnet ? nt_gro_add(&w->gro, rx.payload, rx.payload_len) :
			   nt_tun_write(&w->tun, rx.payload, rx.payload_len)) < 0) {
		wdrop(w, NT_DROP_TUN_WRITE);
		return;
	}
	ADD(e->rx_bytes, rx.payload_len);
	ADD(e->rx_packets, 1);
	wcount(&w->rx_bytes, rx.payload_len);
	wcount(&w->rx_packets, 1);
}

static void w_flush_gro(struct worker *w)
{
	uint64_t errors = w->gro.write_errors;

	nt_gro_flush(&w->gro);
	wcount(&w->drops[NT_DROP_TUN_WRITE], w->gro.write_errors - errors);
}

static void w_on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	enter(w);
	for (int round = 0; round < 4; round++) {
		int n = nt_udp_recv_batch(&w->udp, &w->rx);
		uint64_t now = nt_now_ms();

		if (n <= 0) {
			if (n < 0 && n != -EINTR)
				log_warnx("worker %u: udp receive: %s", w->id, strerror(-n));
			break;
		}
		wcount(&w->drops[NT_DROP_OVERSIZED], w->rx.oversized);
		w->rx.oversized = 0;
		for (int i = 0; i < n; i++) {
			size_t len = w->rx.len[i], seg = w->rx.seg[i] ? w->rx.seg[i] : len;

			/* Empty, or dropped by nt_udp_recv_batch as longer than the loop's frames. */
			if (len == 0)
				continue;
			for (size_t off = 0; off < len; off += seg)
				w_frame(w, w->rx.buf[i] + off, len - off < seg ? len - off : seg,
					&w->rx.addr[i], now);
		}
		w_flush_gro(w);
		if ((unsigned int)n < w->rx.slots)
			break;
	}
	leave(w);
}

static void w_on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(w->base);
}

static long w_gro_write(void *ctx, const struct iovec *iov, int iovcnt)
{
	struct worker *w = ctx;

	return nt_tun_writev(&w->tun, iov, iovcnt);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	return NULL;
}

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	if (w->running) {
		uint64_t one = 1;

		if (write(w->stop_fd, &one, sizeof(one)) < 0)
			log_warn("worker %u: stop", w->id);
		pthread_join(w->thread, NULL);
	}
	if (w->ev_tun)
		event_free(w->ev_tun);
	if (w->ev_udp)
		event_free(w->ev_udp);
	if (w->ev_udp_out)
		event_free(w->ev_udp_out);
	if (w->ev_stop)
		event_free(w->ev_stop);
	if (w->base)
		event_base_free(w->base);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	if (w->tun_open)
		nt_tun_close(&w->tun);
	if (w->udp_open)
		nt_udp_close(&w->udp);
	free(w->mem);
	free(w->ring.mem);
	free(w);
}

/* A worker's queue, socket, buffers and loop: like the daemon's own (daemon.c, alloc_buffers). */
static int worker_new(struct nt_daemon *d, unsigned int id, struct worker **out)
{
	struct worker *w = calloc(1, sizeof(*w));
	unsigned int flags = NT_UDP_REUSEPORT | (d->udp.gso ? NT_UDP_OFFLOAD_GSO : 0) |
			     (d->udp.gro ? NT_UDP_OFFLOAD_GRO : 0);
	size_t txq_cap = 2 * NT_TX_SUPERPACKET_ROOM;
	uint8_t *m;
	int ret;

	if (!w)
		return -ENOMEM;
	w->d = d;
	w->id = id;
	w->stop_fd = -1;
	*out = w;
	ret = nt_tun_queue_open(&d->tun, &w->tun);
	if (ret < 0)
		return ret;
	w->tun_open = true;
	/* The same address and port as the loop's socket, so members see one endpoint. */
	ret = nt_udp_open(&w->udp, d->opts.listen_host, d->udp.port, flags);
	if (ret < 0)
		return ret;
	w->udp_open = true;
	w->rx.cap = d->rx.cap;
	w->rx.slots = d->rx.slots;
	w->rx.max_frame = d->rx.max_frame;
	w->tun_buf_size = d->tun_buf_size;
	w->ring.max_len = d->buf_size;
	w->mem = malloc(w->rx.cap * w->rx.slots + txq_cap + w->tun_buf_size);
	w->ring.mem = aligned_alloc(RING_ALIGN, RING_SIZE);
	if (!w->mem || !w->ring.mem)
		return -ENOMEM;
	m = w->mem;
	for (unsigned int i = 0; i < w->rx.slots; i++, m += w->rx.cap)
		w->rx.buf[i] = m;
	w->txq.buf = m;
	w->txq.cap = txq_cap;
	m += txq_cap;
	w->tun_buf = m;
	m += w->tun_buf_size;
	nt_gro_init(&w->gro, w_gro_write, w);

	w->base = event_base_new();
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->base || w->stop_fd < 0)
		return -ENOMEM;
	w->ev_tun = event_new(w->base, w->tun.fd, EV_READ | EV_PERSIST, w_on_tun, w);
	w->ev_udp = event_new(w->base, w->udp.fd, EV_READ | EV_PERSIST, w_on_udp, w);
	w->ev_udp_out = event_new(w->base, w->udp.fd, EV_WRITE, w_on_udp_writable, w);
	w->ev_stop = event_new(w->base, w->stop_fd, EV_READ | EV_PERSIST, w_on_stop, w);
	if (!w->ev_tun || !w->ev_udp || !w->ev_udp_out || !w->ev_stop ||
	    event_add(w->ev_tun, NULL) < 0 || event_add(w->ev_udp, NULL) < 0 ||
	    event_add(w->ev_stop, NULL) < 0)
		return -ENOMEM;
	return 0;
}

int nt_workers_start(struct nt_daemon *d)
{
	struct nt_workers *wk;
	int ret;

	if (d->n_workers <= 1)
		return 0;
	wk = calloc(1, sizeof(*wk));
	if (!wk)
		return -ENOMEM;
	d->wk = wk;
	wk->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wk->wake_fd < 0)
		return -errno;
	wk->ev_wake = event_new(d->base, wk->wake_fd, EV_READ | EV_PERSIST, on_wake, d);
	wk->ev_publish = event_new(d->base, -1, 0, on_publish, d);
	if (!wk->ev_wake || !wk->ev_publish || event_add(wk->ev_wake, NULL) < 0)
		return -ENOMEM;
	wk->snap = snapshot_build(d, ++wk->gen, nt_now_ms());
	if (!wk->snap)
		return -ENOMEM;
	for (unsigned int i = 1; i < d->n_workers; i++) {
		ret = worker_new(d, i, &wk->w[i]);
		if (ret < 0)
			return ret;
	}
	/*
	 * Data frames to the worker their session index names; everything else to the loop,
	 * but for the last handshake message: it goes the way the session's first frames will
	 * (it names the same index there), and that worker hands it to the loop before them,
	 * so the loop has the keypair when it reads them.
	 */
	ret = nt_udp_steer(&d->udp, NT_MSG_DATA, NT_HS_MSG_FIN, 4, d->n_workers);
	if (ret < 0)
		log_warnx("udp port %u: cannot steer frames to workers by session (%s): spread by address instead",
			  d->udp.port, strerror(-ret));
	for (unsigned int i = 1; i < d->n_workers; i++) {
		ret = pthread_create(&wk->w[i]->thread, NULL, worker_main, wk->w[i]);
		if (ret)
			return -ret;
		wk->w[i]->running = true;
	}
	return 0;
}

void nt_workers_stop(struct nt_daemon *d)
{
	struct nt_workers *wk = d->wk;

	if (!wk)
		return;
	for (unsigned int i = 1; i < NT_MAX_WORKERS; i++)
		worker_free(wk->w[i]);
	if (wk->ev_wake)
		event_free(wk->ev_wake);
	if (wk->ev_publish)
		event_free(wk->ev_publish);
	if (wk->wake_fd > 0)
		close(wk->wake_fd);
	free(wk->snap);
	for (unsigned int i = 0; i < wk->n_retired; i++)
		nt_session_keypair_free(wk->retired[i]);
	free(wk->retired);
	free(wk);
	d->wk = NULL;
}

/* The workers' counters since the last fold, into the daemon's totals. */
static void fold_workers(struct nt_daemon *d)
{
	for (unsigned int i = 1; i < d->n_workers; i++) {
		struct worker *w = d->wk->w[i];
		uint64_t *const dst[] = { &d->rx_bytes, &d->tx_bytes, &d->tx_paused,
					  &d->tun_superpackets, &d->tun_segments };
		const uint64_t *const src[] = { &w->rx_bytes, &w->tx_bytes, &w->tx_paused,
						&w->superpackets, &w->segments };
		_Static_assert(sizeof(src) / sizeof(src[0]) == sizeof(w->folded) / sizeof(w->folded[0]),
			       "one folded value per total");

		for (unsigned int r = 0; r < NT_DROP_COUNT; r++) {
			uint64_t v = LOAD(w->drops[r]);

			d->drops[r] += v - w->folded_drops[r];
			w->folded_drops[r] = v;
		}
		for (size_t k = 0; k < sizeof(src) / sizeof(src[0]); k++) {
			uint64_t v = __atomic_load_n(src[k], __ATOMIC_RELAXED);

			*dst[k] += v - w->folded[k];
			w->folded[k] = v;
		}
	}
}

void nt_workers_tick(struct nt_daemon *d, uint64_t now)
{
	struct nt_workers *wk = d->wk;

	if (!wk)
		return;
	fold_workers(d);
	/* A fresh snapshot every second at least: a change nobody announced is never stale long. */
	if (wk->dirty || now - wk->published_ms >= 1000)
		publish(d, now);
	else
		snapshot_fold(wk->snap);
}

void nt_workers_status(struct nt_daemon *d, struct nt_status *st)
{
	struct nt_offload_status *o = &st->offload;

	st->n_workers = d->n_workers ? d->n_workers : 1;
	st->workers[0].tx_packets = d->tx_packets;
	st->workers[0].rx_packets = d->rx_packets;
	if (!d->wk)
		return;
	for (unsigned int i = 1; i < d->n_workers; i++) {
		struct worker *w = d->wk->w[i];

		st->workers[i].tx_packets = LOAD(w->tx_packets);
		st->workers[i].rx_packets = LOAD(w->rx_packets);
		st->workers[i].handoffs_lost = LOAD(w->ring_full);
		st->workers[i].waits = LOAD(w->waits);
		o->udp_gso_sends += LOAD(w->gso_sends);
		o->udp_gso_fallbacks += LOAD(w->gso_fallbacks);
		o->udp_gro_receives += LOAD(w->gro_receives);
		o->udp_gro_frames += LOAD(w->gro_frames);
		o->tun_coalesced_writes += LOAD(w->gro_writes);
		o->tun_coalesced_packets += LOAD(w->gro_packets);
	}
}
