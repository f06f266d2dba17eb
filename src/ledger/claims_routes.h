/* SPDX-License-Identifier: MIT */
/*
 * The claims' subnet routes (docs/routes.md): what claims.c's route rebuild does with the
 * prefixes the machine claims carry. The choice among members is ledger/subnets.h's; here is
 * this node's consent, the route table entries and the kernel routes. Loop thread only.
 */
#ifndef NT_CLAIMS_ROUTES_H
#define NT_CLAIMS_ROUTES_H

#include <stdint.h>

#include "ledger/claims.h"
#include "ledger/ledger_entry.h"
#include "netron/status.h"

/* Adds the offers of machine claim e (live, in our prefixes, of a proven owner) to acc. */
void nt_claims_routes_collect(const struct nt_claims *cl, struct nt_claims_offers *acc,
			      const struct nt_ledger_entry *e);
/*
 * Takes acc's offers as the claims' (acc is left empty): chooses one member per prefix,
 * marks what we accept, keeps the kernel routes in step and puts the accepted prefixes in
 * the data plane's table (cleared by the caller). The number of prefixes put there.
 */
unsigned int nt_claims_routes_apply(struct nt_claims *cl, struct nt_claims_offers *acc);
/* The longest accepted prefix holding dst, or NULL (sessions on demand dial its member). */
const struct nt_subnet_offer *nt_claims_routes_lookup(const struct nt_claims *cl, int family, const uint8_t *dst);
/* Removes our kernel routes and forgets the offers. */
void nt_claims_routes_stop(struct nt_claims *cl);
/* The offers as /api/routes shows them: s->routes (freed with the status). */
void nt_claims_routes_status(const struct nt_claims *cl, struct nt_status *s);

#endif
