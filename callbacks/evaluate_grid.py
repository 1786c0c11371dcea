"""Evaluate tab: the paper's Fig. 6 grid (images beside their polar warps, or their (q, chi) cakes where a
calibration gives q) and each pattern's example profiles, I(q) in inverse Angstrom or I(r) in pixels."""

from __future__ import annotations

from scatterloop.core.explore import polar_view
from scatterloop.core.qprofile import image_profile
from scatterloop.dashboard.components import evaluate_view
from scatterloop.dashboard.figures_profile import profiles_figure

from .media import cake_url, polar_url, thumb_url
from .services import Services

GROUPS = ("experimental", "realistic", "fake")
PER_GROUP = 6


def example_grid(services: Services, ws, examples: dict):
    """examples: the evaluation's {pattern: {group: [image ids]}}."""
    rows, figures, notes = [], {}, []
    images = {}
    for pattern, groups in examples.items():
        series: dict[str, list] = {}
        for group in GROUPS:
            tiles = []
            for image_id in groups.get(group, [])[:PER_GROUP]:
                if image_id not in images:
                    images[image_id] = services.store.get_image(image_id)
                img = images[image_id]
                pv = polar_view(ws, image_id)
                prof = image_profile(ws, image_id)
                if prof.unit == "q":
                    tiles.append((image_id, thumb_url(img.sha256), cake_url(prof.cake_name), pv.symmetry, "cake"))
                else:
                    tiles.append((image_id, thumb_url(img.sha256), polar_url(pv.warp_png), pv.symmetry, "polar"))
                series.setdefault(prof.unit, []).append((f"#{image_id}", group, prof.x, prof.intensity))
                if prof.note not in notes:
                    notes.append(prof.note)
            if tiles:
                rows.append((pattern, group, tiles))
        figures[pattern] = [profiles_figure(s, unit) for unit, s in sorted(series.items())]
    return evaluate_view.polar_grid(rows, figures, notes)
