/* SPDX-License-Identifier: MIT */
/*
 * What the claims' files share: claims.c, the route rebuild (claims_rebuild.c) and the
 * subnet routes (claims_routes.c, docs/routes.md: what the rebuild does with the prefixes
 * the machine claims carry; the choice among members is ledger/subnets.h's, there is this
 * node's consent, the route table entries and the kernel routes). Loop thread only.
 * Declared apart from claims.h (and without it) so that the three do not include each other.
 */
#ifndef NT_CLAIMS_IMPL_H
#define NT_CLAIMS_IMPL_H

#include <stdbool.h>
#include <stdint.h>

struct nt_cidr;
struct nt_claims;
struct nt_claims_offers;
struct nt_contact;
struct nt_ledger_entry;
struct nt_status;
struct nt_subnet_offer;

/* Rebuilds the route table, the subnet routes and the neighbors from the winning claims. */
void nt_claims_rebuild_routes(struct nt_claims *cl);
/* Who owns machine claim e and where it says it is reached: at most four unicast endpoints. */
void nt_claims_contact(const struct nt_ledger_entry *e, struct nt_contact *c);
/* Whether e's key is an address in one of our prefixes; *out (may be NULL) gets it. */
bool nt_claims_key_in_prefixes(const struct nt_claims *cl, const struct nt_ledger_entry *e,
			       struct nt_cidr *out);
/*
 * The ledger's proven() (ctx: the claims): it is us, we completed a handshake with owner,
 * or a member we have a session with says it has one (PEX).
 */
bool nt_claims_owner_is_proven(void *ctx, const uint8_t owner[32]);
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
