#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A link slower than the tunnel: the socket fills, and Netron waits instead of dropping.
#
#   ns a  netron0 10.1.0.1 --- veth 192.0.2.1 (tbf 80 Mbit/s, deep queue) | 192.0.2.2 --- ns b
#
# The queue on a's side of the link holds more than the socket's send buffer, and a UDP
# flood of 2 Gbit/s into netron0 fills it, so sends return EAGAIN. a must then stop
# reading netron0 until the socket drains (the kernel's queue in front of netron0 drops
# what the flood sends too much, as it would on any slow link): a 20 MB TCP transfer
# alongside arrives intact, a counts the pauses, and no frame is dropped at the socket.
NT_TEST_NAME=backpressure
source "$(dirname "$0")/lib.sh"
require_root
command -v curl >/dev/null || skip "curl missing"
command -v iperf3 >/dev/null || skip "iperf3 missing"

ns_add a
ns_add b
link a 192.0.2.1/24 b 192.0.2.2/24
n a tc qdisc replace dev "$LINK_IF_A" root tbf rate 80mbit burst 64kb limit 64mb ||
	skip "no tbf qdisc in this kernel"
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --dht off --mdns off --api
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface a netron0
wait_until 15 pings a 10.1.0.2 || fail "a cannot reach b"
wait_until 5 api_get a 8080 /api/summary || fail "a's API does not answer"

bg b iperf3s iperf3 -s -p 5201
wait_until 5 eval "n b ss -Hltn 'sport = :5201' | grep -q 5201" || fail "iperf3 server not up"
bg a iperf3c iperf3 -c 10.1.0.2 -p 5201 -u -b 2G -l 1300 -t 8
sleep 1
transfer a b 10.1.0.2 20000000
summary=$(api_get a 8080 /api/summary)
paused=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["offload"]["tx_paused"])')
dropped=$(echo "$summary" | python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"]["udp_send"])')
[ "$paused" -gt 0 ] || fail "the socket never filled (tx_paused 0), so nothing was tested: $summary"
[ "$dropped" = 0 ] || fail "$dropped frames dropped at the socket"
pretty "20 MB intact, beside a 2 Gbit/s UDP flood, through an 80 Mbit/s link; the TUN was paused $paused times, 0 frames dropped"
pretty "PASS"
