/* ap_err.c - message, name and HTTP status for the one error table. */
#include "ap_err.h"

#include <stddef.h>

struct errinfo {
	int value;
	const char *code;
	int status;
	const char *msg;
};

static const struct errinfo errtab[] = {
#define AP_ERR_ROW(name, value, code, status, msg) {value, code, status, msg},
    AP_ERRORS(AP_ERR_ROW)
#undef AP_ERR_ROW
};

static const struct errinfo *lookup(int err)
{
	for (size_t i = 0; i < sizeof(errtab) / sizeof(errtab[0]); i++)
		if (errtab[i].value == err)
			return &errtab[i];
	return NULL;
}

const char *ap_strerror(int err)
{
	const struct errinfo *e = lookup(err);
	return e ? e->msg : "unknown error";
}

const char *ap_errname(int err)
{
	const struct errinfo *e = lookup(err);
	return e ? e->code : "unknown";
}

int ap_errstatus(int err)
{
	const struct errinfo *e = lookup(err);
	return e ? e->status : 500;
}
