/* SPDX-License-Identifier: MIT */
/*
 * Who owns which VPN address, agreed by all members (docs/ledger.md): this node's address
 * claims in the ledger, the gossip that spreads them over the members' sessions (control
 * type GOSSIP), the routes the winning claims make, address conflicts, and --dhcp. It owns
 * the node's VPN addresses and keeps the TUN's in step with them. Loop thread only.
 */
#ifndef NT_CLAIMS_H
#define NT_CLAIMS_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger/dhcp.h"
#include "ledger/subnets.h"
#include "netron/netron.h"
#include "tunnel/tunnel.h"

/* The longest lease a member may sign: every member's ledger accepts claims this long. */
#define NT_CLAIM_MAX_TTL_MS (24 * 3600 * 1000ULL)

/* Kernel routes a node installs for others' subnets at most (the rest is logged). */
#define NT_CLAIMS_KROUTES_MAX 256

struct nt_ledger;
struct nt_gossip;

/* Subnet offers gathered during a rebuild (claims_impl.h). */
struct nt_claims_offers {
	struct nt_subnet_offer *v;
	size_t n, cap;
};

/* What the claims need from the node, given at start. Everything must outlive them. */
struct nt_claims_host {
	const struct nt_options *opts;
	const struct nt_identity *id;
	const char *hostname;
	uint64_t seal_interval_ms; /* how often the ledger seals its state (the network's) */
	struct nt_dataplane *dp; /* routes, the TUN's addresses, sending gossip */
	struct nt_tunnel *tunnel; /* who is a member, endpoint hints */
	uint64_t started_ms; /* monotonic: --dhcp waits a while for a member's ledger */
};

struct nt_claims {
	struct nt_claims_host host;
	struct nt_ledger *ledger;
	struct nt_gossip *gossip;
	struct nt_cidr addresses[NT_MAX_ADDRESSES]; /* ours: --address, then --dhcp's */
	unsigned int n_addresses;
	bool addr_on_tun[NT_MAX_ADDRESSES]; /* addresses[i] is configured on the TUN */
	bool addr_conflict[NT_MAX_ADDRESSES]; /* an earlier claim by another member beats ours */
	uint64_t claim_ttl_ms;
	uint64_t gossip_next_ms, claims_next_ms, seal_next_ms; /* wall clock */
	bool routes_dirty;
	struct nt_dhcp dhcp;
	bool dhcp_bound;
	bool synced; /* the ledger agreed with a member's once: we may claim and pick */
	bool static_claimed; /* our --address claims are made (once synced) */
	uint64_t held_warned_ms; /* "member says it claimed our address": one line a minute */
	uint64_t gossip_tx_bytes, gossip_rx_bytes;
	/* The members that hold an address, as of the last rebuild: whose neighbors are whom. */
	uint8_t (*owners)[32];
	char (*owner_keys)[48]; /* the address each holds (one of them), as the ledger's key */
	size_t n_owners;
	/* Subnet routes (ledger/subnets.h): every proven member's offers, as of the last rebuild. */
	struct nt_subnet_offer *offers;
	size_t n_offers;
	/* The prefixes we put on the TUN as kernel routes (--accept-routes), to take off again. */
	struct nt_cidr kroutes[NT_CLAIMS_KROUTES_MAX];
	unsigned int n_kroutes;
};

/*
 * Starts the ledger and the gossip, puts opts->addresses on the TUN (when there is one) and
 * claims them, and resumes --dhcp's last lease. 0, or -errno with err->msg set.
 */
int nt_claims_start(struct nt_claims *c, const struct nt_claims_host *host, struct nt_err *err);
void nt_claims_stop(struct nt_claims *c);
/* Expiry, refreshes, --dhcp, conflicts, sealing, gossip rounds, routes: mono is monotonic. */
void nt_claims_tick(struct nt_claims *c, uint64_t mono);
/* Our addresses (struct nt_tunnel_host's addresses()): up to max into out. */
unsigned int nt_claims_addresses(void *ctx, struct nt_cidr *out, unsigned int max);
/* The claims' part of a status: our addresses, conflicts, --dhcp, the ledger, gossip bytes. */
void nt_claims_status(struct nt_claims *c, struct nt_status *s);

#endif
