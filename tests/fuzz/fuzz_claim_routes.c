// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the "routes" of a machine claim's value (ledger/subnets.h), written by any
 * member. Whatever it accepts must be bounded, pass nt_subnet_check() against the VPN's
 * prefix, and re-encode to a value that decodes to the same list; the choice among offers
 * made of it must mark exactly one winner per prefix.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/subnets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_cidr vpn[2], got[NT_MAX_ADVERTISED_ROUTES], again[NT_MAX_ADVERTISED_ROUTES];
	struct nt_subnet_offer offers[2 * NT_MAX_ADVERTISED_ROUTES];
	char value[2048], buf[64];
	size_t off, n_offers = 0;
	int n, m;

	if (!nt_cidr_parse("10.1.0.0/24", &vpn[0]) || !nt_cidr_parse("fd00:6e74::/64", &vpn[1]))
		abort();
	n = nt_subnet_decode(data, size, vpn, 2, got, NT_MAX_ADVERTISED_ROUTES);
	if (n > NT_MAX_ADVERTISED_ROUTES)
		abort();
	if (n <= 0)
		return 0;
	off = (size_t)snprintf(value, sizeof(value), "{\"routes\":[");
	for (int i = 0; i < n; i++) {
		if (nt_subnet_check(&got[i], vpn, 2))
			abort();
		off += (size_t)snprintf(value + off, sizeof(value) - off, "%s\"%s\"", i ? "," : "",
					nt_cidr_format(&got[i], buf, sizeof(buf)));
	}
	off += (size_t)snprintf(value + off, sizeof(value) - off, "]}");
	m = nt_subnet_decode((const uint8_t *)value, off, vpn, 2, again, NT_MAX_ADVERTISED_ROUTES);
	if (m != n)
		abort();
	for (int i = 0; i < n; i++)
		if (!nt_subnet_same(&got[i], &again[i]))
			abort();
	/* Two members offer the list, the second earlier for odd prefixes. */
	for (int i = 0; i < n; i++) {
		uint8_t a[32] = { 1 }, b[32] = { 2 };

		nt_subnet_offer_add(offers, &n_offers, 2 * NT_MAX_ADVERTISED_ROUTES, &got[i], a, 100, "10.1.0.1");
		nt_subnet_offer_add(offers, &n_offers, 2 * NT_MAX_ADVERTISED_ROUTES, &got[i], b,
				    i % 2 ? 50 : 200, "10.1.0.2");
	}
	nt_subnet_choose(offers, n_offers);
	for (size_t i = 0; i < n_offers; i++) {
		bool first = i == 0 || !nt_subnet_same(&offers[i].prefix, &offers[i - 1].prefix);

		if (offers[i].chosen != first)
			abort();
	}
	return 0;
}
