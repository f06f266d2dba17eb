// SPDX-License-Identifier: MIT
/*
 * Address claims and the routes they make (ledger/claims.h) on a detached node
 * (nt_daemon_new_detached: no TUN, no socket), its ledger fed signed entries as gossip would
 * insert them. Checks: a claim by an owner this node has not proven makes no route, and the
 * route appears once the owner is a member (its peer exists) and goes with the member; a
 * claim outside our prefixes is refused; a static address of ours that a member claimed
 * earlier (within the race window) is reported as a conflict, an unproven owner's earlier
 * claim is not, and the conflict ends when the member gives the address up.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/log.h"
#include "daemon/daemon.h"
#include "ledger/ledger.h"
#include "netron/token.h"

static const char network[] =
	"otp:\n"
	"  dht:\n"
	"    interval: 9000\n"
	"    key: CLAIMSTESTQNKT6YZYQGGY3JANGXMLJT\n"
	"    length: 32\n"
	"  crypto:\n"
	"    interval: 9000\n"
	"    key: CLAIMSTESTMSRJF2AJDGUI2NDB5LBVCP\n"
	"    length: 32\n"
	"room: claimsTestRoomSBTglFzOhWvczTBQJO\n"
	"rendezvous: claimsTestRendezvousMSPrHhevAE\n"
	"mdns: claimsTestMdnsSrdmivaqaOyQyEnTMx\n"
	"max_message_size: 20971520\n";

struct key {
	uint8_t pk[32];
	uint8_t sk[64];
};

struct node {
	struct nt_daemon *d;
	char *token;
	char dir[256];
	uint64_t version; /* of the entries this test signs: strictly increasing */
};

static struct node n;

static void log_discard(void *ctx, enum nt_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

static void dir_remove(const char *dir)
{
	char path[512];
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

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct nt_options o;
	struct nt_err err;

	(void)state;
	memset(&n, 0, sizeof(n));
	assert_true(sodium_init() >= 0);
	nt_log_set_callback(log_discard, NULL);
	n.token = nt_token_encode(network, sizeof(network) - 1);
	assert_non_null(n.token);
	snprintf(n.dir, sizeof(n.dir), "%s/netron-claims-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(n.dir));
	nt_options_init(&o);
	o.token = n.token;
	o.dht = false;
	o.n_bootstrap = 0;
	assert_true(nt_cidr_parse("10.1.0.1/24", &o.addresses[o.n_addresses++]));
	snprintf(o.state_dir, sizeof(o.state_dir), "%s", n.dir);
	if (nt_daemon_new_detached(&n.d, &o, &err) < 0)
		fail_msg("detached node: %s", err.msg);
	n.version = nt_wall_ms();
	return 0;
}

/* As a node alone for a while, or one whose ledger agreed with a member's: it claims now. */
static void synced(void)
{
	n.d->claims.synced = true;
	n.d->claims.claims_next_ms = 0;
	nt_daemon_tick(n.d, nt_now_ms());
}

static int teardown(void **state)
{
	(void)state;
	nt_daemon_free(n.d);
	dir_remove(n.dir);
	free(n.token);
	return 0;
}

static void key_new(struct key *k)
{
	crypto_sign_keypair(k->pk, k->sk);
}

/*
 * A "machines" entry for ip by k, signed as docs/ledger.md §1.1 says, inserted into the
 * node's ledger at wall time now as gossip would; returns the verdict.
 */
static enum nt_ledger_verdict claim_insert(const struct key *k, const char *ip, uint64_t claimed_at,
					   uint64_t now, bool tombstone)
{
	static const uint8_t zero[NT_LEDGER_SIG_LEN];
	static const char value[] = "{\"hostname\":\"claims-test\",\"endpoints\":[]}";
	struct nt_ledger_entry e = {
		.bucket = NT_LEDGER_MACHINES,
		.bucket_len = sizeof(NT_LEDGER_MACHINES) - 1,
		.key = ip,
		.key_len = (uint8_t)strlen(ip),
		.value = (const uint8_t *)value,
		.value_len = tombstone ? 0 : sizeof(value) - 1,
		.owner = k->pk,
		.sig = zero,
		.version = ++n.version,
		.claimed_at = claimed_at,
		.expires_at = now + 60000,
		.flags = tombstone ? NT_LEDGER_F_TOMBSTONE : 0,
	};
	uint8_t wire[1024], msg[16 + 1024];
	ssize_t len = nt_ledger_entry_encode(&e, wire, sizeof(wire));

	assert_true(len > NT_LEDGER_SIG_LEN);
	memcpy(msg, "netron ledger v1", 16);
	memcpy(msg + 16, wire, (size_t)len - NT_LEDGER_SIG_LEN);
	crypto_sign_detached(wire + len - NT_LEDGER_SIG_LEN, NULL, msg,
			     16 + (size_t)len - NT_LEDGER_SIG_LEN, k->sk);
	return nt_ledger_insert(n.d->claims.ledger, wire, (size_t)len, now);
}

static struct nt_peer *route_to(const char *ip)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	return nt_route_lookup(&n.d->dp.route, AF_INET, a);
}

static void tick(void)
{
	nt_daemon_tick(n.d, nt_now_ms());
}

static void test_route_needs_a_member(void **state)
{
	uint64_t wall = nt_wall_ms();
	enum nt_ledger_verdict v;
	struct nt_peer *p, *other;
	struct key k, o;

	(void)state;
	key_new(&k);
	key_new(&o);
	other = nt_tunnel_member_get(&n.d->tunnel, o.pk, NULL, NULL); /* a member, of no address */
	assert_non_null(other);
	/* A claim from an owner that never completed a handshake with us: stored, no route. */
	v = claim_insert(&k, "10.1.0.20", wall - 5000, wall, false);
	assert_true(nt_ledger_verdict_is_ok(v));
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.20"), k.pk, 32);
	tick();
	assert_null(route_to("10.1.0.20"));
	/* Outside our prefixes it is not even stored. */
	assert_int_equal(claim_insert(&k, "10.2.0.20", wall - 5000, wall, false), NT_LEDGER_REJ_POLICY);
	/* The owner completes a handshake: a member now, and its claim routes to it. */
	p = nt_tunnel_member_get(&n.d->tunnel, k.pk, NULL, NULL);
	assert_non_null(p);
	/* At once: its first packets (sessions on demand) must pass the source check. */
	assert_ptr_equal(route_to("10.1.0.20"), p);
	tick();
	assert_ptr_equal(route_to("10.1.0.20"), p);
	assert_int_equal(p->n_addresses, 1);
	assert_int_equal(p->addresses[0].family, AF_INET);
	assert_int_equal(p->addresses[0].prefix, 32);
	assert_null(route_to("10.1.0.21"));
	assert_null(route_to("10.1.0.1")); /* ours: no route to a member */
	assert_int_equal(other->n_addresses, 0);
	/* The member leaves: its route goes with it. */
	nt_tunnel_member_kill(&n.d->tunnel, p);
	tick();
	assert_null(nt_peer_lookup_any(&n.d->dp.peers, k.pk));
	assert_null(route_to("10.1.0.20"));
}

static void test_conflict(void **state)
{
	const struct nt_ledger_entry *ours;
	struct nt_status *s = NULL;
	struct key stranger, m;
	struct nt_peer *p;
	uint64_t w;

	(void)state;
	synced();
	ours = nt_ledger_get_owned(n.d->claims.ledger, NT_LEDGER_MACHINES, "10.1.0.1", n.d->id->ed_pk);
	assert_non_null(ours);
	w = ours->claimed_at;
	tick();
	assert_false(n.d->claims.addr_conflict[0]);
	/*
	 * An owner we have not proven says it claimed our address a second earlier, and it came
	 * within the race window: no conflict (an unproven claim beats no proven one).
	 */
	key_new(&stranger);
	assert_true(nt_ledger_verdict_is_ok(claim_insert(&stranger, "10.1.0.1", w - 1000, w + 10, false)));
	tick();
	assert_false(n.d->claims.addr_conflict[0]);
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), n.d->id->ed_pk, 32);
	assert_null(route_to("10.1.0.1"));
	/* A member's claim a second older than ours, in the same window: it wins, we yield. */
	key_new(&m);
	p = nt_tunnel_member_get(&n.d->tunnel, m.pk, NULL, NULL);
	assert_non_null(p);
	assert_true(nt_ledger_verdict_is_ok(claim_insert(&m, "10.1.0.1", w - 1000, w + 20, false)));
	tick();
	assert_true(n.d->claims.addr_conflict[0]);
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), m.pk, 32);
	assert_ptr_equal(route_to("10.1.0.1"), p);
	assert_int_equal(nt_daemon_status_fill(n.d, &s), 0);
	assert_int_equal(s->n_conflicts, 1);
	assert_int_equal(s->conflicts[0].family, AF_INET);
	assert_memory_equal(s->conflicts[0].addr, ((const uint8_t[]){ 10, 1, 0, 1 }), 4);
	nt_status_free(s);
	/* The member gives it up (a signed deletion): the address is ours again. */
	assert_true(nt_ledger_verdict_is_ok(claim_insert(&m, "10.1.0.1", w - 1000, w + 30, true)));
	tick();
	assert_false(n.d->claims.addr_conflict[0]);
	assert_null(route_to("10.1.0.1"));
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), n.d->id->ed_pk, 32);
	assert_int_equal(nt_daemon_status_fill(n.d, &s), 0);
	assert_int_equal(s->n_conflicts, 0);
	nt_status_free(s);
}

/* Past the race window a claim older than ours does not take the address. */
static void test_backdated_after_race(void **state)
{
	const struct nt_ledger_entry *ours;
	struct key m;
	uint64_t w;

	(void)state;
	synced();
	ours = nt_ledger_get_owned(n.d->claims.ledger, NT_LEDGER_MACHINES, "10.1.0.1", n.d->id->ed_pk);
	assert_non_null(ours);
	w = ours->claimed_at;
	key_new(&m);
	assert_non_null(nt_tunnel_member_get(&n.d->tunnel, m.pk, NULL, NULL));
	assert_int_equal(claim_insert(&m, "10.1.0.1", w - 1000, w + NT_LEDGER_DEFAULT_RACE_MS + 1000, false),
			 NT_LEDGER_REJ_HELD);
	tick();
	assert_false(n.d->claims.addr_conflict[0]);
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), n.d->id->ed_pk, 32);
	assert_null(route_to("10.1.0.1"));
}

/*
 * A static address is claimed only once we know the others' claims: a member that has held
 * it for a minute, heard of after we started, keeps it, and we report the conflict (had we
 * claimed at start, its older claim would have arrived looking back-dated, and been refused).
 */
static void test_claim_waits_for_the_ledger(void **state)
{
	uint64_t wall = nt_wall_ms();
	struct nt_peer *p;
	struct key m;

	(void)state;
	tick();
	assert_null(nt_ledger_get_owned(n.d->claims.ledger, NT_LEDGER_MACHINES, "10.1.0.1", n.d->id->ed_pk));
	key_new(&m);
	p = nt_tunnel_member_get(&n.d->tunnel, m.pk, NULL, NULL);
	assert_non_null(p);
	assert_true(nt_ledger_verdict_is_ok(claim_insert(&m, "10.1.0.1", wall - 60000, wall, false)));
	synced();
	assert_true(n.d->claims.addr_conflict[0]);
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), m.pk, 32);
	assert_ptr_equal(route_to("10.1.0.1"), p);
	/* Ours is there too, behind the member's: it takes over if the member gives it up. */
	assert_non_null(nt_ledger_get_owned(n.d->claims.ledger, NT_LEDGER_MACHINES, "10.1.0.1", n.d->id->ed_pk));
	assert_true(nt_ledger_verdict_is_ok(claim_insert(&m, "10.1.0.1", wall - 60000, wall + 10, true)));
	tick();
	assert_false(n.d->claims.addr_conflict[0]);
	assert_memory_equal(nt_ledger_machine_owner(n.d->claims.ledger, "10.1.0.1"), n.d->id->ed_pk, 32);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_route_needs_a_member),
		T(test_conflict),
		T(test_backdated_after_race),
		T(test_claim_waits_for_the_ledger),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
