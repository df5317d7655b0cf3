#ifndef PROVIDERS_AWS_OPS_H
#define PROVIDERS_AWS_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "providers/aws/client.h"
#include "providers/provider.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * The EC2, Classic ELB, ELBv2, STS and DynamoDB operations (ec2.c, elb.c,
 * elbv2.c, sts.c, ddb.c), private to providers/aws.  Two layers per operation:
 *
 *  - awsp_*_parse_*(): one response body -> the provider structs, pure,
 *    tested on recorded responses (tests/data/aws/).  They append to
 *    their output (so pages accumulate) and return the pagination token
 *    when there is one (*ret_next malloc'd, NULL on the last page).
 *  - awsp_<svc>_<op>(): build the request(s), call through the client,
 *    follow pagination to the end, chunk and batch inputs as the API
 *    allows, and give the provider.h semantics (ids that do not exist are
 *    absent, not errors).  On failure the output is left empty.
 *
 * `conc` is how many independent requests an op may run at once
 * (util_parallel); 0 or 1 = one at a time.
 */

/* Input limits, per request. */
#define AWSP_EC2_IDS	       1000 /* DescribeInstances InstanceId.N */
#define AWSP_EC2_FILTER_VALUES 200  /* values per EC2 filter */
#define AWSP_EC2_MAX_RESULTS   1000 /* page size of paginated EC2 reads */
#define AWSP_EC2_STATUS_IDS    100  /* DescribeInstanceStatus InstanceId.N */
#define AWSP_ELB_NAMES	       20   /* names / ARNs per describe */
#define AWSP_ELB_PAGE_SIZE     400  /* PageSize of ELB describes */
#define AWSP_ELB_TARGETS       200  /* targets / instances per (de)register */

/* --- EC2 --------------------------------------------------------------- */

int awsp_ec2_parse_instances(const char *xml, size_t len,
			     struct prov_instance_list *out, char **ret_next,
			     struct util_err *err);
int awsp_ec2_parse_enis(const char *xml, size_t len, struct prov_eni_list *out,
			char **ret_next, struct util_err *err);
int awsp_ec2_parse_addresses(const char *xml, size_t len,
			     struct prov_address_list *out,
			     struct util_err *err);
/* AllocateAddress: allocation id, public IP, domain into out. */
int awsp_ec2_parse_allocate(const char *xml, size_t len,
			    struct prov_address *out, struct util_err *err);
int awsp_ec2_parse_associate(const char *xml, size_t len,
			     char **ret_association_id, struct util_err *err);
/* An EC2 <return>true</return> answer (DisassociateAddress). */
int awsp_ec2_parse_return(const char *xml, size_t len, const char *root,
			  struct util_err *err);

/* DescribeInstanceStatus, which provider.h does not (yet) expose. */
struct awsp_instance_status {
	char *instance_id;
	char *az;
	enum prov_instance_state state;
	char *instance_status; /* ok, impaired, initializing, ... */
	char *system_status;
	char *reachability; /* instance reachability: passed, failed, ... */
};

struct awsp_instance_status_list {
	struct awsp_instance_status *v;
	size_t n;
};

void awsp_instance_status_list_release(struct awsp_instance_status_list *l);
int awsp_ec2_parse_instance_status(const char *xml, size_t len,
				   struct awsp_instance_status_list *out,
				   char **ret_next, struct util_err *err);

/*
 * Instances by id: InstanceId.N, AWSP_EC2_IDS ids per request (never with
 * MaxResults or NextToken; chunks run in parallel).  Ids that AWS names as
 * unknown or malformed are dropped and the rest asked again; after
 * AWSP_EC2_ID_ROUNDS requests for a chunk, or when AWS's message names
 * none of the ids asked, the chunk's remaining ids are read through the
 * `instance-id` filter (AWSP_EC2_FILTER_VALUES per request, paginated),
 * which leaves unknown ids out.  Either way unknown ids are absent.
 */
#define AWSP_EC2_ID_ROUNDS 4
int awsp_ec2_instances_by_id(struct awsp_client *c, const char *const *ids,
			     size_t n, unsigned conc,
			     struct prov_instance_list *ret,
			     struct util_err *err);
/* tag:KEY filters (wildcards escaped) and instance-state-name. */
int awsp_ec2_instances_by_selector(struct awsp_client *c,
				   const struct prov_selector *sel,
				   struct prov_instance_list *ret,
				   struct util_err *err);
/*
 * The ids of ids[0, n) that an EC2 id error's message names, marked in
 * named[] (ids already marked are skipped): the first quoted list in msg,
 * ids separated by ", " -- "The instance ID 'i-1' does not exist", "The
 * instance IDs 'i-1, i-2' do not exist", 'Invalid id: "x"'.  A list cut
 * short (no closing quote) counts only its whole ids.  Returns how many
 * were marked; 0 when msg is NULL or names none of them.
 */
size_t awsp_ec2_error_ids(const char *msg, const char *const *ids, size_t n,
			  bool *named);
/* ENIs by id: a `network-interface-id` filter, like the fallback above. */
int awsp_ec2_enis_by_id(struct awsp_client *c, const char *const *ids, size_t n,
			unsigned conc, struct prov_eni_list *ret,
			struct util_err *err);
/* DescribeVpcs page: vpcId and isDefault of each; nextToken. */
int awsp_ec2_parse_vpcs(const char *xml, size_t len, struct prov_vpc_list *out,
			char **ret_next, struct util_err *err);
/* VPCs by id: a `vpc-id` filter (paginated); unknown ids are absent. */
int awsp_ec2_vpcs(struct awsp_client *c, const char *const *ids, size_t n,
		  struct prov_vpc_list *ret, struct util_err *err);
/*
 * Every instance's status (include_all: not only running ones), or those
 * of ids (AWSP_EC2_STATUS_IDS per request; unknown ids are absent).
 */
int awsp_ec2_instance_status(struct awsp_client *c, const char *const *ids,
			     size_t n, bool include_all, unsigned conc,
			     struct awsp_instance_status_list *ret,
			     struct util_err *err);
int awsp_ec2_addresses(struct awsp_client *c,
		       const struct prov_address_query *q,
		       struct prov_address_list *ret, struct util_err *err);
int awsp_ec2_allocate(struct awsp_client *c, const struct prov_tag *tags,
		      size_t n_tags, struct prov_address *ret,
		      struct util_err *err);
int awsp_ec2_associate(struct awsp_client *c, const struct prov_associate *req,
		       char **ret_association_id, struct util_err *err);
int awsp_ec2_disassociate(struct awsp_client *c, const char *association_id,
			  struct util_err *err);

/*
 * The filter value that matches s literally: EC2 filter values treat '*'
 * and '?' as wildcards and '\' as their escape.  Appends to out.
 */
void awsp_ec2_filter_escape(const char *s, struct buf *out);

/* --- Classic ELB --------------------------------------------------------- */

/*
 * DescribeLoadBalancers page: LBs with their members' ids (health
 * unknown); NextMarker.
 */
int awsp_elb_parse_load_balancers(const char *xml, size_t len,
				  struct prov_classic_lb_list *out,
				  char **ret_next, struct util_err *err);
/*
 * One DescribeInstanceHealth of lb into ret (name, members).
 * UTIL_ENOTFOUND when lb does not exist.
 */
int awsp_elb_instance_health(struct awsp_client *c, const char *lb,
			     struct prov_classic_lb *ret, struct util_err *err);
/* DescribeInstanceHealth: members of lb (replacing any). */
int awsp_elb_parse_instance_health(const char *xml, size_t len,
				   struct prov_classic_lb *lb,
				   struct util_err *err);
/* Register/Deregister answers: the instance list after the change. */
int awsp_elb_parse_instances(const char *xml, size_t len, const char *root,
			     size_t *ret_count, struct util_err *err);

/* With health, also DescribeInstanceHealth per ELB (in parallel). */
int awsp_elb_load_balancers(struct awsp_client *c, const char *const *names,
			    size_t n, unsigned conc, bool health,
			    struct prov_classic_lb_list *ret,
			    struct util_err *err);
int awsp_elb_register(struct awsp_client *c, const char *lb,
		      const char *const *ids, size_t n, bool deregister,
		      struct util_err *err);

/* EnableAvailabilityZonesForLoadBalancer: AvailabilityZones.member.N. */
int awsp_elb_enable_zones(struct awsp_client *c, const char *lb,
			  const char *const *zones, size_t n,
			  struct util_err *err);

/* --- ELBv2 --------------------------------------------------------------- */

int awsp_elbv2_parse_target_groups(const char *xml, size_t len,
				   struct prov_target_group_list *out,
				   char **ret_next, struct util_err *err);
int awsp_elbv2_parse_target_health(const char *xml, size_t len,
				   struct prov_target_group *tg,
				   struct util_err *err);
/* deregistration_delay.timeout_seconds into tg (left -1 if absent). */
int awsp_elbv2_parse_attributes(const char *xml, size_t len,
				struct prov_target_group *tg,
				struct util_err *err);
/* An answer with no payload (RegisterTargets): check the root only. */
int awsp_query_parse_empty(const char *xml, size_t len, const char *root,
			   struct util_err *err);

/* An ARN (as opposed to a name): starts with "arn:". */
bool awsp_elbv2_is_arn(const char *s);

/*
 * Deregistration delays by target group ARN, kept for ttl_ms: the delay
 * rarely changes, and the engine's waits re-read their groups on every
 * poll, so each group's DescribeTargetGroupAttributes is made at most
 * once per ttl_ms instead of once per read.  A change made in AWS shows
 * within ttl_ms.  Thread-safe.
 */
#define AWSP_TG_DELAY_TTL_MS (5 * 60 * 1000)

struct awsp_tg_cache;

/* clock is borrowed (NULL = system).  Free with awsp_tg_cache_free(). */
struct awsp_tg_cache *awsp_tg_cache_new(const struct util_clock *clock,
					uint64_t ttl_ms);
/* Accepts NULL. */
void awsp_tg_cache_free(struct awsp_tg_cache *tc);

/*
 * One DescribeTargetHealth of name_or_arn into ret (arn, name when given
 * one, targets).  A name's ARN comes from cache, else from one
 * DescribeTargetGroups kept there.  UTIL_ENOTFOUND when the group does
 * not exist.
 */
int awsp_elbv2_target_health(struct awsp_client *c, struct awsp_tg_cache *cache,
			     const char *name_or_arn,
			     struct prov_target_group *ret,
			     struct util_err *err);
/*
 * Target groups by name or ARN with their targets' health and, with
 * delay, deregistration delay: DescribeTargetGroups, then per group
 * DescribeTargetHealth, and (with delay) DescribeTargetGroupAttributes
 * unless cache (may be NULL) holds a fresh delay for its ARN.
 */
int awsp_elbv2_target_groups(struct awsp_client *c,
			     const char *const *names_or_arns, size_t n,
			     unsigned conc, bool delay,
			     struct awsp_tg_cache *cache,
			     struct prov_target_group_list *ret,
			     struct util_err *err);
/*
 * DescribeLoadBalancers page: ARN, name and the ZoneName of each
 * AvailabilityZones member; NextMarker.
 */
int awsp_elbv2_parse_load_balancers(const char *xml, size_t len,
				    struct prov_lb_list *out, char **ret_next,
				    struct util_err *err);
/*
 * Load balancers by ARN: LoadBalancerArns.member.N, AWSP_ELB_NAMES per
 * request (batches in parallel).  AWS fails a batch naming an unknown ARN:
 * then each is asked alone, and unknown ones are absent.
 */
int awsp_elbv2_load_balancers(struct awsp_client *c, const char *const *arns,
			      size_t n, unsigned conc, struct prov_lb_list *ret,
			      struct util_err *err);
int awsp_elbv2_register(struct awsp_client *c, const char *tg_arn,
			const struct prov_target_ref *targets, size_t n,
			bool deregister, struct util_err *err);

/* --- STS ----------------------------------------------------------------- */

int awsp_sts_parse_caller_identity(const char *xml, size_t len,
				   struct prov_identity *out,
				   struct util_err *err);
int awsp_sts_caller_identity(struct awsp_client *c, struct prov_identity *ret,
			     struct util_err *err);

/* --- shared helpers (ops.c) ------------------------------------------- */

/* The length of chunk i when total items are cut in chunks of per. */
size_t awsp_chunk_len(size_t total, size_t per, size_t i);

/*
 * The distinct strings of v in first-seen order, as a malloc'd array of
 * pointers into v (the caller frees the array only).
 */
const char **awsp_strv_unique(const char *const *v, size_t n, size_t *ret_n);

/* --- DynamoDB: leases (ddb.c) ---------------------------------------- */

/*
 * One lease item (a GetItem's Item, a Scan's Items[i]) into ret (zeroed
 * first; the caller's, prov_lease_release()).  UTIL_EINVAL for an item
 * without a string name or with a malformed number.
 */
int awsp_ddb_parse_item(const cJSON *item, struct prov_lease *ret,
			struct util_err *err);
/*
 * One Scan answer: its items appended to out, *ret_next the
 * LastEvaluatedKey (a copy, the caller's: cJSON_Delete()) or NULL on the
 * last page.  On failure out keeps what it held plus the items parsed.
 */
int awsp_ddb_parse_scan(const cJSON *ans, struct prov_lease_list *out,
			cJSON **ret_next, struct util_err *err);
/* The lease ops of provider.h, with its contract. */
int awsp_ddb_table_check(struct awsp_client *c, const char *table,
			 struct util_err *err);
int awsp_ddb_list(struct awsp_client *c, const char *table,
		  struct prov_lease_list *ret, struct util_err *err);
int awsp_ddb_get(struct awsp_client *c, const char *table, const char *name,
		 struct prov_lease *ret, struct util_err *err);
int awsp_ddb_acquire(struct awsp_client *c, const char *table,
		     const struct prov_lease_write *w, const char *prev_rvn,
		     struct util_err *err);
int awsp_ddb_renew(struct awsp_client *c, const char *table,
		   const struct prov_lease_write *w, const char *prev_rvn,
		   struct util_err *err);
int awsp_ddb_release(struct awsp_client *c, const char *table, const char *name,
		     const char *holder, const char *rvn, const char *new_rvn,
		     struct util_err *err);

/*
 * Run fn(ctx, i, err_i) for every i in [0, n) on up to conc threads, each
 * with its own error.  0 when all succeeded; otherwise the failure of the
 * lowest i is copied to err and its code returned.
 */
int awsp_ops_parallel(size_t n, unsigned conc,
		      int (*fn)(void *ctx, size_t i, struct util_err *err),
		      void *ctx, struct util_err *err);

/*
 * Call and parse, following a pagination token.  build adds the
 * operation's parameters (not the token) to a fresh query; parse handles
 * one page and returns the next token.  token_param is "NextToken" or
 * "Marker".  A token that repeats is an error (no endless loops).
 */
struct awsp_pager {
	enum awsp_service svc;
	const char *action;
	unsigned flags; /* enum awsp_call_flags */
	const char *token_param;
	void (*build)(void *ctx, struct awsp_query *q);
	int (*parse)(void *ctx, const char *xml, size_t len, char **ret_next,
		     struct util_err *err);
	void *ctx;
};

int awsp_paginate(struct awsp_client *c, const struct awsp_pager *pg,
		  struct util_err *err);

/*
 * One call whose answer is parsed by parse (may be NULL).  *info as
 * awsp_client_call's.
 */
int awsp_call_parse(struct awsp_client *c, enum awsp_service svc,
		    struct awsp_query *q, const char *action, unsigned flags,
		    int (*parse)(void *ctx, const char *xml, size_t len,
				 struct util_err *err),
		    void *ctx, struct awsp_call_info *info,
		    struct util_err *err);

/* Replace *dst with a copy of text (NULL when text is empty). */
void awsp_set_str(char **dst, const char *text);

/*
 * One page of a list answer, the shape of every awsp_*_parse_<list>():
 * parse xml (root element `root`) with h and ctx, whose handlers append
 * to the list and store the page's token in *next.  On success *next is
 * handed to *ret_next (or freed when ret_next is NULL); on failure it is
 * freed, and the caller removes what the page appended.
 */
struct awsp_xml_handler;
int awsp_parse_page(const char *xml, size_t len, const char *root,
		    const struct awsp_xml_handler *h, void *ctx, char **next,
		    char **ret_next, struct util_err *err);

/*
 * dst (n_dst elements of size bytes) with the n_src elements of src
 * copied after them: dst realloc'd.  For AWSP_LIST_MOVE.
 */
void *awsp_array_append(void *dst, size_t n_dst, const void *src, size_t n_src,
			size_t size);

/*
 * Move the elements of list src, a { T *v; size_t n; } struct, to the end
 * of list dst of the same type; src is left empty (its array freed).  The
 * arguments are evaluated more than once.
 */
#define AWSP_LIST_MOVE(dst, src)                                           \
	do {                                                               \
		(dst)->v = awsp_array_append((dst)->v, (dst)->n, (src)->v, \
					     (src)->n, sizeof(*(src)->v)); \
		(dst)->n += (src)->n;                                      \
		free((src)->v);                                            \
		(src)->v = NULL;                                           \
		(src)->n = 0;                                              \
	} while (0)

#endif
