#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A node behind a NAT learns its server-reflexive address from a public STUN server
# (coturn, STUN only) given with --stun: /api/summary "reflexive" must be r1's public
# address with the port r1 mapped the node's socket to (read back from r1's conntrack).
#
#            pub: br0 203.0.113.0/24, coturn at 203.0.113.20:3478
#          +
#     r1 203.0.113.1
#  eim-fw | 10.10.1.1
#     h1 10.10.1.2 (10.1.0.1) --stun 203.0.113.20:3478
NT_TEST_NAME=nat_stun
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require
command -v turnserver >/dev/null ||
	skip "coturn's turnserver is not installed (the integrator should add coturn to scripts/setup)"

nat_lab
nat_host h1 r1 2
nat_router r1 eim-fw
nat_router r2 eim-fw
n pub ip addr add "$NAT_STUN/24" dev br0
bg pub coturn turnserver -n --stun-only --listening-ip "$NAT_STUN" --listening-port 3478 --no-cli \
	--no-tls --no-dtls --log-file stdout --simple-log \
	--pidfile "$NT_TMP/turnserver.pid" --db "$NT_TMP/turndb"
# The lab itself first: coturn answers h1 through the NAT (its own client, another port;
# it waits forever for an answer, hence the timeout).
if command -v turnutils_stunclient >/dev/null; then
	wait_until 10 sh -c "ip netns exec '${NT_PREFIX}h1' timeout 2 turnutils_stunclient '$NAT_STUN' 2>&1 |
		grep -q 'reflexive addr: 203.0.113.1:'" || fail "coturn does not answer h1 through r1"
	pretty "coturn answers through r1"
fi

make_token
export NETRONTOKEN=$NT_TOKEN
t0=$SECONDS
start_node h1 h1 --address 10.1.0.1/24 --dht off --mdns off --api --stun "$NAT_STUN:3478"
waitiface h1 netron0
reflexive_set() { [ -n "$(api h1 /api/summary | jq -r '.reflexive // empty')" ]; }
if ! wait_until 20 reflexive_set; then
	nat_dump h1
	fail "h1 has no reflexive address 20 s after start (summary reflexive '$(api h1 /api/summary | jq -r .reflexive)')"
fi
got=$(api h1 /api/summary | jq -r .reflexive)
pretty "reflexive $got after $((SECONDS - t0)) s"
# The mapping r1 made for h1's socket towards coturn: the reply tuple's destination port.
port=$(nat_mappings r1 | grep "src=10.10.1.2 dst=$NAT_STUN sport=$NAT_PORT dport=3478 " |
	sed -n 's/.*src=[0-9.]* dst=203\.0\.113\.1 sport=3478 dport=\([0-9]*\).*/\1/p' | head -n1)
[ -n "$port" ] || { nat_dump h1; fail "no mapping in r1 for h1's port $NAT_PORT towards the STUN server"; }
want="203.0.113.1:$port"
[ "$got" = "$want" ] || fail "reflexive is '$got', r1 mapped h1 to $want"
echo "nat_stun: 1 passed, 0 failed"
