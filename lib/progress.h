/*
 * progress.h — one updating status line for long steps (git's progress.c,
 * trimmed): "TITLE: 412/1000 (41%), 3.2 s" redrawn in place on stderr.
 *
 * Only on a terminal: when stderr is not a tty (a pipe, a log file, CI) or
 * info messages are switched off (HECTIC_LOG=warn, -q), progress_start()
 * returns NULL and every other call does nothing with it, so callers never
 * test for a terminal themselves:
 *
 *     struct progress *p = progress_start("migrate", n);
 *     for (i = 0; i < n; i++) { ...; progress_update(p, i + 1); }
 *     progress_stop(&p);
 *
 * The line appears only once the step has run for PROGRESS_DELAY seconds (a
 * fast step prints nothing), is redrawn at most every 100 ms, and is erased
 * by progress_stop() (the caller's own "done in ..." message follows). A log
 * message printed while a line is shown erases it first (log.c calls
 * progress_clear_line()) and the next update draws it again below.
 *
 * One progress line at a time per process; not thread-safe.
 */
#ifndef DBTOOL_PROGRESS_H
#define DBTOOL_PROGRESS_H

#include "lib/common.h"

/* Seconds a step runs before its line is first drawn. */
#define PROGRESS_DELAY 0.5

struct progress;

/* How a count is shown: items ("412/1000") or bytes ("12.5/80.0 MiB"). */
enum progress_unit { PROGRESS_ITEMS, PROGRESS_BYTES };

/*
 * Start a status line titled TITLE (copied) for TOTAL units (0: unknown,
 * then only the count and the time are shown). NULL when stderr is not a
 * terminal or info messages are off.
 */
struct progress *progress_start(const char *title, uint64_t total, enum progress_unit unit);
/*
 * As progress_start() but drawing on FD whatever it is, without the delay
 * (tests). NULL never.
 */
struct progress *progress_start_fd(int fd, const char *title, uint64_t total, enum progress_unit unit);
/* Set the count to N (and the detail, e.g. the current file; NULL: none); redraws when due. */
void progress_update(struct progress *p, uint64_t n);
void progress_update_detail(struct progress *p, uint64_t n, const char *detail);
/* Change the total (a step that learns its size late). */
void progress_set_total(struct progress *p, uint64_t total);
/* Erase the line and free P; *P becomes NULL. NULL or *P NULL: nothing. */
void progress_stop(struct progress **p);
/* Erase the line currently shown, if any (called before a log message is written). */
void progress_clear_line(void);

#endif
