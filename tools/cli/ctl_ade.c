/* ctl_ade.c - Automated Device Enrolment's server token (Apple School
 * Manager): the key pair whose certificate is uploaded there, the token
 * file downloaded from there, and its state.  Not used yet by the daemon:
 * the ADE client comes next. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P7M_MAX (1u << 20)

/* Reads a whole file of at most P7M_MAX bytes, base64-encoded into *ret. */
static int read_b64(const char *name, char **ret)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	FILE *f = fopen(name, "rb");
	if (f == NULL)
		return ctl_err("cannot open %s: %s", name, strerror(errno));
	unsigned char *buf = malloc(P7M_MAX + 1);
	size_t len = buf ? fread(buf, 1, P7M_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL)
		return ctl_err("out of memory reading %s", name);
	if (bad || len > P7M_MAX) {
		free(buf);
		return bad ? ctl_err("cannot read %s", name)
			   : ctl_err("%s is larger than %u MiB", name, P7M_MAX >> 20);
	}
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (out == NULL) {
		free(buf);
		return ctl_err("out of memory reading %s", name);
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		unsigned v = (unsigned)buf[i] << 16;
		if (i + 1 < len)
			v |= (unsigned)buf[i + 1] << 8;
		if (i + 2 < len)
			v |= buf[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
	free(buf);
	*ret = out;
	return CTL_OK;
}

/* The certificate as the server sent it (the answers ctl_call() hands over
 * have their line feeds escaped): PEM text only, checked here. */
static int ade_keypair(struct ctl *c, const struct ctl_args *a)
{
	char *body = NULL;
	size_t len = 0;
	(void)a;
	int rc =
	    ctl_call_raw(c, "POST", "/api/v1/ade/keypair", "", 0, "application/json", &body, &len);
	if (rc != CTL_OK)
		return rc;
	json_t *ret = json_loadb(body, len, 0, NULL);
	free(body);
	const char *pem = json_string_value(json_object_get(ret, "certificate"));
	if (pem == NULL || strspn(pem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789+/=- \n") != strlen(pem)) {
		json_decref(ret);
		return ctl_err("the server's answer holds no certificate");
	}
	if (c->json) {
		ctl_print_json(ret);
	} else {
		fputs(pem, stdout);
		fprintf(
		    stderr, "%s\n",
		    json_is_true(json_object_get(ret, "created"))
			? _("a new ADE key pair was made: upload this certificate (PEM) in Apple "
			    "School Manager, in the MDM server's settings, then download the "
			    "server token")
			: _("the ADE key pair is kept: upload this certificate (PEM) in Apple "
			    "School Manager if it does not have it yet"));
	}
	json_decref(ret);
	return CTL_OK;
}

static const struct ctl_opt token_opts[] = {
    CTL_OPT_ARG("FILE.p7m", "missing argument",
		N_("the server token file downloaded from Apple School Manager (S/MIME, "
		   "encrypted to the certificate of ade keypair)")),
    CTL_OPT_END,
};

static void print_token(json_t *ret, const struct ctl_args *a)
{
	char t[64];
	(void)a;
	printf(_("server token %s imported, valid until %s\n"), ctl_fleet_str(ret, "consumer_key"),
	       ctl_when_of(ret, "expiry", t, sizeof(t)));
}

static int ade_token(struct ctl *c, const struct ctl_args *a)
{
	char *b64 = NULL;
	int rc = read_b64(ctl_opt_get(a, "FILE.p7m"), &b64);
	if (rc != CTL_OK)
		return rc;
	json_t *body = json_pack("{s:s}", "p7m", b64);
	free(b64);
	return ctl_send_print(c, a, "POST", "/api/v1/ade/token", body, print_token);
}

static void print_status(json_t *ret, const struct ctl_args *a)
{
	char t[64];
	json_t *tok = json_object_get(ret, "token"), *w;
	size_t i;
	(void)a;
	printf(_("ADE service:    %s\n"), ctl_fleet_str(ret, "url"));
	if (!json_is_object(tok)) {
		printf("%s\n",
		       _("server token:   none (ardoisectl ade keypair, then ardoisectl ade "
			 "token FILE.p7m)"));
	} else {
		printf(_("consumer key:   %s\n"), ctl_fleet_str(tok, "consumer_key"));
		printf(_("expires:        %s (in %lld days)\n"),
		       ctl_when_of(tok, "expiry", t, sizeof(t)),
		       (long long)json_integer_value(json_object_get(tok, "expires_in_days")));
		printf(_("imported:       %s by %s\n"),
		       ctl_when_of(tok, "imported_at", t, sizeof(t)),
		       ctl_fleet_str(tok, "imported_by"));
	}
	json_array_foreach(json_object_get(ret, "warnings"), i, w)
	    printf(_("warning: %s\n"), json_string_value(w) ? json_string_value(w) : "");
}

static int ade_status(struct ctl *c, const struct ctl_args *a)
{
	return ctl_get_print(c, a, "/api/v1/ade/status", print_status);
}

const struct ctl_verb ctl_ade_verbs[] = {
    {"ade", "keypair", ade_keypair, NULL, 0,
     N_("Makes the key pair of Automated Device Enrolment once (kept after) and prints its "
	"certificate (PEM) to upload in Apple School Manager (technicians)")},
    {"ade", "token", ade_token, token_opts, 0,
     N_("Imports the server token downloaded from Apple School Manager: decrypted with the "
	"key pair, its secrets kept sealed (technicians)")},
    {"ade", "status", ade_status, NULL, 0,
     N_("The server token: consumer key, expiry, and a warning 30 days before it expires "
	"(technicians)")},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
