#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A member changes its underlay address in the middle of traffic (a laptop moving to
# another network). Its peer follows the authenticated packets to the new address:
# traffic resumes within one keepalive, with nothing restarted.
#
#   ns a 192.0.2.1 -> 192.0.2.11 (10.1.0.1) --- br0 --- ns b 192.0.2.2 (10.1.0.2)
NT_TEST_NAME=roaming
source "$(dirname "$0")/lib.sh"
require_root

lan a b
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --dht off --mdns off
start_node b b --address 10.1.0.2/24 --dht off --mdns off
waitiface a netron0
waitiface b netron0
wait_until 10 pings b 10.1.0.1 || fail "b cannot reach a"

# b pings a all along; a moves. b learns a's new address from a's next authenticated packet
# (its persistent keepalive at the latest), so b's pings must come back within one keepalive.
bg b pinger ping -i 0.2 -W 1 10.1.0.1
sleep 1
n a ip addr del 192.0.2.1/24 dev eth0
n a ip addr add 192.0.2.11/24 dev eth0
t0=$SECONDS
pretty "a moved from 192.0.2.1 to 192.0.2.11"
wait_until 30 grep -q "moved from 192.0.2.1:51830 to 192.0.2.11:51830" "$NT_TMP/b.log" ||
	fail "b did not follow a to its new address"
wait_until 5 pings b 10.1.0.1 || fail "b cannot reach a at its new address"
pretty "traffic resumed after $((SECONDS - t0)) s (keepalive is 25 s)"
[ $((SECONDS - t0)) -le 30 ] || fail "took longer than one keepalive"
pings a 10.1.0.2 3 || fail "a cannot reach b"
echo "roaming: 1 passed, 0 failed"
