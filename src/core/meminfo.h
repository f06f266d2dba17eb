/* SPDX-License-Identifier: MIT */
/*
 * What the process holds, for netron_memory_bytes: the bytes malloc has handed out and not
 * had back (glibc's mallinfo2, every arena), and the resident set with its file-backed
 * part (/proc/self/status). The modules report their own allocations; the daemon subtracts
 * them from the heap figure so the kinds do not overlap.
 */
#ifndef NT_MEMINFO_H
#define NT_MEMINFO_H

#include <stdint.h>

/* Bytes allocated by malloc and in use (0 where the allocator does not say, e.g. ASan). */
uint64_t nt_meminfo_heap(void);
/* VmRSS and RssFile in bytes; 0 each when unknown. */
void nt_meminfo_resident(uint64_t *resident, uint64_t *file);

#endif
