// SPDX-License-Identifier: MIT
/*
 * The names of the drop reasons, as the API, /metrics and `netron status` show them.
 */
#include "dataplane/drop.h"

static const char *const drop_names[NT_DROP_COUNT] = {
	[NT_DROP_UNKNOWN_TYPE] = "unknown_type",
	[NT_DROP_TRUNCATED] = "truncated",
	[NT_DROP_HANDSHAKE] = "handshake_invalid",
	[NT_DROP_RATELIMIT] = "ratelimited",
	[NT_DROP_UNKNOWN_INDEX] = "unknown_index",
	[NT_DROP_DATA_AUTH] = "data_auth",
	[NT_DROP_DATA_REPLAY] = "data_replay",
	[NT_DROP_DATA_OTHER] = "data_malformed",
	[NT_DROP_NO_ROUTE] = "no_route",
	[NT_DROP_SPOOFED_SOURCE] = "spoofed_source",
	[NT_DROP_NOT_IP] = "not_ip",
	[NT_DROP_TUN_WRITE] = "tun_write",
	[NT_DROP_UDP_SEND] = "udp_send",
	[NT_DROP_CONTROL] = "control_invalid",
	[NT_DROP_RELAY_REFUSED] = "relay_refused",
	[NT_DROP_TUN_OFFLOAD] = "tun_offload",
	[NT_DROP_OVERSIZED] = "oversized",
};

const char *nt_drop_reason_name(enum nt_drop_reason r)
{
	return r < NT_DROP_COUNT ? drop_names[r] : "?";
}
