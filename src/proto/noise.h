/* SPDX-License-Identifier: MIT */
/*
 * A generic Noise engine (Noise Protocol Framework, revision 34) for the one suite Netron
 * uses: DH 25519, cipher ChaChaPoly, hash BLAKE2b. Handshake patterns are token lists, so
 * XX and IK and their pskN modifiers (XXpsk3, IKpsk2, XXpsk0+psk1, ...) all run through the
 * same code. Sans-IO: the caller hands in and takes out message bytes. All secret state
 * (ck, h, k, n, e, s, rs, re, psks) lives in one sodium_malloc block; every operation works
 * on a scratch copy that is committed only on success, so a rejected message leaves the
 * state exactly as it was, and the scratch copy is wiped on every exit path.
 */
#ifndef NT_NOISE_H
#define NT_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	NT_NOISE_DHLEN = 32,
	NT_NOISE_KEYLEN = 32,
	NT_NOISE_HASHLEN = 64,
	NT_NOISE_TAGLEN = 16,
	NT_NOISE_MAX_MESSAGE = 65535,
	NT_NOISE_MAX_MSGS = 4, /* messages in a handshake pattern */
	NT_NOISE_MAX_TOKENS = 8, /* tokens in one message */
	NT_NOISE_MAX_PSKS = 4,
	NT_NOISE_NAME_MAX = 96,
};

enum nt_noise_token {
	NT_NOISE_TOK_E = 1,
	NT_NOISE_TOK_S,
	NT_NOISE_TOK_EE,
	NT_NOISE_TOK_ES,
	NT_NOISE_TOK_SE,
	NT_NOISE_TOK_SS,
	NT_NOISE_TOK_PSK,
};

/* A parsed handshake pattern with its modifiers applied. Plain data, copyable. */
struct nt_noise_pattern {
	char name[NT_NOISE_NAME_MAX]; /* full protocol name, hashed into h */
	bool pre_s_initiator; /* "-> s" pre-message */
	bool pre_s_responder; /* "<- s" pre-message */
	bool psk; /* any psk modifier: every e token also does MixKey(e) */
	uint8_t n_psks;
	uint8_t n_msgs;
	uint8_t n_tokens[NT_NOISE_MAX_MSGS];
	uint8_t tokens[NT_NOISE_MAX_MSGS][NT_NOISE_MAX_TOKENS]; /* enum nt_noise_token */
};

struct nt_noise_state; /* opaque, sodium_malloc */

/* One handshake. Embed it; nt_noise_init allocates the secret block once. */
struct nt_noise {
	struct nt_noise_state *st;
	struct nt_noise_pattern pattern;
	bool initiator;
	bool started;
};

/*
 * Parses "Noise_<PATTERN>[pskN[+pskN]...]_25519_ChaChaPoly_BLAKE2b" for the patterns
 * XX and IK. False for anything else (another suite, an unknown pattern or modifier).
 */
bool nt_noise_pattern_parse(struct nt_noise_pattern *p, const char *protocol_name);

/* Allocates the secret block. 0 or -ENOMEM. */
int nt_noise_init(struct nt_noise *n);
/* Wipes and frees the secret block; accepts an uninitialised (zeroed) or NULL struct. */
void nt_noise_uninit(struct nt_noise *n);
/* Wipes every secret; the struct can be started again. */
void nt_noise_reset(struct nt_noise *n);

/*
 * Initialize(): starts a handshake. s_sk is the local static X25519 secret (NULL if the
 * pattern has no local s), rs the remote static public key when a pre-message needs it
 * (NULL otherwise), psks exactly pattern->n_psks keys in order of use. The previous
 * handshake, if any, is wiped first (an ephemeral set with nt_noise_set_ephemeral is kept).
 * 0, or -EINVAL when a needed key is missing or an unneeded one is given.
 */
int nt_noise_start(struct nt_noise *n, const struct nt_noise_pattern *p, bool initiator,
		   const uint8_t *prologue, size_t prologue_len, const uint8_t *s_sk,
		   const uint8_t *rs, const uint8_t (*psks)[NT_NOISE_KEYLEN], size_t n_psks);

/* Tests only: the next "e" token written uses this secret instead of randombytes. */
void nt_noise_set_ephemeral(struct nt_noise *n, const uint8_t e_sk[NT_NOISE_DHLEN]);

/*
 * WriteMessage(): writes the next handshake message (tokens then the encrypted payload)
 * into out. Returns its length, or -EPROTO (not our turn / handshake over), -EMSGSIZE
 * (out too small or payload too big), -EINVAL (a DH gave the all-zero output: a
 * low-order remote key). The state is unchanged on error.
 */
ssize_t nt_noise_write_message(struct nt_noise *n, const uint8_t *payload, size_t payload_len,
			       uint8_t *out, size_t out_cap);

/*
 * ReadMessage(): consumes the next handshake message and writes its decrypted payload.
 * Returns the payload length, or -EPROTO (not its turn), -EMSGSIZE (truncated message or
 * payload buffer too small), -EINVAL (low-order key), -EBADMSG (authentication failed).
 * The state is unchanged on error.
 */
ssize_t nt_noise_read_message(struct nt_noise *n, const uint8_t *msg, size_t len,
			      uint8_t *payload, size_t payload_cap);

bool nt_noise_is_complete(const struct nt_noise *n);
/* The remote static public key, once sent or pre-shared; false before. */
bool nt_noise_get_remote_static(const struct nt_noise *n, uint8_t out[NT_NOISE_DHLEN]);
/* h: the handshake hash (channel binding), meaningful once complete. */
void nt_noise_get_handshake_hash(const struct nt_noise *n, uint8_t out[NT_NOISE_HASHLEN]);

/*
 * Split(): the two transport keys. i2r encrypts initiator -> responder, r2i the other
 * way. 0, or -EPROTO before the handshake is complete. Leaves the state as it is: call
 * nt_noise_reset afterwards.
 */
int nt_noise_split(struct nt_noise *n, uint8_t i2r[NT_NOISE_KEYLEN], uint8_t r2i[NT_NOISE_KEYLEN]);

/* True for the X25519 public keys of small order (and their non-canonical encodings). */
bool nt_noise_is_low_order(const uint8_t pk[NT_NOISE_DHLEN]);

/*
 * Transport CipherState operations: ChaCha20-Poly1305 (IETF), nonce = 4 zero bytes ||
 * LE64(counter). out holds len + NT_NOISE_TAGLEN bytes (encrypt) or len - NT_NOISE_TAGLEN
 * (decrypt); in-place is allowed. 0, -EMSGSIZE or -EBADMSG.
 */
int nt_noise_cipher_encrypt(const uint8_t key[NT_NOISE_KEYLEN], uint64_t counter,
			    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
			    uint8_t *out);
int nt_noise_cipher_decrypt(const uint8_t key[NT_NOISE_KEYLEN], uint64_t counter,
			    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
			    uint8_t *out);

#endif
