#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What a node maps, and its peak resident memory, with and without the optional parts.
#
#   ns a  198.51.100.1 ---- veth ---- 198.51.100.2  ns b
#   netron0 10.1.0.1/24                  netron0 10.1.0.2/24, --api on 127.0.0.1:8080
#   Neither is given the other, discovery is off: two idle nodes (b also sends STUN by hand).
#
# libmicrohttpd is opened only with --api, libnice (and GLib, GIO, libsoup, ICU... behind
# it) only when the first STUN message comes or goes (src/core/dynlib.h, docs/bench.md
# "Memory"); the netron command usually carries libmicrohttpd linked in, without GnuTLS
# (src/daemon/mhd_static.c). So: an idle node without --api maps neither and stays under a
# peak RSS bound; a node with --api serves it and maps no GnuTLS when linked that way (or
# maps libmicrohttpd when not); a STUN Binding request gets its answer, after which libnice
# is mapped.
NT_TEST_NAME=memory
source "$(dirname "$0")/lib.sh"
require_root

# Peak RSS of an idle node, RelWithDebInfo build, 2026-12-02: 4.6 MiB (3.3 MiB with the
# ledger's arena that touches only the slots it has held; docs/bench.md). The bound leaves
# room for packet buffers and allocator noise.
IDLE_PEAK_KIB=6144

ns_add a
ns_add b
link a 198.51.100.1/24 b 198.51.100.2/24
make_token
export NETRONTOKEN=$NT_TOKEN

start_node a a --address 10.1.0.1/24 --dht off --mdns off
start_node b b --address 10.1.0.2/24 --dht off --mdns off --api
waitiface a netron0
waitiface b netron0
api_up() { api_get b 8080 /api/summary >/dev/null; }
wait_until 10 api_up || fail "b's API does not answer"
sleep 2 # a few ticks of the idle loop

maps_have() { grep -q "/$2" "/proc/$1/maps"; }
maps_have "$PID_a" libmicrohttpd && fail "a node without --api maps libmicrohttpd"
maps_have "$PID_a" libgnutls && fail "a node without --api or STUN maps GnuTLS"
maps_have "$PID_a" libnice && fail "a node that saw no STUN maps libnice"
pretty "idle node without --api maps neither libmicrohttpd nor libnice ($(awk '$6 ~ /\.so/ { print $6 }' "/proc/$PID_a/maps" | sort -u | wc -l) libraries)"
if nm "$NETRON" 2>/dev/null | grep ' T MHD_start_daemon$' >/dev/null; then
	maps_have "$PID_b" libmicrohttpd && fail "a netron that carries libmicrohttpd maps libmicrohttpd.so too"
	maps_have "$PID_b" libgnutls && fail "a node serving --api maps GnuTLS"
	maps_have "$PID_b" libp11-kit && fail "a node serving --api maps p11-kit"
	pretty "node with --api serves from the libmicrohttpd linked in, and maps no GnuTLS"
	# libnice, opened for STUN below, uses the real GnuTLS: it must not bind to notls.c.
	nm -D "$NETRON" | grep gnutls_ >/dev/null && fail "netron exports GnuTLS stand-ins"
	pretty "netron exports none of its GnuTLS stand-ins"
else
	maps_have "$PID_b" libmicrohttpd || fail "a node with --api does not map libmicrohttpd"
	pretty "node with --api maps libmicrohttpd (not linked in)"
fi

# Sanitizer builds reserve shadow memory and keep freed blocks: their RSS says nothing.
hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID_a/status")
if grep -qE 'lib(a|ub)san' "/proc/$PID_a/maps"; then
	pretty "VmHWM $hwm KiB (sanitizer build: bound of $IDLE_PEAK_KIB KiB not checked)"
else
	[ "$hwm" -le "$IDLE_PEAK_KIB" ] || fail "idle node's VmHWM is $hwm KiB, bound $IDLE_PEAK_KIB KiB"
	pretty "idle node's VmHWM $hwm KiB <= $IDLE_PEAK_KIB KiB"
fi

# The breakdown a user on a router reads: netron_memory_bytes by kind in /metrics, the same
# in /api/summary's "memory". heap, packet_buffers, ledger and tables are allocated bytes
# that do not overlap; libraries is resident file-backed pages. Everything resident is one
# of those or a little beyond (thread stacks, libraries' relocated pages): VmRSS is at most
# their sum plus 2 MiB, and the file-backed part is at most VmRSS.
api_get b 8080 /metrics >"$NT_TMP/metrics" || fail "b's /metrics does not answer"
api_get b 8080 /api/summary >"$NT_TMP/summary" || fail "b's /api/summary does not answer"
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID_b/status")
python3 - "$NT_TMP/metrics" "$NT_TMP/summary" "$rss_kib" "$(grep -qE 'lib(a|ub)san' "/proc/$PID_b/maps" && echo 1 || echo 0)" <<'PY' || fail "memory breakdown: see above"
import json, re, sys
text, summ = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))
rss, sanitizer = int(sys.argv[3]) * 1024, sys.argv[4] == "1"
kinds = ("heap", "packet_buffers", "ledger", "tables", "libraries")
got = {k: int(v) for k, v in re.findall(r'^netron_memory_bytes\{kind="([a-z_]+)"\} ([0-9]+)$', text, re.M)}
assert "# TYPE netron_memory_bytes gauge" in text, "no TYPE line"
assert sorted(got) == sorted(kinds), "kinds %s" % sorted(got)
mem = summ["memory"]
for k in kinds:
    assert k in mem, "summary lacks memory.%s" % k
assert mem["resident"] > 0, mem
# Two requests apart: the modules' own sizes are the same in both, the rest may move a little.
for k in ("packet_buffers", "ledger", "tables"):
    assert got[k] == mem[k], "%s: metrics %d, summary %d" % (k, got[k], mem[k])
assert got["packet_buffers"] >= 64 * 1024, got
assert got["tables"] > 0 and got["ledger"] > 0, got
assert 0 < got["libraries"] <= rss, (got, rss)
allocated = sum(got[k] for k in kinds if k != "libraries")
if not sanitizer:
    assert got["heap"] > 0, got
    assert rss <= allocated + got["libraries"] + (2 << 20), "VmRSS %d > sum %d + 2 MiB" % (rss, allocated + got["libraries"])
print(" ".join("%s=%dKiB" % (k, got[k] // 1024) for k in kinds), "VmRSS=%dKiB" % (rss // 1024))
PY
pretty "netron_memory_bytes and /api/summary memory: every kind, sum plausible against VmRSS $rss_kib KiB"

# A STUN Binding request from b's namespace: a opens libnice and answers with the address
# it saw (XOR-MAPPED-ADDRESS, 198.51.100.2:port).
cat >"$NT_TMP/stun.py" <<'PY'
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.2", 0))
s.settimeout(3)
tid = os.urandom(12)
s.sendto(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid, ("198.51.100.1", 51830))
resp = s.recv(1500)
typ, length, cookie = struct.unpack("!HHI", resp[:8])
assert typ == 0x0101 and cookie == 0x2112A442 and resp[8:20] == tid, resp.hex()
off = 20
while off < 20 + length:
    at, al = struct.unpack("!HH", resp[off:off + 4])
    if at == 0x0020:
        port = struct.unpack("!H", resp[off + 6:off + 8])[0] ^ 0x2112
        ip = bytes(a ^ b for a, b in zip(resp[off + 8:off + 12], b"\x21\x12\xa4\x42"))
        print("%s:%d" % (socket.inet_ntoa(ip), port))
        sys.exit(0 if port == s.getsockname()[1] else 1)
    off += 4 + (al + 3) // 4 * 4
sys.exit(1)
PY
got=$(n b python3 "$NT_TMP/stun.py") || fail "no valid STUN answer from a (got '$got')"
[ "${got%:*}" = 198.51.100.2 ] || fail "STUN answer maps us to $got"
maps_have "$PID_a" libnice || fail "a answered STUN without libnice mapped"
pretty "STUN request answered ($got), libnice mapped since"

stop_node a
stop_node b
pretty "PASS"
echo "memory: 1 passed, 0 failed"
