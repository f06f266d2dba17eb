// SPDX-License-Identifier: MIT
/*
 * Encoding and strict decoding of the control messages (see control.h for the layouts).
 * A cursor with a remaining length is the only way bytes are read.
 */
#include "proto/control.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *c, void *out, size_t n)
{
	if (c->left < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->left -= n;
	return true;
}

static bool take_u8(struct cursor *c, uint8_t *v)
{
	return take(c, v, 1);
}

static bool take_u16(struct cursor *c, uint16_t *v)
{
	uint8_t b[2];

	if (!take(c, b, 2))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

struct writer {
	uint8_t *p;
	size_t left;
	bool overflow;
};

static void put(struct writer *w, const void *in, size_t n)
{
	if (w->overflow || w->left < n) {
		w->overflow = true;
		return;
	}
	memcpy(w->p, in, n);
	w->p += n;
	w->left -= n;
}

static void put_u8(struct writer *w, uint8_t v)
{
	put(w, &v, 1);
}

static void put_u16(struct writer *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(w, b, 2);
}

int nt_control_announce_encode(const struct nt_announce *a, uint8_t *out, size_t cap)
{
	struct writer w = { out, cap, false };
	size_t name_len = strnlen(a->name, NT_CTRL_NAME_MAX);

	put_u8(&w, NT_CTRL_VERSION);
	put_u16(&w, a->listen_port);
	put_u8(&w, (uint8_t)a->n_addresses);
	for (unsigned int i = 0; i < a->n_addresses && i < NT_MAX_ADDRESSES; i++) {
		const struct nt_cidr *c = &a->addresses[i];
		put_u8(&w, c->family == AF_INET ? 4 : 6);
		put_u8(&w, c->prefix);
		put(&w, c->addr, c->family == AF_INET ? 4 : 16);
	}
	put_u8(&w, (uint8_t)name_len);
	put(&w, a->name, name_len);
	put_u8(&w, a->keep ? NT_ANNOUNCE_KEEP : 0);
	return w.overflow ? -EMSGSIZE : (int)(cap - w.left);
}

bool nt_control_announce_decode(struct nt_announce *a, const uint8_t *in, size_t len)
{
	struct cursor c = { in, len };
	uint8_t version, n, name_len, flags;

	memset(a, 0, sizeof(*a));
	if (!take_u8(&c, &version) || version != NT_CTRL_VERSION)
		return false;
	if (!take_u16(&c, &a->listen_port) || !take_u8(&c, &n) || n > NT_MAX_ADDRESSES)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		struct nt_cidr *cidr = &a->addresses[i];
		uint8_t fam;
		if (!take_u8(&c, &fam) || !take_u8(&c, &cidr->prefix))
			return false;
		if (fam == 4) {
			cidr->family = AF_INET;
			if (cidr->prefix > 32 || !take(&c, cidr->addr, 4))
				return false;
		} else if (fam == 6) {
			cidr->family = AF_INET6;
			if (cidr->prefix > 128 || !take(&c, cidr->addr, 16))
				return false;
		} else {
			return false;
		}
	}
	a->n_addresses = n;
	if (!take_u8(&c, &name_len) || name_len > NT_CTRL_NAME_MAX || !take(&c, a->name, name_len))
		return false;
	a->name[name_len] = '\0';
	/* Flags: bits we do not know are for later versions, and ignored. */
	if (!take_u8(&c, &flags))
		return false;
	a->keep = flags & NT_ANNOUNCE_KEEP;
	/* A name is for display: printable ASCII only, so logs and JSON stay clean. */
	for (unsigned int i = 0; i < name_len; i++)
		if (a->name[i] < 0x20 || a->name[i] > 0x7e)
			return false;
	return c.left == 0;
}

int nt_control_pex_encode(const struct nt_pex *p, uint8_t *out, size_t cap)
{
	struct writer w = { out, cap, false };

	put_u8(&w, NT_CTRL_VERSION);
	put_u8(&w, (uint8_t)p->count);
	for (unsigned int i = 0; i < p->count && i < NT_PEX_MAX; i++) {
		const union nt_sockaddr *e = &p->entries[i].endpoint;
		put(&w, p->entries[i].id, 32);
		if (e->sa.sa_family == AF_INET) {
			put_u8(&w, 4);
			put(&w, &e->in4.sin_addr, 4);
			put(&w, &e->in4.sin_port, 2);
		} else {
			put_u8(&w, 6);
			put(&w, &e->in6.sin6_addr, 16);
			put(&w, &e->in6.sin6_port, 2);
		}
	}
	return w.overflow ? -EMSGSIZE : (int)(cap - w.left);
}

bool nt_control_pex_decode(struct nt_pex *p, const uint8_t *in, size_t len)
{
	struct cursor c = { in, len };
	uint8_t version, n;

	memset(p, 0, sizeof(*p));
	if (!take_u8(&c, &version) || version != NT_CTRL_VERSION)
		return false;
	if (!take_u8(&c, &n) || n > NT_PEX_MAX)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		struct nt_pex_entry *e = &p->entries[i];
		uint8_t fam;
		if (!take(&c, e->id, 32) || !take_u8(&c, &fam))
			return false;
		if (fam == 4) {
			e->endpoint.in4.sin_family = AF_INET;
			if (!take(&c, &e->endpoint.in4.sin_addr, 4) ||
			    !take(&c, &e->endpoint.in4.sin_port, 2))
				return false;
			if (e->endpoint.in4.sin_port == 0)
				return false;
		} else if (fam == 6) {
			e->endpoint.in6.sin6_family = AF_INET6;
			if (!take(&c, &e->endpoint.in6.sin6_addr, 16) ||
			    !take(&c, &e->endpoint.in6.sin6_port, 2))
				return false;
			if (e->endpoint.in6.sin6_port == 0)
				return false;
		} else {
			return false;
		}
	}
	p->count = n;
	return c.left == 0;
}

bool nt_control_relay_decode(const uint8_t *in, size_t len, const uint8_t **id,
			     const uint8_t **frame, size_t *frame_len)
{
	if (len < NT_CTRL_RELAY_HDR + 1 || in[0] != NT_CTRL_VERSION)
		return false;
	if (in[NT_CTRL_RELAY_HDR] < 0xE1 || in[NT_CTRL_RELAY_HDR] > 0xE5)
		return false;
	*id = in + 1;
	*frame = in + NT_CTRL_RELAY_HDR;
	*frame_len = len - NT_CTRL_RELAY_HDR;
	return true;
}

void nt_control_relay_header(uint8_t *out, const uint8_t id[32])
{
	out[0] = NT_CTRL_VERSION;
	memcpy(out + 1, id, 32);
}

void nt_control_path_encode(uint8_t out[NT_CTRL_PATH_LEN], const uint8_t nonce[NT_CTRL_PATH_NONCE])
{
	out[0] = NT_CTRL_VERSION;
	memcpy(out + 1, nonce, NT_CTRL_PATH_NONCE);
}

bool nt_control_path_decode(const uint8_t *in, size_t len, uint8_t nonce[NT_CTRL_PATH_NONCE])
{
	if (len != NT_CTRL_PATH_LEN || in[0] != NT_CTRL_VERSION)
		return false;
	memcpy(nonce, in + 1, NT_CTRL_PATH_NONCE);
	return true;
}
