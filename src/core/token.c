// SPDX-License-Identifier: MIT
/*
 * The token (DESIGN §2): standard base64 (RFC 4648 §4 alphabet, '=' padding, no line
 * breaks) of the network's YAML, byte for byte what `base64 -w0` prints.
 *
 * Both directions go through libb64. Its encoder inserts a '\n' every 72 characters and at
 * the end: we strip them. Its decoder silently skips characters outside the alphabet, stops
 * at the first '=' and writes one byte past an exactly sized buffer, so every token is
 * checked here first (alphabet, length, padding, zero unused bits: only the canonical
 * encoding of a byte string is accepted) and the decoder gets one spare byte.
 */
#include "netron/token.h"
#include "core/util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <b64/cdecode.h>
#include <b64/cencode.h>
#include <sodium.h>


/* The 6-bit value of a base64 symbol, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *nt_token_encode(const void *data, size_t len)
{
	base64_encodestate st;
	size_t cap, n = 0;
	char *out;
	int w;

	if (len > INT_MAX / 2)
		return NULL;
	/* 4 per 3 bytes, a '\n' per 72 characters (54 bytes), the final '\n', the NUL. */
	cap = 4 * ((len + 2) / 3) + len / 54 + 4;
	out = malloc(cap);
	if (!out)
		return NULL;
	base64_init_encodestate(&st);
	w = base64_encode_block(data, (int)len, out, &st);
	w += base64_encode_blockend(out + w, &st);
	for (int i = 0; i < w; i++)
		if (out[i] != '\n' && out[i] != '\r')
			out[n++] = out[i];
	out[n] = '\0';
	return out;
}

int nt_token_decode(const char *token, char **out, size_t *out_len, struct nt_err *err)
{
	const unsigned char *s = (const unsigned char *)token;
	size_t start = 0, end = strlen(token), len, pad = 0, dlen;
	base64_decodestate st;
	char *buf;
	int n;

	*out = NULL;
	*out_len = 0;
	if (err)
		memset(err, 0, sizeof(*err));
	/* A token pasted with surrounding blanks or a trailing newline still works. */
	while (start < end && is_space(s[start]))
		start++;
	while (end > start && is_space(s[end - 1]))
		end--;
	len = end - start;
	for (size_t i = start; i < end; i++) {
		if (b64_value(s[i]) >= 0 || s[i] == '=')
			continue;
		if (s[i] >= 0x20 && s[i] < 0x7f)
			nt_err_set(err, 0, 0, "token: invalid base64 character '%c' at position %zu", s[i], i + 1);
		else
			nt_err_set(err, 0, 0, "token: invalid base64 character 0x%02x at position %zu", s[i], i + 1);
		return -EINVAL;
	}
	if (len % 4) {
		nt_err_set(err, 0, 0, "token: length %zu is not a multiple of 4 (truncated?)", len);
		return -EINVAL;
	}
	/* '=' only as the last one or two characters. */
	while (pad < len && pad < 3 && s[end - 1 - pad] == '=')
		pad++;
	if (pad > 2 || memchr(s + start, '=', len - pad)) {
		nt_err_set(err, 0, 0, "token: bad padding");
		return -EINVAL;
	}
	/* Canonical: the bits of the last symbol that encode no byte must be zero. */
	if (pad && (b64_value(s[end - 1 - pad]) & (pad == 1 ? 0x03 : 0x0f))) {
		nt_err_set(err, 0, 0, "token: bad padding (non-zero unused bits: not a canonical encoding)");
		return -EINVAL;
	}
	dlen = len / 4 * 3 - pad;
	if (dlen > NT_CONFIG_MAX_BYTES) {
		nt_err_set(err, 0, 0, "token: decodes to %zu bytes, more than the limit of %d", dlen,
			NT_CONFIG_MAX_BYTES);
		return -EINVAL;
	}
	/* libb64 may write one byte past the data: that spare byte then becomes the NUL. */
	buf = malloc(dlen + 1);
	if (!buf) {
		nt_err_set(err, 0, 0, "token: out of memory");
		return -ENOMEM;
	}
	base64_init_decodestate(&st);
	n = base64_decode_block((const char *)s + start, (int)len, buf, &st);
	if (n < 0 || (size_t)n != dlen) {
		sodium_memzero(buf, dlen + 1);
		free(buf);
		nt_err_set(err, 0, 0, "token: base64 decoder returned %d bytes, expected %zu", n, dlen);
		return -EINVAL;
	}
	buf[dlen] = '\0';
	*out = buf;
	*out_len = dlen;
	return 0;
}

int nt_config_from_token(struct nt_config *cfg, const char *token, struct nt_err *err)
{
	struct nt_err perr;
	size_t len;
	char *yaml;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if ((ret = nt_token_decode(token, &yaml, &len, err)) < 0)
		return ret;
	ret = nt_config_parse(cfg, yaml, len, &perr);
	sodium_memzero(yaml, len + 1);
	free(yaml);
	if (ret < 0 && err) {
		/* Prefix "token: ", cutting the tail of an over-long message. */
		memcpy(err->msg, "token: ", 7);
		memcpy(err->msg + 7, perr.msg, sizeof(err->msg) - 8);
		err->msg[sizeof(err->msg) - 1] = '\0';
		err->line = perr.line;
		err->col = perr.col;
	}
	return ret;
}

char *nt_config_to_token(const struct nt_config *cfg)
{
	char *yaml = nt_config_print(cfg), *tok;
	size_t len;

	if (!yaml)
		return NULL;
	len = strlen(yaml);
	tok = nt_token_encode(yaml, len);
	sodium_memzero(yaml, len);
	free(yaml);
	return tok;
}
