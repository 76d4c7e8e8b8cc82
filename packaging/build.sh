#!/usr/bin/env bash
# Build the one-folder desktop bundle dist/bvae-viewer/ from a fresh clone.
#
#   packaging/build.sh                              # model from <repo>/model, CPU torch
#   MODEL_DIR=/tmp/pkg-model packaging/build.sh     # another model folder
#   TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 packaging/build.sh   # CUDA variant
#
# Environment:
#   MODEL_DIR        model folder to bundle (model.json, its weights file, MODEL_CARD.md);
#                    default <repo>/model. It is copied, never written to.
#   PYTHON           interpreter for the build venv (3.11 or 3.12; default python3)
#   BUILD_VENV       the build venv (default <repo>/build/pyinstaller-venv; reused when present)
#   TORCH_SPEC       torch requirement (default "torch==2.13.*": exact, or pip pulls CUDA wheels)
#   TORCH_INDEX_URL  index for the torch wheel (e.g. the cu12x wheels); default: pip's own
#   DIST_DIR         where the bundle goes (default <repo>/dist; the bundle is DIST_DIR/bvae-viewer)
#   WORK_DIR         PyInstaller's work folder (default <repo>/build/pyinstaller)
#   CLEAN=1          empty PyInstaller's caches first (a fresh clone has none)
#   NO_STRIP=1       keep the symbol table of torch's CPU library (about 90 MB)
#   NO_APT=1         do not apt-get install the Qt platform plugins' system libraries
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODEL_DIR=${MODEL_DIR:-$REPO/model}
PYTHON=${PYTHON:-python3}
BUILD_VENV=${BUILD_VENV:-$REPO/build/pyinstaller-venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.*}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
DIST_DIR=${DIST_DIR:-$REPO/dist}
WORK_DIR=${WORK_DIR:-$REPO/build/pyinstaller}
PYINSTALLER_SPEC=${PYINSTALLER_SPEC:-pyinstaller==6.*}

say() { printf 'build.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

start=$SECONDS

# --- the model to bundle -------------------------------------------------------------------
MODEL_DIR=$(cd "$MODEL_DIR" 2>/dev/null && pwd) \
  || die "no model folder at ${MODEL_DIR} (train one, or set MODEL_DIR=/path/to/model)"
[ -f "$MODEL_DIR/model.json" ] || die "$MODEL_DIR/model.json is missing"
weights=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["weights_file"])' \
  "$MODEL_DIR/model.json") || die "cannot read weights_file from $MODEL_DIR/model.json"
[ -f "$MODEL_DIR/$weights" ] || die "$MODEL_DIR/$weights (named in model.json) is missing"
[ -f "$MODEL_DIR/MODEL_CARD.md" ] || say "warning: $MODEL_DIR/MODEL_CARD.md is missing"
[ -f "$REPO/resources/demo/demo_t1ce.nii.gz" ] || die "the demo case resources/demo/ is missing"
say "model: $MODEL_DIR"

# --- system libraries the Qt platform plugins link to --------------------------------------
# PyInstaller copies the ones it finds on this machine into the bundle; a missing one would
# have to be installed on every workstation instead. (It never bundles libGL/libEGL, libxcb
# itself or libwayland-*: those come with the workstation's graphics stack.)
qt_libs=(libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0
         libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 libxkbcommon0
         libfontconfig1 libdbus-1-3 libglib2.0-0)
if command -v dpkg >/dev/null; then
  missing=()
  for pkg in "${qt_libs[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null && [ -z "${NO_APT:-}" ]; then
      say "installing ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      say "warning: not on this machine, so not bundled: ${missing[*]}"
    fi
  fi
fi

# --- the build venv: torch first (exact pin), then the dependencies and PyInstaller -------
stamp="$BUILD_VENV/.bvae-build-stamp"
want="$(sha256sum "$REPO/pyproject.toml" | cut -c1-16) $TORCH_SPEC $TORCH_INDEX_URL $PYINSTALLER_SPEC"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "creating the build venv $BUILD_VENV"
  rm -rf "$BUILD_VENV"
  "$PYTHON" -m venv "$BUILD_VENV"
  pip=("$BUILD_VENV/bin/python" -m pip install -q)
  "${pip[@]}" --upgrade pip
  if [ -n "$TORCH_INDEX_URL" ]; then
    "${pip[@]}" --index-url "$TORCH_INDEX_URL" "$TORCH_SPEC"
  else
    "${pip[@]}" "$TORCH_SPEC"
  fi
  # The project's runtime dependencies only (no dev tools, no nilearn: synthesis only). The
  # project itself is not installed: the spec takes bvae_viewer/ from this checkout.
  mapfile -t deps < <("$BUILD_VENV/bin/python" -c \
    'import sys, tomllib; print(*tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"], sep="\n")' \
    "$REPO/pyproject.toml")
  "${pip[@]}" "${deps[@]}" "$PYINSTALLER_SPEC"
  echo "$want" >"$stamp"
fi
# No installed copy of the project may shadow the checkout the spec points at.
"$BUILD_VENV/bin/python" -m pip uninstall -q -y bvae-viewer >/dev/null 2>&1 || true
"$BUILD_VENV/bin/python" - <<'PY' >&2
import PyInstaller, torch, PySide6
print(f"build.sh: torch {torch.__version__}, PySide6 {PySide6.__version__}, "
      f"PyInstaller {PyInstaller.__version__}")
PY

# --- PyInstaller ---------------------------------------------------------------------------
say "running PyInstaller"
BVAE_MODEL_DIR="$MODEL_DIR" "$BUILD_VENV/bin/pyinstaller" --noconfirm ${CLEAN:+--clean} --log-level WARN \
  --distpath "$DIST_DIR" --workpath "$WORK_DIR" "$REPO/packaging/bvae-viewer.spec"

bundle="$DIST_DIR/bvae-viewer"
[ -x "$bundle/bvae-viewer" ] || die "PyInstaller did not produce $bundle/bvae-viewer"
# torch's CPU library carries its full symbol table: about 90 MB of 430 that nothing reads at
# run time (the dynamic symbols stay). The other large libraries are already stripped.
torch_cpu="$bundle/_internal/torch/lib/libtorch_cpu.so"
if [ -z "${NO_STRIP:-}" ] && [ -f "$torch_cpu" ] && command -v strip >/dev/null; then
  strip --strip-unneeded "$torch_cpu"
fi
# Readable by every user when installed system-wide (the weights may be written 0600).
chmod -R u+rwX,go+rX-w "$bundle"

elapsed=$((SECONDS - start))
size=$(du -sh "$bundle" | cut -f1)
say "bundle: $bundle"
say "size: $size (du -sh), build time: $((elapsed / 60)) min $((elapsed % 60)) s"
