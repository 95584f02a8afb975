/*
 * password.h - staff passwords: hashed with Argon2id (Debian's libargon2)
 * and checked against the encoded hash, never kept in clear.
 *
 * Parameters (OWASP's first choice for Argon2id): t = 2 passes over
 * m = 19456 KiB (19 MiB) with p = 1 lane, a 16-byte random salt and a
 * 32-byte hash; the encoded string ("$argon2id$v=19$m=19456,t=2,p=1$...")
 * carries them, so a hash made with other parameters still verifies.
 *
 * A hash or a check costs some 50 ms of one core and 19 MiB for that
 * time.  The daemon has no thread pool for its handlers: each worker is a
 * thread with its own loop, and a handler that hashes blocks only its own
 * loop for that long, which sign-ins (throttled per address before any
 * hashing) can afford.
 */
#ifndef PASSWORD_H
#define PASSWORD_H

#include <stddef.h>

#define PASSWORD_T_COST	     2
#define PASSWORD_M_KIB	     19456
#define PASSWORD_LANES	     1
#define PASSWORD_SALT_LEN    16
#define PASSWORD_HASH_LEN    32
#define PASSWORD_ENCODED_MAX 128 /* bytes of an encoded hash, with its NUL */

/* Hashes password (len bytes) with a fresh random salt into out (cap
 * bytes, PASSWORD_ENCODED_MAX is enough): 0, AP_ECRYPTO when no salt could
 * be drawn or libargon2 failed, AP_EINVAL when out is too small. */
int password_hash(const char *password, size_t len, char *out, size_t cap);
/* 0 when password matches the encoded hash; AP_EAUTH when it does not or
 * the hash is not one (NULL included).  A NULL hash costs as much as a
 * real check, so that a missing account takes as long as a wrong
 * password. */
int password_verify(const char *encoded, const char *password, size_t len);

#endif
