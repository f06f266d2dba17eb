// SPDX-License-Identifier: MIT
/*
 * KRPC codec (BEP 5, with BEP 32 nodes6/want, BEP 42 ip, BEP 43 ro).
 *
 *   query     {"t": tid, "y": "q", "q": method, "a": {"id": 20 bytes, ...}, "v": ...}
 *   response  {"t": tid, "y": "r", "r": {"id": 20 bytes, ...}, "ip": compact, "v": ...}
 *   error     {"t": tid, "y": "e", "e": [code, message]}
 *
 * The decoder validates the whole bencode tree first (bencode.c), then reads each field
 * it knows with an explicit type and length check and maps each failure to one error
 * code. Unknown keys are ignored, as BEP 5 asks, so newer extensions pass through.
 */
#include "discovery/dht_rpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const struct {
	enum nt_krpc_method m;
	const char *name;
} methods[] = {
	{ NT_KRPC_PING, "ping" },
	{ NT_KRPC_FIND_NODE, "find_node" },
	{ NT_KRPC_GET_PEERS, "get_peers" },
	{ NT_KRPC_ANNOUNCE_PEER, "announce_peer" },
};

const char *nt_krpc_method_name(enum nt_krpc_method m)
{
	for (size_t i = 0; i < NT_ARRAY_SIZE(methods); i++)
		if (methods[i].m == m)
			return methods[i].name;
	return m == NT_KRPC_NONE ? "none" : "unknown";
}

size_t nt_krpc_compact_encode(uint8_t *out, const union nt_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET) {
		memcpy(out, &a->in4.sin_addr, 4);
		memcpy(out + 4, &a->in4.sin_port, 2);
		return NT_KRPC_PEER4_LEN;
	}
	if (a->sa.sa_family == AF_INET6) {
		memcpy(out, &a->in6.sin6_addr, 16);
		memcpy(out + 16, &a->in6.sin6_port, 2);
		return NT_KRPC_PEER6_LEN;
	}
	return 0;
}

bool nt_krpc_compact_decode(union nt_sockaddr *a, const uint8_t *in, size_t len)
{
	memset(a, 0, sizeof(*a));
	if (len == NT_KRPC_PEER4_LEN) {
		a->in4.sin_family = AF_INET;
		memcpy(&a->in4.sin_addr, in, 4);
		memcpy(&a->in4.sin_port, in + 4, 2);
		return true;
	}
	if (len == NT_KRPC_PEER6_LEN) {
		a->in6.sin6_family = AF_INET6;
		memcpy(&a->in6.sin6_addr, in, 16);
		memcpy(&a->in6.sin6_port, in + 16, 2);
		return true;
	}
	return false;
}

bool nt_krpc_node_get(const uint8_t *nodes, size_t len, int af, size_t i,
		      uint8_t id[NT_DHT_ID_LEN], union nt_sockaddr *addr)
{
	size_t sz = af == AF_INET6 ? NT_KRPC_NODE6_LEN : NT_KRPC_NODE4_LEN;

	if (!nodes || i >= len / sz)
		return false;
	memcpy(id, nodes + i * sz, NT_DHT_ID_LEN);
	return nt_krpc_compact_decode(addr, nodes + i * sz + NT_DHT_ID_LEN, sz - NT_DHT_ID_LEN);
}

size_t nt_krpc_node_put(uint8_t *out, const uint8_t id[NT_DHT_ID_LEN],
			const union nt_sockaddr *addr)
{
	size_t n = nt_krpc_compact_encode(out + NT_DHT_ID_LEN, addr);

	if (!n)
		return 0;
	memcpy(out, id, NT_DHT_ID_LEN);
	return NT_DHT_ID_LEN + n;
}

/* A string of exactly len bytes under key, copied to out; false if absent or wrong. */
static bool get_fixed(const struct nt_bencode *b, int dict, const char *key, uint8_t *out,
		      size_t len)
{
	size_t n;
	const uint8_t *p = nt_bencode_str(b, nt_bencode_dict_get(b, dict, key), &n);

	if (!p || n != len)
		return false;
	memcpy(out, p, len);
	return true;
}

/* An optional 0/1 integer flag: 0 when absent or valid, NT_KRPC_E_FLAG otherwise. */
static int get_flag(const struct nt_bencode *b, int dict, const char *key, bool *out)
{
	int i = nt_bencode_dict_get(b, dict, key);

	*out = false;
	if (i < 0)
		return 0;
	if (b->tok[i].type != NT_BENC_INT || (b->tok[i].ival != 0 && b->tok[i].ival != 1))
		return NT_KRPC_E_FLAG;
	*out = b->tok[i].ival == 1;
	return 0;
}

static int decode_token(const struct nt_bencode *b, int dict, struct nt_krpc_msg *m)
{
	int i = nt_bencode_dict_get(b, dict, "token");

	if (i < 0)
		return 0;
	m->token = nt_bencode_str(b, i, &m->token_len);
	if (!m->token || m->token_len == 0 || m->token_len > NT_KRPC_TOKEN_MAX) {
		m->token = NULL;
		return NT_KRPC_E_TOKEN;
	}
	return 0;
}

static int decode_want(const struct nt_bencode *b, int dict, struct nt_krpc_msg *m)
{
	int i = nt_bencode_dict_get(b, dict, "want");
	uint32_t j, end;

	if (i < 0)
		return 0;
	if (b->tok[i].type != NT_BENC_LIST)
		return NT_KRPC_E_WANT;
	end = b->tok[i].next;
	for (j = (uint32_t)i + 1; j < end; j = b->tok[j].next) {
		if (b->tok[j].type != NT_BENC_STR)
			return NT_KRPC_E_WANT;
		if (nt_bencode_str_is(b, (int)j, "n4"))
			m->want |= NT_KRPC_WANT_N4;
		else if (nt_bencode_str_is(b, (int)j, "n6"))
			m->want |= NT_KRPC_WANT_N6;
	}
	return 0;
}

static int decode_query_args(const struct nt_bencode *b, int a, struct nt_krpc_msg *m)
{
	int ret, i;

	switch (m->method) {
	case NT_KRPC_FIND_NODE:
		if (!get_fixed(b, a, "target", m->target, NT_DHT_ID_LEN))
			return NT_KRPC_E_TARGET;
		return decode_want(b, a, m);
	case NT_KRPC_GET_PEERS:
		if (!get_fixed(b, a, "info_hash", m->target, NT_DHT_ID_LEN))
			return NT_KRPC_E_INFO_HASH;
		return decode_want(b, a, m);
	case NT_KRPC_ANNOUNCE_PEER:
		if (!get_fixed(b, a, "info_hash", m->target, NT_DHT_ID_LEN))
			return NT_KRPC_E_INFO_HASH;
		ret = get_flag(b, a, "implied_port", &m->implied_port);
		if (ret < 0)
			return ret;
		i = nt_bencode_dict_get(b, a, "port");
		if (i >= 0) {
			if (b->tok[i].type != NT_BENC_INT || b->tok[i].ival < 0 ||
			    b->tok[i].ival > 65535)
				return NT_KRPC_E_PORT;
			m->port = (uint16_t)b->tok[i].ival;
		}
		if (!m->implied_port && m->port == 0)
			return NT_KRPC_E_PORT;
		ret = decode_token(b, a, m);
		if (ret < 0)
			return ret;
		return m->token ? 0 : NT_KRPC_E_TOKEN;
	default:
		return 0;
	}
}

static int decode_values(const struct nt_bencode *b, int r, struct nt_krpc_msg *m)
{
	int i = nt_bencode_dict_get(b, r, "values");
	uint32_t j, end;

	if (i < 0)
		return 0;
	if (b->tok[i].type != NT_BENC_LIST)
		return NT_KRPC_E_VALUES;
	end = b->tok[i].next;
	for (j = (uint32_t)i + 1; j < end; j = b->tok[j].next) {
		size_t len;
		const uint8_t *p = nt_bencode_str(b, (int)j, &len);
		union nt_sockaddr sa;

		if (!p || !nt_krpc_compact_decode(&sa, p, len))
			return NT_KRPC_E_VALUES;
		if (m->n_values < NT_KRPC_VALUES_MAX)
			m->values[m->n_values++] = sa;
		else
			m->values_dropped++;
	}
	return 0;
}

static int decode_response(const struct nt_bencode *b, int r, struct nt_krpc_msg *m)
{
	int i, ret;

	i = nt_bencode_dict_get(b, r, "nodes");
	if (i >= 0) {
		m->nodes = nt_bencode_str(b, i, &m->nodes_len);
		if (!m->nodes || m->nodes_len % NT_KRPC_NODE4_LEN)
			return NT_KRPC_E_NODES;
	}
	i = nt_bencode_dict_get(b, r, "nodes6");
	if (i >= 0) {
		m->nodes6 = nt_bencode_str(b, i, &m->nodes6_len);
		if (!m->nodes6 || m->nodes6_len % NT_KRPC_NODE6_LEN)
			return NT_KRPC_E_NODES6;
	}
	ret = decode_token(b, r, m);
	if (ret < 0)
		return ret;
	return decode_values(b, r, m);
}

static int decode_error(const struct nt_bencode *b, int top, struct nt_krpc_msg *m)
{
	int e = nt_bencode_dict_get_type(b, top, "e", NT_BENC_LIST);
	int code, text;

	if (e < 0 || b->tok[e].len != 2)
		return NT_KRPC_E_ERROR_LIST;
	code = e + 1;
	text = (int)b->tok[code].next;
	if (b->tok[code].type != NT_BENC_INT)
		return NT_KRPC_E_ERROR_LIST;
	m->error_code = b->tok[code].ival;
	m->error_msg = nt_bencode_str(b, text, &m->error_msg_len);
	return m->error_msg ? 0 : NT_KRPC_E_ERROR_LIST;
}

static int decode_msg(struct nt_krpc_msg *m, const uint8_t *buf, size_t len)
{
	const struct nt_bencode *b = &m->bencode;
	const uint8_t *p;
	size_t n;
	int ret, top = 0, body, i;

	ret = nt_bencode_decode(&m->bencode, buf, len);
	if (ret < 0) {
		m->bencode_err = ret;
		return NT_KRPC_E_BENCODE;
	}
	if (b->tok[top].type != NT_BENC_DICT)
		return NT_KRPC_E_NOT_DICT;

	p = nt_bencode_str(b, nt_bencode_dict_get(b, top, "t"), &n);
	if (!p || n == 0 || n > NT_KRPC_TID_MAX)
		return NT_KRPC_E_TID;
	memcpy(m->tid, p, n);
	m->tid_len = n;

	i = nt_bencode_dict_get(b, top, "y");
	if (nt_bencode_str_is(b, i, "q"))
		m->type = NT_KRPC_QUERY;
	else if (nt_bencode_str_is(b, i, "r"))
		m->type = NT_KRPC_RESPONSE;
	else if (nt_bencode_str_is(b, i, "e"))
		m->type = NT_KRPC_ERROR;
	else
		return NT_KRPC_E_TYPE;

	p = nt_bencode_str(b, nt_bencode_dict_get(b, top, "v"), &n);
	if (p && n == sizeof(m->v)) {
		memcpy(m->v, p, n);
		m->has_v = true;
	}
	i = nt_bencode_dict_get(b, top, "ip");
	if (i >= 0) {
		p = nt_bencode_str(b, i, &n);
		if (!p || !nt_krpc_compact_decode(&m->ip, p, n))
			return NT_KRPC_E_IP;
		m->has_ip = true;
	}
	ret = get_flag(b, top, "ro", &m->ro);
	if (ret < 0)
		return ret;

	if (m->type == NT_KRPC_ERROR)
		return decode_error(b, top, m);

	if (m->type == NT_KRPC_QUERY) {
		i = nt_bencode_dict_get_type(b, top, "q", NT_BENC_STR);
		if (i < 0)
			return NT_KRPC_E_METHOD;
		m->method = NT_KRPC_UNKNOWN;
		for (size_t k = 0; k < NT_ARRAY_SIZE(methods); k++)
			if (nt_bencode_str_is(b, i, methods[k].name))
				m->method = methods[k].m;
		body = nt_bencode_dict_get_type(b, top, "a", NT_BENC_DICT);
	} else {
		body = nt_bencode_dict_get_type(b, top, "r", NT_BENC_DICT);
	}
	if (body < 0)
		return NT_KRPC_E_ARGS;
	if (!get_fixed(b, body, "id", m->id, NT_DHT_ID_LEN))
		return NT_KRPC_E_ID;
	m->has_id = true;
	if (m->type == NT_KRPC_QUERY)
		return decode_query_args(b, body, m);
	return decode_response(b, body, m);
}

int nt_krpc_decode(struct nt_krpc_msg *m, const uint8_t *buf, size_t len)
{
	/* Clear only the header, not the large scratch and value arrays. */
	memset(m, 0, offsetof(struct nt_krpc_msg, values));
	m->error_code = 0;
	m->error_msg = NULL;
	m->error_msg_len = 0;
	m->bencode_err = 0;
	return decode_msg(m, buf, len);
}

const char *nt_krpc_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case NT_KRPC_E_BENCODE:
		return "invalid bencode";
	case NT_KRPC_E_NOT_DICT:
		return "message is not a dictionary";
	case NT_KRPC_E_TID:
		return "bad transaction id";
	case NT_KRPC_E_TYPE:
		return "bad message type";
	case NT_KRPC_E_METHOD:
		return "query without method";
	case NT_KRPC_E_ARGS:
		return "missing arguments or response body";
	case NT_KRPC_E_ID:
		return "bad node id";
	case NT_KRPC_E_TARGET:
		return "bad target";
	case NT_KRPC_E_INFO_HASH:
		return "bad info_hash";
	case NT_KRPC_E_TOKEN:
		return "bad token";
	case NT_KRPC_E_PORT:
		return "bad port";
	case NT_KRPC_E_NODES:
		return "bad nodes";
	case NT_KRPC_E_NODES6:
		return "bad nodes6";
	case NT_KRPC_E_VALUES:
		return "bad values";
	case NT_KRPC_E_IP:
		return "bad ip";
	case NT_KRPC_E_ERROR_LIST:
		return "bad error list";
	case NT_KRPC_E_WANT:
		return "bad want";
	case NT_KRPC_E_FLAG:
		return "bad flag";
	}
	return "unknown error";
}

static void put_key_str(struct nt_bencode_writer *w, const char *key, const void *s, size_t n)
{
	nt_bencode_put_cstr(w, key);
	nt_bencode_put_str(w, s, n);
}

static void put_want(struct nt_bencode_writer *w, unsigned int want)
{
	if (!want)
		return;
	nt_bencode_put_cstr(w, "want");
	nt_bencode_put_list(w);
	if (want & NT_KRPC_WANT_N4)
		nt_bencode_put_cstr(w, "n4");
	if (want & NT_KRPC_WANT_N6)
		nt_bencode_put_cstr(w, "n6");
	nt_bencode_put_end(w);
}

/* Keys below are written in the byte order BEP 3 requires; the tests decode them strictly. */
static int encode_args(struct nt_bencode_writer *w, const struct nt_krpc_msg *m)
{
	nt_bencode_put_dict(w);
	put_key_str(w, "id", m->id, NT_DHT_ID_LEN);
	switch (m->method) {
	case NT_KRPC_PING:
		break;
	case NT_KRPC_FIND_NODE:
		put_key_str(w, "target", m->target, NT_DHT_ID_LEN);
		put_want(w, m->want);
		break;
	case NT_KRPC_GET_PEERS:
		put_key_str(w, "info_hash", m->target, NT_DHT_ID_LEN);
		put_want(w, m->want);
		break;
	case NT_KRPC_ANNOUNCE_PEER:
		if (!m->token)
			return -EINVAL;
		if (m->implied_port) {
			nt_bencode_put_cstr(w, "implied_port");
			nt_bencode_put_int(w, 1);
		}
		put_key_str(w, "info_hash", m->target, NT_DHT_ID_LEN);
		nt_bencode_put_cstr(w, "port");
		nt_bencode_put_int(w, m->port);
		put_key_str(w, "token", m->token, m->token_len);
		break;
	default:
		return -EINVAL;
	}
	nt_bencode_put_end(w);
	return 0;
}

static void encode_body(struct nt_bencode_writer *w, const struct nt_krpc_msg *m)
{
	uint8_t peer[NT_KRPC_PEER6_LEN];

	nt_bencode_put_dict(w);
	put_key_str(w, "id", m->id, NT_DHT_ID_LEN);
	if (m->nodes)
		put_key_str(w, "nodes", m->nodes, m->nodes_len);
	if (m->nodes6)
		put_key_str(w, "nodes6", m->nodes6, m->nodes6_len);
	if (m->token)
		put_key_str(w, "token", m->token, m->token_len);
	if (m->n_values) {
		nt_bencode_put_cstr(w, "values");
		nt_bencode_put_list(w);
		for (size_t i = 0; i < m->n_values && i < NT_KRPC_VALUES_MAX; i++) {
			size_t n = nt_krpc_compact_encode(peer, &m->values[i]);
			if (n)
				nt_bencode_put_str(w, peer, n);
		}
		nt_bencode_put_end(w);
	}
	nt_bencode_put_end(w);
}

ssize_t nt_krpc_encode(const struct nt_krpc_msg *m, uint8_t *buf, size_t cap)
{
	struct nt_bencode_writer w;
	uint8_t ip[NT_KRPC_PEER6_LEN];
	size_t iplen = 0;
	int ret;

	if (m->tid_len == 0 || m->tid_len > NT_KRPC_TID_MAX)
		return -EINVAL;
	if (m->has_ip && !(iplen = nt_krpc_compact_encode(ip, &m->ip)))
		return -EINVAL;
	nt_bencode_writer_init(&w, buf, cap);
	nt_bencode_put_dict(&w);
	switch (m->type) {
	case NT_KRPC_QUERY:
		nt_bencode_put_cstr(&w, "a");
		ret = encode_args(&w, m);
		if (ret < 0)
			return ret;
		put_key_str(&w, "q", nt_krpc_method_name(m->method),
			    strlen(nt_krpc_method_name(m->method)));
		if (m->ro) {
			nt_bencode_put_cstr(&w, "ro");
			nt_bencode_put_int(&w, 1);
		}
		break;
	case NT_KRPC_RESPONSE:
		if (m->has_ip)
			put_key_str(&w, "ip", ip, iplen);
		nt_bencode_put_cstr(&w, "r");
		encode_body(&w, m);
		break;
	case NT_KRPC_ERROR:
		nt_bencode_put_cstr(&w, "e");
		nt_bencode_put_list(&w);
		nt_bencode_put_int(&w, m->error_code);
		nt_bencode_put_str(&w, m->error_msg ? m->error_msg : (const uint8_t *)"",
				   m->error_msg_len);
		nt_bencode_put_end(&w);
		if (m->has_ip)
			put_key_str(&w, "ip", ip, iplen);
		break;
	default:
		return -EINVAL;
	}
	put_key_str(&w, "t", m->tid, m->tid_len);
	if (m->has_v)
		put_key_str(&w, "v", m->v, sizeof(m->v));
	put_key_str(&w, "y", m->type == NT_KRPC_QUERY ? "q" :
			     m->type == NT_KRPC_RESPONSE ? "r" : "e", 1);
	nt_bencode_put_end(&w);
	return nt_bencode_writer_finish(&w);
}
