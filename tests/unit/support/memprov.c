#include "tests/unit/support/memprov.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/banned.h"

#define ACCOUNT "123456789012"

struct m_instance {
	char *id;
	enum prov_instance_state state;
	char *vpc, *subnet, *az, *private_ip, *eni;
	char *system_status, *instance_status; /* NULL: as its state says */
	char **secondary;
	size_t n_secondary;
	struct prov_tag *tags;
	size_t n_tags;
};

struct m_eni {
	char *id, *vpc, *private_ip;
};

struct m_member {
	char *id;
	int port;
	enum prov_health health;
	unsigned reads; /* reads since the last change */
	bool sticky;	/* set by a test: does not progress */
};

struct m_group {
	bool classic;
	char *name, *arn, *vpc;
	char **azs;
	size_t n_azs;
	char **lb_arns; /* target groups: ELBv2 load balancers using it */
	size_t n_lb_arns;
	enum prov_target_type type;
	int port, delay_s;
	struct m_member *members;
	size_t n_members;
};

struct m_address {
	char *alloc, *public_ip, *domain, *name;
	char *assoc, *instance, *eni, *private_ip;
};

struct m_fault {
	char *op, *match, *code;
	int times;
	unsigned flags;
	bool applied;
};

/* An ELBv2 load balancer: only what target groups need of it. */
struct m_lb {
	char *name, *arn;
	char **azs;
	size_t n_azs;
};

struct memprov {
	pthread_mutex_t lock;
	struct m_lb *lbs;
	size_t n_lbs;
	char **nondefault_vpcs; /* every other VPC is a default one */
	size_t n_nondefault_vpcs;
	struct m_instance *inst;
	size_t n_inst;
	struct m_eni *enis;
	size_t n_enis;
	struct m_group *groups;
	size_t n_groups;
	struct m_address *addrs;
	size_t n_addrs;
	struct m_fault *faults;
	size_t n_faults;
	char *lease_table; /* NULL: no lease table */
	bool lease_bad_key;
	struct prov_lease *leases;
	size_t n_leases;
	char **calls;
	bool *mutating;
	size_t n_calls;
	unsigned healthy_after, drain_reads, seq;
	void (*hook)(void *ctx, struct memprov *m, const char *call);
	void *hook_ctx;
};

/* --- helpers ----------------------------------------------------------- */

#define GROW1(arr, n) ((arr) = util_xrealloc((arr), ((n) + 1) * sizeof(*(arr))))

static char *dup0(const char *s)
{
	return s ? util_xstrdup(s) : NULL;
}

static struct m_instance *find_inst(struct memprov *m, const char *id)
{
	for (size_t i = 0; i < m->n_inst; i++)
		if (!strcmp(m->inst[i].id, id))
			return &m->inst[i];
	return NULL;
}

static struct m_group *find_group(struct memprov *m, const char *ref)
{
	for (size_t i = 0; i < m->n_groups; i++)
		if (!strcmp(m->groups[i].name, ref) ||
		    util_streq(m->groups[i].arn, ref))
			return &m->groups[i];
	return NULL;
}

static struct m_address *find_addr(struct memprov *m, const char *alloc)
{
	for (size_t i = 0; i < m->n_addrs; i++)
		if (!strcmp(m->addrs[i].alloc, alloc))
			return &m->addrs[i];
	return NULL;
}

static struct m_member *find_member(struct m_group *g, const char *id, int port)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (!strcmp(g->members[i].id, id) &&
		    (g->classic || g->members[i].port == port))
			return &g->members[i];
	return NULL;
}

static void remove_member_at(struct m_group *g, size_t i)
{
	free(g->members[i].id);
	memmove(&g->members[i], &g->members[i + 1],
		(g->n_members - i - 1) * sizeof(*g->members));
	g->n_members--;
}

static struct m_member *add_member(struct m_group *g, const char *id, int port)
{
	struct m_member *mm;

	GROW1(g->members, g->n_members);
	mm = &g->members[g->n_members++];
	memset(mm, 0, sizeof(*mm));
	mm->id = util_xstrdup(id);
	mm->port = g->classic ? 0 : port;
	return mm;
}

/* A member's port as the setup calls take it: 0 = the group's. */
static int member_port(const struct m_group *g, int port)
{
	return !g->classic && !port ? g->port : port;
}

static void split(const char *s, char ***ret, size_t *ret_n)
{
	char *copy, *save = NULL;

	*ret = NULL;
	*ret_n = 0;
	if (!s || !*s)
		return;
	copy = util_xstrdup(s);
	for (char *t = strtok_r(copy, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		GROW1(*ret, *ret_n);
		(*ret)[(*ret_n)++] = util_xstrdup(t);
	}
	free(copy);
}

/* Record a call; returns a stable copy of the line for fault matching. */
static void record(struct memprov *m, const char *line, bool mutating)
{
	GROW1(m->calls, m->n_calls);
	GROW1(m->mutating, m->n_calls);
	m->calls[m->n_calls] = util_xstrdup(line);
	m->mutating[m->n_calls] = mutating;
	m->n_calls++;
}

/*
 * The fault for this call, if any (consumed).  *applied says whether the
 * op should take effect first.
 */
static int check_fault(struct memprov *m, const char *op, const char *line,
		       bool *applied, struct util_err *err)
{
	for (size_t i = 0; i < m->n_faults; i++) {
		struct m_fault *f = &m->faults[i];

		if (strcmp(f->op, op) || f->times == 0)
			continue;
		if (f->match && !strstr(line, f->match))
			continue;
		if (f->times > 0)
			f->times--;
		*applied = f->applied;
		util_err_set_aws(err, 400, f->code, "injected fault",
				 "req-fault", f->flags);
		return UTIL_EAWS;
	}
	*applied = false;
	return 0;
}

/*
 * Start an op: run the hook (unlocked), take the lock, record the call and
 * look up a fault.  Returns with the lock held.
 */
static int begin(struct memprov *m, const char *op, const char *line,
		 bool mutating, bool *applied, struct util_err *err)
{
	if (m->hook)
		m->hook(m->hook_ctx, m, line);
	pthread_mutex_lock(&m->lock);
	record(m, line, mutating);
	return check_fault(m, op, line, applied, err);
}

static void ids_line(struct buf *b, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_addf(b, "%s%s", i ? "," : "", ids[i]);
}

/* Record "op id" under the lock (a call a read op makes besides its own). */
static void record_one(struct memprov *m, const char *op, const char *id)
{
	struct buf line = BUF_INIT;

	buf_addf(&line, "%s %s", op, id);
	record(m, line.buf, false);
	buf_release(&line);
}

/* begin() for a read whose call is recorded as "op id1,id2,...". */
static int begin_read(struct memprov *m, const char *op, const char *const *ids,
		      size_t n, struct util_err *err)
{
	struct buf line = BUF_INIT;
	bool applied;
	int r;

	buf_addf(&line, "%s ", op);
	ids_line(&line, ids, n);
	r = begin(m, op, line.buf, false, &applied, err);
	buf_release(&line);
	return r;
}

static void tags_copy(const struct prov_tag *src, size_t n,
		      struct prov_tag **ret, size_t *ret_n)
{
	*ret = util_xcalloc(n ? n : 1, sizeof(**ret));
	for (size_t i = 0; i < n; i++) {
		(*ret)[i].key = util_xstrdup(src[i].key);
		(*ret)[i].value = util_xstrdup(src[i].value);
	}
	*ret_n = n;
}

/* --- public setup ------------------------------------------------------- */

void memprov_set_healthy_after(struct memprov *m, unsigned reads)
{
	m->healthy_after = reads;
}

void memprov_set_drain_reads(struct memprov *m, unsigned reads)
{
	m->drain_reads = reads;
}

void memprov_add_instance(struct memprov *m, const char *id, const char *state,
			  const char *vpc, const char *az,
			  const char *private_ip, const char *tags)
{
	struct m_instance *in;
	char **kv;
	size_t n;

	pthread_mutex_lock(&m->lock);
	GROW1(m->inst, m->n_inst);
	in = &m->inst[m->n_inst++];
	memset(in, 0, sizeof(*in));
	in->id = util_xstrdup(id);
	in->state = prov_instance_state_parse(state);
	in->vpc = util_xstrdup(vpc);
	in->subnet = util_xasprintf("subnet-%s", az);
	in->az = util_xstrdup(az);
	in->private_ip = util_xstrdup(private_ip);
	in->eni = util_xasprintf("eni-%s", id + 2);
	split(tags, &kv, &n);
	in->tags = util_xcalloc(n ? n : 1, sizeof(*in->tags));
	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(kv[i], '=');

		in->tags[i].key = util_xstrndup(kv[i], eq ? (size_t)(eq - kv[i])
							  : strlen(kv[i]));
		in->tags[i].value = util_xstrdup(eq ? eq + 1 : "");
	}
	in->n_tags = n;
	util_strv_free(kv, n);
	pthread_mutex_unlock(&m->lock);
}

void memprov_add_secondary_ip(struct memprov *m, const char *id, const char *ip)
{
	struct m_instance *in;

	pthread_mutex_lock(&m->lock);
	in = find_inst(m, id);
	if (in) {
		GROW1(in->secondary, in->n_secondary);
		in->secondary[in->n_secondary++] = util_xstrdup(ip);
	}
	pthread_mutex_unlock(&m->lock);
}

void memprov_set_instance_state(struct memprov *m, const char *id,
				const char *state)
{
	struct m_instance *in;

	pthread_mutex_lock(&m->lock);
	in = find_inst(m, id);
	if (in)
		in->state = prov_instance_state_parse(state);
	pthread_mutex_unlock(&m->lock);
}

void memprov_set_status_checks(struct memprov *m, const char *id,
			       const char *system, const char *instance)
{
	struct m_instance *in;

	pthread_mutex_lock(&m->lock);
	in = find_inst(m, id);
	if (in) {
		free(in->system_status);
		free(in->instance_status);
		in->system_status = dup0(system);
		in->instance_status = dup0(instance);
	}
	pthread_mutex_unlock(&m->lock);
}

static void instance_free(struct m_instance *in)
{
	free(in->id);
	free(in->vpc);
	free(in->subnet);
	free(in->az);
	free(in->private_ip);
	free(in->eni);
	free(in->system_status);
	free(in->instance_status);
	util_strv_free(in->secondary, in->n_secondary);
	prov_tag_array_free(in->tags, in->n_tags);
}

void memprov_remove_instance(struct memprov *m, const char *id)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_inst; i++) {
		if (strcmp(m->inst[i].id, id))
			continue;
		instance_free(&m->inst[i]);
		memmove(&m->inst[i], &m->inst[i + 1],
			(m->n_inst - i - 1) * sizeof(*m->inst));
		m->n_inst--;
		break;
	}
	pthread_mutex_unlock(&m->lock);
}

void memprov_add_eni(struct memprov *m, const char *id, const char *vpc,
		     const char *private_ip)
{
	pthread_mutex_lock(&m->lock);
	GROW1(m->enis, m->n_enis);
	m->enis[m->n_enis].id = util_xstrdup(id);
	m->enis[m->n_enis].vpc = util_xstrdup(vpc);
	m->enis[m->n_enis].private_ip = util_xstrdup(private_ip);
	m->n_enis++;
	pthread_mutex_unlock(&m->lock);
}

void memprov_add_classic(struct memprov *m, const char *name, const char *vpc,
			 const char *azs)
{
	struct m_group *g;

	pthread_mutex_lock(&m->lock);
	GROW1(m->groups, m->n_groups);
	g = &m->groups[m->n_groups++];
	memset(g, 0, sizeof(*g));
	g->classic = true;
	g->name = util_xstrdup(name);
	g->vpc = util_xstrdup(vpc);
	split(azs, &g->azs, &g->n_azs);
	pthread_mutex_unlock(&m->lock);
}

void memprov_add_tg(struct memprov *m, const char *name, const char *type,
		    int port, const char *vpc, int delay_s)
{
	struct m_group *g;
	enum prov_target_type t = PROV_TARGET_INSTANCE;

	prov_target_type_parse(type, &t);
	pthread_mutex_lock(&m->lock);
	GROW1(m->groups, m->n_groups);
	g = &m->groups[m->n_groups++];
	memset(g, 0, sizeof(*g));
	g->name = util_xstrdup(name);
	g->arn =
		util_xasprintf("arn:aws:elasticloadbalancing:us-east-1:" ACCOUNT
			       ":targetgroup/%s/0123456789abcdef",
			       name);
	g->vpc = util_xstrdup(vpc);
	g->type = t;
	g->port = port;
	g->delay_s = delay_s;
	pthread_mutex_unlock(&m->lock);
}

void memprov_add_lb(struct memprov *m, const char *name, const char *azs)
{
	struct m_lb *lb;

	pthread_mutex_lock(&m->lock);
	GROW1(m->lbs, m->n_lbs);
	lb = &m->lbs[m->n_lbs++];
	lb->name = util_xstrdup(name);
	lb->arn =
		util_xasprintf("arn:aws:elasticloadbalancing:us-east-1:" ACCOUNT
			       ":loadbalancer/app/%s/0123456789abcdef",
			       name);
	split(azs, &lb->azs, &lb->n_azs);
	pthread_mutex_unlock(&m->lock);
}

void memprov_set_vpc_nondefault(struct memprov *m, const char *vpc)
{
	pthread_mutex_lock(&m->lock);
	GROW1(m->nondefault_vpcs, m->n_nondefault_vpcs);
	m->nondefault_vpcs[m->n_nondefault_vpcs++] = util_xstrdup(vpc);
	pthread_mutex_unlock(&m->lock);
}

static bool vpc_is_default(const struct memprov *m, const char *vpc)
{
	for (size_t i = 0; i < m->n_nondefault_vpcs; i++)
		if (!strcmp(m->nondefault_vpcs[i], vpc))
			return false;
	return true;
}

void memprov_attach_tg(struct memprov *m, const char *tg, const char *lb)
{
	struct m_group *g;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, tg);
	for (size_t i = 0; g && i < m->n_lbs; i++) {
		if (strcmp(m->lbs[i].name, lb))
			continue;
		GROW1(g->lb_arns, g->n_lb_arns);
		g->lb_arns[g->n_lb_arns++] = util_xstrdup(m->lbs[i].arn);
	}
	pthread_mutex_unlock(&m->lock);
}

const char *memprov_tg_arn(struct memprov *m, const char *name)
{
	struct m_group *g;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, name);
	pthread_mutex_unlock(&m->lock);
	return g ? g->arn : NULL;
}

void memprov_set_member(struct memprov *m, const char *group, const char *id,
			int port, enum prov_health health)
{
	struct m_group *g;
	struct m_member *mm;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group);
	if (!g)
		goto out;
	port = member_port(g, port);
	mm = find_member(g, id, port);
	if (!mm)
		mm = add_member(g, id, port);
	mm->health = health;
	mm->sticky = true;
	mm->reads = 0;
out:
	pthread_mutex_unlock(&m->lock);
}

static void group_release(struct m_group *g)
{
	free(g->name);
	free(g->arn);
	free(g->vpc);
	util_strv_free(g->azs, g->n_azs);
	util_strv_free(g->lb_arns, g->n_lb_arns);
	for (size_t k = 0; k < g->n_members; k++)
		free(g->members[k].id);
	free(g->members);
}

void memprov_remove_group(struct memprov *m, const char *group)
{
	struct m_group *g;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group);
	if (g) {
		size_t i = (size_t)(g - m->groups);

		group_release(g);
		memmove(g, g + 1, (m->n_groups - i - 1) * sizeof(*g));
		m->n_groups--;
	}
	pthread_mutex_unlock(&m->lock);
}

void memprov_remove_member(struct memprov *m, const char *group, const char *id,
			   int port)
{
	struct m_group *g;
	struct m_member *mm = NULL;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group);
	if (g)
		mm = find_member(g, id, member_port(g, port));
	if (mm)
		remove_member_at(g, (size_t)(mm - g->members));
	pthread_mutex_unlock(&m->lock);
}

enum prov_health memprov_member_health(struct memprov *m, const char *group,
				       const char *id, int port)
{
	struct m_group *g;
	struct m_member *mm = NULL;
	enum prov_health h;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group);
	if (g)
		mm = find_member(g, id, member_port(g, port));
	h = mm ? mm->health : PROV_HEALTH_UNUSED;
	pthread_mutex_unlock(&m->lock);
	return h;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *memprov_members(struct memprov *m, const char *group)
{
	struct buf b = BUF_INIT;
	struct m_group *g;
	char **v = NULL;
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, group);
	for (size_t i = 0; g && i < g->n_members; i++) {
		struct m_member *mm = &g->members[i];

		if (mm->health == PROV_HEALTH_DRAINING)
			continue;
		GROW1(v, n);
		v[n++] = g->classic ? util_xstrdup(mm->id)
				    : util_xasprintf("%s:%d", mm->id, mm->port);
	}
	pthread_mutex_unlock(&m->lock);
	if (n)
		qsort(v, n, sizeof(*v), cmp_str);
	for (size_t i = 0; i < n; i++)
		buf_addf(&b, "%s%s", i ? "," : "", v[i]);
	util_strv_free(v, n);
	return buf_detach(&b, NULL);
}

void memprov_add_address(struct memprov *m, const char *alloc,
			 const char *public_ip, const char *name,
			 const char *domain)
{
	struct m_address *a;

	pthread_mutex_lock(&m->lock);
	GROW1(m->addrs, m->n_addrs);
	a = &m->addrs[m->n_addrs++];
	memset(a, 0, sizeof(*a));
	a->alloc = util_xstrdup(alloc);
	a->public_ip = util_xstrdup(public_ip);
	a->name = dup0(name);
	a->domain = util_xstrdup(domain ? domain : "vpc");
	pthread_mutex_unlock(&m->lock);
}

static void unbind(struct m_address *a)
{
	free(a->assoc);
	free(a->instance);
	free(a->eni);
	free(a->private_ip);
	a->assoc = a->instance = a->eni = a->private_ip = NULL;
}

static void bind_locked(struct memprov *m, struct m_address *a,
			const char *instance, const char *eni,
			const char *private_ip)
{
	unbind(a);
	a->assoc = util_xasprintf("eipassoc-%04u", ++m->seq);
	a->instance = dup0(instance);
	a->eni = dup0(eni);
	a->private_ip = dup0(private_ip);
}

void memprov_bind(struct memprov *m, const char *alloc, const char *instance,
		  const char *private_ip)
{
	struct m_address *a;
	struct m_instance *in;

	pthread_mutex_lock(&m->lock);
	a = find_addr(m, alloc);
	in = instance ? find_inst(m, instance) : NULL;
	if (a && !instance)
		unbind(a);
	else if (a)
		bind_locked(m, a, instance, in ? in->eni : NULL,
			    private_ip ? private_ip
				       : (in ? in->private_ip : NULL));
	pthread_mutex_unlock(&m->lock);
}

void memprov_bind_eni(struct memprov *m, const char *alloc, const char *eni,
		      const char *private_ip)
{
	struct m_address *a;

	pthread_mutex_lock(&m->lock);
	a = find_addr(m, alloc);
	if (a)
		bind_locked(m, a, NULL, eni, private_ip);
	pthread_mutex_unlock(&m->lock);
}

const char *memprov_address_holder(struct memprov *m, const char *alloc)
{
	static __thread char out[128];
	struct m_address *a;
	const char *r = NULL;

	pthread_mutex_lock(&m->lock);
	a = find_addr(m, alloc);
	if (a) {
		if (a->instance)
			snprintf(out, sizeof(out), "%s", a->instance);
		else if (a->eni)
			snprintf(out, sizeof(out), "eni:%s", a->eni);
		else
			out[0] = '\0';
		r = out;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

size_t memprov_n_addresses(struct memprov *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->n_addrs;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void memprov_fail(struct memprov *m, const char *op, const char *match,
		  int times, const char *code, unsigned flags, bool applied)
{
	struct m_fault *f;

	pthread_mutex_lock(&m->lock);
	GROW1(m->faults, m->n_faults);
	f = &m->faults[m->n_faults++];
	f->op = util_xstrdup(op);
	f->match = dup0(match);
	f->code = util_xstrdup(code);
	f->times = times;
	f->flags = flags;
	f->applied = applied;
	pthread_mutex_unlock(&m->lock);
}

void memprov_clear_faults(struct memprov *m)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_faults; i++) {
		free(m->faults[i].op);
		free(m->faults[i].match);
		free(m->faults[i].code);
	}
	free(m->faults);
	m->faults = NULL;
	m->n_faults = 0;
	pthread_mutex_unlock(&m->lock);
}

void memprov_set_hook(struct memprov *m,
		      void (*fn)(void *ctx, struct memprov *m,
				 const char *call),
		      void *ctx)
{
	m->hook = fn;
	m->hook_ctx = ctx;
}

size_t memprov_n_calls(struct memprov *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->n_calls;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static char *join_calls(struct memprov *m, bool only_mutating)
{
	struct buf b = BUF_INIT;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_calls; i++)
		if (!only_mutating || m->mutating[i])
			buf_addf(&b, "%s\n", m->calls[i]);
	pthread_mutex_unlock(&m->lock);
	return buf_detach(&b, NULL);
}

char *memprov_mutations(struct memprov *m)
{
	return join_calls(m, true);
}

char *memprov_calls(struct memprov *m)
{
	return join_calls(m, false);
}

size_t memprov_count(struct memprov *m, const char *op)
{
	size_t n = 0, len = strlen(op);

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_calls; i++)
		if (!strncmp(m->calls[i], op, len) &&
		    (m->calls[i][len] == ' ' || m->calls[i][len] == '\0'))
			n++;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void memprov_clear_calls(struct memprov *m)
{
	pthread_mutex_lock(&m->lock);
	util_strv_free(m->calls, m->n_calls);
	free(m->mutating);
	m->calls = NULL;
	m->mutating = NULL;
	m->n_calls = 0;
	pthread_mutex_unlock(&m->lock);
}

/* --- ops ----------------------------------------------------------------- */

static struct memprov *M(struct prov *p)
{
	return p->impl;
}

static void fill_instance(struct memprov *m, const struct m_instance *in,
			  struct prov_instance *o)
{
	struct prov_eni *e;

	memset(o, 0, sizeof(*o));
	o->id = util_xstrdup(in->id);
	o->state = in->state;
	o->vpc_id = util_xstrdup(in->vpc);
	o->subnet_id = util_xstrdup(in->subnet);
	o->az = util_xstrdup(in->az);
	o->private_ip = util_xstrdup(in->private_ip);
	for (size_t i = 0; i < m->n_addrs; i++)
		if (util_streq(m->addrs[i].instance, in->id) &&
		    util_streq(m->addrs[i].private_ip, in->private_ip))
			o->public_ip = util_xstrdup(m->addrs[i].public_ip);
	tags_copy(in->tags, in->n_tags, &o->tags, &o->n_tags);
	o->enis = util_xcalloc(1, sizeof(*o->enis));
	o->n_enis = 1;
	e = &o->enis[0];
	e->id = util_xstrdup(in->eni);
	e->vpc_id = util_xstrdup(in->vpc);
	e->subnet_id = util_xstrdup(in->subnet);
	e->az = util_xstrdup(in->az);
	e->status = util_xstrdup("in-use");
	e->instance_id = util_xstrdup(in->id);
	e->device_index = 0;
	e->private_ips = util_xcalloc(1 + in->n_secondary,
				      sizeof(*e->private_ips));
	e->private_ips[0] = util_xstrdup(in->private_ip);
	for (size_t i = 0; i < in->n_secondary; i++)
		e->private_ips[1 + i] = util_xstrdup(in->secondary[i]);
	e->n_private_ips = 1 + in->n_secondary;
}

static int op_identity(struct prov *p, struct prov_identity *ret,
		       struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	int r = begin(m, "identity", "identity", false, &applied, err);

	if (r == 0) {
		ret->account = util_xstrdup(ACCOUNT);
		ret->arn = util_xstrdup("arn:aws:iam::" ACCOUNT ":user/test");
		ret->user_id = util_xstrdup("AIDATEST");
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_instances_by_id(struct prov *p, const char *const *ids, size_t n,
			      struct prov_instance_list *ret,
			      struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "instances_by_id", ids, n, err);

	if (r == 0) {
		ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
		for (size_t i = 0; i < n; i++) {
			struct m_instance *in = find_inst(m, ids[i]);

			if (in)
				fill_instance(m, in, &ret->v[ret->n++]);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static bool selector_match(const struct m_instance *in,
			   const struct prov_selector *sel)
{
	bool state_ok = sel->n_states == 0;

	for (size_t i = 0; i < sel->n_tags; i++)
		if (!util_streq(prov_tag_get(in->tags, in->n_tags,
					     sel->tags[i].key),
				sel->tags[i].value))
			return false;
	for (size_t i = 0; i < sel->n_states; i++)
		if (sel->states[i] == in->state)
			state_ok = true;
	return state_ok;
}

static int op_instances_by_selector(struct prov *p,
				    const struct prov_selector *sel,
				    struct prov_instance_list *ret,
				    struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	bool applied;
	int r;

	buf_addstr(&line, "instances_by_selector ");
	for (size_t i = 0; i < sel->n_tags; i++)
		buf_addf(&line, "%s%s=%s", i ? "," : "", sel->tags[i].key,
			 sel->tags[i].value);
	r = begin(m, "instances_by_selector", line.buf, false, &applied, err);
	if (r == 0) {
		ret->v = util_xcalloc(m->n_inst ? m->n_inst : 1,
				      sizeof(*ret->v));
		for (size_t i = 0; i < m->n_inst; i++)
			if (selector_match(&m->inst[i], sel))
				fill_instance(m, &m->inst[i],
					      &ret->v[ret->n++]);
	}
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int op_enis_by_id(struct prov *p, const char *const *ids, size_t n,
			 struct prov_eni_list *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "enis_by_id", ids, n, err);

	if (r < 0)
		goto out;
	ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n; i++) {
		struct prov_eni *e = NULL;

		for (size_t k = 0; k < m->n_enis; k++) {
			if (strcmp(m->enis[k].id, ids[i]))
				continue;
			e = &ret->v[ret->n++];
			e->id = util_xstrdup(m->enis[k].id);
			e->vpc_id = util_xstrdup(m->enis[k].vpc);
			e->status = util_xstrdup("available");
			e->device_index = -1;
			e->private_ips = util_xcalloc(1, sizeof(char *));
			e->private_ips[0] = util_xstrdup(m->enis[k].private_ip);
			e->n_private_ips = 1;
		}
		for (size_t k = 0; !e && k < m->n_inst; k++) {
			struct prov_instance tmp;

			if (strcmp(m->inst[k].eni, ids[i]))
				continue;
			fill_instance(m, &m->inst[k], &tmp);
			e = &ret->v[ret->n++];
			*e = tmp.enis[0];
			memset(&tmp.enis[0], 0, sizeof(tmp.enis[0]));
			prov_instance_release(&tmp);
		}
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* A read advances health: new members turn healthy, draining ones go. */
static void advance(struct memprov *m, struct m_group *g)
{
	for (size_t i = 0; i < g->n_members;) {
		struct m_member *mm = &g->members[i];

		if (!mm->sticky)
			mm->reads++;
		if (!mm->sticky && mm->health == PROV_HEALTH_INITIAL &&
		    mm->reads >= m->healthy_after)
			mm->health = PROV_HEALTH_HEALTHY;
		if (!mm->sticky && mm->health == PROV_HEALTH_DRAINING &&
		    mm->reads > m->drain_reads) {
			remove_member_at(g, i);
			continue;
		}
		i++;
	}
}

static const char *classic_state(enum prov_health h)
{
	if (h == PROV_HEALTH_HEALTHY)
		return "InService";
	/* AWS's word while it cannot tell yet (registration in progress). */
	return h == PROV_HEALTH_INITIAL ? "Unknown" : "OutOfService";
}

/*
 * A Classic ELB's members as AWS lists them: with health only when read
 * (AWS's DescribeInstanceHealth, recorded as its own call).
 */
static void fill_members(const struct m_group *g, bool health,
			 struct prov_classic_lb *o)
{
	o->members = util_xcalloc(g->n_members ? g->n_members : 1,
				  sizeof(*o->members));
	for (size_t k = 0; k < g->n_members; k++) {
		struct prov_classic_member *cm = &o->members[o->n_members++];
		enum prov_health h = g->members[k].health;

		cm->instance_id = util_xstrdup(g->members[k].id);
		if (!health)
			continue;
		cm->health = h;
		cm->state = util_xstrdup(classic_state(h));
		cm->reason_code = util_xstrdup("N/A");
		cm->description = util_xstrdup(prov_health_name(h));
	}
}

static int op_classic_lbs(struct prov *p, const char *const *names, size_t n,
			  unsigned what, struct prov_classic_lb_list *ret,
			  struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "classic_lbs", names, n, err);

	if (r < 0)
		goto out;
	ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n; i++) {
		struct m_group *g = find_group(m, names[i]);
		struct prov_classic_lb *o;

		if (!g || !g->classic)
			continue;
		advance(m, g);
		o = &ret->v[ret->n++];
		o->name = util_xstrdup(g->name);
		o->dns_name = util_xasprintf("%s.elb.example", g->name);
		o->vpc_id = util_xstrdup(g->vpc);
		o->azs = util_xcalloc(g->n_azs ? g->n_azs : 1, sizeof(*o->azs));
		for (size_t k = 0; k < g->n_azs; k++)
			o->azs[k] = util_xstrdup(g->azs[k]);
		o->n_azs = g->n_azs;
		fill_members(g, what & PROV_READ_HEALTH, o);
		if (what & PROV_READ_HEALTH)
			record_one(m, "classic_health", g->name);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* A group's targets with their health, as DescribeTargetHealth lists them. */
static void fill_targets(const struct m_group *g, struct prov_target_group *o)
{
	o->targets = util_xcalloc(g->n_members ? g->n_members : 1,
				  sizeof(*o->targets));
	for (size_t k = 0; k < g->n_members; k++) {
		struct prov_target *t = &o->targets[o->n_targets++];
		enum prov_health h = g->members[k].health;

		t->id = util_xstrdup(g->members[k].id);
		t->port = g->members[k].port;
		t->health = h;
		t->state = util_xstrdup(prov_health_name(h));
		if (h == PROV_HEALTH_DRAINING)
			t->reason = util_xstrdup(
				"Target.DeregistrationInProgress");
		else if (h == PROV_HEALTH_INITIAL)
			t->reason = util_xstrdup("Elb.RegistrationInProgress");
	}
}

static int op_target_groups(struct prov *p, const char *const *refs, size_t n,
			    unsigned what, struct prov_target_group_list *ret,
			    struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "target_groups", refs, n, err);

	if (r < 0)
		goto out;
	ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n; i++) {
		struct m_group *g = find_group(m, refs[i]);
		struct prov_target_group *o;
		bool dup = false;

		if (!g || g->classic)
			continue;
		for (size_t k = 0; k < ret->n; k++)
			dup |= !strcmp(ret->v[k].arn, g->arn);
		if (dup)
			continue;
		advance(m, g);
		o = &ret->v[ret->n++];
		o->arn = util_xstrdup(g->arn);
		o->name = util_xstrdup(g->name);
		o->vpc_id = util_xstrdup(g->vpc);
		o->protocol = util_xstrdup("HTTP");
		o->port = g->port;
		o->target_type = g->type;
		o->deregistration_delay_s = -1;
		if (what & PROV_READ_DELAY) {
			o->deregistration_delay_s = g->delay_s;
			record_one(m, "tg_attributes", g->name);
		}
		o->lb_arns = util_xcalloc(g->n_lb_arns + 1, sizeof(char *));
		for (size_t k = 0; k < g->n_lb_arns; k++)
			o->lb_arns[o->n_lb_arns++] = util_xstrdup(
				g->lb_arns[k]);
		fill_targets(g, o);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_target_health(struct prov *p, const char *ref,
			    struct prov_target_group *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "target_health", &ref, 1, err);
	struct m_group *g;

	if (r < 0)
		goto out;
	g = find_group(m, ref);
	if (!g || g->classic) {
		r = util_err_set(err, UTIL_ENOTFOUND,
				 "target group '%s' not found", ref);
		goto out;
	}
	advance(m, g);
	ret->arn = util_xstrdup(g->arn);
	ret->name = util_xstrdup(g->name);
	ret->deregistration_delay_s = -1;
	fill_targets(g, ret);
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_classic_health(struct prov *p, const char *lb,
			     struct prov_classic_lb *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "classic_health", &lb, 1, err);
	struct m_group *g;

	if (r < 0)
		goto out;
	g = find_group(m, lb);
	if (!g || !g->classic) {
		r = util_err_set(err, UTIL_ENOTFOUND,
				 "classic load balancer '%s' not found", lb);
		goto out;
	}
	advance(m, g);
	ret->name = util_xstrdup(g->name);
	fill_members(g, true, ret);
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* A check's status: the one set, else what AWS says for the state. */
static char *check_status(const struct m_instance *in, const char *set)
{
	if (set)
		return util_xstrdup(set);
	return util_xstrdup(
		in->state == PROV_INSTANCE_RUNNING ? "ok" : "not-applicable");
}

static int op_instance_status(struct prov *p, const char *const *ids, size_t n,
			      struct prov_instance_status_list *ret,
			      struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "instance_status", ids, n, err);

	if (r == 0) {
		ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
		for (size_t i = 0; i < n; i++) {
			struct m_instance *in = find_inst(m, ids[i]);
			struct prov_instance_status *o;

			if (!in)
				continue;
			o = &ret->v[ret->n++];
			o->instance_id = util_xstrdup(in->id);
			o->state = in->state;
			o->system_status = check_status(in, in->system_status);
			o->instance_status = check_status(in,
							  in->instance_status);
		}
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_lbs_v2(struct prov *p, const char *const *arns, size_t n,
		     struct prov_lb_list *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "lbs_v2", arns, n, err);

	if (r < 0)
		goto out;
	ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < m->n_lbs; k++) {
			const struct m_lb *lb = &m->lbs[k];
			struct prov_lb *o;

			if (strcmp(lb->arn, arns[i]))
				continue;
			o = &ret->v[ret->n++];
			o->arn = util_xstrdup(lb->arn);
			o->name = util_xstrdup(lb->name);
			o->azs = util_xcalloc(lb->n_azs + 1, sizeof(*o->azs));
			for (size_t z = 0; z < lb->n_azs; z++)
				o->azs[o->n_azs++] = util_xstrdup(lb->azs[z]);
		}
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

/* Every VPC an instance, ENI or group names exists. */
static bool vpc_known(const struct memprov *m, const char *vpc)
{
	for (size_t i = 0; i < m->n_inst; i++)
		if (util_streq(m->inst[i].vpc, vpc))
			return true;
	for (size_t i = 0; i < m->n_enis; i++)
		if (util_streq(m->enis[i].vpc, vpc))
			return true;
	for (size_t i = 0; i < m->n_groups; i++)
		if (util_streq(m->groups[i].vpc, vpc))
			return true;
	return false;
}

static int op_vpcs(struct prov *p, const char *const *ids, size_t n,
		   struct prov_vpc_list *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	int r = begin_read(m, "vpcs", ids, n, err);

	if (r < 0)
		goto out;
	ret->v = util_xcalloc(n ? n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n; i++) {
		if (!vpc_known(m, ids[i]))
			continue;
		ret->v[ret->n].id = util_xstrdup(ids[i]);
		ret->v[ret->n++].is_default = vpc_is_default(m, ids[i]);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void fill_address(const struct m_address *a, struct prov_address *o)
{
	memset(o, 0, sizeof(*o));
	o->allocation_id = util_xstrdup(a->alloc);
	o->public_ip = util_xstrdup(a->public_ip);
	o->domain = util_xstrdup(a->domain);
	o->association_id = dup0(a->assoc);
	o->instance_id = dup0(a->instance);
	o->eni_id = dup0(a->eni);
	o->private_ip = dup0(a->private_ip);
	if (a->eni)
		o->eni_owner_id = util_xstrdup(ACCOUNT);
	if (a->name) {
		o->tags = util_xcalloc(1, sizeof(*o->tags));
		o->tags[0].key = util_xstrdup("Name");
		o->tags[0].value = util_xstrdup(a->name);
		o->n_tags = 1;
	}
}

static bool strv_has(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static int op_addresses(struct prov *p, const struct prov_address_query *q,
			struct prov_address_list *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	bool all = !q->n_allocation_ids && !q->n_public_ips && !q->n_names;
	bool applied;
	int r;

	buf_addstr(&line, "addresses");
	if (q->n_allocation_ids) {
		buf_addstr(&line, " alloc=");
		ids_line(&line, q->allocation_ids, q->n_allocation_ids);
	}
	if (q->n_public_ips) {
		buf_addstr(&line, " ip=");
		ids_line(&line, q->public_ips, q->n_public_ips);
	}
	if (q->n_names) {
		buf_addstr(&line, " name=");
		ids_line(&line, q->names, q->n_names);
	}
	r = begin(m, "addresses", line.buf, false, &applied, err);
	if (r < 0)
		goto out;
	ret->v = util_xcalloc(m->n_addrs ? m->n_addrs : 1, sizeof(*ret->v));
	for (size_t i = 0; i < m->n_addrs; i++) {
		const struct m_address *a = &m->addrs[i];

		if (all ||
		    strv_has(q->allocation_ids, q->n_allocation_ids,
			     a->alloc) ||
		    strv_has(q->public_ips, q->n_public_ips, a->public_ip) ||
		    strv_has(q->names, q->n_names, a->name))
			fill_address(a, &ret->v[ret->n++]);
	}
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int register_check(struct memprov *m, struct m_group *g, const char *id,
			  struct util_err *err)
{
	struct m_instance *in = find_inst(m, id);

	if (!g->classic && g->type == PROV_TARGET_IP)
		return 0;
	if (!in || in->state != PROV_INSTANCE_RUNNING ||
	    strcmp(in->vpc, g->vpc))
		return util_err_set_aws(err, 400,
					g->classic ? "InvalidInstance"
						   : "InvalidTarget",
					"instance is not valid for the group",
					"req-invalid", 0);
	return 0;
}

static void do_register(struct memprov *m, struct m_group *g, const char *id,
			int port)
{
	struct m_member *mm = find_member(g, id, port);

	if (mm && mm->health != PROV_HEALTH_DRAINING)
		return;
	if (!mm)
		mm = add_member(g, id, port);
	mm->health = m->healthy_after ? PROV_HEALTH_INITIAL
				      : PROV_HEALTH_HEALTHY;
	mm->reads = 0;
	mm->sticky = false;
}

static void do_deregister(struct memprov *m, struct m_group *g, const char *id,
			  int port)
{
	for (size_t i = 0; i < g->n_members; i++) {
		struct m_member *mm = &g->members[i];

		if (strcmp(mm->id, id) || (!g->classic && mm->port != port))
			continue;
		if (g->classic || g->delay_s == 0 || m->drain_reads == 0) {
			remove_member_at(g, i);
		} else {
			mm->health = PROV_HEALTH_DRAINING;
			mm->reads = 0;
			mm->sticky = false;
		}
		return;
	}
}

static int group_op(struct prov *p, const char *op, const char *ref, bool reg,
		    const char *const *ids,
		    const struct prov_target_ref *targets, size_t n,
		    struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	struct m_group *g;
	bool applied;
	int r;

	pthread_mutex_lock(&m->lock);
	g = find_group(m, ref);
	buf_addf(&line, "%s %s ", op, g ? g->name : ref);
	for (size_t i = 0; i < n; i++) {
		if (ids)
			buf_addf(&line, "%s%s", i ? "," : "", ids[i]);
		else
			buf_addf(&line, "%s%s:%d", i ? "," : "", targets[i].id,
				 targets[i].port ? targets[i].port
						 : (g ? g->port : 0));
	}
	pthread_mutex_unlock(&m->lock);
	r = begin(m, op, line.buf, true, &applied, err);
	if (r < 0 && !applied)
		goto out;
	g = find_group(m, ref); /* the hook may have changed the world */
	if (!g) {
		r = util_err_set_aws(err, 400,
				     ids ? "LoadBalancerNotFound"
					 : "TargetGroupNotFound",
				     "no such group", "req-nf", 0);
		goto out;
	}
	if (reg) {
		for (size_t i = 0; i < n; i++) {
			int rr = register_check(m, g,
						ids ? ids[i] : targets[i].id,
						err);
			if (rr < 0) {
				r = rr;
				goto out;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = ids ? ids[i] : targets[i].id;
		int port = ids ? 0
			       : (targets[i].port ? targets[i].port : g->port);

		if (reg)
			do_register(m, g, id, port);
		else
			do_deregister(m, g, id, port);
	}
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int op_classic_register(struct prov *p, const char *lb,
			       const char *const *ids, size_t n,
			       struct util_err *err)
{
	return group_op(p, "classic_register", lb, true, ids, NULL, n, err);
}

static int op_classic_deregister(struct prov *p, const char *lb,
				 const char *const *ids, size_t n,
				 struct util_err *err)
{
	return group_op(p, "classic_deregister", lb, false, ids, NULL, n, err);
}

static int op_classic_enable_zones(struct prov *p, const char *lb,
				   const char *const *zones, size_t n,
				   struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	struct m_group *g;
	bool applied;
	int r;

	buf_addf(&line, "classic_enable_zones %s ", lb);
	ids_line(&line, zones, n);
	r = begin(m, "classic_enable_zones", line.buf, true, &applied, err);
	if (r < 0 && !applied)
		goto out;
	g = find_group(m, lb);
	if (!g || !g->classic) {
		r = util_err_set_aws(err, 400, "LoadBalancerNotFound",
				     "no such load balancer", "req-nf", 0);
		goto out;
	}
	if (!vpc_is_default(m, g->vpc)) {
		/* AWS: "For load balancers in a non-default VPC, use
		 * AttachLoadBalancerToSubnets." */
		r = util_err_set_aws(err, 409, "InvalidConfigurationRequest",
				     "not in the default VPC", "req-vpc", 0);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		bool on = false;

		for (size_t k = 0; k < g->n_azs && !on; k++)
			on = !strcmp(g->azs[k], zones[i]);
		if (on)
			continue;
		GROW1(g->azs, g->n_azs);
		g->azs[g->n_azs++] = util_xstrdup(zones[i]);
	}
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int op_tg_register(struct prov *p, const char *arn,
			  const struct prov_target_ref *t, size_t n,
			  struct util_err *err)
{
	return group_op(p, "tg_register", arn, true, NULL, t, n, err);
}

static int op_tg_deregister(struct prov *p, const char *arn,
			    const struct prov_target_ref *t, size_t n,
			    struct util_err *err)
{
	return group_op(p, "tg_deregister", arn, false, NULL, t, n, err);
}

static int op_associate(struct prov *p, const struct prov_associate *req,
			char **ret_assoc, struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	struct m_address *a;
	const char *eni = req->eni_id, *ip = req->private_ip;
	bool applied;
	int r;

	buf_addf(&line, "associate %s", req->allocation_id);
	if (req->instance_id)
		buf_addf(&line, " instance=%s", req->instance_id);
	if (req->eni_id)
		buf_addf(&line, " eni=%s", req->eni_id);
	if (req->private_ip)
		buf_addf(&line, " ip=%s", req->private_ip);
	buf_addf(&line, " reassoc=%d", req->allow_reassociation);
	r = begin(m, "associate", line.buf, true, &applied, err);
	if (r < 0 && !applied)
		goto out;
	a = find_addr(m, req->allocation_id);
	if (!a) {
		r = util_err_set_aws(err, 400, "InvalidAllocationID.NotFound",
				     "no such address", "req-nf", 0);
		goto out;
	}
	if (req->instance_id) {
		struct m_instance *in = find_inst(m, req->instance_id);

		if (!in || in->state != PROV_INSTANCE_RUNNING) {
			r = util_err_set_aws(err, 400, "IncorrectInstanceState",
					     "instance not running", "req-st",
					     0);
			goto out;
		}
		eni = in->eni;
		if (!ip)
			ip = in->private_ip;
	}
	if (a->assoc && !req->allow_reassociation &&
	    !(util_streq(a->eni, eni) && util_streq(a->private_ip, ip))) {
		r = util_err_set_aws(err, 400, "Resource.AlreadyAssociated",
				     "already associated", "req-aa", 0);
		goto out;
	}
	/* The private address can hold one public address. */
	for (size_t i = 0; i < m->n_addrs; i++)
		if (&m->addrs[i] != a && util_streq(m->addrs[i].eni, eni) &&
		    util_streq(m->addrs[i].private_ip, ip))
			unbind(&m->addrs[i]);
	bind_locked(m, a, req->instance_id, eni, ip);
	if (ret_assoc && r == 0)
		*ret_assoc = util_xstrdup(a->assoc);
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int op_disassociate(struct prov *p, const char *assoc,
			   struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	struct m_address *a = NULL;
	bool applied;
	int r;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_addrs; i++)
		if (util_streq(m->addrs[i].assoc, assoc))
			a = &m->addrs[i];
	buf_addf(&line, "disassociate %s", a ? a->alloc : assoc);
	pthread_mutex_unlock(&m->lock);
	r = begin(m, "disassociate", line.buf, true, &applied, err);
	if (r < 0 && !applied)
		goto out;
	for (size_t i = 0; i < m->n_addrs; i++)
		if (util_streq(m->addrs[i].assoc, assoc))
			unbind(&m->addrs[i]);
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

static int op_allocate(struct prov *p, const struct prov_tag *tags,
		       size_t n_tags, struct prov_address *ret,
		       struct util_err *err)
{
	struct memprov *m = M(p);
	struct buf line = BUF_INIT;
	struct m_address *a;
	bool applied;
	int r;
	const char *name = prov_tag_get(tags, n_tags, "Name");

	buf_addstr(&line, "allocate");
	for (size_t i = 0; i < n_tags; i++)
		buf_addf(&line, " %s=%s", tags[i].key, tags[i].value);
	r = begin(m, "allocate", line.buf, true, &applied, err);
	if (r < 0 && !applied)
		goto out;
	GROW1(m->addrs, m->n_addrs);
	a = &m->addrs[m->n_addrs++];
	memset(a, 0, sizeof(*a));
	m->seq++;
	a->alloc = util_xasprintf("eipalloc-m%016u", m->seq);
	a->public_ip = util_xasprintf("198.51.100.%u", 100 + m->seq % 150);
	a->domain = util_xstrdup("vpc");
	a->name = dup0(name);
	if (r == 0)
		fill_address(a, ret);
out:
	pthread_mutex_unlock(&m->lock);
	buf_release(&line);
	return r;
}

/* --- leases ------------------------------------------------------------ */

void memprov_lease_table(struct memprov *m, const char *table, bool bad_key)
{
	pthread_mutex_lock(&m->lock);
	free(m->lease_table);
	m->lease_table = dup0(table);
	m->lease_bad_key = bad_key;
	for (size_t i = 0; i < m->n_leases; i++)
		prov_lease_release(&m->leases[i]);
	free(m->leases);
	m->leases = NULL;
	m->n_leases = 0;
	pthread_mutex_unlock(&m->lock);
}

static struct prov_lease *find_lease(struct memprov *m, const char *name)
{
	for (size_t i = 0; i < m->n_leases; i++)
		if (!strcmp(m->leases[i].name, name))
			return &m->leases[i];
	return NULL;
}

static void lease_copy(const struct prov_lease *src, struct prov_lease *dst)
{
	dst->name = dup0(src->name);
	dst->kind = src->kind;
	dst->holder = dup0(src->holder);
	dst->rvn = dup0(src->rvn);
	dst->duration_ms = src->duration_ms;
	dst->heartbeat_unix_ms = src->heartbeat_unix_ms;
}

/* Begin a lease op on table: the lock is held on return. */
static int lease_begin(struct memprov *m, const char *op, const char *table,
		       const char *rest, bool *applied, struct util_err *err)
{
	struct buf line = BUF_INIT;
	int r;

	buf_addf(&line, "%s %s %s", op, table, rest ? rest : "");
	r = begin(m, op, line.buf, false, applied, err);
	buf_release(&line);
	if (r < 0 && !*applied)
		return r;
	if (!m->lease_table || strcmp(m->lease_table, table))
		return util_err_set(err, UTIL_ENOTFOUND, "no table %s", table);
	return r;
}

static int op_lease_table_check(struct prov *p, const char *table,
				struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	int r = lease_begin(m, "lease_table_check", table, NULL, &applied, err);

	if (!r && m->lease_bad_key)
		r = util_err_set(err, UTIL_EINVAL, "key is not name");
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_lease_list(struct prov *p, const char *table,
			 struct prov_lease_list *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	int r = lease_begin(m, "lease_list", table, NULL, &applied, err);

	if (!r) {
		ret->v = util_xcalloc(m->n_leases + 1, sizeof(*ret->v));
		for (size_t i = 0; i < m->n_leases; i++)
			lease_copy(&m->leases[i], &ret->v[i]);
		ret->n = m->n_leases;
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_lease_get(struct prov *p, const char *table, const char *name,
			struct prov_lease *ret, struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	int r = lease_begin(m, "lease_get", table, name, &applied, err);
	struct prov_lease *l;

	if (!r) {
		l = find_lease(m, name);
		if (l)
			lease_copy(l, ret);
		else
			r = util_err_set(err, UTIL_ENOTFOUND, "no lease %s",
					 name);
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void lease_put(struct memprov *m, const struct prov_lease_write *w)
{
	struct prov_lease *l = find_lease(m, w->name);

	if (l) {
		prov_lease_release(l);
	} else {
		GROW1(m->leases, m->n_leases);
		l = &m->leases[m->n_leases++];
	}
	l->name = dup0(w->name);
	l->kind = w->kind;
	l->holder = dup0(w->holder);
	l->rvn = dup0(w->rvn);
	l->duration_ms = w->duration_ms;
	l->heartbeat_unix_ms = w->heartbeat_unix_ms;
}

static bool streq0(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The conditional write of acquire (renew: holder must be w->holder). */
static int lease_write(struct prov *p, const char *op, const char *table,
		       const struct prov_lease_write *w, const char *prev_rvn,
		       struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	struct buf rest = BUF_INIT;
	int r;
	struct prov_lease *l;
	bool ok;

	buf_addf(&rest, "%s %s %s", w->name, w->holder, w->rvn);
	r = lease_begin(m, op, table, rest.buf, &applied, err);
	buf_release(&rest);
	if (r < 0 && !applied)
		goto out;
	l = find_lease(m, w->name);
	if (!strcmp(op, "lease_renew"))
		ok = l && streq0(l->holder, w->holder) &&
		     streq0(l->rvn, prev_rvn);
	else if (!prev_rvn)
		ok = !l || !l->holder;
	else
		ok = l && streq0(l->rvn, prev_rvn);
	if (ok)
		lease_put(m, w);
	else if (!r)
		r = util_err_set(err, UTIL_ECONFLICT, "condition failed");
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static int op_lease_acquire(struct prov *p, const char *table,
			    const struct prov_lease_write *w,
			    const char *prev_rvn, struct util_err *err)
{
	return lease_write(p, "lease_acquire", table, w, prev_rvn, err);
}

static int op_lease_renew(struct prov *p, const char *table,
			  const struct prov_lease_write *w,
			  const char *prev_rvn, struct util_err *err)
{
	return lease_write(p, "lease_renew", table, w, prev_rvn, err);
}

static int op_lease_release(struct prov *p, const char *table, const char *name,
			    const char *holder, const char *rvn,
			    const char *new_rvn, struct util_err *err)
{
	struct memprov *m = M(p);
	bool applied;
	int r = lease_begin(m, "lease_release", table, name, &applied, err);
	struct prov_lease *l;

	if (r < 0 && !applied)
		goto out;
	l = find_lease(m, name);
	if (l && streq0(l->holder, holder) && streq0(l->rvn, rvn)) {
		free(l->holder);
		l->holder = NULL;
		free(l->rvn);
		l->rvn = dup0(new_rvn);
	} else if (!r) {
		r = util_err_set(err, UTIL_ECONFLICT, "condition failed");
	}
out:
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void op_free(struct prov *p)
{
	struct memprov *m = M(p);

	memprov_clear_faults(m);
	memprov_clear_calls(m);
	for (size_t i = 0; i < m->n_inst; i++)
		instance_free(&m->inst[i]);
	free(m->inst);
	for (size_t i = 0; i < m->n_enis; i++) {
		free(m->enis[i].id);
		free(m->enis[i].vpc);
		free(m->enis[i].private_ip);
	}
	free(m->enis);
	for (size_t i = 0; i < m->n_groups; i++)
		group_release(&m->groups[i]);
	free(m->groups);
	for (size_t i = 0; i < m->n_lbs; i++) {
		free(m->lbs[i].name);
		free(m->lbs[i].arn);
		util_strv_free(m->lbs[i].azs, m->lbs[i].n_azs);
	}
	free(m->lbs);
	util_strv_free(m->nondefault_vpcs, m->n_nondefault_vpcs);
	for (size_t i = 0; i < m->n_addrs; i++) {
		struct m_address *a = &m->addrs[i];

		free(a->alloc);
		free(a->public_ip);
		free(a->domain);
		free(a->name);
		unbind(a);
	}
	free(m->addrs);
	memprov_lease_table(m, NULL, false);
	pthread_mutex_destroy(&m->lock);
	free(m);
	free(p);
}

static const struct prov_ops memprov_ops = {
	.name = "memory",
	.free = op_free,
	.identity = op_identity,
	.instances_by_id = op_instances_by_id,
	.instances_by_selector = op_instances_by_selector,
	.enis_by_id = op_enis_by_id,
	.classic_lbs = op_classic_lbs,
	.target_groups = op_target_groups,
	.addresses = op_addresses,
	.lbs_v2 = op_lbs_v2,
	.vpcs = op_vpcs,
	.lease_table_check = op_lease_table_check,
	.lease_list = op_lease_list,
	.lease_get = op_lease_get,
	.lease_acquire = op_lease_acquire,
	.lease_renew = op_lease_renew,
	.lease_release = op_lease_release,
	.instance_status = op_instance_status,
	.target_health = op_target_health,
	.classic_health = op_classic_health,
	.classic_register = op_classic_register,
	.classic_deregister = op_classic_deregister,
	.classic_enable_zones = op_classic_enable_zones,
	.tg_register = op_tg_register,
	.tg_deregister = op_tg_deregister,
	.associate = op_associate,
	.disassociate = op_disassociate,
	.allocate = op_allocate,
};

struct prov *memprov_new(void)
{
	struct prov *p = util_xcalloc(1, sizeof(*p));
	struct memprov *m = util_xcalloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	m->healthy_after = 1;
	m->drain_reads = 1;
	p->ops = &memprov_ops;
	p->impl = m;
	return p;
}

struct memprov *memprov_of(struct prov *p)
{
	return p->impl;
}
