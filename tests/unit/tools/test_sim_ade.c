/* Unit tests for sim_ade: the simulated tablet's MachineInfo verifies as
 * the daemon verifies it (ap_machineinfo) and says what the device is; a
 * device before iPadOS 17 has neither OS_VERSION nor the update flag;
 * the signer's files are read or refused; Apple's 403 is recognised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ap_err.h"
#include "ap_machineinfo.h"
#include "sim_ade.h"
#include "sim_device.h"
#include "testutil.h"

struct fx {
	char dir[64];
	EVP_PKEY *root_key, *ca_key, *leaf_key;
	X509 *root, *ca, *leaf;
	X509_STORE *anchors;
	struct sim_ade a;
	struct sim_ade_signer *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/sim-ade-XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	f->root_key = tu_key("ec");
	f->root = tu_cert("Apple Inc. Root CA", f->root_key, NULL, NULL, 1);
	f->ca_key = tu_key("ec");
	f->ca = tu_cert("Apple iPhone Device CA", f->ca_key, f->root, f->root_key, 1);
	f->leaf_key = tu_key("rsa");
	f->leaf = tu_cert("leaf", f->leaf_key, f->ca, f->ca_key, 0);
	f->anchors = X509_STORE_new();
	if (X509_STORE_add_cert(f->anchors, f->root) != 1 ||
	    tu_write_pem_in(f->dir, "leaf.pem", f->leaf, NULL, NULL, 0600) < 0 ||
	    tu_write_pem_in(f->dir, "leaf.key", NULL, f->leaf_key, NULL, 0600) < 0 ||
	    tu_write_pem_in(f->dir, "ca.pem", f->ca, NULL, NULL, 0600) < 0)
		return -1;
	snprintf(f->a.url, sizeof(f->a.url), "https://127.0.0.1:8443/mdm/ade/enroll");
	snprintf(f->a.cert, sizeof(f->a.cert), "%s/leaf.pem", f->dir);
	snprintf(f->a.key, sizeof(f->a.key), "%s/leaf.key", f->dir);
	snprintf(f->a.chain, sizeof(f->a.chain), "%s/ca.pem", f->dir);
	char err[300];
	if (sim_ade_signer_load(&f->a, &f->s, err, sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];
	const char *names[] = {"leaf.pem", "leaf.key", "ca.pem"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
	sim_ade_signer_free(f->s);
	X509_STORE_free(f->anchors);
	X509_free(f->root);
	X509_free(f->ca);
	X509_free(f->leaf);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->ca_key);
	EVP_PKEY_free(f->leaf_key);
	free(f);
	return 0;
}

static void open_info(struct fx *f, const char *os, struct ap_machineinfo *mi,
		      struct sim_device **ret)
{
	struct sim_device *d = NULL;
	unsigned char *der = NULL;
	size_t len = 0;
	assert_int_equal(sim_device_new(&d), 0);
	assert_int_equal(sim_device_set_os(d, "iPad13,18", os), 0);
	assert_int_equal(sim_ade_machineinfo(d, f->s, &der, &len), 0);
	assert_int_equal(ap_machineinfo_open(der, len, f->anchors, mi), 0);
	free(der);
	*ret = d;
}

static void test_machineinfo(void **state)
{
	struct fx *f = *state;
	struct ap_machineinfo mi;
	struct sim_device *d;
	assert_string_equal(f->s->path, "/mdm/ade/enroll");
	open_info(f, "17.6", &mi, &d);
	assert_string_equal(mi.udid, d->udid);
	assert_string_equal(mi.serial, d->serial);
	assert_string_equal(mi.product, "iPad13,18");
	assert_string_equal(mi.version, d->build_version);
	assert_string_equal(mi.os_version, "17.6");
	assert_int_equal(mi.can_request_update, 1);
	sim_device_free(d);
	open_info(f, "16.7", &mi, &d); /* before iPadOS 17: neither key */
	assert_string_equal(mi.os_version, "");
	assert_int_equal(mi.can_request_update, 0);
	sim_device_free(d);
}

static void test_signer_files(void **state)
{
	struct fx *f = *state;
	struct sim_ade a = f->a;
	struct sim_ade_signer *s = NULL;
	char err[300] = "";
	snprintf(a.key, sizeof(a.key), "%s", f->a.cert); /* a certificate is not a key */
	assert_int_not_equal(sim_ade_signer_load(&a, &s, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "private key"));
	a = f->a;
	snprintf(a.url, sizeof(a.url), "http://x/mdm/ade/enroll");
	assert_int_not_equal(sim_ade_signer_load(&a, &s, err, sizeof(err)), 0);
	a = f->a;
	snprintf(a.chain, sizeof(a.chain), "%s/missing.pem", f->dir);
	assert_int_not_equal(sim_ade_signer_load(&a, &s, err, sizeof(err)), 0);
	assert_null(s);
}

static void test_update_required(void **state)
{
	char v[64] = "";
	static const char good[] = "{\"code\":\"com.apple.softwareupdate.required\","
				   "\"details\":{\"OSVersion\":\"17.4\"}}";
	assert_int_equal(sim_ade_update_required(good, sizeof(good) - 1, v, sizeof(v)), 1);
	assert_string_equal(v, "17.4");
	static const char other[] = "{\"error\":{\"code\":\"forbidden\"}}";
	assert_int_equal(sim_ade_update_required(other, sizeof(other) - 1, v, sizeof(v)), 0);
	static const char no_version[] = "{\"code\":\"com.apple.softwareupdate.required\"}";
	assert_int_equal(sim_ade_update_required(no_version, sizeof(no_version) - 1, v, sizeof(v)),
			 0);
	assert_int_equal(sim_ade_update_required("not json", 8, v, sizeof(v)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_machineinfo),
	    cmocka_unit_test(test_signer_files),
	    cmocka_unit_test(test_update_required),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
