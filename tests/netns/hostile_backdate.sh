#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Back-dating by an update (review of issue 13's fixes). README "Security model": a member
# cannot take an address a live member holds, by back-dating its claim or otherwise. A new
# owner's claim that says it is older than the holder's is refused outside the 2 s race
# window (REJ_HELD); but the rule looks only at a new owner for the key. The harness, a
# member of a, first claims b's address 10.1.0.2 honestly, with claimed_at now: younger than
# b's, so every node keeps it as a losing claim. Three seconds later it publishes a new
# version of that same claim with claimed_at one second before b's. The same for c's
# 10.1.0.3 with claimed_at = 1 (1970). The harness has a session with every member under
# that one identity, as any member has.
# What a user would check: on every member 10.1.0.2 is still b's and 10.1.0.3 c's, b and c
# keep their addresses, report no conflict, and are reached there.
#
#                          ns sw: br0 (192.0.2.0/24)
#        |                    |                    |                    |
#      ns a                 ns b                 ns c                 ns h
#   192.0.2.1 10.1.0.1   192.0.2.2 10.1.0.2   192.0.2.3 10.1.0.3   192.0.2.66 nt_attack
#   (netron --api; b and c --peer a)                                (a member of a)
NT_TEST_NAME=hostile_backdate
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
pretty "a, b and c reach each other"

# holds ADDR NAME: on every member, ADDR belongs to NAME; NAME still has it on its TUN,
# reports no conflict, and is reached there.
holds() {
	local addr=$1 who=$2 x o
	for x in a b c; do
		o=$(owner_of "$x" "$addr")
		check "on $x, $addr is owned by $who (owner: ${o:0:8})" eq "$o" "${id[$who]}"
	done
	check "$who keeps $addr on its interface" \
		eval "n $who ip -4 addr show dev netron0 | grep -q 'inet $addr/'"
	check "$who reports no address conflict" eq "$(js "$who" "d['conflicts']")" "[]"
	for x in a b c; do
		[ "$x" = "$who" ] && continue
		check "$x reaches $who at $addr" pings "$x" "$addr" 2
	done
}

# One identity for the harness, with a session with every member (as any member has).
hid=$NT_TMP/harness-identity
mkdir -p "$hid"
attack h join-b --state-dir "$hid" --node 192.0.2.2:51830 --bind 0.0.0.0:40002 join + hold 120
harness_ok join-b join 20
attack h join-c --state-dir "$hid" --node 192.0.2.3:51830 --bind 0.0.0.0:40003 join + hold 120
harness_ok join-c join 20
attack h addr --state-dir "$hid" --node 192.0.2.1:51830 --bind 0.0.0.0:40001 \
	join + backdate 10.1.0.2 --claimed-at before --update 1 + hold 5 + \
	backdate 10.1.0.3 --claimed-at 1 --update 1 + hold 60

harness_ok addr backdate 40
pretty "$(attack_line addr backdate)"
sleep 3
holds 10.1.0.2 b

wait_until 30 eval "attack_line addr backdate | grep -q 'addr=10.1.0.3 '" || fail "harness: no second backdate"
pretty "$(attack_line addr backdate)"
sleep 3
holds 10.1.0.3 c
for x in a b c; do check "$x is alive" alive "$x"; done
attack_done
