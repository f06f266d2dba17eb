#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The HTTP API end to end: every endpoint answers valid JSON (or Prometheus text), the
# right peers show up and their byte counters move with traffic, the bearer token, the
# Host check and the write rules hold, 1,000 idle connections do not stop the node or its
# tunnel, and `netron status` prints the peers.
#
#                 +------------------ sw (br0) ------------------+
#                 |                      |                       |
#        n1 192.0.2.1             n2 192.0.2.2            n3 192.0.2.3        cl 192.0.2.9
#        netron 10.1.0.1          netron 10.1.0.2          netron 10.1.0.3    (curl only)
#        api 127.0.0.1:8080       api 192.0.2.2:8080       api unix:/…/n3.sock
#        (loopback, no token)     (token required)         + token: writes allowed
#
NT_TEST_NAME=api
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
command -v curl >/dev/null || skip "curl missing"
command -v python3 >/dev/null || skip "python3 missing"

json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)'; }
# get NODE URL [curl args...]: body on stdout, fails on HTTP >= 400.
get() {
	local node=$1 url=$2
	shift 2
	n "$node" curl -sS -f --max-time 5 "$@" "$url"
}
# code NODE URL [curl args...]: the HTTP status code only.
code() {
	local node=$1 url=$2
	shift 2
	n "$node" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" "$url"
}
# jq-like field access without jq: pyget 'expr' (expression over j) reading JSON on stdin.
pyget() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

make_token
ns_add sw
bridge_add sw
for i in 1 2 3; do
	ns_add n$i
	bridge_port sw n$i 192.0.2.$i/24
done
ns_add cl
bridge_port sw cl 192.0.2.9/24

TOKEN=$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')
printf '%s\n' "$TOKEN" >"$NT_TMP/token"
chmod 600 "$NT_TMP/token"
SOCK="$NT_TMP/n3.sock"

common=(--token "$NT_TOKEN" --dht off --mdns off --api)
start_node n1 n1 "${common[@]}" --address 10.1.0.1/24 --peer 192.0.2.2:51830 --peer 192.0.2.3:51830
start_node n2 n2 "${common[@]}" --address 10.1.0.2/24 --peer 192.0.2.1:51830 \
	--api-listen 192.0.2.2:8080 --api-token-file "$NT_TMP/token"
start_node n3 n3 "${common[@]}" --address 10.1.0.3/24 --peer 192.0.2.1:51830 \
	--api-listen "unix:$SOCK" --api-token-file "$NT_TMP/token"
for i in 1 2 3; do waitiface n$i netron0; done

A1=http://127.0.0.1:8080
A2=http://192.0.2.2:8080
AUTH=(-H "Authorization: Bearer $TOKEN")
U3=(--unix-socket "$SOCK")

wait_until 20 get n1 $A1/healthz || fail "n1 /healthz does not answer"
pretty "waiting for the tunnels"
wait_until 30 pings n1 10.1.0.2 || fail "n1 cannot ping n2"
wait_until 30 pings n1 10.1.0.3 || fail "n1 cannot ping n3"

pretty "every endpoint answers valid JSON"
for ep in summary machines peers ledger blockchain dht; do
	get n1 $A1/api/$ep | json_ok || fail "n1 /api/$ep is not valid JSON"
	get cl $A2/api/$ep "${AUTH[@]}" | json_ok || fail "n2 /api/$ep (token) is not valid JSON"
	get n3 http://localhost/api/$ep "${U3[@]}" "${AUTH[@]}" | json_ok ||
		fail "n3 /api/$ep over the unix socket is not valid JSON"
done
[ "$(get n1 $A1/healthz)" = ok ] || fail "/healthz is not 'ok'"
# (grep -q on a pipe would close it early; with pipefail curl's write error would count.)
page=$(get n1 $A1/) && grep -q '<table id="peers">' <<<"$page" || fail "the dashboard page is not served at /"
hdrs=$(n n1 curl -sS -D - -o /dev/null $A1/) && grep -qi "^content-security-policy: default-src 'self'" <<<"$hdrs" ||
	fail "the dashboard has no Content-Security-Policy"
[ "$(get n1 $A1/api/dht | pyget 'j["enabled"]')" = False ] || fail "/api/dht without a DHT"

pretty "the right peers appear"
S1=$(get n1 $A1/api/summary)
P1=$(get n1 $A1/api/peers)
ID2=$(get cl $A2/api/summary "${AUTH[@]}" | pyget 'j["node_id"]')
ID3=$(get n3 http://localhost/api/summary "${U3[@]}" "${AUTH[@]}" | pyget 'j["node_id"]')
[ "$(echo "$S1" | pyget 'j["addresses"][0]')" = 10.1.0.1/24 ] || fail "n1 summary addresses: $S1"
[ "$(echo "$S1" | pyget 'j["interface"]')" = netron0 ] || fail "n1 summary interface"
[ "$(echo "$S1" | pyget 'j["peers_connected"]')" = 2 ] || fail "n1 should have 2 connected peers: $S1"
echo "$S1" | pyget '[j[k] for k in ("Files","Machines","Users","Services","BlockChain","NodeID","fingerprint","uptime_s")]' \
	>/dev/null || fail "summary misses EdgeVPN or Netron fields: $S1"
echo "$P1" | python3 -c '
import json, sys
peers = {p["id"]: p for p in json.load(sys.stdin)}
want = {sys.argv[1]: "10.1.0.2", sys.argv[2]: "10.1.0.3"}
assert set(peers) == set(want), ("peer ids", list(peers))
keys = ["id", "id_short", "addresses", "endpoint", "path", "connected", "rtt_ms", "rtt_us", "rx_bytes",
        "tx_bytes", "rx_packets", "tx_packets", "last_handshake", "last_handshake_unix_ms",
        "session_age_s", "handshakes"]
for pid, p in peers.items():
    missing = [k for k in keys if k not in p]
    assert not missing, ("missing", missing)
    assert [a.split("/")[0] for a in p["addresses"]] == [want[pid]], p
    assert p["connected"] is True and p["path"] in ("direct", "lan"), p
    assert p["endpoint"].endswith(":51830"), p
    assert p["id_short"] == pid[:8], p
    assert p["last_handshake"].endswith("Z") and p["last_handshake_unix_ms"] > 0, p
' "$ID2" "$ID3" || fail "n1 /api/peers is wrong: $P1"
machines_ok() {
	get n1 $A1/api/machines | python3 -c '
import json, sys
m = json.load(sys.stdin)
addrs = sorted(x["Address"] for x in m)
assert addrs == ["10.1.0.1", "10.1.0.2", "10.1.0.3"], addrs
for x in m:
    for k in ("Address", "PeerID", "Hostname", "OS", "Arch", "Version", "LastSeen"):
        assert k in x, (k, x)
    assert len(x["PeerID"]) == 64 and x["OS"] == "linux", x
'
}
wait_until 15 machines_ok || { machines_ok; fail "n1 /api/machines is wrong: $(get n1 $A1/api/machines)"; }

pretty "byte counters move with traffic"
rx_of() { get n1 $A1/api/peers | pyget "[p['$2'] for p in j if p['id']=='$1'][0]"; }
before_rx=$(rx_of "$ID2" rx_bytes)
before_tx=$(rx_of "$ID2" tx_bytes)
before_m=$(get n1 $A1/metrics | awk '$1=="netron_rx_bytes_total"{print $2}')
n n1 ping -c 5 -i 0.2 -s 1000 -W 2 10.1.0.2 >/dev/null || fail "ping n1 -> n2"
after_rx=$(rx_of "$ID2" rx_bytes)
after_tx=$(rx_of "$ID2" tx_bytes)
after_m=$(get n1 $A1/metrics | awk '$1=="netron_rx_bytes_total"{print $2}')
[ "$after_rx" -ge $((before_rx + 5000)) ] || fail "rx_bytes to n2 did not move: $before_rx -> $after_rx"
[ "$after_tx" -ge $((before_tx + 5000)) ] || fail "tx_bytes to n2 did not move: $before_tx -> $after_tx"
[ "$after_m" -ge $((before_m + 5000)) ] || fail "netron_rx_bytes_total did not move: $before_m -> $after_m"

pretty "/metrics is valid Prometheus text 0.0.4"
get n1 $A1/metrics -D "$NT_TMP/metrics.hdr" >"$NT_TMP/metrics.txt" || fail "GET /metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$NT_TMP/metrics.hdr" || fail "/metrics content type"
python3 - "$NT_TMP/metrics.txt" "$(echo "$ID2" | cut -c1-8)" <<'EOF' || fail "/metrics does not parse"
# A strict parser for the text exposition format 0.0.4: HELP and TYPE once per family and
# before its samples, valid names, label syntax and escapes, float values, no duplicates.
import re, sys
NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(' + NAME + r')(\{(?:' + LABEL + r')(?:,' + LABEL + r')*\})? (\S+)( -?\d+)?$')
families, types, seen = {}, {}, set()
text = open(sys.argv[1]).read()
assert text.endswith("\n"), "no final newline"
for ln, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        name = line.split(" ", 3)[2]
        assert re.fullmatch(NAME, name) and name not in families, (ln, line)
        families[name] = []
    elif line.startswith("# TYPE "):
        _, _, name, typ = line.split(" ")
        assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), (ln, line)
        assert name in families and name not in types, (ln, line)
        types[name] = typ
    elif line.startswith("#") or not line:
        continue
    else:
        m = SAMPLE.match(line)
        assert m, (ln, line)
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert name in types, ("sample before TYPE", ln, line)
        assert list(types)[-1] == name, ("family interleaved", ln, line)
        float(value)
        assert (name, labels) not in seen, ("duplicate", ln, line)
        seen.add((name, labels))
        if types[name] == "counter":
            assert name.endswith("_total") and float(value) >= 0, (ln, line)
        families[name].append((labels, float(value)))
def one(name, labels=""):
    v = [x for l, x in families[name] if l == labels]
    assert len(v) == 1, (name, labels, families.get(name))
    return v[0]
assert one("netron_peers") == 2 and one("netron_peers_connected") == 2
assert one("netron_handshakes_total", '{result="ok"}') >= 2
one("netron_handshakes_total", '{result="failed"}')
reasons = {l for l, _ in families["netron_drops_total"]}
for r in ("unknown_type", "truncated", "handshake_invalid", "ratelimited", "unknown_index",
          "data_auth", "data_replay", "data_malformed", "no_route", "spoofed_source", "not_ip",
          "tun_write", "udp_send", "control_invalid", "relay_refused", "tun_offload", "oversized"):
    assert '{reason="%s"}' % r in reasons, r
assert one("netron_rx_bytes_total") > 0 and one("netron_tx_bytes_total") > 0
assert one("netron_peer_rx_bytes_total", '{peer="%s"}' % sys.argv[2]) > 5000
assert one("netron_resident_memory_bytes") > 1 << 20
one("netron_uptime_seconds")
assert one("netron_ledger_entries") >= 3 and one("netron_ledger_capacity") > 0
EOF

pretty "token: refused without it off loopback, accepted with it"
[ "$(code cl $A2/api/summary)" = 401 ] || fail "n2 answered without a token"
[ "$(code cl $A2/metrics)" = 401 ] || fail "n2 /metrics answered without a token"
[ "$(code cl $A2/api/summary -H 'Authorization: Bearer wrong-token-wrong-token')" = 401 ] ||
	fail "n2 accepted a wrong token"
[ "$(code cl $A2/api/summary -H "Authorization: Bearer ${TOKEN}x")" = 401 ] ||
	fail "n2 accepted a longer token"
[ "$(code cl $A2/api/summary -H "Authorization: Basic $TOKEN")" = 401 ] || fail "n2 accepted Basic"
[ "$(code cl $A2/api/summary "${AUTH[@]}")" = 200 ] || fail "n2 refused the right token"
[ "$(code cl $A2/healthz)" = 200 ] || fail "/healthz should not need the token"
[ "$(code n3 http://localhost/api/peers "${U3[@]}")" = 401 ] || fail "n3 (unix) answered without a token"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "unix socket mode is $(stat -c %a "$SOCK"), want 660"

pretty "Host header checked (DNS rebinding)"
[ "$(code n1 $A1/api/summary -H 'Host: evil.example')" = 421 ] || fail "n1 accepted Host evil.example"
[ "$(code n1 $A1/api/summary -H 'Host: evil.example:8080')" = 421 ] || fail "n1 accepted evil.example:8080"
[ "$(code n1 $A1/ -H 'Host: attacker.test')" = 421 ] || fail "n1 served the dashboard to another Host"
[ "$(code n1 $A1/api/summary -H 'Host: localhost:8080')" = 200 ] || fail "n1 refused Host localhost"
[ "$(code n1 $A1/api/summary -H 'Host: 127.0.0.1')" = 200 ] || fail "n1 refused Host 127.0.0.1"
[ "$(code cl $A2/api/summary "${AUTH[@]}" -H 'Host: netron.evil:8080')" = 421 ] ||
	fail "n2 accepted a foreign Host"

pretty "writes: refused without a token, allowed with one"
[ "$(code n1 $A1/api/ledger/test/k1 -X PUT --data v1)" = 403 ] || fail "n1 (no token file) allowed a write"
[ "$(code n1 $A1/api/ledger/test/k1 -X DELETE)" = 403 ] || fail "n1 (no token file) allowed a delete"
[ "$(code cl $A2/api/ledger/test/k1 -X PUT --data v1)" = 401 ] || fail "n2 allowed a write without the token"
[ "$(code n1 $A1/api/peers -X POST --data x)" = 405 ] || fail "POST should be 405"
# With the token the write reaches the ledger, and gossip carries it to the others.
c=$(code cl $A2/api/ledger/test/k1 -X PUT --data v1 "${AUTH[@]}")
[ "$c" = 200 ] || fail "PUT with the token: HTTP $c"
[ "$(get cl $A2/api/ledger/test/k1 "${AUTH[@]}")" = '"v1"' ] || fail "the written value does not read back"
[ "$(code cl $A2/api/ledger/machines/10.1.0.2 -X PUT --data x "${AUTH[@]}")" = 403 ] ||
	fail "the API may overwrite address claims"
wait_until 15 sh -c "ip netns exec ${NT_PREFIX}n1 curl -sf $A1/api/ledger/test/k1 | grep -qx '\"v1\"'" ||
	fail "the API write did not reach n1: $(get n1 $A1/api/ledger)"
n n3 curl -sf "${U3[@]}" "${AUTH[@]}" -X PUT --data 'hello n3' "http://localhost/api/ledger/test/k3?ttl=60" |
	pyget 'j["State"]' | grep -qx Announcing || fail "PUT over the unix socket"
get n1 $A1/api/blockchain | pyget 'j["Index"], j["Hash"], len(j["Blocks"])' >/dev/null ||
	fail "/api/blockchain shape"
[ "$(code cl $A2/api/ledger/test/k1 -X DELETE "${AUTH[@]}")" = 200 ] || fail "DELETE with the token"
[ "$(code cl $A2/api/ledger/test/k1 "${AUTH[@]}")" = 404 ] || fail "deleted entry still readable"
[ "$(code cl "$A2/api/ledger/test/k1" -X PUT --data-binary @<(head -c 70000 /dev/zero) "${AUTH[@]}")" = 413 ] ||
	fail "a 70 kB body was not refused"
[ "$(code cl "$A2/api/ledger/BAD%2Fbucket/k" "${AUTH[@]}")" = 400 ] || fail "a bad bucket name was not refused"

pretty "netron status"
out=$(n n1 "$NETRON" status) || fail "netron status failed"
echo "$out"
echo "$out" | grep -q "netron0" || fail "status: no interface in: $out"
echo "$out" | grep -q "10.1.0.1/24" || fail "status: no address in: $out"
for id in "$ID2" "$ID3"; do
	echo "$out" | grep -q "^${id:0:8} .*10.1.0.[23]/[0-9]*.*192.0.2.[23]:51830 *\(direct\|lan\)" ||
		fail "status: no row for ${id:0:8} in: $out"
done
out=$(n n3 "$NETRON" --api-listen "unix:$SOCK" --api-token-file "$NT_TMP/token" status) ||
	fail "netron status over the unix socket failed"
echo "$out" | grep -q "10.1.0.3/24" && echo "$out" | grep -q "^${ID2:0:8} .*10.1.0.2/" ||
	fail "status via unix socket: $out"
err=$(n cl "$NETRON" --api-listen 192.0.2.2:8080 status 2>&1) && fail "status without the token should fail"
echo "$err" | grep -q "bearer token" || fail "status without the token: $err"
err=$(n cl "$NETRON" status 2>&1) && fail "status with no API should fail"
echo "$err" | grep -q "no netron API at 127.0.0.1:8080: is it running with --api?" ||
	fail "status with no API: $err"

pretty "1,000 idle connections do not stop the node or its tunnel"
cat >"$NT_TMP/idle.py" <<'EOF'
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
socks = []
for _ in range(1000):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", 8080))
    except (BlockingIOError, InterruptedError):
        pass
    socks.append(s)
open(sys.argv[1], "w").write("%d\n" % len(socks))
time.sleep(float(sys.argv[2]))
for s in socks:
    s.close()
EOF
bg n1 idle python3 "$NT_TMP/idle.py" "$NT_TMP/idle.ready" 8
wait_until 10 test -s "$NT_TMP/idle.ready" || fail "could not open 1,000 connections"
sleep 1
all=$(n n1 ss -Htan '( dport = :8080 )' | wc -l)
est=$(n n1 ss -Htn state established '( dport = :8080 )' | wc -l)
pretty "$all client sockets towards the API, $est established (the rest closed by the limits or in SYN retries)"
[ "$all" -ge 900 ] || fail "only $all client sockets: the load did not happen"
pings n1 10.1.0.2 3 || fail "the tunnel n1 -> n2 stopped while 1,000 connections were open"
pings n2 10.1.0.1 3 || fail "the tunnel n2 -> n1 stopped while 1,000 connections were open"
kill -0 "$PID_n1" 2>/dev/null || fail "n1 died under 1,000 connections"
stop_node idle
wait_until 20 get n1 $A1/healthz || fail "n1 /healthz does not answer after the connections closed"
pings n1 10.1.0.3 || fail "the tunnel n1 -> n3 stopped"
[ "$(get n1 $A1/api/peers | pyget 'len(j)')" = 2 ] || fail "n1 lost its peers"

pretty "start-up refusals name the problem"
x=(--token "$NT_TOKEN" --dht off --mdns off --interface nt1 --listen 51831 --address 10.1.0.11/24 --api)
n n1 env NETRONSTATEDIR="$NT_TMP/state-x" "$NETRON" "${x[@]}" >"$NT_TMP/inuse.log" 2>&1 &&
	fail "a second daemon on API port 8080 started"
grep -q "cannot listen on 127.0.0.1:8080 for the API: Address already in use" "$NT_TMP/inuse.log" ||
	fail "port in use: $(cat "$NT_TMP/inuse.log")"
chmod 644 "$NT_TMP/token"
n n1 env NETRONSTATEDIR="$NT_TMP/state-x" "$NETRON" "${x[@]}" --api-listen 127.0.0.1:8081 \
	--api-token-file "$NT_TMP/token" >"$NT_TMP/perm.log" 2>&1 && fail "a world-readable token file was accepted"
grep -q "group or others can access it" "$NT_TMP/perm.log" || fail "token mode: $(cat "$NT_TMP/perm.log")"
chmod 600 "$NT_TMP/token"
kill -0 "$PID_n1" 2>/dev/null || fail "n1 died"

pretty "ok"
