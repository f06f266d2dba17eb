#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Filling the ledger with throw-away identities (review of issue 13's fixes). README
# "Security model": half of the ledger is kept for address claims and a key holds two claims
# at most, "so neither one member nor identities it mints can crowd others out". A key
# holding two claims at most bounds a /24 (254 keys) well below the ledger's 4096 entries,
# but not a /16: one claim on each of 4200 free addresses of 10.1.0.0/16, each signed by a
# key minted for it that never completed a handshake with anyone, fills every member's
# ledger with claims that route nowhere, and an honest newcomer's claim finds no room.
# What a user would check afterwards: a newcomer e (static 10.1.0.20/16) is routed by a
# and b, and pings them both.
#
#                         ns sw: br0 (192.0.2.0/24)
#          |                   |                   |                     |
#        ns a                ns b                ns h                  ns e
#   192.0.2.1 10.1.0.1/16  192.0.2.2 10.1.0.2/16  192.0.2.66          192.0.2.20
#   (--api)                (--peer a)          nt_attack (member    later: 10.1.0.20/16
#                                              of a)                (--peer a)
NT_TEST_NAME=hostile_fill
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 h:66 e:20
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/16 "${common[@]}"
start_node b b --address 10.1.0.2/16 --peer 192.0.2.1:51830 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2)
declare -A vpn=([a]=10.1.0.1 [b]=10.1.0.2)
for x in a b; do waitiface "$x" netron0; done
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
for x in a b; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done
pretty "a and b reach each other"

pretty "the harness joins a and gossips 4200 claims on 10.1.1.1 on, by 4200 throw-away identities"
attack h claims --node 192.0.2.1:51830 --bind 0.0.0.0:40001 \
	fake-claims 4200 --first 10.1.1.1 --ttl 600 + hold 120
harness_ok claims fake-claims 90
pretty "$(attack_line claims fake-claims)"
sleep 5 # the claims spread from a to b
for x in a b; do check "$x is alive" alive "$x"; done

start_node e e --address 10.1.0.20/16 --peer 192.0.2.1:51830 "${common[@]}"
waitiface e netron0
wait_until 10 node_id e || fail "e: no API"
e_id=$(node_id e)
[ ${#e_id} -eq 64 ] || fail "e: node ID '$e_id'"
e_routed() { [ "$(owner_of "$1" 10.1.0.20)" = "$e_id" ]; }
for x in a b; do
	check "$x routes the newcomer's 10.1.0.20 to it" wait_until 20 e_routed "$x"
	check "the newcomer e reaches $x" wait_until 10 pings e "${vpn[$x]}"
done
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
