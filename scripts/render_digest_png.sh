#!/bin/sh
# Regenerate docs/digest.png, the picture of a real digest in README.md:
# the offline demo (with investment alerts on) -> its digest's HTML part -> headless Chromium.
# Usage: scripts/render_digest_png.sh [OUT.png]   (CHROMIUM=/path/to/chromium to override)
set -eu
cd "$(dirname "$0")/.."
out=${1:-docs/digest.png}
pw=${PLEDGEWATCH:-.venv/bin/pledgewatch}
chromium=${CHROMIUM:-/usr/bin/chromium}
height=${HEIGHT:-930}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[alerts]\nmin_investment_usd = 1000000000\n' > "$tmp/demo.toml"
"$pw" demo --db "$tmp/demo.db" --config "$tmp/demo.toml" > /dev/null 2>&1
"$pw" digest --preview --html --db "$tmp/demo.db" --config "$tmp/demo.toml" > "$tmp/digest.html"
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
    --screenshot="$tmp/digest.png" --window-size="900,$height" "file://$tmp/digest.html" > /dev/null 2>&1
mv "$tmp/digest.png" "$out"
echo "wrote $out from $tmp/digest.html"
