#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three members; b and c know only a, yet b and c reach each other: a tells each about the
# other (peer exchange) and they connect directly.
#
#        ns a 192.0.2.1 (10.1.0.1)   ns b 192.0.2.2 (10.1.0.2)   ns c 192.0.2.3 (10.1.0.3)
#               \________________________ br0 (ns sw) _______________________/
#   b --peer a, c --peer a, a has no --peer
NT_TEST_NAME=mesh
source "$(dirname "$0")/lib.sh"
require_root

lan a b c
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --dht off --mdns off
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
start_node c c --address 10.1.0.3/24 --peer 192.0.2.1:51830 --dht off --mdns off
for x in a b c; do waitiface $x netron0; done

for pair in "a 10.1.0.2" "a 10.1.0.3" "b 10.1.0.1" "b 10.1.0.3" "c 10.1.0.1" "c 10.1.0.2"; do
	set -- $pair
	wait_until 15 pings "$1" "$2" || fail "$1 cannot reach $2"
	pretty "$1 -> $2"
done
# b and c talk directly, not through a: b's peer at 10.1.0.3 is at c's underlay address.
grep -q "connected at 192.0.2.3" "$NT_TMP/b.log" || fail "b has no direct session with c"
pretty "b and c found each other through peer exchange and connected directly"
echo "mesh: 1 passed, 0 failed"
