// SPDX-License-Identifier: MIT
/*
 * The netron command carries libmicrohttpd linked in (Debian's libmicrohttpd.a) instead
 * of opening libmicrohttpd.so.12 when --api starts. The shared library depends on GnuTLS,
 * and with it p11-kit, nettle, hogweed, gmp, libtasn1, libidn2, libunistring and libffi:
 * opening it maps and relocates about 2.9 MiB that a member serving a plain-HTTP API on
 * loopback never uses (docs/bench.md, "Memory"). The archive's TLS code is kept from
 * pulling GnuTLS in by the stand-ins of notls.c.
 *
 * Built only into the executable, and only when CMake found the archive (NT_MHD_STATIC);
 * libnetron and everything else that embeds the API keeps opening the shared library.
 */
#include "api/mhd_funcs.h"
#include "core/dynlib.h"
#include "daemon/mhd_static.h"

#define MHD_EXPORT(f) { #f, (void *)f },
static const struct nt_dynlib_export mhd_exports[] = { MHD_FUNCS(MHD_EXPORT){ NULL, NULL } };

int nt_mhd_static_link(void)
{
	return nt_dynlib_link(NT_MHD_SONAME, mhd_exports);
}
