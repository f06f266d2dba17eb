// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as a token (nt_token_decode, nt_config_from_token).
 * Decoding is strict, so an accepted token is canonical: re-encoding what it decodes to
 * must give the token back (without surrounding whitespace). The bytes are also encoded
 * and decoded back, which must be the identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netron/config.h"
#include "netron/token.h"

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_config cfg;
	struct nt_err err;
	char *tok, *out, *enc;
	size_t len, start = 0, end;

	/* As a C string: up to the first NUL, like a token from argv or the environment. */
	tok = malloc(size + 1);
	if (!tok)
		return 0;
	memcpy(tok, data, size);
	tok[size] = '\0';
	if (nt_token_decode(tok, &out, &len, &err) == 0) {
		end = strlen(tok);
		while (start < end && is_space(tok[start]))
			start++;
		while (end > start && is_space(tok[end - 1]))
			end--;
		enc = nt_token_encode(out, len);
		if (!enc || strlen(enc) != end - start || memcmp(enc, tok + start, end - start))
			abort();
		free(enc);
		free(out);
	} else if (!err.msg[0] || strchr(err.msg, '\n') || out) {
		abort();
	}
	if (nt_config_from_token(&cfg, tok, &err) == 0)
		nt_config_wipe(&cfg);
	else if (strncmp(err.msg, "token: ", 7) != 0)
		abort();
	free(tok);

	/* Any bytes encode to a token that decodes back to them. */
	enc = nt_token_encode(data, size);
	if (!enc)
		abort();
	if (size <= NT_CONFIG_MAX_BYTES) {
		if (nt_token_decode(enc, &out, &len, &err) != 0 || len != size ||
		    memcmp(out, data, size) != 0)
			abort();
		free(out);
	}
	free(enc);
	return 0;
}
