#ifndef RECONCILER_DAEMON_AWSPROBE_H
#define RECONCILER_DAEMON_AWSPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "reconciler/daemon/evloop.h"
#include "spec/spec.h"
#include "util/err.h"

/*
 * The probes of `moor watch` that read AWS instead of reaching the
 * candidate (spec kinds target_health, instance_health, instance_status):
 * the load balancer's own health checks, or EC2's status checks, become
 * the candidate's verdict, so moor needs no route to the instances.
 *
 * A round reads each resource once, whatever the number of candidates
 * asking about it: one DescribeTargetHealth per target group, one
 * DescribeInstanceHealth per Classic ELB, one DescribeInstanceStatus for
 * every instance (the provider chunks it at the API's limit).  The reads
 * go through the provider, so its rate limiter paces them.
 *
 * Verdicts (AWS's words):
 *
 *   target_health    healthy: up.  unhealthy, unused, or no such target
 *                    or group: down.  initial, draining: keep the last
 *                    verdict (the group does not know yet / the target is
 *                    leaving on purpose).  unavailable (health checks
 *                    disabled): keep, there is no signal.
 *   instance_health  InService: up.  OutOfService, or not a member, or
 *                    no such ELB: down.  Unknown (registration in
 *                    progress, or ELB cannot tell): keep.
 *   instance_status  running with system and instance status both ok: up.
 *                    Either impaired, or not running, or unknown to EC2:
 *                    down.  Either initializing or insufficient-data (the
 *                    checks have not concluded): keep.
 *
 * A read that fails (throttled, no answer) says nothing about the
 * candidate: keep, with the error as the result.
 */

enum rc_aws_verdict {
	RC_AWS_KEEP = 0,
	RC_AWS_UP,
	RC_AWS_DOWN,
};

const char *rc_aws_verdict_name(enum rc_aws_verdict v);

/*
 * The verdict on instance from one read (NULL: the group, ELB or every
 * status is absent); detail receives what it was read as.
 */
enum rc_aws_verdict rc_aws_target_verdict(const struct prov_target_group *tg,
					  const char *instance, char *detail,
					  size_t size);
enum rc_aws_verdict rc_aws_classic_verdict(const struct prov_classic_lb *lb,
					   const char *instance, char *detail,
					   size_t size);
enum rc_aws_verdict rc_aws_status_verdict(
	const struct prov_instance_status_list *l, const char *instance,
	char *detail, size_t size);

/* One candidate's question of a round. */
struct rc_aws_ask {
	enum spec_probe_kind kind; /* one that spec_probe_reads_aws() */
	const char *ref;	   /* group or ELB; NULL for status */
	const char *instance;
	size_t cand; /* the caller's index, carried through */
	/* answer */
	enum rc_aws_verdict verdict;
	bool read_failed; /* KEEP because the read failed */
	char detail[160];
};

/*
 * Answer every ask with one read per resource (see above).  Blocks on the
 * provider: run it off the event loop.  Returns the number of reads.
 */
size_t rc_aws_round(struct prov *p, struct rc_aws_ask *asks, size_t n);

/* Reads one round of asks costs, per read bucket. */
struct rc_aws_reads {
	size_t elbv2; /* DescribeTargetHealth: one per group */
	size_t elb;   /* DescribeInstanceHealth: one per Classic ELB */
	size_t ec2;   /* DescribeInstanceStatus: one per 100 instances */
};

void rc_aws_count_reads(const struct rc_aws_ask *asks, size_t n,
			struct rc_aws_reads *ret);

/* "target_health web-tg", "instance_status ok".  Caller frees. */
char *rc_aws_describe(const struct spec_probe *sp);

/*
 * The read budget of the AWS probes: the refill per second of each bucket
 * they spend (AWS-PROTOCOL.md section 7; <= 0 = not checked).
 * Target health reads take from the ELBv2 and the account-wide ELB
 * buckets, instance health from the Classic ELB and the account-wide
 * ones, status from EC2's DescribeInstanceStatus bucket.
 */
struct rc_aws_budget {
	double ec2, elb, elbv2, elb_account;
	/* Of each refill moor may spend (--read-budget); 0 = the default. */
	double share;
};

#define RC_AWS_DEFAULT_SHARE 0.5

/*
 * --read-budget's SHARE: "0.25" or "25%", 0 < SHARE <= 1.  UTIL_EINVAL
 * (saying why) otherwise.
 */
int rc_aws_parse_share(const char *arg, double *ret, struct util_err *err);

/* Each ELB bucket's share of its refill spent (0..1, 0 when unchecked). */
struct rc_aws_share {
	double elb, elbv2, elb_account;
};

/*
 * The resync period that the reads of s fit in: a full observe per
 * period (DescribeLoadBalancers and a DescribeInstanceHealth per Classic
 * ELB; DescribeTargetGroups and a DescribeTargetHealth per target group)
 * plus the AWS probes' reads, within the share of each ELB bucket's
 * refill.  resync_ms when they fit, else the shortest period that does:
 * a resync bunching more reads is spread over a longer period.  used
 * receives each bucket's share spent at the returned period.
 */
uint64_t rc_aws_resync_fit(const struct spec *s, const struct rc_aws_budget *b,
			   uint64_t resync_ms, struct rc_aws_share *used);

/*
 * UTIL_EINVAL (at the failover block spending most, with the arithmetic)
 * when the probe reads of s, each block's at its interval, would take
 * more than the budget's share (default half) of a bucket's refill: the
 * rest is left for everything else using the account.  0 when they fit.
 */
int rc_aws_budget_check(const struct spec *s, const struct rc_aws_budget *b,
			struct util_err *err);

/*
 * Rounds off the loop: a thread runs them and the loop gets each answer
 * back through an eventfd.  Asks submitted while a round runs are read
 * together in the next one.
 */
struct rc_awsprober;
struct rc_aws_sub;

/* Called on the loop thread with the asks answered (valid during it). */
typedef void (*rc_aws_done_fn)(void *ctx, struct rc_aws_ask *asks, size_t n);

/* p is borrowed and must outlive the prober. */
int rc_awsprober_new(struct rc_evloop *l, struct prov *p,
		     struct rc_awsprober **ret, struct util_err *err);
/* Waits for the round in progress; no callbacks.  Accepts NULL. */
void rc_awsprober_free(struct rc_awsprober *ap);
/*
 * Queue asks (copied, strings too); fn(ctx, ...) runs once on the loop with the answers
 * unless canceled first.  The handle is valid until then.
 */
struct rc_aws_sub *rc_awsprober_submit(struct rc_awsprober *ap,
				       const struct rc_aws_ask *asks, size_t n,
				       rc_aws_done_fn fn, void *ctx);
/* Its callback will not run.  Loop thread only; accepts NULL. */
void rc_aws_sub_cancel(struct rc_aws_sub *s);

#endif
