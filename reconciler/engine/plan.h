#ifndef RECONCILER_ENGINE_PLAN_H
#define RECONCILER_ENGINE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconciler/engine/observe.h"
#include "spec/spec.h"
#include "util/err.h"
#include "util/hash.h"

/*
 * Plan: desired state (a struct spec) against observed state (a struct
 * rc_world) gives a struct rc_plan, an ordered list of steps.  A plan is a
 * value: it renders as text, markdown or JSON (render.h), is saved and
 * loaded as JSON (planfile.h), and is applied by apply.h.
 *
 * Phases, the order in which apply runs related steps (apply.h), so that
 * capacity never drops and an address is never left unattached:
 *
 *   1 allocate      addresses declared `allocate: true`, none found by name
 *   2 enable-zones  Classic ELBs with `enable_zones: true`: the zones of new
 *                   members the ELB does not serve yet, one step per ELB
 *   3 register      missing members, one batched step per group
 *   4 wait          until the new members are healthy (or registered),
 *                   as the group's `wait` says, up to its `timeout`
 *   5 address       associate (unbound -> target), move (bound elsewhere ->
 *                   target: one AssociateAddress, reassociation allowed)
 *   6 deregister    undeclared members of exclusive groups, only after the
 *                   group's registrations and waits succeeded
 *   7 wait          until deregistered members have drained (`drain: wait`)
 *   8 disassociate  addresses declared `none`
 *
 * Steps of one phase touch different resources.
 *
 * Each step carries its precondition: the fingerprints (observe.h) of the
 * resources it depends on, as they will be when the step runs -- for a
 * group's deregistration, the membership after the plan's own
 * registrations.  Apply re-reads those resources right before the step
 * runs and skips a step whose world changed.  rc_plan.observed holds the
 * fingerprints as observed when planning; a saved plan is stale when any
 * of them changed.
 *
 * Zones: an instance to register must sit in an Availability Zone the load
 * balancer serves (a Classic ELB's enabled zones; for a target group, the
 * zones of every load balancer it is attached to), else it gets no
 * traffic and never turns healthy.  That is an error at the member's
 * line, unless the Classic ELB's entry says `enable_zones: true`: then
 * the enable-zones step comes first and its registration depends on it.
 *
 * Guards (errors, the plan is refused):
 *  - min_healthy: a deregistration never takes a group below its floor of
 *    healthy members.  The floor is the count given, or the percentage of
 *    the group's declared (desired) member count, rounded up.  "Healthy at
 *    deregistration time" counts declared members healthy now, plus the
 *    members this plan registers when the group waits for `healthy` (the
 *    wait fails otherwise, and the deregistration is skipped).  Undeclared
 *    members that are not healthy are always deregistered; healthy ones
 *    only while the floor holds; the rest stay and are *held back*: the
 *    plan lists them (rc_plan.held), because live state still differs
 *    from the spec.  Apply checks the floor again against live health.
 *  - mass deregistration: refused unless allow_mass_deregister when a
 *    group's deregistrations are more than half of its members at that
 *    moment (members present now plus those this plan registers first),
 *    which includes deregistering all of them.  A rolling replacement that
 *    adds as many as it removes passes; an empty or mistyped selector that
 *    would empty the group does not.  Additive groups never deregister.
 *  - max_changes: member registrations + member deregistrations + address
 *    operations (allocate, associate, move, disassociate) + zone
 *    enablings (one per step) must not exceed it.  Waits are not changes.
 *
 * A plan *differs* (rc_plan_differs) when live state differs from the
 * spec: it has changes, or changes held back by a guard.  It *has
 * changes* (rc_plan_has_changes) when apply would call AWS.  A plan whose
 * only differences are held back differs and has no changes: plan says
 * so (and --detailed-exitcode exits 2), apply has nothing to do.
 */

/*
 * 2: a saved plan carries its spec (spec.content) and selection
 * (options.only), so that apply can plan again and compare.
 */
#define RC_PLAN_FORMAT_VERSION 2

enum rc_phase {
	RC_PHASE_ALLOCATE = 1,
	RC_PHASE_ENABLE_ZONES,
	RC_PHASE_REGISTER,
	RC_PHASE_WAIT_HEALTHY,
	RC_PHASE_ADDRESS,
	RC_PHASE_DEREGISTER,
	RC_PHASE_WAIT_DRAINED,
	RC_PHASE_DISASSOCIATE,
};
#define RC_N_PHASES 8

enum rc_action {
	RC_ACT_ALLOCATE = 0,
	RC_ACT_REGISTER,
	RC_ACT_WAIT,
	RC_ACT_ASSOCIATE,
	RC_ACT_MOVE,
	RC_ACT_DEREGISTER,
	RC_ACT_DISASSOCIATE,
	RC_ACT_ENABLE_ZONES, /* Classic ELB: enable Availability Zones */
};

enum rc_until {
	RC_UNTIL_NONE = 0,
	RC_UNTIL_REGISTERED, /* every member present */
	RC_UNTIL_HEALTHY,    /* every member healthy */
	RC_UNTIL_DRAINED,    /* every member gone (not even draining) */
};

/* A group member a step names. */
struct rc_member {
	char *id;   /* instance id, or IP address for ip target groups */
	int port;   /* resolved port; 0 for Classic ELBs */
	char *az;   /* ip targets only, else NULL */
	char *name; /* the instance's Name tag, for display; may be NULL */
};

/* Where an address points: an instance or an ENI, and a private IP. */
struct rc_binding {
	char *instance;	  /* NULL when not bound to an instance */
	char *eni;	  /* for the call: set when AWS needs the ENI */
	char *private_ip; /* NULL = the primary private IP */
};

struct rc_precond {
	char *key; /* resource key (observe.h) */
	char fp[UTIL_SHA256_HEX_SIZE];
};

struct rc_step {
	unsigned id; /* 1-based position in the plan */
	enum rc_phase phase;
	enum rc_action action;
	char *key;   /* the resource acted on: "tg:web", "eip:name:vip" */
	char *label; /* its display name: group name, address label */
	struct spec_loc loc;
	char *reason;

	/* Groups. */
	enum spec_lb_kind group_kind;
	char *tg_arn; /* target groups: the ARN the calls use */
	struct rc_member *members;
	size_t n_members;
	enum rc_until until;  /* RC_ACT_WAIT */
	uint64_t timeout_ms;  /* RC_ACT_WAIT */
	unsigned min_healthy; /* RC_ACT_DEREGISTER: floor, 0 = none */
	char **zones;	      /* RC_ACT_ENABLE_ZONES: sorted, distinct */
	size_t n_zones;

	/* Addresses. */
	char *allocation_id; /* NULL until allocated */
	char *public_ip;
	char *name;		/* RC_ACT_ALLOCATE: the Name tag */
	struct rc_binding from; /* current holder (move, disassociate) */
	struct rc_binding to;	/* associate, move */
	bool hijack;		/* bound to something the spec does not name */

	struct rc_precond *pre;
	size_t n_pre;
	unsigned *deps; /* ids of steps that must succeed first */
	size_t n_deps;
};

enum rc_note_level {
	RC_NOTE_INFO = 0,
	RC_NOTE_WARNING,
	RC_NOTE_ERROR,
};

struct rc_note {
	enum rc_note_level level;
	char *resource; /* label it concerns, or NULL */
	struct spec_loc loc;
	char *msg; /* one line, no trailing full stop */
};

struct rc_notes {
	char *path; /* spec path, for "PATH:LINE:COL: " */
	struct rc_note *v;
	size_t n;
	size_t n_errors;
};

void rc_notes_add(struct rc_notes *n, enum rc_note_level level,
		  const char *resource, struct spec_loc loc, const char *fmt,
		  ...) __attribute__((format(printf, 5, 6)));
void rc_notes_release(struct rc_notes *n);
struct buf;
/* Append "PATH:LINE:COL: message" (or without location) for note i. */
void rc_note_format(const struct rc_notes *n, size_t i, struct buf *out);

/* Per group, for the markdown summary table. */
struct rc_group_summary {
	char *label;
	enum spec_lb_kind kind;
	enum spec_ownership ownership;
	size_t before;	   /* present members now */
	size_t after;	   /* present members after apply */
	size_t healthy;	   /* healthy now */
	size_t undeclared; /* additive: present, not declared, left alone */
	size_t n_register, n_deregister;
};

/* Per address. */
struct rc_address_summary {
	char *label;
	char *public_ip; /* NULL if not allocated yet */
	char *from;	 /* current holder ("i-...", "eni-..."), NULL unbound */
	char *to;	 /* holder after apply, NULL unbound */
};

/*
 * A change the spec asks for that a guard keeps out of the plan: today,
 * healthy undeclared members min_healthy keeps registered.
 */
struct rc_held {
	enum rc_action action; /* what is held back: RC_ACT_DEREGISTER */
	char *key;	       /* the resource: "tg:web" */
	char *label;	       /* its display name */
	struct spec_loc loc;   /* the guard's line in the spec */
	const char *guard;     /* "min_healthy" (static) */
	struct rc_member *members;
	size_t n_members;
	unsigned floor; /* the guard's floor */
	size_t healthy; /* healthy members left by deregistering one */
	char *reason;	/* "deregistering i-... would leave 2 healthy..." */
};

struct rc_plan {
	int format_version;
	char *moor_version;
	char *spec_path;
	char spec_sha256[UTIL_SHA256_HEX_SIZE];
	/* The spec's bytes (NUL-terminated), NULL when not recorded. */
	char *spec_content;
	size_t spec_content_len;
	char **only; /* --only names the plan was made with */
	size_t n_only;
	/* Read from a file: its summary, as JSON (planfile.h); else NULL. */
	char *summary_json;
	char *region;  /* may be NULL */
	char *account; /* may be NULL */
	/* Fingerprint of everything observed (hash of `observed`). */
	char fingerprint[UTIL_SHA256_HEX_SIZE];
	struct rc_precond *observed; /* sorted by key */
	size_t n_observed;
	struct rc_step *steps;
	size_t n_steps;
	struct rc_held *held; /* changes held back by a guard */
	size_t n_held;
	struct rc_notes notes; /* warnings and infos */
	struct rc_group_summary *groups;
	size_t n_groups;
	struct rc_address_summary *addresses;
	size_t n_addresses;
};

struct rc_plan_counts {
	size_t changes; /* as --max-changes counts them */
	size_t allocate, register_members, deregister_members;
	size_t associate, move, disassociate;
	size_t enable_zones; /* zones enabled (all steps) */
	size_t waits;
	size_t held_back; /* members held back by a guard */
	size_t warnings, infos;
	size_t groups_changed, addresses_changed;
};

struct rc_plan_opts {
	/* --only: the groups / addresses to plan (indexed like the spec). */
	const bool *use_lb;  /* NULL = all */
	const bool *use_eip; /* NULL = all */
	bool allow_mass_deregister;
	/* --max-changes: a cap only when has_max_changes; 0 allows none. */
	bool has_max_changes;
	unsigned max_changes;
	const char *region; /* recorded in the plan; may be NULL */
	const char *moor_version;
	/* Recorded in the plan for moor apply PLAN; may be NULL / 0. */
	const char *spec_content;
	size_t spec_content_len;
	const char *const *only;
	size_t n_only;
	/*
	 * Failover: whether candidate i of e (instance `in`, which exists and
	 * is running) may hold the address.  NULL = every running candidate
	 * may (plan and apply do not probe; moor watch does and passes its
	 * verdicts here).
	 */
	bool (*candidate_ok)(void *ctx, const struct spec_eip *e, size_t i,
			     const struct prov_instance *in);
	void *candidate_ctx;
};

/*
 * Diff s against w.  On success *ret is a new plan (caller frees with
 * rc_plan_free()).  When a precondition or a guard fails, returns
 * UTIL_EINVAL with every problem in errors, followed by the plan's
 * warnings, which often explain them (errors must be zeroed by the caller
 * and released with rc_notes_release()), and a summary in err; *ret is
 * then not set.  w must have been observed with rc_reads_from_spec()
 * of the same s and selection.
 */
int rc_plan_build(const struct spec *s, const struct rc_world *w,
		  const struct rc_plan_opts *opts, struct rc_plan **ret,
		  struct rc_notes *errors, struct util_err *err);

void rc_plan_free(struct rc_plan *p);
void rc_plan_count(const struct rc_plan *p, struct rc_plan_counts *ret);
/* True when apply would change anything (waits alone are not changes). */
bool rc_plan_has_changes(const struct rc_plan *p);
/* True when live state differs from the spec: changes or held back. */
bool rc_plan_differs(const struct rc_plan *p);
/* Frees the contents of a held-back entry (for planfile.c). */
void rc_held_release(struct rc_held *h);
/* The name of a guard as rc_held.guard holds it, or NULL if unknown. */
const char *rc_guard_name(const char *s);
const struct rc_step *rc_plan_step(const struct rc_plan *p, unsigned id);
/* The observed fingerprint of key, or NULL. */
const char *rc_plan_observed(const struct rc_plan *p, const char *key);

/*
 * --only NAME...: mark the groups and addresses whose label is one of
 * names (spec_lb_label / the address's allocation id, public IP or name).
 * *ret_lb and *ret_eip are malloc'd arrays (caller frees).  UTIL_EINVAL
 * for a name the spec does not declare.
 */
int rc_select_only(const struct spec *s, const char *const *names, size_t n,
		   bool **ret_lb, bool **ret_eip, struct util_err *err);

/* Display label of an address (allocation id, public IP or name). */
const char *rc_eip_label(const struct spec_eip *e);

const char *rc_phase_name(enum rc_phase p);
const char *rc_action_name(enum rc_action a);
const char *rc_until_name(enum rc_until u);
/* Parsers for planfile.c: -1 for an unknown name. */
int rc_phase_parse(const char *s, enum rc_phase *ret);
int rc_action_parse(const char *s, enum rc_action *ret);
int rc_until_parse(const char *s, enum rc_until *ret);
/* Whether a step changes anything (every action but wait). */
bool rc_step_is_change(const struct rc_step *s);
/* How many changes a step counts for --max-changes. */
size_t rc_step_changes(const struct rc_step *s);

/* Frees the contents of a step (for planfile.c). */
void rc_step_release(struct rc_step *s);
/* Compute p->fingerprint from p->observed (sorts observed first). */
void rc_plan_seal(struct rc_plan *p);

#endif
