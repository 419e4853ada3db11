#!/usr/bin/env bash
# Apply a Crowdact kustomization in the order a release needs:
#   1. render it once (both phases below use the same names, hash suffixes included);
#   2. delete the previous migration Job (a Job's pod template cannot change in place);
#   3. apply everything but the long-running workloads: namespace, settings, secrets, network
#      policies, volume and the migration Job;
#   4. wait until the Job has completed (on failure: its log, and stop: nothing new rolls out);
#   5. apply everything (the Deployments now roll out on the migrated schema) and wait for them.
#
#   deploy/k8s/apply.sh [KUSTOMIZATION_DIR]      default: deploy/k8s/overlays/production
#
# Environment: KUBECTL (default kubectl, with the cluster's context selected), MIGRATE_TIMEOUT
# (seconds, default 3600, as the Job's activeDeadlineSeconds), ROLLOUT_TIMEOUT (default 900).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/overlays/production}
kubectl=${KUBECTL:-kubectl}
migrate_timeout=${MIGRATE_TIMEOUT:-3600}
rollout_timeout=${ROLLOUT_TIMEOUT:-900}

JOB=crowdact-migrate
# Phase 1 is everything whose component is not a long-running workload (or that has no component:
# the Namespace). tests/deploy checks that it holds the Job and all the Job needs, and no Deployment.
PHASE1_SELECTOR='app.kubernetes.io/component notin (web,worker,worker-reports,beat)'
DEPLOYMENTS=(crowdact-web crowdact-worker crowdact-worker-reports crowdact-beat)

rendered=$(mktemp)
trap 'rm -f "$rendered"' EXIT
"$kubectl" kustomize "$dir" >"$rendered"

# The namespace the overlay puts the Job in (kustomize writes metadata keys in a fixed order).
namespace=$(awk '
    /^---/ { in_job = 0 }
    /^kind: Job$/ { in_job = 1 }
    in_job && /^  namespace: / { print $2; exit }
' "$rendered")
ns_args=()
[ -z "$namespace" ] || ns_args=(--namespace "$namespace")

echo "== 1/4 remove the previous migration Job"
"$kubectl" delete job "$JOB" "${ns_args[@]}" --ignore-not-found --wait=true

echo "== 2/4 settings, secrets, network policies, volume and the migration Job"
"$kubectl" apply --filename "$rendered" --selector "$PHASE1_SELECTOR"

echo "== 3/4 wait for the migration"
deadline=$((SECONDS + migrate_timeout))
while :; do
    state=$("$kubectl" get job "$JOB" "${ns_args[@]}" --output 'jsonpath={.status.succeeded}/{.status.failed}')
    case $state in
        [1-9]*/*) echo "migration complete"; break ;;
        */[1-9]*)
            "$kubectl" logs "job/$JOB" "${ns_args[@]}" --tail 200 || true
            echo "apply: the migration Job failed: nothing else was applied; the running release is untouched." >&2
            exit 1
            ;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
        echo "apply: the migration Job did not finish within ${migrate_timeout}s: nothing else was applied." >&2
        exit 1
    fi
    sleep 5
done

echo "== 4/4 everything, then the rollouts"
"$kubectl" apply --filename "$rendered"
for deployment in "${DEPLOYMENTS[@]}"; do
    "$kubectl" rollout status "deployment/$deployment" "${ns_args[@]}" --timeout "${rollout_timeout}s"
done
echo "apply: done."
