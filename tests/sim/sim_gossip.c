// SPDX-License-Identifier: MIT
/*
 * The ledger's gossip at scale, in one process (issue 15, docs/scale.md point 4): M members,
 * each with a real ledger and a real gossip engine, on a simulated network (simnet.c: a
 * latency of 10..80 ms per link, a few ms of jitter, optional loss) and a simulated clock.
 * Each member's gossip peers are its neighbors (nt_neighbors_pick over every member it knows,
 * with the daemon's k) and the members that chose it, as the daemon keeps sessions with them.
 *
 * Every member starts holding every member's machine claim (a 6 h lease, as the daemon signs).
 * The run prints:
 *   - quiet network: gossip bytes each member sends per second (median, max), once the
 *     digest rounds have stretched, as payload and with per-datagram overhead;
 *   - a new claim by a random member: the time until 50 %, 99 % and 100 % of members hold it,
 *     with 0 % and 5 % loss (a few trials each); one other member is away meanwhile (its
 *     sessions down), and the time it takes to get the claim once they are back is printed;
 *     100 % counts every member but that one;
 *   - what lease renewals cost: the bytes one change costs per member, times M changes per
 *     half-life of a lease;
 *   - ledger memory per member (nt_ledger_memory).
 * With --check it exits 1 unless the targets hold, scaled for its size (the CI run is small).
 *
 * Ed25519 verification is memoised (the linker wraps crypto_sign_verify_detached): every
 * distinct (signature, message, key) is verified once for real, and its answer reused when
 * the next of M members checks the same entry. The ledgers run unchanged; only the CPU time
 * of M^2 identical checks is saved.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/gossip.h"
#include "core/util.h"
#include "ledger/ledger.h"
#include "proto/session.h"
#include "simnet.h"
#include "tunnel/neighbors.h"

#define T0 1700000000000ULL
#define STEP_MS 5
#define LEASE_MS (6 * 3600 * 1000ULL) /* the daemon's NT_CLAIM_TTL_MS */
#define MAX_TTL_MS (24 * 3600 * 1000ULL) /* the daemon's NT_CLAIM_MAX_TTL_MS */
#define MAX_MSG 1200 /* the daemon's */
/* Bytes a gossip message costs on the wire besides its payload: the control type byte, the
 * data header and tag, IPv4 and UDP headers. */
#define WIRE_OVERHEAD (1 + NT_DATA_OVERHEAD + 28)
/* Targets at 5,000 members (issue 15). */
#define TARGET_M 5000
#define TARGET_99_MS 5000
#define TARGET_ALL_LOSS_MS 15000
#define TARGET_QUIET_BPS 100
#define TARGET_LEDGER (2u << 20)

int __real_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m,
				       unsigned long long mlen, const unsigned char *pk);
int __wrap_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m,
				       unsigned long long mlen, const unsigned char *pk);

struct member {
	uint8_t pk[32];
	struct nt_ledger *l;
	struct nt_gossip *g;
	uint64_t next_tick;
	uint64_t tx_bytes0, tx_msgs0; /* at the start of a measurement */
	bool reached; /* holds the trial's claim */
};

static struct member *members;
static uint32_t (*edges)[2]; /* gossip peer pairs, a < b (a pair may repeat) */
static size_t nedges;
static uint32_t nmembers;
static struct simnet net;
static uint64_t now;
static struct nt_identity ident; /* the signer of the moment (one secret key buffer) */
static uint8_t trial_owner[32];
static char trial_key[64];
static uint32_t reached;
static uint32_t max_value = 256; /* the ledger's per-entry value room (--max-value) */
static uint64_t reached_at_50, reached_at_99, reached_at_all;
static uint32_t need_50, need_99, need_all; /* need_all: every member but the one away */

/* The memo of signature checks: 16-byte digests of (sig, pk, message) and their answer. */
static struct {
	uint8_t key[16];
	int8_t ret; /* 0 ok, -1 bad; slot unused when key is all zero and used is false */
	bool used;
} *memo;
static size_t memo_mask;
static uint64_t memo_hits, memo_real;

int __wrap_crypto_sign_verify_detached(const unsigned char *sig, const unsigned char *m,
				       unsigned long long mlen, const unsigned char *pk)
{
	crypto_generichash_state st;
	uint8_t key[16];
	size_t i;
	int ret;

	crypto_generichash_init(&st, NULL, 0, sizeof(key));
	crypto_generichash_update(&st, sig, 64);
	crypto_generichash_update(&st, pk, 32);
	crypto_generichash_update(&st, m, mlen);
	crypto_generichash_final(&st, key, sizeof(key));
	for (i = (size_t)(key[0] | key[1] << 8 | key[2] << 16 | (uint32_t)key[3] << 24) & memo_mask;
	     memo[i].used; i = (i + 1) & memo_mask) {
		if (!memcmp(memo[i].key, key, sizeof(key))) {
			memo_hits++;
			return memo[i].ret;
		}
	}
	ret = __real_crypto_sign_verify_detached(sig, m, mlen, pk);
	memo_real++;
	memcpy(memo[i].key, key, sizeof(key));
	memo[i].ret = (int8_t)(ret == 0 ? 0 : -1);
	memo[i].used = true;
	return ret;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "sim_gossip: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static void signer(uint32_t i)
{
	uint8_t seed[32] = { 's', 'i', 'm' };

	nt_put_be32(seed + 4, i);
	crypto_sign_seed_keypair(ident.ed_pk, ident.ed_sk, seed);
}

static void member_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
	struct member *m = ctx;

	if (len > MAX_MSG)
		die("a message exceeds max_msg", EMSGSIZE);
	if (simnet_send(&net, (uint32_t)(m - members), (uint32_t)peer, buf, len, now) < 0)
		die("send", ENOMEM);
}

static void on_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change c,
		      bool local)
{
	struct member *m = ctx;

	if (local && m->g) {
		nt_gossip_on_local_change(m->g, e, now);
		m->next_tick = NT_MIN(m->next_tick, nt_gossip_deadline(m->g));
	}
	if (c == NT_LEDGER_CHANGE_REMOVED || m->reached || !trial_key[0] ||
	    memcmp(e->owner, trial_owner, 32) || strcmp(e->key, trial_key))
		return;
	m->reached = true;
	reached++;
	if (reached == need_50)
		reached_at_50 = now;
	if (reached == need_99)
		reached_at_99 = now;
	if (reached == need_all)
		reached_at_all = now;
}

/*
 * A machine record as the daemon writes it (claims.c machine_value(), the shape
 * test_ledger_arena uses): host name, system, version, port, prefix and two endpoints.
 */
static size_t claim_value(uint32_t i, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len,
				"{\"hostname\":\"member-%05u\",\"os\":\"Linux\",\"arch\":\"x86_64\","
				"\"version\":\"0.9.0-142-g317ed54\",\"port\":51820,\"prefix\":16,"
				"\"endpoints\":[\"192.168.%u.%u:51820\",\"198.51.100.%u:51820\"]}",
				i, (i >> 8) & 255, i & 255, i % 250);
}

/* What a machine claim takes in a ledger's arena: key NUL value signature (docs/ledger.md §5). */
static size_t claim_need(size_t klen, size_t vlen)
{
	return klen + 1 + vlen + NT_LEDGER_SIG_LEN;
}

static void member_key(uint32_t i, char *key, size_t len)
{
	snprintf(key, len, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
}

/* The trials' claims: one per trial, by a member, on a key of its own. */
static void trial_key_of(uint32_t who, uint32_t n, char *key, size_t len)
{
	snprintf(key, len, "fd00::%x:%x", who, n);
}

static void setup_members(uint32_t m, uint32_t ntrials)
{
	struct nt_ledger_cfg lc = {
		.capacity = m + 2 * ntrials, /* everyone's claim and the trials' */
		.max_key = 40,
		.max_value = max_value,
		.max_ttl_ms = MAX_TTL_MS,
		.on_change = on_change,
	};
	uint8_t (*wire)[512] = calloc(m, sizeof(*wire));
	size_t *wlen = calloc(m, sizeof(*wlen));
	char key[64], value[256];
	size_t vmax = 0;
	int ret;

	if (!wire || !wlen)
		die("setup", ENOMEM);
	/* An arena of what the claims need: every member's, and the trials' at their largest. */
	for (uint32_t i = 0; i < m; i++) {
		size_t vlen = claim_value(i, value, sizeof(value));

		member_key(i, key, sizeof(key));
		lc.memory += claim_need(strlen(key), vlen);
		vmax = NT_MAX(vmax, vlen);
	}
	trial_key_of(m - 1, 2 * ntrials, key, sizeof(key));
	lc.memory += 2 * ntrials * claim_need(strlen(key), vmax);
	members = calloc(m, sizeof(*members));
	if (!members)
		die("setup", ENOMEM);
	nmembers = m;
	for (uint32_t i = 0; i < m; i++) {
		const struct nt_ledger_entry *e;
		ssize_t n;

		lc.ctx = &members[i];
		ret = nt_ledger_new(&members[i].l, &lc);
		if (ret < 0)
			die("nt_ledger_new", ret);
		signer(i);
		memcpy(members[i].pk, ident.ed_pk, 32);
		member_key(i, key, sizeof(key));
		ret = nt_ledger_put_local(members[i].l, &ident, NT_LEDGER_MACHINES, key, value,
					  claim_value(i, value, sizeof(value)), LEASE_MS, now, &e);
		if (ret < 0)
			die("nt_ledger_put_local", ret);
		n = nt_ledger_entry_encode(e, wire[i], sizeof(wire[i]));
		if (n < 0)
			die("encode", (int)n);
		wlen[i] = (size_t)n;
	}
	/* Everyone knows everyone's claim, as after the network formed. */
	for (uint32_t j = 0; j < m; j++)
		for (uint32_t i = 0; i < m; i++)
			if (i != j && nt_ledger_insert(members[j].l, wire[i], wlen[i], now) != NT_LEDGER_ADDED)
				die("initial insert", EINVAL);
	free(wire);
	free(wlen);
}

/*
 * Gossip peers: each member's neighbors (the daemon's choice over the members it knows) and
 * the members that chose it: the sessions the daemon keeps alive.
 */
static void setup_peers(uint32_t *max_degree, double *mean_degree)
{
	uint8_t (*ids)[32] = malloc((size_t)nmembers * 32);
	uint32_t *deg = calloc(nmembers, sizeof(*deg));
	size_t total = 0;

	edges = malloc((size_t)nmembers * NT_NEIGHBORS_DEFAULT * sizeof(*edges));

	if (!ids || !edges || !deg)
		die("peers", ENOMEM);
	for (uint32_t i = 0; i < nmembers; i++)
		memcpy(ids[i], members[i].pk, 32);
	for (uint32_t i = 0; i < nmembers; i++) {
		size_t out[NT_NEIGHBORS_MAX];
		unsigned int k = nt_neighbors_pick(members[i].pk, (const uint8_t(*)[32])ids, nmembers,
						   NT_NEIGHBORS_DEFAULT, out);

		for (unsigned int j = 0; j < k; j++) {
			uint32_t a = i < out[j] ? i : (uint32_t)out[j], b = i < out[j] ? (uint32_t)out[j] : i;
			edges[nedges][0] = a;
			edges[nedges][1] = b;
			nedges++;
		}
	}
	/* A pair chosen from both ends counts once: deg[] is an upper bound until peers are added. */
	for (size_t i = 0; i < nedges; i++) {
		deg[edges[i][0]]++;
		deg[edges[i][1]]++;
	}
	for (uint32_t i = 0; i < nmembers; i++) {
		struct nt_gossip_cfg gc = {
			.max_peers = deg[i] ? deg[i] : 1,
			.max_msg = MAX_MSG,
			.send = member_send,
			.ctx = &members[i],
		};
		int ret = nt_gossip_new(&members[i].g, members[i].l, &gc);

		if (ret < 0)
			die("nt_gossip_new", ret);
		deg[i] = 0;
	}
	for (size_t i = 0; i < nedges; i++) {
		uint32_t a = edges[i][0], b = edges[i][1];

		if (nt_gossip_peer_add(members[a].g, b) == -EEXIST)
			continue;
		if (nt_gossip_peer_add(members[b].g, a) < 0)
			die("peer_add", EINVAL);
		deg[a]++;
		deg[b]++;
		total += 2;
	}
	*max_degree = 0;
	for (uint32_t i = 0; i < nmembers; i++)
		*max_degree = NT_MAX(*max_degree, deg[i]);
	*mean_degree = (double)total / nmembers;
	free(ids);
	free(deg);
}

/*
 * Member y's sessions go down (up): the daemon then removes (adds) it as a gossip peer on
 * both ends, and a peer added gets a digest at once.
 */
static void sessions_set(uint32_t y, bool up)
{
	for (size_t i = 0; i < nedges; i++) {
		uint32_t a = edges[i][0], b = edges[i][1], o;

		if (a != y && b != y)
			continue;
		o = a == y ? b : a;
		if (up) {
			if (nt_gossip_peer_add(members[y].g, o) == -EEXIST)
				continue;
			if (nt_gossip_peer_add(members[o].g, y) < 0)
				die("peer_add", EINVAL);
			members[o].next_tick = NT_MIN(members[o].next_tick, nt_gossip_deadline(members[o].g));
		} else {
			nt_gossip_peer_remove(members[y].g, o);
			nt_gossip_peer_remove(members[o].g, y);
		}
	}
	members[y].next_tick = NT_MIN(members[y].next_tick, nt_gossip_deadline(members[y].g));
}

/* Advances the clock to until (or until *stop turns true): deliveries, then due ticks. */
static void run(uint64_t until, const bool *stop)
{
	struct simnet_pkt p;

	while (now < until && !(stop && *stop)) {
		now += STEP_MS;
		while (simnet_pop(&net, now, &p)) {
			struct member *m = &members[p.to];
			int ret = nt_gossip_input(m->g, p.from, p.data, p.len, now);

			/* -ENOENT: in flight when the session went down, as the daemon drops it. */
			if (ret < 0 && ret != -ENOENT)
				die("nt_gossip_input", ret);
			m->next_tick = NT_MIN(m->next_tick, nt_gossip_deadline(m->g));
			free(p.data);
		}
		for (uint32_t i = 0; i < nmembers; i++)
			if (now >= members[i].next_tick)
				members[i].next_tick = nt_gossip_tick(members[i].g, now);
	}
}

static void mark(void)
{
	for (uint32_t i = 0; i < nmembers; i++) {
		struct nt_gossip_stats st;

		nt_gossip_stats_get(members[i].g, &st);
		members[i].tx_bytes0 = st.tx_bytes;
		members[i].tx_msgs0 = st.tx_msgs;
	}
}

/* Bytes each member sent per second since mark(): median and max, payload and wire. */
static void rates(uint64_t secs, double out[4])
{
	double *pay = malloc(nmembers * sizeof(*pay)), *wire = malloc(nmembers * sizeof(*wire));

	if (!pay || !wire)
		die("rates", ENOMEM);
	for (uint32_t i = 0; i < nmembers; i++) {
		struct nt_gossip_stats st;

		nt_gossip_stats_get(members[i].g, &st);
		pay[i] = (double)(st.tx_bytes - members[i].tx_bytes0) / (double)secs;
		wire[i] = pay[i] + (double)(st.tx_msgs - members[i].tx_msgs0) * WIRE_OVERHEAD / (double)secs;
	}
	for (int k = 0; k < 2; k++) {
		double *v = k ? wire : pay, max = 0;

		/* Median by selection: sort a copy (n log n is nothing here). */
		for (uint32_t i = 1; i < nmembers; i++)
			for (uint32_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
				double t = v[j];
				v[j] = v[j - 1];
				v[j - 1] = t;
			}
		max = v[nmembers - 1];
		out[2 * k] = v[nmembers / 2];
		out[2 * k + 1] = max;
	}
	free(pay);
	free(wire);
}

struct trial {
	double t50, t99, tall; /* seconds; < 0: not reached within the limit */
	double kbytes_per_member; /* gossip bytes sent by all, per member, during the trial */
	double rejoin; /* s for a member whose sessions were down meanwhile to hold it, once back */
};

/* A random member claims a new address; runs until every member holds it (or 60 s). */
static struct trial run_trial(uint32_t n)
{
	struct trial t = { -1, -1, -1, 0, -1 };
	uint32_t who = (uint32_t)simnet_rand(&net, nmembers);
	uint32_t away = (who + 1 + (uint32_t)simnet_rand(&net, nmembers - 1)) % nmembers;
	uint64_t start, before = 0, after = 0;
	bool done = false;
	char value[256];
	int ret;

	for (uint32_t i = 0; i < nmembers; i++) {
		struct nt_gossip_stats st;

		members[i].reached = false;
		nt_gossip_stats_get(members[i].g, &st);
		before += st.tx_bytes;
	}
	reached = 0;
	reached_at_50 = reached_at_99 = reached_at_all = 0;
	need_50 = (nmembers + 1) / 2;
	need_99 = (uint32_t)ceil(nmembers * 0.99);
	need_all = nmembers - 1;
	signer(who);
	memcpy(trial_owner, ident.ed_pk, 32);
	trial_key_of(who, n, trial_key, sizeof(trial_key));
	/* One other member is away (its sessions down) until everybody else holds the claim. */
	sessions_set(away, false);
	start = now;
	ret = nt_ledger_put_local(members[who].l, &ident, NT_LEDGER_MACHINES, trial_key, value,
				  claim_value(who, value, sizeof(value)), LEASE_MS, now, NULL);
	if (ret < 0)
		die("trial claim", ret);
	while (!done && now - start < 60000) {
		run(now + STEP_MS, NULL);
		done = reached >= need_all;
	}
	if (!members[away].reached) {
		uint64_t back = now;

		sessions_set(away, true);
		while (!members[away].reached && now - back < 60000)
			run(now + STEP_MS, NULL);
		if (members[away].reached)
			t.rejoin = (double)(now - back) / 1000;
	}
	if (reached_at_50)
		t.t50 = (double)(reached_at_50 - start) / 1000;
	if (reached_at_99)
		t.t99 = (double)(reached_at_99 - start) / 1000;
	if (reached_at_all)
		t.tall = (double)(reached_at_all - start) / 1000;
	for (uint32_t i = 0; i < nmembers; i++) {
		struct nt_gossip_stats st;

		nt_gossip_stats_get(members[i].g, &st);
		after += st.tx_bytes;
	}
	if (!members[away].reached)
		sessions_set(away, true);
	t.kbytes_per_member = (double)(after - before) / nmembers / 1000;
	trial_key[0] = 0;
	return t;
}

static void usage(void)
{
	fprintf(stderr, "usage: sim_gossip [--members M] [--trials N] [--seed S] [--max-value B]"
			" [--check]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "members", required_argument, NULL, 'm' },
		{ "trials", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 's' },
		{ "max-value", required_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static const double losses[2] = { 0, 0.05 };
	uint32_t m = 300, trials = 3, max_degree;
	uint64_t seed = 1, quiet_secs = 300;
	double mean_degree, q[4], scale, worst99[2] = { 0 }, worstall[2] = { 0 }, per_change = 0;
	bool check = false, ok = true;
	size_t ledger_mem, ledger_arena;
	struct nt_ledger_stats lst;
	int c;

	while ((c = getopt_long(argc, argv, "m:t:s:v:c", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			m = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 't':
			trials = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		case 'v':
			max_value = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			check = true;
			break;
		default:
			usage();
		}
	}
	if (m < 2 || m > 1000000 || !trials || max_value < 128 || max_value > 768)
		usage();
	if (sodium_init() < 0)
		die("sodium_init", EIO);
	memo_mask = 1;
	while (memo_mask < 4 * ((size_t)m + trials * 2 + 64))
		memo_mask <<= 1;
	memo = calloc(memo_mask, sizeof(*memo));
	memo_mask--;
	ident.ed_sk = sodium_malloc(64);
	if (!memo || !ident.ed_sk)
		die("setup", ENOMEM);
	simnet_init(&net, seed);
	now = T0;

	setup_members(m, trials);
	setup_peers(&max_degree, &mean_degree);
	ledger_mem = nt_ledger_memory(members[0].l);
	nt_ledger_stats_get(members[0].l, &lst);
	ledger_arena = lst.arena;
	printf("sim_gossip: %u members, %u entries each, gossip peers per member %.1f on average"
	       " (max %u), k = %u neighbors, links 10-80 ms\n",
	       m, nt_ledger_count(members[0].l), mean_degree, max_degree, NT_NEIGHBORS_DEFAULT);

	/* Quiet: the first digests agree; the rounds stretch to their longest, then measure. */
	run(now + 200000, NULL);
	mark();
	run(now + quiet_secs * 1000, NULL);
	rates(quiet_secs, q);
	printf("quiet network: gossip per member %.2f B/s median, %.2f B/s max (payload);"
	       " %.2f / %.2f B/s with %d bytes of headers per datagram\n",
	       q[0], q[1], q[2], q[3], WIRE_OVERHEAD);

	for (int k = 0; k < 2; k++) {
		net.loss = losses[k];
		for (uint32_t n = 0; n < trials; n++) {
			struct trial t = run_trial(k * trials + n);

			printf("new claim, %2.0f %% loss, trial %u: 50 %% in %.2f s, 99 %% in %.2f s,"
			       " 100 %% in %.2f s; %.2f kB of gossip sent per member;"
			       " a member away meanwhile has it %.2f s after its sessions are back\n",
			       losses[k] * 100, n + 1, t.t50, t.t99, t.tall, t.kbytes_per_member, t.rejoin);
			per_change += t.kbytes_per_member * 1000 / (2 * trials);
			if (t.t99 < 0 || t.t99 > worst99[k])
				worst99[k] = t.t99 < 0 ? 1e9 : t.t99;
			if (t.tall < 0 || t.tall > worstall[k])
				worstall[k] = t.tall < 0 ? 1e9 : t.tall;
			/* Let the rounds settle between trials, as between real changes. */
			run(now + 20000, NULL);
		}
	}
	printf("lease renewals (each member re-signs its claim at half-life, every %llu s): %.2f B/s"
	       " per member of payload (%.0f bytes per change per member x %u members / %llu s)\n",
	       (unsigned long long)(LEASE_MS / 2000), per_change * m / (double)(LEASE_MS / 2000),
	       per_change, m, (unsigned long long)(LEASE_MS / 2000));
	printf("ledger memory per member: %zu bytes, %.2f MiB, %zu per claim (nt_ledger_memory;"
	       " capacity %u, arena %zu bytes: what the claims need)\n",
	       ledger_mem, (double)ledger_mem / (1 << 20), ledger_mem / (m + 2 * trials),
	       m + 2 * trials, ledger_arena);
	printf("signature checks: %llu real, %llu memoised; datagrams %llu sent, %llu lost\n",
	       (unsigned long long)memo_real, (unsigned long long)memo_hits,
	       (unsigned long long)net.sent, (unsigned long long)net.lost);

	/* The time targets hold at 5,000; a smaller network has fewer hops: scale by log M. */
	scale = m >= TARGET_M ? 1.0 : log((double)m) / log((double)TARGET_M);
	if (check) {
		double lim99 = TARGET_99_MS / 1000.0 * scale, limall = TARGET_ALL_LOSS_MS / 1000.0 * scale;

		for (int k = 0; k < 2; k++) {
			if (worst99[k] > lim99) {
				printf("FAIL: 99 %% reached in %.2f s with %.0f %% loss (target %.2f s)\n",
				       worst99[k], losses[k] * 100, lim99);
				ok = false;
			}
			if (worstall[k] > limall) {
				printf("FAIL: 100 %% reached in %.2f s with %.0f %% loss (target %.2f s)\n",
				       worstall[k], losses[k] * 100, limall);
				ok = false;
			}
		}
		/* 2 MiB for 5,000 claims: a figure of allocation, checked at that size and above. */
		if (m >= TARGET_M && ledger_mem > (uint64_t)TARGET_LEDGER * (m + 2 * trials) / TARGET_M) {
			printf("FAIL: ledger memory %zu bytes per member (target %u for %u claims)\n",
			       ledger_mem, TARGET_LEDGER, TARGET_M);
			ok = false;
		}
		if (q[3] > TARGET_QUIET_BPS) {
			printf("FAIL: quiet gossip %.2f B/s at most per member (target %d)\n", q[3],
			       TARGET_QUIET_BPS);
			ok = false;
		}
		printf("sim_gossip: %s (targets scaled by %.2f for %u members)\n", ok ? "ok" : "FAILED",
		       scale, m);
	}
	for (uint32_t i = 0; i < nmembers; i++) {
		nt_gossip_free(members[i].g);
		nt_ledger_free(members[i].l);
	}
	free(members);
	free(edges);
	free(memo);
	sodium_free(ident.ed_sk);
	simnet_uninit(&net);
	return ok ? 0 : 1;
}
