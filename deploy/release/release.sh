#!/usr/bin/env bash
# release.sh OUT VERSION ARCH...: msguard's release of the committed tree
# (make release). For each ARCH (Go's name: amd64, arm64, 386):
#   OUT/msguard-VERSION-linux-ARCH        static binary (CGO off, -trimpath)
#   OUT/msguard_VERSION_ARCH.deb, .rpm    nfpm packages: the binary as /usr/bin/msguard,
#                                         the systemd units, the man pages, bash/zsh/fish completion
# and OUT/msguard-VERSION.cdx.json (CycloneDX SBOM, cyclonedx-gomod) and
# OUT/SHA256SUMS. Every file's bytes depend only on the commit and VERSION:
# no build path, no build time (SOURCE_DATE_EPOCH is the commit's time).
# The packagers run from the Go module proxy at pinned versions, installed
# into TOOLS (default OUT/../tools), never into msguard's go.mod.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: release.sh OUT VERSION ARCH..." >&2; exit 2; }
out=$1 version=$2; shift 2
GO=${GO:-go}
NFPM=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0
CYCLONEDX=github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0

here=$(cd "$(dirname "$0")" && pwd)
# SRC: the source tree to release (default: the one holding this script).
top=$(cd "${SRC:-$here/../..}" && pwd)
cd "$top"
mkdir -p "$out"
out=$(cd "$out" && pwd)
tools=${TOOLS:-$(dirname "$out")/tools}
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

# Tools: built once from the module proxy (the go command caches them).
for t in "$NFPM" "$CYCLONEDX"; do GOFLAGS= GOBIN=$tools $GO install "$t"; done

export SOURCE_DATE_EPOCH
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
rm -f "$out"/msguard-* "$out"/msguard_* "$out"/SHA256SUMS

hostarch=$($GO env GOHOSTARCH)
build() { # build ARCH DEST
  CGO_ENABLED=0 GOOS=linux GOARCH=$1 GOFLAGS= $GO build -trimpath -buildvcs=true \
    -ldflags "-s -w -X github.com/msguard/msguard/internal/buildinfo.version=$version" -o "$2" ./cmd/msguard
}
for arch in "$@"; do
  case $arch in amd64|arm64|386) ;; *) echo "release.sh: unsupported ARCH $arch (amd64, arm64, 386)" >&2; exit 2;; esac
  build "$arch" "$out/msguard-$version-linux-$arch"
  cp "$out/msguard-$version-linux-$arch" "$stage/msguard-linux-$arch"
done

# Man pages and completions, written by the release binary itself.
host=$stage/msguard-host
build "$hostarch" "$host"
mkdir -p "$stage/man" "$stage/completion/bash" "$stage/completion/zsh" "$stage/completion/fish" "$stage/systemd"
"$host" gen-man "$stage/man"
gzip -n -9 "$stage"/man/*.1
"$host" completion bash >"$stage/completion/bash/msguard"
"$host" completion zsh >"$stage/completion/zsh/_msguard"
"$host" completion fish >"$stage/completion/fish/msguard.fish"
# The units as deploy/systemd has them, for the packaged binary's path.
for u in deploy/systemd/msguard-audit.service deploy/systemd/msguard-audit.timer; do
  sed 's|/usr/local/bin/msguard|/usr/bin/msguard|g' "$u" >"$stage/systemd/$(basename "$u")"
done
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

for arch in "$@"; do
  for packager in deb rpm; do
    ARCH=$arch VERSION=$version STAGE=$stage "$tools/nfpm" package --config "$here/nfpm.yaml" \
      --packager "$packager" --target "$out/" >/dev/null
  done
done

# One SBOM, of the modules the binary links (msguard's dependencies do not vary by ARCH).
CGO_ENABLED=0 GOOS=linux GOFLAGS= "$tools/cyclonedx-gomod" app -json -noserial -notimestamp -licenses \
  -main cmd/msguard -output "$out/msguard-$version.cdx.json" . 2>/dev/null

(cd "$out" && sha256sum msguard-* msguard_* >SHA256SUMS)
ls -l "$out"
