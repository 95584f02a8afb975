/*
 * ap_msg_impl.h - internal to agent-protocol: the two halves of
 * ap_msg_parse().  Not part of the public contract.
 */
#ifndef AP_MSG_IMPL_H
#define AP_MSG_IMPL_H

#include "ap_msg.h"

/* dict is borrowed; flags as for ap_msg_parse_flags().  On success *ret
 * is filled (fields owned by it); on failure *ret is left zeroed. */
int ap_checkin_parse(plist_t dict, unsigned flags, struct ap_checkin *ret, char *detail,
		     size_t cap);
void ap_checkin_clear(struct ap_checkin *c);

/* On success the report takes ownership of dict (ret->dict); on failure
 * dict still belongs to the caller and *ret is left zeroed. */
int ap_report_parse(plist_t dict, struct ap_report *ret, char *detail, size_t cap);
void ap_report_clear(struct ap_report *r);

#endif
