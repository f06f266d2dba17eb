/* SPDX-License-Identifier: MIT */
/*
 * Small helpers with no better home: the monotonic and wall clocks, sockaddr comparison
 * and formatting, hex. Keep this file small.
 */
#ifndef NT_UTIL_H
#define NT_UTIL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NT_MAX(a, b) ((a) > (b) ? (a) : (b))
/*
 * Relaxed atomics, for counters and times one thread writes and another reads: exactness
 * across threads is not needed, tearing must not happen.
 */
#define NT_RELAXED_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define NT_RELAXED_STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define NT_RELAXED_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)
#define NT_RELAXED_TAKE(x) __atomic_exchange_n(&(x), 0, __ATOMIC_RELAXED)

/* An IPv4 or IPv6 UDP endpoint, small enough to embed everywhere. */
union nt_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* A little-endian 32-bit field of a wire message. */
static inline uint32_t nt_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void nt_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint64_t nt_now_ms(void); /* CLOCK_MONOTONIC */
uint64_t nt_now_us(void); /* the same, in microseconds */
uint64_t nt_wall_ms(void); /* CLOCK_REALTIME, milliseconds since the epoch */

socklen_t nt_sockaddr_len(const union nt_sockaddr *a);
bool nt_sockaddr_equal(const union nt_sockaddr *a, const union nt_sockaddr *b);
/* "192.0.2.1:51830" or "[2001:db8::1]:51830"; buf of NT_SOCKADDR_STRLEN. */
enum { NT_SOCKADDR_STRLEN = 56 };
const char *nt_sockaddr_format(const union nt_sockaddr *a, char *buf, size_t len);
/* Whether ep is in the subnet of one of the links in ifa (from getifaddrs()), loopback and
 * point-to-point links aside: a member there is reached without a router in between. */
struct ifaddrs;
bool nt_sockaddr_on_link(const struct ifaddrs *ifa, const union nt_sockaddr *ep);
/*
 * Whether ep can be another node: a unicast address that is not ours by definition
 * (unspecified, loopback, multicast, broadcast, IPv6 link-local) with a port. What other
 * members tell us of endpoints must pass this before we send anything there.
 */
bool nt_sockaddr_is_unicast(const union nt_sockaddr *ep);
/* Parses "HOST:PORT", "[V6]:PORT" with a numeric host (names: resolve.h, in the background). */
bool nt_sockaddr_parse(const char *s, union nt_sockaddr *out);
/* "host:port" or "[v6]:port" cut in two (no lookup); false when malformed. */
enum { NT_HOST_MAX = 256 };
bool nt_hostport_split(const char *s, char host[NT_HOST_MAX], uint16_t *port);
/* host as an IPv4 or IPv6 literal with port; false when it is a name. */
bool nt_sockaddr_literal(const char *host, uint16_t port, union nt_sockaddr *out);

/* Big-endian (network order) integers in wire formats. */
static inline uint16_t nt_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nt_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t nt_get_be64(const uint8_t *p)
{
	return (uint64_t)nt_get_be32(p) << 32 | nt_get_be32(p + 4);
}

static inline void nt_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void nt_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline void nt_put_be64(uint8_t *p, uint64_t v)
{
	nt_put_be32(p, (uint32_t)(v >> 32));
	nt_put_be32(p + 4, (uint32_t)v);
}

struct nt_err;
/* Fills a user-facing error (one line) and its position; accepts err == NULL. */
void nt_err_set(struct nt_err *err, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Reads fd until EOF or cap bytes, retrying on EINTR: the byte count, or -errno. */
ssize_t nt_read_full(int fd, void *buf, size_t cap);

/* The value of one hex digit, or -1. */
int nt_hex_value(char c);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void nt_hex_encode(char *out, const uint8_t *in, size_t len);
/* Exactly 2*len hex digits into len bytes; false otherwise. */
bool nt_hex_decode(uint8_t *out, size_t len, const char *hex);

#endif
