# SPDX-License-Identifier: MIT
# Cross-building Netron for another Debian architecture with Debian's cross compilers
# (gcc-<triplet>) and a sysroot made by scripts/setup-cross: libc and Netron's libraries,
# unpacked from that architecture's .debs. Included by the per-architecture files beside
# it, which set NT_CROSS_ARCH, NT_CROSS_TRIPLET and CMAKE_SYSTEM_PROCESSOR.
#   cmake -B build-cross-s390x --toolchain cmake/toolchains/s390x.cmake
# NT_CROSS_ROOT (environment or cache) is where the sysroots are, /opt/netron-cross by default.

set(CMAKE_SYSTEM_NAME Linux)

if(NOT NT_CROSS_ROOT)
  if(DEFINED ENV{NT_CROSS_ROOT})
    set(NT_CROSS_ROOT $ENV{NT_CROSS_ROOT})
  else()
    set(NT_CROSS_ROOT /opt/netron-cross)
  endif()
endif()
set(NT_CROSS_ROOT ${NT_CROSS_ROOT} CACHE PATH "Where scripts/setup-cross put the sysroots")
set(NT_CROSS_SYSROOT ${NT_CROSS_ROOT}/${NT_CROSS_ARCH})
if(NOT EXISTS ${NT_CROSS_SYSROOT}/.complete)
  message(FATAL_ERROR "no ${NT_CROSS_ARCH} sysroot in ${NT_CROSS_SYSROOT}: run scripts/setup-cross ${NT_CROSS_ARCH}")
endif()

set(CMAKE_C_COMPILER ${NT_CROSS_TRIPLET}-gcc)
set(CMAKE_SYSROOT ${NT_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${NT_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${NT_CROSS_TRIPLET})

# pkg-config reads the sysroot's .pc files only, and prefixes their paths with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} ${NT_CROSS_SYSROOT})
set(ENV{PKG_CONFIG_LIBDIR}
  ${NT_CROSS_SYSROOT}/usr/lib/${NT_CROSS_TRIPLET}/pkgconfig:${NT_CROSS_SYSROOT}/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# Tests (ctest) run the target's programs through qemu-user with the same sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR ${NT_CROSS_QEMU} -L ${NT_CROSS_SYSROOT})
