#!/usr/bin/env bash
# Fuzz smoke test: builds every fuzz target, then runs each for a short time starting from
# the seed corpus in the repository (fuzz/seeds/<target>/) and its dictionary
# (fuzz/<target>.dict) when there is one. Exits non-zero as soon as a target finds a
# crash, a failed property or a slow input; the input is kept in fuzz/artifacts/<target>/.
#
#   fuzz/smoke.sh            # 60 s per target
#   fuzz/smoke.sh 600        # 600 s per target
#
# Works with the stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the unstable
# sanitizer flags) and installs cargo-fuzz if it is missing. New inputs libFuzzer finds go
# to a temporary directory, deleted at the end, so the seed corpus stays as committed.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-60}"
case "$seconds" in
'' | *[!0-9]*)
  echo "usage: $0 [seconds per target]" >&2
  exit 2
  ;;
esac
# libFuzzer's default is 20 minutes an input; anything near this is a bug of its own.
per_input_timeout=20

export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

echo "==> building every fuzz target"
cargo fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

mapfile -t targets < <(cargo fuzz list)
if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

for target in "${targets[@]}"; do
  echo "==> fuzzing $target for ${seconds}s"
  corpus="$scratch/$target"
  mkdir -p "$corpus"
  inputs=("$corpus")
  if [ -d "seeds/$target" ]; then
    inputs+=("seeds/$target")
  else
    echo "    (no seed corpus in fuzz/seeds/$target)"
  fi
  options=(-max_total_time="$seconds" -timeout="$per_input_timeout" -print_final_stats=1)
  if [ -f "$target.dict" ]; then
    options+=(-dict="$target.dict")
  fi
  if ! cargo fuzz run "$target" "${inputs[@]}" -- "${options[@]}"; then
    echo "==> $target: finding (see fuzz/artifacts/$target/ and the output above)" >&2
    exit 1
  fi
done

echo "==> no findings in ${#targets[@]} target(s), ${seconds}s each"
