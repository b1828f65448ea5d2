#!/usr/bin/env bash
# Fetches the EMNIST test splits metaplast reads (balanced, the release's data, and
# bymerge) from NIST's archive, checks each file's sha256, and puts them in data/emnist/.
set -euo pipefail

readonly URL=https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip
readonly FILES=(
    emnist-balanced-test-images-idx3-ubyte.gz
    emnist-balanced-test-labels-idx1-ubyte.gz
    emnist-bymerge-test-images-idx3-ubyte.gz
    emnist-bymerge-test-labels-idx1-ubyte.gz
)
# sha256sum format; --sums FILE replaces it (the tests use that with a small fake zip).
SUMS='117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db  emnist-balanced-test-images-idx3-ubyte.gz
a67cac948379b67270b9a4d0a01c8ec661598accf2f2b1964340b7c83cb175cd  emnist-balanced-test-labels-idx1-ubyte.gz
5e5815ec1b522089134435f7c55e75a00960b58414793593ffff23efc0821683  emnist-bymerge-test-images-idx3-ubyte.gz
8bda1516255683ba9071e141947ca0c91a911176065cdd6259b0b4d8dc5b5f35  emnist-bymerge-test-labels-idx1-ubyte.gz'

usage() {
    cat <<EOF
Usage: $0 [--dest DIR] [--zip FILE] [--sums FILE]

Downloads $URL (about 535 MB),
extracts the EMNIST balanced and bymerge test splits into DIR:
$(printf '  %s\n' "${FILES[@]}")
and checks their sha256. A file whose checksum does not match is deleted,
and the script exits with status 1. Files already in DIR with the right checksum are kept.

  --dest DIR    where the files go (default: the emnist/ directory next to this script,
                i.e. data/emnist/, where metaplast looks with its default --data_dir)
  --zip FILE    use this copy of gzip.zip instead of downloading it
  --sums FILE   expected checksums, in sha256sum's format, instead of NIST's
EOF
}

die() {
    echo "fetch-emnist.sh: $*" >&2
    exit 1
}

dest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/emnist"
zip=""
while [[ $# -gt 0 ]]; do
    case $1 in
        --dest | --zip | --sums)
            [[ $# -ge 2 ]] || die "$1 needs a value"
            case $1 in
                --dest) dest=$2 ;;
                --zip) zip=$2 ;;
                --sums) [[ -r $2 ]] || die "cannot read $2"; SUMS=$(<"$2") ;;
            esac
            shift 2
            ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done

declare -A want
while read -r hash name; do
    [[ -n ${hash:-} ]] && want[${name#\*}]=$hash
done <<<"$SUMS"
for f in "${FILES[@]}"; do
    [[ -n ${want[$f]:-} ]] || die "no expected sha256 for $f"
done

# A file that fails its checksum is deleted, so metaplast never reads it.
verify() {
    local file=$1 name=${1##*/} got
    got=$(sha256sum "$file")
    got=${got%% *}
    if [[ $got != "${want[$name]}" ]]; then
        rm -f -- "$file"
        echo "fetch-emnist.sh: sha256 mismatch for $name: expected ${want[$name]}, got $got; deleted it" >&2
        return 1
    fi
}

mkdir -p -- "$dest"
missing=()
for f in "${FILES[@]}"; do
    if [[ -f $dest/$f ]] && verify "$dest/$f"; then
        echo "already there: $dest/$f"
    else
        missing+=("$f")
    fi
done
[[ ${#missing[@]} -gt 0 ]] || exit 0

# Work next to the destination so the final mv is a rename on the same file system.
work=$(mktemp -d "$dest/.fetch-XXXXXX")
trap 'rm -rf -- "$work"' EXIT

if [[ -z $zip ]]; then
    zip=$work/gzip.zip
    echo "downloading $URL (about 535 MB)"
    if command -v curl >/dev/null; then
        curl -fL --retry 3 -o "$zip" "$URL" || die "download failed: $URL"
    elif command -v wget >/dev/null; then
        wget -O "$zip" "$URL" || die "download failed: $URL"
    else
        die "need curl or wget to download $URL: apt-get install curl"
    fi
fi
[[ -r $zip ]] || die "cannot read $zip"

members=("${missing[@]/#/gzip/}")
if command -v unzip >/dev/null; then
    unzip -q -o -j "$zip" "${members[@]}" -d "$work" || die "cannot extract ${members[*]} from $zip"
elif command -v python3 >/dev/null; then
    python3 - "$zip" "$work" "${members[@]}" <<'EOF' || die "cannot extract ${members[*]} from $zip"
import os, shutil, sys, zipfile
try:
    with zipfile.ZipFile(sys.argv[1]) as archive:
        for member in sys.argv[3:]:
            target = os.path.join(sys.argv[2], os.path.basename(member))
            with archive.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
except (OSError, KeyError, zipfile.BadZipFile) as e:
    sys.exit(f"fetch-emnist.sh: {e}")
EOF
else
    die "need unzip (or python3) to extract $zip: apt-get install unzip"
fi

status=0
for f in "${missing[@]}"; do
    if verify "$work/$f"; then
        mv -f -- "$work/$f" "$dest/$f"
        echo "ok: $dest/$f"
    else
        status=1
    fi
done
exit $status
