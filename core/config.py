"""Settings, read once (environment and CLI) and passed down.

No other module reads the environment: everything configurable arrives through a `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

ENV_PREFIX = "SCATTERLOOP_"
LOGIN_MODES = ("none", "password", "header")


@dataclass(frozen=True)
class Settings:
    """Everything a process needs to know about where and how to run.

    Attributes:
        workspace: the workspace directory (database, images, checkpoints, caches, exports).
        database_url: any SQLAlchemy URL; `None` means SQLite (WAL) inside the workspace.
        broker_url: a Celery broker URL; when set, the dashboard runs background jobs through Celery
            instead of the default diskcache manager.
        host: address the server binds to; loopback unless told otherwise.
        port: port the server listens on.
        max_pixels: frames larger than this are refused at import (protects memory).
        min_side: frames with a side shorter than this are refused at import (a 1x1 "image" is no frame).
        labels: the label set people choose from in the Label view, in shortcut order (1, 2, ...).
        thumb_size: longest side of stored thumbnails, in pixels.
        page_size: thumbnails per page in the Label view.
        weights_dir: a local folder of ImageNet classifier weights (`resnet50.safetensors`, `alexnet.pth`,
            ...); architectures without a file there train from scratch. Nothing is ever downloaded.
        inception_weights: a local Inception-v3 weights file for FID/KID/IS on Inception features; without
            it, evaluation uses the workspace's own autoencoder features.
        login: `none` (a laptop: one local user who may do everything), `password` (users of the workspace
            database sign in) or `header` (a trusted reverse proxy names the user in `login_header`).
        login_header: the request header a trusted single-sign-on proxy sets (only read with `login=header`).
        max_jobs: how many runs one person may have queued or running at once from the dashboard or the API
            (per signed-in user with login on; shared without login); 0 means no limit.
        cache_mb: size budget in MB of the workspace's caches of derived images (full-resolution frames, I(q)
            cakes, polar warps); above it the least recently used are removed (rebuilt on demand); 0: no limit.
        secret_key: signs session cookies; `None` keeps a random one in the workspace database (shared by every
            server of the workspace).
    """

    workspace: Path
    database_url: str | None = None
    broker_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8050
    max_pixels: int = 100_000_000
    min_side: int = 8
    labels: tuple[str, ...] = ("realistic", "fake")
    thumb_size: int = 256
    page_size: int = 24
    weights_dir: Path | None = None
    inception_weights: Path | None = None
    login: str = "none"
    max_jobs: int = 4
    cache_mb: int = 4096
    login_header: str = "X-Forwarded-User"
    secret_key: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL actually used: the configured one or the workspace's SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.workspace) / 'scatterloop.db').resolve()}"

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed (CLI flags override environment)."""
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls,
        workspace: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        require_workspace: bool = False,
        **overrides,
    ) -> Settings:
        """Build settings from `SCATTERLOOP_*` variables, then explicit overrides (which win).

        Raises:
            ValueError: a numeric variable that does not parse, naming the variable; with `require_workspace`, no
                workspace given nor set in SCATTERLOOP_WORKSPACE (a WSGI server would make `./workspace`).
        """
        env = os.environ if env is None else env
        values: dict = {}
        if require_workspace and workspace is None and not env.get(ENV_PREFIX + "WORKSPACE"):
            raise ValueError(f"{ENV_PREFIX}WORKSPACE is not set: name the workspace this server serves")
        ws = workspace if workspace is not None else env.get(ENV_PREFIX + "WORKSPACE", "workspace")
        values["workspace"] = Path(ws)
        for key, name in (
            ("database_url", "DATABASE_URL"),
            ("broker_url", "BROKER_URL"),
            ("host", "HOST"),
            ("login", "LOGIN"),
            ("login_header", "LOGIN_HEADER"),
            ("secret_key", "SECRET_KEY"),
        ):
            if env.get(ENV_PREFIX + name):
                values[key] = env[ENV_PREFIX + name]
        for key, name in (
            ("port", "PORT"),
            ("max_pixels", "MAX_PIXELS"),
            ("page_size", "PAGE_SIZE"),
            ("max_jobs", "MAX_JOBS"),
            ("cache_mb", "CACHE_MB"),
        ):
            raw = env.get(ENV_PREFIX + name)
            if raw:
                try:
                    values[key] = int(raw)
                except ValueError as exc:
                    raise ValueError(f"{ENV_PREFIX}{name}: expected an integer, got {raw!r}") from exc
        if env.get(ENV_PREFIX + "INCEPTION_WEIGHTS"):
            values["inception_weights"] = Path(env[ENV_PREFIX + "INCEPTION_WEIGHTS"])
        if env.get(ENV_PREFIX + "WEIGHTS_DIR"):
            values["weights_dir"] = Path(env[ENV_PREFIX + "WEIGHTS_DIR"])
        if env.get(ENV_PREFIX + "LABELS"):
            values["labels"] = tuple(s.strip() for s in env[ENV_PREFIX + "LABELS"].split(",") if s.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "workspace" in values:
            values["workspace"] = Path(values["workspace"])
        if values.get("login", "none") not in LOGIN_MODES:
            raise ValueError(f"{ENV_PREFIX}LOGIN: expected one of {', '.join(LOGIN_MODES)}, got {values['login']!r}")
        return cls(**values)
