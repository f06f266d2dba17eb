/* SPDX-License-Identifier: MIT */
/*
 * Address picking through the ledger (--dhcp, DESIGN §7): a deterministic first choice
 * per node inside an IPv4 range, the next free addresses on later attempts, and a small
 * state machine PICK -> CLAIMED (settling) -> BOUND that goes back to PICK when an
 * earlier claim by another node wins. Sans-IO; docs/ledger.md describes the algorithm.
 */
#ifndef NT_DHCP_H
#define NT_DHCP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger.h"

#define NT_DHCP_DEFAULT_SETTLE_MS 3000
#define NT_DHCP_DEFAULT_TTL_MS (5 * 60 * 1000ULL)

/* Usable host addresses of an IPv4 prefix, host byte order. */
struct nt_dhcp_range {
	uint32_t first; /* first usable address */
	uint32_t count; /* usable addresses: 2^(32-p) - 2, or all of a /31 or /32 */
	uint8_t prefix;
};

enum nt_dhcp_state {
	NT_DHCP_PICK, /* no claim of ours yet */
	NT_DHCP_CLAIMED, /* claimed, waiting settle_ms for an earlier claim to show up */
	NT_DHCP_BOUND, /* the address is ours: configure it */
};

struct nt_dhcp {
	struct nt_dhcp_range range;
	uint8_t node_id[32];
	enum nt_dhcp_state state;
	unsigned int attempt; /* claims lost so far */
	struct in_addr addr; /* valid in CLAIMED and BOUND */
	char addr_text[INET_ADDRSTRLEN];
	uint64_t settle_ms, ttl_ms;
	uint64_t settle_until; /* unix ms */
};

/* "10.1.0.0/24" (host bits are ignored), prefix 8..32. */
bool nt_dhcp_range_parse(const char *cidr, struct nt_dhcp_range *out);
/*
 * The address for this attempt: the attempt-th free address at or after the node's
 * first choice, wrapping, where free means no live claim by another node. 0, -EINVAL
 * (cidr) or -EADDRNOTAVAIL (nothing free).
 */
int nt_dhcp_pick(const struct nt_ledger *l, const char *cidr, const uint8_t node_id[32],
		 unsigned int attempt, struct in_addr *out);

/* settle_ms, ttl_ms: 0 for the defaults. 0 or -EINVAL. */
int nt_dhcp_init(struct nt_dhcp *d, const char *cidr, const uint8_t node_id[32],
		 uint64_t settle_ms, uint64_t ttl_ms);
/*
 * Advances the state machine; call on every tick and after bucket "machines" changed
 * (not from inside the ledger's change callback). value is our machine entry. Leaving
 * BOUND means the address was lost: deconfigure it. *next_ms (may be NULL) gets when to
 * call again.
 */
enum nt_dhcp_state nt_dhcp_step(struct nt_dhcp *d, struct nt_ledger *l,
				const struct nt_identity *id, const void *value, size_t len,
				uint64_t now_ms, uint64_t *next_ms);

#endif
