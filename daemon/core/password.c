/* password.c - Argon2id over libargon2 (password.h). */
#include "password.h"
#include "ap_err.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <string.h>

int password_hash(const char *password, size_t len, char *out, size_t cap)
{
	unsigned char salt[PASSWORD_SALT_LEN];
	if (cap < argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_KIB, PASSWORD_LANES,
				    PASSWORD_SALT_LEN, PASSWORD_HASH_LEN, Argon2_id))
		return AP_EINVAL;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return AP_ECRYPTO;
	int rc = argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_KIB, PASSWORD_LANES, password,
				       len, salt, sizeof(salt), PASSWORD_HASH_LEN, out, cap);
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc == ARGON2_OK ? 0 : AP_ECRYPTO;
}

int password_verify(const char *encoded, const char *password, size_t len)
{
	/* the hash of a password nobody knows (a random one, thrown away):
	 * checked when there is no hash, for the same cost */
	static const char decoy[] = "$argon2id$v=19$m=19456,t=2,p=1$"
				    "jajn/9jkDqVKh2dRyWVqxw$"
				    "/QajVzYSTO4vVNzEX4a3qzvvIJTS6S90IIJY/yhQr/Y";
	int rc = argon2id_verify(encoded ? encoded : decoy, password, len);
	return rc == ARGON2_OK && encoded ? 0 : AP_EAUTH;
}
