#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The data path's offloads, and members without them.
#
#   ns a  netron0 10.1.0.1/24 fd00:6e74::1/64 --- veth 192.0.2.1 | 192.0.2.2 --- ns b  netron0 10.1.0.2/24 ...
#
# 1. a with every offload (TSO/USO on the TUN, UDP GSO and GRO), b with none
#    (NETRON_OFFLOAD=off): TCP transfers both ways over IPv4 and IPv6 arrive intact; a's
#    counters show it read superpackets and sent GSO runs, and coalesced b's segments.
# 2. b restarted with every offload: transfers both ways; b receives GRO bundles; a UDP
#    sender using UDP_SEGMENT (USO through netron0) gets every datagram across, intact.
# 3. b with the TUN offload only, a unchanged: intact both ways.
# 4. The link's MTU lowered below a frame's size: the kernel refuses a GSO send, a falls
#    back to datagrams (fragmented), and a transfer still arrives intact.
NT_TEST_NAME=offload
source "$(dirname "$0")/lib.sh"
require_root
command -v curl >/dev/null || skip "curl missing"

ns_add a
ns_add b
link a 192.0.2.1/24 b 192.0.2.2/24
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api --api-listen 127.0.0.1:8080)

# off NODE FIELD: the value of summary.offload.FIELD from NODE's API.
off() {
	api_json "$1" 8080 /api/summary "d['offload']['$2']"
}
drop() {
	api_json "$1" 8080 /api/summary "d['drops']['$2']"
}
start_a() {
	start_node a a --address 10.1.0.1/24 --address fd00:6e74::1/64 --peer 192.0.2.2:51830 "${common[@]}"
	waitiface a netron0
}
start_b() {
	start_node b b --address 10.1.0.2/24 --address fd00:6e74::2/64 --peer 192.0.2.1:51830 "${common[@]}"
	waitiface b netron0
}
connected() {
	wait_until 15 pings a 10.1.0.2 || fail "a cannot ping b ($1)"
	wait_until 10 pings b fd00:6e74::1 || fail "b cannot ping a over IPv6 ($1)"
	wait_until 5 api_get a 8080 /api/summary || fail "a's API does not answer"
	wait_until 5 api_get b 8080 /api/summary || fail "b's API does not answer"
}

# --- 1. a with offloads, b without ------------------------------------------------------------
start_a
NETRON_OFFLOAD=off start_b
connected "a offloads, b none"
[ "$(off a tun_tso)" = True ] || skip "this kernel gives the TUN no TSO"
[ "$(off a udp_gso)" = True ] || fail "a: UDP GSO not on"
[ "$(off a udp_gro)" = True ] || fail "a: UDP GRO not on"
for f in tun_vnet tun_tso udp_gso udp_gro; do
	[ "$(off b $f)" = False ] || fail "b: $f is on with NETRON_OFFLOAD=off"
done
grep -q "offloads: tun off, udp segmentation off, udp receive coalescing off" "$NT_TMP/b.log" ||
	fail "b does not log that its offloads are off"
pretty "a has TSO, GSO and GRO; b has none"

transfer a b 10.1.0.2 30000000 5001
transfer a b fd00:6e74::2 20000000 5002
[ "$(off a tun_superpackets)" -gt 0 ] || fail "a read no superpacket from its TUN"
[ "$(off a udp_gso_sends)" -gt 0 ] || fail "a sent no GSO run"
pretty "a -> b (no offloads) 30 MB IPv4 + 20 MB IPv6 intact; a cut $(off a tun_superpackets) superpackets into $(off a tun_segments) frames"
transfer b a 10.1.0.1 30000000 5003
transfer b a fd00:6e74::1 20000000 5004
[ "$(off a tun_coalesced_writes)" -gt 0 ] || fail "a coalesced none of b's TCP segments"
pretty "b -> a 50 MB intact; a wrote $(off a tun_coalesced_packets) packets as $(off a tun_coalesced_writes) superpackets"
for x in a b; do
	[ "$(drop $x tun_offload)" = 0 ] || fail "$x dropped packets for bad offload headers"
done

# --- 2. both with offloads ------------------------------------------------------------------
stop_node b
start_b
connected "both offloads"
transfer a b 10.1.0.2 30000000 5005
transfer b a 10.1.0.1 30000000 5006
[ "$(off b udp_gro_receives)" -gt 0 ] || fail "b received no GRO bundle"
[ "$(off b udp_gro_frames)" -gt "$(off b udp_gro_receives)" ] || fail "b's GRO bundles held one frame each"
pretty "both ways intact with offloads on both; b took $(off b udp_gro_frames) frames in $(off b udp_gro_receives) receives"

if [ "$(off a tun_uso)" = True ]; then
	before=$(off a tun_superpackets)
	cat >"$NT_TMP/usorecv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 4 << 20)  # SO_RCVBUFFORCE: room for the whole burst
s.bind(("10.1.0.2", 6000)); s.settimeout(10)
got = {}
try:
    while len(got) < 200:
        b = s.recv(2000)
        got[b[:4]] = b
except socket.timeout:
    pass
ok = sum(1 for k, v in got.items() if v == k * 300)
open(sys.argv[1], "w").write("%d %d\n" % (len(got), ok))
PY
	bg b usorecv python3 "$NT_TMP/usorecv.py" "$NT_TMP/uso.out"
	wait_until 5 eval "n b ss -Hlun 'sport = :6000' | grep -q 6000" || fail "UDP receiver not ready"
	# 200 datagrams of 1200 bytes in 5 sends of 40 (UDP_SEGMENT): the TUN gets USO superpackets.
	n a python3 -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_UDP, 103, 1200)
for k in range(5):
    buf = b"".join(struct.pack(">I", k * 40 + i) * 300 for i in range(40))
    s.sendto(buf, ("10.1.0.2", 6000))' || fail "USO send failed"
	wait_until 15 test -s "$NT_TMP/uso.out" || fail "UDP receiver did not finish"
	read -r got ok <"$NT_TMP/uso.out"
	[ "$got" = 200 ] && [ "$ok" = 200 ] || fail "USO through netron0: $got datagrams received, $ok intact, want 200"
	[ "$(off a tun_superpackets)" -gt "$before" ] || fail "a's TUN gave no UDP superpacket"
	pretty "200 UDP datagrams sent as 5 USO superpackets arrived intact"
fi

# --- 3. b with the TUN offload only ------------------------------------------------------------
stop_node b
NETRON_OFFLOAD=tun start_b
connected "b tun only"
[ "$(off b udp_gso)" = False ] && [ "$(off b tun_tso)" = True ] || fail "b: NETRON_OFFLOAD=tun not honoured"
transfer a b 10.1.0.2 20000000 5007
transfer b a 10.1.0.1 20000000 5008
pretty "b with TSO but no GSO/GRO: both ways intact"

# --- 4. a GSO send the kernel refuses -------------------------------------------------------
stop_node b
start_b
connected "before the MTU change"
n a ip link set "$LINK_IF_A" mtu 1300
n b ip link set "$LINK_IF_B" mtu 1300
fallbacks=$(off a udp_gso_fallbacks)
transfer a b 10.1.0.2 10000000 5009
transfer b a 10.1.0.1 10000000 5010
[ "$(off a udp_gso_fallbacks)" -gt "$fallbacks" ] || fail "a never fell back from a refused GSO send"
[ "$(off a udp_gso)" = True ] || fail "a gave up GSO for good over one route's MTU"
pretty "frames larger than the link: GSO refused $(( $(off a udp_gso_fallbacks) - fallbacks )) times, sent as fragments, transfer intact"

pretty "PASS"
