#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The dashboard renders the members: headless Chromium, run inside a node's namespace,
# loads GET / from that node's API, lets the page's script fetch the JSON (its CSP allows
# only itself), dumps the DOM and takes a screenshot. The DOM must hold one
# table#peers tr.peer row per member with its address, and this node's ID.
#
#        +------------- sw (br0) -------------+
#        |                                    |
#   n1 192.0.2.1                        n2 192.0.2.2
#   netron 10.1.0.1                     netron 10.1.0.2
#   api 127.0.0.1:8080  <- chromium
#
NT_TEST_NAME=dashboard
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
CHROMIUM=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium)"
command -v curl >/dev/null || skip "curl missing"
command -v python3 >/dev/null || skip "python3 missing"

make_token
ns_add sw
bridge_add sw
ns_add n1
ns_add n2
bridge_port sw n1 192.0.2.1/24
bridge_port sw n2 192.0.2.2/24
start_node n1 n1 --token "$NT_TOKEN" --dht off --mdns off --api --address 10.1.0.1/24 --peer 192.0.2.2:51830
start_node n2 n2 --token "$NT_TOKEN" --dht off --mdns off --address 10.1.0.2/24 --peer 192.0.2.1:51830
waitiface n1 netron0
waitiface n2 netron0
wait_until 30 pings n1 10.1.0.2 || fail "n1 cannot ping n2"
n n1 ping -c 3 -i 0.2 -W 2 10.1.0.2 >/dev/null

ID1=$(n n1 curl -sf http://127.0.0.1:8080/api/summary | python3 -c 'import json,sys; print(json.load(sys.stdin)["node_id"])') ||
	fail "no /api/summary"

# chromium NS OUT ARGS...: a throwaway profile, no network features beyond the page.
chromium_run() {
	local out=$1
	shift
	local profile
	profile=$(mktemp -d "$NT_TMP/chromium.XXXXXX")
	n n1 timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic \
		--no-first-run --disable-background-networking --disable-component-update \
		--disable-sync --disable-extensions --disable-dev-shm-usage --mute-audio \
		--user-data-dir="$profile" --virtual-time-budget=5000 "$@" \
		>"$out" 2>>"$NT_TMP/chromium.log"
}

pretty "chromium dumps the DOM after the page's script ran"
chromium_run "$NT_TMP/dom.html" --dump-dom http://127.0.0.1:8080/ ||
	fail "chromium --dump-dom failed: $(tail -5 "$NT_TMP/chromium.log")"
python3 - "$NT_TMP/dom.html" "$ID1" <<'EOF' || fail "the dashboard DOM does not show the members"
import sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.rows, self.ids = [], [], {}
        self.in_peers = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id") == "peers":
            self.in_peers = True
        if self.in_peers and tag == "tr" and "peer" in a.get("class", "").split():
            self.rows.append({"class": a.get("class"), "id": a.get("id"), "cells": {}})
        if self.in_peers and tag == "td" and self.rows:
            self.stack.append(("cell", a.get("class", "").split()[0] if a.get("class") else ""))
        elif a.get("id"):
            self.stack.append(("id", a["id"]))
        else:
            self.stack.append(None)
    def handle_endtag(self, tag):
        if tag == "table":
            self.in_peers = False
        if self.stack:
            self.stack.pop()
    def handle_data(self, data):
        for entry in reversed(self.stack):
            if entry is None:
                continue
            kind, name = entry
            if kind == "cell":
                self.rows[-1]["cells"][name] = self.rows[-1]["cells"].get(name, "") + data
            else:
                self.ids[name] = self.ids.get(name, "") + data
            break

d = Dom()
d.feed(open(sys.argv[1]).read())
assert d.ids.get("node-id") == sys.argv[2], ("node id", d.ids.get("node-id"))
assert "10.1.0.1/24" in d.ids.get("node-addresses", ""), d.ids
assert len(d.rows) == 1, ("peer rows", d.rows)
row = d.rows[0]
assert "up" in row["class"].split(), row
assert row["cells"].get("addresses", "").startswith("10.1.0.2/"), row
assert row["cells"].get("endpoint") == "192.0.2.2:51830", row
assert row["cells"].get("path") in ("direct", "lan"), row
assert row["cells"].get("rx", "").endswith("B") and row["cells"].get("rx") != "0 B", row
assert "error" not in d.ids.get("status", ""), d.ids.get("status")
print("peer row:", row)
EOF

pretty "chromium takes a screenshot"
chromium_run /dev/null --window-size=1200,800 --screenshot="$NT_TMP/dashboard.png" \
	http://127.0.0.1:8080/ || fail "chromium --screenshot failed: $(tail -5 "$NT_TMP/chromium.log")"
python3 - "$NT_TMP/dashboard.png" <<'EOF' || fail "no valid PNG screenshot"
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert w >= 800 and h >= 600 and len(data) > 5000, (w, h, len(data))
print("screenshot %dx%d, %d bytes" % (w, h, len(data)))
EOF
if [ -n "${NT_ARTIFACTS:-}" ]; then
	mkdir -p "$NT_ARTIFACTS" && cp "$NT_TMP/dashboard.png" "$NT_TMP/dom.html" "$NT_ARTIFACTS/"
fi

pretty "ok"
