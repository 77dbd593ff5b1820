#!/bin/sh
# Rewrites every dump in this folder from the generator's named scenarios
# (`srcip-rules generate --list-scenarios`). Run from anywhere inside the repository.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../.."
cargo build -q
bin="${CARGO_TARGET_DIR:-target}/debug/srcip-rules"
rm -f "$here"/*.txt
"$bin" generate --list-scenarios | while read -r name; do
    "$bin" generate --scenario "$name" > "$here/$name.txt"
done
