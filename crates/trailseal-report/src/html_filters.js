"use strict";
(function () {
  var findings = Array.prototype.slice.call(document.querySelectorAll("article.finding"));
  var selects = Array.prototype.slice.call(document.querySelectorAll("#filters select"));
  selects.forEach(function (select) {
    var key = select.getAttribute("data-filter");
    var values = {};
    findings.forEach(function (f) {
      var v = f.getAttribute("data-" + key);
      if (v) { values[v] = true; }
    });
    Object.keys(values).sort().forEach(function (v) {
      var option = document.createElement("option");
      option.value = v;
      option.textContent = v;
      select.appendChild(option);
    });
  });
  function apply() {
    var wanted = {};
    selects.forEach(function (s) { if (s.value) { wanted[s.getAttribute("data-filter")] = s.value; } });
    var shown = 0;
    findings.forEach(function (f) {
      var visible = Object.keys(wanted).every(function (k) { return f.getAttribute("data-" + k) === wanted[k]; });
      f.hidden = !visible;
      if (visible) { shown += 1; }
    });
    Array.prototype.forEach.call(document.querySelectorAll("section.resource"), function (r) {
      r.hidden = r.querySelector("article.finding:not([hidden])") === null;
    });
    Array.prototype.forEach.call(document.querySelectorAll("h2.account"), function (h) {
      var next = h.nextElementSibling, any = false;
      while (next && !next.matches("h2.account")) {
        if (next.matches("section.resource") && !next.hidden) { any = true; }
        next = next.nextElementSibling;
      }
      h.hidden = !any;
    });
    document.getElementById("shown").textContent = shown + " of " + findings.length + " findings shown";
  }
  selects.forEach(function (s) { s.addEventListener("change", apply); });
  // Printed, every finding's details are there (closed <details> do not print).
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
  });
  apply();
})();
