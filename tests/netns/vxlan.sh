#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What k3s with --flannel-iface=netron0 does: a VXLAN interface over netron0 between two
# members. With the default MTU (1400, chosen to fit a 1500-byte underlay), full-size
# packets with DF set cross both layers, and so does a TCP transfer.
#
#   ns a: vx0 10.244.0.1/24 (mtu 1350) -> netron0 10.1.0.1 -> eth0 192.0.2.1 (mtu 1500)
#   ns b: vx0 10.244.0.2/24 (mtu 1350) -> netron0 10.1.0.2 -> eth0 192.0.2.2 (mtu 1500)
NT_TEST_NAME=vxlan
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

mtu=$(n a cat /sys/class/net/netron0/mtu)
[ "$mtu" = 1400 ] || fail "default MTU is $mtu, want 1400"
# A full-size packet with DF over netron0 itself, inside a 1500-byte underlay.
n a ping -c 2 -i 0.2 -W 2 -M do -s $((mtu - 28)) 10.1.0.2 >/dev/null || fail "full-size DF ping over netron0 failed"
pretty "a $mtu-byte packet with DF crosses netron0 over a 1500-byte underlay"

for x in a:1:2 b:2:1; do
	IFS=: read -r node me other <<<"$x"
	n "$node" ip link add vx0 type vxlan id 42 local "10.1.0.$me" remote "10.1.0.$other" dstport 4789 dev netron0
	n "$node" ip link set vx0 mtu $((mtu - 50))
	n "$node" ip addr add "10.244.0.$me/24" dev vx0
	n "$node" ip link set vx0 up
done
wait_until 10 pings a 10.244.0.2 || fail "no ping over VXLAN"
n a ping -c 3 -i 0.2 -W 2 -M do -s $((mtu - 50 - 28)) 10.244.0.2 >/dev/null ||
	fail "full-size DF ping over VXLAN failed"
pretty "full-size ($((mtu - 50))-byte) DF ping over VXLAN over netron0"

cat >"$NT_TMP/sink.py" <<'PY'
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.244.0.2", 5002)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[1], "w").write("%d %s\n" % (n, h.hexdigest()))
PY
head -c 20000000 /dev/urandom >"$NT_TMP/blob"
want=$(sha256sum <"$NT_TMP/blob" | cut -d' ' -f1)
bg b sink python3 "$NT_TMP/sink.py" "$NT_TMP/sink.out"
sleep 0.5
# IP_PMTUDISC_DO (DF on every segment): the transfer must not rely on fragmentation.
n a python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.IPPROTO_IP, 10, 2)
s.settimeout(60)
s.connect(("10.244.0.2", 5002))
with open(sys.argv[1], "rb") as f:
    while True:
        b = f.read(1 << 16)
        if not b: break
        s.sendall(b)
s.close()' "$NT_TMP/blob" || fail "TCP over VXLAN failed"
wait_until 30 test -s "$NT_TMP/sink.out" || fail "receiver did not finish"
read -r got_n got_sum <"$NT_TMP/sink.out"
[ "$got_n" = 20000000 ] && [ "$got_sum" = "$want" ] || fail "TCP over VXLAN: got $got_n bytes, sum $got_sum"
pretty "20 MB over TCP with DF through VXLAN over netron0 arrived intact"
echo "vxlan: 1 passed, 0 failed"
