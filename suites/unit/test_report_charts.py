"""Charts: the picture must say the same as the numbers (colours, widths), and survive odd names."""

import xml.etree.ElementTree as ET

from l7suite.report import charts

SVG = "{http://www.w3.org/2000/svg}"
EXPECTED = {"deathstar": 0.8, "darkstar": 0.2}
INTERVAL = {"deathstar": (757, 842), "darkstar": (158, 243)}


def bars(svg: str) -> list[ET.Element]:
    return [r for r in ET.fromstring(svg).iter(f"{SVG}rect") if r.get("height") in ("12", "14", "20")]


def test_weighted_split_colours_each_group_by_its_interval():
    svg = charts.weighted_split_svg("split", {"deathstar": 512, "darkstar": 488},
                                    EXPECTED, INTERVAL)
    assert [b.get("fill") for b in bars(svg)] == [charts.FAIL_COLOUR, charts.FAIL_COLOUR]
    svg = charts.weighted_split_svg("split", {"deathstar": 801, "darkstar": 199},
                                    EXPECTED, INTERVAL)
    assert [b.get("fill") for b in bars(svg)] == [charts.PASS_COLOUR, charts.PASS_COLOUR]
    assert "801 = 80.1%" in svg and "(want 80%, 757..842)" in svg


def test_weighted_split_shows_an_unexpected_group_in_red():
    svg = charts.weighted_split_svg("split", {"deathstar": 800, "darkstar": 150, "rogue": 50},
                                    EXPECTED, INTERVAL)
    assert [b.get("fill") for b in bars(svg)] == [charts.PASS_COLOUR, charts.FAIL_COLOUR, charts.FAIL_COLOUR]
    assert "(unexpected)" in svg


def test_bar_widths_are_proportional_to_counts():
    svg = charts.status_split_svg("codes", {1: {"200": 50}, 4: {"200": 70, "503": 130}})
    widths = [float(b.get("width")) for b in bars(svg)]
    span = charts.WIDTH - charts.LEFT - charts.RIGHT
    assert widths == [round(span * w, 1) for w in (1, 70 / 200, 130 / 200)]
    assert [b.get("fill") for b in bars(svg)] == [charts.PASS_COLOUR, charts.PASS_COLOUR, charts.FAIL_COLOUR]


def test_status_split_accepts_int_and_str_codes_alike():
    as_int = charts.status_split_svg("c", {2: {200: 97, 503: 3}})
    assert as_int == charts.status_split_svg("c", {2: {"200": 97, "503": 3}})


def test_replica_bars_share_one_axis_across_algorithms():
    svg = charts.replica_distribution_svg("calls", {"round_robin": {"a": 100, "b": 100},
                                                    "random": {"a": 50, "b": 150}})
    widths = [float(b.get("width")) for b in bars(svg)]
    span = charts.WIDTH - charts.LEFT - charts.RIGHT
    assert widths == [round(span * w, 1) for w in (100 / 150, 100 / 150, 50 / 150, 1)]


def test_names_from_the_cluster_are_escaped():
    svg = charts.weighted_split_svg('<script>alert("x")</script>', {"a&b": 1, "<pod>": 2},
                                    {"a&b": 0.5}, {"a&b": (0, 3)})
    root = ET.fromstring(svg)  # still well-formed XML
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<pod>" in texts and "a&b" in texts
    assert "<script>" not in svg
