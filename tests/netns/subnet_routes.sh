#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Subnet routes (issue 17, docs/routes.md): b forwards to a LAN, 198.51.100.0/24, that only
# b (and later c) reaches; b advertises it, a accepts it, d does not.
#
#                          ns sw: br0 (192.0.2.0/24, the underlay)
#        |                      |                       |                      |              |
#      ns a                   ns b                    ns c                   ns d           ns e
#   10.1.0.1               10.1.0.2                10.1.0.3               10.1.0.4       10.1.0.5
#   --accept-routes        --advertise-routes      --advertise-routes     (no consent)   --router
#                          198.51.100.0/24         198.51.100.0/24,                      10.1.0.3
#                                                  0.0.0.0/0 (later)
#                          eth1 198.51.100.1       eth1 198.51.100.2
#                               |                       |
#                          ns lsw: br0 (198.51.100.0/24) --- ns h 198.51.100.7
#                                                          (no route to the VPN: b and c
#                                                           masquerade, as docs/routes.md)
#
# What a user checks: a gets a kernel route 198.51.100.0/24 on netron0 and pings h; d has
# no such route and, even given one by hand, its netron does not send the packets to b; a
# packet from b's LAN address reaches a (who accepted) but not d, which counts it as
# spoofed_source and whose TUN never sees it; c, announcing the same prefix later, is on
# standby (/api/routes) and cannot inject from the LAN; e, with --router c (which also
# advertises 0.0.0.0/0), reaches h through c with a route to netron0 of its own; when b
# leaves, a reaches h through c; when c leaves too, a withdraws the kernel route. a and d run
# two packet threads, so the workers' route snapshot (longest prefix, source check) decides
# for them.
NT_TEST_NAME=subnet_routes
source "$(dirname "$0")/lib.sh"
require_root
command -v iptables >/dev/null || skip "iptables is needed for the gateways' masquerade"

passed=0
ok() {
	pretty "$*"
	passed=$((passed + 1))
}
js() { api_json "$1" 8080 /api/summary "$2"; }
rx_packets() { n "$1" cat /sys/class/net/netron0/statistics/rx_packets; }
# route_state NODE PREFIX OWNER_ADDR: "chosen accepted" as /api/routes shows that offer.
route_state() {
	api_get "$1" 8080 /api/routes | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r["prefix"] == sys.argv[1] and r["address"] == sys.argv[2]:
        print(r["state"], "accepted" if r["accepted"] else "ignored")' "$2" "$3"
}

lan a b c d e
ns_add lsw
bridge_add lsw
ns_add h
bridge_port lsw b 198.51.100.1/24 eth1
bridge_port lsw c 198.51.100.2/24 eth1
bridge_port lsw h 198.51.100.7/24
for g in b c; do
	n "$g" sysctl -qw net.ipv4.ip_forward=1
	n "$g" iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE
done
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/24 --accept-routes --workers 2 "${common[@]}"
start_node b b --address 10.1.0.2/24 --advertise-routes 198.51.100.0/24 --peer 192.0.2.1:51830 "${common[@]}"
start_node d d --address 10.1.0.4/24 --workers 2 --peer 192.0.2.1:51830 "${common[@]}"
for x in a b d; do waitiface "$x" netron0; done
wait_until 15 pings a 10.1.0.2 || fail "a cannot reach b"
wait_until 15 pings d 10.1.0.2 || fail "d cannot reach b"
for x in a b d; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done

# 1. a accepted b's LAN: a kernel route on netron0, and h answers.
wait_until 10 n a sh -c "ip -4 route show 198.51.100.0/24 | grep -q 'dev netron0'" ||
	fail "a has no route to 198.51.100.0/24 on netron0: $(n a ip -4 route)"
wait_until 10 pings a 198.51.100.7 || fail "a cannot reach h (198.51.100.7) behind b"
n a ping -c 3 -i 0.2 -W 2 198.51.100.7 >/dev/null || fail "a loses pings to h"
[ "$(route_state a 198.51.100.0/24 10.1.0.2)" = "chosen accepted" ] ||
	fail "a's /api/routes: b's offer is '$(route_state a 198.51.100.0/24 10.1.0.2)', want chosen accepted"
ok "a (--accept-routes) has 198.51.100.0/24 via netron0 and reaches h behind b"

# 2. d did not consent: no route; given one by hand, its netron still sends nothing to b.
n d ip -4 route show | grep -q 198.51.100 && fail "d installed a route it did not accept"
[ "$(route_state d 198.51.100.0/24 10.1.0.2)" = "chosen ignored" ] ||
	fail "d's /api/routes: b's offer is '$(route_state d 198.51.100.0/24 10.1.0.2)', want chosen ignored"
n d ip route add 198.51.100.0/24 dev netron0
out=$(n d ping -c 2 -i 0.2 -W 2 198.51.100.7 2>&1) && fail "d reached h without --accept-routes"
echo "$out" | grep -qi unreachable || fail "d's netron did not answer unreachable: $out"
n d ip route del 198.51.100.0/24 dev netron0
ok "d (no --accept-routes) installs nothing and its netron will not route to h"

# 3. Inner sources: b sends from its LAN address. a accepted the prefix and answers; d did
# not, and its TUN never sees the packets (counted as spoofed_source instead).
n b ping -c 2 -i 0.2 -W 2 -I 198.51.100.1 10.1.0.1 >/dev/null ||
	fail "a does not accept packets from 198.51.100.1 (b's accepted subnet)"
rx0=$(rx_packets d)
sp0=$(js d "d['drops']['spoofed_source']")
n b ping -c 3 -i 0.2 -W 1 -I 198.51.100.1 10.1.0.4 >/dev/null 2>&1 && fail "d answered a packet from 198.51.100.1"
sleep 0.5
rx=$(( $(rx_packets d) - rx0 ))
sp=$(( $(js d "d['drops']['spoofed_source']") - sp0 ))
[ "$rx" -eq 0 ] || fail "d's netron0 received $rx packets from a prefix it did not accept"
[ "$sp" -ge 3 ] || fail "d counted $sp spoofed_source drops, want at least 3"
ok "a takes packets from b's accepted subnet; d drops them ($sp spoofed_source, its TUN saw none)"

# 4. c announces the same LAN later: on standby everywhere, and it cannot inject from it
# (a accepts c's 0.0.0.0/0 too, but b's /24 is the longer prefix for the LAN's sources).
start_node c c --address 10.1.0.3/24 --advertise-routes 198.51.100.0/24,0.0.0.0/0 --peer 192.0.2.1:51830 "${common[@]}"
waitiface c netron0
wait_until 15 pings a 10.1.0.3 || fail "a cannot reach c"
wait_until 10 api_get c 8080 /api/summary >/dev/null || fail "c: no API"
for x in a c d; do
	wait_until 10 eval "[ \"\$(route_state $x 198.51.100.0/24 10.1.0.3)\" != '' ]" ||
		fail "$x does not see c's offer of 198.51.100.0/24"
	st=$(route_state "$x" 198.51.100.0/24 10.1.0.3)
	[ "${st%% *}" = standby ] || fail "on $x, c's offer is '$st', want standby (b's claim is older)"
	st=$(route_state "$x" 198.51.100.0/24 10.1.0.2)
	[ "${st%% *}" = chosen ] || fail "on $x, b's offer is '$st', want chosen"
done
rx0=$(rx_packets a)
sp0=$(js a "d['drops']['spoofed_source']")
n c ping -c 3 -i 0.2 -W 1 -I 198.51.100.2 10.1.0.1 >/dev/null 2>&1 && fail "a answered c's packets from the LAN"
sleep 0.5
rx=$(( $(rx_packets a) - rx0 ))
sp=$(( $(js a "d['drops']['spoofed_source']") - sp0 ))
[ "$rx" -eq 0 ] || fail "a's netron0 took $rx packets from c's standby prefix"
[ "$sp" -ge 3 ] || fail "a counted $sp spoofed_source drops of c's, want at least 3"
pings a 198.51.100.7 2 || fail "a lost h when c appeared"
ok "c's later offer is standby on a, c and d; its packets from the LAN are dropped at a"

# 4b. e names c as its router (EdgeVPN's --router): c's default route, and nothing else.
start_node e e --address 10.1.0.5/24 --router 10.1.0.3 --peer 192.0.2.1:51830 "${common[@]}"
waitiface e netron0
wait_until 15 pings e 10.1.0.3 || fail "e cannot reach c"
wait_until 10 api_get e 8080 /api/summary >/dev/null || fail "e: no API"
wait_until 10 eval "[ \"\$(route_state e 0.0.0.0/0 10.1.0.3)\" = 'chosen accepted' ]" ||
	fail "e does not route 0.0.0.0/0 to c: '$(route_state e 0.0.0.0/0 10.1.0.3)'"
[ "$(route_state e 198.51.100.0/24 10.1.0.2)" = "chosen ignored" ] ||
	fail "e took b's subnet without --accept-routes: $(route_state e 198.51.100.0/24 10.1.0.2)"
n e ip -4 route show | grep -q 'default.*netron0' && fail "e put a default route on netron0"
n e ip route add 198.51.100.0/24 dev netron0
c_fwd0=$(n c iptables -t nat -L POSTROUTING -v -x -n | awk '/MASQUERADE/ {print $1}')
wait_until 10 pings e 198.51.100.7 || fail "e cannot reach h through its router c"
c_fwd=$(n c iptables -t nat -L POSTROUTING -v -x -n | awk '/MASQUERADE/ {print $1}')
[ "$c_fwd" -gt "$c_fwd0" ] || fail "e's pings did not go through c"
ok "e (--router 10.1.0.3) reaches h through c's default route, not b's subnet it did not accept"

# 5. b leaves (a clean exit releases its claims): c takes over, a reaches h through it.
c_fwd0=$(n c iptables -t nat -L POSTROUTING -v -x -n | awk '/MASQUERADE/ {print $1}')
stop_node b TERM
wait_until 10 eval "[ \"\$(route_state a 198.51.100.0/24 10.1.0.3)\" = 'chosen accepted' ]" ||
	fail "a did not switch to c: $(route_state a 198.51.100.0/24 10.1.0.3)"
wait_until 10 pings a 198.51.100.7 || fail "a cannot reach h through c"
n a ip -4 route show 198.51.100.0/24 | grep -q 'dev netron0' || fail "a lost its kernel route"
c_fwd=$(n c iptables -t nat -L POSTROUTING -v -x -n | awk '/MASQUERADE/ {print $1}')
[ "$c_fwd" -gt "$c_fwd0" ] || fail "c's masquerade counted nothing: the pings did not go through c"
ok "after b left, c is chosen and a reaches h through c"

# 6. c leaves too: nobody forwards the LAN, and a withdraws its kernel route at once.
stop_node c TERM
wait_until 10 eval "! n a ip -4 route show | grep -q 198.51.100" || fail "a kept a route nobody offers"
pings a 198.51.100.7 && fail "a still reaches h with no gateway"
ok "when no member offers the LAN any more, a withdraws its kernel route"
echo "subnet_routes: $passed passed, 0 failed"
