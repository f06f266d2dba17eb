/* SPDX-License-Identifier: MIT */
/*
 * Reading the ledger (ledger_query.c): effective entries, one owner's, by id, iteration,
 * and the questions address claims ask. Part of the ledger's public interface: include
 * ledger/ledger.h.
 */
#ifndef NT_LEDGER_QUERY_H
#define NT_LEDGER_QUERY_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger/ledger_types.h"

#define NT_LEDGER_MACHINES "machines" /* key: the VPN address as text, "10.1.0.11" */

struct nt_ledger;

/*
 * The effective entry for (bucket, key): the earliest live claim of a proven owner (then of
 * any owner), ties to the lower owner.
 */
const struct nt_ledger_entry *nt_ledger_get(const struct nt_ledger *l, const char *bucket,
					    const char *key);
/* One owner's stored entry (tombstones included), or NULL. */
const struct nt_ledger_entry *nt_ledger_get_owned(const struct nt_ledger *l, const char *bucket,
						  const char *key, const uint8_t owner[32]);
/* The stored entry with this short id (see nt_ledger_entry_id), or NULL. */
const struct nt_ledger_entry *nt_ledger_get_by_id(const struct nt_ledger *l, uint64_t id);
/* Effective entries of a bucket (NULL: every bucket); no tombstones, no losing claims. */
void nt_ledger_foreach(const struct nt_ledger *l, const char *bucket, nt_ledger_foreach_fn *cb,
		       void *ctx);
/* Every stored entry, in slot order. */
void nt_ledger_foreach_stored(const struct nt_ledger *l, nt_ledger_foreach_fn *cb, void *ctx);

/* Whether any live claim (no tombstone) by an owner other than `owner` is on (bucket, key). */
bool nt_ledger_is_claimed(const struct nt_ledger *l, const char *bucket, const char *key,
			  const uint8_t owner[32]);

/* Bucket "machines": the winning owner of the VPN address ip_text, or NULL. */
const uint8_t *nt_ledger_machine_owner(const struct nt_ledger *l, const char *ip_text);
/* Whether another owner's live claim on (bucket, key) beats owner's (present or future) one. */
bool nt_ledger_claim_is_beaten(const struct nt_ledger *l, const char *bucket, const char *key,
			       const uint8_t owner[32]);

#endif
