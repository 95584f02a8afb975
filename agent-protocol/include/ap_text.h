/*
 * ap_text.h - the text staff write and read: UTF-8 and control characters.
 *
 * One rule for every free-text field (reasons, notes, references, names):
 * valid UTF-8 in its shortest form, no control character (C0 with tab and
 * line breaks, DEL, C1 U+0080..U+009F), a hard maximum of bytes.  Readers
 * that show server text use the same decoder to escape what a terminal
 * would act on.
 */
#ifndef AP_TEXT_H
#define AP_TEXT_H

#include <stddef.h>

/* Bytes of the character at s (1 for ASCII, 2..4) with its code point in
 * *ret_cp; 0 at the NUL or when s does not start a valid shortest-form
 * UTF-8 sequence (a surrogate, past U+10FFFF, cut short by a NUL). */
size_t ap_utf8_char(const char *s, unsigned *ret_cp);
/* 1 when cp is a control character: U+0000..U+001F, U+007F..U+009F. */
int ap_text_control(unsigned cp);
/* 1 when s is at most max bytes of valid UTF-8 without control
 * characters, except line feeds when lines is non-zero (text shown on
 * several lines, such as a lock-screen message). */
int ap_text_ok(const char *s, size_t max, int lines);

#endif
