#ifndef PROVIDERS_PROVIDER_H
#define PROVIDERS_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/*
 * The provider interface: everything the reconciler may ask of the cloud.
 *
 * The reconciler talks to AWS only through `struct prov`; providers/aws/
 * implements it for real, and tests plug an in-memory implementation into
 * the same `struct prov_ops`.  The interface speaks in resources (instances,
 * load balancers, target groups, addresses), not in API calls: how a read
 * is paginated, chunked or batched is the provider's business.
 *
 * Threading: every op may be called concurrently from several threads on
 * the same struct prov (the reconciler runs independent reads and the
 * steps of one apply phase in parallel).  Implementations lock what they
 * share.
 *
 * Errors: every op returns 0 or a negative UTIL_E* code and fills err.
 * Errors answered by AWS carry the HTTP status, the AWS code, AWS's message
 * and the request id, with UTIL_ERR_RETRYABLE set for throttling and
 * transient failures.  A mutating op whose response was lost after the
 * request was sent sets UTIL_ERR_OUTCOME_UNKNOWN: the caller must re-observe
 * before concluding anything.
 *
 * Ownership: result structs (`ret`) are filled by the op and owned by the
 * caller, who frees them with the matching prov_*_release() below (which
 * accept zeroed structs and are safe to call twice).  On failure an op
 * leaves `ret` zeroed.  All strings in results are malloc'd, NUL-terminated
 * and owned by the struct holding them; optional strings are NULL when AWS
 * did not report them.
 */

struct prov_tag {
	char *key;
	char *value;
};

enum prov_instance_state {
	PROV_INSTANCE_UNKNOWN = 0,
	PROV_INSTANCE_PENDING,
	PROV_INSTANCE_RUNNING,
	PROV_INSTANCE_SHUTTING_DOWN,
	PROV_INSTANCE_TERMINATED,
	PROV_INSTANCE_STOPPING,
	PROV_INSTANCE_STOPPED,
};

/* A network interface of an instance, or one looked up by id. */
struct prov_eni {
	char *id; /* eni-... */
	char *vpc_id;
	char *subnet_id;
	char *az;
	char *status;	    /* "in-use", "available", ... */
	char *instance_id;  /* attached instance, or NULL */
	int device_index;   /* attachment device index, -1 if detached */
	char **private_ips; /* [0] is the primary private IPv4 */
	size_t n_private_ips;
};

struct prov_instance {
	char *id;
	enum prov_instance_state state;
	char *vpc_id;
	char *subnet_id;
	char *az;
	char *private_ip; /* primary private IPv4 of the primary ENI */
	char *public_ip;
	struct prov_tag *tags;
	size_t n_tags;
	struct prov_eni *enis; /* attached ENIs, primary (device 0) first */
	size_t n_enis;
};

struct prov_instance_list {
	struct prov_instance *v;
	size_t n;
};

/*
 * Instances whose tags include every (key, value) pair in tags and whose
 * state is one of states (NULL/0 states = any state).
 */
struct prov_selector {
	const struct prov_tag *tags;
	size_t n_tags;
	const enum prov_instance_state *states;
	size_t n_states;
};

/* Load balancer member health, both APIs mapped to one scale. */
enum prov_health {
	PROV_HEALTH_UNKNOWN = 0,
	PROV_HEALTH_INITIAL, /* v2 initial; classic "registration in progress" */
	PROV_HEALTH_HEALTHY,	 /* v2 healthy; classic InService */
	PROV_HEALTH_UNHEALTHY,	 /* v2 unhealthy; classic OutOfService */
	PROV_HEALTH_DRAINING,	 /* v2 draining / unhealthy.draining */
	PROV_HEALTH_UNUSED,	 /* v2 unused */
	PROV_HEALTH_UNAVAILABLE, /* v2 unavailable (health checks disabled) */
};

/* A Classic ELB member as DescribeInstanceHealth reports it. */
struct prov_classic_member {
	char *instance_id;
	enum prov_health health;
	char *state; /* AWS's own word: InService, OutOfService, Unknown */
	char *reason_code; /* ELB, Instance, N/A */
	char *description;
};

struct prov_classic_lb {
	char *name;
	char *dns_name;
	char *vpc_id;
	char **azs; /* enabled availability zones */
	size_t n_azs;
	struct prov_classic_member *members;
	size_t n_members;
};

struct prov_classic_lb_list {
	struct prov_classic_lb *v;
	size_t n;
};

enum prov_target_type {
	PROV_TARGET_INSTANCE = 0,
	PROV_TARGET_IP,
	PROV_TARGET_LAMBDA,
	PROV_TARGET_ALB,
};

/* A target as DescribeTargetHealth reports it. */
struct prov_target {
	char *id; /* instance id or IP address */
	int port; /* the registered port (override or group port) */
	char *az; /* NULL unless registered with one */
	enum prov_health health;
	char *state;  /* AWS's own word: initial, healthy, draining, ... */
	char *reason; /* e.g. Target.NotRegistered, Elb.InitialHealthChecking */
	char *description;
};

struct prov_target_group {
	char *arn;
	char *name;
	char *vpc_id;
	char *protocol;
	int port;
	enum prov_target_type target_type;
	int deregistration_delay_s; /* -1 when not read */
	char **lb_arns;		    /* load balancers using the group */
	size_t n_lb_arns;
	struct prov_target *targets;
	size_t n_targets;
};

struct prov_target_group_list {
	struct prov_target_group *v;
	size_t n;
};

/* An ELBv2 load balancer, as far as its target groups need it. */
struct prov_lb {
	char *arn;
	char *name;
	char **azs; /* zones of its subnets: where its targets get traffic */
	size_t n_azs;
};

struct prov_lb_list {
	struct prov_lb *v;
	size_t n;
};

/* A VPC, as far as a Classic ELB's zones need it. */
struct prov_vpc {
	char *id;
	bool is_default; /* the account's default VPC in its region */
};

struct prov_vpc_list {
	struct prov_vpc *v;
	size_t n;
};

struct prov_address {
	char *allocation_id;
	char *public_ip;
	char *domain;	      /* "vpc" or "standard" */
	char *association_id; /* NULL when unbound */
	char *instance_id;    /* NULL unless bound to an instance */
	char *eni_id;	      /* NULL unless bound */
	char *private_ip; /* private address it maps to, NULL unless bound */
	char *eni_owner_id;
	struct prov_tag *tags;
	size_t n_tags;
};

struct prov_address_list {
	struct prov_address *v;
	size_t n;
};

struct prov_eni_list {
	struct prov_eni *v;
	size_t n;
};

/* Which addresses to describe.  All lists empty = every address. */
struct prov_address_query {
	const char *const *allocation_ids;
	size_t n_allocation_ids;
	const char *const *public_ips;
	size_t n_public_ips;
	const char *const *names; /* values of the Name tag */
	size_t n_names;
};

/* A target to register or deregister. */
struct prov_target_ref {
	const char *id; /* instance id or IP address */
	int port;	/* 0 = the group's port */
	const char *az; /* NULL, or an AZ / "all" for ip targets */
};

struct prov_associate {
	const char *allocation_id;
	const char *instance_id;  /* exactly one of instance_id ... */
	const char *eni_id;	  /* ... and eni_id */
	const char *private_ip;	  /* NULL = primary private IP */
	bool allow_reassociation; /* always sent explicitly */
};

/*
 * One instance's EC2 status checks (DescribeInstanceStatus with
 * IncludeAllInstances).  The statuses are AWS's own words: ok, impaired,
 * initializing, insufficient-data, not-applicable.
 */
struct prov_instance_status {
	char *instance_id;
	enum prov_instance_state state;
	char *system_status;
	char *instance_status;
};

struct prov_instance_status_list {
	struct prov_instance_status *v;
	size_t n;
};

struct prov_identity {
	char *account;
	char *arn;
	char *user_id;
};

/*
 * Leases (moor watch --lease-table): items of one DynamoDB table whose only
 * key is the string partition key "name".  A spec's lease is named after
 * the spec; a replica's liveness item is "replica:" + its id.  The record
 * version number (rvn) is new on every write, so a reader that sees the
 * same rvn for a whole lease duration on its own monotonic clock knows the
 * holder stopped renewing; no wall clock is trusted (heartbeat_unix_ms is
 * for people reading `moor leases`).
 */
enum prov_lease_kind {
	PROV_LEASE_SPEC = 0, /* a spec's leader lease */
	PROV_LEASE_REPLICA,  /* a replica's liveness item */
};

struct prov_lease {
	char *name;
	enum prov_lease_kind kind;
	char *holder; /* replica id; NULL when released */
	char *rvn;
	uint64_t duration_ms;	   /* the lease duration its writer runs with */
	int64_t heartbeat_unix_ms; /* the writer's wall clock; display only */
};

struct prov_lease_list {
	struct prov_lease *v;
	size_t n;
};

/* What a lease write makes the item (all borrowed). */
struct prov_lease_write {
	const char *name;
	enum prov_lease_kind kind;
	const char *holder;
	const char *rvn; /* the new rvn */
	uint64_t duration_ms;
	int64_t heartbeat_unix_ms;
};

struct prov;

/*
 * What an observe op reads beyond the resources themselves (each costs
 * one more call per resource): every read earns its place.
 */
#define PROV_READ_HEALTH 0x1u /* Classic ELBs: DescribeInstanceHealth */
#define PROV_READ_DELAY	 0x2u /* target groups: their attributes */

struct prov_ops {
	const char *name;
	void (*free)(struct prov *p);

	int (*identity)(struct prov *p, struct prov_identity *ret,
			struct util_err *err);

	/*
	 * Observe.  Lookups by id or name return only what exists: an id or
	 * name that AWS does not know is absent from ret, not an error, so
	 * the caller can report each missing resource against the spec.
	 */
	int (*instances_by_id)(struct prov *p, const char *const *ids, size_t n,
			       struct prov_instance_list *ret,
			       struct util_err *err);
	int (*instances_by_selector)(struct prov *p,
				     const struct prov_selector *sel,
				     struct prov_instance_list *ret,
				     struct util_err *err);
	int (*enis_by_id)(struct prov *p, const char *const *ids, size_t n,
			  struct prov_eni_list *ret, struct util_err *err);
	/*
	 * Classic ELBs with their enabled AZs and members; the members' health
	 * only with PROV_READ_HEALTH in what (else PROV_HEALTH_UNKNOWN).
	 */
	int (*classic_lbs)(struct prov *p, const char *const *names, size_t n,
			   unsigned what, struct prov_classic_lb_list *ret,
			   struct util_err *err);
	/*
	 * Target groups by name or ARN (mixed), each with its targets' health;
	 * the deregistration delay only with PROV_READ_DELAY in what (else
	 * -1).
	 */
	int (*target_groups)(struct prov *p, const char *const *names_or_arns,
			     size_t n, unsigned what,
			     struct prov_target_group_list *ret,
			     struct util_err *err);
	int (*addresses)(struct prov *p, const struct prov_address_query *q,
			 struct prov_address_list *ret, struct util_err *err);
	/* ELBv2 load balancers by ARN (target groups' lb_arns). */
	int (*lbs_v2)(struct prov *p, const char *const *arns, size_t n,
		      struct prov_lb_list *ret, struct util_err *err);
	/*
	 * VPCs by id (whether each is the default VPC: a Classic ELB's zones
	 * can be enabled only there).
	 */
	int (*vpcs)(struct prov *p, const char *const *ids, size_t n,
		    struct prov_vpc_list *ret, struct util_err *err);

	/*
	 * Health reads of one resource each: the one request a probe round
	 * of `moor watch` may spend on its resource, and what the engine
	 * reads for Classic health an observe needs and polls in a health
	 * wait.
	 *
	 * instance_status: the status checks of ids, stopped instances
	 * included; unknown ids are absent.  target_health: the targets of
	 * one group (name or ARN; a name's ARN is looked up once and kept)
	 * with their health, nothing else filled but arn and name.
	 * classic_health: the members of one Classic ELB with their health,
	 * nothing else filled but name.  A group or ELB that does not exist
	 * is UTIL_ENOTFOUND.
	 */
	int (*instance_status)(struct prov *p, const char *const *ids, size_t n,
			       struct prov_instance_status_list *ret,
			       struct util_err *err);
	int (*target_health)(struct prov *p, const char *name_or_arn,
			     struct prov_target_group *ret,
			     struct util_err *err);
	int (*classic_health)(struct prov *p, const char *lb,
			      struct prov_classic_lb *ret,
			      struct util_err *err);

	/*
	 * Mutate.  Register/deregister take any number of members and batch
	 * them as the API allows; a failure part-way leaves the earlier
	 * batches applied (re-observe to see where it stopped).
	 */
	int (*classic_register)(struct prov *p, const char *lb,
				const char *const *instance_ids, size_t n,
				struct util_err *err);
	int (*classic_deregister)(struct prov *p, const char *lb,
				  const char *const *instance_ids, size_t n,
				  struct util_err *err);
	/* Add Availability Zones to a Classic ELB (idempotent). */
	int (*classic_enable_zones)(struct prov *p, const char *lb,
				    const char *const *zones, size_t n,
				    struct util_err *err);
	int (*tg_register)(struct prov *p, const char *tg_arn,
			   const struct prov_target_ref *targets, size_t n,
			   struct util_err *err);
	int (*tg_deregister)(struct prov *p, const char *tg_arn,
			     const struct prov_target_ref *targets, size_t n,
			     struct util_err *err);
	/* *ret_association_id is malloc'd; may be NULL if not wanted. */
	int (*associate)(struct prov *p, const struct prov_associate *req,
			 char **ret_association_id, struct util_err *err);
	int (*disassociate)(struct prov *p, const char *association_id,
			    struct util_err *err);
	/* A VPC address, tagged in the same call. */
	int (*allocate)(struct prov *p, const struct prov_tag *tags,
			size_t n_tags, struct prov_address *ret,
			struct util_err *err);

	/*
	 * Leases, in the DynamoDB table named table.  Conditional writes
	 * that lose (someone else wrote first, the rvn moved on) fail with
	 * UTIL_ECONFLICT: an answer, not an error to retry.  A write whose
	 * earlier attempt's answer was lost and whose retry then fails its
	 * condition is read back: it succeeds if the item is what it wrote.
	 *
	 * lease_table_check: UTIL_ENOTFOUND when the table does not exist,
	 * UTIL_EINVAL when its key is not the one string partition key
	 * "name".  lease_list: every item (consistent reads).  lease_get:
	 * one item, strongly consistent; UTIL_ENOTFOUND when absent.
	 * lease_acquire: write w if the item is absent or released
	 * (prev_rvn NULL), or if its rvn is still prev_rvn (the takeover of a
	 * lease seen unchanged for a whole duration).  lease_renew: write w
	 * if the item's holder is w->holder and its rvn prev_rvn.
	 * lease_release: the same condition; removes the holder and sets
	 * rvn to new_rvn.
	 */
	int (*lease_table_check)(struct prov *p, const char *table,
				 struct util_err *err);
	int (*lease_list)(struct prov *p, const char *table,
			  struct prov_lease_list *ret, struct util_err *err);
	int (*lease_get)(struct prov *p, const char *table, const char *name,
			 struct prov_lease *ret, struct util_err *err);
	int (*lease_acquire)(struct prov *p, const char *table,
			     const struct prov_lease_write *w,
			     const char *prev_rvn, struct util_err *err);
	int (*lease_renew)(struct prov *p, const char *table,
			   const struct prov_lease_write *w,
			   const char *prev_rvn, struct util_err *err);
	int (*lease_release)(struct prov *p, const char *table,
			     const char *name, const char *holder,
			     const char *rvn, const char *new_rvn,
			     struct util_err *err);
};

struct prov {
	const struct prov_ops *ops;
	void *impl;
};

/* Frees the provider and everything it holds.  Accepts NULL. */
void prov_free(struct prov *p);

void prov_tag_array_free(struct prov_tag *tags, size_t n);
void prov_eni_release(struct prov_eni *e);
void prov_instance_release(struct prov_instance *i);
void prov_instance_list_release(struct prov_instance_list *l);
void prov_eni_list_release(struct prov_eni_list *l);
void prov_classic_member_release(struct prov_classic_member *m);
void prov_classic_lb_release(struct prov_classic_lb *lb);
void prov_classic_lb_list_release(struct prov_classic_lb_list *l);
void prov_target_release(struct prov_target *t);
void prov_target_group_release(struct prov_target_group *tg);
void prov_target_group_list_release(struct prov_target_group_list *l);
void prov_lb_release(struct prov_lb *lb);
void prov_lb_list_release(struct prov_lb_list *l);
void prov_vpc_list_release(struct prov_vpc_list *l);
void prov_address_release(struct prov_address *a);
void prov_address_list_release(struct prov_address_list *l);
void prov_identity_release(struct prov_identity *id);
void prov_instance_status_list_release(struct prov_instance_status_list *l);
void prov_lease_release(struct prov_lease *l);
void prov_lease_list_release(struct prov_lease_list *l);

/* Value of tag key, or NULL.  Valid as long as tags. */
const char *prov_tag_get(const struct prov_tag *tags, size_t n,
			 const char *key);

/* AWS's names: "running", "healthy", "instance", ... */
const char *prov_instance_state_name(enum prov_instance_state s);
/* PROV_INSTANCE_UNKNOWN for an unknown name. */
enum prov_instance_state prov_instance_state_parse(const char *name);
const char *prov_health_name(enum prov_health h);
const char *prov_target_type_name(enum prov_target_type t);
/* -1 for an unknown name. */
int prov_target_type_parse(const char *name, enum prov_target_type *ret);

#endif
