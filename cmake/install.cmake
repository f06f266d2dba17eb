# SPDX-License-Identifier: MIT
# What `cmake --install` puts where (and so what the Debian package holds):
#   sbin/netron                         the daemon: it runs as root, or with CAP_NET_ADMIN
#                                       from systemd, as Debian puts daemons (tincd,
#                                       openvpn); its page is in section 8 for the same reason
#   share/man/man8/netron.8.gz          from docs/netron.8 (troff), compressed as Debian's
#                                       policy asks
#   lib/systemd/system/netron.service   packaging/netron.service.in, not enabled
#   lib/<multiarch>/libnetron.so.*, .a  the embeddable library (cmake/library.cmake)
#   lib/<multiarch>/pkgconfig/netron.pc
#   include/netron/*.h
# The unit and netron.pc name installed paths, which are only known when installing
# (`cmake --install --prefix`, CPack's staging): they are written by install(CODE).

# On Debian and its derivatives a library goes in the multiarch directory under any prefix:
# /usr/local/lib/<triplet> is in ld.so's and pkg-config's default search paths there.
if(NOT DEFINED CMAKE_INSTALL_LIBDIR AND CMAKE_LIBRARY_ARCHITECTURE AND EXISTS "/etc/debian_version")
  set(CMAKE_INSTALL_LIBDIR "lib/${CMAKE_LIBRARY_ARCHITECTURE}" CACHE PATH
    "Object code libraries (lib/<multiarch> on Debian)")
endif()
include(GNUInstallDirs)
set(NT_SYSTEMD_UNITDIR "lib/systemd/system" CACHE PATH
  "systemd system units, relative to the prefix (or absolute)")

install(TARGETS netron RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS netron_shared netron_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/netron DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")

# The man page: troff in the tree, gzip -n so that the package is reproducible.
find_program(NT_GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/netron.8.gz
  COMMAND ${NT_GZIP} -9 -n -c ${CMAKE_SOURCE_DIR}/docs/netron.8 > ${CMAKE_BINARY_DIR}/netron.8.gz
  DEPENDS ${CMAKE_SOURCE_DIR}/docs/netron.8 VERBATIM)
add_custom_target(manpage ALL DEPENDS ${CMAKE_BINARY_DIR}/netron.8.gz)
install(FILES ${CMAKE_BINARY_DIR}/netron.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# netron.pc: the libraries a static link needs, as -l flags (no Requires.private, so that
# `pkg-config --cflags --libs netron` works where only the runtime libraries are installed:
# the public headers include no header of theirs).
set(nt_libs_private "")
foreach(l ${SODIUM_LIBRARIES} ${EVENT_LIBRARIES} ${YAML_LIBRARIES} ${JANSSON_LIBRARIES} b64)
  list(APPEND nt_libs_private "-l${l}")
endforeach()
if(EVENT_PTHREADS_LIBRARY)
  list(APPEND nt_libs_private -levent_pthreads)
endif()
foreach(l ${CMAKE_DL_LIBS})
  list(APPEND nt_libs_private "-l${l}")
endforeach()
list(APPEND nt_libs_private -pthread)
list(REMOVE_DUPLICATES nt_libs_private)
list(JOIN nt_libs_private " " NT_PC_LIBS_PRIVATE)
set(NT_PREFIX "@NT_PREFIX@")
configure_file(${CMAKE_SOURCE_DIR}/packaging/netron.pc.in ${CMAKE_BINARY_DIR}/netron.pc.in @ONLY)

# nt_install_template(<template> <destination dir> <file name>): installs the template with
# @NT_PREFIX@ and @NT_SBINDIR@ replaced by the paths of this installation.
function(nt_install_template template dest name)
  if(IS_ABSOLUTE "${dest}")
    set(dir "\$ENV{DESTDIR}${dest}")
  else()
    set(dir "\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${dest}")
  endif()
  if(IS_ABSOLUTE "${CMAKE_INSTALL_SBINDIR}")
    set(sbin "${CMAKE_INSTALL_SBINDIR}")
  else()
    set(sbin "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}")
  endif()
  install(CODE "
    file(READ \"${template}\" nt_text)
    string(REPLACE \"@NT_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" nt_text \"\${nt_text}\")
    string(REPLACE \"@NT_SBINDIR@\" \"${sbin}\" nt_text \"\${nt_text}\")
    message(STATUS \"Installing: ${dir}/${name}\")
    file(MAKE_DIRECTORY \"${dir}\")
    file(WRITE \"${dir}/${name}\" \"\${nt_text}\")
    list(APPEND CMAKE_INSTALL_MANIFEST_FILES \"${dir}/${name}\")
  ")
endfunction()
nt_install_template(${CMAKE_SOURCE_DIR}/packaging/netron.service.in ${NT_SYSTEMD_UNITDIR}
  netron.service)
nt_install_template(${CMAKE_BINARY_DIR}/netron.pc.in ${CMAKE_INSTALL_LIBDIR}/pkgconfig netron.pc)
