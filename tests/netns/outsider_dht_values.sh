#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# An outsider aims a member's handshakes at a victim through the DHT (review of issue 13's
# fixes). README "Security model": nothing is sent to an address that has not proven, by a
# round trip, that it receives there, beyond 4 times the size of what drew it. A member
# looks its network up in the public DHT and tries every peer a get_peers answer lists
# (src/discovery.c dht_on_peers: a hint each, tried with backoff for 10 minutes); any DHT
# node on the lookup's path can answer, and it needs no token: the info-hash is in the
# query it answers.
# The outsider (ns x) is a's only DHT node (its bootstrap). It answers a's queries as a
# Mainline node does, and its first get_peers answer lists 50 "peers" at the victim's
# address (ports 42000-42049); later ones list none. The victim counts what a sends there
# for 45 s: at most 4 times every byte the outsider sent a.
#
#   ns a 192.0.2.1 10.1.0.1 (member, DHT on, --bootstrap 192.0.2.9:6881, no other member)
#   ns x 192.0.2.9 (outsider: a DHT node, no token)
#   ns v 192.0.2.7 (victim: counts the UDP from a to ports 42000-42049)
#          \____________ br0 (ns sw) ____________/
NT_TEST_NAME=outsider_dht_values
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/attacklib.sh"
require_root
command -v python3 >/dev/null || skip "python3 missing"
command -v iptables >/dev/null || skip "iptables missing"

WATCH_S=45

lan a x v
n x ip addr flush dev eth0
n x ip addr add 192.0.2.9/24 dev eth0
n v ip addr flush dev eth0
n v ip addr add 192.0.2.7/24 dev eth0
counter_add v filter INPUT from-a -p udp -s 192.0.2.1 --dport 42000:42049
make_token
export NETRONTOKEN=$NT_TOKEN

# The outsider's DHT node: answers ping, find_node (no nodes), get_peers (a token; 50 values
# at the victim the first time, none after) and announce_peer; counts what it sends a.
cat >"$NT_TMP/dhtnode.py" <<'PY'
import json, select, socket, struct, sys, time

def b(x):
    if isinstance(x, int):
        return b"i%de" % x
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, list):
        return b"l" + b"".join(b(i) for i in x) + b"e"
    return b"d" + b"".join(b(k) + b(x[k]) for k in sorted(x)) + b"e"

def field(d, key):
    """A bencoded string's value after key in d (enough for t and q)."""
    i = d.index(key) + len(key)
    n = int(d[i:d.index(b":", i)])
    return d[d.index(b":", i) + 1:][:n]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.9", 6881))
nid = b"\x77" * 20
victim = [socket.inet_aton("192.0.2.7") + struct.pack("!H", 42000 + i) for i in range(50)]
st = {"sent": 0, "sent_bytes": 0, "values_sent": 0, "queries": 0}
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if not select.select([s], [], [], 0.5)[0]:
        continue
    d, src = s.recvfrom(2048)
    if not d.endswith(b"1:y1:qe"):
        continue # answers to our nothing: ignore
    st["queries"] += 1
    tid, q = field(d, b"1:t"), field(d, b"1:q")
    r = {b"id": nid}
    if q == b"get_peers":
        r[b"token"] = b"tok"
        if not st["values_sent"]:
            r[b"values"] = victim
            st["values_sent"] = 1
        else:
            r[b"nodes"] = b""
    elif q == b"find_node":
        r[b"nodes"] = b""
    out = b({b"r": r, b"t": tid, b"y": b"r"})
    s.sendto(out, src)
    st["sent"] += 1
    st["sent_bytes"] += len(out)
    json.dump(st, open(sys.argv[1] + ".tmp", "w"))
    __import__("os").replace(sys.argv[1] + ".tmp", sys.argv[1])
PY
bg x dhtnode python3 "$NT_TMP/dhtnode.py" "$NT_TMP/dhtnode.json" $((WATCH_S + 30))
wait_until 5 eval "n x ss -Hlun 'sport = :6881' | grep -q 6881" || fail "the outsider's DHT node is not up"
probe_udp a 192.0.2.7 42000
wait_until 2 counter_is v filter INPUT from-a 1 || fail "the victim's counter does not count"

start_node a a --address 10.1.0.1/24 --mdns off --bootstrap 192.0.2.9:6881 --api
waitiface a netron0
values_sent() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["values_sent"])' \
	"$NT_TMP/dhtnode.json" 2>/dev/null; }
wait_until 20 eval '[ "$(values_sent)" = 1 ]' || fail "a never asked the outsider for peers"
t0=$SECONDS
pretty "the outsider answered a's get_peers with 50 peers at the victim; watching for ${WATCH_S} s"
sleep $((WATCH_S - (SECONDS - t0)))

st=$(cat "$NT_TMP/dhtnode.json")
sent=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sent_bytes"])' "$st")
p=$(($(counter v filter INPUT from-a) - 1))
got=$(($(counter v filter INPUT from-a bytes) - 28 * (p + 1) - 5))
pretty "the outsider sent a $st; the victim got $p datagrams, $got bytes from a"
check "the victim got at most 4x what the outsider sent a ($got bytes for $sent)" le "$got" $((4 * sent))
check "a is alive" alive a
attack_done
