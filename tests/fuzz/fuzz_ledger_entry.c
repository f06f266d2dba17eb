// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the ledger entry decoder and the merge. A decoded entry must encode back
 * to exactly the input bytes (the encoding is canonical); every input then goes through
 * nt_ledger_insert on a small fixed ledger, whose live count must stay within capacity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"

#define FUZZ_NOW 1700000000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nt_ledger *l;
	static uint8_t out[NT_LEDGER_WIRE_FIXED + NT_LEDGER_BUCKET_MAX + NT_LEDGER_KEY_LIMIT +
			   NT_LEDGER_VALUE_LIMIT];
	struct nt_ledger_entry e;
	enum nt_ledger_verdict v;

	if (!l && nt_ledger_new(&l, &(struct nt_ledger_cfg){ .capacity = 32 }) < 0)
		abort();
	if (nt_ledger_entry_decode(data, size, &e)) {
		ssize_t n = nt_ledger_entry_encode(&e, out, sizeof(out));
		if (n != (ssize_t)size || memcmp(out, data, size) != 0)
			abort();
		if (e.bucket_len > NT_LEDGER_BUCKET_MAX || e.version == 0 || e.claimed_at > e.expires_at)
			abort();
		(void)nt_ledger_entry_id(NULL, &e);
	}
	v = nt_ledger_insert(l, data, size, FUZZ_NOW);
	if ((unsigned)v >= NT_LEDGER_VERDICT_MAX || nt_ledger_count(l) > 32)
		abort();
	if (nt_ledger_verdict_is_ok(v) && !nt_ledger_entry_decode(data, size, &e))
		abort();
	return 0;
}
