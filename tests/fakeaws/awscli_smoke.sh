#!/usr/bin/env bash
# Drive fakeaws with Debian's AWS CLI v2 through every operation it serves.
# A response the real CLI cannot parse is a bug in the fake.
#
# Debian's CLI (2.9.19) predates AWS_ENDPOINT_URL; the variable is set for
# newer CLIs and --endpoint-url is passed as well.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
AWS=${AWS_CLI:-/usr/bin/aws}
if [ ! -x "$AWS" ]; then
	echo "awscli_smoke: $AWS not found (run 'make deps')" >&2
	exit 1
fi

work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# --- state: 12 web instances, one in another VPC, one with two ENIs ---------
"$PYTHON" - "$work/state.json" <<'EOF'
import json, sys
vpc = "vpc-0123456789abcdef0"
inst = [{"id": "i-%017x" % (0xa0 + n), "tags": {"role": "web", "Name": "web%d" % n},
         "vpc_id": vpc, "availability_zone": "us-east-1a"} for n in range(12)]
inst.append({"id": "i-0bbbbbbbbbbbbbbb1", "tags": {"role": "other"},
             "vpc_id": "vpc-0fffffffffffffff0"})
inst.append({"id": "i-0bbbbbbbbbbbbbbb2", "tags": {"role": "db"}, "vpc_id": vpc,
             "network_interfaces": [{"id": "eni-0bbbbbbbbbbbbbbb2",
                                     "private_ips": ["10.0.9.10", "10.0.9.11"]},
                                    {"private_ips": ["10.0.9.20"]}]})
state = {
    "config": {"classic_health_delay_seconds": 0,
               "target_health_delay_seconds": 0,
               "deregistration_delay_scale": 0},
    "instances": inst,
    "classic_load_balancers": [
        {"name": "web-classic", "vpc_id": vpc,
         "availability_zones": ["us-east-1a"],
         "connection_draining": {"enabled": True, "timeout": 300}}] +
        [{"name": "extra%d" % n} for n in range(4)],
    "target_groups": [{"name": "web-tg", "vpc_id": vpc, "port": 8080}] +
        [{"name": "extra-tg%d" % n} for n in range(3)],
}
json.dump(state, open(sys.argv[1], "w"))
EOF

"$PYTHON" "$here/server.py" --port 0 --state "$work/state.json" >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do
	[ -s "$work/server.out" ] && break
	sleep 0.1
done
line=$(head -n1 "$work/server.out")
case "$line" in
"listening on "*) ;;
*)
	echo "awscli_smoke: server did not start: $line" >&2
	cat "$work/server.err" >&2
	exit 1
	;;
esac
port=${line##*:}
URL="http://127.0.0.1:$port"

# --- a private CLI configuration ---------------------------------------------
export HOME="$work/home"
mkdir -p "$HOME/.aws"
cat >"$HOME/.aws/config" <<EOF
[default]
region = us-east-1
output = json

[profile session]
region = us-east-1

[profile wrong]
region = us-east-1
EOF
cat >"$HOME/.aws/credentials" <<EOF
[default]
aws_access_key_id = AKIAFAKEAWSEXAMPLE01
aws_secret_access_key = fakeAWS/secret/EXAMPLE+KEY/0000000000001

[session]
aws_access_key_id = ASIAFAKEAWSSESSION01
aws_secret_access_key = fakeAWS/session/EXAMPLE+KEY/00000000001
aws_session_token = FakeAwsSessionTokenEXAMPLE//0001+tokentokentokentoken=

[wrong]
aws_access_key_id = AKIAFAKEAWSEXAMPLE01
aws_secret_access_key = not-the-right-secret
EOF
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_REGION
export AWS_ENDPOINT_URL="$URL" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" \
	AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1

aws() { "$AWS" --endpoint-url "$URL" "$@"; }
ctl() { curl -sf -X "$1" "$URL/_fakeaws$2" ${3:+-d "$3"}; }
jq_py() { "$PYTHON" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
bad() {
	failed=$((failed + 1))
	echo "FAIL $1" >&2
}
# expect NAME EXPECTED ACTUAL
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi
}
# expect_error NAME CODE command...
expect_error() {
	local name=$1 code=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		bad "$name: succeeded, expected $code"
	elif grep -q "($code)" <<<"$out"; then
		ok "$name"
	else
		bad "$name: expected $code, got: $out"
	fi
}

# --- STS and credentials -------------------------------------------------------
expect "sts get-caller-identity" 123456789012 \
	"$(aws sts get-caller-identity --query Account --output text)"
expect "session-token profile" \
	"arn:aws:sts::123456789012:assumed-role/moor-test-role/session" \
	"$(aws --profile session sts get-caller-identity --query Arn --output text)"
expect_error "wrong secret" SignatureDoesNotMatch \
	aws --profile wrong ec2 describe-instances
expect_error "wrong secret (sts)" SignatureDoesNotMatch \
	aws --profile wrong sts get-caller-identity

creds=$(aws sts assume-role --role-arn arn:aws:iam::123456789012:role/deploy \
	--role-session-name smoke --duration-seconds 900 --output json)
arn=$(AWS_ACCESS_KEY_ID=$(jq_py 'd["Credentials"]["AccessKeyId"]' <<<"$creds") \
	AWS_SECRET_ACCESS_KEY=$(jq_py 'd["Credentials"]["SecretAccessKey"]' <<<"$creds") \
	AWS_SESSION_TOKEN=$(jq_py 'd["Credentials"]["SessionToken"]' <<<"$creds") \
	aws sts get-caller-identity --query Arn --output text)
expect "assume-role credentials work" \
	"arn:aws:sts::123456789012:assumed-role/deploy/smoke" "$arn"
expect "assume-role-with-web-identity (unsigned)" smoke-web \
	"$(aws sts assume-role-with-web-identity \
		--role-arn arn:aws:iam::123456789012:role/web \
		--role-session-name smoke-web \
		--web-identity-token fake-web-identity-token \
		--query 'AssumedRoleUser.Arn' --output text | sed 's#.*/##')"
expect_error "bad web identity token" InvalidIdentityToken \
	aws sts assume-role-with-web-identity \
	--role-arn arn:aws:iam::123456789012:role/web \
	--role-session-name smoke-web --web-identity-token wrong-token

# --- EC2 -------------------------------------------------------------------------
expect "describe-instances tag filter" 12 \
	"$(aws ec2 describe-instances --filters Name=tag:role,Values=web \
		--query 'length(Reservations[].Instances[])' --output text)"
expect "describe-instances by id" "running vpc-0123456789abcdef0" \
	"$(aws ec2 describe-instances --instance-ids i-000000000000000a3 \
		--query 'Reservations[0].Instances[0].[State.Name,VpcId]' --output text | tr '\t' ' ')"
ctl POST /counters/reset '{}' >/dev/null
expect "describe-instances paginated (page size 5)" 14 \
	"$(aws ec2 describe-instances --page-size 5 \
		--query 'length(Reservations[].Instances[])' --output json)"
expect "  ... in 3 DescribeInstances calls" 3 \
	"$(ctl GET /counters | jq_py 'd["by_action"]["ec2:DescribeInstances"]["count"]')"
expect "describe-instances --max-items gives a NextToken" True \
	"$(aws ec2 describe-instances --max-items 3 --page-size 5 --output json |
		jq_py '"NextToken" in d')"
expect_error "describe-instances bad id" InvalidInstanceID.Malformed \
	aws ec2 describe-instances --instance-ids i-zzz
expect_error "describe-instances unknown id" InvalidInstanceID.NotFound \
	aws ec2 describe-instances --instance-ids i-0123456789abcdef0
expect "describe-instance-status" 14 \
	"$(aws ec2 describe-instance-status --include-all-instances \
		--query 'length(InstanceStatuses)' --output text)"
ctl POST /instances/state '{"id": "i-000000000000000a0", "state": "stopped"}' >/dev/null
expect "describe-instance-status (running only)" 13 \
	"$(aws ec2 describe-instance-status --query 'length(InstanceStatuses)' --output text)"
expect "describe-network-interfaces" "10.0.9.10 10.0.9.11" \
	"$(aws ec2 describe-network-interfaces \
		--filters Name=attachment.instance-id,Values=i-0bbbbbbbbbbbbbbb2 \
		--query 'NetworkInterfaces[?Attachment.DeviceIndex==`0`].PrivateIpAddresses[].PrivateIpAddress' \
		--output text | tr '\t' ' ')"
expect "describe-vpcs (isDefault)" \
	"vpc-0123456789abcdef0 False vpc-0a0a0a0a0a0a0a0a0 True" \
	"$(aws ec2 describe-vpcs --vpc-ids vpc-0a0a0a0a0a0a0a0a0 vpc-0123456789abcdef0 \
		--query 'Vpcs[].[VpcId,IsDefault]' --output text | tr '\t\n' '  ' | sed 's/ $//')"
expect "describe-vpcs is-default filter" vpc-0a0a0a0a0a0a0a0a0 \
	"$(aws ec2 describe-vpcs --filters Name=is-default,Values=true \
		--query 'Vpcs[].VpcId' --output text)"
expect_error "describe-vpcs unknown id" InvalidVpcID.NotFound \
	aws ec2 describe-vpcs --vpc-ids vpc-0eeeeeeeeeeeeeeee

alloc=$(aws ec2 allocate-address --domain vpc \
	--tag-specifications 'ResourceType=elastic-ip,Tags=[{Key=Name,Value=vip-smoke}]' \
	--query AllocationId --output text)
case "$alloc" in eipalloc-*) ok "allocate-address" ;; *) bad "allocate-address: $alloc" ;; esac
assoc=$(aws ec2 associate-address --allocation-id "$alloc" \
	--instance-id i-000000000000000a1 --query AssociationId --output text)
expect "associate-address + describe-addresses tag filter" i-000000000000000a1 \
	"$(aws ec2 describe-addresses --filters Name=tag:Name,Values=vip-smoke \
		--query 'Addresses[0].InstanceId' --output text)"
expect_error "associate-address --no-allow-reassociation" Resource.AlreadyAssociated \
	aws ec2 associate-address --allocation-id "$alloc" \
	--instance-id i-000000000000000a2 --no-allow-reassociation
expect_error "associate-address multi-ENI instance" InvalidInstanceID \
	aws ec2 associate-address --allocation-id "$alloc" --instance-id i-0bbbbbbbbbbbbbbb2
aws ec2 associate-address --allocation-id "$alloc" \
	--network-interface-id eni-0bbbbbbbbbbbbbbb2 --private-ip-address 10.0.9.11 \
	--allow-reassociation >/dev/null
expect "associate-address ENI + private IP" "eni-0bbbbbbbbbbbbbbb2 10.0.9.11" \
	"$(aws ec2 describe-addresses --allocation-ids "$alloc" \
		--query 'Addresses[0].[NetworkInterfaceId,PrivateIpAddress]' --output text | tr '\t' ' ')"
assoc=$(aws ec2 describe-addresses --public-ips \
	"$(aws ec2 describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].PublicIp' --output text)" \
	--query 'Addresses[0].AssociationId' --output text)
aws ec2 disassociate-address --association-id "$assoc"
expect "disassociate-address" None \
	"$(aws ec2 describe-addresses --allocation-ids "$alloc" --query 'Addresses[0].InstanceId' --output text)"
expect_error "disassociate unknown association" InvalidAssociationID.NotFound \
	aws ec2 disassociate-address --association-id "$assoc"
aws ec2 release-address --allocation-id "$alloc"
expect "release-address" 0 \
	"$(aws ec2 describe-addresses --query 'length(Addresses)' --output text)"

# --- Classic ELB --------------------------------------------------------------------
# For ELB the CLI's --page-size is the API's own PageSize, which turns its
# auto-pagination off; page by hand with --marker as a script would.
# manual_pages CMD... : prints "<pages> <items>" following NextMarker.
manual_pages() {
	local key=$1 pages=0 items=0 marker="" out
	shift
	while :; do
		if [ -n "$marker" ]; then
			out=$(aws "$@" --output json --marker "$marker")
		else
			out=$(aws "$@" --output json)
		fi
		pages=$((pages + 1))
		items=$((items + $(jq_py "len(d['$key'])" <<<"$out")))
		marker=$(jq_py "d.get('NextMarker') or ''" <<<"$out")
		[ -n "$marker" ] || break
	done
	echo "$pages $items"
}
expect "elb describe-load-balancers (Marker/PageSize 2)" "3 5" \
	"$(manual_pages LoadBalancerDescriptions elb describe-load-balancers --page-size 2)"
expect "elb register-instances" "i-000000000000000a1 i-000000000000000a2" \
	"$(aws elb register-instances-with-load-balancer --load-balancer-name web-classic \
		--instances i-000000000000000a1 i-000000000000000a2 \
		--query 'Instances[].InstanceId' --output text | tr '\t' ' ')"
expect "elb describe-instance-health" "InService InService" \
	"$(aws elb describe-instance-health --load-balancer-name web-classic \
		--query 'InstanceStates[].State' --output text | tr '\t' ' ')"
expect_error "elb register other-VPC instance" InvalidInstance \
	aws elb register-instances-with-load-balancer --load-balancer-name web-classic \
	--instances i-0bbbbbbbbbbbbbbb1
expect_error "elb unknown load balancer" LoadBalancerNotFound \
	aws elb describe-instance-health --load-balancer-name nope
expect_error "elb enable-availability-zones outside the default VPC" \
	InvalidConfigurationRequest \
	aws elb enable-availability-zones-for-load-balancer \
	--load-balancer-name web-classic --availability-zones us-east-1b
expect "elb enable-availability-zones (default VPC)" "us-east-1a us-east-1b" \
	"$(aws elb enable-availability-zones-for-load-balancer \
		--load-balancer-name extra0 --availability-zones us-east-1b \
		--query 'AvailabilityZones' --output text | tr '\t' ' ')"
expect "elb deregister-instances" i-000000000000000a2 \
	"$(aws elb deregister-instances-from-load-balancer --load-balancer-name web-classic \
		--instances i-000000000000000a1 --query 'Instances[].InstanceId' --output text)"
expect "elb describe-load-balancer-attributes" "True 300" \
	"$(aws elb describe-load-balancer-attributes --load-balancer-name web-classic \
		--query 'LoadBalancerAttributes.ConnectionDraining.[Enabled,Timeout]' \
		--output text | tr '\t' ' ')"

# --- ELBv2 ----------------------------------------------------------------------------
tg=$(aws elbv2 describe-target-groups --names web-tg \
	--query 'TargetGroups[0].TargetGroupArn' --output text)
case "$tg" in arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-tg/*) ok "elbv2 describe-target-groups --names" ;;
*) bad "elbv2 describe-target-groups: $tg" ;; esac
expect "elbv2 describe-target-groups (Marker/PageSize 1)" "4 4" \
	"$(manual_pages TargetGroups elbv2 describe-target-groups --page-size 1)"
aws elbv2 register-targets --target-group-arn "$tg" \
	--targets Id=i-000000000000000a1 Id=i-000000000000000a1,Port=9090
expect "elbv2 register-targets + describe-target-health" "8080 healthy 9090 healthy" \
	"$(aws elbv2 describe-target-health --target-group-arn "$tg" \
		--query 'TargetHealthDescriptions[].[Target.Port,TargetHealth.State]' \
		--output text | tr '\t\n' '  ' | sed 's/ $//')"
expect_error "elbv2 register stopped instance" InvalidTarget \
	aws elbv2 register-targets --target-group-arn "$tg" --targets Id=i-000000000000000a0
expect "elbv2 describe-target-group-attributes" 300 \
	"$(aws elbv2 describe-target-group-attributes --target-group-arn "$tg" \
		--query "Attributes[?Key=='deregistration_delay.timeout_seconds'].Value" --output text)"
aws elbv2 deregister-targets --target-group-arn "$tg" --targets Id=i-000000000000000a1,Port=9090
expect "elbv2 deregister-targets" 8080 \
	"$(aws elbv2 describe-target-health --target-group-arn "$tg" \
		--query 'TargetHealthDescriptions[].Target.Port' --output text)"
expect "elbv2 describe-load-balancers" 4 \
	"$(aws elbv2 describe-load-balancers --query 'length(LoadBalancers)' --output text)"
expect_error "elbv2 unknown target group" TargetGroupNotFound \
	aws elbv2 describe-target-groups --names nope

# --- DynamoDB (JSON 1.0, routed by X-Amz-Target on the same endpoint) -------------
export AWS_ENDPOINT_URL_DYNAMODB="$URL"
expect "dynamodb create-table (on-demand)" ACTIVE \
	"$(aws dynamodb create-table --table-name moor-leases \
		--attribute-definitions AttributeName=name,AttributeType=S \
		--key-schema AttributeName=name,KeyType=HASH \
		--billing-mode PAY_PER_REQUEST \
		--query TableDescription.TableStatus --output text)"
expect "dynamodb describe-table" "name HASH PAY_PER_REQUEST" \
	"$(aws dynamodb describe-table --table-name moor-leases \
		--query 'Table.[KeySchema[0].AttributeName,KeySchema[0].KeyType,BillingModeSummary.BillingMode]' \
		--output text | tr '\t' ' ')"
aws dynamodb put-item --table-name moor-leases \
	--item '{"name": {"S": "web"}, "holder": {"S": "r1"}, "rvn": {"S": "v1"}}' \
	--condition-expression 'attribute_not_exists(#n)' \
	--expression-attribute-names '{"#n": "name"}'
ok "dynamodb put-item with condition"
expect_error "dynamodb put-item, condition fails" ConditionalCheckFailedException \
	aws dynamodb put-item --table-name moor-leases \
	--item '{"name": {"S": "web"}, "holder": {"S": "r2"}}' \
	--condition-expression 'attribute_not_exists(#n)' \
	--expression-attribute-names '{"#n": "name"}'
expect "dynamodb update-item (renew, ALL_NEW)" "r1 v2 1" \
	"$(aws dynamodb update-item --table-name moor-leases \
		--key '{"name": {"S": "web"}}' \
		--update-expression 'SET rvn = :new, beats = if_not_exists(beats, :z) + :one' \
		--condition-expression 'holder = :me AND rvn = :mine' \
		--expression-attribute-values '{":new": {"S": "v2"}, ":me": {"S": "r1"}, ":mine": {"S": "v1"}, ":z": {"N": "0"}, ":one": {"N": "1"}}' \
		--return-values ALL_NEW \
		--query 'Attributes.[holder.S,rvn.S,beats.N]' --output text | tr '\t' ' ')"
expect_error "dynamodb update-item, malformed expression" ValidationException \
	aws dynamodb update-item --table-name moor-leases --key '{"name": {"S": "web"}}' \
	--update-expression 'SET rvn = = :v' --expression-attribute-values '{":v": {"S": "x"}}'
for n in 1 2 3 4; do
	aws dynamodb put-item --table-name moor-leases --item "{\"name\": {\"S\": \"spec$n\"}}"
done
ctl POST /counters/reset '{}' >/dev/null
expect "dynamodb scan (paginated, page size 2)" 5 \
	"$(aws dynamodb scan --table-name moor-leases --page-size 2 --query 'length(Items)' --output json)"
expect "  ... in 3 Scan calls" 3 \
	"$(ctl GET /counters | jq_py 'd["by_action"]["dynamodb:Scan"]["count"]')"
expect "dynamodb get-item --consistent-read" r1 \
	"$(aws dynamodb get-item --table-name moor-leases --key '{"name": {"S": "web"}}' \
		--consistent-read --query 'Item.holder.S' --output text)"
expect_error "dynamodb wrong secret" InvalidSignatureException \
	aws --profile wrong dynamodb describe-table --table-name moor-leases
expect_error "dynamodb missing table" ResourceNotFoundException \
	aws dynamodb describe-table --table-name nope

# --- faults: the CLI's own retries get through throttling ------------------------
ctl PUT /faults '{"actions": {"ec2:DescribeAddresses": {"script": ["throttle", "throttle"]}}}' >/dev/null
ctl POST /counters/reset '{}' >/dev/null
expect "CLI retries through RequestLimitExceeded" 0 \
	"$(AWS_MAX_ATTEMPTS=3 aws ec2 describe-addresses --query 'length(Addresses)' --output text)"
expect "  ... after 3 attempts" 3 \
	"$(ctl GET /counters | jq_py 'd["by_action"]["ec2:DescribeAddresses"]["count"]')"
ctl DELETE /faults >/dev/null

echo "awscli_smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
