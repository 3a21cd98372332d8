#!/usr/bin/env bash
# Installs the Debian packages the test suite and the benchmark talk to: Chromium (driven by
# Playwright), curl, nginx (export fidelity), wrk and mitmproxy (benchmark peers), NSS tools
# (trusting the CA in Chromium), python3 with requests (a third client).
set -euo pipefail

packages=(chromium curl nginx-light wrk mitmproxy libnss3-tools python3 python3-requests openssl ca-certificates)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=''
[ "$(id -u)" -eq 0 ] || sudo='sudo'
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
