/*
 * sim_main.c - ardoise-sim's command line: global options, the table of
 * subcommands, and their options.  The work is in sim_run.c.
 */
#include "ap_err.h"
#include "sim_ddm_state.h"
#include "sim_device.h"
#include "sim_run.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char manual[] =
    "NAME\n"
    "    ardoise-sim - simulated school iPads for testing and measuring ardoised\n"
    "\n"
    "SYNOPSIS\n"
    "    ardoise-sim [--url URL] [--ca FILE] [--state FILE] [GLOBAL OPTIONS] COMMAND [OPTIONS]\n"
    "\n"
    "    ardoise-sim ... enroll -n N (--code CODE | --enroll-token TOKEN) [-c CONC]\n"
    "                           [--os-version X.Y[.Z]] [--product iPadN,M]\n"
    "    ardoise-sim ... ade-enroll --enroll-url URL --signer-cert FILE --signer-key FILE\n"
    "                           [--signer-chain FILE] (-n N --serial-prefix P | --serials FILE)\n"
    "                           [--os-version X.Y[.Z]] [--product iPadN,M] [-c CONC]\n"
    "    ardoise-sim ... connect [-c CONC] [-n N] [--device UDID] [--sign]\n"
    "    ardoise-sim ... bench -n N -c CONC --token TOKEN [--rate R] [--keepalive]\n"
    "                          [--resume] [--sign] [--like-ipad] [--server-pid PID] [--ddm]\n"
    "    ardoise-sim ... list [--json]\n"
    "    ardoise-sim ... lock UDID | unlock UDID | checkout UDID\n"
    "    ardoise-sim ... update-fail UDID --reason TEXT | update-ok UDID\n"
    "\n"
    "DESCRIPTION\n"
    "    Each simulated device behaves as a supervised iPad (10th generation, Wi-Fi,\n"
    "    iPadOS 17.5) enrolled in Ardoise: it installs the enrolment profile, gets its\n"
    "    identity certificate through SCEP, checks in (Authenticate, TokenUpdate) and,\n"
    "    in each session, answers the commands the server queued as the tablet would,\n"
    "    with realistic result payloads: inventory queries, profiles and apps that\n"
    "    really install and go away, passcode reset with the UnlockToken, lost mode and\n"
    "    location, erase (the device must then enrol again), restart, settings.\n"
    "    A device has a product type and an iPadOS version (enroll --product,\n"
    "    --os-version), reported in Authenticate and DeviceInformation with a build\n"
    "    version derived from the version (17.5: 21F79).\n"
    "\n"
    "    The devices live in a state file (SQLite), so runs can be split: enrol once,\n"
    "    connect many times.  Identities reuse a pool of private keys kept in the same\n"
    "    file (each device still gets its own certificate), which makes enrolling\n"
    "    100,000 devices practical.\n"
    "\n"
    "    Every session is a new TLS connection presenting the device's certificate,\n"
    "    carrying its requests with keep-alive; the server certificate is checked\n"
    "    against --ca.  Network failures, timeouts and refusals are counted and\n"
    "    reported, never fatal to the other devices.\n"
    "\n"
    "DECLARATIVE DEVICE MANAGEMENT\n"
    "    On iPadOS 15 or later a device answers the DeclarativeManagement command\n"
    "    (its Data is the tokens document): it turns DDM on and synchronises in\n"
    "    the same session.  From then on every session ends with a synchronisation,\n"
    "    as a pushed iPad does: check-in Endpoint tokens (skipped when the command\n"
    "    gave them); when the DeclarationsToken is not the one of its last sync,\n"
    "    declaration-items, then declaration/<kind>/<identifier> for each new or\n"
    "    changed ServerToken (404: dropped), and the declarations no longer listed\n"
    "    are removed.  The declarations are kept in the state file and applied:\n"
    "    activations (com.apple.activation.simple) activate their\n"
    "    StandardConfigurations; only active configurations apply.  Then Endpoint\n"
    "    status: the first report (and the first after 24 hours of the clock) is\n"
    "    a FullReport; the next ones carry only what changed (removed declarations\n"
    "    with \"_removed\": true), and none is sent when nothing changed.  A report\n"
    "    holds the items the active status-subscriptions configurations name that\n"
    "    the device knows (OS version and build, model identifier and family,\n"
    "    serial number, UDID, passcode.is-present and is-compliant, battery health\n"
    "    \"unsupported\" as on every iPad, the softwareupdate items from iPadOS 17)\n"
    "    and always management.declarations (identifier, server-token, active,\n"
    "    valid, reasons such as Info.NotReferencedByActivation).\n"
    "\n"
    "    Software updates (com.apple.configuration.softwareupdate.enforcement.specific,\n"
    "    active, iPadOS 17 or later): of the targets newer than the running version\n"
    "    the one with the earliest TargetLocalDateTime is taken (one it already\n"
    "    runs: nothing to do).  The sync that first applies it reports install-state\n"
    "    downloading, pending-version {os-version, build-version} and install-reason\n"
    "    declaration; the next sync, prepared; the first sync at or after\n"
    "    TargetLocalDateTime (the tablet's local time, Europe/Paris: the real clock\n"
    "    or --now; a download still going completes first) reports installing,\n"
    "    then the device reboots into the target (OS and build version change,\n"
    "    in DeviceInformation and Authenticate too) and reports install-state\n"
    "    none and an empty pending-version.  After\n"
    "    update-fail the install fails instead: install-state failed and\n"
    "    failure-reason {count, reason, timestamp}; it is retried at each later\n"
    "    sync until update-ok.\n"
    "\n"
    "COMMANDS\n"
    "    enroll      Enrol N devices: devices the state file holds as erased enrol\n"
    "                again first, then new ones.  GET /mdm/enroll (?code=CODE, or a\n"
    "                staff token with --enroll-token: each device then gets a profile\n"
    "                with a fresh one-time code), SCEP GetCACaps, GetCACert and\n"
    "                PKIOperation (AES-256), then Authenticate and TokenUpdate (random\n"
    "                32-byte push token, PushMagic, 32-byte UnlockToken) with the new\n"
    "                identity.  One code made with 'ardoisectl enroll-code new --uses N'\n"
    "                covers N devices.\n"
    "    ade-enroll  Enrol new devices as tablets Apple School Manager assigned to\n"
    "                Ardoise (Automated Device Enrolment): each POSTs its MachineInfo\n"
    "                (UDID, SERIAL, PRODUCT, VERSION, and from iPadOS 17 OS_VERSION\n"
    "                and MDM_CAN_REQUEST_SOFTWARE_UPDATE true), CMS-signed with SHA-1\n"
    "                by --signer-cert/--signer-key (the stand-in of Apple's device\n"
    "                attestation; --signer-chain adds intermediates), to the path of\n"
    "                --enroll-url on the server.  200: the profile, SCEP, Authenticate\n"
    "                and TokenUpdate with AwaitingConfiguration true, supervised; the\n"
    "                device stays awaiting configuration until it acknowledges\n"
    "                DeviceConfigured.  403 com.apple.softwareupdate.required: it\n"
    "                records \"update required to V\" and does not enrol (counted, not\n"
    "                a failure).  Another refusal is a failure, recorded too (list).\n"
    "                Serials: --serial-prefix P (P then a number, 12 characters) for\n"
    "                -n N devices, or --serials FILE (one a line).  The state file\n"
    "                keeps the URL and the signer's files: after an EraseDevice, the\n"
    "                device enrols again through ADE by itself at the next connect,\n"
    "                with a new identity.\n"
    "    connect     Every enrolled device (or --device UDID, or the first -n N) runs\n"
    "                one session: Idle, then the answer to each command until the\n"
    "                server's queue is empty.  A locked device answers NotNow.\n"
    "                Devices erased after coming through ADE first enrol again\n"
    "                through ADE (not with --device).\n"
    "    bench       Measures a wave of N sessions.  Enrols the missing devices first\n"
    "                (with a code made through the API) and drains their initial\n"
    "                inventory, queues one command for every enrolled tablet\n"
    "                (POST /api/v1/commands/bulk), then runs one session per device:\n"
    "                connect, Idle, the command, its result, the empty answer, close.\n"
    "                Prints one JSON line per phase (enrol, drain, prime, queue,\n"
    "                sessions) with devices, seconds, sessions_per_s, p50_ms, p99_ms,\n"
    "                errors, the simulator's own sim_cpu_s and\n"
    "                sim_cpu_us_per_session and, with --server-pid, server_cpu_s,\n"
    "                server_cpu_us_per_session and server_peak_rss_mb.\n"
    "                These sessions do not end with a DDM sync (the drain's do).\n"
    "                With --ddm: enrols and drains as above, then a ddm-prime\n"
    "                phase syncs every device (DDM on, all declarations; a device\n"
    "                already in sync asks for the tokens alone), then the sessions\n"
    "                phase measures, per device, a new connection and tokens,\n"
    "                declaration-items, one declaration (the device forgot its\n"
    "                token and one declaration) and a full status report; the\n"
    "                lines add ddm_syncs, ddm_fetched and ddm_reports.\n"
    "    list        The devices of the state file (--json: everything known,\n"
    "                with os_version, product and ddm: enabled, token,\n"
    "                declarations with their state, install_state,\n"
    "                pending_version, failure, update_fail).\n"
    "    lock UDID   The device answers NotNow to what a locked iPad defers.\n"
    "    unlock UDID Undoes lock.\n"
    "    checkout UDID\n"
    "                The device sends CheckOut (its MDM profile was removed).\n"
    "    update-fail UDID --reason TEXT\n"
    "                The device's software update installs fail with TEXT (the\n"
    "                failure-reason it reports) until update-ok.\n"
    "    update-ok UDID\n"
    "                Undoes update-fail: the next install succeeds.\n"
    "\n"
    "GLOBAL OPTIONS\n"
    "    --url URL          the server, https://HOST[:PORT] (default $ARDOISE_URL)\n"
    "    --ca FILE          PEM CA certificate that issued the server's certificate\n"
    "                       (default $ARDOISE_CA)\n"
    "    --state FILE       the state file (default $ARDOISE_SIM_STATE, else\n"
    "                       ./ardoise-sim.db); created 0600\n"
    "    --timeout MS       per request, connection included (default 30000)\n"
    "    -j, --threads N    event loops, one thread each (default 1)\n"
    "    --now 'YYYY-MM-DDTHH:MM'\n"
    "                       the devices' clock, local time (Europe/Paris), for the\n"
    "                       update deadlines and the reports' timestamps (default:\n"
    "                       the real time)\n"
    "    -v, --verbose      report the first failure of each run on stderr\n"
    "    -h, --help         this manual\n"
    "\n"
    "COMMAND OPTIONS\n"
    "    -n, --devices N    how many devices\n"
    "    -c, --concurrency N  sessions (or enrolments) in flight (default 16)\n"
    "    --code CODE        enrol: the one-time enrolment code\n"
    "    --enroll-token T   enrol: a staff token (technician) instead of a code\n"
    "    --token T          bench: staff token for the API (codes, bulk queueing)\n"
    "    --key-pool K       keys in the pool, at most (default 64): generated as\n"
    "                       enrolments need them, kept in the state file\n"
    "    --key-type rsa|ec  identity keys: rsa (2048 bits, as the enrolment profile\n"
    "                       asks; default) or ec (P-256, cheaper for load generation)\n"
    "    --signed-profile   fetch the CMS-signed profile (not ?unsigned=1) and check\n"
    "                       its signature chains to --ca\n"
    "    --batch B          enrol: save the state every B devices (default 2000)\n"
    "    --os-version V     enrol: the devices run iPadOS V, X.Y[.Z] (default 17.5)\n"
    "    --product P        enrol: the product type, iPadN,M (default iPad13,18)\n"
    "    --reason TEXT      update-fail: the failure reason (1 to 199 bytes)\n"
    "    --enroll-url URL   ade-enroll: the ADE profile's url, https://HOST[:PORT]/PATH\n"
    "                       (Ardoise: /mdm/ade/enroll); its path is asked of --url\n"
    "    --signer-cert F    ade-enroll: PEM certificate signing the MachineInfo\n"
    "    --signer-key F     ade-enroll: its PEM private key\n"
    "    --signer-chain F   ade-enroll: PEM intermediates sent in the signature\n"
    "    --serial-prefix P  ade-enroll: serials P000...1 to N (1 to 11 of A-Z, 0-9)\n"
    "    --serials FILE     ade-enroll: the serials, one a line (with -n: the first N)\n"
    "    --ddm              bench: measure DDM sync sessions instead of a command\n"
    "    --device UDID      connect: this device only\n"
    "    --sign             add the Mdm-Signature header (detached CMS signature of\n"
    "                       the body with the device identity) to every message\n"
    "    --keepalive        bench/connect: connections stay open across device sessions\n"
    "                       (one per concurrency slot) and carry no client\n"
    "                       certificate: devices are identified by Mdm-Signature, as\n"
    "                       behind a TLS-terminating proxy (implies --sign)\n"
    "    --resume           keep each device's TLS session and resume it at the next\n"
    "                       connection (bench first runs a 'prime' phase to get one)\n"
    "    --like-ipad        as an iPad does what the simulator otherwise does its own\n"
    "                       way: TLS groups X25519, P-256, P-384 (key share X25519),\n"
    "                       User-Agent MDM/1.0, and Mdm-Signature on every message\n"
    "                       beside the client certificate (Ardoise's profile sets\n"
    "                       SignMessage).  Already alike: the identity certificate\n"
    "                       sent alone (no CA), one connection kept for the\n"
    "                       session's requests, Content-Type application/x-apple-\n"
    "                       aspen-mdm (server URL) or -mdm-checkin.  Not simulated:\n"
    "                       iPadOS 26's X25519MLKEM768 key share (OpenSSL 3.0 has\n"
    "                       none).  Sources: README, \"Where an MDM session's time\n"
    "                       goes\"\n"
    "    --rate R           start R sessions per second (latency is measured from the\n"
    "                       scheduled start)\n"
    "    --server-pid PID   bench: read the daemon's CPU time and peak RSS in /proc\n"
    "    --command TYPE     bench: the RequestType queued (default SecurityInfo)\n"
    "    --queue-each       bench: queue the command for the wave's own tablets, one\n"
    "                       POST /api/v1/devices/SERIAL/commands each, instead of one\n"
    "                       bulk request for every enrolled tablet of the server (a\n"
    "                       data dir of a million generated tablets: tools/gen-fleet)\n"
    "    --max-commands N   sessions stop with an error past N commands (default 10000)\n"
    "    --json             one JSON object per line (list: an array)\n"
    "\n"
    "FILES\n"
    "    The state file holds the devices' private keys and UnlockTokens: test\n"
    "    material, never real devices'.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 success; 1 failure (one line on stderr), including any device that failed;\n"
    "    2 usage error.\n"
    "\n"
    "EXAMPLES\n"
    "    code=$(ardoisectl enroll-code new --uses 30 --json | jq -r .code)\n"
    "    ardoise-sim --url https://127.0.0.1:8443 --ca var/ca.pem --state trolley.db \\\n"
    "        enroll -n 30 --code \"$code\"\n"
    "    ardoise-sim --url https://127.0.0.1:8443 --ca var/ca.pem --state trolley.db connect\n"
    "    ardoise-sim ... bench -n 100000 -c 64 --token \"$(cat var/admin.token)\" \\\n"
    "        --server-pid \"$(pgrep -o ardoised)\"\n"
    "    # the same devices, a DDM sync per session: compare the two sessions\n"
    "    # lines' server_cpu_us_per_session\n"
    "    ardoise-sim ... bench -n 100000 -c 64 --token \"$(cat var/admin.token)\" \\\n"
    "        --server-pid \"$(pgrep -o ardoised)\" --ddm\n"
    "    ardoise-sim ... enroll -n 5 --code \"$code\" --os-version 15.8 --product iPad7,11\n"
    "    ardoise-sim ... --now '2026-10-15T18:05' connect\n";

enum {
	O_URL = 256,
	O_CA,
	O_STATE,
	O_TIMEOUT,
	O_CODE,
	O_ENROLL_TOKEN,
	O_TOKEN,
	O_KEY_POOL,
	O_KEY_TYPE,
	O_SIGNED_PROFILE,
	O_BATCH,
	O_DEVICE,
	O_SIGN,
	O_KEEPALIVE,
	O_RESUME,
	O_LIKE_IPAD,
	O_QUEUE_EACH,
	O_RATE,
	O_SERVER_PID,
	O_COMMAND,
	O_MAX_COMMANDS,
	O_JSON,
	O_NOW,
	O_OS_VERSION,
	O_PRODUCT,
	O_REASON,
	O_DDM,
	O_ENROLL_URL,
	O_SIGNER_CERT,
	O_SIGNER_KEY,
	O_SIGNER_CHAIN,
	O_SERIAL_PREFIX,
	O_SERIALS,
};

static const struct option options[] = {
    {"url", required_argument, NULL, O_URL},
    {"ca", required_argument, NULL, O_CA},
    {"state", required_argument, NULL, O_STATE},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"threads", required_argument, NULL, 'j'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"devices", required_argument, NULL, 'n'},
    {"concurrency", required_argument, NULL, 'c'},
    {"code", required_argument, NULL, O_CODE},
    {"enroll-token", required_argument, NULL, O_ENROLL_TOKEN},
    {"token", required_argument, NULL, O_TOKEN},
    {"key-pool", required_argument, NULL, O_KEY_POOL},
    {"key-type", required_argument, NULL, O_KEY_TYPE},
    {"signed-profile", no_argument, NULL, O_SIGNED_PROFILE},
    {"batch", required_argument, NULL, O_BATCH},
    {"device", required_argument, NULL, O_DEVICE},
    {"sign", no_argument, NULL, O_SIGN},
    {"keepalive", no_argument, NULL, O_KEEPALIVE},
    {"resume", no_argument, NULL, O_RESUME},
    {"like-ipad", no_argument, NULL, O_LIKE_IPAD},
    {"queue-each", no_argument, NULL, O_QUEUE_EACH},
    {"rate", required_argument, NULL, O_RATE},
    {"server-pid", required_argument, NULL, O_SERVER_PID},
    {"command", required_argument, NULL, O_COMMAND},
    {"max-commands", required_argument, NULL, O_MAX_COMMANDS},
    {"json", no_argument, NULL, O_JSON},
    {"now", required_argument, NULL, O_NOW},
    {"os-version", required_argument, NULL, O_OS_VERSION},
    {"product", required_argument, NULL, O_PRODUCT},
    {"reason", required_argument, NULL, O_REASON},
    {"ddm", no_argument, NULL, O_DDM},
    {"enroll-url", required_argument, NULL, O_ENROLL_URL},
    {"signer-cert", required_argument, NULL, O_SIGNER_CERT},
    {"signer-key", required_argument, NULL, O_SIGNER_KEY},
    {"signer-chain", required_argument, NULL, O_SIGNER_CHAIN},
    {"serial-prefix", required_argument, NULL, O_SERIAL_PREFIX},
    {"serials", required_argument, NULL, O_SERIALS},
    {NULL, 0, NULL, 0},
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;

	fputs("ardoise-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see ardoise-sim --help)\n", stderr);
	return 2;
}

/* A whole number in [lo, hi]; 0 on success. */
static int number(const char *s, long long lo, long long hi, long long *ret)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 10);

	if (s[0] == '\0' || *end != '\0' || v < lo || v > hi)
		return AP_EINVAL;
	*ret = v;
	return 0;
}

static int positive(const char *s, long long hi, long long *ret)
{
	return number(s, 1, hi, ret);
}

/* Options that take a number: 0 when handled, -1 when not such an option,
 * 2 on a bad value. */
static int numeric_option(int c, const char *arg, struct sim_opts *o)
{
	long long v = 0;
	char *end = NULL;

	switch (c) {
	case 'n':
		if (positive(arg, 10000000, &v) < 0)
			return usage("-n wants a positive number, not '%s'", arg);
		o->n = (size_t)v;
		return 0;
	case 'c':
		if (positive(arg, 100000, &v) < 0)
			return usage("-c wants a positive number, not '%s'", arg);
		o->conc = (unsigned)v;
		return 0;
	case 'j':
		if (positive(arg, 64, &v) < 0)
			return usage("-j wants 1 to 64 threads, not '%s'", arg);
		o->threads = (unsigned)v;
		return 0;
	case O_TIMEOUT:
		if (positive(arg, 3600000, &v) < 0)
			return usage("--timeout wants milliseconds, not '%s'", arg);
		o->timeout_ms = (unsigned)v;
		return 0;
	case O_KEY_POOL:
		if (positive(arg, 100000, &v) < 0)
			return usage("--key-pool wants a positive number, not '%s'", arg);
		o->key_pool = (size_t)v;
		return 0;
	case O_BATCH:
		if (positive(arg, 10000000, &v) < 0)
			return usage("--batch wants a positive number, not '%s'", arg);
		o->batch = (size_t)v;
		return 0;
	case O_SERVER_PID:
		if (positive(arg, 4194304, &v) < 0)
			return usage("--server-pid wants a process id, not '%s'", arg);
		o->server_pid = (long)v;
		return 0;
	case O_MAX_COMMANDS:
		if (positive(arg, 10000000, &v) < 0)
			return usage("--max-commands wants a positive number, not '%s'", arg);
		o->max_commands = (size_t)v;
		return 0;
	case O_RATE:
		o->rate = strtod(arg, &end);
		if (arg[0] == '\0' || *end != '\0' || !(o->rate > 0) || o->rate > 1e7)
			return usage("--rate wants sessions per second, not '%s'", arg);
		return 0;
	}
	return -1;
}

/* A failure reason: 1 to 199 bytes, no control characters. */
static int reason_ok(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return n >= 1 && n < 200;
}

static int other_option(int c, const char *arg, struct sim_opts *o)
{
	switch (c) {
	case O_URL:
		o->url = arg;
		break;
	case O_CA:
		o->ca = arg;
		break;
	case O_STATE:
		o->state = arg;
		break;
	case 'v':
		o->verbose = 1;
		break;
	case O_CODE:
		o->code = arg;
		break;
	case O_ENROLL_TOKEN:
		o->enroll_token = arg;
		break;
	case O_TOKEN:
		o->token = arg;
		break;
	case O_SIGNED_PROFILE:
		o->signed_profile = 1;
		break;
	case O_DEVICE:
		o->device = arg;
		break;
	case O_SIGN:
		o->sign = 1;
		break;
	case O_KEEPALIVE:
		o->keepalive = 1;
		break;
	case O_RESUME:
		o->resume = 1;
		break;
	case O_LIKE_IPAD:
		o->like_ipad = 1;
		break;
	case O_QUEUE_EACH:
		o->queue_each = 1;
		break;
	case O_COMMAND:
		o->command = arg;
		break;
	case O_JSON:
		o->json = 1;
		break;
	case O_DDM:
		o->ddm = 1;
		break;
	case O_ENROLL_URL:
		o->enroll_url = arg;
		break;
	case O_SIGNER_CERT:
		o->signer_cert = arg;
		break;
	case O_SIGNER_KEY:
		o->signer_key = arg;
		break;
	case O_SIGNER_CHAIN:
		o->signer_chain = arg;
		break;
	case O_SERIAL_PREFIX:
		o->serial_prefix = arg;
		break;
	case O_SERIALS:
		o->serials = arg;
		break;
	case O_NOW:
		if (sim_clock_parse(&o->clock, arg) < 0)
			return usage("--now wants a local time 'YYYY-MM-DDTHH:MM', not '%s'", arg);
		o->now = arg;
		break;
	case O_OS_VERSION:
		if (!sim_ddm_version_ok(arg))
			return usage("--os-version wants X.Y or X.Y.Z, not '%s'", arg);
		o->os_version = arg;
		break;
	case O_PRODUCT:
		if (!sim_device_product_ok(arg))
			return usage("--product wants a product type iPadN,M, not '%s'", arg);
		o->product = arg;
		break;
	case O_REASON:
		if (!reason_ok(arg))
			return usage("%s", "--reason wants 1 to 199 bytes of text");
		o->reason = arg;
		break;
	case O_KEY_TYPE:
		if (sim_key_kind_from_name(arg, &o->key_type) < 0)
			return usage("--key-type is rsa or ec, not '%s'", arg);
		break;
	default:
		return 2;
	}
	return 0;
}

/* Reads options from argv[optind...] until the first non-option; 0, 1
 * (help shown) or 2 (usage error). */
static int parse(int argc, char **argv, struct sim_opts *o)
{
	int c;

	while ((c = getopt_long(argc, argv, "+n:c:j:vh", options, NULL)) != -1) {
		if (c == 'h') {
			fputs(manual, stdout);
			return 1;
		}
		if (c == '?' || c == ':')
			return usage("%s", "bad option");
		int rc = numeric_option(c, optarg, o);
		if (rc == -1)
			rc = other_option(c, optarg, o);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* ---- the subcommands ---- */

static int cmd_enroll(struct sim_opts *o, int argc, char **argv)
{
	return argc ? usage("enroll: unexpected argument '%s'", argv[0]) : sim_run_enroll(o);
}

static int cmd_ade_enroll(struct sim_opts *o, int argc, char **argv)
{
	return argc ? usage("ade-enroll: unexpected argument '%s'", argv[0])
		    : sim_run_ade_enroll(o);
}

static int cmd_connect(struct sim_opts *o, int argc, char **argv)
{
	return argc ? usage("connect: unexpected argument '%s'", argv[0]) : sim_run_connect(o);
}

static int cmd_bench(struct sim_opts *o, int argc, char **argv)
{
	return argc ? usage("bench: unexpected argument '%s'", argv[0]) : sim_run_bench(o);
}

static int cmd_list(struct sim_opts *o, int argc, char **argv)
{
	return argc ? usage("list: unexpected argument '%s'", argv[0]) : sim_run_list(o);
}

static int one_udid(const char *verb, int argc, char **argv)
{
	if (argc != 1)
		return usage("%s wants one device UDID", verb);
	return 0;
}

static int cmd_lock(struct sim_opts *o, int argc, char **argv)
{
	return one_udid("lock", argc, argv) ?: sim_run_lock(o, argv[0], 1);
}

static int cmd_unlock(struct sim_opts *o, int argc, char **argv)
{
	return one_udid("unlock", argc, argv) ?: sim_run_lock(o, argv[0], 0);
}

static int cmd_checkout(struct sim_opts *o, int argc, char **argv)
{
	return one_udid("checkout", argc, argv) ?: sim_run_checkout(o, argv[0]);
}

static int cmd_update_fail(struct sim_opts *o, int argc, char **argv)
{
	if (one_udid("update-fail", argc, argv))
		return 2;
	if (o->reason == NULL)
		return usage("%s", "update-fail wants --reason TEXT");
	return sim_run_update_fail(o, argv[0], o->reason);
}

static int cmd_update_ok(struct sim_opts *o, int argc, char **argv)
{
	return one_udid("update-ok", argc, argv) ?: sim_run_update_fail(o, argv[0], NULL);
}

static const struct {
	const char *name;
	int (*run)(struct sim_opts *o, int argc, char **argv);
} commands[] = {
    {"enroll", cmd_enroll},
    {"ade-enroll", cmd_ade_enroll},
    {"connect", cmd_connect},
    {"bench", cmd_bench},
    {"list", cmd_list},
    {"lock", cmd_lock},
    {"unlock", cmd_unlock},
    {"checkout", cmd_checkout},
    {"update-fail", cmd_update_fail},
    {"update-ok", cmd_update_ok},
};

static void defaults(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->url = getenv("ARDOISE_URL");
	o->ca = getenv("ARDOISE_CA");
	o->state = getenv("ARDOISE_SIM_STATE") ? getenv("ARDOISE_SIM_STATE") : "ardoise-sim.db";
	o->timeout_ms = 30000;
	o->conc = 16;
	o->threads = 1;
	o->key_pool = 64;
	o->key_type = SIM_KEY_RSA;
	o->command = "SecurityInfo";
	o->batch = 2000;
}

int main(int argc, char **argv)
{
	struct sim_opts o;
	int rc;

	/* the tablets' local time (deadlines, --now) */
	setenv("TZ", "Europe/Paris", 1);
	tzset();
	defaults(&o);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = parse(argc, argv, &o)) != 0)
		return rc == 1 ? 0 : rc;
	if (optind >= argc)
		return usage(
		    "%s", "a COMMAND is required: enroll, ade-enroll, connect, bench, list, lock,"
			  " unlock, checkout, update-fail, update-ok");
	const char *verb = argv[optind++];
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, verb) != 0)
			continue;
		/* the command's own options and its arguments, in any order */
		char *args[8];
		int n = 0;
		for (;;) {
			if ((rc = parse(argc, argv, &o)) != 0)
				return rc == 1 ? 0 : rc;
			if (optind >= argc)
				break;
			if (n == 8)
				return usage("%s: too many arguments", verb);
			args[n++] = argv[optind++];
		}
		return commands[i].run(&o, n, args);
	}
	return usage("unknown command '%s'", verb);
}
