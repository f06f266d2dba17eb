// SPDX-License-Identifier: MIT
/*
 * Placeholder until the HTTP API lands (issue 7): --api is refused with a clear message.
 */
#include "api.h"

#include <errno.h>
#include <stdio.h>

#include "daemon.h"

int nt_api_start(struct nt_daemon *d, struct nt_err *err)
{
	(void)d;
	snprintf(err->msg, sizeof(err->msg), "--api: the HTTP API is not in this build yet");
	return -ENOTSUP;
}

void nt_api_stop(struct nt_daemon *d)
{
	(void)d;
}
