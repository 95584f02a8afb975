/*
 * ade_configure.h - releasing a tablet enrolled through ADE from Setup
 * Assistant (docs/apple-services.md §2.8): while it awaits configuration
 * (its TokenUpdate said AwaitingConfiguration, device.awaiting_config),
 * its first TokenUpdate has queued the initial inventory and its policy
 * (reconcile_enrolled()); once none of those commands is pending and
 * reconcile_settled() says its plan is settled, DeviceConfigured is
 * queued (origin "ade", once: dedupe "ade-configured").  Its
 * acknowledgement sets ade_device.configured_at, clears awaiting_config
 * and writes the audit row device.configured.
 *
 * A tablet never waits for ever: one whose commands have not moved (none
 * created or answered) for [ade] await_release_minutes is released all
 * the same, and its audit row says why.
 */
#ifndef ADE_CONFIGURE_H
#define ADE_CONFIGURE_H

#include <stdint.h>

struct worker;
struct cmdq_result;

/* The cmdq_on_result() hook (main.c), registered after reconcile's for
 * the inventory lists and the policy commands (a settled plan is seen
 * after reconcile recorded the result), and for DeviceConfigured itself. */
int ade_configure_on_result(struct worker *w, const struct cmdq_result *res);

/* The periodic look (jobs.c, every minute; `job run ade_configure`): the
 * tablets whose last command failed (no hook runs on an error), and the
 * ones stuck past the limit.  Storage errors. */
int ade_configure_job(struct worker *w);

#endif
