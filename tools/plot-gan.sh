#!/usr/bin/env bash
# docs/gan.md's figure: the judge's mode coverage KL, Fréchet distance and share of samples
# recognised over the epochs of runs
# of tools/gan-experiment.sh, one line per run, drawn by gnuplot (apt-get install gnuplot-nox).
#   tools/plot-gan.sh OUT.png TITLE RUN_DIR[=LABEL] ...
set -euo pipefail
out=$1 title=$2
shift 2
command -v gnuplot >/dev/null || { echo "plot-gan: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
kl_plots=() fd_plots=() rec_plots=()
i=0
for spec in "$@"; do
  dir=${spec%%=*}
  label=${spec#*=}
  [[ "$label" == "$spec" ]] && label=$(basename "$dir")
  /usr/bin/python3 -c '
import json, sys
last = None
for line in open(sys.argv[1]):
    e = json.loads(line)
    j = e["judge"]
    if last is not None and e["epoch"] != last + 1:
        print()  # epochs not judged: gnuplot breaks the line there
    last = e["epoch"]
    print(e["epoch"], j["coverage_kl"], j["frechet"], 100 * j["recognised"])' "$dir/epochs.jsonl" > "$tmp/$i.dat"
  kl_plots+=("'$tmp/$i.dat' using 1:2 with lines lw 2 title '$label'")
  fd_plots+=("'$tmp/$i.dat' using 1:3 with lines lw 2 title '$label'")
  rec_plots+=("'$tmp/$i.dat' using 1:4 with lines lw 2 title '$label'")
  i=$((i + 1))
done
join() { local IFS=,; echo "$*"; }
gnuplot <<GP
set terminal pngcairo size 1500,420 font "sans,11"
set output "$out"
set multiplot layout 1,3 title "$title"
set grid
set xlabel "epoch"
set key top right
set ylabel "mode coverage KL to uniform (nats)"
plot $(join "${kl_plots[@]}")
set ylabel "Fréchet distance (judge features)"
set logscale y
plot $(join "${fd_plots[@]}")
unset logscale y
set ylabel "recognised (%, class probability >= 0.9)"
set key bottom right
plot $(join "${rec_plots[@]}")
unset multiplot
GP
echo "wrote $out"
