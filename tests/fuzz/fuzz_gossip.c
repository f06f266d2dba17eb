// SPDX-License-Identifier: MIT
/*
 * Fuzz target: nt_gossip_input on an engine with three peers and a fixed ledger of 47
 * signed entries (deterministic identities, fixed clock): more than a range summary lists
 * (NT_GOSSIP_LEAF), so a differing range is answered with its sub-ranges as well as with
 * lists. Every message the engine sends in answer must fit max_msg, carry a known type,
 * and RANGES, SUMMARY and IHAVE messages must have their exact framing. The clock moves
 * on with each input (round the same 3 s), so that what an IHAVE asked for is asked again;
 * after each tick, the next deadline is in the future (nothing can spin the caller's timer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ledger/gossip.h"
#include "ledger/ledger.h"

#define FUZZ_NOW 1700000000000ULL
#define FUZZ_MAX_MSG 1200

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nt_identity fuzz_ids[3];

static void fuzz_send(void *ctx, uint64_t peer, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (len > FUZZ_MAX_MSG || len < 2 || buf[0] != NT_GOSSIP_VERSION || buf[1] < 1 ||
	    buf[1] > NT_GOSSIP_IHAVE || peer < 1 || peer > 3)
		abort();
	if (buf[1] == NT_GOSSIP_IHAVE &&
	    (len < NT_GOSSIP_HDR_LEN + 2 ||
	     len - NT_GOSSIP_HDR_LEN - 2 != (size_t)(buf[2] << 8 | buf[3]) * NT_GOSSIP_SUMMARY_ITEM))
		abort();
	if (buf[1] == NT_GOSSIP_RANGES &&
	    len != NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR + NT_GOSSIP_SPLIT * NT_GOSSIP_RANGE_ITEM)
		abort();
	if (buf[1] == NT_GOSSIP_SUMMARY &&
	    (len < NT_GOSSIP_HDR_LEN + NT_GOSSIP_RANGE_HDR + 2 ||
	     (len - NT_GOSSIP_HDR_LEN - NT_GOSSIP_RANGE_HDR - 2) % NT_GOSSIP_SUMMARY_ITEM ||
	     (len - NT_GOSSIP_HDR_LEN - NT_GOSSIP_RANGE_HDR - 2) / NT_GOSSIP_SUMMARY_ITEM > NT_GOSSIP_LEAF))
		abort();
}

/* The ledger the fuzzer talks to: entries of three owners in three buckets. */
static struct nt_ledger *fuzz_ledger(void)
{
	static const char *keys[] = { "10.1.0.1", "10.1.0.2", "web", "db", "a.example" };
	static const char *buckets[] = { "machines", "machines", "services", "services", "dns" };
	struct nt_ledger *l;

	if (sodium_init() < 0 || nt_ledger_new(&l, &(struct nt_ledger_cfg){ .capacity = 64 }) < 0)
		abort();
	for (int i = 0; i < 3; i++) {
		uint8_t seed[32] = { 'f', 'z', (uint8_t)i };
		fuzz_ids[i].ed_sk = sodium_malloc(64);
		if (!fuzz_ids[i].ed_sk)
			abort();
		crypto_sign_seed_keypair(fuzz_ids[i].ed_pk, fuzz_ids[i].ed_sk, seed);
		for (int k = i; k < 5; k += 2)
			if (nt_ledger_put_local(l, &fuzz_ids[i], buckets[k], keys[k], "value", 5, 300000,
						FUZZ_NOW, NULL) < 0)
				abort();
		for (int k = 0; k < 14; k++) {
			char key[16];

			snprintf(key, sizeof(key), "svc-%d-%d", i, k);
			if (nt_ledger_put_local(l, &fuzz_ids[i], "services", key, "v", 1, 300000,
						FUZZ_NOW, NULL) < 0)
				abort();
		}
	}
	return l;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nt_ledger *l;
	static struct nt_gossip *g;
	static unsigned int calls;
	/* Within 3 s, so nothing expires (and the clock may step back, as wall clocks do). */
	uint64_t now = FUZZ_NOW + 1000 + (calls++ % 8) * 400;

	if (!g) {
		struct nt_gossip_cfg cfg = { .max_msg = FUZZ_MAX_MSG, .send = fuzz_send };
		l = fuzz_ledger();
		if (nt_gossip_new(&g, l, &cfg) < 0)
			abort();
		for (uint64_t p = 1; p <= 3; p++)
			nt_gossip_peer_add(g, p);
	}
	nt_gossip_input(g, 1 + size % 3, data, size, now);
	if (nt_ledger_count(l) > 64)
		abort();
	/* A tick leaves nothing due: a deadline in the past would spin the caller's timer. */
	if (nt_gossip_tick(g, now) <= now || nt_gossip_deadline(g) <= now)
		abort();
	return 0;
}
