# SPDX-License-Identifier: MIT
# Debian armhf (arm-linux-gnueabihf), run under qemu-arm-static: see debian-cross.cmake.
set(NT_CROSS_ARCH armhf)
set(NT_CROSS_TRIPLET arm-linux-gnueabihf)
set(NT_CROSS_QEMU qemu-arm-static)
set(CMAKE_SYSTEM_PROCESSOR arm)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
