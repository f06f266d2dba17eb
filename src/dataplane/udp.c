// SPDX-License-Identifier: MIT
/*
 * The one UDP socket and its batched I/O. Addresses are normalised at this boundary:
 * IPv4-mapped IPv6 sources become AF_INET, and AF_INET destinations are mapped when the
 * socket is dual-stack, so no other module needs to know which kind of socket we have.
 */
#include "dataplane/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

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

/*
 * Socket buffers: large, so a burst of superpackets is not dropped. Root (which a node is, to
 * own a TUN) may go past net.core.[rw]mem_max with the FORCE variants.
 */
static void set_buffers(int fd)
{
	int size = 8 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

/*
 * Whether the segment sizes of UDP_SEGMENT and UDP_GRO cross the system call intact: one
 * datagram of two 515-byte segments (0x0203, which reads 770 in the other byte order) over
 * loopback to a socket of our own with UDP_GRO, which gets it whole with its size. A kernel
 * always passes them; qemu-user 7.2 copies these control messages without converting them,
 * so a big-endian program under it gives the kernel a byte-swapped size and reads one back
 * (while TUN, socket options and the other calls are converted). 1 when they cross intact,
 * 0 when they do not, -1 when the probe says nothing (no loopback here, say).
 */
static int probe_segment_sizes(void)
{
	enum { SEG = 0x0203 };
	uint8_t out[2 * SEG] = { 0 }, in[4 * SEG];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t tolen = sizeof(to);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { out, sizeof(out) };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctrl.buf,
			    .msg_controllen = CMSG_SPACE(sizeof(uint16_t)) };
	struct cmsghdr *c;
	uint16_t seg16 = SEG;
	int rx, tx, one = 1, seg = 0, ret = -1;
	ssize_t n;

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0 || setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0 ||
	    bind(rx, (struct sockaddr *)&to, sizeof(to)) < 0 ||
	    getsockname(rx, (struct sockaddr *)&to, &tolen) < 0)
		goto out;
	memset(&ctrl, 0, sizeof(ctrl));
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
	memcpy(CMSG_DATA(c), &seg16, sizeof(seg16));
	if (sendmsg(tx, &m, 0) < 0) {
		/* The kernel's answer to a size larger than the MTU, 770 or 0x0302xxxx alike. */
		if (errno == EINVAL)
			ret = 0;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	iov = (struct iovec){ in, sizeof(in) };
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = ctrl.buf;
	m.msg_controllen = sizeof(ctrl.buf);
	n = recvmsg(rx, &m, MSG_DONTWAIT);
	if (n < 0)
		goto out;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int)))
			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
	/* Whole with its size, or (a kernel that segments on loopback) the first segment alone. */
	ret = (n == 2 * SEG && seg == SEG) || (n == SEG && seg == 0);
out:
	if (rx >= 0)
		close(rx);
	if (tx >= 0)
		close(tx);
	return ret;
}

static void enable_offloads(struct nt_udp *u, int fd, unsigned int offload)
{
	/* Probed once per process: what it finds is the system call layer's, not a socket's. */
	static _Atomic int sizes_ok;
	int zero = 0, one = 1, ok;

	/* Setting the socket's default segment size to 0 only tells whether UDP_SEGMENT exists. */
	u->gso = (offload & NT_UDP_OFFLOAD_GSO) &&
		 setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	u->gro = (offload & NT_UDP_OFFLOAD_GRO) &&
		 setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) == 0;
	if (u->gso || u->gro) {
		ok = sizes_ok;
		if (ok == 0) {
			ok = probe_segment_sizes() == 0 ? -1 : 1;
			sizes_ok = ok;
			if (ok < 0)
				log_warnx("udp: segment sizes come back changed from the kernel (an emulator?): no UDP segmentation or receive coalescing");
		}
		if (ok < 0) {
			setsockopt(fd, SOL_UDP, UDP_GRO, &zero, sizeof(zero));
			u->gso = u->gro = false;
		}
	}
	log_debug(NT_DBG_PACKET, "udp offloads: gso %s, gro %s", u->gso ? "on" : "off",
		  u->gro ? "on" : "off");
}

static int bind_socket(struct nt_udp *u, int family, const union nt_sockaddr *addr,
		       unsigned int offload)
{
	int one = 1, zero = 0;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	union nt_sockaddr bound;
	socklen_t blen = sizeof(bound);

	if (fd < 0)
		return -errno;
	if (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&addr->in6.sin6_addr) &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0)
		goto err;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if ((offload & NT_UDP_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto err;
	set_buffers(fd);
	enable_offloads(u, fd, offload);
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

int nt_udp_open(struct nt_udp *u, const char *host, uint16_t port, unsigned int offload)
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
			return bind_socket(u, AF_INET, &a, offload);
		}
		if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) == 1) {
			a.in6.sin6_family = AF_INET6;
			a.in6.sin6_port = htons(port);
			return bind_socket(u, AF_INET6, &a, offload);
		}
		return -EINVAL;
	}
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	a.in6.sin6_addr = in6addr_any;
	ret = bind_socket(u, AF_INET6, &a, offload);
	if (ret == -EAFNOSUPPORT || ret == -EADDRNOTAVAIL) {
		memset(&a, 0, sizeof(a));
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		ret = bind_socket(u, AF_INET, &a, offload);
	}
	return ret;
}

int nt_udp_steer(struct nt_udp *u, uint8_t type1, uint8_t type2, unsigned int off,
		 unsigned int lanes)
{
	/* Classic BPF sees the datagram from its payload; a load past the end returns 0. */
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, type1, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, type2, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, off),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, lanes),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (lanes == 0)
		return -EINVAL;
	if (setsockopt(u->fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
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
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl[NT_UDP_BATCH];
	unsigned int slots = b->slots < NT_UDP_BATCH ? b->slots : NT_UDP_BATCH;
	int n;

	for (unsigned int i = 0; i < slots; i++) {
		iov[i].iov_base = b->buf[i];
		iov[i].iov_len = b->cap;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &b->addr[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(b->addr[i]);
		if (u->gro) {
			msgs[i].msg_hdr.msg_control = ctrl[i].buf;
			msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i].buf);
		}
	}
	n = recvmmsg(u->fd, msgs, slots, MSG_DONTWAIT, NULL);
	if (n < 0) {
		b->count = 0;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &msgs[i].msg_hdr;

		size_t frame;

		/* A datagram larger than the buffer is truncated: it is oversized by definition. */
		b->len[i] = (m->msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
		b->seg[i] = 0;
		if (m->msg_flags & MSG_TRUNC)
			b->oversized++;
		for (struct cmsghdr *c = u->gro ? CMSG_FIRSTHDR(m) : NULL; c; c = CMSG_NXTHDR(m, c)) {
			int seg;

			if (c->cmsg_level != SOL_UDP || c->cmsg_type != UDP_GRO ||
			    c->cmsg_len < CMSG_LEN(sizeof(int)))
				continue;
			memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			if (seg > 0 && seg <= UINT16_MAX && (size_t)seg < b->len[i])
				b->seg[i] = (uint16_t)seg;
		}
		/* Every frame must fit what the caller copies it into: checked here, once. */
		frame = b->seg[i] ? b->seg[i] : b->len[i];
		if (frame > (b->max_frame ? b->max_frame : b->cap)) {
			b->oversized += b->seg[i] ? (b->len[i] + b->seg[i] - 1) / b->seg[i] : 1;
			b->len[i] = 0;
			b->seg[i] = 0;
		}
		if (b->seg[i]) {
			u->gro_receives++;
			u->gro_frames += (b->len[i] + b->seg[i] - 1) / b->seg[i];
		}
		from_socket_family(&b->addr[i]);
	}
	b->count = (unsigned int)n;
	return n;
}

uint8_t *nt_udp_txq_tail(struct nt_udp_txq *q, size_t need)
{
	if (q->count == NT_UDP_RUNS)
		return NULL;
	if (q->cap - q->tail < need)
		return NULL;
	return q->buf + q->tail;
}

void nt_udp_txq_commit(const struct nt_udp *u, struct nt_udp_txq *q, size_t len,
		       const union nt_sockaddr *to)
{
	struct nt_udp_run *r = q->count > q->head ? &q->run[q->count - 1] : NULL;

	/* Joins the last run when the kernel can send both as one GSO send. */
	if (r && u->gso && !r->closed && len <= r->seg && r->nseg < NT_UDP_MAX_SEGS &&
	    r->len + len <= NT_UDP_GSO_MAX && nt_sockaddr_equal(&r->to, to)) {
		r->len += len;
		r->nseg++;
		r->closed = len < r->seg;
		q->tail += len;
		return;
	}
	if (q->count == NT_UDP_RUNS) {
		/* No run left (only when the caller ignored nt_udp_txq_tail): drop it. */
		q->dropped++;
		return;
	}
	r = &q->run[q->count++];
	r->off = q->tail;
	r->len = len;
	r->seg = (uint16_t)len;
	r->nseg = 1;
	r->closed = !u->gso || len > UINT16_MAX;
	r->to = *to;
	q->tail += len;
}

/* A run the kernel would not take as one GSO send goes out datagram by datagram. */
static void send_run_split(struct nt_udp *u, struct nt_udp_txq *q, const struct nt_udp_run *r)
{
	for (size_t off = 0; off < r->len; off += r->seg) {
		size_t len = r->len - off < r->seg ? r->len - off : r->seg;

		if (nt_udp_send(u, q->buf + r->off + off, len, &r->to, 0) < 0)
			q->dropped++;
	}
}

int nt_udp_txq_flush(struct nt_udp *u, struct nt_udp_txq *q)
{
	struct mmsghdr msgs[NT_UDP_RUNS];
	struct iovec iov[NT_UDP_RUNS];
	union nt_sockaddr to[NT_UDP_RUNS];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctrl[NT_UDP_RUNS];

	while (q->head < q->count) {
		unsigned int k = q->count - q->head;
		struct nt_udp_run *r;
		int n, err;

		for (unsigned int i = 0; i < k; i++) {
			struct nt_udp_run *ri = &q->run[q->head + i];

			to_socket_family(u, &ri->to, &to[i]);
			iov[i].iov_base = q->buf + ri->off;
			iov[i].iov_len = ri->len;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &to[i];
			msgs[i].msg_hdr.msg_namelen = nt_sockaddr_len(&to[i]);
			if (ri->nseg > 1) {
				struct cmsghdr *c;

				memset(&ctrl[i], 0, sizeof(ctrl[i]));
				msgs[i].msg_hdr.msg_control = ctrl[i].buf;
				msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i].buf);
				c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
				c->cmsg_level = SOL_UDP;
				c->cmsg_type = UDP_SEGMENT;
				c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
				memcpy(CMSG_DATA(c), &ri->seg, sizeof(uint16_t));
			}
		}
		n = sendmmsg(u->fd, msgs, k, MSG_DONTWAIT);
		if (n > 0) {
			for (int i = 0; i < n; i++)
				u->gso_sends += q->run[q->head + (unsigned int)i].nseg > 1;
			q->head += (unsigned int)n;
			continue;
		}
		err = n < 0 ? errno : EIO;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return -EAGAIN;
		/* The first run of the rest failed: alone, or cut into datagrams, then go on. */
		r = &q->run[q->head++];
		if (r->nseg > 1 && (err == EIO || err == EINVAL || err == EMSGSIZE ||
				    err == ENOPROTOOPT || err == EOPNOTSUPP)) {
			u->gso_fallbacks++;
			if (err == EIO) {
				/* The egress device cannot checksum for us: no GSO from now on. */
				u->gso = false;
				log_info("udp: the kernel refuses segmentation offload (%s): sending datagram by datagram",
					 strerror(err));
			}
			send_run_split(u, q, r);
		} else {
			q->dropped += r->nseg;
		}
	}
	q->head = q->count = 0;
	q->tail = 0;
	return 0;
}

/*
 * The TTL of one datagram (a hole punch's low one) as a socket option, set for the send and
 * reset (-1: the route's default) after it. For where IP_TTL as ancillary data is refused:
 * qemu-user 7.2 passes that int unconverted, so a big-endian program's TTL 3 reaches the
 * kernel as 50331648 (EINVAL). Socket options it does convert.
 */
static int send_with_socket_ttl(struct nt_udp *u, struct msghdr *msg, int family, int ttl)
{
	int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
	int opt = family == AF_INET ? IP_TTL : IPV6_UNICAST_HOPS, dflt = -1, ret = 0;

	msg->msg_control = NULL;
	msg->msg_controllen = 0;
	if (setsockopt(u->fd, level, opt, &ttl, sizeof(ttl)) < 0)
		return -errno;
	if (sendmsg(u->fd, msg, MSG_DONTWAIT) < 0)
		ret = -errno;
	setsockopt(u->fd, level, opt, &dflt, sizeof(dflt));
	return ret;
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
	if (ttl > 0 && u->ttl_sockopt)
		return send_with_socket_ttl(u, &msg, to->sa.sa_family, ttl);
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
	if (sendmsg(u->fd, &msg, MSG_DONTWAIT) < 0) {
		if (ttl <= 0 || errno != EINVAL)
			return -errno;
		u->ttl_sockopt = true;
		log_warn("udp: a TTL sent with the datagram is refused: set on the socket instead");
		return send_with_socket_ttl(u, &msg, to->sa.sa_family, ttl);
	}
	return 0;
}
