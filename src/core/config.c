// SPDX-License-Identifier: MIT
/*
 * The network definition (DESIGN §2): EdgeVPN's YAML schema parsed with libyaml's event API
 * into a small bounded tree (anchors, aliases, complex keys, duplicate keys, several
 * documents and deep nesting are refused), then validated field by field. Unknown keys are
 * ignored at every level. Every error is one line that names the field by its path
 * ("otp.crypto.interval: ...") with the position in struct nt_err. nt_config_print() writes
 * the canonical form that parses back to the same struct (tests/golden/config).
 */
#include "netron/config.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <yaml.h>

enum {
	YDEPTH_MAX = 32, /* nesting accepted in ignored subtrees */
	INTERVAL_MAX_EXP = 31, /* an interval may be at most 2^31 seconds */
};

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

/* One node of the loaded document. Mappings hold key, value, key, value... in items. */
struct ynode {
	enum ykind kind;
	int line, col; /* 1-based */
	bool plain; /* scalar written without quotes (only plain scalars can be integers) */
	char *str; /* scalar value, NUL-terminated (may contain NUL from escapes) */
	size_t len;
	struct ynode **items;
	size_t n, cap;
};

struct loader {
	yaml_parser_t parser;
	struct nt_err *err;
};

/*
 * A value quoted in an error message, printable and on one line: a multi-line plain
 * scalar or control bytes must not break the one-line message (or a terminal).
 */
static const char *escape_value(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 5 <= cap; in++) {
		unsigned char c = (unsigned char)*in;
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* libyaml marks are 0-based; nt_err is 1-based. */
static int pos(size_t mark)
{
	return mark < INT_MAX ? (int)mark + 1 : INT_MAX;
}

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->items[i]);
	free(n->items);
	if (n->str) {
		sodium_memzero(n->str, n->len);
		free(n->str);
	}
	free(n);
}

static struct ynode *ynode_new(enum ykind kind, const yaml_mark_t *mark)
{
	struct ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = pos(mark->line);
	n->col = pos(mark->column);
	return n;
}

static int ynode_append(struct ynode *parent, struct ynode *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **items = realloc(parent->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
	return 0;
}

/* The next event; libyaml's own problem text and position on a syntax error. */
static int next_event(struct loader *ld, yaml_event_t *ev)
{
	yaml_parser_t *p = &ld->parser;

	if (yaml_parser_parse(p, ev))
		return 0;
	if (p->error == YAML_MEMORY_ERROR) {
		nt_err_set(ld->err, 0, 0, "out of memory while parsing YAML");
		return -ENOMEM;
	}
	if (p->error == YAML_READER_ERROR) { /* no line/column: libyaml knows the offset */
		nt_err_set(ld->err, 0, 0, "YAML syntax error: %s at byte %zu",
			p->problem ? p->problem : "invalid input", p->problem_offset);
		return -EINVAL;
	}
	nt_err_set(ld->err, pos(p->problem_mark.line), pos(p->problem_mark.column), "YAML syntax error: %s%s%s",
		p->problem ? p->problem : "unknown problem", p->context ? " " : "",
		p->context ? p->context : "");
	return -EINVAL;
}

static void event_delete(yaml_event_t *ev)
{
	/* Scalars may be secrets: wipe libyaml's copy before it is freed. */
	if (ev->type == YAML_SCALAR_EVENT && ev->data.scalar.value)
		sodium_memzero(ev->data.scalar.value, ev->data.scalar.length);
	yaml_event_delete(ev);
}

static int refuse_anchor(struct loader *ld, const yaml_event_t *ev, const yaml_char_t *anchor)
{
	if (!anchor)
		return 0;
	nt_err_set(ld->err, pos(ev->start_mark.line), pos(ev->start_mark.column),
		"anchors are not allowed (nor aliases)");
	return -EINVAL;
}

/*
 * Builds the node that starts with ev (a scalar, mapping or sequence start event; alias
 * events are refused). Consumes the events up to the node's end. ev stays owned by the caller.
 */
static int load_node(struct loader *ld, const yaml_event_t *ev, int depth, struct ynode **out)
{
	struct ynode *node = NULL;
	yaml_event_t sub;
	enum ykind kind;
	yaml_event_type_t end;
	int ret;

	*out = NULL;
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		nt_err_set(ld->err, pos(ev->start_mark.line), pos(ev->start_mark.column),
			"aliases are not allowed");
		return -EINVAL;
	case YAML_SCALAR_EVENT:
		if ((ret = refuse_anchor(ld, ev, ev->data.scalar.anchor)) < 0)
			return ret;
		node = ynode_new(Y_SCALAR, &ev->start_mark);
		if (!node)
			goto err_nomem;
		node->len = ev->data.scalar.length;
		node->str = malloc(node->len + 1);
		if (!node->str)
			goto err_nomem;
		memcpy(node->str, ev->data.scalar.value, node->len);
		node->str[node->len] = '\0';
		node->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		*out = node;
		return 0;
	case YAML_MAPPING_START_EVENT:
		if ((ret = refuse_anchor(ld, ev, ev->data.mapping_start.anchor)) < 0)
			return ret;
		kind = Y_MAP;
		end = YAML_MAPPING_END_EVENT;
		break;
	case YAML_SEQUENCE_START_EVENT:
		if ((ret = refuse_anchor(ld, ev, ev->data.sequence_start.anchor)) < 0)
			return ret;
		kind = Y_SEQ;
		end = YAML_SEQUENCE_END_EVENT;
		break;
	default:
		nt_err_set(ld->err, pos(ev->start_mark.line), pos(ev->start_mark.column),
			"unexpected YAML event");
		return -EINVAL;
	}

	if (depth >= YDEPTH_MAX) {
		nt_err_set(ld->err, pos(ev->start_mark.line), pos(ev->start_mark.column),
			"nested deeper than %d levels", YDEPTH_MAX);
		return -EINVAL;
	}
	node = ynode_new(kind, &ev->start_mark);
	if (!node)
		goto err_nomem;
	for (;;) {
		struct ynode *child;

		if ((ret = next_event(ld, &sub)) < 0)
			goto err_free;
		if (sub.type == end) {
			event_delete(&sub);
			break;
		}
		if (kind == Y_MAP && node->n % 2 == 0 && sub.type != YAML_SCALAR_EVENT &&
		    sub.type != YAML_ALIAS_EVENT) {
			nt_err_set(ld->err, pos(sub.start_mark.line), pos(sub.start_mark.column),
				"mapping keys must be strings");
			event_delete(&sub);
			ret = -EINVAL;
			goto err_free;
		}
		ret = load_node(ld, &sub, depth + 1, &child);
		event_delete(&sub);
		if (ret < 0)
			goto err_free;
		if ((ret = ynode_append(node, child)) < 0) {
			ynode_free(child);
			goto err_nomem;
		}
	}
	*out = node;
	return 0;

err_nomem:
	nt_err_set(ld->err, 0, 0, "out of memory while parsing YAML");
	ret = -ENOMEM;
err_free:
	ynode_free(node);
	return ret;
}

/* The single document of the stream, or an error: empty stream, several documents. */
static int load_document(struct loader *ld, struct ynode **root)
{
	yaml_event_t ev;
	int ret;

	*root = NULL;
	if ((ret = next_event(ld, &ev)) < 0) /* stream start */
		return ret;
	event_delete(&ev);
	if ((ret = next_event(ld, &ev)) < 0)
		return ret;
	if (ev.type == YAML_STREAM_END_EVENT) {
		event_delete(&ev);
		nt_err_set(ld->err, 0, 0, "network definition is empty");
		return -EINVAL;
	}
	event_delete(&ev); /* document start */
	if ((ret = next_event(ld, &ev)) < 0)
		return ret;
	ret = load_node(ld, &ev, 0, root);
	event_delete(&ev);
	if (ret < 0)
		return ret;
	if ((ret = next_event(ld, &ev)) < 0) /* document end */
		goto err_free;
	event_delete(&ev);
	if ((ret = next_event(ld, &ev)) < 0)
		goto err_free;
	if (ev.type != YAML_STREAM_END_EVENT) {
		nt_err_set(ld->err, pos(ev.start_mark.line), pos(ev.start_mark.column),
			"more than one YAML document (a network definition is one document)");
		event_delete(&ev);
		ret = -EINVAL;
		goto err_free;
	}
	event_delete(&ev);
	return 0;

err_free:
	ynode_free(*root);
	*root = NULL;
	return ret;
}

static int key_cmp(const void *a, const void *b)
{
	const struct ynode *ka = *(struct ynode *const *)a, *kb = *(struct ynode *const *)b;
	int c;

	if (ka->len != kb->len)
		return ka->len < kb->len ? -1 : 1;
	c = memcmp(ka->str, kb->str, ka->len);
	if (c)
		return c;
	if (ka->line != kb->line)
		return ka->line < kb->line ? -1 : 1;
	return ka->col < kb->col ? -1 : ka->col > kb->col;
}

/*
 * Appends a key to a path for messages ("otp" + "dht" -> "otp.dht"). A path longer than the
 * buffer (a deep or hostile document) is cut and ends in "...", so that a message never
 * names a cut path as if it were a whole key. outlen is at least 4.
 */
static void path_join(char *out, size_t outlen, const char *path, const char *key)
{
	int n;

	if (path[0])
		n = snprintf(out, outlen, "%s.%s", path, key);
	else
		n = snprintf(out, outlen, "%s", key);
	if (n < 0)
		out[0] = '\0';
	else if ((size_t)n >= outlen)
		memcpy(out + outlen - 4, "...", 4);
}

/* Refuses a key that appears twice in one mapping, anywhere in the document. */
static int check_duplicates(const struct ynode *node, const char *path, struct nt_err *err)
{
	char sub[128];
	int ret;

	if (node->kind == Y_SCALAR)
		return 0;
	if (node->kind == Y_MAP && node->n >= 4) {
		size_t nkeys = node->n / 2;
		struct ynode **keys = malloc(nkeys * sizeof(*keys));

		if (!keys) {
			nt_err_set(err, 0, 0, "out of memory while parsing YAML");
			return -ENOMEM;
		}
		for (size_t i = 0; i < nkeys; i++)
			keys[i] = node->items[2 * i];
		qsort(keys, nkeys, sizeof(*keys), key_cmp);
		for (size_t i = 1; i < nkeys; i++) {
			if (keys[i]->len == keys[i - 1]->len &&
			    !memcmp(keys[i]->str, keys[i - 1]->str, keys[i]->len)) {
				char shown[4 * 40 + 1];
				path_join(sub, sizeof(sub), path,
					  escape_value(keys[i]->str, shown, sizeof(shown)));
				nt_err_set(err, keys[i]->line, keys[i]->col,
					"%s: duplicate key (first at line %d)", sub, keys[i - 1]->line);
				free(keys);
				return -EINVAL;
			}
		}
		free(keys);
	}
	for (size_t i = 0; i < node->n; i++) {
		if (node->kind == Y_MAP && i % 2 == 0)
			continue;
		if (node->kind == Y_MAP)
			path_join(sub, sizeof(sub), path, node->items[i - 1]->str);
		else
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if ((ret = check_duplicates(node->items[i], sub, err)) < 0)
			return ret;
	}
	return 0;
}

static const char *kind_name(enum ykind kind)
{
	switch (kind) {
	case Y_SCALAR:
		return "a scalar";
	case Y_MAP:
		return "a mapping";
	case Y_SEQ:
		return "a sequence";
	}
	return "?";
}

static bool is_null(const struct ynode *v)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (!v->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(v->str, nulls[i]))
			return true;
	return false;
}

/* The value of key in mapping map, or NULL. Keys are unique (checked before). */
static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	size_t klen = strlen(key);

	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i]->len == klen && !memcmp(map->items[i]->str, key, klen))
			return map->items[i + 1];
	return NULL;
}

/* A required (or optional, when *out may stay NULL) value of the given kind. */
static int get_field(const struct ynode *map, const char *path, const char *key, enum ykind kind,
		     bool required, const struct ynode **out, struct nt_err *err)
{
	const struct ynode *v = map_get(map, key);
	char full[128];

	path_join(full, sizeof(full), path, key);
	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		nt_err_set(err, map->line, map->col, "%s: missing required key", full);
		return -EINVAL;
	}
	if (v->kind != kind) {
		nt_err_set(err, v->line, v->col, "%s: must be %s, got %s", full, kind_name(kind),
			kind_name(v->kind));
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A secret string: non-empty, at most NT_SECRET_MAX bytes, no NUL. */
static int get_secret(const struct ynode *map, const char *path, const char *key,
		      char out[NT_SECRET_MAX + 1], struct nt_err *err)
{
	const struct ynode *v;
	char full[128];
	int ret;

	if ((ret = get_field(map, path, key, Y_SCALAR, true, &v, err)) < 0)
		return ret;
	path_join(full, sizeof(full), path, key);
	if (v->len == 0 || is_null(v)) {
		nt_err_set(err, v->line, v->col, "%s: must not be empty", full);
		return -EINVAL;
	}
	if (v->len > NT_SECRET_MAX) {
		nt_err_set(err, v->line, v->col, "%s: longer than %d bytes (got %zu)", full,
			NT_SECRET_MAX, v->len);
		return -EINVAL;
	}
	if (memchr(v->str, '\0', v->len)) {
		nt_err_set(err, v->line, v->col, "%s: must not contain a NUL character", full);
		return -EINVAL;
	}
	memcpy(out, v->str, v->len + 1);
	return 0;
}

/*
 * A decimal integer in [min, max], written as a plain scalar ("+" allowed, no leading
 * zeros rule: YAML 1.1 would read 0755 as octal, so a leading zero is refused).
 */
static int get_uint(const struct ynode *map, const char *path, const char *key, bool required,
		    uint64_t min, uint64_t max, uint64_t *out, struct nt_err *err)
{
	const struct ynode *v;
	char full[128];
	const char *s;
	uint64_t val = 0;
	bool neg = false, ok = true;
	int ret;

	if ((ret = get_field(map, path, key, Y_SCALAR, required, &v, err)) < 0)
		return ret;
	if (!v)
		return 0;
	path_join(full, sizeof(full), path, key);
	s = v->str;
	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	if (!v->plain || !*s || strlen(s) != v->len - (size_t)(s - v->str) ||
	    (s[0] == '0' && s[1]))
		ok = false;
	for (; ok && *s; s++) {
		if (*s < '0' || *s > '9') {
			ok = false;
			break;
		}
		if (val > (UINT64_MAX - 9) / 10) {
			val = UINT64_MAX; /* saturate: reported as too large below */
			continue;
		}
		val = val * 10 + (uint64_t)(*s - '0');
	}
	if (!ok) {
		char shown[4 * 40 + 1];
		if (v->plain && v->len <= 40 && !memchr(v->str, '\0', v->len))
			nt_err_set(err, v->line, v->col, "%s: must be %s integer, got \"%s\"", full,
				min > 0 ? "a positive" : "an", escape_value(v->str, shown, sizeof(shown)));
		else
			nt_err_set(err, v->line, v->col, "%s: must be %s integer, got a %s", full,
				min > 0 ? "a positive" : "an", v->plain ? "long string" : "quoted string");
		return -EINVAL;
	}
	if (neg && val != 0) {
		char shown[4 * 40 + 1];
		nt_err_set(err, v->line, v->col, "%s: must be a positive integer, got %s", full,
			v->len <= 40 ? escape_value(v->str, shown, sizeof(shown)) : "a negative number");
		return -EINVAL;
	}
	if (val < min) {
		nt_err_set(err, v->line, v->col, "%s: must be a positive integer, got %" PRIu64, full, val);
		return -EINVAL;
	}
	if (val > max) {
		if (val == UINT64_MAX)
			nt_err_set(err, v->line, v->col, "%s: must be at most %" PRIu64 ", got a larger number",
				full, max);
		else
			nt_err_set(err, v->line, v->col, "%s: must be at most %" PRIu64 ", got %" PRIu64,
				full, max, val);
		return -EINVAL;
	}
	*out = val;
	return 0;
}

static int get_otp(const struct ynode *otp, const char *key, struct nt_otp *out, struct nt_err *err)
{
	const struct ynode *m;
	char path[32];
	uint64_t v = 0;
	int ret;

	if ((ret = get_field(otp, "otp", key, Y_MAP, true, &m, err)) < 0)
		return ret;
	snprintf(path, sizeof(path), "otp.%s", key);
	if ((ret = get_uint(m, path, "interval", true, 1, 1ULL << INTERVAL_MAX_EXP, &v, err)) < 0)
		return ret;
	out->interval = (uint32_t)v;
	if ((ret = get_secret(m, path, "key", out->key, err)) < 0)
		return ret;
	if ((ret = get_uint(m, path, "length", true, 1, NT_OTP_LENGTH_MAX, &v, err)) < 0)
		return ret;
	out->length = (uint32_t)v;
	return 0;
}

static int validate(struct nt_config *cfg, const struct ynode *root, struct nt_err *err)
{
	const struct ynode *otp;
	uint64_t mms = NT_MAX_MESSAGE_SIZE_DEFAULT;
	int ret;

	if (root->kind != Y_MAP) {
		nt_err_set(err, root->line, root->col, "network definition: must be a mapping, got %s",
			kind_name(root->kind));
		return -EINVAL;
	}
	if ((ret = get_field(root, "", "otp", Y_MAP, true, &otp, err)) < 0 ||
	    (ret = get_otp(otp, "dht", &cfg->otp_dht, err)) < 0 ||
	    (ret = get_otp(otp, "crypto", &cfg->otp_crypto, err)) < 0 ||
	    (ret = get_secret(root, "", "room", cfg->room, err)) < 0 ||
	    (ret = get_secret(root, "", "rendezvous", cfg->rendezvous, err)) < 0 ||
	    (ret = get_secret(root, "", "mdns", cfg->mdns, err)) < 0 ||
	    (ret = get_uint(root, "", "max_message_size", false, 1, INT64_MAX, &mms, err)) < 0)
		return ret;
	cfg->max_message_size = mms;
	return 0;
}

int nt_config_parse(struct nt_config *cfg, const char *yaml, size_t len, struct nt_err *err)
{
	struct loader ld = { .err = err };
	struct ynode *root = NULL;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err)
		memset(err, 0, sizeof(*err));
	if (len > NT_CONFIG_MAX_BYTES) {
		nt_err_set(err, 0, 0, "network definition is %zu bytes, more than the limit of %d", len,
			NT_CONFIG_MAX_BYTES);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		nt_err_set(err, 0, 0, "out of memory while parsing YAML");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)(yaml ? yaml : ""),
				     yaml ? len : 0);
	ret = load_document(&ld, &root);
	yaml_parser_delete(&ld.parser);
	if (ret < 0)
		goto out;
	if ((ret = check_duplicates(root, "", err)) < 0)
		goto out;
	ret = validate(cfg, root, err);
out:
	ynode_free(root);
	if (ret < 0)
		nt_config_wipe(cfg);
	return ret;
}

int nt_config_load_file(struct nt_config *cfg, const char *path, struct nt_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err)
		memset(err, 0, sizeof(*err));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = -EISDIR;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(EISDIR));
		goto err_close;
	}
	/* Read one byte past the limit so an oversized file (or pipe) is noticed. */
	buf = malloc(NT_CONFIG_MAX_BYTES + 1);
	if (!buf) {
		ret = -ENOMEM;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(ENOMEM));
		goto err_close;
	}
	n = nt_read_full(fd, buf, NT_CONFIG_MAX_BYTES + 1);
	if (n < 0) {
		ret = (int)n;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		goto err_free;
	}
	len = (size_t)n;
	if (len > NT_CONFIG_MAX_BYTES) {
		ret = -EFBIG;
		nt_err_set(err, 0, 0, "%s: larger than the limit of %d bytes", path, NT_CONFIG_MAX_BYTES);
		goto err_free;
	}
	ret = nt_config_parse(cfg, buf, len, err);
err_free:
	sodium_memzero(buf, NT_CONFIG_MAX_BYTES + 1);
	free(buf);
err_close:
	close(fd);
	return ret;
}

int nt_config_generate(struct nt_config *cfg, uint32_t interval)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	char *secrets[] = { cfg->otp_dht.key, cfg->otp_crypto.key, cfg->room, cfg->rendezvous,
			    cfg->mdns };

	if (interval == 0 || interval > 1U << INTERVAL_MAX_EXP)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		for (size_t j = 0; j < NT_SECRET_GEN_LEN; j++)
			secrets[i][j] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		secrets[i][NT_SECRET_GEN_LEN] = '\0';
	}
	cfg->otp_dht.interval = cfg->otp_crypto.interval = interval;
	cfg->otp_dht.length = cfg->otp_crypto.length = NT_SECRET_GEN_LEN;
	cfg->max_message_size = NT_MAX_MESSAGE_SIZE_DEFAULT;
	return 0;
}

/* Output buffer for nt_config_print: grows, and is wiped when it moves (it holds secrets). */
struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sb_putn(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->failed)
		return;
	if (sb->len + n + 1 > sb->cap) {
		size_t cap = sb->cap ? sb->cap : 512;
		char *p;

		while (cap < sb->len + n + 1)
			cap *= 2;
		p = malloc(cap);
		if (!p) {
			sb->failed = true;
			return;
		}
		if (sb->p) {
			memcpy(p, sb->p, sb->len);
			sodium_memzero(sb->p, sb->cap);
			free(sb->p);
		}
		sb->p = p;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

static void sb_puts(struct sbuf *sb, const char *s)
{
	sb_putn(sb, s, strlen(s));
}

static bool all_in(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* [A-Za-z0-9]+ strings that a YAML 1.1 or 1.2 reader would take for a number. */
static bool looks_numeric(const char *s)
{
	const char *e;

	if (!(s[0] >= '0' && s[0] <= '9'))
		return false;
	if (all_in(s, "0123456789"))
		return true;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return all_in(s + 2, "0123456789abcdefABCDEF");
	if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		return all_in(s + 2, "01234567");
	if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		return all_in(s + 2, "01");
	e = s + strspn(s, "0123456789");
	return (*e == 'e' || *e == 'E') && all_in(e + 1, "0123456789");
}

/*
 * Plain only when the string is [A-Za-z0-9]+ and no YAML reader would take it for a
 * number, a null or a boolean; otherwise double-quoted, with every byte outside printable
 * ASCII escaped, so the output is ASCII and parses back to the same bytes.
 */
static bool needs_quotes(const char *s)
{
	static const char *const words[] = { "null", "true", "false", "yes", "no", "on", "off",
					     "y", "n" };

	if (!all_in(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
		return true;
	if (looks_numeric(s))
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

/* Decodes one UTF-8 sequence (already validated by libyaml); returns its length or 0. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		*cp = s[0] & 0x1f;
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		*cp = s[0] & 0x0f;
		n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		*cp = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return n;
}

static void sb_put_scalar(struct sbuf *sb, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[16];

	if (!needs_quotes(s)) {
		sb_puts(sb, s);
		return;
	}
	sb_putn(sb, "\"", 1);
	while (*u) {
		uint32_t cp;
		size_t n = utf8_next(u, &cp);

		if (n == 0) { /* not UTF-8 (not from the parser): escape the raw byte */
			cp = *u;
			n = 1;
		}
		if (cp == '"' || cp == '\\') {
			esc[0] = '\\';
			esc[1] = (char)cp;
			sb_putn(sb, esc, 2);
		} else if (cp >= 0x20 && cp < 0x7f) {
			sb_putn(sb, (const char *)u, 1);
		} else if (cp < 0x100) {
			snprintf(esc, sizeof(esc), "\\x%02X", (unsigned int)cp);
			sb_puts(sb, esc);
		} else if (cp < 0x10000) {
			snprintf(esc, sizeof(esc), "\\u%04X", (unsigned int)cp);
			sb_puts(sb, esc);
		} else {
			snprintf(esc, sizeof(esc), "\\U%08X", (unsigned int)cp);
			sb_puts(sb, esc);
		}
		u += n;
	}
	sb_putn(sb, "\"", 1);
	sodium_memzero(esc, sizeof(esc));
}

static void sb_put_otp(struct sbuf *sb, const char *name, const struct nt_otp *otp)
{
	char num[64];

	sb_puts(sb, "  ");
	sb_puts(sb, name);
	snprintf(num, sizeof(num), ":\n    interval: %" PRIu32 "\n    key: ", otp->interval);
	sb_puts(sb, num);
	sb_put_scalar(sb, otp->key);
	snprintf(num, sizeof(num), "\n    length: %" PRIu32 "\n", otp->length);
	sb_puts(sb, num);
}

char *nt_config_print(const struct nt_config *cfg)
{
	struct sbuf sb = { 0 };
	char num[48];

	sb_puts(&sb, "otp:\n");
	sb_put_otp(&sb, "dht", &cfg->otp_dht);
	sb_put_otp(&sb, "crypto", &cfg->otp_crypto);
	sb_puts(&sb, "room: ");
	sb_put_scalar(&sb, cfg->room);
	sb_puts(&sb, "\nrendezvous: ");
	sb_put_scalar(&sb, cfg->rendezvous);
	sb_puts(&sb, "\nmdns: ");
	sb_put_scalar(&sb, cfg->mdns);
	snprintf(num, sizeof(num), "\nmax_message_size: %" PRIu64 "\n", cfg->max_message_size);
	sb_puts(&sb, num);
	if (sb.failed) {
		if (sb.p) {
			sodium_memzero(sb.p, sb.cap);
			free(sb.p);
		}
		return NULL;
	}
	return sb.p;
}

void nt_config_wipe(struct nt_config *cfg)
{
	if (cfg)
		sodium_memzero(cfg, sizeof(*cfg));
}
