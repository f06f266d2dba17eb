// SPDX-License-Identifier: MIT
/*
 * The netron command: parse the command line (cli.c), then generate a network, check the
 * input (--dry-run), show a running node's state, or run a node until SIGINT/SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sodium.h>

#include "daemon/cli.h"
#include "core/log.h"
#include "netron/netron.h"
#include "api/status_cmd.h"
#ifdef NT_MHD_STATIC
#include "daemon/mhd_static.h"
#endif

static const char *env_get(const char *name)
{
	return getenv(name);
}

static int cmd_generate(const struct nt_cli *cli)
{
	struct nt_config cfg;
	char *out;

	if (nt_config_generate(&cfg, cli->otp_interval) < 0) {
		fprintf(stderr, "netron: cannot generate a network\n");
		return NT_EXIT_RUNTIME;
	}
	out = cli->base64 ? nt_config_to_token(&cfg) : nt_config_print(&cfg);
	nt_config_wipe(&cfg);
	if (!out) {
		fprintf(stderr, "netron: out of memory\n");
		return NT_EXIT_RUNTIME;
	}
	fputs(out, stdout);
	if (cli->base64)
		fputc('\n', stdout);
	sodium_memzero(out, strlen(out));
	free(out);
	return fflush(stdout) == 0 ? NT_EXIT_OK : NT_EXIT_RUNTIME;
}

/* Reads the network named by the options; prints the error and returns false on failure. */
static bool load_network(const struct nt_options *o, struct nt_config *cfg)
{
	struct nt_err err = { 0 };
	int ret;

	if (o->token)
		ret = nt_config_from_token(cfg, o->token, &err);
	else
		ret = nt_config_load_file(cfg, o->config_path, &err);
	if (ret < 0) {
		if (err.line)
			fprintf(stderr, "netron: %s (line %d, column %d)\n", err.msg, err.line,
				err.col);
		else
			fprintf(stderr, "netron: %s\n", err.msg);
		return false;
	}
	return true;
}

static void print_list(const char *label, const char (*list)[NT_HOSTPORT_MAX], unsigned int n)
{
	printf("%-14s", label);
	if (n == 0)
		printf(" (none)");
	for (unsigned int i = 0; i < n; i++)
		printf("%s%s", i ? ", " : " ", list[i]);
	printf("\n");
}

static int cmd_dry_run(const struct nt_cli *cli)
{
	const struct nt_options *o = &cli->opts;
	struct nt_network_keys *keys;
	struct nt_config cfg;
	char buf[64];

	if (!load_network(o, &cfg))
		return NT_EXIT_USAGE;
	if (nt_network_keys_new(&keys, &cfg) < 0) {
		nt_config_wipe(&cfg);
		fprintf(stderr, "netron: out of secure memory\n");
		return NT_EXIT_RUNTIME;
	}
	printf("netron %s: configuration is valid (dry run, nothing started)\n", NT_VERSION);
	printf("%-14s %s (from %s)\n", "network", keys->fingerprint,
	       o->token ? "token" : o->config_path);
	printf("%-14s dht every %us, crypto every %us\n", "otp intervals",
	       cfg.otp_dht.interval, cfg.otp_crypto.interval);
	printf("%-14s %s, mtu %u\n", "interface", o->ifname, o->mtu);
	printf("%-14s", "address");
	if (o->dhcp)
		printf(" dhcp from %s", nt_cidr_format(&o->dhcp_range, buf, sizeof(buf)));
	for (unsigned int i = 0; i < o->n_addresses; i++)
		printf("%s%s", (i || o->dhcp) ? ", " : " ", nt_cidr_format(&o->addresses[i], buf, sizeof(buf)));
	printf("\n");
	if (!o->listen_host[0])
		printf("%-14s udp *:%u\n", "listen", o->listen_port);
	else if (strchr(o->listen_host, ':'))
		printf("%-14s udp [%s]:%u\n", "listen", o->listen_host, o->listen_port);
	else
		printf("%-14s udp %s:%u\n", "listen", o->listen_host, o->listen_port);
	printf("%-14s dht %s, mdns %s, relay %s\n", "discovery", o->dht ? "on" : "off",
	       o->mdns ? "on" : "off", o->relay ? "on" : "off");
	print_list("peers", o->peers, o->n_peers);
	if (o->dht)
		print_list("bootstrap", o->bootstrap, o->n_bootstrap);
	if (o->n_stun)
		print_list("stun", o->stun, o->n_stun);
	if (o->n_advertise_routes) {
		printf("%-14s", "advertises");
		for (unsigned int i = 0; i < o->n_advertise_routes; i++)
			printf("%s%s", i ? ", " : " ", nt_cidr_format(&o->advertise_routes[i], buf, sizeof(buf)));
		printf("\n");
	}
	if (o->accept_routes)
		printf("%-14s accepts members' subnets\n", "routes");
	if (o->has_router)
		printf("%-14s %s, if it advertises a default route\n", "router",
		       inet_ntop(o->router.family, o->router.addr, buf, sizeof(buf)));
	printf("%-14s %s\n", "api", o->api ? o->api_listen : "off");
	printf("%-14s %s\n", "state dir", o->state_dir);
	printf("%-14s %u entries\n", "ledger", o->ledger_capacity);
	nt_network_keys_free(keys);
	nt_config_wipe(&cfg);
	return NT_EXIT_OK;
}

static int cmd_run(const struct nt_cli *cli)
{
	struct nt_daemon *d;
	struct nt_err err = { 0 };
	int ret;

	nt_log_set_level(cli->opts.log_level, cli->opts.log_debug_mask);
	ret = nt_daemon_new(&d, &cli->opts, &err);
	if (ret < 0) {
		fprintf(stderr, "netron: %s\n", err.msg[0] ? err.msg : strerror(-ret));
		return ret == -EINVAL ? NT_EXIT_USAGE : NT_EXIT_RUNTIME;
	}
	nt_daemon_handle_signals(d);
	ret = nt_daemon_run(d);
	nt_daemon_free(d);
	return ret < 0 ? NT_EXIT_RUNTIME : NT_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct nt_cli cli;
	struct nt_err err;

	if (sodium_init() < 0) {
		fprintf(stderr, "netron: libsodium failed to initialise\n");
		return NT_EXIT_RUNTIME;
	}
#ifdef NT_MHD_STATIC
	/* --api from the libmicrohttpd this command carries (mhd_static.c); cannot fail once. */
	if (nt_mhd_static_link() < 0) {
		fprintf(stderr, "netron: cannot register the linked libmicrohttpd\n");
		return NT_EXIT_RUNTIME;
	}
#endif
	if (nt_cli_parse(&cli, argc, argv, env_get, &err) < 0) {
		fprintf(stderr, "netron: %s\n", err.msg);
		return NT_EXIT_USAGE;
	}
	switch (cli.mode) {
	case NT_CLI_HELP:
		fputs(nt_cli_usage(), stdout);
		return NT_EXIT_OK;
	case NT_CLI_VERSION:
		printf("netron %s\n", NT_VERSION);
		return NT_EXIT_OK;
	case NT_CLI_GENERATE:
		return cmd_generate(&cli);
	case NT_CLI_STATUS:
		return nt_status_cmd(&cli.opts);
	case NT_CLI_RUN:
		break;
	}
	if (cli.dry_run)
		return cmd_dry_run(&cli);
	return cmd_run(&cli);
}
