"""The report as a browser shows it: rendered by headless Chromium when it is installed (skipped otherwise).

For 13 columns (wine, its label left out) the page must render to a non-blank screenshot, and no table or image
may reach past the right edge of the window, at a desktop width and at a narrow one: a table wider than the page
has to scroll inside its own box. A small script added to a copy of the report measures that in the browser.
"""

import shutil
import subprocess

import numpy as np
import pytest

from gaussmix import GaussianMixture
from gaussmix.cli.report import write_report
from test_report import load_csv

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)")

# Measures, once the images have loaded, what reaches past the window's right edge; the answer goes into an
# attribute of <body>, which --dump-dom prints.
PROBE = """<script>window.addEventListener('load', () => {
  const width = document.documentElement.clientWidth, overflowing = [];
  for (const table of document.querySelectorAll('table')) {
    const box = table.closest('.scroll');
    if (!box) { if (table.getBoundingClientRect().right > width + 1) overflowing.push('table'); continue; }
    if (box.getBoundingClientRect().right > width + 1 || getComputedStyle(box).overflowX !== 'auto')
      overflowing.push('scroll box');
  }
  for (const image of document.querySelectorAll('img'))
    if (image.getBoundingClientRect().right > width + 1) overflowing.push('image');
  document.body.setAttribute('data-overflowing', overflowing.join(',') || 'nothing');
});</script></body>"""


def chromium(*arguments, timeout=120):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           *arguments], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def wine_report(tmp_path_factory):
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("render")
    X, names = load_csv("wine")
    model = GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    return write_report(folder / "wine.html", model, X, feature_names=names, title="wine")


def test_the_report_renders_to_a_non_blank_page(wine_report):
    from PIL import Image  # matplotlib's own dependency

    shot = wine_report.with_suffix(".png")
    chromium(f"--screenshot={shot}", "--window-size=1280,3000", wine_report.as_uri())
    assert shot.exists(), "Chromium wrote no screenshot"
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (3000, 1280)
    assert pixels.std() > 10 and (pixels < 128).mean() > 0.005  # text and plots, not a white page


@pytest.mark.parametrize("width", [1280, 700])
def test_nothing_reaches_past_the_right_edge(wine_report, width):
    probe = wine_report.with_name(f"probe-{width}.html")
    probe.write_text(wine_report.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    dom = chromium(f"--window-size={width},3000", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()).stdout
    assert 'data-overflowing="nothing"' in dom, dom[dom.find("<body"):dom.find("<body") + 200]
