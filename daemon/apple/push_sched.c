/*
 * push_sched.c - the push schedule: entries in a slab that only grows (so
 * indexes stay valid), a chained hash from device id to entry, and a binary
 * min-heap of the waiting and quiet entries ordered by due time.
 */
#include "push_sched.h"
#include "ap_err.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

enum { S_WAIT, S_FLIGHT, S_QUIET };

struct ent {
	int64_t id;
	uint64_t due;
	uint32_t chain; /* next in the bucket, or in the free list */
	uint32_t heap;	/* position in the heap, NIL when not in it */
	uint8_t state;
	uint8_t attempts;
	uint8_t kind;
	uint8_t again; /* in flight: 0, or 1 + the kind of a push to make after */
};

struct push_sched {
	struct push_sched_opts o;
	struct ent *ents;
	uint32_t n_alloc, n_used, free_head;
	uint32_t *buckets;
	uint32_t bucket_bits;
	uint32_t *heap;
	uint32_t heap_len;
	size_t count, n_state[3];
};

static uint32_t bucket_of(const struct push_sched *s, int64_t id)
{
	return (uint32_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> (64 - s->bucket_bits));
}

static uint32_t lookup(const struct push_sched *s, int64_t id)
{
	for (uint32_t i = s->buckets[bucket_of(s, id)]; i != NIL; i = s->ents[i].chain)
		if (s->ents[i].id == id)
			return i;
	return NIL;
}

/* ---- heap ----------------------------------------------------------------- */

static int before(const struct push_sched *s, uint32_t a, uint32_t b)
{
	const struct ent *x = &s->ents[a], *y = &s->ents[b];
	return x->due < y->due || (x->due == y->due && x->id < y->id);
}

static void heap_set(struct push_sched *s, uint32_t pos, uint32_t e)
{
	s->heap[pos] = e;
	s->ents[e].heap = pos;
}

static void sift_up(struct push_sched *s, uint32_t pos)
{
	uint32_t e = s->heap[pos];
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!before(s, e, s->heap[parent]))
			break;
		heap_set(s, pos, s->heap[parent]);
		pos = parent;
	}
	heap_set(s, pos, e);
}

static void sift_down(struct push_sched *s, uint32_t pos)
{
	uint32_t e = s->heap[pos];
	for (;;) {
		uint32_t l = 2 * pos + 1, r = l + 1, m = l;
		if (l >= s->heap_len)
			break;
		if (r < s->heap_len && before(s, s->heap[r], s->heap[l]))
			m = r;
		if (!before(s, s->heap[m], e))
			break;
		heap_set(s, pos, s->heap[m]);
		pos = m;
	}
	heap_set(s, pos, e);
}

static void heap_remove(struct push_sched *s, uint32_t e)
{
	uint32_t pos = s->ents[e].heap;
	if (pos == NIL)
		return;
	s->ents[e].heap = NIL;
	uint32_t last = s->heap[--s->heap_len];
	if (pos == s->heap_len)
		return;
	heap_set(s, pos, last);
	sift_up(s, pos);
	sift_down(s, s->ents[last].heap);
}

/* Puts e in the heap at due (or moves it there). */
static void heap_put(struct push_sched *s, uint32_t e, uint64_t due)
{
	heap_remove(s, e);
	s->ents[e].due = due;
	heap_set(s, s->heap_len++, e);
	sift_up(s, s->heap_len - 1);
}

/* ---- entries -------------------------------------------------------------- */

static void set_state(struct push_sched *s, uint32_t e, uint8_t st)
{
	s->n_state[s->ents[e].state]--;
	s->ents[e].state = st;
	s->n_state[st]++;
}

static int rehash(struct push_sched *s, uint32_t bits)
{
	uint32_t *b = malloc(sizeof(*b) << bits);
	if (b == NULL)
		return AP_ENOMEM;
	memset(b, 0xff, sizeof(*b) << bits);
	free(s->buckets);
	s->buckets = b;
	s->bucket_bits = bits;
	for (uint32_t i = 0; i < s->n_used; i++) {
		struct ent *x = &s->ents[i];
		if (x->id == 0)
			continue;
		uint32_t k = bucket_of(s, x->id);
		x->chain = b[k];
		b[k] = i;
	}
	return 0;
}

/* Makes room for one more entry in the slab (and heap). */
static int grow(struct push_sched *s)
{
	if (s->free_head != NIL || s->n_used < s->n_alloc)
		return 0;
	uint32_t n = s->n_alloc ? s->n_alloc * 2 : 1024;
	if (n > s->o.max_devices)
		n = (uint32_t)s->o.max_devices;
	struct ent *e = realloc(s->ents, sizeof(*e) * n);
	if (e == NULL)
		return AP_ENOMEM;
	s->ents = e;
	uint32_t *h = realloc(s->heap, sizeof(*h) * n);
	if (h == NULL)
		return AP_ENOMEM;
	s->heap = h;
	s->n_alloc = n;
	return 0;
}

static int ent_new(struct push_sched *s, int64_t id, uint32_t *ret)
{
	uint32_t e;
	if (s->count >= s->o.max_devices)
		return AP_ELIMIT;
	if (grow(s) < 0)
		return AP_ENOMEM;
	if (s->count + 1 > (1u << s->bucket_bits) && rehash(s, s->bucket_bits + 1) < 0)
		return AP_ENOMEM;
	if (s->free_head != NIL) {
		e = s->free_head;
		s->free_head = s->ents[e].chain;
	} else {
		e = s->n_used++;
	}
	struct ent *x = &s->ents[e];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->heap = NIL;
	x->state = S_WAIT;
	uint32_t k = bucket_of(s, id);
	x->chain = s->buckets[k];
	s->buckets[k] = e;
	s->count++;
	s->n_state[S_WAIT]++;
	*ret = e;
	return 0;
}

static void ent_free(struct push_sched *s, uint32_t e)
{
	struct ent *x = &s->ents[e];
	uint32_t *p = &s->buckets[bucket_of(s, x->id)];
	while (*p != e)
		p = &s->ents[*p].chain;
	*p = x->chain;
	heap_remove(s, e);
	s->n_state[x->state]--;
	s->count--;
	x->id = 0;
	x->chain = s->free_head;
	s->free_head = e;
}

/* ---- public ----------------------------------------------------------------- */

int push_sched_new(const struct push_sched_opts *o, struct push_sched **ret)
{
	struct push_sched *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return AP_ENOMEM;
	s->o = *o;
	if (s->o.max_devices == 0)
		s->o.max_devices = 1;
	if (s->o.max_devices > NIL - 1)
		s->o.max_devices = NIL - 1;
	if (s->o.retry_max_ms < s->o.retry_base_ms)
		s->o.retry_max_ms = s->o.retry_base_ms;
	if (s->o.retries > 255)
		s->o.retries = 255;
	s->free_head = NIL;
	if (rehash(s, 10) < 0) {
		free(s);
		return AP_ENOMEM;
	}
	*ret = s;
	return 0;
}

void push_sched_free(struct push_sched *s)
{
	if (s == NULL)
		return;
	free(s->ents);
	free(s->heap);
	free(s->buckets);
	free(s);
}

uint64_t push_sched_backoff(const struct push_sched_opts *o, int64_t id, unsigned attempt)
{
	unsigned shift = attempt > 0 ? attempt - 1 : 0;
	uint64_t d = shift < 40 ? o->retry_base_ms << shift : o->retry_max_ms;
	if (d > o->retry_max_ms)
		d = o->retry_max_ms;
	uint64_t h = ((uint64_t)id * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)attempt << 32);
	h ^= h >> 29;
	return d + (d / 4 ? h % (d / 4) : 0);
}

static uint64_t planned(const struct push_sched *s, enum push_kind k, uint64_t now)
{
	return k == PUSH_MANUAL ? now : now + s->o.coalesce_ms;
}

int push_sched_notify(struct push_sched *s, int64_t id, enum push_kind k, uint64_t now)
{
	if (id <= 0)
		return AP_EINVAL;
	uint32_t e = lookup(s, id);
	if (e == NIL) {
		int rc = ent_new(s, id, &e);
		if (rc < 0)
			return rc;
		s->ents[e].kind = (uint8_t)k;
		heap_put(s, e, planned(s, k, now));
		return 0;
	}
	struct ent *x = &s->ents[e];
	switch (x->state) {
	case S_FLIGHT:
		if (x->again == 0 || k == PUSH_MANUAL)
			x->again = (uint8_t)(1 + k);
		return 1;
	case S_QUIET:
		set_state(s, e, S_WAIT);
		x->kind = (uint8_t)k;
		if (k == PUSH_MANUAL)
			heap_put(s, e, now); /* else keep due: the end of the window */
		return 0;
	default:
		if (k == PUSH_MANUAL && x->due > now) {
			x->kind = PUSH_MANUAL;
			heap_put(s, e, now);
		}
		return 1;
	}
}

int push_sched_next(struct push_sched *s, uint64_t now, int64_t *ret_id, enum push_kind *ret_kind)
{
	while (s->heap_len > 0) {
		uint32_t e = s->heap[0];
		struct ent *x = &s->ents[e];
		if (x->due > now)
			return 0;
		if (x->state == S_QUIET) {
			ent_free(s, e);
			continue;
		}
		heap_remove(s, e);
		set_state(s, e, S_FLIGHT);
		x->again = 0;
		*ret_id = x->id;
		*ret_kind = (enum push_kind)x->kind;
		return 1;
	}
	return 0;
}

int push_sched_due(struct push_sched *s, uint64_t now)
{
	while (s->heap_len > 0) {
		uint32_t e = s->heap[0];
		if (s->ents[e].due > now)
			return 0;
		if (s->ents[e].state != S_QUIET)
			return 1;
		ent_free(s, e);
	}
	return 0;
}

uint64_t push_sched_next_due(const struct push_sched *s)
{
	return s->heap_len ? s->ents[s->heap[0]].due : UINT64_MAX;
}

/* After an accepted push: quiet for the window, or the push asked for meanwhile. */
static void after_ok(struct push_sched *s, uint32_t e, uint64_t now)
{
	struct ent *x = &s->ents[e];
	x->attempts = 0;
	if (x->again) {
		enum push_kind k = (enum push_kind)(x->again - 1);
		set_state(s, e, S_WAIT);
		x->kind = (uint8_t)k;
		heap_put(s, e, planned(s, k, now));
	} else if (s->o.coalesce_ms > 0) {
		set_state(s, e, S_QUIET);
		heap_put(s, e, now + s->o.coalesce_ms);
	} else {
		ent_free(s, e);
	}
}

int push_sched_done(struct push_sched *s, int64_t id, enum push_end end, uint64_t now,
		    unsigned *ret_attempt)
{
	uint32_t e = lookup(s, id);
	if (e == NIL || s->ents[e].state != S_FLIGHT)
		return AP_ENOTFOUND;
	struct ent *x = &s->ents[e];
	unsigned attempts = x->attempts;
	int rc = 0;
	switch (end) {
	case PUSH_END_OK:
		after_ok(s, e, now);
		break;
	case PUSH_END_RESEND:
		set_state(s, e, S_WAIT);
		heap_put(s, e, now);
		break;
	case PUSH_END_RETRY:
		attempts++;
		if (attempts > s->o.retries) {
			ent_free(s, e);
			rc = 1;
			break;
		}
		x->attempts = (uint8_t)attempts;
		set_state(s, e, S_WAIT);
		heap_put(s, e, now + push_sched_backoff(&s->o, id, attempts));
		break;
	case PUSH_END_DROP:
		ent_free(s, e);
		break;
	}
	if (ret_attempt)
		*ret_attempt = attempts;
	return rc;
}

void push_sched_forget(struct push_sched *s, int64_t id)
{
	uint32_t e = lookup(s, id);
	if (e != NIL)
		ent_free(s, e);
}

void push_sched_flush(struct push_sched *s, uint64_t now)
{
	for (uint32_t i = 0; i < s->n_used; i++) {
		struct ent *x = &s->ents[i];
		if (x->id == 0)
			continue;
		if (x->state == S_QUIET)
			ent_free(s, i);
		else if (x->state == S_WAIT)
			heap_put(s, i, now);
	}
}

size_t push_sched_count(const struct push_sched *s)
{
	return s->count;
}

size_t push_sched_waiting(const struct push_sched *s)
{
	return s->n_state[S_WAIT];
}

size_t push_sched_in_flight(const struct push_sched *s)
{
	return s->n_state[S_FLIGHT];
}
