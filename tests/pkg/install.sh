#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `cmake --install` into a throw-away prefix, used the way a user and an embedder would:
# every file where cmake/install.cmake says (the daemon in sbin, netron(8), the unit naming
# the installed binary, the library with its soname and only the public API exported, the
# headers, netron.pc), the installed netron runs, and examples/embed.c, copied away from the
# tree, builds against the installed copy with nothing but
# `pkg-config --cflags --libs netron`, shared and static, and runs (it prints its usage and
# exits 2: a node needs CAP_NET_ADMIN and a TUN device, which a test outside a namespace
# must not create).
set -u
NT_BUILD_DIR=${NT_BUILD_DIR:?set NT_BUILD_DIR to the build directory}
NT_SOURCE_DIR=${NT_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
CC=${CC:-cc}
read -r -a san_flags <<<"${NT_TEST_CFLAGS:-}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
	echo "install: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

prefix=$tmp/prefix
if cmake --install "$NT_BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	ok "cmake --install --prefix <tmp> ($(grep -c 'Installing' "$tmp/install.log") files)"
else
	bad "cmake --install failed: $(tail -5 "$tmp/install.log")"
	finish
fi

pc=$(find "$prefix" -name netron.pc)
libdir=$(dirname "$(dirname "$pc")")
[ -n "$pc" ] && ok "netron.pc in ${pc#"$prefix"/}" || { bad "no netron.pc installed"; finish; }
for f in sbin/netron share/man/man8/netron.8.gz lib/systemd/system/netron.service \
	"${libdir#"$prefix"/}/libnetron.so" "${libdir#"$prefix"/}/libnetron.a"; do
	[ -e "$prefix/$f" ] || bad "$f is not installed"
done
[ -x "$prefix/sbin/netron" ] && ok "sbin/netron, the man page, the unit, libnetron.so and .a are installed" ||
	bad "sbin/netron is not executable"
for h in "$NT_SOURCE_DIR"/include/netron/*.h; do
	cmp -s "$h" "$prefix/include/netron/$(basename "$h")" || bad "include/netron/$(basename "$h") not installed as in the tree"
done
ok "the $(ls "$NT_SOURCE_DIR"/include/netron/*.h | wc -l) public headers are in include/netron"

want=$("$NT_BUILD_DIR/netron" --version)
got=$("$prefix/sbin/netron" --version 2>&1) && [ "$got" = "$want" ] &&
	ok "the installed binary runs: $got" || bad "installed netron --version: '$got', want '$want'"
grep -qx "ExecStart=$prefix/sbin/netron" "$prefix/lib/systemd/system/netron.service" &&
	ok "the unit starts the installed binary" ||
	bad "netron.service: $(grep ExecStart "$prefix/lib/systemd/system/netron.service")"
grep -q '@NT_' "$prefix/lib/systemd/system/netron.service" "$pc" && bad "a @NT_...@ placeholder was left in the unit or netron.pc"
LC_ALL=C MANWIDTH=80 man -l "$prefix/share/man/man8/netron.8.gz" 2>&1 | grep -q '^NAME' &&
	ok "man -l renders the installed page" || bad "man -l cannot render the installed page"

# The shared library: its soname is the name of the symlink the loader looks for, and it
# exports the functions of the public headers and nothing else.
so=$(readelf -d "$libdir/libnetron.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ -n "$so" ] && [ -L "$libdir/$so" ] && [ "$so" != libnetron.so ]; then
	ok "soname $so, a symlink to $(readlink "$libdir/$so")"
else
	bad "soname '$so' of libnetron.so is missing or has no symlink"
fi
nm -D --defined-only "$libdir/libnetron.so" | awk '$3 ~ /^nt_/ { sub(/@.*/, "", $3); print $3 }' |
	sort >"$tmp/exported"
if diff -u "$NT_BUILD_DIR/libnetron.symbols" "$tmp/exported" >"$tmp/symdiff"; then
	ok "libnetron.so exports the $(wc -l <"$tmp/exported") functions of include/netron/ and no other nt_ symbol"
else
	bad "exported symbols differ from the public headers: $(grep '^[-+]nt' "$tmp/symdiff" | tr '\n' ' ')"
fi

# An embedder's build: the example, away from the source tree.
export PKG_CONFIG_PATH=$libdir/pkgconfig
cp "$NT_SOURCE_DIR/examples/embed.c" "$tmp/embed.c"
pcflags=$(pkg-config --cflags --libs netron) && ok "pkg-config --cflags --libs netron: $pcflags" ||
	bad "pkg-config cannot read netron.pc"
[ "$(pkg-config --variable=prefix netron)" = "$prefix" ] || bad "netron.pc's prefix is $(pkg-config --variable=prefix netron), not $prefix"
# shellcheck disable=SC2086 # pkg-config output is a list of words
if "$CC" "${san_flags[@]}" -o "$tmp/embed" "$tmp/embed.c" $pcflags 2>"$tmp/cc.log"; then
	ok "examples/embed.c builds with the installed copy and pkg-config alone"
else
	bad "cc embed.c \$(pkg-config --cflags --libs netron) failed: $(head -5 "$tmp/cc.log")"
fi
if [ -x "$tmp/embed" ]; then
	readelf -d "$tmp/embed" | grep -q "NEEDED.*\[$so\]" && ok "embed needs $so" ||
		bad "embed does not record $so as NEEDED"
	ldd_line=$(LD_LIBRARY_PATH=$libdir ldd "$tmp/embed" | grep libnetron)
	case $ldd_line in *"$libdir/"*) ok "the loader finds it in the prefix" ;; *) bad "ldd: $ldd_line" ;; esac
	LD_LIBRARY_PATH=$libdir "$tmp/embed" >"$tmp/run.out" 2>&1
	rc=$?
	[ $rc -eq 2 ] && grep -q '^usage: NETRONTOKEN=' "$tmp/run.out" &&
		ok "embed runs against the installed library (usage, exit 2)" ||
		bad "embed exited $rc: $(head -3 "$tmp/run.out")"
fi

# Static: libnetron.a and netron.pc's Libs.private.
static_libs=()
for w in $(pkg-config --static --libs netron); do
	[ "$w" = -lnetron ] || static_libs+=("$w")
done
# shellcheck disable=SC2046 # pkg-config output is a list of words
if "$CC" "${san_flags[@]}" -o "$tmp/embed-static" "$tmp/embed.c" $(pkg-config --cflags netron) \
	"$libdir/libnetron.a" "${static_libs[@]}" 2>"$tmp/cc-static.log"; then
	! readelf -d "$tmp/embed-static" | grep -q 'NEEDED.*libnetron' &&
		ok "embed links libnetron.a with pkg-config --static's Libs.private" ||
		bad "the static embed still needs libnetron.so"
	"$tmp/embed-static" >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] && ok "the static embed runs (exit 2)" || bad "the static embed exited $rc"
else
	bad "static link of embed failed: $(head -5 "$tmp/cc-static.log")"
fi
finish
