/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetch-arg: the kernel's uprobe fetch-arg notation, as perf probe and
 * tracefs uprobe_events write it, compiled into struct st_fetch.
 *
 *   %di  %si  %dx  %cx  %r8  %r9  %ax  %sp ...	register
 *   $arg1 .. $arg6, $retval, $stack		aliases (x86-64 SysV)
 *   +16(%sp)  -8(%bp)  16(%sp)  +0x10(%sp)	one memory read at reg+off
 *   +8(+0(%di))				nested reads (up to ST_MAX_DEREF)
 *   ...:u8 :u16 :u32 :u64 :s8 :s16 :s32 :s64	type of the value
 *   ...:string				NUL-terminated bytes (capture ptr only)
 *   123  0x40  $123				constant (lengths only)
 */
#ifndef SEALTRACE_FETCHARG_H
#define SEALTRACE_FETCHARG_H

#include <stddef.h>

#include "sealtrace/capture/capture.h"

/*
 * Parse text into out. On error returns -1, leaves out alone and writes a
 * message "WHAT at column N in 'TEXT'[; HINT]" into err (err may be NULL).
 * No whitespace is allowed anywhere. On success err is set to "".
 */
int st_fetcharg_parse(const char *text, struct st_fetch *out, char *err,
		      size_t errlen);

/*
 * Render back to canonical notation (for probe_attached records): short
 * register names, signed decimal offsets ("+16(%sp)"), "$N" for constants,
 * no suffix for u64. Returns the length written (as snprintf), or -1 when
 * buf is too small or f is not something st_fetcharg_parse produces.
 */
int st_fetcharg_format(const struct st_fetch *f, char *buf, size_t len);

/* True when the fetch-arg reads the return value (%ax / $retval). */
int st_fetcharg_uses_retval(const struct st_fetch *f);

#endif /* SEALTRACE_FETCHARG_H */
