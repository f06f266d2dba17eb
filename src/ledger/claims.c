// SPDX-License-Identifier: MIT
/*
 * Who owns which VPN address, agreed by all members (DESIGN §7, docs/ledger.md):
 *   - each node claims its addresses in bucket "machines" (key: the address as text, value:
 *     a small JSON with its node ID, name, OS, arch, version and port), signed, with a TTL,
 *     refreshed before it runs out; a departed node's claims expire everywhere;
 *   - the ledger gossips over the encrypted sessions (control type GOSSIP): digests, pulls,
 *     and pushes of every change;
 *   - the routes of the tunnel are the winning claims: the earliest claim of an address wins,
 *     ties to the lower node ID; a static node whose claim is beaten gives the address up
 *     and says so, and takes it back if the winner leaves;
 *   - --dhcp picks a free address deterministically per node, claims it, waits a settle
 *     period, and moves on if an earlier claim shows up; the lease is kept in the state dir.
 * The ledger runs on the wall clock (claims carry Unix times); everything else is monotonic.
 */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "proto/control.h"
#include "ledger/gossip.h"
#include "ledger/ledger.h"
#include "core/log.h"
#include "core/netif.h"

#ifndef NT_CLAIM_TTL_MS
#define NT_CLAIM_TTL_MS 120000
#endif
#ifndef NT_CLAIMS_TICK_MS
#define NT_CLAIMS_TICK_MS 1000
#endif

#define MACHINES "machines"

enum { PLAIN_OFF = NT_DATA_HEADER_LEN };

static void gossip_send(void *ctx, uint64_t handle, const uint8_t *buf, size_t len)
{
	struct nt_daemon *d = ctx;
	struct nt_peer *p = (struct nt_peer *)(uintptr_t)handle;
	uint8_t *out = d->scratch;

	/* Summaries and entries are many times the digest that draws them: only to an address
	 * that answered us (a spoofed digest must not aim them at somebody else). */
	if (len + 1 + NT_DATA_OVERHEAD > d->buf_size || (!p->via && !p->ep_proven))
		return;
	out[PLAIN_OFF] = NT_CTRL_GOSSIP;
	memcpy(out + PLAIN_OFF + 1, buf, len);
	if (nt_datapath_send_plain(d, p, out, len + 1) == 0)
		d->gossip_tx_bytes += len + 1 + NT_DATA_OVERHEAD;
}

static void on_ledger_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change change,
			     bool local)
{
	struct nt_daemon *d = ctx;

	(void)change;
	if (local && d->gossip)
		nt_gossip_on_local_change(d->gossip, e, nt_wall_ms());
	if (e->bucket_len == sizeof(MACHINES) - 1 && !memcmp(e->bucket, MACHINES, e->bucket_len))
		d->routes_dirty = true;
}

void nt_claims_on_new_member(struct nt_daemon *d)
{
	/* Its claims count now: routes and conflicts again, and what we refused may pass. */
	d->routes_dirty = true;
	if (d->ledger)
		nt_ledger_forget_refusals(d->ledger);
}

void nt_claims_on_gossip(struct nt_daemon *d, struct nt_peer *p, const uint8_t *buf, size_t len)
{
	if (!d->gossip)
		return;
	d->gossip_rx_bytes += len + 1 + NT_DATA_OVERHEAD;
	/* It reached us over an authenticated session: it is a gossip peer, even if our tick
	 * has not registered it yet (dropping this would cost a whole digest interval). */
	if (!p->in_gossip)
		p->in_gossip = nt_gossip_peer_add(d->gossip, (uint64_t)(uintptr_t)p) == 0;
	if (!p->in_gossip)
		return;
	if (nt_gossip_input(d->gossip, (uint64_t)(uintptr_t)p, buf, len, nt_wall_ms()) < 0)
		d->drops[NT_DROP_CONTROL]++;
}

static const char *addr_text(const struct nt_cidr *c, char *buf, size_t len)
{
	return inet_ntop(c->family, c->addr, buf, (socklen_t)len);
}

/*
 * Where this node can be reached directly: its interface addresses (not the TUN, not
 * loopback, not link-local) with its UDP port. Members behind the same NAT use these.
 */
static json_t *host_endpoints(struct nt_daemon *d)
{
	struct in_addr v4[8];
	struct in6_addr v6[8];
	size_t n4 = 8, n6 = 8;
	json_t *list = json_array();
	char host[INET6_ADDRSTRLEN], ep[INET6_ADDRSTRLEN + 10];

	if (!list || nt_netif_addresses(d->tun.name, v4, &n4, v6, &n6) < 0)
		return list;
	/* At most four: the claim must stay well inside the ledger's value limit. */
	for (size_t i = 0; i < n4 && json_array_size(list) < 4; i++) {
		inet_ntop(AF_INET, &v4[i], host, sizeof(host));
		snprintf(ep, sizeof(ep), "%s:%u", host, d->udp.port);
		json_array_append_new(list, json_string(ep));
	}
	for (size_t i = 0; i < n6 && d->udp.family == AF_INET6 && json_array_size(list) < 4; i++) {
		if (IN6_IS_ADDR_LINKLOCAL(&v6[i]))
			continue;
		inet_ntop(AF_INET6, &v6[i], host, sizeof(host));
		snprintf(ep, sizeof(ep), "[%s]:%u", host, d->udp.port);
		json_array_append_new(list, json_string(ep));
	}
	return list;
}

/* Our machine entry's value: what /api/machines shows of us. */
static size_t machine_value(struct nt_daemon *d, const struct nt_cidr *c, char *out, size_t cap)
{
	struct utsname u;
	char id[65];
	json_t *v;
	char *s;
	size_t n = 0;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	nt_hex_encode(id, d->id->ed_pk, 32);
	v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "id", id, "hostname", d->hostname,
		      "os", u.sysname, "arch", u.machine, "version", NT_VERSION, "port", d->udp.port,
		      "prefix", c->prefix, "endpoints", host_endpoints(d));
	if (!v)
		return 0;
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s && strlen(s) < cap) {
		n = strlen(s);
		memcpy(out, s, n);
	}
	free(s);
	return n;
}

static int claim(struct nt_daemon *d, const struct nt_cidr *c, uint64_t now)
{
	char key[INET6_ADDRSTRLEN], value[768];
	size_t len = machine_value(d, c, value, sizeof(value));

	if (!len || !addr_text(c, key, sizeof(key)))
		return -EINVAL;
	return nt_ledger_put_local(d->ledger, d->id, MACHINES, key, value, len, d->claim_ttl_ms, now, NULL);
}

#ifndef NT_LEDGER_HINTS_EVERY_MS
#define NT_LEDGER_HINTS_EVERY_MS 60000 /* one owner's claimed endpoints, read at most this often */
#endif

/*
 * The host endpoints a member put in its claim are candidates too: members behind the same
 * NAT reach each other only there, since Linux NATs do not hairpin. Only for a member that
 * proved itself in a handshake (p), at most four, only unicast addresses, and at most once a
 * minute per member: a claim cannot aim our handshakes at a third party.
 */
static void add_endpoint_hints(struct nt_daemon *d, struct nt_peer *p, const struct nt_ledger_entry *e)
{
	/* 4 times the claim's size, shared by its (at most four) endpoints. */
	uint32_t budget = (uint32_t)(NT_LEDGER_WIRE_FIXED + e->bucket_len + e->key_len + e->value_len);
	uint64_t now = nt_now_ms();
	json_error_t jerr;
	json_t *v, *eps, *x;
	size_t i;

	if (p->ledger_hints_ms && now - p->ledger_hints_ms < NT_LEDGER_HINTS_EVERY_MS)
		return;
	p->ledger_hints_ms = now;
	v = json_loadb((const char *)e->value, e->value_len, 0, &jerr);
	eps = v ? json_object_get(v, "endpoints") : NULL;
	json_array_foreach(eps, i, x) {
		union nt_sockaddr ep;
		if (i >= 4 || !json_is_string(x) || !nt_sockaddr_parse(json_string_value(x), &ep) ||
		    !nt_sockaddr_is_unicast(&ep))
			continue;
		nt_tunnel_add_hint(d, NT_HINT_LEDGER, &ep, e->owner, budget, now);
	}
	json_decref(v);
}

/* Whether a machines key is an address inside one of the prefixes this node was given. */
static bool key_in_our_prefixes(const struct nt_daemon *d, const struct nt_ledger_entry *e,
				struct nt_cidr *out)
{
	char key[INET6_ADDRSTRLEN + 1];
	struct nt_cidr c = { 0 };

	if (e->key_len >= sizeof(key))
		return false;
	memcpy(key, e->key, e->key_len);
	key[e->key_len] = '\0';
	if (inet_pton(AF_INET, key, c.addr) == 1) {
		c.family = AF_INET;
		c.prefix = 32;
	} else if (inet_pton(AF_INET6, key, c.addr) == 1) {
		c.family = AF_INET6;
		c.prefix = 128;
	} else {
		return false;
	}
	if (out)
		*out = c;
	for (unsigned int i = 0; i < d->opts.n_addresses; i++)
		if (nt_cidr_contains(&d->opts.addresses[i], c.family, c.addr))
			return true;
	return d->opts.dhcp && nt_cidr_contains(&d->opts.dhcp_range, c.family, c.addr);
}

/* The ledger's accept(): an address claim must name an address in our prefixes. */
static bool accept_entry(void *ctx, const struct nt_ledger_entry *e)
{
	if (e->bucket_len != sizeof(MACHINES) - 1 || memcmp(e->bucket, MACHINES, e->bucket_len))
		return true;
	return key_in_our_prefixes(ctx, e, NULL);
}

/*
 * The ledger refused a claim on a key another owner holds. When the key is one of our
 * addresses, say so: another member wants it (a back-dated claim, or the other side of a
 * partition that gave it out too), and we keep it because we held it first.
 */
static bool on_held(void *ctx, const struct nt_ledger_entry *e)
{
	static uint64_t warned_ms; /* a member can send this at will: one line a minute */
	struct nt_daemon *d = ctx;
	char key[INET6_ADDRSTRLEN + 1], owner[9];
	uint64_t now = nt_now_ms();
	struct nt_cidr c;

	if (e->bucket_len != sizeof(MACHINES) - 1 || memcmp(e->bucket, MACHINES, e->bucket_len) ||
	    !key_in_our_prefixes(d, e, &c))
		return true;
	for (unsigned int i = 0; i < d->n_addresses; i++) {
		if (d->addresses[i].family != c.family ||
		    memcmp(d->addresses[i].addr, c.addr, c.family == AF_INET ? 4 : 16) != 0)
			continue;
		if (warned_ms && now - warned_ms < 60000)
			break;
		warned_ms = now;
		snprintf(key, sizeof(key), "%.*s", (int)e->key_len, e->key);
		log_warnx("member %s says it claimed our address %s before us; refused: we hold it",
			  nt_node_id_short(e->owner, owner), key);
	}
	return true;
}

/*
 * The ledger's proven(): it is us, we completed a handshake with this owner (peer entries
 * exist only for those), or a member we have a session with says it has one (PEX). A claim
 * alone proves nothing: anyone can sign one with a key minted for the purpose.
 */
static bool owner_is_proven(void *ctx, const uint8_t owner[32])
{
	struct nt_daemon *d = ctx;

	return !memcmp(owner, d->id->ed_pk, 32) || nt_tunnel_knows_member(d, owner, nt_now_ms());
}

/* Rebuilds the route table from the winning claims. */
struct rebuild_ctx {
	struct nt_daemon *d;
	unsigned int routes;
};

static bool add_claim_route(void *arg, const struct nt_ledger_entry *e)
{
	struct rebuild_ctx *rc = arg;
	struct nt_daemon *d = rc->d;
	struct nt_cidr c;
	struct nt_peer *p;

	if (e->flags || !memcmp(e->owner, d->id->ed_pk, 32))
		return true;
	/* An address in our prefixes (anything else routes nowhere), of a proven member. */
	if (!key_in_our_prefixes(d, e, &c))
		return true;
	p = nt_peer_lookup(&d->peers, e->owner);
	if (!p)
		return true;
	add_endpoint_hints(d, p, e);
	if (nt_route_add(&d->route, c.family, c.addr, p) == 0) {
		rc->routes++;
		if (p->n_addresses < NT_MAX_ADDRESSES)
			p->addresses[p->n_addresses++] = c;
	}
	return true;
}

static void rebuild_routes(struct nt_daemon *d)
{
	struct rebuild_ctx rc = { .d = d };
	uint8_t hash[NT_LEDGER_HASH_LEN];
	char hex[17];

	nt_route_clear(&d->route);
	nt_workers_changed(d);
	for (unsigned int i = 0; i < d->peers.count; i++)
		d->peers.peers[i]->n_addresses = 0;
	nt_ledger_foreach(d->ledger, MACHINES, add_claim_route, &rc);
	d->routes_dirty = false;
	nt_ledger_state_hash(d->ledger, hash);
	nt_hex_encode(hex, hash, 8);
	log_debug(NT_DBG_LEDGER, "ledger: %u routes from the claims, state %s", rc.routes, hex);
}

/* A static address: give it up while an earlier claim beats ours, take it back after. */
static void check_conflicts(struct nt_daemon *d)
{
	for (unsigned int i = 0; i < d->n_addresses; i++) {
		const struct nt_cidr *c = &d->addresses[i];
		char key[INET6_ADDRSTRLEN], buf[64], holder[9] = "?";
		const uint8_t *owner;
		bool beaten;

		if (d->opts.dhcp && c->family == AF_INET)
			continue; /* the DHCP state machine looks after its own address */
		addr_text(c, key, sizeof(key));
		beaten = nt_ledger_claim_is_beaten(d->ledger, MACHINES, key, d->id->ed_pk);
		owner = nt_ledger_machine_owner(d->ledger, key);
		if (owner)
			nt_node_id_short(owner, holder);
		if (beaten && !d->addr_conflict[i]) {
			d->addr_conflict[i] = true;
			log_warnx("address conflict: %s is held by member %s, whose claim is earlier; not using it",
				  nt_cidr_format(c, buf, sizeof(buf)), holder);
			if (d->addr_on_tun[i] && nt_tun_del_address(&d->tun, c) == 0)
				d->addr_on_tun[i] = false;
		} else if (!beaten && d->addr_conflict[i]) {
			d->addr_conflict[i] = false;
			log_info("address %s is ours again", nt_cidr_format(c, buf, sizeof(buf)));
			if (!d->addr_on_tun[i] && nt_tun_add_address(&d->tun, c) == 0)
				d->addr_on_tun[i] = true;
		}
	}
}

static void lease_path(const struct nt_daemon *d, char *out, size_t len)
{
	snprintf(out, len, "%s/lease", d->opts.state_dir);
}

static void lease_save(struct nt_daemon *d, const char *addr)
{
	char path[NT_PATH_MAX + 16], tmp[NT_PATH_MAX + 32];
	int fd;

	lease_path(d, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (dprintf(fd, "%s\n", addr) < 0 || fsync(fd) < 0) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) < 0)
		unlink(tmp);
}

/* The address of the last lease, if it is in the range: the first one to try again. */
static bool lease_load(struct nt_daemon *d, struct in_addr *out)
{
	char path[NT_PATH_MAX + 16], line[64] = "";
	FILE *f;
	uint32_t a;

	lease_path(d, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	if (inet_pton(AF_INET, line, out) != 1)
		return false;
	a = ntohl(out->s_addr);
	return a >= d->dhcp.range.first && a - d->dhcp.range.first < d->dhcp.range.count;
}

static void dhcp_tick(struct nt_daemon *d, uint64_t now)
{
	struct nt_cidr c = { .family = AF_INET, .prefix = d->opts.dhcp_range.prefix };
	char value[768], buf[64];
	size_t len;
	enum nt_dhcp_state st;

	memcpy(c.addr, &d->dhcp.addr, 4);
	len = machine_value(d, &c, value, sizeof(value));
	st = nt_dhcp_step(&d->dhcp, d->ledger, d->id, value, len, now, NULL);
	if (st == NT_DHCP_BOUND && !d->dhcp_bound) {
		memcpy(c.addr, &d->dhcp.addr, 4);
		if (d->n_addresses < NT_MAX_ADDRESSES) {
			unsigned int i = d->n_addresses++;
			d->addresses[i] = c;
			d->addr_on_tun[i] = nt_tun_add_address(&d->tun, &c) == 0;
		}
		d->dhcp_bound = true;
		lease_save(d, d->dhcp.addr_text);
		log_info("dhcp: %s is ours (interface %s)", nt_cidr_format(&c, buf, sizeof(buf)), d->tun.name);
	} else if (st != NT_DHCP_BOUND && d->dhcp_bound) {
		/* An earlier claim showed up: give the address up, pick again. */
		for (unsigned int i = 0; i < d->n_addresses; i++) {
			if (d->addresses[i].family != AF_INET)
				continue;
			log_warnx("dhcp: lost %s to an earlier claim; picking another",
				  nt_cidr_format(&d->addresses[i], buf, sizeof(buf)));
			if (d->addr_on_tun[i])
				nt_tun_del_address(&d->tun, &d->addresses[i]);
			d->addresses[i] = d->addresses[--d->n_addresses];
			d->addr_on_tun[i] = d->addr_on_tun[d->n_addresses];
			break;
		}
		d->dhcp_bound = false;
	}
}

#ifndef NT_DHCP_SYNC_WAIT_MS
#define NT_DHCP_SYNC_WAIT_MS 3000 /* alone this long (or unsynced ten times as long): pick */
#endif

/*
 * --dhcp picks only once it knows the claims: when it knows what a member holds (their
 * digests agree, or a summary came a second ago and what we lacked has been fetched), or
 * after a while alone (the first member of a network has nobody to ask). A pick made
 * before would race claims it had not heard of yet.
 */
static bool dhcp_may_pick(struct nt_daemon *d, uint64_t mono)
{
	uint64_t before = nt_wall_ms() - 1000;

	if (d->dhcp_synced)
		return true;
	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];

		if (p->in_gossip && nt_gossip_peer_has_summarized(d->gossip, (uint64_t)(uintptr_t)p, before)) {
			d->dhcp_synced = true;
			return true;
		}
	}
	if (mono - d->started_ms >= (nt_tunnel_has_session(d, mono) ? 10 : 1) * NT_DHCP_SYNC_WAIT_MS) {
		d->dhcp_synced = true;
		log_info("dhcp: no member's ledger to agree with yet: picking from what we know");
	}
	return d->dhcp_synced;
}

static void sync_gossip_peers(struct nt_daemon *d, uint64_t mono)
{
	for (unsigned int i = 0; i < d->peers.count; i++) {
		struct nt_peer *p = d->peers.peers[i];
		bool up = nt_session_keypair_for_send(&p->session, mono) != NULL;

		if (up && !p->in_gossip) {
			p->in_gossip = nt_gossip_peer_add(d->gossip, (uint64_t)(uintptr_t)p) == 0;
			d->gossip_next_ms = 0; /* a digest to the new member at once */
		} else if (!up && p->in_gossip) {
			nt_gossip_peer_remove(d->gossip, (uint64_t)(uintptr_t)p);
			p->in_gossip = false;
		}
	}
}

void nt_claims_tick(struct nt_daemon *d, uint64_t mono)
{
	uint64_t now = nt_wall_ms();

	if (!d->ledger)
		return;
	sync_gossip_peers(d, mono);
	if (now >= d->claims_next_ms) {
		d->claims_next_ms = now + NT_CLAIMS_TICK_MS;
		nt_ledger_expire(d->ledger, now);
		nt_ledger_refresh_local(d->ledger, d->id, now);
		if (d->opts.dhcp && dhcp_may_pick(d, mono))
			dhcp_tick(d, now);
		check_conflicts(d);
	}
	if (now >= d->seal_next_ms) {
		nt_ledger_seal(d->ledger, now);
		d->seal_next_ms = now + (uint64_t)d->net.otp_dht.interval * 1000;
	}
	if (now >= d->gossip_next_ms)
		d->gossip_next_ms = nt_gossip_tick(d->gossip, now);
	if (d->routes_dirty) {
		rebuild_routes(d);
		check_conflicts(d);
	}
}

int nt_claims_start(struct nt_daemon *d)
{
	struct nt_ledger_cfg lc = {
		.capacity = d->opts.ledger_capacity,
		/* Half the room is kept for address claims: no other bucket can crowd them out. */
		.reserve_bucket = MACHINES,
		/* A node holds NT_MAX_ADDRESSES at most (an IPv4 and an IPv6 one, as a rule). */
		.reserve_per_owner = NT_MAX_ADDRESSES,
		.reserve_slots = (d->opts.ledger_capacity ? d->opts.ledger_capacity :
							    NT_LEDGER_DEFAULT_CAPACITY) / 2,
		.on_change = on_ledger_change,
		.accept = accept_entry,
		.proven = owner_is_proven,
		.on_held = on_held,
		.ctx = d,
	};
	struct nt_gossip_cfg gc = {
		.max_peers = NT_MAX_PEERS,
		.max_msg = 1200,
		.send = gossip_send,
		.ctx = d,
	};
	uint64_t now = nt_wall_ms();
	char buf[64], range[64];
	int ret;

	d->claim_ttl_ms = d->opts.claim_ttl_s ? (uint64_t)d->opts.claim_ttl_s * 1000 : NT_CLAIM_TTL_MS;
	ret = nt_ledger_new(&d->ledger, &lc);
	if (ret < 0)
		return ret;
	ret = nt_gossip_new(&d->gossip, d->ledger, &gc);
	if (ret < 0)
		return ret;
	for (unsigned int i = 0; i < d->n_addresses; i++) {
		ret = claim(d, &d->addresses[i], now);
		if (ret < 0) {
			log_warnx("cannot claim %s: %s", nt_cidr_format(&d->addresses[i], buf, sizeof(buf)),
				  strerror(-ret));
			return ret;
		}
	}
	if (d->opts.dhcp) {
		struct in_addr lease;
		nt_cidr_format(&d->opts.dhcp_range, range, sizeof(range));
		ret = nt_dhcp_init(&d->dhcp, range, d->id->ed_pk, 0, d->claim_ttl_ms);
		if (ret < 0)
			return ret;
		if (lease_load(d, &lease)) {
			/* Ask for the address we had: claim it and let it settle like any pick. */
			struct nt_cidr c = { .family = AF_INET, .prefix = d->opts.dhcp_range.prefix };
			memcpy(c.addr, &lease, 4);
			if (claim(d, &c, now) == 0) {
				d->dhcp.addr = lease;
				inet_ntop(AF_INET, &lease, d->dhcp.addr_text, sizeof(d->dhcp.addr_text));
				d->dhcp.state = NT_DHCP_CLAIMED;
				d->dhcp.settle_until = now + d->dhcp.settle_ms;
				log_info("dhcp: asking again for %s, our last lease", d->dhcp.addr_text);
			}
		}
		log_info("dhcp: picking an address in %s", range);
	}
	d->routes_dirty = true;
	return 0;
}

void nt_claims_stop(struct nt_daemon *d)
{
	nt_gossip_free(d->gossip);
	d->gossip = NULL;
	nt_ledger_free(d->ledger);
	d->ledger = NULL;
}
