/*
 * sim_run.c - the simulator's subcommands: open the state file, the key
 * pool and the network configuration, run the tasks, save the devices,
 * print the results (human lines, or one JSON object per line).
 */
#include "sim_run.h"
#include "ap_cmd.h"
#include "ap_err.h"
#include "ap_x509.h"
#include "sim_ddm.h"
#include "sim_net.h"
#include "sim_session.h"

#include <jansson.h>
#include <openssl/x509v3.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_CODE_USES 100000 /* the daemon's limit for one enrolment code */

int sim_run_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ardoise-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- shared set-up ---- */

struct env {
	struct sim_clock clock; /* the devices' time: --now or the real one */
	struct sim_state *st;
	struct sim_pool pool;
	struct sim_net_cfg net;
	X509 *ca;
	X509_STORE *trust;
};

static void env_close(struct env *e)
{
	sim_net_cfg_clear(&e->net);
	X509_free(e->ca);
	X509_STORE_free(e->trust);
	sim_pool_clear(&e->pool);
	sim_state_close(e->st);
}

static void key_announce(size_t total)
{
	fprintf(stderr,
		"ardoise-sim: generating %zu keys for the key pool (kept in the state file for"
		" later runs)\n",
		total);
}

static int read_ca(const char *path, X509 **ret)
{
	FILE *f = fopen(path, "rb");
	char buf[64 * 1024];
	size_t n;

	if (f == NULL)
		return AP_EIO;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return ap_x509_from_pem(buf, n, ret);
}

static int env_net(const struct sim_opts *o, struct env *e)
{
	char err[300];

	if (o->url == NULL || o->ca == NULL)
		return sim_run_fail("--url and --ca are required (or ARDOISE_URL and ARDOISE_CA)");
	if (sim_net_cfg_init(&e->net, o->url, o->ca, err, sizeof(err)) < 0)
		return sim_run_fail("%s", err);
	e->net.timeout_ms = o->timeout_ms;
	e->net.resume = o->resume;
	if (o->like_ipad && sim_net_cfg_client(&e->net, SIM_IPAD_GROUPS, "MDM/1.0") < 0)
		return sim_run_fail("TLS groups '%s' refused by OpenSSL", SIM_IPAD_GROUPS);
	e->net.keepalive = o->keepalive;
	if (read_ca(o->ca, &e->ca) < 0)
		return sim_run_fail("%s: not a PEM certificate", o->ca);
	if ((e->trust = X509_STORE_new()) == NULL || X509_STORE_add_cert(e->trust, e->ca) != 1)
		return sim_run_fail("out of memory");
	/* the profile is signed by the server's TLS identity, not an S/MIME one */
	X509_STORE_set_purpose(e->trust, X509_PURPOSE_ANY);
	return 0;
}

/* Keys an enrolment of n devices needs: one each, up to the pool's size
 * (a test's two tablets need not wait for 64 RSA keys). */
static size_t keys_for(const struct sim_opts *o, size_t n)
{
	return n < o->key_pool ? n : o->key_pool;
}

/* Opens the state (and the network when net); keys of o->key_type are
 * generated up to want_keys.  Returns an exit status. */
static int env_open(const struct sim_opts *o, int net, size_t want_keys, struct env *e)
{
	char err[300];

	memset(e, 0, sizeof(*e));
	if (o->now)
		e->clock = o->clock;
	else
		sim_clock_at(&e->clock, time(NULL));
	if (sim_state_open(o->state, &e->st, err, sizeof(err)) < 0)
		return sim_run_fail("%s: %s", o->state, err);
	if (sim_state_pool(e->st, &e->pool, o->key_type, want_keys, key_announce) < 0)
		return sim_run_fail("%s: cannot load or store the key pool", o->state);
	return net ? env_net(o, e) : 0;
}

static struct sim_ctx *new_ctx(struct env *e, const struct sim_opts *o)
{
	struct sim_ctx *x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->cfg = &e->net;
	x->ca = e->ca;
	x->trust = e->trust;
	x->pool = &e->pool;
	x->key_kind = o->key_type;
	x->signed_profile = o->signed_profile;
	x->code = o->code;
	x->enroll_token = o->enroll_token;
	x->sign = o->sign || o->keepalive || o->like_ipad;
	x->sig_only = o->keepalive;
	x->max_commands = o->max_commands;
	x->clock = &e->clock;
	return x;
}

/* Appends part's latencies and counts to total (part is cleared). */
static void stats_add(struct sim_stats *total, struct sim_stats *part)
{
	double *lat = realloc(total->lat_ms, (total->n_lat + part->n_lat + 1) * sizeof(double));
	if (lat && part->n_lat) {
		memcpy(lat + total->n_lat, part->lat_ms, part->n_lat * sizeof(double));
		total->n_lat += part->n_lat;
	}
	if (lat)
		total->lat_ms = lat;
	total->tasks += part->tasks;
	total->errors += part->errors;
	total->requests += part->requests;
	total->handshakes += part->handshakes;
	total->resumed += part->resumed;
	total->seconds += part->seconds;
	if (total->first_error[0] == '\0')
		memcpy(total->first_error, part->first_error, sizeof(total->first_error));
	sim_stats_clear(part);
}

static int run(struct env *e, const struct sim_opts *o, sim_task_fn fn, struct sim_ctx *x, size_t n,
	       double rate, struct sim_stats *ret)
{
	struct sim_run_opts ro = {n, o->conc, o->threads, rate};
	int rc = sim_net_run(&e->net, &ro, fn, x, ret);
	if (rc < 0)
		return sim_run_fail("run failed: %s", ap_strerror(rc));
	if (o->verbose && ret->errors)
		fprintf(stderr, "ardoise-sim: %zu of %zu failed; first: %s\n", ret->errors,
			ret->tasks, ret->first_error);
	return 0;
}

/* ---- server figures (/proc) ---- */

struct server_use {
	double cpu_s;  /* CPU time of its threads (utime + stime) */
	double hwm_mb; /* VmHWM */
	int ok;
	double sim_cpu_s; /* this process's own, always known */
};

static double self_cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The CPU time of pid's live threads in seconds, to the nanosecond
 * (/proc/PID/task/TID/schedstat); -1 when the kernel does not say.
 * /proc/PID/stat counts in clock ticks (10 ms): too coarse for a short
 * phase. */
static double threads_cpu_s(long pid)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%ld/task", pid);
	DIR *dir = opendir(path);
	struct dirent *e;
	double total = 0;
	int n = 0;
	if (dir == NULL)
		return -1;
	while ((e = readdir(dir)) != NULL) {
		unsigned long long ns = 0;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.20s/schedstat", pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (f == NULL)
			continue; /* the thread has just ended */
		if (fscanf(f, "%llu", &ns) == 1) {
			total += (double)ns / 1e9;
			n++;
		}
		fclose(f);
	}
	closedir(dir);
	return n > 0 ? total : -1;
}

static struct server_use server_use(long pid)
{
	struct server_use u = {0};
	char path[64], buf[4096], *p;
	unsigned long ut = 0, stime = 0;
	FILE *f;

	u.sim_cpu_s = self_cpu_s();
	if (pid <= 0)
		return u;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return u;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* fields after the command name, which may hold spaces: ") S ppid ..." */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) != 2)
		return u;
	u.cpu_s = (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
	double precise = threads_cpu_s(pid);
	if (precise >= 0)
		u.cpu_s = precise;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "VmHWM:", 6) == 0)
				u.hwm_mb = strtod(buf + 6, NULL) / 1024.0;
		fclose(f);
	}
	u.ok = 1;
	return u;
}

/* ---- output ---- */

static double r3(double v)
{
	return round(v * 1000.0) / 1000.0;
}

static double per(size_t count, size_t sessions)
{
	return sessions ? (double)count / (double)sessions : 0;
}

/* One JSON line for a phase: devices, seconds, rate, latencies, errors,
 * the server's CPU and memory when known; extra (may be NULL) is merged. */
static void print_phase(const struct sim_opts *o, const char *phase, struct sim_stats *s,
			const struct server_use *before, json_t *extra)
{
	json_t *j = json_object();
	json_object_set_new(j, "phase", json_string(phase));
	json_object_set_new(j, "devices", json_integer((json_int_t)s->tasks));
	json_object_set_new(j, "seconds", json_real(r3(s->seconds)));
	json_object_set_new(j, "sessions_per_s",
			    json_real(r3(s->seconds > 0 ? (double)s->tasks / s->seconds : 0)));
	json_object_set_new(j, "p50_ms", json_real(r3(sim_stats_percentile(s, 50))));
	json_object_set_new(j, "p99_ms", json_real(r3(sim_stats_percentile(s, 99))));
	json_object_set_new(j, "errors", json_integer((json_int_t)s->errors));
	json_object_set_new(j, "requests", json_integer((json_int_t)s->requests));
	json_object_set_new(j, "handshakes_full",
			    json_integer((json_int_t)(s->handshakes - s->resumed)));
	json_object_set_new(j, "handshakes_resumed", json_integer((json_int_t)s->resumed));
	json_object_set_new(j, "requests_per_session", json_real(r3(per(s->requests, s->tasks))));
	json_object_set_new(j, "handshakes_per_session",
			    json_real(r3(per(s->handshakes, s->tasks))));
	json_object_set_new(j, "full_handshakes_per_session",
			    json_real(r3(per(s->handshakes - s->resumed, s->tasks))));
	json_object_set_new(j, "resumed_handshakes_per_session",
			    json_real(r3(per(s->resumed, s->tasks))));
	if (before) { /* the simulator's own share of the two cores */
		double cpu = self_cpu_s() - before->sim_cpu_s;
		json_object_set_new(j, "sim_cpu_s", json_real(r3(cpu)));
		json_object_set_new(j, "sim_cpu_us_per_session",
				    json_real(r3(s->tasks ? cpu * 1e6 / (double)s->tasks : 0)));
	}
	if (before && before->ok) {
		struct server_use after = server_use(o->server_pid);
		double cpu = after.cpu_s - before->cpu_s;
		json_object_set_new(j, "server_cpu_s", json_real(r3(cpu)));
		json_object_set_new(j, "server_cpu_us_per_session",
				    json_real(r3(s->tasks ? cpu * 1e6 / (double)s->tasks : 0)));
		json_object_set_new(j, "server_peak_rss_mb", json_real(r3(after.hwm_mb)));
	}
	if (s->errors)
		json_object_set_new(j, "first_error", json_string(s->first_error));
	if (extra)
		json_object_update(j, extra);
	json_decref(extra);
	char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
	if (line)
		printf("%s\n", line);
	fflush(stdout);
	free(line);
	json_decref(j);
}

static json_t *session_extra(const struct sim_opts *o, struct sim_ctx *x)
{
	json_t *ddm = json_pack("{s:I,s:I,s:I}", "ddm_syncs", (json_int_t)x->counts.ddm_syncs,
				"ddm_fetched", (json_int_t)x->counts.ddm_fetched, "ddm_reports",
				(json_int_t)x->counts.ddm_reports);
	json_t *j = json_pack(
	    "{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:b,s:b,s:b,s:s,s:I}", "commands",
	    (json_int_t)x->counts.commands, "acknowledged", (json_int_t)x->counts.acknowledged,
	    "notnow", (json_int_t)x->counts.notnow, "resumed", (json_int_t)x->counts.resumed,
	    "concurrency", (json_int_t)o->conc, "threads", (json_int_t)o->threads, "rate", o->rate,
	    "keepalive", o->keepalive, "resume", o->resume, "sign",
	    o->sign || o->keepalive || o->like_ipad, "key_type", sim_key_kind_name(o->key_type),
	    "command_errors", (json_int_t)(x->counts.errors + x->counts.format_errors));
	json_object_update(j, ddm);
	json_decref(ddm);
	json_object_set_new(j, "like_ipad", json_boolean(o->like_ipad));
	return j;
}

/* ---- enrolment ---- */

/* Saves the devices of a batch that are worth keeping: enrolled ones and
 * those already in the file (a new device that failed never existed). */
static int save_batch(struct env *e, struct sim_device **devs, size_t n)
{
	struct sim_device **keep = calloc(n ? n : 1, sizeof(*keep));
	size_t k = 0;

	if (keep == NULL)
		return AP_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (devs[i]->enrolled || devs[i]->id || (devs[i]->ade && devs[i]->ade->refusal[0]))
			keep[k++] = devs[i]; /* an ADE refusal is kept: list shows it */
	int rc = sim_state_save_all(e->st, keep, k);
	free(keep);
	return rc;
}

/* n devices to enrol: erased ones from the file first, then new ones. */
static int devices_to_enrol(struct env *e, const struct sim_opts *o, size_t n,
			    struct sim_device ***ret)
{
	struct sim_device **erased = NULL, **devs = NULL;
	size_t n_erased = 0;
	int rc = sim_state_load(e->st, &e->pool, SIM_ERASED, n, &erased, &n_erased);

	if (rc < 0)
		return rc;
	if ((devs = calloc(n ? n : 1, sizeof(*devs))) == NULL) {
		sim_state_free_devices(erased, n_erased);
		return AP_ENOMEM;
	}
	if (n_erased)
		memcpy(devs, erased, n_erased * sizeof(*devs));
	free(erased);
	for (size_t i = n_erased; i < n && rc == 0; i++)
		rc = sim_device_new(&devs[i]);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = sim_device_set_os(devs[i], o->product, o->os_version);
	if (rc < 0) {
		sim_state_free_devices(devs, n);
		return rc;
	}
	*ret = devs;
	return 0;
}

/* Enrols n devices in batches: each batch is prepared (erased devices of
 * the file first, then new ones), run and saved, so a long enrolment keeps
 * its progress and memory holds one batch.  Stats of all of them. */
static int enrol_devices(struct env *e, const struct sim_opts *o, const char *code, size_t n,
			 struct sim_stats *total)
{
	struct sim_ctx *x = new_ctx(e, o);
	size_t batch = o->batch ? o->batch : 2000;
	int rc = x ? 0 : sim_run_fail("out of memory");

	for (size_t off = 0; off < n && rc == 0; off += batch) {
		struct sim_device **devs = NULL;
		struct sim_stats part = {0};
		size_t k = n - off < batch ? n - off : batch;
		double t0 = now_s();
		if (devices_to_enrol(e, o, k, &devs) < 0) {
			rc = sim_run_fail("cannot prepare %zu devices", k);
			break;
		}
		x->code = code;
		x->devs = devs;
		x->index_base = off;
		if (run(e, o, sim_session_enrol, x, k, 0, &part) != 0)
			rc = 1;
		else if (save_batch(e, devs, k) < 0)
			rc = sim_run_fail("%s: cannot save the devices", o->state);
		part.seconds = now_s() - t0; /* saving included */
		stats_add(total, &part);
		sim_state_free_devices(devs, k);
	}
	free(x);
	return rc;
}

int sim_run_enroll(const struct sim_opts *o)
{
	struct env e;
	struct sim_stats total = {0};
	int rc;

	if (o->n == 0 || (!o->code == !o->enroll_token))
		return sim_run_fail("enroll: give -n N and one of --code CODE or --enroll-token T");
	if ((rc = env_open(o, 1, keys_for(o, o->n), &e)) == 0)
		rc = enrol_devices(&e, o, o->code, o->n, &total);
	if (rc == 0 && o->json)
		print_phase(o, "enrol", &total, NULL, NULL);
	else if (rc == 0)
		printf("enrolled %zu of %zu devices in %.1f s (%.1f/s)\n",
		       total.tasks - total.errors, total.tasks, total.seconds,
		       total.seconds > 0 ? (double)total.tasks / total.seconds : 0.0);
	if (rc == 0 && total.errors)
		rc = sim_run_fail("enroll: %zu of %zu devices failed; first: %s", total.errors,
				  total.tasks, total.first_error);
	sim_stats_clear(&total);
	env_close(&e);
	return rc;
}

/* ---- ADE ---- */

/* The serials of --serials FILE (one a line) or --serial-prefix; *ret is
 * one malloc'd block of n strings of 16 bytes. */
static int ade_serials(const struct sim_opts *o, char (**ret)[16], size_t *ret_n)
{
	size_t n = o->n, cap = o->serials ? 1024 : o->n;
	char(*s)[16] = calloc(cap ? cap : 1, 16), line[256];
	if (s == NULL)
		return sim_run_fail("out of memory");
	if (o->serials == NULL) {
		size_t plen = strlen(o->serial_prefix);
		for (size_t i = 0; i < n; i++) {
			char t[48] = "";
			snprintf(t, sizeof(t), "%s%0*zu", o->serial_prefix,
				 plen < 11 ? (int)(12 - plen) : 1, i + 1);
			memcpy(s[i], t, 15); /* the prefix and the number fit: checked */
		}
		*ret = s;
		*ret_n = n;
		return 0;
	}
	FILE *f = fopen(o->serials, "r");
	n = 0;
	while (f && fgets(line, sizeof(line), f) && n < cap) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (strlen(line) > 15 ||
		    strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(line)) {
			fclose(f);
			free(s);
			return sim_run_fail(
			    "%s: '%.40s' is not a serial number (A-Z, 0-9, 15 at most)", o->serials,
			    line);
		}
		snprintf(s[n++], 16, "%s", line);
	}
	if (f)
		fclose(f);
	if (f == NULL || n == 0) {
		free(s);
		return sim_run_fail("%s: no serial numbers read", o->serials);
	}
	*ret = s;
	*ret_n = o->n && o->n < n ? o->n : n;
	return 0;
}

/* New devices with those serials, their ADE origin from `a`. */
static int ade_devices(const struct sim_opts *o, const struct sim_ade *a, char (*serials)[16],
		       size_t n, struct sim_device ***ret)
{
	struct sim_device **devs = calloc(n ? n : 1, sizeof(*devs));
	int rc = devs ? 0 : AP_ENOMEM;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = sim_device_new(&devs[i])) < 0 ||
		    (rc = sim_device_set_os(devs[i], o->product, o->os_version)) < 0)
			break;
		snprintf(devs[i]->serial, sizeof(devs[i]->serial), "%s", serials[i]);
		if ((devs[i]->ade = malloc(sizeof(*a))) == NULL)
			rc = AP_ENOMEM;
		else
			*devs[i]->ade = *a;
	}
	if (rc < 0) {
		sim_state_free_devices(devs, n);
		return rc;
	}
	*ret = devs;
	return 0;
}

/* Runs the ADE enrolment of devs (saved after). */
static int ade_run(struct env *e, const struct sim_opts *o, struct sim_ctx *x,
		   struct sim_device **devs, size_t n, size_t base, struct sim_stats *total)
{
	struct sim_stats part = {0};
	double t0 = now_s();
	int rc = 0;
	x->devs = devs;
	x->index_base = base;
	if (run(e, o, sim_session_enrol, x, n, 0, &part) != 0)
		rc = 1;
	else if (save_batch(e, devs, n) < 0)
		rc = sim_run_fail("%s: cannot save the devices", o->state);
	part.seconds = now_s() - t0;
	stats_add(total, &part);
	return rc;
}

static int ade_check_opts(const struct sim_opts *o, struct sim_ade *a)
{
	if (o->enroll_url == NULL || o->signer_cert == NULL || o->signer_key == NULL ||
	    !o->serial_prefix == !o->serials || (o->serial_prefix && o->n == 0))
		return sim_run_fail("ade-enroll: give --enroll-url URL, --signer-cert F,"
				    " --signer-key F and one of -n N --serial-prefix P or"
				    " --serials FILE");
	if (o->serial_prefix && (strlen(o->serial_prefix) > 11 ||
				 strspn(o->serial_prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
				     strlen(o->serial_prefix)))
		return sim_run_fail("--serial-prefix wants 1 to 11 of A-Z and 0-9");
	memset(a, 0, sizeof(*a));
	if (snprintf(a->url, sizeof(a->url), "%s", o->enroll_url) >= (int)sizeof(a->url) ||
	    snprintf(a->cert, sizeof(a->cert), "%s", o->signer_cert) >= (int)sizeof(a->cert) ||
	    snprintf(a->key, sizeof(a->key), "%s", o->signer_key) >= (int)sizeof(a->key) ||
	    snprintf(a->chain, sizeof(a->chain), "%s", o->signer_chain ? o->signer_chain : "") >=
		(int)sizeof(a->chain))
		return sim_run_fail("ade-enroll: a path or URL is too long");
	return 0;
}

static void print_ade(const struct sim_opts *o, const char *phase, struct sim_stats *s,
		      struct sim_ctx *x)
{
	size_t upd = x->counts.ade_update_required, refused = x->counts.ade_refused;
	if (o->json) {
		print_phase(o, phase, s, NULL,
			    json_pack("{s:I,s:I,s:I}", "enrolled",
				      (json_int_t)(s->tasks - s->errors - upd), "update_required",
				      (json_int_t)upd, "refused", (json_int_t)refused));
		return;
	}
	printf("%s: %zu of %zu devices enrolled through ADE, %zu told to update first,"
	       " %zu refused, %.1f s\n",
	       phase, s->tasks - s->errors - upd, s->tasks, upd, refused, s->seconds);
}

int sim_run_ade_enroll(const struct sim_opts *o)
{
	struct sim_ade a;
	struct sim_ade_signer *signer = NULL;
	struct env e;
	struct sim_stats total = {0};
	struct sim_ctx *x = NULL;
	char(*serials)[16] = NULL, err[300];
	size_t n = 0, batch = o->batch ? o->batch : 2000;
	int rc = ade_check_opts(o, &a);
	if (rc == 0 && sim_ade_signer_load(&a, &signer, err, sizeof(err)) < 0)
		rc = sim_run_fail("ade-enroll: %s", err);
	if (rc == 0)
		rc = ade_serials(o, &serials, &n);
	if (rc != 0) {
		sim_ade_signer_free(signer);
		return rc;
	}
	rc = env_open(o, 1, keys_for(o, n), &e);
	if (rc == 0 && (x = new_ctx(&e, o)) == NULL)
		rc = sim_run_fail("out of memory");
	if (x)
		x->ade = signer;
	for (size_t off = 0; off < n && rc == 0; off += batch) {
		struct sim_device **devs = NULL;
		size_t k = n - off < batch ? n - off : batch;
		if (ade_devices(o, &a, serials + off, k, &devs) < 0) {
			rc = sim_run_fail("cannot prepare %zu devices", k);
			break;
		}
		rc = ade_run(&e, o, x, devs, k, off, &total);
		sim_state_free_devices(devs, k);
	}
	if (rc == 0)
		print_ade(o, "ade-enrol", &total, x);
	if (rc == 0 && total.errors)
		rc = sim_run_fail("ade-enroll: %zu of %zu devices failed; first: %s", total.errors,
				  total.tasks, total.first_error);
	env_close(&e);
	sim_stats_clear(&total);
	sim_ade_signer_free(signer);
	free(serials);
	free(x);
	return rc;
}

/* Devices erased after coming through ADE enrol again through ADE, as a
 * tablet does after its erase, before the sessions (connect). */
static int ade_reenrol(struct env *e, const struct sim_opts *o)
{
	struct sim_device **devs = NULL;
	struct sim_ade_signer *signer = NULL;
	struct sim_stats total = {0};
	struct sim_ctx *x = NULL;
	size_t n = 0;
	char err[300];
	if (sim_state_load(e->st, &e->pool, SIM_ERASED_ADE, 0, &devs, &n) < 0)
		return sim_run_fail("%s: cannot load the devices", o->state);
	int rc = 0;
	if (n == 0)
		goto out;
	/* one signer for the run: the one the first of them enrolled with */
	if (sim_ade_signer_load(devs[0]->ade, &signer, err, sizeof(err)) < 0) {
		rc = sim_run_fail("re-enrolment through ADE: %s", err);
		goto out;
	}
	if (sim_state_pool(e->st, &e->pool, o->key_type, n < o->key_pool ? n : o->key_pool,
			   key_announce) < 0 ||
	    (x = new_ctx(e, o)) == NULL) {
		rc = sim_run_fail("out of memory");
		goto out;
	}
	x->ade = signer;
	if ((rc = ade_run(e, o, x, devs, n, 0, &total)) == 0 && !o->json)
		print_ade(o, "ade-reenrol", &total, x);
	if (rc == 0 && total.errors)
		rc = sim_run_fail("re-enrolment through ADE: %zu of %zu devices failed; first: %s",
				  total.errors, total.tasks, total.first_error);
out:
	sim_stats_clear(&total);
	sim_state_free_devices(devs, n);
	sim_ade_signer_free(signer);
	free(x);
	return rc;
}

/* ---- sessions ---- */

static int load_for_sessions(struct env *e, const struct sim_opts *o, struct sim_device ***ret,
			     size_t *ret_n)
{
	if (o->device == NULL) {
		if (sim_state_load(e->st, &e->pool, SIM_ENROLLED, o->n, ret, ret_n) < 0)
			return sim_run_fail("%s: cannot load the devices", o->state);
		return 0;
	}
	struct sim_device *d = NULL;
	int rc = sim_state_load_one(e->st, &e->pool, o->device, &d);
	if (rc == AP_ENOTFOUND)
		return sim_run_fail("no device %s in %s", o->device, o->state);
	if (rc < 0)
		return sim_run_fail("%s: cannot load the device", o->state);
	if (!d->enrolled) {
		sim_device_free(d);
		return sim_run_fail("device %s is not enrolled", o->device);
	}
	if ((*ret = malloc(sizeof(**ret))) == NULL) {
		sim_device_free(d);
		return sim_run_fail("out of memory");
	}
	**ret = d;
	*ret_n = 1;
	return 0;
}

static void print_connect(const struct sim_opts *o, struct sim_stats *s, struct sim_ctx *x)
{
	if (o->json) {
		print_phase(o, "connect", s, NULL, session_extra(o, x));
		return;
	}
	printf("connect: %zu devices, %zu commands (%zu acknowledged, %zu error, %zu format error,"
	       " %zu notnow), %zu DDM syncs (%zu declarations fetched, %zu status reports),"
	       " %zu failed sessions, %.2f s\n",
	       s->tasks, (size_t)x->counts.commands, (size_t)x->counts.acknowledged,
	       (size_t)x->counts.errors, (size_t)x->counts.format_errors, (size_t)x->counts.notnow,
	       (size_t)x->counts.ddm_syncs, (size_t)x->counts.ddm_fetched,
	       (size_t)x->counts.ddm_reports, s->errors, s->seconds);
}

int sim_run_connect(const struct sim_opts *o)
{
	struct env e;
	struct sim_device **devs = NULL;
	struct sim_stats s = {0};
	struct sim_ctx *x = NULL;
	size_t n = 0;
	int rc;

	if ((rc = env_open(o, 1, 0, &e)) != 0 ||
	    (o->device == NULL && (rc = ade_reenrol(&e, o)) != 0) ||
	    (rc = load_for_sessions(&e, o, &devs, &n)) != 0)
		goto out;
	if ((x = new_ctx(&e, o)) == NULL) {
		rc = sim_run_fail("out of memory");
		goto out;
	}
	x->devs = devs;
	if ((rc = run(&e, o, sim_session_connect, x, n, o->rate, &s)) != 0)
		goto out;
	if (sim_state_save_all(e.st, devs, n) < 0)
		rc = sim_run_fail("%s: cannot save the devices", o->state);
	print_connect(o, &s, x);
	if (rc == 0 && s.errors)
		rc = sim_run_fail("connect: %zu of %zu sessions failed; first: %s", s.errors,
				  s.tasks, s.first_error);
out:
	sim_stats_clear(&s);
	sim_state_free_devices(devs, n);
	free(x);
	env_close(&e);
	return rc;
}

int sim_run_checkout(const struct sim_opts *o, const char *udid)
{
	struct env e;
	struct sim_device *d = NULL;
	struct sim_stats s = {0};
	struct sim_ctx *x = NULL;
	int rc;

	if ((rc = env_open(o, 1, 0, &e)) != 0)
		goto out;
	if (sim_state_load_one(e.st, &e.pool, udid, &d) < 0 || !d->enrolled) {
		rc = sim_run_fail("no enrolled device %s in %s", udid, o->state);
		goto out;
	}
	if ((x = new_ctx(&e, o)) == NULL) {
		rc = sim_run_fail("out of memory");
		goto out;
	}
	x->devs = &d;
	struct sim_opts one = *o;
	one.conc = one.threads = 1;
	if ((rc = run(&e, &one, sim_session_checkout, x, 1, 0, &s)) != 0)
		goto out;
	if (s.errors)
		rc = sim_run_fail("checkout: %s", s.first_error);
	else if (sim_state_save(e.st, d) < 0)
		rc = sim_run_fail("%s: cannot save the device", o->state);
	else
		printf("checked out %s\n", udid);
out:
	sim_stats_clear(&s);
	sim_device_free(d);
	free(x);
	env_close(&e);
	return rc;
}

/* ---- bench ---- */

/* POST with the staff token; *ret the parsed JSON answer (status 2xx). */
static int api_post(struct env *e, const struct sim_opts *o, const char *path, json_t *body,
		    json_t **ret)
{
	char err[300], *text = json_dumps(body, JSON_COMPACT), *answer = NULL;
	int status = 0;

	json_decref(body);
	if (text == NULL)
		return sim_run_fail("out of memory");
	int rc = sim_session_call(&e->net, "POST", path, o->token, text, &status, &answer, err,
				  sizeof(err));
	free(text);
	if (rc < 0)
		return sim_run_fail("%s", err);
	if (status < 200 || status > 299) {
		rc = sim_run_fail("POST %s: HTTP %d %.200s", path, status, answer);
		free(answer);
		return rc;
	}
	*ret = json_loads(answer, 0, NULL);
	free(answer);
	return *ret ? 0 : sim_run_fail("POST %s: the answer is not JSON", path);
}

/* Enrols `missing` devices with codes made through the API. */
static int bench_enrol(struct env *e, const struct sim_opts *o, size_t missing)
{
	struct sim_stats total = {0};
	struct server_use before = server_use(o->server_pid);
	int rc = 0;

	for (size_t done = 0; done < missing && rc == 0;) {
		size_t k = missing - done < MAX_CODE_USES ? missing - done : MAX_CODE_USES;
		json_t *ans = NULL;
		const char *code = NULL;
		if ((rc = api_post(e, o, "/api/v1/enroll-codes",
				   json_pack("{s:I}", "uses", (json_int_t)k), &ans)) != 0)
			break;
		if (json_unpack(ans, "{s:s}", "code", &code) < 0)
			rc = sim_run_fail("enroll-codes: no code in the answer");
		else
			rc = enrol_devices(e, o, code, k, &total);
		json_decref(ans);
		done += k;
	}
	if (rc == 0)
		print_phase(o, "enrol", &total, &before,
			    json_pack("{s:s,s:I}", "key_type", sim_key_kind_name(o->key_type),
				      "key_pool", (json_int_t)e->pool.n[o->key_type]));
	sim_stats_clear(&total);
	return rc;
}

/* One sessions phase over devs (fn: sim_session_connect or, for DDM,
 * sim_session_ddm); prints its line. */
static int bench_sessions(struct env *e, const struct sim_opts *o, const char *phase,
			  sim_task_fn fn, struct sim_device **devs, size_t n, double rate)
{
	struct sim_ctx *x = new_ctx(e, o);
	struct sim_stats s = {0};
	struct server_use before = server_use(o->server_pid);

	if (x == NULL)
		return sim_run_fail("out of memory");
	x->devs = devs;
	/* the measured DDM sessions end with a full report; ddm-prime's only
	 * report what changed (usually nothing: tokens alone) */
	x->ddm_full = fn == sim_session_ddm && strcmp(phase, "sessions") == 0;
	/* the command sessions measured alone, as before DDM (the drain, which
	 * answers DeclarativeManagement, syncs) */
	x->no_ddm = fn == sim_session_connect && strcmp(phase, "drain") != 0;
	int rc = run(e, o, fn, x, n, rate, &s);
	if (rc == 0)
		print_phase(o, phase, &s, &before, session_extra(o, x));
	if (rc == 0 && s.errors && fn == sim_session_ddm && !o->verbose)
		fprintf(stderr, "ardoise-sim: %s: %zu of %zu failed; first: %s\n", phase, s.errors,
			s.tasks, s.first_error);
	sim_stats_clear(&s);
	free(x);
	return rc;
}

/* Each device forgets its DeclarationsToken, one declaration and what it
 * reported: its next sync is tokens, declaration-items, that declaration
 * and a full status report. */
static void bench_ddm_forget(struct sim_device **devs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sim_ddm *d = &devs[i]->ddm;
		d->token[0] = '\0';
		if (d->n_decls)
			sim_ddm_drop(devs[i], d->decls[d->n_decls - 1].identifier);
		sim_ddm_reset(d);
	}
}

/* bench --ddm after the enrolment: every device syncs once (DDM on, all
 * its declarations), then the measured sessions. */
static int bench_ddm(struct env *e, const struct sim_opts *o, struct sim_device **devs, size_t n)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		devs[i]->ddm.enabled = 1;
	if ((rc = bench_sessions(e, o, "ddm-prime", sim_session_ddm, devs, n, 0)) != 0)
		return rc;
	bench_ddm_forget(devs, n);
	return bench_sessions(e, o, "sessions", sim_session_ddm, devs, n, o->rate);
}

/* Queues o->command for each of devs[0..n), one request each; prints
 * the queue line. */
static int bench_queue_each(struct env *e, const struct sim_opts *o, struct sim_device **devs,
			    size_t n)
{
	struct server_use before = server_use(o->server_pid);
	double t0 = now_s();
	char path[96];
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		json_t *ans = NULL;
		snprintf(path, sizeof(path), "/api/v1/devices/%s/commands", devs[i]->serial);
		rc = api_post(e, o, path, json_pack("{s:s}", "type", o->command), &ans);
		json_decref(ans);
	}
	if (rc != 0)
		return rc;
	struct sim_stats s = {.tasks = n, .seconds = now_s() - t0};
	print_phase(o, "queue", &s, &before,
		    json_pack("{s:s,s:I,s:I}", "command", o->command, "skipped", (json_int_t)0,
			      "failed", (json_int_t)0));
	return 0;
}

/* Queues o->command for every enrolled tablet; prints its line. */
static int bench_queue(struct env *e, const struct sim_opts *o)
{
	struct server_use before = server_use(o->server_pid);
	double t0 = now_s();
	json_t *ans = NULL;
	json_int_t queued = 0, skipped = 0, failed = 0;
	int rc = api_post(e, o, "/api/v1/commands/bulk",
			  json_pack("{s:s,s:b}", "type", o->command, "all", 1), &ans);

	if (rc != 0)
		return rc;
	json_unpack(ans, "{s:I,s:I,s:I}", "queued", &queued, "skipped", &skipped, "failed",
		    &failed);
	json_decref(ans);
	struct sim_stats s = {.tasks = (size_t)queued, .seconds = now_s() - t0};
	print_phase(o, "queue", &s, &before,
		    json_pack("{s:s,s:I,s:I}", "command", o->command, "skipped", skipped, "failed",
			      failed));
	return 0;
}

static int bench_check(const struct sim_opts *o)
{
	enum ap_cmd_type t;

	if (o->n == 0 || o->token == NULL)
		return sim_run_fail("bench: give -n N and --token STAFF_TOKEN");
	if (ap_cmd_from_name(o->command, &t) < 0)
		return sim_run_fail("bench: unknown command type '%s'", o->command);
	return 0;
}

int sim_run_bench(const struct sim_opts *o)
{
	struct env e;
	struct sim_device **devs = NULL;
	size_t have = 0, n = 0;
	int rc;

	if ((rc = bench_check(o)) != 0)
		return rc;
	if ((rc = env_open(o, 1, keys_for(o, o->n), &e)) != 0)
		goto out;
	if (sim_state_count(e.st, SIM_ENROLLED, &have) < 0) {
		rc = sim_run_fail("%s: cannot count the devices", o->state);
		goto out;
	}
	if (have < o->n && (rc = bench_enrol(&e, o, o->n - have)) != 0)
		goto out;
	if ((rc = load_for_sessions(&e, o, &devs, &n)) != 0)
		goto out;
	/* new devices have their initial inventory queued: answer it first */
	if (have < o->n &&
	    (rc = bench_sessions(&e, o, "drain", sim_session_connect, devs, n, 0)) != 0)
		goto out;
	/* TLS sessions to resume come from a first, full handshake */
	if (o->resume && !o->ddm &&
	    (rc = bench_sessions(&e, o, "prime", sim_session_connect, devs, n, 0)) != 0)
		goto out;
	if (o->ddm)
		rc = bench_ddm(&e, o, devs, n);
	else if ((rc = o->queue_each ? bench_queue_each(&e, o, devs, n) : bench_queue(&e, o)) == 0)
		rc = bench_sessions(&e, o, "sessions", sim_session_connect, devs, n, o->rate);
	if (rc != 0)
		goto out;
	if (sim_state_save_all(e.st, devs, n) < 0)
		rc = sim_run_fail("%s: cannot save the devices", o->state);
out:
	sim_state_free_devices(devs, n);
	env_close(&e);
	return rc;
}

/* ---- list, lock ---- */

static const char *state_word(const struct sim_device *d)
{
	return d->erased ? "erased" : d->enrolled ? "enrolled" : "unenrolled";
}

static json_t *ddm_json(const struct sim_device *d)
{
	const struct sim_ddm *m = &d->ddm;
	json_t *decls = json_array();

	for (size_t i = 0; i < m->n_decls; i++) {
		const struct sim_decl *x = &m->decls[i];
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "kind",
				      ap_ddm_kind_name(x->kind), "identifier", x->identifier,
				      "type", x->type, "server_token", x->server_token, "active",
				      x->active, "valid", x->valid ? "valid" : "invalid");
		json_t *r = x->reasons ? json_loads(x->reasons, 0, NULL) : NULL;
		if (r)
			json_object_set_new(e, "reasons", r);
		json_array_append_new(decls, e);
	}
	json_t *j =
	    json_pack("{s:s,s:s,s:o,s:s}", "enabled", m->enabled ? "on" : "off", "token", m->token,
		      "declarations", decls, "install_state", sim_install_name(m->install));
	if (m->pending_os[0])
		json_object_set_new(j, "pending_version",
				    json_pack("{s:s,s:s,s:s,s:s}", "os_version", m->pending_os,
					      "build_version", m->pending_build, "declaration",
					      m->update_id, "deadline", m->deadline));
	if (m->fail_count)
		json_object_set_new(j, "failure",
				    json_pack("{s:I,s:s,s:s}", "count", (json_int_t)m->fail_count,
					      "reason", m->fail_reason, "timestamp", m->fail_at));
	json_object_set_new(j, "update_fail",
			    d->update_fail_on ? json_string(d->update_fail) : json_null());
	return j;
}

static json_t *device_json(const struct sim_device *d)
{
	json_t *profiles = json_array(), *apps = json_array();
	for (size_t i = 0; i < d->n_profiles; i++)
		json_array_append_new(profiles,
				      json_pack("{s:s,s:s,s:s,s:b}", "identifier",
						d->profiles[i].identifier, "uuid",
						d->profiles[i].uuid, "name", d->profiles[i].name,
						"managed", d->profiles[i].managed));
	for (size_t i = 0; i < d->n_apps; i++)
		json_array_append_new(
		    apps, json_pack("{s:s,s:s,s:b}", "identifier", d->apps[i].identifier, "version",
				    d->apps[i].short_version, "managed", d->apps[i].managed));
	json_t *j =
	    json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:f,s:f,s:o,s:o}", "udid",
		      d->udid, "serial", d->serial, "model", d->model, "product", d->model,
		      "os_version", d->os_version, "build_version", d->build_version, "state",
		      state_word(d), "locked", d->locked, "passcode_present", d->passcode_present,
		      "supervised", d->supervised, "lost_mode", d->lost_mode, "latitude",
		      d->latitude, "longitude", d->longitude, "profiles", profiles, "apps", apps);
	json_object_set_new(j, "ddm", ddm_json(d));
	json_object_set_new(j, "awaiting_configuration", json_boolean(d->awaiting_configuration));
	json_object_set_new(j, "ade",
			    d->ade ? json_pack("{s:s,s:s?}", "url", d->ade->url, "refusal",
					       d->ade->refusal[0] ? d->ade->refusal : NULL)
				   : json_null());
	return j;
}

static void list_print(const struct sim_opts *o, struct sim_device **devs, size_t n)
{
	if (o->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, device_json(devs[i]));
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(a);
		return;
	}
	printf("%-25s  %-10s  %-10s  %-10s  %-7s  %-6s  %-4s  %-8s  %8s  %4s  %-3s  %s\n", "UDID",
	       "SERIAL", "STATE", "PRODUCT", "OS", "LOCKED", "LOST", "PASSCODE", "PROFILES", "APPS",
	       "DDM", "UPDATE");
	for (size_t i = 0; i < n; i++) {
		const struct sim_device *d = devs[i];
		printf("%-25s  %-10s  %-10s  %-10s  %-7s  %-6s  %-4s  %-8s  %8zu  %4zu  %-3s  "
		       "%s%s%s\n",
		       d->udid, d->serial, state_word(d), d->model, d->os_version,
		       d->locked ? "yes" : "no", d->lost_mode ? "yes" : "no",
		       d->passcode_present ? "yes" : "no", d->n_profiles, d->n_apps,
		       d->ddm.enabled ? "on" : "off", sim_install_name(d->ddm.install),
		       d->ddm.pending_os[0] ? " " : "", d->ddm.pending_os);
	}
}

int sim_run_list(const struct sim_opts *o)
{
	struct env e;
	struct sim_device **devs = NULL;
	size_t n = 0;
	int rc = env_open(o, 0, 0, &e);

	if (rc == 0 && sim_state_load(e.st, &e.pool, SIM_ALL, 0, &devs, &n) < 0)
		rc = sim_run_fail("%s: cannot load the devices", o->state);
	if (rc == 0)
		list_print(o, devs, n);
	sim_state_free_devices(devs, n);
	env_close(&e);
	return rc;
}

int sim_run_lock(const struct sim_opts *o, const char *udid, int locked)
{
	struct env e;
	int rc = env_open(o, 0, 0, &e);

	if (rc == 0) {
		int r = sim_state_set_locked(e.st, udid, locked);
		if (r == AP_ENOTFOUND)
			rc = sim_run_fail("no device %s in %s", udid, o->state);
		else if (r < 0)
			rc = sim_run_fail("%s: %s", o->state, ap_strerror(r));
		else
			printf("%s %s\n", udid, locked ? "locked (answers NotNow)" : "unlocked");
	}
	env_close(&e);
	return rc;
}

int sim_run_update_fail(const struct sim_opts *o, const char *udid, const char *reason)
{
	struct env e;
	int rc = env_open(o, 0, 0, &e);

	if (rc == 0) {
		int r = sim_state_set_update_fail(e.st, udid, reason);
		if (r == AP_ENOTFOUND)
			rc = sim_run_fail("no device %s in %s", udid, o->state);
		else if (r < 0)
			rc = sim_run_fail("%s: %s", o->state, ap_strerror(r));
		else if (reason)
			printf("%s: its software update installs fail (%s)\n", udid, reason);
		else
			printf("%s: its software update installs succeed\n", udid);
	}
	env_close(&e);
	return rc;
}
