#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Members come and go: a member that leaves is forgotten once its claim has expired and it
# has been quiet long enough (10 min by default; 3 s here through NETRON_PEER_IDLE_MS, the
# test knob), so a long-lived network does not fill its peer table; the member can come
# back later and is welcomed like a new one.
#
#   ns a 192.0.2.1 (10.1.0.1) --- br0 --- ns b 192.0.2.2 (10.1.0.2), ns c 192.0.2.3 (10.1.0.3)
NT_TEST_NAME=churn
source "$(dirname "$0")/lib.sh"
require_root

lan a b c
make_token
export NETRONTOKEN=$NT_TOKEN
NETRON_PEER_IDLE_MS=3000 NETRON_REKEY_AFTER_MS=20000 start_node a a --address 10.1.0.1/24 --dht off --claim-ttl 10 --api
start_node b b --address 10.1.0.2/24 --dht off --claim-ttl 10
start_node c c --address 10.1.0.3/24 --dht off --claim-ttl 10
wait_until 10 pings a 10.1.0.2 || fail "a cannot reach b"
wait_until 10 pings a 10.1.0.3 || fail "a cannot reach c"
c_id=$(grep -o "node [0-9a-f]\{8\}" "$NT_TMP/c.log" | head -1 | cut -d' ' -f2)

stop_node c KILL
# c is a's neighbor on a's own link: no keepalives (no NAT to hold open), so a hears from it
# at each rekey (every 20 s here, NETRON_REKEY_AFTER_MS) and counts it dead after a rekey
# and two keepalive periods of silence (75 s; 175 s by default); its claim has expired by
# then (10 s ttl); 3 s of idle later, a forgets it.
wait_until 120 grep -q "peer $c_id: gone for" "$NT_TMP/a.log" || fail "a never forgot the departed member $c_id"
pretty "a forgot the departed member $c_id"
n a curl -sf http://127.0.0.1:8080/api/peers | grep -q "$c_id" && fail "a still lists $c_id"
pings a 10.1.0.2 3 || fail "a lost b while forgetting c"

start_node c c --address 10.1.0.3/24 --dht off --claim-ttl 10
wait_until 15 pings a 10.1.0.3 || fail "a does not welcome the returning member"
pretty "the member came back and a reaches it again"
echo "churn: 1 passed, 0 failed"
