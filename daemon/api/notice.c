/* notice.c - the daily notice by e-mail: gathered on a loop, sent from a
 * work thread, logged with counts and audited.
 *
 *   POST /api/v1/notices/send[?dry_run=1]   a run now (technicians); the
 *                                           dry run answers what would go
 *   GET  /api/v1/notices/last               the latest run of this process
 */
#include "notice.h"
#include "ap_buf.h"
#include "ap_err.h"
#include "api.h"
#include "api_fleet.h"
#include "api_routes.h"
#include "authz.h"
#include "db_account.h"
#include "db_audit.h"
#include "db_notice.h"
#include "db_school.h"
#include "isodate.h"
#include "log.h"
#include "mail.h"
#include "mdm.h"
#include "push.h"
#include "store.h"
#include "worker.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_MAX       100	  /* rows written per list and collège; the rest counted */
#define BODY_MAX       (1u << 20) /* one message's text */
#define LEAVER_DAYS    7	  /* a last day within this many days makes a leaver */
#define SEND_TIMEOUT_S 60	  /* one message */
#define DAY	       86400

/* ---- what is gathered --------------------------------------------------------------------------- */

/* One collège's lists. */
struct bucket {
	char uai[9];
	char name[DB_SCHOOL_NAME_MAX + 1];
	size_t n[DB_NOTICE_NKINDS];		    /* rows found */
	struct db_notice_item *v[DB_NOTICE_NKINDS]; /* the first LIST_MAX of them */
};

struct gather {
	struct bucket *b;
	size_t nb;
	struct bucket fleet; /* lists without a collège: geolocation requests */
	int64_t waiting;     /* tablets with commands waiting */
	struct push_status push;
	int64_t now, today;
	int oom;
};

static int add_school(const struct db_school *s, void *arg)
{
	struct gather *g = arg;
	void *p = realloc(g->b, (g->nb + 1) * sizeof(*g->b));
	if (p == NULL)
		return g->oom = 1;
	g->b = p;
	memset(&g->b[g->nb], 0, sizeof(*g->b));
	snprintf(g->b[g->nb].uai, sizeof(g->b[g->nb].uai), "%s", s->uai);
	snprintf(g->b[g->nb].name, sizeof(g->b[g->nb].name), "%s", s->name);
	g->nb++;
	return 0;
}

static int cmp_bucket(const void *a, const void *b)
{
	return strcmp(((const struct bucket *)a)->uai, ((const struct bucket *)b)->uai);
}

static struct bucket *bucket_of(struct gather *g, const char *uai)
{
	struct bucket key;
	snprintf(key.uai, sizeof(key.uai), "%s", uai);
	return g->nb ? bsearch(&key, g->b, g->nb, sizeof(*g->b), cmp_bucket) : NULL;
}

static int keep_item(const struct db_notice_item *it, void *arg)
{
	struct gather *g = arg;
	struct bucket *b =
	    it->kind == DB_NOTICE_LOCATE_PENDING ? &g->fleet : bucket_of(g, it->school);
	if (b == NULL)
		return 0; /* a tablet of no collège: nobody's list but a technician's */
	size_t i = b->n[it->kind]++;
	if (i >= LIST_MAX)
		return 0;
	if (b->v[it->kind] == NULL && (b->v[it->kind] = calloc(LIST_MAX, sizeof(*it))) == NULL)
		return g->oom = 1;
	b->v[it->kind][i] = *it;
	return 0;
}

static void gather_free(struct gather *g)
{
	for (size_t i = 0; i < g->nb; i++)
		for (int k = 0; k < DB_NOTICE_NKINDS; k++)
			free(g->b[i].v[k]);
	for (int k = 0; k < DB_NOTICE_NKINDS; k++)
		free(g->fleet.v[k]);
	free(g->b);
}

static int gather(struct worker *w, struct gather *g)
{
	memset(g, 0, sizeof(*g));
	g->now = db_now();
	g->today = isodate_day_start(g->now);
	int rc = db_school_list(w->db, NULL, 0, add_school, g);
	for (int k = 0; rc == 0 && k < DB_NOTICE_NKINDS; k++)
		rc = db_notice_items(w->db, k, g->today, isodate_day_add(g->today, LEAVER_DAYS + 1),
				     keep_item, g);
	if (rc == 0)
		rc = db_notice_waiting(w->db, &g->waiting);
	if (rc == 0 && g->oom)
		rc = AP_ENOMEM;
	push_status_get(w->srv, &g->push);
	return rc;
}

/* ---- the words ---------------------------------------------------------------------------------- */

/* Days and times through isodate's formatter, as French people write them:
 * "02/12/2026", "02/12/2026 à 10:14". */
static const char *fr_day(int64_t t, char out[16])
{
	char iso[ISODATE_DAY_LEN + 1];
	isodate_format_day(t, iso);
	snprintf(out, 16, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
	return out;
}

static const char *fr_time(int64_t t, char out[32])
{
	char iso[64];
	isodate_format_time(t, iso);
	snprintf(out, 32, "%.2s/%.2s/%.4s à %.5s", iso + 8, iso + 5, iso, iso + 11);
	return out;
}

static const char *fr_state(const char *s)
{
	static const char *const names[][2] = {
	    {"stock", "en stock"},	 {"loaned", "prêtée"}, {"returning", "en retour"},
	    {"repair", "en réparation"}, {"lost", "perdue"},   {"stolen", "volée"},
	    {"retired", "retirée"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i][0]) == 0)
			return names[i][1];
	return s;
}

/* "DMPA00000001 (T-001)" */
static void put_tablet(struct ap_buf *b, const struct db_notice_item *it)
{
	ap_buf_printf(b, "tablette %s", it->serial[0] ? it->serial : "sans numéro de série");
	if (it->asset_tag[0])
		ap_buf_printf(b, " (%s)", it->asset_tag);
}

/* "Léa Dupont (3A)", "Mme Durand (enseignant)": never the external id */
static void put_holder(struct ap_buf *b, const struct db_notice_item *it)
{
	ap_buf_appends(b, it->name);
	if (strcmp(it->person_kind, "teacher") == 0)
		ap_buf_appends(b, " (enseignant)");
	else if (it->class_name[0])
		ap_buf_printf(b, " (%s)", it->class_name);
}

static void line_overdue(struct ap_buf *b, const struct db_notice_item *it)
{
	char d[16];
	put_holder(b, it);
	ap_buf_appends(b, " : ");
	put_tablet(b, it);
	ap_buf_printf(b, ", à rendre le %s", fr_day(it->at, d));
}

static void line_leaver(struct ap_buf *b, const struct db_notice_item *it)
{
	char d[16];
	put_holder(b, it);
	ap_buf_printf(b, " : dernier jour le %s, ", fr_day(it->at, d));
	put_tablet(b, it);
	ap_buf_appends(b, " à récupérer");
}

static void line_theft(struct ap_buf *b, const struct db_notice_item *it)
{
	char d1[16], d2[16];
	ap_buf_printf(b, "incident n° %lld : ", (long long)it->id);
	put_tablet(b, it);
	ap_buf_printf(b, ", vol du %s déclaré le %s", fr_day(it->at, d1), fr_day(it->at2, d2));
	if (it->name[0]) {
		ap_buf_appends(b, ", prêtée à ");
		put_holder(b, it);
	}
}

static void line_lost(struct ap_buf *b, const struct db_notice_item *it)
{
	put_tablet(b, it);
	ap_buf_printf(b, ", %s", fr_state(it->device_state));
}

static void line_locate(struct ap_buf *b, const struct db_notice_item *it)
{
	char t[32];
	ap_buf_printf(b, "demande n° %lld : ", (long long)it->id);
	put_tablet(b, it);
	if (it->school[0])
		ap_buf_printf(b, " du collège %s", it->school);
	ap_buf_printf(b, ", demandée par %s le %s", it->requested_by, fr_time(it->at, t));
}

/* Each list: its key in JSON, its title, how a row reads. */
static const struct {
	const char *key;
	const char *title;
	void (*line)(struct ap_buf *b, const struct db_notice_item *it);
} lists[DB_NOTICE_NKINDS] = {
    [DB_NOTICE_OVERDUE] = {"overdue", "Prêts en retard", line_overdue},
    [DB_NOTICE_LEAVER] = {"leavers",
			  "Départs du collège (passés ou dans les 7 jours) avec un prêt en cours",
			  line_leaver},
    [DB_NOTICE_NO_COMPLAINT] = {"theft_without_complaint", "Vols sans référence de plainte",
				line_theft},
    [DB_NOTICE_LOST_MODE] = {"lost_mode", "Tablettes encore en mode perdu", line_lost},
    [DB_NOTICE_LOCATE_PENDING] = {"locate_pending",
				  "Demandes de géolocalisation en attente d'une seconde "
				  "approbation",
				  line_locate},
};

static void put_list(struct ap_buf *b, const struct bucket *bk, int k)
{
	size_t shown = bk->n[k] < LIST_MAX ? bk->n[k] : LIST_MAX;
	ap_buf_printf(b, "\n%s (%zu) :\n", lists[k].title, bk->n[k]);
	for (size_t i = 0; i < shown; i++) {
		ap_buf_appends(b, "  - ");
		lists[k].line(b, &bk->v[k][i]);
		ap_buf_appends(b, "\n");
	}
	if (bk->n[k] > shown)
		ap_buf_printf(b, "  … et %zu autres (voir Ardoise)\n", bk->n[k] - shown);
}

/* ---- one message per account -------------------------------------------------------------------- */

struct notice_mail {
	char account[65];
	char role[16];
	char to[MAIL_ADDRESS_MAX + 1];
	char subject[160];
	json_t *counts;	 /* {"overdue": n, ...} */
	json_t *schools; /* the collèges it speaks of */
	char *body;	 /* the text (the dry run shows it) */
	char *data;	 /* as sent */
	size_t len;
};

/* The collèges' lists of account a into b; the number of rows. */
static size_t school_part(const struct gather *g, const struct db_account *a, struct ap_buf *b,
			  struct notice_mail *m)
{
	size_t total = 0;
	for (size_t s = 0; s < a->n_schools; s++) {
		const struct bucket *bk = bucket_of((struct gather *)g, a->schools[s]);
		size_t here = 0;
		for (int k = 0; bk && k < DB_NOTICE_LOCATE_PENDING; k++)
			here += bk->n[k];
		if (here == 0)
			continue;
		ap_buf_printf(b, "\n== %s (%s) ==\n", bk->name, bk->uai);
		json_array_append_new(m->schools, json_string(bk->uai));
		for (int k = 0; k < DB_NOTICE_LOCATE_PENDING; k++) {
			if (bk->n[k] == 0)
				continue;
			put_list(b, bk, k);
			json_object_set_new(
			    m->counts, lists[k].key,
			    json_integer((json_int_t)(bk->n[k] + json_integer_value(json_object_get(
								     m->counts, lists[k].key)))));
		}
		total += here;
	}
	return total;
}

/* The technicians' part into b; the number of points. */
static size_t tech_part(const struct gather *g, const struct config *c, struct ap_buf *b,
			struct notice_mail *m)
{
	const struct push_status *p = &g->push;
	size_t total = 0;
	char d[16];
	if (g->fleet.n[DB_NOTICE_LOCATE_PENDING]) {
		put_list(b, &g->fleet, DB_NOTICE_LOCATE_PENDING);
		json_object_set_new(m->counts, lists[DB_NOTICE_LOCATE_PENDING].key,
				    json_integer((json_int_t)g->fleet.n[DB_NOTICE_LOCATE_PENDING]));
		total += g->fleet.n[DB_NOTICE_LOCATE_PENDING];
	}
	int64_t left = p->cert_not_after - g->now;
	if (p->enabled && p->usable && !p->cert_problem && p->cert_not_after &&
	    left < c->push_expiry_warn_days * DAY) {
		ap_buf_printf(
		    b,
		    "\nCertificat de push : il expire le %s (dans %lld jours). "
		    "Renouvelez-le avec le même compte Apple pour garder le même sujet.\n",
		    fr_day(p->cert_not_after, d), (long long)(left > 0 ? left / DAY : 0));
		json_object_set_new(m->counts, "push_certificate_expiring", json_integer(1));
		total++;
	}
	/* push off, or failing: its certificate, or APNs not reached (the
	 * connection waits to try again) */
	const char *off = !p->enabled ? "désactivé (aucun certificat configuré)"
			  : !p->usable || p->cert_problem
			      ? "en échec (certificat inutilisable ou refusé)"
			  : strcmp(p->state, "backoff") == 0 ? "en échec (APNs injoignable)"
							     : NULL;
	if (off && g->waiting > 0) {
		ap_buf_printf(b,
			      "\nPush %s alors que des commandes attendent sur %lld tablette%s : "
			      "elles ne les recevront qu'à leur prochaine connexion.\n",
			      off, (long long)g->waiting, g->waiting > 1 ? "s" : "");
		json_object_set_new(m->counts, "push_off_commands_waiting",
				    json_integer((json_int_t)g->waiting));
		total++;
	}
	return total;
}

static void mail_free(struct notice_mail *m)
{
	json_decref(m->counts);
	json_decref(m->schools);
	free(m->body);
	free(m->data);
}

/* The message for account a: 1 into *ret_some when it has something to
 * say (m filled), 0 when not (m empty). */
static int build(struct worker *w, const struct gather *g, const struct db_account *a,
		 const char *from, struct notice_mail *m, int *ret_some)
{
	const struct config *c = &w->srv->cfg;
	struct ap_buf b;
	char d[16], url[300];
	size_t n;
	memset(m, 0, sizeof(*m));
	m->counts = json_object();
	m->schools = json_array();
	ap_buf_init(&b, BODY_MAX);
	ap_buf_printf(&b, "Bonjour %s,\n\nVoici l'avis quotidien d'Ardoise du %s",
		      a->display_name[0] ? a->display_name : a->name, fr_day(g->now, d));
	ap_buf_appends(&b, a->role == DB_ROLE_TECHNICIAN ? " pour la flotte.\n"
							 : " pour vos collèges.\n");
	n = a->role == DB_ROLE_TECHNICIAN ? tech_part(g, c, &b, m) : school_part(g, a, &b, m);
	mdm_public_url(w, url, sizeof(url));
	ap_buf_printf(&b,
		      "\n-- \nAvis envoyé par Ardoise (%s) les jours où il y a quelque chose "
		      "à signaler.\n%s/\n",
		      c->organization, url);
	*ret_some = n > 0;
	if (n == 0 || b.data == NULL) {
		ap_buf_free(&b);
		mail_free(m);
		memset(m, 0, sizeof(*m));
		return n == 0 ? 0 : AP_ETOOBIG;
	}
	snprintf(m->account, sizeof(m->account), "%s", a->name);
	snprintf(m->role, sizeof(m->role), "%s", db_role_name(a->role));
	snprintf(m->to, sizeof(m->to), "%s", a->email);
	snprintf(m->subject, sizeof(m->subject), "Ardoise : %zu point%s à suivre au %s", n,
		 n > 1 ? "s" : "", fr_day(g->now, d));
	m->body = ap_buf_steal(&b, NULL);
	struct mail_msg msg = {from,	   c->organization, a->email,	 a->display_name,
			       m->subject, m->body,	    c->hostname, g->now};
	int rc = mail_compose(&msg, &m->data, &m->len);
	if (rc < 0) {
		mail_free(m);
		memset(m, 0, sizeof(*m));
	}
	return rc;
}

/* ---- a run -------------------------------------------------------------------------------------- */

struct run {
	uv_work_t work;
	struct worker *w;
	int64_t id;
	char actor[65]; /* "system" for the daily run, else who asked */
	const char *origin;
	char from[CONFIG_STR + 16];
	struct notice_mail *mails;
	size_t n_mails;
	size_t no_address, bad_address; /* accounts skipped */
	size_t sent, failed;
	char error[300]; /* the first failure, as mail_send() says it */
	int64_t started_at;
};

/* The latest run of this process, for GET /api/v1/notices/last and for
 * the daily job (one run at a time). */
static struct {
	uv_once_t once;
	uv_mutex_t lock;
	int running;
	int64_t last_id;
	int64_t daily_day; /* the local day whose daily run was started or found */
	json_t *last;	   /* the latest run's figures, NULL before the first */
	atomic_int stop;
} state = {UV_ONCE_INIT};

static void state_init(void)
{
	uv_mutex_init(&state.lock);
}

/* Takes the one run slot: 0, or AP_EBUSY when a run is in flight. */
static int take_slot(int64_t *ret_id)
{
	uv_once(&state.once, state_init);
	uv_mutex_lock(&state.lock);
	int busy = state.running;
	if (!busy) {
		state.running = 1;
		*ret_id = ++state.last_id;
	}
	uv_mutex_unlock(&state.lock);
	return busy ? AP_EBUSY : 0;
}

static json_t *run_json(const struct run *run, const char *st, int64_t finished)
{
	return json_pack("{s:I,s:s,s:s,s:s,s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:s?}", "run",
			 (json_int_t)run->id, "state", st, "origin", run->origin, "by", run->actor,
			 "started_at", api_fleet_time(run->started_at), "finished_at",
			 api_fleet_time(finished), "recipients", (json_int_t)run->n_mails, "sent",
			 (json_int_t)run->sent, "failed", (json_int_t)run->failed, "no_address",
			 (json_int_t)run->no_address, "bad_address", (json_int_t)run->bad_address,
			 "error", run->error[0] ? run->error : NULL);
}

/* Frees the slot; last (stolen; NULL: a run that never started) becomes
 * the latest run's figures. */
static void release_slot(json_t *last)
{
	uv_mutex_lock(&state.lock);
	if (last) {
		json_decref(state.last);
		state.last = last;
	}
	state.running = 0;
	uv_mutex_unlock(&state.lock);
}

struct collect {
	struct worker *w;
	const struct gather *g;
	struct run *run;
	int rc;
};

static int collect_one(const struct db_account *a, void *arg)
{
	struct collect *c = arg;
	struct run *run = c->run;
	struct notice_mail m;
	int some = 0;
	if (a->disabled || a->role == DB_ROLE_AUDITOR || a->role == DB_ROLE_MONITORING)
		return 0;
	if (a->email[0] == '\0') {
		run->no_address++;
		return 0;
	}
	if (!mail_address_ok(a->email)) { /* stored otherwise than through the API */
		run->bad_address++;
		return 0;
	}
	if ((c->rc = build(c->w, c->g, a, run->from, &m, &some)) < 0)
		return 1;
	if (!some)
		return 0;
	void *p = realloc(run->mails, (run->n_mails + 1) * sizeof(*run->mails));
	if (p == NULL) {
		mail_free(&m);
		c->rc = AP_ENOMEM;
		return 1;
	}
	run->mails = p;
	run->mails[run->n_mails++] = m;
	return 0;
}

static void run_free(struct run *run)
{
	if (run == NULL)
		return;
	for (size_t i = 0; i < run->n_mails; i++)
		mail_free(&run->mails[i]);
	free(run->mails);
	free(run);
}

/* A new run with every message composed (none sent). */
static int prepare(struct worker *w, const char *actor, const char *origin, struct run **ret)
{
	const struct config *c = &w->srv->cfg;
	struct gather g;
	struct run *run = calloc(1, sizeof(*run));
	if (run == NULL)
		return AP_ENOMEM;
	run->w = w;
	run->origin = origin;
	snprintf(run->actor, sizeof(run->actor), "%s", actor);
	if (c->mail_from[0])
		snprintf(run->from, sizeof(run->from), "%s", c->mail_from);
	else
		snprintf(run->from, sizeof(run->from), "ardoise@%s", c->hostname);
	if (!mail_address_ok(run->from)) {
		free(run);
		return AP_ECONFIG; /* [mail] from is checked at load: a hostname unfit */
	}
	int rc = gather(w, &g);
	struct collect col = {w, &g, run, 0};
	if (rc == 0)
		rc = db_account_list(w->db, collect_one, &col);
	if (rc == 0)
		rc = col.rc;
	gather_free(&g);
	if (rc < 0) {
		run_free(run);
		return rc;
	}
	run->started_at = db_now();
	*ret = run;
	return 0;
}

/* The work thread: the messages, one connection for all. */
static void send_all(uv_work_t *req)
{
	struct run *run = req->data;
	const struct config *c = &run->w->srv->cfg;
	struct mail_server s = {c->mail_smtp_url, c->mail_username, c->mail_password,
				SEND_TIMEOUT_S};
	struct mail_session *ms = NULL;
	int down = 0;
	if (mail_session_new(&s, &ms) < 0) {
		snprintf(run->error, sizeof(run->error), "out of memory");
		down = 1;
	}
	for (size_t i = 0; i < run->n_mails; i++) {
		const struct notice_mail *m = &run->mails[i];
		char err[sizeof(run->error)];
		if (down || atomic_load(&state.stop)) {
			run->failed++;
			continue;
		}
		if (mail_send(ms, run->from, m->to, m->data, m->len, err, sizeof(err), &down) ==
		    0) {
			run->sent++;
			continue;
		}
		run->failed++;
		if (run->error[0] == '\0')
			snprintf(run->error, sizeof(run->error), "%s", err);
	}
	if (run->failed && run->error[0] == '\0')
		snprintf(run->error, sizeof(run->error), "stopped: the daemon is shutting down");
	mail_session_free(ms);
}

/* Back on the loop: the log line, the audit row, the slot freed. */
static void finish(struct run *run)
{
	char esc[400];
	json_t *detail =
	    json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "origin", run->origin, "recipients",
		      (json_int_t)run->n_mails, "sent", (json_int_t)run->sent, "failed",
		      (json_int_t)run->failed, "no_address", (json_int_t)run->no_address,
		      "bad_address", (json_int_t)run->bad_address);
	char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = db_audit_append(run->w->db, run->actor, "notice.sent", run->origin, NULL,
				 text ? text : "{}");
	free(text);
	json_decref(detail);
	if (run->failed)
		log_warn("notice_failed",
			 "run=%lld origin=%s recipients=%zu sent=%zu failed=%zu error=%s",
			 (long long)run->id, run->origin, run->n_mails, run->sent, run->failed,
			 log_esc(run->error, esc, sizeof(esc)));
	else
		log_info("notice_sent",
			 "run=%lld origin=%s recipients=%zu sent=%zu no_address=%zu "
			 "bad_address=%zu",
			 (long long)run->id, run->origin, run->n_mails, run->sent, run->no_address,
			 run->bad_address);
	if (rc < 0)
		log_error("notice_audit_failed", "run=%lld error=\"%s\"", (long long)run->id,
			  ap_strerror(rc));
	release_slot(run_json(run, "done", db_now()));
	run_free(run);
}

static void after_send(uv_work_t *req, int status)
{
	struct run *run = req->data;
	if (status == UV_ECANCELED && run->error[0] == '\0')
		snprintf(run->error, sizeof(run->error), "canceled");
	finish(run);
}

/* Takes the slot and starts a run: sends from a work thread, or finishes
 * at once when nobody has anything to hear.  *ret_status (may be NULL):
 * the run's figures as it starts (new reference).  AP_EBUSY when a run is
 * in flight. */
static int start(struct worker *w, const char *actor, const char *origin, json_t **ret_status)
{
	struct run *run = NULL;
	int64_t id;
	int rc = take_slot(&id);
	if (rc < 0)
		return rc;
	if ((rc = prepare(w, actor, origin, &run)) < 0) {
		release_slot(NULL);
		return rc;
	}
	run->id = id;
	if (ret_status)
		*ret_status = run_json(run, run->n_mails ? "sending" : "done",
				       run->n_mails ? 0 : run->started_at);
	if (run->n_mails == 0) {
		finish(run);
		return 0;
	}
	run->work.data = run;
	uv_mutex_lock(&state.lock);
	json_decref(state.last);
	state.last = run_json(run, "sending", 0);
	uv_mutex_unlock(&state.lock);
	if ((rc = uv_queue_work(&w->loop, &run->work, send_all, after_send)) < 0) {
		snprintf(run->error, sizeof(run->error), "cannot start the sending thread");
		run->failed = run->n_mails;
		finish(run);
	}
	return 0;
}

int notice_job(struct worker *w)
{
	const struct config *c = &w->srv->cfg;
	int64_t now = db_now(), today = isodate_day_start(now);
	int done = 0;
	if (c->mail_smtp_url[0] == '\0' || (now - today) / 3600 < c->mail_hour)
		return 0;
	uv_once(&state.once, state_init);
	uv_mutex_lock(&state.lock);
	done = state.daily_day == today || state.running;
	uv_mutex_unlock(&state.lock);
	if (done)
		return 0;
	int rc = db_notice_done_since(w->db, "notice.sent", "system", today, &done);
	if (rc < 0)
		return rc;
	uv_mutex_lock(&state.lock);
	state.daily_day = today;
	uv_mutex_unlock(&state.lock);
	return done ? 0 : start(w, "system", "daily", NULL);
}

void notice_stop(void)
{
	atomic_store(&state.stop, 1);
}

/* ---- the routes --------------------------------------------------------------------------------- */

static json_t *mail_json(const struct notice_mail *m)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:s}", "account", m->account, "role", m->role,
			 "to", m->to, "subject", m->subject, "schools", m->schools, "counts",
			 m->counts, "body", m->body);
}

static void dry_run(struct req *r)
{
	struct run *run = NULL;
	int rc = prepare(r->w, r->acct.name, "dry_run", &run);
	if (rc < 0) {
		api_dberr(r, rc, "gathering the notice");
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < run->n_mails; i++)
		json_array_append_new(a, mail_json(&run->mails[i]));
	api_json(r, 200,
		 json_pack("{s:b,s:b,s:s,s:o,s:I,s:I}", "dry_run", 1, "mail_on",
			   r->w->srv->cfg.mail_smtp_url[0] != '\0', "from", run->from, "messages",
			   a, "no_address", (json_int_t)run->no_address, "bad_address",
			   (json_int_t)run->bad_address));
	run_free(run);
}

/* POST /api/v1/notices/send[?dry_run=1] - technicians. */
static void send_now(struct req *r)
{
	json_t *status = NULL;
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	if (api_fleet_flag(r, "dry_run")) {
		dry_run(r);
		return;
	}
	if (r->w->srv->cfg.mail_smtp_url[0] == '\0') {
		api_fail(
		    r, AP_ECONFLICT, 409,
		    "mail is off: set [mail] smtp_url in the configuration to send the notice");
		return;
	}
	uv_once(&state.once, state_init);
	uv_mutex_lock(&state.lock);
	int rc = state.running ? AP_EBUSY : 0;
	uv_mutex_unlock(&state.lock);
	/* the request's row first: nothing goes out without it */
	if (rc == 0 && api_record(r, "notice.send", "manual", NULL, NULL) < 0)
		return;
	if (rc == 0)
		rc = start(r->w, r->acct.name, "manual", &status);
	if (rc == AP_EBUSY) { /* also when a run began since the look above */
		api_fail(r, rc, 409, "a notice run is in progress: see GET /api/v1/notices/last");
		return;
	}
	if (rc < 0) {
		api_dberr(r, rc, "gathering the notice");
		return;
	}
	api_json(r, 202, status);
}

/* GET /api/v1/notices/last - technicians. */
static void last(struct req *r)
{
	if (api_allow(r, AZ_ADMIN, NULL) < 0)
		return;
	uv_once(&state.once, state_init);
	uv_mutex_lock(&state.lock);
	json_t *v = state.last ? json_deep_copy(state.last) : NULL;
	uv_mutex_unlock(&state.lock);
	api_json(r, 200, v ? v : json_pack("{s:n,s:s}", "run", "state", "none"));
}

const struct route api_notice_routes[] = {
    {"POST", "/api/v1/notices/send", AUTH_STAFF, send_now},
    {"GET", "/api/v1/notices/last", AUTH_STAFF, last},
    {NULL, NULL, AUTH_NONE, NULL},
};
