#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sessions on demand (docs/scale.md): eight members on one LAN, each keeping sessions alive
# with two neighbors only (--neighbors 2) and with a, the member all of them were told of.
# Every member still learns every address claim (gossip along the neighbors); a ping between
# two members with no session opens one at once; that session closes after it idles
# (NETRON_IDLE_SESSION_MS 8 s here, 5 min by default), and the next ping opens it again; a
# member that exits cleanly gives its address back at once.
#
#   ns a..h 192.0.2.1..8 (10.1.0.1..8) on br0 (ns sw); everyone --peer a; DHT and mDNS off
NT_TEST_NAME=ondemand
source "$(dirname "$0")/lib.sh"
require_root

names=(a b c d e f g h)
lan "${names[@]}"
make_token
export NETRONTOKEN=$NT_TOKEN
export NETRON_IDLE_SESSION_MS=8000
i=1
for x in "${names[@]}"; do
	peer=(--peer 192.0.2.1:51830)
	[ "$x" = a ] && peer=()
	start_node "$x" "$x" --address "10.1.0.$i/24" "${peer[@]}" --dht off --mdns off --api \
		--neighbors 2
	i=$((i + 1))
done
for x in "${names[@]}"; do waitiface "$x" netron0; done

machines() { api_json "$1" 8080 /api/machines "len(d)"; }
all_claims() {
	local x
	for x in "${names[@]}"; do [ "$(machines "$x")" = 8 ] || return 1; done
}
wait_until 30 all_claims || fail "not every member lists the 8 claims"
pretty "every member lists all 8 address claims"

# The sessions the start-up made without need close after they idle: wait that out.
connected() { api_json "$1" 8080 /api/peers "sum(1 for p in d if p['connected'])"; }
connected_to() {
	api_json "$1" 8080 /api/peers \
		"any(p['connected'] and '10.1.0.$2/32' in p['addresses'] for p in d)"
}
sleep 12
total=0
for x in "${names[@]}"; do total=$((total + $(connected "$x"))); done
# A full mesh would be 8 x 7 = 56 session ends; two neighbors each and a pinned a make far fewer.
[ "$total" -lt 40 ] || fail "the members still hold $total session ends: no fewer than a mesh"
pretty "members hold $total session ends in all (a full mesh: 56)"

# A pair with no session: b..h against each other (a is everyone's --peer).
pair=""
for x in b c d e f g h; do
	for j in 2 3 4 5 6 7 8; do
		[ "10.1.0.$j" = "$(n "$x" ip -4 -o addr show netron0 | awk '{print $4}' | cut -d/ -f1)" ] &&
			continue
		if [ "$(connected_to "$x" "$j")" = False ]; then
			pair="$x $j"
			break 2
		fi
	done
done
[ -n "$pair" ] || fail "every member has a session with every other: nothing on demand to test"
set -- $pair
src=$1 dst=10.1.0.$2 dsti=$2
t0=$(date +%s%N)
n "$src" ping -c 1 -W 2 "$dst" >/dev/null || fail "$src: the first ping to $dst (no session) got no reply"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -lt 1000 ] || fail "$src: the first reply from $dst took $ms ms (want < 1 s)"
pretty "$src -> $dst with no session before: first reply in $ms ms"
[ "$(connected_to "$src" "$dsti")" = True ] || fail "$src lists no session with $dst after the ping"
wait_until 25 eval "[ \"\$(connected_to $src $dsti)\" = False ]" ||
	fail "$src still has the idle session with $dst"
pretty "the idle session closed"
n "$src" ping -c 1 -W 2 "$dst" >/dev/null || fail "$src: no reply from $dst after the session closed"
pretty "and opens again for the next ping"
transfer "$src" "$(echo "${names[$((dsti - 1))]}")" "$dst" 1000000
pretty "1 MB from $src to $dst arrives intact"

# A clean exit releases the address at once (a lease would otherwise hold it for hours).
stop_node h TERM
gone() { [ "$(api_json b 8080 /api/machines "len(d)")" = 7 ]; }
wait_until 10 gone || fail "h exited, and b still lists its claim"
pretty "h exited cleanly: its claim is gone from b"
echo "ondemand: 1 passed, 0 failed"
