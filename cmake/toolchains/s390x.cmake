# SPDX-License-Identifier: MIT
# Debian s390x (s390x-linux-gnu), run under qemu-s390x-static: see debian-cross.cmake.
set(NT_CROSS_ARCH s390x)
set(NT_CROSS_TRIPLET s390x-linux-gnu)
set(NT_CROSS_QEMU qemu-s390x-static)
set(CMAKE_SYSTEM_PROCESSOR s390x)
include(${CMAKE_CURRENT_LIST_DIR}/debian-cross.cmake)
