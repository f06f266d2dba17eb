# SPDX-License-Identifier: MIT
# Debian arm64 (aarch64-linux-gnu), run under qemu-aarch64-static: see debian-cross.cmake.
set(NT_CROSS_ARCH arm64)
set(NT_CROSS_TRIPLET aarch64-linux-gnu)
set(NT_CROSS_QEMU qemu-aarch64-static)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
