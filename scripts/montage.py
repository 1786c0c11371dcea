"""Make the README montage: simulated frames of each kind beside real frames of the same kind.

Usage: python scripts/montage.py --out docs/montage.png [--realdata ../shared/realdata]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from scatterloop.core.io import display_normalise, downsample, read_frames
from scatterloop.core.simulate import frame_record

TILE = 160
KINDS = {  # row label -> (simulated pattern, real manifest kinds)
    "rings": ("rings", ("rings",)),
    "peaks": ("peaks", ("gisaxs", "peaks")),
    "background": ("background", ("background", "diffuse")),
    "speckle": ("speckle", ("speckle",)),
}


def tile(data: np.ndarray, caption: str) -> Image.Image:
    disp = display_normalise(data)
    h, w = disp.shape
    small = downsample(disp, TILE)
    img = Image.new("L", (TILE, TILE + 14), 255)
    img.paste(Image.fromarray((small * 255).astype(np.uint8)), ((TILE - small.shape[1]) // 2, 0))
    ImageDraw.Draw(img).text((2, TILE + 1), caption[:26], fill=0)
    return img


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/montage.png")
    ap.add_argument("--realdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "realdata"))
    ap.add_argument("--per-row", type=int, default=3)
    args = ap.parse_args()
    root = Path(args.realdata)
    manifest = json.loads((root / "MANIFEST.json").read_text()) if (root / "MANIFEST.json").exists() else []
    rows = []
    for label, (pattern, real_kinds) in KINDS.items():
        tiles = []
        for i in range(args.per_row):
            artifact = None
            arr, _ = frame_record(pattern, 7, i, 256, artifact)
            tiles.append(tile(arr, f"simulated {label}"))
        reals = [e for e in manifest if e["kind"] in real_kinds and len(e["shape"]) == 2][: args.per_row]
        for e in reals:
            ds = e["reader"].split(":", 1)[1] if e["reader"].startswith("h5py:") else None
            frame = next(read_frames(root / e["file"], dataset=ds))
            tiles.append(tile(frame.data.astype(np.float32), "real " + Path(e["file"]).name))
        row = Image.new("L", (TILE * len(tiles) + 4 * len(tiles), TILE + 14), 255)
        for k, t in enumerate(tiles):
            row.paste(t, (k * (TILE + 4), 0))
        rows.append(row)
    width = max(r.width for r in rows)
    out = Image.new("L", (width, sum(r.height + 6 for r in rows)), 255)
    y = 0
    for r in rows:
        out.paste(r, (0, y))
        y += r.height + 6
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    out.save(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
