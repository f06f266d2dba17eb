#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Both NATs lose every mapping at once (conntrack -F on r1 and r2, as a router reboot
# does) while h1 pings h2 over their direct session. With inbound firewalls, h1's packets
# are now dropped at r2 until h2 sends again: the 25 s keepalive, or a punch as soon as
# either side notices, must bring traffic back. Asserted: within 40 s, and still direct.
#
#                      pub: br0 203.0.113.0/24
#          +-------------------+-------------------+
#     r1 203.0.113.1     m 203.0.113.10       r2 203.0.113.2
#  eim-fw | 10.10.1.1      (10.1.0.10)     eim-fw | 10.10.2.1
#     h1 10.10.1.2  -- ping (flush!) -->      h2 10.10.2.2
#     (10.1.0.1)                              (10.1.0.2)
NT_TEST_NAME=nat_flush
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require

nat_lab
nat_host h1 r1 2
nat_host h2 r2 2
nat_router r1 eim-fw
nat_router r2 eim-fw
make_token
export NETRONTOKEN=$NT_TOKEN

nat_start_member m
nat_start h1 h1 10.1.0.1
nat_start h2 h2 10.1.0.2
waitiface h1 netron0
waitiface h2 netron0
time_to_ping h1 10.1.0.2 30 || { nat_dump h1 h2 m; fail "h1 cannot ping h2 before the flush"; }
pretty "first ping h1 -> h2 after $T_PING s"
expect_path h1 10.1.0.2 direct || { nat_dump h1 h2 m; fail "no direct session before the flush (path '$GOT_PATH')"; }
pretty "direct at $GOT_ENDPOINT; flushing both NATs while h1 pings"

bg h1 pinger ping -i 0.2 -W 1 10.1.0.2
sleep 2
nat_flush r1
nat_flush r2
t0=$SECONDS
pretty "conntrack flushed on r1 and r2"
# Wait for a reply that the pinger itself did not get before the flush: a fresh ping.
if ! wait_until 40 pings h1 10.1.0.2; then
	nat_dump h1 h2 m
	fail "traffic did not recover within 40 s of the flush"
fi
t=$((SECONDS - t0))
pretty "traffic recovered $t s after the flush (keepalive 25 s)"
[ $t -le 40 ] || fail "recovery took $t s (> 40 s)"
pings h2 10.1.0.1 3 || fail "h2 cannot ping h1 after the flush"
expect_path h1 10.1.0.2 direct || { nat_dump h1 h2 m; fail "h1's path to h2 is '$GOT_PATH' after the flush"; }
pretty "still direct at $GOT_ENDPOINT"
echo "nat_flush: 1 passed, 0 failed"
