// SPDX-License-Identifier: MIT
/*
 * The forwarder of the DNS server (forward.h): queries in flight and the answer cache.
 *
 * A query goes upstream as the client wrote it (EDNS and all) under a new random id; it is
 * tried on each upstream resolver in turn, NT_FWD_TIMEOUT_MS each, then answered SERVFAIL.
 * An answer counts only if its id, question and source address match a query in flight
 * (RFC 5452 §4): anyone else who guesses at our socket is ignored, and counted.
 *
 * The cache is set-associative (SipHash of name, type and class with a random key picks a
 * set; the entry that expires first is replaced), so its memory is fixed and nobody can aim
 * at one set. Only NOERROR and NXDOMAIN answers without TC are kept, for the smallest TTL
 * of their records (RFC 2308: the SOA's for a negative one), and their TTLs are aged by the
 * time they spent there when served.
 */
#include "names/forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

int nt_fwd_new(struct nt_fwd **out, const union nt_sockaddr *upstreams, unsigned int n,
	       nt_fwd_send_fn *send, nt_fwd_reply_fn *reply, void *ctx)
{
	struct nt_fwd *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	for (unsigned int i = 0; i < n && i < NT_FWD_MAX_UPSTREAMS; i++)
		f->upstreams[f->n_upstreams++] = upstreams[i];
	f->send = send;
	f->reply = reply;
	f->ctx = ctx;
	randombytes_buf(f->hash_key, sizeof(f->hash_key));
	*out = f;
	return 0;
}

void nt_fwd_free(struct nt_fwd *f)
{
	free(f);
}

static uint64_t key_hash(const struct nt_fwd *f, const struct nt_dns_name *name, uint16_t type,
			 uint16_t qclass)
{
	uint8_t buf[NT_DNS_NAME_MAX + 4], h[8];
	uint64_t v;

	for (size_t i = 0; i < name->len; i++)
		buf[i] = (uint8_t)(name->wire[i] >= 'A' && name->wire[i] <= 'Z' ? name->wire[i] + 32 :
										    name->wire[i]);
	nt_put_be16(buf + name->len, type);
	nt_put_be16(buf + name->len + 2, qclass);
	crypto_shorthash(h, buf, name->len + 4u, f->hash_key);
	memcpy(&v, h, 8);
	return v ? v : 1; /* 0 marks a free entry */
}

static struct nt_fwd_entry *cache_find(struct nt_fwd *f, const struct nt_dns_question *q,
				       uint64_t hash, uint64_t now)
{
	struct nt_fwd_entry *set = &f->cache[(hash % (NT_FWD_CACHE / NT_FWD_WAYS)) * NT_FWD_WAYS];

	for (unsigned int i = 0; i < NT_FWD_WAYS; i++) {
		struct nt_fwd_entry *e = &set[i];

		if (e->hash != hash || e->qtype != q->type || e->qclass != q->qclass ||
		    !nt_dns_name_equal(&e->qname, &q->name))
			continue;
		if (now >= e->expires_ms) {
			e->hash = 0;
			f->n_cached--;
			return NULL;
		}
		return e;
	}
	return NULL;
}

/* Serves a cached answer under the client's id, every TTL less the seconds it was kept. */
static void cache_serve(struct nt_fwd *f, const struct nt_fwd_entry *e, uint16_t id,
			const union nt_sockaddr *client, uint32_t conn, uint64_t now)
{
	uint32_t age = (uint32_t)((now - e->stored_ms) / 1000);

	memcpy(f->out, e->msg, e->len);
	nt_put_be16(f->out, id);
	for (unsigned int i = 0; i < e->nttl; i++) {
		uint32_t ttl = nt_get_be32(f->out + e->ttl_off[i]);

		nt_put_be32(f->out + e->ttl_off[i], ttl > age ? ttl - age : 0);
	}
	f->reply(f->ctx, client, conn, f->out, e->len, false);
}

static void cache_store(struct nt_fwd *f, const struct nt_fwd_pending *p, const uint8_t *buf,
			size_t len, uint64_t now)
{
	uint64_t hash = key_hash(f, &p->qname, p->qtype, p->qclass);
	struct nt_fwd_entry *set = &f->cache[(hash % (NT_FWD_CACHE / NT_FWD_WAYS)) * NT_FWD_WAYS], *e;
	uint16_t offs[NT_FWD_TTLS];
	uint32_t ttl = NT_FWD_TTL_MAX;
	uint16_t rcode = nt_get_be16(buf + 2) & NT_DNS_FLAG_RCODE;
	ssize_t n;

	if (len > NT_FWD_MSG_MAX || (nt_get_be16(buf + 2) & NT_DNS_FLAG_TC) ||
	    (rcode != NT_DNS_RCODE_NOERROR && rcode != NT_DNS_RCODE_NXDOMAIN))
		return;
	n = nt_dns_msg_ttl_offsets(buf, len, offs, NT_FWD_TTLS);
	if (n <= 0 || n > NT_FWD_TTLS)
		return; /* nothing says how long it holds (or too much to age): not kept */
	for (ssize_t i = 0; i < n; i++) {
		uint32_t t = nt_get_be32(buf + offs[i]);

		if (t < ttl)
			ttl = t;
	}
	if (ttl == 0)
		return;
	e = NULL;
	for (unsigned int i = 0; i < NT_FWD_WAYS; i++) {
		struct nt_fwd_entry *c = &set[i];

		if (c->hash == hash && c->qtype == p->qtype && c->qclass == p->qclass &&
		    nt_dns_name_equal(&c->qname, &p->qname)) {
			e = c; /* the same question again: replace it */
			break;
		}
		if (!c->hash || now >= c->expires_ms) {
			e = c;
			break;
		}
		if (!e || c->expires_ms < e->expires_ms)
			e = c;
	}
	if (!e->hash)
		f->n_cached++;
	e->hash = hash;
	e->stored_ms = now;
	e->expires_ms = now + (uint64_t)ttl * 1000;
	e->qname = p->qname;
	e->qtype = p->qtype;
	e->qclass = p->qclass;
	e->len = (uint16_t)len;
	e->nttl = (uint16_t)n;
	memcpy(e->ttl_off, offs, (size_t)n * sizeof(offs[0]));
	memcpy(e->msg, buf, len);
}

static void send_try(struct nt_fwd *f, struct nt_fwd_pending *p, uint64_t now)
{
	nt_put_be16(p->query, p->up_id);
	p->deadline_ms = now + NT_FWD_TIMEOUT_MS;
	p->tries++;
	f->send(f->ctx, &f->upstreams[p->upstream], p->query, p->qlen);
}

static bool id_in_use(const struct nt_fwd *f, uint16_t id)
{
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++)
		if (f->pending[i].used && f->pending[i].up_id == id)
			return true;
	return false;
}

enum nt_fwd_verdict nt_fwd_query(struct nt_fwd *f, const struct nt_dns_question *q, const uint8_t *buf,
				 size_t len, const union nt_sockaddr *client, uint32_t conn, uint64_t now_ms)
{
	uint64_t hash = key_hash(f, &q->name, q->type, q->qclass);
	struct nt_fwd_entry *e = cache_find(f, q, hash, now_ms);
	struct nt_fwd_pending *p = NULL;

	/* An answer cached for a client that took large ones (EDNS) is too big for one that
	 * did not say so (no additional record: no OPT) over UDP: ask again for this one. */
	if (e && e->len > 512 && !conn && nt_get_be16(buf + 10) == 0)
		e = NULL;
	if (e) {
		cache_serve(f, e, nt_get_be16(buf), client, conn, now_ms);
		return NT_FWD_CACHED;
	}
	if (!f->n_upstreams)
		return NT_FWD_NONE;
	if (len > NT_FWD_QUERY_MAX || f->n_pending >= NT_FWD_PENDING)
		return NT_FWD_FULL;
	for (unsigned int i = 0; i < NT_FWD_PENDING && !p; i++)
		if (!f->pending[i].used)
			p = &f->pending[i];
	memset(p, 0, offsetof(struct nt_fwd_pending, query));
	/* A fresh random id, unlike any in flight (at most 256 of 65536 are taken). */
	do
		randombytes_buf(&p->up_id, sizeof(p->up_id));
	while (id_in_use(f, p->up_id));
	p->used = true;
	p->client_id = nt_get_be16(buf);
	p->client = *client;
	p->conn = conn;
	p->qname = q->name;
	p->qtype = q->type;
	p->qclass = q->qclass;
	p->qlen = (uint16_t)len;
	memcpy(p->query, buf, len);
	p->upstream = (uint8_t)(f->next_upstream++ % f->n_upstreams);
	f->n_pending++;
	send_try(f, p, now_ms);
	return NT_FWD_SENT;
}

bool nt_fwd_on_response(struct nt_fwd *f, const uint8_t *buf, size_t len, const union nt_sockaddr *from,
			uint64_t now_ms)
{
	struct nt_fwd_pending *p = NULL;
	uint16_t id;

	if (len < NT_DNS_HEADER_LEN || len > sizeof(f->out) || !(nt_get_be16(buf + 2) & NT_DNS_FLAG_QR))
		goto mismatch;
	id = nt_get_be16(buf);
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++) {
		if (f->pending[i].used && f->pending[i].up_id == id) {
			p = &f->pending[i];
			break;
		}
	}
	if (!p || !nt_sockaddr_equal(from, &f->upstreams[p->upstream]) ||
	    nt_dns_msg_decode(&f->msg, buf, len) != NT_DNS_OK || f->msg.nq != 1 ||
	    f->msg.q[0].type != p->qtype || f->msg.q[0].qclass != p->qclass ||
	    !nt_dns_name_equal(&f->msg.q[0].name, &p->qname))
		goto mismatch;
	cache_store(f, p, buf, len, now_ms);
	memcpy(f->out, buf, len);
	nt_put_be16(f->out, p->client_id);
	f->reply(f->ctx, &p->client, p->conn, f->out, len, false);
	p->used = false;
	f->n_pending--;
	return true;

mismatch:
	f->mismatched++;
	return false;
}

void nt_fwd_tick(struct nt_fwd *f, uint64_t now_ms)
{
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++) {
		struct nt_fwd_pending *p = &f->pending[i];

		if (!p->used || now_ms < p->deadline_ms)
			continue;
		f->timeouts++;
		if (p->tries < f->n_upstreams) {
			p->upstream = (uint8_t)((p->upstream + 1) % f->n_upstreams);
			send_try(f, p, now_ms);
			continue;
		}
		/* Every resolver was tried: SERVFAIL, under the client's own id. */
		nt_put_be16(p->query, p->client_id);
		f->reply(f->ctx, &p->client, p->conn, p->query, p->qlen, true);
		p->used = false;
		f->n_pending--;
	}
}

void nt_fwd_forget_conn(struct nt_fwd *f, uint32_t conn)
{
	for (unsigned int i = 0; i < NT_FWD_PENDING; i++) {
		if (f->pending[i].used && conn && f->pending[i].conn == conn) {
			f->pending[i].used = false;
			f->n_pending--;
		}
	}
}
