/* SPDX-License-Identifier: MIT */
/*
 * STUN Binding (RFC 8489, RFC 5389) on Netron's one UDP socket, sans-IO, through libnice's
 * STUN library (no GLib loop). Every member answers Binding requests with the address it
 * saw (XOR-MAPPED-ADDRESS), and asks members or public STUN servers for its own
 * server-reflexive address. The caller owns the socket and the clock; this module only
 * turns datagrams into datagrams and remembers a bounded table of outstanding requests.
 * Answers go to addresses that have proven nothing, so they follow srclimit.h: rate-limited
 * per source and in total, and at most 4 times the request. It logs nothing (it counts);
 * call it from the loop thread only.
 *
 * libnice itself is opened (dlopen) by the first request or answer, not at start-up, since
 * loading it maps some 44 libraries it depends on (stun.c). If it cannot be opened, that is
 * logged once and those calls return -ELIBACC.
 */
#ifndef NT_STUN_H
#define NT_STUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <stun/stunagent.h>

#include "core/srclimit.h"
#include "core/util.h"

#ifndef NT_STUN_MAX_PENDING
#define NT_STUN_MAX_PENDING 16 /* outstanding Binding requests */
#endif
#ifndef NT_STUN_TIMEOUT_MS
#define NT_STUN_TIMEOUT_MS 10000 /* a request without a response is forgotten after this */
#endif
/* Binding requests answered per source (IPv4 address or IPv6 /64), and in all. */
#ifndef NT_STUN_ANSWER_RATE
#define NT_STUN_ANSWER_RATE 2 /* per second */
#endif
#ifndef NT_STUN_ANSWER_BURST
#define NT_STUN_ANSWER_BURST 4
#endif
#ifndef NT_STUN_ANSWER_TOTAL_RATE
#define NT_STUN_ANSWER_TOTAL_RATE 200 /* per second */
#endif
#ifndef NT_STUN_ANSWER_TOTAL_BURST
#define NT_STUN_ANSWER_TOTAL_BURST 200
#endif

enum {
	NT_STUN_HEADER_LEN = 20,
	NT_STUN_MAGIC_COOKIE = 0x2112A442,
	/* Enough for everything this module writes (a request is 28 bytes, a response 52). */
	NT_STUN_MSG_MAX = 548,
};

struct nt_stun_pending {
	uint8_t id[16]; /* magic cookie + 96-bit transaction ID, as on the wire */
	union nt_sockaddr server; /* where the request went; only it may answer */
	uint64_t sent_ms; /* monotonic */
	bool used;
};

struct nt_stun {
	StunAgent agent; /* initialised with libnice, on first use */
	bool agent_ready;
	struct nt_stun_pending pending[NT_STUN_MAX_PENDING];
	struct nt_srclimit limit; /* answers per source and in all */
	uint64_t answered, refused; /* requests answered / datagrams refused (counters) */
	uint64_t limited; /* valid Binding requests not answered: over the rate limits */
};

/*
 * The RFC 7983 demultiplexing test on header bytes only: first byte 0x00-0x03, the magic
 * cookie at offset 4, and a length field that is a multiple of 4 and matches len exactly.
 */
bool nt_stun_is_stun(const uint8_t *buf, size_t len);

int nt_stun_init(struct nt_stun *s);
void nt_stun_uninit(struct nt_stun *s);

/*
 * A Binding success response to the Binding request req that came from `from` at now_ms,
 * written to out: XOR-MAPPED-ADDRESS = from (an IPv4-mapped IPv6 source is answered as
 * IPv4), with FINGERPRINT when the request had one. A request carrying unknown
 * comprehension-required attributes gets a 420 error response (RFC 8489 §6.3.1). An answer
 * is never more than NT_SRCLIMIT_ANSWER_FACTOR (4) times len. Returns the length; 0 when
 * req is not a valid Binding request (responses, indications, other methods, garbage are
 * never answered; counted in refused); -EAGAIN when `from` or all sources together are
 * over the rate limits (NT_STUN_ANSWER_*; counted in limited); -ENOBUFS when cap is too
 * small; -EINVAL for a from of another family; -ELIBACC when libnice cannot be loaded.
 */
ssize_t nt_stun_answer(struct nt_stun *s, const uint8_t *req, size_t len, const union nt_sockaddr *from,
		       uint64_t now_ms, uint8_t *out, size_t cap);

/*
 * A new Binding request to server, written to out; the transaction is remembered until its
 * response, nt_stun_expire, or eviction by a newer request when the table is full (the
 * oldest goes). Returns the length or -errno (-ELIBACC: libnice cannot be loaded).
 */
ssize_t nt_stun_request(struct nt_stun *s, const union nt_sockaddr *server, uint64_t now_ms, uint8_t *out,
			size_t cap);

/*
 * Accepts only a Binding success response to one of our outstanding transactions that
 * comes from the address that request was sent to, and fills *reflexive with the mapped
 * address it carries. Ends the transaction (an error response ends it too, returning false).
 */
bool nt_stun_consume_response(struct nt_stun *s, const uint8_t *buf, size_t len, const union nt_sockaddr *from,
			      union nt_sockaddr *reflexive);

/* Forgets requests older than NT_STUN_TIMEOUT_MS; returns how many. */
unsigned int nt_stun_expire(struct nt_stun *s, uint64_t now_ms);
/* How many requests are outstanding. */
unsigned int nt_stun_pending_count(const struct nt_stun *s);

#endif
