/* SPDX-License-Identifier: MIT */
/*
 * Control messages between members, carried inside encrypted data frames (the inner type
 * byte selects them). Only members holding the token can send them, but they are still
 * outside input: every decoder checks every length (docs/protocol.md, "Control messages").
 *
 *   ANNOUNCE (0x02): what the sender is: its listen port, its VPN addresses, its name.
 *     u8 version=1 | u16 listen_port | u8 n_addresses (<= 4) |
 *     n x (u8 family 4|6, u8 prefix, 4|16 address bytes) | u8 name_len (<= 63) | name
 *   PEX (0x03): members the sender has a session with, so one session reaches them all.
 *     u8 version=1 | u8 count (<= 32) | count x (32 node id | u8 family 4|6 | 4|16 address
 *     | u16 port)
 *   GOSSIP (0x04): a ledger gossip message (src/ledger/gossip.c), passed through unchanged.
 *   RELAY (0x05): "forward this frame to member ID": u8 version=1 | 32 target node ID |
 *     a Netron frame (handshake 0xE1-0xE4 or data 0xE5 of the sender's session with the
 *     target, so the relay sees only ciphertext).
 *   RELAYED (0x06): the relay's delivery: u8 version=1 | 32 source node ID | the frame.
 *   PATH_CHALLENGE (0x07): "do you receive at the address this goes to?": u8 version=1 |
 *     8 random bytes. Sent to a member's new source address before we send anything else
 *     there (QUIC's path validation).
 *   PATH_RESPONSE (0x08): the same 9 bytes back, from and to the address that was asked.
 * Integers are big-endian (network order) in control messages.
 */
#ifndef NT_CONTROL_H
#define NT_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netron/options.h"
#include "core/util.h"

enum nt_control_type {
	NT_CTRL_ANNOUNCE = 0x02,
	NT_CTRL_PEX = 0x03,
	NT_CTRL_GOSSIP = 0x04,
	NT_CTRL_RELAY = 0x05,
	NT_CTRL_RELAYED = 0x06,
	NT_CTRL_PATH_CHALLENGE = 0x07,
	NT_CTRL_PATH_RESPONSE = 0x08,
};

enum {
	NT_CTRL_VERSION = 1,
	NT_CTRL_NAME_MAX = 63,
	NT_PEX_MAX = 32,
	NT_ANNOUNCE_KEEP = 0x01, /* ANNOUNCE flag: the sender keeps the session open */
};

struct nt_announce {
	uint16_t listen_port;
	struct nt_cidr addresses[NT_MAX_ADDRESSES];
	unsigned int n_addresses;
	char name[NT_CTRL_NAME_MAX + 1];
	bool keep; /* the sender keeps its session with us open (we are its neighbor) */
};

struct nt_pex_entry {
	uint8_t id[32];
	union nt_sockaddr endpoint;
};

struct nt_pex {
	struct nt_pex_entry entries[NT_PEX_MAX];
	unsigned int count;
};

/* Encoders write the body (after the inner type byte); return its length or -EMSGSIZE. */
int nt_control_announce_encode(const struct nt_announce *a, uint8_t *out, size_t cap);
int nt_control_pex_encode(const struct nt_pex *p, uint8_t *out, size_t cap);
/* Decoders: false on anything malformed (wrong version, counts, lengths, families). */
bool nt_control_announce_decode(struct nt_announce *a, const uint8_t *in, size_t len);
bool nt_control_pex_decode(struct nt_pex *p, const uint8_t *in, size_t len);
/* RELAY / RELAYED: the header is 33 bytes; the frame must start with 0xE1..0xE5. */
enum { NT_CTRL_RELAY_HDR = 1 + 32 };
bool nt_control_relay_decode(const uint8_t *in, size_t len, const uint8_t **id,
			     const uint8_t **frame, size_t *frame_len);
void nt_control_relay_header(uint8_t *out, const uint8_t id[32]);
/* PATH_CHALLENGE / PATH_RESPONSE bodies: exactly NT_CTRL_PATH_LEN bytes. */
enum { NT_CTRL_PATH_NONCE = 8, NT_CTRL_PATH_LEN = 1 + NT_CTRL_PATH_NONCE };
void nt_control_path_encode(uint8_t out[NT_CTRL_PATH_LEN], const uint8_t nonce[NT_CTRL_PATH_NONCE]);
bool nt_control_path_decode(const uint8_t *in, size_t len, uint8_t nonce[NT_CTRL_PATH_NONCE]);

#endif
