/* SPDX-License-Identifier: MIT */
/*
 * Answering queries (dht_answer.c). Internal to the DHT engine: dht.c hands it the
 * queries it decoded.
 */
#ifndef NT_DHT_ANSWER_H
#define NT_DHT_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

struct nt_dht;

/* Answers the query in dht->in from `from`, within the rate limits and its budget. */
void nt_dht_answer_query(struct nt_dht *dht, const union nt_sockaddr *from, uint64_t now_ms);
/* An error answer to the query in dht->in; false when it was not sent (counted). */
bool nt_dht_answer_error(struct nt_dht *dht, const union nt_sockaddr *to, int code,
			 const char *text);

#endif
