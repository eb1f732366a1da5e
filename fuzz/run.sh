#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, AddressSanitizer + UBSan) and runs each on its
# seed corpus, one at a time, for SECONDS seconds or for N executions. Exits non-zero on any crash,
# leak, timeout or out-of-memory, after running the other targets; prints executions per target.
#   fuzz/run.sh SECONDS [target ...]
#   fuzz/run.sh -runs=N [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: fuzz/run.sh SECONDS|-runs=N [target ...]"
limit=${1:?$usage}
shift
case "$limit" in
  -runs=[0-9]*) budget=("$limit") ;;
  '' | *[!0-9]*) echo "$usage" >&2; exit 2 ;;
  *) budget=(-max_total_time="$limit") ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf safetensors hf_config tokenizer sentencepiece_model chat_messages completion_request)

# Longest input per target: room for the seeds, small enough to keep each execution fast.
max_len() {
  case "$1" in
    gguf | sentencepiece_model) echo 16384 ;;
    safetensors) echo 8192 ;;
    tokenizer) echo 2048 ;;
    *) echo 4096 ;;
  esac
}
# Targets whose input is JSON get the JSON dictionary before their own.
uses_json() { case "$1" in safetensors | hf_config | chat_messages | completion_request) return 0 ;; *) return 1 ;; esac; }

build=build-fuzz
started=$(date +%s)
# -O1 as OSS-Fuzz builds, without NDEBUG: the parsers' asserts stay armed.
cmake -S . -B "$build" -DSMOE_FUZZ=ON -DSMOE_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -gline-tables-only" >/dev/null
cmake --build "$build" -j2 --target smoe_fuzz
/usr/bin/python3 fuzz/make_corpus.py "$build/seeds"
built=$(date +%s)
echo "fuzz: build and seeds took $((built - started)) s"

mkdir -p "$build/corpus" "$build/artifacts" "$build/dicts" "$build/logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus" "$build/seeds/$t"
  dict="$build/dicts/$t.dict"
  : >"$dict"
  if uses_json "$t"; then cat fuzz/dicts/json.dict >>"$dict"; fi
  if [ -f "fuzz/dicts/$t.dict" ]; then cat "fuzz/dicts/$t.dict" >>"$dict"; fi
  dict_flag=()
  [ -s "$dict" ] && dict_flag=(-dict="$dict")
  echo "fuzz: $t (${budget[*]}, -max_len=$(max_len "$t"))"
  status=0
  "$build/fuzz/fuzz_$t" "${budget[@]}" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "${dict_flag[@]}" \
    "$corpus" "$build/seeds/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  line=$(printf '%-20s %10s runs %6s s %8s exec/s  corpus %s' "$t" "${runs:-?}" "${seconds:-?}" \
    "${speed:-?}" "${corp:-?}")
  if [ "$status" -ne 0 ]; then
    failed+=("$t")
    line="$line  FAILED (exit $status, log $log)"
    tail -n 60 "$log"
  fi
  echo "$line"
  summary+=("$line")
done

echo "fuzz: total $(( $(date +%s) - started )) s including the build"
printf '%s\n' "${summary[@]}"
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
