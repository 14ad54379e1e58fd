#!/usr/bin/env bash
# Build ReLU Studio's desktop bundle and pack it as the release archive.
#
#   scripts/release.sh                  build dist/relu-studio/ with build.spec, self-test it, pack it
#   scripts/release.sh --from DIR       pack an already built bundle folder instead of building
#   scripts/release.sh --out FOLDER     where the archive goes (default: dist/)
#   scripts/release.sh --no-self-test   skip running the bundle's --self-test before packing
#
# Writes FOLDER/relu-studio-<version>-linux-x86_64.tar.zst (one top folder, relu-studio-<version>/,
# symbolic links kept as links, owner root, files sorted, times set to the last commit's) and its
# .sha256. build.spec has already put README.txt, VERSION (version and commit), LICENSE,
# THIRD-PARTY-NOTICES.txt and licenses/ into the folder; this script checks they are there and that
# VERSION matches relu_studio/core/version.py.
#
# Needs: binutils' strip (checked first: a build without it ships ~50 MiB of symbol tables), GNU
# tar, zstd. PYTHON (default .venv/bin/python) runs PyInstaller; ZSTD_LEVEL (default 19) trades
# time for size (measured on two cores: 19 takes about 95 s for 87 MiB, 3 about a second for 109 MiB).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
from=""
out="$root/dist"
self_test=1

die() { echo "release.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || die "--from needs a folder"; from="$2"; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out="$2"; shift 2 ;;
    --no-self-test) self_test=0; shift ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "release.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

command -v strip >/dev/null 2>&1 || die "'strip' is missing (binutils): without it the bundle keeps ~50 MiB of symbol tables. Install binutils (apt install binutils) and run again."
command -v zstd >/dev/null 2>&1 || die "'zstd' is missing (apt install zstd)"
tar --version 2>/dev/null | grep -q "GNU tar" || die "GNU tar is needed"

version="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/relu_studio/core/version.py")"
[ -n "$version" ] || die "no __version__ in relu_studio/core/version.py"

if [ -z "$from" ]; then
  python="${PYTHON:-$root/.venv/bin/python}"
  [ -x "$python" ] || python="$(command -v python3)" || die "no Python to run PyInstaller with (set PYTHON)"
  echo "release.sh: building with $python -m PyInstaller build.spec"
  "$python" -m PyInstaller --noconfirm --distpath "$root/dist" --workpath "$root/build" "$root/build.spec"
  from="$root/dist/relu-studio"
fi
from="$(cd "$from" && pwd)"

[ -x "$from/relu-studio" ] || die "$from has no relu-studio executable"
for f in README.txt VERSION LICENSE THIRD-PARTY-NOTICES.txt licenses/index.json; do
  [ -s "$from/$f" ] || die "$from/$f is missing (build.spec writes it: rebuild)"
done
built="$(sed -n 's/^version=//p' "$from/VERSION")"
[ "$built" = "$version" ] || die "$from was built as version '$built', but relu_studio/core/version.py says $version"
commit="$(sed -n 's/^commit=//p' "$from/VERSION")"
case "$commit" in
  ""|unknown|*+changes) echo "release.sh: warning: $from was built from '${commit:-?}', not from a clean commit" >&2 ;;
esac

if [ "$self_test" = 1 ]; then
  cache="$(mktemp -d)"
  trap 'rm -rf "$cache"' EXIT
  echo "release.sh: $from/relu-studio --self-test"
  QT_QPA_PLATFORM=offscreen XDG_CACHE_HOME="$cache" "$from/relu-studio" --self-test \
    || die "the bundle's self-test failed"
fi

name="relu-studio-$version"
archive="$out/$name-linux-x86_64.tar.zst"
base="$(basename "$from")"
mtime="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
mkdir -p "$out"
tar -C "$(dirname "$from")" \
    --transform="s,^${base}\\(/\\|\$\\),${name}\\1,S" \
    --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" \
    -cf - "$base" \
  | zstd -q -f -T0 "-${ZSTD_LEVEL:-19}" -o "$archive.part"
mv -f "$archive.part" "$archive"
(cd "$out" && sha256sum "$(basename "$archive")" > "$(basename "$archive").sha256")

folder_mib="$(du -sm "$from" | cut -f1)"
archive_mib="$(( $(stat -c %s "$archive") / 1048576 ))"
echo "release.sh: $archive ($archive_mib MiB; the folder: $folder_mib MiB; commit ${commit:-?})"
