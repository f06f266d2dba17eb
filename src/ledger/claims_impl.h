/* SPDX-License-Identifier: MIT */
/*
 * What claims.c calls in the claims' other file, claims_routes.c: the subnet routes
 * (docs/routes.md), what the route rebuild does with the prefixes the machine claims carry.
 * The choice among members is ledger/subnets.h's; there is this node's consent, the route
 * table entries and the kernel routes. Loop thread only. Declared apart from claims.h (and
 * without it) so that claims.c and claims_routes.c do not include each other.
 */
#ifndef NT_CLAIMS_IMPL_H
#define NT_CLAIMS_IMPL_H

#include <stdint.h>

struct nt_claims;
struct nt_claims_offers;
struct nt_ledger_entry;
struct nt_status;
struct nt_subnet_offer;

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
