"""Remake docs/images/report.png, the README's picture of the demo report.

Usage: .venv/bin/python docs/images/make_report_png.py   (needs headless Chromium as `chromium`, and Pillow)

Runs `gaussmix demo`, takes a 1200 x 3200 screenshot of its report in headless Chromium, and composes the
report's title, its model-selection table and the plot of the chosen model's clusters into one small PNG.
The crop boxes are pixel positions in that screenshot; check the result by eye after a change to the report.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

OUTPUT = Path(__file__).resolve().parent / "report.png"


def main():
    with tempfile.TemporaryDirectory() as folder:
        report, shot_path = Path(folder) / "demo.html", Path(folder) / "shot.png"
        subprocess.run([sys.executable, "-m", "gaussmix", "demo", "--report", str(report)], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--screenshot={shot_path}", "--window-size=1200,3200", report.as_uri()],
                       check=True, capture_output=True)
        shot = Image.open(shot_path).convert("RGB")
    title = shot.crop((30, 30, 1170, 140))             # h1 and the generation line
    selection = shot.crop((30, 400, 775, 790))          # "Model selection": the BIC table and its footnote
    clusters = shot.crop((40, 2000, 720, 2410))         # the clusters plot of the chosen model
    gap = 16
    canvas = Image.new("RGB", (selection.width + gap + clusters.width + 20,
                               title.height + max(selection.height, clusters.height) + 10), "white")
    canvas.paste(title, (0, 0))
    canvas.paste(selection, (0, title.height))
    canvas.paste(clusters, (selection.width + gap, title.height))
    canvas = ImageOps.expand(canvas, border=1, fill=(208, 215, 222))
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(OUTPUT, optimize=True)
    print(f"{OUTPUT}: {canvas.width} x {canvas.height}, {OUTPUT.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
