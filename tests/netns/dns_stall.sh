#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A DNS server that never answers must not freeze the tunnel.
#
#   ns a ---- ns sw (br0 192.0.2.53: drops DNS) ---- ns b
#
# a is given two members: b by address, and a host name whose lookup goes to a name server
# that drops every query (each lookup takes the resolver's full timeouts). The name is
# looked up in the background: pings through the tunnel keep their usual round trip while
# the lookups hang, and a says that the name does not resolve.
NT_TEST_NAME=dns_stall
source "$(dirname "$0")/lib.sh"
require_root
command -v iptables >/dev/null || skip "iptables missing"

lan a b
n sw ip addr add 192.0.2.53/24 dev br0
n sw iptables -A INPUT -p udp --dport 53 -j DROP
n sw iptables -A INPUT -p tcp --dport 53 -j DROP
ns_etc a resolv.conf "nameserver 192.0.2.53
options timeout:2 attempts:2"
ns_etc a hosts "127.0.0.1 localhost"
make_token
export NETRONTOKEN=$NT_TOKEN

start_node a a --address 10.1.0.1/24 --peer members.netron.test:51830 --peer 192.0.2.2:51830 \
	--dht off --mdns off
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface a netron0
wait_until 10 pings a 10.1.0.2 || fail "a cannot reach b"
pretty "a reaches b while members.netron.test is being looked up"

# 40 pings over 8 s: the lookup (2 s x 2 attempts) is retried throughout.
out=$(n a ping -c 40 -i 0.2 -W 2 10.1.0.2)
loss=$(echo "$out" | grep -o '[0-9.]*% packet loss' | cut -d% -f1)
max=$(echo "$out" | sed -n 's|^rtt [^=]*= [^/]*/[^/]*/\([0-9.]*\)/.*|\1|p')
[ "$loss" = 0 ] || fail "pings lost while the name server hangs: $loss% ($out)"
[ -n "$max" ] && awk -v m="$max" 'BEGIN { exit !(m + 0 < 250) }' || fail "a ping took $max ms while the name server hangs"
pretty "40 pings, no loss, slowest $max ms, while every lookup hangs"

wait_until 10 grep -q "cannot resolve members.netron.test" "$NT_TMP/a.log" ||
	fail "a does not say the name does not resolve"
pretty "a logs that members.netron.test does not resolve"
pretty "PASS"
