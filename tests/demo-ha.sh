# make demo-ha: sourced by tests/demo.sh (its fake, environment and
# helpers) to show two `moor watch --lease-table` replicas on one spec.
SPEC_HA=$(pwd)/examples/demo.yaml
DUR=4s

holder() { # the holder of the demo spec's lease, or "-"
	"$MOOR" leases moor-leases --format json | "$PYTHON" -c '
import json, sys
h = [l["holder"] for l in json.load(sys.stdin)
     if l["name"] == "demo" and l["live"]]
print(h[0] if h and h[0] else "-")'
}
wait_holder() { # until the holder is not $1 (nor "-"); 30 s at most
	i=0
	while h=$(holder) && { [ "$h" = "$1" ] || [ "$h" = - ]; }; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || die "no new lease holder after 30s"
		sleep 0.1
	done
	echo "$h"
}
start_replica() { # ID
	show "moor watch examples/demo.yaml --lease-table moor-leases --lease-duration $DUR --replica-id $1 &"
	"$MOOR" watch "$SPEC_HA" --lease-table moor-leases \
		--lease-duration "$DUR" --replica-id "$1" \
		--resync 2s 2>"$tmp/$1.log" &
	eval "pid_$1=$!"
	replicas="$replicas $!"
}

printf '%smoor demo-ha%s: a fake AWS endpoint is listening on %s, seeded\n' \
	"$B" "$N" "$url"
echo "with examples/demo-state.json and an empty lease table, moor-leases"
echo "(one string partition key, name)."

step "Two replicas" \
	"Two moor watch processes run the same spec with the same lease \
table, as two machines would. The spec's lease is named after the file \
(demo); one replica holds it and reconciles, the other observes and \
probes, ready to take over."
start_replica a
start_replica b
first=$(wait_holder -)
moor_expect 0 leases moor-leases
eval "victim=\$pid_$first"

step "kill -9 the holder" \
	"No release this time: the other replica takes the lease over once \
it has seen the same record version for a whole lease duration ($DUR) \
on its own clock, never trusting the dead one's wall clock."
show "kill -9 $victim   # replica $first"
kill -9 "$victim"
wait "$victim" 2>/dev/null || true
second=$(wait_holder "$first")
moor_expect 0 leases moor-leases
[ "$second" != "$first" ] || die "the dead replica still holds the lease"

step "The new holder corrects drift" \
	"web-2 is taken out of web-tg by hand; the next resync of the new \
holder registers it again."
show "curl -X POST $url/_fakeaws/target-groups/deregister ..."
control POST /target-groups/deregister \
	"{\"target_group\": \"web-tg\", \"targets\": [{\"id\": \"$WEB2\"}]}" >/dev/null
i=0
until grep -q "drift_corrected web-tg" "$tmp/$second.log"; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || die "the drift was not corrected in 30s"
	sleep 0.1
done
grep "drift_corrected web-tg" "$tmp/$second.log" | head -n 1 | sed 's/^/    /'

step "SIGTERM hands the lease back" \
	"A clean stop releases the lease with a conditional write, so a \
restarted or upgraded replica is replaced at once instead of after a \
lease duration."
eval "pid=\$pid_$second"
show "kill -TERM $pid   # replica $second"
kill -TERM "$pid"
wait "$pid" || die "replica $second did not exit 0"
moor_expect 0 leases moor-leases
[ "$(holder)" = - ] || die "the lease was not released"

step "Done" \
	"That was moor watch with leader leases: one holder mutates, a \
follower takes over after kill -9, and a clean stop hands over at once. \
The fake endpoint is stopped now; nothing is left running."
