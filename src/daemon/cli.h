/* SPDX-License-Identifier: MIT */
/*
 * The command line: flags and environment variables (DESIGN §1) into struct nt_cli.
 * A flag beats its environment variable; a repeatable flag given at least once replaces
 * the variable's whole list. Errors name the input and what would be accepted.
 */
#ifndef NT_CLI_H
#define NT_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/options.h"
#include "netron/types.h"

enum nt_cli_mode {
	NT_CLI_RUN,
	NT_CLI_GENERATE,
	NT_CLI_STATUS,
	NT_CLI_HELP,
	NT_CLI_VERSION,
};

enum nt_exit {
	NT_EXIT_OK = 0,
	NT_EXIT_RUNTIME = 1,
	NT_EXIT_USAGE = 2,
};

struct nt_cli {
	enum nt_cli_mode mode;
	bool base64; /* -b */
	uint32_t otp_interval; /* --key-otp-interval */
	bool dry_run;
	struct nt_options opts;
};

/*
 * Parses argv and the environment (envp-style getter, so tests can feed their own).
 * 0, or -EINVAL with err->msg set to one line naming the problem.
 */
typedef const char *nt_getenv_fn(const char *name);
int nt_cli_parse(struct nt_cli *cli, int argc, char **argv, nt_getenv_fn *getenv_fn,
		 struct nt_err *err);
/* The --help text. */
const char *nt_cli_usage(void);

#endif
