// SPDX-License-Identifier: MIT
/*
 * The one UDP socket and its batched I/O. Addresses are normalised at this boundary:
 * IPv4-mapped IPv6 sources become AF_INET, and AF_INET destinations are mapped when the
 * socket is dual-stack, so no other module needs to know which kind of socket we have.
 */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static void to_socket_family(const struct nt_udp *u, const union nt_sockaddr *in,
			     union nt_sockaddr *out)
{
	if (u->family == AF_INET6 && in->sa.sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = in->in4.sin_port;
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &in->in4.sin_addr, 4);
	} else {
		*out = *in;
	}
}

static void from_socket_family(union nt_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = a->in6.sin6_port };
		memcpy(&v4.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
		memset(a, 0, sizeof(*a));
		a->in4 = v4;
	}
}

static int bind_socket(struct nt_udp *u, int family, const union nt_sockaddr *addr)
{
	int one = 1, zero = 0;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	union nt_sockaddr bound;
	socklen_t blen = sizeof(bound);
	int bufsize = 4 << 20;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&addr->in6.sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Large socket buffers keep bursts from the TUN side from being dropped. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	/*
	 * No DF on our datagrams: a frame a little larger than the path (a relayed full-size
	 * packet, a member with a larger MTU) is fragmented by the kernel instead of dropped.
	 */
	{
		int dont = IP_PMTUDISC_DONT, dont6 = IPV6_PMTUDISC_DONT;
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
		if (family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &dont6, sizeof(dont6));
	}
	if (bind(fd, &addr->sa, nt_sockaddr_len(addr)) < 0)
		goto err;
	if (getsockname(fd, &bound.sa, &blen) < 0)
		goto err;
	u->fd = fd;
	u->family = family;
	u->port = ntohs(family == AF_INET6 ? bound.in6.sin6_port : bound.in4.sin_port);
	return 0;
err:
	one = -errno;
	close(fd);
	return one;
}

int nt_udp_open(struct nt_udp *u, const char *host, uint16_t port)
{
	union nt_sockaddr a;
	int ret;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	memset(&a, 0, sizeof(a));
	if (host && *host) {
		if (inet_pton(AF_INET, host, &a.in4.sin_addr) == 1) {
			a.in4.sin_family = AF_INET;
			a.in4.sin_port = htons(port);
			return bind_socket(u, AF_INET, &a);
		}
		if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
			a.in6.sin6_family = AF_INET6;
			a.in6.sin6_port = htons(port);
			return bind_socket(u, AF_INET6, &a);
		}
		return -EINVAL;
	}
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	a.in6.sin6_addr = in6addr_any;
	ret = bind_socket(u, AF_INET6, &a);
	if (ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL) {
		memset(&a, 0, sizeof(a));
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		ret = bind_socket(u, AF_INET, &a);
	}
	return ret;
}

void nt_udp_close(struct nt_udp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int nt_udp_recv_batch(struct nt_udp *u, struct nt_udp_batch *b)
{
	struct mmsghdr msgs[NT_UDP_BATCH];
	struct iovec iov[NT_UDP_BATCH];
	int n;

	for (unsigned int i = 0; i < NT_UDP_BATCH; i++) {
		iov[i].iov_base = b->buf[i];
		iov[i].iov_len = b->cap;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &b->addr[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
	}
	n = recvmmsg(u->fd, msgs, NT_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		b->count = 0;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		/* A datagram larger than the buffer is truncated: mark it so it is dropped. */
		b->len[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
		from_socket_family(&b->addr[i]);
	}
	b->count = (unsigned int)n;
	return n;
}

int nt_udp_send_batch(struct nt_udp *u, struct nt_udp_batch *b)
{
	struct mmsghdr msgs[NT_UDP_BATCH];
	struct iovec iov[NT_UDP_BATCH];
	union nt_sockaddr to[NT_UDP_BATCH];
	unsigned int sent = 0;

	for (unsigned int i = 0; i < b->count; i++) {
		to_socket_family(u, &b->addr[i], &to[i]);
		iov[i].iov_base = b->buf[i];
		iov[i].iov_len = b->len[i];
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to[i];
		msgs[i].msg_hdr.msg_namelen = nt_sockaddr_len(&to[i]);
	}
	while (sent < b->count) {
		int n = sendmmsg(u->fd, msgs + sent, b->count - sent, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * One unreachable destination must not hold back the rest of the batch:
			 * skip the datagram that failed and go on.
			 */
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				break;
			sent++;
			continue;
		}
		sent += (unsigned int)n;
	}
	return (int)sent;
}

int nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		int ttl)
{
	union nt_sockaddr dst;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	char control[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = {
		.msg_name = &dst,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};

	to_socket_family(u, to, &dst);
	msg.msg_namelen = nt_sockaddr_len(&dst);
	if (ttl > 0) {
		struct cmsghdr *cm;
		memset(control, 0, sizeof(control));
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		/* An IPv4 destination takes IP_TTL even on a dual-stack socket (it leaves by IPv4). */
		if (to->sa.sa_family == AF_INET) {
			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_TTL;
		} else {
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_HOPLIMIT;
		}
		memcpy(CMSG_DATA(cm), &ttl, sizeof(int));
	}
	if (sendmsg(u->fd, &msg, MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}
