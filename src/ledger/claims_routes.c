// SPDX-License-Identifier: MIT
/*
 * The claims' subnet routes (docs/routes.md; the rules are in ledger/subnets.h): the offers
 * read from the machine claims at each rebuild, this node's consent to them (--accept-routes,
 * --router), the prefixes they put in the data plane's route table, and the kernel routes on
 * the TUN that follow them, added when accepted, removed when withdrawn and at exit. Loop
 * thread only, as claims.c.
 */
#include "ledger/claims_impl.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "ledger/claims.h"
#include "ledger/ledger.h"
#include "ledger/ledger_entry.h"
#include "ledger/subnets.h"
#include "netron/status.h"

/* The network's own prefixes, as this node knows them: advertised routes may not overlap. */
static unsigned int vpn_prefixes(const struct nt_claims *cl, struct nt_cidr *out)
{
	const struct nt_options *o = cl->host.opts;
	unsigned int n = 0;

	for (unsigned int i = 0; i < o->n_addresses && i < NT_MAX_ADDRESSES; i++)
		out[n++] = o->addresses[i];
	if (o->dhcp)
		out[n++] = o->dhcp_range;
	return n;
}

/*
 * The subnet routes a (live, in-prefix) machine claim carries, as offers. A claim whose list
 * is malformed, too long or names a forbidden prefix offers nothing (nt_subnet_decode()).
 */
void nt_claims_routes_collect(const struct nt_claims *cl, struct nt_claims_offers *acc,
			      const struct nt_ledger_entry *e)
{
	struct nt_cidr vpn[NT_MAX_ADDRESSES + 1], routes[NT_MAX_ADVERTISED_ROUTES];
	char key[48];
	int n;

	n = nt_subnet_decode(e->value, e->value_len, vpn, vpn_prefixes(cl, vpn), routes, NT_MAX_ADVERTISED_ROUTES);
	if (n <= 0)
		return;
	if (acc->n + (size_t)n > acc->cap) {
		size_t cap = acc->cap ? 2 * acc->cap : 64;
		struct nt_subnet_offer *o = realloc(acc->v, cap * sizeof(*o));

		if (!o)
			return;
		acc->v = o;
		acc->cap = cap;
	}
	snprintf(key, sizeof(key), "%.*s", (int)e->key_len, e->key);
	for (int i = 0; i < n; i++)
		nt_subnet_offer_add(acc->v, &acc->n, acc->cap, &routes[i], e->owner,
				    e->claimed_at, key);
}

/*
 * Whether one of our own advertised prefixes overlaps c: we never route our own LAN away.
 * A default route overlaps everything, so it counts only against another default route.
 */
static bool overlaps_ours(const struct nt_claims *cl, const struct nt_cidr *c)
{
	for (unsigned int i = 0; i < cl->host.opts->n_advertise_routes; i++) {
		const struct nt_cidr *ours = &cl->host.opts->advertise_routes[i];

		if (ours->prefix && c->prefix ? nt_subnet_overlaps(ours, c) : nt_subnet_same(ours, c))
			return true;
	}
	return false;
}

/*
 * Consent: with --accept-routes we use the chosen offer of every prefix; with --router ADDR,
 * the default routes (0.0.0.0/0, ::/0) that the member holding ADDR advertises, chosen or
 * not (the user named it). Never our own offers, nor prefixes that overlap ours.
 */
static void mark_accepted(struct nt_claims *cl, struct nt_subnet_offer *o, size_t n)
{
	const struct nt_options *opts = cl->host.opts;
	const uint8_t *router = NULL;
	char key[INET6_ADDRSTRLEN];

	if (opts->has_router && inet_ntop(opts->router.family, opts->router.addr, key, sizeof(key)))
		router = nt_ledger_machine_owner(cl->ledger, key);
	for (size_t i = 0; i < n; i++) {
		bool by_router = router && o[i].prefix.prefix == 0 && !memcmp(o[i].owner, router, 32);

		o[i].accepted = memcmp(o[i].owner, cl->host.id->ed_pk, 32) && !overlaps_ours(cl, &o[i].prefix) &&
				((opts->accept_routes && o[i].chosen) || by_router);
	}
}

/* Puts the accepted prefixes in the data plane's table, towards members we have a peer for. */
static unsigned int install_offers(struct nt_claims *cl)
{
	unsigned int n = 0;

	for (size_t pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cl->n_offers; i++) {
			const struct nt_subnet_offer *o = &cl->offers[i];
			struct nt_peer *p;

			/* --router's pick first: its default route wins over a chosen one. */
			if (!o->accepted || (pass == 0) != (o->prefix.prefix == 0 && !o->chosen))
				continue;
			p = nt_peer_lookup(&cl->host.dp->peers, o->owner);
			if (p && nt_route_add_prefix(&cl->host.dp->route, o->prefix.family, o->prefix.addr,
						     o->prefix.prefix, p) == 0)
				n++;
		}
	}
	return n;
}

/*
 * The kernel routes on the TUN follow the accepted prefixes: added when accepted, removed
 * when withdrawn. Default routes are left to the user (they would carry our own UDP too).
 */
static void sync_kernel_routes(struct nt_claims *cl)
{
	struct nt_dataplane *dp = cl->host.dp;
	char buf[64];
	int ret;

	if (!dp->tun_open)
		return;
	for (unsigned int k = 0; k < cl->n_kroutes;) {
		bool keep = false;

		for (size_t i = 0; i < cl->n_offers && !keep; i++)
			keep = cl->offers[i].accepted && nt_subnet_same(&cl->offers[i].prefix, &cl->kroutes[k]);
		if (keep) {
			k++;
			continue;
		}
		ret = nt_tun_del_route(&dp->tun, &cl->kroutes[k]);
		log_info("route %s via %s withdrawn%s%s", nt_cidr_format(&cl->kroutes[k], buf, sizeof(buf)),
			 dp->tun.name, ret < 0 ? ": " : "", ret < 0 ? strerror(-ret) : "");
		cl->kroutes[k] = cl->kroutes[--cl->n_kroutes];
	}
	for (size_t i = 0; i < cl->n_offers; i++) {
		const struct nt_subnet_offer *o = &cl->offers[i];
		bool have = false;

		if (!o->accepted || o->prefix.prefix == 0)
			continue;
		for (unsigned int k = 0; k < cl->n_kroutes && !have; k++)
			have = nt_subnet_same(&o->prefix, &cl->kroutes[k]);
		if (have)
			continue;
		nt_cidr_format(&o->prefix, buf, sizeof(buf));
		if (cl->n_kroutes >= NT_CLAIMS_KROUTES_MAX) {
			log_warnx("route %s: already %d kernel routes; not installed", buf, NT_CLAIMS_KROUTES_MAX);
			continue;
		}
		ret = nt_tun_add_route(&dp->tun, &o->prefix);
		if (ret < 0) {
			log_warnx("route %s via %s: %s", buf, dp->tun.name, strerror(-ret));
			continue;
		}
		cl->kroutes[cl->n_kroutes++] = o->prefix;
		log_info("route %s via %s: member %s forwards it", buf, dp->tun.name, o->key);
	}
}

unsigned int nt_claims_routes_apply(struct nt_claims *cl, struct nt_claims_offers *acc)
{
	free(cl->offers);
	cl->offers = acc->v;
	cl->n_offers = acc->n;
	acc->v = NULL;
	acc->n = acc->cap = 0;
	nt_subnet_choose(cl->offers, cl->n_offers);
	mark_accepted(cl, cl->offers, cl->n_offers);
	sync_kernel_routes(cl);
	return install_offers(cl);
}

/* The longest accepted prefix holding dst (offers are few: a member advertises 16 at most). */
const struct nt_subnet_offer *nt_claims_routes_lookup(const struct nt_claims *cl, int family, const uint8_t *dst)
{
	const struct nt_subnet_offer *best = NULL;

	if (cl->routes_dirty)
		return NULL;
	for (size_t i = 0; i < cl->n_offers; i++) {
		const struct nt_subnet_offer *o = &cl->offers[i];

		if (o->accepted && nt_cidr_contains(&o->prefix, family, dst) &&
		    (!best || o->prefix.prefix > best->prefix.prefix))
			best = o;
	}
	return best;
}

void nt_claims_routes_stop(struct nt_claims *cl)
{
	/* Our kernel routes go with us: nothing is drawn to a TUN that nobody reads. */
	for (unsigned int k = 0; k < cl->n_kroutes && cl->host.dp && cl->host.dp->tun_open; k++)
		nt_tun_del_route(&cl->host.dp->tun, &cl->kroutes[k]);
	cl->n_kroutes = 0;
	free(cl->offers);
	cl->offers = NULL;
	cl->n_offers = 0;
}

void nt_claims_routes_status(const struct nt_claims *cl, struct nt_status *s)
{
	s->routes = cl->n_offers ? calloc(cl->n_offers, sizeof(*s->routes)) : NULL;
	for (size_t i = 0; s->routes && i < cl->n_offers; i++) {
		const struct nt_subnet_offer *o = &cl->offers[i];
		struct nt_route_status *r = &s->routes[s->n_routes++];

		r->prefix = o->prefix;
		memcpy(r->via, o->owner, 32);
		snprintf(r->address, sizeof(r->address), "%s", o->key);
		r->chosen = o->chosen;
		r->accepted = o->accepted;
		r->ours = !memcmp(o->owner, cl->host.id->ed_pk, 32);
	}
}
