"""Image and download routes. Thumbnails are addressed by content hash (cacheable forever); workspace files by
folder and relative path. What may leave the server is decided in `core.safe_paths` on resolved paths:
images (png, jpeg, webp) with their own content type from originals, thumbs and runs; anything else under
exports as a download; never the database, a checkpoint, or a file outside the workspace (404 for all)."""

from __future__ import annotations

import re
from pathlib import PurePath

from flask import abort, send_file

from scatterloop.core.safe_paths import NEVER_SERVED, image_type, is_sqlite, resolve_inside

from .services import Services

THUMB_URL = "/media/thumbs/{sha}.png"
IMAGE_FOLDERS = ("originals", "thumbs", "runs")
DOWNLOAD_FOLDERS = ("exports",)
_SHA = re.compile(r"^[0-9a-f]{64}\.png$")
_POLAR = re.compile(r"^[0-9a-f]{64}(-[0-9a-f]{16})?\.png$")  # an image's hash, and its calibration's where it has one


def thumb_url(sha256: str) -> str:
    return THUMB_URL.format(sha=sha256)


def polar_url(warp_png: str) -> str:
    """The polar-warp PNG of `core.explore.polar_view` (its `warp_png`, named by image and calibration)."""
    return f"/media/polar/{PurePath(warp_png).name}"


def cake_url(name: str) -> str:
    """The (q, chi) cake PNG of `core.qprofile` by its cache name (`<hash>.png`)."""
    return f"/media/cake/{name}"


def export_url(name: str) -> str:
    """The download link of a file under the workspace's exports folder."""
    return f"/media/files/exports/{name}"


def _image(root, folder, name: str, max_age: int):
    """An image file inside `folder` with its own content type, or 404."""
    try:
        path = resolve_inside(folder, name, within=root)
    except FileNotFoundError:
        abort(404)
    mimetype = image_type(path)
    if mimetype is None:
        abort(404)
    return send_file(path, mimetype=mimetype, max_age=max_age, conditional=True)


def _download(root, folder, name: str):
    """A file inside `folder` as an attachment (a report's HTML is never rendered from our origin), or 404."""
    try:
        path = resolve_inside(folder, name, within=root)
    except FileNotFoundError:
        abort(404)
    if path.suffix.lower() in NEVER_SERVED or is_sqlite(path):
        abort(404)
    return send_file(path, mimetype=image_type(path), as_attachment=True, download_name=path.name, max_age=0)


def register(app, services: Services) -> None:
    server = app.server
    ws = services.workspace

    @server.route("/media/thumbs/<name>")
    def media_thumb(name: str):
        if not _SHA.match(name):
            abort(404)
        if not ws.thumb_path(name[:-4]).exists():
            image = services.store.image_by_sha(name[:-4])
            if image is None:
                abort(404)
            try:
                ws.ensure_thumbnail(image)
            except (OSError, ValueError):  # its original is gone or unreadable: nothing to show, not a 500
                abort(404)
        resp = _image(ws.root, ws.thumbs, name, max_age=31536000)
        resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return resp

    @server.route("/media/polar/<name>")
    def media_polar(name: str):
        if not _POLAR.match(name):
            abort(404)
        return _image(ws.root, ws.cache / "polar", name, max_age=86400)

    @server.route("/media/cake/<name>")
    def media_cake(name: str):
        if not _SHA.match(name):
            abort(404)
        return _image(ws.root, ws.cache / "qprofile", name, max_age=86400)

    @server.route("/media/recon/<int:run_id>/<name>")
    def media_recon(run_id: int, name: str):
        if not _SHA.match(name):
            abort(404)
        return _image(ws.root, ws.cache / "recon" / str(run_id), name, max_age=86400)

    @server.route("/media/files/<folder>/<path:rest>")
    def media_file(folder: str, rest: str):
        if folder in IMAGE_FOLDERS:
            return _image(ws.root, ws.root / folder, rest, max_age=3600)
        if folder in DOWNLOAD_FOLDERS:
            return _download(ws.root, ws.root / folder, rest)
        abort(404)
