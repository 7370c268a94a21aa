#!/usr/bin/env bash
# Measures `privcall compile --fleet` for a fleet of FACILITIES facilities
# from one registry of NUMBERS numbers and WINDOWS prearranged windows
# spread over the fleet, against compiling the same sources into one whole
# encrypted bundle in the same run (the baseline). Prints wall time, peak
# memory and output sizes of both.
#
#   scripts/fleet-figure.sh [FACILITIES [NUMBERS [WINDOWS]]]   # 3450 5000000 100000
#
# Sources, keys and parts go to a temporary folder, removed at the end
# (set KEEP=1 to keep it).
set -euo pipefail
cd "$(dirname "$0")/.."
facilities=${1:-3450}
numbers=${2:-5000000}
windows=${3:-100000}

cargo build --release --locked --quiet --bin privcall
bin=$PWD/target/release/privcall
work=$(mktemp -d)
[[ "${KEEP:-}" == 1 ]] || trap 'rm -rf "$work"' EXIT
echo "fleet-figure: $facilities facilities, $numbers numbers, $windows windows in $work" >&2

python3 - "$work" "$facilities" "$numbers" "$windows" <<'EOF'
import random, sys
work, facilities, numbers, windows = sys.argv[1], *map(int, sys.argv[2:])
rng = random.Random(0x5EED)
def national():
    return (200 + rng.randrange(800)) * 10_000_000 + (200 + rng.randrange(800)) * 10_000 + rng.randrange(10_000)
with open(f"{work}/registry.csv", "w") as f:
    f.write("number,category,facilities,valid_from,valid_until,label\n")
    for i in range(numbers):
        f.write(f"+1{national()},attorney,,,,Office {i}\n")
with open(f"{work}/prearranged.csv", "w") as f:
    f.write("facility,inmate,number,start,end,ref\n")
    for i in range(windows):
        day, hour = 1 + i % 28, 8 + (i // 28) % 10
        f.write(f"F{i % facilities:04d},INM{rng.randrange(10**7):07d},+1{national()},"
                f"2026-12-{day:02d}T{hour:02d}:00:00Z,2026-12-{day:02d}T{hour:02d}:30:00Z,R{i}\n")
EOF

mkdir -p "$work/edges"
"$bin" keygen --out "$work/authority" >/dev/null
"$bin" keygen --recipient --out "$work/registry" >/dev/null
for ((i = 0; i < facilities; i++)); do
    "$bin" keygen --recipient --out "$work/edges/$(printf 'F%04d' "$i")" >/dev/null
done
# The edges' identities stay with the edges: the fleet folder holds only
# the recipients.
mkdir -p "$work/identities"
mv "$work"/edges/*.identity "$work/identities/"

common=(--registry "$work/registry.csv" --prearranged "$work/prearranged.csv"
    --policy examples/policy.toml --key "$work/authority.key" --sequence 1
    --expires 2099-01-01T00:00:00Z)
measure() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out"
    read -r seconds kib <"$work/$name.time"
    printf '%-6s %8.1f s  %6d MiB peak\n' "$name" "$seconds" $((kib / 1024))
    cat "$work/$name.out"
}
measure whole "$bin" compile "${common[@]}" --recipient "$work/edges/F0000.recipient" \
    --out "$work/whole.bundle"
measure fleet "$bin" compile "${common[@]}" --fleet "$work/edges" \
    --fleet-recipient "$work/registry.recipient" --out-dir "$work/out"
echo "whole bundle: $(stat -c %s "$work/whole.bundle") bytes"
echo "fleet parts:  $(du -sb "$work/out" | cut -f1) bytes in $(find "$work/out" -type f | wc -l) files"
