// SPDX-License-Identifier: MIT
/*
 * The Noise Protocol Framework, revision 34 (noiseprotocol.org/noise.html), for the suite
 * 25519_ChaChaPoly_BLAKE2b: CipherState, SymmetricState and HandshakeState of spec §5,
 * HMAC-BLAKE2b (RFC 2104, block length 128) and HKDF of §4.3 built by hand on libsodium's
 * crypto_generichash, since libsodium has no HMAC-BLAKE2b. Patterns are token lists
 * (§7) with the pskN modifiers of §9; the engine interprets them generically.
 *
 * Every operation copies the live state to a scratch state, works there, and copies back
 * only on success; the scratch copy and all stack temporaries are wiped before returning.
 */
#include "proto/noise.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct noise_sym {
	uint8_t ck[NT_NOISE_HASHLEN];
	uint8_t h[NT_NOISE_HASHLEN];
	uint8_t k[NT_NOISE_KEYLEN];
	uint64_t n;
	bool has_key;
};

struct noise_hs {
	struct noise_sym sym;
	uint8_t s_sk[NT_NOISE_DHLEN], s_pk[NT_NOISE_DHLEN];
	uint8_t e_sk[NT_NOISE_DHLEN], e_pk[NT_NOISE_DHLEN];
	uint8_t rs[NT_NOISE_DHLEN], re[NT_NOISE_DHLEN];
	uint8_t psks[NT_NOISE_MAX_PSKS][NT_NOISE_KEYLEN];
	bool has_s, has_e, has_rs, has_re;
	uint8_t msg_index; /* next message of the pattern */
	uint8_t psk_index; /* next psk to mix */
};

struct nt_noise_state {
	struct noise_hs live;
	struct noise_hs work; /* scratch: wiped after every operation */
	uint8_t inject_e[NT_NOISE_DHLEN]; /* tests: the next e secret */
	bool has_inject_e;
};

static const struct {
	const char *name;
	bool pre_s_i, pre_s_r;
	uint8_t n_msgs;
	uint8_t tokens[3][NT_NOISE_MAX_TOKENS];
} base_patterns[] = {
	/* XX:  -> e   <- e, ee, s, es   -> s, se */
	{ "XX", false, false, 3,
	  { { NT_NOISE_TOK_E },
	    { NT_NOISE_TOK_E, NT_NOISE_TOK_EE, NT_NOISE_TOK_S, NT_NOISE_TOK_ES },
	    { NT_NOISE_TOK_S, NT_NOISE_TOK_SE } } },
	/* IK:  <- s ...   -> e, es, s, ss   <- e, ee, se */
	{ "IK", false, true, 2,
	  { { NT_NOISE_TOK_E, NT_NOISE_TOK_ES, NT_NOISE_TOK_S, NT_NOISE_TOK_SS },
	    { NT_NOISE_TOK_E, NT_NOISE_TOK_EE, NT_NOISE_TOK_SE } } },
};

static const char suite_suffix[] = "_25519_ChaChaPoly_BLAKE2b";

static size_t count_tokens(const uint8_t *t)
{
	size_t i = 0;

	while (i < NT_NOISE_MAX_TOKENS && t[i])
		i++;
	return i;
}

bool nt_noise_pattern_parse(struct nt_noise_pattern *p, const char *protocol_name)
{
	size_t len = strlen(protocol_name), suf = sizeof(suite_suffix) - 1, i, b;
	const char *pat, *mod, *end;

	memset(p, 0, sizeof(*p));
	if (len >= sizeof(p->name) || len < 6 + suf || strncmp(protocol_name, "Noise_", 6) != 0 ||
	    strcmp(protocol_name + len - suf, suite_suffix) != 0)
		return false;
	pat = protocol_name + 6;
	end = protocol_name + len - suf;
	for (b = 0; b < NT_ARRAY_SIZE(base_patterns); b++)
		if ((size_t)(end - pat) >= 2 && strncmp(pat, base_patterns[b].name, 2) == 0)
			break;
	if (b == NT_ARRAY_SIZE(base_patterns))
		return false;
	p->pre_s_initiator = base_patterns[b].pre_s_i;
	p->pre_s_responder = base_patterns[b].pre_s_r;
	p->n_msgs = base_patterns[b].n_msgs;
	for (i = 0; i < p->n_msgs; i++) {
		memcpy(p->tokens[i], base_patterns[b].tokens[i], NT_NOISE_MAX_TOKENS);
		p->n_tokens[i] = (uint8_t)count_tokens(p->tokens[i]);
	}

	/* Modifiers: "psk0" puts a psk token first in message 1, "pskN" last in message N. */
	mod = pat + 2;
	while (mod < end) {
		unsigned int n;
		uint8_t *t;

		if (mod != pat + 2) {
			if (*mod != '+')
				return false;
			mod++;
		}
		if (end - mod < 4 || strncmp(mod, "psk", 3) != 0 || mod[3] < '0' || mod[3] > '9')
			return false;
		n = (unsigned int)(mod[3] - '0');
		mod += 4;
		if (mod < end && *mod >= '0' && *mod <= '9')
			return false; /* psk10 and up: no pattern is that long */
		if (n > p->n_msgs || p->n_psks == NT_NOISE_MAX_PSKS)
			return false;
		i = n == 0 ? 0 : n - 1;
		if (p->n_tokens[i] == NT_NOISE_MAX_TOKENS)
			return false;
		t = p->tokens[i];
		if (n == 0) {
			memmove(t + 1, t, p->n_tokens[i]);
			t[0] = NT_NOISE_TOK_PSK;
		} else {
			t[p->n_tokens[i]] = NT_NOISE_TOK_PSK;
		}
		p->n_tokens[i]++;
		p->n_psks++;
		p->psk = true;
	}
	memcpy(p->name, protocol_name, len + 1);
	return true;
}

/* HMAC-BLAKE2b (RFC 2104 with B = 128, L = 64) over d1 || d2; key at most 64 bytes. */
static void hmac_blake2b(uint8_t out[NT_NOISE_HASHLEN], const uint8_t *key, size_t key_len,
			 const uint8_t *d1, size_t l1, const uint8_t *d2, size_t l2)
{
	crypto_generichash_blake2b_state st;
	uint8_t pad[128], inner[NT_NOISE_HASHLEN];
	size_t i;

	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, key_len);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	crypto_generichash_blake2b_init(&st, NULL, 0, NT_NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	if (l1)
		crypto_generichash_blake2b_update(&st, d1, l1);
	if (l2)
		crypto_generichash_blake2b_update(&st, d2, l2);
	crypto_generichash_blake2b_final(&st, inner, sizeof(inner));
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	crypto_generichash_blake2b_init(&st, NULL, 0, NT_NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	crypto_generichash_blake2b_update(&st, inner, sizeof(inner));
	crypto_generichash_blake2b_final(&st, out, NT_NOISE_HASHLEN);
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(chaining_key, ikm, 2 or 3): out3 may be NULL. */
static void hkdf(const uint8_t ck[NT_NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
		 uint8_t out1[NT_NOISE_HASHLEN], uint8_t out2[NT_NOISE_HASHLEN],
		 uint8_t out3[NT_NOISE_HASHLEN])
{
	uint8_t temp[NT_NOISE_HASHLEN];
	const uint8_t one = 1, two = 2, three = 3;

	hmac_blake2b(temp, ck, NT_NOISE_HASHLEN, ikm, ikm_len, NULL, 0);
	hmac_blake2b(out1, temp, sizeof(temp), &one, 1, NULL, 0);
	hmac_blake2b(out2, temp, sizeof(temp), out1, NT_NOISE_HASHLEN, &two, 1);
	if (out3)
		hmac_blake2b(out3, temp, sizeof(temp), out2, NT_NOISE_HASHLEN, &three, 1);
	sodium_memzero(temp, sizeof(temp));
}

static void mix_hash(struct noise_sym *s, const uint8_t *data, size_t len)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, NT_NOISE_HASHLEN);
	crypto_generichash_blake2b_update(&st, s->h, sizeof(s->h));
	if (len)
		crypto_generichash_blake2b_update(&st, data, len);
	crypto_generichash_blake2b_final(&st, s->h, sizeof(s->h));
	sodium_memzero(&st, sizeof(st));
}

static void mix_key(struct noise_sym *s, const uint8_t *ikm, size_t len)
{
	uint8_t o1[NT_NOISE_HASHLEN], o2[NT_NOISE_HASHLEN];

	hkdf(s->ck, ikm, len, o1, o2, NULL);
	memcpy(s->ck, o1, sizeof(s->ck));
	memcpy(s->k, o2, sizeof(s->k)); /* HASHLEN 64: truncated to 32 */
	s->n = 0;
	s->has_key = true;
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}

static void mix_key_and_hash(struct noise_sym *s, const uint8_t *ikm, size_t len)
{
	uint8_t o1[NT_NOISE_HASHLEN], o2[NT_NOISE_HASHLEN], o3[NT_NOISE_HASHLEN];

	hkdf(s->ck, ikm, len, o1, o2, o3);
	memcpy(s->ck, o1, sizeof(s->ck));
	mix_hash(s, o2, sizeof(o2));
	memcpy(s->k, o3, sizeof(s->k));
	s->n = 0;
	s->has_key = true;
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	sodium_memzero(o3, sizeof(o3));
}

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

int nt_noise_cipher_encrypt(const uint8_t key[NT_NOISE_KEYLEN], uint64_t counter,
			    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
			    uint8_t *out)
{
	uint8_t nonce[12];

	if (len > NT_NOISE_MAX_MESSAGE)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len, NULL, nonce, key);
	return 0;
}

int nt_noise_cipher_decrypt(const uint8_t key[NT_NOISE_KEYLEN], uint64_t counter,
			    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
			    uint8_t *out)
{
	uint8_t nonce[12];

	if (len < NT_NOISE_TAGLEN || len > NT_NOISE_MAX_MESSAGE)
		return -EMSGSIZE;
	make_nonce(nonce, counter);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, ad_len, nonce,
						      key) != 0)
		return -EBADMSG;
	return 0;
}

/* EncryptAndHash: out gets len (+16 once a key is set) bytes. */
static int encrypt_and_hash(struct noise_sym *s, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t out_len = len;
	int ret;

	if (s->has_key) {
		if (s->n == UINT64_MAX)
			return -EOVERFLOW;
		ret = nt_noise_cipher_encrypt(s->k, s->n, s->h, sizeof(s->h), in, len, out);
		if (ret < 0)
			return ret;
		s->n++;
		out_len += NT_NOISE_TAGLEN;
	} else if (out != in && len) {
		memmove(out, in, len);
	}
	mix_hash(s, out, out_len);
	return 0;
}

/* DecryptAndHash: in is len bytes; out gets len (-16 once a key is set). */
static int decrypt_and_hash(struct noise_sym *s, const uint8_t *in, size_t len, uint8_t *out)
{
	int ret;

	if (s->has_key) {
		if (s->n == UINT64_MAX)
			return -EOVERFLOW;
		ret = nt_noise_cipher_decrypt(s->k, s->n, s->h, sizeof(s->h), in, len, out);
		if (ret < 0)
			return ret;
		s->n++;
	} else if (len) {
		memcpy(out, in, len);
	}
	mix_hash(s, in, len);
	return 0;
}

/* DH(): X25519; the all-zero output of a low-order point is an error. */
static int dh(uint8_t out[NT_NOISE_DHLEN], const uint8_t sk[NT_NOISE_DHLEN],
	      const uint8_t pk[NT_NOISE_DHLEN])
{
	if (crypto_scalarmult(out, sk, pk) != 0 || sodium_is_zero(out, NT_NOISE_DHLEN)) {
		sodium_memzero(out, NT_NOISE_DHLEN);
		return -EINVAL;
	}
	return 0;
}

/*
 * The X25519 points of order 1, 2, 4 and 8 (0, 1, the two order-8 points, p - 1) and the
 * non-canonical encodings p and p + 1. Bit 255 is ignored by X25519, so it is here too.
 */
static const uint8_t low_order[][32] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	  0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
	  0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};

bool nt_noise_is_low_order(const uint8_t pk[NT_NOISE_DHLEN])
{
	unsigned int hit = 0;

	/* Constant time over the whole table: the key is public, but it costs nothing. */
	for (size_t j = 0; j < NT_ARRAY_SIZE(low_order); j++) {
		uint8_t diff = 0;
		for (size_t i = 0; i < 31; i++)
			diff |= pk[i] ^ low_order[j][i];
		diff |= (pk[31] & 0x7f) ^ low_order[j][31];
		hit |= (unsigned int)(diff == 0);
	}
	return hit != 0;
}

int nt_noise_init(struct nt_noise *n)
{
	memset(n, 0, sizeof(*n));
	n->st = sodium_malloc(sizeof(*n->st));
	if (!n->st)
		return -ENOMEM;
	sodium_memzero(n->st, sizeof(*n->st));
	return 0;
}

void nt_noise_reset(struct nt_noise *n)
{
	if (n && n->st)
		sodium_memzero(n->st, sizeof(*n->st));
	if (n)
		n->started = false;
}

void nt_noise_uninit(struct nt_noise *n)
{
	if (!n)
		return;
	if (n->st)
		sodium_free(n->st); /* sodium_free wipes before unmapping */
	memset(n, 0, sizeof(*n));
}

void nt_noise_set_ephemeral(struct nt_noise *n, const uint8_t e_sk[NT_NOISE_DHLEN])
{
	memcpy(n->st->inject_e, e_sk, NT_NOISE_DHLEN);
	n->st->has_inject_e = true;
}

/* The pattern's tokens for one side: does it ever need a local or remote static key? */
static void static_needs(const struct nt_noise_pattern *p, bool initiator, bool *need_s,
			 bool *need_pre_rs)
{
	*need_s = initiator ? p->pre_s_initiator : p->pre_s_responder;
	*need_pre_rs = initiator ? p->pre_s_responder : p->pre_s_initiator;
	for (size_t m = 0; m < p->n_msgs; m++) {
		bool mine = (m % 2 == 0) == initiator;
		for (size_t t = 0; t < p->n_tokens[m]; t++) {
			uint8_t tok = p->tokens[m][t];
			if ((tok == NT_NOISE_TOK_S && mine) || tok == NT_NOISE_TOK_SS ||
			    (tok == NT_NOISE_TOK_ES && !initiator) ||
			    (tok == NT_NOISE_TOK_SE && initiator))
				*need_s = true;
		}
	}
}

int nt_noise_start(struct nt_noise *n, const struct nt_noise_pattern *p, bool initiator,
		   const uint8_t *prologue, size_t prologue_len, const uint8_t *s_sk,
		   const uint8_t *rs, const uint8_t (*psks)[NT_NOISE_KEYLEN], size_t n_psks)
{
	struct noise_hs *hs = &n->st->live;
	size_t name_len = strlen(p->name);
	bool need_s, need_rs;

	sodium_memzero(&n->st->live, sizeof(n->st->live));
	sodium_memzero(&n->st->work, sizeof(n->st->work));
	n->started = false;
	static_needs(p, initiator, &need_s, &need_rs);
	if ((need_s && !s_sk) || (need_rs && !rs) || (!need_rs && rs) || n_psks != p->n_psks ||
	    p->n_msgs == 0 || name_len == 0)
		return -EINVAL;

	n->pattern = *p;
	n->initiator = initiator;
	n->started = true;

	/* InitializeSymmetric(protocol_name) */
	if (name_len <= NT_NOISE_HASHLEN)
		memcpy(hs->sym.h, p->name, name_len);
	else
		crypto_generichash(hs->sym.h, NT_NOISE_HASHLEN, (const uint8_t *)p->name, name_len,
				   NULL, 0);
	memcpy(hs->sym.ck, hs->sym.h, NT_NOISE_HASHLEN);
	mix_hash(&hs->sym, prologue, prologue_len);

	if (s_sk) {
		memcpy(hs->s_sk, s_sk, NT_NOISE_DHLEN);
		crypto_scalarmult_base(hs->s_pk, hs->s_sk);
		hs->has_s = true;
	}
	if (rs) {
		memcpy(hs->rs, rs, NT_NOISE_DHLEN);
		hs->has_rs = true;
	}
	for (size_t i = 0; i < n_psks; i++)
		memcpy(hs->psks[i], psks[i], NT_NOISE_KEYLEN);

	/* Pre-messages: the initiator's first, then the responder's. */
	if (p->pre_s_initiator)
		mix_hash(&hs->sym, initiator ? hs->s_pk : hs->rs, NT_NOISE_DHLEN);
	if (p->pre_s_responder)
		mix_hash(&hs->sym, initiator ? hs->rs : hs->s_pk, NT_NOISE_DHLEN);
	return 0;
}

/* The DH a token asks for, from this side's point of view. */
static int token_dh(struct noise_hs *w, uint8_t tok, bool initiator)
{
	uint8_t out[NT_NOISE_DHLEN];
	const uint8_t *sk, *pk;
	bool ok;
	int ret;

	switch (tok) {
	case NT_NOISE_TOK_EE:
		ok = w->has_e && w->has_re;
		sk = w->e_sk, pk = w->re;
		break;
	case NT_NOISE_TOK_ES: /* initiator's e with responder's s */
		ok = initiator ? w->has_e && w->has_rs : w->has_s && w->has_re;
		sk = initiator ? w->e_sk : w->s_sk;
		pk = initiator ? w->rs : w->re;
		break;
	case NT_NOISE_TOK_SE: /* initiator's s with responder's e */
		ok = initiator ? w->has_s && w->has_re : w->has_e && w->has_rs;
		sk = initiator ? w->s_sk : w->e_sk;
		pk = initiator ? w->re : w->rs;
		break;
	case NT_NOISE_TOK_SS:
		ok = w->has_s && w->has_rs;
		sk = w->s_sk, pk = w->rs;
		break;
	default:
		return -EPROTO;
	}
	if (!ok)
		return -EPROTO;
	ret = dh(out, sk, pk);
	if (ret == 0)
		mix_key(&w->sym, out, sizeof(out));
	sodium_memzero(out, sizeof(out));
	return ret;
}

static int token_psk(struct noise_hs *w, const struct nt_noise_pattern *p)
{
	if (w->psk_index >= p->n_psks)
		return -EPROTO;
	mix_key_and_hash(&w->sym, w->psks[w->psk_index], NT_NOISE_KEYLEN);
	w->psk_index++;
	return 0;
}

static ssize_t write_tokens(struct nt_noise_state *st, const struct nt_noise_pattern *p,
			    bool initiator, const uint8_t *payload, size_t payload_len,
			    uint8_t *out, size_t out_cap)
{
	struct noise_hs *w = &st->work;
	size_t off = 0, need;
	int ret;

	for (size_t t = 0; t < p->n_tokens[w->msg_index]; t++) {
		uint8_t tok = p->tokens[w->msg_index][t];

		switch (tok) {
		case NT_NOISE_TOK_E:
			if (off + NT_NOISE_DHLEN > out_cap)
				return -EMSGSIZE;
			if (st->has_inject_e) {
				memcpy(w->e_sk, st->inject_e, NT_NOISE_DHLEN);
				sodium_memzero(st->inject_e, sizeof(st->inject_e));
				st->has_inject_e = false;
			} else {
				randombytes_buf(w->e_sk, NT_NOISE_DHLEN);
			}
			crypto_scalarmult_base(w->e_pk, w->e_sk);
			w->has_e = true;
			memcpy(out + off, w->e_pk, NT_NOISE_DHLEN);
			off += NT_NOISE_DHLEN;
			mix_hash(&w->sym, w->e_pk, NT_NOISE_DHLEN);
			if (p->psk)
				mix_key(&w->sym, w->e_pk, NT_NOISE_DHLEN);
			break;
		case NT_NOISE_TOK_S:
			if (!w->has_s)
				return -EPROTO;
			need = NT_NOISE_DHLEN + (w->sym.has_key ? NT_NOISE_TAGLEN : 0);
			if (off + need > out_cap)
				return -EMSGSIZE;
			ret = encrypt_and_hash(&w->sym, w->s_pk, NT_NOISE_DHLEN, out + off);
			if (ret < 0)
				return ret;
			off += need;
			break;
		case NT_NOISE_TOK_PSK:
			ret = token_psk(w, p);
			if (ret < 0)
				return ret;
			break;
		default:
			ret = token_dh(w, tok, initiator);
			if (ret < 0)
				return ret;
		}
	}
	need = payload_len + (w->sym.has_key ? NT_NOISE_TAGLEN : 0);
	if (off + need > out_cap || off + need > NT_NOISE_MAX_MESSAGE)
		return -EMSGSIZE;
	ret = encrypt_and_hash(&w->sym, payload, payload_len, out + off);
	if (ret < 0)
		return ret;
	w->msg_index++;
	return (ssize_t)(off + need);
}

static ssize_t read_tokens(struct nt_noise_state *st, const struct nt_noise_pattern *p,
			   bool initiator, const uint8_t *msg, size_t len, uint8_t *payload,
			   size_t payload_cap)
{
	struct noise_hs *w = &st->work;
	size_t off = 0, need;
	int ret;

	for (size_t t = 0; t < p->n_tokens[w->msg_index]; t++) {
		uint8_t tok = p->tokens[w->msg_index][t];

		switch (tok) {
		case NT_NOISE_TOK_E:
			if (len - off < NT_NOISE_DHLEN)
				return -EMSGSIZE;
			memcpy(w->re, msg + off, NT_NOISE_DHLEN);
			w->has_re = true;
			off += NT_NOISE_DHLEN;
			mix_hash(&w->sym, w->re, NT_NOISE_DHLEN);
			if (p->psk)
				mix_key(&w->sym, w->re, NT_NOISE_DHLEN);
			break;
		case NT_NOISE_TOK_S:
			if (w->has_rs)
				return -EPROTO;
			need = NT_NOISE_DHLEN + (w->sym.has_key ? NT_NOISE_TAGLEN : 0);
			if (len - off < need)
				return -EMSGSIZE;
			ret = decrypt_and_hash(&w->sym, msg + off, need, w->rs);
			if (ret < 0)
				return ret;
			w->has_rs = true;
			off += need;
			break;
		case NT_NOISE_TOK_PSK:
			ret = token_psk(w, p);
			if (ret < 0)
				return ret;
			break;
		default:
			ret = token_dh(w, tok, initiator);
			if (ret < 0)
				return ret;
		}
	}
	need = len - off;
	if (w->sym.has_key) {
		if (need < NT_NOISE_TAGLEN)
			return -EMSGSIZE;
		need -= NT_NOISE_TAGLEN;
	}
	if (need > payload_cap)
		return -EMSGSIZE;
	ret = decrypt_and_hash(&w->sym, msg + off, len - off, payload);
	if (ret < 0)
		return ret;
	w->msg_index++;
	return (ssize_t)need;
}

static bool my_turn(const struct nt_noise *n)
{
	uint8_t m = n->st->live.msg_index;

	return n->started && m < n->pattern.n_msgs && (m % 2 == 0) == n->initiator;
}

ssize_t nt_noise_write_message(struct nt_noise *n, const uint8_t *payload, size_t payload_len,
			       uint8_t *out, size_t out_cap)
{
	ssize_t ret;

	if (!my_turn(n))
		return -EPROTO;
	if (payload_len > NT_NOISE_MAX_MESSAGE)
		return -EMSGSIZE;
	n->st->work = n->st->live;
	ret = write_tokens(n->st, &n->pattern, n->initiator, payload, payload_len, out, out_cap);
	if (ret >= 0)
		n->st->live = n->st->work;
	sodium_memzero(&n->st->work, sizeof(n->st->work));
	return ret;
}

ssize_t nt_noise_read_message(struct nt_noise *n, const uint8_t *msg, size_t len,
			      uint8_t *payload, size_t payload_cap)
{
	ssize_t ret;

	if (!n->started || n->st->live.msg_index >= n->pattern.n_msgs || my_turn(n))
		return -EPROTO;
	if (len > NT_NOISE_MAX_MESSAGE)
		return -EMSGSIZE;
	n->st->work = n->st->live;
	ret = read_tokens(n->st, &n->pattern, n->initiator, msg, len, payload, payload_cap);
	if (ret >= 0)
		n->st->live = n->st->work;
	else if (payload_cap)
		sodium_memzero(payload, payload_cap);
	sodium_memzero(&n->st->work, sizeof(n->st->work));
	return ret;
}

bool nt_noise_is_complete(const struct nt_noise *n)
{
	return n->started && n->st->live.msg_index == n->pattern.n_msgs;
}

bool nt_noise_get_remote_static(const struct nt_noise *n, uint8_t out[NT_NOISE_DHLEN])
{
	if (!n->started || !n->st->live.has_rs)
		return false;
	memcpy(out, n->st->live.rs, NT_NOISE_DHLEN);
	return true;
}

void nt_noise_get_handshake_hash(const struct nt_noise *n, uint8_t out[NT_NOISE_HASHLEN])
{
	memcpy(out, n->st->live.sym.h, NT_NOISE_HASHLEN);
}

int nt_noise_split(struct nt_noise *n, uint8_t i2r[NT_NOISE_KEYLEN], uint8_t r2i[NT_NOISE_KEYLEN])
{
	uint8_t o1[NT_NOISE_HASHLEN], o2[NT_NOISE_HASHLEN];

	if (!nt_noise_is_complete(n))
		return -EPROTO;
	hkdf(n->st->live.sym.ck, NULL, 0, o1, o2, NULL);
	memcpy(i2r, o1, NT_NOISE_KEYLEN);
	memcpy(r2i, o2, NT_NOISE_KEYLEN);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	return 0;
}
