/* SPDX-License-Identifier: MIT */
/*
 * A tunnel on a detached data plane for the unit tests of tunnel/ (test_hints, test_relay,
 * test_tunnel): no TUN, and no socket unless a test opens one on an address it owns; an
 * ephemeral identity, random network keys, and a clock the test moves by hand. Members are
 * made as a completed handshake makes them (nt_tunnel_member_get, a keypair in the index
 * and the session, a proven endpoint), each with the member's side of its keypair, so a
 * test can seal what the node opens and open what the node sends.
 *
 * The clock: the tunnel's own functions take `now`, but a few paths read the real clock
 * (nt_dataplane_send_plain encrypts at nt_now_ms(), a new peer's created_ms). So the fake
 * clock starts at the real one, and keypairs are created at that start, never after: both
 * clocks then find them young.
 */
#ifndef NT_TEST_TUNNEL_RIG_H
#define NT_TEST_TUNNEL_RIG_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"
#include "core/resolve.h"
#include "dataplane/dataplane.h"
#include "proto/control.h"
#include "tunnel/announce.h"
#include "tunnel/path.h"
#include "tunnel/tunnel.h"

struct rig {
	struct nt_options opts;
	struct nt_identity *id;
	struct nt_network_keys *keys;
	struct nt_resolver resolver;
	struct nt_dataplane dp;
	struct nt_tunnel t;
	bool udp_ours; /* rig_udp_open: closed by rig_down */
	uint64_t t0; /* the fake clock's start: the real clock at rig_up */
};

/* A member as the node sees it (p) and the member's side of the session (mirror). */
struct member {
	uint8_t pk[32];
	struct nt_peer *p;
	struct nt_keypair *mirror; /* seals frames to the node, opens the node's */
	uint32_t index; /* the node's local index of the keypair mirror talks to */
};

static inline void rig_log_discard(void *ctx, enum nt_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static inline unsigned int rig_no_addresses(void *ctx, struct nt_cidr *out, unsigned int max)
{
	(void)ctx;
	(void)out;
	(void)max;
	return 0;
}

static inline void rig_up(struct rig *r, bool relay)
{
	memset(r, 0, sizeof(*r));
	assert_true(sodium_init() >= 0);
	nt_log_set_callback(rig_log_discard, NULL);
	nt_options_init(&r->opts);
	r->opts.relay = relay;
	r->opts.n_bootstrap = 0;
	r->opts.max_peers = 1024; /* tests fill it */
	assert_int_equal(nt_identity_new_ephemeral(&r->id), 0);
	r->keys = sodium_malloc(sizeof(*r->keys));
	assert_non_null(r->keys);
	memset(r->keys, 0, sizeof(*r->keys));
	randombytes_buf(r->keys->psk, sizeof(r->keys->psk));
	randombytes_buf(r->keys->mac1_key, sizeof(r->keys->mac1_key));
	randombytes_buf(r->keys->cookie_key, sizeof(r->keys->cookie_key));
	nt_resolver_init(&r->resolver);
	assert_int_equal(nt_dataplane_open_detached(&r->dp, &r->opts, r->keys), 0);
	assert_int_equal(nt_tunnel_start(&r->t, &(struct nt_tunnel_host){
		.opts = &r->opts,
		.id = r->id,
		.keys = r->keys,
		.dp = &r->dp,
		.resolver = &r->resolver,
		.hostname = "rig",
		.addresses = rig_no_addresses,
	}), 0);
	r->t0 = nt_now_ms();
}

/* The node's socket, bound on host (an address of this machine or of the test's netns). */
static inline void rig_udp_open(struct rig *r, const char *host)
{
	assert_int_equal(nt_udp_open(&r->dp.udp, host, 0, 0), 0);
	r->udp_ours = true;
}

static inline void rig_down(struct rig *r)
{
	nt_tunnel_stop(&r->t);
	if (r->udp_ours)
		nt_udp_close(&r->dp.udp);
	nt_dataplane_close(&r->dp);
	nt_resolver_free(&r->resolver);
	nt_network_keys_free(r->keys);
	nt_identity_free(r->id);
}

/* A member for a fresh identity, with no session: what nt_tunnel_member_get makes. */
static inline void member_bare(struct rig *r, struct member *m, uint64_t now)
{
	uint8_t sk[64];

	memset(m, 0, sizeof(*m));
	crypto_sign_keypair(m->pk, sk);
	sodium_memzero(sk, sizeof(sk));
	m->p = nt_tunnel_member_get(&r->t, m->pk, NULL, NULL);
	assert_non_null(m->p);
	m->p->created_ms = now; /* as if made on the fake clock */
}

/*
 * A member with a session (we initiated it at r->t0, so it is current at once) and, when
 * ep is given, a proven endpoint there: what complete() leaves behind.
 */
static inline void member_new(struct rig *r, struct member *m, const union nt_sockaddr *ep,
			      uint64_t now)
{
	uint8_t k1[NT_DATA_KEY_LEN], k2[NT_DATA_KEY_LEN];
	struct nt_keypair *kp;

	member_bare(r, m, now);
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	assert_int_equal(nt_session_keypair_new(&kp, k1, k2, 0, 0x5000 + r->dp.peers.count, true,
						r->t0), 0);
	assert_int_equal(nt_index_add(&r->dp.index, NT_INDEX_KEYPAIR, kp, r->dp.n_workers, 0,
				      &kp->local_index), 0);
	assert_int_equal(nt_session_keypair_new(&m->mirror, k2, k1, kp->remote_index, kp->local_index,
						false, r->t0), 0);
	m->index = kp->local_index;
	kp->owner = m->p;
	nt_session_keypair_install(&m->p->session, kp);
	nt_dataplane_publish(&r->dp);
	if (ep)
		nt_tunnel_path_seen(&r->t, m->p, ep, NULL, true);
	m->p->connected_since_ms = now;
}

static inline void member_free(struct member *m)
{
	nt_session_keypair_free(m->mirror);
	m->mirror = NULL;
}

/* A frame from member m to the node: inner type and body sealed on its keypair. */
static inline size_t member_seal(struct member *m, uint8_t *buf, size_t cap, uint8_t inner,
				 const uint8_t *body, size_t len, uint64_t now)
{
	buf[NT_DATA_HEADER_LEN] = inner;
	memmove(buf + NT_DATA_HEADER_LEN + 1, body, len);
	assert_int_equal(nt_session_keypair_encrypt(m->mirror, buf, cap, 1 + len, now), 0);
	return 1 + len + NT_DATA_OVERHEAD;
}

static inline union nt_sockaddr rig_addr(const char *s)
{
	union nt_sockaddr a;

	assert_true(nt_sockaddr_parse(s, &a));
	return a;
}

/* A UDP socket of the test's bound to ep (its port 0: any), non-blocking; ep gets the port. */
static inline int rig_listen(union nt_sockaddr *ep)
{
	socklen_t len = nt_sockaddr_len(ep);
	int fd = socket(ep->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &ep->sa, len), 0);
	assert_int_equal(getsockname(fd, &ep->sa, &len), 0);
	return fd;
}

static inline uint64_t rig_drops(const struct rig *r, enum nt_drop_reason why)
{
	return r->dp.drops[why] + r->dp.engine.c.drops[why];
}

#endif
