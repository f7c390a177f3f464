/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fetch-arg: the kernel's uprobe fetch-arg notation, as perf probe and
 * tracefs uprobe_events write it, compiled into struct st_fetch.
 *
 *   %di  %si  %dx  %cx  %r8  %r9  %ax  %sp ...	register
 *   $arg1 .. $arg6, $retval, $stack		aliases (x86-64 SysV)
 *   +16(%sp)  -8(%bp)				one memory read at reg+off
 *   +8(+0(%di))				nested reads (up to ST_MAX_DEREF)
 *   ...:u8 :u16 :u32 :u64 :s8 :s16 :s32 :s64	type of the value
 *   ...:string				NUL-terminated bytes (capture ptr only)
 *   123  0x40  $123				constant (lengths only)
 */
#ifndef SEALTRACE_FETCHARG_H
#define SEALTRACE_FETCHARG_H

#include <stddef.h>

#include "sealtrace/capture.h"

/*
 * Parse text into out. On error returns -1 and writes a message that
 * quotes the text and says what is wrong at which character.
 */
int st_fetcharg_parse(const char *text, struct st_fetch *out, char *err,
		      size_t errlen);

/* Render back to canonical notation (for probe_attached records). */
int st_fetcharg_format(const struct st_fetch *f, char *buf, size_t len);

/* True when the fetch-arg reads the return value (%ax / $retval). */
int st_fetcharg_uses_retval(const struct st_fetch *f);

#endif /* SEALTRACE_FETCHARG_H */
