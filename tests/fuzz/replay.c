/*
 * replay.c - feeds every file of the given corpus directories (or files)
 * to LLVMFuzzerTestOneInput(), so fuzz corpora run in `meson test` without
 * libFuzzer.  Exits 1 if nothing was replayed or a file cannot be read.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len ? len : 1); /* exact size: ASan sees overreads */
	int ok = buf != NULL && fread(buf, 1, len, f) == len;
	fclose(f);
	if (ok)
		LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return ok ? 0 : -1;
}

static int replay_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	int rc = 0;

	if (d == NULL)
		return replay_file(dir) == 0 ? (++*count, 0) : -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (replay_file(path) != 0)
			rc = -1;
		else
			++*count;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int rc = 0;

	for (int i = 1; i < argc; i++)
		if (replay_dir(argv[i], &count) != 0)
			rc = 1;
	printf("replayed %zu inputs\n", count);
	return rc != 0 || count == 0;
}
