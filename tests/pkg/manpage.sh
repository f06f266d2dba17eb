#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netron(8) against the truth, so that it cannot rot: every flag of `netron --help` and of
# the option table of src/daemon/cli.c, every environment variable (the [NAME]s of --help,
# cli.c's table, every getenv("...") of src/) and every exit status (--help's "Exit status"
# line, the NT_EXIT_ values of src/daemon/cli.h) has its own item in docs/netron.8, and the
# page names nothing else. Then man renders it without a warning.
set -u
NETRON=${NETRON:?set NETRON to the binary}
NT_SOURCE_DIR=${NT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
page=$NT_SOURCE_DIR/docs/netron.8
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }

# same WHAT TRUTH DOCUMENTED: both files hold one name a line, sorted.
same() {
	local missing extra
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
	[ -z "$missing" ] || bad "$1 missing from docs/netron.8: $missing"
	[ -z "$extra" ] || bad "$1 in docs/netron.8 that netron does not have: $extra"
	[ -z "$missing$extra" ] && ok "$1: $(wc -l <"$2") in netron, the same in the page"
}

# The page's source as plain text: \- is a hyphen, font escapes go.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\~/ /g' "$page"; }
# The tag lines (the line after .TP, without its macro) of one section of the page.
tags() {
	plain | awk -v want="$1" '
		/^\.SH / { sub(/^\.SH +/, ""); gsub(/"/, ""); sect = $0; next }
		/^\.TP/ { tag = 1; next }
		tag { tag = 0; if (sect == want) { sub(/^\.[A-Z]+ */, ""); print } }'
}

"$NETRON" --help >"$tmp/help" || bad "netron --help failed"

# Flags.
{
	grep -oE -- '(^|[^a-z-])--[a-z][a-z0-9-]*' "$tmp/help" | grep -oE -- '--[a-z0-9-]+'
	grep -oE -- '(^|[ ,[|])-[a-zA-Z]\b' "$tmp/help" | grep -oE -- '-[a-zA-Z]'
	sed -n '/long_options\[\] = {/,/^};/p' "$NT_SOURCE_DIR/src/daemon/cli.c" |
		grep -oE '\{ "[a-z0-9-]+"' | sed 's/{ "/--/; s/"//'
	grep -oE 'getopt_long\(argc, argv, "[a-zA-Z:]+"' "$NT_SOURCE_DIR/src/daemon/cli.c" |
		sed 's/.*"\(.*\)"/\1/' | tr -d ':' | grep -oE '[a-zA-Z]' | sed 's/^/-/'
} | sort -u >"$tmp/flags.truth"
tags OPTIONS | grep -oE -- '(^|[^a-zA-Z-])--?[a-zA-Z][a-z0-9-]*' | grep -oE -- '--?[a-zA-Z][a-z0-9-]*' |
	sort -u >"$tmp/flags.page"
same "flags" "$tmp/flags.truth" "$tmp/flags.page"
# Anywhere in the page (prose, examples), a flag is one netron has, or one of the other
# commands the page shows (pkg-config --cflags --libs, systemctl enable --now).
plain | grep -v '^\.\\"' | grep -oE -- '(^|[ (\[])--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z0-9-]+' |
	sort -u >"$tmp/flags.mentioned"
printf '%s\n' --cflags --libs --now | sort - "$tmp/flags.truth" >"$tmp/flags.known"
stale=$(comm -13 "$tmp/flags.known" "$tmp/flags.mentioned" | tr '\n' ' ')
[ -z "$stale" ] && ok "every flag the page mentions exists" || bad "the page mentions flags netron does not have: $stale"

# Environment variables.
{
	grep -oE '\[[A-Z][A-Z_]+\]$' "$tmp/help" | tr -d '[]'
	sed -n '/env_table\[\] = {/,/^};/p' "$NT_SOURCE_DIR/src/daemon/cli.c" | grep -oE '"[A-Z][A-Z_]+"' | tr -d '"'
	grep -rhoE 'getenv\("[A-Z][A-Z_]+"\)' "$NT_SOURCE_DIR/src" | grep -oE '[A-Z][A-Z_]+'
} | sort -u >"$tmp/env.truth"
tags ENVIRONMENT | grep -oE '[A-Z][A-Z_]+' | sort -u >"$tmp/env.page"
same "environment variables" "$tmp/env.truth" "$tmp/env.page"

# Exit statuses.
{
	grep -i '^exit status' "$tmp/help" | grep -oE '[0-9]+'
	grep -oE 'NT_EXIT_[A-Z]+ = [0-9]+' "$NT_SOURCE_DIR/src/daemon/cli.h" | grep -oE '[0-9]+$'
} | sort -u >"$tmp/exit.truth"
tags "EXIT STATUS" | grep -oE '^[0-9]+' | sort -u >"$tmp/exit.page"
same "exit statuses" "$tmp/exit.truth" "$tmp/exit.page"
[ "$(wc -l <"$tmp/exit.truth")" -ge 3 ] || bad "found only $(wc -l <"$tmp/exit.truth") exit statuses in --help and cli.h"

# The subcommand and the renderer.
grep -q '^ *netron status' "$tmp/help" && tags COMMANDS | grep -qx 'status' &&
	ok "the status command is in --help and in COMMANDS" || bad "the status command is not documented"
LC_ALL=C MANWIDTH=80 man --warnings -l "$page" >"$tmp/rendered" 2>"$tmp/warnings"
if [ -s "$tmp/warnings" ] || ! grep -q '^EXIT STATUS' "$tmp/rendered"; then
	bad "man -l docs/netron.8: $(head -5 "$tmp/warnings")"
else
	ok "man renders the page without a warning ($(wc -l <"$tmp/rendered") lines)"
fi

echo "manpage: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
