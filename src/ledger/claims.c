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
 *     period, and moves on if an earlier claim shows up; the lease is kept in the state dir;
 *   - subnet routes (docs/routes.md): a claim carries the prefixes its owner forwards to
 *     (--advertise-routes); one member is chosen per prefix (ledger/subnets.h), and only with
 *     --accept-routes (or --router, for the default route of the member it names) do we route
 *     those prefixes to it, in the data plane and as kernel routes on the TUN (all of which
 *     is claims_routes.c's). The data plane's source check follows the same table: a member
 *     sends from a prefix only when we route that prefix to it.
 * The ledger runs on the wall clock (claims carry Unix times); everything else is monotonic.
 */
#include "ledger/claims.h"

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
#include "ledger/claims_impl.h"
#include "ledger/gossip.h"
#include "ledger/ledger.h"
#include "core/log.h"
#include "core/netif.h"

#ifndef NT_CLAIM_TTL_MS
#define NT_CLAIM_TTL_MS (6 * 3600 * 1000ULL) /* a lease, renewed at half-life */
#endif
#ifndef NT_CLAIMS_TICK_MS
#define NT_CLAIMS_TICK_MS 1000
#endif

#define MACHINES "machines"

enum { PLAIN_OFF = NT_DATA_HEADER_LEN };

static void gossip_send(void *ctx, uint64_t handle, const uint8_t *buf, size_t len)
{
	struct nt_claims *cl = ctx;
	struct nt_peer *p = (struct nt_peer *)(uintptr_t)handle;
	uint8_t *out = cl->host.dp->scratch;

	/* Summaries and entries are many times the digest that draws them: only to an address
	 * that answered us (a spoofed digest must not aim them at somebody else). */
	if (len + 1 + NT_DATA_OVERHEAD > cl->host.dp->buf_size || (!p->via && !p->ep_proven))
		return;
	out[PLAIN_OFF] = NT_CTRL_GOSSIP;
	memcpy(out + PLAIN_OFF + 1, buf, len);
	if (nt_dataplane_send_plain(cl->host.dp, p, out, len + 1, NULL) == 0)
		cl->gossip_tx_bytes += len + 1 + NT_DATA_OVERHEAD;
}

static void on_ledger_change(void *ctx, const struct nt_ledger_entry *e, enum nt_ledger_change change,
			     bool local)
{
	struct nt_claims *cl = ctx;

	(void)change;
	if (local && cl->gossip) {
		nt_gossip_on_local_change(cl->gossip, e, nt_wall_ms());
		cl->gossip_next_ms = NT_MIN(cl->gossip_next_ms, nt_gossip_deadline(cl->gossip));
	}
	if (e->bucket_len == sizeof(MACHINES) - 1 && !memcmp(e->bucket, MACHINES, e->bucket_len))
		cl->routes_dirty = true;
}

static void check_conflicts(struct nt_claims *cl);

/* Observer: a member completed its first handshake with us; its claims count from now on. */
static void on_joined(void *ctx, struct nt_peer *p)
{
	struct nt_claims *cl = ctx;

	(void)p;
	/* What we refused may pass now; its routes at once, so its first packets are let in. */
	if (!cl->ledger)
		return;
	nt_ledger_forget_refusals(cl->ledger);
	nt_claims_rebuild_routes(cl);
	check_conflicts(cl);
}

/* Observer: member p is about to be freed. */
static void on_gone(void *ctx, struct nt_peer *p)
{
	struct nt_claims *cl = ctx;

	if (p->in_gossip && cl->gossip)
		nt_gossip_peer_remove(cl->gossip, (uint64_t)(uintptr_t)p);
	p->in_gossip = false;
}

/* A gossip message from member p (control type NT_CTRL_GOSSIP). */
static void on_gossip(void *ctx, struct nt_peer *p, uint8_t type, const uint8_t *buf, size_t len,
		      const union nt_sockaddr *from, struct nt_peer *via, uint64_t now)
{
	struct nt_claims *cl = ctx;

	(void)type;
	(void)from;
	(void)via;
	(void)now;
	if (!cl->gossip)
		return;
	cl->gossip_rx_bytes += len + 1 + NT_DATA_OVERHEAD;
	/* It reached us over an authenticated session: it is a gossip peer, even if our tick
	 * has not registered it yet (dropping this would cost a whole digest interval). */
	if (!p->in_gossip)
		p->in_gossip = nt_gossip_peer_add(cl->gossip, (uint64_t)(uintptr_t)p) == 0;
	if (!p->in_gossip)
		return;
	if (nt_gossip_input(cl->gossip, (uint64_t)(uintptr_t)p, buf, len, nt_wall_ms()) < 0)
		nt_dataplane_drop(cl->host.dp, NT_DROP_CONTROL);
	/* What differed brings the next digest round forward. */
	cl->gossip_next_ms = NT_MIN(cl->gossip_next_ms, nt_gossip_deadline(cl->gossip));
}

static const char *addr_text(const struct nt_cidr *c, char *buf, size_t len)
{
	return inet_ntop(c->family, c->addr, buf, (socklen_t)len);
}

/*
 * Where this node can be reached directly: its interface addresses (not the TUN, not
 * loopback, not link-local) with its UDP port. Members behind the same NAT use these.
 */
static json_t *host_endpoints(struct nt_claims *cl)
{
	struct in_addr v4[8];
	struct in6_addr v6[8];
	size_t n4 = 8, n6 = 8;
	json_t *list = json_array();
	char host[INET6_ADDRSTRLEN], ep[INET6_ADDRSTRLEN + 10];

	if (!list || nt_netif_addresses(cl->host.dp->tun.name, v4, &n4, v6, &n6) < 0)
		return list;
	/* At most four: the claim must stay well inside the ledger's value limit. */
	for (size_t i = 0; i < n4 && json_array_size(list) < 4; i++) {
		inet_ntop(AF_INET, &v4[i], host, sizeof(host));
		snprintf(ep, sizeof(ep), "%s:%u", host, cl->host.dp->udp.port);
		json_array_append_new(list, json_string(ep));
	}
	for (size_t i = 0; i < n6 && cl->host.dp->udp.family == AF_INET6 && json_array_size(list) < 4; i++) {
		if (IN6_IS_ADDR_LINKLOCAL(&v6[i]))
			continue;
		inet_ntop(AF_INET6, &v6[i], host, sizeof(host));
		snprintf(ep, sizeof(ep), "[%s]:%u", host, cl->host.dp->udp.port);
		json_array_append_new(list, json_string(ep));
	}
	return list;
}

/*
 * Our machine entry's value: what /api/machines shows of us. Not our ID: the entry's owner is
 * it already (/api/machines' PeerID), and 72 bytes of hex in every claim would be a fifth of
 * what each member's ledger holds for each other member (docs/ledger.md §5).
 */
static size_t machine_value(struct nt_claims *cl, const struct nt_cidr *c, char *out, size_t cap)
{
	struct utsname u;
	json_t *v;
	char *s;
	size_t n = 0;

	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	v = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:o}", "hostname", cl->host.hostname,
		      "os", u.sysname, "arch", u.machine, "version", NT_VERSION, "port", cl->host.dp->udp.port,
		      "prefix", c->prefix, "endpoints", host_endpoints(cl));
	if (!v)
		return 0;
	if (cl->host.opts->n_advertise_routes) {
		json_t *routes = json_array();
		char buf[64];

		for (unsigned int i = 0; i < cl->host.opts->n_advertise_routes; i++)
			json_array_append_new(routes, json_string(nt_cidr_format(&cl->host.opts->advertise_routes[i],
										buf, sizeof(buf))));
		json_object_set_new(v, "routes", routes);
	}
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s && strlen(s) < cap) {
		n = strlen(s);
		memcpy(out, s, n);
	}
	free(s);
	return n;
}

static int claim(struct nt_claims *cl, const struct nt_cidr *c, uint64_t now)
{
	char key[INET6_ADDRSTRLEN], value[768];
	size_t len = machine_value(cl, c, value, sizeof(value));

	if (!len || !addr_text(c, key, sizeof(key)))
		return -EINVAL;
	return nt_ledger_put_local(cl->ledger, cl->host.id, MACHINES, key, value, len, cl->claim_ttl_ms, now, NULL);
}

void nt_claims_contact(const struct nt_ledger_entry *e, struct nt_contact *c)
{
	json_error_t jerr;
	json_t *v, *eps, *x;
	size_t i;

	memset(c, 0, sizeof(*c));
	memcpy(c->id, e->owner, 32);
	v = json_loadb((const char *)e->value, e->value_len, 0, &jerr);
	eps = v ? json_object_get(v, "endpoints") : NULL;
	json_array_foreach(eps, i, x) {
		if (c->n_eps >= NT_CONTACT_EPS)
			break;
		if (!json_is_string(x) || !nt_sockaddr_parse(json_string_value(x), &c->eps[c->n_eps]) ||
		    !nt_sockaddr_is_unicast(&c->eps[c->n_eps]))
			continue;
		c->n_eps++;
	}
	json_decref(v);
}

bool nt_claims_key_in_prefixes(const struct nt_claims *cl, const struct nt_ledger_entry *e,
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
	for (unsigned int i = 0; i < cl->host.opts->n_addresses; i++)
		if (nt_cidr_contains(&cl->host.opts->addresses[i], c.family, c.addr))
			return true;
	return cl->host.opts->dhcp && nt_cidr_contains(&cl->host.opts->dhcp_range, c.family, c.addr);
}

/* The ledger's accept(): an address claim must name an address in our prefixes. */
static bool accept_entry(void *ctx, const struct nt_ledger_entry *e)
{
	if (e->bucket_len != sizeof(MACHINES) - 1 || memcmp(e->bucket, MACHINES, e->bucket_len))
		return true;
	return nt_claims_key_in_prefixes(ctx, e, NULL);
}

/*
 * The ledger refused a claim on a key another owner holds. When the key is one of our
 * addresses, say so: another member wants it (a back-dated claim, or the other side of a
 * partition that gave it out too), and we keep it because we held it first.
 */
static bool on_held(void *ctx, const struct nt_ledger_entry *e)
{
	struct nt_claims *cl = ctx;
	char key[INET6_ADDRSTRLEN + 1], owner[9];
	uint64_t now = nt_now_ms();
	struct nt_cidr c;

	if (e->bucket_len != sizeof(MACHINES) - 1 || memcmp(e->bucket, MACHINES, e->bucket_len) ||
	    !nt_claims_key_in_prefixes(cl, e, &c))
		return true;
	for (unsigned int i = 0; i < cl->n_addresses; i++) {
		if (cl->addresses[i].family != c.family ||
		    memcmp(cl->addresses[i].addr, c.addr, c.family == AF_INET ? 4 : 16) != 0)
			continue;
		/* A member can send this at will: one line a minute. */
		if (cl->held_warned_ms && now - cl->held_warned_ms < 60000)
			break;
		cl->held_warned_ms = now;
		snprintf(key, sizeof(key), "%.*s", (int)e->key_len, e->key);
		log_warnx("member %s says it claimed our address %s before us; refused: we hold it",
			  nt_node_id_short(e->owner, owner), key);
	}
	return true;
}

/*
 * Peer entries exist only for members that completed a handshake with us. A claim alone
 * proves nothing: anyone can sign one with a key minted for the purpose.
 */
bool nt_claims_owner_is_proven(void *ctx, const uint8_t owner[32])
{
	struct nt_claims *cl = ctx;

	return !memcmp(owner, cl->host.id->ed_pk, 32) || nt_tunnel_knows_member(cl->host.tunnel, owner, nt_now_ms());
}

/* A static address: give it up while an earlier claim beats ours, take it back after. */
static void check_conflicts(struct nt_claims *cl)
{
	for (unsigned int i = 0; i < cl->n_addresses; i++) {
		const struct nt_cidr *c = &cl->addresses[i];
		char key[INET6_ADDRSTRLEN], buf[64], holder[9] = "?";
		const uint8_t *owner;
		bool beaten;

		if (cl->host.opts->dhcp && c->family == AF_INET)
			continue; /* the DHCP state machine looks after its own address */
		addr_text(c, key, sizeof(key));
		beaten = nt_ledger_claim_is_beaten(cl->ledger, MACHINES, key, cl->host.id->ed_pk);
		owner = nt_ledger_machine_owner(cl->ledger, key);
		if (owner)
			nt_node_id_short(owner, holder);
		if (beaten && !cl->addr_conflict[i]) {
			cl->addr_conflict[i] = true;
			log_warnx("address conflict: %s is held by member %s, whose claim is earlier; not using it",
				  nt_cidr_format(c, buf, sizeof(buf)), holder);
			if (cl->addr_on_tun[i] && nt_tun_del_address(&cl->host.dp->tun, c) == 0)
				cl->addr_on_tun[i] = false;
		} else if (!beaten && cl->addr_conflict[i]) {
			cl->addr_conflict[i] = false;
			log_info("address %s is ours again", nt_cidr_format(c, buf, sizeof(buf)));
			if (!cl->addr_on_tun[i] && nt_tun_add_address(&cl->host.dp->tun, c) == 0)
				cl->addr_on_tun[i] = true;
		}
	}
}

static void lease_path(const struct nt_claims *cl, char *out, size_t len)
{
	snprintf(out, len, "%s/lease", cl->host.opts->state_dir);
}

static void lease_save(struct nt_claims *cl, const char *addr)
{
	char path[NT_PATH_MAX + 16], tmp[NT_PATH_MAX + 32];
	int fd;

	lease_path(cl, path, sizeof(path));
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
static bool lease_load(struct nt_claims *cl, struct in_addr *out)
{
	char path[NT_PATH_MAX + 16], line[64] = "";
	FILE *f;
	uint32_t a;

	lease_path(cl, path, sizeof(path));
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
	return a >= cl->dhcp.range.first && a - cl->dhcp.range.first < cl->dhcp.range.count;
}

static void dhcp_tick(struct nt_claims *cl, uint64_t now)
{
	struct nt_cidr c = { .family = AF_INET, .prefix = cl->host.opts->dhcp_range.prefix };
	char value[768], buf[64];
	size_t len;
	enum nt_dhcp_state st;

	memcpy(c.addr, &cl->dhcp.addr, 4);
	len = machine_value(cl, &c, value, sizeof(value));
	st = nt_dhcp_step(&cl->dhcp, cl->ledger, cl->host.id, value, len, now, NULL);
	if (st == NT_DHCP_BOUND && !cl->dhcp_bound) {
		memcpy(c.addr, &cl->dhcp.addr, 4);
		if (cl->n_addresses < NT_MAX_ADDRESSES) {
			unsigned int i = cl->n_addresses++;
			cl->addresses[i] = c;
			cl->addr_on_tun[i] = nt_tun_add_address(&cl->host.dp->tun, &c) == 0;
		}
		cl->dhcp_bound = true;
		lease_save(cl, cl->dhcp.addr_text);
		log_info("dhcp: %s is ours (interface %s)", nt_cidr_format(&c, buf, sizeof(buf)), cl->host.dp->tun.name);
	} else if (st != NT_DHCP_BOUND && cl->dhcp_bound) {
		/* An earlier claim showed up: give the address up, pick again. */
		for (unsigned int i = 0; i < cl->n_addresses; i++) {
			if (cl->addresses[i].family != AF_INET)
				continue;
			log_warnx("dhcp: lost %s to an earlier claim; picking another",
				  nt_cidr_format(&cl->addresses[i], buf, sizeof(buf)));
			if (cl->addr_on_tun[i])
				nt_tun_del_address(&cl->host.dp->tun, &cl->addresses[i]);
			cl->addresses[i] = cl->addresses[--cl->n_addresses];
			cl->addr_on_tun[i] = cl->addr_on_tun[cl->n_addresses];
			break;
		}
		cl->dhcp_bound = false;
	}
}

#ifndef NT_SYNC_WAIT_MS
#define NT_SYNC_WAIT_MS 3000 /* alone this long (or unsynced ten times as long): claim */
#endif

/*
 * We claim an address (--address) or pick one (--dhcp) only once we know the claims: when
 * we know what a member holds (their digests agree, or a summary came a second ago and what
 * we lacked has been fetched), or after a while alone (the first member of a network has
 * nobody to ask). A claim made before would race claims we had not heard of yet, and a
 * holder's earlier claim arriving after ours would look back-dated (the ledger keeps the
 * first holder it saw): the newcomer would keep an address another member holds.
 */
static bool ledger_synced(struct nt_claims *cl, uint64_t mono)
{
	uint64_t before = nt_wall_ms() - 1000;

	if (cl->synced)
		return true;
	for (unsigned int i = 0; i < cl->host.dp->peers.count; i++) {
		struct nt_peer *p = cl->host.dp->peers.peers[i];

		if (p->in_gossip && nt_gossip_peer_has_summarized(cl->gossip, (uint64_t)(uintptr_t)p, before)) {
			cl->synced = true;
			return true;
		}
	}
	if (mono - cl->host.started_ms >= (nt_tunnel_has_session(cl->host.tunnel, mono) ? 10 : 1) * NT_SYNC_WAIT_MS) {
		cl->synced = true;
		log_info("ledger: no member's ledger to agree with yet: claiming from what we know");
	}
	return cl->synced;
}

/* Our --address claims, once we know the others' (ledger_synced). */
static void claim_static(struct nt_claims *cl, uint64_t now)
{
	char buf[64];
	int ret;

	for (unsigned int i = 0; i < cl->n_addresses; i++) {
		if (cl->host.opts->dhcp && cl->addresses[i].family == AF_INET)
			continue;
		ret = claim(cl, &cl->addresses[i], now);
		if (ret < 0)
			log_warnx("ledger: cannot claim %s: %s", nt_cidr_format(&cl->addresses[i], buf, sizeof(buf)),
				  strerror(-ret));
	}
	cl->static_claimed = true;
}

static void sync_gossip_peers(struct nt_claims *cl, uint64_t mono)
{
	for (unsigned int i = 0; i < cl->host.dp->peers.count; i++) {
		struct nt_peer *p = cl->host.dp->peers.peers[i];
		bool up = !p->dead && nt_session_keypair_for_send(&p->session, mono) != NULL;

		if (up && !p->in_gossip) {
			p->in_gossip = nt_gossip_peer_add(cl->gossip, (uint64_t)(uintptr_t)p) == 0;
			cl->gossip_next_ms = 0; /* a digest to the new member at once */
		} else if (!up && p->in_gossip) {
			nt_gossip_peer_remove(cl->gossip, (uint64_t)(uintptr_t)p);
			p->in_gossip = false;
		}
	}
}

void nt_claims_tick(struct nt_claims *cl, uint64_t mono)
{
	uint64_t now = nt_wall_ms();

	if (!cl->ledger)
		return;
	sync_gossip_peers(cl, mono);
	if (now >= cl->claims_next_ms) {
		cl->claims_next_ms = now + NT_CLAIMS_TICK_MS;
		nt_ledger_expire(cl->ledger, now);
		nt_ledger_refresh_local(cl->ledger, cl->host.id, now);
		if (!cl->static_claimed && ledger_synced(cl, mono))
			claim_static(cl, now);
		if (cl->host.opts->dhcp && ledger_synced(cl, mono))
			dhcp_tick(cl, now);
		check_conflicts(cl);
	}
	if (now >= cl->seal_next_ms) {
		nt_ledger_seal(cl->ledger, now);
		cl->seal_next_ms = now + cl->host.seal_interval_ms;
	}
	if (now >= cl->gossip_next_ms)
		cl->gossip_next_ms = nt_gossip_tick(cl->gossip, now);
	if (cl->routes_dirty) {
		nt_claims_rebuild_routes(cl);
		check_conflicts(cl);
	}
}

/*
 * A packet for an address whose holder we have no session with (sessions on demand): kept
 * while the holder is dialled at the endpoints its claim lists. False when nobody (or we)
 * holds the address: the data plane answers unreachable.
 */
static bool on_no_route(void *ctx, int family, const uint8_t *dst, const uint8_t *pkt, size_t len,
			uint64_t now)
{
	struct nt_claims *cl = ctx;
	char key[INET6_ADDRSTRLEN];
	const struct nt_ledger_entry *e;
	struct nt_contact c;
	bool fresh;

	if (!cl->ledger || !inet_ntop(family, dst, key, sizeof(key)))
		return false;
	e = nt_ledger_get(cl->ledger, MACHINES, key);
	if (!e) {
		/* Inside a subnet we accepted: dial the member that forwards it. */
		const struct nt_subnet_offer *o = nt_claims_routes_lookup(cl, family, dst);

		e = o ? nt_ledger_get(cl->ledger, MACHINES, o->key) : NULL;
		if (e && memcmp(e->owner, o->owner, 32))
			e = NULL;
	}
	if (!e || e->flags || !memcmp(e->owner, cl->host.id->ed_pk, 32))
		return false;
	if (!nt_tunnel_pend(cl->host.tunnel, e->owner, pkt, len, now, &fresh)) {
		nt_dataplane_drop(cl->host.dp, NT_DROP_NO_ROUTE); /* a dial is on; the sender retries */
		return true;
	}
	if (fresh) {
		struct nt_contact via[NT_PENDING_VIA];
		size_t out[NT_PENDING_VIA];
		unsigned int m = 0, k = 0;

		nt_claims_contact(e, &c);
		/* Its own neighbors keep sessions with it: they can relay if we cannot punch through. */
		if (!cl->routes_dirty)
			m = nt_neighbors_pick(e->owner, (const uint8_t(*)[32])cl->owners, cl->n_owners,
					      NT_PENDING_VIA, out);
		for (unsigned int i = 0; i < m; i++) {
			const struct nt_ledger_entry *x =
				nt_ledger_get(cl->ledger, MACHINES, cl->owner_keys[out[i]]);

			if (x && !x->flags && !memcmp(x->owner, cl->owners[out[i]], 32))
				nt_claims_contact(x, &via[k++]);
		}
		nt_tunnel_dial_for(cl->host.tunnel, &c, via, k, now);
	}
	return true;
}

/*
 * A clean exit gives our addresses back at once (a tombstone pushed to the members we have
 * sessions with), instead of leaving them held until the lease runs out.
 */
static void release(struct nt_claims *cl)
{
	uint64_t now = nt_wall_ms();
	char key[INET6_ADDRSTRLEN], buf[64];

	for (unsigned int i = 0; i < cl->n_addresses; i++) {
		if (!addr_text(&cl->addresses[i], key, sizeof(key)) ||
		    nt_ledger_delete_local(cl->ledger, cl->host.id, MACHINES, key, now) < 0)
			continue;
		log_info("released %s", nt_cidr_format(&cl->addresses[i], buf, sizeof(buf)));
	}
}

/* Puts our configured addresses on the TUN (a detached node has none). */
static int addresses_up(struct nt_claims *cl, struct nt_err *err)
{
	struct nt_dataplane *dp = cl->host.dp;
	char buf[64];
	int ret;

	for (unsigned int i = 0; i < cl->n_addresses && dp->tun_open; i++) {
		nt_cidr_format(&cl->addresses[i], buf, sizeof(buf));
		ret = nt_tun_add_address(&dp->tun, &cl->addresses[i]);
		if (ret < 0) {
			snprintf(err->msg, sizeof(err->msg), "cannot add %s to %s: %s", buf,
				 dp->tun.name, strerror(-ret));
			return ret;
		}
		cl->addr_on_tun[i] = true;
		log_info("interface %s: %s, mtu %u", dp->tun.name, buf, dp->tun.mtu);
	}
	if (!cl->n_addresses && dp->tun_open)
		log_info("interface %s: mtu %u, address to come from --dhcp", dp->tun.name, dp->tun.mtu);
	return 0;
}

/* --dhcp: the state machine, and the address of our last lease asked for again. */
static int dhcp_start(struct nt_claims *cl, uint64_t now)
{
	const struct nt_options *o = cl->host.opts;
	struct in_addr lease;
	char range[64];
	int ret;

	nt_cidr_format(&o->dhcp_range, range, sizeof(range));
	ret = nt_dhcp_init(&cl->dhcp, range, cl->host.id->ed_pk, 0, cl->claim_ttl_ms);
	if (ret < 0)
		return ret;
	if (lease_load(cl, &lease)) {
		/* Ask for the address we had: claim it and let it settle like any pick. */
		struct nt_cidr c = { .family = AF_INET, .prefix = o->dhcp_range.prefix };

		memcpy(c.addr, &lease, 4);
		if (claim(cl, &c, now) == 0) {
			cl->dhcp.addr = lease;
			inet_ntop(AF_INET, &lease, cl->dhcp.addr_text, sizeof(cl->dhcp.addr_text));
			cl->dhcp.state = NT_DHCP_CLAIMED;
			cl->dhcp.settle_until = now + cl->dhcp.settle_ms;
			log_info("dhcp: asking again for %s, our last lease", cl->dhcp.addr_text);
		}
	}
	log_info("dhcp: picking an address in %s", range);
	return 0;
}

int nt_claims_start(struct nt_claims *cl, const struct nt_claims_host *host, struct nt_err *err)
{
	const struct nt_options *o = host->opts;
	struct nt_ledger_cfg lc = {
		.capacity = o->ledger_capacity,
		/* Half the room is kept for address claims: no other bucket can crowd them out. */
		.reserve_bucket = MACHINES,
		/* A node holds NT_MAX_ADDRESSES at most (an IPv4 and an IPv6 one, as a rule). */
		.reserve_per_owner = NT_MAX_ADDRESSES,
		.reserve_slots = (o->ledger_capacity ? o->ledger_capacity : NT_LEDGER_DEFAULT_CAPACITY) / 2,
		.max_ttl_ms = NT_CLAIM_MAX_TTL_MS,
		.on_change = on_ledger_change,
		.accept = accept_entry,
		.proven = nt_claims_owner_is_proven,
		.on_held = on_held,
		.ctx = cl,
	};
	struct nt_gossip_cfg gc = {
		.max_peers = host->dp->peers.cap,
		.max_msg = 1200,
		.send = gossip_send,
		.ctx = cl,
	};
	uint64_t now = nt_wall_ms();
	int ret;

	cl->host = *host;
	for (unsigned int i = 0; i < o->n_addresses && i < NT_MAX_ADDRESSES; i++)
		cl->addresses[cl->n_addresses++] = o->addresses[i];
	ret = addresses_up(cl, err);
	if (ret < 0)
		return ret;
	cl->claim_ttl_ms = o->claim_ttl_s ? (uint64_t)o->claim_ttl_s * 1000 : NT_CLAIM_TTL_MS;
	ret = nt_ledger_new(&cl->ledger, &lc);
	if (ret == 0)
		ret = nt_gossip_new(&cl->gossip, cl->ledger, &gc);
	if (ret < 0) {
		snprintf(err->msg, sizeof(err->msg), "ledger: %s", strerror(-ret));
		return ret;
	}
	if (o->dhcp && (ret = dhcp_start(cl, now)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "dhcp: %s", strerror(-ret));
		return ret;
	}
	if (nt_tunnel_members_observe(host->tunnel, true, on_joined, cl) < 0 ||
	    nt_tunnel_members_observe(host->tunnel, false, on_gone, cl) < 0) {
		snprintf(err->msg, sizeof(err->msg), "ledger: no room for another member observer");
		return -ENOSPC;
	}
	nt_dataplane_set_control(host->dp, NT_CTRL_GOSSIP, on_gossip, cl);
	nt_dataplane_set_no_route(host->dp, on_no_route, cl);
	cl->routes_dirty = true;
	return 0;
}

void nt_claims_stop(struct nt_claims *cl)
{
	nt_claims_routes_stop(cl);
	free(cl->owners);
	free(cl->owner_keys);
	cl->owners = NULL;
	cl->owner_keys = NULL;
	cl->n_owners = 0;
	if (cl->host.dp) {
		nt_dataplane_set_control(cl->host.dp, NT_CTRL_GOSSIP, NULL, NULL);
		nt_dataplane_set_no_route(cl->host.dp, NULL, NULL);
	}
	if (cl->ledger && cl->gossip)
		release(cl);
	nt_gossip_free(cl->gossip);
	cl->gossip = NULL;
	nt_ledger_free(cl->ledger);
	cl->ledger = NULL;
}

unsigned int nt_claims_addresses(void *ctx, struct nt_cidr *out, unsigned int max)
{
	struct nt_claims *cl = ctx;
	unsigned int n = 0;

	for (; n < cl->n_addresses && n < max; n++)
		out[n] = cl->addresses[n];
	return n;
}

void nt_claims_status(struct nt_claims *cl, struct nt_status *s)
{
	memcpy(s->addresses, cl->addresses, sizeof(s->addresses));
	s->n_addresses = cl->n_addresses;
	if (cl->ledger) {
		struct nt_ledger_stats ls;
		uint8_t hash[NT_LEDGER_HASH_LEN];

		nt_ledger_state_hash(cl->ledger, hash);
		nt_hex_encode(s->ledger_state, hash, sizeof(hash));
		nt_ledger_stats_get(cl->ledger, &ls);
		s->ledger_entries = ls.entries;
		s->ledger_capacity = ls.capacity;
		s->ledger_refused = ls.verdicts[NT_LEDGER_REJ_FULL];
	}
	for (unsigned int i = 0; i < cl->n_addresses; i++)
		if (cl->addr_conflict[i])
			s->conflicts[s->n_conflicts++] = cl->addresses[i];
	s->dhcp_pending = cl->host.opts->dhcp && !cl->dhcp_bound;
	nt_claims_routes_status(cl, s);
	s->gossip_tx_bytes = cl->gossip_tx_bytes;
	s->gossip_rx_bytes = cl->gossip_rx_bytes;
}
