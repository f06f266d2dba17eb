/* SPDX-License-Identifier: MIT */
/*
 * Subnet routes (docs/routes.md): the prefixes a member forwards to, carried in its signed
 * machine claim as "routes": ["198.51.100.0/24", ...]. This file owns the rules, sans-IO:
 * which prefixes may be advertised at all, the strict decoding of a claim's list (bounded,
 * canonical, all or nothing), and the deterministic choice among members advertising the
 * same prefix: the earliest claim wins, ties to the lower node ID, so every member picks the
 * same one and the next in line takes over when the winner's claim goes.
 */
#ifndef NT_SUBNETS_H
#define NT_SUBNETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/options.h"

/* The claim's list as text stays under this many bytes: the claim fits the ledger's values. */
#define NT_SUBNETS_TEXT_MAX 320

/*
 * Why prefix c may not be advertised in a network whose VPN prefixes are vpn[0..n_vpn), or
 * NULL when it may: host bits set, a length under /8 (IPv4) or /16 (IPv6) other than the
 * default route /0, loopback, link-local or multicast space, or an overlap with the VPN.
 */
const char *nt_subnet_check(const struct nt_cidr *c, const struct nt_cidr *vpn, unsigned int n_vpn);

/*
 * The "routes" of a machine claim's JSON value: up to max prefixes into out, each checked
 * against vpn as above. The count (0 when the claim has none: a value without the text
 * "routes" is not even parsed), -EINVAL when the value or any
 * entry is malformed, not canonical (exactly as nt_cidr_format() writes it), repeated or
 * refused by nt_subnet_check(), -E2BIG past max or NT_MAX_ADVERTISED_ROUTES: a claim's routes
 * are taken whole or not at all.
 */
int nt_subnet_decode(const uint8_t *value, size_t len, const struct nt_cidr *vpn, unsigned int n_vpn,
		     struct nt_cidr *out, unsigned int max);

/* One member's offer of a prefix, as the claims have it. */
struct nt_subnet_offer {
	struct nt_cidr prefix;
	uint8_t owner[32];
	uint64_t claimed_at; /* unix ms: the earliest of the owner's claims carrying it */
	char key[48]; /* one of the owner's machine claims (its address as the ledger's key) */
	bool chosen; /* the winner of its prefix */
	bool accepted; /* this node routes the prefix to owner (its consent; claims.c sets it) */
};

/*
 * Adds owner's offer of prefix to o[0..*n) (at most cap), or lowers claimed_at of the offer it
 * already made (one member has a claim per address, each carrying its routes).
 */
void nt_subnet_offer_add(struct nt_subnet_offer *o, size_t *n, size_t cap, const struct nt_cidr *prefix,
			 const uint8_t owner[32], uint64_t claimed_at, const char *key);

/*
 * Sorts offers by prefix, and within a prefix by the rule (earliest claim, then lowest node
 * ID), and marks the first of each prefix chosen.
 */
void nt_subnet_choose(struct nt_subnet_offer *o, size_t n);

/* Whether a and b are the same prefix. */
bool nt_subnet_same(const struct nt_cidr *a, const struct nt_cidr *b);
/* Whether two prefixes share an address (one holds the other). */
bool nt_subnet_overlaps(const struct nt_cidr *a, const struct nt_cidr *b);

#endif
