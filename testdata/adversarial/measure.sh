#!/usr/bin/env bash
# Runs every adversarial case through BINARY and prints a Markdown table: case, exit code,
# wall time, peak memory (RSS), and the first line of standard error. For the before/after
# tables of issue 13; tests/it/adversarial.rs is what checks the cases.
#
#   testdata/adversarial/measure.sh BINARY DIR [TIMEOUT_SECONDS]
#
# DIR must hold the small cases (copied from this folder) and the large ones
# (`generate.sh DIR`). Needs GNU time (/usr/bin/time) and timeout.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BINARY DIR [TIMEOUT_SECONDS]" >&2
  exit 2
fi
bin=$(realpath "$1")
dir=$2
limit=${3:-60}
cd "$dir" || exit 2

row() {
  local name=$1
  shift
  local err
  err=$(mktemp)
  /usr/bin/time -o "$err.time" -f '%e %M' timeout -s KILL "$limit" "$@" >/dev/null 2>"$err"
  local code=$?
  read -r secs kb < <(tail -1 "$err.time") || { secs=?; kb=0; }
  local rss="$((kb / 1024)) MB"
  # A killed run's peak memory is not reported (GNU time sees only the timeout process).
  if [ "$code" = 137 ]; then code="killed at ${limit} s"; rss="–"; fi
  local first
  first=$(grep -v '^Command' "$err" | head -1 | cut -c1-90)
  printf '| %s | %s | %s s | %s | %s |\n' "$name" "$code" "$secs" "$rss" "$first"
  rm -f "$err" "$err.time"
}

stdin_row() {
  local name=$1 input=$2
  shift 2
  row "$name" bash -c "exec \"\$0\" \"\$@\" <'$input'" "$@"
}

echo '| case | exit | time | peak RSS | stderr (first line) |'
echo '|---|---|---|---|---|'
row "diamond, 21 levels" "$bin" explain 30000 diamond-21.txt
row "diamond, 60 levels" "$bin" explain 30000 diamond-60.txt
row "12 undecidable forks" "$bin" explain 30000 forks-12.txt
row "30 undecidable forks" "$bin" explain 30000 forks-30.txt
row "jump cycle" "$bin" explain 30000 cycle.txt
row "65-deep chain" "$bin" explain 30000 deep-65.txt
row "200,000-deep chain" "$bin" explain 30000 deep-200000.txt
row "196,000 nodePorts, missing port" "$bin" explain 1 nodeports-196000.txt
row "196,000 nodePorts, service" "$bin" explain adv/svc-30000-tcp nodeports-196000.txt
row "196,000 nodePorts, missing service" "$bin" explain adv/svc-x nodeports-196000.txt
row "100,000 rulesets, port in the last" "$bin" explain 30000 rulesets-100000.txt
row "100,000 rulesets, missing port" "$bin" explain 31000 rulesets-100000.txt
row "yes, 20 MB, inspect" "$bin" inspect yes-20mb.txt
row "yes, 20 MB, explain" "$bin" explain 30000 yes-20mb.txt
row "2 MiB line, inspect" "$bin" inspect long-line.txt
row "/dev/zero as a file" "$bin" inspect /dev/zero
stdin_row "/dev/zero on stdin" /dev/zero "$bin" inspect
for format in text markdown json; do
  row "escapes, $format" "$bin" explain 30000 escapes.txt --format "$format"
done
fifo=$(mktemp -u)
mkfifo "$fifo"
row "FIFO with no writer (killed at 3 s)" timeout 3 "$bin" inspect "$fifo"
rm -f "$fifo"
