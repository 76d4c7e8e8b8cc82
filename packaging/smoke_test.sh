#!/usr/bin/env bash
# Smoke test of the desktop bundle (slow: not part of `make test`).
#
#   packaging/smoke_test.sh              # reuse dist/bvae-viewer if built, else build it
#   packaging/smoke_test.sh --rebuild    # build first (packaging/build.sh; MODEL_DIR passes through)
#   BUNDLE=/opt/bvae-viewer packaging/smoke_test.sh   # test an installed bundle
#
# Runs the bundle as a user would, in a clean environment (no venv, no PYTHONPATH, an empty
# HOME): --version, the demo case with --screenshot, an analysis, a bad input. Checks the
# screenshot is a real picture, the state went to the per-user folders, and nothing inside
# the bundle folder was created, changed or deleted. Exit 0 when everything passed.
# Keeps its outputs in SMOKE_OUT (default: a new temp folder; the path is printed).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE=${BUNDLE:-$REPO/dist/bvae-viewer}
APP=bvae-viewer
SMOKE_OUT=${SMOKE_OUT:-$(mktemp -d /tmp/bvae-smoke.XXXXXX)}
TIMEOUT=${SMOKE_TIMEOUT:-900}

say() { printf 'smoke_test.sh: %s\n' "$*" >&2; }
fails=0
ok() { say "ok:   $*"; }
bad() { say "FAIL: $*"; fails=$((fails + 1)); }

if [ "${1:-}" = "--rebuild" ] || [ ! -x "$BUNDLE/$APP" ]; then
  say "building the bundle"
  "$REPO/packaging/build.sh"
fi
[ -x "$BUNDLE/$APP" ] || { say "FAIL: no bundle at $BUNDLE"; exit 1; }
BUNDLE=$(cd "$BUNDLE" && pwd)
mkdir -p "$SMOKE_OUT"
say "bundle: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1)); outputs: $SMOKE_OUT"

# Everything below runs the bundle like a clinician's session would: no Python environment,
# a fresh home folder (so the per-user state folders start empty).
HOME_DIR=$SMOKE_OUT/home
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR"
run() {
  env -i HOME="$HOME_DIR" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    timeout "$TIMEOUT" "$BUNDLE/$APP" "$@"
}
listing() { (cd "$BUNDLE" && find . -printf '%y %m %s %T@ %p\n' | LC_ALL=C sort -k5); }
listing >"$SMOKE_OUT/listing-before.txt"

# 1. --version: the app version and the bundled model's hash.
if run --version >"$SMOKE_OUT/version.txt" 2>"$SMOKE_OUT/version.err"; then
  version=$(cat "$SMOKE_OUT/version.txt")
  sha=$(sed -n 's/.*"sha256": *"\([0-9a-f]*\)".*/\1/p' "$BUNDLE/_internal/model/model.json" | head -1)
  if [ -n "$sha" ] && [[ "$version" == "bvae-viewer "*"${sha:0:12}"* ]]; then
    ok "--version: $version"
  else
    bad "--version printed '$version'; expected the model hash ${sha:0:12}"
  fi
else
  bad "--version failed: $(tail -3 "$SMOKE_OUT/version.err")"
fi

# 2. The window on the demo case: analyse, save a PNG of the window, exit.
shot=$SMOKE_OUT/shot.png
start=$SECONDS
if run --demo --screenshot "$shot" >"$SMOKE_OUT/gui.log" 2>&1; then
  ok "--demo --screenshot exited 0 in $((SECONDS - start)) s"
else
  bad "--demo --screenshot failed (exit $?): $(tail -5 "$SMOKE_OUT/gui.log")"
fi
if [ -f "$shot" ]; then
  sig=$(od -An -tx1 -N8 "$shot" | tr -d ' \n')
  read -r w h < <(od -An -tu1 -j16 -N8 "$shot" \
    | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}')
  bytes=$(stat -c %s "$shot")
  # A window of six maps compresses to far more than a blank or single-colour window.
  if [ "$sig" = "89504e470d0a1a0a" ] && [ "$w" -ge 800 ] && [ "$h" -ge 500 ] \
     && [ "$bytes" -ge 60000 ]; then
    ok "screenshot $shot: ${w}x${h}, $bytes bytes"
  else
    bad "screenshot $shot looks wrong: signature $sig, ${w}x${h}, $bytes bytes"
  fi
else
  bad "no screenshot at $shot"
fi

# 3. The command line on the bundled demo case, and a bad input.
demo=$BUNDLE/_internal/resources/demo/demo_t1ce.nii.gz
if run analyze "$demo" --out "$SMOKE_OUT/analyze" >"$SMOKE_OUT/analyze.log" 2>&1 \
   && [ -s "$SMOKE_OUT/analyze/slices.csv" ] && [ -s "$SMOKE_OUT/analyze/case.json" ]; then
  ok "analyze: $(tail -1 "$SMOKE_OUT/analyze.log")"
else
  bad "analyze failed: $(tail -5 "$SMOKE_OUT/analyze.log")"
fi
set +e
run analyze "$SMOKE_OUT/no-such-file.nii.gz" --out "$SMOKE_OUT/bad" >/dev/null 2>"$SMOKE_OUT/bad.err"
code=$?
set -e
if [ "$code" -eq 2 ] && [ "$(wc -l <"$SMOKE_OUT/bad.err")" -eq 1 ]; then
  ok "bad input: exit 2, '$(cat "$SMOKE_OUT/bad.err")'"
else
  bad "bad input: exit $code, stderr: $(head -3 "$SMOKE_OUT/bad.err")"
fi

# 4. State in the per-user folders, nothing written into the bundle.
listing >"$SMOKE_OUT/listing-after.txt"
if cmp -s "$SMOKE_OUT/listing-before.txt" "$SMOKE_OUT/listing-after.txt"; then
  ok "bundle folder unchanged ($(wc -l <"$SMOKE_OUT/listing-after.txt") entries)"
else
  bad "the bundle folder changed:"
  diff "$SMOKE_OUT/listing-before.txt" "$SMOKE_OUT/listing-after.txt" | head -20 >&2 || true
fi
state=$(cd "$HOME_DIR" && find . -mindepth 2 -maxdepth 4 -path "*$APP*" | LC_ALL=C sort | tr '\n' ' ')
if [ -n "$state" ]; then
  ok "per-user state under \$HOME: $state"
else
  bad "no per-user state folder under $HOME_DIR"
fi

if [ "$fails" -eq 0 ]; then
  say "PASSED (outputs in $SMOKE_OUT)"
else
  say "$fails check(s) FAILED (outputs in $SMOKE_OUT)"
  exit 1
fi
