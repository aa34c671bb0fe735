// Refreshes the dashboard body while the incident has running or paused waves; stops when none is left.
(function () {
  "use strict";
  var body = document.getElementById("dashboard-body");
  if (!body) { return; }
  var url = body.getAttribute("data-url");
  var seconds = parseInt(body.getAttribute("data-refresh"), 10) || 5;
  var stamp = document.getElementById("dashboard-updated");

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) {
        body.innerHTML = data.html;  // rendered and escaped by the server
        body.setAttribute("data-running", data.running ? "true" : "false");
        if (stamp) { stamp.textContent = new Date(data.generated_at).toLocaleTimeString(); }
        if (data.running) { window.setTimeout(poll, seconds * 1000); }
      })
      .catch(function () { window.setTimeout(poll, seconds * 4000); });  // back off, keep trying
  }

  if (body.getAttribute("data-running") === "true") { window.setTimeout(poll, seconds * 1000); }
})();
