#!/usr/bin/env bash
# Times srcip-rules on a generated 50,000-service dump (≈100 MB, ≈1.1 M lines) beside
# `grep -c -- --dport` and `wc -l` on the same file, in one hyperfine run, and reports peak
# memory and the ratio of `ports` (every nodePort explained) to `inspect`. hyperfine runs with --output=pipe: GNU grep stops at the first match when its
# output is /dev/null, which would make the baseline meaningless.
# Usage: benches/compare.sh [SERVICES]   (needs hyperfine: apt-get install hyperfine)
# Per-phase timings of the library: cargo bench --bench phases.
set -euo pipefail
cd "$(dirname "$0")/.."
services=${1:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/srcip-rules
dump="$work/dump.txt"
"$bin" generate --services "$services" --kube-version 1.28 > "$dump"
size=$(stat -c %s "$dump")
lines=$(wc -l < "$dump")
# The first nat nodePort rule (the filter table's KUBE-NODEPORTS comes first in the dump and
# holds health-check ports, which are no nodePort of a service).
port=$(grep -m1 -E -- '^-A KUBE-NODEPORTS .*-j KUBE-(EXT|SVC|XLB)-' "$dump" | grep -o -- '--dport [0-9]*' | awk '{print $2}')
# A ClusterIP half way down KUBE-SERVICES: `explain IP:PORT` and `trace` look it up there.
read -r vip vport proto < <(grep -- '-A KUBE-SERVICES -d .* cluster IP' "$dump" \
  | awk -v n=$((services / 2)) 'NR == n { split($4, a, "/"); for (i = 1; i <= NF; i++) if ($i == "--dport") print a[1], $(i + 1), $6; exit }')
echo "dump: $services services, $size bytes, $lines lines; explaining nodePort $port and $vip:$vport/$proto"
hyperfine -N --output=pipe --warmup 1 --runs "${RUNS:-7}" --export-json "$work/times.json" \
  -n 'grep -c -- --dport' "grep -c -- --dport $dump" \
  -n 'wc -l' "wc -l $dump" \
  -n 'srcip-rules inspect' "$bin inspect --color never $dump" \
  -n 'srcip-rules explain' "$bin explain $port --color never $dump" \
  -n 'srcip-rules explain IP:PORT' "$bin explain $vip:$vport/$proto --color never $dump" \
  -n 'srcip-rules trace' "$bin trace --src 203.0.113.7 --dst $vip --dport $vport -p $proto --color never $dump" \
  -n 'srcip-rules ports' "$bin ports --color never $dump" >/dev/null
python3 - "$work/times.json" "$size" <<'PY'
import json, statistics, sys
runs = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
size = int(sys.argv[2]); grep = runs["grep -c -- --dport"]
for name, median in runs.items():
    print(f"{name:24} median {median*1000:8.1f} ms  {size/median/1e6:7.1f} MB/s  {median/grep:5.2f}x grep")
print(f"ports / inspect: {runs['srcip-rules ports'] / runs['srcip-rules inspect']:.2f}x (target: at most 2x)")
PY
for cmd in "inspect --color never $dump" "explain $port --color never $dump" "explain $vip:$vport/$proto --color never $dump" "ports --color never $dump"; do
  rss=$(/usr/bin/time -f %M "$bin" $cmd 2>&1 >/dev/null | tail -1)
  echo "peak RSS ${cmd%% --*}: $((rss / 1024)) MiB = $(python3 -c "print(f'{$rss*1024/$size:.2f}')")x input"
done
