import base64
import re
import xml.etree.ElementTree as ET

import pytest

from tasks.learning_curve import MAX_POINTS, markdown_image, render_svg

SVG = "{http://www.w3.org/2000/svg}"


def _polyline_points(svg: str) -> list[tuple[float, float]]:
    root = ET.fromstring(svg)
    line = root.find(f"{SVG}polyline")
    assert line is not None
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def test_rising_curve_rises_on_screen():
    points = _polyline_points(render_svg([0, 1, 2, 3], [10, 20, 30, 40], "x", "y"))
    xs, ys = zip(*points)
    assert list(xs) == sorted(xs) and len(set(xs)) == 4
    # SVG y grows downwards: a rising return must give decreasing screen y.
    assert list(ys) == sorted(ys, reverse=True) and len(set(ys)) == 4


def test_axis_labels_show_the_data_range_and_escape_names():
    svg = render_svg([100, 500], [-3.5, 7.25], "Total<Steps>", "Return & co")
    texts = [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "100" in texts and "500" in texts and "-3.5" in texts and "7.25" in texts
    assert "Total<Steps>" in texts and "Return & co" in texts  # parsed back from escapes


def test_non_finite_points_are_skipped_and_empty_input_says_no_data():
    points = _polyline_points(render_svg([0, 1, 2], [1.0, float("nan"), 3.0], "x", "y"))
    assert len(points) == 2
    assert "no data yet" in render_svg([], [], "x", "y")
    assert "no data yet" in render_svg([0], [float("inf")], "x", "y")


def test_flat_curve_still_renders_inside_the_plot():
    points = _polyline_points(render_svg([0, 1], [5.0, 5.0], "x", "y"))
    assert all(0 < y < 320 for _, y in points)


def test_long_curves_are_downsampled_keeping_the_ends():
    n = 5 * MAX_POINTS
    points = _polyline_points(render_svg(list(range(n)), list(range(n)), "x", "y"))
    assert len(points) == MAX_POINTS
    full = _polyline_points(render_svg([0, n - 1], [0, n - 1], "x", "y"))
    assert points[0] == full[0] and points[-1] == full[-1]


def test_markdown_image_embeds_the_svg_as_a_data_uri():
    svg = render_svg([0, 1], [0, 1], "x", "y")
    md = markdown_image(svg, "curve")
    match = re.fullmatch(r"!\[curve\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", md)
    assert match, md[:80]
    assert base64.b64decode(match.group(1)).decode() == svg


@pytest.mark.parametrize("xs,ys", [([0, 1, 2], [3, 2, 1]), ([5], [5])])
def test_output_is_well_formed_svg(xs, ys):
    root = ET.fromstring(render_svg(xs, ys, "x", "y"))
    assert root.tag == f"{SVG}svg"
