"""Row summaries, the operating point, metrics.json / report.md / plots and resuming a run."""

import itertools
import json
from dataclasses import fields

import numpy as np
import pytest

from bvae_viewer.analysis.calibrate import TARGET_REVIEW_RATE, UNCERTAINTY_REVIEW_RATE
from bvae_viewer.analysis.evaluation.report import render_report
from bvae_viewer.analysis.evaluation.slices import (
    OperatingPoint,
    ScoredSlices,
    fit_operating_point,
)
from bvae_viewer.analysis.evaluation.store import ResultStore, ResumeError, RowRecord, rows_text
from bvae_viewer.analysis.evaluation.summary import quintile_table, summarise_row
from bvae_viewer.analysis.metrics import slice_metrics


def make_slices(n=400, seed=0, informative_uncertainty=True, case="c"):
    """Abnormal slices score higher; where the uncertainty is high the score is noisy."""
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    unc = rng.uniform(0.01, 0.05, n)
    noise = rng.normal(0, 1, n) * (unc * 40 if informative_uncertainty else 1.0)
    err = 0.005 + 0.004 * labels + 0.001 * noise
    err = np.abs(err)
    values = {
        "recon_error": err,
        "pixel_score": err / unc,
        "unc_total": unc,
        "unc_aleatoric": 0.8 * unc,
        "unc_epistemic": 0.2 * unc,
        "pixel_score_ale": err / (0.8 * unc),
        "pixel_score_epi": err / (0.2 * unc),
    }
    ids = np.arange(n) % 40
    return ScoredSlices.for_case(case, ids, labels, values)


def test_scored_slices_check_lengths_and_mix_eq15():
    s = make_slices(10)
    np.testing.assert_allclose(s.anomaly_score(0.25), 0.25 * s.recon_error + 0.75 * s.pixel_score)
    np.testing.assert_allclose(s.anomaly_score(1.0), s.recon_error)
    both = ScoredSlices.concat([s, make_slices(5, case="d")])
    assert len(both) == 15 and set(both.case_ids) == {"c", "d"}
    with pytest.raises(ValueError, match="entries"):
        ScoredSlices.for_case("c", np.arange(3), np.zeros(4, bool), {})
    no_unc = ScoredSlices.for_case("c", np.arange(3), np.zeros(3, bool), {"recon_error": [1, 2, 3]})
    assert not no_unc.has_uncertainty


def test_operating_point_follows_the_app_calibration_rules():
    val = make_slices(2000, seed=1)
    op = fit_operating_point(val)
    assert op.source == "validation" and 0.0 <= op.alpha <= 1.0
    normal = val.anomaly_score(op.alpha)[~val.labels]
    assert (normal <= op.score_threshold).mean() == pytest.approx(0.97, abs=0.002)
    # The app's rule (analysis.calibrate): the uncertainty sends 1 %, the band around the
    # score threshold fills the review share up to 5 %.
    assert (val.unc_total > op.uncertainty_threshold).mean() == pytest.approx(
        UNCERTAINTY_REVIEW_RATE, abs=0.002
    )
    assert op.reviewed(val).mean() == pytest.approx(TARGET_REVIEW_RATE, abs=0.002)
    fixed = fit_operating_point(val, alpha=1.0)
    assert fixed.alpha == 1.0
    expected = slice_metrics(val.labels, val.recon_error)["best_threshold"]
    assert fixed.f1_threshold == pytest.approx(expected)
    assert OperatingPoint.from_dict(json.loads(json.dumps({**op.__dict__}))) == op


def test_summary_of_a_row_holds_every_table():
    test = make_slices(600, seed=2)
    op = fit_operating_point(make_slices(600, seed=3))
    row = summarise_row(test, op)
    d = row["detection"]
    assert d["roc_auc"] == pytest.approx(
        slice_metrics(test.labels, test.anomaly_score(op.alpha))["roc_auc"]
    )
    assert d["mean_score_abnormal"] > d["mean_score_normal"]
    assert 0 <= d["sensitivity"] <= 1 and 0 <= d["specificity"] <= 1
    assert set(row["by_uncertainty"]["as_score"]) == {"total", "aleatoric", "epistemic"}
    a = row["abstention"]
    assert set(a["by"]) == {"uncertainty", "score"}
    assert [s["review_fraction"] for s in a["by"]["uncertainty"]["selective"]] == [0, 0.1, 0.2, 0.3]
    # Here the uncertainty marks the noisy scores, so deferring by it beats the oracle gap less.
    assert (
        a["by"]["uncertainty"]["excess_aurc"] >= 0 and a["oracle_aurc"] <= a["by"]["score"]["aurc"]
    )
    assert "balanced" in a and "policy" in a
    assert len(row["quintiles"]) == 5 and sum(q["n"] for q in row["quintiles"]) == 600


def test_quintiles_show_errors_rising_with_an_informative_uncertainty():
    test = make_slices(5000, seed=4)
    scores = test.anomaly_score(1.0)
    threshold = float(np.quantile(scores[~test.labels], 0.9))
    rows = quintile_table(test.labels, scores, test.unc_total, threshold)
    rates = [r["error_rate"] for r in rows]
    assert rates[-1] > rates[0]
    assert all(r["uncertainty_max"] <= s["uncertainty_min"] for r, s in itertools.pairwise(rows))
    constant = quintile_table(test.labels, scores, np.ones(len(test)), threshold)
    assert constant[0]["constant"] and sum(r["n"] for r in constant) == len(test)


def _table_shapes(markdown):
    """Every markdown table has the header's number of cells on every row."""
    widths, current = [], None
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = line.count("|")
            current = cells if current is None else current
            widths.append(cells == current)
        else:
            current = None
    return widths


def _same(a, b):
    """Every quantity equal, NaN where the other has NaN, and of the same type."""
    return all(
        np.array_equal(x, y, equal_nan=x.dtype.kind == "f") and x.dtype == y.dtype
        for x, y in ((getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    )


def _records(seed=0):
    val = make_slices(300, seed=seed + 10)
    op = fit_operating_point(val)
    rows = [
        RowRecord("paper", make_slices(300, seed=seed), op, {"training": {"epochs_run": 3}}, val),
        RowRecord("no_epistemic", make_slices(300, seed=seed + 1), op, {}, val),
    ]
    adae = ScoredSlices.for_case(
        "c", np.arange(300), rows[0].test.labels, {"recon_error": rows[0].test.recon_error}
    )
    return rows, RowRecord("adae", adae, fit_operating_point(adae, alpha=1.0), {})


def test_store_writes_json_report_and_plots_and_resumes(tmp_path):
    header = {
        "seed": 0,
        "preset": {"name": "quick", "base": "paper"},
        "data": {"statement": "The data is synthetic: synthetic data is not BraTS."},
    }
    signature = {"preset": "quick", "seed": 0, "cases": ["a", "b"]}
    store = ResultStore(tmp_path, header, signature)
    rows, adae = _records()
    store.add("paper", rows)
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "running"
    store.add("adae", [adae])
    metrics = store.finish()
    assert metrics["plots"] == ["roc.png", "pr.png", "risk_coverage.png", "score_histograms.png"]
    for name in [*metrics["plots"], "metrics.json", "report.md", "rows/paper.json"]:
        assert (tmp_path / name).stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "rows").iterdir()) == ["adae.json", "paper.json"]
    saved = json.loads((tmp_path / "metrics.json").read_text())  # strict JSON: no NaN or inf
    assert saved["status"] == "done" and list(saved["rows"]) == ["paper", "no_epistemic", "adae"]
    assert "uncertainty" not in saved["rows"]["adae"]["abstention"]["by"]
    report = (tmp_path / "report.md").read_text()
    assert "synthetic data is not BraTS" in report
    assert "0.834" in report and "0.795" in report and "not run" in report
    assert all(_table_shapes(report))

    again = ResultStore(tmp_path, header, signature, resume=True)
    assert again.reuse("paper") == ["paper", "no_epistemic"]
    assert _same(again.plot_rows["paper"].test, rows[0].test)  # read back exactly
    assert again.reuse("fast") is None
    assert again.metrics["rows"]["paper"] == saved["rows"]["paper"]
    assert again.metrics["group_runs"]["paper"] == saved["group_runs"]["paper"]
    # Different settings: refused in one sentence that says which; no resume: refused too.
    with pytest.raises(ResumeError, match="another seed; run with its settings"):
        ResultStore(tmp_path, header, {**signature, "seed": 1}, resume=True)
    with pytest.raises(ResumeError, match="add --resume to continue it"):
        ResultStore(tmp_path, header, signature)


def test_rows_are_text_that_reads_back_exactly():
    slices = make_slices(50)
    values = {"recon_error": slices.recon_error + 1e-13, "pixel_score": [np.inf] * 50}
    odd = ScoredSlices.for_case("SYN_1", slices.slice_index, slices.labels, values)
    text = rows_text({"names": ["a"], **slices.to_columns("a.test."), **odd.to_columns("b.")})
    assert text.isascii() and len(text.splitlines()) == 2 + 1 + 2 * 12  # a column a line
    data = json.loads(text)  # strict JSON: NaN and infinity by name, as in metrics.json
    assert data["b.unc_total"][0] == "nan" and data["b.pixel_score"][0] == "inf"
    assert _same(ScoredSlices.from_columns(data, "a.test."), slices)
    again = ScoredSlices.from_columns(data, "b.")
    assert _same(again, odd) and again.recon_error.tolist() == odd.recon_error.tolist()
    del data["b.brain_variance"]  # saved before the quantity existed
    assert np.isnan(ScoredSlices.from_columns(data, "b.").brain_variance).all()


def test_report_of_a_partial_run_renders():
    text = render_report({"status": "running", "rows": {}, "preset": {}, "data": {}})
    assert "Incomplete run" in text and "## Table 1" in text
    assert all(_table_shapes(text))


def test_report_says_which_number_stops_the_networks_and_the_paper_cap():
    preset = {"min_skill": 0.2, "patience": 20, "epochs": 600, "budget_s": 2400.0}
    loss = render_report({"rows": {}, "preset": preset, "data": {}})
    assert "until its early-stopping loss plateaus (20 epochs" in loss
    assert "for the paper configuration" not in loss
    skill = {**preset, "select_on": "skill", "paper_budget_factor": 3.0}
    text = render_report({"rows": {}, "preset": skill, "data": {}})
    assert "until its validation skill plateaus" in text
    assert "the weights kept are those of its best validation skill" in text
    assert "2400 s (7200 s for the paper configuration)" in text


def test_a_network_that_returns_a_flat_image_is_flagged_as_collapsed():
    rng = np.random.default_rng(5)
    labels = rng.random(200) < 0.4
    variance = rng.uniform(0.01, 0.02, 200)
    brightness = rng.uniform(0.2, 0.4, 200) + 0.1 * labels  # tumour slices are brighter
    # A black image: its error is the mean of x^2, more than the variance.
    black = {"recon_error": brightness, "brain_variance": variance,
             "pixel_score": brightness / 0.05, "unc_total": np.full(200, 0.05)}  # fmt: skip
    collapsed = ScoredSlices.for_case("c", np.arange(200), labels, black)
    assert collapsed.reconstruction_skill() < 0
    flat = {"recon_error": variance, "brain_variance": variance}
    assert ScoredSlices.for_case("c", np.arange(200), labels, flat).reconstruction_skill() == 0
    good = {"recon_error": 0.1 * variance, "brain_variance": variance}
    skill = ScoredSlices.for_case("c", np.arange(200), labels, good).reconstruction_skill()
    assert skill == pytest.approx(0.9)
    op = fit_operating_point(collapsed)
    metrics = {"rows": {"deep_ensemble": summarise_row(collapsed, op),
                        "adae": summarise_row(collapsed, op)}}  # fmt: skip
    report = render_report(metrics)
    assert "## Not trained" in report and "deep ensemble (-" in report
    assert "ADAE (score: D(G(x)) vs G(x)) (" not in report  # not a reconstruction: no verdict
