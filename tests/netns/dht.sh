#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Discovery across routed networks through the Mainline DHT only: ten members in five
# subnets behind one router (no multicast crosses it), --mdns off, and the only thing they
# are given besides the token is one DHT bootstrap node, which is a Netron node of ANOTHER
# network. Every pair must ping within 30 s; the bootstrap node never gets a session;
# a member restarted while the bootstrap node is down finds its way back from what it
# remembered in its state directory.
#
#                        ns r (router, ip_forward; bootstrap node of network 2 at 10.10.1.1)
#        10.10.1.1/24  10.10.2.1/24  10.10.3.1/24  10.10.4.1/24  10.10.5.1/24
#            |              |             |             |             |
#          br s1          br s2         br s3         br s4         br s5
#        n11  n12       n21  n22      n31  n32      n41  n42      n51  n52     (10.10.i.1j)
#   VPN: 10.1.0.11 ...                                            10.1.0.52
NT_TEST_NAME=dht
source "$(dirname "$0")/lib.sh"
require_root

ns_add r
n r sysctl -qw net.ipv4.ip_forward=1
nodes=()
for i in 1 2 3 4 5; do
	ns_add "s$i"
	bridge_add "s$i"
	bridge_port "s$i" r "10.10.$i.1/24" "eth$i"
	for j in 1 2; do
		ns_add "n$i$j"
		bridge_port "s$i" "n$i$j" "10.10.$i.1$j/24"
		n "n$i$j" ip route add default via "10.10.$i.1"
		nodes+=("n$i$j")
	done
done
make_token
t_boot=$NT_TOKEN
make_token
t_net=$NT_TOKEN

NETRONTOKEN=$t_boot start_node boot r --address 10.2.0.1/24 --mdns off --bootstrap ""
listening() { n r ss -Huln 'sport = :51830' | grep -q 51830; }
wait_until 5 listening || fail "bootstrap node not listening"
t0=$SECONDS
for x in "${nodes[@]}"; do
	NETRONTOKEN=$t_net start_node "$x" "$x" --address "10.1.0.${x#n}/24" --mdns off \
		--bootstrap 10.10.1.1:51830
done
for x in "${nodes[@]}"; do waitiface "$x" netron0; done

all_pairs() {
	for x in "${nodes[@]}"; do
		for y in "${nodes[@]}"; do
			[ "$x" = "$y" ] && continue
			pings "$x" "10.1.0.${y#n}" || return 1
		done
	done
}
wait_until 30 all_pairs || fail "not every pair pings within 30 s"
pretty "all 90 pairs ping, $((SECONDS - t0)) s after start, found through the DHT"
grep -q "connected" "$NT_TMP/boot.log" && fail "the bootstrap node (another network) got a session"
pretty "the bootstrap node of another network served the DHT and got no session"

# The bootstrap node goes away; a member restarts with its state dir and comes back.
stop_node boot
stop_node n11
n n11 ip link show netron0 >/dev/null 2>&1 && fail "n11 interface survived"
NETRONTOKEN=$t_net start_node n11 n11 --address 10.1.0.11/24 --mdns off --bootstrap 10.10.1.1:51830
waitiface n11 netron0
t1=$SECONDS
wait_until 20 pings n11 10.1.0.52 || fail "restarted member did not reconnect without the bootstrap node"
wait_until 10 pings n52 10.1.0.11 || fail "the others do not reach the restarted member"
pretty "restarted member reconnected in $((SECONDS - t1)) s with the bootstrap node down"
grep -q "remembered from the last run" "$NT_TMP/n11.log" || fail "n11 did not use its remembered members"
echo "dht: 1 passed, 0 failed"
