// SPDX-License-Identifier: MIT
/*
 * DNS message codec (RFC 1035 §4, with the mDNS class bits of RFC 6762 §10.2 and §5.4),
 * shared by mDNS and the DNS server of src/names/.
 * Decoding is strict because every byte comes from whoever is on the LAN:
 *  - each length is checked against the bytes that remain before it is used;
 *  - header counts are checked against a minimum record size before any record is read;
 *  - a compression pointer must land before the segment of the name it is read from, so
 *    the targets strictly decrease and no name can loop (plus a hop limit);
 *  - labels <= 63 octets, names <= 255 octets, rdlength exact for A/AAAA/PTR/SRV/TXT.
 * The builder compresses names against the labels it wrote itself (RFC 1035 §4.1.4).
 */
#include "discovery/dns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
	MIN_QUESTION_LEN = 1 + 4, /* root name, type, class */
	MIN_RR_LEN = 1 + 10, /* root name, type, class, ttl, rdlength */
	PTR_MAX_OFFSET = 0x3fff,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/*
 * Reads the name at *off in buf[0, len). On success *off moves past the bytes the name takes
 * in place (up to and including its first pointer). Pointers may only go to offsets below the
 * start of the segment being read: a target at or after the pointer is "forward", one inside
 * the current segment would come back to the same pointer and is a loop.
 */
static int name_decode(const uint8_t *buf, size_t len, size_t *off, struct nt_dns_name *out)
{
	size_t pos = *off, limit = *off, end = 0, n = 0;
	unsigned int hops = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return NT_DNS_E_TRUNCATED;
		c = buf[pos];
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (len - pos < 2)
				return NT_DNS_E_TRUNCATED;
			target = (size_t)(c & 0x3f) << 8 | buf[pos + 1];
			if (target >= pos)
				return NT_DNS_E_PTR_FORWARD;
			if (target >= limit || ++hops > NT_DNS_MAX_HOPS)
				return NT_DNS_E_PTR_LOOP;
			if (!end)
				end = pos + 2;
			pos = limit = target;
			continue;
		}
		if (c & 0xc0)
			return NT_DNS_E_LABEL;
		if (n + 1 + c > NT_DNS_NAME_MAX)
			return NT_DNS_E_NAME_LEN;
		if (c == 0) {
			out->wire[n++] = 0;
			out->len = (uint16_t)n;
			*off = end ? end : pos + 1;
			return NT_DNS_OK;
		}
		if (len - pos < 1 + (size_t)c)
			return NT_DNS_E_TRUNCATED;
		memcpy(out->wire + n, buf + pos, 1 + (size_t)c);
		n += 1 + (size_t)c;
		pos += 1 + (size_t)c;
	}
}

/* TXT rdata is a sequence of length-prefixed strings that must fill it exactly, at least one. */
static int txt_decode(const uint8_t *p, size_t rdlen, struct nt_dns_txt *txt)
{
	size_t i = 0;

	if (rdlen == 0)
		return NT_DNS_E_RDLEN; /* RFC 6763 §6.1: at least one string */
	while (i < rdlen) {
		if (rdlen - i < 1 + (size_t)p[i])
			return NT_DNS_E_RDLEN;
		i += 1 + (size_t)p[i];
	}
	txt->truncated = rdlen > NT_DNS_TXT_MAX;
	txt->len = (uint16_t)(txt->truncated ? NT_DNS_TXT_MAX : rdlen);
	memcpy(txt->data, p, txt->len);
	return NT_DNS_OK;
}

/* A name inside rdata must end exactly where the rdata says; overruns are rdlength errors. */
static int rdata_name_decode(const uint8_t *buf, size_t rdend, size_t *off, struct nt_dns_name *out)
{
	int ret = name_decode(buf, rdend, off, out);

	if (ret == NT_DNS_E_TRUNCATED)
		return NT_DNS_E_RDLEN;
	if (ret == NT_DNS_OK && *off != rdend)
		return NT_DNS_E_RDLEN;
	return ret;
}

static int rr_decode(const uint8_t *buf, size_t len, size_t *off, struct nt_dns_rr *rr)
{
	size_t pos = *off, rdend;
	uint16_t rclass, rdlen;
	int ret;

	ret = name_decode(buf, len, &pos, &rr->name);
	if (ret < 0)
		return ret;
	if (len - pos < 10)
		return NT_DNS_E_TRUNCATED;
	rr->type = get16(buf + pos);
	rclass = get16(buf + pos + 2);
	rr->rclass = rclass & NT_DNS_CLASS_MASK;
	rr->cache_flush = rclass & NT_DNS_CLASS_TOP;
	rr->ttl = get32(buf + pos + 4);
	rdlen = get16(buf + pos + 8);
	pos += 10;
	if (len - pos < rdlen)
		return NT_DNS_E_TRUNCATED;
	rdend = pos + rdlen;

	switch (rr->type) {
	case NT_DNS_TYPE_A:
		if (rdlen != 4)
			return NT_DNS_E_RDLEN;
		memcpy(rr->rd.a, buf + pos, 4);
		break;
	case NT_DNS_TYPE_AAAA:
		if (rdlen != 16)
			return NT_DNS_E_RDLEN;
		memcpy(rr->rd.aaaa, buf + pos, 16);
		break;
	case NT_DNS_TYPE_PTR:
	case NT_DNS_TYPE_CNAME:
		ret = rdata_name_decode(buf, rdend, &pos, &rr->rd.ptr);
		if (ret < 0)
			return ret;
		break;
	case NT_DNS_TYPE_SOA:
		ret = name_decode(buf, rdend, &pos, &rr->rd.soa.mname);
		if (ret == NT_DNS_OK)
			ret = name_decode(buf, rdend, &pos, &rr->rd.soa.rname);
		if (ret == NT_DNS_E_TRUNCATED || (ret == NT_DNS_OK && rdend - pos != 20))
			return NT_DNS_E_RDLEN;
		if (ret < 0)
			return ret;
		rr->rd.soa.serial = get32(buf + pos);
		rr->rd.soa.refresh = get32(buf + pos + 4);
		rr->rd.soa.retry = get32(buf + pos + 8);
		rr->rd.soa.expire = get32(buf + pos + 12);
		rr->rd.soa.minimum = get32(buf + pos + 16);
		break;
	case NT_DNS_TYPE_SRV:
		if (rdlen < 6 + 1)
			return NT_DNS_E_RDLEN;
		rr->rd.srv.priority = get16(buf + pos);
		rr->rd.srv.weight = get16(buf + pos + 2);
		rr->rd.srv.port = get16(buf + pos + 4);
		pos += 6;
		ret = rdata_name_decode(buf, rdend, &pos, &rr->rd.srv.target);
		if (ret < 0)
			return ret;
		break;
	case NT_DNS_TYPE_TXT:
		ret = txt_decode(buf + pos, rdlen, &rr->rd.txt);
		if (ret < 0)
			return ret;
		break;
	default:
		break;
	}
	*off = rdend;
	return NT_DNS_OK;
}

static bool type_is_kept(uint16_t type)
{
	return type == NT_DNS_TYPE_A || type == NT_DNS_TYPE_AAAA || type == NT_DNS_TYPE_PTR ||
	       type == NT_DNS_TYPE_SRV || type == NT_DNS_TYPE_TXT || type == NT_DNS_TYPE_CNAME ||
	       type == NT_DNS_TYPE_SOA;
}

int nt_dns_msg_decode(struct nt_dns_msg *msg, const uint8_t *buf, size_t len)
{
	struct nt_dns_question qscratch;
	struct nt_dns_rr rrscratch;
	size_t off = NT_DNS_HEADER_LEN, nrecords;
	int ret;

	msg->nq = msg->nrr = msg->skipped = msg->dropped = 0;
	if (len < NT_DNS_HEADER_LEN)
		return NT_DNS_E_TRUNCATED;
	msg->id = get16(buf);
	msg->flags = get16(buf + 2);
	msg->qdcount = get16(buf + 4);
	msg->ancount = get16(buf + 6);
	msg->nscount = get16(buf + 8);
	msg->arcount = get16(buf + 10);

	/* Reject impossible counts before reading anything, so a 12-byte header cannot make us
	 * loop 4 * 65535 times. */
	nrecords = (size_t)msg->ancount + msg->nscount + msg->arcount;
	if ((size_t)msg->qdcount * MIN_QUESTION_LEN + nrecords * MIN_RR_LEN > len - off)
		return NT_DNS_E_COUNT;

	for (unsigned int i = 0; i < msg->qdcount; i++) {
		struct nt_dns_question *q = msg->nq < NT_DNS_MAX_QUESTIONS ? &msg->q[msg->nq] : &qscratch;
		uint16_t qclass;

		ret = name_decode(buf, len, &off, &q->name);
		if (ret < 0)
			return ret;
		if (len - off < 4)
			return NT_DNS_E_TRUNCATED;
		q->type = get16(buf + off);
		qclass = get16(buf + off + 2);
		q->qclass = qclass & NT_DNS_CLASS_MASK;
		q->unicast_response = qclass & NT_DNS_CLASS_TOP;
		off += 4;
		if (q == &qscratch)
			msg->dropped++;
		else
			msg->nq++;
	}

	for (size_t i = 0; i < nrecords; i++) {
		struct nt_dns_rr *rr = msg->nrr < NT_DNS_MAX_RRS ? &msg->rr[msg->nrr] : &rrscratch;

		ret = rr_decode(buf, len, &off, rr);
		if (ret < 0)
			return ret;
		if (i < msg->ancount)
			rr->section = NT_DNS_SEC_ANSWER;
		else if (i < (size_t)msg->ancount + msg->nscount)
			rr->section = NT_DNS_SEC_AUTHORITY;
		else
			rr->section = NT_DNS_SEC_ADDITIONAL;
		if (!type_is_kept(rr->type))
			msg->skipped++;
		else if (rr == &rrscratch)
			msg->dropped++;
		else
			msg->nrr++;
	}
	if (off != len)
		return NT_DNS_E_TRAILING;
	return NT_DNS_OK;
}

/* The same walk as the decoder's, keeping only where each record's TTL is. */
ssize_t nt_dns_msg_ttl_offsets(const uint8_t *buf, size_t len, uint16_t *offs, size_t max)
{
	struct nt_dns_name scratch;
	size_t off = NT_DNS_HEADER_LEN, nrecords, n = 0;
	uint16_t qdcount;
	int ret;

	if (len < NT_DNS_HEADER_LEN || len > 0xffff)
		return NT_DNS_E_TRUNCATED;
	qdcount = get16(buf + 4);
	nrecords = (size_t)get16(buf + 6) + get16(buf + 8) + get16(buf + 10);
	if ((size_t)qdcount * MIN_QUESTION_LEN + nrecords * MIN_RR_LEN > len - off)
		return NT_DNS_E_COUNT;
	for (unsigned int i = 0; i < qdcount; i++) {
		ret = name_decode(buf, len, &off, &scratch);
		if (ret < 0)
			return ret;
		if (len - off < 4)
			return NT_DNS_E_TRUNCATED;
		off += 4;
	}
	for (size_t i = 0; i < nrecords; i++) {
		uint16_t rdlen;

		ret = name_decode(buf, len, &off, &scratch);
		if (ret < 0)
			return ret;
		if (len - off < 10)
			return NT_DNS_E_TRUNCATED;
		rdlen = get16(buf + off + 8);
		if (len - off - 10 < rdlen)
			return NT_DNS_E_TRUNCATED;
		if (get16(buf + off) != NT_DNS_TYPE_OPT) {
			if (n < max)
				offs[n] = (uint16_t)(off + 4);
			n++;
		}
		off += 10 + (size_t)rdlen;
	}
	if (off != len)
		return NT_DNS_E_TRAILING;
	return (ssize_t)n;
}

const char *nt_dns_strerror(int verdict)
{
	switch (verdict) {
	case NT_DNS_OK:
		return "ok";
	case NT_DNS_E_TRUNCATED:
		return "truncated";
	case NT_DNS_E_LABEL:
		return "bad label length or type";
	case NT_DNS_E_NAME_LEN:
		return "name longer than 255 octets";
	case NT_DNS_E_PTR_FORWARD:
		return "compression pointer not backwards";
	case NT_DNS_E_PTR_LOOP:
		return "compression pointer loop";
	case NT_DNS_E_COUNT:
		return "record counts exceed message";
	case NT_DNS_E_RDLEN:
		return "rdlength does not match type";
	case NT_DNS_E_TRAILING:
		return "trailing bytes";
	default:
		return "unknown error";
	}
}

bool nt_dns_name_from_str(struct nt_dns_name *out, const char *s)
{
	size_t n = 0, label = 0; /* label: offset of the current label's length byte */

	if (!s || !*s)
		return false;
	if (strcmp(s, ".") == 0) {
		out->wire[0] = 0;
		out->len = 1;
		return true;
	}
	out->wire[0] = 0;
	n = 1;
	while (*s) {
		uint8_t c = (uint8_t)*s++;

		if (c == '.') {
			if (out->wire[label] == 0)
				return false; /* empty label */
			if (*s == '\0')
				break; /* trailing dot */
			if (n >= NT_DNS_NAME_MAX)
				return false;
			label = n;
			out->wire[n++] = 0;
			continue;
		}
		if (c == '\\') {
			if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
			    s[2] <= '9') {
				unsigned int v = (unsigned int)(s[0] - '0') * 100 +
						 (unsigned int)(s[1] - '0') * 10 + (unsigned int)(s[2] - '0');
				if (v > 255)
					return false;
				c = (uint8_t)v;
				s += 3;
			} else if (*s) {
				c = (uint8_t)*s++;
			} else {
				return false;
			}
		}
		if (out->wire[label] == NT_DNS_LABEL_MAX || n >= NT_DNS_NAME_MAX)
			return false;
		out->wire[label]++;
		out->wire[n++] = c;
	}
	if (out->wire[label] == 0 || n >= NT_DNS_NAME_MAX)
		return false;
	out->wire[n++] = 0;
	out->len = (uint16_t)n;
	return true;
}

const char *nt_dns_name_to_str(const struct nt_dns_name *name, char *buf, size_t len)
{
	size_t i = 0, o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (name->len <= 1) {
		snprintf(buf, len, ".");
		return buf;
	}
	while (i < name->len && name->wire[i]) {
		size_t l = name->wire[i++];

		for (size_t j = 0; j < l && i < name->len; j++, i++) {
			uint8_t c = name->wire[i];
			char tmp[5];
			size_t tl;

			if (c == '.' || c == '\\')
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%c", c);
			else if (c <= 0x20 || c >= 0x7f)
				tl = (size_t)snprintf(tmp, sizeof(tmp), "\\%03u", c);
			else
				tl = (size_t)snprintf(tmp, sizeof(tmp), "%c", c);
			if (o + tl + 1 > len)
				return buf;
			memcpy(buf + o, tmp, tl + 1);
			o += tl;
		}
		if (i < name->len && name->wire[i]) {
			if (o + 2 > len)
				return buf;
			buf[o++] = '.';
			buf[o] = '\0';
		}
	}
	return buf;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool wire_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

bool nt_dns_name_equal(const struct nt_dns_name *a, const struct nt_dns_name *b)
{
	/* Length bytes are < 64 and so unaffected by lower(); labels line up when lengths do. */
	return a->len == b->len && wire_equal(a->wire, b->wire, a->len);
}

bool nt_dns_name_is_child_of(const struct nt_dns_name *name, const struct nt_dns_name *parent,
			     const uint8_t **label, size_t *label_len)
{
	size_t l;

	if (name->len < 2 || name->wire[0] == 0)
		return false;
	l = name->wire[0];
	if (1 + l + parent->len != name->len)
		return false;
	if (!wire_equal(name->wire + 1 + l, parent->wire, parent->len))
		return false;
	if (label)
		*label = name->wire + 1;
	if (label_len)
		*label_len = l;
	return true;
}

int nt_dns_txt_add(struct nt_dns_txt *txt, const char *s)
{
	size_t l = strlen(s);

	if (l > 255)
		return -EINVAL;
	if (txt->len + 1 + l > NT_DNS_TXT_MAX)
		return -ENOSPC;
	txt->data[txt->len] = (uint8_t)l;
	memcpy(txt->data + txt->len + 1, s, l);
	txt->len = (uint16_t)(txt->len + 1 + l);
	return 0;
}

bool nt_dns_txt_get(const struct nt_dns_txt *txt, const char *key, char *out, size_t outlen)
{
	size_t klen = strlen(key), i = 0;

	while (i < txt->len) {
		size_t l = txt->data[i];
		const uint8_t *s = txt->data + i + 1;

		if (txt->len - i - 1 < l)
			break; /* cut by NT_DNS_TXT_MAX */
		if (l > klen && s[klen] == '=' && wire_equal(s, (const uint8_t *)key, klen)) {
			size_t vlen = l - klen - 1;

			if (vlen + 1 > outlen)
				return false;
			memcpy(out, s + klen + 1, vlen);
			out[vlen] = '\0';
			return true;
		}
		i += 1 + l;
	}
	return false;
}

void nt_dns_builder_init(struct nt_dns_builder *b, uint8_t *buf, size_t cap, uint16_t id,
			 uint16_t flags, bool compress)
{
	memset(b, 0, sizeof(*b));
	b->buf = buf;
	b->cap = cap;
	b->compress = compress;
	if (cap < NT_DNS_HEADER_LEN) {
		b->err = -ENOSPC;
		return;
	}
	memset(buf, 0, NT_DNS_HEADER_LEN);
	put16(buf, id);
	put16(buf + 2, flags);
	b->len = NT_DNS_HEADER_LEN;
}

/* Does the name written at offset off in our own output equal the wire suffix? */
static bool suffix_at(const struct nt_dns_builder *b, size_t off, const uint8_t *suffix,
		      size_t slen)
{
	struct nt_dns_name n;

	if (name_decode(b->buf, b->len, &off, &n) < 0)
		return false;
	return n.len == slen && wire_equal(n.wire, suffix, slen);
}

static int name_encode(struct nt_dns_builder *b, const struct nt_dns_name *name)
{
	size_t i = 0;

	while (i < name->len && name->wire[i]) {
		size_t l = name->wire[i];

		if (b->compress) {
			for (unsigned int k = 0; k < b->nlabels; k++) {
				if (b->buf[b->labels[k]] != l ||
				    !suffix_at(b, b->labels[k], name->wire + i, name->len - i))
					continue;
				if (b->cap - b->len < 2)
					return -ENOSPC;
				put16(b->buf + b->len, (uint16_t)(0xc000 | b->labels[k]));
				b->len += 2;
				return 0;
			}
		}
		if (b->cap - b->len < 1 + l)
			return -ENOSPC;
		if (b->compress && b->nlabels < NT_DNS_COMPRESS_MAX && b->len <= PTR_MAX_OFFSET)
			b->labels[b->nlabels++] = (uint16_t)b->len;
		memcpy(b->buf + b->len, name->wire + i, 1 + l);
		b->len += 1 + l;
		i += 1 + l;
	}
	if (b->cap - b->len < 1)
		return -ENOSPC;
	b->buf[b->len++] = 0;
	return 0;
}

static bool name_is_valid(const struct nt_dns_name *name)
{
	size_t i = 0;

	if (name->len < 1 || name->len > NT_DNS_NAME_MAX)
		return false;
	while (i < name->len && name->wire[i]) {
		if (name->wire[i] > NT_DNS_LABEL_MAX)
			return false;
		i += 1 + (size_t)name->wire[i];
	}
	return i == (size_t)name->len - 1;
}

int nt_dns_builder_add_question(struct nt_dns_builder *b, const struct nt_dns_name *name,
				uint16_t type, uint16_t qclass)
{
	size_t save_len = b->len;
	unsigned int save_nlabels = b->nlabels;
	int ret;

	if (b->err)
		return b->err;
	if (b->section != NT_DNS_SEC_QUESTION || !name_is_valid(name) || b->count[0] == 0xffff)
		return -EINVAL;
	ret = name_encode(b, name);
	if (ret < 0)
		goto err_rollback;
	if (b->cap - b->len < 4) {
		ret = -ENOSPC;
		goto err_rollback;
	}
	put16(b->buf + b->len, type);
	put16(b->buf + b->len + 2, qclass);
	b->len += 4;
	b->count[NT_DNS_SEC_QUESTION]++;
	return 0;

err_rollback:
	b->len = save_len;
	b->nlabels = save_nlabels;
	return ret;
}

static int rdata_encode(struct nt_dns_builder *b, const struct nt_dns_rr *rr)
{
	switch (rr->type) {
	case NT_DNS_TYPE_A:
		if (b->cap - b->len < 4)
			return -ENOSPC;
		memcpy(b->buf + b->len, rr->rd.a, 4);
		b->len += 4;
		return 0;
	case NT_DNS_TYPE_AAAA:
		if (b->cap - b->len < 16)
			return -ENOSPC;
		memcpy(b->buf + b->len, rr->rd.aaaa, 16);
		b->len += 16;
		return 0;
	case NT_DNS_TYPE_PTR:
	case NT_DNS_TYPE_CNAME:
		if (!name_is_valid(&rr->rd.ptr))
			return -EINVAL;
		return name_encode(b, &rr->rd.ptr);
	case NT_DNS_TYPE_SOA: {
		int ret;

		if (!name_is_valid(&rr->rd.soa.mname) || !name_is_valid(&rr->rd.soa.rname))
			return -EINVAL;
		ret = name_encode(b, &rr->rd.soa.mname);
		if (ret == 0)
			ret = name_encode(b, &rr->rd.soa.rname);
		if (ret < 0)
			return ret;
		if (b->cap - b->len < 20)
			return -ENOSPC;
		put32(b->buf + b->len, rr->rd.soa.serial);
		put32(b->buf + b->len + 4, rr->rd.soa.refresh);
		put32(b->buf + b->len + 8, rr->rd.soa.retry);
		put32(b->buf + b->len + 12, rr->rd.soa.expire);
		put32(b->buf + b->len + 16, rr->rd.soa.minimum);
		b->len += 20;
		return 0;
	}
	case NT_DNS_TYPE_SRV:
		if (!name_is_valid(&rr->rd.srv.target))
			return -EINVAL;
		if (b->cap - b->len < 6)
			return -ENOSPC;
		put16(b->buf + b->len, rr->rd.srv.priority);
		put16(b->buf + b->len + 2, rr->rd.srv.weight);
		put16(b->buf + b->len + 4, rr->rd.srv.port);
		b->len += 6;
		return name_encode(b, &rr->rd.srv.target);
	case NT_DNS_TYPE_TXT:
		if (rr->rd.txt.len == 0 || rr->rd.txt.len > NT_DNS_TXT_MAX)
			return -EINVAL;
		if (b->cap - b->len < rr->rd.txt.len)
			return -ENOSPC;
		memcpy(b->buf + b->len, rr->rd.txt.data, rr->rd.txt.len);
		b->len += rr->rd.txt.len;
		return 0;
	default:
		return -EINVAL;
	}
}

int nt_dns_builder_add_rr(struct nt_dns_builder *b, enum nt_dns_section sec,
			  const struct nt_dns_rr *rr)
{
	size_t save_len = b->len, rdstart;
	unsigned int save_nlabels = b->nlabels;
	int ret;

	if (b->err)
		return b->err;
	if (sec < NT_DNS_SEC_ANSWER || sec > NT_DNS_SEC_ADDITIONAL || sec < b->section ||
	    !type_is_kept(rr->type) || !name_is_valid(&rr->name) || b->count[sec] == 0xffff)
		return -EINVAL;
	ret = name_encode(b, &rr->name);
	if (ret < 0)
		goto err_rollback;
	if (b->cap - b->len < 10) {
		ret = -ENOSPC;
		goto err_rollback;
	}
	put16(b->buf + b->len, rr->type);
	put16(b->buf + b->len + 2, (uint16_t)((rr->rclass & NT_DNS_CLASS_MASK) |
					      (rr->cache_flush ? NT_DNS_CLASS_TOP : 0)));
	put32(b->buf + b->len + 4, rr->ttl);
	b->len += 10;
	rdstart = b->len;
	ret = rdata_encode(b, rr);
	if (ret < 0)
		goto err_rollback;
	put16(b->buf + rdstart - 2, (uint16_t)(b->len - rdstart));
	b->section = (uint8_t)sec;
	b->count[sec]++;
	return 0;

err_rollback:
	b->len = save_len;
	b->nlabels = save_nlabels;
	return ret;
}

ssize_t nt_dns_builder_finish(struct nt_dns_builder *b)
{
	if (b->err)
		return b->err;
	for (int i = 0; i < 4; i++)
		put16(b->buf + 4 + 2 * i, b->count[i]);
	return (ssize_t)b->len;
}
