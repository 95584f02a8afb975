/* quota.c - the body budget and the per-address connection counts. */
#include "quota.h"
#include "ap_err.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct addr_count {
	struct quota_addr a;
	uint64_t n;
	struct addr_count *next;
};

struct quota {
	pthread_mutex_t mu;
	uint64_t budget, used, anon_used;
	uint64_t per_addr_max;
	size_t n_buckets;
	struct addr_count **buckets; /* chained; an entry lives while n > 0 */
};

int quota_new(uint64_t body_budget, uint64_t per_addr_max, size_t expected_addrs,
	      struct quota **ret)
{
	struct quota *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return AP_ENOMEM;
	q->budget = body_budget;
	q->per_addr_max = per_addr_max;
	q->n_buckets = expected_addrs < 1024 ? 1024 : expected_addrs;
	q->buckets = calloc(q->n_buckets, sizeof(*q->buckets));
	if (q->buckets == NULL) {
		free(q);
		return AP_ENOMEM;
	}
	pthread_mutex_init(&q->mu, NULL);
	*ret = q;
	return 0;
}

void quota_free(struct quota *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->n_buckets; i++) {
		for (struct addr_count *e = q->buckets[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&q->mu);
	free(q->buckets);
	free(q);
}

int quota_body_take(struct quota *q, uint64_t n, int anonymous)
{
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	if (n > q->budget - q->used || (anonymous && n > q->budget / 2 - q->anon_used)) {
		rc = AP_EBUSY;
	} else {
		q->used += n;
		q->anon_used += anonymous ? n : 0;
	}
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void quota_body_give(struct quota *q, uint64_t n, int anonymous)
{
	pthread_mutex_lock(&q->mu);
	q->used -= n;
	q->anon_used -= anonymous ? n : 0;
	pthread_mutex_unlock(&q->mu);
}

int quota_addr_of(const struct sockaddr *sa, struct quota_addr *ret)
{
	struct quota_addr a;
	memset(&a, 0, sizeof(a));
	a.b[0] = (unsigned char)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(a.b + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(a.b + 1, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 8);
	else
		return AP_EINVAL;
	*ret = a;
	return 0;
}

static struct addr_count **slot(struct quota *q, const struct quota_addr *a)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < sizeof(a->b); i++)
		h = (h ^ a->b[i]) * 1099511628211ull;
	struct addr_count **p = &q->buckets[h % q->n_buckets];
	while (*p && memcmp((*p)->a.b, a->b, sizeof(a->b)) != 0)
		p = &(*p)->next;
	return p;
}

int quota_addr_take(struct quota *q, const struct quota_addr *a)
{
	int rc = 0;
	if (q->per_addr_max == 0)
		return 0;
	pthread_mutex_lock(&q->mu);
	struct addr_count **p = slot(q, a);
	if (*p == NULL && (*p = calloc(1, sizeof(**p))) != NULL)
		(*p)->a = *a;
	if (*p == NULL)
		rc = AP_ENOMEM;
	else if ((*p)->n >= q->per_addr_max)
		rc = AP_ELIMIT;
	else
		(*p)->n++;
	pthread_mutex_unlock(&q->mu);
	return rc;
}

void quota_addr_give(struct quota *q, const struct quota_addr *a)
{
	if (q->per_addr_max == 0)
		return;
	pthread_mutex_lock(&q->mu);
	struct addr_count **p = slot(q, a);
	struct addr_count *e = *p;
	if (e && --e->n == 0) {
		*p = e->next;
		free(e);
	}
	pthread_mutex_unlock(&q->mu);
}
