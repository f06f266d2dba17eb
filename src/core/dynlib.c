// SPDX-License-Identifier: MIT
/*
 * dlopen on first use (dynlib.h). RTLD_LAZY: functions of the library that we never call
 * are not resolved (most of its dependencies are linked with BIND_NOW anyway); RTLD_LOCAL:
 * its symbols do not join the global scope, where they could satisfy someone else's
 * lookups by accident. A library the program carries linked in (nt_dynlib_link) is
 * resolved from its table instead, by the same names, so a function missing from either
 * fails the same way.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/dynlib.h"
#include "core/log.h"

static pthread_mutex_t dynlib_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	const char *soname;
	const struct nt_dynlib_export *exports;
} linked[NT_DYNLIB_LINKED_MAX];

int nt_dynlib_link(const char *soname, const struct nt_dynlib_export *exports)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&dynlib_lock);
	for (unsigned int i = 0; i < NT_DYNLIB_LINKED_MAX; i++) {
		if (!linked[i].soname || !strcmp(linked[i].soname, soname)) {
			linked[i].soname = soname;
			linked[i].exports = exports;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&dynlib_lock);
	return ret;
}

/* The functions of lib from the table of a library linked in; -ENOENT when it is not. */
static int dynlib_resolve_linked(struct nt_dynlib *lib)
{
	const struct nt_dynlib_export *exports = NULL, *x;
	const struct nt_dynlib_sym *sym;

	for (unsigned int i = 0; i < NT_DYNLIB_LINKED_MAX && linked[i].soname; i++)
		if (!strcmp(linked[i].soname, lib->soname))
			exports = linked[i].exports;
	if (!exports)
		return -ENOENT;
	for (sym = lib->syms; sym->name; sym++) {
		for (x = exports; x->name && strcmp(x->name, sym->name); x++)
			;
		if (!x->addr) {
			snprintf(lib->error, sizeof(lib->error), "%s (linked in): no %s", lib->soname, sym->name);
			return -ELIBACC;
		}
		*sym->slot = x->addr;
	}
	return 0;
}

static int dynlib_open(struct nt_dynlib *lib)
{
	const struct nt_dynlib_sym *sym;
	const char *why;
	int ret = dynlib_resolve_linked(lib);

	if (ret != -ENOENT)
		return ret;
	lib->handle = dlopen(lib->soname, RTLD_LAZY | RTLD_LOCAL);
	if (!lib->handle) {
		why = dlerror();
		snprintf(lib->error, sizeof(lib->error), "%s", why ? why : lib->soname);
		return -ELIBACC;
	}
	for (sym = lib->syms; sym->name; sym++) {
		dlerror();
		*sym->slot = dlsym(lib->handle, sym->name);
		if (!*sym->slot) {
			why = dlerror();
			snprintf(lib->error, sizeof(lib->error), "%s: %s", lib->soname,
				 why ? why : sym->name);
			return -ELIBACC;
		}
	}
	return 0;
}

int nt_dynlib_load(struct nt_dynlib *lib)
{
	int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

	if (state)
		return state > 0 ? 0 : -ELIBACC;
	pthread_mutex_lock(&dynlib_lock);
	if (!lib->state) {
		if (dynlib_open(lib) == 0) {
			__atomic_store_n(&lib->state, 1, __ATOMIC_RELEASE);
		} else {
			/* A half-resolved table is never used: state stays "failed" for good. */
			log_warnx("%s needs %s, which cannot be loaded: %s", lib->purpose, lib->soname, lib->error);
			__atomic_store_n(&lib->state, -1, __ATOMIC_RELEASE);
		}
	}
	state = lib->state;
	pthread_mutex_unlock(&dynlib_lock);
	return state > 0 ? 0 : -ELIBACC;
}

bool nt_dynlib_loaded(const struct nt_dynlib *lib)
{
	return __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) > 0;
}
