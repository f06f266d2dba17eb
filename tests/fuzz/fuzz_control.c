// SPDX-License-Identifier: MIT
/*
 * Control message decoders (ANNOUNCE, PEX, PATH_CHALLENGE/RESPONSE, RELAY): the first byte
 * picks the decoder; whatever decodes must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[2048];
	int n;

	if (size < 1)
		return 0;
	if (data[0] & 2) {
		uint8_t nonce[NT_CTRL_PATH_NONCE];
		const uint8_t *id, *frame;
		size_t flen;

		if (nt_control_path_decode(data + 1, size - 1, nonce)) {
			nt_control_path_encode(out, nonce);
			if (size - 1 != NT_CTRL_PATH_LEN || memcmp(out, data + 1, size - 1) != 0)
				abort();
		}
		if (nt_control_relay_decode(data + 1, size - 1, &id, &frame, &flen) &&
		    (frame + flen != data + size || id != data + 2))
			abort();
	} else if (data[0] & 1) {
		struct nt_announce a;
		if (nt_control_announce_decode(&a, data + 1, size - 1)) {
			/* The same bytes back, but for the flags it does not know (ignored). */
			n = nt_control_announce_encode(&a, out, sizeof(out));
			if (n != (int)(size - 1) || memcmp(out, data + 1, size - 2) != 0 ||
			    out[size - 2] != (data[size - 1] & NT_ANNOUNCE_KEEP))
				abort();
		}
	} else {
		struct nt_pex p;
		if (nt_control_pex_decode(&p, data + 1, size - 1)) {
			n = nt_control_pex_encode(&p, out, sizeof(out));
			if (n != (int)(size - 1) || memcmp(out, data + 1, size - 1) != 0)
				abort();
		}
	}
	return 0;
}
