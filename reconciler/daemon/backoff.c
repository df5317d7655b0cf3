#include "reconciler/daemon/backoff.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/banned.h"

void rc_backoff_init(struct rc_backoff *b, uint64_t base_ms, uint64_t max_ms)
{
	memset(b, 0, sizeof(*b));
	b->base_ms = base_ms ? base_ms : 1;
	b->max_ms = max_ms < b->base_ms ? b->base_ms : max_ms;
}

void rc_backoff_clear(struct rc_backoff *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i].key);
	b->n = 0;
}

void rc_backoff_release(struct rc_backoff *b)
{
	if (!b)
		return;
	rc_backoff_clear(b);
	free(b->v);
	b->v = NULL;
	b->alloc = 0;
}

static struct rc_backoff_entry *find(const struct rc_backoff *b,
				     const char *key)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->v[i].key, key))
			return &b->v[i];
	return NULL;
}

uint64_t rc_backoff_fail(struct rc_backoff *b, const char *key, uint64_t now_ms)
{
	struct rc_backoff_entry *e = find(b, key);

	if (!e) {
		UTIL_GROW(b->v, b->alloc, b->n + 1);
		e = &b->v[b->n++];
		memset(e, 0, sizeof(*e));
		e->key = util_xstrdup(key);
	}
	if (e->failures < 64)
		e->failures++;
	if (!e->delay_ms)
		e->delay_ms = b->base_ms;
	else if (e->delay_ms >= b->max_ms / 2)
		e->delay_ms = b->max_ms;
	else
		e->delay_ms *= 2;
	if (e->delay_ms > b->max_ms)
		e->delay_ms = b->max_ms;
	e->until_ms = now_ms + e->delay_ms;
	return e->delay_ms;
}

void rc_backoff_ok(struct rc_backoff *b, const char *key)
{
	struct rc_backoff_entry *e = find(b, key);

	if (!e)
		return;
	free(e->key);
	*e = b->v[--b->n];
}

bool rc_backoff_ready(const struct rc_backoff *b, const char *key,
		      uint64_t now_ms)
{
	const struct rc_backoff_entry *e = find(b, key);

	return !e || now_ms >= e->until_ms;
}

unsigned rc_backoff_failures(const struct rc_backoff *b, const char *key)
{
	const struct rc_backoff_entry *e = find(b, key);

	return e ? e->failures : 0;
}

uint64_t rc_backoff_next(const struct rc_backoff *b, uint64_t now_ms)
{
	uint64_t next = 0;

	for (size_t i = 0; i < b->n; i++)
		if (b->v[i].until_ms > now_ms &&
		    (!next || b->v[i].until_ms < next))
			next = b->v[i].until_ms;
	return next;
}

uint64_t rc_jitter_ms(uint64_t base_ms, unsigned pct, double r)
{
	double span, v;

	if (pct > 100)
		pct = 100;
	if (!(r >= 0.0))
		r = 0.0;
	if (r > 1.0)
		r = 1.0;
	span = (double)base_ms * pct / 100.0;
	v = (double)base_ms - span + 2.0 * span * r;
	if (v < 0)
		v = 0;
	return (uint64_t)(v + 0.5);
}
