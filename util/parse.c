#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "err.h"
#include "banned.h"

int util_parse_u64(const char *s, uint64_t max, uint64_t *ret,
		   struct util_err *err)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)s[0]))
		goto bad;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		goto bad;
	*ret = v;
	return 0;
bad:
	return util_err_set(err, UTIL_EINVAL, "invalid number '%s'",
			    s ? s : "");
}

int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret,
		   struct util_err *err)
{
	long long v;
	char *end;

	if (!s || !(isdigit((unsigned char)s[0]) ||
		    (s[0] == '-' && isdigit((unsigned char)s[1]))))
		goto bad;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		goto bad;
	*ret = v;
	return 0;
bad:
	return util_err_set(err, UTIL_EINVAL, "invalid number '%s'",
			    s ? s : "");
}

int util_parse_int(const char *s, int min, int max, int *ret,
		   struct util_err *err)
{
	int64_t v;
	int r = util_parse_i64(s, min, max, &v, err);

	if (r == 0)
		*ret = (int)v;
	return r;
}

static const struct {
	const char *name;
	uint64_t ms;
} units[] = {
	/* "ms" before "m" so the longest unit matches. */
	{ "ms", 1 },
	{ "s", 1000 },
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

/* Owns the duration grammar ("1h30m", "1.5s", "250ms"): units, fractions
 * and overflow, all to milliseconds. */
int util_duration_parse(const char *s, uint64_t *ret_ms, struct util_err *err)
{
	const char *p = s;
	uint64_t total = 0;

	if (!s || !*s)
		return util_err_set(err, UTIL_EINVAL, "empty duration");
	while (*p) {
		uint64_t whole = 0, frac = 0, frac_div = 1, ms;
		bool digits = false;
		size_t i, ulen = 0;

		while (isdigit((unsigned char)*p)) {
			if (whole > (UINT64_MAX - 9) / 10)
				goto overflow;
			whole = whole * 10 + (uint64_t)(*p++ - '0');
			digits = true;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				if (frac_div >= 1000000000ULL)
					goto bad;
				frac = frac * 10 + (uint64_t)(*p++ - '0');
				frac_div *= 10;
				digits = true;
			}
		}
		if (!digits)
			goto bad;
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			ulen = strlen(units[i].name);
			if (!strncmp(p, units[i].name, ulen) &&
			    !isalpha((unsigned char)p[ulen]))
				break;
		}
		if (i == ARRAY_SIZE(units)) {
			if (!*p)
				return util_err_set(err, UTIL_EINVAL,
						    "duration '%s' has no unit "
						    "(use ms, s, m or h)",
						    s);
			goto bad;
		}
		if (whole > UINT64_MAX / units[i].ms)
			goto overflow;
		ms = whole * units[i].ms;
		if (frac) {
			uint64_t f = frac * units[i].ms;

			if (f % frac_div)
				return util_err_set(err, UTIL_EINVAL,
						    "duration '%s' is finer "
						    "than a millisecond",
						    s);
			ms += f / frac_div;
		}
		if (total > UINT64_MAX - ms)
			goto overflow;
		total += ms;
		p += ulen;
	}
	*ret_ms = total;
	return 0;
overflow:
	return util_err_set(err, UTIL_EINVAL, "duration '%s' is too large", s);
bad:
	return util_err_set(
		err, UTIL_EINVAL,
		"invalid duration '%s' (expected e.g. 500ms, 30s, 5m, 1h)", s);
}

char *util_duration_format(uint64_t ms, char *out, size_t size)
{
	size_t n = 0;
	int i;

	if (!size)
		return out;
	out[0] = '\0';
	if (!ms) {
		snprintf(out, size, "0s");
		return out;
	}
	/* Largest unit first, skipping zeros: 90000 -> "1m30s". */
	for (i = (int)(ARRAY_SIZE(units)) - 1; i >= 0; i--) {
		uint64_t q = ms / units[i].ms;
		int w;

		if (!q)
			continue;
		w = snprintf(out + n, size - n, "%llu%s", (unsigned long long)q,
			     units[i].name);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
		ms -= q * units[i].ms;
	}
	return out;
}
