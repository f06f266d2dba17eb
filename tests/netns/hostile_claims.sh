#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fake-owner claims (issue 13, finding 4): a hostile member gossips 1100 "machines" claims,
# each signed by a throw-away identity that never completed a handshake with anyone, on
# every address of the VPN prefix 10.1.0.0/24 and beyond it. Their endpoints name a victim
# (192.0.2.99:40999) and bad hints that must never be tried (127.0.0.1, 0.0.0.0, 224.0.0.1,
# all port 40999). What a user would check afterwards:
#   - the members' peer tables hold the real members (and the harness), not 1100 strangers;
#   - no member sends anything to the victim or to the bad endpoints;
#   - every real member still owns its address on every member, and all ping each other;
#   - a newcomer with a static address (e, 10.1.0.20) joins and pings, and one with --dhcp
#     (f) gets an address in 10.1.0.0/24 and pings: the claims did not fill the peer table,
#     the ledger or the address range.
#
#                              ns sw: br0 (192.0.2.0/24)
#     |           |           |            |               |              |          |
#   ns a        ns b        ns c         ns h            ns v           ns e       ns f
#  .1 10.1.0.1 .2 10.1.0.2 .3 10.1.0.3  .66 nt_attack   .99 victim     .20 later: .21 later:
#  (--api; b, c --peer a; e, f --peer b) (member of a)   (counts UDP    10.1.0.20  --dhcp
#                                                        from members)
NT_TEST_NAME=hostile_claims
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 c:3 h:66 v:99 e:20 f:21
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/24 "${common[@]}"
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 "${common[@]}"
start_node c c --address 10.1.0.3/24 --peer 192.0.2.1:51830 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2 c:10.1.0.3)
for x in a b c; do waitiface "$x" netron0; done
wait_until 20 pings_all "${members[@]}" || fail "the members do not all reach each other"
for x in a b c; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done
declare -A id vpn=([a]=10.1.0.1 [b]=10.1.0.2 [c]=10.1.0.3)
for x in a b c; do id[$x]=$(node_id "$x") || fail "$x: node ID"; done
# What the members send to the victim, and to port 40999 anywhere (the bad hints: loopback,
# 0.0.0.0 and multicast, which gets a route so that a try would leave and be counted).
for x in 1 2 3 20 21; do counter_add v filter INPUT from-members -p udp -s "192.0.2.$x"; done
for x in a b c e f; do
	n "$x" ip route add 224.0.0.0/4 dev eth0
	counter_add "$x" filter OUTPUT bad-hints -p udp --dport 40999
done
# Each counter is seen to count once (a probe), so 1 is the count of nothing sent.
probe_udp a 192.0.2.99 9
wait_until 2 counter_is v filter INPUT from-members 1 || fail "the victim's counter does not count"
for x in a b c e f; do
	probe_udp "$x" 127.0.0.1 40999
	[ "$(counter "$x" filter OUTPUT bad-hints)" = 1 ] || fail "$x's bad-hints counter does not count"
done
pretty "a, b and c reach each other; the victim and the bad endpoints are watched"

pretty "the harness joins a and gossips 1100 claims by 1100 throw-away identities"
attack h claims --node 192.0.2.1:51830 --bind 0.0.0.0:40004 \
	fake-claims 1100 --first 10.1.0.1 --endpoint 192.0.2.99:40999 --endpoint 127.0.0.1:40999 \
	--endpoint 0.0.0.0:40999 --endpoint 224.0.0.1:40999 + hold 170
harness_ok claims fake-claims 90
pretty "$(attack_line claims fake-claims)"
# Long enough for the claims to spread by gossip and for several rounds of hint tries.
sleep 12

for x in a b c; do
	check "$x is alive" alive "$x"
	p=$(js "$x" "d['peers']")
	check "$x's peer table holds the real members and the harness, not the claims' owners (peers: $p, want <= 3)" \
		le "${p:-99999}" 3
	h=$(($(counter "$x" filter OUTPUT bad-hints) - 1))
	check "$x sent nothing to the claims' endpoints (loopback, 0.0.0.0, multicast, victim: $h datagrams)" \
		eq "$h" 0
	for y in a b c; do
		o=$(owner_of "$x" "${vpn[$y]}")
		check "on $x, ${vpn[$y]} is owned by $y" eq "$o" "${id[$y]}"
	done
done
v=$(($(counter v filter INPUT from-members) - 1))
check "the victim got nothing from the members ($v datagrams)" eq "$v" 0
check "the members ping each other after the claims" pings_all "${members[@]}"

pretty "newcomers: e with --address 10.1.0.20, f with --dhcp"
start_node e e --address 10.1.0.20/24 --peer 192.0.2.2:51830 "${common[@]}"
start_node f f --dhcp --peer 192.0.2.2:51830 "${common[@]}"
waitiface e netron0
waitiface f netron0
check "e (static 10.1.0.20) reaches b" wait_until 30 pings e 10.1.0.2
check "b reaches e at 10.1.0.20" wait_until 5 pings b 10.1.0.20
f_addr() { n f ip -4 -o addr show dev netron0 | awk '{ print $4 }' | cut -d/ -f1 | grep '^10\.1\.0\.'; }
check "f (--dhcp) gets an address in 10.1.0.0/24" wait_until 30 f_addr
fa=$(f_addr | head -n 1)
if [ -n "$fa" ]; then
	check "f ($fa) reaches b" wait_until 15 pings f 10.1.0.2
	check "b reaches f at $fa" wait_until 5 pings b "$fa"
else
	grep -h 'dhcp' "$NT_TMP/f.log" | tail -n 3 >&2
fi
grep -h 'peer table full' "$NT_TMP"/[abc].log | head -n 2 >&2

for x in a b c e f; do
	h=$(($(counter "$x" filter OUTPUT bad-hints) - 1))
	check "$x sent nothing to the claims' endpoints by the end ($h datagrams)" eq "$h" 0
done
v=$(($(counter v filter INPUT from-members) - 1))
check "the victim got nothing from the members by the end ($v datagrams)" eq "$v" 0
attack_done
