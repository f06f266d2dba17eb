#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Symmetric NAT (a fresh random port per destination, MASQUERADE --random-fully).
# Phase 1: r1 symmetric against r2 eim-fw (port-restricted cone): h1 and h2 connect and
# ping, directly (if a peer-reflexive punch gets through) or relayed by M; which one is
# reported. Phase 2: both symmetric, so no direct path can exist: the session is relayed
# through M (path "relayed", relay_via = M), pings and an iperf3 run work through it.
#
#                      pub: br0 203.0.113.0/24
#          +-------------------+-------------------+
#     r1 203.0.113.1     m 203.0.113.10       r2 203.0.113.2
#   symmetric | 10.10.1.1   (10.1.0.10)   eim-fw / symmetric | 10.10.2.1
#     h1 10.10.1.2         relay              h2 10.10.2.2
#     (10.1.0.1)                              (10.1.0.2)
NT_TEST_NAME=nat_symmetric
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require
command -v iperf3 >/dev/null || skip "iperf3 missing"

nat_lab
nat_host h1 r1 2
nat_host h2 r2 2
make_token
export NETRONTOKEN=$NT_TOKEN
failures=()

start_all() {
	local p=$1
	nat_flush r1
	nat_flush r2
	nat_start_member "m_$p"
	nat_start "h1_$p" h1 10.1.0.1
	nat_start "h2_$p" h2 10.1.0.2
	waitiface h1 netron0
	waitiface h2 netron0
}
stop_all() {
	stop_node "h1_$1"
	stop_node "h2_$1"
	stop_node "m_$1"
}

# Phase 1: symmetric against eim-fw.
nat_router r1 symmetric
nat_router r2 eim-fw
start_all 1
ok=1
if time_to_ping h1 10.1.0.2 40; then
	pretty "symmetric/eim-fw: first ping h1 -> h2 after $T_PING s"
else
	failures+=("symmetric/eim-fw: h1 cannot ping h2 within 40 s")
	ok=0
fi
pings h2 10.1.0.1 3 || { failures+=("symmetric/eim-fw: h2 cannot ping h1"); ok=0; }
if expect_path h1 10.1.0.2 direct relayed; then
	pretty "symmetric/eim-fw: path $GOT_PATH (endpoint ${GOT_ENDPOINT:-none})"
	peer_connected h1 10.1.0.2 || { failures+=("symmetric/eim-fw: h1 shows h2 not connected"); ok=0; }
else
	failures+=("symmetric/eim-fw: h1's path to h2 is '$GOT_PATH', want direct or relayed")
	ok=0
fi
[ $ok -eq 1 ] || nat_dump h1 h2 m
stop_all 1

# Phase 2: both symmetric, relayed by M.
nat_router r1 symmetric
nat_router r2 symmetric
start_all 2
ok=1
m_id=$(api m /api/summary | jq -r .node_id)
if time_to_ping h1 10.1.0.2 40; then
	pretty "symmetric/symmetric: first ping h1 -> h2 after $T_PING s"
else
	failures+=("symmetric/symmetric: h1 cannot ping h2 within 40 s")
	ok=0
fi
pings h2 10.1.0.1 3 || { failures+=("symmetric/symmetric: h2 cannot ping h1"); ok=0; }
for side in "h1 10.1.0.2" "h2 10.1.0.1"; do
	set -- $side
	if expect_path "$1" "$2" relayed; then
		via=$(peer_field "$1" "$2" relay_via)
		if [ "$via" = "$m_id" ]; then
			pretty "symmetric/symmetric: $1 reaches $2 relayed via M"
		else
			failures+=("symmetric/symmetric: $1's relay is '$via', want M ($m_id)")
			ok=0
		fi
	else
		failures+=("symmetric/symmetric: $1's path to $2 is '$GOT_PATH', want relayed")
		ok=0
	fi
done
if pings h1 10.1.0.2; then
	bg h2 iperf3_server iperf3 -s -1 -B 10.1.0.2
	sleep 0.5
	if n h1 iperf3 -c 10.1.0.2 -t 3 >"$NT_TMP/iperf3_client.log" 2>&1; then
		pretty "iperf3 through the relay: $(grep -E 'receiver' "$NT_TMP/iperf3_client.log" | awk '{print $7, $8}')"
	else
		failures+=("symmetric/symmetric: iperf3 through the relay failed")
		ok=0
	fi
fi
[ $ok -eq 1 ] || nat_dump h1 h2 m
stop_all 2

for f in "${failures[@]}"; do
	printf '\033[1;31m[%s]\033[0m %s\n' "$NT_TEST_NAME" "$f"
done
[ ${#failures[@]} -eq 0 ] || fail "${#failures[@]} check(s) failed"
echo "nat_symmetric: 2 passed, 0 failed"
