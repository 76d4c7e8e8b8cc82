"""`bvae-viewer pacs ...`: worklist, pull, analyse and push from the command line.

Part of the CLI layer (cli.py adds these subcommands); PacsError is reported by cli.py as
one sentence with exit code 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

SECRET_ENV = "BVAE_VIEWER_PACS_SECRET"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date like 2024-03-31") from None


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="DICOMweb base URL, e.g. "
                        "http://pacs:8042/dicom-web")
    parser.add_argument("--auth", choices=("none", "basic", "bearer"), default="none")
    parser.add_argument("--user", default="", help="basic auth user name")
    parser.add_argument("--no-verify-tls", action="store_true",
                        help="accept a certificate this computer does not trust (not advised)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per request")


def add_pacs_commands(sub: argparse._SubParsersAction) -> None:
    pacs = sub.add_parser(
        "pacs", help="studies from a PACS (DICOMweb), results back to it",
        description=f"Password or token: ${SECRET_ENV}, else the system keyring.",
    )
    commands = pacs.add_subparsers(dest="pacs_command", required=True)
    wl = commands.add_parser("worklist", help="list studies, one a line, with their UID")
    _connection_options(wl)
    wl.add_argument("--patient", default="", help="part of the patient's name or ID")
    wl.add_argument("--from", dest="date_from", type=_date, help="studies on or after")
    wl.add_argument("--to", dest="date_to", type=_date, help="studies on or before")
    pull = commands.add_parser("pull", help="bring a study's brain MR series into a folder")
    _connection_options(pull)
    pull.add_argument("--study", required=True, help="Study Instance UID")
    pull.add_argument("--series", default="", help="Series Instance UID (default: the "
                      "study's brain MR series with the most images)")
    pull.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    an = commands.add_parser("analyze", help="pull, analyse as `analyze` does, optionally push")
    _connection_options(an)
    an.add_argument("--study", required=True, help="Study Instance UID")
    an.add_argument("--series", default="", help="Series Instance UID (default: as pull)")
    an.add_argument("--out", type=Path, help="also write slices.csv and case.json here")
    an.add_argument("--push", action="store_true", help="store the SEG and the SR in the study")
    an.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    an.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    an.add_argument("--samples", type=int, default=5, help="latent samples K (default 5)")
    retry = commands.add_parser("retry", help="send results queued after a failed push")
    _connection_options(retry)


def _client(args: argparse.Namespace):
    from bvae_viewer.pacs.connection import PacsSettings, load_secret, open_client

    settings = PacsSettings(args.url, args.auth, args.user, not args.no_verify_tls,
                            args.timeout).checked()
    secret = os.environ.get(SECRET_ENV) or load_secret(settings)
    return open_client(settings, secret)


def _outbox() -> Path:
    from bvae_viewer.pacs.outbox import outbox_folder
    from bvae_viewer.paths import data_dir

    return outbox_folder(data_dir())


def _progress(done: int, total: int) -> None:
    print(f"\rreceiving: {done}/{total} images", end="", file=sys.stderr, flush=True)


def _worklist(args: argparse.Namespace) -> int:
    from bvae_viewer.pacs.worklist import search_studies

    rows = search_studies(_client(args), args.patient, args.date_from, args.date_to)
    for row in rows:
        print(row.line())
    print(f"{len(rows)} stud{'y' if len(rows) == 1 else 'ies'}", file=sys.stderr)
    return 0


def _pull(args: argparse.Namespace) -> int:
    from bvae_viewer.pacs.pull import choose_series, pull_series

    client = _client(args)
    series = choose_series(client, args.study, args.series)
    pull_series(client, args.study, series, args.out, progress=_progress)
    print(file=sys.stderr)
    print(f"{series.description or series.series_uid}: {series.n_instances} images -> {args.out}")
    return 0


def _analyze(args: argparse.Namespace, model_dir: Path) -> int:
    from bvae_viewer.pacs.errors import PacsError
    from bvae_viewer.pacs.pull import choose_series, pull_series

    if args.samples < 1:
        raise PacsError("--samples must be at least 1.")
    client = _client(args)
    series = choose_series(client, args.study, args.series)
    # The images carry the patient's identity: they live only as long as this command.
    with tempfile.TemporaryDirectory(prefix="bvae-pacs-") as tmp:
        folder = pull_series(client, args.study, series, Path(tmp) / "series",
                             progress=_progress)
        print(file=sys.stderr)
        # torch is imported only now: a PACS that is down is answered at once.
        from bvae_viewer.analysis.case import write_case_outputs
        from bvae_viewer.nn.bundle import load_bundle
        from bvae_viewer.nn.device import choose_device
        from bvae_viewer.pipeline.pacs_run import analyse_series, results_for_pacs

        bundle = load_bundle(model_dir, device=choose_device(args.device))
        case = analyse_series(folder, bundle, device=args.device, samples=args.samples)
        result = case.analysis.result
        if args.out is not None:
            write_case_outputs(result, args.out)
        line = f"{series.description or series.series_uid}: {result.case.decision.value}"
        if args.push:
            from bvae_viewer.pacs.outbox import push

            objects = results_for_pacs(case, bundle)
            push(client, _outbox(), args.study, objects)
            line += f"; stored {' and '.join(o.Modality for o in objects)} in study {args.study}"
    print(line + (f" -> {args.out}" if args.out is not None else ""))
    return 0


def _retry(args: argparse.Namespace) -> int:
    from bvae_viewer.pacs.outbox import pending, retry

    waiting = len(pending(_outbox(), args.url.rstrip("/")))
    sent = retry(_client(args), _outbox())
    print(f"sent {sent} of {waiting} queued result set(s)")
    return 0


def run_pacs(args: argparse.Namespace, model_dir: Path) -> int:
    """Dispatch `bvae-viewer pacs COMMAND`."""
    if args.pacs_command == "analyze":
        return _analyze(args, model_dir)
    return {"worklist": _worklist, "pull": _pull, "retry": _retry}[args.pacs_command](args)
