/* SPDX-License-Identifier: MIT */
/*
 * Strict bencode (BEP 3) for the DHT: a decoder into a bounded, flat token array that
 * points into the caller's buffer (no allocation), and a writer into a caller buffer.
 * The decoder rejects anything a canonical encoder would not produce: integers with
 * leading zeros or "-0", string lengths with leading zeros, dictionary keys that are
 * not strings or not in strictly ascending order, nesting deeper than
 * NT_BENCODE_DEPTH_MAX, more than NT_BENCODE_TOKENS_MAX values, and trailing bytes.
 */
#ifndef NT_BENCODE_H
#define NT_BENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef NT_BENCODE_TOKENS_MAX
#define NT_BENCODE_TOKENS_MAX 512
#endif
#ifndef NT_BENCODE_DEPTH_MAX
#define NT_BENCODE_DEPTH_MAX 8
#endif

enum nt_bencode_type {
	NT_BENC_INT = 1,
	NT_BENC_STR,
	NT_BENC_LIST,
	NT_BENC_DICT,
};

/* Decoder errors, all negative; nt_bencode_strerror() names them. */
enum nt_bencode_err {
	NT_BENC_OK = 0,
	NT_BENC_E_TRUNCATED = -1, /* input ends inside a value */
	NT_BENC_E_SYNTAX = -2, /* a byte that cannot start or continue a value */
	NT_BENC_E_INT = -3, /* empty, leading zero, "-0" or out of int64 range */
	NT_BENC_E_STRLEN = -4, /* string length malformed or past the end */
	NT_BENC_E_DEPTH = -5, /* nested deeper than NT_BENCODE_DEPTH_MAX */
	NT_BENC_E_TOO_MANY = -6, /* more than NT_BENCODE_TOKENS_MAX values */
	NT_BENC_E_TRAILING = -7, /* bytes after the top-level value */
	NT_BENC_E_KEY = -8, /* dictionary key is not a string */
	NT_BENC_E_ORDER = -9, /* dictionary keys unsorted or duplicated */
	NT_BENC_E_TOO_LARGE = -10, /* input longer than 2^31 bytes */
};

/*
 * One decoded value. Strings point at [off, off + len) of the input; containers
 * record how many direct children they have (a dictionary counts keys and values)
 * and the index of the first token after their subtree, so siblings are skipped in
 * O(1).
 */
struct nt_bencode_tok {
	uint8_t type; /* enum nt_bencode_type */
	uint32_t off; /* strings: first byte of the contents */
	uint32_t len; /* strings: length; containers: number of children */
	uint32_t next; /* index of the token after this subtree */
	int64_t ival; /* integers */
};

struct nt_bencode {
	const uint8_t *buf;
	size_t len;
	size_t ntok;
	struct nt_bencode_tok tok[NT_BENCODE_TOKENS_MAX];
};

/* Decodes exactly one value filling all of buf; 0 or a negative enum nt_bencode_err. */
int nt_bencode_decode(struct nt_bencode *b, const uint8_t *buf, size_t len);
const char *nt_bencode_strerror(int err);

/* Index of the value stored under key in dictionary token dict, or -1. */
int nt_bencode_dict_get(const struct nt_bencode *b, int dict, const char *key);
/* The same, but only if the value has the given type. */
int nt_bencode_dict_get_type(const struct nt_bencode *b, int dict, const char *key,
			     enum nt_bencode_type type);
/* Contents of string token i (NULL if i is not a string) and its length. */
const uint8_t *nt_bencode_str(const struct nt_bencode *b, int i, size_t *len);
/* Whether string token i equals the C string s. */
bool nt_bencode_str_is(const struct nt_bencode *b, int i, const char *s);

/*
 * A writer into a fixed buffer. On overflow it stops writing and remembers; check
 * nt_bencode_writer_finish(), which returns the length or -ENOBUFS.
 */
struct nt_bencode_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
};

void nt_bencode_writer_init(struct nt_bencode_writer *w, uint8_t *buf, size_t cap);
void nt_bencode_put_int(struct nt_bencode_writer *w, int64_t v);
void nt_bencode_put_str(struct nt_bencode_writer *w, const void *s, size_t len);
void nt_bencode_put_cstr(struct nt_bencode_writer *w, const char *s);
void nt_bencode_put_dict(struct nt_bencode_writer *w);
void nt_bencode_put_list(struct nt_bencode_writer *w);
void nt_bencode_put_end(struct nt_bencode_writer *w);
ssize_t nt_bencode_writer_finish(const struct nt_bencode_writer *w);

#endif
