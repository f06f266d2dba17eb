// SPDX-License-Identifier: MIT
/*
 * Our external address (BEP 42): set by whom we trust (STUN), or learned from the "ip"
 * that answers to our queries carry, by a majority of recent votes from distinct IPs; and
 * the node ID derived from it, which re-files the routing tables when it changes.
 */
#include "discovery/dht_extaddr.h"

#include <string.h>

#include "core/log.h"

static int ext_family_index(const struct nt_dht *dht)
{
	if (dht->fam[0].enabled && dht->fam[0].has_ext)
		return 0;
	if (dht->fam[1].enabled && dht->fam[1].has_ext)
		return 1;
	return -1;
}

/* BEP 42: derive our ID from the external IP (IPv4 when known), and re-file the tables. */
static void regen_id(struct nt_dht *dht)
{
	uint8_t r[NT_DHT_ID_LEN];
	char hex[9];
	int i = ext_family_index(dht);

	if (i < 0 || nt_dht_id_is_bep42(dht->id, &dht->fam[i].ext))
		return;
	nt_dht_rand_bytes(dht, r, sizeof(r));
	nt_dht_id_bep42(dht->id, &dht->fam[i].ext, r);
	/* Re-file under the new ID, and introduce it to our new neighbours soon. */
	for (size_t k = 0; k < 2; k++) {
		if (!dht->fam[k].enabled)
			continue;
		nt_dht_table_set_self(&dht->fam[k].table, dht->id);
		dht->fam[k].self_search_ms = 0;
		dht->fam[k].self_search.active = false;
	}
	dht->next_maint_ms = 0;
	nt_hex_encode(hex, dht->id, 4);
	log_debug(NT_DBG_DHT, "dht: new BEP 42 node id %s...", hex);
}

void nt_dht_extaddr_set(struct nt_dht *dht, struct family *f, const union nt_sockaddr *a)
{
	char buf[NT_SOCKADDR_STRLEN];
	bool ip_changed = !f->has_ext || !nt_dht_same_ip(&f->ext, a);

	if (f->has_ext && nt_sockaddr_equal(&f->ext, a))
		return;
	f->ext = *a;
	f->has_ext = true;
	if (ip_changed) {
		log_info("dht: external address %s", nt_sockaddr_format(a, buf, sizeof(buf)));
		regen_id(dht);
	}
}

/*
 * BEP 42 "ip" from a response to our query: one vote per responder IP among the last
 * VOTES; an IP reported by at least VOTES_MIN of them and by a strict majority wins,
 * with the port of its latest vote.
 */
void nt_dht_extaddr_vote(struct nt_dht *dht, struct family *f, const union nt_sockaddr *voter,
			 const union nt_sockaddr *seen)
{
	struct vote *v = NULL;
	size_t filled = 0;

	if (seen->sa.sa_family != f->af)
		return;
	for (size_t i = 0; i < VOTES; i++)
		if (f->votes[i].used && nt_dht_same_ip(&f->votes[i].voter, voter))
			v = &f->votes[i];
	if (!v) {
		v = &f->votes[f->vote_next];
		f->vote_next = (f->vote_next + 1) % VOTES;
	}
	v->voter = *voter;
	v->seen = *seen;
	v->used = true;
	for (size_t i = 0; i < VOTES; i++)
		filled += f->votes[i].used;
	size_t agree = 0;
	for (size_t i = 0; i < VOTES; i++)
		agree += f->votes[i].used && nt_dht_same_ip(&f->votes[i].seen, seen);
	if (agree >= VOTES_MIN && agree * 2 > filled)
		nt_dht_extaddr_set(dht, f, seen);
}
