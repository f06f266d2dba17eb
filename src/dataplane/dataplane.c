// SPDX-License-Identifier: MIT
/*
 * The loop's side of the data plane (dataplane.h): opening the TUN and the socket, the
 * engine ops that read the live tables (the workers' read snapshots instead, workers.c),
 * the slow path of the packets the engine does not send itself (staged for a handshake,
 * wrapped for a relay, answered with ICMP), the demultiplexer, and sending on a session.
 * Everything here runs in the loop thread; nothing allocates per packet.
 */
#include "dataplane/dataplane.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "dataplane/icmp.h"
#include "dataplane/workers.h"
#include "netron/keys.h"
#include "proto/control.h"
#include "proto/handshake.h"

enum { PLAIN_OFF = NT_ENGINE_PLAIN_OFF, PKT_OFF = NT_ENGINE_PKT_OFF };

/* A drop of what came from `from` (NULL: the TUN), logged with its source as the engine's are. */
static void drop_from(struct nt_dataplane *dp, enum nt_drop_reason r, const union nt_sockaddr *from)
{
	char buf[NT_SOCKADDR_STRLEN];

	dp->drops[r]++;
	log_ratelimited(&dp->rl_drop, NT_DBG_PACKET, "drop %s from %s", nt_drop_reason_name(r),
			from ? nt_sockaddr_format(from, buf, sizeof(buf)) : "tun");
}

void nt_dataplane_drop(struct nt_dataplane *dp, enum nt_drop_reason r)
{
	dp->drops[r]++;
	log_ratelimited(&dp->rl_drop, NT_DBG_PACKET, "drop %s", nt_drop_reason_name(r));
}

bool nt_dataplane_peer_is_alive(const struct nt_peer *p, uint64_t now)
{
	const struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	uint64_t heard;

	if (!kp && !(p->session.next && nt_session_keypair_can_receive(p->session.next, now)))
		return false;
	/*
	 * Live members send at least a keepalive every 25 s: silence past two is death. A
	 * session kept without keepalives (a neighbor on our own link: no NAT to keep open)
	 * hears from its member at each rekey, every two minutes.
	 */
	heard = NT_MAX(p->session.last_received_ms, p->connected_since_ms);
	if (kp)
		heard = NT_MAX(heard, kp->created_ms);
	if ((p->neighbor || p->keeps_us) && !p->session.persistent_keepalive_ms)
		return now - heard < nt_session_rekey_after_time_ms + NT_PEER_DEAD_MS;
	return now - heard < NT_PEER_DEAD_MS;
}

/* ---- sending ---- */

int nt_dataplane_send_raw(struct nt_dataplane *dp, const uint8_t *buf, size_t len,
			  const union nt_sockaddr *to, int ttl)
{
	int ret = nt_udp_send(&dp->udp, buf, len, to, ttl);

	if (ret < 0)
		dp->drops[NT_DROP_UDP_SEND]++;
	return ret;
}

int nt_dataplane_relay_send(struct nt_dataplane *dp, struct nt_peer *via, const uint8_t target[32],
			    const uint8_t *frame, size_t len)
{
	uint64_t now = nt_now_ms();
	struct nt_keypair *kp = nt_session_keypair_for_send(&via->session, now);
	uint8_t *buf = dp->relay_buf;
	size_t plain = 1 + NT_CTRL_RELAY_HDR + len;
	int ret;

	/* A relay must be reached directly: no relays of relays. */
	if (!kp || via->via || !via->has_endpoint)
		return -ENOTCONN;
	if (PLAIN_OFF + plain + NT_DATA_TAG_LEN > dp->buf_size)
		return -EMSGSIZE;
	buf[PLAIN_OFF] = NT_CTRL_RELAY;
	nt_control_relay_header(buf + PLAIN_OFF + 1, target);
	memmove(buf + PLAIN_OFF + 1 + NT_CTRL_RELAY_HDR, frame, len);
	ret = nt_session_keypair_encrypt(kp, buf, dp->buf_size, plain, now);
	if (ret < 0)
		return ret;
	ret = nt_dataplane_send_raw(dp, buf, plain + NT_DATA_OVERHEAD, &via->endpoint, 0);
	if (ret < 0)
		return ret;
	nt_session_sent(&via->session, now);
	return 0;
}

int nt_dataplane_emit(struct nt_dataplane *dp, struct nt_peer *p, const uint8_t *frame, size_t len)
{
	if (p->via)
		return nt_dataplane_relay_send(dp, p->via, p->id, frame, len);
	if (!p->has_endpoint)
		return -ENOTCONN;
	return nt_dataplane_send_raw(dp, frame, len, &p->endpoint, 0);
}

int nt_dataplane_send_plain(struct nt_dataplane *dp, struct nt_peer *p, uint8_t *buf,
			    size_t plain_len, const union nt_sockaddr *to)
{
	uint64_t now = nt_now_ms();
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	int ret;

	if (!kp || (!to && !p->has_endpoint && !p->via))
		return -ENOTCONN;
	ret = nt_session_keypair_encrypt(kp, buf, dp->buf_size, plain_len, now);
	if (ret < 0)
		return ret;
	ret = to ? nt_dataplane_send_raw(dp, buf, plain_len + NT_DATA_OVERHEAD, to, 0) :
		   nt_dataplane_emit(dp, p, buf, plain_len + NT_DATA_OVERHEAD);
	if (ret < 0)
		return ret;
	nt_session_sent(&p->session, now);
	return 0;
}

/* One IP packet to p on the slow path: through its relay, or staged for a handshake. */
static void slow_packet(struct nt_dataplane *dp, struct nt_peer *p, const uint8_t *pkt, size_t len,
			uint64_t now)
{
	struct nt_keypair *kp = nt_session_keypair_for_send(&p->session, now);
	uint8_t *buf = dp->scratch;

	if (kp && p->via && PKT_OFF + len + NT_DATA_TAG_LEN <= dp->buf_size) {
		/* The relayed path is the slow path: wrapped and sent one by one. */
		buf[PLAIN_OFF] = NT_DATA_INNER_IP;
		memcpy(buf + PKT_OFF, pkt, len);
		if (nt_dataplane_send_plain(dp, p, buf, len + 1, NULL) == 0) {
			p->tx_bytes += len;
			p->tx_packets++;
			dp->tx_bytes += len;
			return;
		}
	}
	nt_peer_stage(p, pkt, len);
	if (dp->hooks.want_handshake)
		dp->hooks.want_handshake(dp->hooks.ctx, p, now);
}

void nt_dataplane_flush_staged(struct nt_dataplane *dp, struct nt_peer *p)
{
	uint8_t *buf = dp->scratch;

	while (p->staged_count) {
		unsigned int slot = p->staged_head;
		size_t len = p->staged_len[slot];

		if (PKT_OFF + len + NT_DATA_TAG_LEN > dp->buf_size)
			break;
		buf[PLAIN_OFF] = NT_DATA_INNER_IP;
		memcpy(buf + PKT_OFF, p->staged + (size_t)slot * p->staged_cap, len);
		if (nt_dataplane_send_plain(dp, p, buf, len + 1, NULL) < 0)
			break;
		p->tx_bytes += len;
		p->tx_packets++;
		dp->tx_bytes += len;
		p->staged_head = (p->staged_head + 1) % NT_STAGED_MAX;
		p->staged_count--;
	}
	if (!p->staged_count && p->staged) {
		free(p->staged); /* back to no memory until a packet waits again */
		p->staged = NULL;
		p->staged_head = 0;
	}
}

/* An address nobody holds: "unreachable" back to the TUN at once, 20 a second at most. */
static void reply_unreachable(struct nt_dataplane *dp, const uint8_t *pkt, size_t len, uint64_t now)
{
	size_t n;

	if (now - dp->icmp_window_ms >= 1000) {
		dp->icmp_window_ms = now;
		dp->icmp_in_window = 0;
	}
	if (dp->icmp_in_window >= NT_ICMP_REPLIES_PER_S)
		return;
	n = nt_icmp_unreachable(pkt, len, dp->scratch, dp->buf_size);
	if (n && nt_tun_write(&dp->tun, dp->scratch, n) > 0) {
		dp->icmp_in_window++;
		log_ratelimited(&dp->rl_icmp_log, NT_DBG_PACKET, "no member owns the destination: ICMP unreachable sent");
	}
}

/* ---- the loop's engine ops: the live tables ---- */

/* The relay context of a frame being handled (NULL: it came from the socket). */
struct via {
	struct nt_peer *peer;
	const uint8_t *id;
};

static enum nt_engine_route loop_route(void *ctx, int family, const uint8_t *dst, uint64_t now,
				       struct nt_engine_dest *dest)
{
	struct nt_dataplane *dp = ctx;
	struct nt_peer *p = nt_route_lookup(&dp->route, family, dst);
	struct nt_keypair *kp;

	if (!p)
		return NT_ENGINE_NO_MEMBER;
	kp = nt_session_keypair_for_send(&p->session, now);
	if (!kp || p->via || !p->has_endpoint)
		return NT_ENGINE_SLOW;
	dest->kp = kp;
	dest->endpoint = &p->endpoint;
	dest->member = p;
	return NT_ENGINE_FAST;
}

static void loop_packet(void *ctx, enum nt_engine_route r, const uint8_t *pkt, size_t len,
			uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	const uint8_t *src, *dst;
	struct nt_peer *p;
	int family;

	if (!nt_ip_addrs(pkt, len, &family, &src, &dst))
		return;
	p = r == NT_ENGINE_NO_MEMBER ? NULL : nt_route_lookup(&dp->route, family, dst);
	if (!p && dp->no_route.fn && dp->no_route.fn(dp->no_route.ctx, family, dst, pkt, len, now))
		return;
	if (!p) {
		drop_from(dp, NT_DROP_NO_ROUTE, NULL);
		reply_unreachable(dp, pkt, len, now);
		return;
	}
	slow_packet(dp, p, pkt, len, now);
}

static void loop_sent(void *ctx, const struct nt_engine_dest *dest, uint64_t bytes, uint64_t packets,
		      uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	struct nt_peer *p = dest->member;

	/* The node's totals are the engine's own counters: only the member's are ours. */
	p->tx_bytes += bytes;
	p->tx_packets += packets;
	nt_session_sent(&p->session, now);
	if (nt_session_needs_rekey(&p->session, now) && dp->hooks.want_handshake)
		dp->hooks.want_handshake(dp->hooks.ctx, p, now);
}

static struct nt_keypair *loop_key(void *ctx, uint32_t index, void **member)
{
	struct nt_dataplane *dp = ctx;
	struct nt_keypair *kp = nt_index_lookup(&dp->index, index, NT_INDEX_KEYPAIR);

	*member = kp ? kp->owner : NULL;
	return kp;
}

/*
 * An authenticated frame of p on kp (decrypted here or by a worker): the session learns of
 * it, the control plane follows its address, a control message goes to its handler.
 */
static void authentic(struct nt_dataplane *dp, struct nt_peer *p, struct nt_keypair *kp,
		      uint8_t inner, const uint8_t *body, size_t len, bool malformed,
		      const union nt_sockaddr *from, const struct via *via, uint64_t now)
{
	if (dp->hooks.authenticated)
		dp->hooks.authenticated(dp->hooks.ctx, p, from, via ? via->peer : NULL, now);
	if (nt_session_received_with(&p->session, kp, !malformed && inner == NT_DATA_INNER_KEEPALIVE,
				     now)) {
		nt_dataplane_changed(dp);
		nt_dataplane_flush_staged(dp, p);
	}
	if (nt_session_needs_rekey_after_receive(&p->session, now) && dp->hooks.want_handshake)
		dp->hooks.want_handshake(dp->hooks.ctx, p, now);
	if (malformed) {
		drop_from(dp, NT_DROP_DATA_OTHER, from);
		return;
	}
	if (inner < NT_DATA_INNER_CONTROL)
		return;
	/* Every authentic control message nobody takes is counted, whatever its type. */
	if (inner >= NT_ARRAY_SIZE(dp->control) || !dp->control[inner].fn) {
		drop_from(dp, NT_DROP_CONTROL, from);
		return;
	}
	dp->control[inner].fn(dp->control[inner].ctx, p, inner, body, len, from,
			      via ? via->peer : NULL, now);
}

static void loop_authentic(void *ctx, void *member, struct nt_keypair *kp, const struct nt_data_rx *rx,
			   bool malformed, const union nt_sockaddr *from, const void *via, uint64_t now)
{
	authentic(ctx, member, kp, malformed ? 0 : rx->inner_type, rx->payload, rx->payload_len,
		  malformed, from, via, now);
}

static bool loop_holds(void *ctx, void *member, int family, const uint8_t *addr)
{
	struct nt_dataplane *dp = ctx;

	return nt_route_lookup(&dp->route, family, addr) == member;
}

static void loop_delivered(void *ctx, void *member, size_t bytes, uint64_t now)
{
	struct nt_peer *p = member;

	(void)ctx;
	(void)now;
	/* The engine counted it in the node's totals already. */
	p->rx_bytes += bytes;
	p->rx_packets++;
}

static bool dispatch(struct nt_dataplane *dp, enum nt_dp_proto proto, uint8_t *buf, size_t len,
		     const union nt_sockaddr *from, const struct via *via, uint64_t now)
{
	if (!dp->proto[proto].fn)
		return false;
	return dp->proto[proto].fn(dp->proto[proto].ctx, buf, len, from, via ? via->peer : NULL,
				   via ? via->id : NULL, now);
}

/* What the engine does not take as a data frame of a session we hold: by its first byte. */
static void loop_frame(void *ctx, uint8_t *buf, size_t len, const union nt_sockaddr *from,
		       const void *via_ctx, uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	const struct via *via = via_ctx;
	bool taken = false;

	switch (buf[0]) {
	case NT_MSG_DATA:
		/* No header of ours (too short, reserved bytes set): not a session's frame at all. */
		if (nt_session_frame_parse_header(buf, len, NULL, NULL) != NT_PKT_OK) {
			drop_from(dp, NT_DROP_TRUNCATED, from);
			return;
		}
		drop_from(dp, NT_DROP_UNKNOWN_INDEX, from);
		if (!via && dp->hooks.unknown_index)
			dp->hooks.unknown_index(dp->hooks.ctx, from, now);
		return;
	case 'd':
		if (via)
			return; /* a relay passes sessions' frames only */
		taken = dispatch(dp, NT_DP_DHT, buf, len, from, via, now);
		break;
	case 0x00:
	case 0x01:
		taken = !via && dispatch(dp, NT_DP_STUN, buf, len, from, via, now);
		break;
	case 0xE1: case 0xE2: case 0xE3: case 0xE4:
		taken = dispatch(dp, NT_DP_HANDSHAKE, buf, len, from, via, now);
		if (!taken)
			drop_from(dp, NT_DROP_HANDSHAKE, from);
		return;
	default:
		break;
	}
	if (!taken)
		drop_from(dp, NT_DROP_UNKNOWN_TYPE, from);
}

static const struct nt_engine_ops loop_ops = {
	.route = loop_route,
	.packet = loop_packet,
	.sent = loop_sent,
	.key = loop_key,
	.authentic = loop_authentic,
	.holds = loop_holds,
	.delivered = loop_delivered,
	.frame = loop_frame,
};

void nt_dataplane_on_frame(struct nt_dataplane *dp, uint8_t *buf, size_t len,
			   const union nt_sockaddr *from, struct nt_peer *via, const uint8_t *via_id,
			   uint64_t now)
{
	struct via v = { via, via_id };

	/*
	 * Every frame enters the loop here or in the engine's receive (a worker's, a relay's
	 * delivery, a fuzzer's), and nothing past this point copies more than buf_size.
	 */
	if (len == 0 || len > dp->buf_size) {
		drop_from(dp, len ? NT_DROP_OVERSIZED : NT_DROP_TRUNCATED, from);
		return;
	}
	nt_engine_rx_frame(&dp->engine, buf, len, from, via ? &v : NULL, now);
}

/* ---- what a worker hands over (workers.c calls these on the loop thread) ---- */

static void worker_frame(void *ctx, uint8_t *frame, size_t len, const union nt_sockaddr *from,
			 uint64_t now)
{
	nt_dataplane_on_frame(ctx, frame, len, from, NULL, NULL, now);
}

static void worker_authentic(void *ctx, uint32_t index, uint8_t inner, const uint8_t *body,
			     size_t len, bool malformed, const union nt_sockaddr *from, uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	struct nt_keypair *kp = nt_index_lookup(&dp->index, index, NT_INDEX_KEYPAIR);

	/* Dropped since: the frame was authentic, nothing more to do. */
	if (kp)
		authentic(dp, kp->owner, kp, inner, body, len, malformed, from, NULL, now);
}

static void worker_packet(void *ctx, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	struct virtio_net_hdr vh = { 0 };

	nt_engine_tun_packet(&dp->engine, &vh, pkt, len, now);
}

static void worker_rekey(void *ctx, const uint8_t id[32], uint64_t now)
{
	struct nt_dataplane *dp = ctx;
	struct nt_peer *p = nt_peer_lookup(&dp->peers, id);

	if (p && dp->hooks.want_handshake)
		dp->hooks.want_handshake(dp->hooks.ctx, p, now);
}

static void worker_flush(void *ctx)
{
	struct nt_dataplane *dp = ctx;

	nt_engine_flush(&dp->engine);
}

/* The session's release hook: a dropped keypair is freed once no worker can hold it. */
static void release_keypair(void *ctx, struct nt_keypair *kp)
{
	struct nt_dataplane *dp = ctx;

	nt_workers_release_keypair(dp->wk, kp);
}

/* ---- members ---- */

static void on_keypair_drop(void *ctx, struct nt_keypair *kp)
{
	struct nt_dataplane *dp = ctx;

	nt_index_remove(&dp->index, kp->local_index);
}

unsigned int nt_dataplane_lane_for(struct nt_dataplane *dp, const struct nt_peer *p)
{
	if (dp->n_workers <= 1)
		return 0;
	return p ? p->lane : dp->next_lane++ % dp->n_workers;
}

/* The worker with the fewest members: where a new member's sessions go. */
static unsigned int least_busy_lane(const struct nt_dataplane *dp)
{
	unsigned int count[NT_MAX_WORKERS] = { 0 }, best = 0;

	for (unsigned int i = 0; i < dp->peers.count; i++)
		count[dp->peers.peers[i]->lane % dp->n_workers]++;
	for (unsigned int l = 1; l < dp->n_workers; l++)
		if (count[l] < count[best])
			best = l;
	return best;
}

struct nt_peer *nt_dataplane_peer_new(struct nt_dataplane *dp, const uint8_t id[32])
{
	struct nt_peer *p = nt_peer_lookup_any(&dp->peers, id);
	unsigned int lane;

	if (p)
		return p->dead ? NULL : p;
	lane = dp->wk ? least_busy_lane(dp) : 0;
	p = nt_peer_new(&dp->peers, id, dp->opts->mtu + 64, on_keypair_drop, dp);
	if (!p)
		return NULL;
	/* With workers, a dropped keypair is freed once none of them can hold it. */
	if (dp->wk) {
		p->session.release = release_keypair;
		p->lane = lane;
	}
	p->created_ms = nt_now_ms();
	return p;
}

void nt_dataplane_peer_free(struct nt_dataplane *dp, struct nt_peer *p)
{
	nt_route_remove_owner(&dp->route, p);
	nt_workers_peer_gone(dp->wk, p);
	nt_peer_remove(&dp->peers, p);
}

/* ---- opening and closing ---- */

/*
 * The offloads to try: all of them, unless NETRON_OFFLOAD says "off" or lists the ones
 * wanted ("tun,gso,gro"): for troubleshooting a kernel or driver, and for the tests of a
 * member without them.
 */
enum { OFFLOAD_TUN = 1, OFFLOAD_GSO = 2, OFFLOAD_GRO = 4, OFFLOAD_ALL = 7 };

static unsigned int offloads_wanted(void)
{
	const char *env = getenv("NETRON_OFFLOAD");
	unsigned int want = 0;
	char buf[64], *save = NULL;

	if (!env || !*env || !strcmp(env, "on"))
		return OFFLOAD_ALL;
	snprintf(buf, sizeof(buf), "%s", env);
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!strcmp(w, "tun"))
			want |= OFFLOAD_TUN;
		else if (!strcmp(w, "gso"))
			want |= OFFLOAD_GSO;
		else if (!strcmp(w, "gro"))
			want |= OFFLOAD_GRO;
		else if (strcmp(w, "off"))
			log_warnx("NETRON_OFFLOAD: unknown offload \"%s\" ignored (tun, gso, gro, off)", w);
	}
	return want;
}

/* --workers: as asked, or one per CPU this process may run on (0). */
static unsigned int workers_wanted(unsigned int asked)
{
	cpu_set_t set;
	int n;

	if (asked)
		return asked < NT_MAX_WORKERS ? asked : NT_MAX_WORKERS;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > NT_MAX_WORKERS ? NT_MAX_WORKERS : (unsigned int)n;
}

/*
 * The loop's socket. With workers it shares its port (SO_REUSEPORT), so a socket bound
 * without sharing first proves nobody else holds the port: another netron, even of the
 * same user, is refused as without workers instead of quietly getting half our traffic.
 */
static int open_udp(struct nt_dataplane *dp, unsigned int flags)
{
	const struct nt_options *o = dp->opts;
	struct nt_udp probe;
	int ret;

	if (dp->n_workers <= 1)
		return nt_udp_open(&dp->udp, o->listen_host, o->listen_port, flags);
	ret = nt_udp_open(&probe, o->listen_host, o->listen_port, 0);
	if (ret < 0)
		return ret;
	nt_udp_close(&probe);
	return nt_udp_open(&dp->udp, o->listen_host, probe.port, flags | NT_UDP_REUSEPORT);
}

/*
 * The peer table, sized by --max-peers; the session index and route tables start small and
 * grow on demand up to what that many members need.
 */
static int init_tables(struct nt_dataplane *dp, const struct nt_options *opts)
{
	int ret = nt_peer_table_init(&dp->peers, opts->max_peers);

	if (ret == 0)
		ret = nt_index_table_init(&dp->index, dp->peers.cap);
	if (ret == 0)
		ret = nt_route_init(&dp->route, (size_t)dp->peers.cap * NT_MAX_ADDRESSES);
	return ret;
}

static int alloc_bufs(struct nt_dataplane *dp)
{
	dp->buf_size = NT_MTU_MAX + 256;
	dp->bufs = malloc(2 * dp->buf_size);
	if (!dp->bufs)
		return -ENOMEM;
	dp->scratch = dp->bufs;
	dp->relay_buf = dp->bufs + dp->buf_size;
	return 0;
}

/* What both ways of opening start with: the tables, the options, no file descriptors yet. */
static int begin(struct nt_dataplane *dp, const struct nt_options *opts, const struct nt_network_keys *keys)
{
	int ret;

	memset(dp, 0, sizeof(*dp));
	ret = init_tables(dp, opts);
	if (ret < 0)
		return ret;
	dp->opts = opts;
	dp->keys = keys;
	dp->tun.fd = dp->udp.fd = -1;
	return 0;
}

int nt_dataplane_open_detached(struct nt_dataplane *dp, const struct nt_options *opts,
			       const struct nt_network_keys *keys)
{
	int ret;

	ret = begin(dp, opts, keys);
	if (ret < 0)
		return ret;
	dp->n_workers = 1;
	/* The socket it would have: dual-stack, on the asked port; the TUN has no name. */
	dp->udp.family = AF_INET6;
	dp->udp.port = opts->listen_port;
	dp->tun.mtu = opts->mtu;
	ret = alloc_bufs(dp);
	if (ret < 0)
		return ret;
	ret = nt_engine_init(&dp->engine, &dp->tun, &dp->udp, dp->buf_size, &loop_ops, dp);
	if (ret < 0)
		return ret;
	dp->engine_ready = true;
	return 0;
}

int nt_dataplane_open(struct nt_dataplane *dp, const struct nt_options *opts,
		      const struct nt_network_keys *keys, struct event_base *base, struct nt_err *err)
{
	unsigned int offload = offloads_wanted();
	int ret;

	ret = begin(dp, opts, keys);
	if (ret < 0)
		return ret;
	dp->n_workers = workers_wanted(opts->workers);
	ret = open_udp(dp, (offload & OFFLOAD_GSO ? NT_UDP_OFFLOAD_GSO : 0) |
			   (offload & OFFLOAD_GRO ? NT_UDP_OFFLOAD_GRO : 0));
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot listen on UDP %.64s%s%u: %s%s",
			 opts->listen_host, opts->listen_host[0] ? ":" : "port ", opts->listen_port,
			 strerror(-ret), ret == -EADDRINUSE ? " (another netron running?)" : "");
		return ret;
	}
	dp->udp_open = true;
	log_info("listening on udp port %u", dp->udp.port);
	ret = nt_tun_open(&dp->tun, opts->ifname, opts->mtu,
			  offload & OFFLOAD_TUN ? NT_TUN_OFFLOAD_ON : NT_TUN_OFFLOAD_OFF, dp->n_workers > 1);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot create TUN interface %s: %s%s", opts->ifname,
			 strerror(-ret), ret == -EPERM ? " (needs root or CAP_NET_ADMIN)" :
					 ret == -EBUSY ? " (another program holds it)" : "");
		return ret;
	}
	dp->tun_open = true;
	ret = nt_tun_set_up(&dp->tun);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot bring %s up: %s", dp->tun.name, strerror(-ret));
		return ret;
	}
	ret = alloc_bufs(dp);
	if (ret == 0)
		ret = nt_engine_init(&dp->engine, &dp->tun, &dp->udp, dp->buf_size, &loop_ops, dp);
	if (ret == 0) {
		dp->engine_ready = true;
		ret = nt_engine_start(&dp->engine, base);
	}
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "packet path: %s", strerror(-ret));
		return ret;
	}
	log_info("offloads: tun %s, udp segmentation %s, udp receive coalescing %s",
		 !dp->tun.vnet ? "off" :
		 (dp->tun.offloads & TUN_F_TSO4) && (dp->tun.offloads & TUN_F_USO4) ? "tso+uso" :
		 dp->tun.offloads & TUN_F_TSO4 ? "tso" : "checksum only",
		 dp->udp.gso ? "on" : "off", dp->udp.gro ? "on" : "off");
	ret = nt_workers_start(&dp->wk, dp->n_workers, &(struct nt_workers_host){
		.tun = &dp->tun,
		.udp = &dp->udp,
		.listen_host = opts->listen_host,
		.keys = keys,
		.max_frame = dp->buf_size,
		.peers = &dp->peers,
		.route = &dp->route,
		.frame = worker_frame,
		.authentic = worker_authentic,
		.packet = worker_packet,
		.rekey = worker_rekey,
		.flush = worker_flush,
		.ctx = dp,
	}, base);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot start %u data-plane workers: %s",
			 dp->n_workers, strerror(-ret));
		return ret;
	}
	if (dp->n_workers > 1)
		log_info("data plane: %u workers (TUN queues and sockets on port %u)", dp->n_workers,
			 dp->udp.port);
	return 0;
}

void nt_dataplane_close(struct nt_dataplane *dp)
{
	nt_workers_stop(dp->wk);
	dp->wk = NULL;
	if (dp->engine_ready)
		nt_engine_uninit(&dp->engine);
	dp->engine_ready = false;
	nt_peer_table_free(&dp->peers);
	nt_index_table_uninit(&dp->index);
	nt_route_uninit(&dp->route);
	if (dp->tun_open)
		nt_tun_close(&dp->tun);
	if (dp->udp_open)
		nt_udp_close(&dp->udp);
	dp->tun_open = dp->udp_open = false;
	free(dp->bufs);
	dp->bufs = dp->scratch = dp->relay_buf = NULL;
}

void nt_dataplane_set_hooks(struct nt_dataplane *dp, const struct nt_dataplane_hooks *hooks)
{
	dp->hooks = *hooks;
}

void nt_dataplane_set_no_route(struct nt_dataplane *dp, nt_dp_no_route_fn *fn, void *ctx)
{
	dp->no_route.fn = fn;
	dp->no_route.ctx = ctx;
}

void nt_dataplane_set_proto(struct nt_dataplane *dp, enum nt_dp_proto proto, nt_dp_frame_fn *fn,
			    void *ctx)
{
	dp->proto[proto].fn = fn;
	dp->proto[proto].ctx = ctx;
}

void nt_dataplane_set_control(struct nt_dataplane *dp, uint8_t type, nt_dp_control_fn *fn, void *ctx)
{
	if (type < NT_DATA_INNER_CONTROL || type >= NT_ARRAY_SIZE(dp->control))
		return;
	dp->control[type].fn = fn;
	dp->control[type].ctx = ctx;
}

/* ---- workers, status ---- */

void nt_dataplane_publish(struct nt_dataplane *dp)
{
	nt_workers_publish(dp->wk);
}

void nt_dataplane_changed(struct nt_dataplane *dp)
{
	nt_workers_changed(dp->wk);
}

void nt_dataplane_tick(struct nt_dataplane *dp, uint64_t now)
{
	nt_workers_tick(dp->wk, now);
}

void nt_dataplane_expect_fin(struct nt_dataplane *dp, unsigned int slot, uint32_t index)
{
	nt_workers_expect_fin(dp->wk, slot, index);
}

void nt_dataplane_status(struct nt_dataplane *dp, struct nt_status *s)
{
	struct nt_engine_counters c;

	nt_engine_counters_read(&dp->engine, &c);
	snprintf(s->ifname, sizeof(s->ifname), "%s", dp->tun.name);
	s->listen_port = dp->udp.port;
	s->rx_bytes = c.rx_bytes;
	s->tx_bytes = dp->tx_bytes + c.tx_bytes;
	_Static_assert(NT_DROP_COUNT <= NT_ARRAY_SIZE(s->drops), "struct nt_status drops[] too small");
	for (unsigned int i = 0; i < NT_DROP_COUNT; i++)
		s->drops[i] += dp->drops[i] + c.drops[i];
	s->offload = (struct nt_offload_status){
		.tun_vnet = dp->tun.vnet,
		.tun_tso = dp->tun.offloads & TUN_F_TSO4,
		.tun_uso = dp->tun.offloads & TUN_F_USO4,
		.udp_gso = dp->udp.gso,
		.udp_gro = dp->udp.gro,
		.tun_superpackets = c.superpackets,
		.tun_segments = c.segments,
		.udp_gso_sends = c.gso_sends,
		.udp_gso_fallbacks = c.gso_fallbacks,
		.udp_gro_receives = c.gro_receives,
		.udp_gro_frames = c.gro_frames,
		.tun_coalesced_writes = c.gro_writes,
		.tun_coalesced_packets = c.gro_packets,
		.tx_paused = c.tx_paused,
	};
	s->n_workers = 1;
	s->workers[0].tx_packets = c.tx_packets;
	s->workers[0].rx_packets = c.rx_packets;
	s->memory.packet_buffers += 2 * dp->buf_size + dp->engine.mem_size +
				    nt_peer_table_staged_bytes(&dp->peers);
	s->memory.tables += nt_peer_table_bytes(&dp->peers) + nt_index_table_bytes(&dp->index) +
			    nt_route_bytes(&dp->route);
	nt_workers_status(dp->wk, s);
}
