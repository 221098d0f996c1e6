#!/usr/bin/env bash
# Maintainers only (the build never runs this): refreshes GraphiQL's committed browser assets.
#
#   assets/graphiql/update.sh [GRAPHIQL_VERSION [REACT_VERSION]]    (defaults: 3.8.3 18.3.1)
#
# Needs npm, tar, gzip and openssl. Fetches the packages with `npm pack`, takes out the four files
# the page serves and each package's LICENSE, writes them here gzip-compressed (`gzip -9n`: no
# name or time stamp, so the same input always gives the same bytes), and prints what to pin in
# build.rs. Review the release and the diff before committing: whatever is pinned ships in the
# binary.
set -euo pipefail

graphiql_version=${1:-3.8.3}
react_version=${2:-18.3.1}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sri() { printf 'sha512-%s' "$(openssl dgst -sha512 -binary "$1" | base64 -w0)"; }

specs=("graphiql@$graphiql_version" "react@$react_version" "react-dom@$react_version")
# Run in an empty folder so that no package.json or .npmrc of the source tree is picked up;
# --ignore-scripts because nothing of these packages needs to run.
(cd "$work" && npm pack "${specs[@]}" --ignore-scripts --no-fund --no-audit \
    --loglevel=error >/dev/null)

echo "Tarballs (record them in assets/graphiql/README.md; npm's registry lists the same):"
for spec in "${specs[@]}"; do
    package=${spec%@*}
    tarball="$package-${spec##*@}.tgz"
    printf '  %-28s %s\n' "$tarball" "$(sri "$work/$tarball")"
    mkdir -p "$work/$package"
    tar -xzf "$work/$tarball" -C "$work/$package"
    cp "$work/$package/package/LICENSE" "$here/LICENSE-$package"
done

# name in OUT_DIR/graphiql/ and here, then the file inside its package.
assets=(
    "graphiql.min.js graphiql/package/graphiql.min.js"
    "graphiql.min.css graphiql/package/graphiql.min.css"
    "react.production.min.js react/package/umd/react.production.min.js"
    "react-dom.production.min.js react-dom/package/umd/react-dom.production.min.js"
)
echo
echo "Packages (PACKAGES in build.rs): ${specs[*]}"
echo "Files (ASSETS' integrity in build.rs, hash of the uncompressed file):"
for entry in "${assets[@]}"; do
    read -r name member <<<"$entry"
    gzip -9n <"$work/$member" >"$here/$name.gz"
    printf '  %-28s %s\n' "$name" "$(sri "$work/$member")"
done
