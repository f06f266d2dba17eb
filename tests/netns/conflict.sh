#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two static members claim the same address. The earlier claim wins on every member; the
# later one reports the conflict (log and API) and does not take the address; traffic to
# the address reaches the winner. When the winner leaves, the other takes the address.
#
#   ns a 192.0.2.1 10.1.0.1    ns b 192.0.2.2 10.1.0.5 (first)    ns c 192.0.2.3 10.1.0.5 (later)
NT_TEST_NAME=conflict
source "$(dirname "$0")/lib.sh"
require_root

api() { n "$1" curl -sf --max-time 3 "http://127.0.0.1:8080$2"; }
owner_of() {
	api "$1" /api/machines | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m["Address"] == sys.argv[1]:
        print(m["PeerID"][:8])' "$2"
}

lan a b c
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --dht off --api --claim-ttl 10
start_node b b --address 10.1.0.5/24 --dht off --api --claim-ttl 10
waitiface b netron0
wait_until 10 pings a 10.1.0.5 || fail "a cannot reach b"
sleep 1
start_node c c --address 10.1.0.5/24 --dht off --api --claim-ttl 10
waitiface c netron0
b_id=$(grep -o "node [0-9a-f]\{8\}" "$NT_TMP/b.log" | head -1 | cut -d' ' -f2)

wait_until 10 grep -q "address conflict: 10.1.0.5/24 is held by member $b_id" "$NT_TMP/c.log" ||
	fail "c did not report the conflict"
pretty "c reports: $(grep -o 'address conflict.*' "$NT_TMP/c.log" | head -1)"
for x in a b c; do
	o=$(owner_of "$x" 10.1.0.5)
	[ "$o" = "$b_id" ] || fail "on $x, 10.1.0.5 belongs to '$o', want b ($b_id)"
done
pretty "on a, b and c alike, 10.1.0.5 belongs to b (the earlier claim)"
n c ip -4 addr show dev netron0 | grep -q 10.1.0.5 && fail "c kept 10.1.0.5 on its interface"
api c /api/summary | grep -q '"conflicts": *\["10.1.0.5/24"\]' || fail "c's API does not show the conflict"
pretty "c does not use the address, and its API shows the conflict"
n a ping -c 3 -i 0.2 -W 2 10.1.0.5 >/dev/null || fail "a cannot reach 10.1.0.5 (b)"
b_rx=$(api b /api/peers | grep -o '"rx_packets": *[0-9]*' | head -1)
pretty "traffic to 10.1.0.5 reaches b"

# b leaves; once its claim expires, c's claim is the only one and c takes the address.
stop_node b KILL
wait_until 20 grep -q "address 10.1.0.5/24 is ours again" "$NT_TMP/c.log" || fail "c did not take the address after b left"
wait_until 5 n c sh -c "ip -4 addr show dev netron0 | grep -q 10.1.0.5" || fail "c did not configure 10.1.0.5"
wait_until 10 pings a 10.1.0.5 || fail "a cannot reach 10.1.0.5 at c"
pretty "after b left, c took 10.1.0.5 and a reaches it there"
echo "conflict: 1 passed, 0 failed"
