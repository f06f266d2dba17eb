/* SPDX-License-Identifier: MIT */
/*
 * Netron as a library: run a node of a network inside another program.
 *
 *	struct nt_options o;
 *	struct nt_daemon *d;
 *	nt_options_init(&o);
 *	o.token = token;                      // the network
 *	nt_cidr_parse("10.1.0.11/24", &o.addresses[o.n_addresses++]);
 *	if (nt_daemon_new(&d, &o, &err) == 0) {
 *		nt_daemon_run(d);               // or nt_daemon_start_thread(d)
 *		nt_daemon_free(d);
 *	}
 *
 * nt_daemon_run blocks in the node's own event loop until nt_daemon_stop (safe from any
 * thread or a signal handler) or SIGINT/SIGTERM when handle_signals was asked for.
 */
#ifndef NT_NETRON_H
#define NT_NETRON_H

#include <stdbool.h>
#include <stdint.h>

#include "netron/config.h"
#include "netron/keys.h"
#include "netron/options.h"
#include "netron/status.h"
#include "netron/token.h"
#include "netron/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NT_VERSION_MAJOR 0
#define NT_VERSION_MINOR 1

struct nt_daemon;

/*
 * Validates the options, reads the network and the identity, creates the TUN interface
 * and the UDP socket. 0 or -errno, with err naming what failed. Needs CAP_NET_ADMIN.
 */
int nt_daemon_new(struct nt_daemon **out, const struct nt_options *opts, struct nt_err *err);
/* Runs the loop in the calling thread until stopped; 0, or -errno if the loop failed. */
int nt_daemon_run(struct nt_daemon *d);
/* Runs the loop in a new thread; nt_daemon_free stops and joins it. */
int nt_daemon_start_thread(struct nt_daemon *d);
/* Asks the loop to finish; async-signal-safe and thread-safe. */
void nt_daemon_stop(struct nt_daemon *d);
/* Stops, removes the interface, wipes every secret. Accepts NULL. */
void nt_daemon_free(struct nt_daemon *d);
/* Installs SIGINT/SIGTERM handlers in the loop that stop it (the netron binary does). */
void nt_daemon_handle_signals(struct nt_daemon *d);
/* A consistent copy of the node's state, taken in the loop thread; free with nt_status_free. */
int nt_daemon_status(struct nt_daemon *d, struct nt_status **out);

#ifdef __cplusplus
}
#endif
#endif
