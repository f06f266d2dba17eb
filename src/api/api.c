// SPDX-License-Identifier: MIT
/*
 * The HTTP API server (DESIGN §10, docs/api.md): libmicrohttpd in external epoll mode,
 * driven by the daemon's libevent loop. MHD's epoll fd is a persistent read event that
 * calls MHD_run(), and a timer is re-armed from MHD_get_timeout() after every run, so
 * handlers run in the loop thread and read the daemon's tables with no locks.
 *
 * Security: loopback (or a unix socket, mode 0660) by default; any other address needs a
 * bearer token (--api-token-file, mode 0600), compared through keyed hashes in constant
 * time. Writes always need the token. The Host header must be an IP literal, localhost or
 * the listen address (DNS rebinding). Connections, idle time, header memory and PUT
 * bodies are capped, so a flood of connections cannot stop the node or its tunnel.
 *
 * libmicrohttpd is opened with dlopen when the API starts, not linked: it depends on
 * GnuTLS (and GnuTLS on nettle, gmp, p11-kit, libtasn1, libidn2, libunistring), about
 * 3 MiB resident once mapped and initialised, which a node without --api should not carry.
 */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "api/api_json.h"
#include "api/api_metrics.h"
#include "api/api_parse.h"
#include "api/dashboard.h"
#include "discovery/dht.h"
#include "core/dynlib.h"
#include "api/mhd_funcs.h"
#include "ledger/ledger.h"
#include "core/log.h"
#include "names/zone.h"
#include "netron/status.h"

struct nt_api {
	struct nt_api_host host;
	struct MHD_Daemon *mhd;
	struct event *ev_epoll, *ev_timer;
	struct nt_api_listen listen;
	uint16_t port;
	bool unix_bound; /* remove listen.path at stop */
	bool has_token;
	uint8_t token_key[crypto_generichash_KEYBYTES]; /* random, per process */
	uint8_t token_hash[32]; /* keyed BLAKE2b of the token; the token itself is not kept */
	char csp_page[512];
	char os[32], arch[32];
	uint64_t requests, refused;
	struct nt_ratelimit rl_mhd; /* log throttle (log.h) */
};

/* One request in progress (only PUTs, which have a body, live past the first call). */
struct api_req {
	struct nt_api_path path;
	char *body;
	size_t len;
	bool too_big;
};

static struct {
	MHD_FUNCS(NT_DYNLIB_POINTER)
} mhd;

#define MHD_SYM(f) { #f, (void **)&mhd.f },
static const struct nt_dynlib_sym mhd_syms[] = { MHD_FUNCS(MHD_SYM){ NULL, NULL } };

static struct nt_dynlib libmhd = {
	.soname = NT_MHD_SONAME,
	.purpose = "--api",
	.syms = mhd_syms,
};

static const char csp_data[] = "default-src 'none'; frame-ancestors 'none'";

const uint8_t *nt_api_dashboard(size_t *len)
{
	*len = dashboard_html_len;
	return dashboard_html;
}

uint16_t nt_api_port(const struct nt_api *a)
{
	return a ? a->port : 0;
}

static void api_run(struct nt_api *a)
{
	MHD_UNSIGNED_LONG_LONG ms;

	mhd.MHD_run(a->mhd);
	/* MHD wants to be called again within ms (idle timeouts, buffered data), or never. */
	if (mhd.MHD_get_timeout(a->mhd, &ms) == MHD_YES) {
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

		evtimer_add(a->ev_timer, &tv);
	} else {
		evtimer_del(a->ev_timer);
	}
}

static void on_epoll(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	api_run(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	api_run(arg);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct nt_api *a = cls;
	char msg[256];
	size_t n;

	if (!nt_log_is_debug(NT_DBG_API))
		return;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(msg, sizeof(msg), fmt, ap);
#pragma GCC diagnostic pop
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* Remote clients can trigger these (limits reached, bad requests): rate-limited. */
	log_ratelimited(&a->rl_mhd, NT_DBG_API, "api: %s", msg);
}

/* ---- responses ---- */

static enum MHD_Result respond(struct nt_api *a, struct MHD_Connection *c, unsigned int status,
			       const char *type, void *body, size_t len, enum MHD_ResponseMemoryMode mode,
			       const char *csp)
{
	struct MHD_Response *r = mhd.MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.MHD_add_response_header(r, "Content-Security-Policy", csp ? csp : csp_data);
	mhd.MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	mhd.MHD_add_response_header(r, "X-Frame-Options", "DENY");
	mhd.MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"netron\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, PUT, DELETE");
	if (status >= 400)
		a->refused++;
	ret = mhd.MHD_queue_response(c, status, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

/* Takes j. */
static enum MHD_Result respond_json(struct nt_api *a, struct MHD_Connection *c,
				    unsigned int status, json_t *j)
{
	char *s;

	if (!j)
		return respond(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n",
			       14, MHD_RESPMEM_PERSISTENT, NULL);
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (!s)
		return respond(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n",
			       14, MHD_RESPMEM_PERSISTENT, NULL);
	return respond(a, c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE, NULL);
}

static enum MHD_Result respond_error(struct nt_api *a, struct MHD_Connection *c,
				     unsigned int status, const char *msg)
{
	return respond_json(a, c, status, json_pack("{s:s}", "error", msg));
}

/* ---- authentication ---- */

static void token_hash(const struct nt_api *a, const char *tok, size_t len, uint8_t out[32])
{
	crypto_generichash(out, 32, (const uint8_t *)tok, len, a->token_key, sizeof(a->token_key));
}

/* Whether the request carries our bearer token. Equal-length keyed hashes are compared,
 * so neither the token's length nor its content leaks through timing. */
static bool has_valid_token(const struct nt_api *a, struct MHD_Connection *c)
{
	const char *hdr, *tok;
	uint8_t h[32];
	size_t len;
	bool ok;

	if (!a->has_token)
		return false;
	hdr = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!hdr || !nt_api_bearer_parse(hdr, &tok, &len))
		return false;
	token_hash(a, tok, len, h);
	ok = sodium_memcmp(h, a->token_hash, sizeof(h)) == 0;
	sodium_memzero(h, sizeof(h));
	return ok;
}

static int load_token(struct nt_api *a, const char *path, struct nt_err *err)
{
	char buf[NT_API_TOKEN_MAX + 64];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "--api-token-file %.100s: %s", path,
			 strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg), "--api-token-file %.100s: not a regular file",
			 path);
		ret = -EINVAL;
		goto out;
	}
	/* Like ssh with a private key: a token others can read protects nothing. */
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err->msg, sizeof(err->msg),
			 "--api-token-file %.80s: group or others can access it (mode %03o): chmod 600 it",
			 path, (unsigned int)(st.st_mode & 0777));
		ret = -EINVAL;
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "--api-token-file %.100s: %s", path,
			 strerror(errno));
		goto out;
	}
	ret = (size_t)n == sizeof(buf) ? -ERANGE : nt_api_token_check(buf, (size_t)n);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg),
			 "--api-token-file %.80s: %s", path,
			 ret == -EINVAL ? "the token must be one line of printable ASCII, no spaces" :
					  "the token must have 16 to 1024 characters");
		ret = -EINVAL;
		goto out;
	}
	randombytes_buf(a->token_key, sizeof(a->token_key));
	token_hash(a, buf, (size_t)ret, a->token_hash);
	a->has_token = true;
	ret = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}

/* ---- handlers ---- */

/* What the summary says beyond the snapshot. */
static void self_info(struct nt_api *a, const struct nt_status *s, struct nt_api_self *self)
{
	memset(self, 0, sizeof(*self));
	self->hostname = a->host.hostname;
	self->version = NT_VERSION;
	self->os = a->os;
	self->arch = a->arch;
	if (s->ledger_state[0])
		self->ledger_state = s->ledger_state;
	self->conflicts = s->conflicts;
	self->n_conflicts = s->n_conflicts;
}

static enum MHD_Result serve_status_json(struct nt_api *a, struct MHD_Connection *c,
					 enum nt_api_route route)
{
	struct nt_status *s;
	struct nt_api_self self;
	json_t *j = NULL;

	if (a->host.status(a->host.ctx, &s) < 0)
		return respond_json(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	self_info(a, s, &self);
	if (route == NT_API_ROUTE_SUMMARY)
		j = nt_api_json_summary(s, a->host.ledger, &self);
	else if (route == NT_API_ROUTE_PEERS)
		j = nt_api_json_peers(s);
	else if (route == NT_API_ROUTE_ROUTES)
		j = nt_api_json_routes(s);
	else
		j = nt_api_json_machines(s, a->host.ledger, &self, a->host.names);
	nt_status_free(s);
	return respond_json(a, c, MHD_HTTP_OK, j);
}

static enum MHD_Result serve_metrics(struct nt_api *a, struct MHD_Connection *c)
{
	struct nt_api_metrics_extra x = { .version = NT_VERSION };
	struct nt_ledger *l = a->host.ledger;
	struct nt_dht *dht = a->host.dht;
	struct nt_status *s;
	char *text;
	size_t len;

	if (a->host.status(a->host.ctx, &s) < 0)
		return respond_json(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	if (l) {
		struct nt_ledger_stats st;

		nt_ledger_stats_get(l, &st);
		x.has_ledger = true;
		x.ledger_entries = st.entries;
		x.ledger_capacity = st.capacity;
		x.ledger_refused = st.verdicts[NT_LEDGER_REJ_FULL];
	}
	if (dht) {
		struct nt_dht_stats st;

		nt_dht_get_stats(dht, &st);
		x.has_dht = true;
		x.dht_nodes = st.good4 + st.dubious4 + st.good6 + st.dubious6;
	}
	x.resident_bytes = nt_api_metrics_rss();
	x.api_requests = a->requests;
	x.api_refused = a->refused;
	text = nt_api_metrics_render(s, &x, &len);
	nt_status_free(s);
	if (!text)
		return respond_json(a, c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL);
	return respond(a, c, MHD_HTTP_OK, NT_API_METRICS_CONTENT_TYPE, text, len,
		       MHD_RESPMEM_MUST_FREE, NULL);
}

static enum MHD_Result serve_read(struct nt_api *a, struct MHD_Connection *c,
				  const struct nt_api_path *p)
{
	json_t *j;

	switch (p->route) {
	case NT_API_ROUTE_DASHBOARD:
		return respond(a, c, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)dashboard_html,
			       dashboard_html_len, MHD_RESPMEM_PERSISTENT, a->csp_page);
	case NT_API_ROUTE_HEALTHZ:
		if (a->host.ready(a->host.ctx))
			return respond(a, c, MHD_HTTP_OK, "text/plain", "ok\n", 3,
				       MHD_RESPMEM_PERSISTENT, NULL);
		return respond(a, c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "not ready\n", 10,
			       MHD_RESPMEM_PERSISTENT, NULL);
	case NT_API_ROUTE_METRICS:
		return serve_metrics(a, c);
	case NT_API_ROUTE_SUMMARY:
	case NT_API_ROUTE_PEERS:
	case NT_API_ROUTE_MACHINES:
	case NT_API_ROUTE_ROUTES:
		return serve_status_json(a, c, p->route);
	case NT_API_ROUTE_DHT: {
		struct nt_dht_stats st;

		if (!a->host.dht)
			return respond_json(a, c, MHD_HTTP_OK, nt_api_json_dht(NULL));
		nt_dht_get_stats(a->host.dht, &st);
		return respond_json(a, c, MHD_HTTP_OK, nt_api_json_dht(&st));
	}
	case NT_API_ROUTE_BLOCKCHAIN:
		return respond_json(a, c, MHD_HTTP_OK, nt_api_json_blockchain(a->host.ledger));
	case NT_API_ROUTE_DNS:
		j = nt_api_json_ledger(a->host.ledger, NT_ZONE_BUCKET, NULL);
		return respond_json(a, c, MHD_HTTP_OK, j ? j : json_object());
	case NT_API_ROUTE_LEDGER:
		if (p->depth > 2)
			break;
		j = nt_api_json_ledger(a->host.ledger, p->depth ? p->bucket : NULL,
				       p->depth > 1 ? p->key : NULL);
		if (!j && p->depth > 1)
			return respond_error(a, c, MHD_HTTP_NOT_FOUND, "no such entry");
		return respond_json(a, c, MHD_HTTP_OK, j);
	default:
		break;
	}
	return respond_error(a, c, MHD_HTTP_NOT_FOUND, "not found");
}

/* An entry posted with no ?ttl= lives 10 minutes, as EdgeVPN's; the ledger caps any ttl. */
#define NT_API_DEFAULT_TTL_MS (10 * 60 * 1000ULL)

static uint64_t ttl_ms(struct MHD_Connection *c)
{
	const char *s = mhd.MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ttl");
	uint64_t v = 0;

	if (!s || !*s || strlen(s) > 9)
		return NT_API_DEFAULT_TTL_MS;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return NT_API_DEFAULT_TTL_MS;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v ? v * 1000 : NT_API_DEFAULT_TTL_MS;
}

static enum MHD_Result serve_write(struct nt_api *a, struct MHD_Connection *c, bool is_put,
				   struct api_req *rq)
{
	const struct nt_api_path *p = &rq->path;
	struct nt_ledger *l = a->host.ledger;
	const struct nt_ledger_entry *e = NULL;
	const void *value;
	size_t len;
	int ret;

	if (!l)
		return respond_error(a, c, MHD_HTTP_SERVICE_UNAVAILABLE, "this node has no ledger");
	/* Address claims are the node's own business (claims.c), not the API's. */
	if (!strcmp(p->bucket, NT_LEDGER_MACHINES))
		return respond_error(a, c, MHD_HTTP_FORBIDDEN,
				     "bucket machines holds the nodes' address claims: read-only here");
	if (!is_put) {
		ret = nt_ledger_delete_local(l, a->host.id, p->bucket, p->key, nt_wall_ms());
		if (ret == -ENOENT)
			return respond_error(a, c, MHD_HTTP_NOT_FOUND, "no entry of ours to delete");
		if (ret < 0)
			return respond_error(a, c, MHD_HTTP_BAD_REQUEST, strerror(-ret));
		return respond_json(a, c, MHD_HTTP_OK, json_pack("{s:s}", "State", "Announcing"));
	}
	/* EdgeVPN's form puts the value in the path; ours takes the body. */
	value = p->depth == 3 ? (const void *)p->value : (const void *)(rq->body ? rq->body : "");
	len = p->depth == 3 ? p->value_len : rq->len;
	ret = nt_ledger_put_local(l, a->host.id, p->bucket, p->key, value, len, ttl_ms(c),
				  nt_wall_ms(), &e);
	if (ret == -ENOSPC || ret == -EDQUOT)
		return respond_error(a, c, MHD_HTTP_INSUFFICIENT_STORAGE,
				     ret == -ENOSPC ? "the ledger is full" :
						      "this node holds its maximum of entries");
	if (ret < 0)
		return respond_error(a, c, MHD_HTTP_BAD_REQUEST,
				     "refused by the ledger (key or value too large, or bad ttl)");
	return respond_json(a, c, MHD_HTTP_OK,
			    json_pack("{s:s,s:s,s:s,s:I,s:I}", "State", "Announcing", "bucket",
				      p->bucket, "key", p->key, "version",
				      (json_int_t)(e ? e->version : 0), "expires_at",
				      (json_int_t)(e ? e->expires_at : 0)));
}

/* POST /api/dns as EdgeVPN's: {"Regex": "...", "Records": {"A": "..."}} into bucket "dns". */
static enum MHD_Result serve_dns_post(struct nt_api *a, struct MHD_Connection *c, struct api_req *rq)
{
	char value[512], why[160];
	json_t *j = json_loadb(rq->body ? rq->body : "", rq->len, JSON_REJECT_DUPLICATES, NULL);
	const char *regex = json_string_value(json_object_get(j, "Regex"));
	ssize_t len = -EINVAL;
	int ret;

	snprintf(why, sizeof(why), "the body is {\"Regex\": \"...\", \"Records\": {\"A\": \"...\"}}");
	if (regex)
		len = nt_zone_record_value(regex, json_object_get(j, "Records"), value, sizeof(value),
					   why, sizeof(why));
	if (len < 0) {
		json_decref(j);
		return respond_error(a, c, MHD_HTTP_BAD_REQUEST, why);
	}
	ret = nt_ledger_put_local(a->host.ledger, a->host.id, NT_ZONE_BUCKET, regex, value, (size_t)len,
				  ttl_ms(c), nt_wall_ms(), NULL);
	json_decref(j);
	if (ret < 0)
		return respond_error(a, c, ret == -ENOSPC || ret == -EDQUOT ? MHD_HTTP_INSUFFICIENT_STORAGE :
									      MHD_HTTP_BAD_REQUEST,
				     "refused by the ledger (full, or too many entries of ours)");
	return respond_json(a, c, MHD_HTTP_OK, json_pack("{s:s}", "State", "Announcing"));
}

static unsigned long long content_length(struct MHD_Connection *c)
{
	const char *s = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long v = 0;

	if (!s)
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > NT_API_BODY_MAX)
			break;
		v = v * 10 + (unsigned long long)(*s - '0');
	}
	return v;
}

/* The first call for a request: every check that needs no body. */
static enum MHD_Result on_request_start(struct nt_api *a, struct MHD_Connection *c,
					const char *url, const char *method, void **con_cls)
{
	struct nt_api_path path;
	bool is_get = !strcmp(method, MHD_HTTP_METHOD_GET) || !strcmp(method, MHD_HTTP_METHOD_HEAD);
	bool is_put = !strcmp(method, MHD_HTTP_METHOD_PUT);
	bool is_delete = !strcmp(method, MHD_HTTP_METHOD_DELETE);
	struct api_req *rq;
	const char *host;

	a->requests++;
	if (!a->listen.is_unix) {
		host = mhd.MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
		if (host && !nt_api_host_is_allowed(host, a->listen.host))
			return respond_error(a, c, MHD_HTTP_MISDIRECTED_REQUEST,
					     "Host must be an IP address, localhost or the listen address");
	}
	nt_api_path_parse(url, &path);
	if (path.route == NT_API_ROUTE_NOT_FOUND)
		return respond_error(a, c, MHD_HTTP_NOT_FOUND, "not found");
	if (path.route == NT_API_ROUTE_BAD)
		return respond_error(a, c, MHD_HTTP_BAD_REQUEST,
				     "bad bucket or key (bucket: [a-z0-9._-]{1,32})");
	if (is_get) {
		/* The page itself and the health check hold no data; everything else needs the
		 * token once one is configured. */
		if (a->has_token && path.route != NT_API_ROUTE_DASHBOARD &&
		    path.route != NT_API_ROUTE_HEALTHZ && !has_valid_token(a, c))
			return respond_error(a, c, MHD_HTTP_UNAUTHORIZED,
					     "missing or wrong bearer token");
		return serve_read(a, c, &path);
	}
	if (path.route == NT_API_ROUTE_DNS && !strcmp(method, MHD_HTTP_METHOD_POST) && a->host.ledger)
		is_put = true; /* a body to read; on_request sends it to serve_dns_post */
	else if ((!is_put && !is_delete) || path.route != NT_API_ROUTE_LEDGER || path.depth < 2 ||
		 (is_delete && path.depth != 2))
		return respond_error(a, c, MHD_HTTP_METHOD_NOT_ALLOWED,
				     "writes are PUT or DELETE /api/ledger/{bucket}/{key}");
	if (!a->has_token)
		return respond_error(a, c, MHD_HTTP_FORBIDDEN,
				     "writes need a bearer token: start netron with --api-token-file");
	if (!has_valid_token(a, c))
		return respond_error(a, c, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
	if (is_put && content_length(c) > NT_API_BODY_MAX)
		return respond_error(a, c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return MHD_NO;
	rq->path = path;
	if (is_delete) {
		enum MHD_Result ret = serve_write(a, c, false, rq);

		free(rq);
		return ret;
	}
	*con_cls = rq;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct nt_api *a = cls;
	struct api_req *rq = *con_cls;

	(void)version;
	if (!rq)
		return on_request_start(a, c, url, method, con_cls);
	/* A PUT body, in pieces; bounded by NT_API_BODY_MAX whatever Content-Length said. */
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (rq->too_big || rq->len + n > NT_API_BODY_MAX) {
			rq->too_big = true;
			return MHD_YES;
		}
		if (!rq->body && !(rq->body = malloc(NT_API_BODY_MAX)))
			return MHD_NO;
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		return MHD_YES;
	}
	if (rq->too_big)
		return respond_error(a, c, MHD_HTTP_CONTENT_TOO_LARGE, "body too large");
	if (rq->path.route == NT_API_ROUTE_DNS)
		return serve_dns_post(a, c, rq);
	return serve_write(a, c, true, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (!rq)
		return;
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* The path arrives raw: nt_api_path_parse decodes each segment itself, so an encoded
 * "/" stays inside its segment. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* ---- start-up ---- */

/* 'sha256-<base64>' of the text between <tag> and </tag> in the page, for the CSP. */
static void csp_hash(const char *tag, char *out, size_t cap)
{
	const char *page = (const char *)dashboard_html;
	char open[16], close[16], b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	uint8_t h[crypto_hash_sha256_BYTES];
	const char *s, *e;

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = memmem(page, dashboard_html_len, open, strlen(open));
	if (!s)
		return;
	s += strlen(open);
	e = memmem(s, dashboard_html_len - (size_t)(s - page), close, strlen(close));
	if (!e)
		return;
	crypto_hash_sha256(h, (const uint8_t *)s, (unsigned long long)(e - s));
	sodium_bin2base64(b64, sizeof(b64), h, sizeof(h), sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "'sha256-%s'", b64);
}

static void init_self(struct nt_api *a)
{
	char script[80], style[80];
	struct utsname u;

	csp_hash("script", script, sizeof(script));
	csp_hash("style", style, sizeof(style));
	snprintf(a->csp_page, sizeof(a->csp_page),
		 "default-src 'self'; script-src 'self' %s; style-src 'self' %s; img-src 'self' data:; "
		 "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		 script, style);
	snprintf(a->os, sizeof(a->os), "linux");
	snprintf(a->arch, sizeof(a->arch), "unknown");
	if (uname(&u) == 0)
		snprintf(a->arch, sizeof(a->arch), "%.31s", nt_api_go_arch(u.machine));
}

/* A unix socket file left by a dead process is removed; a live one is not ours to take. */
static int unix_remove_stale(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	if (ret == 0)
		return -EADDRINUSE;
	return unlink(path) < 0 ? -errno : 0;
}

static int open_listener(struct nt_api *a, int *out, struct nt_err *err)
{
	const struct nt_api_listen *l = &a->listen;
	const char *where = a->host.listen;
	int fd, one = 1, ret;

	if (l->is_unix) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		mode_t old;

		ret = unix_remove_stale(l->path);
		if (ret < 0) {
			snprintf(err->msg, sizeof(err->msg), "--api-listen %.100s: %s", where,
				 ret == -EEXIST ? "exists and is not a socket" :
				 ret == -EADDRINUSE ? "another process is listening there" :
						      strerror(-ret));
			return ret;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto err_errno;
		memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
		/* Created 0660 from the start: no window in which others may connect. */
		old = umask(0117);
		ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(old);
		if (ret < 0)
			goto err_close;
		a->unix_bound = true;
		if (chmod(l->path, 0660) < 0)
			goto err_close;
	} else {
		union nt_sockaddr sa = l->addr;

		fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto err_errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, &sa.sa, nt_sockaddr_len(&sa)) < 0)
			goto err_close;
		socklen_t sl = sizeof(sa);
		if (getsockname(fd, &sa.sa, &sl) == 0)
			a->port = ntohs(sa.sa.sa_family == AF_INET ? sa.in4.sin_port : sa.in6.sin6_port);
	}
	if (listen(fd, 128) < 0)
		goto err_close;
	*out = fd;
	return 0;

err_close:
	ret = -errno;
	close(fd);
	goto err;
err_errno:
	ret = -errno;
err:
	snprintf(err->msg, sizeof(err->msg), "cannot listen on %.64s for the API: %s%s", where,
		 strerror(-ret), ret == -EADDRINUSE ? " (in use: choose --api-listen)" : "");
	return ret;
}

int nt_api_start(struct nt_api **out, const struct nt_api_host *host, struct nt_err *err)
{
	const union MHD_DaemonInfo *info;
	struct nt_api *a;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	int fd = -1, ret;

	if (nt_dynlib_load(&libmhd) < 0) {
		snprintf(err->msg, sizeof(err->msg), "--api needs libmicrohttpd: %.100s", libmhd.error);
		return -ELIBACC;
	}
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->host = *host;
	if (!nt_api_listen_parse(host->listen, &a->listen)) {
		snprintf(err->msg, sizeof(err->msg),
			 "--api-listen %.64s: expected IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path",
			 host->listen);
		ret = -EINVAL;
		goto err_free;
	}
	if (host->token_file && host->token_file[0]) {
		ret = load_token(a, host->token_file, err);
		if (ret < 0)
			goto err_free;
	} else if (!a->listen.loopback) {
		snprintf(err->msg, sizeof(err->msg),
			 "--api-listen %.64s is not loopback: give --api-token-file FILE (mode 0600)",
			 host->listen);
		ret = -EINVAL;
		goto err_free;
	}
	init_self(a);
	ret = open_listener(a, &fd, err);
	if (ret < 0)
		goto err_free;
	/* Per-IP accounting only means something for TCP peers. */
	a->mhd = mhd.MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned int)NT_API_CONNECTION_LIMIT,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT,
				  a->listen.is_unix ? 0U : (unsigned int)NT_API_PER_IP_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)NT_API_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
				  MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
				  MHD_OPTION_END);
	if (!a->mhd) {
		snprintf(err->msg, sizeof(err->msg), "--api: libmicrohttpd failed to start on %.100s",
			 host->listen);
		close(fd);
		ret = -EIO;
		goto err_free;
	}
	/* From here MHD owns fd and closes it in MHD_stop_daemon. */
	info = mhd.MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		snprintf(err->msg, sizeof(err->msg), "--api: libmicrohttpd has no epoll fd");
		ret = -EIO;
		goto err_free;
	}
	a->ev_epoll = event_new(host->base, info->epoll_fd, EV_READ | EV_PERSIST, on_epoll, a);
	a->ev_timer = evtimer_new(host->base, on_timer, a);
	if (!a->ev_epoll || !a->ev_timer || event_add(a->ev_epoll, NULL) < 0) {
		snprintf(err->msg, sizeof(err->msg), "--api: cannot register with the event loop");
		ret = -ENOMEM;
		goto err_free;
	}
	api_run(a);
	if (a->listen.is_unix) {
		log_info("api: listening on %s%s", host->listen,
			 a->has_token ? " (bearer token required)" : " (read-only, no token)");
	} else {
		char where[NT_SOCKADDR_STRLEN];
		union nt_sockaddr sa = a->listen.addr;

		sa.in4.sin_port = htons(a->port); /* same offset in sockaddr_in6 */
		log_info("api: listening on %s%s", nt_sockaddr_format(&sa, where, sizeof(where)),
			 a->has_token ? " (bearer token required)" : " (read-only, no token)");
	}
	*out = a;
	return 0;

err_free:
	nt_api_stop(a);
	return ret;
}

void nt_api_stop(struct nt_api *a)
{
	if (!a)
		return;
	if (a->ev_epoll)
		event_free(a->ev_epoll);
	if (a->ev_timer)
		event_free(a->ev_timer);
	if (a->mhd)
		mhd.MHD_stop_daemon(a->mhd);
	if (a->unix_bound)
		unlink(a->listen.path);
	sodium_memzero(a, sizeof(*a));
	free(a);
}
