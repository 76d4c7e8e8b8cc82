"""Worklist and pull against a real Orthanc: search, complete pulls, cancel, broken
transfers, a PACS that is down or slow, a series that is not a brain MR."""

from __future__ import annotations

import threading
from datetime import date
from urllib.parse import urlparse

import pytest

from bvae_viewer.pacs.connection import PacsSettings, check_connection, open_client
from bvae_viewer.pacs.errors import (
    IncompleteSeriesError,
    NotBrainMrError,
    PacsUnreachableError,
    PullCancelled,
)
from bvae_viewer.pacs.pull import PULL_RECORD, choose_series, pull_record, pull_series
from bvae_viewer.pacs.worklist import list_series, search_studies
from tests.pacs.faulty_proxy import CUT_SERIES, STALL, FaultyProxy
from tests.pacs.orthanc import free_url
from tests.pacs.series import chest_ct_series, phantom_series, study


@pytest.fixture
def brain_study(client):
    fields = study(PatientName="Brainy^Bea", PatientID="WL-1", StudyDate="20230105")
    datasets = phantom_series(fields)
    client.store_instances(datasets)
    return fields, datasets


@pytest.fixture
def chest_study(client):
    fields = study(PatientName="Chesty^Cal", PatientID="WL-2", StudyDate="20220601",
                   StudyDescription="CT CHEST")
    client.store_instances(chest_ct_series(fields))
    return fields


def test_worklist_lists_and_searches_by_patient_and_date(client, brain_study, chest_study):
    fields, datasets = brain_study
    rows = {r.study_uid: r for r in search_studies(client)}
    row = rows[fields["StudyInstanceUID"]]
    assert (row.patient_name, row.patient_id, row.study_date) == ("Brainy Bea", "WL-1", "20230105")
    assert row.description == "MR BRAIN W CONTRAST" and row.modalities == ("MR",)
    assert row.n_series == 1 and fields["StudyInstanceUID"] in row.line()

    by_name = {r.study_uid for r in search_studies(client, patient="brainy")}
    by_id = {r.study_uid for r in search_studies(client, patient="WL-2")}
    assert fields["StudyInstanceUID"] in by_name and chest_study["StudyInstanceUID"] not in by_name
    assert by_id == {chest_study["StudyInstanceUID"]}
    in_2023 = {r.study_uid for r in search_studies(client, start=date(2023, 1, 1),
                                                  end=date(2023, 12, 31))}
    assert fields["StudyInstanceUID"] in in_2023
    assert chest_study["StudyInstanceUID"] not in in_2023
    (series,) = list_series(client, fields["StudyInstanceUID"])
    assert (series.modality, series.body_part, series.n_instances) == ("MR", "BRAIN", len(datasets))


def test_pull_brings_every_image_and_reports_progress(client, brain_study, tmp_path):
    fields, datasets = brain_study
    series = choose_series(client, fields["StudyInstanceUID"])
    seen = []
    out = pull_series(client, fields["StudyInstanceUID"], series, tmp_path / "pulled",
                      progress=lambda done, total: seen.append((done, total)))
    files = sorted(p.name for p in out.glob("*.dcm"))
    assert files == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in datasets)
    assert seen[0] == (0, len(datasets)) and seen[-1] == (len(datasets), len(datasets))
    assert pull_record(out)["study_uid"] == fields["StudyInstanceUID"]
    assert pull_record(out)["study"] == "Brainy Bea, 2023-01-05, MR BRAIN W CONTRAST"
    assert (out / PULL_RECORD).is_file()


def test_cancelled_pull_keeps_nothing(client, brain_study, tmp_path):
    fields, _ = brain_study
    series = choose_series(client, fields["StudyInstanceUID"])
    cancel = threading.Event()

    def progress(done, total):
        if done == 3:
            cancel.set()

    with pytest.raises(PullCancelled):
        pull_series(client, fields["StudyInstanceUID"], series, tmp_path / "pulled",
                    progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_half_received_series_keeps_nothing(orthanc, brain_study, tmp_path):
    fields, datasets = brain_study
    proxy = FaultyProxy(urlparse(orthanc.http_url).port, cut_after_bytes=60_000)
    try:
        flaky = open_client(PacsSettings(url=proxy.url(), timeout_s=10))
        series = choose_series(flaky, fields["StudyInstanceUID"])
        proxy.mode = CUT_SERIES
        with pytest.raises(IncompleteSeriesError, match=f"of {len(datasets)} images"):
            pull_series(flaky, fields["StudyInstanceUID"], series, tmp_path / "pulled")
    finally:
        proxy.close()
    assert list(tmp_path.iterdir()) == []


def test_not_a_brain_mr_is_refused_in_one_sentence(client, chest_study, tmp_path):
    with pytest.raises(NotBrainMrError) as refused:
        choose_series(client, chest_study["StudyInstanceUID"])
    message = str(refused.value)
    assert "no brain MR series" in message and "CT CHEST" in message
    assert ". " not in message and "\n" not in message and message.endswith(".")
    (ct,) = list_series(client, chest_study["StudyInstanceUID"])
    with pytest.raises(NotBrainMrError, match="is CT, not MR"):
        pull_series(client, chest_study["StudyInstanceUID"], ct, tmp_path / "pulled")
    assert not (tmp_path / "pulled").exists()


def test_pacs_down_or_slow_is_one_sentence():
    down = open_client(PacsSettings(url=free_url(), timeout_s=5))
    with pytest.raises(PacsUnreachableError, match="cannot be reached"):
        check_connection(down)
    proxy = FaultyProxy(target_port=9)  # never forwards: it stalls every connection
    proxy.mode = STALL
    try:
        slow = open_client(PacsSettings(url=proxy.url(), timeout_s=0.5))
        with pytest.raises(PacsUnreachableError, match="did not answer in time"):
            search_studies(slow)
    finally:
        proxy.close()


def test_connection_check_answers(client):
    assert check_connection(client).startswith("Connected to")


def test_basic_authentication(tmp_path):
    from tests.pacs.orthanc import running_orthanc

    with running_orthanc(tmp_path / "orthanc", AuthenticationEnabled=True,
                         RegisteredUsers={"reader": "s3cret"}) as locked:
        settings = PacsSettings(url=locked.dicomweb_url, auth="basic", username="reader")
        with pytest.raises(PacsUnreachableError, match=r"HTTP 401 \(check the user name"):
            check_connection(open_client(settings, "wrong"))
        assert check_connection(open_client(settings, "s3cret")).startswith("Connected")
