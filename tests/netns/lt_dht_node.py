#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A plain BitTorrent Mainline DHT node (libtorrent-rasterbar) for the netns scenarios.

Usage: lt_dht_node.py LISTEN_IP PORT OUT_JSON [DHT_LOG]

Runs a libtorrent session with only the DHT enabled on LISTEN_IP:PORT, no bootstrap
nodes (it never contacts anything by itself: it only answers and learns from the nodes
that query it), no LSD/UPnP/NAT-PMP, no torrents. Until SIGTERM/SIGINT it records what it
sees and rewrites OUT_JSON (atomically) every half second:

  listening        the socket is up (listen_succeeded)
  dht_started      libtorrent started its DHT node on it
  node_id          our node ID (hex), taken from our own answers
  queries          {"ip:port": {"ping": n, "find_node": n, ..., "v": client version hex}}
  errors_sent      [[ip:port, code, message], ...]  error answers we sent (rejections)
  errors_received  [[ip:port, error], ...]          error answers we got
  queries_sent     {"ip:port": {"ping": n, ...}}     our own queries
  answers_received {"ip:port": n}                    answers to them
  ids              {"ip:port": id hex}               the last node ID each node used
  values_sent      {"ip:port": ["ip:port", ...]}      peers we handed out in get_peers answers
  announces        [[info_hash hex, ip, port], ...]  dht_announce alerts (announce_peer we stored)
  get_peers        {info_hash hex: n}                 dht_get_peers alerts (lookups we served)
  live_nodes       [[id hex, ip, port], ...]          our routing table (dht_live_nodes)
  dht_nodes        session.status().dht_nodes
  routing_table    [[num_nodes, num_replacements], ...] per bucket (dht_stats alert)

DHT_LOG, when given, receives every dht_log / dht_pkt alert line (for debugging).
"""

import binascii
import json
import os
import signal
import sys
import time
import warnings

import libtorrent as lt

warnings.simplefilter("ignore", DeprecationWarning)  # session.status()


def hexs(b):
    if isinstance(b, str):
        b = b.encode("latin-1")
    return binascii.hexlify(bytes(b)).decode()


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    logf = open(sys.argv[4], "a", buffering=1) if len(sys.argv) > 4 else None

    settings = {
        "enable_dht": True,
        "listen_interfaces": "%s:%d" % (ip, port),
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_prefer_verified_node_ids": False,
        "dht_enforce_node_id": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        "alert_mask": lt.alert.category_t.dht_notification
        | lt.alert.category_t.dht_log_notification
        | lt.alert.category_t.dht_operation_notification
        | lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.stats_notification,
    }
    if "dht_ignore_dark_internet" in lt.default_settings():
        settings["dht_ignore_dark_internet"] = False
    ses = lt.session(settings)

    state = {
        "listening": False,
        "dht_started": False,
        "listen_errors": [],
        "node_id": None,
        "queries": {},
        "errors_sent": [],
        "errors_received": [],
        "queries_sent": {},
        "answers_received": {},
        "ids": {},
        "values_sent": {},
        "announces": [],
        "get_peers": {},
        "live_nodes": [],
        "dht_nodes": 0,
        "routing_table": [],
    }
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    def log(line):
        if logf:
            logf.write("%.3f %s\n" % (time.time(), line))

    def on_pkt(a):
        msg = a.message()
        # "<== [ip:port] ..." incoming, "==> [ip:port] ..." outgoing
        incoming = msg.startswith("<==")
        ep = msg[msg.find("[") + 1 : msg.find("]")]
        try:
            pkt = lt.bdecode(bytes(a.pkt_buf))
        except Exception:  # noqa: BLE001 - anything undecodable is just logged
            pkt = None
        if not isinstance(pkt, dict):
            log(msg)
            return
        y = pkt.get(b"y")
        body = pkt.get(b"a" if y == b"q" else b"r", {})
        nodes = body.get(b"nodes", b"") if isinstance(body, dict) else b""
        if nodes:  # the alert's text truncates them
            msg += " nodes=" + ",".join(
                "%s@%d.%d.%d.%d:%d" % (hexs(nodes[i : i + 20])[:8], *nodes[i + 20 : i + 24],
                                      nodes[i + 24] << 8 | nodes[i + 25])
                for i in range(0, len(nodes) - 25, 26))
        log(msg)
        if incoming and isinstance(body, dict) and len(body.get(b"id", b"")) == 20:
            state["ids"][ep] = hexs(body[b"id"])
        if incoming and y == b"q":
            q = pkt.get(b"q", b"?").decode("latin-1")
            rec = state["queries"].setdefault(ep, {})
            rec[q] = rec.get(q, 0) + 1
            if b"v" in pkt:
                rec["v"] = hexs(pkt[b"v"])
        elif not incoming and y == b"r" and not state["node_id"]:
            rid = pkt.get(b"r", {}).get(b"id")
            if rid is not None and len(rid) == 20:
                state["node_id"] = hexs(rid)
        if not incoming and y == b"r" and b"values" in pkt.get(b"r", {}):
            rec = state["values_sent"].setdefault(ep, [])
            for v in pkt[b"r"][b"values"]:
                if len(v) == 6:
                    peer = "%d.%d.%d.%d:%d" % (v[0], v[1], v[2], v[3], v[4] << 8 | v[5])
                    if peer not in rec:
                        rec.append(peer)
        if not incoming and y == b"q":
            q = pkt.get(b"q", b"?").decode("latin-1")
            rec = state["queries_sent"].setdefault(ep, {})
            rec[q] = rec.get(q, 0) + 1
        elif incoming and y == b"r":
            state["answers_received"][ep] = state["answers_received"].get(ep, 0) + 1
        elif incoming and y == b"e":
            state["errors_received"].append([ep, str(pkt.get(b"e"))])
        elif not incoming and y == b"e":
            e = pkt.get(b"e", [0, b""])
            code = e[0] if e else 0
            text = e[1].decode("latin-1") if len(e) > 1 and isinstance(e[1], bytes) else str(e)
            state["errors_sent"].append([ep, code, text])

    def write_state():
        state["dht_nodes"] = ses.status().dht_nodes
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f, indent=1, sort_keys=True)
        os.replace(tmp, out)

    last_poll = 0.0
    while not stop:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            if isinstance(a, lt.dht_pkt_alert):
                on_pkt(a)
            elif isinstance(a, lt.dht_log_alert):
                m = a.message()
                log("log %s" % m)
                # "DHT tracker: starting 10.10.9.2 DHT tracker with node id: <hex>"
                if "DHT tracker with node id:" in m:
                    state["dht_started"] = True
                    state["node_id"] = m.rsplit(":", 1)[1].strip()
            elif isinstance(a, lt.dht_announce_alert):
                state["announces"].append([hexs(a.info_hash.to_bytes()), str(a.ip), a.port])
                log("announce %s" % a.message())
            elif isinstance(a, lt.dht_get_peers_alert):
                ih = hexs(a.info_hash.to_bytes())
                state["get_peers"][ih] = state["get_peers"].get(ih, 0) + 1
            elif isinstance(a, lt.dht_live_nodes_alert):
                state["live_nodes"] = [
                    [hexs(n["nid"].to_bytes()), n["endpoint"][0], n["endpoint"][1]]
                    for n in a.nodes
                ]
            elif isinstance(a, lt.dht_stats_alert):
                state["routing_table"] = [
                    [b["num_nodes"], b["num_replacements"]] for b in a.routing_table
                ]
            elif isinstance(a, lt.listen_succeeded_alert):
                log("listen %s" % a.message())
                state["listening"] = True
            elif isinstance(a, lt.listen_failed_alert):
                log("listen failed %s" % a.message())
                state["listen_errors"].append(a.message())
            elif isinstance(a, lt.dht_bootstrap_alert):
                log("bootstrap %s" % a.message())
            else:
                log("alert %s" % a.message())
        now = time.time()
        if now - last_poll >= 0.5:
            last_poll = now
            ses.post_dht_stats()
            if state["node_id"]:
                ses.dht_live_nodes(lt.sha1_hash(binascii.unhexlify(state["node_id"])))
            write_state()
    write_state()
    del ses
    return 0


if __name__ == "__main__":
    sys.exit(main())
