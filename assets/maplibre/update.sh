#!/usr/bin/env bash
# Maintainers only (the build never runs this): refreshes MapLibre GL JS's committed browser
# assets for the /map and /dashboard pages.
#
#   assets/maplibre/update.sh [VERSION]    (default: 5.24.1)
#
# Needs curl, tar, gzip and openssl (no npm: the tarball comes straight from npm's registry).
# Takes out the script, the stylesheet and the license, writes them here gzip-compressed
# (`gzip -9n`: no name or time stamp, so the same input always gives the same bytes), and prints
# what to pin in build.rs. Review the release and the diff before committing: whatever is pinned
# ships in the binary.
set -euo pipefail

version=${1:-5.24.1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sri() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

tarball="maplibre-gl-$version.tgz"
curl -fsSL -o "$work/$tarball" "https://registry.npmjs.org/maplibre-gl/-/$tarball"
echo "Tarball (check it against \`npm view maplibre-gl@$version dist.integrity\`, record it in README.md):"
printf '  %-28s %s\n' "$tarball" "$(sri "$work/$tarball")"
tar -xzf "$work/$tarball" -C "$work"
cp "$work/package/LICENSE.txt" "$here/LICENSE.txt"

echo
echo "Package (PACKAGES in build.rs): maplibre-gl@$version"
echo "Files (ASSETS' integrity in build.rs, hash of the uncompressed file):"
for name in maplibre-gl.js maplibre-gl.css; do
    gzip -9n <"$work/package/dist/$name" >"$here/$name.gz"
    printf '  %-28s %s\n' "$name" "$(sri "$work/package/dist/$name")"
done
