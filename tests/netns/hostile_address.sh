#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Taking addresses (issue 13, finding 5): a hostile member claims, under its own identity,
#   1. b's address 10.1.0.2 with claimed_at one second before b's own claim (it reads b's
#      claim from the ledger, as any member can);
#   2. c's address 10.1.0.3 with claimed_at = 1 (1970);
#   3. 198.51.100.7, outside the network's VPN prefix 10.1.0.0/24, and then sends a an ICMP
#      echo from 198.51.100.7 inside its session.
# What a user would check: on every member, /api/machines still shows 10.1.0.2 owned by b
# and 10.1.0.3 by c; b and c keep their addresses (no conflict reported) and are reached
# there; 198.51.100.7 belongs to nobody; a's TUN never sees a packet from 198.51.100.7 (an
# iptables counter in a's raw PREROUTING on netron0), and a counts those packets as
# drops.spoofed_source instead.
#
#                          ns sw: br0 (192.0.2.0/24)
#        |                    |                    |                    |
#      ns a                 ns b                 ns c                 ns h
#   192.0.2.1 10.1.0.1   192.0.2.2 10.1.0.2   192.0.2.3 10.1.0.3   192.0.2.66 nt_attack
#   (netron --api; b and c --peer a)                                (a member of a)
NT_TEST_NAME=hostile_address
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 c:3 h:66
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
declare -A id
for x in a b c; do id[$x]=$(node_id "$x") || fail "$x: node ID"; done
counter_add a raw PREROUTING foreign-in -i netron0 -s 198.51.100.7
spoofed0=$(js a "d['drops']['spoofed_source']")
pretty "a, b and c reach each other"

# holds ADDR NAME: on every member, ADDR belongs to NAME; NAME still has it on its TUN,
# reports no conflict, and is reached there.
holds() {
	local addr=$1 who=$2 x o
	for x in a b c; do
		o=$(owner_of "$x" "$addr")
		check "on $x, $addr is owned by $who" eq "$o" "${id[$who]}"
	done
	check "$who keeps $addr on its interface" \
		eval "n $who ip -4 addr show dev netron0 | grep -q 'inet $addr/'"
	check "$who reports no address conflict" eq "$(js "$who" "d['conflicts']")" "[]"
	for x in a b c; do
		[ "$x" = "$who" ] && continue
		check "$x reaches $who at $addr" pings "$x" "$addr" 2
	done
}

attack h addr --node 192.0.2.1:51830 --bind 0.0.0.0:40006 \
	join + backdate 10.1.0.2 --claimed-at before + hold 10 + \
	backdate 10.1.0.3 --claimed-at 1 + hold 10 + \
	foreign-claim 198.51.100.7 --dst 10.1.0.1 --count 5 + hold 120

# 1. One second before the holder's claim.
harness_ok addr backdate 40
pretty "$(attack_line addr backdate)"
sleep 3
holds 10.1.0.2 b

# 2. claimed_at = 1.
wait_until 30 eval "attack_line addr backdate | grep -q 'addr=10.1.0.3 '" || fail "harness: no second backdate"
pretty "$(attack_line addr backdate)"
sleep 3
holds 10.1.0.3 c

# 3. Outside the VPN prefix, then packets from there.
harness_ok addr foreign-claim 40
pretty "$(attack_line addr foreign-claim)"
sleep 2
for x in a b c; do
	o=$(owner_of "$x" 198.51.100.7)
	check "on $x, 198.51.100.7 (outside 10.1.0.0/24) belongs to nobody (owner: ${o:-none})" eq "$o" ""
done
sent=$(attack_field addr foreign-claim sent_packets)
seen=$(counter a raw PREROUTING foreign-in)
check "a's TUN saw none of the $sent packets from 198.51.100.7 (saw $seen)" eq "$seen" 0
spoofed=$(($(js a "d['drops']['spoofed_source']") - spoofed0))
check "a counted them as spoofed_source ($spoofed of $sent)" at_least "$spoofed" "$sent"
for x in a b c; do check "$x is alive" alive "$x"; done
check "the members ping each other at the end" pings_all "${members[@]}"
attack_done
