// SPDX-License-Identifier: MIT
/*
 * The ledger's orderings of its slots (ledger_impl.h): the expiry heap, which keeps the
 * entry that expires first on top so that expiry costs O(log n) per entry rotated out, and
 * the in-place heapsort that compaction and the state hash sort slot indices with: they
 * sort the heap's own array and rebuild the heap after. Neither allocates.
 */
#include "ledger/ledger_impl.h"

/*
 * The expiry heap: every used slot, the first to expire on top, so expiry costs
 * O(log n) per entry rotated out and nothing while none is due.
 */
static bool heap_less(const struct nt_ledger *l, uint32_t a, uint32_t b)
{
	return l->slots[l->heap[a]].e.expires_at < l->slots[l->heap[b]].e.expires_at;
}

static void heap_swap(struct nt_ledger *l, uint32_t a, uint32_t b)
{
	uint32_t t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->slots[l->heap[a]].heap_pos = a;
	l->slots[l->heap[b]].heap_pos = b;
}

static void heap_sift_down(struct nt_ledger *l, uint32_t pos)
{
	for (uint32_t child; (child = 2 * pos + 1) < l->nheap; pos = child) {
		if (child + 1 < l->nheap && heap_less(l, child + 1, child))
			child++;
		if (!heap_less(l, child, pos))
			return;
		heap_swap(l, pos, child);
	}
}

void nt_ledger_heap_fix(struct nt_ledger *l, uint32_t pos)
{
	while (pos > 0 && heap_less(l, pos, (pos - 1) / 2)) {
		heap_swap(l, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
	heap_sift_down(l, pos);
}

/* Floyd's bottom-up heapify: every subtree below pos is a heap before pos sifts down. */
void nt_ledger_heap_rebuild(struct nt_ledger *l)
{
	for (uint32_t i = 0; i < l->nheap; i++)
		l->slots[l->heap[i]].heap_pos = i;
	for (uint32_t i = l->nheap / 2; i-- > 0;)
		heap_sift_down(l, i);
}

void nt_ledger_heap_push(struct nt_ledger *l, uint32_t idx)
{
	l->heap[l->nheap] = idx;
	l->slots[idx].heap_pos = l->nheap++;
	nt_ledger_heap_fix(l, l->nheap - 1);
}

void nt_ledger_heap_remove(struct nt_ledger *l, uint32_t idx)
{
	uint32_t pos = l->slots[idx].heap_pos;

	if (pos != --l->nheap) {
		heap_swap(l, pos, l->nheap);
		nt_ledger_heap_fix(l, pos);
	}
	l->slots[idx].heap_pos = NIL;
}

uint32_t nt_ledger_heap_top(const struct nt_ledger *l)
{
	return l->nheap ? l->heap[0] : NIL;
}

static void sort_sift(const struct nt_ledger *l, uint32_t *v, size_t root, size_t n,
		      int (*cmp)(const struct nt_ledger *l, uint32_t a, uint32_t b))
{
	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		uint32_t t;

		if (child + 1 < n && cmp(l, v[child], v[child + 1]) < 0)
			child++;
		if (cmp(l, v[root], v[child]) >= 0)
			return;
		t = v[root];
		v[root] = v[child];
		v[child] = t;
	}
}

/* Heapsort: glibc's qsort may malloc a merge buffer, and steady state must not allocate. */
void nt_ledger_sort_slots(const struct nt_ledger *l, uint32_t *v, size_t n,
			  int (*cmp)(const struct nt_ledger *l, uint32_t a, uint32_t b))
{
	for (size_t i = n / 2; i-- > 0;)
		sort_sift(l, v, i, n, cmp);
	for (size_t end = n; end-- > 1;) {
		uint32_t t = v[0];

		v[0] = v[end];
		v[end] = t;
		sort_sift(l, v, 0, end, cmp);
	}
}
