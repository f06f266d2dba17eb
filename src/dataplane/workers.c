// SPDX-License-Identifier: MIT
/*
 * Data-plane workers: see workers.h for the model. The loop thread's side (snapshots, grace
 * periods, the rings it drains) is at the top, a worker's side (the engine ops that read a
 * snapshot and hand over the rest) below. The packet path itself is the engine's (engine.c).
 */
#include "dataplane/workers.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "dataplane/engine.h"
#include "dataplane/snapshot.h"
#include "netron/status.h"
#include "proto/handshake.h"

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
	struct nt_workers *wk;
	unsigned int id;
	pthread_t thread;
	bool running;
	struct event_base *base;
	struct event *ev_stop;
	int stop_fd;
	struct nt_tun tun; /* our queue of the node's interface */
	bool tun_open;
	struct nt_udp udp;
	bool udp_open;
	struct nt_engine engine;
	bool engine_ready;
	struct ring ring;
	bool pushed; /* something went into the ring during this wake-up */

	/* The snapshot in use during a wake-up, and its generation for the loop (0 = none). */
	const struct nt_snapshot *snap;
	uint64_t busy_gen;
	/*
	 * A new session's last handshake message (a FIN the loop waits for, mac1 checked) went
	 * to the loop: its index, and how many such FINs we handed over and the loop has
	 * handled (atomic).
	 */
	uint32_t fin_index;
	uint64_t fins_handed, fins_done;
	/* The last note about a frame sent to the loop, so a burst sends one. */
	uint64_t noted_gen;
	uint32_t noted_index;
	union nt_sockaddr noted_from;
	/* Counters beyond the engine's: the worker writes (atomically), the loop reads. */
	uint64_t ring_full, waits;
};

struct nt_workers {
	struct nt_workers_host host;
	unsigned int n;
	struct worker *w[NT_MAX_WORKERS]; /* [1, n) */
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

/* Waits until no worker still uses a snapshot older than gen (they never wait for us). */
static void synchronize(struct nt_workers *wk, uint64_t gen)
{
	for (unsigned int i = 1; i < wk->n; i++) {
		uint64_t g;

		while ((g = __atomic_load_n(&wk->w[i]->busy_gen, __ATOMIC_SEQ_CST)) != 0 && g < gen)
			sched_yield();
	}
}

static void publish(struct nt_workers *wk, uint64_t now)
{
	struct nt_snapshot *s = nt_snapshot_build(wk->host.peers, wk->host.route, wk->gen + 1, now), *old;

	if (!s)
		return; /* out of memory: the old snapshot stays, retired keypairs wait */
	old = __atomic_exchange_n(&wk->snap, s, __ATOMIC_SEQ_CST);
	__atomic_store_n(&wk->gen, s->gen, __ATOMIC_RELEASE);
	synchronize(wk, s->gen);
	/* No worker holds old, nor any keypair released before s was built. */
	if (old) {
		nt_snapshot_fold(old);
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
	struct nt_workers *wk = arg;

	(void)fd;
	(void)what;
	if (wk->dirty)
		publish(wk, nt_now_ms());
}

void nt_workers_publish(struct nt_workers *wk)
{
	if (wk)
		publish(wk, nt_now_ms());
}

void nt_workers_changed(struct nt_workers *wk)
{
	if (!wk || wk->dirty)
		return;
	wk->dirty = true;
	/* After what the loop is doing now: a burst of changes makes one snapshot. */
	event_active(wk->ev_publish, EV_TIMEOUT, 0);
}

void nt_workers_release_keypair(struct nt_workers *wk, struct nt_keypair *kp)
{
	if (!wk) {
		nt_session_keypair_free(kp);
		return;
	}
	if (wk->n_retired == wk->cap_retired) {
		unsigned int cap = wk->cap_retired ? 2 * wk->cap_retired : 16;
		struct nt_keypair **r = realloc(wk->retired, cap * sizeof(*r));

		if (!r) {
			/* No room to wait in: make sure no worker holds it, now. */
			publish(wk, nt_now_ms());
			nt_session_keypair_free(kp);
			return;
		}
		wk->retired = r;
		wk->cap_retired = cap;
	}
	wk->retired[wk->n_retired++] = kp;
	nt_workers_changed(wk);
}

void nt_workers_peer_gone(struct nt_workers *wk, struct nt_peer *p)
{
	struct nt_snapshot *s;

	if (!wk)
		return;
	s = wk->snap;
	if (s && p->snap_slot < s->npeers && s->peers[p->snap_slot].peer == p)
		s->peers[p->snap_slot].peer = NULL;
	nt_workers_changed(wk);
}

void nt_workers_expect_fin(struct nt_workers *wk, unsigned int slot, uint32_t index)
{
	if (wk && slot < NT_MAX_ATTEMPTS)
		__atomic_store_n(&wk->expect_fin[slot], index, __ATOMIC_RELEASE);
}

static bool fin_is_expected(const struct nt_workers *wk, uint32_t index)
{
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS && index; i++)
		if (__atomic_load_n(&wk->expect_fin[i], __ATOMIC_ACQUIRE) == index)
			return true;
	return false;
}

/* ---- the loop drains the rings ---- */

static void handle_msg(struct nt_workers *wk, struct worker *w, struct msg *m, uint64_t now)
{
	const struct nt_workers_host *h = &wk->host;

	switch (m->kind) {
	case MSG_FRAME:
		h->frame(h->ctx, m->data, m->len, &m->from, now);
		return;
	case MSG_EXPECTED_FIN:
		h->frame(h->ctx, m->data, m->len, &m->from, now);
		/* Done with it, session installed and published or not: the worker waits no more. */
		__atomic_add_fetch(&w->fins_done, 1, __ATOMIC_RELEASE);
		return;
	case MSG_AUTH:
		h->authentic(h->ctx, m->index, m->inner, m->data, m->len, m->malformed, &m->from, now);
		return;
	case MSG_TUN:
		h->packet(h->ctx, m->data, m->len, now);
		return;
	case MSG_HANDSHAKE:
		if (m->len == 32)
			h->rekey(h->ctx, m->data, now);
		return;
	case MSG_SKIP:
		return;
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct nt_workers *wk = arg;
	uint64_t v, now = nt_now_ms();

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker eventfd");
	for (unsigned int i = 1; i < wk->n; i++) {
		struct ring *r = &wk->w[i]->ring;
		size_t head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);

		while (head != tail) {
			struct msg *m = (struct msg *)(r->mem + head % RING_SIZE);

			if (m->kind == MSG_SKIP) {
				head += RING_SIZE - head % RING_SIZE;
				continue;
			}
			handle_msg(wk, wk->w[i], m, now);
			head += ring_need(m->len);
		}
		/* Coalesced segments may point into the ring: written before it is released. */
		wk->host.flush(wk->host.ctx);
		__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	}
}

/* ---- a worker ---- */

static void wcount(uint64_t *c, uint64_t n)
{
	NT_RELAXED_STORE(*c, *c + n);
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

static void wake_loop(struct worker *w)
{
	uint64_t one = 1;

	w->pushed = false;
	if (write(w->wk->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("worker %u: wake the loop", w->id);
}

/* Takes the newest snapshot for this wake-up, so the loop knows which it may free. */
static void enter(struct worker *w)
{
	struct nt_workers *wk = w->wk;
	const struct nt_snapshot *s;

	do {
		s = __atomic_load_n(&wk->snap, __ATOMIC_SEQ_CST);
		__atomic_store_n(&w->busy_gen, s->gen, __ATOMIC_SEQ_CST);
	} while (__atomic_load_n(&wk->snap, __ATOMIC_SEQ_CST) != s);
	w->snap = s;
}

static void leave(struct worker *w)
{
	w->snap = NULL;
	__atomic_store_n(&w->busy_gen, 0, __ATOMIC_RELEASE);
	if (w->pushed)
		wake_loop(w);
}

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
static bool hand_over(struct worker *w, enum msg_kind kind, const uint8_t *data, size_t len,
		      const union nt_sockaddr *from, bool may_wait)
{
	struct msg *m;

	if (may_wait)
		wait_for_room(w, len);
	m = ring_slot(w, len);
	if (!m)
		return false;
	memset(m, 0, sizeof(*m));
	m->kind = (uint8_t)kind;
	m->len = (uint16_t)len;
	if (from)
		m->from = *from;
	memcpy(m->data, data, len);
	ring_push(w, len);
	return true;
}

/*
 * The first frame of a session whose last handshake message (a FIN the loop waits for) we
 * just handed to the loop: rather than hand the whole burst over too, wait (a few
 * milliseconds at most, holding no snapshot, so the loop never waits for us) until the loop
 * has handled that message, which publishes the session if it is one. True if it did.
 */
static bool wait_for_session(struct worker *w)
{
	uint64_t until = nt_now_us() + 5000;
	bool handled = false;

	w->fin_index = 0;
	wcount(&w->waits, 1);
	wake_loop(w);
	__atomic_store_n(&w->busy_gen, 0, __ATOMIC_RELEASE);
	while (nt_now_us() < until) {
		if (__atomic_load_n(&w->fins_done, __ATOMIC_ACQUIRE) == w->fins_handed) {
			handled = true;
			break;
		}
		sched_yield();
	}
	enter(w);
	return handled;
}

static void ask_handshake(struct worker *w, struct nt_snap_peer *e)
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

/*
 * Tells the loop of an authenticated frame: always for keepalives and control messages,
 * once per snapshot for data that changes something there (a pending keypair confirmed, a
 * new address, a rekey due).
 */
static void note_auth(struct worker *w, const struct nt_snap_key *k, const struct nt_data_rx *rx,
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

/* ---- a worker's engine ops: the snapshot ---- */

static enum nt_engine_route w_route(void *ctx, int family, const uint8_t *dst, uint64_t now,
				    struct nt_engine_dest *dest)
{
	struct worker *w = ctx;
	int slot = nt_snapshot_find_route(w->snap, family, dst);
	struct nt_snap_peer *e;

	/* No member, no keypair, a relay: the loop answers, stages or wraps. */
	if (slot < 0)
		return NT_ENGINE_NO_MEMBER;
	e = &w->snap->peers[slot];
	if (!e->direct || !e->send_kp || !nt_session_keypair_can_send(e->send_kp, now))
		return NT_ENGINE_SLOW;
	dest->kp = e->send_kp;
	dest->endpoint = &e->endpoint;
	dest->member = e;
	return NT_ENGINE_FAST;
}

static void w_packet(void *ctx, enum nt_engine_route r, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct worker *w = ctx;

	(void)r;
	(void)now;
	/* The loop answers, stages or wraps it; with the loop that far behind, it is lost. */
	if (!hand_over(w, MSG_TUN, pkt, len, NULL, false))
		wcount(&w->engine.c.drops[NT_DROP_UDP_SEND], 1);
}

static void w_sent(void *ctx, const struct nt_engine_dest *dest, uint64_t bytes, uint64_t packets,
		   uint64_t now)
{
	struct worker *w = ctx;
	struct nt_snap_peer *e = dest->member;

	NT_RELAXED_ADD(e->tx_bytes, bytes);
	NT_RELAXED_ADD(e->tx_packets, packets);
	NT_RELAXED_STORE(e->last_tx_ms, now);
	if (nt_session_keypair_needs_rekey(dest->kp, now))
		ask_handshake(w, e);
}

static struct nt_keypair *w_key(void *ctx, uint32_t index, void **member)
{
	struct worker *w = ctx;
	const struct nt_snap_key *k = nt_snapshot_find_key(w->snap, index);

	if (!k && index == w->fin_index && wait_for_session(w))
		k = nt_snapshot_find_key(w->snap, index);
	*member = (void *)k;
	return k ? k->kp : NULL;
}

static void w_authentic(void *ctx, void *member, struct nt_keypair *kp, const struct nt_data_rx *rx,
			bool malformed, const union nt_sockaddr *from, const void *via, uint64_t now)
{
	struct worker *w = ctx;
	const struct nt_snap_key *k = member;
	struct nt_snap_peer *e = &w->snap->peers[k->peer];

	(void)via;
	if (malformed || rx->inner_type != NT_DATA_INNER_IP) {
		note_auth(w, k, rx, malformed, from);
		return;
	}
	if (k->role == NT_SNAP_NEXT || !e->direct || !nt_sockaddr_equal(&e->endpoint, from) ||
	    (k->role == NT_SNAP_CURRENT && nt_session_keypair_needs_rekey_after_receive(kp, now)))
		note_auth(w, k, rx, false, from);
	NT_RELAXED_STORE(e->last_rx_ms, now);
}

static bool w_holds(void *ctx, void *member, int family, const uint8_t *addr)
{
	struct worker *w = ctx;
	const struct nt_snap_key *k = member;

	return nt_snapshot_find_route(w->snap, family, addr) == k->peer;
}

static void w_delivered(void *ctx, void *member, size_t bytes, uint64_t now)
{
	struct worker *w = ctx;
	const struct nt_snap_key *k = member;
	struct nt_snap_peer *e = &w->snap->peers[k->peer];

	(void)now;
	NT_RELAXED_ADD(e->rx_bytes, bytes);
	NT_RELAXED_ADD(e->rx_packets, 1);
}

/* Handshakes, DHT, STUN, cookie replies, and data for a keypair this snapshot does not know. */
static void w_frame(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from,
		    const void *via, uint64_t now)
{
	struct worker *w = ctx;

	(void)via;
	(void)now;
	if (frame[0] >= NT_HS_MSG_INIT && frame[0] <= NT_HS_MSG_FIN) {
		/* mac1 here too, so only a member's handshake may wait for room or a session. */
		if (nt_handshake_check_mac1(w->wk->host.keys, frame, len) != NT_HS_OK) {
			wcount(&w->engine.c.drops[NT_DROP_HANDSHAKE], 1);
			return;
		}
		if (frame[0] == NT_HS_MSG_FIN && fin_is_expected(w->wk, nt_get_le32(frame + 4))) {
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
	hand_over(w, MSG_FRAME, frame, len, from, false);
}

static void w_enter(void *ctx)
{
	enter(ctx);
}

static void w_leave(void *ctx)
{
	leave(ctx);
}

static const struct nt_engine_ops worker_ops = {
	.route = w_route,
	.packet = w_packet,
	.sent = w_sent,
	.key = w_key,
	.authentic = w_authentic,
	.holds = w_holds,
	.delivered = w_delivered,
	.frame = w_frame,
	.enter = w_enter,
	.leave = w_leave,
};

static void w_on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("worker %u: stop eventfd", w->id);
	event_base_loopbreak(w->base);
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
	if (w->engine_ready)
		nt_engine_uninit(&w->engine);
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
	free(w->ring.mem);
	free(w);
}

/* A worker's queue, socket, engine and loop. */
static int worker_new(struct nt_workers *wk, unsigned int id, struct worker **out)
{
	const struct nt_workers_host *h = &wk->host;
	struct worker *w = calloc(1, sizeof(*w));
	unsigned int flags = NT_UDP_REUSEPORT | (h->udp->gso ? NT_UDP_OFFLOAD_GSO : 0) |
			     (h->udp->gro ? NT_UDP_OFFLOAD_GRO : 0);
	int ret;

	if (!w)
		return -ENOMEM;
	w->wk = wk;
	w->id = id;
	w->stop_fd = -1;
	*out = w;
	ret = nt_tun_queue_open(h->tun, &w->tun);
	if (ret < 0)
		return ret;
	w->tun_open = true;
	/* The same address and port as the loop's socket, so members see one endpoint. */
	ret = nt_udp_open(&w->udp, h->listen_host, h->udp->port, flags);
	if (ret < 0)
		return ret;
	w->udp_open = true;
	ret = nt_engine_init(&w->engine, &w->tun, &w->udp, h->max_frame, &worker_ops, w);
	if (ret < 0)
		return ret;
	w->engine_ready = true;
	w->ring.max_len = h->max_frame;
	w->ring.mem = aligned_alloc(RING_ALIGN, RING_SIZE);
	w->base = event_base_new();
	w->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!w->ring.mem || !w->base || w->stop_fd < 0)
		return -ENOMEM;
	w->ev_stop = event_new(w->base, w->stop_fd, EV_READ | EV_PERSIST, w_on_stop, w);
	if (!w->ev_stop || event_add(w->ev_stop, NULL) < 0)
		return -ENOMEM;
	return nt_engine_start(&w->engine, w->base);
}

int nt_workers_start(struct nt_workers **out, unsigned int n, const struct nt_workers_host *host,
		     struct event_base *base)
{
	struct nt_workers *wk;
	int ret;

	*out = NULL;
	if (n <= 1)
		return 0;
	wk = calloc(1, sizeof(*wk));
	if (!wk)
		return -ENOMEM;
	*out = wk;
	wk->host = *host;
	wk->n = n;
	wk->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wk->wake_fd < 0)
		return -errno;
	wk->ev_wake = event_new(base, wk->wake_fd, EV_READ | EV_PERSIST, on_wake, wk);
	wk->ev_publish = event_new(base, -1, 0, on_publish, wk);
	if (!wk->ev_wake || !wk->ev_publish || event_add(wk->ev_wake, NULL) < 0)
		return -ENOMEM;
	wk->snap = nt_snapshot_build(wk->host.peers, wk->host.route, ++wk->gen, nt_now_ms());
	if (!wk->snap)
		return -ENOMEM;
	for (unsigned int i = 1; i < n; i++) {
		ret = worker_new(wk, i, &wk->w[i]);
		if (ret < 0)
			return ret;
	}
	/*
	 * Data frames to the worker their session index names; everything else to the loop,
	 * but for the last handshake message: it goes the way the session's first frames will
	 * (it names the same index there), and that worker hands it to the loop before them,
	 * so the loop has the keypair when it reads them.
	 */
	ret = nt_udp_steer(host->udp, NT_MSG_DATA, NT_HS_MSG_FIN, 4, n);
	if (ret < 0)
		log_warnx("udp port %u: cannot steer frames to workers by session (%s): spread by address instead",
			  host->udp->port, strerror(-ret));
	for (unsigned int i = 1; i < n; i++) {
		ret = pthread_create(&wk->w[i]->thread, NULL, worker_main, wk->w[i]);
		if (ret)
			return -ret;
		wk->w[i]->running = true;
	}
	return 0;
}

void nt_workers_stop(struct nt_workers *wk)
{
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
}

void nt_workers_tick(struct nt_workers *wk, uint64_t now)
{
	if (!wk)
		return;
	/* A fresh snapshot every second at least: a change nobody announced is never stale long. */
	if (wk->dirty || now - wk->published_ms >= 1000)
		publish(wk, now);
	else
		nt_snapshot_fold(wk->snap);
}

void nt_workers_status(struct nt_workers *wk, struct nt_status *st)
{
	struct nt_offload_status *o = &st->offload;

	if (!wk)
		return;
	st->n_workers = wk->n;
	for (unsigned int i = 1; i < wk->n; i++) {
		struct worker *w = wk->w[i];
		struct nt_engine_counters c;

		nt_engine_counters_read(&w->engine, &c);
		st->workers[i].tx_packets = c.tx_packets;
		st->workers[i].rx_packets = c.rx_packets;
		st->workers[i].handoffs_lost = NT_RELAXED_LOAD(w->ring_full);
		st->workers[i].waits = NT_RELAXED_LOAD(w->waits);
		st->memory.packet_buffers += w->engine.mem_size + RING_SIZE;
		st->rx_bytes += c.rx_bytes;
		st->tx_bytes += c.tx_bytes;
		for (unsigned int r = 0; r < NT_DROP_COUNT; r++)
			st->drops[r] += c.drops[r];
		o->tun_superpackets += c.superpackets;
		o->tun_segments += c.segments;
		o->tx_paused += c.tx_paused;
		o->udp_gso_sends += c.gso_sends;
		o->udp_gso_fallbacks += c.gso_fallbacks;
		o->udp_gro_receives += c.gro_receives;
		o->udp_gro_frames += c.gro_frames;
		o->tun_coalesced_writes += c.gro_writes;
		o->tun_coalesced_packets += c.gro_packets;
	}
}
