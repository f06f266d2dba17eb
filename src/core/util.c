// SPDX-License-Identifier: MIT
/*
 * Clocks, sockaddr helpers and hex: the few things every module needs.
 */
#include "core/util.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "netron/types.h"

uint64_t nt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t nt_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t nt_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

socklen_t nt_sockaddr_len(const union nt_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4);
}

bool nt_sockaddr_equal(const union nt_sockaddr *a, const union nt_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0 &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return false;
}

const char *nt_sockaddr_format(const union nt_sockaddr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(a->in4.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
			inet_ntop(AF_INET, &a->in6.sin6_addr.s6_addr[12], host, sizeof(host));
			snprintf(buf, len, "%s:%u", host, ntohs(a->in6.sin6_port));
		} else {
			inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
			snprintf(buf, len, "[%s]:%u", host, ntohs(a->in6.sin6_port));
		}
	} else {
		snprintf(buf, len, "(none)");
	}
	return buf;
}

bool nt_hostport_split(const char *s, char host[NT_HOST_MAX], uint16_t *port_out)
{
	const char *port_s;
	char *end;
	unsigned long port;
	size_t hlen;

	if (!s || !*s)
		return false;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		hlen = (size_t)(rb - s - 1);
		if (hlen == 0 || hlen >= NT_HOST_MAX)
			return false;
		memcpy(host, s + 1, hlen);
		port_s = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return false;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= NT_HOST_MAX)
			return false;
		memcpy(host, s, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	if (!*port_s)
		return false;
	port = strtoul(port_s, &end, 10);
	if (*end || port == 0 || port > 65535)
		return false;
	*port_out = (uint16_t)port;
	return true;
}

bool nt_sockaddr_literal(const char *host, uint16_t port, union nt_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		return true;
	}
	if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1) {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		return true;
	}
	return false;
}

bool nt_sockaddr_is_unicast(const union nt_sockaddr *ep)
{
	const uint8_t *a;
	uint8_t v4[4];

	switch (ep->sa.sa_family) {
	case AF_INET:
		if (!ep->in4.sin_port)
			return false;
		memcpy(v4, &ep->in4.sin_addr, 4);
		break;
	case AF_INET6:
		if (!ep->in6.sin6_port)
			return false;
		a = ep->in6.sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&ep->in6.sin6_addr)) {
			memcpy(v4, a + 12, 4);
			break;
		}
		return !IN6_IS_ADDR_UNSPECIFIED(&ep->in6.sin6_addr) &&
		       !IN6_IS_ADDR_LOOPBACK(&ep->in6.sin6_addr) && !IN6_IS_ADDR_MULTICAST(&ep->in6.sin6_addr) &&
		       !IN6_IS_ADDR_LINKLOCAL(&ep->in6.sin6_addr);
	default:
		return false;
	}
	/* 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 and up (multicast, reserved, broadcast). */
	return v4[0] != 0 && v4[0] != 127 && v4[0] < 224;
}

bool nt_sockaddr_parse(const char *s, union nt_sockaddr *out)
{
	char host[NT_HOST_MAX];
	uint16_t port;

	return nt_hostport_split(s, host, &port) && nt_sockaddr_literal(host, port, out);
}

void nt_hex_encode(char *out, const uint8_t *in, size_t len)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int nt_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool nt_hex_decode(uint8_t *out, size_t len, const char *hex)
{
	if (strlen(hex) != 2 * len)
		return false;
	for (size_t i = 0; i < len; i++) {
		int hi = nt_hex_value(hex[2 * i]), lo = nt_hex_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void nt_err_set(struct nt_err *err, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->line = line;
	err->col = col;
}

ssize_t nt_read_full(int fd, void *buf, size_t cap)
{
	size_t len = 0;

	while (len < cap) {
		ssize_t n = read(fd, (uint8_t *)buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	return (ssize_t)len;
}

/* Whether ep is on one of our own links: a member there is reached over the LAN. */
bool nt_sockaddr_on_link(const struct ifaddrs *ifa, const union nt_sockaddr *ep)
{
	const struct ifaddrs *i;
	bool local = false;

	for (i = ifa; i && !local; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask || i->ifa_addr->sa_family != ep->sa.sa_family ||
		    (i->ifa_flags & IFF_LOOPBACK) || (i->ifa_flags & IFF_POINTOPOINT))
			continue;
		if (ep->sa.sa_family == AF_INET) {
			uint32_t a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			uint32_t m = ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr;
			local = (a & m) == (ep->in4.sin_addr.s_addr & m);
		} else {
			const uint8_t *a = ((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr;
			const uint8_t *m = ((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr.s6_addr;
			local = true;
			for (int k = 0; k < 16; k++)
				if ((a[k] & m[k]) != (ep->in6.sin6_addr.s6_addr[k] & m[k]))
					local = false;
		}
	}
	return local;
}
