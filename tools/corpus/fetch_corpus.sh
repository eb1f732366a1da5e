#!/usr/bin/env bash
# Fetch the public-domain English training corpus of smoe-mixtral-tiny from Debian packages and
# build plain-text train/validation files under data/corpus/ (git-ignored).
#
#   tools/corpus/fetch_corpus.sh            # from the repository root (needs root for apt-get if
#                                           # the packages are missing)
#
# Sources (Debian 12 packages):
#   bible-kjv-text + bible-kjv : King James Version (1611/1769), read with the `bible` program
#   r-cran-janeaustenr + r-base-core : Jane Austen's six completed novels, read with Rscript
# Output:
#   data/corpus/raw/kjv.txt               one verse per line, "Ref text" as `bible -f` prints it
#   data/corpus/raw/austen_<novel>.txt    the lines of each novel as janeaustenr stores them
#   data/corpus/train.txt, data/corpus/valid.txt, data/corpus/manifest.json (see build_corpus.py)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-$ROOT/data/corpus}"
PY=/usr/bin/python3

need=()
for p in bible-kjv bible-kjv-text r-cran-janeaustenr r-base-core; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

mkdir -p "$OUT/raw"
# -f turns pretty-printing off: one verse per line, preceded by its reference (e.g. "Ge1:1 In the ...").
bible -f 'Genesis1:1-Revelation22:21' </dev/null > "$OUT/raw/kjv.txt"
n=$(wc -l < "$OUT/raw/kjv.txt")
[ "$n" -eq 31102 ] || { echo "expected 31102 KJV verses, got $n" >&2; exit 1; }

for novel in sensesensibility prideprejudice mansfieldpark emma northangerabbey persuasion; do
  Rscript --vanilla -e "data(list='$novel', package='janeaustenr'); writeLines(get('$novel'), '$OUT/raw/austen_$novel.txt', useBytes=TRUE)"
done

# Package versions for the record.
dpkg-query -W -f='${Package} ${Version}\n' bible-kjv bible-kjv-text r-cran-janeaustenr > "$OUT/raw/versions.txt"

"$PY" "$ROOT/tools/corpus/build_corpus.py" --raw "$OUT/raw" --out "$OUT"
