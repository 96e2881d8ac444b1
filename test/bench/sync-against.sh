#!/usr/bin/env bash
# The Stripe sync of an earlier commit beside this checkout's, on this machine, in alternating
# rounds, both syncing from this checkout's fake Stripe (the same objects, in the pinned API
# version's shapes). A figure printed on another machine, or from other objects, says little about
# whether a change made the sync slower; this measures it.
#
#   npm run bench:sync-against -- <git ref> [rounds, default 3]
#   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:sync-against -- <git ref>
#
# Each round runs the bench's 'Stripe sync memory' rows in both trees (20,000 then 100,000
# objects, a fresh process each) and prints objects/s; the medians follow.
set -euo pipefail
ref=${1:?usage: npm run bench:sync-against -- <git ref> [rounds]}
rounds=${2:-3}
here=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
earlier="$scratch/earlier"
cleanup() {
  git -C "$here" worktree remove --force "$earlier" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT

git -C "$here" worktree add --detach --quiet "$earlier" "$ref"
echo "installing the dependencies of $ref..."
(cd "$earlier" && npm ci --no-audit --no-fund >"$scratch/install.log" 2>&1) || { cat "$scratch/install.log" >&2; exit 1; }
# Both sync from the same fake: this checkout's, driven by this checkout's fake process.
rm -rf "$earlier/test/support/fake-stripe" "$earlier/test/support/fake-stripe.ts" "$earlier/test/support/fake-stripe-data.ts"
cp -R "$here/test/support/fake-stripe" "$here/test/support/fake-stripe.ts" "$earlier/test/support/"
cp "$here/test/bench/fake-stripe-process.ts" "$earlier/test/bench/"

# "20000 7123 100000 6980": objects and objects/s of each memory row.
rates() {
  (cd "$1" && npx tsx test/bench/run.ts 'Stripe sync memory' 2>/dev/null) |
    sed -nE 's/^\| Stripe sync memory, ([0-9,]+) objects.*; ([0-9,]+) objects\/s.*/\1 \2/p' | tr -d ',' | tr '\n' ' '
}
results="$scratch/results"
for round in $(seq "$rounds"); do
  for tree in "$earlier" "$here"; do
    label=$([[ "$tree" == "$here" ]] && echo "this checkout" || echo "$ref")
    line=$(rates "$tree")
    [[ -n "$line" ]] || { echo "the bench in $label printed no sync rows" >&2; exit 1; }
    echo "$label|$line" >>"$results"
    read -r small small_rate large large_rate <<<"$line"
    printf 'round %s  %-14s %s objects: %s objects/s   %s objects: %s objects/s\n' \
      "$round" "$label" "$small" "$small_rate" "$large" "$large_rate"
  done
done

# The median of one column ($2: the first row's objects/s, $4: the second's) of one tree's rounds.
median() {
  grep -F "$1|" "$results" | cut -d'|' -f2 | awk -v field="$2" '{ print $field }' | sort -n |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
read -r small _ large _ <<<"$(head -n 1 "$results" | cut -d'|' -f2)"
echo
echo "medians of $rounds rounds (objects/s):"
for label in "$ref" "this checkout"; do
  printf '  %-14s %s objects: %s   %s objects: %s\n' "$label" "$small" "$(median "$label" 2)" "$large" "$(median "$label" 4)"
done
