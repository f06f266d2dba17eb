#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The library: examples/embed.c runs a node in a thread of its own program, joins a
# netron daemon's network from the token, and traffic crosses between them.
#
#   ns a 192.0.2.1 netron (10.1.0.1) --- br0 --- ns b 192.0.2.2 example_embed (10.1.0.21)
NT_TEST_NAME=embed
source "$(dirname "$0")/lib.sh"
require_root
EXAMPLE=${NT_BUILD_DIR:-$NT_SOURCE_DIR/build}/example_embed
[ -x "$EXAMPLE" ] || fail "example_embed not built ($EXAMPLE)"

lan a b
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --dht off --mdns off
waitiface a netron0
mkdir -p "$NT_TMP/state-embed"
bg b embed env NETRONSTATEDIR="$NT_TMP/state-embed" "$EXAMPLE" 10.1.0.21/24 192.0.2.1:51830 8
wait_until 15 grep -q "^connected" "$NT_TMP/embed.log" || fail "the embedded node did not connect"
grep -q "10.1.0.1/" "$NT_TMP/embed.log" || fail "the embedded node does not list the daemon's address"
pretty "embedded node connected and sees the daemon's address"
wait_until 5 pings a 10.1.0.21 || fail "daemon cannot reach the embedded node"
pings b 10.1.0.1 3 || fail "embedded node's host cannot reach the daemon"
pretty "traffic crosses between the daemon and the embedded node"
wait_until 15 grep -q "^stopped" "$NT_TMP/embed.log" || fail "the embedded node did not stop"
wait_until 3 sh -c "! ip netns exec $NT_PREFIX""b ip link show netron0" || fail "the library left netron0 behind"
pretty "the program stopped the node and its interface is gone"
echo "embed: 1 passed, 0 failed"
