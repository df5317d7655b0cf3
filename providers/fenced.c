#include "providers/fenced.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/alloc.h"
#include "util/banned.h"

struct fenced {
	struct prov *base;
	const struct util_fence *fence;
};

static struct fenced *F(struct prov *p)
{
	return p->impl;
}

/*
 * Ask the fence; when open put it in force for this thread so code below
 * (the AWS retry loop) asks again before each attempt.  Returns the fence
 * it replaced via *prev.
 */
static int enter(struct prov *p, const struct util_fence **prev,
		 struct util_err *err)
{
	const struct util_fence *f = F(p)->fence;
	uint64_t budget;
	int rc = f->check(f->ctx, &budget, err);

	if (rc)
		return rc;
	*prev = util_fence_set(f);
	return 0;
}

#define BASE(p)	      (F(p)->base)
#define PASS(op, ...) BASE(p)->ops->op(BASE(p), __VA_ARGS__)
#define FENCED(op, ...)                                      \
	do {                                                 \
		const struct util_fence *prev;               \
		int rc = enter(p, &prev, err);               \
		if (rc)                                      \
			return rc;                           \
		rc = BASE(p)->ops->op(BASE(p), __VA_ARGS__); \
		util_fence_set(prev);                        \
		return rc;                                   \
	} while (0)

static void f_free(struct prov *p)
{
	free(p->impl);
	free(p);
}

static int f_identity(struct prov *p, struct prov_identity *ret,
		      struct util_err *err)
{
	return PASS(identity, ret, err);
}

static int f_instances_by_id(struct prov *p, const char *const *ids, size_t n,
			     struct prov_instance_list *ret,
			     struct util_err *err)
{
	return PASS(instances_by_id, ids, n, ret, err);
}

static int f_instances_by_selector(struct prov *p,
				   const struct prov_selector *sel,
				   struct prov_instance_list *ret,
				   struct util_err *err)
{
	return PASS(instances_by_selector, sel, ret, err);
}

static int f_enis_by_id(struct prov *p, const char *const *ids, size_t n,
			struct prov_eni_list *ret, struct util_err *err)
{
	return PASS(enis_by_id, ids, n, ret, err);
}

static int f_classic_lbs(struct prov *p, const char *const *names, size_t n,
			 unsigned what, struct prov_classic_lb_list *ret,
			 struct util_err *err)
{
	return PASS(classic_lbs, names, n, what, ret, err);
}

static int f_target_groups(struct prov *p, const char *const *names, size_t n,
			   unsigned what, struct prov_target_group_list *ret,
			   struct util_err *err)
{
	return PASS(target_groups, names, n, what, ret, err);
}

static int f_addresses(struct prov *p, const struct prov_address_query *q,
		       struct prov_address_list *ret, struct util_err *err)
{
	return PASS(addresses, q, ret, err);
}

static int f_lbs_v2(struct prov *p, const char *const *arns, size_t n,
		    struct prov_lb_list *ret, struct util_err *err)
{
	return PASS(lbs_v2, arns, n, ret, err);
}

static int f_vpcs(struct prov *p, const char *const *ids, size_t n,
		  struct prov_vpc_list *ret, struct util_err *err)
{
	return PASS(vpcs, ids, n, ret, err);
}

static int f_instance_status(struct prov *p, const char *const *ids, size_t n,
			     struct prov_instance_status_list *ret,
			     struct util_err *err)
{
	return PASS(instance_status, ids, n, ret, err);
}

static int f_target_health(struct prov *p, const char *name_or_arn,
			   struct prov_target_group *ret, struct util_err *err)
{
	return PASS(target_health, name_or_arn, ret, err);
}

static int f_classic_health(struct prov *p, const char *lb,
			    struct prov_classic_lb *ret, struct util_err *err)
{
	return PASS(classic_health, lb, ret, err);
}

static int f_classic_register(struct prov *p, const char *lb,
			      const char *const *ids, size_t n,
			      struct util_err *err)
{
	FENCED(classic_register, lb, ids, n, err);
}

static int f_classic_deregister(struct prov *p, const char *lb,
				const char *const *ids, size_t n,
				struct util_err *err)
{
	FENCED(classic_deregister, lb, ids, n, err);
}

static int f_classic_enable_zones(struct prov *p, const char *lb,
				  const char *const *zones, size_t n,
				  struct util_err *err)
{
	FENCED(classic_enable_zones, lb, zones, n, err);
}

static int f_tg_register(struct prov *p, const char *tg_arn,
			 const struct prov_target_ref *t, size_t n,
			 struct util_err *err)
{
	FENCED(tg_register, tg_arn, t, n, err);
}

static int f_tg_deregister(struct prov *p, const char *tg_arn,
			   const struct prov_target_ref *t, size_t n,
			   struct util_err *err)
{
	FENCED(tg_deregister, tg_arn, t, n, err);
}

static int f_associate(struct prov *p, const struct prov_associate *req,
		       char **ret_id, struct util_err *err)
{
	FENCED(associate, req, ret_id, err);
}

static int f_disassociate(struct prov *p, const char *association_id,
			  struct util_err *err)
{
	FENCED(disassociate, association_id, err);
}

static int f_allocate(struct prov *p, const struct prov_tag *tags,
		      size_t n_tags, struct prov_address *ret,
		      struct util_err *err)
{
	FENCED(allocate, tags, n_tags, ret, err);
}

static int f_lease_table_check(struct prov *p, const char *table,
			       struct util_err *err)
{
	return PASS(lease_table_check, table, err);
}

static int f_lease_list(struct prov *p, const char *table,
			struct prov_lease_list *ret, struct util_err *err)
{
	return PASS(lease_list, table, ret, err);
}

static int f_lease_get(struct prov *p, const char *table, const char *name,
		       struct prov_lease *ret, struct util_err *err)
{
	return PASS(lease_get, table, name, ret, err);
}

static int f_lease_acquire(struct prov *p, const char *table,
			   const struct prov_lease_write *w,
			   const char *prev_rvn, struct util_err *err)
{
	return PASS(lease_acquire, table, w, prev_rvn, err);
}

static int f_lease_renew(struct prov *p, const char *table,
			 const struct prov_lease_write *w, const char *prev_rvn,
			 struct util_err *err)
{
	return PASS(lease_renew, table, w, prev_rvn, err);
}

static int f_lease_release(struct prov *p, const char *table, const char *name,
			   const char *holder, const char *rvn,
			   const char *new_rvn, struct util_err *err)
{
	return PASS(lease_release, table, name, holder, rvn, new_rvn, err);
}

static const struct prov_ops fenced_ops = {
	.name = "fenced",
	.free = f_free,
	.identity = f_identity,
	.instances_by_id = f_instances_by_id,
	.instances_by_selector = f_instances_by_selector,
	.enis_by_id = f_enis_by_id,
	.classic_lbs = f_classic_lbs,
	.target_groups = f_target_groups,
	.addresses = f_addresses,
	.lbs_v2 = f_lbs_v2,
	.vpcs = f_vpcs,
	.instance_status = f_instance_status,
	.target_health = f_target_health,
	.classic_health = f_classic_health,
	.classic_register = f_classic_register,
	.classic_deregister = f_classic_deregister,
	.classic_enable_zones = f_classic_enable_zones,
	.tg_register = f_tg_register,
	.tg_deregister = f_tg_deregister,
	.associate = f_associate,
	.disassociate = f_disassociate,
	.allocate = f_allocate,
	.lease_table_check = f_lease_table_check,
	.lease_list = f_lease_list,
	.lease_get = f_lease_get,
	.lease_acquire = f_lease_acquire,
	.lease_renew = f_lease_renew,
	.lease_release = f_lease_release,
};

struct prov *prov_fenced_new(struct prov *base, const struct util_fence *fence)
{
	struct prov *p = util_xcalloc(1, sizeof(*p));
	struct fenced *f = util_xcalloc(1, sizeof(*f));

	f->base = base;
	f->fence = fence;
	p->ops = &fenced_ops;
	p->impl = f;
	return p;
}
