#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An outsider (issue 13, findings 2, 3 and 7): nt_attack without the token. The README
# promises that nothing without the token gets an answer beyond DHT and STUN basics, and
# nothing an outsider sends, spoofed or not, may delay a member's handshakes or data.
#
#                      ns sw: br0 (192.0.2.0/24)
#          |                       |                         |
#        ns a                    ns b                      ns h
#   192.0.2.1 10.1.0.1      192.0.2.2 10.1.0.2      192.0.2.66 nt_attack, no token
#   --workers 2, --peer b   (one thread)            (203.0.113.0/24 local: AnyIP; a and b
#   both NETRON_REKEY_AFTER_MS=2000: a, the          route it to h, so whatever they send
#   initiator, rekeys every 2 s                      to those sources reaches the harness)
#
# 1. random-index: one 33-byte 0xE5 frame with a random receiver index from each of 100
#    spoofed sources in 203.0.113.0/24. The outsider must get 0 datagrams back (finding 3:
#    today every source gets INITs).
# 2. hs-junk: 20 s of 0xE1 junk (INIT-sized, wrong mac1) at 1000/s with b's address
#    (192.0.2.2:51830) as source. a and b must keep rekeying (a's handshake count with b
#    rises by at least 5 while ~10 rekeys are due) and pinging (finding 2: today the junk
#    drains a's per-source handshake budget for b's address, and b's answers are dropped).
#    The same junk from the harness's own address gets no answer.
# 3. fin-data: 10 s of 0xE3 datagrams each followed by a 0xE5 frame with the same index,
#    200 pairs/s, at a (--workers 2). No worker may wait for the loop: /api/summary
#    workers[i].waits (a counter the fix adds) stays 0; pings keep working (finding 7); and
#    the outsider gets no answer (its data frames name indices a does not know: finding 3).
NT_TEST_NAME=outsider
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
require_attack

attack_lan a:1 b:2 h:66
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api)
NETRON_REKEY_AFTER_MS=2000 start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 \
	--workers 2 "${common[@]}"
NETRON_REKEY_AFTER_MS=2000 start_node b b --address 10.1.0.2/24 "${common[@]}"
members=(a:10.1.0.1 b:10.1.0.2)
waitiface a netron0
waitiface b netron0
wait_until 20 pings_all "${members[@]}" || fail "a and b do not reach each other"
for x in a b; do wait_until 5 api_get "$x" 8080 /api/summary >/dev/null || fail "$x: no API"; done
handshakes() { api_json a 8080 /api/peers "sum(p['handshakes'] or 0 for p in d)"; }
pretty "a and b reach each other; a rekeys every 2 s"

# 1. Random session indices from 100 spoofed sources.
NETRONTOKEN='' attack_fg h rand --node 192.0.2.1:51830 --bind 0.0.0.0:40010 \
	random-index --sources 100 --from 203.0.113.1 --linger 6
harness_ok rand random-index 1
pretty "$(attack_line rand random-index)"
recv=$(attack_field rand random-index recv)
[ "$(attack_field rand random-index path_ok)" = 1 ] ||
	fail "harness: a's answer to a STUN request from 203.0.113.101 did not reach it (routes, AnyIP?)"
check "the outsider got no answer to 100 random-index frames (got $recv datagrams, $(attack_field rand random-index recv_bytes) bytes)" \
	eq "$recv" 0
check "a is alive after random-index" alive a
check "a and b ping each other after random-index" pings_all "${members[@]}"

# 2. Handshake junk with b's address as source.
h0=$(handshakes)
pretty "hs-junk at a as 192.0.2.2:51830, 1000/s for 20 s (a has done $h0 handshakes with b)"
NETRONTOKEN='' attack h junk --node 192.0.2.1:51830 --bind 0.0.0.0:40011 \
	hs-junk --as 192.0.2.2:51830 --rate 1000 --duration 20
ping_fail=0
for _ in 1 2 3 4 5; do
	sleep 3
	pings a 10.1.0.2 2 || ping_fail=$((ping_fail + 1))
done
harness_ok junk hs-junk 30
h1=$(handshakes)
pretty "$(attack_line junk hs-junk); a's handshakes with b: $h0 -> $h1"
check "a and b kept rekeying under the junk ($((h1 - h0)) handshakes in ~22 s, want >= 5)" \
	at_least $((h1 - h0)) 5
check "a reached b during the junk ($ping_fail of 5 pings failed)" eq "$ping_fail" 0
check "a and b ping each other after the junk" pings_all "${members[@]}"
NETRONTOKEN='' attack_fg h junk2 --node 192.0.2.1:51830 --bind 0.0.0.0:40012 \
	hs-junk --rate 200 --duration 2
harness_ok junk2 hs-junk 1
recv=$(attack_field junk2 hs-junk recv)
check "junk from the outsider's own address got no answer (got $recv datagrams)" eq "$recv" 0

# 3. FIN, then data for the same index, at a worker.
pretty "fin-data at a (--workers 2): 200 pairs/s for 10 s"
NETRONTOKEN='' attack h fin --node 192.0.2.1:51830 --bind 0.0.0.0:40013 \
	fin-data --rate 200 --duration 10
ping_fail=0
for _ in 1 2 3; do
	sleep 2.5
	pings b 10.1.0.1 2 || ping_fail=$((ping_fail + 1))
done
harness_ok fin fin-data 20
pretty "$(attack_line fin fin-data)"
check "b reached a during fin-data ($ping_fail of 3 pings failed)" eq "$ping_fail" 0
recv=$(attack_field fin fin-data recv)
check "the outsider got no answer to fin-data (got $recv datagrams)" eq "$recv" 0
check "a is alive after fin-data" alive a
for w in 0 1; do
	waits=$(summary_key a workers "$w" waits)
	if [ "$waits" = missing ]; then
		check_fail "a's /api/summary has no workers[$w].waits (the fix adds that counter)"
	else
		check "a's worker $w never waited for the loop (waits: $waits)" eq "$waits" 0
	fi
done
check "a and b ping each other at the end" pings_all "${members[@]}"
attack_done
