/* SPDX-License-Identifier: MIT */
/*
 * The API's JSON documents, built with jansson from plain snapshots (struct nt_status,
 * a const ledger, DHT statistics) so they can be unit-tested with no daemon and no
 * sockets. Field names follow EdgeVPN's where the endpoint exists there (its Go structs
 * have no json tags, so they are PascalCase); Netron's own fields are snake_case.
 */
#ifndef NT_API_JSON_H
#define NT_API_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/status.h"

struct nt_ledger;
struct nt_names;
struct nt_dht_stats;

/* What the node knows about itself beyond the status snapshot. */
struct nt_api_self {
	const char *hostname;
	const char *version;
	const char *os; /* Go's GOOS spelling: "linux" */
	const char *arch; /* Go's GOARCH spelling: "amd64", "arm64" */
	const char *ledger_state; /* hex of the ledger's state hash; NULL without a ledger */
	const struct nt_cidr *conflicts; /* our addresses an earlier claim by another member beats */
	unsigned int n_conflicts;
};

/* "2024-05-01T12:00:00.123Z"; "" for 0. buf of at least 32 bytes. */
const char *nt_api_rfc3339(uint64_t unix_ms, char *buf, size_t len);
const char *nt_api_path_name(enum nt_path p);
/* Go's GOARCH spelling of a uname machine ("x86_64" -> "amd64"), as EdgeVPN reports it. */
const char *nt_api_go_arch(const char *machine);

/* GET /api/summary. l may be NULL (no ledger in this daemon). */
json_t *nt_api_json_summary(const struct nt_status *s, const struct nt_ledger *l,
			    const struct nt_api_self *self);
/*
 * GET /api/routes: the subnet routes members advertise, one object per (prefix, member):
 * prefix, via (node ID), address (its VPN address), state "chosen" or "standby", accepted
 * (this node routes it there), ours.
 */
json_t *nt_api_json_routes(const struct nt_status *s);
/* GET /api/peers: an array, one object per peer. */
json_t *nt_api_json_peers(const struct nt_status *s);
/* GET /api/machines: from the ledger's "machines" bucket when there is one, else ourselves
 * and the connected peers. */
/* names (may be NULL) adds each member's "dns_name", the name it answers to over --dns. */
json_t *nt_api_json_machines(const struct nt_status *s, const struct nt_ledger *l,
			     const struct nt_api_self *self, const struct nt_names *names);
/*
 * GET /api/ledger[/bucket[/key]]: {bucket: {key: value}}, {key: value} or the value.
 * NULL when key is given and there is no such entry.
 */
json_t *nt_api_json_ledger(const struct nt_ledger *l, const char *bucket, const char *key);
/* GET /api/blockchain: the newest sealed block (EdgeVPN's shape) and the ring in "Blocks". */
json_t *nt_api_json_blockchain(const struct nt_ledger *l);
/* GET /api/dht: {"enabled": false} when st is NULL. */
json_t *nt_api_json_dht(const struct nt_dht_stats *st);

/* A ledger value: a JSON string when it is UTF-8, else {"base64": "..."}. */
json_t *nt_api_json_value(const uint8_t *v, size_t len);

#endif
