// The viewer's region (what to fetch at full resolution) is read from the graph as it stands, not from the last
// relayout event alone. dcc.Graph reacts to its container settling (the modal's caption and facts arriving) with
// Plotly.Plots.resize, whose relayout {autosize: true} lands about 100 ms later and replaces relayoutData. When it
// came right after a first zoom, a server callback judging that event alone answered "no change" and dash-renderer
// dropped the render the zoom had queued: the zoom was lost. Here every relayout event compares the axes on screen
// with the ranges the server drew (layout.meta.drawn), so a late autosize still asks for the zoom, or for nothing.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  scatterloop_viewer: {
    region: function (relayout, imageId, current, graphId) {
      var nu = window.dash_clientside.no_update;
      if (!relayout || imageId === null || imageId === undefined) { return nu; }
      if (relayout["xaxis.autorange"] || relayout["yaxis.autorange"]) { return current ? null : nu; }  // reset
      var host = document.getElementById(graphId);
      var gd = host && host.querySelector(".js-plotly-plot");
      var layout = gd && gd.layout;
      var drawn = layout && layout.meta && layout.meta.drawn;
      // nothing drawn yet, or still the last image's frame: a zoom on it is no zoom of this image
      if (!drawn || drawn.image !== imageId || !layout.xaxis || !layout.yaxis) { return nu; }
      var x = layout.xaxis.range, y = layout.yaxis.range;
      if (!x || !y) { return nu; }
      var near = function (a, b) {  // within a pixel: the server rounds a region to whole pixels
        var p = [Math.min(a[0], a[1]), Math.max(a[0], a[1])], q = [Math.min(b[0], b[1]), Math.max(b[0], b[1])];
        return Math.abs(p[0] - q[0]) < 1 && Math.abs(p[1] - q[1]) < 1;
      };
      if (near(x, drawn.x) && near(y, drawn.y)) { return nu; }  // the screen shows what was drawn
      return {image: imageId, x: [x[0], x[1]], y: [y[0], y[1]]};
    }
  }
});
