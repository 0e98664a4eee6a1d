// Filters by verdict and reason: no server, no framework. Each filtered element carries
// data-verdict and data-reasons (space-separated); reasons combine with "any of".
(function () {
  "use strict";
  var verdict = "all";
  var reasons = new Set();
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  var blocks = Array.prototype.slice.call(document.querySelectorAll("[data-block]"));
  var shown = document.getElementById("shown");
  var nothing = document.getElementById("nothing");
  var clear = document.querySelector("[data-clear-filters]");

  function words(value) {
    return value ? value.split(" ") : [];
  }

  function matches(el) {
    var verdicts = words(el.getAttribute("data-verdict"));
    if (verdict !== "all" && verdicts.indexOf(verdict) < 0) return false;
    if (reasons.size === 0) return true;
    return words(el.getAttribute("data-reasons")).some(function (r) { return reasons.has(r); });
  }

  function apply() {
    var total = 0, visible = 0;
    items.forEach(function (el) {
      var ok = matches(el);
      el.hidden = !ok;
      if (el.classList.contains("card")) {
        total += 1;
        if (ok) visible += 1;
      }
    });
    // A block (a sheet, or a grid in it) with nothing left to show is hidden whole.
    blocks.forEach(function (block) {
      block.hidden = !block.querySelector("[data-filter]:not([hidden])");
    });
    shown.textContent = "Showing " + visible + " of " + total;
    nothing.hidden = visible > 0;
    document.querySelectorAll("[data-verdict-filter]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.getAttribute("data-verdict-filter") === verdict));
    });
    document.querySelectorAll("[data-reason-filter]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(reasons.has(b.getAttribute("data-reason-filter"))));
    });
    if (clear) clear.hidden = reasons.size === 0 && verdict === "all";
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-verdict-filter")) {
      verdict = button.getAttribute("data-verdict-filter");
    } else if (button.hasAttribute("data-reason-filter")) {
      var code = button.getAttribute("data-reason-filter");
      if (reasons.has(code)) reasons.delete(code); else reasons.add(code);
    } else if (button.hasAttribute("data-clear-filters")) {
      verdict = "all";
      reasons.clear();
    } else {
      return;
    }
    apply();
  });
  apply();
})();
