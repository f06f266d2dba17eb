/* SPDX-License-Identifier: MIT */
/*
 * The token: strict standard base64 (RFC 4648 alphabet, '=' padding, no line breaks) of the
 * network's YAML, exactly what `base64 -w0` prints. Encoding and decoding go through libb64.
 */
#ifndef NT_TOKEN_H
#define NT_TOKEN_H

#include <stddef.h>

#include "netron/config.h"
#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Base64 of len bytes, malloc'd and NUL-terminated; NULL on allocation failure. */
char *nt_token_encode(const void *data, size_t len);
/* Strict decode into a malloc'd buffer (NUL-terminated for convenience): 0 or -EINVAL with err. */
int nt_token_decode(const char *token, char **out, size_t *out_len, struct nt_err *err);
/* Decode and parse in one step; the decoded YAML is wiped before it is freed. */
int nt_config_from_token(struct nt_config *cfg, const char *token, struct nt_err *err);
/* The token of a config (its canonical YAML, encoded); malloc'd. */
char *nt_config_to_token(const struct nt_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
