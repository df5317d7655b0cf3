#!/bin/sh
# make demo: moor end to end against tests/fakeaws, seeded with
# examples/demo-state.json and driven by examples/demo.yaml.
#
# Shows the two patterns (Multi-Server and Floating IP): validate, plan
# (text, then the markdown a pull request would get), apply, a change made
# by hand behind moor's back, the drift in the next plan, apply correcting
# it, and an Elastic IP moved to a pre-launched standby by editing one line.
# Exits 0 when every step did what it says, and leaves nothing running.
#
# tests/demo.sh ha (make demo-ha): two `moor watch --lease-table` replicas
# on the same spec instead: who holds the lease, kill -9 the holder, the
# other takes over and corrects drift, SIGTERM hands the lease back.
#
# Env: MOOR (the binary, default ./moor), PYTHON (default /usr/bin/python3).
set -eu

cd "$(dirname "$0")/.."
MOOR=${MOOR:-./moor}
case $MOOR in /*) ;; *) MOOR=$(pwd)/$MOOR ;; esac
PYTHON=${PYTHON:-/usr/bin/python3}
SPEC=examples/demo.yaml
APP1="i-0a1b2c3d4e5f60011"
APP2="i-0a1b2c3d4e5f60012"
WEB2="i-0a1b2c3d4e5f60002"
DEBUG="i-0a1b2c3d4e5f60099"
VIP=eipalloc-0a1b2c3d4e5f60010

MODE=${1:-main}
tmp=$(mktemp -d)
fake_pid=
replicas=
cleanup() {
	for p in $replicas; do
		kill -9 "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	B=$(printf '\033[1m') N=$(printf '\033[0m')
else
	B='' N=''
fi
n=0
step() {
	n=$((n + 1))
	printf '\n%s== %d. %s%s\n' "$B" "$n" "$1" "$N"
	shift
	printf '%s\n' "$*" | fold -s -w 76 | sed 's/^/   /'
	echo
}
show() {
	printf '$ %s\n' "$*"
}
die() {
	echo "demo: $*" >&2
	exit 1
}
# Run moor; its exit code must be $1.
moor_expect() {
	want=$1
	shift
	show "moor $*"
	rc=0
	"$MOOR" "$@" || rc=$?
	[ "$rc" = "$want" ] || die "moor $* exited $rc, expected $want"
}
control() { # METHOD PATH [JSON]
	curl -sf -X "$1" "$url/_fakeaws$2" ${3:+-H 'Content-Type: application/json' -d "$3"}
}
mutating() { # mutating calls fakeaws applied so far
	control GET /counters | "$PYTHON" -c \
		'import json,sys; print(json.load(sys.stdin)["totals"]["mutating_applied"])'
}
mutating_actions() {
	control GET /log | "$PYTHON" -c '
import json, sys
print(", ".join(e["service"] + ":" + e["action"]
                for e in json.load(sys.stdin)["entries"]
                if e["mutating"] and e["applied"]))'
}

[ -x "$MOOR" ] || die "no moor binary at $MOOR (run make first)"
command -v curl >/dev/null || die "curl is missing (make deps installs it)"

# --- start the fake AWS endpoint ---------------------------------------
# The demo's world, plus the lease table of `make demo-ha`.
"$PYTHON" -c '
import json, sys
st = json.load(open("examples/demo-state.json"))
st["dynamodb_tables"] = [{"name": "moor-leases",
    "key_schema": [{"AttributeName": "name", "KeyType": "HASH"}],
    "attribute_definitions": [{"AttributeName": "name", "AttributeType": "S"}],
    "billing_mode": "PAY_PER_REQUEST"}]
json.dump(st, open(sys.argv[1], "w"))' "$tmp/state.json"
"$PYTHON" tests/fakeaws/server.py --port 0 --state "$tmp/state.json" \
	>"$tmp/fake.out" 2>"$tmp/fake.err" &
fake_pid=$!
i=0
until grep -q '^listening on ' "$tmp/fake.out" 2>/dev/null; do
	kill -0 "$fake_pid" 2>/dev/null ||
		{ cat "$tmp/fake.err" >&2; die "fakeaws did not start"; }
	i=$((i + 1))
	[ "$i" -lt 300 ] || die "fakeaws did not start in 30s"
	sleep 0.1
done
port=$(sed -n 's/^listening on .*:\([0-9][0-9]*\)$/\1/p' "$tmp/fake.out")
url=http://127.0.0.1:$port

# moor finds AWS the standard way; here everything points at the fake.
export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 \
	AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	AWS_ACCESS_KEY_ID=AKIAFAKEAWSEXAMPLE01 \
	AWS_SECRET_ACCESS_KEY=fakeAWS/secret/EXAMPLE+KEY/0000000000001 \
	AWS_CONFIG_FILE="$tmp/no-config" \
	AWS_SHARED_CREDENTIALS_FILE="$tmp/no-credentials" \
	AWS_PAGER=
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE 2>/dev/null || true

if [ "$MODE" = ha ]; then
	. tests/demo-ha.sh
	exit 0
fi

printf '%smoor demo%s: a fake AWS endpoint is listening on %s, seeded with\n' \
	"$B" "$N" "$url"
echo "examples/demo-state.json: a Classic ELB and a target group with old"
echo "members, web instances tagged role=web, app-1 and its standby app-2"
echo "behind app-tg, and the unbound Elastic IP vip-app."

step "Validate the spec" \
	"moor validate checks the YAML offline (shape, ids, durations, \
conflicts) and contacts nothing."
show "cat $SPEC"
sed 's/^/    /' "$SPEC"
moor_expect 0 validate "$SPEC"

step "Plan" \
	"moor plan reads only what the spec names and prints the steps apply \
would take, in the order that keeps capacity: allocate, register, wait for \
health, bind addresses, and only then deregister the old member web-0."
moor_expect 0 plan "$SPEC"

step "The same plan for a pull request" \
	"In CI, --format markdown gives a comment: one table per load \
balancer, the address moves, and every step in a collapsible block."
moor_expect 0 plan "$SPEC" --format markdown

step "Apply" \
	"moor apply plans again and applies: the new members are registered \
and waited for until healthy before web-0 leaves, and vip-app is bound to \
app-1 (--yes because this script has no terminal to ask on)."
moor_expect 0 apply "$SPEC" --yes

step "Converged" \
	"Planning again finds nothing to do: --detailed-exitcode exits 0 (2 \
would mean changes), and fakeaws counted no change made by that plan."
before=$(mutating)
moor_expect 0 plan "$SPEC" --detailed-exitcode
[ "$(mutating)" = "$before" ] || die "a no-op plan changed something"

step "A change by hand, behind moor's back" \
	"Someone takes web-2 out of the target group and points vip-app at \
a debug box, with the AWS CLI (the console would do the same)."
if [ -x /usr/bin/aws ]; then
	aws() { /usr/bin/aws --endpoint-url "$url" --region us-east-1 "$@"; }
	show "aws elbv2 describe-target-groups --names web-tg ..."
	arn=$(aws elbv2 describe-target-groups --names web-tg \
		--query 'TargetGroups[0].TargetGroupArn' --output text)
	show "aws elbv2 deregister-targets --target-group-arn $arn --targets Id=$WEB2"
	aws elbv2 deregister-targets --target-group-arn "$arn" \
		--targets "Id=$WEB2" >/dev/null
	show "aws ec2 associate-address --allocation-id $VIP --instance-id $DEBUG"
	aws ec2 associate-address --allocation-id "$VIP" \
		--instance-id "$DEBUG" >/dev/null
else
	echo "(no /usr/bin/aws: using the fake's control API instead)"
	show "curl -X POST $url/_fakeaws/target-groups/deregister ..."
	control POST /target-groups/deregister \
		"{\"target_group\": \"web-tg\", \"targets\": [{\"id\": \"$WEB2\"}]}" >/dev/null
	show "curl -X POST $url/_fakeaws/addresses/associate ..."
	control POST /addresses/associate \
		"{\"allocation_id\": \"$VIP\", \"instance_id\": \"$DEBUG\"}" >/dev/null
fi

step "Plan shows the drift" \
	"The missing member is back in the plan (declared, not registered), and \
the address bound to an instance the spec does not name is reported as a \
hijack, to be moved back. --detailed-exitcode exits 2: there are changes."
moor_expect 2 plan "$SPEC" --detailed-exitcode

step "Apply corrects it" \
	"Same command as before; moor works out what to do from what is live."
moor_expect 0 apply "$SPEC" --yes
moor_expect 0 plan "$SPEC" --detailed-exitcode

step "Move the floating IP to the standby: one line" \
	"app-2 is already running. Point vip-app at it by editing one line \
of the spec:"
mkdir "$tmp/edited"
cp "$SPEC" "$tmp/demo.yaml"
sed "s/instance: $APP1  # app-1/instance: $APP2  # app-2, the standby/" \
	"$SPEC" >"$tmp/edited/demo.yaml"
(cd "$tmp" && diff -u demo.yaml edited/demo.yaml) | sed 's/^/    /' || true
cmp -s "$SPEC" "$tmp/edited/demo.yaml" && die "the edit did not apply"
# From here on, the edited copy (as if edited in place).
cd "$tmp/edited"
standby=demo.yaml

step "Plan shows one move" \
	"One ~ step: a single AssociateAddress with reassociation allowed, so \
the address goes straight from app-1 to app-2 and is never unattached."
moor_expect 2 plan "$standby" --detailed-exitcode

step "Apply the move" \
	"moor checks that app-2 is running just before the call, then moves \
the address."
control POST /counters/reset >/dev/null
moor_expect 0 apply "$standby" --yes
actions=$(mutating_actions)
echo
echo "fakeaws saw exactly these changes: $actions"
[ "$actions" = "ec2:AssociateAddress" ] ||
	die "expected one AssociateAddress, got: $actions"
moor_expect 0 plan "$standby" --detailed-exitcode

step "Done" \
	"That was moor: validate, plan, apply, drift found and corrected, and \
a floating IP moved with one call. The fake endpoint is stopped now; \
nothing is left running."
