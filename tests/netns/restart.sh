#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kill -9 of one member and a restart with the same state directory: traffic resumes
# without touching the other member (which still holds the old session).
#
#   ns a 192.0.2.1 (10.1.0.1) --- br0 --- ns b 192.0.2.2 (10.1.0.2)
NT_TEST_NAME=restart
source "$(dirname "$0")/lib.sh"
require_root

lan a b
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --dht off --mdns off
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface a netron0
waitiface b netron0
wait_until 10 pings a 10.1.0.2 || fail "a cannot reach b"
id_before=$(grep -o "node [0-9a-f]\{8\}" "$NT_TMP/b.log" | head -1)

stop_node b KILL
n b ip link show netron0 >/dev/null 2>&1 && fail "netron0 survived kill -9"
pretty "b killed with SIGKILL; its interface went with it"
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface b netron0
t0=$SECONDS
wait_until 20 pings a 10.1.0.2 || fail "a cannot reach b after b's restart"
wait_until 5 pings b 10.1.0.1 || fail "b cannot reach a after its restart"
pretty "traffic resumed $((SECONDS - t0)) s after the restart"
id_after=$(grep -o "node [0-9a-f]\{8\}" "$NT_TMP/b.log" | tail -1)
[ "$id_before" = "$id_after" ] || fail "identity changed across the restart: $id_before -> $id_after"
grep -q "new identity" <(grep "$id_after" "$NT_TMP/b.log" | tail -1) && fail "restart created a new identity"
pretty "b kept its identity ($id_after)"
echo "restart: 1 passed, 0 failed"
