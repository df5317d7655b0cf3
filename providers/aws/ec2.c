#include "providers/aws/ops.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/banned.h"

/*
 * EC2 (API 2016-11-15).  Responses have no Result wrapper; lists are
 * <xxxSet><item>...</item></xxxSet>; paths below are relative to the
 * <ActionResponse> root.
 */

static const char *ec2_version(void)
{
	return awsp_service(AWSP_SVC_EC2)->api_version;
}

/* --- shared pieces of instance, ENI and address parsing --------------- */

/* Private IPs of the ENI being parsed, before the primary is put first. */
struct ipacc {
	char **ips;
	bool *primary;
	size_t n, alloc;
	bool cur_primary;
};

static void ipacc_reset(struct ipacc *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->ips[i]);
	free(a->ips);
	free(a->primary);
	memset(a, 0, sizeof(*a));
}

static void ipacc_add(struct ipacc *a, const char *ip, bool primary)
{
	if (a->n == a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 4;
		a->ips = util_xrealloc(a->ips, a->alloc * sizeof(*a->ips));
		a->primary = util_xrealloc(a->primary,
					   a->alloc * sizeof(*a->primary));
	}
	a->ips[a->n] = util_xstrdup(ip);
	a->primary[a->n] = primary;
	a->n++;
}

/* Move the accumulated IPs into e, the primary one first. */
static void ipacc_finish(struct ipacc *a, struct prov_eni *e,
			 const char *fallback_primary)
{
	size_t k = 0;

	if (!a->n && fallback_primary)
		ipacc_add(a, fallback_primary, true);
	e->private_ips = util_xcalloc(a->n ? a->n : 1, sizeof(char *));
	for (size_t i = 0; i < a->n; i++)
		if (a->primary[i])
			e->private_ips[k++] = a->ips[i];
	for (size_t i = 0; i < a->n; i++)
		if (!a->primary[i])
			e->private_ips[k++] = a->ips[i];
	e->n_private_ips = k;
	free(a->ips);
	free(a->primary);
	memset(a, 0, sizeof(*a));
}

/*
 * A field of a network interface item, rel being the path below the
 * item.  The same element names appear in DescribeInstances'
 * networkInterfaceSet and in DescribeNetworkInterfaces.
 */
static int eni_text(struct prov_eni *e, struct ipacc *ips, char **eni_pip,
		    const char *rel, const char *text, struct util_err *err)
{
	const char *ip;

	if (!strcmp(rel, "networkInterfaceId"))
		awsp_set_str(&e->id, text);
	else if (!strcmp(rel, "vpcId"))
		awsp_set_str(&e->vpc_id, text);
	else if (!strcmp(rel, "subnetId"))
		awsp_set_str(&e->subnet_id, text);
	else if (!strcmp(rel, "availabilityZone"))
		awsp_set_str(&e->az, text);
	else if (!strcmp(rel, "status"))
		awsp_set_str(&e->status, text);
	else if (!strcmp(rel, "privateIpAddress"))
		awsp_set_str(eni_pip, text);
	else if (!strcmp(rel, "attachment/instanceId"))
		awsp_set_str(&e->instance_id, text);
	else if (!strcmp(rel, "attachment/deviceIndex")) {
		long v;

		if (awsp_xml_int(rel, text, 0, 1000000, &v, err) < 0)
			return UTIL_EINVAL;
		e->device_index = (int)v;
	} else if ((ip = awsp_xml_under(rel, "privateIpAddressesSet/item"))) {
		if (!strcmp(ip, "primary")) {
			if (awsp_xml_bool(rel, text, &ips->cur_primary, err) <
			    0)
				return UTIL_EINVAL;
		} else if (!strcmp(ip, "privateIpAddress") && *text) {
			ipacc_add(ips, text, false);
			/* primary may come before or after the address. */
			ips->primary[ips->n - 1] = ips->cur_primary;
		}
	}
	return 0;
}

static void eni_ip_item_end(struct ipacc *ips)
{
	/* <primary> after <privateIpAddress> within the same item. */
	if (ips->n && ips->cur_primary)
		ips->primary[ips->n - 1] = true;
	ips->cur_primary = false;
}

static void eni_init(struct prov_eni *e)
{
	memset(e, 0, sizeof(*e));
	e->device_index = -1;
}

/* Tags of instances and addresses: <tagSet><item><key/><value/></item>. */
static void tag_start(struct prov_tag **tags, size_t *n, size_t *alloc)
{
	struct prov_tag *t;

	UTIL_GROW(*tags, *alloc, *n + 1);
	t = &(*tags)[(*n)++];
	t->key = NULL;
	t->value = util_xstrdup("");
}

/* A field of tag t, sub being the path below the item. */
static void tag_text(struct prov_tag *t, const char *sub, const char *text)
{
	if (!strcmp(sub, "key")) {
		free(t->key);
		t->key = util_xstrdup(text);
	} else if (!strcmp(sub, "value")) {
		free(t->value);
		t->value = util_xstrdup(text);
	}
}

/* Drop tags without a key: they cannot be matched. */
static void tags_drop_keyless(struct prov_tag *tags, size_t *n)
{
	for (size_t i = 0; i < *n;) {
		if (tags[i].key) {
			i++;
			continue;
		}
		free(tags[i].value);
		memmove(&tags[i], &tags[i + 1], (*n - i - 1) * sizeof(tags[0]));
		(*n)--;
	}
}

/* --- DescribeInstances --------------------------------------------------- */

#define P_INST "reservationSet/item/instancesSet/item"

struct inst_parse {
	struct prov_instance_list *out;
	size_t alloc;
	struct prov_instance *cur;
	size_t tags_alloc, enis_alloc;
	struct prov_eni *eni;
	char *eni_pip;
	struct ipacc ips;
	char *next;
	bool in_state;
};

static int inst_start(void *ctx, const char *path, struct util_err *err)
{
	struct inst_parse *p = ctx;
	const char *rel;

	(void)err;
	if (!strcmp(path, P_INST)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		memset(p->cur, 0, sizeof(*p->cur));
		p->tags_alloc = p->enis_alloc = 0;
		return 0;
	}
	if (!p->cur || !(rel = awsp_xml_under(path, P_INST)))
		return 0;
	if (!strcmp(rel, "tagSet/item")) {
		tag_start(&p->cur->tags, &p->cur->n_tags, &p->tags_alloc);
	} else if (!strcmp(rel, "networkInterfaceSet/item")) {
		UTIL_GROW(p->cur->enis, p->enis_alloc, p->cur->n_enis + 1);
		p->eni = &p->cur->enis[p->cur->n_enis++];
		eni_init(p->eni);
		ipacc_reset(&p->ips);
		free(p->eni_pip);
		p->eni_pip = NULL;
	}
	return 0;
}

static int inst_text(void *ctx, const char *path, const char *text, size_t len,
		     struct util_err *err)
{
	struct inst_parse *p = ctx;
	struct prov_instance *in = p->cur;
	const char *rel, *sub;

	(void)len;
	if (!strcmp(path, "nextToken")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!in || !(rel = awsp_xml_under(path, P_INST)))
		return 0;
	if (!strcmp(rel, "instanceId"))
		awsp_set_str(&in->id, text);
	else if (!strcmp(rel, "instanceState/name"))
		in->state = prov_instance_state_parse(text);
	else if (!strcmp(rel, "vpcId"))
		awsp_set_str(&in->vpc_id, text);
	else if (!strcmp(rel, "subnetId"))
		awsp_set_str(&in->subnet_id, text);
	else if (!strcmp(rel, "privateIpAddress"))
		awsp_set_str(&in->private_ip, text);
	else if (!strcmp(rel, "ipAddress"))
		awsp_set_str(&in->public_ip, text);
	else if (!strcmp(rel, "placement/availabilityZone"))
		awsp_set_str(&in->az, text);
	else if ((sub = awsp_xml_under(rel, "tagSet/item")) && in->n_tags)
		tag_text(&in->tags[in->n_tags - 1], sub, text);
	else if ((sub = awsp_xml_under(rel, "networkInterfaceSet/item")) &&
		 p->eni) {
		return eni_text(p->eni, &p->ips, &p->eni_pip, sub, text, err);
	}
	return 0;
}

static int cmp_eni(const void *a, const void *b)
{
	const struct prov_eni *x = a, *y = b;
	/* Detached (-1) last; otherwise by device index. */
	unsigned ix = (unsigned)x->device_index, iy = (unsigned)y->device_index;

	return ix < iy ? -1 : ix > iy;
}

static int inst_end(void *ctx, const char *path, struct util_err *err)
{
	struct inst_parse *p = ctx;
	const char *rel;

	if (!p->cur)
		return 0;
	if (!strcmp(path, P_INST)) {
		struct prov_instance *in = p->cur;

		if (!in->id)
			return util_err_set(err, UTIL_EINVAL,
					    "instance without instanceId in "
					    "DescribeInstances response");
		tags_drop_keyless(in->tags, &in->n_tags);
		for (size_t i = 0; i < in->n_enis; i++) {
			struct prov_eni *e = &in->enis[i];

			if (!e->instance_id)
				e->instance_id = util_xstrdup(in->id);
			if (!e->az && in->az)
				e->az = util_xstrdup(in->az);
		}
		if (in->n_enis > 1)
			qsort(in->enis, in->n_enis, sizeof(in->enis[0]),
			      cmp_eni);
		p->cur = NULL;
		p->eni = NULL;
		return 0;
	}
	rel = awsp_xml_under(path, P_INST);
	if (!rel)
		return 0;
	if (!strcmp(rel, "networkInterfaceSet/item/privateIpAddressesSet/item"))
		eni_ip_item_end(&p->ips);
	else if (!strcmp(rel, "networkInterfaceSet/item") && p->eni) {
		ipacc_finish(&p->ips, p->eni, p->eni_pip);
		free(p->eni_pip);
		p->eni_pip = NULL;
		p->eni = NULL;
	}
	return 0;
}

int awsp_ec2_parse_instances(const char *xml, size_t len,
			     struct prov_instance_list *out, char **ret_next,
			     struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = inst_start,
						   .text = inst_text,
						   .end = inst_end };
	struct inst_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeInstancesResponse", &h, &p,
			    &p.next, ret_next, err);
	ipacc_reset(&p.ips);
	free(p.eni_pip);
	/* On failure, leave out as it was before this page. */
	while (r < 0 && out->n > n0)
		prov_instance_release(&out->v[--out->n]);
	return r;
}

/* --- DescribeNetworkInterfaces ------------------------------------------ */

#define P_ENI "networkInterfaceSet/item"

struct eni_parse {
	struct prov_eni_list *out;
	size_t alloc;
	struct prov_eni *cur;
	char *pip;
	struct ipacc ips;
	char *next;
};

static int eni_start(void *ctx, const char *path, struct util_err *err)
{
	struct eni_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_ENI)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		eni_init(p->cur);
		ipacc_reset(&p->ips);
		free(p->pip);
		p->pip = NULL;
	}
	return 0;
}

static int eni_text_cb(void *ctx, const char *path, const char *text,
		       size_t len, struct util_err *err)
{
	struct eni_parse *p = ctx;
	const char *rel;

	(void)len;
	if (!strcmp(path, "nextToken")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!p->cur || !(rel = awsp_xml_under(path, P_ENI)))
		return 0;
	return eni_text(p->cur, &p->ips, &p->pip, rel, text, err);
}

static int eni_end(void *ctx, const char *path, struct util_err *err)
{
	struct eni_parse *p = ctx;

	if (!p->cur)
		return 0;
	if (!strcmp(path, P_ENI "/privateIpAddressesSet/item")) {
		eni_ip_item_end(&p->ips);
	} else if (!strcmp(path, P_ENI)) {
		ipacc_finish(&p->ips, p->cur, p->pip);
		free(p->pip);
		p->pip = NULL;
		if (!p->cur->id)
			return util_err_set(err, UTIL_EINVAL,
					    "network interface without "
					    "networkInterfaceId");
		p->cur = NULL;
	}
	return 0;
}

int awsp_ec2_parse_enis(const char *xml, size_t len, struct prov_eni_list *out,
			char **ret_next, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = eni_start,
						   .text = eni_text_cb,
						   .end = eni_end };
	struct eni_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeNetworkInterfacesResponse", &h,
			    &p, &p.next, ret_next, err);
	ipacc_reset(&p.ips);
	free(p.pip);
	while (r < 0 && out->n > n0)
		prov_eni_release(&out->v[--out->n]);
	return r;
}

/* --- DescribeVpcs --------------------------------------------------------- */

#define P_VPC "vpcSet/item"

struct vpc_parse {
	struct prov_vpc_list *out;
	size_t alloc;
	struct prov_vpc *cur;
	char *next;
};

static int vpc_start(void *ctx, const char *path, struct util_err *err)
{
	struct vpc_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_VPC)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		memset(p->cur, 0, sizeof(*p->cur));
	}
	return 0;
}

static int vpc_text(void *ctx, const char *path, const char *text, size_t len,
		    struct util_err *err)
{
	struct vpc_parse *p = ctx;
	const char *rel;

	(void)len;
	(void)err;
	if (!strcmp(path, "nextToken")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!p->cur || !(rel = awsp_xml_under(path, P_VPC)))
		return 0;
	if (!strcmp(rel, "vpcId"))
		awsp_set_str(&p->cur->id, text);
	else if (!strcmp(rel, "isDefault"))
		p->cur->is_default = !strcmp(text, "true");
	return 0;
}

static int vpc_end(void *ctx, const char *path, struct util_err *err)
{
	struct vpc_parse *p = ctx;

	if (p->cur && !strcmp(path, P_VPC)) {
		if (!p->cur->id)
			return util_err_set(err, UTIL_EINVAL,
					    "VPC without vpcId in DescribeVpcs "
					    "response");
		p->cur = NULL;
	}
	return 0;
}

int awsp_ec2_parse_vpcs(const char *xml, size_t len, struct prov_vpc_list *out,
			char **ret_next, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = vpc_start,
						   .text = vpc_text,
						   .end = vpc_end };
	struct vpc_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeVpcsResponse", &h, &p, &p.next,
			    ret_next, err);
	while (r < 0 && out->n > n0)
		free(out->v[--out->n].id);
	return r;
}

/* --- DescribeAddresses ---------------------------------------------------- */

#define P_ADDR "addressesSet/item"

struct addr_parse {
	struct prov_address_list *out;
	size_t alloc, tags_alloc;
	struct prov_address *cur;
};

static int addr_start(void *ctx, const char *path, struct util_err *err)
{
	struct addr_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_ADDR)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		memset(p->cur, 0, sizeof(*p->cur));
		p->tags_alloc = 0;
	} else if (p->cur && !strcmp(path, P_ADDR "/tagSet/item")) {
		tag_start(&p->cur->tags, &p->cur->n_tags, &p->tags_alloc);
	}
	return 0;
}

static int addr_text(void *ctx, const char *path, const char *text, size_t len,
		     struct util_err *err)
{
	struct addr_parse *p = ctx;
	struct prov_address *a = p->cur;
	const char *rel, *sub;

	(void)len;
	(void)err;
	if (!a || !(rel = awsp_xml_under(path, P_ADDR)))
		return 0;
	if (!strcmp(rel, "allocationId"))
		awsp_set_str(&a->allocation_id, text);
	else if (!strcmp(rel, "publicIp"))
		awsp_set_str(&a->public_ip, text);
	else if (!strcmp(rel, "domain"))
		awsp_set_str(&a->domain, text);
	else if (!strcmp(rel, "associationId"))
		awsp_set_str(&a->association_id, text);
	else if (!strcmp(rel, "instanceId"))
		awsp_set_str(&a->instance_id, text);
	else if (!strcmp(rel, "networkInterfaceId"))
		awsp_set_str(&a->eni_id, text);
	else if (!strcmp(rel, "privateIpAddress"))
		awsp_set_str(&a->private_ip, text);
	else if (!strcmp(rel, "networkInterfaceOwnerId"))
		awsp_set_str(&a->eni_owner_id, text);
	else if ((sub = awsp_xml_under(rel, "tagSet/item")) && a->n_tags)
		tag_text(&a->tags[a->n_tags - 1], sub, text);
	return 0;
}

static int addr_end(void *ctx, const char *path, struct util_err *err)
{
	struct addr_parse *p = ctx;
	struct prov_address *a = p->cur;

	if (!a || strcmp(path, P_ADDR))
		return 0;
	if (!a->public_ip && !a->allocation_id)
		return util_err_set(err, UTIL_EINVAL,
				    "address without publicIp or "
				    "allocationId in DescribeAddresses "
				    "response");
	tags_drop_keyless(a->tags, &a->n_tags);
	p->cur = NULL;
	return 0;
}

int awsp_ec2_parse_addresses(const char *xml, size_t len,
			     struct prov_address_list *out,
			     struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = addr_start,
						   .text = addr_text,
						   .end = addr_end };
	struct addr_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_xml_parse(xml, len, "DescribeAddressesResponse", &h, &p, err);
	while (r < 0 && out->n > n0)
		prov_address_release(&out->v[--out->n]);
	return r;
}

/* --- AllocateAddress / AssociateAddress / DisassociateAddress ------------ */

static int alloc_text(void *ctx, const char *path, const char *text, size_t len,
		      struct util_err *err)
{
	struct prov_address *a = ctx;

	(void)len;
	(void)err;
	if (!strcmp(path, "allocationId"))
		awsp_set_str(&a->allocation_id, text);
	else if (!strcmp(path, "publicIp"))
		awsp_set_str(&a->public_ip, text);
	else if (!strcmp(path, "domain"))
		awsp_set_str(&a->domain, text);
	return 0;
}

int awsp_ec2_parse_allocate(const char *xml, size_t len,
			    struct prov_address *out, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = alloc_text };
	struct prov_address a = { 0 };
	int r;

	r = awsp_xml_parse(xml, len, "AllocateAddressResponse", &h, &a, err);
	if (r == 0 && (!a.allocation_id || !a.public_ip))
		r = util_err_set(err, UTIL_EINVAL,
				 "AllocateAddress response without "
				 "allocationId or publicIp");
	if (r < 0) {
		prov_address_release(&a);
		return r;
	}
	free(out->allocation_id);
	free(out->public_ip);
	free(out->domain);
	out->allocation_id = a.allocation_id;
	out->public_ip = a.public_ip;
	out->domain = a.domain;
	return 0;
}

static int assoc_text(void *ctx, const char *path, const char *text, size_t len,
		      struct util_err *err)
{
	char **id = ctx;

	(void)len;
	(void)err;
	if (!strcmp(path, "associationId"))
		awsp_set_str(id, text);
	return 0;
}

int awsp_ec2_parse_associate(const char *xml, size_t len,
			     char **ret_association_id, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = assoc_text };
	char *id = NULL;
	int r;

	r = awsp_xml_parse(xml, len, "AssociateAddressResponse", &h, &id, err);
	if (r == 0 && !id)
		r = util_err_set(err, UTIL_EINVAL,
				 "AssociateAddress response without "
				 "associationId");
	if (r < 0) {
		free(id);
		return r;
	}
	*ret_association_id = id;
	return 0;
}

struct ret_parse {
	int seen; /* 0 none, 1 true, -1 false */
};

static int ret_text(void *ctx, const char *path, const char *text, size_t len,
		    struct util_err *err)
{
	struct ret_parse *p = ctx;
	bool v;

	(void)len;
	if (strcmp(path, "return"))
		return 0;
	if (awsp_xml_bool(path, text, &v, err) < 0)
		return UTIL_EINVAL;
	p->seen = v ? 1 : -1;
	return 0;
}

int awsp_ec2_parse_return(const char *xml, size_t len, const char *root,
			  struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = ret_text };
	struct ret_parse p = { 0 };
	int r;

	r = awsp_xml_parse(xml, len, root, &h, &p, err);
	if (r < 0)
		return r;
	if (p.seen < 0)
		return util_err_set(err, UTIL_EFAIL, "%s: AWS answered false",
				    root);
	return 0;
}

/* --- DescribeInstanceStatus ----------------------------------------------- */

#define P_STATUS "instanceStatusSet/item"

static void status_release(struct awsp_instance_status *s)
{
	free(s->instance_id);
	free(s->az);
	free(s->instance_status);
	free(s->system_status);
	free(s->reachability);
	memset(s, 0, sizeof(*s));
}

void awsp_instance_status_list_release(struct awsp_instance_status_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		status_release(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

struct status_parse {
	struct awsp_instance_status_list *out;
	size_t alloc;
	struct awsp_instance_status *cur;
	char *detail_name, *detail_status;
	char *next;
};

static int status_start(void *ctx, const char *path, struct util_err *err)
{
	struct status_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_STATUS)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		memset(p->cur, 0, sizeof(*p->cur));
	}
	return 0;
}

static int status_text(void *ctx, const char *path, const char *text,
		       size_t len, struct util_err *err)
{
	struct status_parse *p = ctx;
	struct awsp_instance_status *s = p->cur;
	const char *rel;

	(void)len;
	(void)err;
	if (!strcmp(path, "nextToken")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!s || !(rel = awsp_xml_under(path, P_STATUS)))
		return 0;
	if (!strcmp(rel, "instanceId"))
		awsp_set_str(&s->instance_id, text);
	else if (!strcmp(rel, "availabilityZone"))
		awsp_set_str(&s->az, text);
	else if (!strcmp(rel, "instanceState/name"))
		s->state = prov_instance_state_parse(text);
	else if (!strcmp(rel, "instanceStatus/status"))
		awsp_set_str(&s->instance_status, text);
	else if (!strcmp(rel, "systemStatus/status"))
		awsp_set_str(&s->system_status, text);
	else if (!strcmp(rel, "instanceStatus/details/item/name"))
		awsp_set_str(&p->detail_name, text);
	else if (!strcmp(rel, "instanceStatus/details/item/status"))
		awsp_set_str(&p->detail_status, text);
	return 0;
}

static int status_end(void *ctx, const char *path, struct util_err *err)
{
	struct status_parse *p = ctx;

	if (!p->cur)
		return 0;
	if (!strcmp(path, P_STATUS "/instanceStatus/details/item")) {
		if (p->detail_name && !strcmp(p->detail_name, "reachability"))
			awsp_set_str(&p->cur->reachability, p->detail_status);
		awsp_set_str(&p->detail_name, NULL);
		awsp_set_str(&p->detail_status, NULL);
	} else if (!strcmp(path, P_STATUS)) {
		if (!p->cur->instance_id)
			return util_err_set(err, UTIL_EINVAL,
					    "instance status without "
					    "instanceId");
		p->cur = NULL;
	}
	return 0;
}

int awsp_ec2_parse_instance_status(const char *xml, size_t len,
				   struct awsp_instance_status_list *out,
				   char **ret_next, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = status_start,
						   .text = status_text,
						   .end = status_end };
	struct status_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeInstanceStatusResponse", &h, &p,
			    &p.next, ret_next, err);
	free(p.detail_name);
	free(p.detail_status);
	while (r < 0 && out->n > n0)
		status_release(&out->v[--out->n]);
	return r;
}

/* --- requests ------------------------------------------------------------ */

void awsp_ec2_filter_escape(const char *s, struct buf *out)
{
	for (; *s; s++) {
		if (*s == '*' || *s == '?' || *s == '\\')
			buf_addch(out, '\\');
		buf_addch(out, *s);
	}
}

/* DescribeX with one filter whose values are a chunk of ids. */
struct by_filter {
	const char *filter;	 /* "instance-id", "network-interface-id" */
	const char *const *vals; /* this request's filter values */
	size_t n_vals;
	void *out; /* the list pages accumulate into */
	int (*parse)(const char *xml, size_t len, void *out, char **ret_next,
		     struct util_err *err);
};

static void by_filter_build(void *ctx, struct awsp_query *q)
{
	struct by_filter *f = ctx;

	awsp_query_add_ec2_filter(q, 1, f->filter, f->vals, f->n_vals);
	awsp_query_add_int(q, "MaxResults", AWSP_EC2_MAX_RESULTS);
}

static int by_filter_parse(void *ctx, const char *xml, size_t len,
			   char **ret_next, struct util_err *err)
{
	struct by_filter *f = ctx;

	return f->parse(xml, len, f->out, ret_next, err);
}

static int parse_instances_cb(const char *xml, size_t len, void *out,
			      char **ret_next, struct util_err *err)
{
	return awsp_ec2_parse_instances(xml, len, out, ret_next, err);
}

static int parse_enis_cb(const char *xml, size_t len, void *out,
			 char **ret_next, struct util_err *err)
{
	return awsp_ec2_parse_enis(xml, len, out, ret_next, err);
}

static int parse_vpcs_cb(const char *xml, size_t len, void *out,
			 char **ret_next, struct util_err *err)
{
	return awsp_ec2_parse_vpcs(xml, len, out, ret_next, err);
}

/*
 * The resources whose ids are vals, through `filter`: its answers simply
 * leave out the ids that do not exist.  AWSP_EC2_FILTER_VALUES values per
 * request, each paginated, pages appended to out.
 */
static int read_by_filter(struct awsp_client *c, const char *action,
			  const char *filter, const char *const *vals, size_t n,
			  void *out,
			  int (*parse)(const char *xml, size_t len, void *out,
				       char **ret_next, struct util_err *err),
			  struct util_err *err)
{
	int r = 0;

	for (size_t start = 0; start < n && r == 0;
	     start += AWSP_EC2_FILTER_VALUES) {
		struct by_filter f = {
			.filter = filter,
			.vals = vals + start,
			.n_vals = awsp_chunk_len(n, AWSP_EC2_FILTER_VALUES,
						 start / AWSP_EC2_FILTER_VALUES),
			.out = out,
			.parse = parse,
		};
		struct awsp_pager pg = { .svc = AWSP_SVC_EC2,
					 .action = action,
					 .token_param = "NextToken",
					 .build = by_filter_build,
					 .parse = by_filter_parse,
					 .ctx = &f };

		r = awsp_paginate(c, &pg, err);
	}
	return r;
}

/* One token of an id list: mark the id of ids it is, if any. */
static size_t mark_id(const char *tok, size_t len, const char *const *ids,
		      size_t n, bool *named)
{
	for (size_t i = 0; i < n; i++) {
		if (!named[i] && !strncmp(ids[i], tok, len) && !ids[i][len]) {
			named[i] = true;
			return 1;
		}
	}
	return 0;
}

size_t awsp_ec2_error_ids(const char *msg, const char *const *ids, size_t n,
			  bool *named)
{
	const char *p = msg ? strpbrk(msg, "'\"") : NULL;
	const char *close;
	size_t found = 0;

	if (!p)
		return 0;
	close = strchr(p + 1, *p);
	for (p++;;) {
		const char *sep = strstr(p, ", ");

		if (close && (!sep || sep > close)) {
			found += mark_id(p, (size_t)(close - p), ids, n, named);
			break;
		}
		/* Without its closing quote the list was cut short. */
		if (!sep)
			break;
		found += mark_id(p, (size_t)(sep - p), ids, n, named);
		p = sep + 2;
	}
	return found;
}

/* Keep the ids not named (in order); returns how many are left. */
static size_t drop_named(const char **ids, size_t n, const bool *named)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!named[i])
			ids[k++] = ids[i];
	return k;
}

static bool instance_id_error(const struct util_err *e)
{
	return !strcmp(e->aws_code, "InvalidInstanceID.NotFound") ||
	       !strcmp(e->aws_code, "InvalidInstanceID.Malformed");
}

struct ids_page {
	struct prov_instance_list *out;
	char *next;
};

static int ids_page_parse(void *ctx, const char *xml, size_t len,
			  struct util_err *err)
{
	struct ids_page *pg = ctx;

	return awsp_ec2_parse_instances(xml, len, pg->out, &pg->next, err);
}

/* Where a chunk of instance ids stands after a request. */
enum ids_state {
	IDS_ASK,    /* ids are left to ask by InstanceId.N */
	IDS_DONE,   /* out holds the answer */
	IDS_FILTER, /* read the ids left through the instance-id filter */
};

/*
 * One DescribeInstances by InstanceId.N of ids[0, *n) into out: an enum
 * ids_state, or a negative error.  When AWS names ids that do not exist
 * or are malformed, they leave ids (*n shrinks).
 */
static int ids_request(struct awsp_client *c, const char **ids, size_t *n,
		       struct prov_instance_list *out, struct util_err *err)
{
	struct ids_page pg = { .out = out };
	struct awsp_call_info info;
	struct util_err e = UTIL_ERR_INIT;
	struct awsp_query q;
	bool *named;
	size_t k;
	int r;

	awsp_query_init(&q, "DescribeInstances", ec2_version());
	awsp_query_add_ec2_list(&q, "InstanceId", ids, *n);
	r = awsp_call_parse(c, AWSP_SVC_EC2, &q, "DescribeInstances",
			    AWSP_CALL_KEEP_MESSAGE, ids_page_parse, &pg, &info,
			    &e);
	awsp_query_release(&q);
	if (r == 0 && !pg.next) {
		awsp_call_info_release(&info);
		return IDS_DONE;
	}
	prov_instance_list_release(out);
	if (r == 0) {
		/* Paginated after all: the filter's tokens can be followed. */
		free(pg.next);
		return IDS_FILTER;
	}
	if (!instance_id_error(&e)) {
		awsp_call_info_release(&info);
		util_err_copy(err, &e);
		return r;
	}
	named = util_xcalloc(*n, sizeof(*named));
	k = awsp_ec2_error_ids(info.aws_message, ids, *n, named);
	awsp_call_info_release(&info);
	util_log(UTIL_LOG_DEBUG, "aws_ids", "DescribeInstances",
		 "%s names %zu of %zu ids%s", e.aws_code, k, *n,
		 k ? "" : ": reading them through the instance-id filter");
	*n = drop_named(ids, *n, named);
	free(named);
	if (!k)
		return IDS_FILTER;
	return *n ? IDS_ASK : IDS_DONE;
}

/* Instance ids or ENI ids, in chunks read in parallel. */
struct chunked {
	struct awsp_client *c;
	const char **ids;
	size_t n_ids;
	size_t per_chunk;
	/* one result list per chunk, of the op's type */
	struct prov_instance_list *inst;
	struct prov_eni_list *enis;
};

/*
 * A chunk of instance ids: InstanceId.N without MaxResults (the API
 * refuses both at once; such answers are not paginated).  AWS fails the
 * whole request when an id does not exist or is malformed and names the
 * culprits ("The instance IDs 'i-1, i-2' do not exist", 'Invalid id:
 * "x"'): those are dropped and the rest asked again.  When the message
 * names none of the ids asked, when AWS still refuses after
 * AWSP_EC2_ID_ROUNDS requests, or when an answer has a nextToken, the ids
 * left are read through the instance-id filter, whose answers simply
 * leave out unknown ids: the result never depends on a message's wording.
 */
static int inst_chunk(void *ctx, size_t i, struct util_err *err)
{
	struct chunked *ch = ctx;
	size_t n = awsp_chunk_len(ch->n_ids, ch->per_chunk, i);
	const char **ids = util_xcalloc(n, sizeof(*ids));
	int r = IDS_ASK;

	memcpy(ids, ch->ids + i * ch->per_chunk, n * sizeof(*ids));
	for (unsigned round = 0; r == IDS_ASK && round < AWSP_EC2_ID_ROUNDS;
	     round++)
		r = ids_request(ch->c, ids, &n, &ch->inst[i], err);
	if (r == IDS_ASK || r == IDS_FILTER)
		r = read_by_filter(ch->c, "DescribeInstances", "instance-id",
				   ids, n, &ch->inst[i], parse_instances_cb,
				   err);
	free(ids);
	return r < 0 ? r : 0;
}

static int eni_chunk(void *ctx, size_t i, struct util_err *err)
{
	struct chunked *ch = ctx;

	return read_by_filter(ch->c, "DescribeNetworkInterfaces",
			      "network-interface-id",
			      ch->ids + i * ch->per_chunk,
			      awsp_chunk_len(ch->n_ids, ch->per_chunk, i),
			      &ch->enis[i], parse_enis_cb, err);
}

int awsp_ec2_instances_by_id(struct awsp_client *c, const char *const *ids,
			     size_t n, unsigned conc,
			     struct prov_instance_list *ret,
			     struct util_err *err)
{
	struct chunked ch = { .c = c, .per_chunk = AWSP_EC2_IDS };
	size_t n_chunks;
	int r;

	memset(ret, 0, sizeof(*ret));
	ch.ids = awsp_strv_unique(ids, n, &ch.n_ids);
	n_chunks = (ch.n_ids + ch.per_chunk - 1) / ch.per_chunk;
	ch.inst = util_xcalloc(n_chunks ? n_chunks : 1, sizeof(*ch.inst));
	r = awsp_ops_parallel(n_chunks, conc, inst_chunk, &ch, err);
	for (size_t i = 0; i < n_chunks; i++) {
		if (r == 0)
			AWSP_LIST_MOVE(ret, &ch.inst[i]);
		prov_instance_list_release(&ch.inst[i]);
	}
	free(ch.inst);
	free(ch.ids);
	return r;
}

int awsp_ec2_enis_by_id(struct awsp_client *c, const char *const *ids, size_t n,
			unsigned conc, struct prov_eni_list *ret,
			struct util_err *err)
{
	struct chunked ch = { .c = c, .per_chunk = AWSP_EC2_FILTER_VALUES };
	size_t n_chunks;
	int r;

	memset(ret, 0, sizeof(*ret));
	ch.ids = awsp_strv_unique(ids, n, &ch.n_ids);
	n_chunks = (ch.n_ids + ch.per_chunk - 1) / ch.per_chunk;
	ch.enis = util_xcalloc(n_chunks ? n_chunks : 1, sizeof(*ch.enis));
	r = awsp_ops_parallel(n_chunks, conc, eni_chunk, &ch, err);
	for (size_t i = 0; i < n_chunks; i++) {
		if (r == 0)
			AWSP_LIST_MOVE(ret, &ch.enis[i]);
		prov_eni_list_release(&ch.enis[i]);
	}
	free(ch.enis);
	free(ch.ids);
	return r;
}

int awsp_ec2_vpcs(struct awsp_client *c, const char *const *ids, size_t n,
		  struct prov_vpc_list *ret, struct util_err *err)
{
	size_t n_ids;
	const char **uniq = awsp_strv_unique(ids, n, &n_ids);
	int r;

	/*
	 * The vpc-id filter, not VpcId.N: AWS fails a whole VpcId.N request
	 * for one unknown id, while the filter leaves it out.
	 */
	memset(ret, 0, sizeof(*ret));
	r = read_by_filter(c, "DescribeVpcs", "vpc-id", uniq, n_ids, ret,
			   parse_vpcs_cb, err);
	if (r < 0)
		prov_vpc_list_release(ret);
	free(uniq);
	return r;
}

struct selector_q {
	const struct prov_selector *sel;
	struct prov_instance_list *out;
};

static void selector_build(void *ctx, struct awsp_query *q)
{
	struct selector_q *s = ctx;
	size_t idx = 1;

	for (size_t i = 0; i < s->sel->n_tags; i++) {
		const struct prov_tag *t = &s->sel->tags[i];
		struct buf name = BUF_INIT, val = BUF_INIT;
		const char *v;

		buf_addf(&name, "tag:%s", t->key);
		awsp_ec2_filter_escape(t->value ? t->value : "", &val);
		v = val.buf;
		awsp_query_add_ec2_filter(q, idx++, name.buf, &v, 1);
		buf_release(&name);
		buf_release(&val);
	}
	if (s->sel->n_states) {
		const char **names = util_xcalloc(s->sel->n_states,
						  sizeof(*names));

		for (size_t i = 0; i < s->sel->n_states; i++)
			names[i] = prov_instance_state_name(s->sel->states[i]);
		awsp_query_add_ec2_filter(q, idx++, "instance-state-name",
					  names, s->sel->n_states);
		free(names);
	}
	awsp_query_add_int(q, "MaxResults", AWSP_EC2_MAX_RESULTS);
}

static int selector_parse(void *ctx, const char *xml, size_t len,
			  char **ret_next, struct util_err *err)
{
	struct selector_q *s = ctx;

	return awsp_ec2_parse_instances(xml, len, s->out, ret_next, err);
}

int awsp_ec2_instances_by_selector(struct awsp_client *c,
				   const struct prov_selector *sel,
				   struct prov_instance_list *ret,
				   struct util_err *err)
{
	struct selector_q s = { .sel = sel, .out = ret };
	struct awsp_pager pg = { .svc = AWSP_SVC_EC2,
				 .action = "DescribeInstances",
				 .token_param = "NextToken",
				 .build = selector_build,
				 .parse = selector_parse,
				 .ctx = &s };
	int r;

	memset(ret, 0, sizeof(*ret));
	r = awsp_paginate(c, &pg, err);
	if (r < 0)
		prov_instance_list_release(ret);
	return r;
}

/* DescribeInstanceStatus: ids chunked (no MaxResults with ids), or all. */
struct status_q {
	struct awsp_client *c;
	const char **ids;
	size_t n_ids;
	bool include_all;
	struct awsp_instance_status_list *lists; /* one per chunk */
};

/* One chunk's request: the ids still asked for (none = every instance). */
struct status_page {
	const struct status_q *s;
	const char **ids;
	size_t n_ids;
	struct awsp_instance_status_list *out;
};

static void status_build(void *ctx, struct awsp_query *q)
{
	struct status_page *pg = ctx;

	if (pg->n_ids)
		awsp_query_add_ec2_list(q, "InstanceId", pg->ids, pg->n_ids);
	else
		awsp_query_add_int(q, "MaxResults", AWSP_EC2_MAX_RESULTS);
	awsp_query_add_bool(q, "IncludeAllInstances", pg->s->include_all);
}

static int status_page_parse(void *ctx, const char *xml, size_t len,
			     char **ret_next, struct util_err *err)
{
	struct status_page *pg = ctx;

	return awsp_ec2_parse_instance_status(xml, len, pg->out, ret_next, err);
}

static int status_chunk(void *ctx, size_t i, struct util_err *err)
{
	struct status_q *s = ctx;
	size_t start = i * AWSP_EC2_STATUS_IDS;
	size_t n = awsp_chunk_len(s->n_ids, AWSP_EC2_STATUS_IDS, i);
	struct status_page page = { .s = s, .out = &s->lists[i] };
	struct awsp_pager pg = { .svc = AWSP_SVC_EC2,
				 .action = "DescribeInstanceStatus",
				 .token_param = "NextToken",
				 .build = status_build,
				 .parse = status_page_parse,
				 .ctx = &page };
	bool *missing = NULL;
	int r;

	if (s->n_ids) {
		page.ids = util_xcalloc(n, sizeof(*page.ids));
		memcpy(page.ids, s->ids + start, n * sizeof(*page.ids));
		page.n_ids = n;
		missing = util_xcalloc(n, sizeof(*missing));
	}
	/*
	 * With ids, AWS fails the whole request when one does not exist
	 * (and documents no instance-id filter for this call): drop the ids
	 * the error names and ask again.  Each round removes at least one.
	 */
	for (;;) {
		struct util_err e = UTIL_ERR_INIT;

		r = awsp_paginate(s->c, &pg, &e);
		if (r == 0)
			break;
		awsp_instance_status_list_release(page.out);
		if (!page.n_ids ||
		    strcmp(e.aws_code, "InvalidInstanceID.NotFound") ||
		    !awsp_ec2_error_ids(e.msg, page.ids, page.n_ids, missing)) {
			util_err_copy(err, &e);
			break;
		}
		page.n_ids = drop_named(page.ids, page.n_ids, missing);
		memset(missing, 0, n * sizeof(*missing));
		if (!page.n_ids) {
			r = 0;
			break;
		}
	}
	free(page.ids);
	free(missing);
	return r;
}

int awsp_ec2_instance_status(struct awsp_client *c, const char *const *ids,
			     size_t n, bool include_all, unsigned conc,
			     struct awsp_instance_status_list *ret,
			     struct util_err *err)
{
	struct status_q s = { .c = c, .include_all = include_all };
	size_t n_chunks;
	int r;

	memset(ret, 0, sizeof(*ret));
	s.ids = awsp_strv_unique(ids, n, &s.n_ids);
	n_chunks = s.n_ids ? (s.n_ids + AWSP_EC2_STATUS_IDS - 1) /
				     AWSP_EC2_STATUS_IDS
			   : 1;
	s.lists = util_xcalloc(n_chunks, sizeof(*s.lists));
	r = awsp_ops_parallel(n_chunks, conc, status_chunk, &s, err);
	for (size_t i = 0; i < n_chunks; i++) {
		if (r == 0)
			AWSP_LIST_MOVE(ret, &s.lists[i]);
		awsp_instance_status_list_release(&s.lists[i]);
	}
	free(s.lists);
	free(s.ids);
	return r;
}

/* --- addresses ------------------------------------------------------------ */

struct addr_q {
	struct awsp_client *c;
	/* one task per filter chunk: (filter name, values) */
	struct addr_task {
		const char *filter; /* NULL = no filter */
		const char **vals;
		size_t n_vals;
		struct prov_address_list out;
	} * tasks;
	size_t n_tasks;
};

static int addr_parse_cb(void *ctx, const char *xml, size_t len,
			 struct util_err *err)
{
	return awsp_ec2_parse_addresses(xml, len, ctx, err);
}

static int addr_task_run(void *ctx, size_t i, struct util_err *err)
{
	struct addr_q *aq = ctx;
	struct addr_task *t = &aq->tasks[i];
	struct awsp_query q;
	int r;

	awsp_query_init(&q, "DescribeAddresses", ec2_version());
	if (t->filter)
		awsp_query_add_ec2_filter(&q, 1, t->filter, t->vals, t->n_vals);
	r = awsp_call_parse(aq->c, AWSP_SVC_EC2, &q, "DescribeAddresses", 0,
			    addr_parse_cb, &t->out, NULL, err);
	awsp_query_release(&q);
	return r;
}

static void addr_add_tasks(struct addr_q *aq, const char *filter,
			   const char *const *vals, size_t n, bool escape,
			   struct buf *escaped_store, char ***store,
			   size_t *n_store)
{
	const char **uniq;
	size_t nu;

	if (!n)
		return;
	uniq = awsp_strv_unique(vals, n, &nu);
	for (size_t start = 0; start < nu; start += AWSP_EC2_FILTER_VALUES) {
		size_t k = nu - start < AWSP_EC2_FILTER_VALUES
				   ? nu - start
				   : AWSP_EC2_FILTER_VALUES;
		struct addr_task *t;

		aq->tasks = util_xrealloc(aq->tasks, (aq->n_tasks +
						      1) * sizeof(*aq->tasks));
		t = &aq->tasks[aq->n_tasks++];
		memset(t, 0, sizeof(*t));
		t->filter = filter;
		t->vals = util_xcalloc(k, sizeof(*t->vals));
		t->n_vals = k;
		for (size_t j = 0; j < k; j++) {
			if (!escape) {
				t->vals[j] = uniq[start + j];
				continue;
			}
			/* Values must outlive the tasks: keep copies. */
			buf_reset(escaped_store);
			awsp_ec2_filter_escape(uniq[start + j], escaped_store);
			*store = util_xrealloc(*store, (*n_store + 1) *
							       sizeof(**store));
			(*store)[*n_store] = util_xstrdup(escaped_store->buf);
			t->vals[j] = (*store)[(*n_store)++];
		}
	}
	free(uniq);
}

static bool addr_same(const struct prov_address *a,
		      const struct prov_address *b)
{
	if (a->allocation_id || b->allocation_id)
		return util_streq(a->allocation_id, b->allocation_id);
	return util_streq(a->public_ip, b->public_ip);
}

int awsp_ec2_addresses(struct awsp_client *c,
		       const struct prov_address_query *q,
		       struct prov_address_list *ret, struct util_err *err)
{
	struct addr_q aq = { .c = c };
	struct buf esc = BUF_INIT;
	char **store = NULL;
	size_t n_store = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	/*
	 * Filters in one request are ANDed, so each kind of key is its own
	 * request (chunked), and the answers are merged.  Filtering by the
	 * keys asked for means unknown ones are simply absent (AllocationId.N
	 * would fail the whole request on one unknown id).
	 */
	addr_add_tasks(&aq, "allocation-id", q->allocation_ids,
		       q->n_allocation_ids, false, &esc, &store, &n_store);
	addr_add_tasks(&aq, "public-ip", q->public_ips, q->n_public_ips, false,
		       &esc, &store, &n_store);
	addr_add_tasks(&aq, "tag:Name", q->names, q->n_names, true, &esc,
		       &store, &n_store);
	if (!q->n_allocation_ids && !q->n_public_ips && !q->n_names) {
		aq.tasks = util_xcalloc(1, sizeof(*aq.tasks));
		aq.n_tasks = 1;
	}
	r = awsp_ops_parallel(aq.n_tasks, 4, addr_task_run, &aq, err);
	for (size_t i = 0; i < aq.n_tasks; i++) {
		struct prov_address_list *l = &aq.tasks[i].out;

		for (size_t k = 0; r == 0 && k < l->n; k++) {
			bool dup = false;

			for (size_t j = 0; j < ret->n && !dup; j++)
				dup = addr_same(&ret->v[j], &l->v[k]);
			if (dup)
				continue;
			ret->v = util_xrealloc(ret->v, (ret->n +
							1) * sizeof(ret->v[0]));
			ret->v[ret->n++] = l->v[k];
			memset(&l->v[k], 0, sizeof(l->v[k]));
		}
		prov_address_list_release(l);
		free(aq.tasks[i].vals);
	}
	free(aq.tasks);
	for (size_t i = 0; i < n_store; i++)
		free(store[i]);
	free(store);
	buf_release(&esc);
	if (r < 0)
		prov_address_list_release(ret);
	return r;
}

static int allocate_parse_cb(void *ctx, const char *xml, size_t len,
			     struct util_err *err)
{
	return awsp_ec2_parse_allocate(xml, len, ctx, err);
}

int awsp_ec2_allocate(struct awsp_client *c, const struct prov_tag *tags,
		      size_t n_tags, struct prov_address *ret,
		      struct util_err *err)
{
	struct awsp_query q;
	int r;

	memset(ret, 0, sizeof(*ret));
	awsp_query_init(&q, "AllocateAddress", ec2_version());
	awsp_query_add(&q, "Domain", "vpc");
	if (n_tags) {
		awsp_query_add(&q, "TagSpecification.1.ResourceType",
			       "elastic-ip");
		for (size_t i = 0; i < n_tags; i++) {
			awsp_query_addf(&q, tags[i].key,
					"TagSpecification.1.Tag.%zu.Key",
					i + 1);
			awsp_query_addf(&q, tags[i].value ? tags[i].value : "",
					"TagSpecification.1.Tag.%zu.Value",
					i + 1);
		}
	}
	/* Not idempotent: a lost answer may have allocated an address. */
	r = awsp_call_parse(c, AWSP_SVC_EC2, &q, "AllocateAddress",
			    AWSP_CALL_MUTATING, allocate_parse_cb, ret, NULL,
			    err);
	awsp_query_release(&q);
	if (r < 0) {
		prov_address_release(ret);
		return r;
	}
	if (n_tags) {
		ret->tags = util_xcalloc(n_tags, sizeof(*ret->tags));
		for (size_t i = 0; i < n_tags; i++) {
			ret->tags[i].key = util_xstrdup(tags[i].key);
			ret->tags[i].value = util_xstrdup(
				tags[i].value ? tags[i].value : "");
		}
		ret->n_tags = n_tags;
	}
	return 0;
}

static int associate_parse_cb(void *ctx, const char *xml, size_t len,
			      struct util_err *err)
{
	return awsp_ec2_parse_associate(xml, len, ctx, err);
}

int awsp_ec2_associate(struct awsp_client *c, const struct prov_associate *req,
		       char **ret_association_id, struct util_err *err)
{
	struct awsp_query q;
	char *assoc = NULL;
	unsigned flags = AWSP_CALL_MUTATING;
	int r;

	if (!req->allocation_id || !!req->instance_id == !!req->eni_id)
		return util_err_set(err, UTIL_EINVAL,
				    "associate: an allocation id and exactly "
				    "one of instance or network interface are "
				    "required");
	if (req->private_ip && !req->eni_id)
		return util_err_set(err, UTIL_EINVAL,
				    "associate: a private IP needs a network "
				    "interface");
	awsp_query_init(&q, "AssociateAddress", ec2_version());
	awsp_query_add(&q, "AllocationId", req->allocation_id);
	if (req->instance_id)
		awsp_query_add(&q, "InstanceId", req->instance_id);
	else
		awsp_query_add(&q, "NetworkInterfaceId", req->eni_id);
	if (req->private_ip)
		awsp_query_add(&q, "PrivateIpAddress", req->private_ip);
	awsp_query_add_bool(&q, "AllowReassociation", req->allow_reassociation);
	/*
	 * Re-associating the same pair is a no-op, so a lost answer can be
	 * retried -- unless reassociation is refused, when the retry of an
	 * applied request would fail with Resource.AlreadyAssociated.
	 */
	if (req->allow_reassociation)
		flags |= AWSP_CALL_IDEMPOTENT;
	r = awsp_call_parse(c, AWSP_SVC_EC2, &q, "AssociateAddress", flags,
			    associate_parse_cb, &assoc, NULL, err);
	awsp_query_release(&q);
	if (r < 0)
		return r;
	if (ret_association_id)
		*ret_association_id = assoc;
	else
		free(assoc);
	return 0;
}

static int disassociate_parse_cb(void *ctx, const char *xml, size_t len,
				 struct util_err *err)
{
	(void)ctx;
	return awsp_ec2_parse_return(xml, len, "DisassociateAddressResponse",
				     err);
}

int awsp_ec2_disassociate(struct awsp_client *c, const char *association_id,
			  struct util_err *err)
{
	struct awsp_query q;
	struct awsp_call_info info;
	struct util_err e = UTIL_ERR_INIT;
	int r;

	awsp_query_init(&q, "DisassociateAddress", ec2_version());
	awsp_query_add(&q, "AssociationId", association_id);
	r = awsp_call_parse(c, AWSP_SVC_EC2, &q, "DisassociateAddress",
			    AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
			    disassociate_parse_cb, NULL, &info, &e);
	awsp_query_release(&q);
	/*
	 * The retry of a disassociation whose answer was lost finds the
	 * association gone: that is the success we were waiting for.
	 */
	if (r < 0 && info.lost_before &&
	    !strcmp(e.aws_code, "InvalidAssociationID.NotFound"))
		return 0;
	if (r < 0)
		util_err_copy(err, &e);
	return r;
}
