// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the whole receive path of a node that holds live sessions: frames go
 * into a detached daemon (nt_daemon_new_detached: no TUN, no socket, no loop, so no byte
 * ever leaves it) through nt_datapath_on_frame, so decrypted payloads reach control
 * dispatch (ANNOUNCE, PEX), gossip into the ledger and the claims, relaying (RELAY) and
 * relayed delivery (RELAYED), as well as real handshakes, the DHT and STUN.
 *
 * One daemon per process, kept across inputs (that is the point) and made again every
 * NT_FUZZ_DAEMON_RESET inputs (default 10000; 1 gives a fresh node per input, to replay
 * a crash alone). It has FUZZ_PEERS members with sessions whose keys this harness knows
 * (installed as a completed handshake installs them: peer, keypair, index, session), each
 * with a signed machine claim (so routes exist) that the harness keeps fresh. Time is
 * fake: nt_now_ms, nt_now_us and nt_wall_ms are wrapped at link time (tests/CMakeLists.txt)
 * and move only when an input says so, which keeps signed seeds valid from run to run.
 *
 * An input is a sequence of records: u8 kind | u8 who | u16 len (big-endian) | len bytes
 * (a len past the end takes what is left). who % FUZZ_PEERS is the peer k; who / FUZZ_PEERS
 * picks the source address: 0 peer k's own endpoint, 1 its current one, 2-31 an IPv4
 * stranger, 32-63 an IPv6 stranger. kind & 7:
 *   0 RAW      the bytes as a datagram from the source; with kind & 0x80 a handshake
 *              message gets the network's mac1 (a member's forgery gets past it)
 *   1 INDEX    the same, as a data frame on peer k's keypair: type, zeros and its receiver
 *              index are written over bytes 0-7, so it fails on the tag or the counter; a
 *              RESP, FIN or COOKIE_REPLY gets the index of a live attempt (byte 4 picks it)
 *              and mac1
 *   2 PLAIN    a plaintext (inner type, body) sealed with peer k's sending key
 *   3 RELAYED  u8 j | plaintext: sealed as peer j, wrapped in RELAYED from j, sealed as k
 *              (with kind & 0x80, u8 j | a frame, put in the RELAYED as it is, mac1 as RAW)
 *   4 LEDGER   an entry the harness signs, sent by peer k as GOSSIP PUSH (or ENTRIES):
 *              u8 signer | u8 flags | u16 claimed_at seconds back | u16 ttl seconds |
 *              u8 version | u8 key_len | key | value; see ledger_record()
 *   5 TICK     u16 ms (x100 with kind & 0x40) added to the clock, then every timer; with
 *              who & 1, single sends fail from then on in this input (see __wrap_nt_udp_send)
 *   6 TUN      the bytes as a packet read from the TUN (route, encrypt, send)
 *   7 SESSION  u8 flags | u8 pick: a new keypair for peer k (bit 0 we initiated, bit 1
 *              drop the session first, bit 2 no new keypair), or a real handshake: bit 3
 *              peer k answers the node's pending initiation number pick, bit 4 peer k
 *              initiates (nt_udp_send is wrapped to read the node's RESP and FIN)
 * For PLAIN and RELAYED (its inner frame), kind bits 3-4 pick the keypair sealed with (0
 * the newest, 1 current, 2 previous) and bit 5 reuses the last counter (a replay). For
 * RAW, INDEX, PLAIN, RELAYED and TUN, kind bit 6 repeats the body to 256 times its length
 * (at most 65535 bytes): libFuzzer grows inputs slowly, and one bit then makes a large one.
 *
 * A crash that needs the state earlier inputs left does not replay alone: libFuzzer runs
 * the files named on its command line in order in one process, and since records chain,
 * inputs concatenated in order come close in one input.
 * The seeds are up to 30 KB (oversized-relay): run libFuzzer with -max_len=65600.
 *
 * Built with -DNT_FUZZ_GEN_SEEDS this file is a main() that writes the seed corpus into
 * the directory named by argv[1], e.g. against an ASan build:
 *   cc -std=gnu11 -D_GNU_SOURCE -DNT_FUZZ_GEN_SEEDS -fsanitize=address,undefined -Iinclude
 *      -Isrc $(pkg-config --cflags nice libmicrohttpd) tests/fuzz/fuzz_daemon.c
 *      build-asan/libnetron.a -lsodium -levent_core -levent_pthreads -lyaml -ljansson -lb64
 *      -lpthread -ldl -o gen && ./gen tests/fuzz/corpus/daemon
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "proto/control.h"
#include "daemon/daemon.h"
#include "ledger/gossip.h"
#include "ledger/ledger.h"
#include "core/log.h"
#include "proto/session.h"
#include "tunnel/path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	FUZZ_PEERS = 4,
	FUZZ_SIGNERS = 16, /* ledger owners: the peers, this node, then throw-away keys */
	FUZZ_SIGNER_SELF = FUZZ_PEERS,
	FUZZ_MIRRORS = 4, /* a session holds three keypairs: one slot is always free */
	FUZZ_FRAME_MAX = 65535, /* the largest UDP payload a frame can be */
	FUZZ_LEDGER_CAPACITY = 256,
	FUZZ_CLAIM_TTL_S = 300,
	FUZZ_PORT = 51830,
};

enum fuzz_kind {
	FUZZ_RAW,
	FUZZ_INDEX,
	FUZZ_PLAIN,
	FUZZ_RELAYED,
	FUZZ_LEDGER,
	FUZZ_TICK,
	FUZZ_TUN,
	FUZZ_SESSION,
};

#define FUZZ_MONO_BASE 1000000ULL /* ms; never 0, which the code reads as "never" */
#define FUZZ_WALL_BASE 1700000000000ULL

static const char fuzz_network[] =
	"otp:\n"
	"  dht:\n"
	"    interval: 9000\n"
	"    key: FUZZDAEMQNKT6YZYQGGY3JANGXMLJTHR\n"
	"    length: 32\n"
	"  crypto:\n"
	"    interval: 9000\n"
	"    key: FUZZDAEMMSRJF2AJDGUI2NDB5LBVCPLS\n"
	"    length: 32\n"
	"room: fuzzDaemonRoomSBTglFzOhWvczTBQJO\n"
	"rendezvous: fuzzDaemonRendezvousMSPrHhevAEE\n"
	"mdns: fuzzDaemonMdnsSrdmivaqaOyQyEnTM\n"
	"max_message_size: 20971520\n";

/* The clock (wrapped at link time): moves only on TICK records. */
static uint64_t clock_ms = FUZZ_MONO_BASE;
static uint64_t clock_us_calls; /* so a loop waiting on nt_now_us always ends */

uint64_t __wrap_nt_now_ms(void);
uint64_t __wrap_nt_now_us(void);
uint64_t __wrap_nt_wall_ms(void);

uint64_t __wrap_nt_now_ms(void)
{
	return clock_ms;
}

uint64_t __wrap_nt_now_us(void)
{
	return clock_ms * 1000 + ++clock_us_calls;
}

uint64_t __wrap_nt_wall_ms(void)
{
	return FUZZ_WALL_BASE + (clock_ms - FUZZ_MONO_BASE);
}

struct fuzz_key {
	uint8_t pk[32];
	uint8_t sk[64];
};

struct fuzz_mirror {
	uint32_t index; /* the daemon's local index of the keypair this one talks to */
	struct nt_keypair *kp; /* the member's side: seals what the daemon opens */
};

struct fuzz_peer {
	struct fuzz_key key;
	struct nt_identity id; /* the same key, as the handshake wants it */
	union nt_sockaddr home;
	char claim[16]; /* its VPN address, claimed in "machines" */
	struct fuzz_mirror mirror[FUZZ_MIRRORS];
};

static struct fuzz_peer peers[FUZZ_PEERS];
static struct fuzz_key signers[FUZZ_SIGNERS]; /* [FUZZ_SIGNER_SELF] is this node's */

static void key_from_seed(struct fuzz_key *k, uint8_t a, uint8_t b)
{
	uint8_t seed[32] = { 'f', 'u', 'z', 'z', a, b };

	crypto_sign_seed_keypair(k->pk, k->sk, seed);
}

/* Identities and endpoints: the same in every run, so the seeds can name them. */
static void world_init(void)
{
	static bool done;
	char ep[32];

	if (done)
		return;
	done = true;
	if (sodium_init() < 0)
		abort();
	for (unsigned int k = 0; k < FUZZ_PEERS; k++) {
		struct nt_identity *id = &peers[k].id;

		key_from_seed(&peers[k].key, 'p', (uint8_t)k);
		id->ed_sk = sodium_malloc(64);
		id->x_sk = sodium_malloc(32);
		if (!id->ed_sk || !id->x_sk)
			abort();
		memcpy(id->ed_pk, peers[k].key.pk, 32);
		memcpy(id->ed_sk, peers[k].key.sk, 64);
		if (crypto_sign_ed25519_pk_to_curve25519(id->x_pk, id->ed_pk) != 0 ||
		    crypto_sign_ed25519_sk_to_curve25519(id->x_sk, id->ed_sk) != 0)
			abort();
		snprintf(ep, sizeof(ep), "192.0.2.%u:%u", 11 + k, FUZZ_PORT);
		if (!nt_sockaddr_parse(ep, &peers[k].home))
			abort();
		snprintf(peers[k].claim, sizeof(peers[k].claim), "10.1.0.%u", 11 + k);
		signers[k] = peers[k].key;
	}
	key_from_seed(&signers[FUZZ_SIGNER_SELF], 'n', 0);
	for (unsigned int i = FUZZ_SIGNER_SELF + 1; i < FUZZ_SIGNERS; i++)
		key_from_seed(&signers[i], 's', (uint8_t)i);
}

#ifndef NT_FUZZ_GEN_SEEDS
static struct nt_daemon *d;
static uint64_t signer_version[FUZZ_SIGNERS];
static uint32_t session_gen;
static char *token;
/* The members' side of real handshakes with the node. */
static struct nt_handshake_local hs_local[FUZZ_PEERS];
static struct nt_handshake hs;
static union nt_sockaddr node_addr; /* where the members believe the node is */

/*
 * nt_udp_send is wrapped too. It keeps the last handshake answer the node sent, so that the
 * harness can play the member's side of a handshake to its end, and says the datagram went
 * out (a node's sends normally do: an initiation whose send fails is abandoned at once);
 * after a TICK record with who & 1, until the end of the input, it calls the real one,
 * which fails on descriptor -1 and the node counts it. Either way no byte leaves.
 */
static struct {
	uint8_t msg[NT_HS_RESP_LEN];
	size_t len;
} sent[3]; /* RESP, FIN, COOKIE_REPLY */
static bool sends_fail;

int __real_nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		       int ttl);
int __wrap_nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		       int ttl);

int __wrap_nt_udp_send(struct nt_udp *u, const void *buf, size_t len, const union nt_sockaddr *to,
		       int ttl)
{
	const uint8_t *m = buf;

	if (len && m[0] >= NT_HS_MSG_RESP && m[0] <= NT_HS_MSG_COOKIE_REPLY &&
	    len <= sizeof(sent[0].msg)) {
		memcpy(sent[m[0] - NT_HS_MSG_RESP].msg, m, len);
		sent[m[0] - NT_HS_MSG_RESP].len = len;
	}
	return sends_fail ? __real_nt_udp_send(u, buf, len, to, ttl) : 0;
}

static void log_discard(void *ctx, enum nt_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

/* The state dir holds our fixed identity; it is gone as soon as the node has read it. */
static int state_dir_make(char *dir, size_t len)
{
	static const uint8_t seed[32] = { 'f', 'u', 'z', 'z', 'n', 0 };
	const char *tmp = getenv("TMPDIR");
	char path[NT_PATH_MAX + 16], hex[65], line[128];
	int fd, n;

	snprintf(dir, len, "%s/netron-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return -errno;
	nt_hex_encode(hex, seed, sizeof(seed));
	n = snprintf(line, sizeof(line), "netron-identity-v1\n%s\n", hex);
	snprintf(path, sizeof(path), "%s/identity.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static void state_dir_remove(const char *dir)
{
	char path[NT_PATH_MAX + 300];
	struct dirent *de;
	DIR *dh = opendir(dir);

	while (dh && (de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (dh)
		closedir(dh);
	rmdir(dir);
}

static struct nt_peer *peer_of(unsigned int k)
{
	return nt_peer_lookup(&d->dp.peers, peers[k].key.pk);
}

/* A mirror slot whose keypair the node's session no longer holds (one always is). */
static struct fuzz_mirror *mirror_slot(unsigned int k, const struct nt_peer *p)
{
	for (unsigned int i = 0; i < FUZZ_MIRRORS; i++) {
		struct fuzz_mirror *x = &peers[k].mirror[i];
		if (!x->kp || !p || !nt_session_keypair_by_index(&p->session, x->index))
			return x;
	}
	return NULL;
}

/*
 * A new keypair between us and peer k, installed as complete() installs a finished
 * handshake's; its mirror goes to a slot whose keypair the session no longer holds.
 */
static void session_new(unsigned int k, bool initiator)
{
	struct fuzz_peer *fp = &peers[k];
	struct nt_keypair *kp, *m;
	struct fuzz_mirror *slot;
	uint8_t k1[32], k2[32], in[8];
	uint32_t remote = 0x10000 + ++session_gen;
	struct nt_peer *p = nt_tunnel_member_get(&d->tunnel, fp->key.pk, NULL, NULL);
	bool was_connected;

	if (!p)
		return; /* the peer table is full */
	memcpy(in, &remote, 4);
	memcpy(in + 4, &k, 4);
	crypto_generichash(k1, sizeof(k1), in, sizeof(in), (const uint8_t *)"send", 4);
	crypto_generichash(k2, sizeof(k2), in, sizeof(in), (const uint8_t *)"recv", 4);
	slot = mirror_slot(k, p);
	if (!slot || nt_session_keypair_new(&kp, k1, k2, 0, remote, initiator, clock_ms) < 0)
		return;
	if (nt_index_add(&d->dp.index, NT_INDEX_KEYPAIR, kp, d->dp.n_workers, 0, &kp->local_index) < 0) {
		nt_session_keypair_free(kp);
		return;
	}
	if (nt_session_keypair_new(&m, k2, k1, remote, kp->local_index, !initiator, clock_ms) < 0) {
		nt_index_remove(&d->dp.index, kp->local_index);
		nt_session_keypair_free(kp);
		return;
	}
	nt_session_keypair_free(slot->kp);
	slot->kp = m;
	slot->index = kp->local_index;
	kp->owner = p;
	was_connected = nt_dataplane_peer_is_alive(p, clock_ms);
	nt_session_keypair_install(&p->session, kp);
	nt_dataplane_publish(&d->dp);
	if (!p->has_endpoint && !p->via)
		nt_tunnel_path_seen(&d->tunnel, p, &fp->home, NULL, true);
	p->handshakes++;
	p->handshake_due_ms = 0;
	p->last_handshake_wall_ms = __wrap_nt_wall_ms();
	if (!was_connected)
		p->connected_since_ms = clock_ms;
}

/* An entry signed as docs/ledger.md §1.1 says; its wire length, or 0. */
static size_t entry_sign(uint8_t *out, size_t cap, const struct fuzz_key *signer,
			 struct nt_ledger_entry *e)
{
	static const uint8_t zero[NT_LEDGER_SIG_LEN];
	uint8_t *msg;
	ssize_t n;

	e->owner = signer->pk;
	e->sig = zero;
	n = nt_ledger_entry_encode(e, out, cap);
	if (n < NT_LEDGER_SIG_LEN)
		return 0;
	msg = malloc(16 + (size_t)n);
	if (!msg)
		return 0;
	memcpy(msg, "netron ledger v1", 16);
	memcpy(msg + 16, out, (size_t)n - NT_LEDGER_SIG_LEN);
	crypto_sign_detached(out + n - NT_LEDGER_SIG_LEN, NULL, msg, 16 + (size_t)n - NT_LEDGER_SIG_LEN,
			     signer->sk);
	free(msg);
	return (size_t)n;
}

static uint64_t version_next(unsigned int signer)
{
	uint64_t wall = __wrap_nt_wall_ms();

	signer_version[signer] = signer_version[signer] + 1 > wall ? signer_version[signer] + 1 : wall;
	return signer_version[signer];
}

/* Peer k's machine claim, re-signed before it runs out (as its own node would). */
static void claim_refresh(unsigned int k)
{
	struct fuzz_peer *fp = &peers[k];
	const struct nt_ledger_entry *old;
	uint64_t wall = __wrap_nt_wall_ms();
	uint8_t wire[1024];
	char value[256], id[65];
	struct nt_ledger_entry e = { 0 };
	size_t n;

	old = nt_ledger_get_owned(d->claims.ledger, NT_LEDGER_MACHINES, fp->claim, fp->key.pk);
	if (old && !old->flags && old->expires_at > wall + 120000)
		return;
	nt_hex_encode(id, fp->key.pk, 32);
	snprintf(value, sizeof(value),
		 "{\"id\":\"%s\",\"hostname\":\"peer%u\",\"port\":%u,\"prefix\":24,"
		 "\"endpoints\":[\"192.0.2.%u:%u\"]}", id, k, FUZZ_PORT, 11 + k, FUZZ_PORT);
	e.bucket = NT_LEDGER_MACHINES;
	e.bucket_len = sizeof(NT_LEDGER_MACHINES) - 1;
	e.key = fp->claim;
	e.key_len = (uint8_t)strlen(fp->claim);
	e.value = (const uint8_t *)value;
	e.value_len = (uint16_t)strlen(value);
	e.version = version_next(k);
	e.claimed_at = old && !old->flags ? old->claimed_at : wall;
	e.expires_at = wall + FUZZ_CLAIM_TTL_S * 1000ULL;
	n = entry_sign(wire, sizeof(wire), &fp->key, &e);
	if (n)
		nt_ledger_insert(d->claims.ledger, wire, n, wall);
}

/* Before each input: every peer exists, has an endpoint, a keypair and a live claim. */
static void world_refresh(void)
{
	for (unsigned int k = 0; k < FUZZ_PEERS; k++) {
		struct nt_peer *p = nt_tunnel_member_get(&d->tunnel, peers[k].key.pk, NULL, NULL);

		if (!p)
			continue;
		if (!nt_session_keypair_for_send(&p->session, clock_ms) && !p->session.next)
			session_new(k, true);
		if (!p->has_endpoint && !p->via)
			nt_tunnel_path_seen(&d->tunnel, p, &peers[k].home, NULL, true);
		claim_refresh(k);
	}
}

static void daemon_free(void)
{
	for (unsigned int k = 0; k < FUZZ_PEERS; k++) {
		for (unsigned int i = 0; i < FUZZ_MIRRORS; i++) {
			nt_session_keypair_free(peers[k].mirror[i].kp);
			peers[k].mirror[i].kp = NULL;
		}
		nt_handshake_local_uninit(&hs_local[k]);
	}
	nt_daemon_free(d);
	d = NULL;
}

static void daemon_new(void)
{
	struct nt_options o;
	struct nt_err err;
	char dir[NT_PATH_MAX];

	world_init();
	if (!token) {
		token = nt_token_encode(fuzz_network, sizeof(fuzz_network) - 1);
		if (!token)
			abort();
		nt_log_set_callback(log_discard, NULL);
		/* Every debug line is formatted: member-chosen strings reach the log's formats. */
		nt_log_set_level(NT_LOG_DEBUG, NT_DBG_ALL);
	}
	clock_ms = FUZZ_MONO_BASE;
	session_gen = 0;
	memset(signer_version, 0, sizeof(signer_version));
	nt_options_init(&o);
	o.token = token;
	o.listen_port = FUZZ_PORT;
	o.dht = true;
	o.relay = true;
	o.ledger_capacity = FUZZ_LEDGER_CAPACITY;
	if (!nt_cidr_parse("10.1.0.1/24", &o.addresses[o.n_addresses++]) ||
	    !nt_cidr_parse("fd00:1::1/64", &o.addresses[o.n_addresses++]))
		abort();
	if (state_dir_make(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "fuzz_daemon: cannot make a state directory in %s\n", dir);
		abort();
	}
	snprintf(o.state_dir, sizeof(o.state_dir), "%s", dir);
	if (nt_daemon_new_detached(&d, &o, &err) < 0) {
		fprintf(stderr, "fuzz_daemon: %s\n", err.msg);
		state_dir_remove(dir);
		abort();
	}
	/* What the node writes later (remembered peers, ...) fails quietly: nothing lands. */
	state_dir_remove(dir);
	if (memcmp(d->id->ed_pk, signers[FUZZ_SIGNER_SELF].pk, 32) != 0)
		abort();
	for (unsigned int k = 0; k < FUZZ_PEERS; k++)
		if (nt_handshake_local_init(&hs_local[k], &peers[k].id, d->keys, clock_ms) < 0)
			abort();
	if (!hs.noise.st && nt_handshake_init(&hs) < 0)
		abort();
	if (!nt_sockaddr_parse("192.0.2.1:51830", &node_addr))
		abort();
	world_refresh();
	nt_daemon_tick(d, clock_ms); /* routes from the claims */
}

/* The address a record's datagram comes from. */
static void source_of(unsigned int who, union nt_sockaddr *out)
{
	unsigned int k = who % FUZZ_PEERS, v = who / FUZZ_PEERS;
	struct nt_peer *p = peer_of(k);
	char buf[64];

	if (v == 0 || (v == 1 && (!p || !p->has_endpoint))) {
		*out = peers[k].home;
		return;
	}
	if (v == 1) {
		*out = p->endpoint;
		return;
	}
	if (v < 32)
		snprintf(buf, sizeof(buf), "198.51.100.%u:%u", v, FUZZ_PORT + (v & 1));
	else
		snprintf(buf, sizeof(buf), "[2001:db8::%x]:%u", v, FUZZ_PORT + (v & 1));
	if (!nt_sockaddr_parse(buf, out))
		abort();
}

/* The member's side of the keypair to seal with (kind bits 3-4), or NULL. */
static struct nt_keypair *mirror_for(unsigned int k, unsigned int which)
{
	struct nt_peer *p = peer_of(k);
	struct nt_keypair *t;

	if (!p)
		return NULL;
	t = which == 1 ? p->session.current : which == 2 ? p->session.previous :
	    p->session.next ? p->session.next : p->session.current;
	if (!t)
		return NULL;
	for (unsigned int i = 0; i < FUZZ_MIRRORS; i++)
		if (peers[k].mirror[i].kp && peers[k].mirror[i].index == t->local_index)
			return peers[k].mirror[i].kp;
	return NULL;
}

/* A frame sealed as peer k (malloc'd, exactly its size), or NULL. */
static uint8_t *seal(unsigned int k, uint8_t kind, const uint8_t *plain, size_t len, size_t *flen)
{
	struct nt_keypair *m = mirror_for(k, (kind >> 3) & 3);
	uint8_t *buf;

	if (!m || !len)
		return NULL;
	if (len > FUZZ_FRAME_MAX - NT_DATA_OVERHEAD)
		len = FUZZ_FRAME_MAX - NT_DATA_OVERHEAD;
	if ((kind & 0x20) && m->send_counter)
		m->send_counter--;
	buf = malloc(len + NT_DATA_OVERHEAD);
	if (!buf)
		return NULL;
	memcpy(buf + NT_DATA_HEADER_LEN, plain, len);
	if (nt_session_keypair_encrypt(m, buf, len + NT_DATA_OVERHEAD, len, clock_ms) < 0) {
		free(buf);
		return NULL;
	}
	*flen = len + NT_DATA_OVERHEAD;
	return buf;
}

/* One datagram, in a buffer of exactly its size so that ASan sees any read past it. */
static void deliver(uint8_t *frame, size_t len, const union nt_sockaddr *from)
{
	if (!len)
		return; /* the socket code never hands over an empty datagram */
	nt_dataplane_on_frame(&d->dp, frame, len, from, NULL, NULL, clock_ms);
	nt_engine_flush(&d->dp.engine);
}

/* A handshake message gets the network's mac1, as a member's would carry. */
static void mac1_fix(uint8_t *msg, size_t len)
{
	if (len >= 32 && msg[0] >= NT_HS_MSG_INIT && msg[0] <= NT_HS_MSG_FIN)
		nt_cookie_mac1_compute(d->keys->mac1_key, msg, len, msg + len - 32);
}

static void raw_record(uint8_t kind, const uint8_t *b, size_t len, const union nt_sockaddr *from)
{
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return;
	memcpy(buf, b, len);
	if (kind & 0x80)
		mac1_fix(buf, len);
	deliver(buf, len, from);
	free(buf);
}

static void deliver_plain(unsigned int k, uint8_t kind, const uint8_t *plain, size_t len,
			  const union nt_sockaddr *from)
{
	size_t flen;
	uint8_t *f = seal(k, kind, plain, len, &flen);

	if (f)
		deliver(f, flen, from);
	free(f);
}

/* A RESP, FIN or COOKIE_REPLY for one of the node's live attempts (b[4] picks which). */
static void index_handshake(const uint8_t *b, size_t len, const union nt_sockaddr *from)
{
	bool initiator = b[0] != NT_HS_MSG_FIN;
	struct nt_attempt *a = NULL;
	unsigned int n = 0;
	uint8_t *buf;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++)
		n += d->tunnel.attempts[i].used && d->tunnel.attempts[i].initiator == initiator;
	for (unsigned int i = 0, j = 0; n && i < NT_MAX_ATTEMPTS && !a; i++)
		if (d->tunnel.attempts[i].used && d->tunnel.attempts[i].initiator == initiator && j++ == b[4] % n)
			a = &d->tunnel.attempts[i];
	if (!a || !(buf = malloc(len)))
		return;
	memcpy(buf, b, len);
	memcpy(buf + (b[0] == NT_HS_MSG_RESP ? 8 : 4), &a->local_index, 4);
	mac1_fix(buf, len);
	deliver(buf, len, from);
	free(buf);
}

static void index_record(unsigned int k, const uint8_t *b, size_t len, const union nt_sockaddr *from)
{
	struct nt_peer *p = peer_of(k);
	struct nt_keypair *kp = p ? (p->session.current ? p->session.current : p->session.next) : NULL;
	uint8_t *buf;

	if (len >= 12 && b[0] >= NT_HS_MSG_RESP && b[0] <= NT_HS_MSG_COOKIE_REPLY) {
		index_handshake(b, len, from);
		return;
	}
	if (!kp || len < 8)
		return;
	buf = malloc(len);
	if (!buf)
		return;
	memcpy(buf, b, len);
	buf[0] = NT_MSG_DATA;
	buf[1] = buf[2] = buf[3] = 0;
	memcpy(buf + 4, &kp->local_index, 4); /* as the wire carries it (little-endian) */
	deliver(buf, len, from);
	free(buf);
}

/*
 * Peer j's plaintext, sealed by j, delivered to us by relay k; with kind & 0x80 the bytes
 * after j are the frame itself (a handshake message gets mac1).
 */
static void relayed_record(unsigned int k, uint8_t kind, const uint8_t *b, size_t len,
			   const union nt_sockaddr *from)
{
	unsigned int j;
	size_t flen = len - 1;
	uint8_t *inner, *outer;

	if (len < 2)
		return;
	j = b[0] % FUZZ_PEERS;
	if (kind & 0x80) {
		inner = malloc(flen);
		if (inner) {
			memcpy(inner, b + 1, flen);
			mac1_fix(inner, flen);
		}
	} else {
		inner = seal(j, kind, b + 1, len - 1, &flen);
	}
	if (!inner)
		return;
	outer = malloc(1 + NT_CTRL_RELAY_HDR + flen);
	if (outer) {
		outer[0] = NT_CTRL_RELAYED;
		nt_control_relay_header(outer + 1, peers[j].key.pk);
		memcpy(outer + 1 + NT_CTRL_RELAY_HDR, inner, flen);
		deliver_plain(k, 0, outer, 1 + NT_CTRL_RELAY_HDR + flen, from);
		free(outer);
	}
	free(inner);
}

/*
 * A signed entry in a gossip message from peer k. flags: bit 0 tombstone, bit 1 ENTRIES
 * instead of PUSH, bit 2 claimed_at ahead instead of back, bit 3 the version byte as the
 * version, bits 4-5 the bucket (machines, services, dns, fuzz). A key_len of 0 claims the
 * address 10.1.0.<next byte>. Key bytes are mapped to printable ASCII.
 */
static void ledger_record(unsigned int k, const uint8_t *b, size_t len, const union nt_sockaddr *from)
{
	static const char *const buckets[4] = { NT_LEDGER_MACHINES, "services", "dns", "fuzz" };
	uint8_t h[8] = { 0 }, *msg;
	struct nt_ledger_entry e = { 0 };
	uint64_t wall = __wrap_nt_wall_ms(), back, ttl;
	unsigned int signer, flags;
	char key[NT_LEDGER_KEY_LIMIT + 1];
	size_t n, klen;

	memcpy(h, b, len < sizeof(h) ? len : sizeof(h));
	b += len < sizeof(h) ? len : sizeof(h);
	len -= len < sizeof(h) ? len : sizeof(h);
	signer = h[0] % FUZZ_SIGNERS;
	flags = h[1];
	back = ((uint64_t)h[2] << 8 | h[3]) * 1000;
	ttl = ((uint64_t)h[4] << 8 | h[5]) * 1000;
	klen = h[7];
	if (klen == 0) {
		snprintf(key, sizeof(key), "10.1.0.%u", len ? b[0] : 0);
		b += len ? 1 : 0;
		len -= len ? 1 : 0;
	} else {
		if (klen > len)
			klen = len;
		for (size_t i = 0; i < klen; i++)
			key[i] = (char)(0x21 + b[i] % 94);
		key[klen] = '\0';
		b += klen;
		len -= klen;
	}
	e.flags = flags & 1;
	e.bucket = buckets[(flags >> 4) & 3];
	e.bucket_len = (uint8_t)strlen(e.bucket);
	e.key = key;
	e.key_len = (uint8_t)strlen(key);
	e.value = b;
	e.value_len = e.flags ? 0 : (uint16_t)(len > 65535 ? 65535 : len);
	e.version = flags & 8 ? (h[6] ? h[6] : 1) : version_next(signer);
	e.claimed_at = flags & 4 ? wall + back : back < wall ? wall - back : 0;
	e.expires_at = wall + (ttl ? ttl : 120000);
	msg = malloc(1 + NT_GOSSIP_HDR_LEN + 4 + NT_LEDGER_WIRE_FIXED + NT_LEDGER_BUCKET_MAX +
		     NT_LEDGER_KEY_LIMIT + NT_LEDGER_VALUE_LIMIT);
	if (!msg)
		return;
	n = entry_sign(msg + 7, NT_LEDGER_WIRE_FIXED + NT_LEDGER_BUCKET_MAX + NT_LEDGER_KEY_LIMIT +
				    NT_LEDGER_VALUE_LIMIT, &signers[signer], &e);
	if (n && n <= 65535) {
		msg[0] = NT_CTRL_GOSSIP;
		msg[1] = NT_GOSSIP_VERSION;
		msg[2] = flags & 2 ? NT_GOSSIP_ENTRIES : NT_GOSSIP_PUSH;
		msg[3] = 0;
		msg[4] = 1; /* one record */
		msg[5] = (uint8_t)(n >> 8);
		msg[6] = (uint8_t)n;
		deliver_plain(k, 0, msg, 7 + n, from);
	}
	free(msg);
}

/* A finished handshake of peer k's side: its keys become the mirror of the node's keypair. */
static void handshake_done(unsigned int k)
{
	struct nt_handshake_result res;
	struct fuzz_mirror *slot;
	struct nt_keypair *m;

	if (nt_handshake_finish(&hs, &res) < 0)
		return;
	slot = mirror_slot(k, peer_of(k));
	if (slot && nt_session_keypair_new(&m, res.send_key, res.recv_key, res.local_index,
					   res.remote_index, res.initiator, clock_ms) == 0) {
		nt_session_keypair_free(slot->kp);
		slot->kp = m;
		slot->index = res.remote_index;
	}
	sodium_memzero(&res, sizeof(res));
}

/* Peer k answers one of the node's pending initiations (pick chooses which): RESP, FIN. */
static void handshake_answer(unsigned int k, unsigned int pick, const union nt_sockaddr *from)
{
	uint8_t init[NT_HS_INIT_LEN], resp[NT_HS_RESP_LEN];
	struct nt_attempt *a = NULL;
	unsigned int n = 0;

	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		const struct nt_attempt *x = &d->tunnel.attempts[i];
		n += x->used && x->initiator && !x->via && x->hs.state == NT_HS_STATE_INIT_SENT;
	}
	for (unsigned int i = 0, j = 0; n && i < NT_MAX_ATTEMPTS && !a; i++) {
		struct nt_attempt *x = &d->tunnel.attempts[i];
		if (x->used && x->initiator && !x->via && x->hs.state == NT_HS_STATE_INIT_SENT &&
		    j++ == pick % n)
			a = x;
	}
	if (!a)
		return;
	memcpy(init, a->init_msg, sizeof(init));
	if (nt_handshake_consume_init(&hs, &hs_local[k], init, sizeof(init), &node_addr, false,
				      clock_ms, __wrap_nt_wall_ms()) != NT_HS_OK ||
	    nt_handshake_create_resp(&hs, &hs_local[k], 0x20000 + ++session_gen, clock_ms, resp) < 0)
		return;
	sent[1].len = 0;
	raw_record(0, resp, sizeof(resp), from);
	if (sent[1].len == NT_HS_FIN_LEN &&
	    nt_handshake_consume_fin(&hs, &hs_local[k], sent[1].msg, sent[1].len, &node_addr,
				     clock_ms) == NT_HS_OK)
		handshake_done(k);
}

/* Peer k initiates: INIT, the node's RESP, FIN. */
static void handshake_initiate(unsigned int k, const union nt_sockaddr *from)
{
	uint8_t init[NT_HS_INIT_LEN], fin[NT_HS_FIN_LEN];

	if (nt_handshake_create_init(&hs, &hs_local[k], 0x20000 + ++session_gen,
				     __wrap_nt_wall_ms(), clock_ms, init) < 0)
		return;
	sent[0].len = 0;
	raw_record(0, init, sizeof(init), from);
	if (sent[0].len != NT_HS_RESP_LEN ||
	    nt_handshake_consume_resp(&hs, &hs_local[k], sent[0].msg, sent[0].len, &node_addr,
				      clock_ms) != NT_HS_OK ||
	    nt_handshake_create_fin(&hs, &hs_local[k], clock_ms, fin) < 0)
		return;
	raw_record(0, fin, sizeof(fin), from);
	handshake_done(k);
}

/*
 * flags: bit 0 we initiated, bit 1 drop the session first, bit 2 install nothing; bit 3 a
 * real handshake, peer k answering the node's initiation number b[1]; bit 4 a real one that
 * peer k initiates.
 */
static void session_record(unsigned int k, const uint8_t *b, size_t len,
			   const union nt_sockaddr *from)
{
	unsigned int flags = len ? b[0] : 0;
	struct nt_peer *p = peer_of(k);

	if (p && (flags & 2)) {
		nt_session_clear(&p->session);
		nt_dataplane_changed(&d->dp);
	}
	if (flags & 8)
		handshake_answer(k, len > 1 ? b[1] : 0, from);
	else if (flags & 16)
		handshake_initiate(k, from);
	else if (!(flags & 4))
		session_new(k, flags & 1);
}

/* The body repeated to 256 times its length (at most 65535 bytes): one bit makes it big. */
static uint8_t *stretch(const uint8_t *b, size_t len, size_t *out_len)
{
	size_t n = len * 256 > FUZZ_FRAME_MAX ? FUZZ_FRAME_MAX : len * 256;
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return NULL;
	for (size_t i = 0; i < n; i++)
		buf[i] = b[i % len];
	*out_len = n;
	return buf;
}

static void record(uint8_t kind, uint8_t who, const uint8_t *b, size_t len)
{
	unsigned int k = who % FUZZ_PEERS;
	union nt_sockaddr from;
	uint8_t *big = NULL;
	uint64_t ms;

	if ((kind & 0x40) && (kind & 7) != FUZZ_TICK && (kind & 7) != FUZZ_LEDGER &&
	    (kind & 7) != FUZZ_SESSION) {
		big = stretch(b, len, &len);
		if (!big)
			return;
		b = big;
	}
	source_of(who, &from);
	switch (kind & 7) {
	case FUZZ_RAW:
		raw_record(kind, b, len, &from);
		break;
	case FUZZ_INDEX:
		index_record(k, b, len, &from);
		break;
	case FUZZ_PLAIN:
		deliver_plain(k, kind, b, len, &from);
		break;
	case FUZZ_RELAYED:
		relayed_record(k, kind, b, len, &from);
		break;
	case FUZZ_LEDGER:
		ledger_record(k, b, len, &from);
		break;
	case FUZZ_TICK:
		ms = len >= 2 ? (uint64_t)b[0] << 8 | b[1] : 100;
		clock_ms += kind & 0x40 ? ms * 100 : ms;
		sends_fail |= who & 1;
		clock_us_calls = 0;
		nt_daemon_tick(d, clock_ms);
		nt_engine_flush(&d->dp.engine);
		break;
	case FUZZ_TUN:
		if (len) {
			struct virtio_net_hdr vh = { 0 };
			nt_engine_tun_packet(&d->dp.engine, &vh, b, len, clock_ms);
			nt_engine_flush(&d->dp.engine);
		}
		break;
	case FUZZ_SESSION:
		session_record(k, b, len, &from);
		break;
	}
	free(big);
}

static bool peer_is_listed(const struct nt_peer *p)
{
	for (unsigned int i = 0; i < d->dp.peers.count; i++)
		if (d->dp.peers.peers[i] == p)
			return true;
	return false;
}

/*
 * What must hold between two datagrams, whatever came in: no member left marked dead,
 * every keypair reachable through its index, and no pointer to a peer that is gone.
 */
static void check(void)
{
	if (d->dp.peers.count > d->dp.peers.cap ||
	    nt_ledger_count(d->claims.ledger) > FUZZ_LEDGER_CAPACITY)
		abort();
	for (unsigned int i = 0; i < d->dp.peers.count; i++) {
		const struct nt_peer *p = d->dp.peers.peers[i];
		const struct nt_keypair *kps[3] = { p->session.previous, p->session.current,
						    p->session.next };
		if (p->dead)
			abort(); /* a member marked dead is freed before its tick or handler returns */
		for (unsigned int j = 0; j < 3; j++)
			if (kps[j] && (kps[j]->owner != p ||
				       nt_index_lookup(&d->dp.index, kps[j]->local_index, NT_INDEX_KEYPAIR) != kps[j]))
				abort();
		if (p->via && !peer_is_listed(p->via))
			abort();
	}
	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		if (d->tunnel.hints[i].used && d->tunnel.hints[i].told_by && !peer_is_listed(d->tunnel.hints[i].told_by))
			abort();
	for (unsigned int i = 0; i < NT_RELAY_PAIRS; i++)
		if ((d->tunnel.relay_pairs[i].src && !peer_is_listed(d->tunnel.relay_pairs[i].src)) ||
		    (d->tunnel.relay_pairs[i].dst && !peer_is_listed(d->tunnel.relay_pairs[i].dst)))
			abort();
	for (unsigned int i = 0; i < NT_MAX_ATTEMPTS; i++) {
		const struct nt_attempt *a = &d->tunnel.attempts[i];
		if (a->used && ((a->peer && !peer_is_listed(a->peer)) || (a->via && !peer_is_listed(a->via))))
			abort();
	}
}

/* With NT_FUZZ_DAEMON_STATS set, one line per input: what the input made the node do. */
static void stats_print(void)
{
	struct nt_ledger_stats ls;
	unsigned int hints = 0, live = 0, conflicts = 0;
	struct nt_status *st = NULL;

	for (unsigned int i = 0; i < NT_MAX_HINTS; i++)
		hints += d->tunnel.hints[i].used;
	for (unsigned int i = 0; i < d->claims.n_addresses; i++)
		conflicts += d->claims.addr_conflict[i];
	for (unsigned int i = 0; i < d->dp.peers.count; i++)
		live += nt_dataplane_peer_is_alive(d->dp.peers.peers[i], clock_ms);
	nt_ledger_stats_get(d->claims.ledger, &ls);
	fprintf(stderr, "fuzz_daemon: t+%llus peers %u (%u alive) hints %u handshakes %llu/%llu "
		"ledger %u conflicts %u relayed %llu gossip rx %llu tx %llu rx %llu B",
		(unsigned long long)(clock_ms - FUZZ_MONO_BASE) / 1000, d->dp.peers.count, live, hints,
		(unsigned long long)d->tunnel.handshakes_ok, (unsigned long long)d->tunnel.handshakes_failed,
		ls.entries, conflicts, (unsigned long long)d->tunnel.relayed_frames,
		(unsigned long long)d->claims.gossip_rx_bytes, (unsigned long long)d->claims.gossip_tx_bytes,
		(unsigned long long)(nt_daemon_status_fill(d, &st) == 0 ? st->rx_bytes : 0));
	for (unsigned int i = 0; st && i < NT_DROP_COUNT; i++)
		if (st->drops[i])
			fprintf(stderr, " %s=%llu", nt_drop_reason_name(i), (unsigned long long)st->drops[i]);
	fprintf(stderr, "\n");
	nt_status_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long inputs, reset_every;

	if (!reset_every) {
		const char *env = getenv("NT_FUZZ_DAEMON_RESET");
		reset_every = env && atol(env) > 0 ? (unsigned long)atol(env) : 10000;
	}
	if (d && inputs % reset_every == 0)
		daemon_free();
	inputs++;
	if (!d)
		daemon_new();
	world_refresh();
	sends_fail = false;
	while (size >= 4) {
		uint8_t kind = data[0], who = data[1];
		size_t len = (size_t)data[2] << 8 | data[3];

		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		record(kind, who, data, len);
		check();
		data += len;
		size -= len;
	}
	if (getenv("NT_FUZZ_DAEMON_STATS"))
		stats_print();
	return 0;
}
#endif /* !NT_FUZZ_GEN_SEEDS */

#ifdef NT_FUZZ_GEN_SEEDS
/* The seed corpus: one file per control type, the relays, claims, time and strangers. */
struct seed {
	uint8_t buf[70000];
	size_t len;
};

static void put_record(struct seed *s, uint8_t kind, uint8_t who, const void *b, size_t len)
{
	if (s->len + 4 + len > sizeof(s->buf))
		abort();
	s->buf[s->len++] = kind;
	s->buf[s->len++] = who;
	s->buf[s->len++] = (uint8_t)(len >> 8);
	s->buf[s->len++] = (uint8_t)len;
	if (len)
		memcpy(s->buf + s->len, b, len);
	s->len += len;
}

static void put_tick(struct seed *s, unsigned int ms, bool x100)
{
	uint8_t b[2] = { (uint8_t)(ms >> 8), (uint8_t)ms };

	put_record(s, FUZZ_TICK | (x100 ? 0x40 : 0), 0, b, 2);
}

/* RELAY or RELAYED plaintext naming peer `to`, carrying frame. */
static size_t relay_plain(uint8_t *out, uint8_t type, unsigned int to, const uint8_t *frame, size_t flen)
{
	out[0] = type;
	nt_control_relay_header(out + 1, peers[to].key.pk);
	memcpy(out + 1 + NT_CTRL_RELAY_HDR, frame, flen);
	return 1 + NT_CTRL_RELAY_HDR + flen;
}

static size_t ipv4_packet(uint8_t *out, const char *src, const char *dst, size_t payload)
{
	size_t len = 20 + 8 + payload;

	memset(out, 0, len);
	out[0] = 0x45;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	out[8] = 64;
	out[9] = 1; /* ICMP echo request */
	inet_pton(AF_INET, src, out + 12);
	inet_pton(AF_INET, dst, out + 16);
	out[20] = 8;
	for (size_t i = 0; i < payload; i++)
		out[28 + i] = (uint8_t)i;
	return len;
}

static void ledger_body(struct seed *s, uint8_t who, uint8_t signer, uint8_t flags, unsigned int back_s,
			const char *key, const char *value)
{
	uint8_t b[1024];
	size_t n = 0, klen = key ? strlen(key) : 0;

	b[n++] = signer;
	b[n++] = flags;
	b[n++] = (uint8_t)(back_s >> 8);
	b[n++] = (uint8_t)back_s;
	b[n++] = 0;
	b[n++] = 240; /* ttl 240 s */
	b[n++] = 0;
	b[n++] = (uint8_t)klen;
	for (size_t i = 0; i < klen; i++)
		b[n++] = (uint8_t)(key[i] - 0x21); /* ledger_record maps b % 94 + 0x21 back */
	if (!key)
		b[n++] = (uint8_t)atoi(value); /* 10.1.0.<n>; no value */
	else {
		memcpy(b + n, value, strlen(value));
		n += strlen(value);
	}
	put_record(s, FUZZ_LEDGER, who, b, n);
}

/* A genuine INIT of this network (any node may send one: it names nobody). */
static void real_init(uint8_t out[NT_HS_INIT_LEN], uint8_t e_byte)
{
	struct nt_config cfg;
	struct nt_err err;
	struct nt_network_keys *keys;
	struct nt_identity *id;
	struct nt_handshake_local l;
	struct nt_handshake hs;
	uint8_t e[32];
	char *tok = nt_token_encode(fuzz_network, sizeof(fuzz_network) - 1);

	memset(&cfg, 0, sizeof(cfg));
	memset(&hs, 0, sizeof(hs));
	if (!tok || nt_config_from_token(&cfg, tok, &err) < 0 || nt_network_keys_new(&keys, &cfg) < 0 ||
	    nt_identity_new_ephemeral(&id) < 0 || nt_handshake_local_init(&l, id, keys, FUZZ_MONO_BASE) < 0 ||
	    nt_handshake_init(&hs) < 0)
		abort();
	memset(e, e_byte, sizeof(e));
	nt_handshake_set_ephemeral(&hs, e);
	if (nt_handshake_create_init(&hs, &l, 0x4242, FUZZ_WALL_BASE, FUZZ_MONO_BASE, out) < 0)
		abort();
	nt_handshake_uninit(&hs);
	nt_handshake_local_uninit(&l);
	nt_identity_free(id);
	nt_network_keys_free(keys);
	nt_config_wipe(&cfg);
	free(tok);
}

static void write_seed(const char *dir, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0)
		abort();
}

int main(int argc, char **argv)
{
	static struct seed s;
	static uint8_t b[65536], fr[65536];
	struct nt_announce an = { .listen_port = FUZZ_PORT, .n_addresses = 1 };
	struct nt_pex pex = { .count = 3 };
	const char *dir;
	size_t n;
	char value[256], id[65];

	if (argc != 2)
		return 2;
	dir = argv[1];
	world_init();

	/* ANNOUNCE from peer 0 */
	b[0] = NT_CTRL_ANNOUNCE;
	nt_cidr_parse("10.1.0.11/24", &an.addresses[0]);
	snprintf(an.name, sizeof(an.name), "peer0");
	n = (size_t)nt_control_announce_encode(&an, b + 1, sizeof(b) - 1);
	s.len = 0;
	put_record(&s, FUZZ_PLAIN, 0, b, 1 + n);
	write_seed(dir, "announce", &s);

	/* PEX from peer 1: peers 2 and 3 at other endpoints, and a node we do not know */
	for (unsigned int i = 0; i < 3; i++) {
		char ep[32];
		memcpy(pex.entries[i].id, i < 2 ? peers[2 + i].key.pk : signers[8].pk, 32);
		snprintf(ep, sizeof(ep), "203.0.113.%u:%u", 20 + i, FUZZ_PORT);
		nt_sockaddr_parse(ep, &pex.entries[i].endpoint);
	}
	b[0] = NT_CTRL_PEX;
	n = (size_t)nt_control_pex_encode(&pex, b + 1, sizeof(b) - 1);
	s.len = 0;
	put_record(&s, FUZZ_PLAIN, 1, b, 1 + n);
	put_tick(&s, 5000, false);
	write_seed(dir, "pex", &s);

	/* GOSSIP DIGEST that differs from our state: a SUMMARY and a DIGEST go back */
	b[0] = NT_CTRL_GOSSIP;
	b[1] = NT_GOSSIP_VERSION;
	b[2] = NT_GOSSIP_DIGEST;
	memset(b + 3, 0xAB, 32);
	memcpy(b + 35, "\0\0\0\7", 4);
	s.len = 0;
	put_record(&s, FUZZ_PLAIN, 2, b, 39);
	put_tick(&s, 1000, false);
	write_seed(dir, "gossip-digest", &s);

	/* GOSSIP WANT of two ids, and a SUMMARY naming one */
	b[0] = NT_CTRL_GOSSIP;
	b[1] = NT_GOSSIP_VERSION;
	b[2] = NT_GOSSIP_WANT;
	b[3] = 0;
	b[4] = 2;
	memset(b + 5, 0x11, 16);
	s.len = 0;
	put_record(&s, FUZZ_PLAIN, 1, b, 21);
	b[2] = NT_GOSSIP_SUMMARY;
	b[4] = 1;
	memset(b + 5, 0x22, 20);
	put_record(&s, FUZZ_PLAIN, 1, b, 25);
	write_seed(dir, "gossip-want-summary", &s);

	/* A signed machine claim by peer 2 for a new address, pushed; then one as ENTRIES */
	nt_hex_encode(id, peers[2].key.pk, 32);
	snprintf(value, sizeof(value), "{\"id\":\"%s\",\"hostname\":\"peer2b\",\"port\":51830,"
		 "\"prefix\":24,\"endpoints\":[\"203.0.113.7:51830\",\"[2001:db8::7]:51830\"]}", id);
	s.len = 0;
	ledger_body(&s, 2, 2, 0x00, 10, NULL, "50");
	ledger_body(&s, 2, 2, 0x00, 10, "10.1.0.51", value);
	ledger_body(&s, 3, 3, 0x12, 0, "web", "{\"port\":80}");
	put_tick(&s, 1000, false);
	put_record(&s, FUZZ_TICK, 0, NULL, 0);
	write_seed(dir, "gossip-push-signed", &s);

	/* Claims by throw-away owners (not members), one back-dated onto our own address */
	s.len = 0;
	for (unsigned int i = 0; i < 6; i++) {
		char k[16];
		snprintf(k, sizeof(k), "10.1.0.%u", 100 + i);
		ledger_body(&s, (uint8_t)i, (uint8_t)(FUZZ_SIGNER_SELF + 1 + i), 0, 0, k,
			    "{\"endpoints\":[\"127.0.0.1:51830\"]}");
	}
	ledger_body(&s, 0, FUZZ_SIGNER_SELF + 1, 0x00, 60000, "10.1.0.1", "{}");
	put_tick(&s, 1000, false);
	put_tick(&s, 1000, false);
	write_seed(dir, "claims-fake-owners", &s);

	/* RELAY: peer 0 asks us to forward a data frame to peer 1 */
	memset(fr, 0x5A, 200);
	fr[0] = NT_MSG_DATA;
	fr[1] = fr[2] = fr[3] = 0;
	s.len = 0;
	n = relay_plain(b, NT_CTRL_RELAY, 1, fr, 200);
	put_record(&s, FUZZ_PLAIN, 0, b, n);
	write_seed(dir, "relay", &s);

	/*
	 * The oversized RELAY of issue 13 finding 1: a 30,000-byte plaintext (one IP-fragmented
	 * datagram) naming peer 1; the relay copies the frame into its 9 KB scratch buffer.
	 */
	memset(fr, 0xA5, 30000 - 1 - NT_CTRL_RELAY_HDR);
	fr[0] = NT_MSG_DATA;
	fr[1] = fr[2] = fr[3] = 0;
	s.len = 0;
	n = relay_plain(b, NT_CTRL_RELAY, 1, fr, 30000 - 1 - NT_CTRL_RELAY_HDR);
	put_record(&s, FUZZ_PLAIN, 0, b, n);
	write_seed(dir, "oversized-relay", &s);

	/* RELAYED: peer 0 delivers peer 2's ANNOUNCE and an IP packet from peer 2's address */
	s.len = 0;
	b[0] = 2;
	b[1] = NT_CTRL_ANNOUNCE;
	snprintf(an.name, sizeof(an.name), "peer2");
	nt_cidr_parse("10.1.0.13/24", &an.addresses[0]);
	n = (size_t)nt_control_announce_encode(&an, b + 2, sizeof(b) - 2);
	put_record(&s, FUZZ_RELAYED, 0, b, 2 + n);
	b[1] = NT_DATA_INNER_IP;
	n = ipv4_packet(b + 2, "10.1.0.13", "10.1.0.1", 56);
	put_record(&s, FUZZ_RELAYED, 0, b, 2 + n);
	write_seed(dir, "relayed", &s);

	/* RELAYED carrying a genuine INIT from peer 3: we answer through the relay */
	s.len = 0;
	b[0] = 3;
	real_init(b + 1, 0x3E);
	put_record(&s, FUZZ_RELAYED | 0x80, 0, b, 1 + NT_HS_INIT_LEN);
	memset(b + 1, 0x33, NT_HS_FIN_LEN);
	b[1] = 0xE3;
	b[2] = b[3] = b[4] = 0;
	put_record(&s, FUZZ_RELAYED | 0x80, 0, b, 1 + NT_HS_FIN_LEN);
	write_seed(dir, "relayed-handshake", &s);

	/* A genuine INIT from a stranger's address, again (a replay), then a forged one */
	s.len = 0;
	real_init(b, 0x5E);
	put_record(&s, FUZZ_RAW, 2 * 4, b, NT_HS_INIT_LEN);
	put_record(&s, FUZZ_RAW, 2 * 4, b, NT_HS_INIT_LEN);
	b[50] ^= 1;
	put_record(&s, FUZZ_RAW | 0x80, 3 * 4, b, NT_HS_INIT_LEN);
	write_seed(dir, "handshake-init", &s);

	/* An IP packet from peer 1 (its own address, then a spoofed one), and one to it */
	s.len = 0;
	b[0] = NT_DATA_INNER_IP;
	n = ipv4_packet(b + 1, "10.1.0.12", "10.1.0.1", 64);
	put_record(&s, FUZZ_PLAIN, 1, b, 1 + n);
	n = ipv4_packet(b + 1, "10.1.0.99", "10.1.0.1", 64);
	put_record(&s, FUZZ_PLAIN, 1, b, 1 + n);
	n = ipv4_packet(b, "10.1.0.1", "10.1.0.12", 1200);
	put_record(&s, FUZZ_TUN, 0, b, n);
	n = ipv4_packet(b, "10.1.0.1", "10.1.0.77", 100);
	put_record(&s, FUZZ_TUN, 0, b, n);
	write_seed(dir, "ip", &s);

	/* Keepalive, a replayed counter, a bad tag on a live index, a roaming peer */
	s.len = 0;
	b[0] = NT_DATA_INNER_KEEPALIVE;
	put_record(&s, FUZZ_PLAIN, 3, b, 1);
	put_record(&s, FUZZ_PLAIN | 0x20, 3, b, 1);
	memset(b, 0x77, 64);
	put_record(&s, FUZZ_INDEX, 3, b, 64);
	b[0] = NT_DATA_INNER_KEEPALIVE;
	put_record(&s, FUZZ_PLAIN, 3 + 4 * 40, b, 1); /* from [2001:db8::28] */
	write_seed(dir, "data-paths", &s);

	/* Session rotation: a responder keypair waiting in next, confirmed, then old keys */
	s.len = 0;
	b[0] = 0;
	put_record(&s, FUZZ_SESSION, 2, b, 1);
	b[0] = NT_DATA_INNER_KEEPALIVE;
	put_record(&s, FUZZ_PLAIN, 2, b, 1);
	put_record(&s, FUZZ_PLAIN | (2 << 3), 2, b, 1);
	b[0] = 1;
	put_record(&s, FUZZ_SESSION, 2, b, 1);
	b[0] = 2 | 4;
	put_record(&s, FUZZ_SESSION, 3, b, 1);
	put_tick(&s, 6000, false);
	write_seed(dir, "sessions", &s);

	/*
	 * Real handshakes: peer 2 initiates and confirms with a keepalive; 125 s later the
	 * node rekeys its own sessions and peer 0 answers; then junk RESP and FIN on live
	 * attempts, and a data frame on the new keys.
	 */
	s.len = 0;
	b[0] = 16;
	put_record(&s, FUZZ_SESSION, 2, b, 1);
	b[0] = NT_DATA_INNER_KEEPALIVE;
	put_record(&s, FUZZ_PLAIN, 2, b, 1);
	put_tick(&s, 1250, true);
	b[0] = 8;
	b[1] = 0;
	put_record(&s, FUZZ_SESSION, 0, b, 2);
	b[0] = NT_DATA_INNER_KEEPALIVE;
	put_record(&s, FUZZ_PLAIN, 0, b, 1);
	memset(b, 0x61, NT_HS_RESP_LEN);
	b[0] = NT_HS_MSG_RESP;
	b[1] = b[2] = b[3] = 0;
	put_record(&s, FUZZ_INDEX, 1, b, NT_HS_RESP_LEN);
	memset(b, 0x62, NT_HS_FIN_LEN);
	b[0] = NT_HS_MSG_FIN;
	b[1] = b[2] = b[3] = 0;
	put_record(&s, FUZZ_INDEX, 1, b, NT_HS_FIN_LEN);
	memset(b, 0x63, NT_HS_COOKIE_REPLY_LEN);
	b[0] = NT_HS_MSG_COOKIE_REPLY;
	b[1] = b[2] = b[3] = 0;
	put_record(&s, FUZZ_INDEX, 3, b, NT_HS_COOKIE_REPLY_LEN);
	write_seed(dir, "handshake-real", &s);

	/* Time: rekeying, keepalives, expiry, reaping, announcements, DHT and STUN timers */
	s.len = 0;
	for (unsigned int i = 0; i < 8; i++)
		put_tick(&s, 30000, false);
	s.buf[s.len - 5] = 1; /* the last of those: sends fail from there on */
	put_tick(&s, 2000, true); /* 200 s */
	put_tick(&s, 6000, true); /* 600 s */
	write_seed(dir, "time", &s);

	/* Large frames that go nowhere: a 20 KB GOSSIP, a 60 KB data frame from a stranger */
	s.len = 0;
	memset(b, 0, 79);
	b[0] = NT_CTRL_GOSSIP;
	b[1] = NT_GOSSIP_VERSION;
	b[2] = NT_GOSSIP_PUSH;
	put_record(&s, FUZZ_PLAIN | 0x40, 1, b, 79);
	memset(b, 0x99, 235);
	b[0] = NT_MSG_DATA;
	memset(b + 1, 0, 3);
	put_record(&s, FUZZ_RAW | 0x40, 7 * 4, b, 235);
	write_seed(dir, "oversized-other", &s);

	/* Strangers: handshake junk, a random index, a DHT ping, a STUN binding request */
	s.len = 0;
	memset(b, 0, NT_HS_INIT_LEN);
	b[0] = 0xE1;
	put_record(&s, FUZZ_RAW, 2 * 4, b, NT_HS_INIT_LEN);
	memset(b, 0x42, 33);
	b[0] = NT_MSG_DATA;
	b[1] = b[2] = b[3] = 0;
	put_record(&s, FUZZ_RAW, 3 * 4, b, 33);
	n = (size_t)snprintf((char *)b, sizeof(b),
			     "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe");
	put_record(&s, FUZZ_RAW, 40 * 4, b, n);
	memset(b, 0, 20);
	b[1] = 0x01; /* binding request */
	b[4] = 0x21; b[5] = 0x12; b[6] = 0xA4; b[7] = 0x42; /* magic cookie */
	memset(b + 8, 0x07, 12);
	put_record(&s, FUZZ_RAW, 5 * 4, b, 20);
	write_seed(dir, "strangers", &s);
	return 0;
}
#endif /* NT_FUZZ_GEN_SEEDS */
