/* SPDX-License-Identifier: MIT */
/*
 * The ledger over time (ledger_state.c): expiry, the state hash, and the ring of sealed
 * blocks. Part of the ledger's public interface: include ledger/ledger.h.
 */
#ifndef NT_LEDGER_STATE_H
#define NT_LEDGER_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_types.h"

struct nt_ledger;

/* Rotates out entries with expires_at <= now. Returns how many. */
size_t nt_ledger_expire(struct nt_ledger *l, uint64_t now_ms);

/* BLAKE2b-256 over the stored entries in canonical order (cached until the next change). */
void nt_ledger_state_hash(struct nt_ledger *l, uint8_t out[NT_LEDGER_HASH_LEN]);
/* Seals the current state into the next block of the ring; returns it. */
const struct nt_ledger_block *nt_ledger_seal(struct nt_ledger *l, uint64_t now_ms);
/* Block i of the ring, 0 the newest; NULL past the number sealed. */
const struct nt_ledger_block *nt_ledger_block_get(const struct nt_ledger *l, size_t i);

#endif
