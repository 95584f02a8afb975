/*
 * sim_plist.h - what the simulated iPad's modules (sim_device, sim_cmd)
 * share to build the plists it sends: a leaf, it includes no sim_ header.
 */
#ifndef SIM_PLIST_H
#define SIM_PLIST_H

#include <plist/plist.h>

#include <stddef.h>
#include <stdint.h>

/* Small builders: set dict[key] to a new node (v NULL: "").  Allocation
 * failures are left to libplist (it aborts), as everywhere in
 * agent-protocol. */
void sim_plist_set_str(plist_t dict, const char *key, const char *v);
void sim_plist_set_bool(plist_t dict, const char *key, int v);
void sim_plist_set_int(plist_t dict, const char *key, int64_t v);
void sim_plist_set_real(plist_t dict, const char *key, double v);
void sim_plist_set_data(plist_t dict, const char *key, const void *v, size_t len);

/* p as XML (*ret_xml malloc'd, NUL-terminated); p is freed either way. */
int sim_plist_to_xml(plist_t p, char **ret_xml, size_t *ret_len);

#endif
