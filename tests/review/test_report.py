"""HTML, JSON and CSV reports, slice choice, paths and de-identification (no Qt, no torch)."""

import csv
import json
import math
import os
import re
from dataclasses import replace

import pytest

from bvae_viewer.analysis.triage import TriagePolicy
from bvae_viewer.review.deid import REMOVED, redact
from bvae_viewer.review.report import (
    MAX_THUMBNAIL_SLICES,
    RESEARCH_ONLY,
    MapKeeper,
    ReportFormatError,
    ReportPathError,
    atomic_write,
    check_report_path,
    render_html,
    report_blocks,
    report_format,
    reported_slices,
    summary_dict,
    thumbnail_slices,
    write_csv,
    write_json,
    write_text_report,
)
from tests.review.reportkit import IDENTITY, _maps, make_report_data, reviewed

IDENTIFIERS = [v for v in vars(IDENTITY).values()]


def _images(text: str) -> int:
    return len(re.findall(r"<img src='data:image/png;base64,", text))


def test_flagged_review_and_reviewed_slices_are_reported(tmp_path):
    decisions, case = reviewed(tmp_path)
    data = make_report_data(decisions=decisions, case_review=case)
    # 5-7 flagged, 10 uncertain, 2 reviewed (normal by the model), 6 reviewed and flagged.
    assert reported_slices(data) == [2, 5, 6, 7, 10]
    assert thumbnail_slices(data) == [2, 5, 6, 7, 10]


def test_a_case_sent_to_review_as_a_whole_reports_the_slices_that_stand_out():
    data = make_report_data(ood=True)
    assert data.result.case.decision.value == "review"
    assert all(d.value in ("review", "flagged", "empty") for d in data.result.decisions)
    assert reported_slices(data) == [5, 6, 7, 10]


def test_map_keeper_holds_at_most_its_limit_reviewed_slices_first():
    stack, maps = _maps(12)
    from bvae_viewer.analysis.maps import score_slice

    scores = [score_slice(m, 0.5, k, float(stack.brain_fraction[k])) for k, m in enumerate(maps)]
    policy = TriagePolicy(score_threshold=0.0, uncertainty_threshold=math.inf)
    keeper = MapKeeper(policy, decided={1}, limit=3)
    for s, m in zip(scores, maps, strict=True):
        keeper.offer(s, m)
    # Every brain slice is flagged at threshold 0; kept: the reviewed one, then the top two.
    assert sorted(keeper.maps) == [1, 6, 7]
    assert 0 not in keeper.maps  # empty slices never


def test_thumbnails_are_capped_and_the_table_still_lists_every_slice():
    n = MAX_THUMBNAIL_SLICES + 8
    data = make_report_data(n=n, score_threshold=0.0)
    assert len(reported_slices(data)) == n - 1
    assert len(thumbnail_slices(data)) == MAX_THUMBNAIL_SLICES
    html = render_html(data)
    # maps, colour bars, profile, the key image of the one finding (every slice is flagged)
    assert _images(html) == 6 * MAX_THUMBNAIL_SLICES + 6 + 1 + 1
    assert f"Maps are shown for {MAX_THUMBNAIL_SLICES} of the {n - 1}" in html
    assert len(summary_dict(data)["slices"]) == n - 1


def test_html_report_has_what_a_reader_needs(tmp_path):
    decisions, case = reviewed(tmp_path, note="enhancing rim <b>")
    data = make_report_data(decisions=decisions, case_review=case)
    html = render_html(data)
    for needed in (
        RESEARCH_ONLY,
        "FLAGGED",
        "test-model",
        "cdcdcdcdcdcdcdcd",
        "CPU (1 threads)",
        "2026-01-02 03:04 UTC",
        "anomaly score &gt; 0.02",
        "3 flagged, 1 for review",
        "Dr. Reader",
        "enhancing rim &lt;b&gt;",
        "refer",
        "Reconstruction",
        "Aleatoric",
        "Epistemic",
        "Total",
        "Reconstruction error",
        "radiological view",
    ):
        assert needed in html, needed
    assert _images(html) == 6 * 5 + 6 + 1 + 1  # and the key image of the finding
    assert "<b>" not in html.split("enhancing rim")[1][:10]  # the note is escaped


def test_json_report_is_complete_and_strict_json(tmp_path):
    decisions, case = reviewed(tmp_path)
    data = make_report_data(decisions=decisions, case_review=case)
    path = tmp_path / "r.json"
    write_json(data, path)
    doc = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert doc["notice"] == RESEARCH_ONLY and doc["decision"] == "flagged"
    assert doc["thresholds"]["score"] == 0.02 and doc["model"]["sha256"] == "cd" * 32
    assert doc["counts"] == {"normal": 7, "flagged": 3, "review": 1, "empty": 1}
    assert doc["case_review"]["note"] == "refer"
    by_slice = {s["slice"]: s for s in doc["slices"]}
    assert by_slice[6]["reviewer_decision"] == "abnormal" and by_slice[6]["note"] == "enhancing rim"
    assert by_slice[2]["model_decision"] == "normal" and by_slice[2]["maps_in_report"]
    assert by_slice[5]["reviewer"] is None


def test_csv_report_has_a_case_row_then_one_row_per_slice(tmp_path):
    decisions, case = reviewed(tmp_path)
    data = make_report_data(decisions=decisions, case_review=case)
    path = tmp_path / "r.csv"
    write_csv(data, path)
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    assert rows[0]["level"] == "case" and rows[0]["model_decision"] == "flagged"
    assert rows[0]["flagged"] == "3" and rows[0]["reviewer_decision"] == "abnormal"
    assert [r["slice"] for r in rows[1:]] == ["2", "5", "6", "7", "10"]
    assert all(r["notice"] == RESEARCH_ONLY and r["model_sha256"] == "cd" * 32 for r in rows)


@pytest.mark.parametrize("name", ["report.docx", "report", "report.pdf.bak", "r.PNG"])
def test_an_unknown_suffix_is_one_clear_sentence(tmp_path, name):
    with pytest.raises(ReportFormatError) as info:
        report_format(tmp_path / name)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert "\n" not in message and message.endswith(".") and ".pdf, .html, .csv or .json" in message
    with pytest.raises(ReportFormatError):
        write_text_report(make_report_data(), tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_suffixes_are_case_insensitive():
    assert [report_format(f"a{s}") for s in (".PDF", ".Htm", ".html", ".csv", ".JSON")] == [
        "pdf",
        "html",
        "html",
        "csv",
        "json",
    ]


def test_report_paths_are_checked_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    assert check_report_path(tmp_path / "new" / "deeper" / "r.pdf") == "pdf"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(ReportPathError, match="is a folder"):
        (tmp_path / "dir.html").mkdir()
        check_report_path(tmp_path / "dir.html")
    with pytest.raises(ReportPathError, match="not a folder"):
        check_report_path(tmp_path / "file" / "r.json")
    with pytest.raises(ReportPathError, match="the analysis writes"):
        check_report_path(tmp_path / "out" / "slices.csv", keep=[tmp_path / "out" / "slices.csv"])


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    path = tmp_path / "report.json"
    path.write_text("old")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_fail)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["report.json"]


def test_written_reports_get_ordinary_permissions(tmp_path):
    path = tmp_path / "r.json"
    write_json(make_report_data(), path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_redaction_covers_the_spellings_people_use():
    text = (
        "ZYXWORT^QUILLA quilla zyxwort, born 1961-04-17 (17.04.1961), scanned 20230905 at "
        "Saint Elsewhere Infirmary, acc ACC-55091, pid-88123"
    )
    out = redact(text, IDENTITY)
    assert out.count(REMOVED) == 8
    for value in ("zyxwort", "quilla", "1961", "2023", "elsewhere", "55091", "88123"):
        assert value not in out.lower()
    assert redact("nothing to hide", IDENTITY) == "nothing to hide"


@pytest.mark.parametrize("writer", ["html", "json", "csv"])
def test_no_identifier_anywhere_unless_asked(tmp_path, writer):
    # Identifiers hide in free text too: a folder named after the patient, a careless note.
    decisions, case = reviewed(tmp_path, note="Zyxwort, ACC-55091: enhancing rim")
    data = make_report_data(decisions=decisions, case_review=case, label="PID-88123_Zyxwort")
    data = replace(data, metadata=replace(data.metadata, series_description="T1 19610417"))
    path = tmp_path / f"r.{writer}"
    write_text_report(data, path)
    text = path.read_text(encoding="utf-8-sig").lower()
    for value in IDENTIFIERS:
        assert value.lower() not in text, value
    assert "zyxwort" not in text and "enhancing rim" in text
    write_text_report(data, path, include_identifiers=True)
    text = path.read_text(encoding="utf-8-sig")
    for value in IDENTIFIERS:
        assert value in text, value


def test_blocks_have_rows_only_for_the_slice_table():
    blocks = report_blocks(make_report_data())
    with_rows = [b for b in blocks if b.rows]
    assert len(with_rows) == 1 and len(with_rows[0].rows) == 4
    assert "Reported slices (4)" in with_rows[0].part(with_rows[0].rows[:1])
    assert "continued" in with_rows[0].part(with_rows[0].rows[2:], first=False)


def test_panels_are_named_after_the_models_method():
    from bvae_viewer.analysis.display import PANELS
    from bvae_viewer.analysis.display import panels as report_panels

    assert report_panels("bvae") == PANELS
    rd = {p.key: p for p in report_panels("reverse_distillation")}
    assert rd["error"].title == "Anomaly map" and rd["error"].unit == "1 - cosine"
    assert rd["reconstruction"].cmap != "gray"  # an anomaly map is not an intensity
    pu = {p.key: p for p in report_panels("prob_unet")}
    assert pu["reconstruction"].title == "Tumour probability"
    assert report_panels("from-a-newer-release") == PANELS
