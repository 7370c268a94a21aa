#!/usr/bin/env bash
# Builds the C ABI test (tests/c/abi_test.c) and the C example
# (examples/c/decide.c) against libprivcall, makes a key and bundles with
# the privcall CLI, and runs both under valgrind: any memory error or
# leak fails the run. Ends with `N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
scripts/apt-install.sh valgrind
cargo build --quiet --locked -p privcall-ffi
cargo build --quiet --locked -p privcall --bin privcall
lib=$root/target/debug
privcall=$lib/privcall

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -std=c11 -Wall -Wextra -Werror -pthread -D_DEFAULT_SOURCE -I include \
   -o "$work/abi_test" tests/c/abi_test.c -L "$lib" -lprivcall -Wl,-rpath,"$lib"
cc -std=c11 -Wall -Wextra -Werror -I include \
   -o "$work/decide" examples/c/decide.c -L "$lib" -lprivcall -Wl,-rpath,"$lib"

# Keys and bundles: the sample lists, valid from now for 30 days.
"$privcall" keygen --out "$work/authority" >/dev/null
expires=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
for seq in 1 2 3 4; do
  "$privcall" compile --registry examples/registry.csv --prearranged examples/prearranged.csv \
    --policy examples/policy.toml --key "$work/authority.key" --sequence "$seq" \
    --expires "$expires" --out "$work/seq$seq.bundle" >/dev/null
done
# The same lists encrypted to an edge, inmate ids hashed.
"$privcall" keygen --recipient --out "$work/edge" >/dev/null
"$privcall" keygen --inmate-key --out "$work/fleet" >/dev/null
"$privcall" compile --registry examples/registry.csv --prearranged examples/prearranged.csv \
  --policy examples/policy.toml --key "$work/authority.key" --sequence 5 \
  --expires "$expires" --recipient "$work/edge.recipient" --inmate-key "$work/fleet.inmatekey" \
  --out "$work/encrypted.bundle" >/dev/null
# The same lists as a fleet's parts (JCCC and WERDCC), the registry part
# encrypted to the fleet's registry key; JCCC's edge watches a folder
# holding the registry part and its own window part.
mkdir -p "$work/edges" "$work/fleetwatch"
"$privcall" keygen --recipient --out "$work/registry" >/dev/null
for code in JCCC WERDCC; do
  "$privcall" keygen --recipient --out "$work/edges/$code" >/dev/null
done
"$privcall" compile --registry examples/registry.csv --prearranged examples/prearranged.csv \
  --policy examples/policy.toml --key "$work/authority.key" --sequence 7 \
  --expires "$expires" --inmate-key "$work/fleet.inmatekey" --fleet "$work/edges" \
  --fleet-recipient "$work/registry.recipient" --out-dir "$work/parts" >/dev/null
cp "$work/parts/registry.bundle" "$work/parts/windows/JCCC.bundle" "$work/fleetwatch/"
# One byte flipped in the middle of a newer bundle.
cp "$work/seq2.bundle" "$work/tampered.bundle"
size=$(stat -c %s "$work/tampered.bundle")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$work/tampered.bundle" | tr -d ' ')
printf "$(printf '\\%03o' $(( byte ^ 0xff )))" |
  dd of="$work/tampered.bundle" bs=1 seek=$((size / 2)) conv=notrunc status=none
mkdir -p "$work/watch" "$work/state"

# Still-reachable memory is the process-wide engine and its epoch thread;
# a definite or indirect leak, or any memory error, fails.
vg=(valgrind --quiet --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
status=0
"${vg[@]}" "$work/abi_test" "$work" || status=$?
"${vg[@]}" "$work/abi_test" "$work" --fork || status=$?
"${vg[@]}" "$work/abi_test" "$work" --prefork || status=$?
if "${vg[@]}" "$work/decide" "$work/authority.pub" "$work/seq1.bundle" > "$work/example.out"; then
  if grep -q '^+15735550142 .*record=no reason=registered' "$work/example.out"; then
    echo "examples/c/decide: 1 passed, 0 failed"
  else
    echo "examples/c/decide: 0 passed, 1 failed"; cat "$work/example.out"; status=1
  fi
else
  echo "examples/c/decide: 0 passed, 1 failed (exit $?)"; status=1
fi
exit $status
