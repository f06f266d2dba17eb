// SPDX-License-Identifier: MIT
/*
 * The command-line contract: flags, environment variables, precedence, conflicts and the
 * exact wording of the errors users see. One table row per case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "daemon/cli.h"

static const char *const *fake_env;

static const char *env_lookup(const char *name)
{
	for (const char *const *e = fake_env; e && *e; e += 2)
		if (!strcmp(e[0], name))
			return e[1];
	return NULL;
}

static int parse(struct nt_cli *cli, struct nt_err *err, const char *const *env, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	const char *a;

	argv[argc++] = (char *)"netron";
	va_start(ap, env);
	while ((a = va_arg(ap, const char *)))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	fake_env = env;
	return nt_cli_parse(cli, argc, argv, env_lookup, err);
}

static void test_defaults_and_flags(void **state)
{
	struct nt_cli cli;
	struct nt_err err;
	char buf[64];

	(void)state;
	assert_int_equal(parse(&cli, &err, NULL, "--token", "abc", "--address", "10.1.0.11/24", NULL), 0);
	assert_int_equal(cli.mode, NT_CLI_RUN);
	assert_string_equal(cli.opts.ifname, "netron0");
	assert_int_equal(cli.opts.listen_port, 51830);
	assert_int_equal(cli.opts.mtu, 1400);
	assert_true(cli.opts.dht);
	assert_true(cli.opts.mdns);
	assert_false(cli.opts.api);
	assert_string_equal(cli.opts.api_listen, "127.0.0.1:8080");
	assert_string_equal(cli.opts.state_dir, "/var/lib/netron");
	assert_int_equal(cli.opts.n_bootstrap, 3);
	assert_int_equal(cli.opts.n_addresses, 1);
	assert_string_equal(nt_cidr_format(&cli.opts.addresses[0], buf, sizeof(buf)), "10.1.0.11/24");

	assert_int_equal(parse(&cli, &err, NULL, "--token", "abc", "--address", "10.1.0.11/24",
			       "--address", "fd00::11/64", "--interface", "vpn1", "--mtu", "1280",
			       "--listen", "192.0.2.1:4000", "--peer", "192.0.2.2:1,192.0.2.3:2",
			       "--peer", "[2001:db8::1]:3", "--bootstrap", "192.0.2.9:6881",
			       "--dht", "off", "--mdns", "off", "--api", "--api-listen", "unix:/run/n.sock",
			       "--state-dir", "/tmp/x", "--log-level", "debug:dht,nat", NULL), 0);
	assert_int_equal(cli.opts.n_addresses, 2);
	assert_string_equal(cli.opts.ifname, "vpn1");
	assert_int_equal(cli.opts.mtu, 1280);
	assert_string_equal(cli.opts.listen_host, "192.0.2.1");
	assert_int_equal(cli.opts.listen_port, 4000);
	assert_int_equal(cli.opts.n_peers, 3);
	assert_string_equal(cli.opts.peers[2], "[2001:db8::1]:3");
	assert_int_equal(cli.opts.n_bootstrap, 1);
	assert_string_equal(cli.opts.bootstrap[0], "192.0.2.9:6881");
	assert_false(cli.opts.dht);
	assert_false(cli.opts.mdns);
	assert_true(cli.opts.api);
	assert_int_equal(cli.opts.log_level, NT_LOG_DEBUG);
}

static void test_env_and_precedence(void **state)
{
	static const char *const env[] = {
		"NETRONTOKEN", "envtoken", "ADDRESS", "10.1.0.5/24", "IFACE", "envif",
		"NETRONLISTEN", "5000", "NETRONPEERS", "192.0.2.7:7,192.0.2.8:8",
		"NETRONDHT", "off", "DHCP", "false", "NETRONLOGLEVEL", "warn", NULL,
	};
	struct nt_cli cli;
	struct nt_err err;

	(void)state;
	assert_int_equal(parse(&cli, &err, env, NULL), 0);
	assert_string_equal(cli.opts.token, "envtoken");
	assert_string_equal(cli.opts.ifname, "envif");
	assert_int_equal(cli.opts.listen_port, 5000);
	assert_int_equal(cli.opts.n_peers, 2);
	assert_false(cli.opts.dht);
	assert_int_equal(cli.opts.log_level, NT_LOG_WARN);

	/* A flag beats its variable; a repeated flag replaces the variable's list. */
	assert_int_equal(parse(&cli, &err, env, "--token", "flagtoken", "--interface", "flagif",
			       "--peer", "192.0.2.1:1", "--dht", "on", NULL), 0);
	assert_string_equal(cli.opts.token, "flagtoken");
	assert_string_equal(cli.opts.ifname, "flagif");
	assert_int_equal(cli.opts.n_peers, 1);
	assert_true(cli.opts.dht);
	assert_int_equal(cli.opts.n_addresses, 1);
}

/* The DNS server's flags (docs/dns.md): EdgeVPN's variables, defaults, lists and errors. */
static void test_dns(void **state)
{
	static const char *const env[] = {
		"NETRONTOKEN", "t", "ADDRESS", "10.1.0.5/24", "DNSADDRESS", "127.0.0.1:53",
		"DNSFORWARDSERVER", "192.0.2.53,[2001:db8::53]:5353", "DNSFORWARD", "true", NULL,
	};
	struct nt_cli cli;
	struct nt_err err;

	(void)state;
	assert_int_equal(parse(&cli, &err, env, NULL), 0);
	assert_string_equal(cli.opts.dns_listen, "127.0.0.1:53");
	assert_string_equal(cli.opts.dns_domain, "netron");
	assert_int_equal(cli.opts.n_dns_forward, 2);
	assert_string_equal(cli.opts.dns_forward[1], "[2001:db8::53]:5353");
	assert_false(cli.opts.dns_register);
	assert_int_equal(parse(&cli, &err, env, "--dns-domain", "vpn.example.", "--dns-register",
			       "--dns-forward-server", "198.51.100.53:53", NULL), 0);
	assert_string_equal(cli.opts.dns_domain, "vpn.example.");
	assert_true(cli.opts.dns_register);
	assert_int_equal(cli.opts.n_dns_forward, 1);
	assert_int_equal(parse(&cli, &err, env, "--dns", "1.2.3.4", NULL), -22);
	assert_non_null(strstr(err.msg, "--dns: '1.2.3.4' is not ADDR:PORT"));
	assert_int_equal(parse(&cli, &err, env, "--dns-domain", "a..b", NULL), -22);
	assert_int_equal(parse(&cli, &err, env, "--dns-domain", "bad_name", NULL), -22);
	assert_int_equal(parse(&cli, &err, env, "--dns-forward", "resolver.example", NULL), -22);
	assert_non_null(strstr(err.msg, "--dns-forward: 'resolver.example' is not ADDR[:PORT]"));
	assert_int_equal(parse(&cli, &err, env, "--dns-forward", "192.0.2.1,192.0.2.2,192.0.2.3,192.0.2.4,192.0.2.5",
			       NULL), -22);
	assert_int_equal(parse(&cli, &err, NULL, "--token", "t", "--address", "10.1.0.5/24", "--dns-register", NULL), -22);
	assert_non_null(strstr(err.msg, "--dns-register needs --dns"));
}

static void test_routes(void **state)
{
	static const char *const env[] = { "NETRONADVERTISEROUTES", "203.0.113.0/24", "NETRONACCEPTROUTES", "on",
					   "ROUTER", "10.1.0.9", NULL };
	struct nt_cli cli;
	struct nt_err err;
	char buf[64];

	(void)state;
	assert_int_equal(parse(&cli, &err, NULL, "--token", "a", "--address", "10.1.0.1/24", NULL), 0);
	assert_int_equal(cli.opts.n_advertise_routes, 0);
	assert_false(cli.opts.accept_routes);
	assert_false(cli.opts.has_router);
	assert_int_equal(parse(&cli, &err, NULL, "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes",
			       "198.51.100.0/24,2001:DB8:1::/48", "--advertise-routes", "0.0.0.0/0",
			       "--accept-routes", "--router", "10.1.0.2", NULL), 0);
	assert_int_equal(cli.opts.n_advertise_routes, 3);
	assert_string_equal(nt_cidr_format(&cli.opts.advertise_routes[1], buf, sizeof(buf)), "2001:db8:1::/48");
	assert_true(cli.opts.accept_routes);
	assert_true(cli.opts.has_router);
	assert_string_equal(nt_cidr_format(&cli.opts.router, buf, sizeof(buf)), "10.1.0.2/32");
	assert_int_equal(parse(&cli, &err, env, "--token", "a", "--address", "10.1.0.1/24", NULL), 0);
	assert_int_equal(cli.opts.n_advertise_routes, 1);
	assert_true(cli.opts.accept_routes);
	assert_string_equal(nt_cidr_format(&cli.opts.router, buf, sizeof(buf)), "10.1.0.9/32");
}

static void test_dhcp_range(void **state)
{
	struct nt_cli cli;
	struct nt_err err;
	char buf[64];

	(void)state;
	assert_int_equal(parse(&cli, &err, NULL, "--config", "x.yaml", "--dhcp", NULL), 0);
	assert_true(cli.opts.dhcp);
	assert_string_equal(nt_cidr_format(&cli.opts.dhcp_range, buf, sizeof(buf)), "10.1.0.0/24");
	assert_int_equal(parse(&cli, &err, NULL, "--config", "x.yaml", "--dhcp", "--address",
			       "10.9.0.0/16", NULL), 0);
	assert_string_equal(nt_cidr_format(&cli.opts.dhcp_range, buf, sizeof(buf)), "10.9.0.0/16");
	assert_int_equal(cli.opts.n_addresses, 0);
}

static void test_modes(void **state)
{
	struct nt_cli cli;
	struct nt_err err;

	(void)state;
	assert_int_equal(parse(&cli, &err, NULL, "-g", NULL), 0);
	assert_int_equal(cli.mode, NT_CLI_GENERATE);
	assert_false(cli.base64);
	assert_int_equal(parse(&cli, &err, NULL, "-g", "-b", "--key-otp-interval", "9000", NULL), 0);
	assert_true(cli.base64);
	assert_int_equal(cli.otp_interval, 9000);
	assert_int_equal(parse(&cli, &err, NULL, "--help", NULL), 0);
	assert_int_equal(cli.mode, NT_CLI_HELP);
	assert_int_equal(parse(&cli, &err, NULL, "status", NULL), 0);
	assert_int_equal(cli.mode, NT_CLI_STATUS);
	/* Flags may follow the subcommand. */
	assert_int_equal(parse(&cli, &err, NULL, "status", "--api-listen", "unix:/run/n.sock", NULL), 0);
	assert_int_equal(cli.mode, NT_CLI_STATUS);
	assert_string_equal(cli.opts.api_listen, "unix:/run/n.sock");
	assert_int_equal(parse(&cli, &err, NULL, "--token", "t", "--address", "10.1.0.2/24",
			       "--dry-run", NULL), 0);
	assert_true(cli.dry_run);
}

static const struct {
	const char *const *env;
	const char *args[8];
	const char *error;
} error_cases[] = {
	{ NULL, { "--token", "a", "--config", "b", "--address", "10.1.0.1/24" }, "not both" },
	{ (const char *const[]){ "NETRONCONFIG", "b", NULL }, { "--token", "a", "--address", "10.1.0.1/24" }, "not both" },
	{ NULL, { "--address", "10.1.0.1/24" }, "no network" },
	{ NULL, { "--token", "a" }, "no VPN address" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1" }, "not an address with a prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.0/24" }, "network or broadcast" },
	{ NULL, { "--token", "a", "--address", "10.1.0.255/24" }, "network or broadcast" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/33" }, "not an address with a prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--address", "10.1.0.2/24" }, "one IPv4 address only" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--mtu", "100" }, "--mtu: must be an integer from 1280 to 9000" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--mtu", "abc" }, "--mtu" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--listen", "70000" }, "--listen" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--peer", "nohost" }, "not HOST:PORT" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--peer", "h:0" }, "not HOST:PORT" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--dht", "maybe" }, "--dht: must be on or off" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--interface", "this-name-is-too-long" }, "not an interface name" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--log-level", "loud" }, "--log-level" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--api", "--api-listen", "0.0.0.0:8080" }, "--api-token-file" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--bogus" }, "unknown option" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "extra" }, "unexpected argument 'extra'" },
	{ (const char *const[]){ "NETRONMTU", "12", NULL }, { "--token", "a", "--address", "10.1.0.1/24" }, "NETRONMTU: must be" },
	{ NULL, { "-b" }, "-b only goes with -g" },
	{ NULL, { "-g", "--key-otp-interval", "0" }, "--key-otp-interval" },
	{ NULL, { "--token", "", "--address", "10.1.0.1/24" }, "empty" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes", "198.51.100.1/24" }, "host bits are set" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes", "10.0.0.0/8" }, "overlaps the VPN's own prefix" },
	{ NULL, { "--token", "a", "--dhcp", "--advertise-routes", "10.1.0.128/25" }, "overlaps the VPN's own prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes", "64.0.0.0/3" }, "too short a prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes", "lan" }, "not a prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--advertise-routes", "198.51.100.0/24,198.51.100.0/24" }, "given twice" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--router", "10.2.0.1" }, "--router: 10.2.0.1 is not in the VPN's prefix" },
	{ NULL, { "--token", "a", "--address", "10.1.0.1/24", "--router", "10.1.0.0/24" }, "not a VPN address" },
	{ (const char *const[]){ "NETRONADVERTISEROUTES", "127.0.0.0/8", NULL }, { "--token", "a", "--address", "10.1.0.1/24" }, "NETRONADVERTISEROUTES: 127.0.0.0/8: loopback" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		struct nt_cli cli;
		struct nt_err err;
		char *argv[10] = { (char *)"netron" };
		int argc = 1;

		for (int j = 0; j < 8 && error_cases[i].args[j]; j++)
			argv[argc++] = (char *)error_cases[i].args[j];
		fake_env = error_cases[i].env;
		if (nt_cli_parse(&cli, argc, argv, env_lookup, &err) != -22 ||
		    !strstr(err.msg, error_cases[i].error)) {
			fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err.msg, error_cases[i].error);
			fail();
		}
		assert_null(strchr(err.msg, '\n'));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_flags),
		cmocka_unit_test(test_env_and_precedence),
		cmocka_unit_test(test_dns),
		cmocka_unit_test(test_dhcp_range),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
