/*
 * ap_detail.h - short human-readable failure reasons written into a
 * caller-provided buffer (the "detail" arguments of ap_msg_parse(),
 * ap_cmd_build(), ...).
 *
 * Contract: detail may be NULL or cap 0 (nothing is written).  Otherwise the
 * text is always NUL-terminated, truncated to cap - 1 bytes without cutting
 * a UTF-8 sequence, and control characters (which may come from peer
 * strings) are replaced by '?', so the text is safe to put in a log line or
 * a JSON message.  The text is a hint for humans; callers decide on the
 * returned error code, never on the text.
 */
#ifndef AP_DETAIL_H
#define AP_DETAIL_H

#include <stddef.h>

/* Formats the reason and returns err unchanged, so a caller can write
 * `return ap_detail_set(detail, cap, AP_EINVAL, "...", ...);`. */
int ap_detail_set(char *detail, size_t cap, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Empties the buffer (detail[0] = '\0') when there is one. */
void ap_detail_clear(char *detail, size_t cap);

#endif
