/*
 * config.h - ardoised's settings, read from an INI file (inih) through one
 * table of keys (section, name, type, default, bounds).  Unknown sections or
 * keys and out-of-bound values are errors that name file:line.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR 256

struct config {
	/* [server] */
	char listen[CONFIG_STR];     /* ADDR:PORT */
	int64_t workers;	     /* event loops; 0 = one per core */
	char hostname[CONFIG_STR];   /* public name used in URLs and certificate */
	char public_url[CONFIG_STR]; /* https://host:port seen by devices; "" = derived */
	char time_zone[CONFIG_STR];  /* days and times of the API, e.g. Europe/Paris (TZDIR) */
	int64_t max_header_bytes;
	int64_t max_body_bytes;
	int64_t header_timeout_ms; /* whole request head must arrive within */
	int64_t body_timeout_ms;   /* whole body must arrive within */
	int64_t idle_timeout_ms;   /* keep-alive idle */
	int64_t max_connections;   /* per worker */
	int64_t tls_session_cache; /* TLS sessions kept for resumption */
	int64_t drain_timeout_ms;  /* SIGTERM: longest wait for in-flight requests */
	/* what unauthenticated peers may hold (quota.h) */
	int64_t max_anon_body_bytes;	/* body of a request its head does not authenticate */
	int64_t body_budget_bytes;	/* request bodies in flight, whole process */
	int64_t max_connections_per_ip; /* whole process (IPv6: per /64); 0 = no cap */
	/* [web] the pages' sessions (cookie) */
	int64_t session_idle_s; /* unused this long, a session ends */
	int64_t session_max_s;	/* opened this long ago, a session ends whatever its use */
	/* [log] */
	char log_level[CONFIG_STR];
	char log_file[CONFIG_STR]; /* appended, 0600, reopened on SIGHUP; "" = standard error */
	/* where the audit chain's head is kept outside the database; "" =
	 * DATA_DIR/audit.head */
	char audit_head_file[CONFIG_STR];
	/* [backup] */
	char backup_recipient[CONFIG_STR]; /* the operator's certificate (PEM); "" = none */
	char backup_dir[CONFIG_STR];	   /* the daily backups; "" = none */
	int64_t backup_keep;		   /* the newest kept */
	int64_t backup_hour;		   /* 0-23, [server] timezone */
	/* [db] */
	char db_synchronous[CONFIG_STR]; /* normal | full: SQLite's synchronous pragma */
	/* [mdm] */
	char topic[CONFIG_STR];
	char device_ca[CONFIG_STR];
	char organization[CONFIG_STR];
	int64_t queue_max;		/* commands queued per device */
	int64_t max_message_bytes;	/* largest plist a device may send */
	int64_t command_expiry_days;	/* unacknowledged commands expire */
	int64_t command_retention_days; /* finished commands are pruned after */
	int64_t device_cert_days;
	/* [geolocation] */
	char geo_approval[CONFIG_STR]; /* two-person | single */
	int64_t geo_expiry_hours;
	int64_t geo_retention_days;
	char geo_message[CONFIG_STR];
	char geo_phone[CONFIG_STR];
	/* [push] */
	char push_url[CONFIG_STR];  /* https://host[:port], or production | development */
	char push_cert[CONFIG_STR]; /* PEM certificate (+chain, maybe key) or PKCS#12; "" = off */
	char push_key[CONFIG_STR];  /* PEM private key; "" when cert holds it */
	char push_passphrase[CONFIG_STR]; /* for an encrypted key or PKCS#12 (secret) */
	char push_ca[CONFIG_STR];	  /* extra trust anchor (PEM) for the APNs server */
	int64_t push_coalesce_ms;      /* queueing -> push delay; one push per device per window */
	int64_t push_max_streams;      /* our cap on concurrent HTTP/2 streams */
	int64_t push_queue_size;       /* devices waiting for a push (hand-off and schedule) */
	int64_t push_timeout_ms;       /* connect + handshake, and the longest wait for an answer */
	int64_t push_retries;	       /* attempts after the first on 429/5xx/connection loss */
	int64_t push_retry_base_ms;    /* first retry delay, doubled each attempt ... */
	int64_t push_retry_max_ms;     /* ... up to this */
	int64_t push_reconnect_min_ms; /* reconnect delay after a failed connection, doubled ... */
	int64_t push_reconnect_max_ms; /* ... up to this */
	int64_t push_repush_check_s;   /* period of the stale re-push job */
	int64_t push_repush_min_s;     /* first re-push of a silent device, doubled ... */
	int64_t push_repush_max_s;     /* ... up to this interval */
	int64_t push_repush_batch;     /* devices re-pushed per job run at most */
	int64_t push_expiry_warn_days; /* certificate expiry warning */
	int64_t push_drain_ms;	       /* SIGTERM: longest wait for pushes in flight */
	/* [privacy] */
	int64_t leaver_retention_days; /* pseudonymised this long after their last day */
	/* [mail] the daily notice by e-mail (daemon/api/notice.c) */
	char mail_smtp_url[CONFIG_STR]; /* smtp[s]://host[:port]; "" = no notice */
	char mail_from[CONFIG_STR];	/* the sender; "" = ardoise@<hostname> */
	char mail_username[CONFIG_STR]; /* "" = no sign-in to the relay */
	char mail_password[CONFIG_STR]; /* secret */
	int64_t mail_hour;		/* local hour of the daily run, 0-23 */
	/* [loans] */
	char loans_summer[CONFIG_STR]; /* "MM-DD..MM-DD": no home-use loan starts then; "" = none */
	int64_t loans_teacher_max;     /* open loans a teacher may hold; 0 = no limit */
	/* [updates] Apple's software update catalogue (gdmf_sync.h) and when
	 * tablets may install an update (classhours.h) */
	char updates_catalogue_url[CONFIG_STR]; /* https:// only */
	char updates_catalogue_ca[CONFIG_STR];	/* extra trust anchors (PEM); "" = system's only */
	int64_t updates_refresh_hours;		/* 0 = fetched only when asked */
	char updates_allowed_windows[CONFIG_STR]; /* "mon-fri 18:00-07:30; ..."; "" = any time */
	/* [ade] Automated Device Enrolment (docs/apple-services.md §2; ade_oauth.h):
	 * min_os, machineinfo_anchor, await_release_minutes: mdm_ade.c, ade_configure.c */
	char ade_url[CONFIG_STR];    /* Apple's ADE API, https:// only, no trailing path */
	char ade_ca[CONFIG_STR];     /* extra trust anchors (PEM) for ade_url; "" = system's only */
	char ade_min_os[CONFIG_STR]; /* "X.Y[.Z]": older tablets refused at enrolment; "" = none */
	/* PEM: the root ADE MachineInfo must chain to ("" = ADE enrolment off) */
	char ade_machineinfo_anchor[CONFIG_STR];
	/* an ADE tablet stuck awaiting configuration is released after this long */
	int64_t ade_await_release_minutes;
	int64_t ade_sync_minutes; /* the device list synced this often, 5..1440 */
	/* [vpp] Apple's Apps and Books API (daemon/apple/vpp_client.h, daemon/fleet/licence.h) */
	char vpp_url[CONFIG_STR]; /* the API's root, https:// only, no trailing '/' needed */
	char vpp_ca[CONFIG_STR];  /* extra trust anchors (PEM); "" = system's only */
	int64_t vpp_sync_minutes; /* the licence run this often, 0 = only when asked */
	/* [metrics] GET /metrics (daemon/api/api_metrics.c) */
	char metrics_access[CONFIG_STR]; /* loopback | account | off */
};

/* Fills c with the defaults. */
void config_defaults(struct config *c);
/* Reads path over the current values.  On error returns AP_ECONFIG and
 * writes "file:line: reason" into err. */
int config_load(struct config *c, const char *path, char *err, size_t errcap);
/* Sets one key from text (used for command-line overrides), same checks. */
int config_set(struct config *c, const char *section, const char *key, const char *value, char *err,
	       size_t errcap);
/* 0 when name is a time zone of the system: no "..", no leading '/', and
 * a TZif file at $TZDIR/name (default /usr/share/zoneinfo); else
 * AP_ECONFIG with the reason in err. */
int config_zone_check(const char *name, char *err, size_t cap);
/* A reload (SIGHUP): compares the running configuration cur with next,
 * read from the file again.  Each reloadable key whose value differs is
 * added to changed ("log.level,mdm.device_ca", NUL-terminated, cut at
 * cap); a key that cannot change while the daemon runs (not in the reloadable list:
 * [log] level and file, [push] cert, key, passphrase and ca, [mdm]
 * device_ca) is passed to ignored() and gets its value in cur back in next,
 * so that next holds what the daemon will run with. */
void config_reload_merge(const struct config *cur, struct config *next,
			 void (*ignored)(void *arg, const char *key), void *arg, char *changed,
			 size_t cap);
/* Prints every key with its current value, as an INI file (secrets shown
 * as "(set)"). */
void config_dump(const struct config *c, void *file);
/* s as roff text, for the man pages written at build time (ardoised(8)
 * too): a backslash is \e, a hyphen \- (so a key, path or option copies
 * as typed), a newline a line break (.br), and no line starts with a
 * control character. */
void config_roff(void *file, const char *s);

/* ardoised.conf(5) in roff on file (a FILE *): every section and key of
 * the table with its doc, type, bounds or values, and default. */
void config_man(void *file, const char *version, const char *conf_path);
/* The commented configuration installed for a new server on file: every
 * key commented out with its doc, type and default, except the keys of set
 * ("section.key", "value" pairs, NULL-terminated; NULL: none), written
 * uncommented with that value. */
void config_sample(void *file, const char *const *set);

#endif
