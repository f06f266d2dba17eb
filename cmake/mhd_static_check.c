// SPDX-License-Identifier: MIT
/* CMake's check (NT_MHD_STATIC): every function the API calls links from libmicrohttpd.a with notls.c. */
#include "api/mhd_funcs.h"

#define MHD_ADDR(f) (void *)f,

int main(void)
{
	void *volatile fns[] = { MHD_FUNCS(MHD_ADDR) };

	return fns[0] == 0;
}
