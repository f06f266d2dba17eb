#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interoperability with a real Mainline DHT implementation: the only DHT node the members
# are given is a libtorrent-rasterbar node (python3-libtorrent, tests/netns/lt_dht_node.py)
# that has no bootstrap nodes of its own and no route out of the test topology. Five
# members in four routed subnets (no multicast crosses the router), --mdns off, must all
# find each other through it: every pair pings within 60 s (the time to the first ping and
# to all of them is printed). The libtorrent node must really have taken part: it saw
# queries from every member, stored every member's announce of one common info-hash (at
# the member's real address and port: implied_port), served get_peers for it and handed
# out peers, has members in its routing table, got answers from members to its own
# queries, and sent no error answers; the members' node IDs are BEP 42 IDs of their
# addresses. What lt_dht_node.py saw is printed.
#
#                       ns r (router, ip_forward) ---- 10.10.9.0/24 ---- ns lt (libtorrent
#        10.10.1.1/24  10.10.2.1/24  10.10.3.1/24  10.10.4.1/24          10.10.9.2:6881)
#            |              |             |             |
#          br s1          br s2         br s3         br s4
#        n11  n12          n21           n31           n41        (10.10.i.1j)
#   VPN: 10.1.0.11 ...                                10.1.0.41
#
# Skips (77) when /usr/bin/python3 cannot import libtorrent (Debian: python3-libtorrent).
NT_TEST_NAME=dht_interop
source "$(dirname "$0")/lib.sh"
LT_PY=${NT_LT_PYTHON:-/usr/bin/python3} # Debian's python3-libtorrent is for the system Python
LT_SCRIPT="$(cd "$(dirname "$0")" && pwd)/lt_dht_node.py"
[ -x "$LT_PY" ] && "$LT_PY" -c 'import libtorrent' >/dev/null 2>&1 ||
	skip "$LT_PY cannot import libtorrent (install python3-libtorrent)"
require_root

LT_IP=10.10.9.2
LT_PORT=6881
LT_STATE="$NT_TMP/lt-state.json"

ns_add r
n r sysctl -qw net.ipv4.ip_forward=1
ns_add lt
link r 10.10.9.1/24 lt "$LT_IP/24"
# Only our own subnets are reachable from lt (no default route; nor has the router one).
n lt ip route add 10.10.0.0/16 via 10.10.9.1
nodes=(n11 n12 n21 n31 n41)
for i in 1 2 3 4; do
	ns_add "s$i"
	bridge_add "s$i"
	bridge_port "s$i" r "10.10.$i.1/24" "eth$i"
done
for x in "${nodes[@]}"; do
	i=${x:1:1}
	ns_add "$x"
	bridge_port "s$i" "$x" "10.10.$i.${x#n}/24"
	n "$x" ip route add default via "10.10.$i.1"
done
for x in r lt; do
	n "$x" ip route show | grep -q '^default' && fail "$x must have no default route"
done

bg lt lt "$LT_PY" "$LT_SCRIPT" "$LT_IP" "$LT_PORT" "$LT_STATE" "$NT_TMP/lt-dht.txt"
lt_listening() {
	n lt ss -Huln "sport = :$LT_PORT" | grep -q ":$LT_PORT" &&
		grep -q '"dht_started": true' "$LT_STATE" 2>/dev/null
}
wait_until 10 lt_listening || fail "the libtorrent DHT node is not listening on $LT_IP:$LT_PORT"
"$LT_PY" -c 'import libtorrent as lt; print("libtorrent", lt.__version__)' | while read -r l; do pretty "$l"; done

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
make_token
t0=$SECONDS
t0_ms=$(now_ms)
for x in "${nodes[@]}"; do
	NETRONTOKEN=$NT_TOKEN start_node "$x" "$x" --address "10.1.0.${x#n}/24" --mdns off \
		--bootstrap "$LT_IP:$LT_PORT"
done
for x in "${nodes[@]}"; do waitiface "$x" netron0; done

# Every ordered pair must ping; pairs that did are not pinged again.
declare -A done_pair=()
t_first=""
all_pairs() {
	local x y ok=0
	for x in "${nodes[@]}"; do
		for y in "${nodes[@]}"; do
			[ "$x" = "$y" ] && continue
			[ -n "${done_pair[$x$y]:-}" ] && continue
			if n "$x" ping -c 1 -W 1 "10.1.0.${y#n}" >/dev/null 2>&1; then
				done_pair[$x$y]=1
				[ -n "$t_first" ] || t_first=$(secs $(($(now_ms) - t0_ms)))
			else
				ok=1
			fi
		done
	done
	return $ok
}
npairs=$(( ${#nodes[@]} * (${#nodes[@]} - 1) ))
deadline=$((t0 + 60))
until all_pairs; do
	[ $SECONDS -lt $deadline ] || {
		[ -f "$LT_STATE" ] && cat "$LT_STATE" >&2
		fail "only ${#done_pair[@]} of $npairs pairs ping within 60 s (first ping: ${t_first:-none})"
	}
	sleep 0.5
done
t_all=$(secs $(($(now_ms) - t0_ms)))
pretty "first ping $t_first s after the members started, all $npairs pairs ping after $t_all s"

# What the libtorrent node saw. A member announces once its announce lookup has ended
# (which may be after it already pings everybody): wait up to 40 s for all of that.
check_lt() {
	"$LT_PY" - "$LT_STATE" "${nodes[@]}" <<'EOF'
import json, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF

def bep42_ok(ip, nid):
    # BEP 42 for IPv4 (what libtorrent checks with dht_enforce_node_id on public IPs)
    a = bytes(int(x) for x in ip.split("."))
    r = nid[19] & 7
    v = (int.from_bytes(a, "big") & 0x030F3FFF) | (r << 29)
    crc = crc32c(v.to_bytes(4, "big"))
    return (nid[0] == crc >> 24 & 0xFF and nid[1] == crc >> 16 & 0xFF
            and nid[2] & 0xF8 == crc >> 8 & 0xF8)

# BEP 42 test vectors
for ip, nid in (("124.31.75.21", "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401"),
                ("21.75.31.124", "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256"),
                ("65.23.51.170", "a5d43220bc8f112a3d426c84764f8c2a1150e616"),
                ("84.124.73.14", "1b0321dd1bb1fe518101ceef99462b947a01ff41"),
                ("43.213.53.83", "e56f6cbf5b7c4be0237986d5243b87aa6d51305a")):
    assert bep42_ok(ip, bytes.fromhex(nid)), ip

st = json.load(open(sys.argv[1]))
members = ["10.10.%s.%s" % (x[1], x[1:]) for x in sys.argv[2:]]
errs = []
q_ips = {ep.rsplit(":", 1)[0]: v for ep, v in st["queries"].items()}
for ip in members:
    if ip not in q_ips:
        errs.append("no DHT query from %s" % ip)
ann = {}
for ih, ip, port in st["announces"]:
    ann.setdefault(ih, set()).add((ip, port))
common = [ih for ih, s in ann.items() if {ip for ip, _ in s} >= set(members)]
if not common:
    errs.append("no info-hash announced by every member: %s"
                % {ih: sorted(s) for ih, s in ann.items()})
else:
    bad = [(ip, p) for ip, p in ann[common[0]] if ip in members and p != 51830]
    if bad:
        errs.append("announces stored with the wrong port (implied_port): %s" % bad)
    if not st["get_peers"].get(common[0]):
        errs.append("no get_peers for the rendezvous info-hash")
got_values = {ep.rsplit(":", 1)[0]: v for ep, v in st["values_sent"].items()}
if not any(ip in members for ip in got_values):
    errs.append("libtorrent handed out no peers to any member")
answered = sorted(ep.rsplit(":", 1)[0] for ep in st["answers_received"])
if not set(answered) & set(members):
    errs.append("no member answered a query of libtorrent's")
ids = {ep.rsplit(":", 1)[0]: bytes.fromhex(i) for ep, i in st["ids"].items()}
not42 = [ip for ip in members if ip in ids and not bep42_ok(ip, ids[ip])]
if not42:
    errs.append("member node IDs not BEP 42 for their address: %s"
                % {ip: ids[ip].hex() for ip in not42})
live = {ip for _, ip, _ in st["live_nodes"]}
in_table = sorted(live & set(members))
if not in_table and st["dht_nodes"] == 0:
    errs.append("no member in libtorrent's routing table")
if st["errors_sent"]:
    errs.append("libtorrent sent error answers: %s" % st["errors_sent"][:10])
print("libtorrent node id %s" % st["node_id"])
print("queries seen: %s" % ", ".join(
    "%s %s" % (ip, {k: v for k, v in sorted(q.items()) if k != "v"})
    for ip, q in sorted(q_ips.items())))
print("client versions: %s" % sorted({q.get("v", "-") for q in q_ips.values()}))
if common:
    print("info-hash %s stored from %s" % (common[0], sorted(ann[common[0]])))
    print("get_peers served for it: %d" % st["get_peers"].get(common[0], 0))
print("peers handed out in get_peers answers: %s" % ", ".join(
    "%s <- %s" % (ip, sorted(v)) for ip, v in sorted(got_values.items())))
print("its own queries to members: %s; answered by %s" % (", ".join(
    "%s %s" % (ep, q) for ep, q in sorted(st["queries_sent"].items())), answered))
print("member node IDs (BEP 42 for their address: %s): %s" % (not not42, ", ".join(
    "%s %s" % (ip, ids[ip].hex()[:8]) for ip in members if ip in ids)))
if st["errors_received"]:
    print("error answers received: %s" % st["errors_received"][:10])
print("routing table: %d nodes (status().dht_nodes %d), members in it: %s"
      % (len(live), st["dht_nodes"], in_table))
print("error answers sent: %d" % len(st["errors_sent"]))
for e in errs:
    print("ERROR: " + e)
sys.exit(1 if errs else 0)
EOF
}
t1=$SECONDS
wait_until 40 check_lt
out=$(check_lt 2>&1)
rc=$?
pretty "libtorrent state checked $((SECONDS - t1)) s after the last ping"
while read -r l; do pretty "libtorrent: $l"; done <<<"$out"
[ $rc -eq 0 ] || fail "the libtorrent node did not take part as expected"
for x in "${nodes[@]}"; do
	grep -q "dht: a member may be at" "$NT_TMP/$x.log" || fail "$x got no member from the DHT"
done
echo "dht_interop: 1 passed, 0 failed"
