/* SPDX-License-Identifier: MIT */
/*
 * Every libmicrohttpd function the API calls (api.c), as one X-macro list: api.c resolves
 * them together when the API starts (dynlib.h), and an executable that links
 * libmicrohttpd.a in hands the same list over by address (src/daemon/mhd_static.c), so
 * the two cannot drift apart.
 */
#ifndef NT_MHD_FUNCS_H
#define NT_MHD_FUNCS_H

#include <microhttpd.h>

#define NT_MHD_SONAME "libmicrohttpd.so.12"

#define MHD_FUNCS(X)                                                                               \
	X(MHD_start_daemon)                                                                        \
	X(MHD_stop_daemon)                                                                         \
	X(MHD_run)                                                                                 \
	X(MHD_get_timeout)                                                                         \
	X(MHD_get_daemon_info)                                                                     \
	X(MHD_lookup_connection_value)                                                             \
	X(MHD_create_response_from_buffer)                                                         \
	X(MHD_add_response_header)                                                                 \
	X(MHD_queue_response)                                                                      \
	X(MHD_destroy_response)

#endif
