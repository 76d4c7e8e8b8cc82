"""`analyze --report` names the maps after the model's method: the panel titles, colours and
glossary a report shows are the window's (analysis.display), for each of the three methods."""

import json
import math

import pytest
import torch

from bvae_viewer.analysis.display import panels
from bvae_viewer.analysis.methods import BVAE, METHODS, PROB_UNET, REVERSE_DISTILLATION
from bvae_viewer.analysis.model_info import Calibration, ModelInfo
from bvae_viewer.nn.bundle import save_bundle
from tests.cli.test_cli import run_cli
from tests.volumes import brain_phantom, write_nifti


def _network(method: str):
    """A small network of each method at the preprocessing's 128 px (untrained)."""
    if method == REVERSE_DISTILLATION:
        from bvae_viewer.nn.registry import RDNetwork
        from bvae_viewer.nn.reverse_distillation import RDConfig

        return RDNetwork(RDConfig(image_size=128, width=4, dropout=0.2))
    if method == PROB_UNET:
        from bvae_viewer.nn.prob_unet import ProbUNetConfig, build_prob_unet

        config = ProbUNetConfig(image_size=128, channels=(4, 8), latent_dim=3, head_channels=8)
        return build_prob_unet(config)
    from bvae_viewer.nn.config import ModelConfig
    from bvae_viewer.nn.network import build_network

    return build_network(ModelConfig.fast())


@pytest.fixture(scope="module")
def nifti(tmp_path_factory):
    image, _ = brain_phantom(shape=(48, 56, 12))
    return write_nifti(tmp_path_factory.mktemp("case") / "case.nii.gz", image)


@pytest.mark.parametrize("method", [BVAE, REVERSE_DISTILLATION, PROB_UNET])
def test_a_report_shows_the_maps_under_its_methods_titles(tmp_path, nifti, method):
    torch.manual_seed(0)
    # Every brain slice flagged: the report shows their maps.
    calibration = Calibration(alpha=0.5, score_threshold=0.0, uncertainty_threshold=math.inf)
    model = tmp_path / "model"
    save_bundle(_network(method).eval(), ModelInfo(f"{method}-tiny", {}, "", "", calibration),
                model)  # fmt: skip
    out, report = tmp_path / "out", tmp_path / "report.html"
    proc = run_cli("analyze", nifti, "--out", out, "--model", model, "--device", "cpu",
                   "--samples", "2", "--no-cache", "--report", report)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    html = report.read_text(encoding="utf-8")
    assert "Maps of the reported slices" in html  # thumbnails, under captions
    titles = METHODS[method].panel_titles
    for key, title in titles.items():
        assert f"<b>{title}</b>" in html, key  # in the colour-bar legend and the glossary
        assert f"class='caption'>{title}</td>" in html, key  # under every slice's maps
    others = {t for m, info in METHODS.items() if m != method for t in info.panel_titles.values()}
    for title in others - set(titles.values()):
        assert f">{title}<" not in html, title  # no other method's words
    spec = {p.key: p for p in panels(method)}
    assert spec["reconstruction"].image == (method == BVAE)  # a map is not shown in grey
    doc = json.loads((out / "case.json").read_text())
    assert doc["model"]["method"] == method
