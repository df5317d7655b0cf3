#ifndef TESTS_UNIT_MEMPROV_H
#define TESTS_UNIT_MEMPROV_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"

/*
 * An in-memory struct prov for engine tests, with AWS-like semantics:
 *
 *  - instances (each with a primary ENI eni-<id suffix>), standalone ENIs,
 *    Classic ELBs, target groups and addresses, built with memprov_add_*;
 *  - register -> initial, then healthy on the healthy_after-th read of the
 *    group (0 = healthy at once); deregister -> draining for drain_reads
 *    reads when the group has a deregistration delay, then gone;
 *  - registering an instance that does not exist, is not running or is in
 *    another VPC fails like AWS (InvalidTarget / InvalidInstance);
 *  - associate with reassociation, Resource.AlreadyAssociated without it;
 *    disassociate is idempotent; allocate tags in the same call.
 *
 * Every op is recorded as one line (see memprov_calls) so tests assert the
 * exact sequence of calls, and faults can be injected per op and resource.
 * Thread-safe (one lock), like a real provider must be.
 */

struct memprov;

/* A new provider; free with prov_free(). */
struct prov *memprov_new(void);
struct memprov *memprov_of(struct prov *p);

/* Reads of a group after which a new member is healthy (default 1). */
void memprov_set_healthy_after(struct memprov *m, unsigned reads);
/* Reads of a group a draining target stays draining (default 1). */
void memprov_set_drain_reads(struct memprov *m, unsigned reads);

/*
 * tags: "k=v,k2=v2" or NULL.  state: AWS word ("running").  The primary
 * ENI is eni-<id without "i-">, with private_ip.
 */
void memprov_add_instance(struct memprov *m, const char *id, const char *state,
			  const char *vpc, const char *az,
			  const char *private_ip, const char *tags);
/* Give an instance a secondary private IP on its primary ENI. */
void memprov_add_secondary_ip(struct memprov *m, const char *id,
			      const char *ip);
void memprov_set_instance_state(struct memprov *m, const char *id,
				const char *state);
/*
 * Status checks instance_status reports (AWS words: "ok", "impaired",
 * "initializing", ...); NULL: ok while running, else not-applicable.
 */
void memprov_set_status_checks(struct memprov *m, const char *id,
			       const char *system, const char *instance);
void memprov_remove_instance(struct memprov *m, const char *id);
/* A standalone ENI (attached to no instance). */
void memprov_add_eni(struct memprov *m, const char *id, const char *vpc,
		     const char *private_ip);

/* azs: "us-east-1a,us-east-1b". */
void memprov_add_classic(struct memprov *m, const char *name, const char *vpc,
			 const char *azs);
/* type: "instance" / "ip"; delay_s: deregistration delay. */
void memprov_add_tg(struct memprov *m, const char *name, const char *type,
		    int port, const char *vpc, int delay_s);
/*
 * An ELBv2 load balancer serving azs ("us-east-1a,us-east-1b"), and a
 * target group attached to it (a group may have several; none by default).
 */
void memprov_add_lb(struct memprov *m, const char *name, const char *azs);
void memprov_attach_tg(struct memprov *m, const char *tg, const char *lb);
/*
 * Every VPC named by an instance, ENI or group exists, and is a default
 * VPC (EnableAvailabilityZonesForLoadBalancer works there) unless marked
 * so.  In a non-default VPC classic_enable_zones fails like AWS
 * (InvalidConfigurationRequest).
 */
void memprov_set_vpc_nondefault(struct memprov *m, const char *vpc);
/* The ARN memprov gives target group name. */
const char *memprov_tg_arn(struct memprov *m, const char *name);

/*
 * Put a member in a group with the given health, bypassing the API (no
 * call recorded).  group: classic name or target group name; port is
 * ignored for classic.  A member set this way keeps its health (it does
 * not progress) until the API changes it.
 */
void memprov_set_member(struct memprov *m, const char *group, const char *id,
			int port, enum prov_health health);
/* Remove a member at once (no draining), bypassing the API. */
void memprov_remove_member(struct memprov *m, const char *group, const char *id,
			   int port);
/* Delete a load balancer or target group at once, bypassing the API. */
void memprov_remove_group(struct memprov *m, const char *group);
/* Health of a member, PROV_HEALTH_UNUSED when not in the group. */
enum prov_health memprov_member_health(struct memprov *m, const char *group,
				       const char *id, int port);
/* Present members "id" / "id:port", sorted, comma-separated (caller frees). */
char *memprov_members(struct memprov *m, const char *group);

/*
 * instance / eni / private_ip may be NULL (unbound).  name: Name tag or
 * NULL.  domain: "vpc" (NULL) or "standard".
 */
void memprov_add_address(struct memprov *m, const char *alloc,
			 const char *public_ip, const char *name,
			 const char *domain);
/* Bind an address by allocation id, bypassing the API (NULL unbinds). */
void memprov_bind(struct memprov *m, const char *alloc, const char *instance,
		  const char *private_ip);
void memprov_bind_eni(struct memprov *m, const char *alloc, const char *eni,
		      const char *private_ip);
/* "i-x" / "eni:eni-x" / "" for unbound; NULL if no such address. */
const char *memprov_address_holder(struct memprov *m, const char *alloc);
size_t memprov_n_addresses(struct memprov *m);

/*
 * Faults: the next `times` calls of op (the call-log word, e.g.
 * "tg_register") whose log line contains `match` (NULL = any) fail with
 * AWS code `code` and flags (UTIL_ERR_RETRYABLE, UTIL_ERR_OUTCOME_UNKNOWN).
 * times < 0 = forever.  With applied, the call takes effect before failing
 * (a lost response).
 */
void memprov_fail(struct memprov *m, const char *op, const char *match,
		  int times, const char *code, unsigned flags, bool applied);
void memprov_clear_faults(struct memprov *m);

/*
 * Called (unlocked) at the start of every op with the op's log line;
 * tests use it to change the world behind the engine's back.
 */
void memprov_set_hook(struct memprov *m,
		      void (*fn)(void *ctx, struct memprov *m,
				 const char *call),
		      void *ctx);

/*
 * Leases: create the lease table (empty; replaces any previous one, NULL
 * drops it).  With bad_key, lease_table_check answers UTIL_EINVAL.
 * Lease ops are logged as "<op> <table> <args>", not as mutations, and
 * fail through memprov_fail like the others.
 */
void memprov_lease_table(struct memprov *m, const char *table, bool bad_key);

/* The call log. */
size_t memprov_n_calls(struct memprov *m);
/* Mutating calls only, one per line (caller frees). */
char *memprov_mutations(struct memprov *m);
/* Every call, one per line (caller frees). */
char *memprov_calls(struct memprov *m);
/* Number of calls whose op is `op`. */
size_t memprov_count(struct memprov *m, const char *op);
void memprov_clear_calls(struct memprov *m);

#endif
