#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Helpers for the NAT labs (sourced after lib.sh, never run; run alone it skips).
#
# One "Internet" (203.0.113.0/24 on the bridge in namespace pub) with a public member M at
# 203.0.113.10, and home routers r1 and r2 (public addresses 203.0.113.1/.2) in front of the
# LANs 10.10.1.0/24 and 10.10.2.0/24 (a bridge each, in namespaces lan1 and lan2). Each home
# router reaches the Internet through its ISP's router (isp1, isp2: proxy ARP for the
# customer's address, one routed hop), as on the real Internet: a punch with a low TTL opens
# the sender's own NAT and dies at the ISP, before it can reach the other side's router.
#
#                       pub: br0 203.0.113.0/24 (.20 = STUN server)
#            +-----------------+--------------------+
#      isp1 .101 (eth0)  m 203.0.113.10      isp2 .102 (eth0)
#            | access link                          | access link
#      r1 203.0.113.1/32 (eth0)               r2 203.0.113.2/32 (eth0)
#      r1 10.10.1.1 (eth1)                    r2 10.10.2.1 (eth1)
#            |                                      |
#      lan1: br0                              lan2: br0
#      h1 10.10.1.2, h1b 10.10.1.3            h2 10.10.2.2
#
# Router modes (nat_router NAME MODE), all Linux netfilter:
#   eim-fw     MASQUERADE (endpoint-independent mapping: Linux keeps the source port when
#              it is free) and an inbound firewall: from the public side only ESTABLISHED,
#              RELATED passes, in FORWARD and INPUT. Dropped early punches are never
#              confirmed into conntrack, so they leave no entry behind.
#   eim-open   MASQUERADE, no firewall: an early inbound punch to the router's port becomes
#              a conntrack entry of its own (DESIGN §8), which the node must cope with.
#   symmetric  MASQUERADE --random-fully (a fresh random port per destination) and the
#              same inbound firewall as eim-fw.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "SKIP: natlib.sh holds helpers for the nat_*.sh scenarios"
	exit 77
fi

NAT_M=203.0.113.10
NAT_STUN=203.0.113.20
NAT_PORT=51830

# nat_require: the tools every NAT scenario needs.
nat_require() {
	require_root
	command -v iptables >/dev/null || skip "iptables missing"
	command -v conntrack >/dev/null || skip "conntrack missing"
	command -v curl >/dev/null || skip "curl missing"
	command -v jq >/dev/null || skip "jq missing"
}

# nat_lab: the Internet, M's namespace, both routers and their LANs (hosts come from nat_host).
nat_lab() {
	ns_add pub
	bridge_add pub
	ns_add m
	bridge_port pub m "$NAT_M/24"
	local r i isp
	for i in 1 2; do
		r=r$i
		isp=isp$i
		ns_add "$r"
		ns_add "$isp"
		ns_add "lan$i"
		bridge_add "lan$i"
		# The ISP's router: on the Internet at 203.0.113.10$i, answering ARP for its
		# customer's address (proxy ARP) and routing it down the access link.
		bridge_port pub "$isp" "203.0.113.10$i/24" eth0
		ip link add eth0 netns "$NT_PREFIX$r" type veth peer name acc0 netns "$NT_PREFIX$isp" ||
			fail "access link $r"
		n "$isp" ip addr add "198.51.100.$i/32" dev acc0
		n "$isp" ip link set acc0 up
		n "$isp" ip route add "203.0.113.$i/32" dev acc0
		n "$isp" sysctl -qw net.ipv4.ip_forward=1
		n "$isp" sysctl -qw net.ipv4.conf.eth0.proxy_arp=1
		n "$r" ip addr add "203.0.113.$i/32" dev eth0
		n "$r" ip link set eth0 up
		n "$r" ip route add "198.51.100.$i/32" dev eth0
		n "$r" ip route add default via "198.51.100.$i" dev eth0 onlink
		bridge_port "lan$i" "$r" "10.10.$i.1/24" eth1
		n "$r" sysctl -qw net.ipv4.ip_forward=1
	done
}

# nat_host NAME ROUTER(r1|r2) LAST_OCTET: a host on ROUTER's LAN, default route via it.
nat_host() {
	local name=$1 r=$2 last=$3 i=${2#r}
	ns_add "$name"
	bridge_port "lan$i" "$name" "10.10.$i.$last/24"
	n "$name" ip route add default via "10.10.$i.1"
}

# nat_router NAME MODE: see the header for the modes.
nat_router() {
	local r=$1 mode=$2
	n "$r" iptables -t nat -F
	n "$r" iptables -F
	case $mode in
	eim-fw | eim-open)
		n "$r" iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE || fail "iptables in $r"
		;;
	symmetric)
		n "$r" iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE --random-fully ||
			fail "iptables --random-fully in $r"
		;;
	*) fail "nat_router: unknown mode $mode" ;;
	esac
	if [ "$mode" != eim-open ]; then
		local chain
		for chain in FORWARD INPUT; do
			n "$r" iptables -A "$chain" -i eth0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
			n "$r" iptables -A "$chain" -i eth0 -j DROP
		done
	fi
	eval "NAT_MODE_$r=$mode"
}

# nat_flush NAME: forget every mapping of the router (a reboot of its NAT table).
nat_flush() {
	n "$1" conntrack -F 2>/dev/null
}

# nat_mappings NAME: the router's UDP conntrack entries (for the log and for asserts).
nat_mappings() {
	n "$1" conntrack -L -p udp 2>/dev/null
}

# nat_start NAME NS VPN_ADDR [ARGS...]: a node that knows only M, with the API on.
nat_start() {
	local name=$1 node=$2 addr=$3
	shift 3
	start_node "$name" "$node" --address "$addr/24" --peer "$NAT_M:$NAT_PORT" --dht off --mdns off \
		--api "$@"
}
# nat_start_member NAME [ARGS...]: M itself in namespace m (no peers; everyone comes to it).
nat_start_member() {
	local name=$1
	shift
	start_node "$name" m --address 10.1.0.10/24 --dht off --mdns off --api "$@"
}

# api NS PATH: the node's API as seen from inside its namespace.
api() {
	n "$1" curl -s --max-time 2 "http://127.0.0.1:8080$2"
}
# peer_field NS VPN_IP FIELD: one field of the peer object that owns VPN_IP ("" if none).
peer_field() {
	api "$1" /api/peers | jq -r --arg ip "$2" --arg f "$3" \
		'[.[] | select(any(.addresses[]?; split("/")[0] == $ip))][0][$f] // empty' 2>/dev/null
}
# peer_connected NS VPN_IP: true when the peer owning VPN_IP has a session.
peer_connected() {
	[ "$(peer_field "$1" "$2" connected)" = true ]
}
# peer_show NS VPN_IP: one line for the log.
peer_show() {
	api "$1" /api/peers | jq -c --arg ip "$2" \
		'[.[] | select(any(.addresses[]?; split("/")[0] == $ip))][0] |
		 {id_short, endpoint, path, connected, rx_bytes, tx_bytes}' 2>/dev/null
}

# time_to_ping NS VPN_IP MAX: seconds until the first ping went through (sets T_PING and
# NAT_SETTLE for expect_path), or false.
time_to_ping() {
	local t0=$SECONDS
	NAT_SETTLE=0
	wait_until "$3" pings "$1" "$2" || return 1
	T_PING=$((SECONDS - t0))
	NAT_SETTLE=15
}

# expect_path NS VPN_IP WANT... : the peer's path is one of WANT, waiting up to NAT_SETTLE
# seconds (default 15: a relayed session may turn direct; set it to 0 once pings have
# failed, so a broken run does not wait for nothing); sets GOT_PATH and GOT_ENDPOINT.
expect_path() {
	local ns=$1 ip=$2
	shift 2
	local deadline=$((SECONDS + ${NAT_SETTLE:-15})) w
	while :; do
		GOT_PATH=$(peer_field "$ns" "$ip" path)
		GOT_ENDPOINT=$(peer_field "$ns" "$ip" endpoint)
		for w in "$@"; do
			[ "$GOT_PATH" = "$w" ] && return 0
		done
		[ $SECONDS -lt $deadline ] || break
		sleep 0.5
	done
	return 1
}

# nat_dump: what the routers and nodes think, for a failing run.
nat_dump() {
	local r ns
	for r in r1 r2; do
		echo "----- conntrack in $r"
		nat_mappings "$r" | head -20
	done
	for ns in "$@"; do
		echo "----- /api/peers in $ns"
		api "$ns" /api/peers | jq -c '.[] | {id_short, addresses, endpoint, path, connected}' 2>/dev/null
		echo "----- reflexive in $ns: $(api "$ns" /api/summary | jq -r .reflexive 2>/dev/null)"
	done
}
