"""The SR's sentences number slices as the window and the report do: the input's, from 1."""

from bvae_viewer.analysis.report_text import SliceNumbering
from bvae_viewer.analysis.triage import Decision
from bvae_viewer.pacs.summary import findings
from tests.review.reportkit import geometry, make_report_data, shown


def test_slices_sent_to_review_are_listed_in_the_inputs_numbering():
    data = make_report_data(n=12, score_threshold=1e9, uncertainty_threshold=0.0)
    review = [s.slice_index for s, d in zip(data.result.scores, data.result.decisions,
                                             strict=True) if d is Decision.REVIEW]
    assert review, "the fixture must send slices to review"
    numbering = SliceNumbering.from_geometry(geometry(12), 12)
    line = findings(data.result, (), numbering)[-1]
    assert line.startswith(f"{len(review)} slice(s) sent to review: input slices ")
    assert numbering.spans(review) in line
    # The input's numbers, not the model's 0-based positions.
    assert str(shown(review[0])) in line and shown(review[0]) != review[0]


def test_a_case_without_flagged_or_review_slices_says_so():
    data = make_report_data(n=6, score_threshold=1e9, uncertainty_threshold=1e9)
    numbering = SliceNumbering.from_geometry(geometry(6), 6)
    assert findings(data.result, (), numbering) == ("No slice flagged or sent to review.",)
