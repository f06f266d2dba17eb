/* SPDX-License-Identifier: MIT */
/*
 * Basic types shared by the public headers: fixed-size keys, the node ID and the log callback.
 */
#ifndef NT_TYPES_H
#define NT_TYPES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	NT_KEY_LEN = 32,
	NT_NODE_ID_LEN = 32, /* the node's Ed25519 public key */
	NT_NODE_ID_SHORT_LEN = 8, /* hex characters shown in logs and the API */
};

typedef uint8_t nt_key[NT_KEY_LEN];
typedef uint8_t nt_node_id[NT_NODE_ID_LEN];

enum nt_log_level {
	NT_LOG_ERROR = 0,
	NT_LOG_WARN = 1,
	NT_LOG_INFO = 2,
	NT_LOG_DEBUG = 3,
};

/* A user-facing parse or validation error: a one-line message, and where it was found. */
struct nt_err {
	char msg[160];
	int line, col; /* 1-based; 0 when not tied to a position */
};

typedef void nt_log_fn(void *ctx, enum nt_log_level level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif
