/* sim_plist.c - the plist builders the device core's modules share. */
#include "sim_plist.h"
#include "ap_plist.h"

void sim_plist_set_str(plist_t dict, const char *key, const char *v)
{
	plist_dict_set_item(dict, key, plist_new_string(v ? v : ""));
}

void sim_plist_set_bool(plist_t dict, const char *key, int v)
{
	plist_dict_set_item(dict, key, plist_new_bool(v ? 1 : 0));
}

void sim_plist_set_int(plist_t dict, const char *key, int64_t v)
{
	plist_dict_set_item(dict, key, plist_new_uint((uint64_t)v));
}

void sim_plist_set_real(plist_t dict, const char *key, double v)
{
	plist_dict_set_item(dict, key, plist_new_real(v));
}

void sim_plist_set_data(plist_t dict, const char *key, const void *v, size_t len)
{
	plist_dict_set_item(dict, key, plist_new_data(v, len));
}

int sim_plist_to_xml(plist_t p, char **ret_xml, size_t *ret_len)
{
	int rc = ap_plist_to_xml(p, ret_xml, ret_len);

	plist_free(p);
	return rc;
}
