#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What one member holds (review of issue 13's fixes). README "Security model": a peer entry
# exists only for an identity that completed a handshake with us, and "neither one member
# nor identities it mints can crowd others out". A member mints identities for nothing and
# completes a real handshake with each, so the bounds must hold against those too.
#   1. claim-many at a: the harness, under its own identity (an ordinary member), claims the
#      62 free addresses 10.1.0.129-10.1.0.190 (all of 10.1.0.128/26): the ledger lets one
#      owner hold 64 entries, while a node has 4 addresses at most. A user checks that no
#      member shows one owner with more than 4 addresses, and that a newcomer g with --dhcp
#      in 10.1.0.128/26 gets an address there that a routes to g.
#   2. claim-many at a by a second harness identity: 10.1.0.201 and .202, all of
#      10.1.0.200/30. A newcomer f with --dhcp in 10.1.0.200/30 must not end up bound to an
#      address that a routes to somebody else (the ledger's "proven owner" rule is each
#      node's own: the harness never completes a handshake with f, so f ranks its own claim
#      above the harness's older one, while a ranks them the other way round).
#   3. mint-peers at a: 1030 identities complete handshakes with a from the harness's one
#      socket (50/s) and keep their sessions (a keepalive each every 10 s). A newcomer d
#      (--peer a) must still connect to a and ping it, and a must not log "peer table full".
# Then every member is alive and pings every other.
#
#                            ns sw: br0 (192.0.2.0/24)
#       |              |              |                 |                |               |
#     ns a           ns b           ns h              ns g             ns f            ns d
#   192.0.2.1      192.0.2.2      192.0.2.66        192.0.2.6        192.0.2.5       192.0.2.4
#   10.1.0.1       10.1.0.2       nt_attack x3      later: --dhcp    later: --dhcp   later:
#   (netron --api; b --peer a)    (members of a)    10.1.0.128/26    10.1.0.200/30   10.1.0.4
#                                                   (g, f, d: --peer a)
NT_TEST_NAME=hostile_mint
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 h:66 d:4 f:5 g:6
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/24 "${common[@]}"
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2)
for x in a b; do waitiface "$x" netron0; done
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
for x in a b; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done
pretty "a and b reach each other"

# The most addresses one owner has in NODE_NS's /api/machines.
most_per_owner() {
	api_get "$1" 8080 /api/machines | python3 -c '
import collections, json, sys
print(max(collections.Counter(m["PeerID"] for m in json.load(sys.stdin)).values() or [0]))'
}

# dhcp_addr NODE_NS: the 10.1.0.x address on its TUN, if any.
dhcp_addr() { n "$1" ip -4 -o addr show dev netron0 | awk '{ print $4 }' | cut -d/ -f1 | grep '^10\.1\.0\.'; }

# 1. One member claims a whole /26.
attack h claims --node 192.0.2.1:51830 --bind 0.0.0.0:40001 \
	claim-many 62 --first 10.1.0.129 + hold 90
harness_ok claims claim-many 30
pretty "$(attack_line claims claim-many)"
sleep 2
for x in a b; do
	most=$(most_per_owner "$x")
	check "$x shows no owner with more than 4 addresses (most: $most)" le "$most" 4
done
start_node g g --dhcp --address 10.1.0.128/26 --peer 192.0.2.1:51830 "${common[@]}"
waitiface g netron0
check "g (--dhcp in 10.1.0.128/26) gets an address" wait_until 30 dhcp_addr g
ga=$(dhcp_addr g | head -n 1)
if [ -n "$ga" ]; then
	sleep 3
	g_id=$(node_id g)
	check "a routes g's address $ga to g" eq "$(owner_of a "$ga")" "$g_id"
	check "g's address $ga lies in the squatted 10.1.0.128/26" \
		eval "python3 -c 'import ipaddress,sys; sys.exit(ipaddress.ip_address(\"$ga\") not in ipaddress.ip_network(\"10.1.0.128/26\"))'"
	# (No ping: g's interface holds its --dhcp range, a /26 without a's 10.1.0.1, so g's
	# kernel routes nothing of a's, nor a's replies, through netron0.)
fi

# 2. Another member holds a whole /30; a newcomer picks from it.
attack h claims2 --node 192.0.2.1:51830 --bind 0.0.0.0:40003 \
	claim-many 2 --first 10.1.0.201 + hold 90
harness_ok claims2 claim-many 30
pretty "$(attack_line claims2 claim-many)"
sleep 2
start_node f f --dhcp --address 10.1.0.200/30 --peer 192.0.2.1:51830 "${common[@]}"
waitiface f netron0
sleep 15 # f picks, claims and settles (3 s), and learns the ledger from a
fa=$(dhcp_addr f | head -n 1)
if [ -n "$fa" ]; then
	f_id=$(node_id f)
	owner=$(owner_of a "$fa")
	check "f is bound to $fa only if a routes it to f (a: ${owner:0:8}, f: ${f_id:0:8})" \
		eq "$owner" "$f_id"
else
	pretty "f bound no address: the harness holds all of 10.1.0.200/30 (what a says too)"
fi

# 3. A thousand identities with sessions.
pretty "mint-peers at a: 1030 identities complete handshakes from one socket and keep their sessions"
attack h mint --node 192.0.2.1:51830 --bind 0.0.0.0:40002 mint-peers 1030 --rate 50 --hold 60
harness_ok mint mint-peers 60
pretty "$(attack_line mint mint-peers)"
[ "$(attack_field mint mint-peers sessions)" -ge 1000 ] ||
	fail "harness: only $(attack_field mint mint-peers sessions) minted sessions with a"
start_node d d --address 10.1.0.4/24 --peer 192.0.2.1:51830 "${common[@]}"
waitiface d netron0
check "the newcomer d reaches a while the minted identities hold their sessions" \
	wait_until 30 pings d 10.1.0.1
full=$(grep -c 'peer table full' "$NT_TMP/a.log")
check "a never refused a handshake for a full peer table (logged $full times)" eq "$full" 0
for x in a b; do check "$x is alive" alive "$x"; done
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
