"use strict";
(function () {
  // Models: unchecked entries are hidden everywhere (plot marks, legends, table rows, one-model figures), and the
  // choice is kept in the address (?hide=<model label>, repeated), so a reload or a shared link shows the same.
  var entries = JSON.parse(document.getElementById("zs-entries").textContent);
  var byId = {};
  entries.forEach(function (e) { byId[e.id] = e; });
  var toggles = Array.prototype.slice.call(document.querySelectorAll("input[data-entry-toggle]"));
  function remember(off) {
    if (!window.history || !window.history.replaceState || typeof URLSearchParams === "undefined") { return; }
    var params = new URLSearchParams(window.location.search);
    params.delete("hide");
    Object.keys(off).forEach(function (id) { if (byId[id]) { params.append("hide", byId[id].label); } });
    var query = params.toString();
    try {
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    } catch (err) { /* an address that cannot be rewritten (some file: viewers): the page still filters */ }
  }
  function applyEntries() {
    var off = {};
    toggles.forEach(function (t) { if (!t.checked) { off[t.getAttribute("data-entry-toggle")] = true; } });
    document.querySelectorAll("[data-entry]").forEach(function (el) {
      el.classList.toggle("off", off[el.getAttribute("data-entry")] === true);
    });
    remember(off);
  }
  function setAll(value) { toggles.forEach(function (t) { t.checked = value; }); applyEntries(); }
  toggles.forEach(function (t) { t.addEventListener("change", applyEntries); });
  document.getElementById("select-all").addEventListener("click", function () { setAll(true); });
  document.getElementById("select-none").addEventListener("click", function () { setAll(false); });
  document.querySelectorAll("button[data-select-kind]").forEach(function (b) {
    b.addEventListener("click", function () {
      var kind = b.getAttribute("data-select-kind");
      toggles.forEach(function (t) { t.checked = byId[t.getAttribute("data-entry-toggle")].kind === kind; });
      applyEntries();
    });
  });
  if (typeof URLSearchParams !== "undefined") {
    var hidden = new URLSearchParams(window.location.search).getAll("hide");
    if (hidden.length) {
      toggles.forEach(function (t) { t.checked = hidden.indexOf(byId[t.getAttribute("data-entry-toggle")].label) < 0; });
      applyEntries();
    }
  }

  // Groups: choose a factor and a value, and only the models of that group stay selected.
  var field = document.getElementById("group-field");
  var value = document.getElementById("group-value");
  if (field && value) {
    field.addEventListener("change", function () {
      while (value.options.length > 1) { value.remove(1); }
      var seen = {};
      entries.forEach(function (e) {
        var v = e.factors[field.value];
        if (v && !seen[v]) { seen[v] = true; value.add(new Option(v, v)); }
      });
      value.disabled = !field.value;
      if (!field.value) { setAll(true); }
    });
    value.addEventListener("change", function () {
      var chosen = {};
      entries.forEach(function (e) { chosen[e.id] = !value.value || e.factors[field.value] === value.value; });
      toggles.forEach(function (t) { t.checked = chosen[t.getAttribute("data-entry-toggle")] === true; });
      applyEntries();
    });
  }

  // Figure selectors: show the figures of one group (a shift, a condition, a factor) or all of them.
  document.querySelectorAll("select[data-figure-select]").forEach(function (sel) {
    var section = sel.closest("section");
    sel.addEventListener("change", function () {
      section.querySelectorAll("figure[data-group]").forEach(function (fig) {
        fig.classList.toggle("group-off", sel.value !== "*" && fig.getAttribute("data-group") !== sel.value);
      });
    });
  });

  // Findings link to their figure: show it first when its section's selector hides it.
  document.querySelectorAll("a.figure-link").forEach(function (a) {
    a.addEventListener("click", function () {
      var fig = document.getElementById(a.getAttribute("href").slice(1));
      if (!fig || !fig.classList.contains("group-off")) { return; }
      var select = fig.closest("section").querySelector("select[data-figure-select]");
      if (select) { select.value = fig.getAttribute("data-group"); select.dispatchEvent(new Event("change")); }
    });
  });

  // Sortable tables: click (or Enter on) a header; missing values sort last.
  function key(row, col) {
    var cell = row.cells[col];
    if (!cell) { return null; }
    var s = cell.getAttribute("data-sort");
    if (s !== null && s !== "" && !isNaN(Number(s))) { return Number(s); }
    var t = (cell.textContent || "").trim();
    return t === "-" || t === "" ? null : t.toLowerCase();
  }
  function sortBy(th) {
    var table = th.closest("table");
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, col), y = key(b, col);
      if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
      var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable th").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { sortBy(th); } });
  });
})();
