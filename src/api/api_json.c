// SPDX-License-Identifier: MIT
/*
 * JSON documents of the HTTP API (DESIGN §10), built with jansson from snapshots.
 * EdgeVPN-compatible shapes: /api/summary (Files, Machines, Users, Services, BlockChain,
 * OnChainNodes, Peers, NodeID), /api/machines (PeerID, Hostname, OS, Arch, Version,
 * Address, ...), /api/ledger ({bucket: {key: value}}) and /api/blockchain (the newest
 * block: Index, Timestamp, Hash, PrevHash). Netron's own fields are snake_case, and
 * /api/peers, /api/dht are Netron's. Every builder returns a new reference or NULL when
 * out of memory; callers own the result.
 */
#include "api/api_json.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/util.h"
#include "dataplane/drop.h"
#include "discovery/dht.h"
#include "ledger/ledger.h"
#include "names/names.h"
#include "ledger/subnets.h"

const char *nt_api_rfc3339(uint64_t unix_ms, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;

	if (len)
		buf[0] = '\0';
	if (!unix_ms || !gmtime_r(&t, &tm))
		return buf;
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(unix_ms % 1000));
	return buf;
}

const char *nt_api_path_name(enum nt_path p)
{
	switch (p) {
	case NT_PATH_DIRECT:
		return "direct";
	case NT_PATH_LAN:
		return "lan";
	case NT_PATH_RELAYED:
		return "relayed";
	case NT_PATH_NONE:
		break;
	}
	return "none";
}

const char *nt_api_go_arch(const char *m)
{
	static const struct {
		const char *uname, *go;
	} map[] = {
		{ "x86_64", "amd64" }, { "aarch64", "arm64" }, { "i686", "386" },
		{ "i386", "386" },     { "armv7l", "arm" },    { "armv6l", "arm" },
		{ "riscv64", "riscv64" }, { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
	};

	for (size_t i = 0; i < NT_ARRAY_SIZE(map); i++)
		if (!strcmp(m, map[i].uname))
			return map[i].go;
	return m;
}

/* json_object_set_new that remembers a failure instead of leaking or crashing. */
static void set(json_t *o, const char *k, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(o, k, v) < 0)
		*ok = false;
}

static json_t *addresses_json(const struct nt_cidr *a, unsigned int n)
{
	json_t *arr = json_array();
	char buf[64];

	for (unsigned int i = 0; arr && i < n && i < NT_MAX_ADDRESSES; i++) {
		if (json_array_append_new(arr, json_string(nt_cidr_format(&a[i], buf, sizeof(buf)))) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The address part only ("10.1.0.2"), as EdgeVPN's Machine.Address. */
static const char *first_ip(const struct nt_cidr *a, unsigned int n, char *buf, size_t len)
{
	buf[0] = '\0';
	if (n && !inet_ntop(a[0].family, a[0].addr, buf, (socklen_t)len))
		buf[0] = '\0';
	return buf;
}

static json_t *hex_id(const uint8_t id[32])
{
	char hex[65];

	nt_hex_encode(hex, id, 32);
	return json_string(hex);
}

struct count_ctx {
	json_int_t n;
};

static bool count_cb(void *ctx, const struct nt_ledger_entry *e)
{
	(void)e;
	((struct count_ctx *)ctx)->n++;
	return true;
}

static json_int_t bucket_count(const struct nt_ledger *l, const char *bucket)
{
	struct count_ctx c = { 0 };

	if (l)
		nt_ledger_foreach(l, bucket, count_cb, &c);
	return c.n;
}

static unsigned int connected_count(const struct nt_status *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < s->n_peers; i++)
		n += s->peers[i].connected;
	return n;
}

/* The same kinds as /metrics' netron_memory_bytes, plus the whole resident set. */
static json_t *memory_json(const struct nt_memory_status *m)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	set(o, "heap", json_integer((json_int_t)m->heap), &ok);
	set(o, "packet_buffers", json_integer((json_int_t)m->packet_buffers), &ok);
	set(o, "ledger", json_integer((json_int_t)m->ledger), &ok);
	set(o, "tables", json_integer((json_int_t)m->tables), &ok);
	set(o, "libraries", json_integer((json_int_t)m->libraries), &ok);
	set(o, "resident", json_integer((json_int_t)m->resident), &ok);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

static json_t *offload_json(const struct nt_offload_status *f)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	set(o, "tun_vnet", json_boolean(f->tun_vnet), &ok);
	set(o, "tun_tso", json_boolean(f->tun_tso), &ok);
	set(o, "tun_uso", json_boolean(f->tun_uso), &ok);
	set(o, "udp_gso", json_boolean(f->udp_gso), &ok);
	set(o, "udp_gro", json_boolean(f->udp_gro), &ok);
	set(o, "tun_superpackets", json_integer((json_int_t)f->tun_superpackets), &ok);
	set(o, "tun_segments", json_integer((json_int_t)f->tun_segments), &ok);
	set(o, "udp_gso_sends", json_integer((json_int_t)f->udp_gso_sends), &ok);
	set(o, "udp_gso_fallbacks", json_integer((json_int_t)f->udp_gso_fallbacks), &ok);
	set(o, "udp_gro_receives", json_integer((json_int_t)f->udp_gro_receives), &ok);
	set(o, "udp_gro_frames", json_integer((json_int_t)f->udp_gro_frames), &ok);
	set(o, "tun_coalesced_writes", json_integer((json_int_t)f->tun_coalesced_writes), &ok);
	set(o, "tun_coalesced_packets", json_integer((json_int_t)f->tun_coalesced_packets), &ok);
	set(o, "tx_paused", json_integer((json_int_t)f->tx_paused), &ok);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

/* [{"tx_packets": n, "rx_packets": n, "handoffs_lost": n, "waits": n}, ...]: the loop first. */
static json_t *workers_json(const struct nt_status *s)
{
	json_t *a = json_array();
	bool ok = a != NULL;

	for (unsigned int i = 0; ok && i < s->n_workers && i < NT_MAX_WORKERS; i++) {
		const struct nt_worker_status *w = &s->workers[i];
		json_t *o = json_object();

		ok = o != NULL;
		set(o, "tx_packets", json_integer((json_int_t)w->tx_packets), &ok);
		set(o, "rx_packets", json_integer((json_int_t)w->rx_packets), &ok);
		set(o, "handoffs_lost", json_integer((json_int_t)w->handoffs_lost), &ok);
		set(o, "waits", json_integer((json_int_t)w->waits), &ok);
		if (!ok || json_array_append_new(a, o) < 0)
			ok = false;
	}
	if (ok)
		return a;
	json_decref(a);
	return NULL;
}

/* The DNS server (--dns), for /api/summary and `netron status`. */
static json_t *dns_json(const struct nt_dns_status *d)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	set(o, "listen", json_string(d->listen), &ok);
	set(o, "domain", json_string(d->domain), &ok);
	set(o, "members", json_integer(d->members), &ok);
	set(o, "records", json_integer(d->records), &ok);
	set(o, "upstreams", json_integer(d->upstreams), &ok);
	set(o, "queries", json_integer((json_int_t)(d->queries_udp + d->queries_tcp)), &ok);
	set(o, "forwarded", json_integer((json_int_t)(d->results[NT_DNS_RESULT_FORWARDED] +
						       d->results[NT_DNS_RESULT_CACHED])), &ok);
	set(o, "ratelimited", json_integer((json_int_t)d->results[NT_DNS_RESULT_RATELIMITED]), &ok);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

json_t *nt_api_json_summary(const struct nt_status *s, const struct nt_ledger *l,
			    const struct nt_api_self *self)
{
	const struct nt_ledger_block *blk = l ? nt_ledger_block_get(l, 0) : NULL;
	json_t *o = json_object(), *drops = json_object();
	unsigned int connected = connected_count(s);
	bool ok = o && drops;

	if (!ok)
		goto err;
	/* EdgeVPN's fields. */
	set(o, "Files", json_integer(bucket_count(l, "files")), &ok);
	set(o, "Machines",
	    json_integer(l ? bucket_count(l, NT_LEDGER_MACHINES) : (json_int_t)connected + 1), &ok);
	set(o, "Users", json_integer(bucket_count(l, "users")), &ok);
	set(o, "Services", json_integer(bucket_count(l, "services")), &ok);
	/* EdgeVPN counts the blocks of its chain; ours is the newest sealed block's index + 1. */
	set(o, "BlockChain", json_integer(blk ? (json_int_t)blk->index + 1 : 0), &ok);
	set(o, "OnChainNodes", json_integer(bucket_count(l, NT_LEDGER_MACHINES)), &ok);
	set(o, "Peers", json_integer(connected), &ok);
	set(o, "NodeID", hex_id(s->id), &ok);
	/* Netron's. */
	set(o, "node_id", hex_id(s->id), &ok);
	set(o, "id_short", json_string(s->id_short), &ok);
	set(o, "fingerprint", json_string(s->fingerprint), &ok);
	set(o, "hostname", json_string(self->hostname), &ok);
	set(o, "version", json_string(self->version), &ok);
	set(o, "interface", json_string(s->ifname), &ok);
	set(o, "addresses", addresses_json(s->addresses, s->n_addresses), &ok);
	set(o, "listen_port", json_integer(s->listen_port), &ok);
	set(o, "reflexive", json_string(s->reflexive), &ok);
	set(o, "uptime_s", json_integer((json_int_t)(s->uptime_ms / 1000)), &ok);
	set(o, "peers", json_integer(s->n_peers), &ok);
	set(o, "peers_connected", json_integer(connected), &ok);
	set(o, "handshakes_ok", json_integer((json_int_t)s->handshakes_ok), &ok);
	set(o, "handshakes_failed", json_integer((json_int_t)s->handshakes_failed), &ok);
	set(o, "rx_bytes", json_integer((json_int_t)s->rx_bytes), &ok);
	set(o, "tx_bytes", json_integer((json_int_t)s->tx_bytes), &ok);
	for (unsigned int r = 0; r < NT_DROP_COUNT && r < NT_ARRAY_SIZE(s->drops); r++)
		set(drops, nt_drop_reason_name(r), json_integer((json_int_t)s->drops[r]), &ok);
	set(o, "drops", drops, &ok);
	drops = NULL;
	set(o, "offload", offload_json(&s->offload), &ok);
	set(o, "workers", workers_json(s), &ok);
	set(o, "memory", memory_json(&s->memory), &ok);
	set(o, "ledger", json_boolean(l != NULL), &ok);
	if (self->ledger_state)
		set(o, "ledger_state", json_string(self->ledger_state), &ok);
	set(o, "conflicts", addresses_json(self->conflicts, self->n_conflicts), &ok);
	if (s->dns.enabled)
		set(o, "dns", dns_json(&s->dns), &ok);
	set(o, "routes", nt_api_json_routes(s), &ok);
	if (ok)
		return o;
err:
	json_decref(drops);
	json_decref(o);
	return NULL;
}

json_t *nt_api_json_routes(const struct nt_status *s)
{
	json_t *arr = json_array();
	char buf[64], hex[65];

	for (unsigned int i = 0; arr && i < s->n_routes; i++) {
		const struct nt_route_status *r = &s->routes[i];
		json_t *o = json_object();
		bool ok = o != NULL;

		nt_hex_encode(hex, r->via, 32);
		set(o, "prefix", json_string(nt_cidr_format(&r->prefix, buf, sizeof(buf))), &ok);
		set(o, "via", json_string(hex), &ok);
		set(o, "address", json_string(r->address), &ok);
		set(o, "state", json_string(r->chosen ? "chosen" : "standby"), &ok);
		set(o, "accepted", json_boolean(r->accepted), &ok);
		set(o, "ours", json_boolean(r->ours), &ok);
		if (!ok || json_array_append_new(arr, o) < 0) {
			if (!ok)
				json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *peer_json(const struct nt_peer_status *p)
{
	json_t *o = json_object();
	char ts[40];
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	set(o, "id", hex_id(p->id), &ok);
	set(o, "id_short", json_string(p->id_short), &ok);
	set(o, "addresses", addresses_json(p->addresses, p->n_addresses), &ok);
	set(o, "endpoint", p->endpoint[0] ? json_string(p->endpoint) : json_null(), &ok);
	set(o, "path", json_string(nt_api_path_name(p->path)), &ok);
	if (p->path == NT_PATH_RELAYED)
		set(o, "relay_via", hex_id(p->relay_via), &ok);
	set(o, "connected", json_boolean(p->connected), &ok);
	set(o, "rtt_ms", p->rtt_ms ? json_integer(p->rtt_ms) : json_null(), &ok);
	set(o, "rtt_us", p->rtt_us ? json_integer(p->rtt_us) : json_null(), &ok);
	set(o, "rx_bytes", json_integer((json_int_t)p->rx_bytes), &ok);
	set(o, "tx_bytes", json_integer((json_int_t)p->tx_bytes), &ok);
	set(o, "rx_packets", json_integer((json_int_t)p->rx_packets), &ok);
	set(o, "tx_packets", json_integer((json_int_t)p->tx_packets), &ok);
	if (p->last_handshake_unix_ms) {
		set(o, "last_handshake",
		    json_string(nt_api_rfc3339(p->last_handshake_unix_ms, ts, sizeof(ts))), &ok);
		set(o, "last_handshake_unix_ms", json_integer((json_int_t)p->last_handshake_unix_ms),
		    &ok);
	} else {
		set(o, "last_handshake", json_null(), &ok);
		set(o, "last_handshake_unix_ms", json_null(), &ok);
	}
	set(o, "session_age_s", json_integer((json_int_t)(p->session_age_ms / 1000)), &ok);
	set(o, "handshakes", json_integer(p->handshakes), &ok);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

json_t *nt_api_json_peers(const struct nt_status *s)
{
	json_t *arr = json_array();

	for (unsigned int i = 0; arr && i < s->n_peers; i++) {
		if (json_array_append_new(arr, peer_json(&s->peers[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* A string field of a machine claim's JSON value: EdgeVPN's spelling ("Hostname") or
 * Netron's (claims.c: "hostname"), or "". */
static const char *field(json_t *o, const char *edgevpn, const char *netron)
{
	const char *v = json_string_value(json_object_get(o, edgevpn));

	if (!v)
		v = json_string_value(json_object_get(o, netron));
	return v ? v : "";
}

static json_t *machine_json(const char *peer_id_hex, const char *address, const char *hostname,
			    const char *os, const char *arch, const char *version,
			    uint64_t last_seen_ms, bool connected, bool onchain)
{
	json_t *o = json_object();
	char ts[40];
	bool ok = o != NULL;

	if (!ok)
		return NULL;
	set(o, "PeerID", json_string(peer_id_hex), &ok);
	set(o, "Hostname", json_string(hostname), &ok);
	set(o, "OS", json_string(os), &ok);
	set(o, "Arch", json_string(arch), &ok);
	set(o, "Address", json_string(address), &ok);
	set(o, "Version", json_string(version), &ok);
	set(o, "Connected", json_boolean(connected), &ok);
	set(o, "OnChain", json_boolean(onchain), &ok);
	set(o, "Online", json_boolean(connected), &ok);
	set(o, "LastSeen", json_string(nt_api_rfc3339(last_seen_ms, ts, sizeof(ts))), &ok);
	if (ok)
		return o;
	json_decref(o);
	return NULL;
}

struct machines_ctx {
	const struct nt_status *s;
	json_t *arr;
	bool ok;
	const struct nt_names *names;
};

static bool machines_cb(void *ctx, const struct nt_ledger_entry *e)
{
	struct machines_ctx *m = ctx;
	const struct nt_status *s = m->s;
	json_t *v = json_loadb((const char *)e->value, e->value_len, JSON_REJECT_DUPLICATES, NULL);
	bool connected = !memcmp(e->owner, s->id, 32);
	uint64_t seen = connected ? nt_wall_ms() : 0;
	char hex[65], os[32], name[256], buf[64];
	struct nt_cidr routes[NT_MAX_ADVERTISED_ROUTES];
	json_t *o, *list;
	int n;

	for (unsigned int i = 0; i < s->n_peers; i++) {
		if (!memcmp(s->peers[i].id, e->owner, 32)) {
			connected = s->peers[i].connected;
			seen = s->peers[i].last_handshake_unix_ms;
		}
	}
	if (!seen)
		seen = e->claimed_at;
	nt_hex_encode(hex, e->owner, 32);
	/* uname's sysname ("Linux") and machine ("x86_64") in Go's spelling, as EdgeVPN's. */
	snprintf(os, sizeof(os), "%s", field(v, "OS", "os"));
	for (char *c = os; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	o = machine_json(hex, e->key, field(v, "Hostname", "hostname"), os,
			 nt_api_go_arch(field(v, "Arch", "arch")), field(v, "Version", "version"), seen,
			 connected, true);
	if (o && nt_names_name_of(m->names, e->owner, name, sizeof(name)))
		json_object_set_new(o, "dns_name", json_string(name));
	/* The subnets it advertises, as its claim lists them (none when the list is invalid). */
	n = nt_subnet_decode(e->value, e->value_len, NULL, 0, routes, NT_MAX_ADVERTISED_ROUTES);
	if (o && (list = json_array()) != NULL) {
		for (int i = 0; i < n; i++)
			json_array_append_new(list, json_string(nt_cidr_format(&routes[i], buf, sizeof(buf))));
		json_object_set_new(o, "Routes", list);
	}
	if (json_array_append_new(m->arr, o) < 0)
		m->ok = false;
	json_decref(v);
	return m->ok;
}

json_t *nt_api_json_machines(const struct nt_status *s, const struct nt_ledger *l,
			     const struct nt_api_self *self, const struct nt_names *names)
{
	json_t *arr = json_array();
	char hex[65], ip[INET6_ADDRSTRLEN];

	if (!arr)
		return NULL;
	if (l) {
		struct machines_ctx m = { s, arr, true, names };

		nt_ledger_foreach(l, NT_LEDGER_MACHINES, machines_cb, &m);
		if (!m.ok)
			goto err;
		return arr;
	}
	nt_hex_encode(hex, s->id, 32);
	if (json_array_append_new(arr, machine_json(hex, first_ip(s->addresses, s->n_addresses, ip,
								     sizeof(ip)),
						    self->hostname, self->os, self->arch,
						    self->version, nt_wall_ms(), true, false)) < 0)
		goto err;
	for (unsigned int i = 0; i < s->n_peers; i++) {
		const struct nt_peer_status *p = &s->peers[i];

		if (!p->connected)
			continue;
		nt_hex_encode(hex, p->id, 32);
		if (json_array_append_new(arr, machine_json(hex, first_ip(p->addresses, p->n_addresses,
									  ip, sizeof(ip)),
							    "", "", "", "", p->last_handshake_unix_ms,
							    true, false)) < 0)
			goto err;
	}
	return arr;
err:
	json_decref(arr);
	return NULL;
}

json_t *nt_api_json_value(const uint8_t *v, size_t len)
{
	json_t *s = json_stringn((const char *)v, len);
	char *b64;
	size_t b64_len;

	/* jansson refuses invalid UTF-8; such values (and embedded NULs) go out as base64. */
	if (s && !memchr(v, 0, len))
		return s;
	json_decref(s);
	b64_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64_len);
	if (!b64)
		return NULL;
	sodium_bin2base64(b64, b64_len, v, len, sodium_base64_VARIANT_ORIGINAL);
	s = json_pack("{s:s}", "base64", b64);
	free(b64);
	return s;
}

struct ledger_ctx {
	json_t *root; /* {bucket: {key: value}} or {key: value} */
	bool by_bucket;
	bool ok;
};

static bool ledger_cb(void *ctx, const struct nt_ledger_entry *e)
{
	struct ledger_ctx *c = ctx;
	json_t *target = c->root;

	if (c->by_bucket) {
		target = json_object_get(c->root, e->bucket);
		if (!target) {
			target = json_object();
			if (!target || json_object_set_new(c->root, e->bucket, target) < 0) {
				c->ok = false;
				return false;
			}
		}
	}
	set(target, e->key, nt_api_json_value(e->value, e->value_len), &c->ok);
	return c->ok;
}

json_t *nt_api_json_ledger(const struct nt_ledger *l, const char *bucket, const char *key)
{
	struct ledger_ctx c = { NULL, bucket == NULL, true };
	const struct nt_ledger_entry *e;

	if (key) {
		e = l ? nt_ledger_get(l, bucket, key) : NULL;
		if (!e || (e->flags & NT_LEDGER_F_TOMBSTONE))
			return NULL;
		return nt_api_json_value(e->value, e->value_len);
	}
	c.root = json_object();
	if (!c.root)
		return NULL;
	if (l)
		nt_ledger_foreach(l, bucket, ledger_cb, &c);
	if (c.ok)
		return c.root;
	json_decref(c.root);
	return NULL;
}

static json_t *block_json(const struct nt_ledger_block *b)
{
	char ts[40], h[2 * NT_LEDGER_HASH_LEN + 1], ph[2 * NT_LEDGER_HASH_LEN + 1],
		sh[2 * NT_LEDGER_HASH_LEN + 1];

	nt_hex_encode(h, b->hash, NT_LEDGER_HASH_LEN);
	nt_hex_encode(ph, b->prev_hash, NT_LEDGER_HASH_LEN);
	nt_hex_encode(sh, b->state_hash, NT_LEDGER_HASH_LEN);
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "Index", (json_int_t)b->index, "Timestamp",
			 nt_api_rfc3339(b->timestamp, ts, sizeof(ts)), "Hash", h, "PrevHash", ph,
			 "StateHash", sh, "Entries", (json_int_t)b->entries);
}

json_t *nt_api_json_blockchain(const struct nt_ledger *l)
{
	const struct nt_ledger_block *b = l ? nt_ledger_block_get(l, 0) : NULL;
	json_t *o = b ? block_json(b) :
			json_pack("{s:I,s:s,s:s,s:s}", "Index", (json_int_t)0, "Timestamp", "",
				  "Hash", "", "PrevHash", "");
	json_t *ring = json_array();
	bool ok = o && ring;

	for (size_t i = 0; ok && l && (b = nt_ledger_block_get(l, i)); i++)
		if (json_array_append_new(ring, block_json(b)) < 0)
			ok = false;
	if (!ok) {
		json_decref(ring);
		json_decref(o);
		return NULL;
	}
	/* json_object_set_new takes ring even when it fails. */
	if (json_object_set_new(o, "Blocks", ring) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *nt_api_json_dht(const struct nt_dht_stats *st)
{
	if (!st)
		return json_pack("{s:b}", "enabled", 0);
	return json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "enabled", 1,
			 "nodes", (json_int_t)(st->good4 + st->good6 + st->dubious4 + st->dubious6),
			 "good4", (json_int_t)st->good4, "dubious4", (json_int_t)st->dubious4,
			 "good6", (json_int_t)st->good6, "dubious6", (json_int_t)st->dubious6,
			 "searches", (json_int_t)st->searches, "stored_hashes",
			 (json_int_t)st->stored_hashes, "stored_peers", (json_int_t)st->stored_peers,
			 "packets_in", (json_int_t)st->pkts_in, "packets_out",
			 (json_int_t)st->pkts_out, "dropped_ratelimit", (json_int_t)st->dropped_ratelimit,
			 "dropped_oversize", (json_int_t)st->dropped_oversize);
}
