/* Progressive enhancement for the search page. Without this file everything works through
   plain links and GET forms; with it:
   - results update as you type (debounced), by fetching the same page URL and swapping the
     results region; the address bar follows (pushState once per typing burst, then
     replaceState), and the back button restores earlier results;
   - changing the sort submits the form;
   - a facet's "Find" box filters its list as you type (Enter still asks the server).
   No inline scripts or styles (the Content-Security-Policy forbids them). */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var form = document.getElementById("search-form");
  var input = document.getElementById("q");
  var status = document.getElementById("live-status");
  var timer = null;
  var controller = null;
  var pushedForBurst = false;
  var lastUrl = location.pathname + location.search;

  function region() { return document.getElementById("results-region"); }

  function formUrl() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (name === "page") { return; }
      if (name === "sort" && value === "relevance") { return; }
      if (name === "q") { value = String(value).trim(); if (!value) { return; } }
      params.append(name, value);
    });
    var qs = params.toString();
    return "/" + (qs ? "?" + qs : "");
  }

  function announce(doc) {
    if (!status) { return; }
    var node = doc.querySelector("[data-summary]");
    status.textContent = node ? node.getAttribute("data-summary") : "";
  }

  function swap(url, how) {
    if (controller) { controller.abort(); }
    controller = new AbortController();
    var current = region();
    if (current) { current.classList.add("is-loading"); }
    return fetch(url, { signal: controller.signal, headers: { "Accept": "text/html" },
                        credentials: "same-origin" })
      .then(function (response) {
        return response.text().then(function (text) { return [response, text]; });
      })
      .then(function (pair) {
        var response = pair[0];
        var doc = new DOMParser().parseFromString(pair[1], "text/html");
        var fresh = doc.getElementById("results-region");
        var target = region();
        if (!target) { return; }
        if (!fresh) {
          /* An error page (too many requests, server error): say so and keep the old results. */
          target.classList.remove("is-loading");
          var message = doc.querySelector(".error-message");
          if (status) {
            status.textContent = message ? message.textContent : "The search failed (" + response.status + ").";
          }
          return;
        }
        target.replaceWith(fresh);
        document.title = doc.title;
        if (how === "push") { history.pushState({ swapped: true }, "", url); }
        else if (how === "replace") { history.replaceState({ swapped: true }, "", url); }
        lastUrl = url;
        announce(doc);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") { return; }
        var target = region();
        if (target) { target.classList.remove("is-loading"); }
        if (status) { status.textContent = "The search could not be reached."; }
      });
  }

  function onType() {
    var url = formUrl();
    if (url === lastUrl) { return; }
    swap(url, pushedForBurst ? "replace" : "push");
    pushedForBurst = true;
  }

  if (form && input && window.fetch && window.history && window.URLSearchParams) {
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(onType, DEBOUNCE_MS);
    });
    input.addEventListener("blur", function () { pushedForBurst = false; });
    form.addEventListener("submit", function (event) {
      /* Enter: search now, a new history entry, focus stays in the box. */
      event.preventDefault();
      clearTimeout(timer);
      var url = formUrl();
      pushedForBurst = false;
      swap(url, url === lastUrl ? "replace" : "push");
    });
    var sort = document.getElementById("sort");
    var exact = document.getElementById("exact");
    [sort, exact].forEach(function (control) {
      if (control) {
        control.addEventListener("change", function () { pushedForBurst = false; swap(formUrl(), "push"); });
      }
    });
    window.addEventListener("popstate", function () {
      var params = new URLSearchParams(location.search);
      input.value = params.get("q") || "";
      if (sort) { sort.value = params.get("sort") || "relevance"; }
      if (exact) { exact.checked = ["1", "true", "on", "yes"].indexOf((params.get("exact") || "").toLowerCase()) >= 0; }
      pushedForBurst = false;
      swap(location.pathname + location.search, "none");
    });
  }

  /* Facet "Find" boxes: filter the visible list as you type. The list holds the values the
     server sent; Enter submits the small form, which asks the server for all values. */
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-filter-list]")) { return; }
    var list = document.getElementById(box.getAttribute("data-filter-list"));
    if (!list) { return; }
    var needle = box.value.trim().toLowerCase();
    function visit(li) {
      var own = (li.getAttribute("data-label") || "").indexOf(needle) >= 0;
      var childMatch = false;
      var nested = li.querySelectorAll(":scope > details > ul > li");
      for (var i = 0; i < nested.length; i++) { if (visit(nested[i])) { childMatch = true; } }
      var details = li.querySelector(":scope > details");
      if (details && needle && childMatch) { details.open = true; }
      var show = !needle || own || childMatch;
      li.hidden = !show;
      return show;
    }
    var top = list.querySelectorAll(":scope > li");
    for (var i = 0; i < top.length; i++) { visit(top[i]); }
  });
})();
