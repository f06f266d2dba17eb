#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Where a hostile member can make the members send (review of issue 13's fixes). README
# "Security model": nothing is sent to an address that has not proven, by a round trip, that
# it receives there, beyond 4 times the size of what drew it. The victim (ns v) counts the
# UDP that a, b and c send it, on one port (range) per attack, and each attack's count must
# stay within 4x of every byte the attacker sent for it:
#   1. spoof-fin at a, ports 41000-41007: 8 identities minted by the harness complete handshakes
#      with a from the harness's socket, except for their last message (FIN), which comes
#      with the victim's source address (a port each). The harness confirms each session
#      with one keepalive from its own socket and leaves (a keeps them for 55 s). a takes the FIN's source as the new member's endpoint (unproven)
#      and tells b and c of it (PEX), who try it for 10 minutes.
#   2. spoof-fin --relay at a, ports 41020-41021: the same for 2 identities whose INIT and RESP go
#      through the harness's own session (a RELAYED from it, a RELAY back), so a takes the
#      spoofed FIN for the end of a round trip and the victim's address as proven; each
#      identity then sends 5 gossip DIGESTs from the harness's own socket, and a's SUMMARY
#      answers (and its ANNOUNCE, PEX, keepalives) go to the victim.
#   3. pex at b, ports 41100-41131: one PEX message naming 32 unknown member IDs at the
#      victim's address, which b tries for 10 minutes.
# Then every member is alive and pings every other.
#
#                            ns sw: br0 (192.0.2.0/24)
#       |              |              |                  |                     |
#     ns a           ns b           ns c               ns h                  ns v
#   192.0.2.1      192.0.2.2      192.0.2.3          192.0.2.66            192.0.2.99
#   10.1.0.1       10.1.0.2       10.1.0.3           nt_attack             the victim:
#   (a, b, c: netron --api; b and c --peer a)        (3 instances)         counts UDP per port
NT_TEST_NAME=hostile_paths
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

WATCH_S=45 # how long the victim counts after the attacks start

attack_lan a:1 b:2 c:3 h:66 v:99
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
declare -A ports=([fin-direct]=41000:41015 [fin-relay]=41020:41023 [pex]=41100:41131)
for tag in "${!ports[@]}"; do
	for x in a:1 b:2 c:3; do
		counter_add v filter INPUT "$tag-${x%%:*}" -p udp -s "192.0.2.${x#*:}" --dport "${ports[$tag]}"
	done
	probe_udp a 192.0.2.99 "${ports[$tag]%%:*}"
	wait_until 2 counter_is v filter INPUT "$tag-a" 1 || fail "the victim's $tag counter does not count"
done
pretty "a, b and c reach each other; the victim counts what they send it, by port"

# UDP payload bytes counted under TAG-NODE at the victim, less the probe (from a).
victim_bytes() {
	local p b
	p=$(counter v filter INPUT "$1")
	b=$(counter v filter INPUT "$1" bytes)
	[ "${1##*-}" = a ] && b=$((b - 5))
	echo $((b - 28 * p))
}
# a's peers whose endpoint is at the victim's address.
peers_at_victim() {
	api_json a 8080 /api/peers "sum(1 for p in d if (p['endpoint'] or '').startswith('192.0.2.99:'))"
}

attack h fin --node 192.0.2.1:51830 --bind 0.0.0.0:40001 \
	spoof-fin --as 192.0.2.99:41000 --count 8 --hold 0
attack h relay --node 192.0.2.1:51830 --bind 0.0.0.0:40002 \
	spoof-fin --as 192.0.2.99:41020 --count 2 --relay 1 --digests 5 --hold 20
attack_fg h pex --node 192.0.2.2:51830 --bind 0.0.0.0:40003 \
	pex --endpoint 192.0.2.99:41100 --count 32
harness_ok pex pex 1
pretty "$(attack_line pex pex)"
t0=$SECONDS
harness_ok fin spoof-fin $((WATCH_S + 20))
harness_ok relay spoof-fin $((WATCH_S + 20))
pretty "$(attack_line fin spoof-fin)"
pretty "$(attack_line relay spoof-fin)"
[ "$(attack_field fin spoof-fin sessions)" -ge 6 ] ||
	fail "harness: only $(attack_field fin spoof-fin sessions) of 8 minted sessions with a"
[ "$(attack_field relay spoof-fin sessions)" -ge 1 ] ||
	fail "harness: no relayed minted session with a"
# The FIN's source is not where the round trip went: no member may be taken to live there.
at_victim=$(peers_at_victim)
check "a lists no peer at the victim's address (got $at_victim)" eq "$at_victim" 0
[ $((SECONDS - t0)) -lt "$WATCH_S" ] && sleep $((WATCH_S - (SECONDS - t0)))

for x in fin-direct:fin fin-relay:relay pex:pex; do
	tag=${x%%:*} name=${x#*:}
	case $name in
	pex) action=pex ;;
	*) action=spoof-fin ;;
	esac
	sent=$(attack_field "$name" "$action" sent_bytes)
	got=0 by=""
	for m in a b c; do
		g=$(victim_bytes "$tag-$m")
		got=$((got + g))
		by="$by $m:$g"
	done
	pretty "$tag: the attacker sent $sent bytes for it; in ${WATCH_S} s the victim got $got bytes from the members ($by )"
	check "$tag: the victim got at most 4x what the attack sent ($got bytes for $sent)" \
		le "$got" $((4 * sent))
done
for x in a b c; do check "$x is alive" alive "$x"; done
check "the members ping each other at the end" pings_all "${members[@]}"
attack_done
