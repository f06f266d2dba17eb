// SPDX-License-Identifier: MIT
/*
 * STUN Binding, client and server side, sans-IO (RFC 8489; RFC 5389 wire format).
 *
 * A STUN message is a 20-byte header (type, length, magic cookie 0x2112A442, 96-bit
 * transaction ID) and 4-byte-aligned TLV attributes. We parse and build them with libnice's
 * STUN library: one StunAgent in RFC 5389 mode, with credentials ignored (Binding between
 * members and with public servers is unauthenticated; the Noise handshake authenticates
 * everything that matters). FINGERPRINT (CRC-32 ^ 0x5354554e, §14.7) goes on our requests,
 * is checked whenever an incoming message carries one, and is echoed in answers to
 * requests that had one. Messages without the magic cookie (RFC 3489) are refused.
 *
 * The agent remembers the transaction IDs it sent; we keep our own small table beside it
 * with the server each request went to, so that a response is accepted only from that
 * server, and only once. Every entry leaves both tables together.
 *
 * Binding answers go to whatever source address a request carries, which nothing proves:
 * they are rate-limited per source and in total (srclimit.c; only requests that would be
 * answered count), and libnice gets no more room to write one than 4 times the request,
 * whatever attributes the request carries (a 420 lists the unknown ones, 2 bytes each
 * for the 4 or more each took in the request).
 *
 * libnice is opened with dlopen the first time a STUN message is to be read or written,
 * not linked: its shared library depends on GLib, GIO, gupnp-igd, libsoup and through
 * them ICU, libxml2, Kerberos and GnuTLS (44 libraries, about 8 MiB resident once mapped
 * and initialised), none of which its STUN code uses. A node that never sees STUN never
 * maps them (docs/bench.md, "Memory"). The agent is initialised at that same moment.
 */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include <stun/stunmessage.h>
#include <stun/usages/bind.h>

#include "core/dynlib.h"
#include "discovery/stun.h"

/* Every libnice function this file calls, resolved together when libnice is opened. */
#define NICE_FUNCS(X)                                                                              \
	X(stun_agent_init)                                                                         \
	X(stun_agent_validate)                                                                     \
	X(stun_agent_finish_message)                                                               \
	X(stun_agent_forget_transaction)                                                           \
	X(stun_agent_init_request)                                                                 \
	X(stun_agent_init_response)                                                                \
	X(stun_agent_build_unknown_attributes_error)                                               \
	X(stun_message_validate_buffer_length)                                                     \
	X(stun_message_has_attribute)                                                              \
	X(stun_message_get_class)                                                                  \
	X(stun_message_get_method)                                                                 \
	X(stun_message_append_xor_addr)                                                            \
	X(stun_message_id)                                                                         \
	X(stun_usage_bind_process)

static struct {
	NICE_FUNCS(NT_DYNLIB_POINTER)
} nice;

#define NICE_SYM(f) { #f, (void **)&nice.f },
static const struct nt_dynlib_sym nice_syms[] = { NICE_FUNCS(NICE_SYM){ NULL, NULL } };

static struct nt_dynlib libnice = {
	.soname = "libnice.so.10",
	.purpose = "STUN",
	.syms = nice_syms,
};

/*
 * Comprehension-required attributes (< 0x8000) we understand in a Binding request or
 * response. Anything else comprehension-required makes a request get a 420 and a response
 * be dropped (§6.3.1, §6.3.3). SOURCE-/CHANGED-ADDRESS are what RFC 3489-era servers add.
 */
static const uint16_t known_attributes[] = {
	STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_SOURCE_ADDRESS, STUN_ATTRIBUTE_CHANGED_ADDRESS,
	STUN_ATTRIBUTE_USERNAME,       STUN_ATTRIBUTE_MESSAGE_INTEGRITY, STUN_ATTRIBUTE_ERROR_CODE,
	STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES, STUN_ATTRIBUTE_REALM,       STUN_ATTRIBUTE_NONCE,
	STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, 0,
};

enum {
	BASE_FLAGS = STUN_AGENT_USAGE_IGNORE_CREDENTIALS,
};

bool nt_stun_is_stun(const uint8_t *buf, size_t len)
{
	size_t body;

	if (!buf || len < NT_STUN_HEADER_LEN || buf[0] > 0x03)
		return false;
	if (buf[4] != 0x21 || buf[5] != 0x12 || buf[6] != 0xA4 || buf[7] != 0x42)
		return false;
	body = (size_t)buf[2] << 8 | buf[3];
	return body % 4 == 0 && len == NT_STUN_HEADER_LEN + body;
}

int nt_stun_init(struct nt_stun *s)
{
	uint8_t key[NT_SRCLIMIT_KEY_LEN];
	int ret;

	memset(s, 0, sizeof(*s));
	randombytes_buf(key, sizeof(key));
	ret = nt_srclimit_init(&s->limit, key, NT_STUN_ANSWER_RATE, NT_STUN_ANSWER_BURST,
			       NT_STUN_ANSWER_TOTAL_RATE, NT_STUN_ANSWER_TOTAL_BURST);
	sodium_memzero(key, sizeof(key));
	return ret;
}

/* libnice opened and our agent initialised, on the first message read or written. */
static int agent_ready(struct nt_stun *s)
{
	if (s->agent_ready)
		return 0;
	if (nt_dynlib_load(&libnice) < 0)
		return -ELIBACC;
	nice.stun_agent_init(&s->agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
			     BASE_FLAGS | STUN_AGENT_USAGE_USE_FINGERPRINT);
	s->agent_ready = true;
	return 0;
}

void nt_stun_uninit(struct nt_stun *s)
{
	unsigned int i;

	for (i = 0; i < NT_STUN_MAX_PENDING; i++)
		if (s->pending[i].used)
			nice.stun_agent_forget_transaction(&s->agent, s->pending[i].id);
	memset(s, 0, sizeof(*s));
}

/*
 * Whether a structurally valid message ends with a FINGERPRINT. libnice checks the CRC
 * only when the agent has USE_FINGERPRINT, and then insists on one; so the flag is set for
 * exactly the messages that carry one: present means verified, absent is allowed (§14.7).
 */
static bool has_fingerprint(const uint8_t *buf, size_t len)
{
	StunMessage m = { 0 };

	if (nice.stun_message_validate_buffer_length(buf, len, true) != (int)len)
		return false;
	m.buffer = (uint8_t *)buf;
	m.buffer_len = len;
	return nice.stun_message_has_attribute(&m, STUN_ATTRIBUTE_FINGERPRINT);
}

static StunValidationStatus validate(struct nt_stun *s, StunMessage *msg, const uint8_t *buf, size_t len,
				     bool *fpr)
{
	*fpr = has_fingerprint(buf, len);
	s->agent.usage_flags = BASE_FLAGS | (*fpr ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0);
	return nice.stun_agent_validate(&s->agent, msg, buf, len, NULL, NULL);
}

/* Our requests always carry a FINGERPRINT; answers carry one when the request did. */
static size_t finish(struct nt_stun *s, StunMessage *msg, bool fpr)
{
	s->agent.usage_flags = BASE_FLAGS | (fpr ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0);
	return nice.stun_agent_finish_message(&s->agent, msg, NULL, 0);
}

static bool addr_is_usable(const union nt_sockaddr *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	switch (a->sa.sa_family) {
	case AF_INET:
		return a->in4.sin_port != 0 && a->in4.sin_addr.s_addr != htonl(INADDR_ANY);
	case AF_INET6:
		return a->in6.sin6_port != 0 && memcmp(&a->in6.sin6_addr, &any6, sizeof(any6)) != 0;
	default:
		return false;
	}
}

/* A v4 client on a dual-stack socket shows up as ::ffff:a.b.c.d; it wants its IPv4 back. */
static void unmap_v4(const union nt_sockaddr *in, union nt_sockaddr *out)
{
	*out = *in;
	if (in->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&in->in6.sin6_addr)) {
		memset(out, 0, sizeof(*out));
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = in->in6.sin6_port;
		memcpy(&out->in4.sin_addr, &in->in6.sin6_addr.s6_addr[12], 4);
	}
}

ssize_t nt_stun_answer(struct nt_stun *s, const uint8_t *req, size_t len, const union nt_sockaddr *from,
		       uint64_t now_ms, uint8_t *out, size_t cap)
{
	StunMessage msg, resp;
	StunValidationStatus v;
	union nt_sockaddr mapped;
	size_t n, room;
	bool fpr;

	if (!from || (from->sa.sa_family != AF_INET && from->sa.sa_family != AF_INET6))
		return -EINVAL;
	/* Only requests: never answer a response, so two members cannot ping-pong. */
	if (!nt_stun_is_stun(req, len) || (req[0] & 0x01) || (req[1] & 0x10))
		goto refuse;
	if (agent_ready(s) < 0)
		return -ELIBACC;
	v = validate(s, &msg, req, len, &fpr);
	if (v != STUN_VALIDATION_SUCCESS && v != STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE)
		goto refuse;
	if (nice.stun_message_get_class(&msg) != STUN_REQUEST || nice.stun_message_get_method(&msg) != STUN_BINDING)
		goto refuse;
	if (cap < NT_STUN_HEADER_LEN)
		return -ENOBUFS;
	/* Only what would be answered is counted: junk spoofed from a member costs it nothing. */
	if (!nt_srclimit_allow(&s->limit, from, now_ms)) {
		s->limited++;
		return -EAGAIN;
	}
	/* The bound is the room libnice gets: no attribute can make the answer outgrow it. */
	room = NT_MIN(cap, NT_SRCLIMIT_ANSWER_FACTOR * len);

	if (v == STUN_VALIDATION_UNKNOWN_REQUEST_ATTRIBUTE) {
		/* Builds and finishes the 420 with UNKNOWN-ATTRIBUTES in one call. */
		s->agent.usage_flags = BASE_FLAGS | (fpr ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0);
		n = nice.stun_agent_build_unknown_attributes_error(&s->agent, &resp, out, room, &msg);
		if (n == 0)
			goto nospace;
		s->answered++;
		return (ssize_t)n;
	}

	unmap_v4(from, &mapped);
	if (!nice.stun_agent_init_response(&s->agent, &resp, out, room, &msg))
		goto nospace;
	if (nice.stun_message_append_xor_addr(&resp, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
					 (const struct sockaddr_storage *)&mapped.sa,
					 nt_sockaddr_len(&mapped)) != STUN_MESSAGE_RETURN_SUCCESS)
		goto nospace;
	n = finish(s, &resp, fpr);
	if (n == 0)
		goto nospace;
	s->answered++;
	return (ssize_t)n;
nospace:
	if (room < cap)
		goto refuse; /* it would be over the bound: no answer at all */
	return -ENOBUFS;
refuse:
	s->refused++;
	return 0;
}

static void forget(struct nt_stun *s, struct nt_stun_pending *p)
{
	nice.stun_agent_forget_transaction(&s->agent, p->id);
	memset(p, 0, sizeof(*p));
}

ssize_t nt_stun_request(struct nt_stun *s, const union nt_sockaddr *server, uint64_t now_ms, uint8_t *out,
			size_t cap)
{
	struct nt_stun_pending *p = NULL, *oldest = NULL;
	StunMessage msg;
	unsigned int i;
	size_t n;

	if (!server || !addr_is_usable(server))
		return -EINVAL;
	if (agent_ready(s) < 0)
		return -ELIBACC;
	for (i = 0; i < NT_STUN_MAX_PENDING && !p; i++) {
		if (!s->pending[i].used)
			p = &s->pending[i];
		else if (!oldest || s->pending[i].sent_ms < oldest->sent_ms)
			oldest = &s->pending[i];
	}
	if (!p) {
		forget(s, oldest);
		p = oldest;
	}
	/* stun_usage_bind_create() is init_request + finish_message; spelled out for the flags. */
	if (!nice.stun_agent_init_request(&s->agent, &msg, out, cap, STUN_BINDING))
		return -ENOBUFS;
	n = finish(s, &msg, true);
	if (n == 0)
		return -ENOBUFS;
	nice.stun_message_id(&msg, p->id);
	p->server = *server;
	p->sent_ms = now_ms;
	p->used = true;
	return (ssize_t)n;
}

static struct nt_stun_pending *find_pending(struct nt_stun *s, const uint8_t *buf, const union nt_sockaddr *from)
{
	unsigned int i;

	for (i = 0; i < NT_STUN_MAX_PENDING; i++) {
		struct nt_stun_pending *p = &s->pending[i];

		if (p->used && memcmp(p->id, buf + 4, sizeof(p->id)) == 0 && nt_sockaddr_equal(&p->server, from))
			return p;
	}
	return NULL;
}

bool nt_stun_consume_response(struct nt_stun *s, const uint8_t *buf, size_t len, const union nt_sockaddr *from,
			      union nt_sockaddr *reflexive)
{
	struct sockaddr_storage alt;
	socklen_t alt_len = sizeof(alt);
	union nt_sockaddr mapped;
	socklen_t mapped_len = sizeof(mapped);
	struct nt_stun_pending *p;
	StunMessage msg;
	StunValidationStatus v;
	StunUsageBindReturn r;
	bool fpr;

	if (!from || !nt_stun_is_stun(buf, len) || !(buf[0] & 0x01))
		return false;
	/*
	 * Match our table (ID and source) before libnice sees the message: its validation
	 * consumes the saved ID, which a datagram from the wrong address must not do.
	 */
	p = find_pending(s, buf, from);
	if (!p)
		return false;
	v = validate(s, &msg, buf, len, &fpr);
	if (v == STUN_VALIDATION_NOT_STUN || v == STUN_VALIDATION_INCOMPLETE_STUN ||
	    v == STUN_VALIDATION_BAD_REQUEST)
		return false; /* not an answer at all (a bad FINGERPRINT): the request stays open */
	forget(s, p);
	if (v != STUN_VALIDATION_SUCCESS)
		return false;
	memset(&mapped, 0, sizeof(mapped));
	r = nice.stun_usage_bind_process(&msg, &mapped.sa, &mapped_len, (struct sockaddr *)&alt, &alt_len);
	if (r != STUN_USAGE_BIND_RETURN_SUCCESS || !addr_is_usable(&mapped))
		return false;
	if (reflexive)
		unmap_v4(&mapped, reflexive);
	return true;
}

unsigned int nt_stun_expire(struct nt_stun *s, uint64_t now_ms)
{
	unsigned int i, n = 0;

	for (i = 0; i < NT_STUN_MAX_PENDING; i++) {
		struct nt_stun_pending *p = &s->pending[i];

		if (p->used && now_ms >= p->sent_ms && now_ms - p->sent_ms >= NT_STUN_TIMEOUT_MS) {
			forget(s, p);
			n++;
		}
	}
	return n;
}

unsigned int nt_stun_pending_count(const struct nt_stun *s)
{
	unsigned int i, n = 0;

	for (i = 0; i < NT_STUN_MAX_PENDING; i++)
		n += s->pending[i].used;
	return n;
}
