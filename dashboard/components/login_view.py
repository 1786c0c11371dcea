"""The sign-in page (login `password`) and the signed-in user's corner of the navbar.

The page is plain server-rendered HTML (Jinja, autoescaped) styled by the app's own Bootstrap file: it must
work before anyone may load the Dash app, and it needs no script (the CSP allows none inline).
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from .. import ids

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
  <title>scatterloop · sign in</title>
  <link rel="stylesheet" href="{{ css }}">
</head>
<body class="bg-light">
  <main class="container" style="max-width: 24rem; margin-top: 12vh">
    <h1 class="h4 mb-1">scatterloop</h1>
    <p class="text-muted small mb-3">workspace {{ workspace }}</p>
    {% if error %}<div id="login-error" class="alert alert-danger py-2 small">{{ error }}</div>{% endif %}
    <form method="post" action="{{ action }}" id="login-form">
      <input type="hidden" name="next" value="{{ next }}">
      <div class="mb-2">
        <label class="form-label small" for="login-name">name</label>
        <input class="form-control" id="login-name" name="name" autocomplete="username" required autofocus
               value="{{ name }}">
      </div>
      <div class="mb-3">
        <label class="form-label small" for="login-password">password</label>
        <input class="form-control" id="login-password" name="password" type="password"
               autocomplete="current-password" required>
      </div>
      <button class="btn btn-primary w-100" id="login-submit" type="submit">Sign in</button>
    </form>
  </main>
</body>
</html>
"""


def signed_in(name: str, role: str, can_sign_out: bool) -> html.Span:
    """Who is signed in, beside the (then fixed) annotator field, with a sign-out link."""
    parts = [dbc.Badge(role, color="info", className="ms-2", id=ids.LOGIN_ROLE_BADGE)]
    if can_sign_out:
        parts.append(html.A("sign out", href="/logout", id=ids.LOGIN_SIGN_OUT_LINK, className="ms-2 small text-light"))
    return html.Span(parts, title=f"signed in as {name}", className="d-flex align-items-center")
