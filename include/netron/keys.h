/* SPDX-License-Identifier: MIT */
/*
 * Keys: the node identity (DESIGN §3) and the network keys derived from the token
 * (DESIGN §2). Every derivation is keyed BLAKE2b with its own context string; the exact
 * inputs are written in docs/protocol.md with test vectors.
 */
#ifndef NT_KEYS_H
#define NT_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/config.h"
#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	NT_INFOHASH_LEN = 20,
	NT_MDNS_TAG_LEN = 32, /* characters of the mDNS instance tag (lowercase hex) */
	NT_FINGERPRINT_LEN = 16, /* characters of the public network fingerprint (hex) */
};

/* Network keys derived from a config. The struct lives in sodium_malloc memory. */
struct nt_network_keys {
	uint8_t psk[32]; /* Noise psk3 */
	uint8_t mac1_key[32]; /* keys mac1 of every handshake message */
	uint8_t cookie_key[32]; /* encrypts cookie replies */
	char mdns_tag[NT_MDNS_TAG_LEN + 1];
	char fingerprint[NT_FINGERPRINT_LEN + 1]; /* safe to show: reveals nothing of the secrets */
};

/* Allocates (sodium_malloc) and fills; 0 or -ENOMEM. */
int nt_network_keys_new(struct nt_network_keys **out, const struct nt_config *cfg);
void nt_network_keys_free(struct nt_network_keys *keys);

/* floor(unix_seconds / otp.dht.interval). */
uint64_t nt_network_epoch(const struct nt_config *cfg, uint64_t unix_seconds);
/* The DHT rendezvous info-hash for an epoch. */
void nt_network_rendezvous(const struct nt_config *cfg, uint64_t epoch, uint8_t out[NT_INFOHASH_LEN]);

/* The node identity: Ed25519, with the X25519 pair derived from it. Secrets in sodium_malloc. */
struct nt_identity {
	uint8_t ed_pk[32]; /* the node ID */
	uint8_t x_pk[32];
	uint8_t *ed_sk; /* 64 bytes, sodium_malloc */
	uint8_t *x_sk; /* 32 bytes, sodium_malloc */
};

/*
 * Loads state_dir/identity.key, or creates it (directory 0700, file 0600) when absent.
 * Refuses a key file that group or others can read, or a malformed one. *created tells
 * which happened. 0 or -errno, with err naming the file and the problem.
 */
int nt_identity_load_or_create(struct nt_identity **out, const char *state_dir, bool *created,
			       struct nt_err *err);
/* A fresh identity that is never written anywhere (tests, embedding). */
int nt_identity_new_ephemeral(struct nt_identity **out);
void nt_identity_free(struct nt_identity *id);
/* The first NT_NODE_ID_SHORT_LEN hex characters of the node ID, for logs. */
const char *nt_node_id_short(const uint8_t id[32], char out[NT_NODE_ID_SHORT_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
