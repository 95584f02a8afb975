/*
 * quota.h - what the whole process lets its peers hold, shared by the
 * workers (thread-safe): body bytes in flight, and connections per address.
 *
 * Bodies: a request reserves the bytes its head announces (or its limit,
 * for a chunked body) before any is read, and gives them back when it is
 * answered or its connection closes.  Unauthenticated requests may hold at
 * most half of the budget, so they cannot crowd out tablets and staff.
 *
 * Addresses: an IPv4 address counts alone, an IPv6 address by its /64 (one
 * host usually owns the whole /64).
 */
#ifndef QUOTA_H
#define QUOTA_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct quota;

/* body_budget: bytes; per_addr_max: connections per address, 0 = no cap;
 * expected_addrs sizes the address table (a hint). */
int quota_new(uint64_t body_budget, uint64_t per_addr_max, size_t expected_addrs,
	      struct quota **ret);
void quota_free(struct quota *q); /* NULL ok */

/* Reserves n body bytes; 0, or AP_EBUSY when the budget (or, anonymous,
 * its unauthenticated half) would be passed. */
int quota_body_take(struct quota *q, uint64_t n, int anonymous);
/* Gives back what quota_body_take() reserved, with the same arguments. */
void quota_body_give(struct quota *q, uint64_t n, int anonymous);

/* The key under which an address is counted. */
struct quota_addr {
	unsigned char b[17]; /* family byte, then 4 or 8 address bytes */
};
/* 0 and *ret filled, or AP_EINVAL for a socket address of another family. */
int quota_addr_of(const struct sockaddr *sa, struct quota_addr *ret);
/* Counts one more connection from a; AP_ELIMIT (nothing counted) at the cap. */
int quota_addr_take(struct quota *q, const struct quota_addr *a);
/* Counts one connection less (one quota_addr_take() succeeded for it). */
void quota_addr_give(struct quota *q, const struct quota_addr *a);

#endif
