// SPDX-License-Identifier: MIT
/*
 * Request text the API interprets itself (see api_parse.h): the listen address, the path
 * with its percent escapes (RFC 3986 §2.1), the Host header (RFC 9110 §7.2) checked
 * against DNS rebinding, and the bearer credential (RFC 6750 §2.1). No allocation; every
 * read is bounded by the lengths it checked.
 */
#include "api/api_parse.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n >= 5)
			return false;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

bool nt_api_listen_parse(const char *s, struct nt_api_listen *out)
{
	char host[NT_API_HOST_MAX];
	const char *colon;
	bool bracketed = s[0] == '[';
	uint16_t port;
	size_t hl;

	memset(out, 0, sizeof(*out));
	if (!strncmp(s, "unix:", 5)) {
		s += 5;
		if (s[0] != '/' || strlen(s) >= sizeof(out->path))
			return false;
		out->is_unix = true;
		out->loopback = true;
		memcpy(out->path, s, strlen(s) + 1);
		return true;
	}
	if (bracketed) {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return false;
		hl = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - s);
		if (memchr(s, ':', hl))
			return false; /* an IPv6 literal needs brackets */
	}
	if (hl == 0 || hl >= sizeof(host) || !parse_port(colon + 1, &port))
		return false;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memcpy(out->host, host, hl + 1);
	if (!bracketed && !strcasecmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (!bracketed && inet_pton(AF_INET, host, &out->addr.in4.sin_addr) == 1) {
		out->addr.in4.sin_family = AF_INET;
		out->addr.in4.sin_port = htons(port);
		out->loopback = ((const uint8_t *)&out->addr.in4.sin_addr)[0] == 127;
		return true;
	}
	if (inet_pton(AF_INET6, host, &out->addr.in6.sin6_addr) == 1) {
		out->addr.in6.sin6_family = AF_INET6;
		out->addr.in6.sin6_port = htons(port);
		out->loopback = IN6_IS_ADDR_LOOPBACK(&out->addr.in6.sin6_addr);
		return true;
	}
	return false;
}


/*
 * Decodes the segment s[0..n) into out (cap bytes, NUL-terminated). Refuses a bad escape,
 * an encoded NUL or control character, and anything that does not fit.
 */
static bool decode_segment(const char *s, size_t n, char *out, size_t cap, size_t *out_len)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return false;
			hi = nt_hex_value(s[i + 1]);
			lo = nt_hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		if (o + 1 >= cap)
			return false;
		out[o++] = (char)c;
	}
	if (o == 0)
		return false;
	out[o] = '\0';
	*out_len = o;
	return true;
}

bool nt_api_bucket_is_valid(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > NT_API_BUCKET_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static const struct {
	const char *path;
	enum nt_api_route route;
} fixed_routes[] = {
	{ "/", NT_API_ROUTE_DASHBOARD },
	{ "/index.html", NT_API_ROUTE_DASHBOARD },
	{ "/healthz", NT_API_ROUTE_HEALTHZ },
	{ "/metrics", NT_API_ROUTE_METRICS },
	{ "/api/summary", NT_API_ROUTE_SUMMARY },
	{ "/api/machines", NT_API_ROUTE_MACHINES },
	{ "/api/routes", NT_API_ROUTE_ROUTES },
	{ "/api/peers", NT_API_ROUTE_PEERS },
	{ "/api/dht", NT_API_ROUTE_DHT },
	{ "/api/blockchain", NT_API_ROUTE_BLOCKCHAIN },
	{ "/api/ledger", NT_API_ROUTE_LEDGER },
	{ "/api/dns", NT_API_ROUTE_DNS },
};

void nt_api_path_parse(const char *url, struct nt_api_path *out)
{
	static const char prefix[] = "/api/ledger/";
	const char *seg[3], *p;
	size_t seglen[3], dummy;
	unsigned int n = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < NT_ARRAY_SIZE(fixed_routes); i++) {
		if (!strcmp(url, fixed_routes[i].path)) {
			out->route = fixed_routes[i].route;
			return;
		}
	}
	if (strncmp(url, prefix, sizeof(prefix) - 1) != 0)
		return;
	p = url + sizeof(prefix) - 1;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 3 || len == 0)
			return; /* too deep, or an empty segment: not a route of ours */
		seg[n] = p;
		seglen[n++] = len;
		if (!slash)
			break;
		p = slash + 1;
	}
	out->route = NT_API_ROUTE_BAD;
	out->depth = n;
	if (!decode_segment(seg[0], seglen[0], out->bucket, sizeof(out->bucket), &dummy) ||
	    !nt_api_bucket_is_valid(out->bucket))
		return;
	if (n >= 2 && !decode_segment(seg[1], seglen[1], out->key, sizeof(out->key), &out->key_len))
		return;
	if (n >= 3 &&
	    !decode_segment(seg[2], seglen[2], out->value, sizeof(out->value), &out->value_len))
		return;
	out->route = NT_API_ROUTE_LEDGER;
}

bool nt_api_host_is_allowed(const char *host, const char *listen_host)
{
	char name[NT_API_HOST_MAX];
	const char *port = NULL;
	size_t n = strlen(host);
	uint16_t dummy;
	uint8_t a[16];

	if (n == 0 || n >= sizeof(name))
		return false;
	if (host[0] == '[') {
		const char *end = strchr(host, ']');

		if (!end)
			return false;
		n = (size_t)(end - host - 1);
		memcpy(name, host + 1, n);
		name[n] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return false;
		if (port && !parse_port(port, &dummy))
			return false;
		/* Inside brackets only an IPv6 literal is valid. */
		return inet_pton(AF_INET6, name, a) == 1;
	}
	port = strchr(host, ':');
	if (port) {
		if (strchr(port + 1, ':') || !parse_port(port + 1, &dummy))
			return false;
		n = (size_t)(port - host);
	}
	if (n == 0)
		return false;
	memcpy(name, host, n);
	name[n] = '\0';
	if (inet_pton(AF_INET, name, a) == 1)
		return true;
	if (!strcasecmp(name, "localhost"))
		return true;
	return listen_host && listen_host[0] && !strcasecmp(name, listen_host);
}

bool nt_api_bearer_parse(const char *hdr, const char **tok, size_t *len)
{
	size_t i, start;

	if (strncasecmp(hdr, "Bearer", 6) != 0 || (hdr[6] != ' ' && hdr[6] != '\t'))
		return false;
	for (i = 6; hdr[i] == ' ' || hdr[i] == '\t'; i++)
		;
	start = i;
	while (hdr[i] > 0x20 && hdr[i] < 0x7f)
		i++;
	if (i == start || i - start > NT_API_TOKEN_MAX)
		return false;
	*tok = hdr + start;
	*len = i - start;
	for (; hdr[i] == ' ' || hdr[i] == '\t'; i++)
		;
	return hdr[i] == '\0';
}

int nt_api_token_check(const char *buf, size_t len)
{
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		       buf[len - 1] == '\t'))
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] <= 0x20 || buf[i] >= 0x7f)
			return -EINVAL;
	if (len < NT_API_TOKEN_MIN || len > NT_API_TOKEN_MAX)
		return -ERANGE;
	return (int)len;
}
