/* SPDX-License-Identifier: MIT */
/*
 * The network definition: EdgeVPN's YAML schema (DESIGN §2). Parsing is strict about what
 * Netron needs and ignores unknown keys; every error names the field and what is accepted.
 */
#ifndef NT_CONFIG_H
#define NT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	NT_SECRET_MAX = 128, /* longest accepted key/room/rendezvous/mdns string */
	NT_SECRET_GEN_LEN = 43, /* length of generated secrets */
	NT_OTP_LENGTH_MAX = 44,
	NT_OTP_INTERVAL_DEFAULT = 360,
	NT_CONFIG_MAX_BYTES = 64 * 1024, /* a network definition larger than this is refused */
	NT_MAX_MESSAGE_SIZE_DEFAULT = 20971520,
};

struct nt_otp {
	uint32_t interval; /* seconds, > 0 */
	uint32_t length; /* 1..NT_OTP_LENGTH_MAX */
	char key[NT_SECRET_MAX + 1];
};

struct nt_config {
	struct nt_otp otp_dht;
	struct nt_otp otp_crypto;
	char room[NT_SECRET_MAX + 1];
	char rendezvous[NT_SECRET_MAX + 1];
	char mdns[NT_SECRET_MAX + 1];
	uint64_t max_message_size;
};

/* Parses YAML (len bytes, no NUL needed). 0, or -EINVAL with err filled. */
int nt_config_parse(struct nt_config *cfg, const char *yaml, size_t len, struct nt_err *err);
/* Reads and parses a file; -errno (with err filled) on I/O failure too. */
int nt_config_load_file(struct nt_config *cfg, const char *path, struct nt_err *err);
/* A new network: every secret from the CSPRNG, both intervals set to interval. */
int nt_config_generate(struct nt_config *cfg, uint32_t interval);
/* Canonical YAML (block style, two-space indent, DESIGN §2 key order); malloc'd, NUL-terminated. */
char *nt_config_print(const struct nt_config *cfg);
/* Wipes every secret in cfg. */
void nt_config_wipe(struct nt_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
