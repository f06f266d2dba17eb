/* SPDX-License-Identifier: MIT */
/*
 * struct nt_daemon: one node. It owns the event loop and everything registered in it
 * (TUN, UDP socket, timers, signals) and the tables the packet paths read. The work is
 * split by concern:
 *   daemon.c    start-up ladder, reverse-order teardown, the housekeeping tick, status
 *   datapath.c  tun -> route -> encrypt -> udp, and udp -> demux -> decrypt -> tun
 *   tunnel.c    handshakes, peers and their sessions, endpoint hints, control messages
 * Everything runs in the loop thread; nothing here takes a lock.
 */
#ifndef NT_DAEMON_H
#define NT_DAEMON_H

#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/cookie.h"
#include "ledger/dhcp.h"
#include "proto/handshake.h"
#include "netron/netron.h"
#include "dataplane/drop.h"
#include "dataplane/offload.h"
#include "tunnel/peer.h"
#include "core/ratelimit.h"
#include "core/srclimit.h"
#include "core/resolve.h"
#include "dataplane/route.h"
#include "discovery/stun.h"
#include "dataplane/tun.h"
#include "dataplane/udp.h"
#include "dataplane/workers.h"

#ifndef NT_MAX_ATTEMPTS
#define NT_MAX_ATTEMPTS 64 /* handshakes in flight, both roles */
#endif
#ifndef NT_MAX_HINTS
#define NT_MAX_HINTS 512 /* endpoints worth trying */
#endif
#ifndef NT_TICK_MS
#define NT_TICK_MS 100
#endif
#ifndef NT_ANNOUNCE_INTERVAL_MS
#define NT_ANNOUNCE_INTERVAL_MS 30000
#endif
#ifndef NT_HINT_BACKOFF_MAX_MS
#define NT_HINT_BACKOFF_MAX_MS 16000
#endif
#ifndef NT_PEER_DEAD_MS
/* Two missed persistent keepalives and a handshake timeout: the member is gone. */
#define NT_PEER_DEAD_MS (2 * NT_PERSISTENT_KEEPALIVE_MS + NT_REKEY_TIMEOUT_MS)
#endif
#ifndef NT_PEER_IDLE_MS
#define NT_PEER_IDLE_MS (10 * 60 * 1000) /* a member gone this long, with no claim, is forgotten */
#endif
#ifndef NT_PUNCH_TTL
#define NT_PUNCH_TTL 2 /* one hop past our own NAT, not as far as the other's */
#endif
#ifndef NT_PUNCH_DELAY_MS
#define NT_PUNCH_DELAY_MS 250 /* low-TTL punch, then the same INIT at full TTL */
#endif



enum nt_hint_source {
	NT_HINT_CONFIG,
	NT_HINT_PEX,
	NT_HINT_MDNS,
	NT_HINT_DHT,
	NT_HINT_REMEMBERED,
	NT_HINT_LEDGER, /* a host endpoint a member put in its machine claim */
};

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
	uint32_t budget; /* bytes of INITs it may still draw: NT_HINT_BUDGET_UNLIMITED, or paid by who named it */
};
#define NT_HINT_BUDGET_UNLIMITED UINT32_MAX

#ifndef NT_PEERS_PER_SOURCE
#define NT_PEERS_PER_SOURCE 64 /* members one IPv4 address or IPv6 /64 may bring us */
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

struct nt_daemon {
	struct nt_options opts;
	struct nt_config net;
	struct nt_network_keys *keys;
	struct nt_identity *id;
	char hostname[64];
	struct nt_cidr addresses[NT_MAX_ADDRESSES]; /* ours, on the TUN */
	unsigned int n_addresses;

	struct event_base *base;
	struct event *ev_tun, *ev_udp, *ev_udp_out, *ev_tick, *ev_stop;
	struct event *ev_sig[3];
	int stop_fd; /* eventfd: nt_daemon_stop writes, the loop reads */
	pthread_t thread;
	bool thread_running;
	bool tun_open, udp_open;
	struct nt_tun tun;
	struct nt_udp udp;

	struct nt_peer_table peers;
	struct nt_index_table index;
	struct nt_route route;
	struct nt_attempt attempts[NT_MAX_ATTEMPTS];
	struct nt_hint hints[NT_MAX_HINTS];
	struct nt_handshake_local hs_local;
	struct nt_handshake init_hs; /* an INIT is checked here before it may take a slot */
	bool init_hs_ready;
	struct nt_ratelimit_table ratelimit;
	struct nt_srclimit init_limit; /* INITs to an address that never answered: 1/s each */

	/* Relaying: the pairs we forward for, and the relay context of the frame being handled. */
	struct nt_relay_pair relay_pairs[NT_RELAY_PAIRS];
	struct nt_peer *rx_via; /* the frame being handled came through this member's relay */
	uint8_t rx_via_id[32]; /* from this node */
	uint64_t relayed_frames;
	uint64_t reap_ms; /* next look for members to forget */
	uint64_t icmp_window_ms; /* ICMP unreachable replies: start of the current second... */
	unsigned int icmp_in_window; /* ...and how many went out in it */
	uint64_t peer_idle_ms; /* NT_PEER_IDLE_MS, or NETRON_PEER_IDLE_MS for tests */

	/* Packet buffers, allocated once at start. */
	size_t buf_size; /* the largest frame a member may send us */
	uint8_t *buf_mem;
	struct nt_udp_batch rx; /* datagrams, or GRO bundles of them */
	struct nt_udp_txq txq; /* frames waiting for the socket, in GSO runs */
	bool tx_blocked; /* the socket was full: the TUN is not read until it drains */
	uint64_t tx_paused; /* how often that happened */
	uint8_t *tun_buf; /* one packet or superpacket read from the TUN */
	size_t tun_buf_size;
	struct nt_gro gro; /* received TCP segments coalesced before the TUN write */
	uint64_t tun_superpackets, tun_segments; /* read from the TUN, and frames cut from them */
	uint8_t *scratch; /* one buffer for control messages and ICMP replies */
	uint8_t *relay_buf; /* one buffer to wrap a frame for a relay */

	/* nt_daemon_status from another thread: the loop fills the request and signals. */
	struct event *ev_status;
	pthread_mutex_t status_lock;
	pthread_cond_t status_cond;
	struct nt_status *status_out;
	int status_ret;
	bool status_done;

	struct nt_api *api; /* NULL unless --api */
	struct nt_resolver resolver; /* host names of --peer, --bootstrap, --stun */

	/* The ledger (claims.c): address claims, agreement with the members, --dhcp. */
	struct nt_ledger *ledger;
	struct nt_gossip *gossip;
	uint64_t claim_ttl_ms;
	uint64_t gossip_next_ms, claims_next_ms, seal_next_ms;
	bool routes_dirty;
	bool addr_on_tun[NT_MAX_ADDRESSES]; /* addresses[i] is configured on the TUN */
	bool addr_conflict[NT_MAX_ADDRESSES]; /* an earlier claim by another member beats ours */
	struct nt_dhcp dhcp;
	bool dhcp_bound;
	bool dhcp_synced; /* the ledger agreed with a member's once: --dhcp may pick */

	/* NAT (discovery.c): STUN on the one socket, and what we learn of our public address. */
	struct nt_stun stun;
	bool stun_ready;
	union nt_sockaddr reflexive;
	bool has_reflexive;
	uint64_t stun_next_ms;

	/* Discovery (discovery.c): hints for tunnel.c, never trusted before a handshake. */
	struct nt_mdns *mdns;
	int mdns_fd[2]; /* AF_INET, AF_INET6; -1 when not open */
	struct event *ev_mdns[2];
	uint64_t mdns_next_ms, mdns_rejoin_ms;
	bool mdns_fast;
#define NT_DAEMON_HAS_DHT 1 /* d->dht exists (NULL with --dht off) */
	struct nt_dht *dht;
	uint64_t dht_next_ms; /* the engine's next deadline */
	uint64_t dht_announce_ms; /* next announce of the rendezvous info-hash */
	uint64_t dht_search_ms; /* next lookup */
	uint64_t dht_bootstrap_ms; /* next try of the bootstrap list while the table is empty */
	bool dht_bootstrap_waiting; /* some bootstrap names are still being looked up */
	uint64_t remember_ms; /* next save of known DHT nodes and members */

	uint64_t started_ms;
	uint64_t drops[NT_DROP_COUNT];
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t rx_bytes, tx_bytes; /* packets through the TUN, the workers' folded in */
	uint64_t rx_packets, tx_packets; /* the loop thread's own (worker 0) */
	/* Data-plane workers (workers.c): NULL and 1 when the loop does it all. */
	unsigned int n_workers;
	struct nt_workers *wk;
	unsigned int next_lane; /* the worker the next member's sessions go to */
	uint64_t dht_tx_bytes, dht_rx_bytes, mdns_tx_bytes, mdns_rx_bytes;
	uint64_t gossip_tx_bytes, gossip_rx_bytes;
};

/*
 * Test seam (tests/fuzz/fuzz_daemon.c): a node that touches nothing outside its process.
 * Everything nt_daemon_new does (network keys from the token or config, the identity from
 * opts->state_dir, packet buffers, tunnel, ledger and gossip, the DHT engine if opts->dht)
 * except opening the TUN, the UDP socket, the mDNS sockets and the API, and creating loop
 * events. Its descriptors are -1: every send fails and is counted (NT_DROP_UDP_SEND), TUN
 * writes too (NT_DROP_TUN_WRITE), and it needs no privilege. mDNS, the API, --peer,
 * --bootstrap and --stun are ignored (no name is ever looked up) and it runs one data-plane
 * thread. opts->state_dir is required. Free it with nt_daemon_free; never run its loop.
 */
int nt_daemon_new_detached(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err);
/* The housekeeping tick (every timer) at monotonic time now: for a detached node. */
void nt_daemon_tick(struct nt_daemon *d, uint64_t now);

/* Fills a snapshot; call from the loop thread. */
int nt_daemon_status_fill(struct nt_daemon *d, struct nt_status **out);

/* datapath.c */
/* A TUN superpacket cut into frames takes at most this much room in the send queue. */
#define NT_TX_SUPERPACKET_ROOM \
	(NT_GSO_MAX + NT_GSO_MAX_SEGS * (120 + NT_DATA_HEADER_LEN + 1 + NT_DATA_TAG_LEN))
/* After the TUN and the socket are open and the buffers allocated. */
void nt_datapath_init(struct nt_daemon *d);
void nt_datapath_on_tun(evutil_socket_t fd, short what, void *arg);
void nt_datapath_on_udp(evutil_socket_t fd, short what, void *arg);
/* The socket was full (d->tx_blocked) and can take frames again. */
void nt_datapath_on_udp_writable(evutil_socket_t fd, short what, void *arg);
/* Encrypts and sends one plaintext (inner type + body at buf[NT_DATA_HEADER_LEN..]). */
int nt_datapath_send_plain(struct nt_daemon *d, struct nt_peer *p, uint8_t *buf, size_t plain_len);
/* The same, straight to `to` (not p's endpoint or relay); to NULL: as send_plain. */
int nt_datapath_send_plain_to(struct nt_daemon *d, struct nt_peer *p, uint8_t *buf, size_t plain_len,
			      const union nt_sockaddr *to);
/* Handles one datagram by its first byte (also frames unwrapped from a relay). */
void nt_datapath_on_frame(struct nt_daemon *d, uint8_t *buf, size_t len,
			  const union nt_sockaddr *from, uint64_t now);
/* Sends an encrypted frame to p: straight to its endpoint, or wrapped through its relay. */
int nt_datapath_emit(struct nt_daemon *d, struct nt_peer *p, const uint8_t *frame, size_t len);
/* Wraps a frame for target (node ID) in a RELAY message to the member via. */
int nt_datapath_relay_send(struct nt_daemon *d, struct nt_peer *via, const uint8_t target[32],
			   const uint8_t *frame, size_t len);
/* Sends what the peer queued while it had no keypair. */
void nt_datapath_flush_staged(struct nt_daemon *d, struct nt_peer *p);
/* One packet or TSO/USO superpacket from the TUN (or handed over by a worker): sent or staged. */
void nt_datapath_tun_packet(struct nt_daemon *d, const struct virtio_net_hdr *vh,
			    const uint8_t *pkt, size_t len, uint64_t now);
/*
 * An authenticated, fresh frame on kp came from `from` (decrypted here or by a worker): the
 * member's endpoint, session and rekeying follow it.
 */
void nt_datapath_authenticated(struct nt_daemon *d, struct nt_keypair *kp,
			       const union nt_sockaddr *from, bool keepalive, uint64_t now);
/* Writes coalesced TCP segments to the TUN and sends the queued frames. */
void nt_datapath_flush(struct nt_daemon *d);

/* claims.c */
int nt_claims_start(struct nt_daemon *d);
void nt_claims_stop(struct nt_daemon *d);
void nt_claims_tick(struct nt_daemon *d, uint64_t now);
/* A member completed its first handshake with us: its claims count from now on. */
void nt_claims_on_new_member(struct nt_daemon *d);
/* A gossip message arrived from p (control type NT_CTRL_GOSSIP). */
void nt_claims_on_gossip(struct nt_daemon *d, struct nt_peer *p, const uint8_t *buf, size_t len);

/* discovery.c */
int nt_discovery_start(struct nt_daemon *d);
void nt_discovery_stop(struct nt_daemon *d);
void nt_discovery_tick(struct nt_daemon *d, uint64_t now);
/* A datagram whose first byte is 'd' (BitTorrent DHT, bencoded KRPC). */
void nt_discovery_on_dht(struct nt_daemon *d, const uint8_t *buf, size_t len,
			 const union nt_sockaddr *from, uint64_t now);
/* A datagram whose first byte is 0x00 or 0x01: STUN, answered or consumed. */
void nt_discovery_on_stun(struct nt_daemon *d, const uint8_t *buf, size_t len,
			  const union nt_sockaddr *from, uint64_t now);
/* Whether any member has a session with us (discovery slows down then). */
bool nt_tunnel_has_session(struct nt_daemon *d, uint64_t now);

/* tunnel.c */
/*
 * Whether id proved itself a member: it completed a handshake with us, or a member we have
 * a live session with names it in its PEX (it has a session with it).
 */
bool nt_tunnel_knows_member(struct nt_daemon *d, const uint8_t id[32], uint64_t now);
/* A usable session on which the member was heard within NT_PEER_DEAD_MS. */
bool nt_tunnel_peer_is_alive(const struct nt_peer *p, uint64_t now);
/*
 * The peer of a node ID, created (with no endpoint yet) if we did not know it. NULL if full.
 * Call only for an identity that just completed a handshake with us: a peer entry is what
 * makes a member's claims count here.
 */
struct nt_peer *nt_tunnel_peer_get(struct nt_daemon *d, const uint8_t id[32],
				   const union nt_sockaddr *from);
int nt_tunnel_start(struct nt_daemon *d);
void nt_tunnel_stop(struct nt_daemon *d);
void nt_tunnel_tick(struct nt_daemon *d, uint64_t now);
void nt_tunnel_on_handshake(struct nt_daemon *d, uint8_t *buf, size_t len,
			    const union nt_sockaddr *from, uint64_t now);
/* A control message from p (authenticated), which arrived from `from`. */
void nt_tunnel_on_control(struct nt_daemon *d, struct nt_peer *p, uint8_t type,
			  const uint8_t *body, size_t len, const union nt_sockaddr *from, uint64_t now);
/* A data frame for an index we do not know came from there: maybe a restarted peer. */
void nt_tunnel_on_unknown_index(struct nt_daemon *d, const union nt_sockaddr *from, uint64_t now);
/* The TUN had a packet for p, which has no usable keypair. */
void nt_tunnel_want_handshake(struct nt_daemon *d, struct nt_peer *p, uint64_t now);
/* The hint for this endpoint, or NULL. */
struct nt_hint *nt_tunnel_hint_find(struct nt_daemon *d, const union nt_sockaddr *ep);
/*
 * Adds or refreshes an endpoint worth a handshake. budget: the bytes of INITs its naming
 * pays for (4 times the naming input's share; at least one INIT, four at most), or
 * NT_HINT_BUDGET_UNLIMITED for what the operator configured or we remembered. NULL when
 * refused: not a unicast endpoint (unless configured), or no room among the hints this
 * source may replace.
 */
struct nt_hint *nt_tunnel_add_hint(struct nt_daemon *d, enum nt_hint_source src,
				   const union nt_sockaddr *ep, const uint8_t *id, uint32_t budget,
				   uint64_t now);
/*
 * An authenticated frame of p arrived from `from`. proven: it ends a round trip to there (a
 * handshake we answered or began at that address). A new address is followed (roaming)
 * only once it answers a PATH_CHALLENGE; until then nothing that a request draws goes there.
 */
void nt_tunnel_peer_seen_at(struct nt_daemon *d, struct nt_peer *p, const union nt_sockaddr *from,
			    bool proven);

#endif
