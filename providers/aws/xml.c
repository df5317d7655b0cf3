#include "providers/aws/xml.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

struct xstate {
	XML_Parser parser;
	const struct awsp_xml_handler *h;
	void *ctx;
	struct util_err *err;
	const char *root;
	int rc;	      /* first failure, 0 while all is well */
	size_t depth; /* 0 = outside the root, 1 = in the root */
	/* '/'-joined local names below the root; ends[d] = its length at d */
	struct buf path;
	size_t ends[AWSP_XML_MAX_DEPTH + 1];
	/* Character data of the innermost open element. */
	struct buf text;
	bool leaf; /* the innermost open element has no children yet */
};

static const char *local_name(const char *name)
{
	const char *colon = strrchr(name, ':');

	return colon ? colon + 1 : name;
}

static void fail(struct xstate *x, int rc)
{
	if (!x->rc)
		x->rc = rc;
	XML_StopParser(x->parser, XML_FALSE);
}

static void XMLCALL on_start(void *data, const XML_Char *name,
			     const XML_Char **attrs)
{
	struct xstate *x = data;
	const char *lname = local_name(name);

	(void)attrs;
	if (x->rc)
		return;
	if (x->depth >= AWSP_XML_MAX_DEPTH) {
		fail(x, util_err_set(x->err, UTIL_EINVAL,
				     "XML response nested too deeply"));
		return;
	}
	if (x->depth == 0) {
		if (x->root && strcmp(lname, x->root)) {
			fail(x, util_err_set(x->err, UTIL_EINVAL,
					     "unexpected XML response <%s>, "
					     "expected <%s>",
					     lname, x->root));
			return;
		}
		x->depth = 1;
		x->ends[1] = 0;
		buf_reset(&x->text);
		x->leaf = true;
		if (x->h->root) {
			int r = x->h->root(x->ctx, lname, x->err);

			if (r < 0)
				fail(x, r);
		}
		return;
	}
	if (x->path.len)
		buf_addch(&x->path, '/');
	buf_addstr(&x->path, lname);
	x->depth++;
	x->ends[x->depth] = x->path.len;
	buf_reset(&x->text);
	x->leaf = true;
	if (x->h->start) {
		int r = x->h->start(x->ctx, x->path.buf, x->err);

		if (r < 0)
			fail(x, r);
	}
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct xstate *x = data;
	int r = 0;

	(void)name;
	if (x->rc)
		return;
	if (x->depth <= 1) {
		x->depth = 0;
		return;
	}
	if (x->leaf && x->h->text)
		r = x->h->text(x->ctx, x->path.buf, x->text.buf, x->text.len,
			       x->err);
	if (r >= 0 && x->h->end)
		r = x->h->end(x->ctx, x->path.buf, x->err);
	if (r < 0) {
		fail(x, r);
		return;
	}
	x->depth--;
	buf_setlen(&x->path, x->ends[x->depth]);
	buf_reset(&x->text);
	/* The parent now has a child: it is not a leaf. */
	x->leaf = false;
}

static void XMLCALL on_chars(void *data, const XML_Char *s, int len)
{
	struct xstate *x = data;

	/* Text between child elements is layout, not a value. */
	if (x->rc || !x->leaf || len <= 0)
		return;
	buf_add(&x->text, s, (size_t)len);
}

static void XMLCALL on_doctype(void *data, const XML_Char *name,
			       const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	struct xstate *x = data;

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(x, util_err_set(x->err, UTIL_EINVAL,
			     "XML response with a DOCTYPE refused"));
}

static void *mm_malloc(size_t size)
{
	return util_xmalloc(size);
}

static void *mm_realloc(void *p, size_t size)
{
	return util_xrealloc(p, size);
}

static const XML_Memory_Handling_Suite s_mm = {
	.malloc_fcn = mm_malloc,
	.realloc_fcn = mm_realloc,
	.free_fcn = free,
};

int awsp_xml_parse(const char *data, size_t len, const char *root,
		   const struct awsp_xml_handler *h, void *ctx,
		   struct util_err *err)
{
	struct xstate x = { .h = h, .ctx = ctx, .err = err, .root = root };
	int r = -1;

	buf_init(&x.path, 0);
	buf_init(&x.text, 0);
	x.parser = XML_ParserCreate_MM(NULL, &s_mm, NULL);
	if (!x.parser)
		util_xmalloc(SIZE_MAX); /* unreachable with util_x*: abort */
	XML_SetUserData(x.parser, &x);
	XML_SetElementHandler(x.parser, on_start, on_end);
	XML_SetCharacterDataHandler(x.parser, on_chars);
	XML_SetStartDoctypeDeclHandler(x.parser, on_doctype);

	/* XML_Parse takes an int length: feed big bodies in pieces. */
	do {
		int chunk = len > INT_MAX / 2 ? INT_MAX / 2 : (int)len;
		int last = (size_t)chunk == len;

		if (XML_Parse(x.parser, data, chunk, last) ==
		    XML_STATUS_ERROR) {
			if (!x.rc)
				x.rc = util_err_set(
					err, UTIL_EINVAL,
					"malformed XML response: %s at line "
					"%lu",
					XML_ErrorString(
						XML_GetErrorCode(x.parser)),
					(unsigned long)XML_GetCurrentLineNumber(
						x.parser));
			r = x.rc;
			goto out;
		}
		data += chunk;
		len -= (size_t)chunk;
	} while (len);
	if (x.rc) {
		r = x.rc;
		goto out;
	}
	r = 0;
out:
	XML_ParserFree(x.parser);
	buf_release(&x.path);
	buf_release(&x.text);
	return r;
}

int awsp_xml_int(const char *path, const char *text, long min, long max,
		 long *ret, struct util_err *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (!*text || *end || errno || v < min || v > max ||
	    !((*text >= '0' && *text <= '9') || *text == '-'))
		return util_err_set(err, UTIL_EINVAL,
				    "invalid number '%.40s' in <%s>", text,
				    path);
	*ret = v;
	return 0;
}

int awsp_xml_bool(const char *path, const char *text, bool *ret,
		  struct util_err *err)
{
	if (!strcmp(text, "true"))
		*ret = true;
	else if (!strcmp(text, "false"))
		*ret = false;
	else
		return util_err_set(err, UTIL_EINVAL,
				    "invalid boolean '%.40s' in <%s>", text,
				    path);
	return 0;
}

/* --- error envelopes ------------------------------------------------- */

enum err_root { ROOT_OTHER, ROOT_EC2, ROOT_QUERY, ROOT_BARE };

struct errparse {
	struct awsp_aws_error *e;
	enum err_root root;
	bool seen_error; /* the first <Error> has closed */
};

static void set_once(char **dst, const char *text)
{
	if (!*dst)
		*dst = util_xstrdup(text);
}

static int err_root(void *ctx, const char *name, struct util_err *err)
{
	struct errparse *p = ctx;

	(void)err;
	if (!strcmp(name, "Response"))
		p->root = ROOT_EC2;
	else if (!strcmp(name, "ErrorResponse"))
		p->root = ROOT_QUERY;
	else if (!strcmp(name, "Error"))
		p->root = ROOT_BARE;
	return 0;
}

/* The path of the first <Error> element's children, per envelope. */
static const char *error_prefix(enum err_root root)
{
	switch (root) {
	case ROOT_EC2:
		return "Errors/Error";
	case ROOT_QUERY:
		return "Error";
	case ROOT_BARE:
		return "";
	case ROOT_OTHER:
		break;
	}
	return NULL;
}

static int err_text(void *ctx, const char *path, const char *text, size_t len,
		    struct util_err *err)
{
	struct errparse *p = ctx;
	const char *prefix = error_prefix(p->root);
	const char *field;

	(void)len;
	(void)err;
	if (!prefix)
		return 0;
	if (!strcmp(path, "RequestID") || !strcmp(path, "RequestId")) {
		set_once(&p->e->request_id, text);
		return 0;
	}
	if (p->seen_error)
		return 0;
	field = *prefix ? awsp_xml_under(path, prefix) : path;
	if (!field)
		return 0;
	if (!strcmp(field, "Code"))
		set_once(&p->e->code, text);
	else if (!strcmp(field, "Message"))
		set_once(&p->e->message, text);
	else if (!strcmp(field, "Type"))
		set_once(&p->e->type, text);
	return 0;
}

static int err_end(void *ctx, const char *path, struct util_err *err)
{
	struct errparse *p = ctx;
	const char *prefix = error_prefix(p->root);

	(void)err;
	if (prefix && *prefix && !strcmp(path, prefix))
		p->seen_error = true;
	return 0;
}

int awsp_xml_parse_error(const char *data, size_t len,
			 struct awsp_aws_error *ret)
{
	static const struct awsp_xml_handler h = { .root = err_root,
						   .text = err_text,
						   .end = err_end };
	struct awsp_aws_error e = { 0 };
	struct errparse p = { .e = &e };
	struct util_err scratch = UTIL_ERR_INIT;

	memset(ret, 0, sizeof(*ret));
	if (awsp_xml_parse(data, len, NULL, &h, &p, &scratch) < 0 || !e.code ||
	    !*e.code) {
		awsp_aws_error_release(&e);
		return UTIL_EINVAL;
	}
	*ret = e;
	return 0;
}

void awsp_aws_error_release(struct awsp_aws_error *e)
{
	if (!e)
		return;
	free(e->code);
	free(e->message);
	free(e->type);
	free(e->request_id);
	memset(e, 0, sizeof(*e));
}
