/* SPDX-License-Identifier: MIT */
/*
 * A strict DNS message codec (RFC 1035) for Multicast DNS (RFC 6762) and DNS-SD (RFC 6763).
 * The decoder checks every length against the bytes left, follows compression pointers only
 * backwards with a hop limit, and keeps at most NT_DNS_MAX_RRS records in fixed arrays. The
 * builder writes into a caller buffer with optional name compression and never allocates.
 */
#ifndef NT_DNS_H
#define NT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef NT_DNS_MAX_QUESTIONS
#define NT_DNS_MAX_QUESTIONS 8
#endif
#ifndef NT_DNS_MAX_RRS
#define NT_DNS_MAX_RRS 32
#endif
#ifndef NT_DNS_MAX_HOPS
#define NT_DNS_MAX_HOPS 32 /* compression pointers followed in one name */
#endif
#ifndef NT_DNS_TXT_MAX
#define NT_DNS_TXT_MAX 256 /* TXT rdata bytes kept; longer rdata is cut and flagged */
#endif
#ifndef NT_DNS_COMPRESS_MAX
#define NT_DNS_COMPRESS_MAX 64 /* label offsets the builder remembers for compression */
#endif

enum {
	NT_DNS_HEADER_LEN = 12,
	NT_DNS_NAME_MAX = 255, /* wire octets, root label included (RFC 1035 §2.3.4) */
	NT_DNS_LABEL_MAX = 63,
	NT_DNS_NAME_STRLEN = 4 * NT_DNS_NAME_MAX + 2, /* worst case of nt_dns_name_to_str */
};

enum nt_dns_type {
	NT_DNS_TYPE_A = 1,
	NT_DNS_TYPE_CNAME = 5,
	NT_DNS_TYPE_SOA = 6,
	NT_DNS_TYPE_PTR = 12,
	NT_DNS_TYPE_TXT = 16,
	NT_DNS_TYPE_AAAA = 28,
	NT_DNS_TYPE_SRV = 33,
	NT_DNS_TYPE_OPT = 41, /* EDNS(0) pseudo-record: its TTL field holds flags (RFC 6891) */
	NT_DNS_TYPE_ANY = 255,
};

enum {
	NT_DNS_CLASS_IN = 1,
	NT_DNS_CLASS_MASK = 0x7fff,
	NT_DNS_CLASS_TOP = 0x8000, /* cache-flush in records, unicast-response (QU) in questions */
};

enum nt_dns_flag {
	NT_DNS_FLAG_QR = 0x8000,
	NT_DNS_FLAG_OPCODE = 0x7800,
	NT_DNS_FLAG_AA = 0x0400,
	NT_DNS_FLAG_TC = 0x0200,
	NT_DNS_FLAG_RD = 0x0100,
	NT_DNS_FLAG_RA = 0x0080,
	NT_DNS_FLAG_RCODE = 0x000f,
};

enum nt_dns_rcode {
	NT_DNS_RCODE_NOERROR = 0,
	NT_DNS_RCODE_FORMERR = 1,
	NT_DNS_RCODE_SERVFAIL = 2,
	NT_DNS_RCODE_NXDOMAIN = 3,
	NT_DNS_RCODE_NOTIMP = 4,
	NT_DNS_RCODE_REFUSED = 5,
};

enum nt_dns_section {
	NT_DNS_SEC_QUESTION = 0,
	NT_DNS_SEC_ANSWER = 1,
	NT_DNS_SEC_AUTHORITY = 2,
	NT_DNS_SEC_ADDITIONAL = 3,
};

/* Decoder verdicts: 0 or one negative reason, so the caller can count each. */
enum nt_dns_verdict {
	NT_DNS_OK = 0,
	NT_DNS_E_TRUNCATED = -1, /* a field runs past the end of the message */
	NT_DNS_E_LABEL = -2, /* label longer than 63, or a reserved label type (0x40, 0x80) */
	NT_DNS_E_NAME_LEN = -3, /* name longer than 255 octets */
	NT_DNS_E_PTR_FORWARD = -4, /* compression pointer to itself or further on */
	NT_DNS_E_PTR_LOOP = -5, /* pointer back into its own name, or too many hops */
	NT_DNS_E_COUNT = -6, /* header counts need more bytes than the message has */
	NT_DNS_E_RDLEN = -7, /* rdlength does not fit the record type */
	NT_DNS_E_TRAILING = -8, /* bytes after the last record */
};

/* A name in uncompressed wire form: length-prefixed labels ending with the root label. */
struct nt_dns_name {
	uint16_t len; /* octets used in wire, 1..255 */
	uint8_t wire[NT_DNS_NAME_MAX];
};

struct nt_dns_question {
	struct nt_dns_name name;
	uint16_t type;
	uint16_t qclass; /* without the QU bit */
	bool unicast_response; /* QU bit (RFC 6762 §5.4) */
};

struct nt_dns_txt {
	uint16_t len; /* bytes in data */
	bool truncated; /* rdata was longer than NT_DNS_TXT_MAX */
	uint8_t data[NT_DNS_TXT_MAX]; /* length-prefixed strings as on the wire */
};

struct nt_dns_rr {
	struct nt_dns_name name;
	uint16_t type;
	uint16_t rclass; /* without the cache-flush bit */
	bool cache_flush; /* RFC 6762 §10.2 */
	uint8_t section; /* enum nt_dns_section, filled by the decoder */
	uint32_t ttl; /* seconds */
	union {
		struct nt_dns_name ptr; /* PTR and CNAME */
		struct {
			struct nt_dns_name mname, rname;
			uint32_t serial, refresh, retry, expire, minimum;
		} soa;
		struct {
			uint16_t priority, weight, port;
			struct nt_dns_name target;
		} srv;
		struct nt_dns_txt txt;
		uint8_t a[4];
		uint8_t aaaa[16];
	} rd;
};

/*
 * A decoded message. Only A, AAAA, CNAME, SOA, PTR, SRV and TXT records are kept (others are checked for
 * length and skipped); past NT_DNS_MAX_QUESTIONS / NT_DNS_MAX_RRS entries are checked and
 * counted in dropped. Large (~17 KiB): embed it in a long-lived object, not on a small stack.
 */
struct nt_dns_msg {
	uint16_t id, flags;
	uint16_t qdcount, ancount, nscount, arcount; /* as the header says */
	unsigned int nq, nrr; /* entries stored below */
	unsigned int skipped; /* records of other types */
	unsigned int dropped; /* questions and records beyond capacity */
	struct nt_dns_question q[NT_DNS_MAX_QUESTIONS];
	struct nt_dns_rr rr[NT_DNS_MAX_RRS];
};

/* Decodes len bytes into msg; NT_DNS_OK or a negative enum nt_dns_verdict. */
int nt_dns_msg_decode(struct nt_dns_msg *msg, const uint8_t *buf, size_t len);
/*
 * Offsets in buf of the TTL field of every record of a message (answer, authority and
 * additional; OPT pseudo-records left out), up to max of them, for a cache that ages the
 * TTLs of a stored answer. The count (which may exceed max), or a negative verdict.
 */
ssize_t nt_dns_msg_ttl_offsets(const uint8_t *buf, size_t len, uint16_t *offs, size_t max);
/* A short constant description of a verdict, for logs. */
const char *nt_dns_strerror(int verdict);

/* "a.b.local" (a trailing dot is optional; "\." and "\\" escape) to wire form; false if bad. */
bool nt_dns_name_from_str(struct nt_dns_name *out, const char *s);
/* Wire form to text, escaping '.', '\\' and non-printable bytes as in zone files. */
const char *nt_dns_name_to_str(const struct nt_dns_name *name, char *buf, size_t len);
/* ASCII case-insensitive comparison (RFC 4343). */
bool nt_dns_name_equal(const struct nt_dns_name *a, const struct nt_dns_name *b);
/* True if name is exactly one label under parent; label and label_len then give that label. */
bool nt_dns_name_is_child_of(const struct nt_dns_name *name, const struct nt_dns_name *parent,
			     const uint8_t **label, size_t *label_len);

/* Appends one character-string to a TXT record being built; -ENOSPC or -EINVAL (> 255). */
int nt_dns_txt_add(struct nt_dns_txt *txt, const char *s);
/* Finds "key=value" (key case-insensitive, RFC 6763 §6.4) and copies value NUL-terminated. */
bool nt_dns_txt_get(const struct nt_dns_txt *txt, const char *key, char *out, size_t outlen);

/*
 * The builder: init, add questions and records in section order, finish. A record that does
 * not fit returns -ENOSPC and leaves the buffer as it was, so what fits can still be sent.
 */
struct nt_dns_builder {
	uint8_t *buf;
	size_t cap, len;
	uint16_t count[4]; /* indexed by enum nt_dns_section */
	uint8_t section; /* last section written: records must come in order */
	bool compress;
	int err; /* set by init when cap is too small */
	unsigned int nlabels;
	uint16_t labels[NT_DNS_COMPRESS_MAX]; /* offsets of labels written in full */
};

void nt_dns_builder_init(struct nt_dns_builder *b, uint8_t *buf, size_t cap, uint16_t id,
			 uint16_t flags, bool compress);
/* qclass may carry NT_DNS_CLASS_TOP (QU). 0, -ENOSPC, or -EINVAL (after an answer). */
int nt_dns_builder_add_question(struct nt_dns_builder *b, const struct nt_dns_name *name,
				uint16_t type, uint16_t qclass);
/* Writes rr (type A, AAAA, CNAME, SOA, PTR, SRV or TXT) into sec. 0, -ENOSPC or -EINVAL. */
int nt_dns_builder_add_rr(struct nt_dns_builder *b, enum nt_dns_section sec,
			  const struct nt_dns_rr *rr);
/* Fills in the header counts; returns the message length or -ENOSPC (from init). */
ssize_t nt_dns_builder_finish(struct nt_dns_builder *b);

#ifdef __cplusplus
}
#endif
#endif
