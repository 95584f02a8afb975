/*
 * migrations.c - the schema, as an ordered list of steps.
 *
 * Step i (1-based) takes the file from user_version i-1 to i.  Steps are
 * never edited once released: a change is a new step at the end.  tests/
 * builds a file at every earlier version and migrates it to the newest.
 */
#include "migrations.h"

#include <stddef.h>
#include <string.h>

static const char *const steps[] = {
    /* 1: accounts and the audit log */
    "CREATE TABLE account ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL CHECK (role IN ('technician','ati','referent','auditor')),"
    "  schools TEXT NOT NULL DEFAULT '',"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  disabled INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  ts INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX audit_ts ON audit(ts);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    /* the chain's head, kept apart so that deleting the newest rows shows */
    "CREATE TABLE audit_head (one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  last_id INTEGER NOT NULL, last_hash TEXT NOT NULL);",

    /* 2: collèges, tablets (inventory and MDM identity), command queue,
	 * reported apps and profiles, one-time enrolment codes */
    "CREATE TABLE school ("
    "  uai TEXT PRIMARY KEY CHECK (length(uai) = 8),"
    "  name TEXT NOT NULL,"
    "  commune TEXT NOT NULL DEFAULT '',"
    "  address TEXT NOT NULL DEFAULT '',"
    "  sector TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE device ("
    "  id INTEGER PRIMARY KEY,"
    "  serial TEXT UNIQUE,"
    "  udid TEXT UNIQUE,"
    "  school TEXT REFERENCES school(uai),"
    "  state TEXT NOT NULL DEFAULT 'stock' CHECK (state IN"
    "    ('stock','loaned','returning','repair','lost','stolen','retired')),"
    "  asset_tag TEXT NOT NULL DEFAULT '',"
    "  model TEXT NOT NULL DEFAULT '',"
    "  product_name TEXT NOT NULL DEFAULT '',"
    "  os_version TEXT NOT NULL DEFAULT '',"
    "  build_version TEXT NOT NULL DEFAULT '',"
    "  device_name TEXT NOT NULL DEFAULT '',"
    "  wifi_mac TEXT NOT NULL DEFAULT '',"
    "  enrollment TEXT NOT NULL DEFAULT 'none' CHECK (enrollment IN"
    "    ('none','pending','enrolled','unenrolled')),"
    "  cert_fp TEXT," /* SHA-256 of the bound identity certificate */
    "  topic TEXT,"
    "  push_token BLOB,"
    "  push_magic TEXT,"
    "  push_state TEXT NOT NULL DEFAULT ''," /* '', 'invalid: <reason>' */
    "  unlock_token BLOB,"		     /* sealed (keystore_seal) */
    "  bypass_code BLOB,"		     /* sealed */
    "  supervised INTEGER,"
    "  lost_mode INTEGER,"
    "  passcode_present INTEGER,"
    "  battery REAL,"
    "  capacity_gb REAL,"
    "  available_gb REAL,"
    "  awaiting_config INTEGER NOT NULL DEFAULT 0,"
    "  last_seen INTEGER,"
    "  last_push INTEGER,"
    "  enrolled_at INTEGER,"
    "  inventory_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX device_school ON device(school, state);"
    "CREATE INDEX device_seen ON device(last_seen);"
    "CREATE TABLE command ("
    "  id INTEGER PRIMARY KEY,"
    "  uuid TEXT NOT NULL UNIQUE,"
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  type TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('queued','sent','notnow','acknowledged',"
    "    'error','format_error','expired','canceled')),"
    "  payload BLOB NOT NULL," /* the command plist as sent, or '' with blob_ref */
    "  blob_ref TEXT," /* InstallProfile: Payload kept once in blob, plist built at send time */
    "  dedupe TEXT NOT NULL DEFAULT ''," /* same type+dedupe: one pending at a time */
    "  origin TEXT NOT NULL DEFAULT 'staff',"
    "  created_by TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  sent_at INTEGER,"
    "  done_at INTEGER,"
    "  expires_at INTEGER NOT NULL,"
    "  result BLOB," /* the device's report plist */
    "  error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX command_queue ON command(device_id, id)"
    "  WHERE status IN ('queued','sent','notnow');"
    "CREATE INDEX command_device ON command(device_id, id);"
    "CREATE INDEX command_done ON command(done_at) WHERE done_at IS NOT NULL;"
    "CREATE TABLE device_app ("
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  identifier TEXT NOT NULL,"
    "  name TEXT NOT NULL DEFAULT '',"
    "  version TEXT NOT NULL DEFAULT '',"
    "  short_version TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (device_id, identifier)) WITHOUT ROWID;"
    "CREATE TABLE device_profile ("
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  identifier TEXT NOT NULL,"
    "  uuid TEXT NOT NULL DEFAULT '',"
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  PRIMARY KEY (device_id, identifier)) WITHOUT ROWID;"
    "CREATE TABLE blob (" /* content-addressed (SHA-256 hex) shared payloads */
    "  hash TEXT PRIMARY KEY,"
    "  data BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE enroll_code ("
    "  code_hash TEXT PRIMARY KEY,"
    "  school TEXT REFERENCES school(uai),"
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  max_uses INTEGER NOT NULL DEFAULT 1,"
    "  uses INTEGER NOT NULL DEFAULT 0,"
    "  used_at INTEGER," /* last use */
    "  used_by TEXT);",

    /* locate: the geolocation register (issue 4); coordinates sealed */
    "CREATE TABLE locate_request ("
    "  id INTEGER PRIMARY KEY,"
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  incident_id INTEGER REFERENCES incident(id),"
    "  authority_ref TEXT NOT NULL DEFAULT '',"
    "  reason TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN"
    "    ('pending','approved','denied','expired','closed')),"
    "  requested_by TEXT NOT NULL,"
    "  requested_at INTEGER NOT NULL,"
    "  decided_by TEXT NOT NULL DEFAULT '',"
    "  decided_at INTEGER,"
    "  deny_reason TEXT NOT NULL DEFAULT '',"
    "  expires_at INTEGER,"
    "  closed_at INTEGER,"
    "  outcome TEXT NOT NULL DEFAULT '' CHECK (outcome IN ('','found','not_found')),"
    "  purge_after INTEGER,"
    "  purged_at INTEGER,"
    "  fixes INTEGER NOT NULL DEFAULT 0,"
    "  reads INTEGER NOT NULL DEFAULT 0,"
    "  CHECK (incident_id IS NOT NULL OR authority_ref != ''));"
    "CREATE INDEX locate_device ON locate_request(device_id, state);"
    "CREATE INDEX locate_time ON locate_request(requested_at);"
    "CREATE TABLE locate_fix ("
    "  id INTEGER PRIMARY KEY,"
    "  request_id INTEGER NOT NULL REFERENCES locate_request(id),"
    "  taken_at INTEGER NOT NULL,"
    "  sealed BLOB NOT NULL);"
    "CREATE INDEX locate_fix_request ON locate_fix(request_id);",

    /* 4: the fleet records: people, loans, incidents.  Dates are epoch
	 * seconds (a calendar day is stored as its 00:00 UTC). */
    "CREATE TABLE person ("
    "  id INTEGER PRIMARY KEY,"
    "  ext_id TEXT NOT NULL UNIQUE," /* the collège's id (ENT / INE) */
    "  kind TEXT NOT NULL CHECK (kind IN ('pupil','teacher')),"
    "  name TEXT NOT NULL,"
    "  class TEXT NOT NULL DEFAULT '',"
    "  school TEXT NOT NULL REFERENCES school(uai),"
    "  agreement_at INTEGER," /* guardians' home-use agreement signed */
    "  left_at INTEGER,"      /* last day at the collège */
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX person_school ON person(school, class);"
    "CREATE TABLE loan ("
    "  id INTEGER PRIMARY KEY,"
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  person_id INTEGER NOT NULL REFERENCES person(id),"
    "  school TEXT NOT NULL REFERENCES school(uai),"
    "  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','returning','closed')),"
    "  home_use INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER NOT NULL,"
    "  due_at INTEGER,"
    "  returned_at INTEGER,"
    "  condition TEXT NOT NULL DEFAULT '' CHECK (condition IN ('','ok','damaged')),"
    "  erase_command TEXT NOT NULL DEFAULT '',"
    "  closed_at INTEGER,"
    "  end_reason TEXT NOT NULL DEFAULT ''"
    "    CHECK (end_reason IN ('','erased','written_off')),"
    "  created_by TEXT NOT NULL,"
    "  returned_by TEXT NOT NULL DEFAULT '');"
    /* one loan in progress (open or awaiting its erase) per tablet */
    "CREATE UNIQUE INDEX loan_active ON loan(device_id) WHERE state IN ('open','returning');"
    "CREATE INDEX loan_device ON loan(device_id, id);"
    "CREATE INDEX loan_person ON loan(person_id, id);"
    "CREATE INDEX loan_school ON loan(school, state);"
    "CREATE TABLE incident ("
    "  id INTEGER PRIMARY KEY,"
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  school TEXT REFERENCES school(uai),"  /* the tablet's collège when declared */
    "  loan_id INTEGER REFERENCES loan(id)," /* the loan in progress then, if any */
    "  kind TEXT NOT NULL CHECK (kind IN ('loss','theft','damage','failure')),"
    "  occurred_at INTEGER NOT NULL,"
    "  declared_at INTEGER NOT NULL,"
    "  late INTEGER NOT NULL DEFAULT 0," /* declared more than 48 h after */
    "  police_ref TEXT NOT NULL DEFAULT '',"
    "  note TEXT NOT NULL DEFAULT '',"
    "  prev_state TEXT NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),"
    "  outcome TEXT NOT NULL DEFAULT ''"
    "    CHECK (outcome IN ('','found','repaired','written_off')),"
    "  close_note TEXT NOT NULL DEFAULT '',"
    "  closed_at INTEGER,"
    "  declared_by TEXT NOT NULL,"
    "  closed_by TEXT NOT NULL DEFAULT '',"
    "  CHECK (kind != 'theft' OR police_ref != ''));"
    "CREATE UNIQUE INDEX incident_open ON incident(device_id) WHERE status = 'open';"
    "CREATE INDEX incident_device ON incident(device_id, id);"
    "CREATE INDEX incident_school ON incident(school, status);"
    "CREATE INDEX device_state ON device(state);",

    /* policies: the profile and app catalogue, assignments to scopes, what
	 * Ardoise installed on each tablet, when its lists were last reported */
    "CREATE TABLE profile ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  identifier TEXT NOT NULL," /* top-level PayloadIdentifier */
    "  display_name TEXT NOT NULL DEFAULT '',"
    "  payload_types TEXT NOT NULL DEFAULT '',"	  /* comma-separated */
    "  payload_hash TEXT NOT NULL,"		  /* content hash (pol_profile) */
    "  payload_uuid TEXT NOT NULL,"		  /* top-level PayloadUUID sent */
    "  blob TEXT NOT NULL REFERENCES blob(hash)," /* the signed bytes sent */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_by TEXT NOT NULL DEFAULT '',"
    "  updated_at INTEGER,"
    "  removed_at INTEGER);"
    "CREATE UNIQUE INDEX profile_identifier ON profile(identifier) WHERE removed_at IS NULL;"
    "CREATE UNIQUE INDEX profile_name ON profile(name) WHERE removed_at IS NULL;"
    /* every version ever sent: an acknowledged InstallProfile names its
	 * blob, this says which PayloadUUID the tablet now holds */
    "CREATE TABLE profile_version ("
    "  blob TEXT PRIMARY KEY,"
    "  profile_id INTEGER NOT NULL REFERENCES profile(id),"
    "  payload_uuid TEXT NOT NULL,"
    "  payload_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE app ("
    "  id INTEGER PRIMARY KEY,"
    "  bundle_id TEXT NOT NULL,"
    "  store_id INTEGER NOT NULL DEFAULT 0," /* App Store (iTunes) id, 0 unknown */
    "  name TEXT NOT NULL,"
    "  licence TEXT NOT NULL DEFAULT ''," /* reserved for Volume Purchase */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  removed_at INTEGER);"
    "CREATE UNIQUE INDEX app_bundle ON app(bundle_id) WHERE removed_at IS NULL;"
    "CREATE TABLE assignment ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('profile','app')),"
    "  item_id INTEGER NOT NULL,"
    "  scope TEXT NOT NULL," /* canonical pol_scope text */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (kind, item_id, scope));"
    "CREATE INDEX assignment_scope ON assignment(scope);"
    "CREATE TABLE device_owned ("
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('profile','app')),"
    "  identifier TEXT NOT NULL,"
    "  version TEXT NOT NULL DEFAULT ''," /* profiles: the PayloadUUID acknowledged */
    "  acked_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, kind, identifier)) WITHOUT ROWID;"
    "CREATE TABLE device_lists ("
    "  device_id INTEGER PRIMARY KEY REFERENCES device(id),"
    "  profiles_at INTEGER NOT NULL DEFAULT 0," /* last ProfileList result */
    "  apps_at INTEGER NOT NULL DEFAULT 0);"	/* last InstalledApplicationList */
    "CREATE INDEX device_profile_identifier ON device_profile(identifier, uuid);"
    "CREATE INDEX device_app_identifier ON device_app(identifier);",

    /* 6: the planner orders an acknowledged install and the last list
     * report by the commands' ids (the queue hands them out in id order),
     * not by their times: both can fall in the same second.  Rows from
     * before have 0 and count only through the next list. */
    "ALTER TABLE device_owned ADD COLUMN acked_cmd INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE device_lists ADD COLUMN profiles_cmd INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE device_lists ADD COLUMN apps_cmd INTEGER NOT NULL DEFAULT 0;",

    /* 7: the set of device trust anchors under which the identity was
     * last checked (keystore_device_trust_id): when [mdm] device_ca
     * changes, a bound identity's chain is checked again once.  '' (rows
     * from before) counts as changed. */
    "ALTER TABLE device ADD COLUMN trust_id TEXT NOT NULL DEFAULT '';",

    /* 8: which other account last issued an account's token, and when
     * (account creation, rotation by a technician; rotating one's own
     * token keeps them): such a token cannot approve what its issuer asked,
     * nor anything for a day (the two-person rule).  '': none known. */
    "ALTER TABLE account ADD COLUMN token_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE account ADD COLUMN token_by TEXT NOT NULL DEFAULT '';",

    /* 9: one certificate, one tablet.  Every device identity certificate
     * Ardoise issued (SCEP: the enrolment code that paid for it) or
     * accepted (another device CA, or issued before this step) has a row;
     * its UDID, once set, never changes.  A larger id is a newer row:
     * bind_seq is the largest id when the certificate was bound, so a
     * certificate from Ardoise's SCEP with a larger id was issued after
     * that binding (re-enrolment of a tablet wiped without CheckOut).
     * ended_at: replaced by such a certificate, or released by staff; an
     * ended certificate is refused.  Rows are never deleted. */
    "CREATE TABLE device_identity ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  fp TEXT NOT NULL UNIQUE," /* SHA-256 of the certificate (DER), hex */
    "  issued_at INTEGER,"	 /* NULL: not issued by Ardoise's SCEP */
    "  code_hash TEXT,"		 /* enroll_code.code_hash that paid for it */
    "  scep_tx TEXT,"		 /* SCEP transactionID */
    "  udid TEXT,"		 /* NULL until its first Authenticate */
    "  bound_at INTEGER,"
    "  bind_seq INTEGER NOT NULL DEFAULT 0,"
    "  ended_at INTEGER,"
    "  ended_why TEXT);"
    "CREATE INDEX device_identity_udid ON device_identity(udid);"
    "INSERT OR IGNORE INTO device_identity(fp, udid, bound_at)"
    "  SELECT cert_fp, udid, coalesce(last_seen, updated_at) FROM device"
    "  WHERE cert_fp IS NOT NULL AND cert_fp != '' AND udid IS NOT NULL ORDER BY id;",

    /* 10: no secret in clear (issue 11).  A command's secret parameters
     * (UnlockToken, Return-to-Service profile) are sealed in
     * command.sealed, the stored payload has "(sealed)" in their place, and
     * the sealed copy goes when the command ends.  Sealed blobs now carry a
     * version byte and their purpose (keystore.h): what was sealed before,
     * and the commands stored before with secrets in clear, are listed in
     * seal_legacy and re-sealed / redacted at the next start
     * (daemon/core/secret.c).  A Return-to-Service enrolment code is bound to its
     * tablet's serial; the identities issued with such a code remember it
     * (enroll_code_cert) until Authenticate checks the serial. */
    "ALTER TABLE command ADD COLUMN sealed BLOB;"
    "ALTER TABLE enroll_code ADD COLUMN serial TEXT;"
    "CREATE TABLE enroll_code_cert ("
    "  cert_fp TEXT PRIMARY KEY,"
    "  code_hash TEXT NOT NULL,"
    "  serial TEXT NOT NULL,"
    "  issued_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE seal_legacy ("
    "  what TEXT NOT NULL CHECK (what IN ('unlock_token','bypass_code','locate_fix','command')),"
    "  id INTEGER NOT NULL,"
    "  PRIMARY KEY (what, id)) WITHOUT ROWID;"
    "INSERT INTO seal_legacy SELECT 'unlock_token', id FROM device WHERE unlock_token IS NOT NULL;"
    "INSERT INTO seal_legacy SELECT 'bypass_code', id FROM device WHERE bypass_code IS NOT NULL;"
    "INSERT INTO seal_legacy SELECT 'locate_fix', id FROM locate_fix;"
    "INSERT INTO seal_legacy SELECT 'command', id FROM command WHERE type IN"
    "  ('ClearPasscode','EraseDevice','DeviceLocation','ActivationLockBypassCode');",

    /* 11: the audit chain is keyed (HMAC-SHA-256) from the row keyed_from
     * on, the "audit.rekey" anchor (db_audit.h); 0: not keyed yet, the
     * rows of before keep their plain SHA-256 links. */
    "ALTER TABLE audit_head ADD COLUMN keyed_from INTEGER NOT NULL DEFAULT 0;",

    /* 12: people sign in to the pages (issue 13).  An account gets a
     * display name, an e-mail address and a password: its Argon2id
     * encoded hash (NULL: none set yet), set through a one-time link (an
     * invitation or a reset; the link's token kept as its SHA-256 only).
     * A web session lives in a cookie: its id and its CSRF token are kept
     * as their SHA-256 only.  Failed sign-ins, one row each, by the
     * account name given and by the client's address, slow down guessing
     * (rows pruned after a day). */
    "ALTER TABLE account ADD COLUMN display_name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE account ADD COLUMN email TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE account ADD COLUMN password_hash TEXT;"
    "ALTER TABLE account ADD COLUMN password_at INTEGER;"
    "ALTER TABLE account ADD COLUMN last_signin_at INTEGER;"
    "CREATE TABLE account_link ("
    "  token_hash TEXT PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES account(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('invite','reset')),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER) WITHOUT ROWID;"
    "CREATE INDEX account_link_account ON account_link(account_id);"
    "CREATE TABLE web_session ("
    "  id INTEGER PRIMARY KEY,"
    "  id_hash TEXT NOT NULL UNIQUE,"
    "  account_id INTEGER NOT NULL REFERENCES account(id),"
    "  csrf_hash TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_seen INTEGER NOT NULL,"
    "  peer TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX web_session_account ON web_session(account_id);"
    "CREATE TABLE signin_failure ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('account','address')),"
    "  key TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX signin_failure_key ON signin_failure(kind, key, at);"
    "CREATE INDEX signin_failure_at ON signin_failure(at);",

    /* 13: the dashboard (db_dashboard.c) counts, per collège, the tablets
     * with a pending or a failed policy command and the people leaving
     * soon: small partial indexes over just those rows, so that a
     * collège's figures read a few index entries, not the command table
     * nor every person. */
    "CREATE INDEX command_policy_pending ON command(device_id)"
    "  WHERE origin = 'policy' AND status IN ('queued','sent','notnow');"
    "CREATE INDEX command_policy_failed ON command(device_id)"
    "  WHERE origin = 'policy' AND status IN ('error','format_error','expired');"
    "CREATE INDEX person_leaving ON person(school, left_at) WHERE left_at IS NOT NULL;",

    /* 14: the convention's records.  A loan deposited at the collège for
     * the summer (suspended, not erased) and its flag ("agreement_withdrawn":
     * home use turned school-only); when the family told the collège of an
     * incident, the police complaint's date, a damage's cost and whether
     * the family is asked to pay it back; a collège's equipment targets;
     * the model typed at import, apart from the one the tablet reports; a
     * leaver's pseudonymisation; the guardians' agreement per school year
     * (school_year: the year it starts, 2026 for 2026-2027). */
    "ALTER TABLE loan ADD COLUMN deposited_at INTEGER;"
    "ALTER TABLE loan ADD COLUMN flag TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE incident ADD COLUMN reported_at INTEGER;"
    "ALTER TABLE incident ADD COLUMN complaint_at INTEGER;"
    "ALTER TABLE incident ADD COLUMN cost_cents INTEGER CHECK (cost_cents >= 0);"
    "ALTER TABLE incident ADD COLUMN reimburse INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE school ADD COLUMN pupils_equipped INTEGER;"
    "ALTER TABLE school ADD COLUMN teachers_equipped INTEGER;"
    "ALTER TABLE device ADD COLUMN model_declared TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE person ADD COLUMN pseudonymised_at INTEGER;"
    "CREATE TABLE agreement ("
    "  person_id INTEGER NOT NULL REFERENCES person(id),"
    "  school_year INTEGER NOT NULL,"
    "  signed_at INTEGER NOT NULL,"
    "  withdrawn_at INTEGER,"
    "  recorded_by TEXT NOT NULL,"
    "  recorded_at INTEGER NOT NULL,"
    "  PRIMARY KEY (person_id, school_year));",

    /* 15: a theft is declared at once, its police complaint reference and
     * date added later (incident.complaint_at): the CHECK of step 4 that
     * wanted the reference at once goes.  SQLite cannot drop a CHECK with
     * ALTER TABLE, and copying the table is not possible here (foreign keys
     * point at incident(id) and cannot be switched off in a transaction): a
     * step that starts "UPDATE sqlite_schema" is run by db_migrate() as
     * SQLite's writable_schema procedure (lang_altertable.html, section 7).
     * Rows keep every value; the text removed is the exact one of step 4. */
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  ',  CHECK (kind != ''theft'' OR police_ref != '''')', '')"
    "  WHERE type = 'table' AND name = 'incident'"
    "  AND instr(sql, ',  CHECK (kind != ''theft'' OR police_ref != '''')') > 0;",

    /* 16: loans.  When an open loan was first found overdue by the daily
     * job (loans_overdue), so that it is marked once; the agreements
     * recorded before the table existed move into it, each for the school
     * year of its date (September 1st; +12 h keeps a local midnight stored
     * on the evening before in its day), recorded by "migration". */
    "ALTER TABLE loan ADD COLUMN overdue_at INTEGER;"
    "CREATE INDEX loan_open_due ON loan(due_at) WHERE state = 'open' AND overdue_at IS NULL;"
    "INSERT OR IGNORE INTO agreement(person_id, school_year, signed_at, recorded_by,"
    "  recorded_at)"
    "  SELECT id, CAST(strftime('%Y', agreement_at + 43200, 'unixepoch') AS INTEGER)"
    "    - (CAST(strftime('%m', agreement_at + 43200, 'unixepoch') AS INTEGER) < 9),"
    "    agreement_at, 'migration', CAST(strftime('%s', 'now') AS INTEGER)"
    "  FROM person WHERE agreement_at IS NOT NULL AND kind = 'pupil';",

    /* 17: declarative device management (issue 15, db_ddm.h).  The
     * declaration catalogue (its Payload a content-addressed blob, as a
     * profile's bytes; identifiers unique among those not removed), their
     * assignments to scopes (canonical pol_scope text, as assignment's: a
     * sibling table, since assignment.kind's CHECK admits only profiles
     * and apps and declarations reach tablets through their own
     * DeclarationsToken, not through queued commands), each tablet's DDM
     * state (when it was enabled, the DeclarationsToken last stored and
     * how many times it changed, its last sync and status report), its
     * status items (the value of each as JSON text) and its declarations'
     * state from the item management.declarations.  JSON is checked with
     * json_valid(), built into SQLite since 3.38. */
    "CREATE TABLE declaration ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (kind IN ('activation','configuration','asset','management')),"
    "  type TEXT NOT NULL," /* e.g. com.apple.configuration.softwareupdate.enforcement.specific */
    "  identifier TEXT NOT NULL CHECK (length(CAST(identifier AS BLOB)) BETWEEN 1 AND 64),"
    "  server_token TEXT NOT NULL CHECK (length(CAST(server_token AS BLOB)) BETWEEN 1 AND 64),"
    "  blob TEXT NOT NULL REFERENCES blob(hash)," /* the Payload, a JSON object */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_by TEXT NOT NULL DEFAULT '',"
    "  updated_at INTEGER,"
    "  removed_at INTEGER);"
    "CREATE UNIQUE INDEX declaration_identifier ON declaration(identifier)"
    "  WHERE removed_at IS NULL;"
    "CREATE TABLE declaration_assignment ("
    "  declaration_id INTEGER NOT NULL REFERENCES declaration(id),"
    "  scope TEXT NOT NULL," /* canonical pol_scope text */
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (declaration_id, scope)) WITHOUT ROWID;"
    "CREATE INDEX declaration_assignment_scope ON declaration_assignment(scope);"
    "CREATE TABLE device_ddm ("
    "  device_id INTEGER PRIMARY KEY REFERENCES device(id),"
    "  enabled_at INTEGER," /* NULL: DDM not enabled on the tablet */
    "  token TEXT NOT NULL DEFAULT '' CHECK (length(CAST(token AS BLOB)) <= 256),"
    "  token_version INTEGER NOT NULL DEFAULT 0," /* times the token changed */
    "  token_at INTEGER,"			  /* when it last changed */
    "  synced_at INTEGER,"			  /* last tokens / declaration-items fetch */
    "  status_at INTEGER);"			  /* last status report */
    "CREATE TABLE device_ddm_item ("
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  item TEXT NOT NULL," /* e.g. softwareupdate.install-state */
    "  value TEXT NOT NULL CHECK (json_valid(value)),"
    "  reported_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, item)) WITHOUT ROWID;"
    "CREATE TABLE device_declaration ("
    "  device_id INTEGER NOT NULL REFERENCES device(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('activation','configuration','asset','management')),"
    "  identifier TEXT NOT NULL,"
    "  server_token TEXT NOT NULL DEFAULT '',"
    "  active INTEGER NOT NULL DEFAULT 0,"
    "  valid TEXT NOT NULL DEFAULT 'unknown' CHECK (valid IN ('valid','invalid','unknown')),"
    "  reasons TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(reasons)),"
    "  reported_at INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, kind, identifier)) WITHOUT ROWID;",

    /* 18: a declaration's models filter (issue 15, db_ddm.h): NULL for
     * every tablet, else a JSON array of product types ("iPad13,18") and
     * only tablets whose product_name is one of them get the declaration
     * (an update plan goes only to the models that can run its version). */
    "ALTER TABLE declaration ADD COLUMN models TEXT"
    "  CHECK (models IS NULL OR (json_valid(models) AND json_type(models) = 'array'));",

    /* 19: the Automated Device Enrolment server token (issue 16, db_ade.h):
     * one row, replaced by each import; the consumer secret and the access
     * secret sealed by the keystore (purpose ade-token), never in clear. */
    "CREATE TABLE ade_token ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  consumer_key TEXT NOT NULL CHECK (length(consumer_key) BETWEEN 1 AND 255),"
    "  access_token TEXT NOT NULL CHECK (length(access_token) BETWEEN 1 AND 255),"
    "  consumer_secret BLOB NOT NULL," /* sealed */
    "  access_secret BLOB NOT NULL,"   /* sealed */
    "  expiry INTEGER NOT NULL,"       /* access_token_expiry */
    "  imported_at INTEGER NOT NULL,"
    "  imported_by TEXT NOT NULL);",

    /* 20: Automated Device Enrolment (issue 16, db_ade.h): the tablets
     * Apple School Manager assigned to Ardoise (one row per tablet of the
     * inventory that ASM gave, kept when ASM removes it: removed_at), the
     * enrolment profiles Ardoise defines at Apple (at most one for the
     * fleet, school NULL, and one per collège), and the device sync's
     * state (one row: the cursor, the last run and its failure). */
    "CREATE TABLE ade_profile ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),"
    "  school TEXT REFERENCES school(uai)," /* NULL: every tablet no collège profile takes */
    "  settings TEXT NOT NULL CHECK (json_valid(settings))," /* Apple's profile, url and anchors apart */
    "  profile_uuid TEXT NOT NULL DEFAULT '',"		     /* Apple's, once defined there */
    "  defined_at INTEGER,"
    "  created_by TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX ade_profile_school ON ade_profile(coalesce(school, ''));"
    "CREATE TABLE ade_device ("
    "  device_id INTEGER PRIMARY KEY REFERENCES device(id),"
    "  serial TEXT NOT NULL UNIQUE CHECK (length(serial) BETWEEN 1 AND 64),"
    "  model TEXT NOT NULL DEFAULT '',"
    "  description TEXT NOT NULL DEFAULT '',"
    "  color TEXT NOT NULL DEFAULT '',"
    "  asset_tag TEXT NOT NULL DEFAULT '',"
    "  os TEXT NOT NULL DEFAULT '',"
    "  device_family TEXT NOT NULL DEFAULT '',"
    "  order_number TEXT NOT NULL DEFAULT ''," /* ASM's export; the API does not give it */
    "  op_type TEXT NOT NULL DEFAULT '' CHECK (op_type IN ('','added','modified','deleted')),"
    "  op_date INTEGER,"
    "  assigned_at INTEGER," /* device_assigned_date */
    "  assigned_by TEXT NOT NULL DEFAULT '',"
    "  profile_status TEXT NOT NULL DEFAULT ''," /* Apple's: empty, assigned, pushed, removed */
    "  profile_uuid TEXT NOT NULL DEFAULT '',"	 /* Apple's */
    "  profile_id INTEGER REFERENCES ade_profile(id)," /* what Ardoise assigned */
    "  assign_state TEXT NOT NULL DEFAULT '' CHECK (assign_state IN"
    "    ('','pending','assigned','failed','throttled')),"
    "  assign_error TEXT NOT NULL DEFAULT '',"
    "  assign_after INTEGER,"	  /* throttled or failed: not before */
    "  removed_at INTEGER,"	  /* no longer assigned to Ardoise in ASM */
    "  seen_at INTEGER NOT NULL," /* last in a fetch or sync page */
    "  created_at INTEGER NOT NULL,"
    "  enrolled_at INTEGER," /* last enrolment through ADE accepted */
    "  refused_at INTEGER,"  /* last enrolment refused, and why */
    "  refusal TEXT NOT NULL DEFAULT '',"
    "  configured_at INTEGER);" /* DeviceConfigured acknowledged since enrolled_at */
    "CREATE INDEX ade_device_assign ON ade_device(assign_state, assign_after)"
    "  WHERE removed_at IS NULL;"
    "CREATE TABLE ade_sync ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  cursor TEXT NOT NULL DEFAULT '' CHECK (length(cursor) <= 1000),"
    "  phase TEXT NOT NULL DEFAULT 'fetch' CHECK (phase IN ('fetch','sync')),"
    "  cursor_at INTEGER,"		    /* when the cursor was stored */
    "  run_at INTEGER,"			    /* the last run's start */
    "  ok_at INTEGER,"			    /* the last run that ended well */
    "  devices INTEGER NOT NULL DEFAULT 0," /* tablets the last run saw */
    "  error_at INTEGER,"		    /* the last failure, NULL after a good run */
    "  error_status INTEGER NOT NULL DEFAULT 0,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  next_at INTEGER);", /* not before (Retry-After, backoff) */
    /* 21: Apps and Books (issue 16, db_vpp.h; written after ADE's step 20:
     * the integrator renumbers when ADE adds its own).  A content token
     * per location: the fleet, or one collège (scope 'school:UAI'); its
     * sToken sealed (keystore purpose vpp-token, owner the scope), never in
     * clear.  The assets of each token with Apple's counts at the last
     * sync; the device licences Ardoise knows (associated, or an event in
     * flight); the events in flight; the apps short of licences per
     * collège at the last run; the runs' state.  A token removed takes its
     * rows with it (ON DELETE CASCADE). */
    "CREATE TABLE vpp_token ("
    "  id INTEGER PRIMARY KEY,"
    "  scope TEXT NOT NULL UNIQUE CHECK (scope = 'fleet' OR scope LIKE 'school:_%'),"
    "  school TEXT REFERENCES school(uai)," /* NULL: the fleet token */
    "  stoken BLOB NOT NULL,"		    /* sealed */
    "  org TEXT NOT NULL DEFAULT '',"	    /* orgName of the file */
    "  location TEXT NOT NULL DEFAULT '',"  /* locationName of the service */
    "  uid TEXT NOT NULL DEFAULT '',"
    "  expires INTEGER NOT NULL,"
    "  imported_by TEXT NOT NULL,"
    "  imported_at INTEGER NOT NULL,"
    "  synced_at INTEGER," /* the last assets sync */
    "  error_at INTEGER,"  /* the last failure with this token */
    "  error TEXT NOT NULL DEFAULT '',"
    "  stopped INTEGER NOT NULL DEFAULT 0);" /* 9621/9625: not used until replaced */
    "CREATE TABLE vpp_asset ("
    "  token_id INTEGER NOT NULL REFERENCES vpp_token(id) ON DELETE CASCADE,"
    "  adam_id TEXT NOT NULL CHECK (length(adam_id) BETWEEN 1 AND 19),"
    "  pricing TEXT NOT NULL DEFAULT 'STDQ',"
    "  product TEXT NOT NULL DEFAULT 'App',"
    "  total INTEGER NOT NULL DEFAULT 0,"
    "  assigned INTEGER NOT NULL DEFAULT 0,"
    "  available INTEGER NOT NULL DEFAULT 0,"
    "  device_assignable INTEGER NOT NULL DEFAULT 0,"
    "  synced_at INTEGER NOT NULL,"
    "  PRIMARY KEY (token_id, adam_id, pricing));"
    "CREATE TABLE vpp_licence ("
    "  token_id INTEGER NOT NULL REFERENCES vpp_token(id) ON DELETE CASCADE,"
    "  serial TEXT NOT NULL CHECK (length(serial) BETWEEN 1 AND 31),"
    "  adam_id TEXT NOT NULL CHECK (length(adam_id) BETWEEN 1 AND 19),"
    "  pricing TEXT NOT NULL DEFAULT 'STDQ',"
    "  state TEXT NOT NULL CHECK (state IN ('associated','associating','disassociating')),"
    "  event_id TEXT NOT NULL DEFAULT '',"
    "  since INTEGER NOT NULL,"
    "  PRIMARY KEY (token_id, serial, adam_id));"
    "CREATE INDEX vpp_licence_serial ON vpp_licence(serial, adam_id);"
    "CREATE TABLE vpp_event ("
    "  event_id TEXT PRIMARY KEY,"
    "  token_id INTEGER NOT NULL REFERENCES vpp_token(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('associate','disassociate')),"
    "  adam_id TEXT NOT NULL,"
    "  serials INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE vpp_short ("
    "  token_id INTEGER NOT NULL REFERENCES vpp_token(id) ON DELETE CASCADE,"
    "  school TEXT NOT NULL DEFAULT ''," /* '' : tablets in no collège */
    "  adam_id TEXT NOT NULL,"
    "  wanted INTEGER NOT NULL,"    /* tablets of the collège without the licence */
    "  available INTEGER NOT NULL," /* what the token had */
    "  at INTEGER NOT NULL,"
    "  PRIMARY KEY (token_id, school, adam_id));"
    "CREATE TABLE vpp_run ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  runs INTEGER NOT NULL DEFAULT 0," /* since the table was made */
    "  run_at INTEGER,"
    "  ok_at INTEGER,"
    "  associated INTEGER NOT NULL DEFAULT 0," /* licences, the last run */
    "  disassociated INTEGER NOT NULL DEFAULT 0,"
    "  ms INTEGER NOT NULL DEFAULT 0,"
    "  error_at INTEGER,"
    "  error TEXT NOT NULL DEFAULT '');",

    /* 22: the monitoring role (issue 17: an account that reads GET
     * /metrics and nothing else).  The CHECK of step 1 on account.role
     * lists the roles; foreign keys point at account(id), so the table is
     * not copied: its stored text is edited (as step 15 did).  The text
     * replaced is the exact one of step 1. */
    "UPDATE sqlite_schema SET sql = replace(sql,"
    "  'CHECK (role IN (''technician'',''ati'',''referent'',''auditor''))',"
    "  'CHECK (role IN (''technician'',''ati'',''referent'',''auditor'',''monitoring''))')"
    "  WHERE type = 'table' AND name = 'account'"
    "  AND instr(sql, 'CHECK (role IN (''technician'',''ati'',''referent'',''auditor''))') > 0;"
    /* and GET /metrics counts the enrolled tablets from an index (a scan
     * of 100,000 device rows took ~60 ms of a loop; enrollment changes
     * at enrolment only, so no session pays for it) */
    "CREATE INDEX device_enrollment ON device(enrollment);",
};

int migrations_count(void)
{
	return (int)(sizeof(steps) / sizeof(steps[0]));
}

int migrations_edits_schema(int version)
{
	const char *sql = migrations_step(version);
	return sql && strncmp(sql, MIGRATIONS_SCHEMA_EDIT, strlen(MIGRATIONS_SCHEMA_EDIT)) == 0;
}

const char *migrations_step(int version)
{
	if (version < 1 || version > migrations_count())
		return NULL;
	return steps[version - 1];
}
