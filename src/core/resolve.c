// SPDX-License-Identifier: MIT
/*
 * Background name lookups with getaddrinfo_a(GAI_NOWAIT): glibc runs them on its own
 * thread and writes the result into the request; the loop polls gai_error() on its tick.
 * Nothing else is shared with that thread, so no lock is needed here.
 */
#include "core/resolve.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

struct nt_resolve_entry {
	char host[NT_HOST_MAX];
	struct gaicb cb;
	struct gaicb *list[1];
	struct addrinfo hints;
	bool pending; /* cb belongs to glibc's thread until gai_error() says it is done */
	bool have; /* addr holds a looked-up address */
	bool failed_logged;
	union nt_sockaddr addr; /* port 0; the caller's port is put in on the way out */
	uint64_t resolved_ms, retry_ms;
	struct nt_resolve_entry *next; /* on the orphans list */
};

/*
 * Lookups glibc could not cancel when their resolver was freed: glibc's thread may still
 * write into them, so they live on here, reachable, to the end of the process.
 */
static struct nt_resolve_entry *orphans;
static pthread_mutex_t orphans_lock = PTHREAD_MUTEX_INITIALIZER;

void nt_resolver_init(struct nt_resolver *r)
{
	memset(r, 0, sizeof(*r));
}

static struct nt_resolve_entry *find(struct nt_resolver *r, const char *host)
{
	for (unsigned int i = 0; i < r->n; i++)
		if (!strcmp(r->e[i]->host, host))
			return r->e[i];
	if (r->n == NT_RESOLVE_MAX)
		return NULL;
	struct nt_resolve_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	snprintf(e->host, sizeof(e->host), "%s", host);
	r->e[r->n++] = e;
	return e;
}

static void start(struct nt_resolver *r, struct nt_resolve_entry *e)
{
	int ret;

	memset(&e->cb, 0, sizeof(e->cb));
	memset(&e->hints, 0, sizeof(e->hints));
	e->hints.ai_socktype = SOCK_DGRAM;
	e->cb.ar_name = e->host;
	e->cb.ar_request = &e->hints;
	e->list[0] = &e->cb;
	ret = getaddrinfo_a(GAI_NOWAIT, e->list, 1, NULL);
	if (ret != 0) {
		log_debug(NT_DBG_NAT, "resolve %s: cannot start: %s", e->host, gai_strerror(ret));
		e->retry_ms += NT_RESOLVE_RETRY_MS;
		return;
	}
	e->pending = true;
	r->pending++;
}

bool nt_resolve(struct nt_resolver *r, const char *hostport, union nt_sockaddr *out, uint64_t now)
{
	char host[NT_HOST_MAX];
	struct nt_resolve_entry *e;
	uint16_t port;

	if (!nt_hostport_split(hostport, host, &port))
		return false;
	if (nt_sockaddr_literal(host, port, out))
		return true;
	e = find(r, host);
	if (!e)
		return false;
	if (!e->pending && now >= e->retry_ms && (!e->have || now - e->resolved_ms >= NT_RESOLVE_TTL_MS)) {
		e->retry_ms = now;
		start(r, e);
	}
	if (!e->have)
		return false;
	*out = e->addr;
	if (out->sa.sa_family == AF_INET)
		out->in4.sin_port = htons(port);
	else
		out->in6.sin6_port = htons(port);
	return true;
}

static void finish(struct nt_resolve_entry *e, int err, uint64_t now)
{
	const struct addrinfo *ai;

	for (ai = err ? NULL : e->cb.ar_result; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) ||
		    (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6)))
			break;
	}
	if (ai) {
		memset(&e->addr, 0, sizeof(e->addr));
		memcpy(&e->addr, ai->ai_addr, ai->ai_addrlen);
		e->have = true;
		e->resolved_ms = now;
		e->failed_logged = false;
	} else {
		/* A name that no longer resolves keeps its last address until it does again. */
		if (!e->failed_logged)
			log_info("cannot resolve %s%s%s; will retry", e->host, err ? ": " : "",
				 err ? gai_strerror(err) : " (no IPv4 or IPv6 address)");
		e->failed_logged = true;
		e->retry_ms = now + NT_RESOLVE_RETRY_MS;
	}
	if (e->cb.ar_result)
		freeaddrinfo(e->cb.ar_result);
	e->cb.ar_result = NULL;
}

unsigned int nt_resolver_tick(struct nt_resolver *r, uint64_t now)
{
	if (!r->pending)
		return 0;
	for (unsigned int i = 0; i < r->n; i++) {
		struct nt_resolve_entry *e = r->e[i];
		int err;

		if (!e->pending)
			continue;
		err = gai_error(&e->cb);
		if (err == EAI_INPROGRESS)
			continue;
		e->pending = false;
		r->pending--;
		finish(e, err, now);
	}
	return r->pending;
}

void nt_resolver_free(struct nt_resolver *r)
{
	for (unsigned int i = 0; i < r->n; i++) {
		struct nt_resolve_entry *e = r->e[i];

		if (e->pending) {
			int ret = gai_cancel(&e->cb);

			if (ret == EAI_NOTCANCELED) {
				log_debug(NT_DBG_NAT, "resolve %s: still running at exit", e->host);
				pthread_mutex_lock(&orphans_lock);
				e->next = orphans;
				orphans = e;
				pthread_mutex_unlock(&orphans_lock);
				continue;
			}
			if (ret == EAI_ALLDONE && e->cb.ar_result)
				freeaddrinfo(e->cb.ar_result);
		}
		free(e);
	}
	memset(r, 0, sizeof(*r));
}
