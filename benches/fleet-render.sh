#!/usr/bin/env bash
# Whole-process timing of `maia fleet render` against one `maia namespace render`
# process per group, on generated fleets of N groups (2 users each; default 10, 100
# and 1000):
#   fleet, first render  — one `maia fleet render` into an empty config folder;
#   fleet, re-render     — the same command again (nothing changes, nothing written;
#                          the groups' render stamps, kept under $XDG_CACHE_HOME, say
#                          so without rendering them);
#   one by one, first    — `maia namespace render` per form, in group_ID order, into
#                          another empty folder (what an admin's loop does);
#   one by one, again    — that loop again.
# Wall time and peak RSS come from GNU time (`/usr/bin/time -v`: "Elapsed (wall
# clock) time", "Maximum resident set size"); for the loops, the wall time of the
# whole loop and the peak RSS of the last process. Both runs must leave the same
# SSH-port ledger (ports are deterministic; secrets are random). Nothing is deleted
# until the end: on ext4 without a journal, creating files next to many just-deleted
# ones is several times slower.
#
#   benches/fleet-render.sh [FLEET SIZES…]          e.g. benches/fleet-render.sh 1000 10000
#   ONE_BY_ONE_MAX=1000 benches/fleet-render.sh …   skip the loops above this size
#   GITOPS=1 benches/fleet-render.sh …              also with --gitops argocd (its own
#                                                   config folder, first and again)
#   BASELINE_MAIA=/path/to/maia benches/fleet-render.sh …
#                                                   also the first loop with another build
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("${@:-10 100 1000}")
read -r -a sizes <<<"${sizes[*]}"
one_by_one_max=${ONE_BY_ONE_MAX:-100000}
cargo build --release --quiet --bin maia
maia=${CARGO_TARGET_DIR:-$PWD/target}/release/maia
work=$(mktemp -d "${TMPDIR:-/var/tmp}/maia-fleet-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The fleet's render stamps (a re-render leaves unchanged groups alone), deleted with
# the rest.
export XDG_CACHE_HOME=$work/cache

# Room for 2 users in each of 25 000 groups (outside the default NodePort range: the
# warning goes to stderr, once per run).
sed 's/^port_range: .*/port_range: [10000, 60000]/' examples/workspace/cluster-nginx.yaml \
  >"$work/cluster.yaml"

# Runs a command under GNU time; prints "<seconds> <peak RSS KiB>".
timed() {
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || {
    cat "$work/time.txt" >&2
    return 1
  }
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i] }
    /Maximum resident set size/ { rss = $2 }
    END { printf "%.3f %d\n", s, rss }' "$work/time.txt"
}

report() { # what n seconds rss
  awk -v what="$1" -v n="$2" -v s="$3" -v rss="$4" 'BEGIN {
    printf "%-28s %6d groups: %9.3f s, %7.3f ms per group, peak RSS %6.1f MiB\n",
      what, n, s, s * 1000 / n, rss / 1024 }'
}

fleet_twice() { # label n fleet-render-args…: a first render, then the same again
  local label=$1 n=$2 s rss
  shift 2
  for pass in "first render" "re-render"; do
    sync
    read -r s rss < <(timed "$maia" fleet render "$@")
    report "$label, $pass" "$n" "$s" "$rss"
  done
}

one_by_one() { # forms folder [binary]
  for form in "$1"/*.yaml; do
    "${3:-$maia}" namespace render --namespace-config-file "$form" \
      --cluster-config-file "$work/cluster.yaml" --config-folder "$2" >/dev/null 2>&1
  done
}

for n in "${sizes[@]}"; do
  forms=$work/forms-$n
  mkdir -p "$forms"
  for i in $(seq -f '%05g' 1 "$n"); do
    cat >"$forms/g$i.yaml" <<FORM
group_ID: Group_$i
users:
  - alice@g$i.example.org
  - bob@g$i.example.org
resources_limits:
  memory: ["4G", "8G"]
  cpu: [2, 4]
FORM
  done
  fleet_twice "fleet" "$n" --forms "$forms" --cluster-config-file "$work/cluster.yaml" \
    --config-folder "$work/fleet-$n"
  if [ -n "${GITOPS:-}" ]; then
    fleet_twice "fleet+gitops" "$n" --forms "$forms" --cluster-config-file "$work/cluster.yaml" \
      --config-folder "$work/gitops-$n" --gitops argocd \
      --repo-url https://git.example.org/maia/fleet.git --repo-path clusters/prod
  fi
  [ "$n" -le "$one_by_one_max" ] || continue
  for pass in first again; do
    sync
    t0=$(date +%s%N)
    one_by_one "$forms" "$work/loop-$n"
    t1=$(date +%s%N)
    last=$(find "$forms" -name '*.yaml' | sort | tail -n 1)
    read -r _ rss < <(timed "$maia" namespace render --namespace-config-file "$last" \
      --cluster-config-file "$work/cluster.yaml" --config-folder "$work/loop-$n")
    report "one by one, $pass" "$n" "$(awk -v ns=$((t1 - t0)) 'BEGIN { print ns / 1e9 }')" "$rss"
  done
  cmp "$work/fleet-$n/.maia/ssh-ports.json" "$work/loop-$n/.maia/ssh-ports.json"
  if [ -n "${BASELINE_MAIA:-}" ]; then
    sync
    t0=$(date +%s%N)
    one_by_one "$forms" "$work/baseline-$n" "$BASELINE_MAIA"
    t1=$(date +%s%N)
    report "baseline one by one" "$n" "$(awk -v ns=$((t1 - t0)) 'BEGIN { print ns / 1e9 }')" 0
  fi
done
