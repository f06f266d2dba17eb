// SPDX-License-Identifier: MIT
/*
 * nt_attack's outsider actions (issue 13, findings 2, 3, 7 and 8): no token is used, so by
 * the README's promise nothing sent here may get an answer beyond DHT and STUN basics, or
 * delay a member's handshakes or data.
 *   random-index  33-byte 0xE5 frames with random receiver indices from many sources
 *   hs-junk       0xE1 handshake junk (wrong mac1) at a high rate, from a member's address
 *   fin-data      a 0xE3 datagram, then a 0xE5 frame with the same index (workers wait)
 *   fin-replay    the same with a FIN whose mac1 is right: one of a handshake long over,
 *                 as anyone on a member's path has seen (the token is used only to make one)
 *   dht-flood     get_peers/find_node/ping after 32 announce_peer from one source (and,
 *                 optionally, "neighbours": pings from other addresses, which then
 *                 answer the node's queries, so its table is as full as in the public DHT)
 *   stun-flood    Binding requests from one source
 * Spoofed sources go out through the raw socket; replies to 203.0.113.0/24 reach our own
 * socket when the scenario routes that prefix to us and makes it local here (AnyIP), so
 * every datagram the node sends back is counted. Each action reports what it sent and what
 * came back from the node's address (UDP payload bytes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "attack.h"
#include "discovery/dht_rpc.h"
#include "discovery/stun.h"

/* Pumps until the i-th of a series sent at rate per second from t0 is due. */
static void pace(struct harness *h, uint64_t t0, uint64_t i, uint64_t rate)
{
	uint64_t due = t0 + i * 1000 / rate, now = nt_now_ms();

	if (now < due)
		attack_pump(h, due - now);
}

static bool source_base(const struct attack_args *a, const struct harness *h, union nt_sockaddr *out)
{
	const char *from = attack_opt(a, "from");

	memset(out, 0, sizeof(*out));
	out->in4.sin_family = AF_INET;
	/* Our own port: what the node sends back to any of these sources reaches our socket. */
	out->in4.sin_port = h->local.in4.sin_port;
	if (inet_pton(AF_INET, from ? from : "203.0.113.1", &out->in4.sin_addr) != 1) {
		attack_error("--from %s: want an IPv4 address", from);
		return false;
	}
	return true;
}

static struct attack_counter stun_recv;

static void stun_tap(struct harness *h, const uint8_t *buf, size_t len, const union nt_sockaddr *from)
{
	if (nt_sockaddr_equal(from, &h->node) && nt_stun_is_stun(buf, len)) {
		stun_recv.n++;
		stun_recv.bytes += len;
	}
}

/*
 * Whether what the node sends to a spoofed source reaches us (the scenario's routes and
 * AnyIP): one STUN Binding request from src, which any node answers. 1 yes, 0 no, -1 the
 * request could not be made. A count of 0 answers proves something only when this is 1.
 */
static int path_check(struct harness *h, union nt_sockaddr src)
{
	static struct nt_stun stun;
	attack_tap_fn *tap = h->tap;
	uint8_t out[NT_STUN_MSG_MAX];
	ssize_t n;
	int ok = -1;

	if (nt_stun_init(&stun) < 0)
		return -1;
	n = nt_stun_request(&stun, &h->node, nt_now_ms(), out, sizeof(out));
	stun_recv = (struct attack_counter){ 0 };
	h->tap = stun_tap;
	if (n > 0 && attack_send_as(h, &src, &h->node, out, (size_t)n) == 0) {
		for (int i = 0; i < 20 && !stun_recv.n; i++)
			attack_pump(h, 100);
		ok = stun_recv.n > 0;
	}
	h->tap = tap;
	nt_stun_uninit(&stun);
	return ok;
}

int attack_random_index(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "sources", "from", "count", "linger", NULL };
	uint8_t frame[NT_DATA_MIN_LEN];
	struct attack_counter rx;
	union nt_sockaddr base;
	uint64_t sources, count, linger, sent = 0;
	int ret, path_ok;

	if (!attack_args_check(a, "random-index", known) || !source_base(a, h, &base) ||
	    !attack_opt_u64(a, "sources", 100, &sources) || !attack_opt_u64(a, "count", 1, &count) ||
	    !attack_opt_u64(a, "linger", 5, &linger))
		return -EINVAL;
	h->rx_node = (struct attack_counter){ 0 };
	for (uint64_t k = 0; k < count; k++) {
		for (uint64_t i = 0; i < sources; i++) {
			union nt_sockaddr src = attack_v4_add(&base, (uint32_t)i);

			/* type, three zero bytes, then a receiver index and counter of chance */
			randombytes_buf(frame, sizeof(frame));
			memset(frame, 0, 4);
			frame[0] = NT_MSG_DATA;
			ret = attack_send_as(h, &src, &h->node, frame, sizeof(frame));
			if (ret < 0) {
				attack_error("random-index: send: %s", strerror(-ret));
				return ret;
			}
			sent++;
		}
		attack_pump(h, 10);
	}
	attack_pump(h, linger * 1000);
	/* The counts first: the path check's own STUN answer must not be among them. */
	rx = h->rx_node;
	path_ok = path_check(h, attack_v4_add(&base, (uint32_t)sources));
	attack_report("random-index",
		      "sources=%llu sent=%llu sent_bytes=%llu recv=%llu recv_bytes=%llu path_ok=%d",
		      (unsigned long long)sources, (unsigned long long)sent,
		      (unsigned long long)(sent * sizeof(frame)), (unsigned long long)rx.n,
		      (unsigned long long)rx.bytes, path_ok);
	return 0;
}

int attack_hs_junk(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "as", "rate", "duration", NULL };
	const char *as_text = attack_opt(a, "as");
	uint8_t junk[NT_HS_INIT_LEN];
	union nt_sockaddr as;
	uint64_t rate, duration, sent = 0, t0, total;
	int ret;

	if (!attack_args_check(a, "hs-junk", known) || !attack_opt_u64(a, "rate", 1000, &rate) ||
	    !attack_opt_u64(a, "duration", 20, &duration) || rate == 0 ||
	    (as_text && !attack_parse_v4("--as", as_text, &as)))
		return -EINVAL;
	h->rx_node = (struct attack_counter){ 0 };
	t0 = nt_now_ms();
	total = rate * duration;
	for (uint64_t i = 0; i < total; i++) {
		pace(h, t0, i, rate);
		/* An INIT's type and length, anything else at random: mac1 is wrong. */
		randombytes_buf(junk, sizeof(junk));
		memset(junk, 0, 4);
		junk[0] = NT_HS_MSG_INIT;
		ret = as_text ? attack_send_as(h, &as, &h->node, junk, sizeof(junk)) :
				attack_send(h, junk, sizeof(junk), &h->node);
		if (ret < 0) {
			attack_error("hs-junk: send: %s", strerror(-ret));
			return ret;
		}
		sent++;
	}
	attack_pump(h, 2000);
	attack_report("hs-junk", "as=%s rate=%llu sent=%llu sent_bytes=%llu seconds=%llu recv=%llu recv_bytes=%llu",
		      as_text ? as_text : "self", (unsigned long long)rate, (unsigned long long)sent,
		      (unsigned long long)(sent * sizeof(junk)),
		      (unsigned long long)((nt_now_ms() - t0) / 1000), (unsigned long long)h->rx_node.n,
		      (unsigned long long)h->rx_node.bytes);
	return 0;
}

int attack_fin_data(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "rate", "duration", NULL };
	uint8_t fin[NT_HS_FIN_LEN], data[NT_DATA_MIN_LEN];
	uint64_t rate, duration, sent = 0, t0, total;
	int ret;

	if (!attack_args_check(a, "fin-data", known) || !attack_opt_u64(a, "rate", 200, &rate) ||
	    !attack_opt_u64(a, "duration", 10, &duration) || rate == 0)
		return -EINVAL;
	h->rx_node = (struct attack_counter){ 0 };
	t0 = nt_now_ms();
	total = rate * duration;
	for (uint64_t i = 0; i < total; i++) {
		uint32_t index = randombytes_random();

		pace(h, t0, i, rate);
		/* A FIN names an index whose session "is about to exist"... */
		randombytes_buf(fin, sizeof(fin));
		memset(fin, 0, 4);
		fin[0] = NT_HS_MSG_FIN;
		memcpy(fin + 4, &index, 4);
		/* ...and a data frame for that index follows at once. */
		randombytes_buf(data, sizeof(data));
		memset(data, 0, 4);
		data[0] = NT_MSG_DATA;
		memcpy(data + 4, &index, 4);
		ret = attack_send(h, fin, sizeof(fin), &h->node);
		if (ret == 0)
			ret = attack_send(h, data, sizeof(data), &h->node);
		if (ret < 0) {
			attack_error("fin-data: send: %s", strerror(-ret));
			return ret;
		}
		sent++;
	}
	attack_pump(h, 1000);
	attack_report("fin-data", "pairs=%llu sent_bytes=%llu seconds=%llu recv=%llu recv_bytes=%llu",
		      (unsigned long long)sent, (unsigned long long)(sent * (sizeof(fin) + sizeof(data))),
		      (unsigned long long)((nt_now_ms() - t0) / 1000), (unsigned long long)h->rx_node.n,
		      (unsigned long long)h->rx_node.bytes);
	return 0;
}

/* fin-replay: the RESP to our INIT, by its receiver index. */
static uint32_t replay_fin_index;
static uint8_t replay_resp[NT_HS_RESP_LEN];
static bool replay_have_resp;

static void fin_replay_tap(struct harness *h, const uint8_t *buf, size_t len,
			   const union nt_sockaddr *from)
{
	if (nt_sockaddr_equal(from, &h->node) && len == NT_HS_RESP_LEN && buf[0] == NT_HS_MSG_RESP &&
	    nt_get_le32(buf + 8) == replay_fin_index) {
		memcpy(replay_resp, buf, len);
		replay_have_resp = true;
	}
}

int attack_fin_replay(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "rate", "duration", NULL };
	uint8_t init[NT_HS_INIT_LEN], fin[NT_HS_FIN_LEN], data[NT_DATA_MIN_LEN];
	struct nt_handshake hs = { 0 };
	uint64_t rate, duration, sent = 0, t0, total;
	int ret;

	if (!attack_args_check(a, "fin-replay", known) || !attack_opt_u64(a, "rate", 200, &rate) ||
	    !attack_opt_u64(a, "duration", 10, &duration) || rate == 0)
		return -EINVAL;
	ret = attack_net_load(h);
	if (ret < 0)
		return ret;
	ret = nt_handshake_init(&hs);
	if (ret < 0)
		return ret;
	/* A real handshake up to its last message, which is kept instead of sent. */
	do
		replay_fin_index = randombytes_random();
	while (!replay_fin_index);
	replay_have_resp = false;
	h->tap = fin_replay_tap;
	ret = nt_handshake_create_init(&hs, &h->hs_local, replay_fin_index, nt_wall_ms(), nt_now_ms(),
				       init);
	if (ret == 0)
		ret = attack_send(h, init, sizeof(init), &h->node);
	for (uint64_t deadline = nt_now_ms() + 3000; ret == 0 && !replay_have_resp &&
						     nt_now_ms() < deadline;)
		attack_pump(h, 50);
	h->tap = NULL;
	if (ret == 0 && !replay_have_resp)
		ret = -ETIMEDOUT;
	if (ret == 0 && nt_handshake_consume_resp(&hs, &h->hs_local, replay_resp, sizeof(replay_resp),
						  &h->node, nt_now_ms()) != NT_HS_OK)
		ret = -EPROTO;
	if (ret == 0)
		ret = nt_handshake_create_fin(&hs, &h->hs_local, nt_now_ms(), fin);
	nt_handshake_uninit(&hs);
	if (ret < 0) {
		attack_error("fin-replay: no FIN to replay: %s", strerror(-ret));
		return ret;
	}
	/* The node gives up on that handshake (5 s): its FIN now names an index gone by. */
	attack_pump(h, 6000);
	h->rx_node = (struct attack_counter){ 0 };
	t0 = nt_now_ms();
	total = rate * duration;
	for (uint64_t i = 0; i < total; i++) {
		pace(h, t0, i, rate);
		/* The old FIN, and a data frame for the index it names, at once. */
		randombytes_buf(data, sizeof(data));
		memset(data, 0, 4);
		data[0] = NT_MSG_DATA;
		memcpy(data + 4, fin + 4, 4);
		ret = attack_send(h, fin, sizeof(fin), &h->node);
		if (ret == 0)
			ret = attack_send(h, data, sizeof(data), &h->node);
		if (ret < 0) {
			attack_error("fin-replay: send: %s", strerror(-ret));
			return ret;
		}
		sent++;
	}
	attack_pump(h, 1000);
	attack_report("fin-replay", "pairs=%llu sent_bytes=%llu seconds=%llu recv=%llu recv_bytes=%llu",
		      (unsigned long long)sent, (unsigned long long)(sent * (sizeof(fin) + sizeof(data))),
		      (unsigned long long)((nt_now_ms() - t0) / 1000), (unsigned long long)h->rx_node.n,
		      (unsigned long long)h->rx_node.bytes);
	return 0;
}

/*
 * dht-flood. A query's transaction ID is (method, sequence), so each answer is counted
 * against the method that drew it. The decoder's scratch is large: static.
 */
static struct {
	struct nt_krpc_msg in;
	struct attack_counter sent[NT_KRPC_UNKNOWN], recv[NT_KRPC_UNKNOWN];
	uint8_t token[NT_KRPC_TOKEN_MAX];
	size_t token_len;
	size_t max_values;
	uint8_t seq;
	bool counting; /* the flood phase: what is counted in the report */
	bool counted[256]; /* by sequence: sent in the flood phase, so its answer counts */
	union nt_sockaddr neighbour_base; /* neighbour k is at base + k... */
	uint8_t neighbour_id[64][NT_DHT_ID_LEN]; /* ...with this ID */
	unsigned int n_neighbours;
	uint64_t neighbour_answers;
} dht;

/* The node asks one of our neighbours (a spoofed source): it answers, as a live node would. */
static void neighbour_answer(struct harness *h)
{
	uint32_t k = ntohl(h->rx_dst.s_addr) - ntohl(dht.neighbour_base.in4.sin_addr.s_addr);
	union nt_sockaddr src = dht.neighbour_base;
	struct nt_krpc_msg r;
	uint8_t out[256];
	ssize_t n;

	if (k >= dht.n_neighbours || dht.in.tid_len > sizeof(r.tid))
		return;
	memset(&r, 0, sizeof(r));
	r.type = NT_KRPC_RESPONSE;
	memcpy(r.tid, dht.in.tid, dht.in.tid_len);
	r.tid_len = dht.in.tid_len;
	r.has_id = true;
	memcpy(r.id, dht.neighbour_id[k], NT_DHT_ID_LEN);
	n = nt_krpc_encode(&r, out, sizeof(out));
	src.in4.sin_addr = h->rx_dst;
	if (n > 0 && attack_send_as(h, &src, &h->node, out, (size_t)n) == 0)
		dht.neighbour_answers++;
}

static void dht_tap(struct harness *h, const uint8_t *buf, size_t len, const union nt_sockaddr *from)
{
	unsigned int m;

	if (!len || buf[0] != 'd' || !nt_sockaddr_equal(from, &h->node) ||
	    nt_krpc_decode(&dht.in, buf, len) < 0)
		return;
	if (dht.in.type == NT_KRPC_QUERY) {
		neighbour_answer(h);
		return;
	}
	if (dht.in.tid_len != 2)
		return;
	m = dht.in.tid[0];
	if (m == NT_KRPC_NONE || m >= NT_KRPC_UNKNOWN)
		return;
	if (m == NT_KRPC_GET_PEERS && dht.in.type == NT_KRPC_RESPONSE && dht.in.token &&
	    dht.in.token_len <= sizeof(dht.token)) {
		memcpy(dht.token, dht.in.token, dht.in.token_len);
		dht.token_len = dht.in.token_len;
		dht.max_values = NT_MAX(dht.max_values, dht.in.n_values);
	}
	if (dht.counted[dht.in.tid[1]]) {
		dht.counted[dht.in.tid[1]] = false; /* one answer per query */
		dht.recv[m].n++;
		dht.recv[m].bytes += len;
	}
}

/* A query to the node, from our socket or (as != NULL) from a spoofed source. */
static int dht_query(struct harness *h, const union nt_sockaddr *as, enum nt_krpc_method m,
		     const uint8_t id[NT_DHT_ID_LEN], const uint8_t target[NT_DHT_ID_LEN], uint16_t port)
{
	struct nt_krpc_msg q;
	uint8_t out[1500];
	ssize_t n;
	int ret;

	memset(&q, 0, sizeof(q));
	q.type = NT_KRPC_QUERY;
	q.method = m;
	q.tid[0] = (uint8_t)m;
	q.tid[1] = dht.seq;
	dht.counted[dht.seq++] = dht.counting;
	q.tid_len = 2;
	q.has_id = true;
	memcpy(q.id, id, NT_DHT_ID_LEN);
	memcpy(q.target, target, NT_DHT_ID_LEN);
	if (m == NT_KRPC_ANNOUNCE_PEER) {
		q.token = dht.token;
		q.token_len = dht.token_len;
		q.port = port;
		q.implied_port = false; /* each announce stores (our IP, this port) */
	}
	n = nt_krpc_encode(&q, out, sizeof(out));
	if (n < 0)
		return (int)n;
	ret = as ? attack_send_as(h, as, &h->node, out, (size_t)n) : attack_send(h, out, (size_t)n, &h->node);
	if (ret == 0 && dht.counting) {
		dht.sent[m].n++;
		dht.sent[m].bytes += (uint64_t)n;
	}
	return ret;
}

int attack_dht_flood(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "count", "rate", "announces", "neighbours", "from", NULL };
	static const enum nt_krpc_method mix[] = { NT_KRPC_GET_PEERS, NT_KRPC_GET_PEERS,
						   NT_KRPC_FIND_NODE, NT_KRPC_PING };
	uint8_t id[NT_DHT_ID_LEN], ih[NT_DHT_ID_LEN], target[NT_DHT_ID_LEN];
	struct attack_counter sent = { 0 }, recv = { 0 };
	uint64_t count, rate, announces, neighbours, t0, i = 0;
	union nt_sockaddr base;
	int ret = 0;

	if (!attack_args_check(a, "dht-flood", known) || !attack_opt_u64(a, "count", 40, &count) ||
	    !attack_opt_u64(a, "rate", 7, &rate) || !attack_opt_u64(a, "announces", 32, &announces) ||
	    !attack_opt_u64(a, "neighbours", 0, &neighbours) || !source_base(a, h, &base) || rate == 0)
		return -EINVAL;
	memset(&dht, 0, sizeof(dht));
	randombytes_buf(id, sizeof(id));
	randombytes_buf(ih, sizeof(ih));
	h->tap = dht_tap;
	/*
	 * A node in the public DHT knows many others: pings from other addresses (and IDs)
	 * put them in its table, so its answers carry as many nodes as they would there.
	 */
	if (neighbours > NT_ARRAY_SIZE(dht.neighbour_id)) {
		attack_error("dht-flood: at most %zu neighbours", NT_ARRAY_SIZE(dht.neighbour_id));
		h->tap = NULL;
		return -EINVAL;
	}
	dht.neighbour_base = base;
	dht.n_neighbours = (unsigned int)neighbours;
	for (uint64_t k = 0; k < neighbours; k++) {
		union nt_sockaddr src = attack_v4_add(&base, (uint32_t)k);

		randombytes_buf(dht.neighbour_id[k], NT_DHT_ID_LEN);
		ret = dht_query(h, &src, NT_KRPC_PING, dht.neighbour_id[k], dht.neighbour_id[k], 0);
		if (ret < 0) {
			attack_error("dht-flood: ping from %s: %s", inet_ntoa(src.in4.sin_addr), strerror(-ret));
			h->tap = NULL;
			return ret;
		}
		attack_pump(h, 20);
	}
	/* A token for the info-hash, then announces from one IP, each with another port. */
	t0 = nt_now_ms();
	ret = dht_query(h, NULL, NT_KRPC_GET_PEERS, id, ih, 0);
	for (uint64_t k = 0; ret == 0 && k < 20 && !dht.token_len; k++)
		attack_pump(h, 100);
	if (ret < 0 || !dht.token_len) {
		attack_error("dht-flood: no token from the node (%s)", ret < 0 ? strerror(-ret) : "no answer");
		h->tap = NULL;
		return ret < 0 ? ret : -ETIMEDOUT;
	}
	for (i = 1; ret == 0 && i <= announces; i++) {
		pace(h, t0, i, rate);
		ret = dht_query(h, NULL, NT_KRPC_ANNOUNCE_PEER, id, ih, (uint16_t)(20000 + i));
	}
	/* The flood, still at a rate the node's per-IP limit lets through, is what is counted. */
	dht.counting = true;
	for (uint64_t k = 0; ret == 0 && k < count; k++, i++) {
		enum nt_krpc_method m = mix[k % NT_ARRAY_SIZE(mix)];

		pace(h, t0, i, rate);
		randombytes_buf(target, sizeof(target));
		ret = dht_query(h, NULL, m, id, m == NT_KRPC_GET_PEERS ? ih : target, 0);
	}
	attack_pump(h, 1500);
	h->tap = NULL;
	if (ret < 0) {
		attack_error("dht-flood: send: %s", strerror(-ret));
		return ret;
	}
	for (unsigned int m = 0; m < NT_KRPC_UNKNOWN; m++) {
		sent.n += dht.sent[m].n;
		sent.bytes += dht.sent[m].bytes;
		recv.n += dht.recv[m].n;
		recv.bytes += dht.recv[m].bytes;
	}
	attack_report("dht-flood",
		      "neighbours=%llu neighbour_answers=%llu announces=%llu values=%zu sent=%llu sent_bytes=%llu recv=%llu recv_bytes=%llu "
		      "get_peers_sent_bytes=%llu get_peers_recv_bytes=%llu find_node_sent_bytes=%llu "
		      "find_node_recv_bytes=%llu ping_sent_bytes=%llu ping_recv_bytes=%llu",
		      (unsigned long long)neighbours, (unsigned long long)dht.neighbour_answers,
		      (unsigned long long)announces, dht.max_values, (unsigned long long)sent.n,
		      (unsigned long long)sent.bytes, (unsigned long long)recv.n,
		      (unsigned long long)recv.bytes,
		      (unsigned long long)dht.sent[NT_KRPC_GET_PEERS].bytes,
		      (unsigned long long)dht.recv[NT_KRPC_GET_PEERS].bytes,
		      (unsigned long long)dht.sent[NT_KRPC_FIND_NODE].bytes,
		      (unsigned long long)dht.recv[NT_KRPC_FIND_NODE].bytes,
		      (unsigned long long)dht.sent[NT_KRPC_PING].bytes,
		      (unsigned long long)dht.recv[NT_KRPC_PING].bytes);
	return 0;
}

int attack_stun_flood(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "count", "rate", NULL };
	static struct nt_stun stun;
	uint8_t out[NT_STUN_MSG_MAX];
	uint64_t count, rate, sent = 0, sent_bytes = 0, t0;
	int ret = 0;

	if (!attack_args_check(a, "stun-flood", known) || !attack_opt_u64(a, "count", 1000, &count) ||
	    !attack_opt_u64(a, "rate", 500, &rate) || rate == 0)
		return -EINVAL;
	ret = nt_stun_init(&stun);
	if (ret < 0) {
		attack_error("stun-flood: %s", strerror(-ret));
		return ret;
	}
	stun_recv = (struct attack_counter){ 0 };
	h->tap = stun_tap;
	t0 = nt_now_ms();
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n;

		pace(h, t0, i, rate);
		/* The Binding request a member sends (src/discovery/stun.c). */
		n = nt_stun_request(&stun, &h->node, nt_now_ms(), out, sizeof(out));
		if (n < 0) {
			ret = (int)n;
			break;
		}
		ret = attack_send(h, out, (size_t)n, &h->node);
		if (ret < 0)
			break;
		sent++;
		sent_bytes += (uint64_t)n;
	}
	attack_pump(h, 1000);
	h->tap = NULL;
	nt_stun_uninit(&stun);
	if (ret < 0) {
		attack_error("stun-flood: %s", strerror(-ret));
		return ret;
	}
	attack_report("stun-flood", "sent=%llu sent_bytes=%llu seconds=%llu recv=%llu recv_bytes=%llu",
		      (unsigned long long)sent, (unsigned long long)sent_bytes,
		      (unsigned long long)((nt_now_ms() - t0) / 1000), (unsigned long long)stun_recv.n,
		      (unsigned long long)stun_recv.bytes);
	return 0;
}
