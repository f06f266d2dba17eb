// SPDX-License-Identifier: MIT
/*
 * The `netron status` client's HTTP response parser: any bytes a server (or something
 * that is not one) may send. On success the body must lie inside the buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/status_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size ? size : 1), *body = NULL;
	size_t body_len = 0;
	int status = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (nt_status_http_parse(buf, size, &status, &body, &body_len) == 0) {
		if (status < 100 || status > 599 || body < buf || body > buf + size ||
		    body_len > (size_t)(buf + size - body))
			abort();
		/* Touch every byte the caller would read. */
		volatile char sink = 0;
		for (size_t i = 0; i < body_len; i++)
			sink ^= body[i];
		(void)sink;
	}
	free(buf);
	return 0;
}
