/*
 * gdmf.h - Apple's software update catalogue (GDMF, "Apple Software Lookup
 * Service", GET https://gdmf.apple.com/v2/pmv; docs/apple-services.md §4):
 * the answer parsed, and the questions asked of it.  No I/O (days go
 * through isodate.h: the C library's reading of the zone file), no
 * logging; the fetching and the cached copy are gdmf_sync.h's.
 *
 * The answer is an object of sets (PublicAssetSets: what the public is
 * offered; AssetSets: what an MDM may push; PublicBackgroundSecurityImprovements,
 * formerly PublicRapidSecurityResponses: security supplements), each an
 * object of platforms ("iOS" holds iPadOS, tvOS, watchOS too; "xrOS" is
 * visionOS's older name) holding arrays of releases:
 *
 *	{"ProductVersion": "17.6.1", "Build": "21G93", "PostingDate": "2024-08-07",
 *	 "ExpirationDate": "2024-11-11", "SupportedDevices": ["iPad13,18", ...]}
 *
 * Unknown keys (top level, platforms, release members) are skipped; a key
 * we read with the wrong type or shape is an error naming its path
 * ("PublicAssetSets.iOS[3].SupportedDevices[2]: not a string").
 */
#ifndef GDMF_H
#define GDMF_H

#include <stddef.h>
#include <stdint.h>

#define GDMF_MAX_BYTES	  (8u << 20) /* the largest answer accepted (Apple's: ~0.5 MB) */
#define GDMF_MAX_RELEASES 20000	     /* releases in one answer, all sets */
#define GDMF_MAX_DEVICES  4096	     /* SupportedDevices of one release */
#define GDMF_MODEL_MAX	  63	     /* a product type, "iPad13,18" */
#define GDMF_BUILD_MAX	  31	     /* "21G93", "22C5131e" */
#define GDMF_VERSION_MAX  31	     /* "17.6.1" */
#define GDMF_PARTS	  4	     /* components of a version: 17.6.1 is 17.6.1.0 */
#define GDMF_PLATFORM_MAX 31

enum gdmf_set {
	GDMF_PUBLIC, /* PublicAssetSets */
	GDMF_MDM,    /* AssetSets */
	GDMF_BSI,    /* PublicBackgroundSecurityImprovements (PublicRapidSecurityResponses) */
	GDMF__SETS
};

/* A version as numbers, compared component by component. */
struct gdmf_version {
	unsigned part[GDMF_PARTS]; /* missing components are 0 */
	int n;			   /* components written, 1..GDMF_PARTS */
};

struct gdmf_release {
	enum gdmf_set set;
	char platform[GDMF_PLATFORM_MAX + 1]; /* "iOS", "macOS", "visionOS" ("xrOS" renamed) */
	char version[GDMF_VERSION_MAX + 1];   /* ProductVersion as written */
	struct gdmf_version v;
	char build[GDMF_BUILD_MAX + 1];
	int64_t posted;	 /* PostingDate: its local midnight */
	int64_t expires; /* ExpirationDate's local midnight, from which the release is no
			  * longer signed; 0 when absent */
	char **devices;	 /* SupportedDevices, n_devices strings, in strcmp() order */
	size_t n_devices;
};

struct gdmf;

/* Parses Apple's answer (len bytes, need not be NUL-terminated) into *ret
 * (gdmf_free()).  AP_ETOOBIG past GDMF_MAX_BYTES (or too many releases or
 * devices), AP_EPARSE (not JSON, or a value of the wrong shape), AP_ETYPE
 * (a value of the wrong type), AP_EMISSING (a required member absent),
 * AP_ENOMEM; each with the reason and the value's path into err (cap
 * bytes).  An answer with no set we know is AP_EMISSING too. */
int gdmf_parse(const char *text, size_t len, struct gdmf **ret, char *err, size_t cap);
/* NULL ok. */
void gdmf_free(struct gdmf *g);

/* The releases, in the answer's order (sets in the order above). */
size_t gdmf_count(const struct gdmf *g);
const struct gdmf_release *gdmf_release_at(const struct gdmf *g, size_t i);

/* "X[.Y[.Z[.W]]]" (each 0..999999, no sign, no blank) into *ret.
 * AP_EPARSE otherwise. */
int gdmf_version_parse(const char *s, struct gdmf_version *ret);
/* <0, 0, >0 as a is lower than, the same as, higher than b: 18.10 > 18.9,
 * 17.6 == 17.6.0. */
int gdmf_version_cmp(const struct gdmf_version *a, const struct gdmf_version *b);

/* 1 when the release of set `set` is offered to product type model at now
 * (model among its SupportedDevices, not expired at now). */
int gdmf_release_offers(const struct gdmf_release *r, const char *model, int64_t now);

/* The releases of set offered to model at now, highest version first (the
 * same version twice: the later posting first, then the build in byte
 * order), at most cap of them into out (pointers into g, valid while g
 * lives).  Returns how many there are (may be more than cap). */
size_t gdmf_offered(const struct gdmf *g, enum gdmf_set set, const char *model, int64_t now,
		    const struct gdmf_release **out, size_t cap);
/* The highest of them (major: 0 for any, else only versions major.*);
 * NULL when none. */
const struct gdmf_release *gdmf_latest(const struct gdmf *g, enum gdmf_set set, const char *model,
				       int64_t now, unsigned major);
/* 1 when version (gdmf_version_parse(): "18.2" also matches "18.2.0") is
 * offered to model at now in set, 0 when not, AP_EPARSE when version is
 * not one. */
int gdmf_is_offered(const struct gdmf *g, enum gdmf_set set, const char *model, int64_t now,
		    const char *version);

/* The product types of set whose name starts with prefix ("" for all),
 * each once, in natural order (iPad7,5 before iPad13,18), into *ret
 * (malloc'd array of pointers into g: free() the array only) and *ret_n.
 * AP_ENOMEM. */
int gdmf_models(const struct gdmf *g, enum gdmf_set set, const char *prefix, const char ***ret,
		size_t *ret_n);
/* The natural order of two product types: runs of digits compare as
 * numbers. */
int gdmf_model_cmp(const char *a, const char *b);
/* 1 when s is a product type as we accept it: 1..GDMF_MODEL_MAX bytes of
 * letters, digits and , . _ - */
int gdmf_model_ok(const char *s);

/* The JSON name of a set ("PublicAssetSets", ...). */
const char *gdmf_set_name(enum gdmf_set set);

#endif
