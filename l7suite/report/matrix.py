"""The compatibility matrix: one HTML page computed from several runs' results.

Input: a folder (ROOT) holding run folders as a nightly run writes them, anywhere below ROOT:

    ROOT/<run>/allure-results/   pytest --alluredir; l7suite-run.json marks it as a run
    ROOT/<run>/report.html       that run's report (python -m l7suite.report html), linked from cells

Rows are what a check ran against, from each result's parameters (names.ROW_PARAMETERS: Cilium
version, cilium-envoy image, Envoy version, Envoy mode), so one envoy-tier run over five Envoy
versions gives five rows. Columns are scenarios, in the order of their declarations (l7suite/scenarios/).
A cell shows the newest run that has that row and scenario: fail if any of its checks failed or broke,
pass if the others passed, skip if all were skipped; it links to that run's report and lists the failing
checks on hover.
The page has no script and no external resource: it opens from disk and makes no request.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from l7suite.report import names
from l7suite.report.environment import COMMIT, RUN_FILE, RunInfo
from l7suite.report.results import FAILING, CheckResult, read_results
from l7suite.scenarios import all_scenarios

REPORT_FILE = "report.html"
Row = tuple[str, ...]


@dataclass
class Run:
    results: Path
    info: RunInfo
    checks: list[CheckResult]

    @property
    def report(self) -> Path | None:
        for candidate in (self.results.parent / REPORT_FILE, self.results / REPORT_FILE):
            if candidate.exists():
                return candidate
        return None


@dataclass
class Cell:
    run: Run
    statuses: dict[str, int] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if any(self.statuses.get(s) for s in FAILING):
            return "fail"
        if self.statuses.get("passed"):
            return "pass"
        if self.statuses.get("skipped"):
            return "skip"
        return "unknown"


def find_runs(root: Path) -> list[Run]:
    runs = []
    for run_file in sorted(root.rglob(RUN_FILE)):
        results = run_file.parent
        runs.append(Run(results, RunInfo.read(run_file), read_results(results)))
    return sorted(runs, key=lambda r: r.info.finished)


def row_of(check: CheckResult) -> Row | None:
    if not any(p in check.parameters for p in names.ROW_PARAMETERS):
        return None  # e.g. unit tests: not a compatibility fact
    return tuple(check.parameters.get(p, "unknown") for p in names.ROW_PARAMETERS)


def cells_of(runs: list[Run]) -> dict[tuple[Row, str], Cell]:
    """(row, scenario) -> the cell of the newest run that has it (runs are sorted oldest first)."""
    cells: dict[tuple[Row, str], Cell] = {}
    for run in runs:
        fresh: dict[tuple[Row, str], Cell] = {}
        for check in run.checks:
            row = row_of(check)
            if row is None:
                continue
            cell = fresh.setdefault((row, check.scenario), Cell(run))
            cell.statuses[check.status] = cell.statuses.get(check.status, 0) + 1
            if check.status in FAILING:
                cell.failing.append(f"{check.name}: {check.message.splitlines()[0] if check.message else check.status}")
        cells.update(fresh)
    return cells


def column_order(labels: set[str]) -> list[str]:
    """Scenarios in the order of their declarations (l7suite/scenarios/), then any other label (the suite's
    self checks, names older runs used) by name."""
    declared = [s.name for s in all_scenarios()]
    return [name for name in declared if name in labels] + sorted(labels - set(declared))


def natural_key(text: str) -> list:
    """1.9.0 before 1.10.0."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #212121; }
table { border-collapse: collapse; }
th, td { border: 1px solid #bdbdbd; padding: 4px 8px; text-align: left; }
th { background: #eeeeee; }
td.pass { background: #c8e6c9; } td.fail { background: #ffcdd2; font-weight: bold; }
td.skip { background: #fff9c4; } td.unknown, td.none { background: #f5f5f5; color: #757575; }
td a { color: inherit; }
.small { color: #616161; font-size: 0.9em; }
"""


def _link(target: Path | None, output_dir: Path, text: str) -> str:
    if target is None:
        return escape(text)
    return f'<a href="{escape(os.path.relpath(target, output_dir))}">{escape(text)}</a>'


def render(runs: list[Run], output_dir: Path, generated: str) -> str:
    cells = cells_of(runs)
    rows = sorted({row for row, _ in cells}, key=lambda r: [natural_key(v) for v in r])
    scenarios = column_order({scenario for _, scenario in cells})
    head = "".join(f"<th>{escape(p)}</th>" for p in names.ROW_PARAMETERS) + \
        "".join(f"<th>{escape(s)}</th>" for s in scenarios)
    body = []
    for row in rows:
        tds = "".join(f"<td>{escape(v)}</td>" for v in row)
        for scenario in scenarios:
            cell = cells.get((row, scenario))
            if cell is None:
                tds += '<td class="none">not run</td>'
                continue
            counts = ", ".join(f"{n} {s}" for s, n in sorted(cell.statuses.items()))
            hover = escape("\n".join([counts, *cell.failing]), quote=True)
            tds += (f'<td class="{cell.verdict}" title="{hover}">'
                    f"{_link(cell.run.report, output_dir, cell.verdict)}"
                    f' <span class="small">({counts})</span></td>')
        body.append(f"<tr>{tds}</tr>")
    run_rows = "".join(
        f"<tr><td>{_link(run.report, output_dir, str(run.results.parent.name))}</td>"
        f"<td>{escape(run.info.finished)}</td><td>{escape(', '.join(run.info.tiers))}</td>"
        f"<td>{escape(run.info.environment.get(COMMIT, 'unknown'))}</td>"
        f"<td>{'' if run.report else 'no report.html next to the results'}</td></tr>" for run in runs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Cilium x Envoy compatibility matrix</title>
<style>{STYLE}</style></head><body>
<h1>Cilium x Envoy compatibility matrix</h1>
<p class="small">Computed from {len(runs)} run(s) on {escape(generated)}. A cell is the newest run with that
combination and scenario: <b>pass</b> all its checks passed, <b>fail</b> at least one failed (hover for which),
<b>skip</b> all skipped, <b>not run</b> no run covered it. Each cell links to that run's report.</p>
<table id="matrix"><thead><tr>{head}</tr></thead><tbody>
{"".join(body) or f'<tr><td colspan="{len(names.ROW_PARAMETERS) + 1}">no results with versions found</td></tr>'}
</tbody></table>
<h2>Runs</h2>
<table id="runs"><thead><tr><th>run</th><th>finished</th><th>tiers</th><th>suite commit</th><th></th></tr></thead>
<tbody>{run_rows}</tbody></table>
</body></html>
"""


def write_matrix(root: Path, output: Path, generated: str) -> int:
    """Write the page; returns the number of runs read."""
    runs = find_runs(root)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(runs, output.parent.resolve(), generated), encoding="utf-8")
    return len(runs)
