#ifndef SPEC_SPEC_H
#define SPEC_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/hash.h"

/*
 * The desired state, as declared in a moor spec file (format version 1;
 * docs/moor-spec.5 is the reference, spec/moor.schema.json the schema).
 *
 * spec_load_*() parse with libyaml and validate everything that can be
 * checked without asking AWS: shapes, types, id formats, duplicates,
 * durations, ranges.  A struct spec that comes back is complete and
 * self-consistent; defaults are filled in.  Every node keeps its location
 * (struct spec_loc) so later stages (the planner's preconditions) can
 * point at the line that caused a problem.
 *
 * Ownership: a struct spec owns every string and array under it; free the
 * whole tree with spec_free().
 */

struct spec_loc {
	unsigned line; /* 1-based; 0 = unknown */
	unsigned col;  /* 1-based */
};

struct spec_tag {
	char *key;
	char *value;
	struct spec_loc loc;
};

enum spec_lb_kind {
	SPEC_LB_CLASSIC = 0,  /* classic: NAME */
	SPEC_LB_TARGET_GROUP, /* target_group: NAME or ARN */
};

enum spec_member_kind {
	SPEC_MEMBER_ID = 0,   /* an instance id (bare, or {id: ...}) */
	SPEC_MEMBER_SELECTOR, /* {selector: {tags: {...}, states: [...]}} */
	SPEC_MEMBER_IP,	      /* {ip: A.B.C.D, az: ...} for ip target groups */
};

struct spec_member {
	enum spec_member_kind kind;
	struct spec_loc loc;
	char *id; /* SPEC_MEMBER_ID */
	/* SPEC_MEMBER_SELECTOR: all tags must match (AND). */
	struct spec_tag *tags;
	size_t n_tags;
	/* SPEC_MEMBER_SELECTOR: instance state names; default {"running"}. */
	char **states;
	size_t n_states;
	char *ip; /* SPEC_MEMBER_IP */
	char *az; /* SPEC_MEMBER_IP, optional (NULL) */
	int port; /* target groups only; 0 = the group's port */
};

enum spec_ownership {
	SPEC_OWNERSHIP_EXCLUSIVE = 0, /* deregister undeclared members */
	SPEC_OWNERSHIP_ADDITIVE,      /* never touch undeclared members */
};

enum spec_wait {
	SPEC_WAIT_NONE = 0,
	SPEC_WAIT_REGISTERED,
	SPEC_WAIT_HEALTHY,
};

struct spec_min_healthy {
	bool set;
	bool percent;	/* value is a percentage 0..100 */
	unsigned value; /* count, or percentage */
	struct spec_loc loc;
};

struct spec_lb {
	enum spec_lb_kind kind;
	struct spec_loc loc;
	char *name; /* classic name, or target group name or ARN */
	struct spec_member *members;
	size_t n_members;
	enum spec_ownership ownership; /* default exclusive */
	enum spec_wait wait;	       /* default healthy */
	uint64_t timeout_ms;	       /* health wait; default 5m */
	/*
	 * drain: wait -- after deregistering, wait until the members have
	 * left (ELBv2 draining over, Classic gone), up to drain_timeout_ms
	 * (default: timeout_ms).  Default: don't wait.
	 */
	bool drain_wait;
	uint64_t drain_timeout_ms;
	struct spec_min_healthy min_healthy;
	/*
	 * Classic ELBs only: enable the Availability Zones of new members the
	 * ELB does not serve yet (one EnableAvailabilityZonesForLoadBalancer
	 * before the registrations), instead of refusing them.  Default off.
	 */
	bool enable_zones;
};

enum spec_eip_ref {
	SPEC_EIP_BY_ALLOCATION_ID = 0,
	SPEC_EIP_BY_PUBLIC_IP,
	SPEC_EIP_BY_NAME, /* the address's Name tag */
};

enum spec_binding {
	SPEC_BIND_INSTANCE = 0, /* instance: ID [private_ip: IP] */
	SPEC_BIND_ENI,		/* network_interface: ID [private_ip: IP] */
	SPEC_BIND_NONE,		/* none: declared unbound */
	SPEC_BIND_FAILOVER,	/* failover: {...} */
};

enum spec_probe_kind {
	SPEC_PROBE_NONE = 0,
	SPEC_PROBE_HTTP, /* GET; any 2xx/3xx within timeout is up */
	SPEC_PROBE_TCP,	 /* connect within timeout is up */
	/*
	 * Read from AWS, no route to the candidate needed (one read per
	 * resource per interval, whatever the number of candidates):
	 */
	SPEC_PROBE_TARGET_HEALTH,   /* its target in an ELBv2 group healthy */
	SPEC_PROBE_INSTANCE_HEALTH, /* InService in a Classic ELB */
	SPEC_PROBE_INSTANCE_STATUS, /* running, EC2 status checks ok */
};

/* Whether a probe of kind k reads AWS rather than the candidate. */
bool spec_probe_reads_aws(enum spec_probe_kind k);

struct spec_probe {
	enum spec_probe_kind kind;
	struct spec_loc loc;
	/* HTTP: URL template; "{private_ip}" expands to the candidate's. */
	char *http_url;
	/* TCP: host (NULL = the candidate's private IP) and port. */
	char *tcp_host;
	int tcp_port;
	/*
	 * TARGET_HEALTH: the group's name or ARN; INSTANCE_HEALTH: the
	 * Classic ELB's name.  Need not be a load balancer of the spec.
	 */
	char *aws_ref;
};

struct spec_candidate {
	char *instance;
	struct spec_loc loc;
	/* Overrides the failover block's probe when kind != NONE. */
	struct spec_probe probe;
};

enum spec_failback {
	SPEC_FAILBACK_STAY = 0,
	SPEC_FAILBACK_PREFER_FIRST,
};

/*
 * The failback words ("stay", "prefer_first"), indexed by the enum and
 * NULL-terminated; spec/words.c owns them.  spec_failback_name() gives
 * one word (static storage; "?" for a value out of range).
 */
extern const char *const spec_failback_words[];
const char *spec_failback_name(enum spec_failback f);

struct spec_failover {
	struct spec_loc loc;
	struct spec_candidate *candidates; /* in order of preference, >= 1 */
	size_t n_candidates;
	struct spec_probe probe;     /* default probe for every candidate */
	uint64_t interval_ms;	     /* default 2s */
	uint64_t timeout_ms;	     /* default 1s; must be < interval */
	unsigned fall;		     /* default 3 */
	unsigned rise;		     /* default 2 */
	enum spec_failback failback; /* default stay */
};

struct spec_eip {
	struct spec_loc loc;
	enum spec_eip_ref ref;
	/* Exactly the one named by ref is set; the others are NULL. */
	char *allocation_id;
	char *public_ip;
	char *name;
	bool allocate; /* only with ref == SPEC_EIP_BY_NAME */
	enum spec_binding bind;
	char *instance;	  /* SPEC_BIND_INSTANCE */
	char *eni;	  /* SPEC_BIND_ENI */
	char *private_ip; /* INSTANCE or ENI; NULL = primary private IP */
	struct spec_failover failover; /* SPEC_BIND_FAILOVER */
};

struct spec {
	char *path;			   /* as given to spec_load_* */
	char sha256[UTIL_SHA256_HEX_SIZE]; /* of the file's bytes */
	int version;			   /* 1 */
	/*
	 * The lease name: 'name:' or, when absent, the file's base name
	 * without .yaml/.yml.  Never NULL in a loaded spec.
	 */
	char *name;
	char *region; /* NULL when not given */
	struct spec_loc region_loc;
	struct spec_lb *lbs;
	size_t n_lbs;
	struct spec_eip *eips;
	size_t n_eips;
};

enum spec_severity {
	SPEC_ERROR = 0,
	SPEC_WARNING,
};

/* One finding, rendered "PATH:LINE:COL: message". */
struct spec_diag {
	enum spec_severity severity;
	unsigned line, col;
	char *msg; /* one line, no trailing full stop */
};

struct spec_diags {
	char *path;
	struct spec_diag *v;
	size_t n;
	size_t n_errors;
};

/* A spec's 'name:' is 1..SPEC_NAME_MAX characters of SPEC_NAME_CHARS. */
#define SPEC_NAME_MAX 64
#define SPEC_NAME_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* Limits on untrusted input. */
#define SPEC_MAX_FILE_SIZE (16u * 1024 * 1024)

/*
 * Parse and validate the file at path.  On success *ret is a new spec
 * (caller frees with spec_free()) and diags may still hold warnings.  On
 * failure returns UTIL_EINVAL with every problem found in diags (all of
 * them, not just the first, sorted by line and column) and a one-line
 * summary in err: the first error with its location, plus "(and N more
 * errors)" when there are others -- what a daemon log line needs.  An
 * unreadable file returns UTIL_EIO (err says why; diags stay empty).  A
 * file over SPEC_MAX_FILE_SIZE is UTIL_EINVAL without being read.  *ret is
 * set only on success.  diags must be initialised (zeroed) by the caller
 * and released with spec_diags_release(); it is appended to, and its path
 * is set from the first call.
 *
 * Contacts nothing: every check here is syntax and consistency within the
 * file (docs/moor-spec.5 lists them).  Identifier shapes are in
 * spec/ids.h for other modules to reuse.
 */
int spec_load_file(const char *path, struct spec **ret,
		   struct spec_diags *diags, struct util_err *err);
/* The same for bytes already in memory; path is used in messages only. */
int spec_load_buffer(const char *path, const char *data, size_t len,
		     struct spec **ret, struct spec_diags *diags,
		     struct util_err *err);

/*
 * Whether YAML text declares nothing at all: only whitespace, comments,
 * document markers (---, ...) and a byte-order mark.  spec/empty.c owns
 * every judgement of an empty spec.
 */
bool spec_text_is_empty(const char *data, size_t len);

void spec_free(struct spec *s);
void spec_diags_release(struct spec_diags *d);

struct buf;
/* Append "PATH:LINE:COL: message" (or "warning: ...") for one diag. */
void spec_diag_format(const struct spec_diags *d, size_t i, struct buf *out);

/* Display name of an address: its allocation id, public IP or name. */
const char *spec_eip_label(const struct spec_eip *e);
/* Display name of a group: its classic name or target group. */
static inline const char *spec_lb_label(const struct spec_lb *lb)
{
	return lb->name;
}

/* Totals for `moor validate`: members counts declared entries. */
void spec_counts(const struct spec *s, size_t *ret_lbs, size_t *ret_members,
		 size_t *ret_eips);

#endif
