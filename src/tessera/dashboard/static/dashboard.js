/* Tessera dashboard: small progressive enhancements. Pages work without this file; it adds
   copy buttons, the workspace switcher's auto-submit, the key form's role field, and charts. */
(function () {
  "use strict";

  function renderCharts(root) {
    if (typeof window.vegaEmbed !== "function") return;
    root.querySelectorAll("[data-vega-spec]").forEach(function (element) {
      if (element.dataset.rendered) return;
      var source = document.getElementById(element.dataset.vegaSpec);
      if (!source) return;
      element.dataset.rendered = "true";
      window
        .vegaEmbed(element, JSON.parse(source.textContent), {
          actions: false,
          renderer: "svg",
          // Interpret Vega expressions instead of compiling them: no eval, so the page's
          // Content-Security-Policy needs no 'unsafe-eval'.
          ast: true,
        })
        .catch(function (error) {
          element.textContent = "The chart could not be drawn: " + error.message;
        });
    });
  }

  function toggleRole(form) {
    var kind = form.querySelector("select[name=kind]");
    var role = form.querySelector("[data-secret-only]");
    if (!kind || !role) return;
    var isSecret = kind.value === "secret";
    role.hidden = !isSecret;
    role.querySelector("select").disabled = !isSecret;
  }

  function enhance(root) {
    root.querySelectorAll("[data-hide-with-js]").forEach(function (element) {
      element.hidden = true;
    });
    root.querySelectorAll("form").forEach(toggleRole);
    renderCharts(root);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.dataset.copy);
    if (!field) return;
    field.select();
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
    if (event.target.matches("select[name=kind]")) toggleRole(event.target.form);
  });

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (event) { enhance(event.target); });
})();
