#ifndef RECONCILER_DAEMON_SPEC_REF_H
#define RECONCILER_DAEMON_SPEC_REF_H

#include <stdatomic.h>
#include <stdint.h>

#include "spec/spec.h"

/*
 * The spec in force in `moor watch`, shared by the event loop and the
 * worker threads.  The loop puts a new one in force on a reload while a
 * worker may still reconcile the old one: each holder takes a reference,
 * and the last to let go frees it.
 *
 * Memory: the reference owns s, lb_keys and eip_keys (the resource key of
 * each group and address of s, computed once); nobody else frees them.
 */
struct rc_spec_ref {
	struct spec *s;
	atomic_uint refs;
	char **lb_keys;	 /* resource key of each group */
	char **eip_keys; /* ... of each address */
	uint64_t gen;	 /* 1, 2, ...: one per spec put in force */
};

/* Takes s; the caller holds the one reference.  Never fails. */
struct rc_spec_ref *rc_spec_ref_new(struct spec *s, uint64_t gen);

/* One more reference to ws (returned). */
struct rc_spec_ref *rc_spec_ref_take(struct rc_spec_ref *ws);

/* Drops one reference; the last frees it all.  NULL is a no-op. */
void rc_spec_ref_drop(struct rc_spec_ref *ws);

#endif
