/* SPDX-License-Identifier: MIT */
/*
 * Where a member is reached, and proof that it receives there (QUIC's path validation): an
 * authenticated frame from a new address moves nothing until that address answers a
 * PATH_CHALLENGE with the PATH_RESPONSE; a handshake proves the address its round trip went
 * to; a relay's delivery makes the relay the path while the direct one is silent. Until an
 * address has proven a round trip, nothing a request draws is sent there.
 */
#ifndef NT_TUNNEL_PATH_H
#define NT_TUNNEL_PATH_H

#include "tunnel/types.h"

/*
 * An authenticated frame of p arrived from `from`, through the relay via (NULL: directly).
 * proven: it ends a round trip to `from` (a handshake we answered or began at that address).
 */
void nt_tunnel_path_seen(struct nt_tunnel *t, struct nt_peer *p, const union nt_sockaddr *from,
			 struct nt_peer *via, bool proven);
/* Whether p's address answered us (or p is reached through a relay): replies may go there. */
bool nt_tunnel_path_is_proven(const struct nt_peer *p);
/* The PATH_CHALLENGE / PATH_RESPONSE control handler (dataplane.h, nt_dp_control_fn). */
void nt_tunnel_path_on_control(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *body,
			       size_t len, const union nt_sockaddr *from, struct nt_peer *via,
			       uint64_t now);

#endif
