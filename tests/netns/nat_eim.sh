#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two hosts behind two endpoint-independent-mapping NATs, knowing only the public member M,
# get a DIRECT session with each other (hole punching after M introduces them): the peer's
# path is "direct" and its endpoint is the other router's public address. Phase 1 with
# an inbound firewall on both routers (eim-fw), phase 2 without (eim-open: early punches
# become conntrack entries of their own, DESIGN §8).
#
#                      pub: br0 203.0.113.0/24
#          +-------------------+-------------------+
#     r1 203.0.113.1     m 203.0.113.10       r2 203.0.113.2
#      NAT | 10.10.1.1      (10.1.0.10)        NAT | 10.10.2.1
#     h1 10.10.1.2                            h2 10.10.2.2
#     (10.1.0.1)                              (10.1.0.2)
NT_TEST_NAME=nat_eim
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require

nat_lab
nat_host h1 r1 2
nat_host h2 r2 2
make_token
export NETRONTOKEN=$NT_TOKEN
failures=()

# phase N MODE: both routers in MODE, fresh nodes, fresh conntrack.
phase() {
	local p=$1 mode=$2 ok=1
	nat_router r1 "$mode"
	nat_router r2 "$mode"
	nat_flush r1
	nat_flush r2
	nat_start_member "m_$p"
	nat_start "h1_$p" h1 10.1.0.1
	nat_start "h2_$p" h2 10.1.0.2
	waitiface h1 netron0
	waitiface h2 netron0
	if time_to_ping h1 10.1.0.2 30; then
		pretty "$mode: first ping h1 -> h2 after $T_PING s"
	else
		failures+=("$mode: h1 cannot ping h2 within 30 s")
		ok=0
	fi
	pings h2 10.1.0.1 3 || { failures+=("$mode: h2 cannot ping h1"); ok=0; }
	if expect_path h1 10.1.0.2 direct && [[ $GOT_ENDPOINT == 203.0.113.2:* ]]; then
		pretty "$mode: h1 sees h2 direct at $GOT_ENDPOINT"
	else
		failures+=("$mode: h1's path to h2 is '$GOT_PATH' at '$GOT_ENDPOINT', want direct at 203.0.113.2:*")
		ok=0
	fi
	if expect_path h2 10.1.0.1 direct && [[ $GOT_ENDPOINT == 203.0.113.1:* ]]; then
		pretty "$mode: h2 sees h1 direct at $GOT_ENDPOINT"
	else
		failures+=("$mode: h2's path to h1 is '$GOT_PATH' at '$GOT_ENDPOINT', want direct at 203.0.113.1:*")
		ok=0
	fi
	[ $ok -eq 1 ] || nat_dump h1 h2 m
	stop_node "h1_$p"
	stop_node "h2_$p"
	stop_node "m_$p"
}

phase 1 eim-fw
phase 2 eim-open
for f in "${failures[@]}"; do
	printf '\033[1;31m[%s]\033[0m %s\n' "$NT_TEST_NAME" "$f"
done
[ ${#failures[@]} -eq 0 ] || fail "${#failures[@]} check(s) failed"
echo "nat_eim: 2 passed, 0 failed"
