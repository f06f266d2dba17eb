#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Zero configuration on a LAN: five members on one bridge, given nothing but the token
# (--dht off, no --peer), find each other over mDNS and form a full mesh within 5 s.
# A sixth node with another token on the same LAN is never connected.
#
#   ns m1..m5 192.0.2.1-5 (10.1.0.1-5), ns x 192.0.2.9 (other network)  --- br0 (ns sw)
NT_TEST_NAME=mdns
source "$(dirname "$0")/lib.sh"
require_root

ns_add sw
bridge_add sw
for i in 1 2 3 4 5; do
	ns_add "m$i"
	bridge_port sw "m$i" "192.0.2.$i/24"
done
ns_add x
bridge_port sw x 192.0.2.9/24
make_token
t1=$NT_TOKEN
make_token
t0=$SECONDS
for i in 1 2 3 4 5; do
	NETRONTOKEN=$t1 start_node "m$i" "m$i" --address "10.1.0.$i/24" --dht off
done
NETRONTOKEN=$NT_TOKEN start_node x x --address 10.1.0.9/24 --dht off
for i in 1 2 3 4 5; do waitiface "m$i" netron0; done

mesh() {
	for i in 1 2 3 4 5; do
		for j in 1 2 3 4 5; do
			[ "$i" = "$j" ] && continue
			pings "m$i" "10.1.0.$j" || return 1
		done
	done
}
wait_until 5 mesh || fail "no full mesh within 5 s of start"
pretty "full mesh of 5 members over mDNS after $((SECONDS - t0)) s"
for i in 1 2 3 4 5; do
	n=$(grep -c "peer .* connected at" "$NT_TMP/m$i.log")
	[ "$n" -ge 4 ] || fail "m$i has sessions with $n members, want 4"
done
grep -q "connected" "$NT_TMP/x.log" && fail "the node of another network got a session"
pings x 10.1.0.1 && fail "the other network reaches ours"
pretty "the other network's node saw the announcements but got no session"
echo "mdns: 1 passed, 0 failed"
