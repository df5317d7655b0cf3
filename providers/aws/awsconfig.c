#include "providers/aws/awsconfig.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/banned.h"

/* Config files are a few KiB; anything this big is not one. */
#define INI_MAX_BYTES (4u << 20)

struct ini_sub {
	char *key;
	char *value;
};

struct ini_kv {
	char *key;   /* lowercased, as configparser's optionxform does */
	char *value; /* NULL for a nested value */
	struct ini_sub *sub;
	size_t n_sub, alloc_sub;
	unsigned line;
};

struct ini_section {
	char *name;
	struct ini_kv *kv;
	size_t n, alloc;
};

struct awsp_ini {
	struct ini_section *sec;
	size_t n, alloc;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static void free_kv(struct ini_kv *kv)
{
	/* Values may be secrets (aws_secret_access_key): wipe them. */
	free(kv->key);
	util_free_secret(kv->value);
	for (size_t i = 0; i < kv->n_sub; i++) {
		free(kv->sub[i].key);
		util_free_secret(kv->sub[i].value);
	}
	free(kv->sub);
}

void awsp_ini_free(struct awsp_ini *ini)
{
	if (!ini)
		return;
	for (size_t i = 0; i < ini->n; i++) {
		for (size_t j = 0; j < ini->sec[i].n; j++)
			free_kv(&ini->sec[i].kv[j]);
		free(ini->sec[i].kv);
		free(ini->sec[i].name);
	}
	free(ini->sec);
	free(ini);
}

static const struct ini_section *find_section(const struct awsp_ini *ini,
					      const char *name)
{
	for (size_t i = 0; ini && i < ini->n; i++)
		if (!strcmp(ini->sec[i].name, name))
			return &ini->sec[i];
	return NULL;
}

static const struct ini_kv *find_kv(const struct ini_section *s,
				    const char *key)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->kv[i].key, key))
			return &s->kv[i];
	return NULL;
}

/* A trimmed copy of [p, e). */
static char *trim_dup(const char *p, const char *e)
{
	while (p < e && (is_space(*p) || *p == '\n'))
		p++;
	while (e > p && (is_space(e[-1]) || e[-1] == '\n'))
		e--;
	return util_xstrndup(p, (size_t)(e - p));
}

/*
 * botocore's _parse_nested: every non-blank line of the continuation is
 * "sub = value", split at the first '='; anything else is an error.
 */
static int parse_nested(struct ini_kv *kv, const char *text, const char *path,
			struct util_err *err)
{
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n');
		const char *eq;
		char *line;

		if (!eol)
			eol = p + strlen(p);
		line = trim_dup(p, eol);
		if (*line) {
			eq = strchr(line, '=');
			if (!eq) {
				free(line);
				return util_err_set_loc(
					err, path, kv->line, 0,
					"nested value of '%s' is not "
					"'name = value'",
					kv->key);
			}
			UTIL_GROW(kv->sub, kv->alloc_sub, kv->n_sub + 1);
			kv->sub[kv->n_sub].key = trim_dup(line, eq);
			kv->sub[kv->n_sub].value = trim_dup(eq + 1,
							    eq + strlen(eq));
			kv->n_sub++;
		}
		util_free_secret(line);
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

/*
 * Turn the collected lines of the current option into its value, the way
 * configparser joins them ('\n'.join(lines).rstrip()), and parse it as a
 * nested block when it starts with a newline (botocore).
 */
static int finish_option(struct ini_kv *kv, struct buf *val, const char *path,
			 struct util_err *err)
{
	int r = 0;

	if (!kv)
		return 0;
	buf_rtrim(val);
	if (val->len && val->buf[0] == '\n')
		r = parse_nested(kv, val->buf, path, err);
	else
		kv->value = util_xstrndup(val->buf, val->len);
	util_wipe(val->buf, val->len);
	buf_reset(val);
	return r;
}

struct ini_parser {
	struct awsp_ini *ini;
	struct ini_section *cur; /* section being read */
	struct ini_kv *opt;	 /* option whose value is being read */
	struct buf val;		 /* its lines so far */
	size_t indent_level;	 /* indentation of the option's line */
	const char *path;
	unsigned lineno;
};

/* "[NAME]": configparser's "\[(?P<header>.+)\]", so up to the last ']'. */
static int parse_section(struct ini_parser *ps, const char *s, const char *e,
			 struct util_err *err)
{
	const char *close = e;
	char *name;

	while (close > s && close[-1] != ']')
		close--;
	if (close - s < 3)
		return 1; /* not a section header */
	if (finish_option(ps->opt, &ps->val, ps->path, err) < 0)
		return -1;
	ps->opt = NULL;
	name = util_xstrndup(s + 1, (size_t)(close - s - 2));
	/* configparser is strict: botocore rejects the whole file. */
	if (find_section(ps->ini, name)) {
		util_err_set_loc(err, ps->path, ps->lineno, 0,
				 "section [%s] appears twice", name);
		free(name);
		return -1;
	}
	UTIL_GROW(ps->ini->sec, ps->ini->alloc, ps->ini->n + 1);
	ps->cur = &ps->ini->sec[ps->ini->n++];
	memset(ps->cur, 0, sizeof(*ps->cur));
	ps->cur->name = name;
	return 0;
}

/*
 * "name = value" or "name: value": configparser's
 * "(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$", so the first '=' or
 * ':' separates.  Error messages never quote the line: it may be a secret.
 */
static int parse_option(struct ini_parser *ps, const char *s, const char *e,
			struct util_err *err)
{
	const char *d = s;
	char *key;

	if (!ps->cur)
		return util_err_set_loc(err, ps->path, ps->lineno, 0,
					"setting outside of any [section]");
	while (d < e && *d != '=' && *d != ':')
		d++;
	if (d == e)
		return util_err_set_loc(err, ps->path, ps->lineno, 0,
					"line is not 'name = value'");
	if (d == s)
		return util_err_set_loc(err, ps->path, ps->lineno, 0,
					"setting without a name");
	if (finish_option(ps->opt, &ps->val, ps->path, err) < 0)
		return -1;
	ps->opt = NULL;
	key = trim_dup(s, d);
	for (char *k = key; *k; k++)
		if (*k >= 'A' && *k <= 'Z')
			*k = (char)(*k - 'A' + 'a');
	if (find_kv(ps->cur, key)) {
		util_err_set_loc(err, ps->path, ps->lineno, 0,
				 "'%s' set twice in section [%s]", key,
				 ps->cur->name);
		free(key);
		return -1;
	}
	UTIL_GROW(ps->cur->kv, ps->cur->alloc, ps->cur->n + 1);
	ps->opt = &ps->cur->kv[ps->cur->n++];
	memset(ps->opt, 0, sizeof(*ps->opt));
	ps->opt->key = key;
	ps->opt->line = ps->lineno;
	for (d++; d < e && is_space(*d); d++)
		;
	buf_add(&ps->val, d, (size_t)(e - d));
	return 0;
}

/*
 * One line, as configparser's _read handles it: comments are skipped and
 * blank lines kept in the value, neither ending it; a line indented deeper
 * than its option continues the value; otherwise it is a section or an
 * option.
 */
static int parse_line(struct ini_parser *ps, const char *p, const char *eol,
		      struct util_err *err)
{
	const char *s = p, *e = eol;
	size_t indent;
	int r;

	while (s < eol && is_space(*s))
		s++;
	indent = (size_t)(s - p);
	while (e > s && is_space(e[-1]))
		e--;
	if (memchr(s, '\0', (size_t)(e - s)))
		return util_err_set_loc(err, ps->path, ps->lineno, 0,
					"NUL byte in config file");
	if (s == e) {
		/* Kept inside a value (empty_lines_in_values); rstrip'd last. */
		if (ps->opt)
			buf_addch(&ps->val, '\n');
		return 0;
	}
	if (*s == '#' || *s == ';')
		return 0;
	if (ps->opt && indent > ps->indent_level) {
		buf_addch(&ps->val, '\n');
		buf_add(&ps->val, s, (size_t)(e - s));
		return 0;
	}
	ps->indent_level = indent;
	if (*s == '[') {
		r = parse_section(ps, s, e, err);
		if (r <= 0)
			return r;
	}
	return parse_option(ps, s, e, err);
}

int awsp_ini_parse(const char *data, size_t len, const char *path,
		   struct awsp_ini **ret, struct util_err *err)
{
	struct ini_parser ps = {
		.ini = util_xcalloc(1, sizeof(*ps.ini)),
		.val = BUF_INIT,
		.path = path ? path : "(config)",
	};
	const char *p = data, *end = data + len;
	int r = -1;

	while (p < end) {
		const char *eol = p;

		/* Universal newlines (\n, \r\n, \r), as Python reads text. */
		while (eol < end && *eol != '\n' && *eol != '\r')
			eol++;
		ps.lineno++;
		if (parse_line(&ps, p, eol, err) < 0)
			goto out;
		p = eol;
		if (p < end && *p == '\r') {
			p++;
			if (p < end && *p == '\n')
				p++;
		} else if (p < end) {
			p++;
		}
	}
	if (finish_option(ps.opt, &ps.val, ps.path, err) < 0)
		goto out;
	*ret = ps.ini;
	ps.ini = NULL;
	r = 0;
out:
	util_wipe(ps.val.buf, ps.val.len);
	buf_release(&ps.val);
	awsp_ini_free(ps.ini);
	if (r < 0 && err && err->code)
		r = err->code;
	return r;
}

int awsp_ini_load(const char *path, struct awsp_ini **ret, struct util_err *err)
{
	struct buf b;
	struct util_read_fail f;
	int r;

	buf_init(&b, INI_MAX_BYTES);
	r = util_read_file(path, INI_MAX_BYTES, &b, &f, NULL);
	if (r == UTIL_ENOTFOUND) {
		*ret = util_xcalloc(1, sizeof(**ret));
		r = 0;
	} else if (r == UTIL_ELIMIT) {
		r = util_err_set(err, r, "'%s' is larger than %u bytes", path,
				 INI_MAX_BYTES);
	} else if (r < 0 && !f.opened) {
		r = util_err_set(err, r, "cannot open '%s': %s", path,
				 strerror(f.errnum));
	} else if (r < 0 && f.errnum == EISDIR) {
		r = util_err_set(err, r, "'%s' is a directory", path);
	} else if (r < 0) {
		r = util_err_set(err, r, "cannot read '%s': %s", path,
				 strerror(f.errnum));
	} else {
		r = awsp_ini_parse(b.buf, b.len, path, ret, err);
	}
	util_wipe(b.buf, b.len);
	buf_release(&b);
	return r;
}

bool awsp_ini_has_section(const struct awsp_ini *ini, const char *section)
{
	return find_section(ini, section) != NULL;
}

const char *awsp_ini_get(const struct awsp_ini *ini, const char *section,
			 const char *key)
{
	const struct ini_kv *kv = find_kv(find_section(ini, section), key);

	return kv ? kv->value : NULL;
}

static const char *kv_sub(const struct ini_kv *kv, const char *subkey)
{
	/* Repeated sub-keys: the last wins, as in botocore's dict. */
	const char *v = NULL;

	for (size_t i = 0; kv && i < kv->n_sub; i++)
		if (!strcmp(kv->sub[i].key, subkey))
			v = kv->sub[i].value;
	return v;
}

const char *awsp_ini_get_nested(const struct awsp_ini *ini, const char *section,
				const char *key, const char *subkey)
{
	return kv_sub(find_kv(find_section(ini, section), key), subkey);
}

/* --- profiles ---------------------------------------------------------- */

/*
 * Python's shlex.split() in POSIX mode, enough for section headers:
 * words split on whitespace, '...' literal, "..." with backslash escapes
 * of \ " $ ` newline, and backslash escaping outside quotes.  Returns the
 * number of words (stores at most 3), or -1 for an unterminated quote.
 */
static int shlex_split(const char *s, char *words[3])
{
	int n = 0;

	while (*s) {
		struct buf w = BUF_INIT;
		bool any = false;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		if (!*s)
			break;
		while (*s &&
		       !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
			any = true;
			if (*s == '\'') {
				const char *q = strchr(s + 1, '\'');

				if (!q)
					goto bad;
				buf_add(&w, s + 1, (size_t)(q - s - 1));
				s = q + 1;
			} else if (*s == '"') {
				s++;
				while (*s && *s != '"') {
					if (*s == '\\' && s[1] &&
					    strchr("\\\"$`\n", s[1]))
						s++;
					buf_addch(&w, *s++);
				}
				if (!*s)
					goto bad;
				s++;
			} else if (*s == '\\') {
				if (!s[1])
					goto bad;
				buf_addch(&w, s[1]);
				s += 2;
			} else {
				buf_addch(&w, *s++);
			}
		}
		if (any) {
			if (n < 3)
				words[n] = buf_detach(&w, NULL);
			n++;
		}
		buf_release(&w);
		continue;
	bad:
		buf_release(&w);
		for (int i = 0; i < n && i < 3; i++)
			free(words[i]);
		return -1;
	}
	return n;
}

/*
 * The name a config-file section gives to a profile (kind "profile") or
 * a services block (kind "services"), as botocore's build_profile_map
 * reads it: "[profile NAME]" (any spacing or shell quoting) and, for
 * profiles, "[default]".  Caller frees; NULL when the section is neither.
 */
static char *section_entity(const char *section, const char *kind)
{
	char *w[3] = { NULL, NULL, NULL };
	char *name = NULL;
	int n;

	/* Like botocore, a prefix match: "[profiles x]" names "x" too. */
	if (!strncmp(section, kind, strlen(kind))) {
		n = shlex_split(section, w);
		if (n == 2) {
			name = w[1];
			w[1] = NULL;
		}
		for (int i = 0; i < n && i < 3; i++)
			free(w[i]);
		return name;
	}
	if (!strcmp(kind, "profile") && !strcmp(section, "default"))
		return util_xstrdup("default");
	return NULL;
}

/* The config section for profile or services name; the last one wins. */
static const struct ini_section *config_entity(const struct awsp_ini *ini,
					       const char *kind,
					       const char *name)
{
	const struct ini_section *found = NULL;

	for (size_t i = 0; ini && i < ini->n; i++) {
		char *ent = section_entity(ini->sec[i].name, kind);

		if (ent && !strcmp(ent, name))
			found = &ini->sec[i];
		free(ent);
	}
	return found;
}

const char *awsp_profile_get(const struct awsp_config *c, const char *profile,
			     const char *key)
{
	const struct ini_kv *kv;

	if (!c)
		return NULL;
	if (!profile)
		profile = c->profile;
	kv = find_kv(find_section(c->credentials, profile), key);
	if (kv && kv->value)
		return kv->value;
	kv = find_kv(config_entity(c->config, "profile", profile), key);
	return kv ? kv->value : NULL;
}

bool awsp_profile_exists(const struct awsp_config *c, const char *profile)
{
	if (!c)
		return false;
	if (!profile)
		profile = c->profile;
	return find_section(c->credentials, profile) ||
	       config_entity(c->config, "profile", profile);
}

const char *awsp_profile_service_endpoint(const struct awsp_config *c,
					  const char *profile,
					  const char *service_key)
{
	const char *services = awsp_profile_get(c, profile, "services");
	const struct ini_section *s;

	if (!services)
		return NULL;
	s = config_entity(c->config, "services", services);
	return kv_sub(find_kv(s, service_key), "endpoint_url");
}

/* --- loading both files ---------------------------------------------- */

static char *home_dir(const struct awsp_env *env)
{
	const char *home = awsp_getenv_nonempty(env, "HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (home)
		return util_xstrdup(home);
	/* Python's expanduser falls back to the password database. */
	if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res &&
	    res->pw_dir)
		return util_xstrdup(res->pw_dir);
	return NULL;
}

/*
 * os.path.expandvars + expanduser, as botocore applies them to
 * AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE: $NAME and ${NAME} are
 * replaced when set (left alone otherwise), then a leading ~ or ~/ is
 * the home directory.
 */
char *awsp_expand_path(const struct awsp_env *env, const char *path)
{
	struct buf b = BUF_INIT;
	const char *p = path;

	while (*p) {
		const char *start, *stop;
		bool brace;
		char *name;
		const char *v;

		if (*p != '$') {
			buf_addch(&b, *p++);
			continue;
		}
		brace = p[1] == '{';
		start = p + 1 + brace;
		stop = start;
		while ((*stop >= 'A' && *stop <= 'Z') ||
		       (*stop >= 'a' && *stop <= 'z') ||
		       (*stop >= '0' && *stop <= '9') || *stop == '_')
			stop++;
		if (stop == start || (brace && *stop != '}')) {
			buf_addch(&b, *p++);
			continue;
		}
		name = util_xstrndup(start, (size_t)(stop - start));
		v = awsp_getenv(env, name);
		free(name);
		if (v)
			buf_addstr(&b, v);
		else
			buf_add(&b, p, (size_t)(stop + brace - p));
		p = stop + brace;
	}
	if (b.buf[0] == '~' && (b.buf[1] == '/' || b.buf[1] == '\0')) {
		char *home = home_dir(env);

		if (home) {
			char *full = util_xasprintf("%s%s", home, b.buf + 1);

			free(home);
			buf_release(&b);
			return full;
		}
	}
	return buf_detach(&b, NULL);
}

void awsp_config_free(struct awsp_config *c)
{
	if (!c)
		return;
	awsp_ini_free(c->config);
	awsp_ini_free(c->credentials);
	free(c->profile);
	free(c->config_path);
	free(c->credentials_path);
	free(c);
}

int awsp_config_load(const struct awsp_env *env, const char *profile,
		     struct awsp_config **ret, struct util_err *err)
{
	struct awsp_config *c = util_xcalloc(1, sizeof(*c));
	const char *v;
	int r;

	v = awsp_getenv_nonempty(env, "AWS_CONFIG_FILE");
	c->config_path = awsp_expand_path(env, v ? v : "~/.aws/config");
	v = awsp_getenv_nonempty(env, "AWS_SHARED_CREDENTIALS_FILE");
	c->credentials_path = awsp_expand_path(env,
					       v ? v : "~/.aws/credentials");

	if (profile && *profile) {
		c->profile = util_xstrdup(profile);
		c->profile_from_cli = true;
	} else if ((v = awsp_getenv_nonempty(env, "AWS_PROFILE")) ||
		   (v = awsp_getenv_nonempty(env, "AWS_DEFAULT_PROFILE"))) {
		c->profile = util_xstrdup(v);
	}
	c->profile_explicit = c->profile != NULL;
	if (!c->profile)
		c->profile = util_xstrdup("default");

	r = awsp_ini_load(c->config_path, &c->config, err);
	if (r < 0)
		goto out;
	r = awsp_ini_load(c->credentials_path, &c->credentials, err);
	if (r < 0)
		goto out;
	/* botocore's ProfileNotFound: a named profile must exist. */
	if (c->profile_explicit && !awsp_profile_exists(c, c->profile)) {
		r = util_err_set(err, UTIL_ENOTFOUND,
				 "profile '%s' not found in '%s' or '%s'",
				 c->profile, c->config_path,
				 c->credentials_path);
		goto out;
	}
	*ret = c;
	c = NULL;
	r = 0;
out:
	awsp_config_free(c);
	return r;
}
