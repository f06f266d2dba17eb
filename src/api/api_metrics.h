/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the node's counters in the Prometheus text exposition format 0.0.4,
 * rendered from a status snapshot plus the few figures that live outside it.
 */
#ifndef NT_API_METRICS_H
#define NT_API_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/status.h"

#define NT_API_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct nt_api_metrics_extra {
	const char *version;
	bool has_ledger;
	uint64_t ledger_entries, ledger_capacity, ledger_refused;
	bool has_dht;
	uint64_t dht_nodes;
	uint64_t resident_bytes; /* 0 = unknown */
	uint64_t api_requests, api_refused; /* answered, refused (auth, host, size) */
};

/* The whole exposition as a malloc'ed string (*len bytes, NUL-terminated); NULL on ENOMEM. */
char *nt_api_metrics_render(const struct nt_status *s, const struct nt_api_metrics_extra *x,
			    size_t *len);
/* Resident set size from /proc/self/statm; 0 when unknown. */
uint64_t nt_api_metrics_rss(void);

#endif
