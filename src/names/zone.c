// SPDX-License-Identifier: MIT
/*
 * The zone of the members' names, built from the ledger, and the answers it gives
 * (docs/dns.md). Every byte of it comes from some member's signed claim, so nothing is
 * trusted: hostnames are cut to one label of [a-z0-9-], records of bucket "dns" are
 * checked as POST /api/dns checks them, and both are bounded in number. A query is decoded
 * by the strict codec of discovery/dns.c; answers are built with its builder, at most
 * 512 bytes over UDP (the TC bit says when more did not fit).
 */
#include "names/zone.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "ledger/ledger.h"

static const char *const result_names[NT_ZONE_RESULT_MAX] = {
	[NT_ZONE_ANSWER] = "answer", [NT_ZONE_RECORD] = "record",
	[NT_ZONE_NXDOMAIN] = "nxdomain", [NT_ZONE_NODATA] = "nodata",
	[NT_ZONE_FORMERR] = "formerr", [NT_ZONE_NOTIMP] = "notimp",
	[NT_ZONE_FORWARD] = "forward", [NT_ZONE_DROP] = "drop",
};

const char *nt_zone_result_str(enum nt_zone_result r)
{
	return r < NT_ZONE_RESULT_MAX ? result_names[r] : "?";
}

void nt_zone_sanitise(const char *hostname, char *out, size_t max)
{
	size_t n = 0;

	/* The first label only: "laptop.example.com" is "laptop" here. Anything outside
	 * [a-z0-9] becomes one '-', never two in a row, never at either end. */
	for (const char *p = hostname; *p && *p != '.' && n < max; p++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*p);

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[n++] = (char)c;
		else if (n && out[n - 1] != '-')
			out[n++] = '-';
	}
	while (n && out[n - 1] == '-')
		n--;
	out[n] = '\0';
}

int nt_zone_init(struct nt_zone *z, const char *domain)
{
	char soa_name[NT_ZONE_DOMAIN_MAX + 16];
	size_t len = strlen(domain);

	/* Only the head: the tables are written as they fill, so their pages stay untouched
	 * (and out of the resident set) on a node with few members. */
	memset(z, 0, offsetof(struct nt_zone, members));
	if (len == 0 || len > NT_ZONE_DOMAIN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)domain[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return -EINVAL;
		z->domain[i] = (char)c;
	}
	if (z->domain[len - 1] == '.')
		z->domain[--len] = '\0';
	if (!nt_dns_name_from_str(&z->apex, z->domain) || z->apex.len < 2)
		return -EINVAL;
	snprintf(soa_name, sizeof(soa_name), "id.%s", z->domain);
	if (!nt_dns_name_from_str(&z->id_apex, soa_name))
		return -EINVAL;
	/* The longest name we make is <63-byte label>.id.<domain>: it must fit 255 octets. */
	if (z->apex.len + 3 + 1 + NT_ZONE_LABEL_MAX > NT_DNS_NAME_MAX)
		return -EINVAL;
	z->soa.name = z->apex;
	z->soa.type = NT_DNS_TYPE_SOA;
	z->soa.rclass = NT_DNS_CLASS_IN;
	z->soa.ttl = NT_ZONE_TTL;
	z->soa.rd.soa.mname = z->apex;
	snprintf(soa_name, sizeof(soa_name), "hostmaster.%s", z->domain);
	if (!nt_dns_name_from_str(&z->soa.rd.soa.rname, soa_name))
		return -EINVAL;
	z->soa.rd.soa.refresh = 3600;
	z->soa.rd.soa.retry = 600;
	z->soa.rd.soa.expire = 86400;
	z->soa.rd.soa.minimum = NT_ZONE_TTL; /* negative answers are cached this long */
	return 0;
}

static void records_free(struct nt_zone *z)
{
	for (unsigned int i = 0; i < z->n_records; i++)
		regfree(&z->records[i].re);
	z->n_records = 0;
}

void nt_zone_uninit(struct nt_zone *z)
{
	records_free(z);
}

static struct nt_zone_member *member_get(struct nt_zone *z, const uint8_t owner[32])
{
	for (unsigned int i = 0; i < z->n_members; i++)
		if (!memcmp(z->members[i].owner, owner, 32))
			return &z->members[i];
	if (z->n_members >= NT_ZONE_MAX_MEMBERS)
		return NULL;
	memset(&z->members[z->n_members], 0, sizeof(z->members[0]));
	memcpy(z->members[z->n_members].owner, owner, 32);
	nt_hex_encode(z->members[z->n_members].id_hex, owner, 32);
	return &z->members[z->n_members++];
}

/* One address claim of bucket "machines": key the address, value {"hostname": ...}. */
static bool machine_cb(void *ctx, const struct nt_ledger_entry *e)
{
	struct nt_zone *z = ctx;
	struct nt_zone_member *m;
	uint8_t addr[16];
	bool v4 = inet_pton(AF_INET, e->key, addr) == 1;
	json_t *v, *h;

	if (!v4 && inet_pton(AF_INET6, e->key, addr) != 1)
		return true;
	m = member_get(z, e->owner);
	if (!m) {
		z->dropped_members++;
		return true;
	}
	if (v4 && !m->has4) {
		memcpy(m->a, addr, 4);
		m->has4 = true;
	} else if (!v4 && !m->has6) {
		memcpy(m->aaaa, addr, 16);
		m->has6 = true;
	}
	if (!m->claimed_at || e->claimed_at < m->claimed_at)
		m->claimed_at = e->claimed_at;
	if (m->label[0])
		return true;
	v = json_loadb((const char *)e->value, e->value_len, 0, NULL);
	h = json_object_get(v, "hostname");
	if (json_is_string(h))
		nt_zone_sanitise(json_string_value(h), m->label, NT_ZONE_LABEL_MAX);
	json_decref(v);
	return true;
}

static int member_order(const void *pa, const void *pb)
{
	const struct nt_zone_member *a = pa, *b = pb;

	if (a->claimed_at != b->claimed_at)
		return a->claimed_at < b->claimed_at ? -1 : 1;
	return memcmp(a->owner, b->owner, 32);
}

static bool label_taken(const struct nt_zone *z, unsigned int upto, const char *label)
{
	for (unsigned int i = 0; i < upto; i++)
		if (!strcmp(z->members[i].label, label))
			return true;
	return false;
}

/*
 * The rule for shared names, the same on every member since it reads only the ledger:
 * members in the order of their oldest claim (ties: lower node ID) take their label if it is
 * free, else <label>-<first 6 hex digits of their ID>, else none (the ID name still works).
 * "id" is the ID names' parent and never a member's.
 */
static void labels_assign(struct nt_zone *z)
{
	qsort(z->members, z->n_members, sizeof(z->members[0]), member_order);
	for (unsigned int i = 0; i < z->n_members; i++) {
		struct nt_zone_member *m = &z->members[i];
		char alt[NT_ZONE_LABEL_MAX + 1];

		if (!m->label[0])
			continue;
		if (strcmp(m->label, "id") && !label_taken(z, i, m->label))
			continue;
		snprintf(alt, sizeof(alt), "%.*s-%.6s", NT_ZONE_LABEL_MAX - 7, m->label, m->id_hex);
		if (label_taken(z, i, alt))
			alt[0] = '\0';
		memcpy(m->label, alt, sizeof(alt));
	}
}

static int type_of(const char *s)
{
	if (!strcasecmp(s, "A") || !strcmp(s, "1"))
		return NT_DNS_TYPE_A;
	if (!strcasecmp(s, "AAAA") || !strcmp(s, "28"))
		return NT_DNS_TYPE_AAAA;
	if (!strcasecmp(s, "TXT") || !strcmp(s, "16"))
		return NT_DNS_TYPE_TXT;
	if (!strcasecmp(s, "CNAME") || !strcmp(s, "5"))
		return NT_DNS_TYPE_CNAME;
	return -1;
}

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -EINVAL)

/* Parses an EdgeVPN record's data into r (regex left alone); 0 or -EINVAL with why. */
static int record_parse(struct nt_zone_record *r, const json_t *records, char *why, size_t whylen)
{
	const char *k;
	json_t *v;

	if (!json_is_object(records) || json_object_size(records) == 0 || json_object_size(records) > 4)
		return WHY("Records: an object of 1 to 4 {type: data} (types A, AAAA, TXT, CNAME)");
	json_object_foreach((json_t *)records, k, v) {
		const char *s = json_string_value(v);
		int type = type_of(k);

		if (!s || strlen(s) > NT_ZONE_RDATA_MAX)
			return WHY("Records.%s: a string of at most %d bytes", k, NT_ZONE_RDATA_MAX);
		switch (type) {
		case NT_DNS_TYPE_A:
			if (inet_pton(AF_INET, s, r->a) != 1)
				return WHY("Records.%s: '%s' is not an IPv4 address", k, s);
			r->has4 = true;
			break;
		case NT_DNS_TYPE_AAAA:
			if (inet_pton(AF_INET6, s, r->aaaa) != 1)
				return WHY("Records.%s: '%s' is not an IPv6 address", k, s);
			r->has6 = true;
			break;
		case NT_DNS_TYPE_TXT:
			r->txt.len = 0;
			if (nt_dns_txt_add(&r->txt, s) < 0)
				return WHY("Records.%s: too long", k);
			break;
		case NT_DNS_TYPE_CNAME:
			if (!nt_dns_name_from_str(&r->cname, s))
				return WHY("Records.%s: '%s' is not a domain name", k, s);
			break;
		default:
			return WHY("Records: type '%s' is not served (A, AAAA, TXT, CNAME)", k);
		}
	}
	return 0;
}

/* The regular expression of a record: a ledger key (printable, no space), no back-references. */
static int regex_check(const char *regex, regex_t *re, char *why, size_t whylen)
{
	size_t len = strlen(regex);

	if (len == 0 || len > NT_ZONE_REGEX_MAX)
		return WHY("Regex: 1 to %d bytes", NT_ZONE_REGEX_MAX);
	for (size_t i = 0; i < len; i++) {
		if (regex[i] <= ' ' || regex[i] >= 0x7f)
			return WHY("Regex: printable ASCII without spaces");
		/* glibc gives EREs back-references, whose matching can take exponential time. */
		if (regex[i] == '\\' && regex[i + 1] >= '1' && regex[i + 1] <= '9')
			return WHY("Regex: no back-references");
	}
	if (regcomp(re, regex, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0)
		return WHY("Regex: '%s' is not a POSIX extended regular expression", regex);
	return 0;
}

ssize_t nt_zone_record_value(const char *regex, const json_t *records, char *out, size_t cap,
			     char *why, size_t whylen)
{
	struct nt_zone_record r;
	json_t *o;
	const char *k;
	json_t *v;
	char *s;
	ssize_t n = -EINVAL;

	memset(&r, 0, sizeof(r));
	if (regex_check(regex, &r.re, why, whylen) < 0)
		return -EINVAL;
	regfree(&r.re);
	if (record_parse(&r, records, why, whylen) < 0)
		return -EINVAL;
	/* Stored as EdgeVPN stores it: the type's number as the key. */
	o = json_object();
	json_object_foreach((json_t *)records, k, v) {
		char num[8];

		snprintf(num, sizeof(num), "%d", type_of(k));
		json_object_set(o, num, v);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (s && strlen(s) < cap) {
		n = (ssize_t)strlen(s);
		memcpy(out, s, (size_t)n + 1);
	} else {
		snprintf(why, whylen, "Records: too long");
	}
	free(s);
	return n;
}

/* One entry of bucket "dns": key the regular expression, value {type: data}. */
static bool record_cb(void *ctx, const struct nt_ledger_entry *e)
{
	struct nt_zone *z = ctx;
	struct nt_zone_record *r;
	char why[128];
	json_t *v;
	int ret;

	if (z->n_records >= NT_ZONE_MAX_RECORDS) {
		z->dropped_records++;
		return true;
	}
	r = &z->records[z->n_records];
	memset(r, 0, sizeof(*r));
	if (e->key_len > NT_ZONE_REGEX_MAX) {
		z->dropped_records++;
		return true;
	}
	memcpy(r->regex, e->key, e->key_len);
	r->regex[e->key_len] = '\0';
	if (regex_check(r->regex, &r->re, why, sizeof(why)) < 0) {
		z->dropped_records++;
		return true;
	}
	v = json_loadb((const char *)e->value, e->value_len, 0, NULL);
	ret = record_parse(r, v, why, sizeof(why));
	json_decref(v);
	if (ret < 0) {
		regfree(&r->re);
		z->dropped_records++;
		return true;
	}
	z->n_records++;
	return true;
}

void nt_zone_build(struct nt_zone *z, const struct nt_ledger *l)
{
	records_free(z);
	z->n_members = z->dropped_members = z->dropped_records = 0;
	z->soa.rd.soa.serial = ++z->serial;
	if (!l)
		return;
	nt_ledger_foreach(l, NT_LEDGER_MACHINES, machine_cb, z);
	labels_assign(z);
	nt_ledger_foreach(l, NT_ZONE_BUCKET, record_cb, z);
}

static const struct nt_zone_member *member_by_label(const struct nt_zone *z, const uint8_t *label,
						    size_t len)
{
	for (unsigned int i = 0; i < z->n_members; i++) {
		const char *l = z->members[i].label;

		if (strlen(l) == len && !strncasecmp(l, (const char *)label, len))
			return &z->members[i];
	}
	return NULL;
}

/* A node ID prefix of 6 to 64 hex digits that exactly one member has. */
static const struct nt_zone_member *member_by_id(const struct nt_zone *z, const uint8_t *label,
						 size_t len)
{
	const struct nt_zone_member *found = NULL;

	if (len < 6 || len > 64)
		return NULL;
	for (unsigned int i = 0; i < z->n_members; i++) {
		if (strncasecmp(z->members[i].id_hex, (const char *)label, len))
			continue;
		if (found)
			return NULL;
		found = &z->members[i];
	}
	return found;
}

static const struct nt_zone_member *member_by_addr(const struct nt_zone *z, bool v4,
						   const uint8_t *addr)
{
	for (unsigned int i = 0; i < z->n_members; i++) {
		const struct nt_zone_member *m = &z->members[i];

		if (v4 ? m->has4 && !memcmp(m->a, addr, 4) : m->has6 && !memcmp(m->aaaa, addr, 16))
			return m;
	}
	return NULL;
}

bool nt_zone_name_of(const struct nt_zone *z, const uint8_t owner[32], char *out, size_t len)
{
	for (unsigned int i = 0; i < z->n_members; i++) {
		const struct nt_zone_member *m = &z->members[i];

		if (memcmp(m->owner, owner, 32))
			continue;
		if (m->label[0])
			snprintf(out, len, "%s.%s", m->label, z->domain);
		else
			snprintf(out, len, "%.12s.id.%s", m->id_hex, z->domain);
		return true;
	}
	return false;
}

/* Whether name ends with the labels of parent (or is parent); *prefix_len: the octets before. */
static bool name_is_under(const struct nt_dns_name *name, const struct nt_dns_name *parent,
			  size_t *prefix_len)
{
	size_t i = 0;

	while (i < name->len) {
		if (name->len - i == parent->len) {
			struct nt_dns_name tail;

			tail.len = parent->len;
			memcpy(tail.wire, name->wire + i, parent->len);
			if (!nt_dns_name_equal(&tail, parent))
				return false;
			*prefix_len = i;
			return true;
		}
		if (!name->wire[i])
			break;
		i += 1 + (size_t)name->wire[i];
	}
	return false;
}

/* "4.3.2.1.in-addr.arpa" or the 32 nibbles of ".ip6.arpa" to an address. */
static bool reverse_parse(const struct nt_dns_name *name, bool *v4, uint8_t addr[16])
{
	static struct nt_dns_name in_addr, ip6;
	const uint8_t *w = name->wire;
	size_t pre;

	if (!in_addr.len) {
		nt_dns_name_from_str(&in_addr, "in-addr.arpa");
		nt_dns_name_from_str(&ip6, "ip6.arpa");
	}
	memset(addr, 0, 16);
	if (name_is_under(name, &in_addr, &pre)) {
		size_t i = 0;

		*v4 = true;
		for (int k = 3; k >= 0; k--) {
			unsigned int v = 0;
			size_t l;

			if (i >= pre)
				return false;
			l = w[i];
			if (l < 1 || l > 3 || (l > 1 && w[i + 1] == '0'))
				return false;
			for (size_t j = 1; j <= l; j++) {
				if (!isdigit(w[i + j]))
					return false;
				v = v * 10 + (unsigned int)(w[i + j] - '0');
			}
			if (v > 255)
				return false;
			addr[k] = (uint8_t)v;
			i += 1 + l;
		}
		return i == pre;
	}
	if (name_is_under(name, &ip6, &pre)) {
		*v4 = false;
		if (pre != 64)
			return false;
		for (int k = 31; k >= 0; k--) {
			int v;

			if (w[(31 - k) * 2] != 1 || (v = nt_hex_value((char)w[(31 - k) * 2 + 1])) < 0)
				return false;
			addr[k / 2] |= (uint8_t)(k % 2 ? v : v << 4);
		}
		return true;
	}
	return false;
}

static const struct nt_zone_record *record_match(const struct nt_zone *z,
						  const struct nt_dns_name *name, uint16_t type)
{
	char text[NT_DNS_NAME_STRLEN + 1];
	size_t n;

	if (!z->n_records)
		return NULL;
	nt_dns_name_to_str(name, text, sizeof(text) - 1);
	/* EdgeVPN matches the name as Go's DNS library writes it: with its trailing dot. */
	n = strlen(text);
	if (n && text[n - 1] != '.') {
		text[n] = '.';
		text[n + 1] = '\0';
	}
	for (unsigned int i = 0; i < z->n_records; i++) {
		const struct nt_zone_record *r = &z->records[i];
		bool has = (type == NT_DNS_TYPE_A && r->has4) || (type == NT_DNS_TYPE_AAAA && r->has6) ||
			   (type == NT_DNS_TYPE_TXT && r->txt.len) || r->cname.len;

		if (has && regexec(&r->re, text, 0, NULL, 0) == 0)
			return r;
	}
	return NULL;
}

struct reply {
	struct nt_dns_builder b;
	const struct nt_dns_question *q;
	bool full; /* an answer did not fit: TC */
};

static void add(struct reply *r, enum nt_dns_section sec, struct nt_dns_rr *rr)
{
	rr->name = sec == NT_DNS_SEC_AUTHORITY ? rr->name : r->q->name;
	rr->rclass = NT_DNS_CLASS_IN;
	if (nt_dns_builder_add_rr(&r->b, sec, rr) == -ENOSPC)
		r->full = true;
}

static void add_addresses(struct reply *r, bool has4, const uint8_t *a, bool has6,
			  const uint8_t *aaaa, bool *any)
{
	struct nt_dns_rr rr = { .ttl = NT_ZONE_TTL };
	uint16_t t = r->q->type;

	if (has4 && (t == NT_DNS_TYPE_A || t == NT_DNS_TYPE_ANY)) {
		rr.type = NT_DNS_TYPE_A;
		memcpy(rr.rd.a, a, 4);
		add(r, NT_DNS_SEC_ANSWER, &rr);
		*any = true;
	}
	if (has6 && (t == NT_DNS_TYPE_AAAA || t == NT_DNS_TYPE_ANY)) {
		rr.type = NT_DNS_TYPE_AAAA;
		memcpy(rr.rd.aaaa, aaaa, 16);
		add(r, NT_DNS_SEC_ANSWER, &rr);
		*any = true;
	}
}

static bool add_record(struct reply *r, const struct nt_zone_record *rec)
{
	struct nt_dns_rr rr = { .ttl = NT_ZONE_TTL };
	bool any = false;

	/* A name with a CNAME has nothing else (RFC 1034 §3.6.2): it answers every type. */
	if (rec->cname.len && !rec->has4 && !rec->has6 && !rec->txt.len) {
		rr.type = NT_DNS_TYPE_CNAME;
		rr.rd.ptr = rec->cname;
		add(r, NT_DNS_SEC_ANSWER, &rr);
		return true;
	}
	add_addresses(r, rec->has4, rec->a, rec->has6, rec->aaaa, &any);
	if (rec->txt.len && (r->q->type == NT_DNS_TYPE_TXT || r->q->type == NT_DNS_TYPE_ANY)) {
		rr.type = NT_DNS_TYPE_TXT;
		rr.rd.txt = rec->txt;
		add(r, NT_DNS_SEC_ANSWER, &rr);
		any = true;
	}
	return any;
}

static void target_of(const struct nt_zone *z, const struct nt_zone_member *m, struct nt_dns_name *out)
{
	char text[NT_ZONE_LABEL_MAX + NT_ZONE_DOMAIN_MAX + 8];

	if (m->label[0])
		snprintf(text, sizeof(text), "%s.%s", m->label, z->domain);
	else
		snprintf(text, sizeof(text), "%.12s.id.%s", m->id_hex, z->domain);
	nt_dns_name_from_str(out, text);
}

/* The name is in our domain: a member, an ID, a record, the apex, or nothing. */
static enum nt_zone_result answer_domain(struct nt_zone *z, struct reply *r, size_t pre)
{
	const struct nt_dns_name *name = &r->q->name;
	const struct nt_zone_member *m = NULL;
	const struct nt_zone_record *rec;
	size_t idpre;
	bool any = false;

	if (pre == 0) {
		if (r->q->type == NT_DNS_TYPE_SOA || r->q->type == NT_DNS_TYPE_ANY) {
			struct nt_dns_rr soa = z->soa;

			add(r, NT_DNS_SEC_ANSWER, &soa);
			return NT_ZONE_ANSWER;
		}
		return NT_ZONE_NODATA;
	}
	if (name_is_under(name, &z->id_apex, &idpre)) {
		if (idpre == 0)
			return NT_ZONE_NODATA; /* id.<domain> itself: a name with children only */
		if ((size_t)name->wire[0] + 1 == idpre)
			m = member_by_id(z, name->wire + 1, name->wire[0]);
	} else if ((size_t)name->wire[0] + 1 == pre) {
		m = member_by_label(z, name->wire + 1, name->wire[0]);
	}
	if (m) {
		add_addresses(r, m->has4, m->a, m->has6, m->aaaa, &any);
		return any ? NT_ZONE_ANSWER : NT_ZONE_NODATA;
	}
	rec = record_match(z, name, r->q->type);
	if (rec && add_record(r, rec))
		return NT_ZONE_RECORD;
	return NT_ZONE_NXDOMAIN;
}

static enum nt_zone_result answer_question(struct nt_zone *z, struct reply *r)
{
	const struct nt_zone_member *m;
	const struct nt_zone_record *rec;
	uint8_t addr[16];
	size_t pre;
	bool v4;

	if (r->q->qclass != NT_DNS_CLASS_IN && r->q->qclass != NT_DNS_TYPE_ANY)
		return NT_ZONE_FORWARD;
	if (name_is_under(&r->q->name, &z->apex, &pre))
		return answer_domain(z, r, pre);
	if (reverse_parse(&r->q->name, &v4, addr) && (m = member_by_addr(z, v4, addr))) {
		struct nt_dns_rr rr = { .type = NT_DNS_TYPE_PTR, .ttl = NT_ZONE_TTL };

		if (r->q->type != NT_DNS_TYPE_PTR && r->q->type != NT_DNS_TYPE_ANY)
			return NT_ZONE_NODATA;
		target_of(z, m, &rr.rd.ptr);
		add(r, NT_DNS_SEC_ANSWER, &rr);
		return NT_ZONE_ANSWER;
	}
	rec = record_match(z, &r->q->name, r->q->type);
	if (rec && add_record(r, rec))
		return NT_ZONE_RECORD;
	return NT_ZONE_FORWARD;
}

static size_t header_only(const uint8_t *q, uint8_t *out, size_t cap, uint16_t rcode)
{
	struct nt_dns_builder b;
	ssize_t n;

	nt_dns_builder_init(&b, out, cap, nt_get_be16(q),
			    (uint16_t)(NT_DNS_FLAG_QR | (nt_get_be16(q + 2) & (NT_DNS_FLAG_OPCODE |
									       NT_DNS_FLAG_RD)) |
				       NT_DNS_FLAG_RA | rcode), false);
	n = nt_dns_builder_finish(&b);
	return n > 0 ? (size_t)n : 0;
}

size_t nt_zone_error(struct nt_zone *z, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap,
		     uint16_t rcode)
{
	struct nt_dns_builder b;
	ssize_t n;

	if (qlen < NT_DNS_HEADER_LEN)
		return 0;
	if (nt_dns_msg_decode(&z->msg, q, qlen) != NT_DNS_OK || z->msg.nq != 1)
		return header_only(q, out, cap, rcode);
	nt_dns_builder_init(&b, out, cap, z->msg.id,
			    (uint16_t)(NT_DNS_FLAG_QR | (z->msg.flags & (NT_DNS_FLAG_OPCODE | NT_DNS_FLAG_RD)) |
				       NT_DNS_FLAG_RA | rcode), false);
	nt_dns_builder_add_question(&b, &z->msg.q[0].name, z->msg.q[0].type, z->msg.q[0].qclass);
	n = nt_dns_builder_finish(&b);
	return n > 0 ? (size_t)n : 0;
}

enum nt_zone_result nt_zone_answer(struct nt_zone *z, const uint8_t *q, size_t qlen, uint8_t *out,
				   size_t cap, size_t *outlen)
{
	struct nt_dns_msg *msg = &z->msg;
	struct reply r;
	enum nt_zone_result res;
	uint16_t rcode = NT_DNS_RCODE_NOERROR;
	ssize_t n;

	*outlen = 0;
	if (qlen < NT_DNS_HEADER_LEN || (nt_get_be16(q + 2) & NT_DNS_FLAG_QR))
		return NT_ZONE_DROP; /* never answer an answer: no loops between servers */
	if (nt_dns_msg_decode(msg, q, qlen) != NT_DNS_OK || msg->qdcount != 1 || msg->nq != 1 ||
	    msg->ancount) {
		*outlen = header_only(q, out, cap, NT_DNS_RCODE_FORMERR);
		return NT_ZONE_FORMERR;
	}
	if (msg->flags & NT_DNS_FLAG_OPCODE) {
		*outlen = header_only(q, out, cap, NT_DNS_RCODE_NOTIMP);
		return NT_ZONE_NOTIMP;
	}
	memset(&r, 0, sizeof(r));
	r.q = &msg->q[0];
	nt_dns_builder_init(&r.b, out, cap, msg->id, 0, true);
	if (nt_dns_builder_add_question(&r.b, &r.q->name, r.q->type, r.q->qclass) < 0) {
		*outlen = header_only(q, out, cap, NT_DNS_RCODE_FORMERR);
		return NT_ZONE_FORMERR;
	}
	res = answer_question(z, &r);
	if (res == NT_ZONE_FORWARD)
		return res;
	if (res == NT_ZONE_NXDOMAIN || res == NT_ZONE_NODATA) {
		struct nt_dns_rr soa = z->soa;

		rcode = res == NT_ZONE_NXDOMAIN ? NT_DNS_RCODE_NXDOMAIN : NT_DNS_RCODE_NOERROR;
		add(&r, NT_DNS_SEC_AUTHORITY, &soa);
	}
	n = nt_dns_builder_finish(&r.b);
	if (n < NT_DNS_HEADER_LEN)
		return NT_ZONE_DROP;
	nt_put_be16(out + 2, (uint16_t)(NT_DNS_FLAG_QR | NT_DNS_FLAG_AA | (msg->flags & NT_DNS_FLAG_RD) |
					NT_DNS_FLAG_RA | (r.full ? NT_DNS_FLAG_TC : 0) | rcode));
	*outlen = (size_t)n;
	return res;
}
