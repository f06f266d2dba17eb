#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Two members behind the same NAT. Linux NAT does not hairpin, so the public endpoints M
# sees for them (203.0.113.1:51830 and 203.0.113.1:<other port>) do not reach each other:
# their session must use the LAN addresses (host candidates), path "lan" (or "direct")
# with an endpoint in 10.10.1.0/24. mDNS is off, as everywhere in the NAT lab, so the LAN
# address can only come from the members themselves through M.
#
#                      pub: br0 203.0.113.0/24
#          +-------------------+
#     r1 203.0.113.1     m 203.0.113.10 (10.1.0.10)
#  eim-fw | 10.10.1.1
#     lan1: br0
#     +---------------------+
#   h1 10.10.1.2          h1b 10.10.1.3
#   (10.1.0.1)            (10.1.0.3)
NT_TEST_NAME=nat_samenat
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/natlib.sh"
nat_require

nat_lab
nat_host h1 r1 2
nat_host h1b r1 3
nat_router r1 eim-fw
nat_router r2 eim-fw
make_token
export NETRONTOKEN=$NT_TOKEN
failures=()

nat_start_member m
nat_start h1 h1 10.1.0.1
nat_start h1b h1b 10.1.0.3
waitiface h1 netron0
waitiface h1b netron0
if time_to_ping h1 10.1.0.3 30; then
	pretty "first ping h1 -> h1b after $T_PING s"
else
	failures+=("h1 cannot ping h1b within 30 s")
fi
pings h1b 10.1.0.1 3 || failures+=("h1b cannot ping h1")
for side in "h1 10.1.0.3 10.10.1.3" "h1b 10.1.0.1 10.10.1.2"; do
	set -- $side
	if expect_path "$1" "$2" lan direct && [[ $GOT_ENDPOINT == "$3":* ]]; then
		pretty "$1 reaches $2 over the LAN: path $GOT_PATH at $GOT_ENDPOINT"
	else
		failures+=("$1's path to $2 is '$GOT_PATH' at '$GOT_ENDPOINT', want lan/direct at $3:*")
	fi
done
[ ${#failures[@]} -eq 0 ] || nat_dump h1 h1b m

for f in "${failures[@]}"; do
	printf '\033[1;31m[%s]\033[0m %s\n' "$NT_TEST_NAME" "$f"
done
[ ${#failures[@]} -eq 0 ] || fail "${#failures[@]} check(s) failed"
echo "nat_samenat: 1 passed, 0 failed"
