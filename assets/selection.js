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
    }
  }
});
