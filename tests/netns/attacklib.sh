#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Helpers of the attack scenarios (hostile_*.sh, outsider*.sh; issue 13), sourced after
# lib.sh, never run.
#
# The attacker is tests/tools/nt_attack (the harness: a hostile member or an outsider built on
# the library). It prints one line per action, "nt_attack: action=NAME key=value ...", which
# attack_field reads. A scenario checks several holes in one run, so its assertions are
# soft: check/check_fail count a failure and go on (one hole must not hide the next), and
# attack_done ends the scenario with "<name>: N passed, M failed", failing if M > 0.
# Counters of what a namespace receives or sends are iptables rules without a target,
# found by their comment.

NT_ATTACK=${NT_ATTACK:-}
if [ -z "$NT_ATTACK" ]; then
	for b in "${NT_BUILD_DIR:-}/tests/nt_attack" "$NT_SOURCE_DIR/build/tests/nt_attack" \
		"$NT_SOURCE_DIR/build-asan/tests/nt_attack"; do
		[ -x "$b" ] && NT_ATTACK=$b && break
	done
fi
NT_CHECKS_PASSED=0
NT_CHECKS_FAILED=0
NT_CHECK_FAILURES=()

require_attack() {
	[ -x "$NT_ATTACK" ] || fail "nt_attack not found (set NT_ATTACK= or build tests/tools)"
	command -v iptables >/dev/null || skip "iptables missing"
	command -v curl >/dev/null || skip "curl missing"
	command -v python3 >/dev/null || skip "python3 missing"
}

# check DESCRIPTION cmd...: a soft assertion.
check() {
	local what=$1
	shift
	if "$@"; then
		NT_CHECKS_PASSED=$((NT_CHECKS_PASSED + 1))
		pretty "ok: $what"
	else
		check_fail "$what"
	fi
}
# check_fail DESCRIPTION: a failed soft assertion.
check_fail() {
	NT_CHECKS_FAILED=$((NT_CHECKS_FAILED + 1))
	NT_CHECK_FAILURES+=("$1")
	printf '\033[1;31m[%s] FAIL:\033[0m %s\n' "${NT_TEST_NAME:-netns}" "$1" >&2
}
# attack_done: the summary line; the scenario fails if any check failed.
attack_done() {
	local f
	for f in "${NT_CHECK_FAILURES[@]}"; do
		echo "failed: $f" >&2
	done
	echo "$NT_TEST_NAME: $NT_CHECKS_PASSED passed, $NT_CHECKS_FAILED failed"
	[ "$NT_CHECKS_FAILED" -eq 0 ] || { NT_FAILED=1; exit 1; }
}

# attack NODE_NS NAME nt_attack-args...: the harness in the background, log $NT_TMP/NAME.log.
attack() {
	local node=$1 name=$2
	shift 2
	bg "$node" "$name" env NETRONTOKEN="${NETRONTOKEN:-}" "$NT_ATTACK" "$@"
}
# attack_fg NODE_NS NAME nt_attack-args...: the same, waiting for it; false if it failed.
attack_fg() {
	local node=$1 name=$2
	shift 2
	n "$node" env NETRONTOKEN="${NETRONTOKEN:-}" "$NT_ATTACK" "$@" >>"$NT_TMP/$name.log" 2>&1
}
# attack_line NAME ACTION: the harness's last report line of ACTION.
attack_line() {
	grep "^nt_attack: action=$2 " "$NT_TMP/$1.log" 2>/dev/null | tail -n 1
}
# wait_action NAME ACTION SECONDS: the harness reported ACTION (false on timeout, or when
# the harness gave up: an error line).
wait_action() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		[ -n "$(attack_line "$1" "$2")" ] && return 0
		grep -q '^nt_attack: error' "$NT_TMP/$1.log" 2>/dev/null && return 1
		sleep 0.2
	done
	[ -n "$(attack_line "$1" "$2")" ]
}
# attack_field NAME ACTION KEY: KEY's value in that line (empty when absent).
attack_field() {
	attack_line "$1" "$2" | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n 1
}
# harness_ok NAME ACTION SECONDS: the harness did its part, or the scenario stops here: a
# harness that could not attack proves nothing either way.
harness_ok() {
	wait_action "$1" "$2" "$3" ||
		fail "harness: no '$2' report ($(grep -h 'nt_attack: error' "$NT_TMP/$1.log" | tail -n 1))"
}

# counter_add NS TABLE CHAIN TAG RULE...: an iptables rule without a target, which counts.
counter_add() {
	local ns=$1 table=$2 chain=$3 tag=$4
	shift 4
	n "$ns" iptables -w -t "$table" -A "$chain" "$@" -m comment --comment "$tag" ||
		fail "iptables in $ns"
}
# counter NS TABLE CHAIN TAG [packets|bytes]: the sum over the rules with that comment.
counter() {
	n "$1" iptables -w -t "$2" -L "$3" -v -x -n |
		awk -v tag="/* $4 */" -v col="${5:-packets}" \
			'index($0, tag) { p += $1; b += $2 } END { print (col == "bytes" ? b : p) + 0 }'
}

# counter_is NS TABLE CHAIN TAG N: the packet count is N (for wait_until).
counter_is() { [ "$(counter "$1" "$2" "$3" "$4")" = "$5" ]; }
# alive NAME: the node's process is still running.
alive() {
	local pid
	eval "pid=\$PID_$1"
	kill -0 "$pid" 2>/dev/null
}
# js NODE_NS EXPR: EXPR over the node's /api/summary (API on 127.0.0.1:8080).
js() { api_json "$1" 8080 /api/summary "$2"; }
# node_id NODE_NS: the node's ID.
node_id() { js "$1" "d['node_id']"; }
# owner_of NODE_NS ADDR: the node ID that owns ADDR in NODE_NS's /api/machines, "" if none.
owner_of() {
	api_get "$1" 8080 /api/machines | python3 -c '
import json, sys
for m in json.load(sys.stdin):
    if m["Address"] == sys.argv[1]:
        print(m["PeerID"])' "$2"
}
# summary_key NODE_NS PATH...: a key of /api/summary that the fixes add (drops.oversized,
# workers[].waits): its value, or the word "missing".
summary_key() {
	local node=$1
	shift
	api_get "$node" 8080 /api/summary | python3 -c '
import json, sys
d = json.load(sys.stdin)
path = sys.argv[1:]
try:
    for p in path:
        d = d[int(p)] if isinstance(d, list) else d[p]
    print(d)
except (KeyError, IndexError, ValueError, TypeError):
    print("missing")' "$@"
}
# pings_all NODE:ADDR...: every named node pings every address but its own.
pings_all() {
	local x y
	for x in "$@"; do
		for y in "$@"; do
			[ "$x" = "$y" ] && continue
			pings "${x%%:*}" "${y#*:}" 2 || { echo "${x%%:*} cannot ping ${y#*:}" >&2; return 1; }
		done
	done
}
# le X Y: integer X <= Y (a check helper).
le() { [ "$1" -le "$2" ]; }
eq() { [ "$1" = "$2" ]; }
# at_least X N: X is a number and X >= N (X may be "missing", or empty when the node is gone).
at_least() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ]; }

# attack_lan NODE:HOST...: namespace sw with bridge br0, and each NODE on it at 192.0.2.HOST.
# The harness's namespace h also gets 203.0.113.0/24 as local addresses (AnyIP), and every
# other node routes that prefix to h: what a node sends to a spoofed 203.0.113.x source
# reaches the harness, which counts it. Reverse-path filtering is off in every namespace,
# so that a spoofed source is not dropped by the kernel before the node sees it.
attack_lan() {
	local x name
	ns_add sw
	bridge_add sw
	for x in "$@"; do
		name=${x%%:*}
		ns_add "$name"
		bridge_port sw "$name" "192.0.2.${x#*:}/24"
		n "$name" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv4.conf.eth0.rp_filter=0
		if [ "$name" = h ]; then
			n h ip route add local 203.0.113.0/24 dev lo
		else
			n "$name" ip route add 203.0.113.0/24 via 192.0.2.66
		fi
	done
}

# probe_udp NODE_NS ADDR PORT: one UDP datagram, to show that a counter counts (a counter
# that stays at 0 proves nothing unless it was seen to count).
probe_udp() {
	n "$1" python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"probe", (sys.argv[1], int(sys.argv[2])))' "$2" "$3"
}
