// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the data-frame receive path of session.c. Each input is used twice:
 * as a received frame (header parser, then decrypt in place with a fixed keypair whose
 * window is reset first; the seeds are real frames for that keypair), and as a plaintext
 * that is encrypted and decrypted again, which drives the inner-type and IP parser with
 * arbitrary authentic content. The frame sits in a buffer of exactly its size, so any
 * read past the length shows up under ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/session.h"

#define FUZZ_NOW UINT64_C(1000000)
#define FUZZ_INDEX UINT32_C(0x01020304) /* the receiver's local index */

static struct nt_keypair *rx_kp, *tx_kp;

static void keypairs_new(void)
{
	uint8_t k1[NT_DATA_KEY_LEN], k2[NT_DATA_KEY_LEN];

	for (int i = 0; i < NT_DATA_KEY_LEN; i++) {
		k1[i] = (uint8_t)i; /* the key frames to us are sealed with */
		k2[i] = (uint8_t)(0x80 + i);
	}
	if (nt_session_keypair_new(&rx_kp, k2, k1, FUZZ_INDEX, 0x0a0b0c0d, false, FUZZ_NOW) < 0 ||
	    nt_session_keypair_new(&tx_kp, k1, k2, 0x0a0b0c0d, FUZZ_INDEX, true, FUZZ_NOW) < 0)
		abort();
}

static void check_rx(enum nt_pkt_verdict v, const struct nt_data_rx *rx, const uint8_t *frame,
		     size_t len)
{
	if (v != NT_PKT_OK)
		return;
	if (rx->payload < frame + NT_DATA_HEADER_LEN + 1 ||
	    rx->payload + rx->payload_len > frame + len - NT_DATA_TAG_LEN)
		abort();
	if (rx->inner_type == NT_DATA_INNER_IP && rx->ip_version != 4 && rx->ip_version != 6)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_data_rx rx;
	enum nt_pkt_verdict v, hv;
	uint32_t idx;
	uint64_t ctr;
	uint8_t *buf;

	if (!rx_kp)
		keypairs_new();

	/* As a received frame. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	hv = nt_session_frame_parse_header(buf, size, &idx, &ctr);
	nt_replay_init(&rx_kp->replay);
	v = nt_session_keypair_decrypt(rx_kp, buf, size, FUZZ_NOW, &rx);
	if (hv != NT_PKT_OK && v != hv)
		abort(); /* the decrypt path must agree with the cheap parser */
	check_rx(v, &rx, buf, size);
	free(buf);

	/* As a plaintext, sealed and opened again. */
	if (size == 0 || size > 65535 - NT_DATA_OVERHEAD)
		return 0;
	buf = malloc(size + NT_DATA_OVERHEAD);
	if (!buf)
		return 0;
	memcpy(buf + NT_DATA_HEADER_LEN, data, size);
	tx_kp->send_counter = 0;
	if (nt_session_keypair_encrypt(tx_kp, buf, size + NT_DATA_OVERHEAD, size, FUZZ_NOW) < 0)
		abort();
	nt_replay_init(&rx_kp->replay);
	v = nt_session_keypair_decrypt(rx_kp, buf, size + NT_DATA_OVERHEAD, FUZZ_NOW, &rx);
	if (v != NT_PKT_OK && v != NT_PKT_DROP_INNER)
		abort();
	if (memcmp(buf + NT_DATA_HEADER_LEN, data, size) != 0 || rx.inner_type != data[0])
		abort();
	check_rx(v, &rx, buf, size + NT_DATA_OVERHEAD);
	free(buf);
	return 0;
}
