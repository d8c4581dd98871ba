"""Command line of the reports.

    python -m l7suite.report html RESULTS_DIR [-o FILE] [--engine auto|allure|pytest-html]
        (FILE defaults to report.html beside RESULTS_DIR, where the matrix looks for it)
    python -m l7suite.report matrix ROOT -o FILE
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from l7suite.report.html import ENGINES, ReportError, build
from l7suite.report.matrix import REPORT_FILE, write_matrix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m l7suite.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    html = commands.add_parser("html", help="one self-contained HTML report from an Allure results folder")
    html.add_argument("results", type=Path, metavar="RESULTS_DIR")
    html.add_argument("-o", "--output", type=Path, default=None, metavar="FILE")
    html.add_argument("--engine", choices=ENGINES, default="auto",
                      help="auto: Allure 3 when Node is on PATH, else the run's pytest-html report")
    matrix = commands.add_parser("matrix", help="the compatibility matrix page from a folder of run folders")
    matrix.add_argument("root", type=Path, metavar="ROOT")
    matrix.add_argument("-o", "--output", type=Path, required=True, metavar="FILE")
    args = parser.parse_args(argv)

    if args.command == "html":
        output = (args.output or args.results.resolve().parent / REPORT_FILE).resolve()
        try:
            engine = build(args.results.resolve(), output, args.engine)
        except ReportError as exc:
            print(f"report: {exc}", file=sys.stderr)
            return 1
        print(f"report ({engine}): {output} ({output.stat().st_size // 1024} KiB)")
        return 0
    if not args.root.is_dir():
        print(f"matrix: {args.root}: no such folder", file=sys.stderr)
        return 1
    generated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    count = write_matrix(args.root.resolve(), args.output, generated)
    print(f"matrix: {args.output.resolve()} from {count} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
