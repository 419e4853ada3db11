// The reports page: a report being made shows its state and percentage, read every two seconds
// from its status URL, until it is ready (then its download link appears) or it failed.
// Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";
  var rows = document.querySelectorAll("tr.report-row[data-status-url]");
  if (!rows.length || !window.fetch) {
    return;
  }

  function show(row, data) {
    var label = row.querySelector("[data-role=label]");
    var progress = row.querySelector("[data-role=progress]");
    var percent = row.querySelector("[data-role=percent]");
    var download = row.querySelector("[data-role=download]");
    label.textContent = data.status_label;
    label.className = "status status-" + data.status;
    if (progress) {
      progress.value = data.progress;
      progress.textContent = data.progress + " %";
    }
    if (percent) {
      percent.textContent = data.progress + " %";
    }
    if (data.status === "done" || data.status === "failed") {
      if (progress) { progress.remove(); }
      if (percent) { percent.remove(); }
    }
    if (data.status === "done" && download) {
      download.hidden = false;
    }
    if (data.status === "failed" && data.error) {
      var note = document.createElement("span");
      note.className = "cell-note";
      note.textContent = data.error;
      label.parentNode.appendChild(note);
    }
  }

  function follow(row, delay) {
    window.setTimeout(function () {
      fetch(row.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (data) {
          show(row, data);
          if (data.status === "queued" || data.status === "running") {
            follow(row, 2000);
          }
        })
        .catch(function () {
          follow(row, Math.min(delay * 2, 30000));
        });
    }, delay);
  }

  Array.prototype.forEach.call(rows, function (row) {
    follow(row, 1000);
  });
})();
