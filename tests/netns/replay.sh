#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A captured data frame sent again (by an eavesdropper on the LAN, from its own address)
# is dropped as a replay, counted, and does not move the sender's endpoint.
#
#   ns a 192.0.2.1 (10.1.0.1) --- br0 --- ns b 192.0.2.2 (10.1.0.2)
#                                  |
#                      ns eve 192.0.2.66 (captures on its bridge port, replays to b)
NT_TEST_NAME=replay
source "$(dirname "$0")/lib.sh"
require_root

ns_add sw
bridge_add sw
ns_add a; bridge_port sw a 192.0.2.1/24
ns_add b; bridge_port sw b 192.0.2.2/24
ns_add eve; bridge_port sw eve 192.0.2.66/24
# Eve sees the LAN's traffic: make the bridge flood like a hub.
n sw ip link set br0 type bridge ageing_time 0
make_token
export NETRONTOKEN=$NT_TOKEN
NT_LOG_LEVEL=debug:handshake,packet start_node a a --address 10.1.0.1/24 --peer 192.0.2.2:51830 --dht off --mdns off
NT_LOG_LEVEL=debug:handshake,packet start_node b b --address 10.1.0.2/24 --peer 192.0.2.1:51830 --dht off --mdns off
waitiface a netron0
waitiface b netron0
wait_until 10 pings a 10.1.0.2 || fail "a cannot reach b"

cat >"$NT_TMP/capture.py" <<'PY'
import socket, sys, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.settimeout(20)
while True:
    f = s.recv(65535)
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17: continue
    src = socket.inet_ntoa(ip[12:16]); dst = socket.inet_ntoa(ip[16:20])
    udp = ip[ihl:]
    dport = struct.unpack("!H", udp[2:4])[0]
    payload = udp[8:]
    if src == "192.0.2.1" and dst == "192.0.2.2" and dport == 51830 and payload[:1] == b"\xe5" and len(payload) > 80:
        open(sys.argv[1], "wb").write(payload)
        break
PY
bg eve capture python3 "$NT_TMP/capture.py" "$NT_TMP/frame.bin"
sleep 0.5
pings a 10.1.0.2 3 || fail "ping during capture"
wait_until 10 test -s "$NT_TMP/frame.bin" || fail "no data frame captured"
pretty "captured a $(stat -c %s "$NT_TMP/frame.bin")-byte data frame from a to b"

before=$(grep -c "drop data_replay" "$NT_TMP/b.log")
n eve python3 -c '
import socket, sys
f = open(sys.argv[1], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.66", 40000))
s.sendto(f, ("192.0.2.2", 51830))' "$NT_TMP/frame.bin"
wait_until 5 grep -q "drop data_replay from 192.0.2.66:40000" "$NT_TMP/b.log" ||
	fail "b did not count the replayed frame as a replay"
pretty "replayed frame dropped and counted as a replay"
grep -q "moved from" "$NT_TMP/b.log" && fail "the replay moved a's endpoint on b"
pings b 10.1.0.1 3 || fail "b no longer reaches a"
grep -q "connected at 192.0.2.1" "$NT_TMP/b.log" || fail "b does not know a at 192.0.2.1"
pretty "a's endpoint on b did not move; traffic still flows"
echo "replay: 1 passed, 0 failed"
