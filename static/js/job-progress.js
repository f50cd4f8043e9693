// Live progress of personalization jobs and batches, without reloading the page.
//
// The page is complete without JavaScript; this only refreshes it. An element with
// data-job-progress or data-batch-progress and a data-poll-url (set by the server only while
// the job or batch is unfinished) is polled every second with fetch; each answer updates the
// page in place, and polling stops once the answer says `finished`. Text is set with
// textContent only: nothing from the server is parsed as HTML.
(function () {
  "use strict";

  var INTERVAL_MS = 1000;

  function each(selector, callback) {
    document.querySelectorAll(selector).forEach(callback);
  }

  function setText(selector, text) {
    each(selector, function (element) {
      element.textContent = text;
    });
  }

  function setBadge(selector, value, label) {
    each(selector, function (element) {
      element.className = "badge " + value;
      element.textContent = label;
    });
  }

  function poll(url, update) {
    function tick() {
      fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          if (
            response.status === 403 ||
            response.status === 404 ||
            response.redirected ||
            (response.ok && type.indexOf("application/json") === -1)
          ) {
            return null; // signed out (sent to the login page), refused or gone: stop
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (data === null) {
            return;
          }
          update(data);
          if (!data.finished) {
            window.setTimeout(tick, INTERVAL_MS);
          }
        })
        .catch(function () {
          // A restarting server or a network hiccup: try again.
          window.setTimeout(tick, INTERVAL_MS);
        });
    }
    window.setTimeout(tick, INTERVAL_MS);
  }

  function updateJob(widget, data) {
    widget.dataset.status = data.status;
    setBadge("[data-job-status]", data.status, data.status_label);
    setText("[data-job-count]", data.done + " of " + data.total + " steps");
    setText("[data-job-current]", data.current_step ? "· " + data.current_step : "");
    each("[data-job-bar]", function (bar) {
      bar.max = data.total;
      bar.value = data.done;
      bar.textContent = data.percent + "%";
    });
    each("[data-job-error]", function (element) {
      element.textContent = data.error;
      element.hidden = !data.error;
    });
    each("[data-job-card]", function (element) {
      element.hidden = !data.card;
      if (!data.card) {
        return;
      }
      var link = element.querySelector("[data-job-card-link]");
      link.href = data.card.url;
      link.textContent = data.card.serial;
      element.querySelector("[data-job-card-status]").textContent = data.card.status_label;
    });
    data.steps.forEach(function (step) {
      each('[data-step="' + step.name + '"]', function (element) {
        element.classList.remove("done", "current", "failed", "pending");
        element.classList.add(step.state);
        element.querySelectorAll("[data-step-state]").forEach(function (state) {
          state.textContent = step.state;
        });
        element.querySelectorAll("[data-step-finished]").forEach(function (cell) {
          cell.textContent = step.finished || "—";
        });
        element.querySelectorAll("[data-step-apdus]").forEach(function (cell) {
          cell.textContent = step.apdus === null ? "—" : String(step.apdus);
        });
      });
    });
    // Actions that fit one status only (retry a failed job, cancel a waiting one).
    each("[data-job-when]", function (element) {
      element.hidden = element.dataset.jobWhen.split(" ").indexOf(data.status) === -1;
    });
    // Abandon a running job whose worker has gone silent.
    each("[data-job-when-stalled]", function (element) {
      element.hidden = !data.stalled;
    });
    setText("[data-job-heartbeat]", data.heartbeat || "never");
    setBadge("[data-request-status]", data.request_status, data.request_status_label);
  }

  function updateBatch(data) {
    Object.keys(data.counts).forEach(function (name) {
      setText('[data-batch-count="' + name + '"]', String(data.counts[name]));
    });
    each("[data-batch-bar]", function (bar) {
      bar.max = Math.max(data.counts.total, 1);
      bar.value = data.counts.done;
    });
    data.jobs.forEach(function (job) {
      each('[data-batch-job="' + job.id + '"]', function (row) {
        row.querySelectorAll("[data-job-row-status]").forEach(function (badge) {
          badge.className = "badge " + job.status;
          badge.textContent = job.status_label;
        });
        row.querySelectorAll("[data-job-row-done]").forEach(function (cell) {
          cell.textContent = String(job.done);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var job = document.querySelector("[data-job-progress][data-poll-url]");
    if (job) {
      poll(job.dataset.pollUrl, function (data) {
        updateJob(job, data);
      });
    }
    var batch = document.querySelector("[data-batch-progress][data-poll-url]");
    if (batch) {
      poll(batch.dataset.pollUrl, updateBatch);
    }
  });
})();
