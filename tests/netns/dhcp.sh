#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# --dhcp: a lone member gets an address by itself; then ten more start at the same moment
# and all end with distinct addresses, every pair pinging; a restarted member gets its
# lease back from its state directory.
#
#   ns d0..d10: 192.0.2.100-110 on br0 (ns sw); VPN addresses picked from 10.1.0.0/24
NT_TEST_NAME=dhcp
source "$(dirname "$0")/lib.sh"
require_root

vpn_addr() { n "$1" ip -4 -o addr show dev netron0 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1; }
has_addr() { [ -n "$(vpn_addr "$1")" ]; }

ns_add sw
bridge_add sw
for i in $(seq 0 10); do
	ns_add "d$i"
	bridge_port sw "d$i" "192.0.2.$((100 + i))/24"
done
make_token
export NETRONTOKEN=$NT_TOKEN

start_node d0 d0 --dhcp --dht off
wait_until 10 has_addr d0 || fail "a lone --dhcp member got no address"
pretty "a lone member took $(vpn_addr d0) by itself"

for i in $(seq 1 10); do
	start_node "d$i" "d$i" --dhcp --dht off
done
all_have() { for i in $(seq 1 10); do has_addr "d$i" || return 1; done; }
wait_until 20 all_have || fail "not every member got an address within 20 s"
addrs=()
for i in $(seq 0 10); do addrs+=("$(vpn_addr "d$i")"); done
distinct=$(printf '%s\n' "${addrs[@]}" | sort -u | wc -l)
[ "$distinct" -eq 11 ] || fail "addresses are not distinct: ${addrs[*]}"
pretty "11 members, 11 distinct addresses: ${addrs[*]}"

all_pairs() {
	for i in $(seq 0 10); do
		for j in $(seq 0 10); do
			[ "$i" = "$j" ] && continue
			pings "d$i" "${addrs[$j]}" || return 1
		done
	done
}
if ! wait_until 30 all_pairs; then
	for i in $(seq 0 10); do
		for j in $(seq 0 10); do
			[ "$i" = "$j" ] || pings "d$i" "${addrs[$j]}" || echo "d$i -> d$j (${addrs[$j]}) fails"
		done
	done | head -20
	if [ -n "${NT_DEBUG:-}" ]; then
		for i in 0 1 2; do
			echo "== d$i: $(grep -o 'node [0-9a-f]*' "$NT_TMP/d$i.log" | head -1)"
			grep -E "connected|dhcp|conflict|lost" "$NT_TMP/d$i.log" | head -30
		done
	fi
	fail "not every pair pings"
fi
pretty "all 110 pairs ping"

before=$(vpn_addr d3)
stop_node d3
[ "$(cat "$NT_TMP/state-d3/lease")" = "$before" ] || fail "lease file does not hold $before"
start_node d3 d3 --dhcp --dht off
wait_until 15 has_addr d3 || fail "restarted member got no address"
after=$(vpn_addr d3)
[ "$after" = "$before" ] || fail "restarted member got $after, not its lease $before"
grep -q "asking again for $before" "$NT_TMP/d3.log" || fail "the lease was not used"
pretty "a restarted member got its lease $before back"
echo "dhcp: 1 passed, 0 failed"
