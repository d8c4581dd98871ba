"""The compatibility matrix from fabricated nightly folders, each a real allure-pytest run of the sample."""

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from l7suite import REPO_ROOT
from l7suite.report.matrix import REPORT_FILE, write_matrix
from suites.report.sample_run import FAILING, SAMPLE_LABEL, make_run

IMAGE_A = "quay.io/cilium/cilium-envoy:v1.34.4"
IMAGE_B = "quay.io/cilium/cilium-envoy:v1.36.6"


class Table(HTMLParser):
    """Rows of <table id=matrix>: per cell, its class, text and link."""

    def __init__(self):
        super().__init__()
        self.inside = False
        self.rows: list[list[dict]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.inside = attrs.get("id") == "matrix"
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.rows[-1].append({"class": attrs.get("class"), "title": attrs.get("title"), "text": "", "href": None})
        elif self.inside and tag == "a":
            self.rows[-1][-1]["href"] = attrs["href"]

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside and self.rows and self.rows[-1]:
            self.rows[-1][-1]["text"] += data


def e2e_options(cilium: str, image: str, mode: str = "daemonset") -> tuple[str, ...]:
    return ("--cilium-version", cilium, "--envoy-image", image, "--envoy-mode", mode)


@pytest.fixture(scope="module")
def nightly(tmp_path_factory) -> Path:
    """Four runs: an old failing run of 1.18.9 superseded by a passing one, a failing 1.19.3, a skipped
    embedded-mode 1.19.3 (without a report next to it)."""
    root = tmp_path_factory.mktemp("nightly")
    make_run(root / "01-old", *e2e_options("1.18.9", IMAGE_A))
    make_run(root / "02-new", *e2e_options("1.18.9", IMAGE_A), "-k", "within", exit_code=0)
    make_run(root / "03-fail", *e2e_options("1.19.3", IMAGE_B))
    make_run(root / "04-skip", *e2e_options("1.19.3", IMAGE_B, "embedded"), skip=True, exit_code=0)
    for run in ("01-old", "02-new", "03-fail"):
        (root / run / REPORT_FILE).write_text("<html>report</html>")
    return root


def test_cells_show_the_newest_verdict_per_combination_and_link_its_report(nightly, tmp_path):
    out = tmp_path / "matrix.html"
    assert write_matrix(nightly, out, "now") == 4
    table = Table()
    table.feed(out.read_text())
    header, *rows = table.rows
    assert [c["text"].strip() for c in header] == ["Cilium version", "cilium-envoy image", "Envoy version",
                                                   "Envoy mode", SAMPLE_LABEL]
    cells = {(row[0]["text"], row[1]["text"], row[3]["text"]): row[4] for row in rows}
    assert {k: (c["class"], c["href"]) for k, c in cells.items()} == {
        ("1.18.9", IMAGE_A, "daemonset"): ("pass", os.path.relpath(nightly / "02-new" / REPORT_FILE, tmp_path)),
        ("1.19.3", IMAGE_B, "daemonset"): ("fail", os.path.relpath(nightly / "03-fail" / REPORT_FILE, tmp_path)),
        # an embedded run is labelled with the Envoy in the agent, never with the --envoy-image it was given
        ("1.19.3", "embedded in the agent image (Cilium 1.19.3)", "embedded"): ("skip", None),
    }
    assert FAILING in cells[("1.19.3", IMAGE_B, "daemonset")]["title"]
    assert "1 passed" in cells[("1.18.9", IMAGE_A, "daemonset")]["text"]


def test_links_resolve_from_where_the_page_is_written(nightly, tmp_path):
    out = tmp_path / "deep" / "er" / "matrix.html"
    write_matrix(nightly, out, "now")
    table = Table()
    table.feed(out.read_text())
    links = [c["href"] for row in table.rows for c in row if c["href"]]
    assert links and all((out.parent / link).resolve().exists() for link in links)


def test_the_page_loads_nothing_from_anywhere(nightly, tmp_path):
    out = tmp_path / "m.html"
    write_matrix(nightly, out, "now")
    page = out.read_text()
    assert "<script" not in page and "http://" not in page and "https://" not in page and " src=" not in page


def test_command_line_writes_the_page_and_rejects_a_missing_folder(nightly, tmp_path):
    out = tmp_path / "m.html"
    ok = subprocess.run([sys.executable, "-m", "l7suite.report", "matrix", str(nightly), "-o", str(out)],
                        cwd=REPO_ROOT, capture_output=True, text=True)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"matrix: {out} from 4 run(s)")
    bad = subprocess.run([sys.executable, "-m", "l7suite.report", "matrix", str(tmp_path / "nope"), "-o", str(out)],
                         cwd=REPO_ROOT, capture_output=True, text=True)
    assert bad.returncode == 1 and "no such folder" in bad.stderr
