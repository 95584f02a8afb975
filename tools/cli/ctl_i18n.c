/* ctl_i18n.c - what ardoisectl shows people in their language: a table's
 * strings (ctl_tr()) and the API's values, states, kinds and roles
 * (ctl_word()).  The catalogue is tools/po/ (HACKING.md: adding a
 * string). */
#include "ctl.h"

#include <string.h>

const char *ctl_tr(const char *s)
{
	return s && s[0] ? gettext(s) : s;
}

/* The API's values people read, each with a context ("value") so that
 * "open" the state is translated apart from any other "open". */
static const char *const values[] = {
    /* states of a tablet */
    NC_("value", "stock"),
    NC_("value", "loaned"),
    NC_("value", "returning"),
    NC_("value", "repair"),
    NC_("value", "lost"),
    NC_("value", "stolen"),
    NC_("value", "retired"),
    /* enrolment */
    NC_("value", "none"),
    NC_("value", "pending"),
    NC_("value", "enrolled"),
    NC_("value", "unenrolled"),
    /* loans and incidents */
    NC_("value", "open"),
    NC_("value", "closed"),
    NC_("value", "ok"),
    NC_("value", "damaged"),
    NC_("value", "erased"),
    NC_("value", "written_off"),
    NC_("value", "found"),
    NC_("value", "not_found"),
    NC_("value", "repaired"),
    /* a loan's flag */
    NC_("value", "agreement_withdrawn"),
    /* kinds of incident, of person */
    NC_("value", "loss"),
    NC_("value", "theft"),
    NC_("value", "damage"),
    NC_("value", "failure"),
    NC_("value", "pupil"),
    NC_("value", "teacher"),
    /* roles */
    NC_("value", "technician"),
    NC_("value", "ati"),
    NC_("value", "referent"),
    NC_("value", "auditor"),
    NC_("value", "monitoring"),
    NC_("value", "system"),
    /* commands */
    NC_("value", "queued"),
    NC_("value", "sent"),
    NC_("value", "notnow"),
    NC_("value", "acknowledged"),
    NC_("value", "error"),
    NC_("value", "format_error"),
    NC_("value", "expired"),
    NC_("value", "canceled"),
    /* geolocation requests */
    NC_("value", "approved"),
    NC_("value", "denied"),
    /* accounts */
    NC_("value", "active"),
    NC_("value", "disabled"),
    /* policies */
    NC_("value", "profile"),
    NC_("value", "app"),
    /* a policy on a tablet (device show) */
    NC_("value", "installed"),
    NC_("value", "missing"),
    NC_("value", "waiting_licence"),
    NC_("value", "failed"),
    NC_("value", "removing"),
    NC_("value", "to_remove"),

    /* runs of the daily notice: their origin, their state */
    NC_("value", "daily"),
    NC_("value", "manual"),
    NC_("value", "sending"),
    NC_("value", "done"),
    /* declarative management: kinds of declaration, their state on a tablet */
    NC_("value", "activation"),
    NC_("value", "configuration"),
    NC_("value", "asset"),
    NC_("value", "management"),
    NC_("value", "valid"),
    NC_("value", "invalid"),
    NC_("value", "unknown"),

};

const char *ctl_word(const char *value)
{
	size_t ctx = strlen("value") + 1;
	if (value == NULL)
		return NULL;
	for (size_t k = 0; k < sizeof(values) / sizeof(values[0]); k++) {
		if (strcmp(values[k] + ctx, value) != 0)
			continue;
		const char *t = gettext(values[k]);
		return t == values[k] ? value : t;
	}
	return value;
}
