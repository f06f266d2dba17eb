/* SPDX-License-Identifier: MIT */
/*
 * KRPC (BEP 5) message codec for the Mainline DHT: queries ping, find_node, get_peers,
 * announce_peer; their responses; errors. Carries the BEP 32 extensions (nodes6, want),
 * the BEP 42 "ip" key and the BEP 43 "ro" flag. Decoding is strict and bounded (see
 * bencode.h) and reports one specific error per malformed field; encoding writes
 * canonical bencode (sorted keys) into a caller buffer. Separate from the engine so it
 * can be fuzzed alone.
 */
#ifndef NT_DHT_RPC_H
#define NT_DHT_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "discovery/bencode.h"
#include "core/util.h"

enum {
	NT_DHT_ID_LEN = 20,
	NT_KRPC_TID_MAX = 16, /* longest transaction ID we accept */
	NT_KRPC_TOKEN_MAX = 40, /* longest announce token we accept or keep */
	NT_KRPC_VALUES_MAX = 128, /* peers kept from one "values" list; more are counted */
	NT_KRPC_NODE4_LEN = 26, /* compact node info: id, IPv4, port */
	NT_KRPC_NODE6_LEN = 38, /* id, IPv6, port */
	NT_KRPC_PEER4_LEN = 6, /* compact peer info: IPv4, port */
	NT_KRPC_PEER6_LEN = 18,
};

enum nt_krpc_type {
	NT_KRPC_QUERY = 1,
	NT_KRPC_RESPONSE,
	NT_KRPC_ERROR,
};

enum nt_krpc_method {
	NT_KRPC_NONE = 0, /* responses and errors carry no method */
	NT_KRPC_PING,
	NT_KRPC_FIND_NODE,
	NT_KRPC_GET_PEERS,
	NT_KRPC_ANNOUNCE_PEER,
	NT_KRPC_UNKNOWN, /* a query for a method we do not implement (answer 204) */
};

/* BEP 5 error codes. */
enum nt_krpc_error_code {
	NT_KRPC_ERR_GENERIC = 201,
	NT_KRPC_ERR_SERVER = 202,
	NT_KRPC_ERR_PROTOCOL = 203,
	NT_KRPC_ERR_METHOD = 204,
};

/* BEP 32 "want" flags. */
enum {
	NT_KRPC_WANT_N4 = 1U << 0,
	NT_KRPC_WANT_N6 = 1U << 1,
};

/* Decoder errors, all negative; nt_krpc_strerror() names them. */
enum nt_krpc_err {
	NT_KRPC_E_BENCODE = -1, /* not valid bencode: see msg->bencode_err */
	NT_KRPC_E_NOT_DICT = -2, /* top level is not a dictionary */
	NT_KRPC_E_TID = -3, /* "t" missing, not a string, empty or too long */
	NT_KRPC_E_TYPE = -4, /* "y" missing or not one of q, r, e */
	NT_KRPC_E_METHOD = -5, /* query without a string "q" */
	NT_KRPC_E_ARGS = -6, /* query without an "a" dict, response without an "r" dict */
	NT_KRPC_E_ID = -7, /* "id" missing or not 20 bytes */
	NT_KRPC_E_TARGET = -8, /* find_node "target" missing or not 20 bytes */
	NT_KRPC_E_INFO_HASH = -9, /* get_peers/announce_peer "info_hash" missing or bad */
	NT_KRPC_E_TOKEN = -10, /* announce "token" missing, or any token empty/too long */
	NT_KRPC_E_PORT = -11, /* "port" missing (without implied_port) or out of range */
	NT_KRPC_E_NODES = -12, /* "nodes" not a string of 26-byte entries */
	NT_KRPC_E_NODES6 = -13, /* "nodes6" not a string of 38-byte entries */
	NT_KRPC_E_VALUES = -14, /* "values" not a list of 6- or 18-byte strings */
	NT_KRPC_E_IP = -15, /* "ip" not a 6- or 18-byte string */
	NT_KRPC_E_ERROR_LIST = -16, /* "e" not [integer, string] */
	NT_KRPC_E_WANT = -17, /* "want" not a list of strings */
	NT_KRPC_E_FLAG = -18, /* "implied_port" or "ro" not the integer 0 or 1 */
};

/*
 * One KRPC message. After nt_krpc_decode() the pointer fields point into the input
 * buffer and are valid as long as it is; for nt_krpc_encode() the caller fills the
 * fields that the message type needs (has_* and pointers) and leaves the rest zero.
 */
struct nt_krpc_msg {
	enum nt_krpc_type type;
	enum nt_krpc_method method;
	uint8_t tid[NT_KRPC_TID_MAX];
	size_t tid_len;
	bool has_v;
	uint8_t v[4]; /* client version; kept only when exactly 4 bytes */
	bool has_ip; /* BEP 42: the requester's address as the responder saw it */
	union nt_sockaddr ip;
	bool ro; /* BEP 43: the querier is read-only, do not add it to a table */

	bool has_id;
	uint8_t id[NT_DHT_ID_LEN];
	uint8_t target[NT_DHT_ID_LEN]; /* find_node target or get_peers/announce info_hash */
	const uint8_t *token; /* NULL when absent */
	size_t token_len;
	uint16_t port;
	bool implied_port;
	unsigned int want; /* NT_KRPC_WANT_*; 0 when absent */
	const uint8_t *nodes; /* compact IPv4 node infos, NULL when absent */
	size_t nodes_len;
	const uint8_t *nodes6;
	size_t nodes6_len;
	size_t n_values;
	size_t values_dropped; /* entries past NT_KRPC_VALUES_MAX, ignored */
	union nt_sockaddr values[NT_KRPC_VALUES_MAX];

	int64_t error_code;
	const uint8_t *error_msg;
	size_t error_msg_len;

	int bencode_err; /* the enum nt_bencode_err behind NT_KRPC_E_BENCODE */
	struct nt_bencode bencode; /* decoder scratch */
};

/*
 * Decodes buf into msg. Returns 0, or a negative enum nt_krpc_err; on error msg->type
 * and msg->tid are still set when they were readable, so a query can be answered with
 * error 203. Never reads outside [buf, buf + len).
 */
int nt_krpc_decode(struct nt_krpc_msg *msg, const uint8_t *buf, size_t len);
const char *nt_krpc_strerror(int err);

/* Encodes msg into buf; the length written, or -ENOBUFS or -EINVAL (missing field). */
ssize_t nt_krpc_encode(const struct nt_krpc_msg *msg, uint8_t *buf, size_t cap);

/* Compact peer info (BEP 5/32): 6 bytes for IPv4, 18 for IPv6; returns bytes written or 0. */
size_t nt_krpc_compact_encode(uint8_t *out, const union nt_sockaddr *a);
/* Parses 6 or 18 bytes into an address; false for any other length. */
bool nt_krpc_compact_decode(union nt_sockaddr *a, const uint8_t *in, size_t len);

/*
 * Entry i of a compact node list of family af (AF_INET: 26-byte entries, AF_INET6: 38);
 * false when i is past the end. The list length was validated by the decoder.
 */
bool nt_krpc_node_get(const uint8_t *nodes, size_t len, int af, size_t i,
		      uint8_t id[NT_DHT_ID_LEN], union nt_sockaddr *addr);
/* Appends one compact node info for (id, addr) at out; the bytes written (26, 38) or 0. */
size_t nt_krpc_node_put(uint8_t *out, const uint8_t id[NT_DHT_ID_LEN],
			const union nt_sockaddr *addr);

const char *nt_krpc_method_name(enum nt_krpc_method m);

#endif
