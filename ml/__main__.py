"""`python -m ml prepare|calibrate|train|evaluate|crosscheck`: rebuild the data, ranges or heads, or measure them."""

from __future__ import annotations

import argparse
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="sample the public data in shared/data into ml/data/")
    prep.add_argument("shared", nargs="?", type=Path, default=SHARED_DATA)
    sub.add_parser("calibrate", help="measure the int8 encoder's activation ranges on training rows")
    tr = sub.add_parser("train", help="fit the heads on ml/data/ and write ml/heads/")
    tr.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    tr.add_argument("--add", type=Path, nargs="+", default=[], metavar="FILE",
                    help="your own labeled tickets (as `evaluate` reads them) to train on too; split=test rows stay out")
    tr.add_argument("--out", type=Path, default=None, metavar="DIR",
                    help="where to write the heads (default: ml/heads; required with --add); serve them with TRIAGE_HEADS_DIR=DIR")
    ev = sub.add_parser("evaluate", help="macro-F1, per-class recall and urgency AUROC on a labeled file")
    ev.add_argument("files", type=Path, nargs="+", metavar="FILE")
    ev.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    ev.add_argument("--split", default=None, help="only rows with this split (e.g. test)")
    ev.add_argument("--no-baselines", action="store_true", help="skip the TF-IDF and keyword baselines")
    ev.add_argument("--heads", type=Path, default=None, metavar="DIR",
                    help="the heads to evaluate (default: ml/heads), e.g. what `train --out DIR` wrote")
    lo = sub.add_parser("crosscheck", help="refit without one source and evaluate on it (cross-source)")
    lo.add_argument("source", choices=("banking77", "bitext", "labeled_tickets"))
    lo.add_argument("--backend", default="onnx", choices=("onnx", "torch"))
    args = parser.parse_args(argv)

    if args.command == "prepare":
        from ml.datasets import prepare

        for name, count in prepare(args.shared).items():
            print(f"{name}: {count} rows")
    elif args.command == "calibrate":
        from ml.datasets import first_training_rows
        from ml.encoder import calibrate

        rows = first_training_rows(12)
        print(f"activation ranges from {len(rows)} training rows written to {calibrate([r.text for r in rows])}")
    elif args.command == "train":
        from ml.datasets import LabeledFileError
        from ml.heads import HEADS_DIR
        from ml.train import train

        if args.add and args.out is None:  # the committed heads stay what the tests and the README describe
            tr.error("--add needs --out DIR: your heads go beside the committed ml/heads, not over them")
        try:
            train(out=args.out or HEADS_DIR, added=args.add, backend=args.backend)
        except LabeledFileError as exc:
            tr.exit(2, f"{tr.prog}: error: {exc}\n")
    elif args.command == "crosscheck":
        from ml.evaluate import leave_one_out

        leave_one_out(args.source, backend=args.backend)
    else:
        from ml.datasets import LabeledFileError
        from ml.evaluate import evaluate_file

        try:
            evaluate_file(args.files, backend=args.backend, split=args.split, baselines=not args.no_baselines,
                          heads_dir=args.heads)
        except (LabeledFileError, FileNotFoundError) as exc:  # the file, or no heads where --heads says
            ev.exit(2, f"{ev.prog}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
