/*
 * moor leases: the leader leases and replica liveness items of a lease
 * table, for people.  Ages come from the writers' wall clocks and ours:
 * the lease protocol itself never compares wall clocks.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "providers/provider.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "util/err.h"
#include "util/parse.h"
#include "util/banned.h"

static const char leases_usage[] =
	"usage: moor leases TABLE [--format text|json] [AWS options]\n"
	"\n"
	"Show every lease in the DynamoDB lease table of moor watch\n"
	"--lease-table: one line per spec lease (name, holder or '-' when\n"
	"released, age of its last heartbeat, live or expired), then one per\n"
	"replica liveness item, its name prefixed 'replica:'.  Ages use wall\n"
	"clocks and are for people; moor watch never relies on them.\n"
	"\n"
	"  --format text|json     output format (default text)\n"
	"\n" COMMON_AWS_USAGE;

#define CREATE_TABLE_FMT                                                     \
	"aws dynamodb create-table --table-name %s --attribute-definitions " \
	"AttributeName=name,AttributeType=S --key-schema "                   \
	"AttributeName=name,KeyType=HASH --billing-mode PAY_PER_REQUEST"

int cli_check_lease_table(struct prov *p, const char *table)
{
	struct util_err err = UTIL_ERR_INIT;
	int r;

	/* A provider without leases cannot run the protocol at all. */
	if (!p->ops->lease_table_check || !p->ops->lease_list) {
		fprintf(stderr, "moor: this provider has no lease support\n");
		return 1;
	}
	r = p->ops->lease_table_check(p, table, &err);
	if (r == 0)
		return 0;
	print_err(&err);
	if (r == UTIL_ENOTFOUND || r == UTIL_EINVAL) {
		fprintf(stderr,
			"moor: the lease table '%s' must exist with one string "
			"partition key 'name'; create it with:\n "
			" " CREATE_TABLE_FMT "\n",
			table, table);
	}
	util_err_clear(&err);
	return 1;
}

static int64_t now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Age of l's last heartbeat at now (0 when its clock is ahead of ours). */
static uint64_t lease_age_ms(const struct prov_lease *l, int64_t now)
{
	return now > l->heartbeat_unix_ms
		       ? (uint64_t)(now - l->heartbeat_unix_ms)
		       : 0;
}

static bool lease_live(const struct prov_lease *l, int64_t now)
{
	return l->holder && lease_age_ms(l, now) <= l->duration_ms;
}

/* Display name: replica items get a "replica:" prefix if they lack one. */
static void lease_label(const struct prov_lease *l, char *out, size_t size)
{
	if (l->kind == PROV_LEASE_REPLICA && strncmp(l->name, "replica:", 8))
		snprintf(out, size, "replica:%s", l->name);
	else
		snprintf(out, size, "%s", l->name);
}

static void print_text(const struct prov_lease_list *ls, int64_t now)
{
	printf("%-32s %-32s %-10s %s\n", "NAME", "HOLDER", "AGE", "STATE");
	for (int kind = PROV_LEASE_SPEC; kind <= PROV_LEASE_REPLICA; kind++) {
		for (size_t i = 0; i < ls->n; i++) {
			const struct prov_lease *l = &ls->v[i];
			char label[256], age[32];

			if ((int)l->kind != kind)
				continue;
			lease_label(l, label, sizeof(label));
			util_duration_format(lease_age_ms(l, now), age,
					     sizeof(age));
			printf("%-32s %-32s %-10s %s\n", label,
			       l->holder ? l->holder : "-", age,
			       lease_live(l, now) ? "live" : "expired");
		}
	}
}

static int print_json(const struct prov_lease_list *ls, int64_t now)
{
	cJSON *a = cJSON_CreateArray();
	char *s;
	int rc;

	for (size_t i = 0; i < ls->n; i++) {
		const struct prov_lease *l = &ls->v[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "name", l->name);
		cJSON_AddStringToObject(o, "kind",
					l->kind == PROV_LEASE_REPLICA
						? "replica"
						: "spec");
		if (l->holder)
			cJSON_AddStringToObject(o, "holder", l->holder);
		else
			cJSON_AddNullToObject(o, "holder");
		cJSON_AddNumberToObject(o, "age_ms",
					(double)lease_age_ms(l, now));
		cJSON_AddBoolToObject(o, "live", lease_live(l, now));
		cJSON_AddStringToObject(o, "rvn", l->rvn ? l->rvn : "");
		cJSON_AddNumberToObject(o, "duration_ms",
					(double)l->duration_ms);
		cJSON_AddItemToArray(a, o);
	}
	s = cJSON_Print(a);
	rc = s && puts(s) >= 0 ? 0 : 1;
	cJSON_free(s);
	cJSON_Delete(a);
	return rc;
}

/* Parses argv into o, *table, *json: 0, or an exit code (help: -1). */
static int leases_args(int argc, char **argv, struct common_opts *o,
		       const char **table, bool *json)
{
	static const struct option longopts[] = {
		COMMON_AWS_LONGOPTS,
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, o);

		if (r > 0)
			continue;
		if (c == 'h') {
			fputs(leases_usage, stdout);
			return -1;
		}
		if (c == 'f' &&
		    (!strcmp(optarg, "text") || !strcmp(optarg, "json"))) {
			*json = !strcmp(optarg, "json");
			continue;
		}
		if (c == 'f')
			fprintf(stderr, "moor leases: unknown format '%s'\n",
				optarg);
		if (r == 0)
			fputs(leases_usage, stderr);
		return EXIT_USAGE;
	}
	if (argc - optind != 1) {
		fprintf(stderr, "moor leases: expected one TABLE\n\n%s",
			leases_usage);
		return EXIT_USAGE;
	}
	*table = argv[optind];
	return 0;
}

int cmd_leases(int argc, char **argv)
{
	struct common_opts o = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct prov_lease_list ls = { 0 };
	struct prov *p = NULL;
	const char *table = NULL;
	bool json = false;
	int rc = leases_args(argc, argv, &o, &table, &json);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (make_provider(&o, NULL, &p, &err) < 0) {
		util_err_prefix(&err, "leases");
		print_err(&err);
		return 1;
	}
	rc = cli_check_lease_table(p, table);
	if (rc)
		goto out;
	if (p->ops->lease_list(p, table, &ls, &err) < 0) {
		util_err_prefix(&err, "leases");
		print_err(&err);
		rc = 1;
		goto out;
	}
	if (json)
		rc = print_json(&ls, now_unix_ms());
	else
		print_text(&ls, now_unix_ms());
	if (fflush(stdout) != 0)
		rc = 1;
out:
	prov_lease_list_release(&ls);
	prov_free(p);
	return rc;
}
