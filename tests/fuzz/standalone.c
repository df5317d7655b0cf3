/*
 * Replays fuzz inputs without libFuzzer, so an ordinary gcc build (and the
 * sanitizer build in CI) runs every target's seed corpus as a regression
 * test.  The idea is libgit2's tests/fuzz/standalone_driver.c.
 *
 *   standalone FILE|DIR...
 *
 * Each FILE, and each regular file directly in each DIR (in name order),
 * is passed once to LLVMFuzzerTestOneInput.  A crash is the failure.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t len = 0, alloc = 0;

	if (!f) {
		fprintf(stderr, "standalone: cannot open '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		UTIL_GROW(data, alloc, len + 65536);
		n = fread(data + len, 1, alloc - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "standalone: cannot read '%s'\n", path);
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, alloc = 0;
	struct dirent *e;
	int r = 0;

	if (!d) {
		fprintf(stderr, "standalone: cannot open '%s': %s\n", dir,
			strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		UTIL_GROW(names, alloc, n + 1);
		names[n++] = util_xasprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(names[i]) < 0)
				r = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	int r = 0;

	if (argc < 2) {
		fputs("usage: standalone FILE|DIR...\n", stderr);
		return 64;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "standalone: '%s': %s\n", argv[i],
				strerror(errno));
			r = -1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				r = -1;
		} else if (run_file(argv[i]) < 0) {
			r = -1;
		} else {
			count++;
		}
	}
	printf("replayed %zu input%s\n", count, count == 1 ? "" : "s");
	return r < 0 ? 1 : 0;
}
