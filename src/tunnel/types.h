/* SPDX-License-Identifier: MIT */
/*
 * The tunnel's state, shared by its parts (the members' lifecycle, path validation, hints,
 * announcements, handshakes, relays: one file each, tunnel.c drives them): struct nt_tunnel,
 * the handshake attempts, the endpoint hints and the relay pairs. Everything in it belongs
 * to the loop thread. Other layers use tunnel.h.
 */
#ifndef NT_TUNNEL_TYPES_H
#define NT_TUNNEL_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "core/ratelimit.h"
#include "core/srclimit.h"
#include "core/util.h"
#include "dataplane/dataplane.h"
#include "netron/keys.h"
#include "netron/options.h"
#include "proto/handshake.h"
#include "tunnel/neighbors.h"

struct nt_resolver;

#ifndef NT_MAX_HINTS
#define NT_MAX_HINTS 512 /* endpoints worth trying */
#endif
#ifndef NT_LINKS_MS
#define NT_LINKS_MS 30000 /* our links are read again this often */
#endif
#ifndef NT_ANNOUNCE_INTERVAL_MS
#define NT_ANNOUNCE_INTERVAL_MS 30000
#endif
#ifndef NT_HINT_BACKOFF_MAX_MS
#define NT_HINT_BACKOFF_MAX_MS 16000
#endif
#ifndef NT_HINT_TTL_MS
#define NT_HINT_TTL_MS (10 * 60 * 1000) /* a discovered endpoint not seen again is dropped */
#endif
#ifndef NT_PEER_IDLE_MS
#define NT_PEER_IDLE_MS (10 * 60 * 1000) /* a member gone this long, with no claim, is forgotten */
#endif
#ifndef NT_PEERS_PER_SOURCE
#define NT_PEERS_PER_SOURCE 64 /* members one IPv4 address or IPv6 /64 may bring us */
#endif
#ifndef NT_PUNCH_TTL
#define NT_PUNCH_TTL 2 /* one hop past our own NAT, not as far as the other's */
#endif
#ifndef NT_PUNCH_DELAY_MS
#define NT_PUNCH_DELAY_MS 250 /* low-TTL punch, then the same INIT at full TTL */
#endif
#ifndef NT_RELAY_AFTER_MS
#define NT_RELAY_AFTER_MS 3000 /* punching this long without a session: try a relay */
#endif
#ifndef NT_RELAY_PAIRS
#define NT_RELAY_PAIRS 64 /* member pairs one node relays for at once */
#endif
#ifndef NT_RELAY_PPS
#define NT_RELAY_PPS 20000 /* frames per second relayed for one member (burst: 1 s worth) */
#endif
#ifndef NT_RECONNECT_MAX_MS
#define NT_RECONNECT_MAX_MS 30000
#endif
#ifndef NT_IDLE_SESSION_MS
#define NT_IDLE_SESSION_MS (5 * 60 * 1000) /* a session nobody needs is let go after this */
#endif
#ifndef NT_MIN_SESSIONS
#define NT_MIN_SESSIONS 2 /* below this many live sessions, every endpoint we heard of is tried */
#endif
#ifndef NT_NEIGHBOR_REDIAL_MS
#define NT_NEIGHBOR_REDIAL_MS 30000 /* a neighbor with no session is dialled again this often */
#endif
#ifndef NT_PENDING
#define NT_PENDING 16 /* members being dialled for traffic, each with a few packets waiting */
#endif
#ifndef NT_PENDING_PKTS
#define NT_PENDING_PKTS 4
#endif
#ifndef NT_PENDING_MS
#define NT_PENDING_MS 5000 /* a dial that has not answered by then drops its packets */
#endif
#define NT_CONTACT_EPS 4
#ifndef NT_HS_ATTEMPT_TIMEOUT_MS
#define NT_HS_ATTEMPT_TIMEOUT_MS NT_REKEY_TIMEOUT_MS
#endif

enum nt_hint_source {
	NT_HINT_CONFIG,
	NT_HINT_PEX,
	NT_HINT_MDNS,
	NT_HINT_DHT,
	NT_HINT_REMEMBERED,
	NT_HINT_LEDGER, /* a host endpoint a member put in its machine claim */
};

#define NT_HINT_BUDGET_UNLIMITED UINT32_MAX

struct nt_hint {
	bool used;
	enum nt_hint_source source;
	union nt_sockaddr endpoint;
	uint8_t id[32]; /* expected node ID, when the source told it */
	bool id_known;
	char id_prefix[17]; /* hex prefix of the node ID (mDNS tells only that), "" if unknown */
	uint64_t next_try_ms;
	uint32_t backoff_ms;
	uint64_t expires_ms; /* 0 = never (configured peers) */
	char config_name[NT_HOSTPORT_MAX]; /* configured "host:port", resolved again on failure */
	struct nt_peer *told_by; /* the member whose PEX named it: our relay if punching fails */
	uint64_t created_ms;
	uint64_t relay_next_ms; /* next relayed handshake attempt */
	uint32_t budget; /* bytes of INITs it may still draw: UNLIMITED, or paid by who named it */
};

struct nt_relay_pair {
	struct nt_peer *src, *dst;
	uint64_t last_ms;
};

struct nt_attempt {
	bool used;
	bool initiator;
	bool open; /* toward an endpoint from an open source (DHT, mDNS): see attempt_alloc */
	uint32_t local_index;
	union nt_sockaddr endpoint;
	struct nt_peer *peer; /* initiator: the peer being rekeyed, if known */
	uint64_t started_ms;
	uint64_t last_sent_ms;
	uint64_t last_sent_us; /* the same, finer: for the round-trip time */
	unsigned int tries;
	/*
	 * A hole punch: the INIT went out first with a low TTL (it opens our own NAT's mapping
	 * but dies before the other side's router, where an early arrival could leave a
	 * conntrack entry that blocks that router's mapping for good); the same INIT follows
	 * at full TTL when resend_ms comes.
	 */
	uint8_t init_msg[NT_HS_INIT_LEN];
	uint64_t resend_ms; /* 0 = nothing to resend */
	struct nt_peer *via; /* relayed handshake: through this member... */
	uint8_t via_target[32]; /* ...to (initiator) or from (responder) this node */
	bool hs_ready; /* hs has its secret block (allocated on first use) */
	struct nt_handshake hs;
};

/* A member and where its claim says it may be reached: what a dial needs. */
struct nt_contact {
	uint8_t id[32];
	union nt_sockaddr eps[NT_CONTACT_EPS];
	unsigned int n_eps;
};

#define NT_PENDING_VIA 2

/* Packets for a member we are dialling (sessions on demand). */
struct nt_pending {
	bool used;
	uint8_t id[32];
	/* Its neighbors (they keep sessions with it): the relays if it cannot be reached directly. */
	struct nt_contact via[NT_PENDING_VIA];
	unsigned int n_via;
	uint64_t started_ms, relay_ms; /* monotonic: the dial began; next relayed attempt */
	uint64_t expires_ms;
	unsigned int count;
	uint16_t len[NT_PENDING_PKTS];
	uint8_t *buf; /* NT_PENDING_PKTS slots of slot bytes, allocated while used */
	size_t slot;
};

/* Told of a member: it completed its first handshake with us, or it is about to be freed. */
typedef void nt_tunnel_member_fn(void *ctx, struct nt_peer *p);

/* What the tunnel needs from the node, given at start. Everything must outlive it. */
struct nt_tunnel_host {
	const struct nt_options *opts;
	const struct nt_identity *id;
	const struct nt_network_keys *keys;
	struct nt_dataplane *dp;
	struct nt_resolver *resolver; /* --peer names, looked up in the background */
	const char *hostname;
	/* Our VPN addresses (for ANNOUNCE): up to max into out; returns how many. */
	unsigned int (*addresses)(void *ctx, struct nt_cidr *out, unsigned int max);
	void *ctx;
};

#define NT_TUNNEL_OBSERVERS 8 /* of each kind; a node registers 4 "gone" and 1 "joined" */

struct nt_tunnel {
	struct nt_tunnel_host host;
	struct nt_dataplane *dp; /* host.dp */
	struct nt_handshake_local hs_local;
	struct nt_handshake init_hs; /* an INIT is checked here before it may take a slot */
	bool init_hs_ready;
	struct nt_ratelimit_table ratelimit; /* handshake load, and buckets for cookie-proven sources */
	struct nt_srclimit init_limit; /* INITs to an address that never answered: 1/s each */
	struct nt_attempt attempts[NT_MAX_ATTEMPTS];
	struct nt_hint hints[NT_MAX_HINTS];
	struct nt_relay_pair relay_pairs[NT_RELAY_PAIRS];
	uint64_t handshakes_ok, handshakes_failed, relayed_frames;
	uint64_t reap_ms; /* next look for members to forget */
	uint64_t peer_idle_ms; /* NT_PEER_IDLE_MS, or NETRON_PEER_IDLE_MS for tests */
	uint64_t idle_session_ms; /* NT_IDLE_SESSION_MS, or NETRON_IDLE_SESSION_MS for tests */
	unsigned int n_dead; /* members marked dead, freed at the end of the tick */
	struct {
		nt_tunnel_member_fn *fn;
		void *ctx;
	} joined[NT_TUNNEL_OBSERVERS], gone[NT_TUNNEL_OBSERVERS];
	unsigned int n_joined, n_gone;
	struct nt_ratelimit rl_hs, rl_relay; /* log throttles, per node (log.h) */
	/* Sessions on demand (demand.c): the neighbors we keep, the members we dial for traffic. */
	struct nt_contact neighbors[NT_NEIGHBORS_MAX];
	unsigned int n_neighbors;
	unsigned int k_neighbors; /* how many we keep: opts, or NT_NEIGHBORS_DEFAULT */
	bool neighbors_known; /* the members we know (the ledger) allowed a full choice */
	uint64_t redial_ms; /* next dial of neighbors without a session */
	struct ifaddrs *links; /* our links (getifaddrs), read every NT_LINKS_MS; may be NULL */
	uint64_t links_ms; /* next read of links */
	struct nt_pending pending[NT_PENDING];
	uint64_t room_warned_ms; /* "no room for a new member": once a minute */
};

static inline uint64_t nt_tunnel_jitter(uint64_t ms)
{
	/* Up to a quarter more, so members that lost each other do not retry in lockstep. */
	return ms + randombytes_uniform((uint32_t)(ms / 4 + 1));
}

#endif
