/* SPDX-License-Identifier: MIT */
/*
 * Why a packet or datagram was dropped: every module of the packet path counts its drops
 * by these reasons, and the API and /metrics show them by name (docs/api.md).
 */
#ifndef NT_DROP_H
#define NT_DROP_H

/* Why a packet was dropped: counted, shown by the API and /metrics. */
enum nt_drop_reason {
	NT_DROP_UNKNOWN_TYPE,
	NT_DROP_TRUNCATED,
	NT_DROP_HANDSHAKE,
	NT_DROP_RATELIMIT,
	NT_DROP_UNKNOWN_INDEX,
	NT_DROP_DATA_AUTH,
	NT_DROP_DATA_REPLAY,
	NT_DROP_DATA_OTHER,
	NT_DROP_NO_ROUTE,
	NT_DROP_SPOOFED_SOURCE,
	NT_DROP_NOT_IP,
	NT_DROP_TUN_WRITE,
	NT_DROP_UDP_SEND,
	NT_DROP_CONTROL,
	NT_DROP_RELAY_REFUSED, /* relaying is off here, or its limits are reached */
	NT_DROP_TUN_OFFLOAD, /* a TUN superpacket whose virtio header does not fit the packet */
	NT_DROP_OVERSIZED, /* a datagram longer than the largest frame a member may send */
	NT_DROP_COUNT
};
const char *nt_drop_reason_name(enum nt_drop_reason r);

#endif
