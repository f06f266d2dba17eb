// SPDX-License-Identifier: MIT
/*
 * The tunnel's scheduling (tunnel.c, handshakes.c, members.c) on a detached data plane with
 * a fake clock: a hint is retried with exponential backoff up to NT_HINT_BACKOFF_MAX_MS (no
 * second INIT while one is in flight); a budgeted hint stops drawing INITs when its budget is
 * spent, a member's PEX hint punching first (a low-TTL INIT, the same at full TTL 250 ms
 * later); attempts time out and let go of their index and their member; a member idle past
 * peer_idle_ms with nothing to keep it is killed and freed at the end of the tick, after
 * every observer of its going ran; and a dead member is invisible until it is freed.
 *
 * To count the INITs the node sends, the test runs in a network namespace of its own (made
 * with unshare: as root, or in a user namespace where the kernel allows it), where 192.0.2.0/24
 * is put on the loopback interface: the node's socket sends to the test's sockets bound there,
 * and nothing can leave the namespace. Without one, the tests that need it are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "tunnel/handshakes.h"
#include "tunnel_rig.h"

static struct rig rig;
static bool have_netns;

/* ---- the namespace ---- */

static bool write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, s, strlen(s)) == (ssize_t)strlen(s);
	close(fd);
	return ok;
}

/* Our own network namespace, loopback up, 192.0.2.0/24 local on it. */
static bool netns_enter(void)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	int s;

	if (unshare(CLONE_NEWNET) < 0) {
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned int)uid);
		if (!write_file("/proc/self/uid_map", map) ||
		    !write_file("/proc/self/setgroups", "deny"))
			return false;
		snprintf(map, sizeof(map), "0 %u 1", (unsigned int)gid);
		if (!write_file("/proc/self/gid_map", map))
			return false;
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	/* On loopback the /24's prefix route is a local one: every address in it is ours. */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo:1");
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	if (ioctl(s, SIOCSIFADDR, &ifr) < 0)
		goto fail;
	close(s);
	return true;
fail:
	close(s);
	return false;
}

/* ---- the rig ---- */

static int setup_socket(void **state)
{
	(void)state;
	if (!have_netns)
		return 0;
	rig_up(&rig, true);
	rig_udp_open(&rig, "");
	return 0;
}

static int teardown_socket(void **state)
{
	(void)state;
	if (have_netns)
		rig_down(&rig);
	return 0;
}

static int setup_detached(void **state)
{
	(void)state;
	rig_up(&rig, true);
	return 0;
}

static int teardown_detached(void **state)
{
	(void)state;
	rig_down(&rig);
	return 0;
}

#define NEED_NETNS()                                                                          \
	do {                                                                                  \
		if (!have_netns) {                                                            \
			print_message("no network namespace of our own: skipped\n");         \
			skip();                                                               \
		}                                                                             \
	} while (0)

/* A socket of the test's at ep (an address in 192.0.2.0/24), telling each datagram's TTL. */
static int listen_at(const char *ep, union nt_sockaddr *out)
{
	int one = 1, fd;

	*out = rig_addr(ep);
	fd = rig_listen(out);
	assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)), 0);
	return fd;
}

struct inits {
	unsigned int n, low_ttl; /* INITs, and how many of them left at the punch's TTL */
	uint8_t last[NT_HS_INIT_LEN];
};

/* Drains fd: the INITs that reached it since the last call. */
static struct inits inits_at(int fd)
{
	struct inits r = { 0 };

	for (;;) {
		uint8_t buf[2048];
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
		int ttl = -1;

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			return r;
		}
		assert_int_equal(n, NT_HS_INIT_LEN);
		assert_int_equal(buf[0], NT_HS_MSG_INIT);
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
				memcpy(&ttl, CMSG_DATA(c), sizeof(ttl));
		assert_true(ttl > 0);
		r.n++;
		r.low_ttl += ttl == NT_PUNCH_TTL;
		memcpy(r.last, buf, sizeof(r.last));
	}
}

static void tick(uint64_t now)
{
	nt_tunnel_tick(&rig.t, now);
}

static unsigned int attempts_used(void)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		n += rig.t.attempts[i].used;
	return n;
}

/* ---- hints ---- */

static void test_hint_backoff(void **state)
{
	union nt_sockaddr ep;
	uint64_t t = rig.t0, last_init;
	unsigned int sent = 0, refused = 0;
	struct nt_hint *h;
	int fd;

	(void)state;
	NEED_NETNS();
	fd = listen_at("192.0.2.30:51820", &ep);
	h = nt_tunnel_hint_add(&rig.t, NT_HINT_CONFIG, &ep, NULL, NT_HINT_BUDGET_UNLIMITED, t);
	assert_non_null(h);
	assert_int_equal(h->next_try_ms, t);
	assert_int_equal(h->backoff_ms, 1000);
	tick(t);
	assert_int_equal(inits_at(fd).n, 1);
	assert_int_equal(attempts_used(), 1);
	last_init = t;
	assert_int_equal(h->backoff_ms, 2000);
	assert_in_range(h->next_try_ms, t + 1000, t + 1250);
	for (unsigned int i = 0; i < 12; i++) {
		uint64_t due = h->next_try_ms;
		uint32_t b = h->backoff_ms;
		bool in_flight = due - last_init < NT_HS_ATTEMPT_TIMEOUT_MS;

		/* Nothing before it is due... */
		tick(due - 1);
		assert_int_equal(inits_at(fd).n, 0);
		assert_int_equal(h->next_try_ms, due);
		assert_int_equal(h->backoff_ms, b);
		/* ...then one INIT, unless the last one is still waiting for its answer. */
		tick(due);
		assert_int_equal(inits_at(fd).n, in_flight ? 0 : 1);
		if (in_flight) {
			refused++;
		} else {
			sent++;
			last_init = due;
		}
		assert_int_equal(attempts_used(), 1);
		/* The next try after the backoff (a quarter more at most), which doubles to a cap. */
		assert_in_range(h->next_try_ms, due + b, due + b + b / 4);
		assert_int_equal(h->backoff_ms, NT_MIN(2 * b, (uint32_t)NT_HINT_BACKOFF_MAX_MS));
	}
	assert_int_equal(h->backoff_ms, NT_HINT_BACKOFF_MAX_MS);
	/* Tries 2 and 3 (after ~1 s and ~3 s) find the first INIT in flight; later ones do not. */
	assert_int_equal(refused, 2);
	assert_int_equal(sent, 10);
	assert_true(h->used);
	assert_int_equal(h->expires_ms, 0);
	close(fd);
}

/*
 * try_hint()'s rule for a metered hint, for the model below: a punch costs two INITs and
 * becomes a plain INIT when only one is paid for; nothing when the budget does not cover it;
 * and nothing is charged while an INIT to the endpoint is in flight.
 */
struct model {
	uint32_t budget;
	uint64_t last_init;
	bool any;
};

static unsigned int model_try(struct model *m, bool pex, uint64_t now, bool *punch)
{
	uint32_t cost = (pex ? 2 : 1) * NT_HS_INIT_LEN;

	*punch = pex;
	if (pex && m->budget < cost) {
		*punch = false;
		cost = NT_HS_INIT_LEN;
	}
	if (m->budget < cost)
		return 0;
	if (m->any && now - m->last_init < NT_HS_ATTEMPT_TIMEOUT_MS)
		return 0;
	m->budget -= cost;
	m->last_init = now;
	m->any = true;
	return 1;
}

static void run_budgeted(enum nt_hint_source src, const char *where, uint32_t budget,
			 unsigned int want_tries_with_init, unsigned int want_datagrams)
{
	bool pex = src == NT_HINT_PEX, punch;
	struct model m = { 0 };
	unsigned int datagrams = 0, tries_with_init = 0;
	union nt_sockaddr ep;
	struct nt_hint *h;
	struct inits got;
	uint64_t t = rig.t0;
	int fd = listen_at(where, &ep);

	h = nt_tunnel_hint_add(&rig.t, src, &ep, NULL, budget, t);
	assert_non_null(h);
	m.budget = h->budget;
	assert_int_equal(m.budget, NT_MIN(NT_MAX(budget, (uint32_t)NT_HS_INIT_LEN), 4u * NT_HS_INIT_LEN));
	for (unsigned int i = 0; i < 20; i++) {
		uint64_t due = h->next_try_ms;
		unsigned int want = model_try(&m, pex, due, &punch);

		tick(due);
		got = inits_at(fd);
		/* A punch: the low-TTL INIT now, the same INIT at full TTL 250 ms later. */
		assert_int_equal(got.n, want);
		assert_int_equal(got.low_ttl, want && punch ? 1 : 0);
		if (want && punch) {
			uint8_t first[NT_HS_INIT_LEN];

			memcpy(first, got.last, sizeof(first));
			tick(due + NT_PUNCH_DELAY_MS - 1);
			assert_int_equal(inits_at(fd).n, 0);
			tick(due + NT_PUNCH_DELAY_MS);
			got = inits_at(fd);
			assert_int_equal(got.n, 1);
			assert_int_equal(got.low_ttl, 0);
			assert_memory_equal(got.last, first, sizeof(first));
			datagrams++;
		}
		datagrams += want;
		tries_with_init += want;
		assert_int_equal(h->budget, m.budget);
		assert_true(h->next_try_ms > due);
	}
	assert_int_equal(tries_with_init, want_tries_with_init);
	assert_int_equal(datagrams, want_datagrams);
	assert_int_equal(h->budget, 0);
	close(fd);
}

static void test_hint_budget_dht(void **state)
{
	(void)state;
	NEED_NETNS();
	/* Named for nothing: one INIT, then never again (twenty tries, over minutes). */
	run_budgeted(NT_HINT_DHT, "192.0.2.40:51820", 0, 1, 1);
}

static void test_hint_budget_pex(void **state)
{
	(void)state;
	NEED_NETNS();
	/* Three INITs paid: a punch (two datagrams), then one plain INIT, then nothing. */
	run_budgeted(NT_HINT_PEX, "192.0.2.41:51820", 3 * NT_HS_INIT_LEN, 2, 3);
}

static void test_hint_budget_ledger(void **state)
{
	(void)state;
	NEED_NETNS();
	/* Four INITs at most, one per try once the previous one timed out. */
	run_budgeted(NT_HINT_LEDGER, "192.0.2.42:51820", 100000, 4, 4);
}

/* ---- attempts ---- */

static void test_attempt_timeout(void **state)
{
	union nt_sockaddr ep, mep, pep;
	uint64_t t = rig.t0;
	struct nt_attempt *a = NULL;
	struct member m;
	struct inits got;
	int fd, mfd, pfd, saved;

	(void)state;
	NEED_NETNS();
	fd = listen_at("192.0.2.50:51820", &ep);
	mfd = listen_at("192.0.2.51:51820", &mep);
	pfd = listen_at("192.0.2.52:51820", &pep);
	assert_true(nt_tunnel_initiate(&rig.t, &ep, NULL, t, false, false));
	got = inits_at(fd);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.low_ttl, 0);
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		if (rig.t.attempts[i].used)
			a = &rig.t.attempts[i];
	assert_non_null(a);
	assert_true(a->initiator);
	assert_ptr_equal(nt_index_lookup(&rig.dp.index, a->local_index, NT_INDEX_HANDSHAKE), a);
	/* One attempt per endpoint at a time. */
	assert_false(nt_tunnel_initiate(&rig.t, &ep, NULL, t + 100, false, false));
	assert_int_equal(inits_at(fd).n, 0);
	/* A punch: low TTL now, full TTL at +250 ms, nothing more. */
	assert_true(nt_tunnel_initiate(&rig.t, &pep, NULL, t, true, false));
	got = inits_at(pfd);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.low_ttl, 1);
	nt_tunnel_handshakes_tick(&rig.t, t + NT_PUNCH_DELAY_MS - 1);
	assert_int_equal(inits_at(pfd).n, 0);
	nt_tunnel_handshakes_tick(&rig.t, t + NT_PUNCH_DELAY_MS);
	got = inits_at(pfd);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.low_ttl, 0);
	nt_tunnel_handshakes_tick(&rig.t, t + NT_PUNCH_DELAY_MS + 1);
	assert_int_equal(inits_at(pfd).n, 0);
	/* A member's rekey: the attempt is its handshake, at most one at a time. */
	member_bare(&rig, &m, t);
	nt_tunnel_path_seen(&rig.t, m.p, &mep, NULL, true);
	nt_tunnel_want_handshake(&rig.t, m.p, t + 1000);
	assert_int_equal(inits_at(mfd).n, 1);
	assert_non_null(m.p->handshake);
	assert_in_range(m.p->handshake_due_ms, t + 1000 + NT_REKEY_TIMEOUT_MS,
			t + 1000 + NT_REKEY_TIMEOUT_MS + NT_REKEY_TIMEOUT_MS / 4);
	nt_tunnel_want_handshake(&rig.t, m.p, t + 2000);
	assert_int_equal(inits_at(mfd).n, 0);
	assert_int_equal(attempts_used(), 3);
	/* The first and the punch time out at +5 s; the member's, begun 1 s later, at +6 s. */
	nt_tunnel_handshakes_tick(&rig.t, t + NT_HS_ATTEMPT_TIMEOUT_MS - 1);
	assert_int_equal(attempts_used(), 3);
	nt_tunnel_handshakes_tick(&rig.t, t + NT_HS_ATTEMPT_TIMEOUT_MS);
	assert_int_equal(attempts_used(), 1);
	assert_false(a->used);
	assert_null(nt_index_lookup(&rig.dp.index, a->local_index, NT_INDEX_HANDSHAKE));
	assert_non_null(m.p->handshake);
	nt_tunnel_handshakes_tick(&rig.t, t + 1000 + NT_HS_ATTEMPT_TIMEOUT_MS - 1);
	assert_non_null(m.p->handshake);
	nt_tunnel_handshakes_tick(&rig.t, t + 1000 + NT_HS_ATTEMPT_TIMEOUT_MS);
	assert_null(m.p->handshake);
	assert_int_equal(attempts_used(), 0);
	assert_int_equal(rig.dp.index.count, 0);
	/* The endpoint may be tried again now. */
	assert_true(nt_tunnel_initiate(&rig.t, &ep, NULL, t + NT_HS_ATTEMPT_TIMEOUT_MS, false, false));
	assert_int_equal(inits_at(fd).n, 1);
	/* An INIT that cannot be sent leaves no attempt behind, and is counted. */
	saved = rig.dp.udp.fd;
	rig.dp.udp.fd = -1;
	assert_false(nt_tunnel_initiate(&rig.t, &mep, NULL, t + 7000, false, false));
	rig.dp.udp.fd = saved;
	assert_int_equal(rig.dp.drops[NT_DROP_UDP_SEND], 1);
	assert_int_equal(attempts_used(), 1);
	close(fd);
	close(mfd);
	close(pfd);
}

/* ---- members ---- */

/* Observer of members about to be freed: what it could see of the world at that moment. */
static struct {
	unsigned int calls;
	struct nt_peer *p;
	bool in_table, dead, visible;
	bool hint_let_go, pairs_let_go, via_still_set;
	struct nt_hint *hint;
	struct nt_peer *relayed; /* a member relayed through the one going */
} spy;

static void spy_gone(void *ctx, struct nt_peer *p)
{
	struct rig *r = ctx;

	spy.calls++;
	spy.p = p;
	spy.in_table = nt_peer_lookup_any(&r->dp.peers, p->id) == p;
	spy.dead = p->dead;
	spy.visible = nt_peer_lookup(&r->dp.peers, p->id) != NULL;
	/* The tunnel's own observers were registered first and have run. */
	spy.hint_let_go = spy.hint && spy.hint->told_by == NULL;
	spy.pairs_let_go = true;
	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++)
		if (r->t.relay_pairs[i].src == p || r->t.relay_pairs[i].dst == p)
			spy.pairs_let_go = false;
	spy.via_still_set = spy.relayed && spy.relayed->via == p;
}

static void test_idle_member_reaped(void **state)
{
	union nt_sockaddr hep = rig_addr("203.0.113.5:51820");
	uint64_t t = rig.t0;
	struct member x, holder, staged, live, relayed;
	uint8_t pkt[28] = { 0x45 }, xid[32];
	unsigned int before;

	(void)state;
	memset(&spy, 0, sizeof(spy));
	assert_int_equal(nt_tunnel_members_observe(&rig.t, false, spy_gone, &rig), 0);
	rig.t.peer_idle_ms = 60000;
	member_bare(&rig, &x, t);
	memcpy(xid, x.pk, 32);
	/* Kept though as idle: an address claimed, packets waiting, a live session. */
	member_bare(&rig, &holder, t);
	holder.p->n_addresses = 1;
	member_bare(&rig, &staged, t);
	nt_peer_stage(staged.p, pkt, sizeof(pkt));
	member_new(&rig, &live, NULL, t);
	/* Pointers to x: a hint it told us, a relay pair, a member it relays for. */
	spy.hint = nt_tunnel_hint_add(&rig.t, NT_HINT_PEX, &hep, NULL, 0, t);
	spy.hint->told_by = x.p;
	rig.t.relay_pairs[3] = (struct nt_relay_pair){ .src = holder.p, .dst = x.p, .last_ms = t };
	member_bare(&rig, &relayed, t);
	relayed.p->n_addresses = 1;
	relayed.p->via = x.p;
	relayed.p->path = NT_PATH_RELAYED;
	spy.relayed = relayed.p;
	before = rig.dp.peers.count;
	assert_int_equal(before, 5);

	tick(t); /* looks for idle members, then not again for a second */
	tick(t + 60000 - 1);
	assert_int_equal(spy.calls, 0);
	/* Idle for a minute now, but the next look is at +60999. */
	live.p->session.last_received_ms = t + 60000; /* heard lately: alive */
	tick(t + 60998);
	assert_int_equal(spy.calls, 0);
	assert_int_equal(rig.dp.peers.count, before);
	tick(t + 60999);
	/* Killed, every observer told while it was still in the table, then freed. */
	assert_int_equal(spy.calls, 1);
	assert_ptr_equal(spy.p, x.p);
	assert_true(spy.in_table);
	assert_true(spy.dead);
	assert_false(spy.visible);
	assert_true(spy.hint_let_go);
	assert_true(spy.pairs_let_go);
	assert_true(spy.via_still_set); /* let go by the burial, after the observers */
	assert_int_equal(rig.dp.peers.count, before - 1);
	assert_null(nt_peer_lookup_any(&rig.dp.peers, xid));
	assert_int_equal(rig.t.n_dead, 0);
	assert_null(relayed.p->via);
	assert_int_equal(relayed.p->path, NT_PATH_NONE);
	assert_true(spy.hint->used); /* the hint itself stays */
	assert_non_null(nt_peer_lookup(&rig.dp.peers, holder.pk));
	assert_non_null(nt_peer_lookup(&rig.dp.peers, staged.pk));
	assert_non_null(nt_peer_lookup(&rig.dp.peers, live.pk));
	assert_non_null(nt_peer_lookup(&rig.dp.peers, relayed.pk));
	member_free(&live);
}

/* Killed members are invisible at once, freed at the end of the tick, and may come back. */
static void test_two_phase_removal(void **state)
{
	uint64_t t = rig.t0;
	struct member a, b;
	uint8_t aid[32];
	struct nt_peer *again;

	(void)state;
	memset(&spy, 0, sizeof(spy));
	assert_int_equal(nt_tunnel_members_observe(&rig.t, false, spy_gone, &rig), 0);
	member_new(&rig, &a, NULL, t);
	member_bare(&rig, &b, t);
	memcpy(aid, a.pk, 32);
	nt_tunnel_member_kill(&rig.t, a.p);
	nt_tunnel_member_kill(&rig.t, a.p); /* twice is once */
	assert_int_equal(rig.t.n_dead, 1);
	assert_null(nt_peer_lookup(&rig.dp.peers, aid));
	assert_ptr_equal(nt_peer_lookup_any(&rig.dp.peers, aid), a.p);
	/* Its identity cannot come back before it is freed... */
	assert_null(nt_tunnel_member_get(&rig.t, aid, NULL, NULL));
	assert_false(nt_tunnel_knows_member(&rig.t, aid, t));
	/* ...and it is freed only at the end of the tick. */
	assert_int_equal(rig.dp.peers.count, 2);
	assert_int_equal(spy.calls, 0);
	tick(t + 1);
	assert_int_equal(spy.calls, 1);
	assert_true(spy.in_table);
	assert_int_equal(rig.dp.peers.count, 1);
	/* Its keypair's index went with it. */
	assert_null(nt_index_lookup(&rig.dp.index, a.index, NT_INDEX_KEYPAIR));
	/* Now it may come back, as a new member. */
	again = nt_tunnel_member_get(&rig.t, aid, NULL, NULL);
	assert_non_null(again);
	assert_false(again->dead);
	assert_int_equal(rig.dp.peers.count, 2);
	assert_non_null(nt_peer_lookup(&rig.dp.peers, b.pk));
	member_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hint_backoff, setup_socket, teardown_socket),
		cmocka_unit_test_setup_teardown(test_hint_budget_dht, setup_socket, teardown_socket),
		cmocka_unit_test_setup_teardown(test_hint_budget_pex, setup_socket, teardown_socket),
		cmocka_unit_test_setup_teardown(test_hint_budget_ledger, setup_socket, teardown_socket),
		cmocka_unit_test_setup_teardown(test_attempt_timeout, setup_socket, teardown_socket),
		cmocka_unit_test_setup_teardown(test_idle_member_reaped, setup_detached, teardown_detached),
		cmocka_unit_test_setup_teardown(test_two_phase_removal, setup_detached, teardown_detached),
	};

	/* Before anything else: a process that has threads cannot enter a user namespace. */
	have_netns = netns_enter();
	if (!have_netns)
		print_message("test_tunnel: cannot make a network namespace (%s): the tests that "
			      "count INITs are skipped\n", strerror(errno));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
