#include "providers/provider.h"

#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/strv.h"
#include "util/banned.h"

void prov_free(struct prov *p)
{
	if (p && p->ops && p->ops->free)
		p->ops->free(p);
}

void prov_tag_array_free(struct prov_tag *tags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tags[i].key);
		free(tags[i].value);
	}
	free(tags);
}

void prov_eni_release(struct prov_eni *e)
{
	if (!e)
		return;
	free(e->id);
	free(e->vpc_id);
	free(e->subnet_id);
	free(e->az);
	free(e->status);
	free(e->instance_id);
	util_strv_free(e->private_ips, e->n_private_ips);
	memset(e, 0, sizeof(*e));
}

void prov_instance_release(struct prov_instance *i)
{
	if (!i)
		return;
	free(i->id);
	free(i->vpc_id);
	free(i->subnet_id);
	free(i->az);
	free(i->private_ip);
	free(i->public_ip);
	prov_tag_array_free(i->tags, i->n_tags);
	for (size_t k = 0; k < i->n_enis; k++)
		prov_eni_release(&i->enis[k]);
	free(i->enis);
	memset(i, 0, sizeof(*i));
}

void prov_instance_list_release(struct prov_instance_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_instance_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_eni_list_release(struct prov_eni_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_eni_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_classic_member_release(struct prov_classic_member *m)
{
	if (!m)
		return;
	free(m->instance_id);
	free(m->state);
	free(m->reason_code);
	free(m->description);
	memset(m, 0, sizeof(*m));
}

void prov_classic_lb_release(struct prov_classic_lb *lb)
{
	if (!lb)
		return;
	free(lb->name);
	free(lb->dns_name);
	free(lb->vpc_id);
	util_strv_free(lb->azs, lb->n_azs);
	for (size_t k = 0; k < lb->n_members; k++)
		prov_classic_member_release(&lb->members[k]);
	free(lb->members);
	memset(lb, 0, sizeof(*lb));
}

void prov_classic_lb_list_release(struct prov_classic_lb_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_classic_lb_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_target_release(struct prov_target *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->az);
	free(t->state);
	free(t->reason);
	free(t->description);
	memset(t, 0, sizeof(*t));
}

void prov_target_group_release(struct prov_target_group *tg)
{
	if (!tg)
		return;
	free(tg->arn);
	free(tg->name);
	free(tg->vpc_id);
	free(tg->protocol);
	util_strv_free(tg->lb_arns, tg->n_lb_arns);
	for (size_t k = 0; k < tg->n_targets; k++)
		prov_target_release(&tg->targets[k]);
	free(tg->targets);
	memset(tg, 0, sizeof(*tg));
}

void prov_target_group_list_release(struct prov_target_group_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_target_group_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_lb_release(struct prov_lb *lb)
{
	if (!lb)
		return;
	free(lb->arn);
	free(lb->name);
	util_strv_free(lb->azs, lb->n_azs);
	memset(lb, 0, sizeof(*lb));
}

void prov_lb_list_release(struct prov_lb_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_lb_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_vpc_list_release(struct prov_vpc_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		free(l->v[k].id);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_address_release(struct prov_address *a)
{
	if (!a)
		return;
	free(a->allocation_id);
	free(a->public_ip);
	free(a->domain);
	free(a->association_id);
	free(a->instance_id);
	free(a->eni_id);
	free(a->private_ip);
	free(a->eni_owner_id);
	prov_tag_array_free(a->tags, a->n_tags);
	memset(a, 0, sizeof(*a));
}

void prov_address_list_release(struct prov_address_list *l)
{
	if (!l)
		return;
	for (size_t k = 0; k < l->n; k++)
		prov_address_release(&l->v[k]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void prov_identity_release(struct prov_identity *id)
{
	if (!id)
		return;
	free(id->account);
	free(id->arn);
	free(id->user_id);
	memset(id, 0, sizeof(*id));
}

void prov_instance_status_list_release(struct prov_instance_status_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].instance_id);
		free(l->v[i].system_status);
		free(l->v[i].instance_status);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const char *prov_tag_get(const struct prov_tag *tags, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (tags[i].key && !strcmp(tags[i].key, key))
			return tags[i].value ? tags[i].value : "";
	return NULL;
}

static const char *const instance_state_names[] = {
	[PROV_INSTANCE_UNKNOWN] = "unknown",
	[PROV_INSTANCE_PENDING] = "pending",
	[PROV_INSTANCE_RUNNING] = "running",
	[PROV_INSTANCE_SHUTTING_DOWN] = "shutting-down",
	[PROV_INSTANCE_TERMINATED] = "terminated",
	[PROV_INSTANCE_STOPPING] = "stopping",
	[PROV_INSTANCE_STOPPED] = "stopped",
};

const char *prov_instance_state_name(enum prov_instance_state s)
{
	if ((size_t)s < ARRAY_SIZE(instance_state_names))
		return instance_state_names[s];
	return "unknown";
}

enum prov_instance_state prov_instance_state_parse(const char *name)
{
	for (size_t i = 1; name && i < ARRAY_SIZE(instance_state_names); i++)
		if (!strcmp(name, instance_state_names[i]))
			return (enum prov_instance_state)i;
	return PROV_INSTANCE_UNKNOWN;
}

const char *prov_health_name(enum prov_health h)
{
	switch (h) {
	case PROV_HEALTH_INITIAL:
		return "initial";
	case PROV_HEALTH_HEALTHY:
		return "healthy";
	case PROV_HEALTH_UNHEALTHY:
		return "unhealthy";
	case PROV_HEALTH_DRAINING:
		return "draining";
	case PROV_HEALTH_UNUSED:
		return "unused";
	case PROV_HEALTH_UNAVAILABLE:
		return "unavailable";
	case PROV_HEALTH_UNKNOWN:
		break;
	}
	return "unknown";
}

static const char *const target_type_names[] = {
	[PROV_TARGET_INSTANCE] = "instance",
	[PROV_TARGET_IP] = "ip",
	[PROV_TARGET_LAMBDA] = "lambda",
	[PROV_TARGET_ALB] = "alb",
};

const char *prov_target_type_name(enum prov_target_type t)
{
	if ((size_t)t < ARRAY_SIZE(target_type_names))
		return target_type_names[t];
	return "unknown";
}

int prov_target_type_parse(const char *name, enum prov_target_type *ret)
{
	for (size_t i = 0; name && i < ARRAY_SIZE(target_type_names); i++) {
		if (!strcmp(name, target_type_names[i])) {
			*ret = (enum prov_target_type)i;
			return 0;
		}
	}
	return -1;
}

void prov_lease_release(struct prov_lease *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->holder);
	free(l->rvn);
	memset(l, 0, sizeof(*l));
}

void prov_lease_list_release(struct prov_lease_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		prov_lease_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
