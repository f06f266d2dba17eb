#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An outsider cannot use a member's DHT and STUN answers as an amplifier against a victim
# (docs/dht.md §6, docs/nat.md): it floods member a with requests carrying the victim's
# address as source (raw IPv4), and the victim counts what a sends it. Every answer must
# be at most 4 times the request that drew it, and their number at most the per-source
# burst plus the rate over the flood (STUN 4 + 2/s, DHT 32 + 8/s), whatever the outsider's
# send rate. First the outsider fills a's routing table with 8 DHT nodes of its own (which
# answer a's pings) and announces 32 peers of one info-hash to a from its own address
# (different ports), so that a's get_peers answers have 8 nodes and 32 values to offer:
# 6 times the query before the bound.
#
#   ns a 192.0.2.1 (member, DHT on, no bootstrap)
#   ns x 192.0.2.9 (outsider: announces as itself, then floods as 192.0.2.7),
#        192.0.2.20-27 (its 8 DHT nodes)
#   ns v 192.0.2.7 (victim: counts the datagrams from a on port 40000)
#          \____________ br0 (ns sw) ____________/
NT_TEST_NAME=amplification
source "$(dirname "$0")/lib.sh"
require_root
command -v python3 >/dev/null || skip "python3 missing"

FLOOD_S=4 # seconds of flood
RATE=400 # requests per second of each kind
VPORT=40000

lan a x v
n x ip addr flush dev eth0
n x ip addr add 192.0.2.9/24 dev eth0
for i in $(seq 20 27); do n x ip addr add "192.0.2.$i/24" dev eth0; done
n v ip addr flush dev eth0
n v ip addr add 192.0.2.7/24 dev eth0
make_token
export NETRONTOKEN=$NT_TOKEN
start_node a a --address 10.1.0.1/24 --mdns off --bootstrap "" --api
waitiface a netron0

cat >"$NT_TMP/krpc.py" <<'PY'
# Minimal bencode (BEP 3) for the queries below.
def b(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(b(i) for i in x) + b"e"
    return b"d" + b"".join(b(k) + b(x[k]) for k in sorted(x)) + b"e"

IH = bytes(range(0xa0, 0xb4))

def query(method, args, tid=b"x", ro=False, nid=b"N" * 20):
    a = dict(args)
    a[b"id"] = nid
    m = {b"a": a, b"q": method, b"t": tid, b"y": b"q"}
    if ro:
        m[b"ro"] = 1
    return b(m)

def answer(s, tid):
    """The next answer to our query tid (a may send queries of its own in between)."""
    while True:
        r = s.recv(1500)
        if b"1:t%d:%s" % (len(tid), tid) in r and not r.endswith(b"1:y1:qe"):
            return r
PY

# 1. The outsider's 8 DHT nodes introduce themselves to a (a ping each) and answer what a
# asks them, so that a keeps them as good nodes and lists them in its answers.
cat >"$NT_TMP/nodes.py" <<'PY'
import select, socket, sys, time
sys.path.insert(0, sys.argv[1])
from krpc import b, query
socks = []
for i in range(8):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("192.0.2.%d" % (20 + i), 6881))
    socks.append((s, bytes([0x40 + i]) * 20))
    s.sendto(query(b"ping", {}, b"pi", nid=socks[-1][1]), ("192.0.2.1", 51830))
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    ready, _, _ = select.select([s for s, _ in socks], [], [], 0.5)
    for s, nid in socks:
        if s not in ready:
            continue
        d, src = s.recvfrom(1500)
        if not d.endswith(b"1:y1:qe"): # answer queries only
            continue
        t = d.index(b"1:t") + 3
        n = int(d[t:d.index(b":", t)])
        tid = d[d.index(b":", t) + 1:][:n]
        s.sendto(b({b"r": {b"id": nid}, b"t": tid, b"y": b"r"}), src)
PY
bg x nodes python3 "$NT_TMP/nodes.py" "$NT_TMP" 60
good_nodes() { [ "$(api_json a 8080 /api/dht "d['good4']")" -ge 8 ]; }
wait_until 15 good_nodes || fail "a has $(api_json a 8080 /api/dht "d['good4']") good DHT nodes, not 8"
pretty "a has the outsider's 8 DHT nodes in its table"

# 2. The outsider, as itself, gets a token and announces 32 peers (ports 1000-1031).
cat >"$NT_TMP/announce.py" <<'PY'
import socket, sys, time
sys.path.insert(0, sys.argv[1])
from krpc import IH, answer, query
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.9", 6881))
s.settimeout(2)
s.sendto(query(b"get_peers", {b"info_hash": IH}, b"gp", True), ("192.0.2.1", 51830))
r = answer(s, b"gp")
i = r.index(b"5:token") + 7
n = int(r[i:r.index(b":", i)])
tok = r[r.index(b":", i) + 1:][:n]
ok = 0
for p in range(1000, 1032):
    time.sleep(0.15) # within 8 queries a second
    s.sendto(query(b"announce_peer", {b"info_hash": IH, b"port": p, b"token": tok}, b"an",
                   True), ("192.0.2.1", 51830))
    ok += answer(s, b"an").endswith(b"1:y1:re")
print(ok)
PY
announced=$(n x python3 "$NT_TMP/announce.py" "$NT_TMP") || fail "announcing to a failed"
[ "$announced" -eq 32 ] || fail "a stored $announced of 32 announces"
pretty "the outsider announced 32 peers of one info-hash to a"

# 3. The victim counts what comes from a, by kind (DHT starts with 'd', STUN does not).
cat >"$NT_TMP/victim.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.7", int(sys.argv[1])))
s.settimeout(float(sys.argv[3]))
st = {"dht": [], "stun": [], "values": 0}
try:
    while True:
        d, src = s.recvfrom(2048)
        if src[0] != "192.0.2.1":
            continue
        st["dht" if d[:1] == b"d" else "stun"].append(len(d))
        st["values"] += b"6:valuesl" in d
except socket.timeout:
    pass
json.dump(st, open(sys.argv[2], "w"))
PY
bg v victim python3 "$NT_TMP/victim.py" "$VPORT" "$NT_TMP/victim.json" $((FLOOD_S + 10))
wait_until 5 eval "n v ss -Hlun 'sport = :$VPORT' | grep -q $VPORT" || fail "victim not listening"

# 4. The flood: STUN Binding requests (20 bytes) and get_peers for the info-hash (94 bytes,
# the smallest there is), all from 192.0.2.7:40000, RATE a second each.
cat >"$NT_TMP/flood.py" <<'PY'
import json, os, socket, struct, sys, time
sys.path.insert(0, sys.argv[1])
from krpc import IH, query
seconds, rate, sport = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
src, dst = socket.inet_aton("192.0.2.7"), socket.inet_aton("192.0.2.1")
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) # IP_HDRINCL

def send(payload):
    udp = struct.pack("!HHHH", sport, 51830, 8 + len(payload), 0) + payload # no checksum
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    raw.sendto(ip + udp, ("192.0.2.1", 0)) # the kernel fills the IP checksum

stun = lambda: struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
gp = query(b"get_peers", {b"info_hash": IH})
sent = {"stun": 0, "stun_len": 20, "dht": 0, "dht_len": len(gp)}
end = time.monotonic() + seconds
while time.monotonic() < end:
    t = time.monotonic()
    send(stun()); sent["stun"] += 1
    send(gp); sent["dht"] += 1
    time.sleep(max(0, 1.0 / rate - (time.monotonic() - t)))
print(json.dumps(sent))
PY
sent=$(n x python3 "$NT_TMP/flood.py" "$NT_TMP" "$FLOOD_S" "$RATE" "$VPORT") || fail "flood failed"
wait_until $((FLOOD_S + 15)) test -s "$NT_TMP/victim.json" || fail "victim did not finish"

python3 - "$sent" "$NT_TMP/victim.json" "$FLOOD_S" <<'PY' || fail "bounds not held (above)"
import json, sys
sent, got, secs = json.loads(sys.argv[1]), json.load(open(sys.argv[2])), float(sys.argv[3])
ok = True
for kind, burst, rate in (("stun", 4, 2), ("dht", 32, 8)):
    n, size = len(got[kind]), sent[kind + "_len"]
    limit = burst + rate * (secs + 1) # the flood, and the victim's last second of waiting
    big = max(got[kind] or [0])
    print("[amplification] %s: %d requests of %d bytes sent as the victim, %d answers "
          "(limit %d), %d bytes (x%.3f of what was sent), largest %d bytes (x%.2f)" %
          (kind, sent[kind], size, n, limit, sum(got[kind]),
           sum(got[kind]) / (sent[kind] * size), big, big / size))
    if n == 0 or sent[kind] < 4 * limit:
        print("FAIL: %s: the flood proves nothing" % kind); ok = False
    if n > limit:
        print("FAIL: %s: %d answers, more than %d" % (kind, n, limit)); ok = False
    if big > 4 * size:
        print("FAIL: %s: an answer of %d bytes for %d" % (kind, big, size)); ok = False
if got["values"] == 0:
    print("FAIL: no get_peers answer carried values: the 32 peers were not offered"); ok = False
sys.exit(0 if ok else 1)
PY
pretty "the victim got a bounded number of answers, each at most 4x its request"

kill -0 "$PID_a" 2>/dev/null || fail "a died"
echo "amplification: 1 passed, 0 failed"
