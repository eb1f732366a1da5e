#!/usr/bin/env bash
# The engine benchmark of bench/README.md: generates the 2-layer Mixtral 8x7B-shaped models
# (random weights, real shapes) if they are missing, runs `smoe bench` on each with 1 and 2
# threads, and prints one Markdown table row per run.
#
#   bench/engine_bench.sh [MODEL_DIR] [PROMPT_TOKENS] [DECODE_TOKENS]
#
# Needs a Release build in ./build. The figures are medians of smoe bench's repetitions; run it
# on a quiet machine (it prints the load average).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/smoe-bench}
prompt=${2:-512}
decode=${3:-64}
smoe=${SMOE:-./build/smoe}  # SMOE=path/to/smoe compares another build
mkdir -p "$dir"
for type in Q4_K_M Q8_0; do
  model="$dir/mixtral-8x7b-2l-$type.gguf"
  [ -f "$model" ] || "$smoe" gen-model --preset mixtral-8x7b --layers 2 --type "$type" -o "$model" >&2
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | threads | prompt tok/s | decode tok/s | MB/token | GB/s | read GB/s | roofline | batch 8 tok/s | x batch 1 | batch bound | peak RSS GiB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for type in Q4_K_M Q8_0; do
  # Read the file once first: a machine whose page cache holds only one of the two models
  # would otherwise serve the first repetitions from disk.
  cat "$dir/mixtral-8x7b-2l-$type.gguf" > /dev/null
  for threads in 1 2; do
    "$smoe" bench -m "$dir/mixtral-8x7b-2l-$type.gguf" -p "$prompt" -n "$decode" --batch 8 -t "$threads" --json 2>/dev/null |
      /usr/bin/python3 -c '
import json, sys
j = json.load(sys.stdin)
print("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.0f%% | %.1f | %.2fx | %.1f | %.2f |" % (
    sys.argv[1], j["threads"], j["prompt_tokens_per_s"], j["decode_tokens_per_s"], j["bytes_per_token"] / 1e6,
    j["achieved_gbps"], j["read_bandwidth_gbps"], 100 * j["roofline_fraction"], j["batch_decode_tokens_per_s"],
    j["batch_decode_tokens_per_s"] / j["decode_tokens_per_s"], j["batch_bound_tokens_per_s"], j["peak_rss_bytes"] / 2**30))
' "$type"
  done
done
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
