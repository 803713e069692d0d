/*
 * throwaway.c — the throwaway cluster recipe (see throwaway.h).
 */
#include "ops/throwaway.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "lib/settings.h"
#include "lib/tplcache.h"

#define NS "throwaway"

static void remove_handler(void *arg)
{
    struct throwaway *t = arg;
    t->cookie = -1;
    throwaway_close(t);
}

int throwaway_open(struct throwaway *t, const struct settings *s, const char *purpose,
                   const char *name, uint64_t need, const struct throwaway_opts *o)
{
    memset(t, 0, sizeof(*t));
    t->purpose = purpose;
    t->cookie = -1;
    t->scratch.lock_fd = -1;
    if (scratch_open(&t->scratch, s, name, need))
        return EXIT_ERR;
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    sp.working_dir = t->scratch.dir;
    sp.reuse = false;
    sp.fsync = false;
    sp.log_path = o ? o->log_path : NULL;
    if (o && o->database)
        sp.database = o->database;
    if (!o || !o->keep_conf_file)
        sp.conf_file = NULL;
    sp.throwaway = true;
    enum cl_status st = cluster_setup(&t->c, &sp);
    if (st) {
        cluster_release(&t->c);
        scratch_close(&t->scratch);
        return ops_exit(st);
    }
    t->open = true;
    t->cookie = cleanup_push(remove_handler, t);
    return 0;
}

void throwaway_stop_begin(struct throwaway *t)
{
    if (t->open)
        cluster_stop_begin(&t->c);
}

void throwaway_close(struct throwaway *t)
{
    if (t->cookie >= 0) {
        cleanup_pop(t->cookie);
        t->cookie = -1;
    }
    if (!t->open)
        return;
    t->open = false;
    if (t->job && t->job->pid > 0) {
        /* still working on it (it may be starting the server): stop it first */
        job_async_kill(t->job);
        job_async_finish(t->job);
    }
    if (!t->passed)
        scratch_hint_if_full(&t->scratch);
    double t0 = now_monotonic();
    if (!interrupted)
        tpl_wait_build(&t->c, 60);
    if (cluster_remove(&t->c) == CL_OK)
        debug(NS, "%s: throwaway cluster removed in %s", t->purpose, proj_duration(now_monotonic() - t0));
    else
        warn("%s: could not remove the throwaway cluster %s; remove it by hand", t->purpose,
             t->c.working_dir);
    cluster_release(&t->c);
    scratch_close(&t->scratch);
}
