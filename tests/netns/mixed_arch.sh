#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Other CPUs in one network: a native x86-64 member beside a 32-bit little-endian ARM
# (armhf) and a 64-bit big-endian s390x member, both cross-built (scripts/cross-build) and
# run under qemu-user with their Debian sysroot (scripts/setup-cross); an arm64 member
# joins when build-cross-arm64/netron exists. What crosses between them is every wire
# format (handshake, data, control, mDNS, DHT), the ledger's canonical encoding, hashes and
# signatures; the armhf member adds a 32-bit time_t, size_t and long (Debian 12's armhf
# ABI), where millisecond and byte arithmetic wraps first.
#
# Part 1, one LAN, found through mDNS only (--dht off), every member --dhcp:
#                        ns sw (bridge br0)
#        x 192.0.2.1     a 192.0.2.2     s 192.0.2.3     [r 192.0.2.4]
#        x86-64 native   armhf (qemu)    s390x (qemu)    [arm64 (qemu)]
#   each gets a distinct address from 10.1.0.0/24; every pair pings; 2 MB cross
#   x -> s, s -> a and a -> x with the same SHA-256; /api/machines is the same on all, and
#   each member is listed with its own CPU (amd64, arm, s390x).
#
# Part 2, three subnets behind a router, found through the DHT only (--mdns off): the
# s390x member is the DHT's only bootstrap node, so what x and a learn of each other went
# through the big-endian member's routing table and peer store.
#              ns rt (ip_forward)
#     198.51.100.1/24   203.0.113.1/24   10.20.0.1/24
#         x2 .2             a2 .2           s2 .2        VPN 10.1.1.1, .2, .3
#
# Emulated members are slow (every instruction is translated): timeouts are generous.
# Skips (77) when qemu-user-static, a sysroot or a cross-built binary is missing.
NT_TEST_NAME=mixed_arch
source "$(dirname "$0")/lib.sh"
require_root

cross_root=${NT_CROSS_ROOT:-/opt/netron-cross}
declare -A qemu=([armhf]=qemu-arm-static [arm64]=qemu-aarch64-static [s390x]=qemu-s390x-static)
declare -A goarch=([armhf]=arm [arm64]=arm64 [s390x]=s390x)

# wrapper ARCH: a script that runs the cross-built netron of ARCH under qemu-user, so that
# start_node (and the PID it keeps) works unchanged; "" when ARCH cannot run here.
wrapper() {
	local arch=$1 var bin w
	var="NETRON_$(echo "$arch" | tr a-z A-Z)"
	bin=${!var:-$NT_SOURCE_DIR/build-cross-$arch/netron}
	command -v "${qemu[$arch]}" >/dev/null || return 1
	[ -f "$cross_root/$arch/.complete" ] || return 1
	[ -x "$bin" ] || return 1
	w="$NT_TMP/netron-$arch"
	printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$(command -v "${qemu[$arch]}")" \
		"$cross_root/$arch" "$bin" >"$w"
	chmod +x "$w"
	echo "$w"
}
for arch in armhf s390x; do
	wrapper "$arch" >/dev/null ||
		skip "no $arch member: needs ${qemu[$arch]}, $cross_root/$arch (scripts/setup-cross) and build-cross-$arch/netron (scripts/cross-build $arch)"
done
W_armhf=$(wrapper armhf)
W_s390x=$(wrapper s390x)
W_arm64=$(wrapper arm64 || true)
"$W_s390x" --version >/dev/null 2>&1 || fail "the s390x binary does not run under qemu"

# member CODE: name, architecture, launcher of each member of part 1.
members=(x a s)
declare -A arch_of=([x]=native [a]=armhf [s]=s390x)
declare -A bin_of=([x]=$NETRON [a]=$W_armhf [s]=$W_s390x)
if [ -n "$W_arm64" ]; then
	members+=(r)
	arch_of[r]=arm64
	bin_of[r]=$W_arm64
fi
pretty "members: $(for m in "${members[@]}"; do printf '%s=%s ' "$m" "${arch_of[$m]}"; done)"

make_token
export NETRONTOKEN=$NT_TOKEN

# ---- Part 1: mDNS, --dhcp, pings, transfers, the ledger ----
ns_add sw
bridge_add sw
i=1
for m in "${members[@]}"; do
	ns_add "$m"
	bridge_port sw "$m" "192.0.2.$i/24"
	# qemu-user 7.2 refuses IP_MULTICAST_IF: an emulated member announces where the route
	# to 224.0.0.251 goes (src/discovery/mdns_socket.c), as it would with a default route.
	n "$m" ip route add 224.0.0.0/4 dev eth0
	i=$((i + 1))
done
t0=$SECONDS
for m in "${members[@]}"; do
	NETRON=${bin_of[$m]} start_node "$m" "$m" --dhcp --dht off --api
done

vpn_addr() { n "$1" ip -4 -o addr show dev netron0 2>/dev/null | awk '{ print $4 }' | cut -d/ -f1; }
all_have() { for m in "${members[@]}"; do [ -n "$(vpn_addr "$m")" ] || return 1; done; }
wait_until 120 all_have || fail "not every member got a --dhcp address within 120 s"
declare -A addr
for m in "${members[@]}"; do addr[$m]=$(vpn_addr "$m"); done
distinct=$(printf '%s\n' "${addr[@]}" | sort -u | wc -l)
[ "$distinct" -eq ${#members[@]} ] || fail "--dhcp addresses are not distinct: ${addr[*]}"
pretty "--dhcp: $(for m in "${members[@]}"; do printf '%s=%s ' "$m" "${addr[$m]}"; done)($((SECONDS - t0)) s)"

all_pairs() {
	local m o
	for m in "${members[@]}"; do
		for o in "${members[@]}"; do
			[ "$m" = "$o" ] || pings "$m" "${addr[$o]}" || return 1
		done
	done
}
if ! wait_until 120 all_pairs; then
	for m in "${members[@]}"; do
		for o in "${members[@]}"; do
			[ "$m" = "$o" ] || pings "$m" "${addr[$o]}" || echo "$m -> $o (${addr[$o]}) fails"
		done
	done
	fail "not every pair pings (found through mDNS)"
fi
npairs=$((${#members[@]} * (${#members[@]} - 1)))
pretty "all $npairs pairs ping, $((SECONDS - t0)) s after start"

transfer x s "${addr[s]}" 2097152 5001
transfer s a "${addr[a]}" 2097152 5002
transfer a x "${addr[x]}" 2097152 5003
pretty "2 MB x86-64 -> s390x -> armhf -> x86-64 over TCP, SHA-256 intact"

# The ledger's view, without what is local to each viewer (LastSeen, connected).
machines() {
	api_get "$1" 8080 /api/machines | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(json.dumps(sorted([x["Address"], x["PeerID"], x["OS"], x["Arch"], x["Version"]] for x in m)))'
}
same_ledger() {
	local want m got
	want=$(machines x) || return 1
	[ "$(echo "$want" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq ${#members[@]} ] ||
		return 1
	for m in "${members[@]}"; do
		got=$(machines "$m") || return 1
		[ "$got" = "$want" ] || return 1
	done
}
if ! wait_until 90 same_ledger; then
	for m in "${members[@]}"; do echo "$m: $(machines "$m")"; done
	fail "/api/machines differs between members"
fi
# Each member is listed under its own address with its own CPU, as it signed it.
want_arch() { case ${arch_of[$1]} in native) echo amd64 ;; *) echo "${goarch[${arch_of[$1]}]}" ;; esac; }
for m in "${members[@]}"; do
	got=$(api_get x 8080 /api/machines | python3 -c '
import json, sys
print(" ".join(x["Arch"] for x in json.load(sys.stdin) if x["Address"] == sys.argv[1]))' "${addr[$m]}")
	[ "$got" = "$(want_arch "$m")" ] || fail "/api/machines lists $m (${addr[$m]}) as \"$got\", not $(want_arch "$m")"
done
pretty "/api/machines is the same on all ${#members[@]} members, each with its own CPU"

for m in "${members[@]}"; do stop_node "$m"; done

# ---- Part 2: the DHT, through the big-endian member ----
for x in rt x2 a2 s2; do ns_add "$x"; done
n rt sysctl -qw net.ipv4.ip_forward=1
link rt 198.51.100.1/24 x2 198.51.100.2/24
link rt 203.0.113.1/24 a2 203.0.113.2/24
link rt 10.20.0.1/24 s2 10.20.0.2/24
n x2 ip route add default via 198.51.100.1
n a2 ip route add default via 203.0.113.1
n s2 ip route add default via 10.20.0.1
t0=$SECONDS
NETRON=$W_s390x start_node s2 s2 --address 10.1.1.3/24 --mdns off --bootstrap ""
listening() { n s2 ss -Huln 'sport = :51830' | grep -q 51830; }
wait_until 60 listening || fail "the s390x member is not listening"
start_node x2 x2 --address 10.1.1.1/24 --mdns off --bootstrap 10.20.0.2:51830
NETRON=$W_armhf start_node a2 a2 --address 10.1.1.2/24 --mdns off --bootstrap 10.20.0.2:51830
dht_pairs() {
	local m o
	for m in x2:1 a2:2 s2:3; do
		for o in 1 2 3; do
			[ "${m#*:}" = "$o" ] || pings "${m%:*}" "10.1.1.$o" || return 1
		done
	done
}
if ! wait_until 150 dht_pairs; then
	for m in x2:1 a2:2 s2:3; do
		for o in 1 2 3; do
			[ "${m#*:}" = "$o" ] || pings "${m%:*}" "10.1.1.$o" || echo "${m%:*} -> 10.1.1.$o fails"
		done
	done
	fail "not every pair pings across the router (found through the DHT)"
fi
# x2 and a2 were told of nobody but s2: each learnt where the other is from a DHT lookup.
grep -q "dht: a member may be at 203.0.113.2:51830" "$NT_TMP/x2.log" ||
	fail "x2 did not learn a2's address through the DHT"
grep -q "dht: a member may be at 198.51.100.2:51830" "$NT_TMP/a2.log" ||
	fail "a2 (armhf) did not learn x2's address through the DHT"
pretty "all 6 pairs ping across the router, $((SECONDS - t0)) s after start, found through the s390x member's DHT"
transfer a2 x2 10.1.1.1 2097152 5004
pretty "2 MB armhf -> x86-64 across the router, SHA-256 intact"
echo "mixed_arch: 2 passed, 0 failed"
