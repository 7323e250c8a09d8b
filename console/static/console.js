// Live updates for the inbox and an open conversation (server-sent events; no inline script: CSP).
(function () {
  "use strict";
  var badge = document.getElementById("unread");
  var live = document.querySelector("[data-live]");
  var url = live ? live.getAttribute("data-live") : "/console/inbox/live";
  if (!window.EventSource) { return; }
  var source = new EventSource(url);
  var first = true;
  source.addEventListener("changed", function (event) {
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { /* keep going */ }
    if (badge && typeof data.unread === "number") { badge.textContent = data.unread ? String(data.unread) : ""; }
    var count = document.getElementById("unread-count");
    if (count && typeof data.unread === "number") { count.textContent = String(data.unread); }
    if (first) { first = false; return; }  // the page was just rendered with this state
    var rows = document.getElementById("inbox-rows");
    if (rows && live.getAttribute("data-rows")) {
      fetch(window.location.pathname + "?deel=rijen&" + window.location.search.replace(/^\?/, ""), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { rows.innerHTML = html; } });
      return;
    }
    var transcript = document.getElementById("gesprek");
    var draft = document.getElementById("reply-text");
    if (transcript && (!draft || !draft.value)) {
      fetch(window.location.pathname, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("gesprek");
          if (fresh) { transcript.innerHTML = fresh.innerHTML; }
        });
    }
  });
})();
