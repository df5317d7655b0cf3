#ifndef RECONCILER_ENGINE_IMPORT_H
#define RECONCILER_ENGINE_IMPORT_H

#include <stddef.h>

#include "providers/provider.h"
#include "util/err.h"

struct buf;

/*
 * moor import: read the named groups and addresses and write a spec
 * (version 1 YAML) that declares exactly their live state, so that
 * `moor plan` against it shows no changes and a team can adopt moor
 * without a diff on day one.
 *
 * Groups list their present members (draining ones have left); a target
 * on its group's port is written as a bare id, others as {id, port}; ip
 * targets as {ip, port[, az]}.  An address is named as the user named it
 * (allocation id, public IP, or Name tag) and bound as it is: `instance`
 * (with `private_ip` when not the primary), `network_interface` with
 * `private_ip` when bound to a secondary or detached ENI, or `none: true`.
 * Instance ids carry their Name tag as a YAML comment.  Defaults (wait,
 * timeout, ownership) are left implicit.
 */

struct rc_import_opts {
	const char *const *classic; /* Classic ELB names */
	size_t n_classic;
	const char *const *tgs; /* target group names or ARNs */
	size_t n_tgs;
	const char *const *eips; /* allocation id, public IP, or Name tag */
	size_t n_eips;
	const char *region;	  /* written as `region:`; may be NULL */
	const char *moor_version; /* for the header comment */
	unsigned concurrency;	  /* parallel reads; 0 = default */
};

/*
 * Append the spec to out.  UTIL_ENOTFOUND when a named group or address
 * does not exist (all of them are checked; err names the first), and
 * UTIL_EINVAL when a Name tag matches several addresses or a group has
 * targets moor cannot declare (lambda / alb).
 */
int rc_import(struct prov *p, const struct rc_import_opts *o, struct buf *out,
	      struct util_err *err);

#endif
