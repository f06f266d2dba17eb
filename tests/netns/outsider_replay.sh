#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A replayed handshake message (review of issue 13's fixes). README "Security model":
# workers never wait on anything a stranger can send. The worker checks mac1 before a FIN
# may make it wait for the loop, but mac1 is a MAC of the message alone: a FIN seen once on
# a member's path passes it forever. Here the harness makes a real FIN with the token and
# keeps it instead of sending it (what anyone on the path holds once the handshake is long
# over), waits until a gives that handshake up, then replays it, each time followed by a
# data frame for the index it names, 200 pairs/s for 10 s, without any session.
# What a user would check: no worker of a waited for the loop (/api/summary workers[].waits),
# b keeps reaching a, and the replays get no answer.
#
#                      ns sw: br0 (192.0.2.0/24)
#          |                       |                         |
#        ns a                    ns b                      ns h
#   192.0.2.1 10.1.0.1      192.0.2.2 10.1.0.2      192.0.2.66 nt_attack
#   --workers 2, --peer b   (one thread)            (the token only to make one FIN)
NT_TEST_NAME=outsider_replay
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 h:66
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --workers 2 "${common[@]}"
start_node b b --address 10.1.0.2/24 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2)
for x in a b; do waitiface "$x" netron0; done
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
for x in a b; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done
pretty "a (--workers 2) and b reach each other"

declare -A waits0
for w in 0 1; do
	waits0[$w]=$(summary_key a workers "$w" waits)
	[[ ${waits0[$w]} =~ ^[0-9]+$ ]] || fail "a's /api/summary has no workers[$w].waits"
done
pretty "fin-replay at a: a real FIN of a handshake a gave up, and a data frame for its index, 200 pairs/s for 10 s"
attack h fin --node 192.0.2.1:51830 --bind 0.0.0.0:40001 fin-replay --rate 200 --duration 10
ping_fail=0
for _ in 1 2 3 4 5 6; do
	sleep 2.5
	pings b 10.1.0.1 2 || ping_fail=$((ping_fail + 1))
done
harness_ok fin fin-replay 30
pretty "$(attack_line fin fin-replay)"
check "b reached a during the replay ($ping_fail of 6 pings failed)" eq "$ping_fail" 0
recv=$(attack_field fin fin-replay recv)
check "the replays got no answer (got $recv datagrams)" eq "$recv" 0
check "a is alive after the replay" alive a
for w in 0 1; do
	waits=$(summary_key a workers "$w" waits)
	check "a's worker $w did not wait for the loop ($((waits - ${waits0[$w]})) waits)" \
		eq "$waits" "${waits0[$w]}"
done
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
