"""Page one of a report, what a radiologist hands on: conclusion, findings in the input's own
slice numbers and mm, key images with R/L and A/P marks, review reasons, sign-off. The
numbers follow in an appendix (no Qt, no torch: the PDF's test is in test_report_pdf)."""

import io
import re
from dataclasses import replace
from datetime import date

import matplotlib.image as mpimg
import numpy as np
import pytest

from bvae_viewer.analysis.report_text import (
    SliceNumbering,
    brain_slices_above_line,
    conclusion,
    number_runs,
)
from bvae_viewer.analysis.review_reasons import slice_review_reason
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.io.volume import PatientIdentity
from bvae_viewer.review.report import render_html, report_blocks, summary_dict
from bvae_viewer.review.report_data import RegionKeeper
from bvae_viewer.review.report_findings import case_findings
from bvae_viewer.review.report_images import key_image_png
from bvae_viewer.review.report_names import case_name, report_file_name
from tests.review.reportkit import (
    IDENTITY,
    PIXEL_LEVEL,
    Z0_MM,
    _maps,
    geometry,
    make_report_data,
    reviewed,
    shown,
)


def _page_one(data, include_identifiers=False) -> str:
    blocks = report_blocks(data, include_identifiers)
    first = next(i for i, b in enumerate(blocks) if b.new_page)
    return "".join(b.full() for b in blocks[:first])


def _plain(html: str) -> str:
    """The text a reader sees (tags out, spaces as a reader would put them)."""
    text = " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())
    return re.sub(r" ([:.,;)])", r"\1", text)


def test_page_one_concludes_lists_findings_and_signs_off(tmp_path):
    decisions, case = reviewed(tmp_path)
    data = make_report_data(decisions=decisions, case_review=case)
    page = _plain(_page_one(data))
    above, brain = brain_slices_above_line(data.result)
    assert f"Flagged: 1 finding; {above} of {brain} brain slices above the line" in page
    assert (above, brain) == (3, 11)
    # The lesion lies on slices 5-7 of the model's stack: slices 16-18 of the input, on the
    # patient's right (positive x), 3 slices of 2 mm; its peak on slice 6.
    finding = data.findings[0]
    assert finding.side == "right" and finding.flagged == (5, 6, 7)
    assert f"1 right {shown(5)}–{shown(7)} (3 flagged)" in page
    assert " × ".join(f"{v:.0f}" for v in finding.extent_mm) in page
    assert finding.extent_mm[2] == pytest.approx(6.0)  # three 2 mm slices
    assert f"Finding 1: slice {shown(6)} (z {Z0_MM + 2.0 * (6 + 10):g} mm)" in page
    # The reviewer's sign-off, with the slice decisions behind it.
    assert "Reviewer's decision on the case: ABNORMAL" in page
    assert "Signed off by Dr. Reader" in page and "refer" in page
    assert "Slice decisions recorded: 2 (1 abnormal, 1 normal)" in page
    # The model line, the research-use line, the footnote on numbering; no numbers table.
    assert "test-model" in page and "Research use only" in page
    assert "counted from 1" in page
    assert "Reported slices" not in page and "Epistemic" not in page


def test_page_one_says_why_slices_are_in_review_in_the_one_sentence():
    data = make_report_data()
    page = _plain(_page_one(data))
    review = [s for s, d in zip(data.result.scores, data.result.decisions, strict=True)
              if d is Decision.REVIEW]
    assert [s.slice_index for s in review] == [10]
    sentence = slice_review_reason(review[0], data.result.policy)
    assert sentence.startswith("Uncertainty")
    assert f"Uncertainty above its threshold: 1 slice ({shown(10)})" in page
    assert f"E.g. slice {shown(10)}: {sentence}" in page


def test_a_case_without_sign_off_has_lines_to_sign_on():
    page = _plain(_page_one(make_report_data()))
    assert "Not signed off" in page and "Reviewed by: ____" in page


@pytest.mark.parametrize(
    ("kwargs", "headline"),
    [
        ({"ood": True}, "Needs review: the model does not decide this case"),
        ({"score_threshold": 10.0}, "Not flagged: no finding; 0 of 11 brain slices above"),
    ],
)
def test_the_conclusion_says_the_case_call_in_plain_words(kwargs, headline):
    data = make_report_data(**kwargs)
    said, why = conclusion(data.result, data.findings)
    assert said.startswith(headline)
    assert headline in _plain(_page_one(data)) and why
    if kwargs.get("ood"):
        assert "unlike" in why.lower() or "foreground" in why.lower()


def test_a_case_the_review_rule_catches_says_so_and_a_normal_one_names_both_rules():
    # Every slice of the report kit scores well under 10; a run of two above 0.0001 times the
    # threshold (every slice) sends the case to review without a single flagged slice.
    rules = {"min_flagged_run": 3, "case_score_factor": 1.0, "review_run": 2}
    caught = make_report_data(score_threshold=10.0,
                              case_rules=rules | {"review_score_factor": 1e-4})
    said, why = conclusion(caught.result, caught.findings)
    assert said.startswith("Needs review") and "0 of 11 brain slices above" in said
    assert "consecutive slices above 0.0001 times the anomaly threshold" in why
    assert "a flagged case needs 3 above 1 times" in why
    quiet = make_report_data(score_threshold=10.0, case_rules=rules | {"review_score_factor": 0.9})
    said, why = conclusion(quiet.result, quiet.findings)
    assert said.startswith("Not flagged")
    assert "nor of 2 above 0.9 times it" in why
    appendix = _plain("".join(b.full() for b in report_blocks(quiet, False)))
    assert "case flagged from 3 consecutive slices above 10, sent to review from 2 above 9" in \
        appendix


def _marks(html: str) -> list[str]:
    return re.findall(r"class='mark'>(\w)</td>", html)


def _red_columns(png: bytes) -> np.ndarray:
    rgb = mpimg.imread(io.BytesIO(png))[..., :3]
    red = (rgb[..., 0] > 0.9) & (rgb[..., 1] < 0.3) & (rgb[..., 2] < 0.3)
    return np.nonzero(red)[1] / rgb.shape[1]


@pytest.mark.parametrize("radiological", [True, False])
def test_key_images_are_marked_and_drawn_in_the_stated_convention(radiological):
    data = replace(make_report_data(), radiological=radiological)
    page = _page_one(data)
    assert _marks(page) == (["A", "R", "L", "P"] if radiological else ["A", "L", "R", "P"])
    stated = "the patient's right is on the image's left" if radiological else (
        "the patient's left is on the image's left")
    assert stated in page
    # The region (on the patient's right) is outlined on the side the marks say.
    key = data.key_images[1]
    assert key.position == 6 and key.region.any()
    columns = _red_columns(key_image_png(key.image, key.region, radiological))
    assert columns.size > 0
    assert (columns < 0.5).all() if radiological else (columns > 0.5).all()


def test_the_appendix_starts_a_page_with_plain_column_names_and_the_volume():
    data = make_report_data()
    blocks = report_blocks(data)
    appendix = [b for b in blocks if b.new_page]
    assert len(appendix) == 1 and "Appendix" in appendix[0].html
    html = render_html(data)
    assert "Epistemic uncertainty (×1e-" in html and "U epist." not in html
    assert "page-break-before: always" in html
    assert "32 × 32 × 32 voxels of 1 × 1 × 2 mm; brain" in html
    table = next(b for b in blocks if b.rows)
    assert re.match(rf"<tr><td align='right'>{shown(5)}</td>", table.rows[0])


def test_json_report_lists_findings_in_input_numbers():
    doc = summary_dict(make_report_data())
    (finding,) = doc["findings"]
    assert finding["input_slices"] == [shown(5), shown(7)] and finding["side"] == "right"
    assert finding["peak_input_slice"] == shown(6)
    by_slice = {s["slice"]: s for s in doc["slices"]}
    assert by_slice[6]["input_slice"] == shown(6) and by_slice[6]["z_mm"] == pytest.approx(-8.0)
    assert doc["volume"]["spacing_mm"] == [1.0, 1.0, 2.0]


def test_findings_from_streamed_region_maps_equal_those_from_every_map():
    data = make_report_data(n=12)
    stack, maps = _maps(12)
    keeper = RegionKeeper(data.result.policy)
    for s, m in zip(data.result.scores, maps, strict=True):
        keeper.offer(s, m)
    assert sorted(keeper.maps) == [5, 6, 7]  # the flagged slices only
    kept = keeper.maps[6]
    assert kept.original.strides == (0, 0) and kept.error.strides == (0, 0)  # no pictures
    from_all, _ = case_findings(stack, geometry(12), data.result, dict(enumerate(maps)),
                                PIXEL_LEVEL)
    assert from_all == data.findings


def test_slice_numbers_and_runs():
    numbers = SliceNumbering((4, 4, 5, 6, 9), (8.0, 9.0, 10.0, 12.0, 18.0))
    assert [numbers.number(p) for p in range(5)] == [5, 5, 6, 7, 10]
    assert numbers.spans([0, 1, 2, 3, 4]) == "5-7, 10"
    assert number_runs([3, 1, 2, 7]) == "1-3, 7"


def test_a_deidentified_report_is_named_by_fingerprint_never_removed():
    day = date(2026, 1, 2)
    fp = "ab" * 32
    assert report_file_name("PID-88123_Zyxwort", IDENTITY, fp, day) == (
        "case-abababab_2026-01-02_report.pdf")
    # A case carrying identifiers is named by its fingerprint even if its name looks clean.
    assert case_name("AX T1 POST", IDENTITY, fp) == "case-abababab"
    assert case_name("PID-88123_Zyxwort", IDENTITY, fp, include_identifiers=True) == (
        "PID-88123_Zyxwort")
    plain = report_file_name("BraTS 001_t1ce.nii.gz", PatientIdentity(), fp, day)
    assert plain == "BraTS_001_t1ce_2026-01-02_report.pdf"
    html = render_html(make_report_data(label="PID-88123_Zyxwort"))
    assert "case-abababab" in html and "[removed]" not in html
