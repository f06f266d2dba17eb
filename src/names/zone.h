/* SPDX-License-Identifier: MIT */
/*
 * The members' names (docs/dns.md): a zone built from the ledger, and the answer to one DNS
 * query from it. Sans-IO and allocation-free after init (the compiled regular expressions of
 * the "dns" bucket aside, bounded in number and length): the server (names.c) feeds it query
 * bytes and sends what it writes, or forwards the query when it says so.
 *
 *   <hostname>.<domain>     A/AAAA of the member's claimed addresses (bucket "machines")
 *   <id prefix>.id.<domain> the same, by node ID (6 to 64 hex digits, unique among members)
 *   reverse names           PTR <hostname>.<domain> for a claimed address
 *   bucket "dns"            EdgeVPN's records: key a regular expression, value {type: data}
 *   other names in domain   NXDOMAIN (or NODATA) with the domain's SOA
 *   anything else           forwarded
 *
 * Hostnames come from the members' own claims and are sanitised to one label of
 * [a-z0-9-]. Two members with the same label: the one whose oldest claim is older (ties to
 * the lower node ID) keeps it, the others answer to <label>-<first 6 hex of their ID>.
 */
#ifndef NT_ZONE_H
#define NT_ZONE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "discovery/dns.h"

struct nt_ledger;

#ifndef NT_ZONE_MAX_MEMBERS
#define NT_ZONE_MAX_MEMBERS 1024
#endif
#ifndef NT_ZONE_MAX_RECORDS
#define NT_ZONE_MAX_RECORDS 64 /* entries of bucket "dns" served */
#endif

#define NT_ZONE_BUCKET "dns" /* EdgeVPN's bucket of DNS records */
#define NT_ZONE_DEFAULT_DOMAIN "netron"

enum {
	NT_ZONE_TTL = 30, /* seconds, for answers from claims that live two minutes */
	NT_ZONE_LABEL_MAX = 63,
	NT_ZONE_DOMAIN_MAX = 128, /* text */
	NT_ZONE_REGEX_MAX = 64, /* bytes of a record's regular expression (= ledger key limit) */
	NT_ZONE_RDATA_MAX = 255, /* bytes of a record's data as text */
	NT_ZONE_UDP_MAX = 512, /* an answer without EDNS (RFC 1035 §4.2.1) */
};

/* What nt_zone_answer decided; the server counts each. */
enum nt_zone_result {
	NT_ZONE_ANSWER, /* a member's name, an ID name, a PTR, the SOA */
	NT_ZONE_RECORD, /* a record of bucket "dns" */
	NT_ZONE_NXDOMAIN, /* a name in the domain nobody holds */
	NT_ZONE_NODATA, /* the name exists, not with that type */
	NT_ZONE_FORMERR, /* a query that does not decode, or not one question */
	NT_ZONE_NOTIMP, /* an opcode other than QUERY */
	NT_ZONE_FORWARD, /* not ours: the caller forwards the query as it came */
	NT_ZONE_DROP, /* a response, or less than a header: nothing to answer */
	NT_ZONE_RESULT_MAX
};

struct nt_zone_member {
	uint8_t owner[32];
	char label[NT_ZONE_LABEL_MAX + 1]; /* "" when the hostname sanitises to nothing */
	char id_hex[65];
	uint64_t claimed_at; /* unix ms, its oldest claim: who keeps a shared name */
	bool has4, has6;
	uint8_t a[4], aaaa[16];
};

struct nt_zone_record {
	regex_t re;
	char regex[NT_ZONE_REGEX_MAX + 1];
	bool has4, has6;
	uint8_t a[4], aaaa[16];
	struct nt_dns_txt txt; /* len 0: none */
	struct nt_dns_name cname; /* len 0: none */
};

struct nt_zone {
	char domain[NT_ZONE_DOMAIN_MAX + 1]; /* lower case, no trailing dot */
	struct nt_dns_name apex, id_apex; /* <domain>, id.<domain> */
	struct nt_dns_rr soa;
	uint32_t serial; /* bumped by each build */
	unsigned int n_members, n_records;
	unsigned int dropped_members, dropped_records; /* past the bounds, or refused */
	struct nt_zone_member members[NT_ZONE_MAX_MEMBERS];
	struct nt_zone_record records[NT_ZONE_MAX_RECORDS];
	struct nt_dns_msg msg; /* the query being answered: too big for a stack */
};

/* A domain ("netron", "vpn.example") for the zone (z may be uninitialised memory): 0 or -EINVAL. */
int nt_zone_init(struct nt_zone *z, const char *domain);
void nt_zone_uninit(struct nt_zone *z);
/* Rebuilds the zone from the ledger's effective entries (l may be NULL: an empty zone). */
void nt_zone_build(struct nt_zone *z, const struct nt_ledger *l);
/*
 * Answers the query in q[0, qlen) into out (at most cap bytes; more than 512 only over
 * TCP). *outlen is the answer's length, 0 for FORWARD and DROP.
 */
enum nt_zone_result nt_zone_answer(struct nt_zone *z, const uint8_t *q, size_t qlen, uint8_t *out,
				   size_t cap, size_t *outlen);
/* An answer with only rcode (SERVFAIL...) to the query q, its question echoed if it has one. */
size_t nt_zone_error(struct nt_zone *z, const uint8_t *q, size_t qlen, uint8_t *out, size_t cap,
		     uint16_t rcode);
/* The question of the query nt_zone_answer last decoded (valid after FORWARD). */
static inline const struct nt_dns_question *nt_zone_question(const struct nt_zone *z)
{
	return &z->msg.q[0];
}
/* The name a member answers to ("host.netron"), or false if it is not in the zone. */
bool nt_zone_name_of(const struct nt_zone *z, const uint8_t owner[32], char *out, size_t len);
const char *nt_zone_result_str(enum nt_zone_result r);

/* A hostname as the zone serves it: one label of [a-z0-9-], at most max bytes; may be "". */
void nt_zone_sanitise(const char *hostname, char *out, size_t max);
/*
 * Checks one EdgeVPN record (POST /api/dns) and writes the ledger value ({"1": "10.1.0.5"});
 * types are names (A, AAAA, TXT, CNAME) or numbers. The value's length, or -EINVAL with why.
 */
ssize_t nt_zone_record_value(const char *regex, const json_t *records, char *out, size_t cap,
			     char *why, size_t whylen);

#endif
