#!/usr/bin/env bash
# maia against the original MAIA Toolkit (maia-toolkit 1.0.7 from PyPI), whole process,
# on the same inputs, interleaved run for run:
#   1. `MAIA_deploy_helm_chart --config-file APP --print-helm-values-only OUT` for each
#      example app (examples/app/*.json|yaml), original vs maia's compat binary;
#   2. the original `MAIA_create_JupyterHub_config` (it writes one component, the
#      JupyterHub values) vs maia's whole-workspace render (`maia namespace render`, every
#      component: first render into an empty folder, and re-render with the credentials
#      kept) and vs maia's drop-in `MAIA_create_JupyterHub_config` (same flags; it writes
#      the whole bundle too), for examples/workspace/group.yaml + maia.yaml with each
#      example cluster config.
#
#   benches/compare-toolkit.sh [ROUNDS]          (default 30)
#   MAIA_TOOLKIT_VENV=DIR benches/compare-toolkit.sh 30   (reuse/keep a venv in DIR)
#
# The toolkit goes into a throwaway virtual environment (removed on exit unless
# MAIA_TOOLKIT_VENV is set). Nothing points at the network: the original's helm-chart
# command gets a KUBECONFIG with no cluster in it (it parses the file and nothing more
# unless the app mounts files, see below), and its JupyterHub command only writes files
# and prints helm commands (it would reach MinIO only for a form with minio_env_name).
#
# Interleaving: hyperfine (-N, no shell) runs each case once per round with
# `--runs 1` for every command in it, so the original and maia alternate run for run;
# the order of the commands is rotated from one round to the next. Nothing is warmed up
# inside a round (one discarded warm-up round runs first). The per-round JSON exports
# are then pooled: median, mean ± sd per command, ratio = original median / maia median.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-30}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --quiet -p maia-cli
bin=$root/target/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/inputs" "$work/json" "$work/check"
note() { echo "$*" >&2; echo "- $*" >>"$work/notes.md"; }
: >"$work/notes.md"

# --- the original toolkit, in a virtual environment ---------------------------------
venv=${MAIA_TOOLKIT_VENV:-$work/venv}
if [ ! -x "$venv/bin/MAIA_deploy_helm_chart" ]; then
  python=$(command -v python3.11 || command -v python3)
  echo "installing maia-toolkit==1.0.7 into $venv …" >&2
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check maia-toolkit==1.0.7 >&2
fi
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("maia-toolkit"))')
[ "$version" = 1.0.7 ] || { echo "$venv has maia-toolkit $version, not 1.0.7" >&2; exit 1; }
orig=$venv/bin

# The original reads $KUBECONFIG even to print values: give it one with no cluster, so
# that anything that would contact a cluster fails instead of reaching out.
printf 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n' >"$work/kubeconfig"
export KUBECONFIG=$work/kubeconfig

# --- cases ---------------------------------------------------------------------------
# A case is one input; its commands are lines "LABEL<TAB>PREPARE<TAB>OUTPUT<TAB>COMMAND":
# PREPARE runs before every run (untimed), OUTPUT is a file the command must write.
# The first line is the original's.
cases=()
declare -A case_desc case_cwd case_cmds
tab=$'\t'

# Apps. The original reads its config with json.load, and even with
# --print-helm-values-only it creates a ConfigMap on the cluster for `mount_files`.
for app in examples/app/*.json examples/app/*.yaml; do
  [ -e "$app" ] || continue
  base=$(basename "$app")
  name=${base%.*}
  input=$work/inputs/$name.json
  # Normalise to JSON; drop what the original cannot do without a cluster or crashes on.
  verdict=$(python3 - "$app" "$input" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
try:
    data = json.loads(text)
    fmt = "json"
except ValueError:
    try:
        import yaml
        data = yaml.safe_load(text)
        fmt = "yaml"
    except Exception:
        print("skip|neither JSON nor YAML the bench can read"); sys.exit()
if not isinstance(data, dict) or "chart_name" not in data or "docker_image" not in data:
    print("skip|not an app config (no chart_name/docker_image): a file another app mounts"); sys.exit()
changes = []
if fmt == "yaml":
    changes.append("converted from YAML to JSON (the original reads JSON only)")
if "mount_files" in data:
    del data["mount_files"]
    changes.append("`mount_files` removed (the original creates their ConfigMap on the "
                   "cluster even with --print-helm-values-only: not comparable)")
if data.get("service_type", "ClusterIP") != "ClusterIP" and isinstance(data.get("ports"), dict):
    bare = [p for p, v in data["ports"].items() if len(v) < 2]
    for p in bare:
        del data["ports"][p]
    if bare:
        changes.append("port%s %s removed (no node port under a %s Service: the original "
                       "crashes with IndexError)" % ("s" if len(bare) > 1 else "",
                       ", ".join("`%s`" % p for p in bare), data["service_type"]))
json.dump(data, open(dst, "w"), indent=2)
print("use|" + "; ".join(changes))
PY
)
  if [ "${verdict%%|*}" = skip ]; then
    note "examples/app/$base: skipped, ${verdict#*|}"
    continue
  fi
  label="\`$base\`"
  if [ -n "${verdict#*|}" ]; then
    label="\`$base\`, edited"
    note "examples/app/$base: ${verdict#*|}"
  fi
  c=app-$name
  cases+=("$c")
  case_desc[$c]=$label
  case_cwd[$c]=$work
  case_cmds[$c]="original MAIA_deploy_helm_chart${tab}true${tab}$work/check/$c-original.yaml${tab}$orig/MAIA_deploy_helm_chart --config-file $input --print-helm-values-only $work/check/$c-original.yaml
maia MAIA_deploy_helm_chart${tab}true${tab}$work/check/$c-maia.yaml${tab}$bin/MAIA_deploy_helm_chart --config-file $input --print-helm-values-only $work/check/$c-maia.yaml"
done

# Workspaces. The original writes ./<namespace>/ under its working directory (it has no
# --config-folder), so it runs in a folder of its own, emptied before every run; maia's
# first renders start from an empty config folder too, its re-render from the bundle of
# the previous run (credentials kept: the steady state).
ws=$root/examples/workspace
for f in "$ws/group.yaml" "$ws/maia.yaml"; do
  if grep -q '^minio_env_name:' "$f"; then
    echo "$f has minio_env_name: the original would download from MinIO; not comparable" >&2
    exit 1
  fi
done
for cluster in "$ws"/cluster-*.yaml; do
  cname=$(basename "$cluster" .yaml)
  c=ws-$cname
  d=$work/$c
  mkdir -p "$d/original"
  forms="--maia-config-file $ws/maia.yaml --cluster-config-file $cluster"
  render="$bin/maia namespace render --namespace-config-file $ws/group.yaml $forms"
  cases+=("$c")
  case_desc[$c]="\`group.yaml\` + \`$cname.yaml\` + \`maia.yaml\`"
  case_cwd[$c]=$d/original
  case_cmds[$c]="original MAIA_create_JupyterHub_config${tab}rm -rf $d/original/brain-mri${tab}$d/original/brain-mri/brain-mri_jupyterhub_values.yaml${tab}$orig/MAIA_create_JupyterHub_config --form $ws/group.yaml $forms
maia maia namespace render, first render${tab}rm -rf $d/fresh${tab}$d/fresh/Brain_MRI/deploy.sh${tab}$render --config-folder $d/fresh
maia maia namespace render, re-render${tab}true${tab}$d/again/Brain_MRI/deploy.sh${tab}$render --config-folder $d/again
maia MAIA_create_JupyterHub_config, first render${tab}rm -rf $d/compat${tab}$d/compat/Brain_MRI/deploy.sh${tab}$bin/MAIA_create_JupyterHub_config --form $ws/group.yaml $forms --config-folder $d/compat"
done

# --- every command must succeed and write its output before it is timed --------------
runnable=()
for c in "${cases[@]}"; do
  ok=1
  while IFS=$tab read -r label prep output cmd; do
    rc=0
    # shellcheck disable=SC2086
    (cd "${case_cwd[$c]}" && $prep && $cmd) >"$work/check/$c.out" 2>"$work/check/$c.err" || rc=$?
    if [ $rc != 0 ]; then
      note "$c: $label failed (exit $rc): $(tail -1 "$work/check/$c.err")"
      ok=0
    elif [ ! -s "$output" ]; then
      note "$c: $label exited 0 but did not write $output"
      ok=0
    fi
  done <<<"${case_cmds[$c]}"
  [ $ok = 1 ] && runnable+=("$c")
done
echo "checked: ${#runnable[@]} of ${#cases[@]} inputs run on both sides" >&2

# --- interleaved rounds --------------------------------------------------------------
run_round() { # round case → one hyperfine call, --runs 1 per command, order rotated
  local r=$1 c=$2 args=() lines=() n i label prep output cmd
  mapfile -t lines <<<"${case_cmds[$c]}"
  n=${#lines[@]}
  for ((i = 0; i < n; i++)); do
    IFS=$tab read -r label prep output cmd <<<"${lines[$(((i + r) % n))]}"
    args+=(--command-name "$label" --prepare "$prep" "$cmd")
  done
  (cd "${case_cwd[$c]}" &&
    hyperfine -N --style none --runs 1 --export-json "$work/json/$c-$r.json" "${args[@]}" >/dev/null)
}
echo "warm-up round …" >&2
for c in "${runnable[@]}"; do run_round 0 "$c"; rm -f "$work/json/$c-0.json"; done
for r in $(seq 1 "$rounds"); do
  printf '\rround %d/%d' "$r" "$rounds" >&2
  for c in "${runnable[@]}"; do run_round "$r" "$c"; done
done
echo >&2

# --- report --------------------------------------------------------------------------
for c in "${runnable[@]}"; do printf '%s\t%s\n' "$c" "${case_desc[$c]}"; done >"$work/cases.tsv"
python3 - "$work" "$rounds" <<'PY'
import glob, json, os, statistics as st, sys
work, rounds = sys.argv[1], int(sys.argv[2])
cases = [l.rstrip("\n").split("\t", 1) for l in open(os.path.join(work, "cases.tsv"))]
def fmt(x):
    return "%.0f ms" % x if x >= 100 else "%.1f ms" % x if x >= 10 else "%.2f ms" % x
def stats(t):
    t = [x * 1000 for x in t]
    return st.median(t), "%s ± %s" % (fmt(st.mean(t)), fmt(st.stdev(t) if len(t) > 1 else 0))
print("| input | original | median | mean ± sd | maia | median | mean ± sd | ratio of medians |")
print("|---|---|---|---|---|---|---|---|")
for c, desc in cases:
    times = {}
    for f in sorted(glob.glob(os.path.join(work, "json", c + "-*.json"))):
        for res in json.load(open(f))["results"]:
            if any(code != 0 for code in res.get("exit_codes") or [0]):
                sys.exit("%s: %s exited non-zero during the rounds" % (c, res["command"]))
            times.setdefault(res["command"], []).extend(res["times"])
    olabel = next(k for k in times if k.startswith("original "))
    omed, omean = stats(times.pop(olabel))
    for label, t in times.items():
        mmed, mmean = stats(t)
        print("| %s | `%s` | %s | %s | `%s` | %s | %s | %.0f× |" % (
            desc, olabel[len("original "):], fmt(omed), omean,
            label[len("maia "):], fmt(mmed), mmean, omed / mmed))
print()
print("%d interleaved rounds (each round: one run of every command of an input, in an order "
      "rotated from round to round; hyperfine -N --runs 1), after one discarded warm-up round." % rounds)
notes = open(os.path.join(work, "notes.md")).read().strip()
if notes:
    print("\nInputs left out, refused by the original, or adapted so that it accepts them "
          "(both sides get the adapted file):\n")
    print(notes)
PY
