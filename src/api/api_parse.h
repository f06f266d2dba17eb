/* SPDX-License-Identifier: MIT */
/*
 * The parts of an HTTP request the API interprets itself, with no sockets: the listen
 * address (--api-listen), the request path (/api/ledger/{bucket}/{key}, percent-decoded
 * here and not by libmicrohttpd), the Host header against DNS rebinding, and the
 * "Authorization: Bearer" header. Everything here reads attacker-controlled text, so each
 * function checks every length and is driven by tests/fuzz/fuzz_api.c.
 */
#ifndef NT_API_PARSE_H
#define NT_API_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

#include "core/util.h"

enum {
	NT_API_BUCKET_MAX = 32, /* the ledger's bucket limit, [a-z0-9._-] */
	NT_API_KEY_MAX = 255, /* the ledger's wire limit */
	NT_API_VALUE_MAX = 1024, /* a value given in the path (EdgeVPN's PUT form) */
	NT_API_HOST_MAX = 256,
	NT_API_TOKEN_MIN = 16, /* characters in --api-token-file */
	NT_API_TOKEN_MAX = 1024,
};

/* Where the API listens. */
struct nt_api_listen {
	bool is_unix;
	union nt_sockaddr addr; /* TCP */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* unix */
	char host[NT_API_HOST_MAX]; /* as given, without brackets or port ("" for unix) */
	bool loopback; /* 127.0.0.0/8, ::1 or a unix socket */
};

/*
 * Parses "HOST:PORT" (IPv4 literal or "localhost"), "[V6]:PORT" or "unix:/abs/path".
 * Host names other than localhost are refused: the API binds to addresses, not names.
 */
bool nt_api_listen_parse(const char *s, struct nt_api_listen *out);

enum nt_api_route {
	NT_API_ROUTE_NOT_FOUND = 0,
	NT_API_ROUTE_BAD, /* a malformed escape or an invalid bucket/key */
	NT_API_ROUTE_DASHBOARD,
	NT_API_ROUTE_HEALTHZ,
	NT_API_ROUTE_METRICS,
	NT_API_ROUTE_SUMMARY,
	NT_API_ROUTE_MACHINES,
	NT_API_ROUTE_ROUTES,
	NT_API_ROUTE_PEERS,
	NT_API_ROUTE_DHT,
	NT_API_ROUTE_BLOCKCHAIN,
	NT_API_ROUTE_LEDGER, /* depth 0: all, 1: bucket, 2: key, 3: key and value */
	NT_API_ROUTE_DNS, /* EdgeVPN's records: GET the bucket, POST {"Regex", "Records"} */
};

struct nt_api_path {
	enum nt_api_route route;
	unsigned int depth;
	char bucket[NT_API_BUCKET_MAX + 1];
	char key[NT_API_KEY_MAX + 1];
	size_t key_len;
	char value[NT_API_VALUE_MAX + 1];
	size_t value_len;
};

/* Splits and percent-decodes a raw request path (no query string). */
void nt_api_path_parse(const char *url, struct nt_api_path *out);
/* [a-z0-9._-]{1,32}: the ledger's bucket alphabet. */
bool nt_api_bucket_is_valid(const char *b);

/*
 * Whether a Host header value is acceptable: an IP literal ("192.0.2.1", "[::1]"),
 * "localhost", or listen_host, each with an optional ":port". A DNS-rebinding page
 * reaches us under its own name and is refused.
 */
bool nt_api_host_is_allowed(const char *host, const char *listen_host);

/* "Bearer <token>" (scheme case-insensitive): the token's start and length. */
bool nt_api_bearer_parse(const char *hdr, const char **tok, size_t *len);
/*
 * A token file's content: trailing newline and blanks trimmed, then visible ASCII only
 * (it travels in a header), NT_API_TOKEN_MIN..MAX characters. Returns the length, or
 * -EINVAL (bad characters), -ERANGE (too short or too long).
 */
int nt_api_token_check(const char *buf, size_t len);

#endif
