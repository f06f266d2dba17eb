// SPDX-License-Identifier: MIT
/*
 * The logger: one line per call to stderr (or to the embedding program's callback),
 * "LEVEL message". Debug lines are filtered by category. Every entry point saves and
 * restores errno so that logging never changes what the caller reports next.
 */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

static enum nt_log_level log_level = NT_LOG_INFO;
static unsigned int log_mask;
static nt_log_fn *log_cb;
static void *log_cb_ctx;
static char log_prefix[32];

static const struct {
	const char *name;
	unsigned int bit;
} categories[] = {
	{ "handshake", NT_DBG_HANDSHAKE }, { "packet", NT_DBG_PACKET }, { "dht", NT_DBG_DHT },
	{ "mdns", NT_DBG_MDNS }, { "gossip", NT_DBG_GOSSIP }, { "nat", NT_DBG_NAT },
	{ "ledger", NT_DBG_LEDGER }, { "api", NT_DBG_API }, { "tun", NT_DBG_TUN },
};

void nt_log_set_level(enum nt_log_level level, unsigned int debug_mask)
{
	log_level = level;
	log_mask = level >= NT_LOG_DEBUG ? debug_mask : 0;
}

bool nt_log_parse_level(const char *s, enum nt_log_level *level, unsigned int *mask)
{
	*mask = 0;
	if (strcmp(s, "error") == 0)
		*level = NT_LOG_ERROR;
	else if (strcmp(s, "warn") == 0)
		*level = NT_LOG_WARN;
	else if (strcmp(s, "info") == 0)
		*level = NT_LOG_INFO;
	else if (strcmp(s, "debug") == 0) {
		*level = NT_LOG_DEBUG;
		*mask = NT_DBG_ALL;
	} else if (strncmp(s, "debug:", 6) == 0) {
		char list[128], *save = NULL, *tok;
		if (strlen(s + 6) >= sizeof(list))
			return false;
		strcpy(list, s + 6);
		*level = NT_LOG_DEBUG;
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t i;
			for (i = 0; i < NT_ARRAY_SIZE(categories); i++)
				if (strcmp(tok, categories[i].name) == 0)
					break;
			if (i == NT_ARRAY_SIZE(categories))
				return false;
			*mask |= categories[i].bit;
		}
		if (!*mask)
			return false;
	} else {
		return false;
	}
	return true;
}

void nt_log_set_callback(nt_log_fn *fn, void *ctx)
{
	log_cb = fn;
	log_cb_ctx = ctx;
}

void nt_log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

bool nt_log_is_debug(unsigned int cat)
{
	return log_level >= NT_LOG_DEBUG && (log_mask & cat);
}

NT_PRINTF(3, 0)
static void vlog(enum nt_log_level level, const char *suffix, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	char msg[1024];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n >= 0 && suffix && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", suffix);
	if (log_cb) {
		log_cb(log_cb_ctx, level, msg);
		return;
	}
	{
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s%s%-5s %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000, log_prefix, log_prefix[0] ? " " : "", names[level], msg);
	}
}

#define LOG_BODY(level, suffix)                      \
	do {                                         \
		int saved_errno = errno;             \
		va_list ap;                          \
		if (log_level < (level))             \
			return;                      \
		va_start(ap, fmt);                   \
		vlog(level, suffix, fmt, ap);        \
		va_end(ap);                          \
		errno = saved_errno;                 \
	} while (0)

void log_warn(const char *fmt, ...)
{
	LOG_BODY(NT_LOG_WARN, strerror(errno));
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(NT_LOG_WARN, NULL);
}

void log_error(const char *fmt, ...)
{
	LOG_BODY(NT_LOG_ERROR, NULL);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(NT_LOG_INFO, NULL);
}

void log_debug(unsigned int cat, const char *fmt, ...)
{
	if (!(log_mask & cat))
		return;
	LOG_BODY(NT_LOG_DEBUG, NULL);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(NT_LOG_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_ratelimited(struct nt_ratelimit *rl, unsigned int cat, const char *fmt, ...)
{
	int saved_errno = errno;
	uint64_t now;
	va_list ap;

	if (!(log_mask & cat))
		return false;
	now = nt_now_ms();
	if (rl->last_ms && now - rl->last_ms < 1000) {
		rl->suppressed++;
		return false;
	}
	rl->last_ms = now;
	va_start(ap, fmt);
	vlog(NT_LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
	if (rl->suppressed) {
		char note[64];
		snprintf(note, sizeof(note), "(%u similar lines suppressed)", rl->suppressed);
		if (log_cb)
			log_cb(log_cb_ctx, NT_LOG_DEBUG, note);
		else
			fprintf(stderr, "debug %s\n", note);
		rl->suppressed = 0;
	}
	errno = saved_errno;
	return true;
}
