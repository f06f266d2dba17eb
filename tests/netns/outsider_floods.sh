#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# DHT and STUN requests from one outsider source (issue 13, finding 8). A node answers the
# Mainline DHT and STUN Binding requests of anyone, but a request may not draw more than a
# small bounded multiple of its own size back (4x here), since its source may be spoofed.
#
#                      ns sw: br0 (192.0.2.0/24)
#          |                       |                         |
#        ns a                    ns b                      ns h
#   192.0.2.1 10.1.0.1      192.0.2.2 10.1.0.2      192.0.2.66 nt_attack, no token
#   DHT on (no bootstrap)   DHT on, bootstraps
#                           from a; --peer a
#
# 1. dht-flood at a: pings from 8 other addresses fill a's routing table as the public DHT
#    would; a get_peers for a random info-hash (for its token), 32 announce_peer from the
#    harness's IP with 32 ports, then 40 get_peers/find_node/ping, all at 7/s
#    (within a's per-IP limit, so each is answered). The flood's reply bytes, and those of
#    its get_peers alone, must stay <= 4x its request bytes. The node must still answer
#    (a DHT node that answers nothing is no good Mainline citizen).
# 2. stun-flood at a: 1000 Binding requests at 500/s. The node still answers STUN, each
#    answer within 4x its request, but it rate-limits one source: at most half of them are
#    answered.
NT_TEST_NAME=outsider_floods
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 h:66
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --mdns off --bootstrap "" --api
start_node b b --address 10.1.0.2/24 --mdns off --bootstrap 192.0.2.1:51830 \
	--peer 192.0.2.1:51830 --api
members=(a:10.1.0.1 b:10.1.0.2)
waitiface a netron0
waitiface b netron0
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
pretty "a and b reach each other; both run the DHT"

# 1. The DHT.
NETRONTOKEN='' attack_fg h dht --node 192.0.2.1:51830 --bind 0.0.0.0:40020 \
	dht-flood --count 40 --rate 7 --announces 32 --neighbours 8 --from 203.0.113.100
harness_ok dht dht-flood 1
pretty "$(attack_line dht dht-flood)"
sent=$(attack_field dht dht-flood sent_bytes)
recv=$(attack_field dht dht-flood recv_bytes)
gp_sent=$(attack_field dht dht-flood get_peers_sent_bytes)
gp_recv=$(attack_field dht dht-flood get_peers_recv_bytes)
check "a still answers DHT queries ($(attack_field dht dht-flood recv) answers to $(attack_field dht dht-flood sent))" \
	at_least "$(attack_field dht dht-flood recv)" 1
check "DHT replies to one source stay within 4x its requests ($recv bytes for $sent)" le "$recv" $((4 * sent))
check "get_peers replies stay within 4x the requests ($gp_recv bytes for $gp_sent)" le "$gp_recv" $((4 * gp_sent))

# 2. STUN.
NETRONTOKEN='' attack_fg h stun --node 192.0.2.1:51830 --bind 0.0.0.0:40021 \
	stun-flood --count 1000 --rate 500
harness_ok stun stun-flood 1
pretty "$(attack_line stun stun-flood)"
sent=$(attack_field stun stun-flood sent)
sent_bytes=$(attack_field stun stun-flood sent_bytes)
recv=$(attack_field stun stun-flood recv)
recv_bytes=$(attack_field stun stun-flood recv_bytes)
check "a still answers STUN Binding requests ($recv answers)" at_least "$recv" 1
# Per answer: recv_bytes / recv <= 4 x sent_bytes / sent.
check "a STUN answer stays within 4x its request ($recv_bytes bytes in $recv answers, $sent_bytes in $sent requests)" \
	le $((recv_bytes * sent)) $((4 * sent_bytes * ${recv:-0}))
check "a flood of STUN requests from one source is rate-limited ($recv of $sent answered, want <= half)" \
	le "$((2 * recv))" "$sent"
check "a is alive" alive a
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
