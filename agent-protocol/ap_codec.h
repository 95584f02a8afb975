/*
 * ap_codec.h - base64 and hex for protocol values (push tokens, Mdm-Signature
 * headers, data parameters given on a command line).
 *
 * Every output is malloc'd, NUL-terminated (binary outputs too, one byte past
 * *ret_len), and owned by the caller, who frees it with free().  Decoders are
 * strict: anything that is not exactly the encoding gives AP_EPARSE.
 */
#ifndef AP_CODEC_H
#define AP_CODEC_H

#include <stddef.h>

/* Standard alphabet, padded, one line (no newlines). */
int ap_codec_b64_encode(const void *data, size_t len, char **ret, size_t *ret_len);
/* Standard alphabet; padding required (length a multiple of 4 once ASCII
 * whitespace is removed); whitespace anywhere is ignored.  s need not be
 * NUL-terminated.  ret_len may be NULL. */
int ap_codec_b64_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len);
/* Lowercase hex (the form APNs wants for device tokens). */
int ap_codec_hex_encode(const void *data, size_t len, char **ret);
/* Upper or lower case, an even number of digits, nothing else. */
int ap_codec_hex_decode(const char *s, size_t len, unsigned char **ret, size_t *ret_len);

#endif
