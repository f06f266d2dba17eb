#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The Debian package (cmake/package.cmake), built by CPack from this build and checked in a
# throw-away root: its Depends name the runtime packages of every library netron links or
# opens (libsodium, libevent, libmicrohttpd, libyaml, jansson, libb64, libnice), each known
# to dpkg here; its files are where Debian puts them and nowhere else; the unit and
# netron.pc name /usr; a shlibs file and ldconfig triggers come with the library; and the
# binary extracted with dpkg-deb -x runs, as `man -l` renders its page.
set -u
NT_BUILD_DIR=${NT_BUILD_DIR:?set NT_BUILD_DIR to the build directory}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
finish() {
	echo "deb: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
for tool in cpack dpkg-deb dpkg-shlibdeps file man; do
	command -v "$tool" >/dev/null || { echo "deb: SKIP: $tool is missing (scripts/setup installs it)"; exit 77; }
done

if cpack --config "$NT_BUILD_DIR/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1; then
	deb=$(ls "$tmp"/out/netron_*.deb 2>/dev/null)
	[ "$(echo "$deb" | wc -w)" -eq 1 ] && ok "cpack -G DEB made $(basename "$deb")" ||
		{ bad "cpack made '$deb', not one netron_*.deb"; finish; }
else
	bad "cpack failed: $(tail -20 "$tmp/cpack.log")"
	finish
fi
grep -i 'warning' "$tmp/cpack.log" && bad "cpack warned"

arch=$(dpkg --print-architecture)
[ "$(dpkg-deb -f "$deb" Package)" = netron ] && [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] &&
	ok "package netron, version $(dpkg-deb -f "$deb" Version), $arch" || bad "control: $(dpkg-deb -f "$deb")"
long=$(dpkg-deb -f "$deb" Description | awk 'length > 80' | head -1)
[ -z "$long" ] || bad "a Description line is longer than 80 characters: $long"

# Depends: one runtime package per library, and each a package dpkg knows here.
depends=$(dpkg-deb -f "$deb" Depends)
echo "     Depends: $depends"
for want in 'libsodium[0-9]+' 'libevent-core-[0-9.]+-[0-9]+' 'libevent-pthreads-[0-9.]+-[0-9]+' \
	'libmicrohttpd[0-9]+' 'libyaml-0-[0-9]+' 'libjansson[0-9]+' 'libb64-[0-9a-z]+' \
	'libnice[0-9]+' 'libc6'; do
	echo "$depends" | grep -qE "(^|, )$want( |,|$)" || bad "Depends names no $want"
done
for p in $(echo "$depends" | tr ',|' '\n\n' | awk '{ print $1 }'); do
	dpkg-query -W "$p" >/dev/null 2>&1 || bad "Depends names $p, which dpkg does not know here"
done
[ "$failed" -eq 0 ] && ok "Depends names the runtime package of every library, all installed here"

# Files: where Debian puts them, nothing under /usr/local, nothing from the build tree.
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's#^\./#/#' >"$tmp/files"
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
for f in /usr/sbin/netron /usr/share/man/man8/netron.8.gz /usr/lib/systemd/system/netron.service \
	"/usr/lib/$ma/libnetron.so" "/usr/lib/$ma/libnetron.a" "/usr/lib/$ma/pkgconfig/netron.pc" \
	/usr/include/netron/netron.h; do
	grep -qx "$f" "$tmp/files" || bad "$f is not in the package"
done
grep -qE "^/usr/lib/$ma/libnetron\.so\.[0-9.]+$" "$tmp/files" || bad "no versioned libnetron.so.* in the package"
strays=$(grep -vE '^/usr/(sbin|share/man|lib|include)(/|$)|^/$|^/usr/$|^/usr/share/$' "$tmp/files" | tr '\n' ' ')
[ -z "$strays" ] || bad "files outside sbin, share/man, lib and include: $strays"
[ "$failed" -eq 0 ] && ok "$(wc -l <"$tmp/files") entries, all where Debian puts them"

# Control files: a shlibs entry for libnetron, and ldconfig run after install and removal.
dpkg-deb -e "$deb" "$tmp/control"
grep -qE '^libnetron [0-9.]+ netron \(>= ' "$tmp/control/shlibs" 2>/dev/null &&
	ok "shlibs: $(cat "$tmp/control/shlibs")" || bad "no shlibs entry for libnetron"
grep -q ldconfig "$tmp/control/postinst" 2>/dev/null && grep -q ldconfig "$tmp/control/postrm" 2>/dev/null &&
	ok "postinst and postrm run ldconfig" || bad "no ldconfig in postinst/postrm"
grep -qE 'systemctl|deb-systemd' "$tmp/control"/* && bad "a maintainer script starts or enables the service"

# The throw-away root.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
want=$("$NT_BUILD_DIR/netron" --version)
got=$(LD_LIBRARY_PATH=$root/usr/lib/$ma "$root/usr/sbin/netron" --version 2>&1) && [ "$got" = "$want" ] &&
	ok "the extracted binary runs: $got" || bad "extracted netron --version: '$got', want '$want'"
file -L "$root/usr/sbin/netron" "$root/usr/lib/$ma/libnetron.so" | grep -q 'not stripped' &&
	bad "the package's binary or library is not stripped"
grep -qx 'ExecStart=/usr/sbin/netron' "$root/usr/lib/systemd/system/netron.service" &&
	ok "the unit starts /usr/sbin/netron" || bad "netron.service: $(grep ExecStart "$root/usr/lib/systemd/system/netron.service")"
grep -qx 'prefix=/usr' "$root/usr/lib/$ma/pkgconfig/netron.pc" && ok "netron.pc: prefix=/usr" ||
	bad "netron.pc: $(grep prefix= "$root/usr/lib/$ma/pkgconfig/netron.pc")"
LC_ALL=C MANWIDTH=80 man -l "$root/usr/share/man/man8/netron.8.gz" >"$tmp/man.txt" 2>&1
grep -q '^NAME' "$tmp/man.txt" && grep -q -- '--token' "$tmp/man.txt" &&
	ok "man -l renders the packaged page ($(wc -l <"$tmp/man.txt") lines)" ||
	bad "man -l: $(head -3 "$tmp/man.txt")"
finish
