// Live progress of a job (templates/jobs/macros.html job_progress: the job's page, a dossier being built): polls the job's status JSON while it is queued or
// running. A separate file because the CSP forbids inline script; without JavaScript the page shows the state
// it had when loaded, and reloading it shows the current one.
"use strict";

(function () {
  const box = document.getElementById("job");
  if (!box || box.dataset.finished === "true") return;
  const url = box.dataset.statusUrl;
  const state = document.getElementById("job-state");
  const bar = document.getElementById("job-progress");
  const count = document.getElementById("job-count");
  const percent = document.getElementById("job-percent");
  const message = document.getElementById("job-message");
  const cancelNote = document.getElementById("job-cancel-requested");
  const initialState = state ? state.dataset.state : "";
  const FINISHED = ["succeeded", "failed", "cancelled"];
  const FAST = 1000;
  const SLOW = 15000;
  let delay = FAST;

  function show(job) {
    const progress = job.progress;
    if (progress.total) {
      bar.max = progress.total;
      bar.value = Math.min(progress.done, progress.total);
      count.textContent = progress.done + " / " + progress.total;
      percent.textContent = Math.floor((100 * Math.min(progress.done, progress.total)) / progress.total) + "%";
    } else {
      bar.removeAttribute("value"); // indeterminate until the job knows how much there is to do
      count.textContent = "";
      percent.textContent = "";
    }
    message.textContent = progress.message; // text, never HTML
    if (cancelNote) cancelNote.classList.toggle("hidden", !job.cancel_requested);
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.redirected || response.status === 401 || response.status === 403 || response.status === 404) {
        return; // logged out, or the job is no longer visible: stop asking
      }
      if (response.ok) {
        const job = await response.json();
        if (job.state !== initialState || FINISHED.includes(job.state)) {
          // The page renders each state (its result, its error, the cancel button) itself.
          window.location.reload();
          return;
        }
        show(job);
        delay = FAST;
      } else {
        delay = Math.min(delay * 2, SLOW);
      }
    } catch (error) {
      delay = Math.min(delay * 2, SLOW); // offline or the server restarting: ask again, less often
    }
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
