// SPDX-License-Identifier: MIT
/*
 * Netron as a library: join a network from a token and run a node in a thread of your
 * own program. Build: cc embed.c -lnetron ... (CMake builds it as example_embed).
 *
 *   NETRONTOKEN=... example_embed 10.1.0.21/24 192.0.2.1:51830 [seconds]
 *
 * It starts the node, waits until a member is connected, prints what the node knows,
 * keeps running for the given seconds (default 10), then stops cleanly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netron/netron.h>

static void print_status(const struct nt_status *s)
{
	char addr[64];

	printf("node %s on %s, network %s\n", s->id_short, s->ifname, s->fingerprint);
	for (unsigned int i = 0; i < s->n_peers; i++) {
		const struct nt_peer_status *p = &s->peers[i];
		printf("  peer %s %s at %s", p->id_short, p->connected ? "connected" : "not connected",
		       p->endpoint[0] ? p->endpoint : "-");
		for (unsigned int j = 0; j < p->n_addresses; j++)
			printf(" %s", nt_cidr_format(&p->addresses[j], addr, sizeof(addr)));
		printf(" rx %llu B tx %llu B\n", (unsigned long long)p->rx_bytes,
		       (unsigned long long)p->tx_bytes);
	}
}

static int connected_peers(struct nt_daemon *d, struct nt_status **out)
{
	struct nt_status *s;
	int n = 0;

	if (nt_daemon_status(d, &s) < 0)
		return -1;
	for (unsigned int i = 0; i < s->n_peers; i++)
		n += s->peers[i].connected && s->peers[i].n_addresses > 0;
	if (out)
		*out = s;
	else
		nt_status_free(s);
	return n;
}

int main(int argc, char **argv)
{
	struct nt_options o;
	struct nt_daemon *d;
	struct nt_status *s = NULL;
	struct nt_err err;
	int seconds = argc > 3 ? atoi(argv[3]) : 10;
	int ret = 1;

	if (argc < 3 || !getenv("NETRONTOKEN")) {
		fprintf(stderr, "usage: NETRONTOKEN=... %s ADDRESS/PREFIX PEER_HOST:PORT [seconds]\n", argv[0]);
		return 2;
	}
	nt_options_init(&o);
	o.token = getenv("NETRONTOKEN");
	o.dht = false;
	if (!nt_cidr_parse(argv[1], &o.addresses[o.n_addresses++])) {
		fprintf(stderr, "bad address %s\n", argv[1]);
		return 2;
	}
	snprintf(o.peers[o.n_peers++], NT_HOSTPORT_MAX, "%s", argv[2]);
	if (getenv("NETRONSTATEDIR"))
		snprintf(o.state_dir, sizeof(o.state_dir), "%s", getenv("NETRONSTATEDIR"));

	if (nt_daemon_new(&d, &o, &err) < 0) {
		fprintf(stderr, "cannot start: %s\n", err.msg);
		return 1;
	}
	if (nt_daemon_start_thread(d) < 0) {
		fprintf(stderr, "cannot start the node's thread\n");
		goto out;
	}
	/* The program goes on with its own work; here it just watches the node. */
	for (int i = 0; i < 100; i++) {
		if (connected_peers(d, NULL) > 0)
			break;
		usleep(100 * 1000);
	}
	if (connected_peers(d, &s) <= 0) {
		fprintf(stderr, "no member connected within 10 s\n");
		nt_status_free(s);
		goto out;
	}
	printf("connected\n");
	print_status(s);
	nt_status_free(s);
	fflush(stdout);
	sleep((unsigned int)seconds);
	ret = 0;
out:
	nt_daemon_free(d); /* stops the loop, joins the thread, removes the interface */
	printf("stopped\n");
	return ret;
}
