"""Charts for the evidence a person would rather look at than read: plain SVG strings, no plotting library.

SVG keeps the report one self-contained file (text, small, crisp at any zoom) and needs nothing
installed. Each chart carries its numbers as text too, so a chart is readable without hovering.
Every text is escaped: group and pod names come from the cluster, not from us.
"""

from __future__ import annotations

from html import escape

WIDTH = 640
ROW = 34          # height of one bar row
LEFT = 170        # room for the row labels
RIGHT = 130       # room for the numbers after the bars
TOP = 40          # room for the title and the legend
PASS_COLOUR = "#2e7d32"
FAIL_COLOUR = "#c62828"
NEUTRAL_COLOUR = "#1565c0"
STATUS_COLOURS = {"200": PASS_COLOUR, "503": FAIL_COLOUR}
OTHER_STATUS_COLOURS = ("#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#616161")


def _svg(height: int, title: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">'
            f"<title>{escape(title)}</title>"
            f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>'
            f'<text x="8" y="18" font-size="14" font-weight="bold">{escape(title)}</text>'
            + "".join(body) + "</svg>")


def _scale(value: float, maximum: float) -> float:
    """Pixels for `value` on a bar axis that ends at `maximum`."""
    span = WIDTH - LEFT - RIGHT
    return 0.0 if maximum <= 0 else span * min(value, maximum) / maximum


def weighted_split_svg(title: str, counts: dict[str, int], expected: dict[str, float],
                       interval: dict[str, tuple[int, int]]) -> str:
    """One bar per backend group: observed count, a shaded band for the accepted counts, a tick at the
    expected count. A bar is green when its count lies inside the band, red when it does not."""
    total = sum(counts.values())
    groups = list(dict.fromkeys([*expected, *counts]))  # expected groups first, then surprises
    body = [f'<text x="{LEFT}" y="32" fill="#555">grey band: accepted counts; black tick: expected '
            f"share of {total} answers</text>"]
    for i, group in enumerate(groups):
        y = TOP + i * ROW
        count = counts.get(group, 0)
        lo, hi = interval.get(group, (0, total))
        inside = group in expected and lo <= count <= hi
        body.append(f'<text x="{LEFT - 8}" y="{y + 18}" text-anchor="end">{escape(group)}</text>')
        if group in interval:
            x0, x1 = LEFT + _scale(lo, total), LEFT + _scale(hi, total)
            body.append(f'<rect x="{x0:.1f}" y="{y + 2}" width="{max(x1 - x0, 1):.1f}" height="24" fill="#bdbdbd"/>')
        colour = PASS_COLOUR if inside else FAIL_COLOUR
        body.append(f'<rect x="{LEFT}" y="{y + 8}" width="{_scale(count, total):.1f}" height="12" fill="{colour}"/>')
        if group in expected:
            xe = LEFT + _scale(expected[group] * total, total)
            body.append(f'<line x1="{xe:.1f}" y1="{y}" x2="{xe:.1f}" y2="{y + 28}" stroke="#000" stroke-width="2"/>')
        share = f"{count / total:.1%}" if total else "-"
        wanted = f" (want {expected[group]:.0%}, {lo}..{hi})" if group in expected else " (unexpected)"
        body.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y + 12}">{count} = {share}</text>'
                    f'<text x="{WIDTH - RIGHT + 6}" y="{y + 26}" fill="#555" font-size="10">{escape(wanted)}</text>')
    return _svg(TOP + len(groups) * ROW + 8, title, body)


def _status_colour(status: str, order: list[str]) -> str:
    if status in STATUS_COLOURS:
        return STATUS_COLOURS[status]
    others = [s for s in order if s not in STATUS_COLOURS]
    return OTHER_STATUS_COLOURS[others.index(status) % len(OTHER_STATUS_COLOURS)]


def status_split_svg(title: str, levels: dict[int, dict[str, int]]) -> str:
    """One 100% stacked bar per concurrency level: the share of each HTTP status (200 green, 503 red)."""
    levels = {level: {str(s): n for s, n in codes.items()} for level, codes in levels.items()}
    statuses = sorted({s for codes in levels.values() for s in codes}, key=lambda s: (s not in ("200", "503"), s))
    legend = []
    for i, status in enumerate(statuses):
        lx = LEFT + i * 70
        legend.append(f'<rect x="{lx}" y="24" width="10" height="10" fill="{_status_colour(status, statuses)}"/>'
                      f'<text x="{lx + 14}" y="33">{escape(status)}</text>')
    body = legend
    for i, (level, codes) in enumerate(sorted(levels.items())):
        y = TOP + i * ROW
        total = sum(codes.values())
        body.append(f'<text x="{LEFT - 8}" y="{y + 18}" text-anchor="end">concurrency {level}</text>')
        x = float(LEFT)
        for status in statuses:
            n = codes.get(status, 0)
            w = _scale(n, total)
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="20" '
                            f'fill="{_status_colour(status, statuses)}"><title>{escape(status)}: {n}</title></rect>')
            x += w
        parts = ", ".join(f"{s}: {codes.get(s, 0)}" for s in statuses if codes.get(s, 0))
        body.append(f'<text x="{WIDTH - RIGHT + 6}" y="{y + 18}">{escape(parts) or "no answers"}</text>')
    return _svg(TOP + len(levels) * ROW + 8, title, body)


def replica_distribution_svg(title: str, per_algorithm: dict[str, dict[str, int]]) -> str:
    """Per algorithm, one bar per replica with its number of calls, on a common axis so that
    round_robin's even bars and random's uneven ones can be compared at a glance."""
    maximum = max((n for calls in per_algorithm.values() for n in calls.values()), default=0)
    body: list[str] = []
    y = TOP - 10
    for algorithm, calls in per_algorithm.items():
        body.append(f'<text x="8" y="{y + 16}" font-weight="bold">{escape(algorithm)}</text>')
        y += 22
        total = sum(calls.values())
        for replica, n in sorted(calls.items()):
            body.append(f'<text x="{LEFT - 8}" y="{y + 14}" text-anchor="end">{escape(replica)}</text>'
                        f'<rect x="{LEFT}" y="{y + 3}" width="{_scale(n, maximum):.1f}" height="14" '
                        f'fill="{NEUTRAL_COLOUR}"/>'
                        f'<text x="{WIDTH - RIGHT + 6}" y="{y + 14}">{n} = {n / total:.1%}</text>')
            y += 22
        y += 6
    return _svg(y + 8, title, body)
