// grade serve's page script: no framework, nothing loaded from elsewhere.
// - A form marked data-check is sent with fetch; its result replaces the result section (and the
//   header's mastery), with a visible busy state while it is checked (or, for code, run).
//   Without this script the same forms post and the page reloads.
// - Design items: steps move by drag and drop, and by their up and down buttons (keyboard).
// - Every two seconds the page asks whether its files changed (an editor saved answers.yaml or
//   the code file); if so, and nothing typed here is unsaved, it loads again.
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="csrf"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  var dirty = false;

  function send(form) {
    var button = form.querySelector('button[type="submit"]');
    var busy = form.querySelector(".busy");
    var result = document.getElementById("result");
    var standing = document.getElementById("standing");
    button.disabled = true;
    if (busy) busy.hidden = false;
    if (result) result.setAttribute("aria-busy", "true");
    form.classList.add("running");
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (response) {
      return response.json();
    }).then(function (data) {
      if (result && data.result) result.innerHTML = data.result;
      if (standing && data.standing) standing.innerHTML = data.standing;
      if (data.stamp) document.body.setAttribute("data-stamp", data.stamp);
      if (data.status) form.setAttribute("data-status", data.status);
      dirty = false;
    }).catch(function () {
      if (result) result.innerHTML = '<p class="error" role="alert">The page could not reach grade serve: ' +
        "is it still running?</p>";
    }).then(function () {
      button.disabled = false;
      if (busy) busy.hidden = true;
      if (result) result.removeAttribute("aria-busy");
      form.classList.remove("running");
    });
  }

  document.querySelectorAll("form[data-check]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send(form);
    });
    form.addEventListener("input", function () { dirty = true; });
  });

  // -- ordering steps ---------------------------------------------------------------------------
  function announce(list, step) {
    var status = document.getElementById("order-status");
    var position = Array.prototype.indexOf.call(list.children, step) + 1;
    if (status) status.textContent = "Step " + step.getAttribute("data-label") + " is now " + position +
      " of " + list.children.length + ".";
    dirty = true;
  }

  document.querySelectorAll("ol.steps").forEach(function (list) {
    var dragged = null;
    list.addEventListener("click", function (event) {
      var button = event.target.closest("button.up, button.down");
      if (!button) return;
      var step = button.closest("li.step");
      if (button.classList.contains("up") && step.previousElementSibling) {
        list.insertBefore(step, step.previousElementSibling);
      } else if (button.classList.contains("down") && step.nextElementSibling) {
        list.insertBefore(step.nextElementSibling, step);
      } else {
        return;
      }
      button.focus();
      announce(list, step);
    });
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("li.step");
      if (!dragged) return;
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.getAttribute("data-label"));
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      var over = event.target.closest("li.step");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextElementSibling : over);
    });
    list.addEventListener("drop", function (event) {
      if (!dragged) return;
      event.preventDefault();
    });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      announce(list, dragged);
      dragged = null;
    });
  });

  // -- files changed elsewhere ------------------------------------------------------------------
  var stampUrl = document.body.getAttribute("data-stamp-url");
  if (stampUrl && window.fetch) {
    window.setInterval(function () {
      if (dirty || document.querySelector("form.running")) return;
      fetch(stampUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data && data.stamp && data.stamp !== document.body.getAttribute("data-stamp") && !dirty &&
              !document.querySelector("form.running")) {
            window.location.reload();
          }
        })
        .catch(function () { /* the server stopped: keep the page as it is */ });
    }, 2000);
  }
})();
