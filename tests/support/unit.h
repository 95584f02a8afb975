/*
 * unit.h - small helpers shared by the cmocka unit tests: temporary
 * directories and files.  Header-only (static functions) so each test
 * executable stays one .c file.
 */
#ifndef UNIT_H
#define UNIT_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Makes a fresh directory under $TMPDIR (or /tmp), its path written into
 * out, and returns out.  Aborts the test run when it cannot. */
static inline const char *unit_tmpdir(char out[4096])
{
	const char *base = getenv("TMPDIR");
	snprintf(out, 4096, "%s/ardoise-unit-XXXXXX", base && base[0] ? base : "/tmp");
	if (mkdtemp(out) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return out;
}

/* rm -rf dir (NULL or "" ok). */
static inline void unit_rmtree(const char *dir)
{
	if (dir && dir[0])
		nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes text to dir/name; returns the path (static storage). */
static inline const char *unit_write(const char *dir, const char *name, const char *text)
{
	static char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

#endif
