/*
 * fuzz_csv.c - libFuzzer target for the CSV reader of staff imports
 * (daemon/api/csv.c).  Small limits so that every limit is reached; checks the
 * reader's promises on every record: at most max_fields fields, each
 * NUL-terminated at its length, no longer than max_field, valid UTF-8
 * without NUL (so strlen() equals the length).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ap_err.h"
#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct csv_limits lim = {64, 8, 200};
	struct csv *c;
	struct csv_record rec;
	int rc;
	size_t guard = 0;
	if (csv_open((const char *)data, size, &lim, &c) < 0)
		return 0;
	while ((rc = csv_next(c, &rec)) != 0) {
		if (++guard > lim.max_records + size + 2)
			abort(); /* the reader must make progress */
		if (rc < 0) {
			if (rec.error[0] == '\0')
				abort();     /* a bad record always says why */
			if (rc == AP_ELIMIT) /* sticky */
				break;
			continue;
		}
		if (rec.n == 0 || rec.n > lim.max_fields)
			abort();
		for (size_t i = 0; i < rec.n; i++)
			if (rec.len[i] > lim.max_field || strlen(rec.f[i]) != rec.len[i])
				abort();
	}
	csv_free(c);
	return 0;
}
