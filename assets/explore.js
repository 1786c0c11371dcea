// The Explore tab's answers that need no server: they show at once, in the same frame as the user's action, and
// the server's real answer replaces them when it comes (issue 14: feedback within 0.3 s).
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  scatterloop_explore: {
    // a lasso or box selection -> its image ids (customdata), page 0, the Selection tab, its count and label
    select: function (selected, pageSize) {
      var nu = window.dash_clientside.no_update;
      // Plotly redrawing the map (a new colouring, 2-D again) drops its lasso outline and reports an empty
      // selection with no lasso or box in it: the person selected nothing new, so the selection stands (the new
      // figure draws it). A lasso or box that catches no point carries its outline, and a double click arrives
      // as no selection at all: both clear it.
      if (selected && !selected.lassoPoints && !selected.range && !(selected.points || []).length) {
        return [nu, nu, nu, nu, nu, nu];
      }
      var seen = {}, chosen = [];
      ((selected && selected.points) || []).forEach(function (p) {
        if (p.customdata === undefined || p.customdata === null) { return; }
        var id = parseInt(p.customdata, 10);
        if (!seen[id]) { seen[id] = true; chosen.push(id); }
      });
      var n = chosen.length;
      var count = n ? n + " selected · page 1/" + Math.max(1, Math.ceil(n / pageSize))
        : "Nothing selected: lasso or box-select points on the map.";
      return [chosen, 0, n ? "selection" : nu, "", count, n ? "Selection (" + n + ")" : "Selection"];
    },
    // "Label selection X" pressed: say what is being labelled while the server labels it (no word when the server
    // will refuse: nothing selected, no annotator; its own line says why)
    relabelAck: function (clicks, selection, annotator, includeExperimental) {
      var nu = window.dash_clientside.no_update;
      var ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered || !ctx.triggered.length || !ctx.triggered[0].value) { return nu; }
      var n = (selection || []).length;
      if (!n || !annotator || !String(annotator).trim()) { return nu; }
      var label = JSON.parse(ctx.triggered[0].prop_id.slice(0, ctx.triggered[0].prop_id.lastIndexOf("."))).label;
      var what = includeExperimental ? "all " + n + " selected image(s)"
        : "the candidates among " + n + " selected image(s)";  // the kinds line above says how many of each
      return window.scatterloop_pending("Labelling " + what + " '" + label + "'…");
    },
    undoAck: function (clicks, annotator) {
      var nu = window.dash_clientside.no_update;
      if (!clicks || !annotator || !String(annotator).trim()) { return nu; }
      return window.scatterloop_pending("Undoing your last labelling action…");
    },
    // a gallery card clicked (not merely drawn) -> the image whose detail to show; drawing new cards asks nothing
    // of the server
    cardClick: function (clicks) {
      var nu = window.dash_clientside.no_update;
      var ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered || ctx.triggered.length !== 1 || !ctx.triggered[0].value) { return nu; }
      var prop = ctx.triggered[0].prop_id;
      var id = JSON.parse(prop.slice(0, prop.lastIndexOf(".")));
      return {image: id.index, clicks: ctx.triggered[0].value, at: Date.now()};  // each click a change
    }
  }
});

// a status line that says work is under way: a small spinner and the words
window.scatterloop_pending = function (text) {
  return {
    namespace: "dash_html_components", type: "Span",
    props: {className: "text-muted", children: [
      {namespace: "dash_html_components", type: "Span",
       props: {className: "spinner-border spinner-border-sm me-1", role: "status", "aria-hidden": "true"}},
      text
    ]}
  };
};
