# SPDX-License-Identifier: MIT
# The Debian package, made by CPack from what cmake/install.cmake installs:
#   cpack --config build/CPackConfig.cmake -B <dir>     ->  <dir>/netron_<version>_<arch>.deb
# CPack rather than a debian/ directory: it needs cmake, dpkg-dev and file, all of which
# building and testing already install, where dpkg-buildpackage would add debhelper and a
# second description of what goes where (debian/*.install) that could drift from
# cmake/install.cmake. One package holds the daemon, the library and its headers.
#
# Depends: dpkg-shlibdeps finds what the binary and libnetron.so link; libmicrohttpd and
# libnice are opened with dlopen (src/core/dynlib.h), which it cannot see, so the package
# that ships each soname named in a `.soname = "..."` or a `#define NT_..._SONAME "..."` of
# src/ is added here. (The netron command carries libmicrohttpd linked in when it can,
# src/daemon/mhd_static.c; libnetron.so still opens it.)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME netron)
set(CPACK_PACKAGE_VENDOR "Netron")
set(CPACK_PACKAGE_CONTACT "Netron developers <netron@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "decentralized peer-to-peer VPN")
# Lines of at most 80 characters, as Debian's policy asks of a Description.
set(CPACK_PACKAGE_DESCRIPTION "One token is the whole network: machines that hold it find each other\n\
(mDNS, the BitTorrent Mainline DHT, peer exchange) with no server of their\n\
own, agree on who holds which VPN address through a signed ledger, and\n\
carry the traffic of a TUN interface over Noise-encrypted UDP, through NATs.\n\
Includes the embeddable library with its headers and pkg-config file, and\n\
a systemd unit (not enabled).")
# Install with DESTDIR and the real prefix, so that the paths written into netron.service
# and netron.pc are /usr's and not the staging directory's. With CPACK_SET_DESTDIR, CPack
# installs to CPACK_INSTALL_PREFIX.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)

# 0.1.0+git<commits>.<hash>: ordered by commit count between two releases.
execute_process(COMMAND git rev-list --count HEAD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE nt_git_count OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
  OUTPUT_VARIABLE nt_git_hash OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
if(nt_git_count AND nt_git_hash)
  set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}+git${nt_git_count}.${nt_git_hash}")
endif()
set(CPACK_DEBIAN_PACKAGE_VERSION ${CPACK_PACKAGE_VERSION})

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# CPack asks dpkg for the architecture, which is the build machine's: a cross build names
# the target's from its multiarch triplet.
if(CMAKE_CROSSCOMPILING AND CMAKE_LIBRARY_ARCHITECTURE)
  execute_process(COMMAND dpkg-architecture -t ${CMAKE_LIBRARY_ARCHITECTURE} -qDEB_HOST_ARCH
    OUTPUT_VARIABLE nt_deb_arch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(nt_deb_arch)
    set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${nt_deb_arch})
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A shlibs file for libnetron.so, so that a package built against it depends on this one.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# The dlopen'ed libraries: soname -> installed package (dpkg -S), at least the version
# built against.
file(GLOB_RECURSE nt_c_sources ${CMAKE_SOURCE_DIR}/src/*.c ${CMAKE_SOURCE_DIR}/src/*.h)
set(nt_dlopen_depends "")
find_program(NT_DPKG_QUERY dpkg-query)
foreach(src ${nt_c_sources})
  file(STRINGS ${src} lines REGEX "(\\.soname = |#define NT_[A-Z]+_SONAME )\"[^\"]+\"")
  foreach(line ${lines})
    string(REGEX MATCH "\"([^\"]+)\"" m "${line}")
    set(soname ${CMAKE_MATCH_1})
    if(NOT NT_DPKG_QUERY)
      break()
    endif()
    execute_process(COMMAND ${NT_DPKG_QUERY} -S "*/${soname}" OUTPUT_VARIABLE out
      RESULT_VARIABLE rc ERROR_QUIET)
    string(REGEX MATCH "^[a-z0-9][a-z0-9+.-]+" pkg "${out}")
    if(NOT rc EQUAL 0 OR NOT pkg)
      message(WARNING "${soname} (dlopen'ed by ${src}) belongs to no installed package: "
        "the .deb will not depend on it")
      continue()
    endif()
    # One line per installed architecture of it (multiarch): the first is enough.
    execute_process(COMMAND ${NT_DPKG_QUERY} -W -f=\${Version}\n ${pkg} OUTPUT_VARIABLE ver
      ERROR_QUIET)
    string(REGEX MATCH "^[^\n]*" ver "${ver}")
    string(REGEX REPLACE "^[0-9]+:" "" ver "${ver}")
    string(REGEX REPLACE "-[^-]*$" "" ver "${ver}")
    if(ver)
      list(APPEND nt_dlopen_depends "${pkg} (>= ${ver})")
    else()
      list(APPEND nt_dlopen_depends "${pkg}")
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES nt_dlopen_depends)
list(JOIN nt_dlopen_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)

include(CPack)
