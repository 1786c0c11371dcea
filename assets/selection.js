// Label-grid selection is browser state: toggled here, synchronously, so fast clicks never race.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  scatterloop: {
    toggleSelection: function (cardClicks, pageClicks, clearClicks, selection, pageIds) {
      var ctx = window.dash_clientside.callback_context;
      var nu = window.dash_clientside.no_update;
      if (!ctx.triggered || !ctx.triggered.length || !ctx.triggered[0].value) { return [nu, nu]; }
      var prop = ctx.triggered[0].prop_id;
      var sel = (selection || []).slice();
      if (prop.indexOf("label-select-page-button") === 0) {
        (pageIds || []).forEach(function (i) { if (sel.indexOf(i) < 0) { sel.push(i); } });
        return [sel, nu];
      }
      if (prop.indexOf("label-clear-button") === 0) { return [[], nu]; }
      var id = JSON.parse(prop.slice(0, prop.lastIndexOf(".")));
      var k = sel.indexOf(id.index);
      if (k >= 0) { sel.splice(k, 1); } else { sel.push(id.index); }
      return [sel, id.index];
    },
    prune: function (pageIds, selection, focus) {
      var nu = window.dash_clientside.no_update;
      var page = pageIds || [];
      var sel = selection || [];
      var kept = sel.filter(function (i) { return page.indexOf(i) >= 0; });
      var keepFocus = focus === null || focus === undefined || page.indexOf(focus) >= 0;
      return [kept.length === sel.length ? nu : kept, keepFocus ? nu : null];
    },
    highlight: function (selection, cardIds) {
      var sel = selection || [];
      return (cardIds || []).map(function (c) { return sel.indexOf(c.index) >= 0 ? "sl-card selected" : "sl-card"; });
    },
    // a label key or button: name at once the images being labelled and the label, with a spinner, while the
    // server writes; its answer replaces the line (issue 14: feedback within 0.3 s). No word when the server will
    // refuse (nothing highlighted, no annotator): its own line says why.
    labelAck: function (clicks, selection, annotator) {
      var nu = window.dash_clientside.no_update;
      var ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered || ctx.triggered.length !== 1 || !ctx.triggered[0].value) { return nu; }
      var sel = selection || [];
      if (!sel.length || !annotator || !String(annotator).trim()) { return nu; }
      var prop = ctx.triggered[0].prop_id;
      var label = JSON.parse(prop.slice(0, prop.lastIndexOf("."))).label;
      var shown = 8;  // as label_actions.named: "#3, #5, … and 40 more"
      var names = sel.slice(0, shown).map(function (i) { return "#" + i; }).join(", ")
        + (sel.length > shown ? " and " + (sel.length - shown) + " more" : "");
      return window.scatterloop_pending("Labelling " + names + " '" + label + "'…");
    },
    undoAck: function (clicks, annotator) {
      var nu = window.dash_clientside.no_update;
      if (!clicks || !annotator || !String(annotator).trim()) { return nu; }
      return window.scatterloop_pending("Undoing your last labelling action…");
    }
  }
});
