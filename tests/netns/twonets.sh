#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two networks (two tokens), three members each, on ONE LAN with mDNS on and ONE DHT
# (everyone bootstraps from a1): each network forms its full mesh; no session, route or
# ledger entry ever crosses between them.
#
#   ns a1 a2 a3 (network A, 10.1.0.1-3)  ns b1 b2 b3 (network B, 10.1.0.11-13)
#   192.0.2.1-3                           192.0.2.11-13            all on br0 (ns sw)
NT_TEST_NAME=twonets
source "$(dirname "$0")/lib.sh"
require_root

ns_add sw
bridge_add sw
make_token
tA=$NT_TOKEN
make_token
tB=$NT_TOKEN
for i in 1 2 3; do
	ns_add "a$i"; bridge_port sw "a$i" "192.0.2.$i/24"
	ns_add "b$i"; bridge_port sw "b$i" "192.0.2.1$i/24"
done
for i in 1 2 3; do
	NETRONTOKEN=$tA start_node "a$i" "a$i" --address "10.1.0.$i/24" --bootstrap 192.0.2.1:51830 --api
	NETRONTOKEN=$tB start_node "b$i" "b$i" --address "10.1.0.1$i/24" --bootstrap 192.0.2.1:51830 --api
done
meshes() {
	for i in 1 2 3; do
		for j in 1 2 3; do
			[ "$i" = "$j" ] && continue
			pings "a$i" "10.1.0.$j" || return 1
			pings "b$i" "10.1.0.1$j" || return 1
		done
	done
}
wait_until 15 meshes || fail "the two networks did not each form a full mesh"
pretty "network A and network B each formed a full mesh on the shared LAN and DHT"
sleep 5
for i in 1 2 3; do
	for x in a b; do
		peers=$(n "$x$i" curl -sf http://127.0.0.1:8080/api/peers | jq length)
		machines=$(n "$x$i" curl -sf http://127.0.0.1:8080/api/machines | jq length)
		[ "$peers" -eq 2 ] || fail "$x$i has $peers peers, want 2 (its own network's members only)"
		[ "$machines" -eq 3 ] || fail "$x$i lists $machines machines, want 3"
	done
	pings "a$i" 10.1.0.11 && fail "a$i reaches network B"
	pings "b$i" 10.1.0.1 && fail "b$i reaches network A"
done
grep -q "dht: a member may be at 192.0.2.1[123]" "$NT_TMP"/a*.log && fail "network A's rendezvous returned B's members"
pretty "no peer, machine or route crosses between the networks"
echo "twonets: 1 passed, 0 failed"
