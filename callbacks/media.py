"""Image routes: thumbnails by content hash (cacheable forever) and workspace files. Nothing outside the
workspace is served, nor the database: `..` and unknown folders give 404."""

from __future__ import annotations

import re

from flask import abort, send_from_directory

from .services import Services

THUMB_URL = "/media/thumbs/{sha}.png"
SERVED_FOLDERS = ("originals", "thumbs", "exports", "runs")
_SHA = re.compile(r"^[0-9a-f]{64}\.png$")


def thumb_url(sha256: str) -> str:
    return THUMB_URL.format(sha=sha256)


def register(app, services: Services) -> None:
    server = app.server
    ws = services.workspace

    @server.route("/media/thumbs/<name>")
    def media_thumb(name: str):
        if not _SHA.match(name):
            abort(404)
        path = ws.thumbs / name
        if not path.exists():
            image = services.store.image_by_sha(name[:-4])
            if image is None:
                abort(404)
            ws.ensure_thumbnail(image)
        resp = send_from_directory(ws.thumbs, name, max_age=31536000)
        resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return resp

    @server.route("/media/polar/<name>")
    def media_polar(name: str):
        if not _SHA.match(name):
            abort(404)
        return send_from_directory(ws.cache / "polar", name, max_age=86400)

    @server.route("/media/recon/<int:run_id>/<name>")
    def media_recon(run_id: int, name: str):
        if not _SHA.match(name):
            abort(404)
        return send_from_directory(ws.cache / "recon" / str(run_id), name, max_age=86400)

    @server.route("/media/files/<folder>/<path:rest>")
    def media_file(folder: str, rest: str):
        if folder not in SERVED_FOLDERS:
            abort(404)
        return send_from_directory(ws.root / folder, rest, max_age=3600)
