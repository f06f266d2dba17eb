// SPDX-License-Identifier: MIT
/*
 * Keys. The network keys are derived from the token's fields with keyed BLAKE2b
 * (crypto_generichash), one context string per use (docs/protocol.md, "Derivations"):
 *
 *   H(x)            = BLAKE2b-256(x), unkeyed; turns a secret of any length into a key
 *   psk             = BLAKE2b-256(key=H(otp.crypto.key), "netron-v1 psk\0" || u32le(|room|) || room)
 *   mac1_key        = BLAKE2b-256(key=psk, "netron-v1 mac1\0")
 *   cookie_key      = BLAKE2b-256(key=psk, "netron-v1 cookie\0")
 *   infohash(epoch) = BLAKE2b-256(key=H(otp.dht.key), "netron-v1 rendezvous\0" ||
 *                     u32le(|rendezvous|) || rendezvous || u64le(epoch))[0..20]
 *   mdns_tag        = hex(BLAKE2b-256(key=H(mdns), "netron-v1 mdns\0")[0..16])
 *   fingerprint     = hex(BLAKE2b-256(key=psk, "netron-v1 fingerprint\0")[0..8])
 *
 * And the node identity (DESIGN §3): an Ed25519 key pair whose 32-byte seed is kept in
 * state_dir/identity.key ("netron-identity-v1\n" <64 hex digits> "\n", mode 0600, written
 * atomically), with the X25519 pair for the handshake derived from it.
 */
#include "netron/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/util.h"

#define CTX_PSK "netron-v1 psk"
#define CTX_MAC1 "netron-v1 mac1"
#define CTX_COOKIE "netron-v1 cookie"
#define CTX_RENDEZVOUS "netron-v1 rendezvous"
#define CTX_MDNS "netron-v1 mdns"
#define CTX_FINGERPRINT "netron-v1 fingerprint"

#define IDENTITY_FILE "identity.key"
#define IDENTITY_MAGIC "netron-identity-v1\n"

enum {
	IDENTITY_FILE_LEN = sizeof(IDENTITY_MAGIC) - 1 + 64 + 1,
	SEED_LEN = crypto_sign_SEEDBYTES,
};


static void put_u32le(uint8_t out[4], uint32_t v)
{
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64le(uint8_t out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (8 * i));
}

/* H(s): the 32-byte BLAKE2b-256 of a secret string, used as a BLAKE2b key. */
static void hash_secret(uint8_t out[32], const char *s)
{
	crypto_generichash(out, 32, (const uint8_t *)s, strlen(s), NULL, 0);
}

/*
 * BLAKE2b-256(key, ctx "\0" || [u32le(|s|) || s] || [u64le(epoch)]): the context string
 * always ends with its NUL; s and the epoch are included when given.
 */
static void derive(uint8_t out[32], const uint8_t key[32], const char *ctx, const char *s,
		   const uint64_t *epoch)
{
	crypto_generichash_state st;
	uint8_t num[8];

	crypto_generichash_init(&st, key, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)ctx, strlen(ctx) + 1);
	if (s) {
		put_u32le(num, (uint32_t)strlen(s));
		crypto_generichash_update(&st, num, 4);
		crypto_generichash_update(&st, (const uint8_t *)s, strlen(s));
	}
	if (epoch) {
		put_u64le(num, *epoch);
		crypto_generichash_update(&st, num, 8);
	}
	crypto_generichash_final(&st, out, 32);
	sodium_memzero(&st, sizeof(st));
}

int nt_network_keys_new(struct nt_network_keys **out, const struct nt_config *cfg)
{
	struct nt_network_keys *keys;
	uint8_t k[32], h[32];

	*out = NULL;
	if (sodium_init() < 0)
		return -EIO;
	keys = sodium_malloc(sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	memset(keys, 0, sizeof(*keys));

	hash_secret(k, cfg->otp_crypto.key);
	derive(keys->psk, k, CTX_PSK, cfg->room, NULL);
	derive(keys->mac1_key, keys->psk, CTX_MAC1, NULL, NULL);
	derive(keys->cookie_key, keys->psk, CTX_COOKIE, NULL, NULL);
	derive(h, keys->psk, CTX_FINGERPRINT, NULL, NULL);
	nt_hex_encode(keys->fingerprint, h, NT_FINGERPRINT_LEN / 2);

	hash_secret(k, cfg->mdns);
	derive(h, k, CTX_MDNS, NULL, NULL);
	nt_hex_encode(keys->mdns_tag, h, NT_MDNS_TAG_LEN / 2);

	sodium_memzero(k, sizeof(k));
	sodium_memzero(h, sizeof(h));
	*out = keys;
	return 0;
}

void nt_network_keys_free(struct nt_network_keys *keys)
{
	/* sodium_free() zeroes the whole allocation before unmapping it. */
	if (keys)
		sodium_free(keys);
}

uint64_t nt_network_epoch(const struct nt_config *cfg, uint64_t unix_seconds)
{
	if (cfg->otp_dht.interval == 0) /* never for a parsed config */
		return 0;
	return unix_seconds / cfg->otp_dht.interval;
}

void nt_network_rendezvous(const struct nt_config *cfg, uint64_t epoch, uint8_t out[NT_INFOHASH_LEN])
{
	uint8_t k[32], h[32];

	hash_secret(k, cfg->otp_dht.key);
	derive(h, k, CTX_RENDEZVOUS, cfg->rendezvous, &epoch);
	memcpy(out, h, NT_INFOHASH_LEN);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(h, sizeof(h));
}

const char *nt_node_id_short(const uint8_t id[32], char out[NT_NODE_ID_SHORT_LEN + 1])
{
	nt_hex_encode(out, id, NT_NODE_ID_SHORT_LEN / 2);
	return out;
}

void nt_identity_free(struct nt_identity *id)
{
	if (!id)
		return;
	if (id->ed_sk)
		sodium_free(id->ed_sk);
	if (id->x_sk)
		sodium_free(id->x_sk);
	free(id);
}

/* Builds the identity from its seed: Ed25519 pair, then the X25519 pair from it. */
static int identity_from_seed(struct nt_identity **out, const uint8_t seed[SEED_LEN])
{
	struct nt_identity *id;
	int ret = -ENOMEM;

	*out = NULL;
	if (sodium_init() < 0)
		return -EIO;
	id = calloc(1, sizeof(*id));
	if (!id)
		return -ENOMEM;
	id->ed_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	id->x_sk = sodium_malloc(crypto_scalarmult_curve25519_BYTES);
	if (!id->ed_sk || !id->x_sk)
		goto err_free;
	ret = -EINVAL;
	if (crypto_sign_seed_keypair(id->ed_pk, id->ed_sk, seed) < 0 ||
	    crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->ed_pk) < 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk) < 0)
		goto err_free;
	*out = id;
	return 0;

err_free:
	nt_identity_free(id);
	return ret;
}

int nt_identity_new_ephemeral(struct nt_identity **out)
{
	uint8_t *seed;
	int ret;

	*out = NULL;
	if (sodium_init() < 0)
		return -EIO;
	seed = sodium_malloc(SEED_LEN);
	if (!seed)
		return -ENOMEM;
	randombytes_buf(seed, SEED_LEN);
	ret = identity_from_seed(out, seed);
	sodium_free(seed);
	return ret;
}

/*
 * mkdir -p with mode 0700 for every directory it creates. The last component (the state
 * directory itself) must be a directory that group and others cannot write.
 */
static int ensure_state_dir(const char *dir, struct nt_err *err)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		nt_err_set(err, 0, 0, "state directory: invalid path");
		return -EINVAL;
	}
	memcpy(path, dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (char *p = path + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		/* An existing component may answer EACCES or EROFS rather than EEXIST. */
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			int ret = -errno;

			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				*p = c;
				if (c == '\0')
					break;
				continue;
			}
			nt_err_set(err, 0, 0, "%s: cannot create directory: %s", path, strerror(-ret));
			return ret;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) < 0) {
		int ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (!S_ISDIR(st.st_mode)) {
		nt_err_set(err, 0, 0, "%s: not a directory", path);
		return -ENOTDIR;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		nt_err_set(err, 0, 0, "%s: permissions %04o let others write the state directory; run chmod 700 %s",
			path, (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

/* Reads and checks identity.key. -ENOENT (err untouched) when it does not exist. */
static int identity_load(struct nt_identity **out, const char *path, struct nt_err *err)
{
	char buf[IDENTITY_FILE_LEN + 2], *hex;
	uint8_t *seed = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			return ret;
		if (ret == -ELOOP)
			nt_err_set(err, 0, 0, "%s: is a symbolic link; refusing it", path);
		else
			nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		goto err_close;
	}
	ret = -EPERM;
	if (!S_ISREG(st.st_mode)) {
		nt_err_set(err, 0, 0, "%s: not a regular file", path);
		goto err_close;
	}
	if (st.st_uid != geteuid()) {
		nt_err_set(err, 0, 0, "%s: owned by uid %u, not by the current user (uid %u)", path,
			(unsigned int)st.st_uid, (unsigned int)geteuid());
		goto err_close;
	}
	if (st.st_mode & 077) {
		nt_err_set(err, 0, 0, "%s: permissions %04o are too open; run chmod 600 %s", path,
			(unsigned int)(st.st_mode & 07777), path);
		goto err_close;
	}
	n = nt_read_full(fd, buf, sizeof(buf));
	if (n < 0) {
		ret = (int)n;
		nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		goto err_wipe;
	}
	len = (size_t)n;
	ret = -EINVAL;
	hex = buf + sizeof(IDENTITY_MAGIC) - 1;
	if (len != IDENTITY_FILE_LEN || memcmp(buf, IDENTITY_MAGIC, sizeof(IDENTITY_MAGIC) - 1) ||
	    buf[IDENTITY_FILE_LEN - 1] != '\n') {
		nt_err_set(err, 0, 0, "%s: malformed identity file (expected \"netron-identity-v1\" and 64 hex digits)",
			path);
		goto err_wipe;
	}
	buf[IDENTITY_FILE_LEN - 1] = '\0';
	seed = sodium_malloc(SEED_LEN);
	if (!seed) {
		ret = -ENOMEM;
		nt_err_set(err, 0, 0, "%s: out of memory", path);
		goto err_wipe;
	}
	if (!nt_hex_decode(seed, SEED_LEN, hex)) {
		nt_err_set(err, 0, 0, "%s: malformed identity file (the key is not 64 hex digits)", path);
		goto err_wipe;
	}
	if ((ret = identity_from_seed(out, seed)) < 0)
		nt_err_set(err, 0, 0, "%s: cannot derive the key pair", path);
err_wipe:
	if (seed)
		sodium_free(seed);
	sodium_memzero(buf, sizeof(buf));
err_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes a new identity atomically: a temporary file created with O_EXCL next to the final
 * name, fsync, then a rename that never replaces an identity another process wrote in the
 * meantime (-EEXIST), then fsync of the directory.
 */
static int identity_create(struct nt_identity **out, const char *dir, const char *path,
			   struct nt_err *err)
{
	char tmp[PATH_MAX], buf[IDENTITY_FILE_LEN + 1];
	uint8_t *seed;
	uint32_t rnd = randombytes_random();
	int fd, dfd, ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%08x.tmp", dir, IDENTITY_FILE, rnd) >= sizeof(tmp)) {
		nt_err_set(err, 0, 0, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	seed = sodium_malloc(SEED_LEN);
	if (!seed) {
		nt_err_set(err, 0, 0, "%s: out of memory", path);
		return -ENOMEM;
	}
	randombytes_buf(seed, SEED_LEN);
	memcpy(buf, IDENTITY_MAGIC, sizeof(IDENTITY_MAGIC) - 1);
	nt_hex_encode(buf + sizeof(IDENTITY_MAGIC) - 1, seed, SEED_LEN);
	buf[IDENTITY_FILE_LEN - 1] = '\n';
	if ((ret = identity_from_seed(out, seed)) < 0) {
		nt_err_set(err, 0, 0, "%s: cannot derive the key pair", path);
		goto err_wipe;
	}

	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", tmp, strerror(-ret));
		goto err_identity;
	}
	if (fchmod(fd, 0600) < 0 || (ret = write_all(fd, buf, IDENTITY_FILE_LEN)) < 0 ||
	    fsync(fd) < 0) {
		ret = ret < 0 ? ret : -errno;
		nt_err_set(err, 0, 0, "%s: %s", tmp, strerror(-ret));
		close(fd);
		goto err_unlink;
	}
	if (close(fd) < 0) {
		ret = -errno;
		nt_err_set(err, 0, 0, "%s: %s", tmp, strerror(-ret));
		goto err_unlink;
	}
	ret = renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE);
	if (ret < 0 && (errno == EINVAL || errno == ENOSYS)) {
		/* A file system without RENAME_NOREPLACE: link() never replaces either. */
		ret = link(tmp, path);
		if (ret == 0)
			unlink(tmp);
	}
	if (ret < 0) {
		ret = -errno;
		if (ret != -EEXIST)
			nt_err_set(err, 0, 0, "%s: %s", path, strerror(-ret));
		goto err_unlink;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	sodium_free(seed);
	sodium_memzero(buf, sizeof(buf));
	return 0;

err_unlink:
	unlink(tmp);
err_identity:
	nt_identity_free(*out);
	*out = NULL;
err_wipe:
	sodium_free(seed);
	sodium_memzero(buf, sizeof(buf));
	return ret;
}

int nt_identity_load_or_create(struct nt_identity **out, const char *state_dir, bool *created,
			       struct nt_err *err)
{
	char path[PATH_MAX];
	int ret;

	*out = NULL;
	if (created)
		*created = false;
	if (err)
		memset(err, 0, sizeof(*err));
	if (sodium_init() < 0) {
		nt_err_set(err, 0, 0, "libsodium initialisation failed");
		return -EIO;
	}
	if ((ret = ensure_state_dir(state_dir, err)) < 0)
		return ret;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir, IDENTITY_FILE) >= sizeof(path)) {
		nt_err_set(err, 0, 0, "%s: path too long", state_dir);
		return -ENAMETOOLONG;
	}
	ret = identity_load(out, path, err);
	if (ret != -ENOENT)
		return ret;
	ret = identity_create(out, state_dir, path, err);
	if (ret == -EEXIST) /* another process created it first: use theirs */
		return identity_load(out, path, err);
	if (ret == 0 && created)
		*created = true;
	return ret;
}
