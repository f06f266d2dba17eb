// SPDX-License-Identifier: MIT
/*
 * Fuzz target for STUN input on the shared UDP socket. The first byte is a mode: bit 0
 * makes the sender IPv6, bit 1 splices our outstanding transaction ID (cookie included)
 * into the message so that response parsing is reached past the transaction match. The
 * rest goes through nt_stun_is_stun, nt_stun_answer (whose every answer must be a STUN
 * response to a request that passed the demux test, at most 4 times the request's size)
 * and nt_stun_consume_response (whose every accepted reflexive address must be a usable
 * IPv4 or IPv6 endpoint).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "discovery/stun.h"

static struct nt_stun server, client;
static uint8_t msg[NT_STUN_MSG_MAX * 4], out[NT_STUN_MSG_MAX], req[NT_STUN_MSG_MAX];

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void from_addr(union nt_sockaddr *a, bool v6)
{
	memset(a, 0, sizeof(*a));
	if (v6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(51830);
		inet_pton(AF_INET6, "2001:db8::10", &a->in6.sin6_addr);
	} else {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(51830);
		inet_pton(AF_INET, "203.0.113.10", &a->in4.sin_addr);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union nt_sockaddr from, refl;
	ssize_t n, r;
	size_t len;
	bool is;

	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	len = size - 1;
	memcpy(msg, data + 1, len);
	from_addr(&from, data[0] & 1);
	nt_stun_init(&server);
	nt_stun_init(&client);
	r = nt_stun_request(&client, &from, 1, req, sizeof(req));
	check(r == 28);
	if ((data[0] & 2) && len >= NT_STUN_HEADER_LEN)
		memcpy(msg + 4, req + 4, 16);

	is = nt_stun_is_stun(msg, len);
	n = nt_stun_answer(&server, msg, len, &from, 1, out, sizeof(out));
	check(n >= 0);
	if (n > 0) {
		check(is && (msg[0] & 0x01) == 0 && (msg[1] & 0x10) == 0);
		check(nt_stun_is_stun(out, (size_t)n) && (out[0] & 0x01));
		check(memcmp(out + 4, msg + 4, 16) == 0);
		check((size_t)n <= 4 * len);
	}
	if (nt_stun_consume_response(&client, msg, len, &from, &refl)) {
		check(is && (msg[0] & 0x01));
		check(refl.sa.sa_family == AF_INET || refl.sa.sa_family == AF_INET6);
		check(nt_stun_pending_count(&client) == 0);
	}
	nt_stun_uninit(&client);
	nt_stun_uninit(&server);
	return 0;
}
