#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A member that turns relaying off (--relay off) is never used as a relay: with both homes
# behind symmetric NATs (no direct path can exist) and M the only member they share, h1 and
# h2 both keep their sessions with M but never get one with each other, and M counts the
# refusals. (nat_symmetric shows the same pair connected once M relays.)
#
#   h1 (10.1.0.1) - r1 symmetric - isp1 - pub - isp2 - r2 symmetric - h2 (10.1.0.2)
#                                          |
#                                m 203.0.113.10 (10.1.0.10, --relay off)
NT_TEST_NAME=nat_norelay
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require

nat_lab
nat_host h1 r1 2
nat_host h2 r2 2
nat_router r1 symmetric
nat_router r2 symmetric
make_token
export NETRONTOKEN=$NT_TOKEN
nat_start_member m --relay off
nat_start h1 h1 10.1.0.1
nat_start h2 h2 10.1.0.2
waitiface h1 netron0
waitiface h2 netron0
wait_until 10 pings h1 10.1.0.10 || fail "h1 cannot reach M"
wait_until 10 pings h2 10.1.0.10 || fail "h2 cannot reach M"
pretty "h1 and h2 each have a session with M"

# Well past the relay fallback (3 s) and several punch rounds.
sleep 12
pings h1 10.1.0.2 && fail "h1 reaches h2 although no path exists but a relay, and M refuses to relay"
peer_connected h1 10.1.0.2 && fail "h1 shows a session with h2"
refused=$(api m /metrics | awk '$1 == "netron_drops_total{reason=\"relay_refused\"}" { print $2 }')
[ "${refused:-0}" -gt 0 ] || fail "M counted no refused relay requests (h1 and h2 should have asked)"
grep -q "relaying between" "$NT_TMP/m.log" && fail "M relayed"
pretty "M refused $refused relay requests and relayed nothing; h1 and h2 have no session with each other"
pings h1 10.1.0.10 3 || fail "h1 lost M"
echo "nat_norelay: 1 passed, 0 failed"
