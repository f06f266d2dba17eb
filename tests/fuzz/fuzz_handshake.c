// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the handshake parsers with fixed identities, network keys, ephemerals
 * and clocks, so a recorded message stays valid from run to run. Input: one control byte,
 * then the datagram. Control & 7 picks what consumes it:
 *   0 INIT by a fresh responder        1 INIT by a responder under load
 *   2 RESP by an initiator in INIT_SENT 3 FIN by a responder in RESP_SENT
 *   4 COOKIE_REPLY by an initiator      5 peek only
 * Control & 0x80 recomputes mac1 first (a network member's forgery), so the fuzzer gets
 * past mac1 and into the Noise parsing. Build with -DNT_FUZZ_GEN_SEEDS for a main() that
 * writes real messages as seeds into the directory named by argv[1].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/handshake.h"

enum { WALL = 1700000000000ULL, NOW = 1000000, IDX_I = 0x1000, IDX_R = 0x2000 };

static struct nt_identity id_i, id_r;
static struct nt_network_keys *keys;
static union nt_sockaddr addr_i, addr_r;

static void make_identity(struct nt_identity *id, uint8_t seed_byte)
{
	uint8_t seed[32];

	memset(seed, seed_byte, sizeof(seed));
	id->ed_sk = sodium_malloc(64);
	id->x_sk = sodium_malloc(32);
	if (!id->ed_sk || !id->x_sk)
		abort();
	crypto_sign_seed_keypair(id->ed_pk, id->ed_sk, seed);
	if (crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->ed_pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk) != 0)
		abort();
}

static void setup_once(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	if (sodium_init() < 0)
		abort();
	make_identity(&id_i, 1);
	make_identity(&id_r, 2);
	keys = sodium_malloc(sizeof(*keys));
	if (!keys)
		abort();
	memset(keys, 0, sizeof(*keys));
	memset(keys->psk, 0x11, 32);
	memset(keys->mac1_key, 0x22, 32);
	memset(keys->cookie_key, 0x33, 32);
	if (!nt_sockaddr_parse("192.0.2.1:51830", &addr_i) ||
	    !nt_sockaddr_parse("198.51.100.2:51830", &addr_r))
		abort();
}

struct world {
	struct nt_handshake_local li, lr;
	struct nt_handshake hi, hr;
	uint8_t init[NT_HS_INIT_LEN], resp[NT_HS_RESP_LEN];
};

/* Initiator in INIT_SENT; with respond, responder in RESP_SENT too. */
static void world_up(struct world *w, bool respond)
{
	uint8_t e[32];

	if (nt_handshake_local_init(&w->li, &id_i, keys, NOW) < 0 ||
	    nt_handshake_local_init(&w->lr, &id_r, keys, NOW) < 0 || nt_handshake_init(&w->hi) < 0 ||
	    nt_handshake_init(&w->hr) < 0)
		abort();
	memset(e, 0xA1, sizeof(e));
	nt_handshake_set_ephemeral(&w->hi, e);
	if (nt_handshake_create_init(&w->hi, &w->li, IDX_I, WALL, NOW, w->init) < 0)
		abort();
	if (!respond)
		return;
	memset(e, 0xB2, sizeof(e));
	nt_handshake_set_ephemeral(&w->hr, e);
	if (nt_handshake_consume_init(&w->hr, &w->lr, w->init, sizeof(w->init), &addr_i, false,
				      NOW, WALL) != NT_HS_OK ||
	    nt_handshake_create_resp(&w->hr, &w->lr, IDX_R, NOW, w->resp) < 0)
		abort();
}

static void world_down(struct world *w)
{
	nt_handshake_uninit(&w->hi);
	nt_handshake_uninit(&w->hr);
	nt_handshake_local_uninit(&w->li);
	nt_handshake_local_uninit(&w->lr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world w;
	struct nt_handshake_result res;
	uint8_t msg[512], out[NT_HS_RESP_LEN], type;
	uint32_t idx;
	size_t len;
	int mode;

	if (size < 1 || size - 1 > sizeof(msg))
		return 0;
	setup_once();
	mode = data[0] & 7;
	len = size - 1;
	memcpy(msg, data + 1, len);
	if ((data[0] & 0x80) && len >= 32)
		nt_cookie_mac1_compute(keys->mac1_key, msg, len, msg + len - 32);

	switch (mode) {
	case 0:
	case 1:
		world_up(&w, false);
		switch (nt_handshake_consume_init(&w.hr, &w.lr, msg, len, &addr_i, mode == 1, NOW, WALL)) {
		case NT_HS_OK:
			if (nt_handshake_create_resp(&w.hr, &w.lr, IDX_R, NOW, out) < 0)
				abort();
			break;
		case NT_HS_DROP_MAC2_NEEDED:
			if (nt_handshake_create_cookie_reply(&w.lr, msg, len, &addr_i, NOW, out) < 0)
				abort();
			break;
		default:
			break;
		}
		break;
	case 2:
		world_up(&w, false);
		if (nt_handshake_consume_resp(&w.hi, &w.li, msg, len, &addr_r, NOW) == NT_HS_OK) {
			if (nt_handshake_create_fin(&w.hi, &w.li, NOW, out) < 0 ||
			    nt_handshake_finish(&w.hi, &res) < 0)
				abort();
		}
		break;
	case 3:
		world_up(&w, true);
		if (nt_handshake_consume_fin(&w.hr, &w.lr, msg, len, &addr_i, NOW) == NT_HS_OK) {
			if (nt_handshake_finish(&w.hr, &res) < 0 ||
			    memcmp(res.peer_id, id_i.ed_pk, 32) != 0)
				abort();
		}
		break;
	case 4:
		world_up(&w, false);
		(void)nt_handshake_consume_cookie_reply(&w.hi, &w.li, msg, len, NOW);
		break;
	default:
		if (nt_handshake_peek(msg, len, &type, &idx) && (type < 0xE1 || type > 0xE4))
			abort();
		return 0;
	}
	world_down(&w);
	sodium_memzero(&res, sizeof(res));
	return 0;
}

#ifdef NT_FUZZ_GEN_SEEDS
static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *m, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(m, 1, len, f) != len || fclose(f) != 0)
		abort();
}

int main(int argc, char **argv)
{
	struct world w;
	uint8_t fin[NT_HS_FIN_LEN], cookie[NT_HS_COOKIE_REPLY_LEN], junk[NT_HS_INIT_LEN];

	if (argc != 2)
		return 2;
	setup_once();
	world_up(&w, true);
	if (nt_handshake_consume_resp(&w.hi, &w.li, w.resp, sizeof(w.resp), &addr_r, NOW) != NT_HS_OK ||
	    nt_handshake_create_fin(&w.hi, &w.li, NOW, fin) < 0 ||
	    nt_handshake_create_cookie_reply(&w.lr, w.init, sizeof(w.init), &addr_i, NOW, cookie) < 0)
		abort();
	put(argv[1], "init", 0, w.init, sizeof(w.init));
	put(argv[1], "init-member", 0x80, w.init, sizeof(w.init));
	put(argv[1], "init-load", 1, w.init, sizeof(w.init));
	put(argv[1], "resp", 2, w.resp, sizeof(w.resp));
	put(argv[1], "resp-member", 0x82, w.resp, sizeof(w.resp));
	put(argv[1], "fin", 3, fin, sizeof(fin));
	put(argv[1], "fin-member", 0x83, fin, sizeof(fin));
	put(argv[1], "cookie", 4, cookie, sizeof(cookie));
	put(argv[1], "peek-resp", 5, w.resp, sizeof(w.resp));
	put(argv[1], "peek-fin", 5, fin, sizeof(fin));
	memset(junk, 0, sizeof(junk));
	junk[0] = 0xE1;
	put(argv[1], "init-zero-e", 0x80, junk, sizeof(junk));
	put(argv[1], "short", 0x80, junk, 40);
	world_down(&w);
	return 0;
}
#endif
