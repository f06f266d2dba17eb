#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command line as a user meets it (no root needed): generating networks, reading them
# back, --dry-run, and the exit status and one-line message of every kind of bad input.
set -u
NETRON=${NETRON:?set NETRON to the binary}
NT_SOURCE_DIR=${NT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# expect_exit CODE PATTERN cmd...: exit code, and stderr is one line matching PATTERN.
expect_exit() {
	local code=$1 pattern=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	set -- "$(printf '%s ' "$@" | sed "s#$NETRON#netron#; s#[A-Za-z0-9+/=]\{40,\}#<token>#g")"
	if [ $rc -ne "$code" ]; then
		bad "$* -> exit $rc, want $code ($(head -c 200 "$tmp/err"))"
	elif [ -n "$pattern" ] && { [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q -- "$pattern" "$tmp/err"; }; then
		bad "$* -> stderr '$(cat "$tmp/err")', want one line matching '$pattern'"
	else
		ok "$* -> exit $code${pattern:+: $(cat "$tmp/err")}"
	fi
}

# A token is base64 of the YAML: six top-level keys, 43-character secrets.
t1=$("$NETRON" -g -b) || bad "netron -g -b failed"
t2=$("$NETRON" -g -b)
[ "$(printf '%s' "$t1" | wc -l)" -eq 0 ] && ok "the token is one line" || bad "the token has line breaks"
printf '%s' "$t1" | base64 -d >"$tmp/net.yaml" || bad "base64 -d of the token failed"
keys=$(grep -E '^[a-z_]+:' "$tmp/net.yaml" | cut -d: -f1 | tr '\n' ' ')
[ "$keys" = "otp room rendezvous mdns max_message_size " ] && ok "top-level keys: $keys" ||
	bad "top-level keys are '$keys'"
[ "$(grep -cE '^ *(key|room|rendezvous|mdns): [A-Za-z0-9]{43}$' "$tmp/net.yaml")" -eq 5 ] &&
	ok "five 43-character secrets" || bad "secrets are not 43 characters: $(cat "$tmp/net.yaml")"
[ "$t1" != "$t2" ] && ok "two runs give different networks" || bad "two runs gave the same token"
s1=$(printf '%s' "$t1" | base64 -d | grep -oE '[A-Za-z0-9]{43}' | sort)
s2=$(printf '%s' "$t2" | base64 -d | grep -oE '[A-Za-z0-9]{43}' | sort)
[ -z "$(comm -12 <(echo "$s1") <(echo "$s2"))" ] && ok "no secret repeats across runs" || bad "a secret repeated"
"$NETRON" -g --key-otp-interval 9000 | grep -q "interval: 9000" && ok "--key-otp-interval" || bad "--key-otp-interval"
"$NETRON" -g | "$NETRON" --config /dev/stdin --address 10.1.0.1/24 --dry-run >/dev/null &&
	ok "netron -g output reads back as a config" || bad "generated YAML does not read back"

# --dry-run: exit 0, a summary with the fingerprint and never a secret.
NETRONTOKEN=$t1 "$NETRON" --address 10.1.0.11/24 --dry-run >"$tmp/dry" 2>&1 && ok "--dry-run exits 0" || bad "--dry-run failed: $(cat "$tmp/dry")"
for w in network interface address listen discovery "state dir"; do
	grep -q "^$w" "$tmp/dry" || bad "--dry-run summary has no '$w' line"
done
leaked=0
for s in $s1; do grep -q "$s" "$tmp/dry" && leaked=1; done
grep -q "$t1" "$tmp/dry" && leaked=1
[ $leaked -eq 0 ] && ok "the summary shows no secret and no token" || bad "--dry-run printed a secret"
"$NETRON" --config "$NT_SOURCE_DIR/examples/edgevpn.yaml" --address 10.1.0.11/24 --dry-run >/dev/null &&
	ok "the EdgeVPN sample is accepted" || bad "the EdgeVPN sample is refused"

# Bad input: exit 2 and one line naming the problem.
changed=$(printf '%s' "$t1" | sed 's/^\(.\{20\}\)./\1!/')
expect_exit 2 "token" env NETRONTOKEN="$changed" "$NETRON" --address 10.1.0.11/24 --dry-run
flipped=$(printf '%s' "$t1" | python3 -c 'import sys; t=sys.stdin.read(); i=len(t)//2; c="A" if t[i]!="A" else "B"; print(t[:i]+c+t[i+1:], end="")')
"$NETRON" --token "$flipped" --address 10.1.0.11/24 --dry-run >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 2 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ]; then
	ok "token with one character changed -> exit 2: $(cat "$tmp/err")"
elif [ $rc -eq 0 ] && ! grep -q "$(head -2 "$tmp/dry" | tail -1 | awk '{print $2}')" "$tmp/out"; then
	ok "token with one character changed is another network (different fingerprint)"
else
	bad "token with one character changed: exit $rc"
fi
expect_exit 2 "token" "$NETRON" --token "${t1:0:$((${#t1} - 7))}" --address 10.1.0.11/24 --dry-run
sed 's/interval: [0-9]*/interval: 0/' "$tmp/net.yaml" >"$tmp/zero.yaml"
expect_exit 2 "interval" "$NETRON" --config "$tmp/zero.yaml" --address 10.1.0.11/24 --dry-run
expect_exit 2 "not both" "$NETRON" --token "$t1" --config "$tmp/net.yaml" --address 10.1.0.11/24 --dry-run
expect_exit 2 "no network" "$NETRON" --address 10.1.0.11/24 --dry-run
expect_exit 2 "no VPN address" "$NETRON" --token "$t1" --dry-run
expect_exit 2 "--mtu" "$NETRON" --token "$t1" --address 10.1.0.11/24 --mtu 99 --dry-run
expect_exit 2 "unknown option" "$NETRON" --frobnicate
expect_exit 2 "" "$NETRON" --config /nonexistent.yaml --address 10.1.0.11/24 --dry-run
expect_exit 0 "" "$NETRON" --help
grep -q -- "--dry-run" "$tmp/out" && ok "--help lists the flags" || bad "--help output lacks --dry-run"
expect_exit 0 "" "$NETRON" --version

echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
