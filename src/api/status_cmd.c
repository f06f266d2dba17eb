// SPDX-License-Identifier: MIT
/*
 * `netron status` (docs/api.md): a minimal HTTP/1.1 client (one request per connection,
 * "Connection: close", a deadline on connect, send and receive, a size cap on the answer)
 * for GET /api/summary and /api/peers, a strict response parser (RFC 9112: status line,
 * Content-Length or chunked, every length checked), and a plain-text table.
 */
#include "api/status_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api_parse.h"
#include "core/util.h"

/* ---- response parsing ---- */

static const char *find_crlf(const char *p, const char *end)
{
	for (; p + 1 < end; p++)
		if (p[0] == '\r' && p[1] == '\n')
			return p;
	return NULL;
}

/* Decimal or hex digits of s[0..n) into *v; false on anything else or overflow. */
static bool parse_num(const char *s, size_t n, int base, uint64_t *v)
{
	uint64_t r = 0;

	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (base == 16 && s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (base == 16 && s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return false;
		r = r * (uint64_t)base + (uint64_t)d;
	}
	*v = r;
	return true;
}

static size_t trim_len(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

/* Decodes a chunked body in place; *out_len gets the decoded length. */
static int dechunk(char *p, const char *end, size_t *out_len)
{
	char *const start = p;
	char *w = p;

	for (;;) {
		const char *eol = find_crlf(p, end);
		size_t digits = 0;
		uint64_t size;

		if (!eol)
			return -EBADMSG;
		while (p + digits < eol && p[digits] != ';' && p[digits] != ' ')
			digits++;
		if (!parse_num(p, digits, 16, &size))
			return -EBADMSG;
		p = (char *)eol + 2;
		if (size == 0)
			break; /* trailers, if any, are ignored */
		if (size > (uint64_t)(end - p) || (uint64_t)(end - p) - size < 2 ||
		    p[size] != '\r' || p[size + 1] != '\n')
			return -EBADMSG;
		memmove(w, p, size);
		w += size;
		p += size + 2;
	}
	*out_len = (size_t)(w - start);
	return 0;
}

int nt_status_http_parse(char *buf, size_t len, int *status, char **body, size_t *body_len)
{
	const char *end = buf + len, *line, *eol;
	bool chunked = false, have_length = false;
	uint64_t clen = 0, code;
	char *p;

	eol = find_crlf(buf, end);
	if (!eol || eol - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    !parse_num(buf + 9, 3, 10, &code) || (eol - buf > 12 && buf[12] != ' '))
		return -EBADMSG;
	if (code < 100 || code > 599)
		return -EBADMSG;
	line = eol + 2;
	for (;;) {
		const char *colon, *v;
		size_t vlen;

		eol = find_crlf(line, end);
		if (!eol)
			return -EBADMSG;
		if (eol == line)
			break;
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line)
			return -EBADMSG;
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = trim_len(v, (size_t)(eol - v));
		if ((size_t)(colon - line) == 14 && !strncasecmp(line, "Content-Length", 14)) {
			uint64_t n;

			if (!parse_num(v, vlen, 10, &n) || (have_length && n != clen))
				return -EBADMSG;
			clen = n;
			have_length = true;
		} else if ((size_t)(colon - line) == 17 &&
			   !strncasecmp(line, "Transfer-Encoding", 17)) {
			if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0)
				return -EBADMSG; /* nothing else is ever sent to us */
			chunked = true;
		}
		line = eol + 2;
	}
	p = (char *)eol + 2;
	*status = (int)code;
	*body = p;
	if (chunked)
		return dechunk(p, end, body_len);
	if (have_length) {
		if (clen > (uint64_t)(end - p))
			return -EBADMSG;
		*body_len = (size_t)clen;
		return 0;
	}
	*body_len = (size_t)(end - p);
	return 0;
}

/* ---- the client ---- */

static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = nt_now_ms();
		struct pollfd pfd = { fd, events, 0 };
		int n;

		if (now >= deadline)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)(deadline - now));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_api(const struct nt_api_listen *l, uint64_t deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	union nt_sockaddr sa = l->addr;
	const struct sockaddr *to;
	socklen_t to_len;
	int fd, err = 0, ret;
	socklen_t el = sizeof(err);

	if (l->is_unix) {
		memcpy(sun.sun_path, l->path, strlen(l->path) + 1);
		to = (const struct sockaddr *)&sun;
		to_len = sizeof(sun);
	} else {
		/* A wildcard listen address is reached through loopback. */
		if (sa.sa.sa_family == AF_INET && sa.in4.sin_addr.s_addr == htonl(INADDR_ANY))
			sa.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (sa.sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sa.in6.sin6_addr))
			sa.in6.sin6_addr = in6addr_loopback;
		to = &sa.sa;
		to_len = nt_sockaddr_len(&sa);
	}
	fd = socket(to->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, to, to_len) < 0) {
		if (errno != EINPROGRESS) {
			ret = -errno;
			goto err_close;
		}
		ret = wait_fd(fd, POLLOUT, deadline);
		if (ret < 0)
			goto err_close;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err) {
			ret = err ? -err : -errno;
			goto err_close;
		}
	}
	return fd;
err_close:
	close(fd);
	return ret;
}

/* One GET; *resp (malloc'ed, *resp_len bytes plus a NUL) is the whole raw response. */
static int http_get(const struct nt_api_listen *l, const char *host, const char *path,
		    const char *token, char **resp, size_t *resp_len)
{
	uint64_t deadline = nt_now_ms() + NT_STATUS_TIMEOUT_MS;
	char req[NT_API_TOKEN_MAX + 512];
	size_t cap = 16384, len = 0, sent = 0;
	char *buf = NULL;
	int fd, n, ret;

	n = snprintf(req, sizeof(req),
		     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: netron-status\r\n"
		     "Accept: application/json\r\nConnection: close\r\n%s%s%s\r\n",
		     path, host, token ? "Authorization: Bearer " : "", token ? token : "",
		     token ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return -EINVAL;
	fd = connect_api(l, deadline);
	if (fd < 0)
		return fd;
	while (sent < (size_t)n) {
		ssize_t w = send(fd, req + sent, (size_t)n - sent, MSG_NOSIGNAL);

		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			ret = wait_fd(fd, POLLOUT, deadline);
			if (ret < 0)
				goto out;
			continue;
		}
		if (w < 0) {
			ret = -errno;
			goto out;
		}
		sent += (size_t)w;
	}
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 1 >= cap) {
			char *nb;

			if (cap >= NT_STATUS_RESPONSE_MAX) {
				ret = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				ret = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - len - 1, 0);
		if (r == 0)
			break;
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			ret = wait_fd(fd, POLLIN, deadline);
			if (ret < 0)
				goto out;
			continue;
		}
		if (r < 0) {
			ret = -errno;
			goto out;
		}
		len += (size_t)r;
	}
	buf[len] = '\0';
	*resp = buf;
	*resp_len = len;
	buf = NULL;
	ret = 0;
out:
	sodium_memzero(req, sizeof(req));
	free(buf);
	close(fd);
	return ret;
}

/* ---- rendering ---- */

const char *nt_status_human_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	unsigned int u = 0;
	uint64_t whole = n, tenths = 0;

	while (whole >= 1024 && u + 1 < NT_ARRAY_SIZE(units)) {
		tenths = (whole % 1024) * 10 / 1024;
		whole /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[u]);
	return buf;
}

static void duration(uint64_t s, char *buf, size_t len)
{
	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

const char *nt_status_ago(uint64_t then_ms, uint64_t now_ms, char *buf, size_t len)
{
	char d[20];

	if (!then_ms) {
		snprintf(buf, len, "never");
		return buf;
	}
	duration(now_ms > then_ms ? (now_ms - then_ms) / 1000 : 0, d, sizeof(d));
	snprintf(buf, len, "%s ago", d);
	return buf;
}

static const char *str(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v ? v : dflt;
}

static uint64_t num(json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 ? (uint64_t)v : 0;
}

/* "tun tso+uso, udp gso+gro (1204 superpackets read, 880 written)", or "off". */
static void offloads_line(json_t *o, char *buf, size_t len)
{
	bool tso = json_is_true(json_object_get(o, "tun_tso"));
	bool uso = json_is_true(json_object_get(o, "tun_uso"));
	bool gso = json_is_true(json_object_get(o, "udp_gso"));
	bool gro = json_is_true(json_object_get(o, "udp_gro"));

	if (!json_is_object(o)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "tun %s, udp %s (%" PRIu64 " superpackets read, %" PRIu64 " written)",
		 tso && uso ? "tso+uso" : tso ? "tso" :
		 json_is_true(json_object_get(o, "tun_vnet")) ? "checksum" : "off",
		 gso && gro ? "gso+gro" : gso ? "gso" : gro ? "gro" : "off",
		 num(o, "tun_superpackets"), num(o, "tun_coalesced_writes"));
}

/* "2 (packets out/in: 812/790, 640/0)": how the threads share the traffic. */
static void workers_line(json_t *arr, char *buf, size_t len)
{
	size_t i, off;
	json_t *w;
	int n;

	n = snprintf(buf, len, "%zu", json_array_size(arr) ? json_array_size(arr) : 1);
	off = n > 0 ? (size_t)n : 0;
	if (json_array_size(arr) < 2)
		return;
	json_array_foreach(arr, i, w) {
		n = snprintf(buf + off, len - off, "%s%" PRIu64 "/%" PRIu64, i ? ", " : " (packets out/in: ",
			     num(w, "tx_packets"), num(w, "rx_packets"));
		if (n < 0 || (size_t)n >= len - off)
			return;
		off += (size_t)n;
	}
	snprintf(buf + off, len - off, ")");
}

static void join_addresses(json_t *arr, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *v;

	buf[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int n;

		if (!s)
			continue;
		n = snprintf(buf + off, len - off, "%s%s", off ? "," : "", s);
		if (n < 0 || (size_t)n >= len - off)
			break;
		off += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

enum { COLS = 8, CELL = 96 };
static const char *const headings[COLS] = { "PEER", "ADDRESSES", "ENDPOINT", "PATH",
					    "RTT", "RX", "TX", "HANDSHAKE" };

static void render_peers(FILE *out, json_t *summary, json_t *peers, uint64_t now_ms)
{
	size_t n = json_array_size(peers), width[COLS], i;
	char buf[CELL * 2], (*cells)[COLS][CELL];
	json_t *p;

	join_addresses(json_object_get(summary, "addresses"), buf, sizeof(buf));
	fprintf(out, "node       %s (%s)\n", str(summary, "id_short", "?"), str(summary, "node_id", "?"));
	fprintf(out, "network    %s\n", str(summary, "fingerprint", "?"));
	fprintf(out, "addresses  %s\n", buf);
	fprintf(out, "interface  %s, udp port %" PRIu64 "\n", str(summary, "interface", "?"),
		num(summary, "listen_port"));
	duration(num(summary, "uptime_s"), buf, sizeof(buf));
	fprintf(out, "uptime     %s\n", buf);
	offloads_line(json_object_get(summary, "offload"), buf, sizeof(buf));
	fprintf(out, "offloads   %s\n", buf);
	workers_line(json_object_get(summary, "workers"), buf, sizeof(buf));
	fprintf(out, "workers    %s\n", buf);
	p = json_object_get(summary, "dns");
	if (json_is_object(p))
		fprintf(out, "dns        %s, *.%s: %" PRIu64 " members, %" PRIu64 " records; %" PRIu64
			" queries, %" PRIu64 " forwarded, %" PRIu64 " rate-limited\n",
			str(p, "listen", "?"), str(p, "domain", "?"), num(p, "members"), num(p, "records"),
			num(p, "queries"), num(p, "forwarded"), num(p, "ratelimited"));
	fprintf(out, "peers      %" PRIu64 " connected of %" PRIu64 "\n",
		num(summary, "peers_connected"), num(summary, "peers"));
	if (!n) {
		fprintf(out, "\nno peers yet\n");
		return;
	}
	cells = calloc(n, sizeof(*cells));
	if (!cells) {
		fprintf(out, "\n(out of memory for the peer table)\n");
		return;
	}
	for (int c = 0; c < COLS; c++)
		width[c] = strlen(headings[c]);
	json_array_foreach(peers, i, p) {
		char *row[COLS];
		json_t *rtt = json_object_get(p, "rtt_us");

		for (int c = 0; c < COLS; c++)
			row[c] = cells[i][c];
		snprintf(row[0], CELL, "%s%s", str(p, "id_short", "?"),
			 json_is_true(json_object_get(p, "connected")) ? "" : "*");
		join_addresses(json_object_get(p, "addresses"), row[1], CELL);
		snprintf(row[2], CELL, "%s", str(p, "endpoint", "-"));
		snprintf(row[3], CELL, "%s", str(p, "path", "none"));
		if (json_is_integer(rtt) && json_integer_value(rtt) < 10000)
			snprintf(row[4], CELL, "%.2f ms", (double)json_integer_value(rtt) / 1000);
		else if (json_is_integer(rtt))
			snprintf(row[4], CELL, "%" JSON_INTEGER_FORMAT " ms", json_integer_value(rtt) / 1000);
		else
			snprintf(row[4], CELL, "-");
		nt_status_human_bytes(num(p, "rx_bytes"), row[5], CELL);
		nt_status_human_bytes(num(p, "tx_bytes"), row[6], CELL);
		nt_status_ago(num(p, "last_handshake_unix_ms"), now_ms, row[7], CELL);
		for (int c = 0; c < COLS; c++)
			width[c] = NT_MAX(width[c], strlen(row[c]));
	}
	fprintf(out, "\n");
	for (int c = 0; c < COLS; c++)
		fprintf(out, "%-*s%s", (int)width[c], headings[c], c + 1 < COLS ? "  " : "\n");
	for (i = 0; i < n; i++)
		for (int c = 0; c < COLS; c++)
			fprintf(out, "%-*s%s", c + 1 < COLS ? (int)width[c] : 0, cells[i][c],
				c + 1 < COLS ? "  " : "\n");
	if (num(summary, "peers_connected") < n)
		fprintf(out, "(* no session)\n");
	free(cells);
}

/* The subnet routes members advertise (docs/routes.md), from the summary's "routes". */
static void render_routes(FILE *out, json_t *summary)
{
	json_t *routes = json_object_get(summary, "routes"), *r;
	size_t i, wp = strlen("ROUTE"), wa = strlen("ADDRESS");

	if (!json_array_size(routes))
		return;
	json_array_foreach(routes, i, r) {
		wp = NT_MAX(wp, strlen(str(r, "prefix", "?")));
		wa = NT_MAX(wa, strlen(str(r, "address", "?")));
	}
	fprintf(out, "\n%-*s  %-8s  %-*s  %s\n", (int)wp, "ROUTE", "VIA", (int)wa, "ADDRESS", "STATE");
	json_array_foreach(routes, i, r) {
		bool ours = json_is_true(json_object_get(r, "ours"));
		bool accepted = json_is_true(json_object_get(r, "accepted"));

		fprintf(out, "%-*s  %-8.8s  %-*s  %s%s\n", (int)wp, str(r, "prefix", "?"), str(r, "via", "?"),
			(int)wa, str(r, "address", "?"), str(r, "state", "?"),
			ours ? ", ours" : accepted ? ", accepted" : ", not accepted");
	}
}

void nt_status_render(FILE *out, json_t *summary, json_t *peers, uint64_t now_ms)
{
	render_peers(out, summary, peers, now_ms);
	render_routes(out, summary);
}

/* ---- the command ---- */

static int read_token(const char *path, char *out, size_t cap)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), len;

	if (fd < 0)
		return -errno;
	n = read(fd, out, cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	len = nt_api_token_check(out, (size_t)n);
	if (len < 0) {
		sodium_memzero(out, cap);
		return len;
	}
	out[len] = '\0';
	return 0;
}

/* GET path and parse the JSON body; prints the reason and returns NULL on any failure. */
static json_t *fetch(const struct nt_api_listen *l, const char *where, const char *host,
		     const char *path, const char *token)
{
	char *resp = NULL, *body;
	size_t len = 0, body_len = 0;
	json_error_t jerr;
	json_t *j = NULL;
	int ret, status;

	ret = http_get(l, host, path, token, &resp, &len);
	if (ret < 0) {
		if (ret == -ECONNREFUSED || ret == -ENOENT || ret == -ETIMEDOUT ||
		    ret == -ECONNRESET || ret == -EHOSTUNREACH || ret == -ENETUNREACH)
			fprintf(stderr, "netron: no netron API at %s: is it running with --api? (%s)\n",
				where, strerror(-ret));
		else
			fprintf(stderr, "netron: API at %s: %s\n", where, strerror(-ret));
		return NULL;
	}
	if (nt_status_http_parse(resp, len, &status, &body, &body_len) < 0) {
		fprintf(stderr, "netron: %s did not answer HTTP: is it a netron API?\n", where);
		goto out;
	}
	if (status == 401) {
		fprintf(stderr, "netron: the API at %s wants a bearer token: give --api-token-file FILE%s\n",
			where, token ? " (the one given was refused)" : "");
		goto out;
	}
	if (status != 200) {
		fprintf(stderr, "netron: GET %s from %s: HTTP %d\n", path, where, status);
		goto out;
	}
	j = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		fprintf(stderr, "netron: GET %s from %s: bad JSON (%s)\n", path, where, jerr.text);
out:
	free(resp);
	return j;
}

int nt_status_cmd(const struct nt_options *o)
{
	char token[NT_API_TOKEN_MAX + 2], host[NT_API_HOST_MAX + 16];
	const char *where = o->api_listen[0] ? o->api_listen : NT_DEFAULT_API_LISTEN;
	struct nt_api_listen l;
	json_t *summary = NULL, *peers = NULL;
	bool have_token = false;
	int ret = 1;

	if (!nt_api_listen_parse(where, &l)) {
		fprintf(stderr, "netron: --api-listen %s: expected IP:PORT, [IPv6]:PORT, localhost:PORT or unix:/path\n",
			where);
		return 2;
	}
	if (o->api_token_file[0]) {
		int r = read_token(o->api_token_file, token, sizeof(token));

		if (r < 0) {
			fprintf(stderr, "netron: --api-token-file %s: %s\n", o->api_token_file,
				r == -EINVAL || r == -ERANGE ? "not a valid token (one line, 16 to 1024 printable characters)" :
				strerror(-r));
			return 2;
		}
		have_token = true;
	}
	if (l.is_unix) {
		snprintf(host, sizeof(host), "localhost");
	} else {
		/* "127.0.0.1:8080" or "[::1]:8080": what the server's Host check accepts. */
		nt_sockaddr_format(&l.addr, host, sizeof(host));
	}
	summary = fetch(&l, where, host, "/api/summary", have_token ? token : NULL);
	if (summary)
		peers = fetch(&l, where, host, "/api/peers", have_token ? token : NULL);
	if (summary && peers && json_is_object(summary) && json_is_array(peers)) {
		nt_status_render(stdout, summary, peers, nt_wall_ms());
		ret = fflush(stdout) == 0 ? 0 : 1;
	} else if (summary && peers) {
		fprintf(stderr, "netron: %s answered with unexpected JSON\n", where);
	}
	json_decref(summary);
	json_decref(peers);
	sodium_memzero(token, sizeof(token));
	return ret;
}
