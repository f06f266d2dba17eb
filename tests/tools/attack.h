/* SPDX-License-Identifier: MIT */
/*
 * nt_attack, the attacker's harness of the hostile-member and outsider scenarios
 * (issue 13): what its parts share. nt_attack.c owns the sockets, the command line and the
 * member's session with the node (a real handshake, keepalives, ledger gossip);
 * attack_member.c holds the actions that need the token, attack_outsider.c those that do
 * not. IPv4 only: the scenarios run on 192.0.2.0/24 with spoofed sources in
 * 203.0.113.0/24, where raw sockets are simplest.
 */
#ifndef NT_ATTACK_H
#define NT_ATTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "ledger/gossip.h"
#include "proto/handshake.h"
#include "ledger/ledger.h"
#include "netron/config.h"
#include "netron/keys.h"
#include "proto/session.h"
#include "core/util.h"

enum {
	ATTACK_DGRAM_MAX = 65536, /* the largest datagram read or written */
	ATTACK_MEMBERS_MAX = 32, /* member IDs remembered from the node's PEX */
	ATTACK_GOSSIP_MAX_MSG = 1200, /* as the daemon's gossip (src/ledger/claims.c) */
	ATTACK_GOSSIP_PEER = 1, /* the node's handle in our gossip engine */
};

struct attack_counter {
	uint64_t n, bytes;
};

struct harness;
/* Sees every datagram that arrives, before the session handles it. */
typedef void attack_tap_fn(struct harness *h, const uint8_t *buf, size_t len,
			   const union nt_sockaddr *from);
/* Sees a control message of the node's on our session that the harness itself ignores. */
typedef void attack_control_fn(struct harness *h, uint8_t type, const uint8_t *body, size_t len);

struct harness {
	union nt_sockaddr node; /* the node under attack */
	union nt_sockaddr local; /* our socket's address (port filled in after bind) */
	int fd; /* UDP, bound to local */
	int raw; /* IPPROTO_RAW for spoofed sources; -1 until first needed */
	const char *token;
	const char *state_dir; /* NULL: a fresh identity that is never written */

	/* The network's keys and our identity: loaded by attack_net_load(). */
	bool have_net;
	struct nt_config cfg;
	struct nt_network_keys *keys;
	struct nt_identity *id;
	struct nt_handshake_local hs_local;

	/* The member's session with the node: we initiate, the node responds. */
	struct nt_handshake hs;
	bool hs_ready; /* hs holds its secret block */
	bool hs_pending; /* an INIT is out, its RESP not yet in */
	uint32_t hs_index;
	uint64_t hs_sent_ms;
	unsigned int hs_tries;
	struct nt_keypair *kp, *kp_prev; /* current and previous keypair */
	uint8_t node_id[32];
	uint64_t last_tx_ms; /* last frame sent on the session */

	/* Member IDs the node told us of (PEX). */
	uint8_t members[ATTACK_MEMBERS_MAX][32];
	unsigned int n_members;

	/* Our replica of the ledger, kept in step with the node by src/ledger/gossip.c. */
	struct nt_ledger *ledger;
	struct nt_gossip *gossip;
	uint64_t gossip_next_ms; /* wall clock */

	/* The current action's view of what comes back. */
	attack_tap_fn *tap;
	attack_control_fn *on_control;
	struct in_addr rx_dst; /* the destination address of the datagram being handled */
	struct attack_counter rx_node; /* datagrams from the node's IP (any port) */
	struct attack_counter rx_ip; /* IP packets the node sent us in the session */

	uint8_t rx[ATTACK_DGRAM_MAX];
	uint8_t tx[ATTACK_DGRAM_MAX + NT_DATA_OVERHEAD];
};

/* An action's words after its name, up to the next "+". */
struct attack_args {
	int argc;
	char **argv;
};

/* The value of the last --name, or NULL. Every option takes a value. */
const char *attack_opt(const struct attack_args *a, const char *name);
/* Every value of a repeated --name, up to max; returns how many. */
unsigned int attack_opt_all(const struct attack_args *a, const char *name, const char **out,
			    unsigned int max);
/* The i-th word that is neither an option nor an option's value, or NULL. */
const char *attack_pos(const struct attack_args *a, unsigned int i);
/* false (and a message) if a word is an option not in known (NULL-terminated). */
bool attack_args_check(const struct attack_args *a, const char *action, const char *const *known);
/* A decimal number, nothing else. */
bool attack_parse_u64(const char *s, uint64_t *out);
/* The option's value as a number, def when absent; false (and a message) when malformed. */
bool attack_opt_u64(const struct attack_args *a, const char *name, uint64_t def, uint64_t *out);
/* "IP:PORT" (IPv4) into out; false (and a message) when malformed. */
bool attack_parse_v4(const char *what, const char *s, union nt_sockaddr *out);

/* One line per action on stdout: "nt_attack: action=NAME ...". */
void attack_report(const char *action, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A message on stderr; the harness then exits 2 (it could not attack, which is no result). */
void attack_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Token, network keys and identity. 0 or -errno (with a message). */
int attack_net_load(struct harness *h);
/* Handles what arrives for ms milliseconds, keeping the session and gossip going. */
void attack_pump(struct harness *h, uint64_t ms);
/* A datagram from our own socket. Returns 0 or -errno. */
int attack_send(struct harness *h, const uint8_t *buf, size_t len, const union nt_sockaddr *to);
/* A UDP datagram with any IPv4 source (raw socket, IP_HDRINCL). 0 or -errno. */
int attack_send_as(struct harness *h, const union nt_sockaddr *src, const union nt_sockaddr *to,
		   const uint8_t *payload, size_t len);
/* IPv4 address base + i, port kept. */
union nt_sockaddr attack_v4_add(const union nt_sockaddr *base, uint32_t i);

/* A session with the node (handshake unless we have a fresh one). 0 or -errno. */
int attack_member_join(struct harness *h);
/*
 * Encrypts inner type + body with keypair kp into h->tx; returns the frame length or
 * -errno. The frame is sent by the caller (attack_send or attack_send_as).
 */
ssize_t attack_seal(struct harness *h, struct nt_keypair *kp, uint8_t inner, const uint8_t *body,
		    size_t len);
/* attack_seal with the member's current keypair. */
ssize_t attack_member_seal(struct harness *h, uint8_t inner, const uint8_t *body, size_t len);
/* attack_member_seal, then sent from our own socket. The frame length or -errno. */
ssize_t attack_member_send(struct harness *h, uint8_t inner, const uint8_t *body, size_t len);
/* Waits up to ms for the node to name at least one other member (PEX). */
bool attack_member_wait_members(struct harness *h, uint64_t ms);

/* Actions: 0 done, -errno when the harness could not carry it out. */
int attack_join(struct harness *h, const struct attack_args *a);
int attack_hold(struct harness *h, const struct attack_args *a);
int attack_oversize_relay(struct harness *h, const struct attack_args *a);
int attack_fake_claims(struct harness *h, const struct attack_args *a);
int attack_backdate(struct harness *h, const struct attack_args *a);
int attack_foreign_claim(struct harness *h, const struct attack_args *a);
int attack_spoof_digest(struct harness *h, const struct attack_args *a);
int attack_want_edge(struct harness *h, const struct attack_args *a);
int attack_init_replay(struct harness *h, const struct attack_args *a);
int attack_random_index(struct harness *h, const struct attack_args *a);
int attack_hs_junk(struct harness *h, const struct attack_args *a);
int attack_fin_data(struct harness *h, const struct attack_args *a);
int attack_dht_flood(struct harness *h, const struct attack_args *a);
int attack_stun_flood(struct harness *h, const struct attack_args *a);
int attack_fin_replay(struct harness *h, const struct attack_args *a);
int attack_claim_many(struct harness *h, const struct attack_args *a);
int attack_bad_sigs(struct harness *h, const struct attack_args *a);
int attack_spoof_fin(struct harness *h, const struct attack_args *a);
int attack_pex(struct harness *h, const struct attack_args *a);
int attack_mint_peers(struct harness *h, const struct attack_args *a);

#endif
