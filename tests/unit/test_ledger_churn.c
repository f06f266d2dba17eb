// SPDX-License-Identifier: MIT
/*
 * Churn: 100,000 signed claims from 5,000 identities through one ledger of capacity
 * 4096, with a 60 s TTL and a claim every 10 ms of fake time, so about 6,000 claims are
 * live at once and the store runs full. Checks that the live count never exceeds the
 * capacity, that refusals are counted (never silent), and that heap and RSS stay flat
 * after warm-up. Prints the figures.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "ledger/ledger.h"

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* From the sanitizer runtime (its header is not always installed). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#define T0 1700000000000ULL
#define IDENTITIES 5000
#define CLAIMS 100000
#define WARMUP 10000
#define CAPACITY 4096
#define TTL_MS 60000ULL
#define STEP_MS 10ULL

struct ident {
	uint8_t pk[32], sk[64];
	char last_key[20];
	uint64_t version, claimed;
};

static struct ident *idents;

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ULL;
}

static size_t heap_bytes(void)
{
#ifdef HAVE_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

static size_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Signs one claim as docs/ledger.md describes: context, then the encoding minus signature. */
static size_t make_claim(uint8_t *buf, size_t cap, struct ident *id, uint64_t now)
{
	static const char ctx[16] = "netron ledger v1";
	uint8_t zsig[64] = { 0 }, msg[16 + 512];
	char value[48];
	struct nt_ledger_entry e;
	ssize_t n;

	snprintf(value, sizeof(value), "{\"endpoint\":\"198.51.100.%u:51830\"}",
		 (unsigned)(rnd() % 250));
	e = (struct nt_ledger_entry){
		.bucket = NT_LEDGER_MACHINES, .key = id->last_key, .value = (const uint8_t *)value,
		.owner = id->pk, .sig = zsig, .version = ++id->version,
		.claimed_at = id->claimed, .expires_at = now + TTL_MS,
		.value_len = (uint16_t)strlen(value), .bucket_len = 8,
		.key_len = (uint8_t)strlen(id->last_key),
	};
	n = nt_ledger_entry_encode(&e, buf, cap);
	assert_true(n > 0);
	memcpy(msg, ctx, 16);
	memcpy(msg + 16, buf, (size_t)n - 64);
	crypto_sign_detached(buf + n - 64, NULL, msg, 16 + (size_t)n - 64, id->sk);
	return (size_t)n;
}

static void test_churn(void **state)
{
	struct nt_ledger_cfg cfg = { .capacity = CAPACITY };
	struct nt_ledger_stats st;
	struct nt_ledger *l;
	uint8_t buf[512], h[32];
	size_t heap_warm = 0, rss_warm = 0, heap_end, rss_end;
	uint32_t max_live = 0;
	struct timespec t0, t1;

	(void)state;
	idents = calloc(IDENTITIES, sizeof(*idents));
	assert_non_null(idents);
	for (uint32_t i = 0; i < IDENTITIES; i++) {
		uint8_t seed[32] = { 'c', 'h', (uint8_t)i, (uint8_t)(i >> 8) };
		crypto_sign_seed_keypair(idents[i].pk, idents[i].sk, seed);
	}
	assert_int_equal(nt_ledger_new(&l, &cfg), 0);
	(void)rss_bytes(); /* stdio's one-time allocations happen before the measurement */
	printf("# ledger capacity %u: %zu bytes allocated once\n", CAPACITY, nt_ledger_memory(l));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint32_t c = 0; c < CLAIMS; c++) {
		uint64_t now = T0 + c * STEP_MS;
		struct ident *id = &idents[rnd() % IDENTITIES];
		enum nt_ledger_verdict v;
		size_t n;

		/* A third of the claims refresh the identity's address, the rest move it (to a key
		 * that may be held: then refused as held). */
		if (!id->last_key[0] || rnd() % 3 != 0) {
			snprintf(id->last_key, sizeof(id->last_key), "10.%u.%u.%u",
				 (unsigned)(rnd() % 4), (unsigned)(rnd() % 256), (unsigned)(1 + rnd() % 254));
			id->claimed = now;
		}
		n = make_claim(buf, sizeof(buf), id, now);
		v = nt_ledger_insert(l, buf, n, now);
		if (v != NT_LEDGER_ADDED && v != NT_LEDGER_UPDATED && v != NT_LEDGER_REJ_FULL &&
		    v != NT_LEDGER_REJ_HELD)
			fail_msg("claim %u: unexpected verdict %s", c, nt_ledger_verdict_str(v));
		if (nt_ledger_count(l) > max_live)
			max_live = nt_ledger_count(l);
		if (c % 1000 == 999) {
			nt_ledger_state_hash(l, h);
			nt_ledger_seal(l, now);
		}
		if (c + 1 == WARMUP) {
			heap_warm = heap_bytes();
			rss_warm = rss_bytes();
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	heap_end = heap_bytes();
	rss_end = rss_bytes();
	nt_ledger_stats_get(l, &st);
	printf("# %d claims from %d identities in %.1f s: added %llu, updated %llu, refused (full) %llu, "
	       "refused (held) %llu, expired %llu, max live %u, live now %u, owners %u\n",
	       CLAIMS, IDENTITIES,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)st.verdicts[NT_LEDGER_ADDED],
	       (unsigned long long)st.verdicts[NT_LEDGER_UPDATED],
	       (unsigned long long)st.verdicts[NT_LEDGER_REJ_FULL],
	       (unsigned long long)st.verdicts[NT_LEDGER_REJ_HELD], (unsigned long long)st.expired,
	       max_live, st.entries, st.owners);
	printf("# heap after warm-up %zu bytes, at the end %zu bytes; RSS %zu -> %zu KiB\n",
	       heap_warm, heap_end, rss_warm / 1024, rss_end / 1024);
	assert_true(max_live <= CAPACITY);
	assert_int_equal(max_live, CAPACITY); /* it did run full */
	assert_true(st.verdicts[NT_LEDGER_REJ_FULL] > 0);
	assert_int_equal(st.verdicts[NT_LEDGER_ADDED] + st.verdicts[NT_LEDGER_UPDATED] +
				 st.verdicts[NT_LEDGER_REJ_FULL] + st.verdicts[NT_LEDGER_REJ_HELD],
			 CLAIMS);
	assert_int_equal(heap_end, heap_warm);
	assert_true(rss_end <= rss_warm + 256 * 1024);
	nt_ledger_free(l);
	free(idents);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
