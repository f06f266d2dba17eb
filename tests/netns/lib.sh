#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared helpers for the network-namespace scenarios (sourced, never run).
#
# Every namespace is named "$NT_PREFIX<name>" with a per-run prefix, every process is
# started through these helpers and remembered by PID, and an EXIT trap kills exactly
# those PIDs and deletes exactly those namespaces, whether the scenario passed or not.
# Underlay addresses come from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 10.0.0.0/8;
# VPN addresses from 10.1.0.0/16 and fd00:6e74::/64, all inside the namespaces only.

set -u
set -o pipefail

NETRON=${NETRON:-}
NT_SOURCE_DIR=${NT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "$NETRON" ]; then
	for b in "$NT_SOURCE_DIR/build/netron" "$NT_SOURCE_DIR/build-asan/netron"; do
		[ -x "$b" ] && NETRON=$b && break
	done
fi
NT_PREFIX="ntt$$-"
NT_TMP=$(mktemp -d /tmp/netron-test.XXXXXX)
NT_PIDS=()
NT_NAMESPACES=()
NT_FAILED=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pretty() { printf '\033[1;32m[%s]\033[0m %s\n' "${NT_TEST_NAME:-netns}" "$*"; }
fail() {
	printf '\033[1;31m[%s] FAIL:\033[0m %s\n' "${NT_TEST_NAME:-netns}" "$*" >&2
	NT_FAILED=1
	exit 1
}
skip() { echo "SKIP: $*"; exit 77; }

require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
	[ -c /dev/net/tun ] || skip "no /dev/net/tun"
	[ -x "$NETRON" ] || fail "netron binary not found (set NETRON=)"
	command -v ip >/dev/null || skip "iproute2 missing"
}

dump_logs() {
	for f in "$NT_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "----- $(basename "$f") (last 40 lines)"
		tail -n 40 "$f"
	done
}

nt_cleanup() {
	local rc=$?
	local pid ns
	[ $NT_FAILED -ne 0 ] || [ $rc -ne 0 ] && [ $rc -ne 77 ] && dump_logs >&2
	for pid in "${NT_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${NT_PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in "${NT_NAMESPACES[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		# A per-namespace /etc (resolv.conf) a scenario made with ns_etc.
		[ -d "/etc/netns/$ns" ] && rm -rf "/etc/netns/$ns"
	done
	[ -n "$NT_MADE_ETC_NETNS" ] && rmdir /etc/netns 2>/dev/null
	# A sanitizer report in any node's log fails the scenario.
	if grep -lE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|WARNING: ThreadSanitizer' "$NT_TMP"/*.log >/dev/null 2>&1; then
		echo "sanitizer report in node logs:" >&2
		grep -hE -A30 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer|WARNING: ThreadSanitizer' "$NT_TMP"/*.log | head -80 >&2
		rc=1
	fi
	# NT_KEEP_LOGS=DIR keeps every node's whole log for a closer look.
	[ -n "${NT_KEEP_LOGS:-}" ] && mkdir -p "$NT_KEEP_LOGS" && cp "$NT_TMP"/*.log "$NT_KEEP_LOGS"/ 2>/dev/null
	rm -rf "$NT_TMP"
	exit $rc
}
trap nt_cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# ns NAME: create namespace $NT_PREFIX$NAME with lo up.
ns_add() {
	local ns="$NT_PREFIX$1"
	ip netns add "$ns" || fail "cannot create namespace $ns"
	NT_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up
}
# ns_etc NAME FILE CONTENT: /etc/FILE as NAME's processes see it (ip netns exec bind-mounts
# /etc/netns/NS/FILE over it); removed with the namespace.
NT_MADE_ETC_NETNS=""
ns_etc() {
	[ -d /etc/netns ] || NT_MADE_ETC_NETNS=1
	mkdir -p "/etc/netns/$NT_PREFIX$1"
	printf '%s\n' "$3" >"/etc/netns/$NT_PREFIX$1/$2"
}
# n NAME cmd...: run a command in a namespace.
n() {
	local ns="$NT_PREFIX$1"
	shift
	ip netns exec "$ns" "$@"
}

# link A ADDR_A B ADDR_B: a veth pair between namespaces A and B (addresses with prefix).
link() {
	local a=$1 aa=$2 b=$3 ba=$4
	local ia="v${RANDOM}a" ib="v${RANDOM}b"
	ip link add "$ia" netns "$NT_PREFIX$a" type veth peer name "$ib" netns "$NT_PREFIX$b" ||
		fail "veth $a-$b"
	n "$a" ip addr add "$aa" dev "$ia"
	n "$b" ip addr add "$ba" dev "$ib"
	n "$a" ip link set "$ia" up
	n "$b" ip link set "$ib" up
	LINK_IF_A=$ia LINK_IF_B=$ib
}

# bridge_add NS: a bridge "br0" inside namespace NS (a LAN switch).
bridge_add() {
	n "$1" ip link add br0 type bridge || fail "bridge"
	n "$1" ip link set br0 up
}
# bridge_port SWITCH NODE ADDR [IFNAME]: connect NODE to SWITCH's br0 with ADDR.
bridge_port() {
	local sw=$1 node=$2 addr=$3 ifn=${4:-eth0}
	local peer="p${RANDOM}"
	ip link add "$ifn" netns "$NT_PREFIX$node" type veth peer name "$peer" netns "$NT_PREFIX$sw" ||
		fail "veth $node-$sw"
	n "$sw" ip link set "$peer" master br0
	n "$sw" ip link set "$peer" up
	n "$node" ip addr add "$addr" dev "$ifn"
	n "$node" ip link set "$ifn" up
}

# lan NODE...: a LAN (namespace sw, bridge br0) with each NODE on it at 192.0.2.1, .2, ...
lan() {
	local i=1 x
	ns_add sw
	bridge_add sw
	for x in "$@"; do
		ns_add "$x"
		bridge_port sw "$x" "192.0.2.$i/24"
		i=$((i + 1))
	done
}

# start_node NAME NODE_NS ARGS...: run netron in NODE_NS, log to $NT_TMP/NAME.log.
start_node() {
	local name=$1 node=$2
	shift 2
	mkdir -p "$NT_TMP/state-$name"
	ip netns exec "$NT_PREFIX$node" env NETRONSTATEDIR="$NT_TMP/state-$name" \
		"$NETRON" --log-level "${NT_LOG_LEVEL:-debug:handshake,dht,mdns,nat,ledger}" "$@" \
		>>"$NT_TMP/$name.log" 2>&1 &
	local pid=$!
	NT_PIDS+=("$pid")
	eval "PID_$name=$pid"
}
# stop_node NAME [SIGNAL]
stop_node() {
	local pid
	eval "pid=\$PID_$1"
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null
	return 0
}
# bg NODE_NS NAME cmd...: any other background process in a namespace, remembered by PID.
bg() {
	local node=$1 name=$2
	shift 2
	ip netns exec "$NT_PREFIX$node" "$@" >>"$NT_TMP/$name.log" 2>&1 &
	NT_PIDS+=("$!")
	eval "PID_$name=$!"
}

# wait_until SECONDS cmd...: poll every 0.2 s; false when the time runs out.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	"$@" >/dev/null 2>&1
}
# waitiface NODE IFNAME: the TUN is up.
waitiface() {
	wait_until 10 n "$1" ip link show "$2" up || fail "interface $2 in $1 did not come up"
}
# pings NODE ADDR [COUNT]: ping must succeed.
pings() {
	n "$1" ping -c "${3:-1}" -W 2 -i 0.2 "$2" >/dev/null 2>&1
}

NT_TOKEN=""
make_token() { NT_TOKEN=$("$NETRON" -g -b) || fail "netron -g -b"; }

# transfer FROM TO ADDR BYTES [PORT]: BYTES random bytes over TCP from namespace FROM to a
# receiver at ADDR (IPv4 or IPv6) in TO; fails unless all of them arrive and their SHA-256
# matches on both ends.
transfer() {
	local from=$1 to=$2 addr=$3 bytes=$4 port=${5:-5001} tag="xfer$RANDOM" want got_n got_sum
	head -c "$bytes" /dev/urandom >"$NT_TMP/$tag.blob"
	want=$(sha256sum <"$NT_TMP/$tag.blob" | cut -d' ' -f1)
	cat >"$NT_TMP/$tag.py" <<'PY'
import hashlib, socket, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); c.settimeout(60); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); n += len(b)
open(out, "w").write("%d %s\n" % (n, h.hexdigest()))
PY
	bg "$to" "$tag" python3 "$NT_TMP/$tag.py" "$addr" "$port" "$NT_TMP/$tag.out"
	wait_until 5 eval "n $to ss -Hltn 'sport = :$port' | grep -q $port" ||
		fail "transfer: receiver in $to not listening on $port"
	n "$from" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=60)
with open(sys.argv[3], "rb") as f:
    while True:
        b = f.read(1 << 16)
        if not b: break
        s.sendall(b)
s.close()' "$addr" "$port" "$NT_TMP/$tag.blob" || fail "transfer $from -> $addr: sending failed"
	wait_until 30 test -s "$NT_TMP/$tag.out" || fail "transfer $from -> $addr: receiver did not finish"
	read -r got_n got_sum <"$NT_TMP/$tag.out"
	rm -f "$NT_TMP/$tag.blob"
	[ "$got_n" = "$bytes" ] || fail "transfer $from -> $addr: received $got_n bytes, want $bytes"
	[ "$got_sum" = "$want" ] || fail "transfer $from -> $addr: SHA-256 differs"
}

# api_get NODE PORT PATH: GET from a node's API (which listens on 127.0.0.1 in its namespace).
api_get() {
	n "$1" curl -sf --max-time 5 "http://127.0.0.1:$2$3"
}
# api_json NODE PORT PATH EXPR: EXPR (Python, over the JSON document d) from a node's API.
api_json() {
	api_get "$1" "$2" "$3" | python3 -c "import json,sys; d=json.load(sys.stdin); print($4)"
}
