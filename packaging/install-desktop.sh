#!/usr/bin/env bash
# Put bvae-viewer in the desktop's application menu, for this user only (no root).
#
#   packaging/install-desktop.sh [BUNDLE]       # default: <repo>/dist/bvae-viewer
#   BUNDLE/install-desktop.sh                   # the copy inside a built bundle
#   packaging/install-desktop.sh --uninstall
#
# Installs, under ${XDG_DATA_HOME:-~/.local/share}:
#   applications/bvae-viewer.desktop             Exec/TryExec pointing at BUNDLE/bvae-viewer
#   icons/hicolor/<N>x<N>/apps/bvae-viewer.png   N = 16 32 48 64 128 256, and scalable/ (SVG)
#   mime/packages/bvae-viewer.xml                the NIfTI type (*.nii, *.nii.gz)
# and a link ~/.local/bin/bvae-viewer -> BUNDLE/bvae-viewer for the terminal.
# Needs only bash and coreutils; the desktop caches are refreshed where their tools exist.
set -euo pipefail

APP=bvae-viewer
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
BIN_LINK=$HOME/.local/bin/$APP
SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf 'install-desktop.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

refresh() {
  command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
  command -v update-mime-database >/dev/null && [ -d "$DATA/mime/packages" ] \
    && update-mime-database "$DATA/mime" >/dev/null 2>&1 || true
  command -v gtk-update-icon-cache >/dev/null && [ -f "$DATA/icons/hicolor/index.theme" ] \
    && gtk-update-icon-cache -q -t -f "$DATA/icons/hicolor" || true
}

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$DATA/applications/$APP.desktop" "$DATA/mime/packages/$APP.xml"
  rm -f "$DATA"/icons/hicolor/*/apps/"$APP".png "$DATA/icons/hicolor/scalable/apps/$APP.svg"
  [ -L "$BIN_LINK" ] && rm -f "$BIN_LINK"
  refresh
  say "removed the $APP desktop entry, icons and MIME type from $DATA"
  exit 0
fi

# The bundle: this script's own folder when it is the copy inside a bundle, else the argument.
if [ $# -ge 1 ]; then
  BUNDLE=$1
elif [ -x "$SELF_DIR/$APP" ] && [ -d "$SELF_DIR/_internal" ]; then
  BUNDLE=$SELF_DIR
else
  BUNDLE=$SELF_DIR/../dist/$APP
fi
BUNDLE=$(cd "$BUNDLE" 2>/dev/null && pwd) || die "no bundle at $BUNDLE (run packaging/build.sh)"
EXE=$BUNDLE/$APP
[ -x "$EXE" ] || die "$EXE is missing or not executable"
RES=$BUNDLE/_internal/resources
[ -f "$RES/$APP.desktop" ] || die "$RES/$APP.desktop is missing: not a bvae-viewer bundle?"
case "$EXE" in
  *[\"\`\$\\%]*) die "the bundle path may not contain \" \` \$ \\ or %: $EXE" ;;
esac
MIME_XML=$BUNDLE/$APP-mime.xml
[ -f "$MIME_XML" ] || MIME_XML=$SELF_DIR/$APP-mime.xml

# Desktop entry: the same file, with the bundle's absolute path (quoted: it may hold spaces).
mkdir -p "$DATA/applications"
tmp=$(mktemp "$DATA/applications/.$APP.XXXXXX")
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    Exec=$APP*) printf 'Exec="%s"%s\n' "$EXE" "${line#Exec="$APP"}" ;;
    TryExec=*) printf 'TryExec=%s\n' "$EXE" ;;
    *) printf '%s\n' "$line" ;;
  esac
done <"$RES/$APP.desktop" >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$DATA/applications/$APP.desktop"

# Icons: the hicolor tree as it is in the bundle.
n=0
for icon in "$RES"/icons/hicolor/*/apps/"$APP".png "$RES/icons/hicolor/scalable/apps/$APP.svg"; do
  [ -f "$icon" ] || continue
  size_dir=$(basename "$(dirname "$(dirname "$icon")")")
  install -D -m 644 "$icon" "$DATA/icons/hicolor/$size_dir/apps/$(basename "$icon")"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || die "no icons under $RES/icons/hicolor"

if [ -f "$MIME_XML" ]; then
  install -D -m 644 "$MIME_XML" "$DATA/mime/packages/$APP.xml"
fi

mkdir -p "$(dirname "$BIN_LINK")"
if [ ! -e "$BIN_LINK" ] || [ -L "$BIN_LINK" ]; then
  ln -sfn "$EXE" "$BIN_LINK"
else
  say "warning: $BIN_LINK exists and is not a link; left alone"
fi

refresh
say "installed $DATA/applications/$APP.desktop ($n icons) for $EXE"
say "terminal: $BIN_LINK --version"
