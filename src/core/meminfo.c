// SPDX-License-Identifier: MIT
/*
 * Heap in use from mallinfo2() (glibc sums every arena, the worker threads' too: uordblks
 * for blocks from the arenas, hblkhd for those mmap'ed alone), and the resident set from
 * /proc/self/status, read on demand (an API request), never on the packet path.
 */
#include "core/meminfo.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>

uint64_t nt_meminfo_heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

void nt_meminfo_resident(uint64_t *resident, uint64_t *file)
{
	char line[128];
	unsigned long long kib;
	FILE *f = fopen("/proc/self/status", "re");

	*resident = *file = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			*resident = (uint64_t)kib * 1024;
		else if (sscanf(line, "RssFile: %llu kB", &kib) == 1)
			*file = (uint64_t)kib * 1024;
	}
	fclose(f);
}
