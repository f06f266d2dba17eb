/* SPDX-License-Identifier: MIT */
/*
 * Libraries opened on first use (dlopen) instead of at exec time. A shared library listed
 * in the executable is mapped, relocated and initialised, with everything it depends on,
 * before main() runs, whether the node ever calls it or not; libmicrohttpd brings GnuTLS
 * and its crypto stack, libnice brings GLib, GIO, gupnp-igd, libsoup and ICU. Opened here,
 * they cost nothing until the feature that needs them starts (docs/bench.md, "Memory").
 *
 * A library is described once, statically, by its soname and a table of the functions
 * taken from it; each function is then called through a pointer of the type its own
 * header declares (__typeof__), so the compiler still checks every call:
 *
 *	#define FOO_FUNCS(X) X(foo_open) X(foo_close)
 *	static struct { FOO_FUNCS(NT_DYNLIB_POINTER) } foo;
 *	#define FOO_SYM(f) { #f, (void **)&foo.f },
 *	static const struct nt_dynlib_sym foo_syms[] = { FOO_FUNCS(FOO_SYM) { NULL, NULL } };
 *	static struct nt_dynlib libfoo = { "libfoo.so.1", "the foo feature", foo_syms };
 *	...
 *	if (nt_dynlib_load(&libfoo) < 0) return -ELIBACC;  (libfoo.error says why)
 *	foo.foo_open(...);
 *
 * Loading is attempted once per process and its outcome kept: a library that is missing
 * (or lacks one of the functions) is reported once with log_warnx and never retried, so a
 * packet path may call nt_dynlib_load every time. Libraries are never closed: GLib cannot
 * be unloaded, and a pointer taken once stays valid for the life of the process. Safe to
 * call from several threads (embedded daemons).
 */
#ifndef NT_DYNLIB_H
#define NT_DYNLIB_H

#include <stdbool.h>

/* One function to resolve: its name and where to store its address. */
struct nt_dynlib_sym {
	const char *name;
	void **slot;
};

/* A struct member named like the function, of its declared type (see the example above). */
#define NT_DYNLIB_POINTER(f) __typeof__(f) *f;

struct nt_dynlib {
	const char *soname; /* what dlopen is given, e.g. "libnice.so.10" (the ABI the headers describe) */
	const char *purpose; /* for the one error line: "STUN", "the HTTP API" */
	const struct nt_dynlib_sym *syms; /* ends with a { NULL, NULL } entry */
	/* Filled in by nt_dynlib_load. */
	void *handle;
	int state; /* 0 not tried, 1 loaded, -1 failed */
	char error[200]; /* why it failed, for the caller's own message */
};

/* A function a program carries linked in, by name (see nt_dynlib_link). */
struct nt_dynlib_export {
	const char *name;
	void *addr;
};

/*
 * Says that this program has the library soname linked in (a static archive): every
 * nt_dynlib_load of it then takes its functions from exports (ends with { NULL, NULL })
 * and never calls dlopen. For an executable that would rather not map what the shared
 * library drags in (the netron command links libmicrohttpd.a without GnuTLS,
 * src/daemon/mhd_static.c); call it before the first nt_dynlib_load. At most
 * NT_DYNLIB_LINKED_MAX libraries; -ENOSPC past that.
 */
#define NT_DYNLIB_LINKED_MAX 4
int nt_dynlib_link(const char *soname, const struct nt_dynlib_export *exports);

/*
 * Opens lib and resolves all its functions, the first time; 0 when they are all there,
 * -ELIBACC when the library or one function is missing (lib->error says which, and the
 * failure was logged once). Later calls only read the outcome.
 */
int nt_dynlib_load(struct nt_dynlib *lib);

/* Whether lib is loaded (without trying to load it). */
bool nt_dynlib_loaded(const struct nt_dynlib *lib);

#endif
