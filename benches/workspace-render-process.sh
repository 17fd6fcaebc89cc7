#!/usr/bin/env bash
# Whole-process timing of `maia namespace render`:
#   1. the README's example bundle (group.yaml + cluster-nginx.yaml), re-rendered with
#      its credentials.yaml present (the steady state) and from an empty folder;
#   2. a generated fleet of N groups (default 10, 100 and 1000) rendered one after the
#      other into one config folder, as an admin would (each render also reads the other
#      groups' SSH ports), to show how the time grows.
#
#   benches/workspace-render-process.sh [RUNS] [FLEET SIZES…]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-100}
shift || true
sizes=("${@:-10 100 1000}")
read -r -a sizes <<<"${sizes[*]}"
cargo build --release --quiet --bin maia
maia=$PWD/target/release/maia
group=examples/workspace/group.yaml
cluster=examples/workspace/cluster-nginx.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render="$maia namespace render --namespace-config-file $group --cluster-config-file $cluster --config-folder $work/example"
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 10 --runs "$runs" --export-json "$work/again.json" "$render" >&2
  hyperfine -N --warmup 10 --runs "$runs" --prepare "rm -rf $work/example" \
    --export-json "$work/fresh.json" "$render" >&2
  for f in again fresh; do
    python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"][0]
print("example bundle (%s): median %.2f ms" % (sys.argv[2], r["median"] * 1000))' \
      "$work/$f.json" "$([ $f = again ] && echo "re-render, credentials kept" || echo "first render")"
  done
fi

# A cluster with room for 2 users in each of 1000 groups.
sed 's/^port_range: .*/port_range: [30000, 32767]/' "$cluster" >"$work/cluster.yaml"
for n in "${sizes[@]}"; do
  rm -rf "$work/forms" "$work/fleet"
  mkdir -p "$work/forms"
  for i in $(seq -f '%04g' 1 "$n"); do
    cat >"$work/forms/g$i.yaml" <<FORM
group_ID: Group_$i
users:
  - alice@g$i.example.org
  - bob@g$i.example.org
resources_limits:
  memory: ["4G", "8G"]
  cpu: [2, 4]
FORM
  done
  t0=$(date +%s%N)
  for form in "$work"/forms/*.yaml; do
    "$maia" namespace render --namespace-config-file "$form" \
      --cluster-config-file "$work/cluster.yaml" --config-folder "$work/fleet" >/dev/null
  done
  t1=$(date +%s%N)
  awk -v n="$n" -v ns=$((t1 - t0)) \
    'BEGIN { printf "fleet of %4d groups: %8.1f ms total, %.2f ms per group\n", n, ns / 1e6, ns / 1e6 / n }'
done
