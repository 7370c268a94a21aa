#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed
# yet (apt-get, non-interactive, quiet; sudo when not root). Safe to run
# repeatedly: nothing happens when every package is there.
set -euo pipefail
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
echo "installing ${missing[*]} (apt-get install)" >&2
# A fresh machine has empty package lists.
apt-cache show "${missing[@]}" >/dev/null 2>&1 || $sudo apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
