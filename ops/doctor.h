/*
 * doctor.h — `dbtool doctor`: check the machine and the project, say what to fix.
 */
#ifndef DBTOOL_DOCTOR_H
#define DBTOOL_DOCTOR_H

/* Print one line per check to stdout; returns the number of problems found. */
struct settings;
int doctor_run(const struct settings *s);

#endif
