/* testutil.c - schema checker runner, file reading, legacy seals (the test
 * PKI is tu_pki.c). */
#include "testutil.h"

#include <openssl/rand.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DOCS 64
#define MAX_ARGS 16

static int write_temp(const char *dir, const struct tu_doc *d, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s.plist", dir, d->name);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	int ok = fwrite(d->data, 1, d->len, f) == d->len;
	return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int run(char *const argv[], char **out)
{
	int fds[2];
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);

	if (buf == NULL || pipe(fds) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (len + 1024 > cap && (buf = realloc(buf, cap *= 2)) == NULL)
			return -1;
		ssize_t n = read(fds[0], buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fds[0]);
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int tu_schema_check(const struct tu_doc *docs, size_t n, const char *const *args)
{
	const char *tool = getenv("AP_SCHEMA_CHECK");
	char dir[] = "/tmp/ap-schema-XXXXXX";
	char paths[MAX_DOCS][512];
	char *argv[MAX_DOCS + MAX_ARGS + 2];
	char *out = NULL;
	size_t a = 0;
	int rc = -1;

	if (tool == NULL || access(tool, X_OK) != 0) {
		fprintf(stderr, "schema checker not found (AP_SCHEMA_CHECK=%s)\n",
			tool ? tool : "(unset)");
		return -1;
	}
	if (n > MAX_DOCS || mkdtemp(dir) == NULL)
		return -1;
	argv[a++] = (char *)tool;
	for (size_t i = 0; args && args[i] && i < MAX_ARGS; i++)
		argv[a++] = (char *)args[i];
	for (size_t i = 0; i < n; i++) {
		if (write_temp(dir, &docs[i], paths[i], sizeof(paths[i])) != 0)
			goto out;
		argv[a++] = paths[i];
	}
	argv[a] = NULL;
	rc = run(argv, &out);
	if (rc != 0 || getenv("TU_VERBOSE"))
		fprintf(stderr, "--- mdm-schema-check (exit %d) ---\n%s", rc, out ? out : "");
out:
	for (size_t i = 0; i < n; i++)
		unlink(paths[i]);
	rmdir(dir);
	free(out);
	return rc;
}

int tu_schema_check1(const char *name, const char *data, size_t len, const char *const *args)
{
	struct tu_doc d = {name, data, len};
	return tu_schema_check(&d, 1, args);
}

char *tu_read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (buf == NULL)
		return NULL;
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

int tu_legacy_seal(const char *dir, const char *aad, const void *plain, size_t len,
		   unsigned char **ret, size_t *ret_len)
{
	char path[4200];
	unsigned char key[32];
	int n = 0, ok;
	snprintf(path, sizeof(path), "%s/secret.key", dir);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	ok = fread(key, 1, sizeof(key), f) == sizeof(key);
	fclose(f);
	unsigned char *out = malloc(12 + len + 16);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	ok = ok && out && c && RAND_bytes(out, 12) == 1 &&
	     EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, out) == 1 &&
	     EVP_EncryptUpdate(c, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) == 1 &&
	     EVP_EncryptUpdate(c, out + 12, &n, plain, (int)len) == 1 &&
	     EVP_EncryptFinal_ex(c, out + 12 + n, &n) == 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 12 + len) == 1;
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok) {
		free(out);
		return -1;
	}
	*ret = out;
	*ret_len = 12 + len + 16;
	return 0;
}
