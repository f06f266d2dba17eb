// SPDX-License-Identifier: MIT
/*
 * Keys: the network derivations recomputed against tests/vectors/derivations.json (made
 * with an independent Python implementation), the epoch, and the node identity on disk:
 * created 0700/0600, reloaded identical, refused when too open, malformed, a symlink or
 * not a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "netron/config.h"
#include "netron/keys.h"
#include "core/util.h"

static const char *jstr(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (!s)
		fail_msg("derivations.json: missing string \"%s\"", key);
	return s;
}

static void assert_hex_equal(const uint8_t *got, size_t len, const char *want, const char *what)
{
	char hex[2 * 64 + 1];

	assert_true(len <= 64);
	nt_hex_encode(hex, got, len);
	if (strcmp(hex, want) != 0)
		fail_msg("%s: got %s, expected %s", what, hex, want);
}

static void test_vectors(void **state)
{
	json_error_t jerr;
	json_t *root, *vectors, *v;
	size_t i, checked = 0;

	(void)state;
	root = json_load_file(NT_SOURCE_DIR "/tests/vectors/derivations.json", 0, &jerr);
	if (!root)
		fail_msg("derivations.json:%d: %s", jerr.line, jerr.text);
	vectors = json_object_get(root, "vectors");
	assert_true(json_is_array(vectors));
	assert_true(json_array_size(vectors) >= 3);
	json_array_foreach(vectors, i, v) {
		struct nt_network_keys *keys;
		struct nt_config cfg;
		json_t *ihs, *ih;
		size_t j;

		memset(&cfg, 0, sizeof(cfg));
		snprintf(cfg.otp_dht.key, sizeof(cfg.otp_dht.key), "%s", jstr(v, "otp_dht_key"));
		snprintf(cfg.otp_crypto.key, sizeof(cfg.otp_crypto.key), "%s", jstr(v, "otp_crypto_key"));
		snprintf(cfg.room, sizeof(cfg.room), "%s", jstr(v, "room"));
		snprintf(cfg.rendezvous, sizeof(cfg.rendezvous), "%s", jstr(v, "rendezvous"));
		snprintf(cfg.mdns, sizeof(cfg.mdns), "%s", jstr(v, "mdns"));
		cfg.otp_dht.interval = (uint32_t)json_integer_value(json_object_get(v, "otp_dht_interval"));
		cfg.otp_crypto.interval = cfg.otp_dht.interval;
		cfg.otp_dht.length = cfg.otp_crypto.length = 43;
		assert_true(cfg.otp_dht.interval > 0);

		assert_int_equal(nt_network_keys_new(&keys, &cfg), 0);
		assert_hex_equal(keys->psk, 32, jstr(v, "psk"), "psk");
		assert_hex_equal(keys->mac1_key, 32, jstr(v, "mac1_key"), "mac1_key");
		assert_hex_equal(keys->cookie_key, 32, jstr(v, "cookie_key"), "cookie_key");
		assert_string_equal(keys->mdns_tag, jstr(v, "mdns_tag"));
		assert_int_equal(strlen(keys->mdns_tag), NT_MDNS_TAG_LEN);
		assert_string_equal(keys->fingerprint, jstr(v, "fingerprint"));
		assert_int_equal(strlen(keys->fingerprint), NT_FINGERPRINT_LEN);
		nt_network_keys_free(keys);

		ihs = json_object_get(v, "rendezvous_infohashes");
		assert_true(json_array_size(ihs) >= 3);
		json_array_foreach(ihs, j, ih) {
			uint64_t t = strtoull(jstr(ih, "unix_time"), NULL, 10);
			uint64_t epoch = strtoull(jstr(ih, "epoch"), NULL, 10);
			uint8_t out[NT_INFOHASH_LEN];

			assert_int_equal(nt_network_epoch(&cfg, t), epoch);
			nt_network_rendezvous(&cfg, epoch, out);
			assert_hex_equal(out, NT_INFOHASH_LEN, jstr(ih, "infohash"), "infohash");
			checked++;
		}
	}
	assert_true(checked >= 9);
	json_decref(root);
}

static const struct {
	uint32_t interval;
	uint64_t now, epoch;
} epochs[] = {
	{ 360, 0, 0 },		  { 360, 359, 0 },	    { 360, 360, 1 },
	{ 360, 1700000000, 4722222 }, { 1, 12345, 12345 }, { 2147483648U, 2147483647, 0 },
	{ 2147483648U, 2147483648U, 1 }, { 7, UINT64_MAX, UINT64_MAX / 7 },
};

static void test_epoch(void **state)
{
	struct nt_config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	for (size_t i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
		cfg.otp_dht.interval = epochs[i].interval;
		if (nt_network_epoch(&cfg, epochs[i].now) != epochs[i].epoch)
			fail_msg("case %zu: epoch %llu", i,
				 (unsigned long long)nt_network_epoch(&cfg, epochs[i].now));
	}
}

/* Every input matters, and different uses never share a key. */
static void test_separation(void **state)
{
	struct nt_network_keys *a, *b;
	struct nt_config cfg;
	uint8_t h1[NT_INFOHASH_LEN], h2[NT_INFOHASH_LEN];

	(void)state;
	assert_int_equal(nt_config_generate(&cfg, 360), 0);
	assert_int_equal(nt_network_keys_new(&a, &cfg), 0);
	assert_int_not_equal(memcmp(a->psk, a->mac1_key, 32), 0);
	assert_int_not_equal(memcmp(a->psk, a->cookie_key, 32), 0);
	assert_int_not_equal(memcmp(a->mac1_key, a->cookie_key, 32), 0);

	cfg.room[0] ^= 1;
	assert_int_equal(nt_network_keys_new(&b, &cfg), 0);
	assert_int_not_equal(memcmp(a->psk, b->psk, 32), 0);
	assert_string_not_equal(a->fingerprint, b->fingerprint);
	assert_string_equal(a->mdns_tag, b->mdns_tag);
	nt_network_keys_free(b);
	cfg.room[0] ^= 1;

	cfg.mdns[0] ^= 1;
	assert_int_equal(nt_network_keys_new(&b, &cfg), 0);
	assert_memory_equal(a->psk, b->psk, 32);
	assert_string_not_equal(a->mdns_tag, b->mdns_tag);
	nt_network_keys_free(b);
	nt_network_keys_free(a);
	nt_network_keys_free(NULL);

	nt_network_rendezvous(&cfg, 100, h1);
	nt_network_rendezvous(&cfg, 101, h2);
	assert_int_not_equal(memcmp(h1, h2, sizeof(h1)), 0);
	cfg.rendezvous[0] ^= 1;
	nt_network_rendezvous(&cfg, 100, h2);
	assert_int_not_equal(memcmp(h1, h2, sizeof(h1)), 0);
	cfg.rendezvous[0] ^= 1;
	cfg.otp_dht.key[0] ^= 1;
	nt_network_rendezvous(&cfg, 100, h2);
	assert_int_not_equal(memcmp(h1, h2, sizeof(h1)), 0);
}

static char tmpdir[64];

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/nt-test-keys-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_identity_create_reload(void **state)
{
	struct nt_identity *id, *again;
	char dir[128], path[160], buf[256], hex[65], shortid[NT_NODE_ID_SHORT_LEN + 1];
	uint8_t x_pk[32], seed[32];
	struct nt_err err;
	struct stat st;
	bool created;
	FILE *f;
	size_t n;

	(void)state;
	/* Parents are created too, all 0700. */
	snprintf(dir, sizeof(dir), "%s/a/b/state", tmpdir);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), 0);
	assert_true(created);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/a", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/identity.key", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* The file is the documented text format, and the pair derives from its seed. */
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_int_equal(n, 19 + 64 + 1);
	assert_memory_equal(buf, "netron-identity-v1\n", 19);
	assert_int_equal(buf[n - 1], '\n');
	memcpy(hex, buf + 19, 64);
	hex[64] = '\0';
	assert_true(nt_hex_decode(seed, 32, hex));
	assert_memory_equal(id->ed_sk, seed, 32);
	assert_memory_equal(id->ed_sk + 32, id->ed_pk, 32);
	assert_int_equal(crypto_sign_ed25519_pk_to_curve25519(x_pk, id->ed_pk), 0);
	assert_memory_equal(x_pk, id->x_pk, 32);
	assert_int_equal(crypto_scalarmult_base(x_pk, id->x_sk), 0);
	assert_memory_equal(x_pk, id->x_pk, 32);

	/* Reloaded: the same identity, not a new one. */
	assert_int_equal(nt_identity_load_or_create(&again, dir, &created, &err), 0);
	assert_false(created);
	assert_memory_equal(again->ed_pk, id->ed_pk, 32);
	assert_memory_equal(again->ed_sk, id->ed_sk, 64);
	assert_memory_equal(again->x_pk, id->x_pk, 32);
	assert_memory_equal(again->x_sk, id->x_sk, 32);

	nt_hex_encode(hex, id->ed_pk, 32);
	assert_memory_equal(nt_node_id_short(id->ed_pk, shortid), hex, NT_NODE_ID_SHORT_LEN);
	assert_int_equal(strlen(shortid), NT_NODE_ID_SHORT_LEN);
	nt_identity_free(again);
	nt_identity_free(id);
	nt_identity_free(NULL);

	/* Leftover temporary files: none. */
	snprintf(buf, sizeof(buf), "ls -A '%s' | grep -v '^identity.key$' | grep -q .", dir);
	assert_int_not_equal(system(buf), 0);
}

static void test_identity_refusals(void **state)
{
	static const struct {
		const char *content;
		mode_t mode;
		int ret;
		const char *msg;
	} cases[] = {
		/* 0 */ { NULL, 0644, -EPERM, "identity.key: permissions 0644 are too open; run chmod 600 " },
		/* 1 */ { NULL, 0640, -EPERM, "permissions 0640 are too open" },
		/* 2 */ { NULL, 0602, -EPERM, "permissions 0602 are too open" },
		/* 3 */ { "", 0600, -EINVAL, "malformed identity file" },
		/* 4 */ { "netron-identity-v2\n0000000000000000000000000000000000000000000000000000000000000000\n",
			  0600, -EINVAL, "malformed identity file" },
		/* 5 */ { "netron-identity-v1\n000000000000000000000000000000000000000000000000000000000000000\n",
			  0600, -EINVAL, "malformed identity file" },
		/* 6 */ { "netron-identity-v1\n000000000000000000000000000000000000000000000000000000000000000g\n",
			  0600, -EINVAL, "the key is not 64 hex digits" },
		/* 7 */ { "netron-identity-v1\n0000000000000000000000000000000000000000000000000000000000000000",
			  0600, -EINVAL, "malformed identity file" },
		/* 8 */ { "netron-identity-v1\n0000000000000000000000000000000000000000000000000000000000000000\nextra\n",
			  0600, -EINVAL, "malformed identity file" },
	};
	char dir[128], path[160];
	struct nt_identity *id;
	struct nt_err err;
	bool created;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/refuse", tmpdir);
	snprintf(path, sizeof(path), "%s/identity.key", dir);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), 0);
	nt_identity_free(id);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		if (cases[i].content)
			write_text(path, cases[i].content, cases[i].mode);
		else
			assert_int_equal(chmod(path, cases[i].mode), 0);
		id = (struct nt_identity *)1;
		ret = nt_identity_load_or_create(&id, dir, &created, &err);
		if (ret != cases[i].ret || !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: ret %d \"%s\", expected %d \"%s\"", i, ret, err.msg,
				 cases[i].ret, cases[i].msg);
		assert_null(id);
		assert_false(created);
	}

	/* A well-formed file with the all-zero seed loads (content is not judged). */
	write_text(path, "netron-identity-v1\n0000000000000000000000000000000000000000000000000000000000000000\n",
		   0600);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), 0);
	nt_identity_free(id);

	/* A symlink is refused, even to a good key file. */
	{
		char link_dir[128], link_path[160];

		snprintf(link_dir, sizeof(link_dir), "%s/symlinked", tmpdir);
		assert_int_equal(mkdir(link_dir, 0700), 0);
		snprintf(link_path, sizeof(link_path), "%s/identity.key", link_dir);
		assert_int_equal(symlink(path, link_path), 0);
		assert_int_equal(nt_identity_load_or_create(&id, link_dir, &created, &err), -ELOOP);
		assert_non_null(strstr(err.msg, "symbolic link"));
	}

	/* identity.key that is a directory. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), -EPERM);
	assert_non_null(strstr(err.msg, "not a regular file"));
	rmdir(path);
}

static void test_state_dir_refusals(void **state)
{
	char dir[128], file[128];
	struct nt_identity *id;
	struct nt_err err;
	bool created;

	(void)state;
	/* Group-writable existing state directory. */
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), -EPERM);
	assert_non_null(strstr(err.msg, "permissions 0770"));
	assert_non_null(strstr(err.msg, "chmod 700"));
	assert_null(id);

	/* A regular file where the state directory should be. */
	snprintf(file, sizeof(file), "%s/file", tmpdir);
	write_text(file, "x", 0600);
	assert_int_equal(nt_identity_load_or_create(&id, file, &created, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "not a directory"));

	/* A trailing slash is fine. */
	snprintf(dir, sizeof(dir), "%s/slash/", tmpdir);
	assert_int_equal(nt_identity_load_or_create(&id, dir, &created, &err), 0);
	assert_true(created);
	nt_identity_free(id);
}

static void test_ephemeral(void **state)
{
	struct nt_identity *a, *b;
	uint8_t x_pk[32];

	(void)state;
	assert_int_equal(nt_identity_new_ephemeral(&a), 0);
	assert_int_equal(nt_identity_new_ephemeral(&b), 0);
	assert_int_not_equal(memcmp(a->ed_pk, b->ed_pk, 32), 0);
	assert_int_equal(crypto_scalarmult_base(x_pk, a->x_sk), 0);
	assert_memory_equal(x_pk, a->x_pk, 32);
	nt_identity_free(a);
	nt_identity_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_epoch),
		cmocka_unit_test(test_separation),
		cmocka_unit_test(test_identity_create_reload),
		cmocka_unit_test(test_identity_refusals),
		cmocka_unit_test(test_state_dir_refusals),
		cmocka_unit_test(test_ephemeral),
	};

	return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
