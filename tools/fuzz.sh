#!/usr/bin/env bash
# Fuzzing: builds the `fuzz` preset (clang 14, libFuzzer, ASan + UBSan) and runs every harness of
# tests/fuzz for SECONDS each, from a corpus in build/fuzz/corpus/NAME that starts from the
# committed seeds, the regression inputs and the seed writer's fresh output, and grows there
# (never in tests/). Prints per harness: executions, exec/s, new corpus units and the crash files
# it wrote (build/fuzz/artifacts/NAME/); exits 1 if any harness crashed, leaked, hung or ran out
# of memory. docs/reliability-fuzzing.md has the harnesses, the figures and what to do with a
# crash (tests/fuzz/NAME/regression/).
#
#   tools/fuzz.sh [SECONDS]              every harness, SECONDS each (default 60)
#   tools/fuzz.sh SECONDS NAME...        only these harnesses (model_file, safetensors, idx,
#                                        image, frames, digit_handler, options)
#   tools/fuzz.sh --coverage [NAME...]   line coverage of each parser from the corpus (committed
#                                        seeds, regression inputs, build/fuzz/corpus): the
#                                        fuzz-coverage preset, llvm-profdata, llvm-cov
#   tools/fuzz.sh --seeds                rewrite tests/fuzz/*/seeds with tests/fuzz/make_seeds.cc
#
# Environment: FUZZ_JOBS=N runs N harnesses at once (default 1: the figures are per core);
# FUZZ_BUILD_JOBS (default 2) for the build; EDGEVAE_FUZZ_NO_SETUP=1 skips tools/setup.sh --fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

ALL=(model_file safetensors idx image frames digit_handler options)
# Per harness: -max_len (bytes of fuzz input; a model seed describes a padded file of megabytes
# in a few KB), -timeout (seconds per input: a padded 8 MB model or a 256 MB gzip bomb takes well
# under a second; a hang is far beyond), -rss_limit_mb (also the malloc limit).
declare -A MAX_LEN=([model_file]=16384 [safetensors]=8192 [idx]=65536 [image]=65536
                    [frames]=4096 [digit_handler]=512 [options]=64)
declare -A TIMEOUT=([model_file]=30 [safetensors]=30 [idx]=30 [image]=30
                    [frames]=10 [digit_handler]=30 [options]=10)
declare -A RSS_MB=([model_file]=2560 [safetensors]=2048 [idx]=2048 [image]=2048
                   [frames]=1024 [digit_handler]=2048 [options]=1024)

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

mode=fuzz
seconds=60
names=()
for arg in "$@"; do
  case "$arg" in
    --coverage) mode=coverage ;;
    --seeds) mode=seeds ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) die "unknown option $arg (try --help)" ;;
    *)
      if [[ "$arg" =~ ^[0-9]+$ && ${#names[@]} -eq 0 && "$mode" == fuzz ]]; then
        seconds="$arg"
      elif [[ " ${ALL[*]} " == *" $arg "* ]]; then
        names+=("$arg")
      else
        die "unknown harness or number '$arg' (harnesses: ${ALL[*]})"
      fi ;;
  esac
done
((${#names[@]})) || names=("${ALL[@]}")

if [[ "${EDGEVAE_FUZZ_NO_SETUP:-0}" != 1 ]]; then
  bash tools/setup.sh --fuzz
fi
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
if [[ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ]] && command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
fi

build() {  # PRESET
  local t0=$SECONDS
  cmake --preset "$1" >/dev/null
  nice -n 10 cmake --build --preset "$1" -j "${FUZZ_BUILD_JOBS:-2}" | tail -n 1
  log "built the $1 preset in $((SECONDS - t0)) s"
}

# build/fuzz/seeds: the seed writer's output for the code as it is now.
fresh_seeds() {  # BUILD_DIR OUT
  rm -rf "$2"
  "$1/tests/fuzz/fuzz_make_seeds" "$2"
}

if [[ "$mode" == seeds ]]; then
  build fuzz
  tmp="build/fuzz/seeds-new"
  fresh_seeds build/fuzz "$tmp"
  for name in "${ALL[@]}"; do
    rm -rf "tests/fuzz/$name/seeds"
    mkdir -p "tests/fuzz/$name"
    mv "$tmp/$name" "tests/fuzz/$name/seeds"
  done
  rm -rf "$tmp"
  log "rewrote tests/fuzz/*/seeds ($(du -sb --apparent-size tests/fuzz/*/seeds | awk '{s+=$1} END {print s}') bytes of seeds); review with git status"
  exit 0
fi

if [[ "$mode" == coverage ]]; then
  command -v llvm-profdata-14 >/dev/null || die "llvm-profdata-14 not found (tools/setup.sh --fuzz)"
  command -v python3 >/dev/null || die "python3 not found (tools/setup.sh --fuzz)"
  build fuzz-coverage
  out=build/fuzz-coverage/profiles
  rm -rf "$out"
  mkdir -p "$out"
  for name in "${names[@]}"; do
    dirs=("tests/fuzz/$name/seeds")
    [[ -d "tests/fuzz/$name/regression" ]] && dirs+=("tests/fuzz/$name/regression")
    [[ -d "build/fuzz/corpus/$name" ]] && dirs+=("build/fuzz/corpus/$name")
    log "$name: replaying $(find "${dirs[@]}" -type f ! -name '.*' | wc -l) inputs"
    LLVM_PROFILE_FILE="$out/$name-%p.profraw" \
      "build/fuzz-coverage/tests/fuzz/${name}_fuzz" "${dirs[@]}" >/dev/null 2>&1 ||
      log "warning: $name exited non-zero while replaying (a crash in the corpus?)"
    llvm-profdata-14 merge -sparse "$out/$name"-*.profraw -o "$out/$name.profdata"
  done
  python3 tests/fuzz/coverage.py --build build/fuzz-coverage --profiles "$out" "${names[@]}"
  exit 0
fi

# --- Fuzzing -------------------------------------------------------------------------------------
t_start=$SECONDS
build fuzz
fresh_seeds build/fuzz build/fuzz/seeds
t_built=$SECONDS

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

run_one() {  # NAME -> build/fuzz/logs/NAME.log; returns libFuzzer's exit status
  local name="$1" corpus="build/fuzz/corpus/$1" artifacts="build/fuzz/artifacts/$1/"
  mkdir -p "$corpus" "$artifacts" build/fuzz/logs
  local dirs=("$corpus" "tests/fuzz/$name/seeds" "build/fuzz/seeds/$name")
  [[ -d "tests/fuzz/$name/regression" ]] && dirs+=("tests/fuzz/$name/regression")
  local dict=()
  [[ -f "tests/fuzz/$name.dict" ]] && dict=("-dict=tests/fuzz/$name.dict")
  nice -n 5 "build/fuzz/tests/fuzz/${name}_fuzz" "${dict[@]}" \
    -max_total_time="$seconds" -max_len="${MAX_LEN[$name]}" -timeout="${TIMEOUT[$name]}" \
    -rss_limit_mb="${RSS_MB[$name]}" -artifact_prefix="$artifacts" -print_final_stats=1 \
    "${dirs[@]}" >"build/fuzz/logs/$name.log" 2>&1
}

# What one harness did, from its log and its artifacts folder (crash files newer than the start).
report() {  # NAME STATUS STAMP
  local name="$1" status="$2" stamp="$3" log="build/fuzz/logs/$1.log"
  local execs rate units crashes
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  units="$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -n 1)"
  crashes="$(find "build/fuzz/artifacts/$name" -type f -newer "$stamp" \
               \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) \
               | sort | tr '\n' ' ')"
  printf '%-14s %12s %8s %9s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${units:-?}" \
    "${crashes:-none}${status:+ (exit $status)}"
}

stamp="build/fuzz/.run-stamp"
touch "$stamp"
declare -A status=()
jobs_max="${FUZZ_JOBS:-1}"
running=()
for name in "${names[@]}"; do
  log "$name: ${seconds} s (max_len ${MAX_LEN[$name]}, timeout ${TIMEOUT[$name]} s)"
  if ((jobs_max <= 1)); then
    if run_one "$name"; then status[$name]=""; else status[$name]=$?; fi
  else
    ( run_one "$name" ) &
    running+=("$!:$name")
    if ((${#running[@]} >= jobs_max)); then
      entry="${running[0]}"; running=("${running[@]:1}")
      if wait "${entry%%:*}"; then status[${entry#*:}]=""; else status[${entry#*:}]=$?; fi
    fi
  fi
done
for entry in "${running[@]}"; do
  if wait "${entry%%:*}"; then status[${entry#*:}]=""; else status[${entry#*:}]=$?; fi
done

failed=0
printf '\n%-14s %12s %8s %9s  %s\n' harness executions exec/s new-units "crash files"
for name in "${names[@]}"; do
  report "$name" "${status[$name]}" "$stamp"
  [[ -z "${status[$name]}" ]] || failed=1
done
printf '\nbuild %d s, fuzzing %d s, total %d s; logs in build/fuzz/logs\n' \
  "$((t_built - t_start))" "$((SECONDS - t_built))" "$((SECONDS - t_start))"
if ((failed)); then
  log "a harness failed: reproduce with build/fuzz/tests/fuzz/NAME_fuzz CRASH_FILE, fix the parser,"
  log "and keep the file in tests/fuzz/NAME/regression/ (docs/reliability-fuzzing.md)"
  exit 1
fi
