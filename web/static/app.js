// Hookwatch dashboard: the only script. Every page works without it; it
// adds copy buttons and an auto-refresh switch. No inline script anywhere
// (the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Copy buttons: <button class="copy" data-copy="text" hidden>.
  function copyButtons(root) { root.querySelectorAll("button.copy[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function (ev) {
      ev.preventDefault();
      navigator.clipboard.writeText(b.dataset.copy).then(function () {
        var t = b.textContent; b.textContent = "copied"; setTimeout(function () { b.textContent = t; }, 1200);
      });
    });
  }); }
  copyButtons(document);
  // Auto-refresh: reload the main part of the page every 10 s while the
  // box is ticked; the choice is remembered per browser.
  var box = document.getElementById("autorefresh");
  if (!box) return;
  box.parentElement.hidden = false;
  box.checked = localStorage.getItem("hw-autorefresh") === "1";
  var timer = null;
  function tick() {
    fetch(location.href, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok || r.redirected) return;
      return r.text().then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        if (fresh) { document.getElementById("main").replaceWith(fresh); copyButtons(fresh); }
      });
    });
  }
  function set() {
    localStorage.setItem("hw-autorefresh", box.checked ? "1" : "0");
    if (timer) { clearInterval(timer); timer = null; }
    if (box.checked) timer = setInterval(tick, 10000);
  }
  box.addEventListener("change", set);
  set();
});
