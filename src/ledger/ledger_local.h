/* SPDX-License-Identifier: MIT */
/*
 * The entries this node signs (ledger_local.c): put, delete, refresh. Part of the ledger's
 * public interface: include ledger/ledger.h.
 */
#ifndef NT_LEDGER_LOCAL_H
#define NT_LEDGER_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_types.h"
#include "netron/keys.h"

struct nt_ledger;

/*
 * Creates or refreshes our entry: version bump, claimed_at kept while our entry is
 * live, expires at now + ttl_ms. *out (may be NULL) gets the stored entry.
 * 0, -EINVAL, -ENOSPC (store full), -EDQUOT (per-owner cap).
 */
int nt_ledger_put_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			const char *key, const void *value, size_t len, uint64_t ttl_ms,
			uint64_t now_ms, const struct nt_ledger_entry **out);
/* Replaces our entry with a signed tombstone. 0, -ENOENT, -EINVAL. */
int nt_ledger_delete_local(struct nt_ledger *l, const struct nt_identity *id, const char *bucket,
			   const char *key, uint64_t now_ms);
/* Re-signs our entries past half their TTL; returns how many, or -errno. */
int nt_ledger_refresh_local(struct nt_ledger *l, const struct nt_identity *id, uint64_t now_ms);

#endif
