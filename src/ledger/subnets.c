// SPDX-License-Identifier: MIT
/*
 * Subnet routes in the claims (subnets.h): what may be advertised, the decoding of a claim's
 * "routes" (a remote member wrote it: bounded and strict), and the choice among members that
 * advertise the same prefix.
 */
#include "ledger/subnets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>

#include "dataplane/route.h"

bool nt_subnet_overlaps(const struct nt_cidr *a, const struct nt_cidr *b)
{
	const struct nt_cidr *shorter = a->prefix <= b->prefix ? a : b;
	const struct nt_cidr *longer = shorter == a ? b : a;

	return a->family == b->family && nt_cidr_contains(shorter, longer->family, longer->addr);
}

static bool in_space(const struct nt_cidr *c, const char *space)
{
	struct nt_cidr s;

	return nt_cidr_parse(space, &s) && nt_subnet_overlaps(c, &s);
}

const char *nt_subnet_check(const struct nt_cidr *c, const struct nt_cidr *vpn, unsigned int n_vpn)
{
	static const char *const reserved[] = { "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4",
						"::1/128", "fe80::/10", "ff00::/8" };
	uint8_t masked[16];

	if (c->family != AF_INET && c->family != AF_INET6)
		return "not an IPv4 or IPv6 prefix";
	if (c->prefix > (c->family == AF_INET ? 32 : 128))
		return "prefix length beyond the address";
	nt_route_mask(c->family, c->addr, c->prefix, masked);
	if (memcmp(masked, c->addr, c->family == AF_INET ? 4 : 16) != 0)
		return "host bits are set (give the network address, e.g. 198.51.100.0/24)";
	/* The default route is --router's: anything shorter than these is a typo. */
	if (c->prefix == 0)
		return NULL;
	if (c->prefix < (c->family == AF_INET ? 8 : 16))
		return "too short a prefix (at least /8 for IPv4, /16 for IPv6, or /0)";
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (in_space(c, reserved[i]))
			return "loopback, link-local or multicast space";
	for (unsigned int i = 0; i < n_vpn; i++)
		if (nt_subnet_overlaps(c, &vpn[i]))
			return "overlaps the VPN's own prefix";
	return NULL;
}

int nt_subnet_decode(const uint8_t *value, size_t len, const struct nt_cidr *vpn, unsigned int n_vpn,
		     struct nt_cidr *out, unsigned int max)
{
	json_error_t jerr;
	json_t *v, *list, *x;
	size_t i, text = 0;
	int n = 0;

	/* Most claims carry no routes: no JSON parse for them (a rebuild reads every claim). */
	if (!memmem(value, len, "\"routes\"", 8))
		return 0;
	v = json_loadb((const char *)value, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		return -EINVAL;
	}
	list = json_object_get(v, "routes");
	if (!list) {
		json_decref(v);
		return 0;
	}
	if (!json_is_array(list)) {
		n = -EINVAL;
		goto out;
	}
	if (json_array_size(list) > max || json_array_size(list) > NT_MAX_ADVERTISED_ROUTES) {
		n = -E2BIG;
		goto out;
	}
	json_array_foreach(list, i, x) {
		const char *s = json_string_value(x);
		char canon[64];
		struct nt_cidr c;

		if (!s || strlen(s) >= sizeof(canon) || !nt_cidr_parse(s, &c) || nt_subnet_check(&c, vpn, n_vpn) ||
		    strcmp(nt_cidr_format(&c, canon, sizeof(canon)), s) != 0) {
			n = -EINVAL;
			goto out;
		}
		text += strlen(s) + 3;
		for (int k = 0; k < n; k++)
			if (nt_subnet_same(&out[k], &c)) {
				n = -EINVAL;
				goto out;
			}
		out[n++] = c;
	}
	if (text > NT_SUBNETS_TEXT_MAX)
		n = -E2BIG;
out:
	json_decref(v);
	return n;
}

bool nt_subnet_same(const struct nt_cidr *a, const struct nt_cidr *b)
{
	return a->family == b->family && a->prefix == b->prefix && !memcmp(a->addr, b->addr, 16);
}

void nt_subnet_offer_add(struct nt_subnet_offer *o, size_t *n, size_t cap, const struct nt_cidr *prefix,
			 const uint8_t owner[32], uint64_t claimed_at, const char *key)
{
	struct nt_subnet_offer *x;

	for (size_t i = 0; i < *n; i++) {
		if (!nt_subnet_same(&o[i].prefix, prefix) || memcmp(o[i].owner, owner, 32))
			continue;
		if (claimed_at < o[i].claimed_at) {
			o[i].claimed_at = claimed_at;
			snprintf(o[i].key, sizeof(o[i].key), "%s", key);
		}
		return;
	}
	if (*n >= cap)
		return;
	x = &o[(*n)++];
	memset(x, 0, sizeof(*x));
	x->prefix = *prefix;
	memcpy(x->owner, owner, 32);
	x->claimed_at = claimed_at;
	snprintf(x->key, sizeof(x->key), "%s", key);
}

static int offer_cmp(const void *a, const void *b)
{
	const struct nt_subnet_offer *x = a, *y = b;
	int c;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	if (x->prefix.prefix != y->prefix.prefix)
		return x->prefix.prefix > y->prefix.prefix ? -1 : 1; /* longest first */
	c = memcmp(x->prefix.addr, y->prefix.addr, 16);
	if (c)
		return c;
	if (x->claimed_at != y->claimed_at)
		return x->claimed_at < y->claimed_at ? -1 : 1;
	return memcmp(x->owner, y->owner, 32);
}

void nt_subnet_choose(struct nt_subnet_offer *o, size_t n)
{
	if (n)
		qsort(o, n, sizeof(*o), offer_cmp);
	for (size_t i = 0; i < n; i++)
		o[i].chosen = i == 0 || !nt_subnet_same(&o[i].prefix, &o[i - 1].prefix);
}
