// SPDX-License-Identifier: MIT
/*
 * The neighbor choice (tunnel/neighbors.c): self and duplicates never chosen, the ring's two
 * neighbors always among the choice, the same members give the same choice, and the union of
 * everyone's choices is connected with a diameter near log N for networks up to 2,000.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "tunnel/neighbors.h"

static uint8_t (*random_ids(size_t n))[32]
{
	uint8_t (*ids)[32] = malloc(n * 32);

	assert_non_null(ids);
	randombytes_buf(ids, n * 32);
	return ids;
}

static void test_small(void **state)
{
	uint8_t ids[3][32] = { { 1 }, { 2 }, { 3 } };
	size_t out[NT_NEIGHBORS_MAX];

	(void)state;
	/* Alone, or with only ourselves listed: nobody. */
	assert_int_equal(nt_neighbors_pick(ids[0], ids, 1, 4, out), 0);
	assert_int_equal(nt_neighbors_pick(ids[0], ids, 0, 4, out), 0);
	/* Two others: both, each once. */
	assert_int_equal(nt_neighbors_pick(ids[0], ids, 3, 4, out), 2);
	assert_true((out[0] == 1 && out[1] == 2) || (out[0] == 2 && out[1] == 1));
	/* Successor first (2 follows 1), then predecessor (3, wrapping). */
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	/* k bounds the choice. */
	assert_int_equal(nt_neighbors_pick(ids[0], ids, 3, 1, out), 1);
	assert_int_equal(out[0], 1);
}

static void test_duplicates_and_self(void **state)
{
	uint8_t ids[6][32] = { { 5 }, { 5 }, { 9 }, { 9 }, { 7 }, { 7 } };
	uint8_t self[32] = { 7 };
	size_t out[NT_NEIGHBORS_MAX];
	unsigned int m;

	(void)state;
	m = nt_neighbors_pick(self, ids, 6, 8, out);
	assert_int_equal(m, 2); /* 5 and 9, once each; 7 is us */
	for (unsigned int i = 0; i < m; i++)
		assert_memory_not_equal(ids[out[i]], self, 32);
	assert_memory_not_equal(ids[out[0]], ids[out[1]], 32);
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* The ring neighbors are chosen, and the choice does not depend on the order of ids[]. */
static void test_ring_and_order(void **state)
{
	enum { N = 300 };
	uint8_t (*ids)[32] = random_ids(N), (*sorted)[32] = malloc(N * 32);
	size_t out[NT_NEIGHBORS_MAX], out2[NT_NEIGHBORS_MAX];

	(void)state;
	assert_non_null(sorted);
	memcpy(sorted, ids, N * 32);
	qsort(sorted, N, 32, cmp_id);
	for (size_t s = 0; s < N; s += 37) {
		const uint8_t *self = sorted[s];
		unsigned int m = nt_neighbors_pick(self, ids, N, 4, out);
		unsigned int m2 = nt_neighbors_pick(self, sorted, N, 4, out2);

		assert_int_equal(m, 4);
		assert_int_equal(m2, 4);
		assert_memory_equal(ids[out[0]], sorted[(s + 1) % N], 32);
		assert_memory_equal(ids[out[1]], sorted[(s + N - 1) % N], 32);
		for (unsigned int i = 0; i < m; i++)
			assert_memory_equal(ids[out[i]], sorted[out2[i]], 32);
	}
	free(ids);
	free(sorted);
}

/* Breadth-first search over the undirected union of the choices: the eccentricity of node 0. */
static unsigned int eccentricity(const size_t *adj, const unsigned int *deg, size_t n, size_t from,
				 size_t *reached)
{
	unsigned int *dist = malloc(n * sizeof(*dist)), far = 0;
	size_t *queue = malloc(n * sizeof(*queue)), head = 0, tail = 0;
	const unsigned int cap = 2 * NT_NEIGHBORS_MAX + 64;

	assert_non_null(dist);
	assert_non_null(queue);
	for (size_t i = 0; i < n; i++)
		dist[i] = UINT32_MAX;
	dist[from] = 0;
	queue[tail++] = from;
	while (head < tail) {
		size_t v = queue[head++];

		for (unsigned int e = 0; e < deg[v]; e++) {
			size_t w = adj[v * cap + e];

			if (dist[w] != UINT32_MAX)
				continue;
			dist[w] = dist[v] + 1;
			far = dist[w] > far ? dist[w] : far;
			queue[tail++] = w;
		}
	}
	*reached = tail;
	free(dist);
	free(queue);
	return far;
}

static void test_connected_small_world(void **state)
{
	static const size_t sizes[] = { 5, 10, 50, 250, 2000 };

	(void)state;
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		size_t n = sizes[t], reached;
		const unsigned int cap = 2 * NT_NEIGHBORS_MAX + 64;
		uint8_t (*ids)[32] = random_ids(n);
		size_t *adj = malloc(n * cap * sizeof(*adj)), out[NT_NEIGHBORS_MAX];
		unsigned int *deg = calloc(n, sizeof(*deg)), log2n = 0, far;

		assert_non_null(adj);
		assert_non_null(deg);
		while ((1u << log2n) < n)
			log2n++;
		for (size_t v = 0; v < n; v++) {
			unsigned int m = nt_neighbors_pick(ids[v], ids, n, 4, out);

			assert_int_equal(m, n - 1 < 4 ? n - 1 : 4);
			for (unsigned int i = 0; i < m; i++) {
				size_t w = out[i];
				bool dup = false;

				assert_true(w != v);
				for (unsigned int e = 0; e < deg[v]; e++)
					dup |= adj[v * cap + e] == w;
				if (dup)
					continue; /* both chose each other: one session */
				if (deg[v] < cap)
					adj[v * cap + deg[v]++] = w;
				if (deg[w] < cap)
					adj[w * cap + deg[w]++] = v;
			}
		}
		/* Nobody is chosen by a crowd: the busiest member has a handful of sessions. */
		unsigned int busiest = 0;
		for (size_t v = 0; v < n; v++)
			busiest = deg[v] > busiest ? deg[v] : busiest;
		assert_true(busiest <= 40);
		far = eccentricity(adj, deg, n, 0, &reached);
		assert_int_equal(reached, n);
		assert_true(far <= 2 * log2n + 2);
		print_message("neighbors: %zu members, k 4: connected, %u hops from member 0 at most, "
			      "%u sessions at the busiest\n", n, far, busiest);
		free(ids);
		free(adj);
		free(deg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_duplicates_and_self),
		cmocka_unit_test(test_ring_and_order),
		cmocka_unit_test(test_connected_small_world),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
