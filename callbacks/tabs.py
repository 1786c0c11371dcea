"""Which tab was opened, told to that tab alone.

Every tab's content sits in the page at once (dbc.Tabs), and a tab refreshes what it shows when it is opened.
Were each tab's callbacks to listen to the tabs' `active_tab`, every switch would send one request per such
callback of every tab (most answering "nothing to do"), and a browser sends at most six at a time to one host:
the opened tab's own answer waited behind the others (issue 14: a tab switch took 0.5-1 s). Here the browser
sets, on each switch, the store of the opened tab only (`ids.tab_shown`), which that tab's callbacks listen to.
"""

from __future__ import annotations

import json

from dash import Input, Output

from scatterloop.dashboard import ids


def register(app, _services=None) -> None:
    app.clientside_callback(
        f"""function (tab) {{
            var names = {json.dumps(list(ids.TAB_NAMES))};
            return names.map(function (n) {{ return n === tab ? Date.now() : window.dash_clientside.no_update; }});
        }}""",
        *[Output(ids.tab_shown(tab), "data") for tab in ids.TAB_NAMES],
        Input(ids.TABS, "active_tab"),
        prevent_initial_call=True,  # on load every callback makes its own first call, as before
    )
