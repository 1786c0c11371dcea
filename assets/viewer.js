// The viewer's region (what to fetch at full resolution) is read from the graph as it stands, not from the last
// relayout event alone. dcc.Graph reacts to its container settling (the modal's caption and facts arriving) with
// Plotly.Plots.resize, whose relayout {autosize: true} lands about 100 ms later and replaces relayoutData. When it
// came right after a first zoom, a server callback judging that event alone answered "no change" and dash-renderer
// dropped the render the zoom had queued: the zoom was lost. Here every relayout event compares the axes on screen
// with the ranges the server drew (layout.meta.drawn), so a late autosize still asks for the zoom, or for nothing.
// With the region goes a caption saying it is being drawn: the zoom shows the frame's coarse pixels at once, and the
// caption tells the user that the full-resolution picture is on its way (the server's caption replaces it).
var VIEWER_NO = function () { return [window.dash_clientside.no_update, window.dash_clientside.no_update]; };
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  scatterloop_viewer: {
    region: function (relayout, imageId, current, graphId) {
      if (!relayout || imageId === null || imageId === undefined) { return VIEWER_NO(); }
      if (relayout["xaxis.autorange"] || relayout["yaxis.autorange"]) {  // reset
        return current ? [null, window.scatterloop_pending("Zoomed out: drawing the full frame…")] : VIEWER_NO();
      }
      var host = document.getElementById(graphId);
      var gd = host && host.querySelector(".js-plotly-plot");
      var layout = gd && gd.layout;
      var drawn = layout && layout.meta && layout.meta.drawn;
      // nothing drawn yet, or still the last image's frame: a zoom on it is no zoom of this image
      if (!drawn || drawn.image !== imageId || !layout.xaxis || !layout.yaxis) { return VIEWER_NO(); }
      var x = layout.xaxis.range, y = layout.yaxis.range;
      if (!x || !y) { return VIEWER_NO(); }
      var near = function (a, b) {  // within a pixel: the server rounds a region to whole pixels
        var p = [Math.min(a[0], a[1]), Math.max(a[0], a[1])], q = [Math.min(b[0], b[1]), Math.max(b[0], b[1])];
        return Math.abs(p[0] - q[0]) < 1 && Math.abs(p[1] - q[1]) < 1;
      };
      if (near(x, drawn.x) && near(y, drawn.y)) { return VIEWER_NO(); }  // the screen shows what was drawn
      var region = {image: imageId, x: [x[0], x[1]], y: [y[0], y[1]]};
      if (current && current.image === imageId && near(current.x, region.x) && near(current.y, region.y)) {
        return VIEWER_NO();  // already asked for (a late autosize after the zoom): one render, not two
      }
      return [region, window.scatterloop_pending("Zoomed: drawing this region at full resolution…")];
    },
    // Compare pressed: say what is being drawn while the server finds and renders it (no word when it will refuse)
    compareAck: function (nearClicks, withClicks, imageId, other) {
      var nu = window.dash_clientside.no_update;
      var ctx = window.dash_clientside.callback_context;
      if (!ctx.triggered || !ctx.triggered.length || !ctx.triggered[0].value) { return nu; }
      if (imageId === null || imageId === undefined) { return nu; }
      if (ctx.triggered[0].prop_id.indexOf("compare-nearest-button") === 0) {
        return window.scatterloop_pending("Finding the 3 experimental frames nearest to #" + imageId + " and drawing them…");
      }
      if (other === null || other === undefined || other === "") { return nu; }
      return window.scatterloop_pending("Drawing #" + imageId + " beside #" + other + "…");
    }
  }
});
