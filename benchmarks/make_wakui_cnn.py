"""Generate the 96 images of the wakui-cnn example (sheetnet/examples/wakui-cnn.csv).

Wakui's book trains its CNN on 96 black-and-white 6x6 images of the digits 1, 2 and 3.
These are generated from the fifteen hand-made drawings of cnn123 (five per digit): each
drawing, then copies moved by one pixel (left, right, up, down, where the digit stays
inside the frame), then copies with one pixel flipped, until every digit has 32 distinct
images.  Deterministic (seed 15); run from the repository root:

    python benchmarks/make_wakui_cnn.py
"""

from __future__ import annotations

import csv
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "sheetnet", "examples", "cnn123.csv")
TARGET = os.path.join(ROOT, "sheetnet", "examples", "wakui-cnn.csv")
PER_DIGIT = 32


def drawings():
    with open(SOURCE) as fh:
        rows = list(csv.DictReader(fh))
    names = [f"p{r}_{c}" for r in range(1, 7) for c in range(1, 7)]
    out = {1: [], 2: [], 3: []}
    for row in rows:
        out[int(row["label"])].append(np.array([int(row[n]) for n in names]).reshape(6, 6))
    return out, names


def shifted(img):
    for dr, dc in ((0, -1), (0, 1), (-1, 0), (1, 0)):
        moved = np.roll(img, (dr, dc), axis=(0, 1))
        if moved.sum() == img.sum() and not (
                (dr == 1 and img[-1].any()) or (dr == -1 and img[0].any())
                or (dc == 1 and img[:, -1].any()) or (dc == -1 and img[:, 0].any())):
            yield moved


def images(rng, base):
    seen, out = set(), []

    def add(img):
        key = img.tobytes()
        if key not in seen and len(out) < PER_DIGIT:
            seen.add(key)
            out.append(img)

    for img in base:
        add(img)
    for img in base:
        for moved in shifted(img):
            add(moved)
    while len(out) < PER_DIGIT:
        img = out[rng.integers(len(base))].copy()  # one of the drawings, one pixel flipped
        r, c = rng.integers(6, size=2)
        img[r, c] = 1 - img[r, c]
        add(img)
    return out


def main():
    rng = np.random.default_rng(15)
    base, names = drawings()
    with open(TARGET, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["label", *names, "t1", "t2", "t3"])
        for digit in (1, 2, 3):
            for img in images(rng, base[digit]):
                w.writerow([digit, *img.ravel().tolist(), *(int(digit == d) for d in (1, 2, 3))])
    print(f"wrote {TARGET}: {3 * PER_DIGIT} images")


if __name__ == "__main__":
    main()
