"""Reverse Distillation: training, the anomaly map, the three samplers and its evaluate rows."""

import json
from dataclasses import replace

import pytest
import torch

from bvae_viewer.analysis.evaluation.mvtec_data import load_mvtec_eval_data
from bvae_viewer.analysis.evaluation.rd_report import rd_section
from bvae_viewer.nn.evaluate import run_evaluate
from bvae_viewer.nn.evaluation import preset as presets
from bvae_viewer.nn.evaluation.preset import QUICK
from bvae_viewer.nn.evaluation.rd_rows import ROW_NAMES
from bvae_viewer.nn.rd_sampling import (
    ensemble_sample_maps,
    mc_dropout_sample_maps,
    single_maps,
    summarise_samples,
    tta_sample_maps,
)
from bvae_viewer.nn.reverse_distillation import (
    RDConfig,
    RDTrainOptions,
    Student,
    Teacher,
    anomaly_map,
    image_scores,
    pretrain_teacher,
    train_student,
)
from bvae_viewer.nn.tta import augment, tta_views
from bvae_viewer.nn.tta import unaugment_grid as unaugment_map
from tests.mvtec_fixture import write_mvtec_category
from tests.nn.nnkit import blob_images, make_bundle, tiny_config
from tests.volumes import write_brats_case

CONFIG = RDConfig(image_size=32, width=8, dropout=0.3)


def _x(n=4, seed=0):
    return torch.from_numpy(blob_images(n, 32, seed=seed)).unsqueeze(1)


def test_student_trains_with_decreasing_loss():
    torch.manual_seed(0)
    images = blob_images(16, 32, seed=1)
    options = RDTrainOptions(epochs=4, batch_size=8, lr=1e-3, patience=10, seed=0)
    teacher = pretrain_teacher(CONFIG, images, images[:8], replace(options, epochs=1))
    assert not any(p.requires_grad for p in teacher.module.parameters())  # frozen
    result = train_student(CONFIG, teacher.module, images, images[:8], options)
    losses = [h["loss"] for h in result.history]
    assert result.steps == 8 and len(losses) == 4
    assert losses[-1] < losses[0] and result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_anomaly_map_is_zero_for_identical_features_and_sums_scales():
    torch.manual_seed(0)
    with torch.no_grad():
        feats = Teacher(CONFIG)(_x())
    same = anomaly_map(feats, [f.clone() for f in feats], 32)
    assert same.shape == (4, 32, 32)
    assert float(same.abs().max()) < 1e-5
    opposite = anomaly_map(feats, [-f for f in feats], 32)
    torch.testing.assert_close(opposite, torch.full_like(opposite, 6.0))  # 3 scales x 2


def test_image_score_is_the_mean_of_the_top_brain_pixels():
    maps = torch.zeros(1, 10, 10)
    masks = torch.zeros(1, 10, 10, dtype=torch.bool)
    masks[0, :5] = True  # 50 brain pixels: top 10 % = 5 pixels
    maps[0, 0, :5] = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0])
    maps[0, 9, :] = 100.0  # outside the brain: ignored
    assert float(image_scores(maps, masks, 0.1)[0]) == pytest.approx(3.0)
    assert float(image_scores(maps, masks, 0.01)[0]) == pytest.approx(3.5)  # at least 4


def test_mc_dropout_samples_differ_and_repeat_and_ensemble_members_differ():
    images = blob_images(16, 32, seed=2)
    options = RDTrainOptions(epochs=1, batch_size=8, seed=0)
    teacher = pretrain_teacher(CONFIG, images, images[:4], options).module
    a = train_student(CONFIG, teacher, images, images[:4], replace(options, seed=1)).module
    b = train_student(CONFIG, teacher, images, images[:4], replace(options, seed=2)).module
    x = _x(3)
    mc = mc_dropout_sample_maps(teacher, a, x, samples=4, seed=7)
    assert mc.shape == (3, 4, 32, 32)
    assert float((mc[:, 0] - mc[:, 1]).abs().max()) > 1e-4  # different masks, different maps
    torch.testing.assert_close(mc, mc_dropout_sample_maps(teacher, a, x, samples=4, seed=7))
    members = ensemble_sample_maps(teacher, [a, b], x)
    assert float((members[:, 0] - members[:, 1]).abs().max()) > 1e-4
    pa, pb = (torch.cat([p.flatten() for p in s.parameters()]) for s in (a, b))
    assert not torch.equal(pa, pb)
    _, var = summarise_samples(members)
    assert float(var.min()) >= 0 and float(var.max()) > 0
    # Dropout is off in a single pass: two passes agree.
    torch.testing.assert_close(single_maps(teacher, a, x), single_maps(teacher, a, x))


def test_tta_maps_go_back_to_the_input_grid():
    views = tta_views(8, 32)
    m = torch.rand(2, 32, 32)
    for view in views:
        torch.testing.assert_close(unaugment_map(augment(m, (view[0], 1.0, view[2])), view), m)
    torch.manual_seed(0)
    teacher, student = Teacher(CONFIG).eval(), Student(CONFIG).eval()
    x = _x(2)
    maps = tta_sample_maps(teacher, student, x, views[:4])
    assert maps.shape == (2, 4, 32, 32)
    torch.testing.assert_close(maps[:, 0], single_maps(teacher, student, x)[:, 0])  # identity
    with pytest.raises(ValueError):
        tta_views(9, 32)


def _rd_only(monkeypatch, **changes):
    """The quick preset with only the reverse_distillation group, under a name of its own."""
    chosen = replace(QUICK, name="quick-rd", groups=("reverse_distillation",), **changes)
    monkeypatch.setitem(presets.PRESETS, "quick-rd", chosen)
    return chosen


def _check_rows(metrics):
    assert set(metrics["rows"]) == set(ROW_NAMES)
    for name, row in metrics["rows"].items():
        auc = row["detection"]["roc_auc"]
        assert isinstance(auc, float) and 0.0 <= auc <= 1.0, name
        assert row["speed"]["s_per_volume"] > 0
        assert ("uncertainty" in row["abstention"]["by"]) == (name != "rd")
        assert row["reconstruction_skill"] is None  # RD's map is no reconstruction error


@pytest.mark.slow
def test_quick_preset_gives_the_rd_rows_and_the_report_answers(tmp_path, monkeypatch):
    _rd_only(monkeypatch, budget_s=3.0, epochs=3)
    root = tmp_path / "brats"
    for i in range(1, 9):
        write_brats_case(root, f"BraTS20_Training_{i:03d}", tumour=i not in (3, 7), seed=i)
    model = tmp_path / "model"
    make_bundle(model, tiny_config())
    out = tmp_path / "eval"
    assert run_evaluate(root, out, model, preset="quick-rd", device="cpu", seed=0) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    _check_rows(metrics)
    report = (out / "report.md").read_text()
    assert "## Reverse Distillation: uncertainty for abstain / review" in report
    assert "Does uncertainty improve the abstain/review policy?" in report
    assert "Which uncertainty gives the most for its cost?" in report


@pytest.mark.slow
def test_evaluate_runs_the_rd_rows_on_an_mvtec_category(tmp_path, monkeypatch):
    chosen = _rd_only(monkeypatch, budget_s=1.0, epochs=1, ensemble_members=2)
    root = write_mvtec_category(tmp_path / "widget", n_good=6, n_defect=6)
    data = load_mvtec_eval_data(root, chosen, seed=0)
    assert data.provenance["kind"] == "mvtec" and data.mean_brain_slices == 1.0
    assert len(data.val) == 6 and len(data.test) == 6  # stratified halves of the test images
    assert {bool(c.labels[0]) for c in data.test} == {False, True}
    assert data.train.images.shape[1:] == (32, 32) and data.stopping.images.shape[0] >= 1
    model = tmp_path / "model"
    make_bundle(model, tiny_config())
    out = tmp_path / "eval"
    assert run_evaluate(root, out, model, preset="quick-rd", device="cpu", seed=0) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["kind"] == "mvtec"
    _check_rows(metrics)


def test_report_section_is_generated_from_the_numbers():
    def row(unc, score, seconds, auc):
        by = {"score": {"aurc": score}} | ({"uncertainty": {"aurc": unc}} if unc else {})
        return {"abstention": {"by": by}, "speed": {"s_per_volume": seconds},
                "detection": {"roc_auc": auc}, "training": {"seconds": 10.0}}  # fmt: skip

    rows = {
        "rd": row(None, 0.20, 1.0, 0.80),
        "rd_ensemble": row(0.10, 0.20, 3.0, 0.85),  # saves 0.10 for 2 extra s
        "rd_mc_dropout": row(0.15, 0.20, 1.5, 0.80),  # saves 0.05 for 0.5 extra s: best ratio
        "rd_tta": row(0.30, 0.20, 2.0, 0.79),  # worse than the score
    }
    text = "\n".join(rd_section(rows))
    assert "for 2 of 3 methods" in text
    assert "test-time augmentation: AURC 0.3000 deferring by uncertainty against 0.2000 by " \
        "score, worse than the score alone" in text  # fmt: skip
    assert "Most for its cost: Reverse Distillation, MC dropout" in text
    rows["rd_ensemble"] = rows["rd_mc_dropout"] = row(0.2, 0.2, 2.0, 0.8)
    text = "\n".join(rd_section(rows))
    assert "for 0 of 3 methods" in text and "cheapest (one student" in text
    assert rd_section({"paper": {}}) == []
