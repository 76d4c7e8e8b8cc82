"""The desktop packaging files agree with each other and with the app (fast; no PyInstaller).

The bundle itself is tested by packaging/smoke_test.sh (slow, not part of `make test`).
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import re
import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bvae_viewer import paths

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "bvae-viewer.spec"
DESKTOP = REPO / "resources" / "bvae-viewer.desktop"
HICOLOR = REPO / "resources" / "icons" / "hicolor"
MIME_XML = PACKAGING / "bvae-viewer-mime.xml"
SCRIPTS = ("build.sh", "install-desktop.sh", "smoke_test.sh")
ICON_SIZES = (16, 32, 48, 64, 128, 256)
FREEDESKTOP_MIME = "{http://www.freedesktop.org/standards/shared-mime-info}"

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def spec_app_name() -> str:
    for node in spec_tree().body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["APP_NAME"]:
            return ast.literal_eval(node.value)
    raise AssertionError("the spec sets no APP_NAME")


def spec_functions() -> dict:
    """The spec's helper functions (model_files, resource_files), without running PyInstaller."""
    tree = spec_tree()
    defs = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    namespace = {"Path": Path, "json": json, "os": os}
    exec(compile(ast.Module(body=defs, type_ignores=[]), str(SPEC), "exec"), namespace)
    return {node.name: namespace[node.name] for node in defs}


def desktop_entry() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"), source=str(DESKTOP))
    return parser


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_one_app_name_everywhere():
    name = spec_app_name()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    assert name == paths.APP_NAME
    assert name in scripts
    # The executable and the bundle folder both take that name.
    calls = [n for n in ast.walk(spec_tree()) if isinstance(n, ast.Call)]
    named = {
        n.func.id: kw.value.id
        for n in calls
        if isinstance(n.func, ast.Name)
        for kw in n.keywords
        if kw.arg == "name" and isinstance(kw.value, ast.Name)
    }
    assert named.get("EXE") == "APP_NAME"
    assert named.get("COLLECT") == "APP_NAME"


def test_build_pins_the_same_torch_as_the_project():
    """build.sh installs torch first, with the project's exact pin (a looser one pulls CUDA)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
    torch_pin = next(d for d in deps if d.replace(" ", "").startswith("torch=="))
    match = re.search(
        r"^TORCH_SPEC=\$\{TORCH_SPEC:-(.+)\}$",
        (PACKAGING / "build.sh").read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert match, "build.sh sets no default TORCH_SPEC"
    assert match.group(1) == torch_pin.replace(" ", "")


def test_spec_files_exist():
    text = SPEC.read_text(encoding="utf-8")
    assert (PACKAGING / "launcher.py").is_file()
    assert '"launcher.py"' in text
    for name in ("install-desktop.sh", "bvae-viewer-mime.xml", "BUNDLE_README.txt"):
        assert (PACKAGING / name).is_file(), name
        assert f'"{name}"' in text, name


def test_spec_bundles_resources_where_paths_looks():
    resource_files = spec_functions()["resource_files"]
    bundled = {Path(dest) / Path(src).name for src, dest in resource_files(REPO / "resources")}
    root = paths.install_root()
    # bvae_viewer.paths reads from sys._MEIPASS in the bundle: the same relative layout.
    assert paths.demo_case().relative_to(root) in bundled
    assert Path("resources/bvae-viewer.desktop") in bundled
    for size in ICON_SIZES:
        assert Path(f"resources/icons/hicolor/{size}x{size}/apps/{paths.APP_NAME}.png") in bundled
    assert paths.model_dir().relative_to(root) == Path("model")
    assert not any(
        part.startswith(".") or part == "__pycache__" for path in bundled for part in path.parts
    )


def test_spec_model_files(tmp_path):
    model_files = spec_functions()["model_files"]
    (tmp_path / "model.json").write_text(json.dumps({"weights_file": "w.safetensors"}))
    with pytest.raises(SystemExit, match=r"w\.safetensors"):
        model_files(tmp_path)
    (tmp_path / "w.safetensors").write_bytes(b"\0")
    (tmp_path / "MODEL_CARD.md").write_text("card")
    (tmp_path / "stray.tmp").write_text("not bundled")
    got = sorted((Path(src).name, dest) for src, dest in model_files(tmp_path))
    assert got == [("MODEL_CARD.md", "model"), ("model.json", "model"), ("w.safetensors", "model")]
    with pytest.raises(SystemExit, match="no model"):
        model_files(tmp_path / "missing")


def test_desktop_entry():
    entry = desktop_entry()
    main = entry["Desktop Entry"]
    name = spec_app_name()
    assert main["Type"] == "Application"
    assert main["Name"]
    assert "research use only" in main["Comment"].lower()
    assert main["Exec"].split()[0] == name
    assert set(main["Exec"].split()[1:]) <= {"%f"}  # one file: `bvae-viewer FILE`
    assert main["TryExec"] == name
    assert main["Icon"] == name
    assert main.get("StartupWMClass", name) == name
    assert main["Terminal"] == "false"
    categories = main["Categories"]
    assert categories.endswith(";")
    assert {"Science", "MedicalSoftware", "Graphics"} <= set(categories.split(";"))
    for action in filter(None, main.get("Actions", "").split(";")):
        section = entry[f"Desktop Action {action}"]
        assert section["Name"]
        assert section["Exec"].split()[0] == name


def test_desktop_mime_types_are_declared():
    declared = {
        node.get("type"): [g.get("pattern") for g in node.iter(f"{FREEDESKTOP_MIME}glob")]
        for node in ET.parse(MIME_XML).getroot().iter(f"{FREEDESKTOP_MIME}mime-type")
    }
    wanted = [m for m in desktop_entry()["Desktop Entry"].get("MimeType", "").split(";") if m]
    assert wanted
    for mime in wanted:
        assert mime in declared, mime
    assert {"*.nii", "*.nii.gz"} <= {p for globs in declared.values() for p in globs}


def test_desktop_entry_validates():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_icons_have_the_size_their_folder_says():
    name = spec_app_name()
    pngs = sorted(HICOLOR.glob("*/apps/*.png"))
    assert {p.parent.parent.name for p in pngs} == {f"{s}x{s}" for s in ICON_SIZES}
    for png in pngs:
        assert png.name == f"{name}.png"
        width, height = png.parent.parent.name.split("x")
        assert png_size(png) == (int(width), int(height)), png
    svg = ET.parse(HICOLOR / "scalable" / "apps" / f"{name}.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    _, _, vb_w, vb_h = (float(v) for v in svg.get("viewBox").split())
    assert vb_w == vb_h


def test_render_script_sizes_match_the_icons():
    tree = ast.parse((PACKAGING / "render_icons.py").read_text(encoding="utf-8"))
    sizes = next(
        ast.literal_eval(n.value)
        for n in tree.body
        if isinstance(n, ast.Assign) and [t.id for t in n.targets] == ["SIZES"]
    )
    assert tuple(sizes) == ICON_SIZES


@needs_bash
@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_are_executable_bash(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)


@needs_bash
def test_install_desktop_into_a_home(tmp_path):
    """install-desktop.sh on a stand-in bundle (with a space in its path), then --uninstall."""
    bundle = tmp_path / "my apps" / "bvae-viewer"
    resources = bundle / "_internal" / "resources"
    resources.mkdir(parents=True)
    shutil.copy2(DESKTOP, resources / DESKTOP.name)
    shutil.copytree(HICOLOR, resources / "icons" / "hicolor")
    exe = bundle / "bvae-viewer"
    exe.write_text("#!/bin/sh\necho bvae-viewer stand-in\n")
    exe.chmod(0o755)
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(data), "PATH": "/usr/bin:/bin"}
    script = str(PACKAGING / "install-desktop.sh")

    subprocess.run(["bash", script, str(bundle)], env=env, check=True, capture_output=True)

    installed = data / "applications" / "bvae-viewer.desktop"
    text = installed.read_text(encoding="utf-8")
    assert f'Exec="{exe}" %f' in text
    assert f'Exec="{exe}" --demo' in text
    assert f"TryExec={exe}\n" in text
    assert "Icon=bvae-viewer\n" in text
    for size in ICON_SIZES:
        icon = data / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "bvae-viewer.png"
        assert png_size(icon) == (size, size)
    assert (data / "icons" / "hicolor" / "scalable" / "apps" / "bvae-viewer.svg").is_file()
    assert (data / "mime" / "packages" / "bvae-viewer.xml").is_file()
    link = home / ".local" / "bin" / "bvae-viewer"
    assert link.resolve() == exe.resolve()

    subprocess.run(["bash", script, "--uninstall"], env=env, check=True, capture_output=True)
    assert not installed.exists()
    assert not list((data / "icons").rglob("bvae-viewer.*"))
    assert not link.exists()
