// SPDX-License-Identifier: MIT
/*
 * Linux TUN backend: /dev/net/tun with IFF_TUN | IFF_NO_PI (and IFF_VNET_HDR with TSO/USO
 * offloads when asked, so the kernel hands over 64 KB superpackets), addresses and MTU through
 * the classic ioctls (IPv6 through struct in6_ifreq), duplicate address detection turned off
 * on the interface because a point-to-point overlay has no neighbours to ask.
 */
#include "dataplane/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"

/* <linux/ipv6.h> clashes with <netinet/in.h>; this is its struct in6_ifreq. */
struct nt_in6_ifreq {
	struct in6_addr addr;
	uint32_t prefixlen;
	int ifindex;
};

static int ifreq_ioctl(int family, unsigned long req, struct ifreq *ifr)
{
	int s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, value, strlen(value)) < 0)
		log_debug(NT_DBG_TUN, "%s: cannot write", path);
	close(fd);
}

/*
 * The virtio header is on; now ask for the offloads, most first: a kernel older than 6.2
 * has no USO, and one without TSO still gives partial checksums (or nothing at all).
 */
static void enable_offloads(struct nt_tun *t)
{
	static const unsigned int tries[] = {
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		TUN_F_CSUM,
	};
	int hdrsz = (int)sizeof(struct virtio_net_hdr), le = 1;

	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdrsz) < 0) {
		log_debug(NT_DBG_TUN, "TUNSETVNETHDRSZ: %s", strerror(errno));
		return;
	}
	/*
	 * Little-endian headers whatever our CPU (offload.h). Refused, a little-endian program
	 * loses nothing (the kernel it runs on is little-endian too); a big-endian one cannot
	 * know the kernel's order, so it asks for no offload and every header stays zero.
	 */
	if (ioctl(t->fd, TUNSETVNETLE, &le) < 0) {
		if (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__) {
			log_warn("TUNSETVNETLE refused: no TUN offloads on this big-endian CPU");
			return;
		}
		log_debug(NT_DBG_TUN, "TUNSETVNETLE: %s", strerror(errno));
	}
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0) {
			t->offloads = tries[i];
			return;
		}
		log_debug(NT_DBG_TUN, "TUNSETOFFLOAD 0x%x: %s", tries[i], strerror(errno));
	}
}

int nt_tun_open(struct nt_tun *t, const char *name, unsigned int mtu, enum nt_tun_offload off,
		bool multi_queue)
{
	short mq = multi_queue ? IFF_MULTI_QUEUE : 0;
	struct ifreq ifr;
	char path[128];
	int ret;

	memset(t, 0, sizeof(*t));
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (off == NT_TUN_OFFLOAD_ON) {
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR | mq;
		if (ioctl(t->fd, TUNSETIFF, &ifr) == 0) {
			t->vnet = true;
			enable_offloads(t);
		} else if (errno != EINVAL) {
			ret = -errno;
			goto err_close;
		}
	}
	if (!t->vnet) {
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | mq;
		if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
			ret = -errno;
			goto err_close;
		}
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	t->multi_queue = multi_queue;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	ifr.ifr_mtu = (int)mtu;
	ret = ifreq_ioctl(AF_INET, SIOCSIFMTU, &ifr);
	if (ret < 0)
		goto err_close;
	t->mtu = mtu;
	ret = ifreq_ioctl(AF_INET, SIOCGIFINDEX, &ifr);
	if (ret < 0)
		goto err_close;
	t->ifindex = ifr.ifr_ifindex;

	/*
	 * A point-to-point overlay has no routers or neighbours to ask: no duplicate address
	 * detection, no router solicitations, no router advertisements taken from members.
	 */
	static const char *const quiet[] = { "accept_dad", "dad_transmits", "router_solicitations",
					      "accept_ra" };
	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++) {
		snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", t->name, quiet[i]);
		write_sysctl(path, "0");
	}
	return 0;

err_close:
	close(t->fd);
	t->fd = -1;
	return ret;
}

static int address_ioctl(struct nt_tun *t, const struct nt_cidr *c, bool add)
{
	if (c->family == AF_INET) {
		struct ifreq ifr;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
		uint32_t mask = c->prefix ? htonl(0xffffffffU << (32 - c->prefix)) : 0;
		int ret;

		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
		sin->sin_family = AF_INET;
		if (!add) {
			/* Setting 0.0.0.0 removes the interface's primary IPv4 address. */
			return ifreq_ioctl(AF_INET, SIOCSIFADDR, &ifr);
		}
		memcpy(&sin->sin_addr, c->addr, 4);
		ret = ifreq_ioctl(AF_INET, SIOCSIFADDR, &ifr);
		if (ret < 0)
			return ret;
		sin->sin_addr.s_addr = mask;
		return ifreq_ioctl(AF_INET, SIOCSIFNETMASK, &ifr);
	}
	if (c->family == AF_INET6) {
		struct nt_in6_ifreq r;
		int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		int ret = 0;

		if (s < 0)
			return -errno;
		memset(&r, 0, sizeof(r));
		memcpy(&r.addr, c->addr, 16);
		r.prefixlen = c->prefix;
		r.ifindex = t->ifindex;
		if (ioctl(s, add ? SIOCSIFADDR : SIOCDIFADDR, &r) < 0)
			ret = -errno;
		close(s);
		return ret;
	}
	return -EAFNOSUPPORT;
}

int nt_tun_add_address(struct nt_tun *t, const struct nt_cidr *c)
{
	return address_ioctl(t, c, true);
}

int nt_tun_del_address(struct nt_tun *t, const struct nt_cidr *c)
{
	return address_ioctl(t, c, false);
}

/* Appends an attribute to the netlink message at msg (cap bytes in all, the header first). */
static void nl_attr(void *msg, size_t cap, unsigned short type, const void *data, size_t len)
{
	struct nlmsghdr *nh = msg;
	struct rtattr *rta = (struct rtattr *)((char *)msg + NLMSG_ALIGN(nh->nlmsg_len));

	if (NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len) > cap)
		return;
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_SPACE(len);
}

/* One route request, answered by the kernel's acknowledgement: 0 or its -errno. */
static int route_request(struct nt_tun *t, const struct nt_cidr *c, bool add)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	union {
		struct nlmsghdr nh;
		char buf[512];
	} ack;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int oif = t->ifindex, fd, ret;
	ssize_t n;

	if (c->family != AF_INET && c->family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
	req.nh.nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* Never over a route the host has (a LAN it is on, the user's own): -EEXIST instead. */
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.nh.nlmsg_seq = 1;
	req.rt.rtm_family = (unsigned char)c->family;
	req.rt.rtm_dst_len = c->prefix;
	req.rt.rtm_table = RT_TABLE_MAIN;
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = add ? (c->family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE) : RT_SCOPE_NOWHERE;
	req.rt.rtm_type = RTN_UNICAST;
	nl_attr(&req, sizeof(req), RTA_DST, c->addr, c->family == AF_INET ? 4 : 16);
	nl_attr(&req, sizeof(req), RTA_OIF, &oif, sizeof(oif));
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	n = recv(fd, &ack, sizeof(ack), 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	ret = -EPROTO;
	if (NLMSG_OK(&ack.nh, (size_t)n) && ack.nh.nlmsg_type == NLMSG_ERROR &&
	    ack.nh.nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
		ret = ((struct nlmsgerr *)NLMSG_DATA(&ack.nh))->error;
out:
	close(fd);
	return ret;
}

int nt_tun_add_route(struct nt_tun *t, const struct nt_cidr *c)
{
	return route_request(t, c, true);
}

int nt_tun_del_route(struct nt_tun *t, const struct nt_cidr *c)
{
	return route_request(t, c, false);
}

int nt_tun_set_up(struct nt_tun *t)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	ret = ifreq_ioctl(AF_INET, SIOCGIFFLAGS, &ifr);
	if (ret < 0)
		return ret;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ifreq_ioctl(AF_INET, SIOCSIFFLAGS, &ifr);
}

int nt_tun_queue_open(const struct nt_tun *t, struct nt_tun *q)
{
	struct ifreq ifr;
	int fd;

	if (!t->multi_queue)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", t->name);
	/* The flags must be the first queue's, or the kernel refuses the attachment. */
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | (t->vnet ? IFF_VNET_HDR : 0);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	*q = *t;
	q->fd = fd;
	return 0;
}

void nt_tun_close(struct nt_tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

ssize_t nt_tun_read(struct nt_tun *t, struct virtio_net_hdr *vh, void *buf, size_t len)
{
	struct iovec iov[2] = { { vh, sizeof(*vh) }, { buf, len } };
	ssize_t n;

	if (!t->vnet) {
		memset(vh, 0, sizeof(*vh));
		n = read(t->fd, buf, len);
		return n < 0 ? -errno : n;
	}
	n = readv(t->fd, iov, 2);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(*vh))
		return -EPROTO;
	return n - (ssize_t)sizeof(*vh);
}

ssize_t nt_tun_write(struct nt_tun *t, const void *buf, size_t len)
{
	static const struct virtio_net_hdr none;
	struct iovec iov[2] = { { (void *)&none, sizeof(none) }, { (void *)buf, len } };
	ssize_t n;

	if (!t->vnet)
		n = write(t->fd, buf, len);
	else
		n = writev(t->fd, iov, 2);
	if (n < 0)
		return -errno;
	return t->vnet ? n - (ssize_t)sizeof(none) : n;
}

ssize_t nt_tun_writev(struct nt_tun *t, const struct iovec *iov, int iovcnt)
{
	ssize_t n = writev(t->fd, iov, iovcnt);

	return n < 0 ? -errno : n;
}
