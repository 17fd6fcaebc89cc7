#!/usr/bin/env bash
# Whole-process timing of `maia app render` and of the compatibility values writer,
# on the README's example app. Uses hyperfine when installed (apt-get install
# hyperfine), otherwise a plain loop that prints the median of N runs.
#
#   benches/app-render-process.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
cargo build --release --quiet --bin maia --bin MAIA_deploy_helm_chart
maia=target/release/maia
compat=target/release/MAIA_deploy_helm_chart
cfg=examples/app/jupyterlab.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 20 --runs "$runs" --export-json "$out/times.json" \
    "$maia app render --config-file $cfg" \
    "$compat --config-file $cfg --print-helm-values-only $out/values.yaml" >&2
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("median %.2f ms  %s" % (r["median"] * 1000, r["command"]))' "$out/times.json"
  exit 0
fi

median() { # command… → median wall time in ms over $runs runs
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.2f ms\n", a[int((NR+1)/2)]/1000}'
}
echo "maia app render:                        $(median "$maia" app render --config-file "$cfg")"
echo "MAIA_deploy_helm_chart --print-helm-…:  $(median "$compat" --config-file "$cfg" --print-helm-values-only "$out/values.yaml")"
