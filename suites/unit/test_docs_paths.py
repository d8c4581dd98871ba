"""The documentation names only what exists: every repository path, module and link in README.md, the
folder READMEs and docs/*.md resolves, and README.md stays short (issue 15: at most ~120 lines).

Modules move and split; a doc that still names the old place sends the next reader nowhere. Checked:
- paths that start with a top-level folder of the repository (`l7suite/envoy/xds_server.py`), anywhere
  in the text: up to the first placeholder or wildcard (`manifests/<scenario>/*.yaml` checks `manifests/`);
- dotted names of the suite's modules (`l7suite.traffic.share_stats.check_share`): the longest prefix
  that is a module, then at most two names defined in it;
- relative links (`[x](e2e-tier.md#timeouts)`), from the linking file's folder, with their heading anchor.
A worked example that names files it does not add lists them, by prefix, in a comment of its page:
`<!-- not in the repository: manifests/header-routing/ l7suite.scenarios.header_routing -->`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from l7suite import REPO_ROOT

README_MAX_LINES = 130
TOP_FOLDERS = ("l7suite", "fixtures", "suites", "manifests", "benchmarks", "docs", r"\.github")
PATH = re.compile(rf"(?<![\w./-])(?:{'|'.join(TOP_FOLDERS)})/[^\s`'\"()\[\],;]*")
MODULE = re.compile(r"(?<![\w./-])(?:l7suite|fixtures)(?:\.\w+)+")
LINK = re.compile(r"\]\(([^)\s]+)\)")
URL = re.compile(r"https?://\S+")
PLACEHOLDER = re.compile(r"[<*{$]")
EXAMPLES = re.compile(r"<!--\s*not in the repository:(.*?)-->", re.S)


def doc_files() -> list[Path]:
    top = [p / "README.md" for p in sorted(REPO_ROOT.iterdir()) if (p / "README.md").is_file()]
    return [REPO_ROOT / "README.md", *top, *sorted((REPO_ROOT / "docs").glob("*.md"))]


def anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation but hyphens dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", markdown, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def missing_path(text: str) -> str | None:
    parts = text.partition("#")[0].rstrip(".:").split("/")
    literal = []
    for part in parts:
        if PLACEHOLDER.search(part):
            break
        literal.append(part)
    return None if (REPO_ROOT / "/".join(literal)).exists() else text


def missing_module(dotted: str) -> str | None:
    names = dotted.rstrip(".").split(".")
    for cut in range(len(names), 0, -1):
        base = REPO_ROOT.joinpath(*names[:cut])
        source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
        if source is None:
            continue
        rest = names[cut:]
        text = source.read_text(encoding="utf-8")
        defined = all(re.search(rf"^\s*(?:def |class |async def )?{re.escape(n)}\b", text, re.M) for n in rest)
        return None if len(rest) <= 2 and defined else dotted
    return dotted


def missing_link(doc: Path, target: str) -> str | None:
    if target.startswith(("http://", "https://", "mailto:")):
        return None
    path, _, anchor = target.partition("#")
    resolved = (doc.parent / path).resolve() if path else doc
    if not resolved.exists():
        return target
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
        return f"{target} (no such heading)"
    return None


def problems(doc: Path, text: str) -> list[str]:
    prose = URL.sub("", text)
    found = [missing_path(p) for p in PATH.findall(prose)]
    found += [missing_module(m) for m in MODULE.findall(prose)]
    found += [missing_link(doc, t) for t in LINK.findall(text)]
    examples = tuple(name for names in EXAMPLES.findall(text) for name in names.split())
    return sorted({p for p in found if p and not p.startswith(examples)})


@pytest.mark.parametrize("doc", doc_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_path_module_and_link_exists(doc):
    found = problems(doc, doc.read_text(encoding="utf-8"))
    assert not found, f"{doc.relative_to(REPO_ROOT)} names what does not exist: {', '.join(found)}"


def test_readme_stays_short():
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail into docs/"


def test_a_stale_name_is_reported():
    doc = REPO_ROOT / "docs" / "example.md"
    text = ("See `l7suite/envoy/no_such_module.py`, `manifests/<scenario>/*.yaml`, l7suite.no_such.thing,\n"
            "`l7suite.no_such_constant`, [e2e](e2e-tier.md#no-such-heading), [gone](gone.md) and\n"
            "[up](../README.md); `suites/unit/test_docs_paths.py` and l7suite.REPO_ROOT exist.\n"
            "<!-- not in the repository: suites/e2e/test_example l7suite.scenarios.example -->\n"
            "An example adds `suites/e2e/test_example.py` and l7suite.scenarios.example.SCENARIO.\n")
    assert problems(doc, text) == sorted([
        "l7suite/envoy/no_such_module.py", "l7suite.no_such.thing", "l7suite.no_such_constant",
        "e2e-tier.md#no-such-heading (no such heading)", "gone.md"])
