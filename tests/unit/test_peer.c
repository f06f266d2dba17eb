// SPDX-License-Identifier: MIT
/*
 * The session index table: it starts at NT_INDEX_SLOTS_MIN, grows as indices come, finds
 * every one of them after each doubling and after removals (backward-shift deletion), and
 * refuses with -ENOSPC only beyond what its --max-peers needs (three keypairs a member and
 * the handshakes in flight).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "dataplane/peer.h"

static void test_index_grows_and_finds(void **state)
{
	enum { N = 5000 };
	static uint32_t idx[N];
	struct nt_index_table t;
	size_t start;

	(void)state;
	assert_int_equal(nt_index_table_init(&t, 2000), 0);
	start = nt_index_table_bytes(&t);
	assert_int_equal(start, NT_INDEX_SLOTS_MIN * sizeof(struct nt_index_slot));
	for (uintptr_t i = 0; i < N; i++) {
		assert_int_equal(nt_index_add(&t, NT_INDEX_KEYPAIR, (void *)(i + 1), 1, 0, &idx[i]), 0);
		assert_int_not_equal(idx[i], 0);
	}
	assert_int_equal(t.count, N);
	assert_true(nt_index_table_bytes(&t) > start);
	for (uintptr_t i = 0; i < N; i++)
		assert_ptr_equal(nt_index_lookup(&t, idx[i], NT_INDEX_KEYPAIR), (void *)(i + 1));
	/* Every other one removed: the rest are still found, the removed ones are not. */
	for (unsigned int i = 0; i < N; i += 2)
		nt_index_remove(&t, idx[i]);
	for (uintptr_t i = 0; i < N; i++)
		assert_ptr_equal(nt_index_lookup(&t, idx[i], NT_INDEX_KEYPAIR),
				 i % 2 ? (void *)(i + 1) : NULL);
	assert_true(nt_index_rebind(&t, idx[1], NT_INDEX_HANDSHAKE, (void *)7));
	assert_null(nt_index_lookup(&t, idx[1], NT_INDEX_KEYPAIR));
	assert_ptr_equal(nt_index_lookup(&t, idx[1], NT_INDEX_HANDSHAKE), (void *)7);
	nt_index_table_uninit(&t);
}

/* Lanes: an index for lane 2 of 3 has its low byte == 2 modulo 3, across a doubling. */
static void test_index_lanes(void **state)
{
	struct nt_index_table t;
	uint32_t idx;

	(void)state;
	assert_int_equal(nt_index_table_init(&t, 1000), 0);
	for (uintptr_t i = 0; i < 400; i++) {
		assert_int_equal(nt_index_add(&t, NT_INDEX_HANDSHAKE, (void *)(i + 1), 3, 2, &idx), 0);
		assert_int_equal((idx & 0xff) % 3, 2);
	}
	nt_index_table_uninit(&t);
}

/* Sized for 100 members: it holds 3 x 100 + NT_MAX_ATTEMPTS indices, then -ENOSPC. */
static void test_index_cap(void **state)
{
	struct nt_index_table t;
	unsigned int n = 0;
	uint32_t idx;
	int ret;

	(void)state;
	assert_int_equal(nt_index_table_init(&t, 100), 0);
	while ((ret = nt_index_add(&t, NT_INDEX_KEYPAIR, &t, 1, 0, &idx)) == 0)
		assert_true(++n < 1000000);
	assert_int_equal(ret, -ENOSPC);
	assert_true(n >= 3 * 100 + NT_MAX_ATTEMPTS);
	assert_true(n <= 2 * (3 * 100 + NT_MAX_ATTEMPTS));
	assert_int_equal(t.count, n);
	nt_index_table_uninit(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_grows_and_finds),
		cmocka_unit_test(test_index_lanes),
		cmocka_unit_test(test_index_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
