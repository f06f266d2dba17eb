/* SPDX-License-Identifier: MIT */
/*
 * Logging in OpenBGPD's shape: log_warn appends strerror(errno), log_warnx does not,
 * fatal() is for start-up only. Debug lines belong to categories (NT_DBG_*) chosen with
 * --log-level debug[:cat,cat]. errno is preserved across every call.
 */
#ifndef NT_LOG_H
#define NT_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/types.h"

#define NT_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum nt_dbg_cat {
	NT_DBG_HANDSHAKE = 1U << 0,
	NT_DBG_PACKET = 1U << 1,
	NT_DBG_DHT = 1U << 2,
	NT_DBG_MDNS = 1U << 3,
	NT_DBG_GOSSIP = 1U << 4,
	NT_DBG_NAT = 1U << 5,
	NT_DBG_LEDGER = 1U << 6,
	NT_DBG_API = 1U << 7,
	NT_DBG_TUN = 1U << 8,
	NT_DBG_ALL = 0xffffffffU,
};

/* Sets the level and, for debug, the categories; "debug" alone means all categories. */
void nt_log_set_level(enum nt_log_level level, unsigned int debug_mask);
/* Parses "error", "warn", "info", "debug" or "debug:dht,nat"; false on anything else. */
bool nt_log_parse_level(const char *s, enum nt_log_level *level, unsigned int *mask);
/* Sends log lines to fn instead of stderr (the embedding program's logger); NULL restores. */
void nt_log_set_callback(nt_log_fn *fn, void *ctx);
/* A prefix for every line (the node name in multi-node tests); NULL for none. */
void nt_log_set_prefix(const char *prefix);
bool nt_log_is_debug(unsigned int cat);

void log_warn(const char *fmt, ...) NT_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) NT_PRINTF(1, 2);
void log_info(const char *fmt, ...) NT_PRINTF(1, 2);
void log_debug(unsigned int cat, const char *fmt, ...) NT_PRINTF(2, 3);
void log_error(const char *fmt, ...) NT_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) NT_PRINTF(1, 2);

/*
 * At most one line per interval_ms from one call site; returns whether it logged.
 * Use on every path a remote packet can reach:
 *	static struct nt_ratelimit rl;
 *	log_ratelimited(&rl, NT_DBG_PACKET, "drop: %s", why);
 */
struct nt_ratelimit {
	uint64_t last_ms;
	uint32_t suppressed;
};
bool log_ratelimited(struct nt_ratelimit *rl, unsigned int cat, const char *fmt, ...) NT_PRINTF(3, 4);

#endif
