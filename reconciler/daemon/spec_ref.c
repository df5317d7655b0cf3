#include "reconciler/daemon/spec_ref.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include "reconciler/daemon/cycle.h"
#include "util/alloc.h"
#include "util/strv.h"
#include "util/banned.h"

struct rc_spec_ref *rc_spec_ref_new(struct spec *s, uint64_t gen)
{
	struct rc_spec_ref *ws = util_xcalloc(1, sizeof(*ws));

	ws->s = s;
	ws->gen = gen;
	atomic_init(&ws->refs, 1);
	ws->lb_keys = util_xcalloc(s->n_lbs + 1, sizeof(char *));
	ws->eip_keys = util_xcalloc(s->n_eips + 1, sizeof(char *));
	for (size_t i = 0; i < s->n_lbs; i++)
		ws->lb_keys[i] = rc_cycle_lb_key(&s->lbs[i]);
	for (size_t i = 0; i < s->n_eips; i++)
		ws->eip_keys[i] = rc_cycle_eip_key(&s->eips[i]);
	return ws;
}

struct rc_spec_ref *rc_spec_ref_take(struct rc_spec_ref *ws)
{
	atomic_fetch_add(&ws->refs, 1);
	return ws;
}

void rc_spec_ref_drop(struct rc_spec_ref *ws)
{
	if (!ws || atomic_fetch_sub(&ws->refs, 1) != 1)
		return;
	util_strv_free(ws->lb_keys, ws->s->n_lbs);
	util_strv_free(ws->eip_keys, ws->s->n_eips);
	spec_free(ws->s);
	free(ws);
}
