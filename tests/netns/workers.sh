#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Data-plane worker threads (--workers N): a multi-queue TUN and one SO_REUSEPORT socket
# per worker, and keypairs that rotate under the workers' feet.
#
#   ns a  netron0 10.1.0.1/24 fd00:6e74::1/64 --- veth 192.0.2.1 | 192.0.2.2 --- ns b  netron0 10.1.0.2/24 ...
#
# 1. a and b with --workers 2: ping both ways over IPv4 and IPv6; iperf3 with 16 streams
#    a -> b succeeds and stays on one worker of each node (a member's frames are steered to
#    one worker, and the TUN sends a flow's packets through the queue its replies came
#    from: at least 95% of a's TUN reads on one worker); 64 MiB both ways arrive intact.
# 2. a with --workers 3 and b with one thread and no offloads: ping and intact transfers
#    both ways (the two ends need not agree on anything); each node's byte totals in
#    /api/summary equal the sums of its members' counters (each byte counted once).
# 3. --workers 2 on both with NETRON_REKEY_AFTER_MS=1500: the initiator rekeys every 1.5 s,
#    so keypairs are installed and retired while the workers encrypt and decrypt with them.
#    An iperf3 run both ways and transfers both ways at the same time arrive intact; at
#    least 3 handshakes complete meanwhile; no frame fails authentication, and replays
#    (frames reordered past the window) stay a small fraction of what arrived.
# 4. Members spread over workers: m1 with --workers 2 on a LAN with m2, m3, m4 (one thread
#    each), which all send to m1 at once: both of m1's workers write packets to its TUN,
#    and every transfer arrives intact.
#
# Every node must exit 0 on SIGTERM (a sanitizer report at exit makes the status
# non-zero); a ThreadSanitizer report in any log fails the scenario (lib.sh).
NT_TEST_NAME=workers
source "$(dirname "$0")/lib.sh"
require_root
command -v curl >/dev/null || skip "curl missing"
command -v iperf3 >/dev/null || skip "iperf3 missing"
command -v python3 >/dev/null || skip "python3 missing"

MiB=$((1 << 20))

ns_add a
ns_add b
link a 192.0.2.1/24 b 192.0.2.2/24
make_token
export NETRONTOKEN=$NT_TOKEN
common=(--dht off --mdns off --api --api-listen 127.0.0.1:8080)

js() { api_json "$1" 8080 "$2" "$3"; }
# workers NODE FIELD: FIELD of every worker, space-separated, index 0 first.
workers() { js "$1" /api/summary "' '.join(str(w['$2']) for w in d['workers'])"; }
drop() { js "$1" /api/summary "d['drops']['$2']"; }
handshakes() { js "$1" /api/peers "sum(p['handshakes'] or 0 for p in d)"; }
rx_packets() { js "$1" /api/peers "sum(p['rx_packets'] or 0 for p in d)"; }

# halt NAME: SIGTERM; the node must be gone within 10 s with exit status 0.
halt() {
	local pid rc
	eval "pid=\$PID_$1"
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "$1 still running 10 s after SIGTERM"
	wait "$pid"
	rc=$?
	[ "$rc" -eq 0 ] || fail "$1 exited with status $rc after SIGTERM"
}
# up A B WHAT: A (in ns a) and B (in ns b) reach each other over IPv4 and IPv6, APIs answer.
up() {
	waitiface a netron0
	waitiface b netron0
	wait_until 15 pings a 10.1.0.2 || fail "a cannot ping b over IPv4 ($3)"
	pings b 10.1.0.1 3 || fail "b cannot ping a over IPv4 ($3)"
	wait_until 10 pings a fd00:6e74::2 || fail "a cannot ping b over IPv6 ($3)"
	pings b fd00:6e74::1 3 || fail "b cannot ping a over IPv6 ($3)"
	wait_until 5 api_get a 8080 /api/summary || fail "$1's API does not answer"
	wait_until 5 api_get b 8080 /api/summary || fail "$2's API does not answer"
}
# nworkers NODE WANT: the summary lists WANT workers.
nworkers() {
	local got
	got=$(js "$1" /api/summary "len(d['workers'])") || fail "$1: no workers in /api/summary"
	[ "$got" = "$2" ] || fail "$1: /api/summary lists $got workers, want $2"
}
# mbits FILE [FIELD]: an iperf3 JSON result's end.FIELD (sum_received) in Mbit/s.
mbits() {
	python3 -c "import json,sys; print('%.0f' % (json.load(open(sys.argv[1]))['end']['$2']['bits_per_second'] / 1e6))" \
		"$1"
}
# iperf NAME PORT ARGS...: an iperf3 client in a against a one-shot server in b; JSON to
# $NT_TMP/NAME.json. The client runs in the background: iperf_wait NAME collects it.
iperf() {
	local name=$1 port=$2
	shift 2
	bg b "${name}s" iperf3 -s -1 -p "$port" -B 10.1.0.2
	wait_until 5 eval "n b ss -Hltn 'sport = :$port' | grep -q $port" || fail "iperf3 server not up"
	ip netns exec "$NT_PREFIX"a iperf3 -c 10.1.0.2 -p "$port" -J "$@" >"$NT_TMP/$name.json" 2>&1 &
	NT_PIDS+=("$!")
	eval "PID_$name=$!"
}
iperf_wait() {
	local pid
	eval "pid=\$PID_$1"
	wait "$pid" || fail "iperf3 ($1) failed: $(head -c 2000 "$NT_TMP/$1.json")"
}

# --- 1. both with two workers ---------------------------------------------------------------
start_node a1 a --address 10.1.0.1/24 --address fd00:6e74::1/64 --peer 192.0.2.2:51830 --workers 2 "${common[@]}"
start_node b1 b --address 10.1.0.2/24 --address fd00:6e74::2/64 --peer 192.0.2.1:51830 --workers 2 "${common[@]}"
up a1 b1 "both --workers 2"
nworkers a 2
nworkers b 2
pretty "--workers 2 on both: ping both ways over IPv4 and IPv6"

iperf p16 5201 -P 16 -t 3
iperf_wait p16
read -r tx0 tx1 <<<"$(workers a tx_packets)"
read -r brx0 brx1 <<<"$(workers b rx_packets)"
[ $((tx0 + tx1)) -gt 1000 ] || fail "a's workers read only $tx0 + $tx1 packets from the TUN"
[ $((100 * (tx0 > tx1 ? tx0 : tx1))) -ge $((95 * (tx0 + tx1))) ] ||
	fail "one member's flows are split over a's workers: $tx0 / $tx1 packets"
[ $((100 * (brx0 > brx1 ? brx0 : brx1))) -ge $((95 * (brx0 + brx1))) ] ||
	fail "one member's frames are split over b's workers: $brx0 / $brx1 packets"
pretty "iperf3 16 streams a -> b: $(mbits "$NT_TMP/p16.json" sum_received) Mbit/s; a's workers read $tx0 / $tx1 packets from the TUN, b's wrote $brx0 / $brx1"

transfer a b 10.1.0.2 $((64 * MiB)) 5001
transfer b a fd00:6e74::1 $((64 * MiB)) 5002
pretty "64 MiB a -> b (IPv4) and b -> a (IPv6) intact; a's workers read $(workers a tx_packets) / wrote $(workers a rx_packets) packets"
for x in a b; do
	[ "$(drop $x data_auth)" = 0 ] || fail "$x: $(drop $x data_auth) frames failed authentication"
done
halt a1
halt b1

# --- 2. three workers against one thread without offloads --------------------------------
start_node a2 a --address 10.1.0.1/24 --address fd00:6e74::1/64 --peer 192.0.2.2:51830 --workers 3 "${common[@]}"
NETRON_OFFLOAD=off start_node b2 b --address 10.1.0.2/24 --address fd00:6e74::2/64 --peer 192.0.2.1:51830 \
	--workers 1 "${common[@]}"
up a2 b2 "--workers 3 against --workers 1"
nworkers a 3
nworkers b 1
transfer a b 10.1.0.2 $((32 * MiB)) 5003
transfer b a 10.1.0.1 $((32 * MiB)) 5004
transfer a b fd00:6e74::2 $((8 * MiB)) 5005
pretty "--workers 3 with offloads <-> --workers 1 without: 32 MiB both ways intact; a's workers read $(workers a tx_packets), b's one thread $(workers b tx_packets)"
# The node's totals (/api/summary, /metrics) are its members' counters added up: a byte is
# counted once, whichever thread moved it (a: three workers; b: the loop's engine alone).
# Workers' per-member counts reach the member within a second; nothing but keepalives and
# control messages (counted in neither) flows after the transfers.
sleep 2
for x in a b; do
	for dir in rx tx; do
		total=$(js "$x" /api/summary "d['${dir}_bytes']")
		members=$(js "$x" /api/peers "sum(p['${dir}_bytes'] or 0 for p in d)")
		[ "$total" -ge $((30 * MiB)) ] || fail "$x: ${dir}_bytes $total after 32 MiB each way"
		diff=$((total > members ? total - members : members - total))
		[ "$diff" -le 4096 ] ||
			fail "$x: ${dir}_bytes $total in /api/summary, $members in its members' counters"
	done
done
pretty "node byte totals equal the sums of their members' counters on both nodes"
halt a2
halt b2

# --- 3. rekeying every 1.5 s under load --------------------------------------------------------
# Only a is given the other's address, so only a initiates and holds the initiator's keypair,
# which is the one that rekeys by age. (When both call at once, each can end up sending on
# the keypair it answered for, and then neither rekeys by age: not what this scenario is about.)
NETRON_REKEY_AFTER_MS=1500 start_node a3 a --address 10.1.0.1/24 --address fd00:6e74::1/64 \
	--peer 192.0.2.2:51830 --workers 2 "${common[@]}"
NETRON_REKEY_AFTER_MS=1500 start_node b3 b --address 10.1.0.2/24 --address fd00:6e74::2/64 \
	--workers 2 "${common[@]}"
up a3 b3 "rekeying"
hs0=$(handshakes a)
t0=$SECONDS
iperf bidir 5202 -P 4 -t 10 --bidir
transfer a b 10.1.0.2 $((128 * MiB)) 5006
transfer b a 10.1.0.1 $((64 * MiB)) 5007
transfer a b fd00:6e74::2 $((32 * MiB)) 5008
iperf_wait bidir
hs1=$(handshakes a)
secs=$((SECONDS - t0))
up_mbits=$(mbits "$NT_TMP/bidir.json" sum_received)
down_mbits=$(mbits "$NT_TMP/bidir.json" sum_received_bidir_reverse)
pretty "under rekeying: iperf3 4 streams each way $up_mbits / $down_mbits Mbit/s beside 224 MiB of transfers, all intact, in ${secs}s"
[ $((hs1 - hs0)) -ge 3 ] ||
	fail "only $((hs1 - hs0)) handshakes in ${secs}s with NETRON_REKEY_AFTER_MS=1500 (want >= 3): keys did not rotate"
auth_a=$(drop a data_auth) auth_b=$(drop b data_auth)
replay_a=$(drop a data_replay) replay_b=$(drop b data_replay)
unknown_a=$(drop a unknown_index) unknown_b=$(drop b unknown_index)
rx_a=$(rx_packets a) rx_b=$(rx_packets b)
pretty "$((hs1 - hs0)) handshakes in ${secs}s; drops data_auth $auth_a / $auth_b, data_replay $replay_a / $replay_b, unknown_index $unknown_a / $unknown_b (a / b; of $rx_a / $rx_b packets received)"
pretty "a's workers read $(workers a tx_packets) / wrote $(workers a rx_packets); b's read $(workers b tx_packets) / wrote $(workers b rx_packets)"
[ "$auth_a" = 0 ] && [ "$auth_b" = 0 ] || fail "frames failed authentication while keys rotated"
[ $((replay_a * 100)) -le "$rx_a" ] && [ $((replay_b * 100)) -le "$rx_b" ] ||
	fail "replay drops above 1% of the packets received"
halt a3
halt b3

# --- 4. several members over the workers ---------------------------------------------------
lan m1 m2 m3 m4
start_node m1 m1 --address 10.3.0.1/24 --workers 2 "${common[@]}"
for i in 2 3 4; do
	start_node "m$i" "m$i" --address "10.3.0.$i/24" --peer 192.0.2.1:51830 --dht off --mdns off
done
for i in 1 2 3 4; do waitiface "m$i" netron0; done
for i in 2 3 4; do wait_until 15 pings m1 "10.3.0.$i" || fail "m1 cannot reach m$i"; done
xfers=()
for i in 2 3 4; do
	(transfer "m$i" m1 10.3.0.1 $((32 * MiB)) "600$i" >"$NT_TMP/t$i.out" 2>&1 && touch "$NT_TMP/t$i.ok") &
	xfers+=("$!")
done
wait "${xfers[@]}"
for i in 2 3 4; do
	[ -e "$NT_TMP/t$i.ok" ] || fail "m$i -> m1 transfer: $(tail -5 "$NT_TMP/t$i.out")"
done
read -r rx0 rx1 <<<"$(workers m1 rx_packets)"
[ "$rx0" -gt 0 ] && [ "$rx1" -gt 0 ] || fail "three members, yet one of m1's workers wrote nothing: $rx0 / $rx1"
pretty "three members -> m1 (--workers 2) at once, 32 MiB each, intact; m1's workers wrote $rx0 / $rx1 packets"
halt m1

pretty "PASS"
