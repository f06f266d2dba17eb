#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ledger across eight members on one LAN (mDNS discovery, API on each):
#   - all eight report the same state hash within 10 s of the last change, and list all
#     eight machines;
#   - a member that stops leaves no trace: its claim is gone from every other member
#     within its expiry (--claim-ttl 10 here), and traffic to its address gets unreachable.
#
#   ns m1..m8: 192.0.2.1-8, VPN 10.1.0.1-8, all on br0 (ns sw)
NT_TEST_NAME=ledger
source "$(dirname "$0")/lib.sh"
require_root

api() { n "$1" curl -sf --max-time 3 "http://127.0.0.1:8080$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

ns_add sw
bridge_add sw
for i in $(seq 1 8); do
	ns_add "m$i"
	bridge_port sw "m$i" "192.0.2.$i/24"
done
make_token
export NETRONTOKEN=$NT_TOKEN
for i in $(seq 1 8); do
	start_node "m$i" "m$i" --address "10.1.0.$i/24" --dht off --api --claim-ttl 10
done
t_last_change=$SECONDS

same_state() {
	local first="" s
	for i in $(seq 1 8); do
		s=$(api "m$i" /api/summary | field '["ledger_state"]') || return 1
		[ -n "$s" ] || return 1
		[ -z "$first" ] && first=$s
		[ "$s" = "$first" ] || return 1
		[ "$(api "m$i" /api/machines | field '.__len__()')" = 8 ] || return 1
	done
}
wait_until 10 same_state || {
	for i in $(seq 1 8); do echo "m$i: $(api "m$i" /api/summary | field '["ledger_state"]')"; done
	fail "the eight members do not agree within 10 s"
}
state=$(api m1 /api/summary | field '["ledger_state"]')
pretty "all 8 members agree on state ${state:0:16}... with 8 machines, $((SECONDS - t_last_change)) s after the last start"

# m8 goes away (SIGKILL: no goodbye); its claim must expire everywhere.
stop_node m8 KILL
t_stop=$SECONDS
gone_everywhere() {
	for i in $(seq 1 7); do
		api "m$i" /api/machines | grep -q '"10.1.0.8"' && return 1
	done
	return 0
}
wait_until 15 gone_everywhere || fail "m8's claim is still listed 15 s after it stopped (ttl 10 s)"
pretty "m8's claim expired on all 7 others after $((SECONDS - t_stop)) s (claim ttl 10 s)"
out=$(n m1 ping -c 1 -W 2 10.1.0.8 2>&1)
echo "$out" | grep -qi unreachable || fail "10.1.0.8 is not unreachable after its owner left: $out"
pretty "traffic to the departed member's address gets unreachable at once"
echo "ledger: 1 passed, 0 failed"
