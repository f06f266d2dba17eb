// SPDX-License-Identifier: MIT
/*
 * Prometheus text exposition format 0.0.4 for /metrics: one "# HELP" and one "# TYPE"
 * line per family, then its samples; counters end in _total, label values are escaped
 * (backslash, double quote, newline) as the format requires. Peer labels are the short
 * node ID, so the cardinality is bounded by the peer table (--max-peers).
 */
#include "api/api_metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "dataplane/drop.h"
#include "core/log.h"

enum { METRICS_MAX = 8 << 20 }; /* refuse to grow past this: bounded memory */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

NT_PRINTF(2, 3)
static void put(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2;
		char *np;

		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		if (ncap > METRICS_MAX || !(np = realloc(b->p, ncap))) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

static void family(struct sbuf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \\, \" and \n escaped; out of at least 2*strlen+1 bytes. */
static const char *escape(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 3 < cap; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
	return out;
}

static void peer_family(struct sbuf *b, const struct nt_status *s, const char *name,
			const char *type, const char *help, size_t off)
{
	family(b, name, type, help);
	for (unsigned int i = 0; i < s->n_peers; i++) {
		const struct nt_peer_status *p = &s->peers[i];
		uint64_t v;

		memcpy(&v, (const char *)p + off, sizeof(v));
		put(b, "%s{peer=\"%s\"} %" PRIu64 "\n", name, p->id_short, v);
	}
}

char *nt_api_metrics_render(const struct nt_status *s, const struct nt_api_metrics_extra *x,
			    size_t *len)
{
	struct sbuf b = { malloc(4096), 0, 4096, false };
	unsigned int connected = 0;
	char esc[256];

	if (!b.p)
		return NULL;
	for (unsigned int i = 0; i < s->n_peers; i++)
		connected += s->peers[i].connected;

	family(&b, "netron_info", "gauge", "Build and identity of this node (always 1).");
	put(&b, "netron_info{version=\"%s\",node=\"%s\",network=\"%s\"} 1\n",
	    escape(x->version ? x->version : "", esc, sizeof(esc)), s->id_short, s->fingerprint);
	family(&b, "netron_uptime_seconds", "gauge", "Seconds since the node started.");
	put(&b, "netron_uptime_seconds %" PRIu64 "\n", s->uptime_ms / 1000);
	family(&b, "netron_peers", "gauge", "Members in the peer table.");
	put(&b, "netron_peers %u\n", s->n_peers);
	family(&b, "netron_peers_connected", "gauge", "Members with a usable session.");
	put(&b, "netron_peers_connected %u\n", connected);
	family(&b, "netron_handshakes_total", "counter", "Handshakes completed or failed.");
	put(&b, "netron_handshakes_total{result=\"ok\"} %" PRIu64 "\n", s->handshakes_ok);
	put(&b, "netron_handshakes_total{result=\"failed\"} %" PRIu64 "\n", s->handshakes_failed);
	family(&b, "netron_drops_total", "counter", "Packets dropped, by reason.");
	for (unsigned int r = 0; r < NT_DROP_COUNT && r < NT_ARRAY_SIZE(s->drops); r++)
		put(&b, "netron_drops_total{reason=\"%s\"} %" PRIu64 "\n", nt_drop_reason_name(r),
		    s->drops[r]);
	family(&b, "netron_rx_bytes_total", "counter", "Inner payload bytes received from members.");
	put(&b, "netron_rx_bytes_total %" PRIu64 "\n", s->rx_bytes);
	family(&b, "netron_tx_bytes_total", "counter", "Inner payload bytes sent to members.");
	put(&b, "netron_tx_bytes_total %" PRIu64 "\n", s->tx_bytes);
	peer_family(&b, s, "netron_peer_rx_bytes_total", "counter",
		    "Inner payload bytes received from one member.",
		    offsetof(struct nt_peer_status, rx_bytes));
	peer_family(&b, s, "netron_peer_tx_bytes_total", "counter",
		    "Inner payload bytes sent to one member.",
		    offsetof(struct nt_peer_status, tx_bytes));
	peer_family(&b, s, "netron_peer_rx_packets_total", "counter",
		    "Packets received from one member.", offsetof(struct nt_peer_status, rx_packets));
	peer_family(&b, s, "netron_peer_tx_packets_total", "counter",
		    "Packets sent to one member.", offsetof(struct nt_peer_status, tx_packets));
	family(&b, "netron_peer_connected", "gauge", "1 when the member has a usable session.");
	for (unsigned int i = 0; i < s->n_peers; i++)
		put(&b, "netron_peer_connected{peer=\"%s\",path=\"%s\"} %d\n", s->peers[i].id_short,
		    s->peers[i].path == NT_PATH_DIRECT  ? "direct" :
		    s->peers[i].path == NT_PATH_LAN     ? "lan" :
		    s->peers[i].path == NT_PATH_RELAYED ? "relayed" : "none",
		    s->peers[i].connected ? 1 : 0);
	family(&b, "netron_peer_rtt_seconds", "gauge", "Round-trip time to one member, when measured.");
	for (unsigned int i = 0; i < s->n_peers; i++)
		if (s->peers[i].rtt_us)
			put(&b, "netron_peer_rtt_seconds{peer=\"%s\"} %u.%06u\n", s->peers[i].id_short,
			    s->peers[i].rtt_us / 1000000, s->peers[i].rtt_us % 1000000);
	if (x->has_ledger) {
		family(&b, "netron_ledger_entries", "gauge", "Entries stored in the ledger.");
		put(&b, "netron_ledger_entries %" PRIu64 "\n", x->ledger_entries);
		family(&b, "netron_ledger_capacity", "gauge", "Entries the ledger can hold.");
		put(&b, "netron_ledger_capacity %" PRIu64 "\n", x->ledger_capacity);
		family(&b, "netron_ledger_refused_total", "counter",
		       "Entries refused because the ledger was full.");
		put(&b, "netron_ledger_refused_total %" PRIu64 "\n", x->ledger_refused);
	}
	if (x->has_dht) {
		family(&b, "netron_dht_nodes", "gauge", "Nodes in the DHT routing tables.");
		put(&b, "netron_dht_nodes %" PRIu64 "\n", x->dht_nodes);
	}
	family(&b, "netron_control_bytes_total", "counter",
	       "UDP payload bytes of discovery and ledger agreement, by protocol and direction.");
	put(&b, "netron_control_bytes_total{proto=\"dht\",dir=\"tx\"} %" PRIu64 "\n", s->dht_tx_bytes);
	put(&b, "netron_control_bytes_total{proto=\"dht\",dir=\"rx\"} %" PRIu64 "\n", s->dht_rx_bytes);
	put(&b, "netron_control_bytes_total{proto=\"mdns\",dir=\"tx\"} %" PRIu64 "\n", s->mdns_tx_bytes);
	put(&b, "netron_control_bytes_total{proto=\"mdns\",dir=\"rx\"} %" PRIu64 "\n", s->mdns_rx_bytes);
	put(&b, "netron_control_bytes_total{proto=\"gossip\",dir=\"tx\"} %" PRIu64 "\n", s->gossip_tx_bytes);
	put(&b, "netron_control_bytes_total{proto=\"gossip\",dir=\"rx\"} %" PRIu64 "\n", s->gossip_rx_bytes);
	family(&b, "netron_resident_memory_bytes", "gauge", "Resident set size of the process.");
	put(&b, "netron_resident_memory_bytes %" PRIu64 "\n", x->resident_bytes);
	family(&b, "netron_memory_bytes", "gauge",
	       "Memory by use: heap, packet_buffers, ledger and tables are allocated bytes that do not overlap; libraries is resident file-backed pages.");
	put(&b, "netron_memory_bytes{kind=\"heap\"} %" PRIu64 "\n", s->memory.heap);
	put(&b, "netron_memory_bytes{kind=\"packet_buffers\"} %" PRIu64 "\n", s->memory.packet_buffers);
	put(&b, "netron_memory_bytes{kind=\"ledger\"} %" PRIu64 "\n", s->memory.ledger);
	put(&b, "netron_memory_bytes{kind=\"tables\"} %" PRIu64 "\n", s->memory.tables);
	put(&b, "netron_memory_bytes{kind=\"libraries\"} %" PRIu64 "\n", s->memory.libraries);
	family(&b, "netron_api_requests_total", "counter", "HTTP API requests, by outcome.");
	put(&b, "netron_api_requests_total{outcome=\"answered\"} %" PRIu64 "\n", x->api_requests);
	put(&b, "netron_api_requests_total{outcome=\"refused\"} %" PRIu64 "\n", x->api_refused);
	if (s->dns.enabled) {
		static const char *const results[NT_DNS_RESULT_MAX] = {
			"answer", "record", "nxdomain", "nodata", "formerr", "notimp",
			"forwarded", "cached", "servfail", "ratelimited",
		};

		family(&b, "netron_dns_queries_total", "counter", "DNS queries received (--dns), by transport.");
		put(&b, "netron_dns_queries_total{proto=\"udp\"} %" PRIu64 "\n", s->dns.queries_udp);
		put(&b, "netron_dns_queries_total{proto=\"tcp\"} %" PRIu64 "\n", s->dns.queries_tcp);
		family(&b, "netron_dns_answers_total", "counter",
		       "DNS queries by what became of them (ratelimited: dropped unanswered).");
		for (int i = 0; i < NT_DNS_RESULT_MAX; i++)
			put(&b, "netron_dns_answers_total{result=\"%s\"} %" PRIu64 "\n", results[i],
			    s->dns.results[i]);
		family(&b, "netron_dns_names", "gauge", "Names in the zone: members and records of bucket dns.");
		put(&b, "netron_dns_names{kind=\"member\"} %u\n", s->dns.members);
		put(&b, "netron_dns_names{kind=\"record\"} %u\n", s->dns.records);
	}
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

uint64_t nt_api_metrics_rss(void)
{
	unsigned long long size, resident;
	FILE *f = fopen("/proc/self/statm", "re");
	long page = sysconf(_SC_PAGESIZE);
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2 || page <= 0)
		return 0;
	return (uint64_t)resident * (uint64_t)page;
}
