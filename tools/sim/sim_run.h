/*
 * sim_run.h - the simulator's subcommands once the command line is read:
 * enrol devices, run their sessions, measure a wave, check a device out.
 * Each returns the process exit status (0 success, 1 failure) after
 * printing its results on stdout and any failure as one line on stderr.
 */
#ifndef SIM_RUN_H
#define SIM_RUN_H

#include "sim_ddm_state.h"
#include "sim_state.h"

#include <stddef.h>

/* Everything the command line can set; see sim_main.c for defaults. */
struct sim_opts {
	const char *url, *ca, *state;
	unsigned timeout_ms;
	int verbose, json;
	size_t n;		  /* devices */
	unsigned conc;		  /* sessions in flight */
	unsigned threads;	  /* event loops */
	double rate;		  /* session starts per second, 0: unpaced */
	const char *code;	  /* enrolment code (enroll) */
	const char *enroll_token; /* staff token: one profile per device (enroll) */
	const char *token;	  /* staff token for the API (bench) */
	int signed_profile;
	size_t key_pool;
	enum sim_key_kind key_type;
	int sign, resume, keepalive;
	int queue_each;	     /* bench: the command queued per wave tablet (--help) */
	int like_ipad;	     /* TLS groups, User-Agent and signatures as an iPad (--help) */
	long server_pid;     /* 0: none */
	const char *command; /* bench: RequestType queued for every device */
	const char *device;  /* connect: one UDID only */
	size_t batch;	     /* enroll: devices saved every `batch` */
	size_t max_commands;
	const char *now;		  /* --now as given, NULL: the real clock */
	struct sim_clock clock;		  /* --now parsed */
	const char *os_version, *product; /* enroll: NULL: the defaults */
	const char *reason;		  /* update-fail */
	int ddm;			  /* bench: DDM sync sessions */
	/* ade-enroll: the ADE enrolment URL, the signer's files, the serials */
	const char *enroll_url, *signer_cert, *signer_key, *signer_chain;
	const char *serial_prefix, *serials;
};

int sim_run_enroll(const struct sim_opts *o);
/* Enrols devices through ADE (sim_ade.h): new ones with the serials of
 * --serials FILE or --serial-prefix P (P then a number, 12 characters). */
int sim_run_ade_enroll(const struct sim_opts *o);
int sim_run_connect(const struct sim_opts *o);
int sim_run_bench(const struct sim_opts *o);
int sim_run_checkout(const struct sim_opts *o, const char *udid);
int sim_run_list(const struct sim_opts *o);
int sim_run_lock(const struct sim_opts *o, const char *udid, int locked);
/* reason NULL: update-ok. */
int sim_run_update_fail(const struct sim_opts *o, const char *udid, const char *reason);

/* "ardoise-sim: <message>" on stderr; returns 1. */
int sim_run_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
