// Fairway portal live updates: when the ledger records a change this page
// shows, the page's main region is fetched again and swapped in place, so
// a reader sees it without reloading. No text is ever parsed as script:
// the fetched page is parsed as an inert document and its nodes adopted.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main || !main.dataset.live || !window.EventSource) return;
  var subject = main.dataset.subject || "";
  var status = document.getElementById("live-status");
  var timer = null;
  var busy = false;
  var pending = false;

  function say(text, on) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("on", !!on);
  }

  // A reader in the middle of writing a comment keeps it: the page is not
  // swapped under them; they are told and can reload when ready.
  function editing() {
    var fields = main.querySelectorAll("textarea, input[type=text], input[type=search]");
    for (var i = 0; i < fields.length; i++) {
      if (fields[i].value !== fields[i].defaultValue) return true;
    }
    return false;
  }

  function refresh() {
    timer = null;
    if (busy) { pending = true; return; }
    if (editing()) { say("Changed since you opened it: reload to see the changes", false); return; }
    busy = true;
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("main");
        if (!next) return;
        var y = window.scrollY;
        // Copy the list first: adopting a node takes it out of next.
        var nodes = Array.prototype.slice.call(next.childNodes);
        main.replaceChildren.apply(main, nodes.map(function (n) { return document.adoptNode(n); }));
        window.scrollTo(0, y);
        status = document.getElementById("live-status");
        say("Live: updated " + new Date().toLocaleTimeString(), true);
        main.dispatchEvent(new CustomEvent("fairway:updated"));
        recheck();
      })
      .catch(function () { say("Live updates paused: reload the page", false); })
      .finally(function () {
        busy = false;
        if (pending) { pending = false; schedule(); }
      });
  }

  function schedule() {
    if (!timer) timer = setTimeout(refresh, 250);
  }

  // A region the server is still computing (data-recheck) is fetched
  // again shortly, with no event to wait for.
  function recheck() {
    if (main.querySelector("[data-recheck]") && !timer) timer = setTimeout(refresh, 2000);
  }

  recheck();
  var src = new EventSource("/live" + (subject ? "?subject=" + encodeURIComponent(subject) : ""));
  src.addEventListener("open", function () { say("Live", true); });
  src.addEventListener("change", schedule);
  src.addEventListener("error", function () { say("Live updates reconnecting…", false); });
})();
