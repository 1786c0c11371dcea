// Keyboard shortcuts: any element with data-shortcut="k1 k2" is clicked when one of its keys is pressed
// (outside text fields). Keys are KeyboardEvent.key in lower case, with "ctrl+" for Control/Meta.
(function () {
  function keyName(ev) {
    var k = (ev.key || "").toLowerCase();
    return (ev.ctrlKey || ev.metaKey) ? "ctrl+" + k : k;
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) { return; }
    var name = keyName(ev);
    // a dropdown keeps the focus after a pick, and a letter typed there opens it with that letter in its search
    // box: the key is the dropdown's, not a shortcut (it had selected the page and labelled it). Escape on a
    // closed one is still "deselect".
    var menu = t && t.closest ? t.closest(".dash-dropdown, [aria-haspopup='listbox'], [role='combobox']") : null;
    if (menu && !(name === "escape" && menu.getAttribute("aria-expanded") !== "true")) { return; }
    // while a window (the viewer, the keyboard help) is open, only its own shortcuts act: a key must never
    // label the grid hidden behind it
    var modal = document.querySelector(".modal.show");
    var nodes = (modal || document).querySelectorAll("[data-shortcut]");
    for (var i = 0; i < nodes.length; i++) {
      var keys = nodes[i].getAttribute("data-shortcut").split(" ");
      if (keys.indexOf(name) >= 0 && nodes[i].offsetParent !== null) {
        ev.preventDefault();
        nodes[i].click();
        return;
      }
    }
  });
})();
