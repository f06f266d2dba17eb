/* SPDX-License-Identifier: MIT */
/*
 * libmicrohttpd linked into the netron command (mhd_static.c). Only when built with
 * NT_MHD_STATIC; main() calls it before anything can start the API.
 */
#ifndef NT_MHD_STATIC_H
#define NT_MHD_STATIC_H

/* Makes the API take libmicrohttpd's functions from the executable: 0, or -errno. */
int nt_mhd_static_link(void);

#endif
