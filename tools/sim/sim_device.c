/* sim_device.c - the simulated iPad: state, check-ins, answering commands. */
#include "sim_device.h"
#include "ap_err.h"
#include "ap_uuid.h"
#include "sim_plist.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Apps found on a new iPad (Apple's free apps, user-removable, unmanaged). */
static const struct {
	const char *id, *name, *version, *short_version;
} stock_apps[] = {
    {"com.apple.Keynote", "Keynote", "7037.0.109", "14.1"},
    {"com.apple.Pages", "Pages", "7037.0.109", "14.1"},
    {"com.apple.Numbers", "Numbers", "7037.0.109", "14.1"},
    {"com.apple.iMovie", "iMovie", "3.5.1.1", "3.5.1"},
    {"com.apple.mobilegarageband", "GarageBand", "2.3.15.1", "2.3.15"},
};

/* n characters of alphabet from random bytes. */
static void random_text(char *out, size_t n, const char *alphabet)
{
	unsigned char raw[64];
	size_t k = strlen(alphabet);

	if (n > sizeof(raw))
		n = sizeof(raw);
	if (RAND_bytes(raw, (int)n) != 1)
		memset(raw, 0x5a, n);
	for (size_t i = 0; i < n; i++)
		out[i] = alphabet[raw[i] % k];
	out[n] = '\0';
}

static void random_bytes(unsigned char *out, size_t n)
{
	if (RAND_bytes(out, (int)n) != 1)
		memset(out, 0xa5, n);
}

void sim_device_new_tokens(struct sim_device *d)
{
	random_bytes(d->push_token, sizeof(d->push_token));
	random_bytes(d->unlock_token, sizeof(d->unlock_token));
	ap_uuid_random(d->push_magic);
}

/* Stock apps only (a factory-fresh or just-erased tablet). */
static int factory_apps(struct sim_device *d)
{
	int rc = 0;

	sim_device_clear_lists(d);
	for (size_t i = 0; rc == 0 && i < sizeof(stock_apps) / sizeof(stock_apps[0]); i++)
		rc = sim_device_put_app(d, stock_apps[i].id, stock_apps[i].name,
					stock_apps[i].version, stock_apps[i].short_version, 0);
	return rc;
}

int sim_device_wipe(struct sim_device *d)
{
	d->passcode_present = 0;
	d->lost_mode = 0;
	d->awaiting_configuration = 0;
	d->enrolled = 0;
	d->erased = 1;
	d->locked = 0;
	sim_ddm_clear(&d->ddm); /* unenrolment wipes the DDM state */
	snprintf(d->device_name, sizeof(d->device_name), "iPad");
	snprintf(d->time_zone, sizeof(d->time_zone), "Europe/Paris");
	d->organization[0] = '\0';
	d->dirty = 1;
	return factory_apps(d);
}

int sim_device_new(struct sim_device **ret)
{
	struct sim_device *d = calloc(1, sizeof(*d));
	char hex[17];

	if (d == NULL)
		return AP_ENOMEM;
	/* A14 chip (8101): "00008101-" and 16 hex digits */
	random_text(hex, 16, "0123456789ABCDEF");
	snprintf(d->udid, sizeof(d->udid), "00008101-%s", hex);
	random_text(d->serial, 10, "BCDFGHJKLMNPQRTVWXYZ0123456789");
	snprintf(d->model, sizeof(d->model), "%s", SIM_MODEL);
	snprintf(d->os_version, sizeof(d->os_version), "%s", SIM_OS_VERSION);
	snprintf(d->build_version, sizeof(d->build_version), "%s", SIM_BUILD_VERSION);
	snprintf(d->device_name, sizeof(d->device_name), "iPad");
	snprintf(d->time_zone, sizeof(d->time_zone), "Europe/Paris");
	d->key_slot = -1;
	d->passcode_present = 1; /* set by the département before lending */
	d->supervised = 1;
	/* somewhere in the Bouches-du-Rhône */
	d->latitude = 43.2965 + (sim_device_hash01(d->udid, "lat") - 0.5) * 0.6;
	d->longitude = 5.3698 + (sim_device_hash01(d->udid, "lon") - 0.5) * 0.8;
	sim_device_new_tokens(d);
	if (factory_apps(d) < 0) {
		sim_device_free(d);
		return AP_ENOMEM;
	}
	d->dirty = 1;
	*ret = d;
	return 0;
}

int sim_device_product_ok(const char *s)
{
	size_t i = 4, n;

	if (strncmp(s, "iPad", 4) != 0)
		return 0;
	for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
		n++;
	if (n < 1 || n > 2 || s[i++] != ',')
		return 0;
	for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
		n++;
	return n >= 1 && n <= 2 && s[i] == '\0';
}

int sim_device_set_os(struct sim_device *d, const char *product, const char *version)
{
	if ((product && !sim_device_product_ok(product)) ||
	    (version && !sim_ddm_version_ok(version)))
		return AP_EINVAL;
	if (product)
		snprintf(d->model, sizeof(d->model), "%s", product);
	if (version) {
		snprintf(d->os_version, sizeof(d->os_version), "%s", version);
		sim_ddm_build_of(version, d->build_version, sizeof(d->build_version));
	}
	d->dirty = 1;
	return 0;
}

void sim_device_clear_lists(struct sim_device *d)
{
	for (size_t i = 0; i < d->n_profiles; i++) {
		free(d->profiles[i].identifier);
		free(d->profiles[i].uuid);
		free(d->profiles[i].name);
	}
	for (size_t i = 0; i < d->n_apps; i++) {
		free(d->apps[i].identifier);
		free(d->apps[i].name);
		free(d->apps[i].version);
		free(d->apps[i].short_version);
	}
	free(d->profiles);
	free(d->apps);
	d->profiles = NULL;
	d->apps = NULL;
	d->n_profiles = d->n_apps = 0;
}

void sim_device_drop_identity(struct sim_device *d)
{
	EVP_PKEY_free(d->key);
	X509_free(d->cert);
	free(d->cert_der);
	SSL_SESSION_free(d->tls_session);
	d->key = NULL;
	d->cert = NULL;
	d->cert_der = NULL;
	d->cert_len = 0;
	d->tls_session = NULL;
	d->key_slot = -1;
}

void sim_device_free(struct sim_device *d)
{
	if (d == NULL)
		return;
	sim_device_drop_identity(d);
	sim_device_clear_lists(d);
	sim_ddm_clear(&d->ddm);
	OPENSSL_cleanse(d->unlock_token, sizeof(d->unlock_token));
	free(d->ade);
	free(d);
}

X509 *sim_device_cert(struct sim_device *d)
{
	if (d->cert == NULL && d->cert_der) {
		const unsigned char *p = d->cert_der;
		d->cert = d2i_X509(NULL, &p, (long)d->cert_len);
	}
	return d->cert;
}

int sim_device_set_identity(struct sim_device *d, EVP_PKEY *key, int key_slot,
			    const unsigned char *cert_der, size_t cert_len)
{
	if (key == NULL || cert_der == NULL || cert_len == 0)
		return AP_EINVAL;
	unsigned char *copy = malloc(cert_len);
	if (copy == NULL)
		return AP_ENOMEM;
	memcpy(copy, cert_der, cert_len);
	if (EVP_PKEY_up_ref(key) != 1) {
		free(copy);
		return AP_ECRYPTO;
	}
	sim_device_drop_identity(d);
	d->key = key;
	d->key_slot = key_slot;
	d->cert_der = copy;
	d->cert_len = cert_len;
	return 0;
}

/* Sets *slot to a new copy of s (NULL s means ""). */
static int replace_str(char **slot, const char *s)
{
	char *copy = strdup(s ? s : "");

	if (copy == NULL)
		return AP_ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

int sim_device_put_profile(struct sim_device *d, const char *identifier, const char *uuid,
			   const char *name, int managed)
{
	size_t i;

	for (i = 0; i < d->n_profiles; i++)
		if (strcmp(d->profiles[i].identifier, identifier) == 0)
			break;
	if (i == d->n_profiles) {
		if (d->n_profiles == SIM_MAX_PROFILES)
			return AP_ELIMIT;
		struct sim_profile *p = realloc(d->profiles, (i + 1) * sizeof(*p));
		if (p == NULL)
			return AP_ENOMEM;
		d->profiles = p;
		memset(&p[i], 0, sizeof(p[i]));
		d->n_profiles++;
	}
	struct sim_profile *p = &d->profiles[i];
	p->managed = managed;
	if (replace_str(&p->identifier, identifier) < 0 || replace_str(&p->uuid, uuid) < 0 ||
	    replace_str(&p->name, name) < 0)
		return AP_ENOMEM;
	return 0;
}

int sim_device_put_app(struct sim_device *d, const char *identifier, const char *name,
		       const char *version, const char *short_version, int managed)
{
	size_t i;

	for (i = 0; i < d->n_apps; i++)
		if (strcmp(d->apps[i].identifier, identifier) == 0)
			break;
	if (i == d->n_apps) {
		if (d->n_apps == SIM_MAX_APPS)
			return AP_ELIMIT;
		struct sim_app *a = realloc(d->apps, (i + 1) * sizeof(*a));
		if (a == NULL)
			return AP_ENOMEM;
		d->apps = a;
		memset(&a[i], 0, sizeof(a[i]));
		d->n_apps++;
	}
	struct sim_app *a = &d->apps[i];
	a->managed = managed;
	if (replace_str(&a->identifier, identifier) < 0 || replace_str(&a->name, name) < 0 ||
	    replace_str(&a->version, version) < 0 ||
	    replace_str(&a->short_version, short_version) < 0)
		return AP_ENOMEM;
	return 0;
}

int sim_device_checkin(const struct sim_device *d, enum sim_checkin t, char **ret_xml,
		       size_t *ret_len)
{
	static const char *const names[] = {"Authenticate", "TokenUpdate", "CheckOut"};
	plist_t m;

	if ((unsigned)t > SIM_CHECKOUT || ret_xml == NULL)
		return AP_EINVAL;
	if ((m = plist_new_dict()) == NULL)
		return AP_ENOMEM;
	sim_plist_set_str(m, "MessageType", names[t]);
	sim_plist_set_str(m, "Topic", d->topic);
	sim_plist_set_str(m, "UDID", d->udid);
	if (t == SIM_AUTHENTICATE) {
		sim_plist_set_str(m, "OSVersion", d->os_version);
		sim_plist_set_str(m, "BuildVersion", d->build_version);
		sim_plist_set_str(m, "ProductName", d->model);
		sim_plist_set_str(m, "SerialNumber", d->serial);
	} else if (t == SIM_TOKEN_UPDATE) {
		sim_plist_set_data(m, "Token", d->push_token, sizeof(d->push_token));
		sim_plist_set_str(m, "PushMagic", d->push_magic);
		sim_plist_set_data(m, "UnlockToken", d->unlock_token, sizeof(d->unlock_token));
		if (d->awaiting_configuration)
			sim_plist_set_bool(m, "AwaitingConfiguration", 1);
	}
	return sim_plist_to_xml(m, ret_xml, ret_len);
}

int sim_device_idle(const struct sim_device *d, char **ret_xml, size_t *ret_len)
{
	plist_t m = plist_new_dict();

	if (m == NULL || ret_xml == NULL) {
		plist_free(m);
		return m ? AP_EINVAL : AP_ENOMEM;
	}
	sim_plist_set_str(m, "Status", "Idle");
	sim_plist_set_str(m, "UDID", d->udid);
	return sim_plist_to_xml(m, ret_xml, ret_len);
}

void sim_device_hash_bytes(const char *seed, const char *salt, unsigned char *out, size_t n)
{
	unsigned char md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(md, 0, sizeof(md));
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, seed, strlen(seed)) == 1 &&
	    EVP_DigestUpdate(c, salt, strlen(salt)) == 1)
		EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	memcpy(out, md, n > sizeof(md) ? sizeof(md) : n);
}

double sim_device_hash01(const char *seed, const char *salt)
{
	unsigned char b[4];

	sim_device_hash_bytes(seed, salt, b, sizeof(b));
	uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return v / 4294967296.0;
}
