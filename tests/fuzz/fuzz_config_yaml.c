// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: arbitrary bytes as a network definition (nt_config_parse). Every
 * accepted input must print canonically, and the print must parse back to the same
 * config and print identically (the round trip the golden tests rely on). A refused
 * input must leave a one-line error and a wiped config.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netron/config.h"

static int config_equal(const struct nt_config *a, const struct nt_config *b)
{
	return a->otp_dht.interval == b->otp_dht.interval && a->otp_dht.length == b->otp_dht.length &&
	       !strcmp(a->otp_dht.key, b->otp_dht.key) &&
	       a->otp_crypto.interval == b->otp_crypto.interval &&
	       a->otp_crypto.length == b->otp_crypto.length &&
	       !strcmp(a->otp_crypto.key, b->otp_crypto.key) && !strcmp(a->room, b->room) &&
	       !strcmp(a->rendezvous, b->rendezvous) && !strcmp(a->mdns, b->mdns) &&
	       a->max_message_size == b->max_message_size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_config cfg, back;
	struct nt_err err;
	char *text, *again;

	if (nt_config_parse(&cfg, (const char *)data, size, &err) != 0) {
		if (!err.msg[0] || strchr(err.msg, '\n') || cfg.room[0] || cfg.otp_dht.key[0])
			abort();
		return 0;
	}
	text = nt_config_print(&cfg);
	if (!text)
		abort();
	if (nt_config_parse(&back, text, strlen(text), &err) != 0 || !config_equal(&cfg, &back))
		abort();
	again = nt_config_print(&back);
	if (!again || strcmp(text, again) != 0)
		abort();
	free(again);
	free(text);
	nt_config_wipe(&cfg);
	nt_config_wipe(&back);
	return 0;
}
