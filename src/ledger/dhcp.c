// SPDX-License-Identifier: MIT
/*
 * --dhcp through the ledger. A node's first choice is BLAKE2b("netron dhcp v1" ||
 * node ID || range) modulo the number of usable addresses, so a node that restarts
 * asks for the same address and two nodes rarely start on the same one; later attempts
 * walk forward to the next free addresses. A claim is an entry in bucket "machines"
 * keyed by the address; the ledger's rule (earliest claimed_at, then lower node ID)
 * decides every conflict the same way on every member, so the loser moves on.
 */
#include "ledger/dhcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"

static const char dhcp_context[] = "netron dhcp v1";

bool nt_dhcp_range_parse(const char *cidr, struct nt_dhcp_range *out)
{
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(cidr, '/'), *p;
	struct in_addr in;
	uint32_t net, mask;
	unsigned int prefix = 0;

	if (!slash || (size_t)(slash - cidr) >= sizeof(addr) || !slash[1] || strlen(slash + 1) > 2)
		return false;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	for (p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		prefix = prefix * 10 + (unsigned int)(*p - '0');
	}
	if (prefix < 8 || prefix > 32 || inet_pton(AF_INET, addr, &in) != 1)
		return false;
	mask = prefix == 32 ? UINT32_MAX : ~(UINT32_MAX >> prefix);
	net = ntohl(in.s_addr) & mask;
	out->prefix = (uint8_t)prefix;
	if (prefix >= 31) {
		/* RFC 3021 point-to-point /31 and a single /32: every address is usable. */
		out->first = net;
		out->count = prefix == 32 ? 1 : 2;
	} else {
		out->first = net + 1;
		out->count = (uint32_t)((1ULL << (32 - prefix)) - 2);
	}
	return true;
}

static uint32_t first_choice(const struct nt_dhcp_range *r, const uint8_t node_id[32])
{
	crypto_generichash_state st;
	uint8_t h[16], rb[5];
	uint64_t v = 0;

	rb[0] = (uint8_t)(r->first >> 24);
	rb[1] = (uint8_t)(r->first >> 16);
	rb[2] = (uint8_t)(r->first >> 8);
	rb[3] = (uint8_t)r->first;
	rb[4] = r->prefix;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)dhcp_context, sizeof(dhcp_context) - 1);
	crypto_generichash_update(&st, node_id, 32);
	crypto_generichash_update(&st, rb, sizeof(rb));
	crypto_generichash_final(&st, h, sizeof(h));
	for (int i = 0; i < 8; i++)
		v = v << 8 | h[i];
	return (uint32_t)(v % r->count);
}

static void addr_text(uint32_t host, char out[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = htonl(host) };

	inet_ntop(AF_INET, &in, out, INET_ADDRSTRLEN);
}

/*
 * The attempt-th address from our first choice on that nobody else claims at all (proven
 * here or not: a pick must race nobody); when there is none, the attempt-th whose claims
 * lose to ours (only owners this node has not proven claim it: squatters, as far as the
 * ledger's rule goes).
 */
static int pick_in_range(const struct nt_ledger *l, const struct nt_dhcp_range *r,
			 const uint8_t node_id[32], unsigned int attempt, struct in_addr *out)
{
	uint32_t start = first_choice(r, node_id);
	char text[INET_ADDRSTRLEN];

	for (int pass = 0; pass < 2; pass++) {
		unsigned int skipped = 0;

		for (uint32_t i = 0; i < r->count; i++) {
			uint32_t host = r->first + (start + i) % r->count;

			addr_text(host, text);
			if (pass == 0 ? nt_ledger_is_claimed(l, NT_LEDGER_MACHINES, text, node_id) :
					nt_ledger_claim_is_beaten(l, NT_LEDGER_MACHINES, text, node_id))
				continue;
			if (skipped++ < attempt)
				continue;
			out->s_addr = htonl(host);
			return 0;
		}
	}
	return -EADDRNOTAVAIL;
}

int nt_dhcp_pick(const struct nt_ledger *l, const char *cidr, const uint8_t node_id[32],
		 unsigned int attempt, struct in_addr *out)
{
	struct nt_dhcp_range r;

	if (!nt_dhcp_range_parse(cidr, &r))
		return -EINVAL;
	return pick_in_range(l, &r, node_id, attempt, out);
}

int nt_dhcp_init(struct nt_dhcp *d, const char *cidr, const uint8_t node_id[32],
		 uint64_t settle_ms, uint64_t ttl_ms)
{
	memset(d, 0, sizeof(*d));
	if (!nt_dhcp_range_parse(cidr, &d->range))
		return -EINVAL;
	memcpy(d->node_id, node_id, 32);
	d->settle_ms = settle_ms ? settle_ms : NT_DHCP_DEFAULT_SETTLE_MS;
	d->ttl_ms = ttl_ms ? ttl_ms : NT_DHCP_DEFAULT_TTL_MS;
	d->state = NT_DHCP_PICK;
	return 0;
}

static void claim(struct nt_dhcp *d, struct nt_ledger *l, const struct nt_identity *id,
		  const void *value, size_t len, uint64_t now)
{
	uint32_t span = d->range.count;
	int ret;

	/* Bounded: each round either claims or moves past one more address. */
	for (uint32_t tries = 0; tries <= span; tries++) {
		if (pick_in_range(l, &d->range, d->node_id, d->attempt, &d->addr) < 0) {
			d->attempt = 0; /* full: start over on the next step */
			return;
		}
		inet_ntop(AF_INET, &d->addr, d->addr_text, sizeof(d->addr_text));
		ret = nt_ledger_put_local(l, id, NT_LEDGER_MACHINES, d->addr_text, value, len,
					  d->ttl_ms, now, NULL);
		if (ret < 0) {
			log_warnx("dhcp: cannot claim %s: %s", d->addr_text, strerror(-ret));
			return;
		}
		if (!nt_ledger_claim_is_beaten(l, NT_LEDGER_MACHINES, d->addr_text, d->node_id)) {
			d->state = NT_DHCP_CLAIMED;
			d->settle_until = now + d->settle_ms;
			log_info("dhcp: claimed %s, settling for %llu ms", d->addr_text,
				 (unsigned long long)d->settle_ms);
			return;
		}
		nt_ledger_delete_local(l, id, NT_LEDGER_MACHINES, d->addr_text, now);
		d->attempt++;
	}
}

enum nt_dhcp_state nt_dhcp_step(struct nt_dhcp *d, struct nt_ledger *l,
				const struct nt_identity *id, const void *value, size_t len,
				uint64_t now_ms, uint64_t *next_ms)
{
	const struct nt_ledger_entry *own;

	if (d->state != NT_DHCP_PICK) {
		own = nt_ledger_get_owned(l, NT_LEDGER_MACHINES, d->addr_text, d->node_id);
		if (nt_ledger_claim_is_beaten(l, NT_LEDGER_MACHINES, d->addr_text, d->node_id)) {
			log_warnx("dhcp: %s is claimed earlier by another node, moving on",
				  d->addr_text);
			nt_ledger_delete_local(l, id, NT_LEDGER_MACHINES, d->addr_text, now_ms);
			d->attempt++;
			d->state = NT_DHCP_PICK;
		} else if (!own || (own->flags & NT_LEDGER_F_TOMBSTONE) || own->expires_at <= now_ms) {
			/* Our claim rotated out (not refreshed, or refused): claim again. */
			d->state = NT_DHCP_PICK;
		} else if (d->state == NT_DHCP_CLAIMED && now_ms >= d->settle_until) {
			d->state = NT_DHCP_BOUND;
			log_info("dhcp: bound %s", d->addr_text);
		}
	}
	if (d->state == NT_DHCP_PICK)
		claim(d, l, id, value, len, now_ms);
	if (next_ms)
		*next_ms = d->state == NT_DHCP_CLAIMED ? d->settle_until : now_ms + d->settle_ms;
	return d->state;
}
