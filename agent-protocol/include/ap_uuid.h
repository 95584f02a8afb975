/*
 * ap_uuid.h - UUIDs for CommandUUID and PayloadUUID values.
 *
 * Output is the canonical 36-character uppercase form
 * ("1B4E28BA-2FA1-41D2-883F-0016D3CCA427") plus a NUL, version 4 / RFC 4122
 * variant bits set, written into the caller's 37-byte buffer.
 */
#ifndef AP_UUID_H
#define AP_UUID_H

#define AP_UUID_LEN 36 /* characters, without the NUL */

/* Random UUID from OpenSSL's RAND_bytes().  These identify commands and
 * payloads: uniqueness matters, secrecy does not.  Should the CSPRNG fail,
 * getentropy() is tried, then a SHA-256 of time, a counter and an address,
 * so the function always produces a UUID (it cannot report an error). */
void ap_uuid_random(char out[37]);
/* Deterministic UUID: the first 16 bytes of SHA-256(seed || 0x00 || salt),
 * formatted as a version-4 UUID.  Same seed and salt, same UUID; NULL
 * seed or salt count as "". */
void ap_uuid_from_seed(const char *seed, const char *salt, char out[37]);
/* 1 if s is a UUID in canonical form (either case), else 0.  NULL -> 0. */
int ap_uuid_is_valid(const char *s);

#endif
