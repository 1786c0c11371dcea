"""What every response carries and what a failing callback shows.

The headers keep the app's origin from rendering what it did not write: no MIME sniffing (a PNG is never run
as HTML), a CSP that allows only our own scripts plus the hashes of Dash's inline bootstrap script, no framing
by other sites, and no referrer leaving the site. Plotly injects `<style>` elements (so inline styles), and the
standard plotly.js bundle's WebGL traces (the Explore map's `scattergl`, via regl) compile code with `new
Function`, hence `'unsafe-eval'`; inline scripts, the usual XSS route, stay blocked.
"""

from __future__ import annotations

import logging

from dash import set_props

from . import ids

log = logging.getLogger(__name__)

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(script_hashes: list[str]) -> str:
    """The CSP for the Dash app: scripts from our origin and Dash's own inline scripts (by their quoted hashes, as
    `Dash.csp_hashes` gives them) only."""
    scripts = " ".join(["'self'", *script_hashes, "'unsafe-eval'"])
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


def install_security_headers(app) -> None:
    """Add the security headers to every response of `app.server`; call after all callbacks are registered
    (the CSP hashes cover the inline scripts those callbacks add)."""
    headers = {**STATIC_HEADERS, "Content-Security-Policy": content_security_policy(app.csp_hashes())}

    @app.server.after_request
    def _security_headers(response):
        for key, value in headers.items():
            response.headers.setdefault(key, value)
        return response


def install_request_errors(app) -> None:
    """Junk requests get a 4xx, not a 500 with a traceback in the log: an unknown script under
    `/_dash-component-suites/` (public with login on; Dash raises `DependencyException`) is a 404, a callback
    request whose body is not one of this app's callbacks (Dash raises KeyError, AttributeError, TypeError,
    IndexError or CallbackException before any callback runs; a callback's own errors go to `callback_error`)
    is a 400."""
    import flask
    from dash.exceptions import DependencyException

    server = app.server

    @server.errorhandler(DependencyException)
    def _no_such_script(exc):
        return flask.Response("not found", 404, mimetype="text/plain")

    from dash.exceptions import InvalidCallbackReturnValue

    def _malformed(exc):
        if not flask.request.path.endswith("/_dash-update-component") or isinstance(exc, InvalidCallbackReturnValue):
            raise exc  # anything else (a callback of ours answering wrongly too) is a real failure: a logged 500
        log.warning("malformed callback request: %s: %s", type(exc).__name__, str(exc)[:200])
        return flask.Response("malformed callback request", 400, mimetype="text/plain")

    from dash.exceptions import CallbackException  # the wrong number of inputs for the callback named

    for kind in (KeyError, AttributeError, TypeError, IndexError, CallbackException):
        server.register_error_handler(kind, _malformed)


def callback_error(exc: Exception) -> None:
    """A callback that raised: the page shows one clear line and keeps its state; the HTTP answer is not a 500.
    `ValueError`s are the app's own clear messages; anything else is logged with its traceback."""
    if isinstance(exc, ValueError):
        message = str(exc)
    else:
        log.exception("callback failed", exc_info=exc)
        message = f"That did not work ({type(exc).__name__}); the server log has the details."
    set_props(ids.APP_ERROR, {"children": message, "is_open": True})
    return None
