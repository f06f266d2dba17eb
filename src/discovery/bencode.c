// SPDX-License-Identifier: MIT
/*
 * Strict bencode (BEP 3): decoder into a flat token array and a bounded writer.
 *
 *   integer    i<-?[1-9][0-9]*|0>e          string  <len>:<bytes>, len as an integer >= 0
 *   list       l<values>e                   dict    d<(string key, value) sorted by key>e
 *
 * Every read is checked against the remaining length before it happens; recursion is
 * bounded by NT_BENCODE_DEPTH_MAX and the token count by NT_BENCODE_TOKENS_MAX.
 */
#include "discovery/bencode.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct cursor {
	struct nt_bencode *b;
	size_t pos;
};

static int decode_value(struct cursor *c, int depth);

/*
 * Digits from c->pos up to the terminator; accepts "0" but no other leading zero.
 * Stores the magnitude (saturated past limit, which is then an error) in *out.
 */
static int read_digits(struct cursor *c, uint8_t term, uint64_t limit, uint64_t *out, int err)
{
	const uint8_t *p = c->b->buf;
	size_t start = c->pos;
	uint64_t v = 0;

	while (c->pos < c->b->len && p[c->pos] >= '0' && p[c->pos] <= '9') {
		uint64_t d = (uint64_t)(p[c->pos] - '0');
		if (v > (limit - d) / 10)
			return err;
		v = v * 10 + d;
		c->pos++;
	}
	if (c->pos >= c->b->len)
		return NT_BENC_E_TRUNCATED;
	if (p[c->pos] != term)
		return c->pos == start ? err : NT_BENC_E_SYNTAX;
	if (c->pos == start)
		return err;
	if (p[start] == '0' && c->pos - start > 1)
		return err;
	c->pos++; /* the terminator */
	*out = v;
	return 0;
}

static int new_token(struct cursor *c, uint8_t type)
{
	struct nt_bencode *b = c->b;

	if (b->ntok >= NT_BENCODE_TOKENS_MAX)
		return NT_BENC_E_TOO_MANY;
	memset(&b->tok[b->ntok], 0, sizeof(b->tok[0]));
	b->tok[b->ntok].type = type;
	return (int)b->ntok++;
}

static int decode_int(struct cursor *c)
{
	bool neg = false;
	uint64_t mag;
	int t, ret;

	c->pos++; /* 'i' */
	if (c->pos < c->b->len && c->b->buf[c->pos] == '-') {
		neg = true;
		c->pos++;
	}
	ret = read_digits(c, 'e', neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, &mag,
			  NT_BENC_E_INT);
	if (ret < 0)
		return ret == NT_BENC_E_SYNTAX ? NT_BENC_E_INT : ret;
	if (neg && mag == 0)
		return NT_BENC_E_INT;
	t = new_token(c, NT_BENC_INT);
	if (t < 0)
		return t;
	if (neg)
		c->b->tok[t].ival = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
	else
		c->b->tok[t].ival = (int64_t)mag;
	c->b->tok[t].next = (uint32_t)c->b->ntok;
	return 0;
}

static int decode_str(struct cursor *c)
{
	uint64_t n;
	int t, ret;

	ret = read_digits(c, ':', UINT32_MAX, &n, NT_BENC_E_STRLEN);
	if (ret < 0)
		return ret;
	if (n > c->b->len - c->pos)
		return NT_BENC_E_STRLEN;
	t = new_token(c, NT_BENC_STR);
	if (t < 0)
		return t;
	c->b->tok[t].off = (uint32_t)c->pos;
	c->b->tok[t].len = (uint32_t)n;
	c->b->tok[t].next = (uint32_t)c->b->ntok;
	c->pos += (size_t)n;
	return 0;
}

/* Raw byte-string order, as BEP 3 requires for dictionary keys. */
static int key_cmp(const struct nt_bencode *b, const struct nt_bencode_tok *x,
		   const struct nt_bencode_tok *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(b->buf + x->off, b->buf + y->off, n);

	if (r)
		return r;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int decode_container(struct cursor *c, int depth, uint8_t type)
{
	struct nt_bencode *b = c->b;
	int t, prev_key = -1, ret;
	uint32_t children = 0;

	if (depth >= NT_BENCODE_DEPTH_MAX)
		return NT_BENC_E_DEPTH;
	t = new_token(c, type);
	if (t < 0)
		return t;
	c->pos++; /* 'l' or 'd' */
	for (;;) {
		if (c->pos >= b->len)
			return NT_BENC_E_TRUNCATED;
		if (b->buf[c->pos] == 'e')
			break;
		if (type == NT_BENC_DICT && (children & 1) == 0) {
			int k = (int)b->ntok;
			if (b->buf[c->pos] < '0' || b->buf[c->pos] > '9')
				return NT_BENC_E_KEY;
			ret = decode_str(c);
			if (ret < 0)
				return ret;
			if (prev_key >= 0 && key_cmp(b, &b->tok[prev_key], &b->tok[k]) >= 0)
				return NT_BENC_E_ORDER;
			prev_key = k;
		} else {
			ret = decode_value(c, depth + 1);
			if (ret < 0)
				return ret;
		}
		children++;
	}
	if (type == NT_BENC_DICT && (children & 1))
		return NT_BENC_E_SYNTAX; /* a key without a value */
	c->pos++; /* 'e' */
	b->tok[t].len = children;
	b->tok[t].next = (uint32_t)b->ntok;
	return 0;
}

static int decode_value(struct cursor *c, int depth)
{
	uint8_t ch;

	if (c->pos >= c->b->len)
		return NT_BENC_E_TRUNCATED;
	ch = c->b->buf[c->pos];
	if (ch == 'i')
		return decode_int(c);
	if (ch >= '0' && ch <= '9')
		return decode_str(c);
	if (ch == 'l')
		return decode_container(c, depth, NT_BENC_LIST);
	if (ch == 'd')
		return decode_container(c, depth, NT_BENC_DICT);
	return NT_BENC_E_SYNTAX;
}

int nt_bencode_decode(struct nt_bencode *b, const uint8_t *buf, size_t len)
{
	struct cursor c = { .b = b, .pos = 0 };
	int ret;

	b->buf = buf;
	b->len = len;
	b->ntok = 0;
	if (len > INT32_MAX)
		return NT_BENC_E_TOO_LARGE;
	ret = decode_value(&c, 0);
	if (ret < 0) {
		b->ntok = 0;
		return ret;
	}
	if (c.pos != len) {
		b->ntok = 0;
		return NT_BENC_E_TRAILING;
	}
	return 0;
}

const char *nt_bencode_strerror(int err)
{
	switch (err) {
	case NT_BENC_OK:
		return "ok";
	case NT_BENC_E_TRUNCATED:
		return "truncated";
	case NT_BENC_E_SYNTAX:
		return "syntax error";
	case NT_BENC_E_INT:
		return "malformed integer";
	case NT_BENC_E_STRLEN:
		return "malformed string length";
	case NT_BENC_E_DEPTH:
		return "nested too deep";
	case NT_BENC_E_TOO_MANY:
		return "too many values";
	case NT_BENC_E_TRAILING:
		return "trailing bytes";
	case NT_BENC_E_KEY:
		return "dictionary key is not a string";
	case NT_BENC_E_ORDER:
		return "dictionary keys not sorted";
	case NT_BENC_E_TOO_LARGE:
		return "input too large";
	}
	return "unknown error";
}

int nt_bencode_dict_get(const struct nt_bencode *b, int dict, const char *key)
{
	size_t klen = strlen(key);
	uint32_t i, end;

	if (dict < 0 || (size_t)dict >= b->ntok || b->tok[dict].type != NT_BENC_DICT)
		return -1;
	end = b->tok[dict].next;
	for (i = (uint32_t)dict + 1; i < end; i = b->tok[i + 1].next) {
		const struct nt_bencode_tok *k = &b->tok[i];
		if (k->len == klen && memcmp(b->buf + k->off, key, klen) == 0)
			return (int)i + 1;
	}
	return -1;
}

int nt_bencode_dict_get_type(const struct nt_bencode *b, int dict, const char *key,
			     enum nt_bencode_type type)
{
	int i = nt_bencode_dict_get(b, dict, key);

	return i >= 0 && b->tok[i].type == type ? i : -1;
}

const uint8_t *nt_bencode_str(const struct nt_bencode *b, int i, size_t *len)
{
	if (i < 0 || (size_t)i >= b->ntok || b->tok[i].type != NT_BENC_STR)
		return NULL;
	*len = b->tok[i].len;
	return b->buf + b->tok[i].off;
}

bool nt_bencode_str_is(const struct nt_bencode *b, int i, const char *s)
{
	size_t len;
	const uint8_t *p = nt_bencode_str(b, i, &len);

	return p && len == strlen(s) && memcmp(p, s, len) == 0;
}

void nt_bencode_writer_init(struct nt_bencode_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

static void put_raw(struct nt_bencode_writer *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void nt_bencode_put_int(struct nt_bencode_writer *w, int64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "i%" PRId64 "e", v);

	put_raw(w, tmp, (size_t)n);
}

void nt_bencode_put_str(struct nt_bencode_writer *w, const void *s, size_t len)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%zu:", len);

	put_raw(w, tmp, (size_t)n);
	put_raw(w, s, len);
}

void nt_bencode_put_cstr(struct nt_bencode_writer *w, const char *s)
{
	nt_bencode_put_str(w, s, strlen(s));
}

void nt_bencode_put_dict(struct nt_bencode_writer *w)
{
	put_raw(w, "d", 1);
}

void nt_bencode_put_list(struct nt_bencode_writer *w)
{
	put_raw(w, "l", 1);
}

void nt_bencode_put_end(struct nt_bencode_writer *w)
{
	put_raw(w, "e", 1);
}

ssize_t nt_bencode_writer_finish(const struct nt_bencode_writer *w)
{
	return w->overflow ? -ENOBUFS : (ssize_t)w->len;
}
