#ifndef RECONCILER_ENGINE_OBSERVE_H
#define RECONCILER_ENGINE_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/hash.h"

/*
 * Observe: read exactly the live state a spec (or a saved plan) names, in
 * the fewest provider calls, and hold it as a value (struct rc_world).
 *
 * What to read is a struct rc_reads, built from a spec (rc_reads_from_spec)
 * or from resource keys (rc_reads_add_key, for saved plans and for apply's
 * re-reads).  rc_observe() issues one provider call per kind of resource
 * (instances by id, classic ELBs, target groups, addresses, ENIs) plus one
 * per distinct tag selector, all in parallel; the provider batches, chunks
 * and paginates each one as the API allows.
 *
 * Resource keys (reconciler/engine/key.h) name one observed resource in
 * plans and preconditions.
 *
 * A fingerprint (64 hex digits) hashes exactly the fields of one resource
 * that a step depends on, so it changes when a step planned against the
 * resource would no longer be right and stays put otherwise:
 *
 *   instance   found, state, VPC, subnet, AZ, primary private IP, the ENIs
 *              (ids, device index, private IPs)
 *   eni        found, VPC, attached instance, private IPs
 *   group      found, VPC, (Classic ELBs: the sorted enabled zones, which
 *              registrations depend on and the enable-zones step
 *              changes; target groups: ARN, target type, port), the
 *              sorted set of present members (id, or id:port for target
 *              groups) -- not their health, which changes by itself
 *   address    how many match, allocation id, public IP, domain, and the
 *              association (instance, ENI, private IP) -- not the
 *              association id, which AWS renews on every associate
 *
 * A resource that does not exist has a fingerprint too (of "absent"), so
 * "must not exist yet" (an address to allocate) is a precondition as well.
 */

struct rc_selector {
	struct prov_tag *tags; /* sorted by key */
	size_t n_tags;
	enum prov_instance_state *states; /* sorted; never empty */
	size_t n_states;
	char *key; /* canonical text, for de-duplication and messages */
};

/*
 * Declared addresses are read with one filtered DescribeAddresses when
 * they fit one filter (one kind of key, at most this many values), else
 * with one unfiltered call (every address of the account and region).
 */
#define RC_ADDRESS_FILTER_MAX 200

/*
 * An instance member declared for a target group (rc_reads_from_spec):
 * an id, or the instances a selector matches, on port (0 = the group's).
 */
struct rc_tg_want {
	char *tg;	/* the group as the spec names it */
	char *id;	/* an instance id, or NULL */
	char *selector; /* else a selector key (rc_selector.key) */
	int port;
};

/*
 * An instance member declared for a Classic ELB (rc_reads_from_spec): an
 * id, or the instances a selector matches.
 */
struct rc_classic_want {
	char *lb;	/* the ELB's name */
	char *id;	/* an instance id, or NULL */
	char *selector; /* else a selector key (rc_selector.key) */
	bool zones;	/* the ELB has enable_zones */
};

/*
 * What rc_observe() reads.  The rc_reads_add*() functions append;
 * rc_observe() sorts and de-duplicates before reading.
 */
struct rc_reads {
	char **instance_ids;
	size_t n_instance_ids;
	struct rc_selector *selectors;
	size_t n_selectors;
	char **classic; /* Classic ELB names */
	size_t n_classic;
	char **tgs; /* target group names or ARNs */
	size_t n_tgs;
	char **alloc_ids;
	size_t n_alloc_ids;
	char **public_ips;
	size_t n_public_ips;
	char **names; /* address Name tags */
	size_t n_names;
	char **eni_ids;
	size_t n_eni_ids;
	bool identity; /* also ask who we are (plan records the account) */
	/*
	 * Classic member health (one DescribeInstanceHealth per ELB) is read
	 * for every Classic ELB, unless this is set: then only for the ELBs
	 * a step would need it for -- one with a member that is not declared
	 * (classic_wants) or whose instance is not running, i.e. a
	 * deregistration checked against min_healthy and the wait before it.
	 * Set it when the output does not show health (a text plan).
	 */
	bool health_as_needed;
	/*
	 * No Classic member health at all (wins over health_as_needed): the
	 * caller needs only who is registered (apply's re-read before a
	 * registration, a fingerprint).
	 */
	bool no_classic_health;
	/*
	 * When one of these is not registered yet, rc_observe() also reads
	 * the zones of that target group's load balancers (one batched
	 * lbs_v2 call after the others), for the planner's zone check; when
	 * every one is, nothing more is read.
	 */
	struct rc_tg_want *tg_wants;
	size_t n_tg_wants;
	/*
	 * When one of these (with zones) is to be registered in a zone its
	 * ELB does not serve, rc_observe() also reads the ELB's VPC (one vpcs
	 * call for all, beside the lbs_v2 one): a zone can be enabled only in
	 * the default VPC.  Otherwise nothing more is read.
	 */
	struct rc_classic_want *classic_wants;
	size_t n_classic_wants;
};

#define RC_READS_INIT \
	{             \
		0     \
	}

void rc_reads_release(struct rc_reads *r);
bool rc_reads_empty(const struct rc_reads *r);

/*
 * Add everything the spec's groups and addresses name.  use_lb / use_eip
 * (may be NULL = all) select a subset, indexed like spec->lbs and
 * spec->eips (moor plan --only).  Returns 0, or UTIL_EINVAL for a selector
 * state moor does not know (with the spec location).
 */
int rc_reads_from_spec(struct rc_reads *r, const struct spec *s,
		       const bool *use_lb, const bool *use_eip,
		       struct util_err *err);
/* Add the resource a key names; UTIL_EINVAL for a malformed key. */
int rc_reads_add_key(struct rc_reads *r, const char *key, struct util_err *err);
/* Add one selector (tags AND, states as instance state names). */
int rc_reads_add_selector(struct rc_reads *r, const struct spec_tag *tags,
			  size_t n_tags, char *const *states, size_t n_states,
			  struct util_err *err);
/* The canonical key of a selector, as rc_reads stores it (caller frees). */
char *rc_selector_key(const struct spec_tag *tags, size_t n_tags,
		      char *const *states, size_t n_states);

/*
 * A group as observed: one per name rc_reads asked for.  classic / tg
 * point into the world's lists (NULL when absent); two refs may name the
 * same target group (by name and by ARN).
 */
struct rc_obs_group {
	enum spec_lb_kind kind;
	char *ref; /* as asked: classic name, target group name or ARN */
	const struct prov_classic_lb *classic;
	const struct prov_target_group *tg;
};

/* The instances one selector matched (ids into rc_world.instances). */
struct rc_obs_selector {
	char *key;  /* rc_selector.key */
	char **ids; /* sorted */
	size_t n_ids;
};

/*
 * The observed state.  Lists are sorted (instances and ENIs by id, groups
 * by kind then ref) so lookups are binary searches and fingerprints do not
 * depend on the order AWS answered in.
 */
struct rc_world {
	struct prov_instance_list instances;
	struct prov_eni_list enis;
	struct prov_address_list addresses;
	struct prov_classic_lb_list classic;
	struct prov_target_group_list tgs;
	struct prov_lb_list lbs;   /* ELBv2, only when tg_wants needed them */
	struct prov_vpc_list vpcs; /* only when classic_wants needed them */
	struct rc_obs_group *groups;
	size_t n_groups;
	struct rc_obs_selector *selectors;
	size_t n_selectors;
	bool have_identity;
	struct prov_identity identity;
	size_t n_calls; /* provider ops issued (not HTTP requests) */
};

struct rc_observe_opts {
	unsigned concurrency; /* parallel reads; 0 = default (8) */
};

/*
 * Read everything r names (r is normalised first: sorted, de-duplicated).
 * On success *ret is filled (caller frees with rc_world_release()).  Each
 * read is made once: retrying is the provider's job (one retry layer, the
 * AWS client's), so a read that fails fails the whole observation (the
 * first error, with the kind of read as context); a resource that does not exist is not an error.
 */
int rc_observe(struct prov *p, struct rc_reads *r,
	       const struct rc_observe_opts *opts, struct rc_world *ret,
	       struct util_err *err);
void rc_world_release(struct rc_world *w);

/* Lookups; NULL when not observed or absent.  Valid as long as w. */
const struct prov_instance *rc_world_instance(const struct rc_world *w,
					      const char *id);
const struct prov_eni *rc_world_eni(const struct rc_world *w, const char *id);
const struct rc_obs_group *rc_world_group(const struct rc_world *w,
					  enum spec_lb_kind kind,
					  const char *ref);
const struct rc_obs_selector *rc_world_selector(const struct rc_world *w,
						const char *key);
const struct prov_lb *rc_world_lb(const struct rc_world *w, const char *arn);
const struct prov_vpc *rc_world_vpc(const struct rc_world *w, const char *id);
/*
 * The addresses matching (ref, value): *ret_n is how many (0, 1, or more
 * when several share a Name tag); returns the first or NULL.
 */
const struct prov_address *rc_world_address(const struct rc_world *w,
					    enum spec_eip_ref ref,
					    const char *value, size_t *ret_n);

/*
 * Membership: a target that is draining, or unused because it is not
 * registered, is absent; every other state (initial, healthy, unhealthy,
 * unused for another reason, unavailable) is present.
 */
bool rc_target_present(const struct prov_target *t);
bool rc_classic_member_present(const struct prov_classic_member *m);
/* Healthy for capacity purposes: healthy, or health checks disabled. */
bool rc_health_counts(enum prov_health h);

/*
 * Member keys: "i-0abc" for Classic ELBs, "ID:PORT" for target groups.
 * Caller frees.
 */
char *rc_member_key(enum spec_lb_kind kind, const char *id, int port);

/*
 * The sorted present-member keys of a group (caller frees each string
 * and the array).  Zero members for an absent group.
 */
void rc_group_members(const struct rc_obs_group *g, char ***ret, size_t *ret_n);

/*
 * Fingerprint of the resource a key names, as observed in w.  Returns
 * UTIL_EINVAL for a malformed key.  A resource w did not read hashes as
 * absent.
 */
int rc_fingerprint(const struct rc_world *w, const char *key,
		   char out[UTIL_SHA256_HEX_SIZE], struct util_err *err);

/*
 * Fingerprint of a group given its header (from g, found or not) and an
 * explicit member set (sorted keys): the planner uses it to predict a
 * group's fingerprint after its own registrations and deregistrations.
 */
void rc_fp_group_members(const struct rc_obs_group *g,
			 char *const *sorted_members, size_t n,
			 char out[UTIL_SHA256_HEX_SIZE]);
/* The same once zones (any order) are also enabled on a Classic ELB. */
void rc_fp_group_zones(const struct rc_obs_group *g, char *const *zones,
		       size_t n_zones, char *const *sorted_members, size_t n,
		       char out[UTIL_SHA256_HEX_SIZE]);

#endif
