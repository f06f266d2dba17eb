#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A node of another network (another token) on the same LAN, pointed at our members,
# gets no session and not a single datagram back: without the token there is no answer.
#
#   ns a 192.0.2.1 (net 1)   ns b 192.0.2.2 (net 1)   ns x 192.0.2.9 (net 2, --peer a,b)
#          \_____________________ br0 (ns sw) ______________________/
NT_TEST_NAME=isolation
source "$(dirname "$0")/lib.sh"
require_root

ns_add sw
bridge_add sw
ns_add a; bridge_port sw a 192.0.2.1/24
ns_add b; bridge_port sw b 192.0.2.2/24
ns_add x; bridge_port sw x 192.0.2.9/24
make_token
t1=$NT_TOKEN
make_token
t2=$NT_TOKEN
[ "$t1" != "$t2" ] || fail "two generated tokens are equal"

NETRONTOKEN=$t1 start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --dht off --mdns off
NETRONTOKEN=$t1 start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
NETRONTOKEN=$t2 start_node x x --address 10.1.0.9/24 --peer 192.0.2.1:51830,192.0.2.2:51830 --dht off --mdns off
for v in a b x; do waitiface $v netron0; done
# What x receives from here on: its own start (its UDP segment-size probe goes over its
# loopback) is not counted. What it sends is counted from the start (its first INITs).
in_x0=$(n x awk '/^Udp:/ { if (++seen == 2) print $2 }' /proc/net/snmp)
wait_until 10 pings a 10.1.0.2 || fail "a and b (same network) did not connect"

# Let x knock for a while, then look at what reached it.
sleep 12
in_x=$(( $(n x awk '/^Udp:/ { if (++seen == 2) print $2 }' /proc/net/snmp) - in_x0 ))
sent_x=$(n x awk '/^Udp:/ { if (++seen == 2) print $5 }' /proc/net/snmp)
[ "$sent_x" -ge 4 ] || fail "x sent only $sent_x datagrams: the test proves nothing"
[ "$in_x" -eq 0 ] || fail "x (foreign network) received $in_x datagrams"
pretty "x sent $sent_x datagrams (its handshake initiations, and its loopback probe) and received 0"
grep -q "connected" "$NT_TMP/x.log" && fail "x formed a session"
pings x 10.1.0.1 && fail "x reaches a"
grep -q "peer .* connected" "$NT_TMP/a.log" || fail "a has no session at all"
grep -c "connected at 192.0.2.9" "$NT_TMP/a.log" "$NT_TMP/b.log" | grep -q ':[1-9]' && fail "a member connected to x"
pretty "no session across networks"
echo "isolation: 1 passed, 0 failed"
