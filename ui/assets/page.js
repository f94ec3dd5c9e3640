(function () {
  if (window.__kulturplanPage) return;
  window.__kulturplanPage = true;
  try {
    Object.defineProperty(Navigator.prototype, "language", { get: function () { return "sv"; }, configurable: true });
    Object.defineProperty(Navigator.prototype, "languages", { get: function () { return ["sv"]; }, configurable: true });
  } catch (e) {}
  var root = document.documentElement;
  if (root.lang !== "sv") root.lang = "sv";
  new MutationObserver(function () { if (root.lang !== "sv") root.lang = "sv"; })
    .observe(root, { attributes: true, attributeFilter: ["lang"] });
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a.kp-cite") : null;
    if (!link) return;
    var id = (link.getAttribute("href") || "").replace(/^#/, "");
    var target = document.getElementById(id);
    if (!target) return;
    event.preventDefault();
    if (window.location.hash !== "#" + id) window.location.hash = id;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
  });
})();
