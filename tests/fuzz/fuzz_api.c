// SPDX-License-Identifier: MIT
/*
 * What the API parses itself from a request: the first byte picks the parser (path,
 * Host header, bearer credential, listen address, token file), the rest is the input as
 * a NUL-terminated string. Checks the invariants each parser promises on success.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_api_listen l;
	struct nt_api_path p;
	const char *tok;
	size_t len;
	char *s;
	int n;

	if (size < 1 || size > 4096)
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (data[0] % 5) {
	case 0:
		nt_api_path_parse(s, &p);
		if (p.route == NT_API_ROUTE_LEDGER) {
			if (p.depth > 3 || (p.depth >= 1 && !nt_api_bucket_is_valid(p.bucket)))
				abort();
			if (p.depth >= 2 && (p.key_len == 0 || strlen(p.key) != p.key_len ||
					     p.key_len > NT_API_KEY_MAX))
				abort();
			if (p.depth == 3 && (p.value_len == 0 || p.value_len > NT_API_VALUE_MAX))
				abort();
		}
		break;
	case 1:
		if (nt_api_host_is_allowed(s, "netron.example") && strlen(s) >= NT_API_HOST_MAX)
			abort();
		break;
	case 2:
		if (nt_api_bearer_parse(s, &tok, &len) &&
		    (len == 0 || len > NT_API_TOKEN_MAX || tok < s || tok + len > s + strlen(s) ||
		     memchr(tok, ' ', len)))
			abort();
		break;
	case 3:
		if (nt_api_listen_parse(s, &l) && l.is_unix && l.path[0] != '/')
			abort();
		break;
	default:
		n = nt_api_token_check(s, size - 1);
		if (n >= 0 && (n < NT_API_TOKEN_MIN || n > NT_API_TOKEN_MAX))
			abort();
		break;
	}
	free(s);
	return 0;
}
