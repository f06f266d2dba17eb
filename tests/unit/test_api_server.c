// SPDX-License-Identifier: MIT
/*
 * The API server in-process, with no TUN and no root: a fake node (an event base, an
 * identity, a ledger, and a snapshot function: struct nt_api_host) runs its loop in a thread
 * while the test speaks HTTP to it over loopback and a unix socket. Covers the libevent/MHD glue, the status codes of
 * every refusal, the token file rules, unix socket handling and `netron status`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_parse.h"
#include "core/util.h"
#include "netron/options.h"
#include "netron/keys.h"
#include "netron/status.h"
#include "ledger/ledger.h"
#include "api/status_cmd.h"

static const char token[] = "correct-horse-battery-staple-42";

/* What the API sees of a node. */
struct node {
	struct nt_options opts; /* api_listen, api_token_file */
	struct event_base *base;
	struct nt_identity *id;
	struct nt_ledger *ledger;
	struct nt_api *api;
	uint64_t started_ms;
};

struct fixture {
	struct node *d;
	pthread_t loop;
	char dir[64];
};

static void *loop_main(void *arg)
{
	struct node *d = arg;

	event_base_loop(d->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* A node with no peers whose TUN is netron0 and whose TUN and socket are not up. */
static int node_status(void *ctx, struct nt_status **out)
{
	struct node *d = ctx;
	struct nt_status *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->peers = calloc(1, sizeof(*s->peers));
	if (!s->peers) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->id, d->id->ed_pk, 32);
	nt_node_id_short(d->id->ed_pk, s->id_short);
	snprintf(s->ifname, sizeof(s->ifname), "netron0");
	s->uptime_ms = nt_now_ms() - d->started_ms;
	*out = s;
	return 0;
}

static bool node_ready(void *ctx)
{
	(void)ctx;
	return false;
}

static int node_api_start(struct node *d, struct nt_err *err)
{
	struct nt_api_host host = {
		.base = d->base,
		.listen = d->opts.api_listen,
		.token_file = d->opts.api_token_file,
		.hostname = "unit",
		.id = d->id,
		.ledger = d->ledger,
		.status = node_status,
		.ready = node_ready,
		.ctx = d,
	};

	return nt_api_start(&d->api, &host, err);
}

static void node_api_stop(struct node *d)
{
	nt_api_stop(d->api);
	d->api = NULL;
}

static struct node *daemon_new(void)
{
	struct node *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	nt_options_init(&d->opts);
	d->base = event_base_new();
	assert_non_null(d->base);
	assert_int_equal(nt_identity_new_ephemeral(&d->id), 0);
	d->started_ms = nt_now_ms();
	return d;
}

static void daemon_free(struct node *d)
{
	node_api_stop(d);
	nt_ledger_free(d->ledger);
	event_base_free(d->base);
	nt_identity_free(d->id);
	free(d);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/netron-api-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	f->d = daemon_new();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->loop) {
		event_base_loopbreak(f->d->base);
		pthread_join(f->loop, NULL);
	}
	daemon_free(f->d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void start(struct fixture *f, const char *listen, const char *token_text)
{
	struct nt_err err = { 0 };

	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "%s", listen);
	if (token_text) {
		snprintf(f->d->opts.api_token_file, sizeof(f->d->opts.api_token_file), "%s/token",
			 f->dir);
		write_file(f->d->opts.api_token_file, token_text, 0600);
	}
	if (node_api_start(f->d, &err) < 0)
		fail_msg("nt_api_start: %s", err.msg);
	assert_int_equal(pthread_create(&f->loop, NULL, loop_main, f->d), 0);
}

struct reply {
	int status;
	char raw[1 << 17];
	char *body;
	size_t body_len;
};

/* Sends raw bytes to the API and reads the answer until the server closes. */
static void exchange(struct fixture *f, const char *req, size_t req_len, struct reply *r)
{
	const struct nt_api_listen *l = NULL;
	struct nt_api_listen parsed;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct timeval tv = { 5, 0 };
	size_t len = 0;
	ssize_t n;
	int fd;

	assert_true(nt_api_listen_parse(f->d->opts.api_listen, &parsed));
	l = &parsed;
	if (l->is_unix) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sun.sun_path, l->path);
		assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	} else {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(nt_api_port(f->d->api));
		assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(send(fd, req, req_len, MSG_NOSIGNAL), (ssize_t)req_len);
	while (len < sizeof(r->raw) - 1 && (n = recv(fd, r->raw + len, sizeof(r->raw) - 1 - len, 0)) > 0)
		len += (size_t)n;
	close(fd);
	r->raw[len] = '\0';
	if (!strncmp(req, "HEAD ", 5)) {
		/* Content-Length without a body: not for nt_status_http_parse. */
		assert_int_equal(sscanf(r->raw, "HTTP/1.1 %d ", &r->status), 1);
		r->body = strstr(r->raw, "\r\n\r\n");
		assert_non_null(r->body);
		r->body += 4;
		r->body_len = strlen(r->body);
		return;
	}
	if (nt_status_http_parse(r->raw, len, &r->status, &r->body, &r->body_len) < 0)
		fail_msg("bad response to %.40s: %s", req, r->raw);
}

/* A request with Connection: close and the given extra header lines. */
static int request(struct fixture *f, const char *method, const char *path, const char *extra,
		   struct reply *r)
{
	char req[2048];
	int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nConnection: close\r\n%s%s\r\n",
			 method, path, strstr(extra ? extra : "", "Host:") ? "" : "Host: 127.0.0.1\r\n",
			 extra ? extra : "");

	exchange(f, req, (size_t)n, r);
	return r->status;
}

static bool has_header(const struct reply *r, const char *line)
{
	return strcasestr(r->raw, line) != NULL;
}

static void test_loopback_no_token(void **state)
{
	struct fixture *f = *state;
	static struct reply r;
	json_t *j;

	start(f, "127.0.0.1:0", NULL);
	assert_true(nt_api_port(f->d->api) > 0);

	assert_int_equal(request(f, "GET", "/api/summary", NULL, &r), 200);
	assert_true(has_header(&r, "\r\nContent-Type: application/json"));
	assert_true(has_header(&r, "\r\nContent-Security-Policy: default-src 'none'"));
	assert_true(has_header(&r, "\r\nX-Content-Type-Options: nosniff"));
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "interface")), "netron0");
	assert_string_equal(json_string_value(json_object_get(j, "hostname")), "unit");
	json_decref(j);
	for (const char *const *p = (const char *const[]){ "/api/peers", "/api/machines",
							   "/api/ledger", "/api/ledger/users",
							   "/api/blockchain", "/api/dht", NULL };
	     *p; p++) {
		assert_int_equal(request(f, "GET", *p, NULL, &r), 200);
		j = json_loadb(r.body, r.body_len, 0, NULL);
		if (!j)
			fail_msg("%s: not JSON: %.*s", *p, (int)r.body_len, r.body);
		json_decref(j);
	}
	assert_int_equal(request(f, "GET", "/api/ledger/users/bob", NULL, &r), 404);
	assert_int_equal(request(f, "GET", "/healthz", NULL, &r), 503); /* no TUN here */
	assert_int_equal(request(f, "GET", "/metrics", NULL, &r), 200);
	assert_true(has_header(&r, "\r\nContent-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "\nnetron_peers 0\n"));

	/* The dashboard, with a CSP that allows its own inline script by hash. */
	assert_int_equal(request(f, "GET", "/", NULL, &r), 200);
	assert_true(has_header(&r, "\r\nContent-Type: text/html"));
	assert_true(has_header(&r, "\r\nContent-Security-Policy: default-src 'self'; script-src 'self' 'sha256-"));
	assert_true(has_header(&r, "style-src 'self' 'sha256-"));
	assert_non_null(strstr(r.body, "<table id=\"peers\">"));
	assert_int_equal(request(f, "HEAD", "/", NULL, &r), 200);
	assert_int_equal(r.body_len, 0);

	/* Refusals. */
	assert_int_equal(request(f, "GET", "/api/summary", "Host: evil.example\r\n", &r), 421);
	assert_int_equal(request(f, "GET", "/", "Host: evil.example:80\r\n", &r), 421);
	assert_int_equal(request(f, "GET", "/api/summary", "Host: localhost:8080\r\n", &r), 200);
	assert_int_equal(request(f, "GET", "/api/summary", "Host: [::1]:8080\r\n", &r), 200);
	assert_int_equal(request(f, "PUT", "/api/ledger/users/bob", "Content-Length: 1\r\n", &r), 403);
	assert_int_equal(request(f, "DELETE", "/api/ledger/users/bob", NULL, &r), 403);
	assert_int_equal(request(f, "POST", "/api/summary", "Content-Length: 0\r\n", &r), 405);
	assert_true(has_header(&r, "\r\nAllow: "));
	assert_int_equal(request(f, "GET", "/nope", NULL, &r), 404);
	assert_int_equal(request(f, "GET", "/api/ledger/UPPER", NULL, &r), 400);
	assert_int_equal(request(f, "GET", "/api/ledger/users/%00", NULL, &r), 400);

	/* Many requests in a row: the timer and epoll glue keep up, nothing accumulates. */
	for (int i = 0; i < 300; i++)
		assert_int_equal(request(f, "GET", "/api/peers", NULL, &r), 200);

	/* netron status against it. */
	{
		struct nt_options o;

		nt_options_init(&o);
		snprintf(o.api_listen, sizeof(o.api_listen), "127.0.0.1:%u", nt_api_port(f->d->api));
		assert_int_equal(nt_status_cmd(&o), 0);
	}
}

static void test_token(void **state)
{
	struct fixture *f = *state;
	static struct reply r;
	char auth[128], big[256];

	start(f, "127.0.0.1:0", "correct-horse-battery-staple-42\n");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);

	assert_int_equal(request(f, "GET", "/api/summary", NULL, &r), 401);
	assert_true(has_header(&r, "\r\nWWW-Authenticate: Bearer"));
	assert_int_equal(request(f, "GET", "/metrics", NULL, &r), 401);
	assert_int_equal(request(f, "GET", "/api/summary", "Authorization: Bearer correct-horse-battery-staple-4\r\n", &r), 401);
	assert_int_equal(request(f, "GET", "/api/summary", "Authorization: Bearer correct-horse-battery-staple-421\r\n", &r), 401);
	assert_int_equal(request(f, "GET", "/api/summary", "Authorization: Basic Y29ycmVjdA==\r\n", &r), 401);
	assert_int_equal(request(f, "GET", "/api/summary", auth, &r), 200);
	assert_int_equal(request(f, "GET", "/metrics", auth, &r), 200);
	/* The page and the health check carry no data: open. */
	assert_int_equal(request(f, "GET", "/", NULL, &r), 200);
	assert_int_equal(request(f, "GET", "/healthz", NULL, &r), 503);

	/* Writes: the token is checked before the body is read; no ledger here yet. */
	assert_int_equal(request(f, "PUT", "/api/ledger/users/bob", "Content-Length: 1\r\n", &r), 401);
	snprintf(big, sizeof(big), "%sContent-Length: %d\r\n", auth, NT_API_BODY_MAX + 1);
	assert_int_equal(request(f, "PUT", "/api/ledger/users/bob", big, &r), 413);
	{
		char req[512];
		int n = snprintf(req, sizeof(req),
				 "PUT /api/ledger/users/bob HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				 "Connection: close\r\n%sContent-Length: 5\r\n\r\nhello",
				 auth);

		exchange(f, req, (size_t)n, &r);
		assert_int_equal(r.status, 503);
	}
	assert_int_equal(request(f, "DELETE", "/api/ledger/users/bob", auth, &r), 503);
	assert_int_equal(request(f, "DELETE", "/api/ledger/users", auth, &r), 405);

	{
		struct nt_options o;

		nt_options_init(&o);
		snprintf(o.api_listen, sizeof(o.api_listen), "localhost:%u", nt_api_port(f->d->api));
		assert_int_equal(nt_status_cmd(&o), 1); /* no token */
		snprintf(o.api_token_file, sizeof(o.api_token_file), "%s/token", f->dir);
		assert_int_equal(nt_status_cmd(&o), 0);
	}
}

/* With a ledger: PUT (body or EdgeVPN's path form), GET, DELETE, and the refusals. */
static void test_ledger_writes(void **state)
{
	struct fixture *f = *state;
	struct nt_ledger_cfg cfg = { .capacity = 16 };
	static struct reply r;
	char auth[128], req[1024];
	json_t *j;
	int n;

	assert_int_equal(nt_ledger_new(&f->d->ledger, &cfg), 0);
	start(f, "127.0.0.1:0", "correct-horse-battery-staple-42\n");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);

	n = snprintf(req, sizeof(req),
		     "PUT /api/ledger/users/bob?ttl=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Connection: close\r\n%sContent-Length: 11\r\n\r\nhello world", auth);
	exchange(f, req, (size_t)n, &r);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "State")), "Announcing");
	assert_true(json_integer_value(json_object_get(j, "version")) > 0);
	json_decref(j);
	/* Chunked upload. */
	n = snprintf(req, sizeof(req),
		     "PUT /api/ledger/users/carol HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		     "Connection: close\r\n%sTransfer-Encoding: chunked\r\n\r\n"
		     "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", auth);
	exchange(f, req, (size_t)n, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(request(f, "PUT", "/api/ledger/users/dave/in%20path", auth, &r), 200);

	assert_int_equal(request(f, "GET", "/api/ledger/users/bob", auth, &r), 200);
	assert_int_equal(r.body_len, 13);
	assert_memory_equal(r.body, "\"hello world\"", 13);
	assert_int_equal(request(f, "GET", "/api/ledger/users/carol", auth, &r), 200);
	assert_memory_equal(r.body, "\"abcde\"", 7);
	assert_int_equal(request(f, "GET", "/api/ledger/users/dave", auth, &r), 200);
	assert_memory_equal(r.body, "\"in path\"", 9);
	assert_int_equal(request(f, "GET", "/api/ledger", auth, &r), 200);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_int_equal(json_object_size(json_object_get(j, "users")), 3);
	json_decref(j);
	assert_int_equal(request(f, "GET", "/api/summary", auth, &r), 200);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "Users")), 3);
	json_decref(j);
	assert_int_equal(request(f, "GET", "/metrics", auth, &r), 200);
	assert_non_null(strstr(r.body, "\nnetron_ledger_entries 3\n"));
	assert_non_null(strstr(r.body, "\nnetron_ledger_capacity 16\n"));

	/* A value over the ledger's limit, a claim on an address, a bad bucket. */
	{
		static char full[4096];

		n = snprintf(full, sizeof(full), "PUT /api/ledger/users/big HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			     "Connection: close\r\n%sContent-Length: 2000\r\n\r\n", auth);
		memset(full + n, 'v', 2000);
		exchange(f, full, (size_t)n + 2000, &r);
		assert_int_equal(r.status, 400);
	}
	assert_int_equal(request(f, "PUT", "/api/ledger/machines/10.1.0.9", auth, &r), 403);
	assert_int_equal(request(f, "PUT", "/api/ledger/Users/x", auth, &r), 400);

	assert_int_equal(request(f, "DELETE", "/api/ledger/users/bob", auth, &r), 200);
	assert_int_equal(request(f, "GET", "/api/ledger/users/bob", auth, &r), 404);
	assert_int_equal(request(f, "DELETE", "/api/ledger/users/nobody", auth, &r), 404);
	assert_int_equal(request(f, "DELETE", "/api/ledger/users/carol", NULL, &r), 401);
}

static void test_unix_socket(void **state)
{
	struct fixture *f = *state;
	static struct reply r;
	char path[128], listen[140];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	/* A stale socket (its process is gone) is replaced. */
	snprintf(path, sizeof(path), "%s/api.sock", f->dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	snprintf(listen, sizeof(listen), "unix:%s", path);
	start(f, listen, NULL);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	/* Host is not checked on a unix socket: no browser reaches it. */
	assert_int_equal(request(f, "GET", "/api/summary", "Host: anything\r\n", &r), 200);
	{
		struct nt_options o;

		nt_options_init(&o);
		snprintf(o.api_listen, sizeof(o.api_listen), "%s", listen);
		assert_int_equal(nt_status_cmd(&o), 0);
	}
	event_base_loopbreak(f->d->base);
	pthread_join(f->loop, NULL);
	f->loop = 0;
	node_api_stop(f->d);
	assert_int_equal(stat(path, &st), -1); /* removed at stop */
}

static void test_start_refusals(void **state)
{
	struct fixture *f = *state;
	struct nt_err err = { 0 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	struct nt_options o;
	char path[128];
	int fd;

	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "nonsense");
	assert_int_equal(node_api_start(f->d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--api-listen nonsense"));
	assert_null(f->d->api);

	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "192.0.2.1:8080");
	assert_int_equal(node_api_start(f->d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "is not loopback: give --api-token-file"));

	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "127.0.0.1:0");
	snprintf(f->d->opts.api_token_file, sizeof(f->d->opts.api_token_file), "%s/token", f->dir);
	write_file(f->d->opts.api_token_file, "correct-horse-battery-staple-42\n", 0640);
	assert_int_equal(node_api_start(f->d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "chmod 600"));
	write_file(f->d->opts.api_token_file, "short\n", 0600);
	assert_int_equal(node_api_start(f->d, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "16 to 1024"));
	write_file(f->d->opts.api_token_file, "has a space in the middle\n", 0600);
	assert_int_equal(node_api_start(f->d, &err), -EINVAL);
	snprintf(f->d->opts.api_token_file, sizeof(f->d->opts.api_token_file), "%s/missing", f->dir);
	assert_int_equal(node_api_start(f->d, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/missing"));
	f->d->opts.api_token_file[0] = '\0';

	/* A port in use. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "127.0.0.1:%u",
		 ntohs(sin.sin_port));
	assert_int_equal(node_api_start(f->d, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "Address already in use"));
	close(fd);

	/* A unix path that is not a socket is left alone. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	write_file(path, "x", 0600);
	snprintf(f->d->opts.api_listen, sizeof(f->d->opts.api_listen), "unix:%s", path);
	assert_int_equal(node_api_start(f->d, &err), -EEXIST);
	assert_non_null(strstr(err.msg, "not a socket"));
	assert_int_equal(access(path, F_OK), 0);

	/* Stop without start. */
	node_api_stop(f->d);
	nt_api_stop(NULL);

	/* netron status with nothing listening. */
	nt_options_init(&o);
	snprintf(o.api_listen, sizeof(o.api_listen), "127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(nt_status_cmd(&o), 1);
	snprintf(o.api_listen, sizeof(o.api_listen), "unix:%s/none.sock", f->dir);
	assert_int_equal(nt_status_cmd(&o), 1);
	snprintf(o.api_listen, sizeof(o.api_listen), "bogus");
	assert_int_equal(nt_status_cmd(&o), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loopback_no_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refusals, setup, teardown),
	};

	if (sodium_init() < 0 || evthread_use_pthreads() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
