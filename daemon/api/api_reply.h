/*
 * api_reply.h - answering a request: a JSON value, or an error.  Used by
 * the staff handlers (through api.h) and by the device side (mdm.c), which
 * needs nothing else of the staff helpers.
 */
#ifndef API_REPLY_H
#define API_REPLY_H

#include <jansson.h>
#include <stdarg.h>

#include "req.h"

/* Answers status with the JSON value (reference stolen). */
void api_json(struct req *r, int status, json_t *v);
/* Answers an error: status from the AP_E* code (or `status` when > 0),
 * body {"error":{"code":..., "message":...}}; logs it with fmt, the
 * message's pattern (in English): never its values, which may name a
 * person.  The
 * message is French when the request's Accept-Language asks it first and
 * the catalogue (domain API_DOMAIN, daemon/po/) translates fmt: pass an
 * English literal; the English is then "message_en" beside it.  The code
 * stays as it is. */
void api_fail(struct req *r, int err, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The same with a va_list. */
void api_vfail(struct req *r, int err, int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* The gettext domain of the daemon's messages; main() binds it. */
#define API_DOMAIN "ardoise-server"

#endif
