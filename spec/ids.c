#include "spec/ids.h"

#include <stdio.h>
#include <string.h>

#include "util/banned.h"

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_alnum(char c)
{
	return is_digit(c) || is_lower(c) || (c >= 'A' && c <= 'Z');
}

/* prefix, then exactly 8 or 17 lowercase hex digits. */
static bool hex_id(const char *s, const char *prefix)
{
	size_t n = strlen(prefix), len;

	if (strncmp(s, prefix, n))
		return false;
	s += n;
	len = strlen(s);
	if (len != 8 && len != 17)
		return false;
	for (; *s; s++)
		if (!is_lower_hex(*s))
			return false;
	return true;
}

bool spec_is_instance_id(const char *s)
{
	return hex_id(s, "i-");
}

bool spec_is_allocation_id(const char *s)
{
	return hex_id(s, "eipalloc-");
}

bool spec_is_eni_id(const char *s)
{
	return hex_id(s, "eni-");
}

bool spec_is_ipv4(const char *s)
{
	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		int digits = 0;

		if (part && *s++ != '.')
			return false;
		if (*s == '0' && is_digit(s[1]))
			return false;
		while (is_digit(*s) && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (!digits || digits > 3 || v > 255)
			return false;
	}
	return *s == '\0';
}

/* n characters at s form a name: letters, digits, inner hyphens. */
static bool name_span(const char *s, size_t n)
{
	if (n < 1 || n > 32 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool spec_is_lb_name(const char *s)
{
	return name_span(s, strlen(s));
}

/*
 * Length of the region at the start of s ("us-east-1" in
 * "us-east-1a"), or 0.  Shape: two letters, optionally "-gov" or
 * "-iso[a-z]", a direction word, a number of one or two digits.
 */
static size_t region_prefix(const char *s)
{
	const char *p = s;
	int n;

	if (!is_lower(p[0]) || !is_lower(p[1]) || p[2] != '-')
		return 0;
	p += 3;
	if (!strncmp(p, "gov-", 4))
		p += 4;
	else if (!strncmp(p, "iso-", 4))
		p += 4;
	else if (!strncmp(p, "iso", 3) && is_lower(p[3]) && p[4] == '-')
		p += 5;
	for (n = 0; is_lower(*p); p++)
		n++;
	if (!n || *p++ != '-')
		return 0;
	for (n = 0; is_digit(*p); p++)
		n++;
	if (n < 1 || n > 2)
		return 0;
	return (size_t)(p - s);
}

bool spec_is_region(const char *s)
{
	size_t n = region_prefix(s);

	return n && s[n] == '\0';
}

bool spec_is_az(const char *s, char *ret_region, size_t size)
{
	size_t n = region_prefix(s);
	const char *p = s + n;
	size_t len;

	if (!strcmp(s, "all")) {
		if (ret_region && size)
			ret_region[0] = '\0';
		return true;
	}
	if (!n)
		return false;
	if (is_lower(p[0]) && p[1] == '\0')
		goto ok;
	/* Local and Wavelength Zones: us-west-2-lax-1a, ...-wlz-1. */
	len = strlen(p);
	if (p[0] != '-' || len < 3 || len > 40 || p[len - 1] == '-')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_lower(p[i]) && !is_digit(p[i]) &&
		    (p[i] != '-' || p[i - 1] == '-'))
			return false;
ok:
	if (ret_region) {
		if (n >= size)
			return false;
		memcpy(ret_region, s, n);
		ret_region[n] = '\0';
	}
	return true;
}

bool spec_is_host(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (spec_is_ipv4(s))
		return true;
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = s[i];

		if (c == '.' || c == '\0') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_alnum(c) && c != '-')
			return false;
		if (!label && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* Copy the span [p, p+n) into out of size, failing if it does not fit. */
static bool copy_span(char *out, size_t size, const char *p, size_t n)
{
	if (n >= size)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

bool spec_parse_target_group_arn(const char *s, struct spec_arn *ret)
{
	static const char *const partitions[] = { "arn:aws:", "arn:aws-cn:",
						  "arn:aws-us-gov:" };
	struct spec_arn a;
	const char *p = NULL, *q;
	size_t n, i;

	for (i = 0; i < 3; i++)
		if (!strncmp(s, partitions[i], strlen(partitions[i])))
			p = s + strlen(partitions[i]);
	if (!p || strncmp(p, "elasticloadbalancing:", 21))
		return false;
	p += 21;
	/* region */
	q = strchr(p, ':');
	if (!q || !copy_span(a.region, sizeof(a.region), p, (size_t)(q - p)) ||
	    !spec_is_region(a.region))
		return false;
	p = q + 1;
	/* account */
	for (n = 0; is_digit(p[n]); n++)
		;
	if (n != 12 || p[n] != ':')
		return false;
	copy_span(a.account, sizeof(a.account), p, n);
	p += n + 1;
	if (strncmp(p, "targetgroup/", 12))
		return false;
	p += 12;
	q = strchr(p, '/');
	if (!q || !name_span(p, (size_t)(q - p)))
		return false;
	copy_span(a.name, sizeof(a.name), p, (size_t)(q - p));
	p = q + 1;
	for (n = 0; is_lower_hex(p[n]); n++)
		;
	if (n != 16 || p[n] != '\0')
		return false;
	if (ret)
		*ret = a;
	return true;
}
