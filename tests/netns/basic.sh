#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two members on a LAN, each given the other with --peer.
#
#        ns a                     ns sw (br0)                  ns b
#   netron0 10.1.0.1/24 ---- eth0 192.0.2.1 ---- br0 ---- eth0 192.0.2.2 ---- netron0 10.1.0.2/24
#           fd00:6e74::1/64                                                  fd00:6e74::2/64
#
# What a user checks: ping over IPv4 and IPv6 both ways, a 50 MB TCP transfer arrives
# intact (SHA-256 on both ends), the interface byte counters of the two ends agree (to
# within the headers of the superpackets the kernel counts), an
# address no member owns gets an ICMP unreachable at once, SIGTERM removes netron0, and the
# log names the addresses it put on netron0.
NT_TEST_NAME=basic
source "$(dirname "$0")/lib.sh"
require_root

lan a b
make_token
export NETRONTOKEN=$NT_TOKEN

start_node a a --address 10.1.0.1/24 --address fd00:6e74::1/64 --peer 192.0.2.2:51830 --dht off --mdns off
start_node b b --address 10.1.0.2/24 --address fd00:6e74::2/64 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface a netron0
waitiface b netron0
# The start-up log names each address as it goes on the interface.
for addr in 10.1.0.1/24 fd00:6e74::1/64; do
	wait_until 5 grep -qF "interface netron0: $addr, mtu " "$NT_TMP/a.log" ||
		fail "a's log does not say $addr went on netron0: $(grep 'interface netron0' "$NT_TMP/a.log")"
done
pretty "the log names the addresses put on netron0"

wait_until 10 pings a 10.1.0.2 || fail "a cannot ping b over IPv4"
pretty "a -> b IPv4 ping"
pings b 10.1.0.1 3 || fail "b cannot ping a over IPv4"
pretty "b -> a IPv4 ping"
wait_until 5 pings a fd00:6e74::2 || fail "a cannot ping b over IPv6"
pings b fd00:6e74::1 3 || fail "b cannot ping a over IPv6"
pretty "IPv6 ping both ways"

# An overlay address nobody owns: ping must fail fast with "unreachable", not time out.
out=$(n a ping -c 1 -W 3 10.1.0.77 2>&1)
echo "$out" | grep -qi "unreachable" || fail "no ICMP unreachable for 10.1.0.77: $out"
pretty "unowned address answered with ICMP unreachable"

# 50 MB of random bytes over TCP through the tunnel, checked end to end.
stat_a_tx0=$(n a cat /sys/class/net/netron0/statistics/tx_bytes)
stat_b_rx0=$(n b cat /sys/class/net/netron0/statistics/rx_bytes)
transfer a b 10.1.0.2 50000000
pretty "50 MB transfer arrived intact"

sleep 1
stat_a_tx=$(( $(n a cat /sys/class/net/netron0/statistics/tx_bytes) - stat_a_tx0 ))
stat_b_rx=$(( $(n b cat /sys/class/net/netron0/statistics/rx_bytes) - stat_b_rx0 ))
[ "$stat_a_tx" -ge 50000000 ] || fail "a's netron0 sent only $stat_a_tx bytes"
# With offloads the kernel counts a superpacket's headers once, and the two ends cut and
# coalesce at different places: the counts agree to within the headers (40-52 bytes per
# 1348-byte segment at most, well under 5%), not to the byte.
[ "$stat_b_rx" -ge 50000000 ] || fail "b's netron0 received only $stat_b_rx bytes"
diff=$(( stat_a_tx > stat_b_rx ? stat_a_tx - stat_b_rx : stat_b_rx - stat_a_tx ))
[ $(( diff * 20 )) -le "$stat_a_tx" ] || fail "byte counters differ: a sent $stat_a_tx, b received $stat_b_rx"
pretty "byte counters agree: a sent $stat_a_tx bytes, b received $stat_b_rx"

stop_node a TERM
n a ip link show netron0 >/dev/null 2>&1 && fail "netron0 still exists after SIGTERM"
grep -q "shutting down" "$NT_TMP/a.log" || fail "no clean shutdown logged"
pretty "SIGTERM removes the interface"
echo "basic: 1 passed, 0 failed"
