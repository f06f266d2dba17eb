#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a member's frames cost the node (review of issue 13's fixes): nothing cheap for a
# member may be expensive for a node. A ledger entry's Ed25519 signature is checked after
# every cheaper rule, but an entry that passes them all (a new key, in a bucket with room)
# is verified, refused, and forgotten: the same bytes cost the same again, and nothing
# limits how many a member may push.
#   1. baseline: the harness, a member of a, sends 8 s of 1000 frames/s of ~1.1 KB each
#      under a control type a does not know (a decrypts and drops them);
#   2. bad-sigs: the same frames, byte for byte, as gossip PUSHes: 8 smallest entries each,
#      under the harness's own key, on keys nobody holds, with wrong signatures.
# a's CPU time (utime + stime) during each: the gossip flood may cost a at most 3 times the
# baseline, plus 0.3 s for the noise (a per-member budget of verifications keeps it there;
# today every entry costs a full verification).
# Then b still reaches a.
#
#                      ns sw: br0 (192.0.2.0/24)
#          |                       |                         |
#        ns a                    ns b                      ns h
#   192.0.2.1 10.1.0.1      192.0.2.2 10.1.0.2      192.0.2.66 nt_attack (member of a)
#                           --peer a
NT_TEST_NAME=hostile_cpu
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

RATE=1000
SECS=8

attack_lan a:1 b:2 h:66
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
start_node a a --address 10.1.0.1/24 "${common[@]}"
start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2)
for x in a b; do waitiface "$x" netron0; done
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
pretty "a and b reach each other"

hz=$(getconf CLK_TCK)
# a's CPU time so far, in clock ticks.
cpu_a() { awk '{ print $14 + $15 }' "/proc/$PID_a/stat"; }

declare -A ticks
for x in base:127:40001 sigs:4:40002; do
	IFS=: read -r name type port <<<"$x"
	c0=$(cpu_a)
	attack_fg h "$name" --node 192.0.2.1:51830 --bind "0.0.0.0:$port" \
		bad-sigs --rate "$RATE" --duration "$SECS" --type "$type"
	harness_ok "$name" bad-sigs 1
	sleep 1 # what is still queued at a
	ticks[$name]=$(($(cpu_a) - c0))
	pretty "$name: $(attack_line "$name" bad-sigs); a used $((ticks[$name] * 1000 / hz)) ms of CPU"
done
check "the gossip flood cost a at most 3x the same bytes of other frames, +0.3 s ($((ticks[sigs] * 1000 / hz)) ms for $((ticks[base] * 1000 / hz)) ms)" \
	le "${ticks[sigs]}" $((3 * ticks[base] + 3 * hz / 10))
check "a is alive" alive a
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
