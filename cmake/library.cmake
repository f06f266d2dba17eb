# SPDX-License-Identifier: MIT
# The embeddable library as a shared object, libnetron.so.<soversion>: the objects of ntcore,
# of which only the functions declared in include/netron/*.h are exported (a version script
# made from the headers at configure time), so that the hundreds of internal nt_* functions
# are not an ABI and cannot clash with a host program's symbols.
#
# Before 1.0 a minor version may change struct nt_options, which callers allocate, so the
# soname carries major.minor (libnetron.so.0.1); from 1.0 on it carries the major alone.

if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(NT_SOVERSION "${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}")
else()
  set(NT_SOVERSION "${PROJECT_VERSION_MAJOR}")
endif()

# Every "type nt_name(" at the start of a line of a public header is the API.
file(GLOB NT_PUBLIC_HEADERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/netron/*.h)
set(NT_PUBLIC_SYMBOLS "")
foreach(h ${NT_PUBLIC_HEADERS})
  file(STRINGS ${h} decls REGEX "^[a-z].*[ *](nt_[a-z0-9_]+)\\(")
  foreach(d ${decls})
    if(d MATCHES "^typedef")
      continue()
    endif()
    string(REGEX MATCH "[ *](nt_[a-z0-9_]+)\\(" m "${d}")
    list(APPEND NT_PUBLIC_SYMBOLS ${CMAKE_MATCH_1})
  endforeach()
endforeach()
list(REMOVE_DUPLICATES NT_PUBLIC_SYMBOLS)
list(SORT NT_PUBLIC_SYMBOLS)
list(JOIN NT_PUBLIC_SYMBOLS ";\n\t\t" nt_global)
set(NT_VERSION_SCRIPT ${CMAKE_BINARY_DIR}/libnetron.map)
file(CONFIGURE OUTPUT ${NT_VERSION_SCRIPT} CONTENT
  "/* Generated from include/netron/*.h by cmake/library.cmake. */\nNETRON_${NT_SOVERSION} {\n\tglobal:\n\t\t${nt_global};\n\tlocal:\n\t\t*;\n};\n")
list(JOIN NT_PUBLIC_SYMBOLS "\n" nt_symbols_txt)
file(CONFIGURE OUTPUT ${CMAKE_BINARY_DIR}/libnetron.symbols CONTENT "${nt_symbols_txt}\n")

add_library(netron_shared SHARED)
target_link_libraries(netron_shared PRIVATE ntcore)
target_include_directories(netron_shared PUBLIC ${CMAKE_SOURCE_DIR}/include)
set_target_properties(netron_shared PROPERTIES OUTPUT_NAME netron VERSION ${PROJECT_VERSION}
  SOVERSION ${NT_SOVERSION} LINK_DEPENDS ${NT_VERSION_SCRIPT})
target_link_options(netron_shared PRIVATE -Wl,--version-script=${NT_VERSION_SCRIPT})
# Every library the objects use must be recorded in the .so (DT_NEEDED), or a program that
# links -lnetron alone fails at run time. The sanitizer runtimes are the executable's, so
# their symbols are left undefined in a sanitized build.
if(NOT NT_SAN_FLAGS)
  target_link_options(netron_shared PRIVATE -Wl,--no-undefined)
endif()
