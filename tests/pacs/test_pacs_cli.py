"""The command line against a real Orthanc: worklist -> analyse with the bundled model ->
push; the SEG and SR read back from Orthanc; a PACS that is down; a push that fails and is
retried from the outbox."""

from __future__ import annotations

from urllib.parse import urlparse

import highdicom as hd
import nibabel as nib
import numpy as np
import pytest

from bvae_viewer.cli import main
from bvae_viewer.io import load_volume
from bvae_viewer.nn.bundle import load_bundle
from bvae_viewer.pacs.connection import PacsSettings, open_client
from bvae_viewer.pacs.errors import PushError
from bvae_viewer.pacs.outbox import outbox_folder, pending, push, retry
from bvae_viewer.pacs.results import RESEARCH_USE, build_report
from bvae_viewer.pacs.worklist import list_series
from bvae_viewer.paths import data_dir, demo_case, model_dir
from bvae_viewer.review.identity import case_fingerprint
from bvae_viewer.review.store import ReviewStore
from tests.pacs.faulty_proxy import PASS, REFUSE, FaultyProxy
from tests.pacs.orthanc import free_url, orthanc_json
from tests.pacs.series import demo_series, phantom_series, study
from tests.pacs.test_results import SUMMARY


def _record_case_decision(datasets, folder) -> None:
    """The reviewer's call on this case, as the window stores it."""
    for ds in datasets:
        ds.save_as(folder / f"{ds.InstanceNumber:03d}.dcm", enforce_file_format=True)
    sha = load_bundle(model_dir(), device="cpu").info.sha256
    with ReviewStore.open_default() as store:
        session = store.open_session(case_fingerprint(load_volume(folder)), sha)
        session.record(0, "abnormal", "flagged", note="enhancing mass, right",
                       reviewer="dr.test", item_kind="case")


@pytest.mark.slow
def test_worklist_analyse_push_and_read_back(orthanc, client, tmp_path, capsys):
    fields = study(PatientName="Demo^Dana", PatientID="FLOW-1")
    source = demo_series(fields)
    client.store_instances(source)
    (tmp_path / "local").mkdir()
    _record_case_decision(source, tmp_path / "local")
    url, uid = orthanc.dicomweb_url, fields["StudyInstanceUID"]

    assert main(["pacs", "worklist", "--url", url, "--patient", "dana"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("Demo Dana\tFLOW-1\t") and line.endswith(uid)

    out = tmp_path / "out"
    assert main(["pacs", "analyze", "--url", url, "--study", uid, "--out", str(out),
                 "--push", "--device", "cpu"]) == 0
    said = capsys.readouterr().out
    assert "AX T1 POST: flagged; stored SEG and SR in study" in said
    assert (out / "slices.csv").is_file() and (out / "case.json").is_file()
    assert pending(outbox_folder(data_dir())) == []

    series = {s.modality: s for s in list_series(client, uid)}
    assert set(series) == {"MR", "SEG", "SR"}
    (seg_ds,) = client.iter_series(uid, series["SEG"].series_uid)
    (sr,) = client.iter_series(uid, series["SR"].series_uid)
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    by_uid = {ds.SOPInstanceUID: ds for ds in source}
    assert seg.FrameOfReferenceUID == source[0].FrameOfReferenceUID
    assert seg.PatientID == "FLOW-1" and sr.PatientID == "FLOW-1"
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == source[0].SeriesInstanceUID
    assert sr.CurrentRequestedProcedureEvidenceSequence[0].StudyInstanceUID == uid

    # The flagged region sits in the demo's tumour, on the source's own pixels.
    tumour = np.asarray(nib.load(demo_case().with_name("demo_seg.nii.gz")).dataobj) > 0
    frames = seg.pixel_array.reshape(-1, seg.Rows, seg.Columns).astype(bool)
    inside = total = 0
    for frame, item in zip(frames, seg.PerFrameFunctionalGroupsSequence, strict=True):
        sop = item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        k = int(by_uid[sop].InstanceNumber) - 1
        inside += (frame & tumour[:, :, k].T).sum()
        total += frame.sum()
    assert total > 0 and inside / total > 0.6, (inside, total)

    text = "\n".join(str(i.TextValue) for i in sr.ContentSequence if i.ValueType == "TEXT")
    assert RESEARCH_USE in text and "Model case decision: flagged" in text
    assert "Reviewer's decision: abnormal (by dr.test" in text and "enhancing mass" in text
    # The findings as the window and the report word them: side, slices, size in mm.
    assert "Finding 1: left, slices" in text and " mm, peak score " in text, text
    # Orthanc's own index lists the pushed objects under the same patient and study.
    studies = orthanc_json(orthanc, "/studies?expand")
    (ours,) = [s for s in studies if s["MainDicomTags"]["StudyInstanceUID"] == uid]
    assert len(ours["Series"]) == 3


def test_pacs_down_is_one_line_and_exit_2(capsys):
    assert main(["pacs", "worklist", "--url", free_url()]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot be reached" in err[0]
    assert main(["pacs", "pull", "--url", "not-a-url", "--study", "1.2", "--out", "x"]) == 2


def test_not_brain_study_is_refused_by_analyze(orthanc, client, capsys):
    from tests.pacs.series import chest_ct_series

    fields = study(PatientID="CT-9")
    client.store_instances(chest_ct_series(fields))
    assert main(["pacs", "analyze", "--url", orthanc.dicomweb_url, "--study",
                 fields["StudyInstanceUID"]]) == 2
    assert "no brain MR series" in capsys.readouterr().err


def test_failed_push_stays_queued_and_is_retried(orthanc, client, tmp_path):
    fields = study(PatientID="PUSH-1")
    source = phantom_series(fields, slices=6)
    client.store_instances(source)
    report = build_report(source, SUMMARY)
    outbox = tmp_path / "outbox"
    proxy = FaultyProxy(urlparse(orthanc.http_url).port)
    try:
        via_proxy = open_client(PacsSettings(url=proxy.url(), timeout_s=5))
        proxy.mode = REFUSE  # the network drops every connection
        with pytest.raises(PushError, match="kept and will be sent again"):
            push(via_proxy, outbox, fields["StudyInstanceUID"], [report])
        (entry,) = pending(outbox, proxy.url())
        assert entry.attempts == 1 and "cannot be reached" in entry.last_error
        assert [ds.SOPInstanceUID for ds in entry.datasets()] == [report.SOPInstanceUID]
        assert {s.modality for s in list_series(client, fields["StudyInstanceUID"])} == {"MR"}

        proxy.mode = PASS  # back up: the queued report goes, and leaves the outbox
        assert retry(via_proxy, outbox) == 1
    finally:
        proxy.close()
    assert pending(outbox) == []
    assert {s.modality for s in list_series(client, fields["StudyInstanceUID"])} == {"MR", "SR"}


def test_pull_writes_the_series_folder(orthanc, client, tmp_path, capsys):
    fields = study(PatientID="PULL-1")
    source = phantom_series(fields, slices=8)
    client.store_instances(source)
    out = tmp_path / "pulled"
    assert main(["pacs", "pull", "--url", orthanc.dicomweb_url, "--study",
                 fields["StudyInstanceUID"], "--out", str(out)]) == 0
    assert len(list(out.glob("*.dcm"))) == 8 and "8 images" in capsys.readouterr().out
    assert load_volume(out).shape[2] == 8  # the folder opens as the series it came from
    assert main(["pacs", "pull", "--url", orthanc.dicomweb_url, "--study",
                 fields["StudyInstanceUID"], "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
