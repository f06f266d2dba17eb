# SPDX-License-Identifier: MIT
# Debian armhf (arm-linux-gnueabihf), run under qemu-arm-static: see debian-cross.cmake.
set(NT_CROSS_ARCH armhf)
set(NT_CROSS_TRIPLET arm-linux-gnueabihf)
set(NT_CROSS_QEMU qemu-arm-static)
set(CMAKE_SYSTEM_PROCESSOR arm)
# A 64-bit off_t, as on every 64-bit CPU: without it readdir() fails with EOVERFLOW where the
# file system gives 64-bit directory offsets (ext4 and overlayfs under a 64-bit kernel, as
# with qemu-user on x86-64), and the fuzz corpus replays found no input. Not _TIME_BITS=64:
# Debian 12's armhf libraries take a 32-bit time_t (libevent's struct timeval), so Netron
# keeps their ABI and, like them, its own clock ends in 2038 on this architecture.
set(CMAKE_C_FLAGS_INIT "-D_FILE_OFFSET_BITS=64")
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
