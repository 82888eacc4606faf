/* o2o admin: Flask-Admin under a strict Content-Security-Policy.
 *
 * The CSP (core/http_security.py) runs no inline script without the page's nonce and no
 * inline event handler at all. Flask-Admin's own templates carry a few handlers
 * (onclick="return faHelpers.safeConfirm('...')" on delete buttons, the "With selected"
 * actions, the filter menu, "Add" of inline forms), which core.http_security renames to
 * data-o2o-onclick as the templates load, and "javascript:void(0)" links. This file binds
 * exactly those shapes as listeners, with no eval; any other text is never run.
 */
(function () {
  "use strict";

  function unquote(text) { return text.replace(/\\(.)/g, "$1"); }

  var SHAPES = [
    [/^\s*return\s+faHelpers\.safeConfirm\('((?:[^'\\]|\\.)*)'\);?\s*$/, function (el, m) {
      var msg = unquote(m[1]);
      el.addEventListener("click", function (e) { if (!window.faHelpers.safeConfirm(msg)) e.preventDefault(); });
    }],
    [/^\s*return\s+confirm\('((?:[^'\\]|\\.)*)'\);?\s*$/, function (el, m) {
      var msg = unquote(m[1]);
      el.addEventListener("click", function (e) { if (!window.confirm(msg)) e.preventDefault(); });
    }],
    [/^\s*return\s+modelActions\.execute\('([\w.-]*)'\);?\s*$/, function (el, m) {
      el.addEventListener("click", function (e) { e.preventDefault(); window.modelActions.execute(m[1]); });
    }],
    [/^\s*faForm\.addInlineField\(this,\s*'([\w.-]*)'\);?\s*$/, function (el, m) {
      el.addEventListener("click", function (e) { e.preventDefault(); window.faForm.addInlineField(el, m[1]); });
    }],
    [/^\s*return\s+false;?\s*$/, function (el) {
      el.addEventListener("click", function (e) { e.preventDefault(); });
    }]
  ];

  function rebind(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("[data-o2o-onclick]") : [];
    var nodes = Array.prototype.slice.call(found);
    if (root.hasAttribute && root.hasAttribute("data-o2o-onclick")) nodes.push(root);
    nodes.forEach(function (el) {
      var code = el.getAttribute("data-o2o-onclick");
      for (var i = 0; i < SHAPES.length; i++) {
        var m = SHAPES[i][0].exec(code);
        if (m) {
          el.removeAttribute("data-o2o-onclick");  // bound once, even if seen again
          SHAPES[i][1](el, m);
          return;
        }
      }
    });
  }

  // A "javascript:" link does nothing by design here; following it would only be refused.
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest && e.target.closest('a[href^="javascript:"]');
    if (a) e.preventDefault();
  }, true);

  rebind(document);
  // Forms added later (inline rows, modals) may bring handlers of their own.
  new MutationObserver(function (records) {
    records.forEach(function (r) { r.addedNodes.forEach(function (n) { if (n.nodeType === 1) rebind(n); }); });
  }).observe(document.documentElement, { childList: true, subtree: true });
})();
