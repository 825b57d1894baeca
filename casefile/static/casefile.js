// Casefile's only script. Loaded from 'self' (the CSP forbids inline script); every feature degrades to
// plain HTML forms when JavaScript is off.
"use strict";

function uploadOne(form, file, row, choice) {
  // One request per file, so each file shows its own progress and gets its own result. `choice` answers the
  // question of a file already in the case (on_duplicate), once the uploader has seen the existing item.
  return new Promise((resolve) => {
    const data = new FormData();
    for (const el of form.elements) {
      if (!el.name || el.type === "file" || el.disabled) continue;
      if (choice && el.name === "on_duplicate") continue;
      if (el.type === "checkbox" && !el.checked) continue;
      if (el.tagName === "SELECT" && el.multiple) {
        for (const opt of el.selectedOptions) data.append(el.name, opt.value);
      } else {
        data.append(el.name, el.value);
      }
    }
    if (choice) data.append("on_duplicate", choice);
    data.append("file", file, file.name);
    const bar = row.querySelector("progress");
    const status = row.querySelector(".status");
    status.textContent = "";
    status.classList.remove("ok", "bad");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (ev) => {
      if (ev.lengthComputable) bar.value = Math.round((ev.loaded / ev.total) * 100);
    });
    xhr.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = {}; }
      if ((xhr.status === 201 || xhr.status === 200) && body.items) {
        bar.value = 100;
        status.textContent = "";
        for (const item of body.items) {
          const a = document.createElement("a");
          a.href = item.url;
          a.textContent = item.ern;
          status.appendChild(a);
        }
        status.classList.add("ok");
      } else if (xhr.status === 409 && body.error && body.error.existing) {
        showDuplicate(form, file, row, body.error);
      } else {
        status.textContent = (body.error && body.error.message) || ("HTTP " + xhr.status);
        status.classList.add("bad");
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      status.textContent = form.dataset.networkError || "Network error";
      status.classList.add("bad");
      resolve();
    });
    xhr.send(data);
  });
}

function showDuplicate(form, file, row, error) {
  // The file is already in the case: say which item, and let the uploader choose for this file.
  const status = row.querySelector(".status");
  status.classList.add("bad");
  const message = document.createElement("span");
  message.textContent = error.message + " ";
  const existing = document.createElement("a");
  existing.href = error.existing.url;
  existing.textContent = error.existing.ern;
  status.append(message, existing);
  for (const [choice, label] of [["acquisition", form.dataset.dupAcquisition], ["copy", form.dataset.dupCopy]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.dataset.choice = choice;
    button.textContent = label;
    button.addEventListener("click", () => uploadOne(form, file, row, choice));
    status.append(" ", button);
  }
}

function initUpload(form) {
  const list = document.getElementById("upload-progress");
  const done = document.getElementById("upload-done");
  form.addEventListener("submit", async (ev) => {
    const input = form.querySelector("input[type=file]");
    if (!input || !input.files.length) return; // let the server explain what is missing
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    list.textContent = "";
    const rows = Array.from(input.files).map((file) => {
      const li = document.createElement("li");
      const name = document.createElement("bdi");
      name.textContent = file.name;
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.className = "progress";
      const status = document.createElement("span");
      status.className = "status";
      li.append(name, bar, status);
      list.appendChild(li);
      return [file, li];
    });
    for (const [file, li] of rows) {
      await uploadOne(form, file, li);
    }
    button.disabled = false;
    input.value = "";
    if (done) done.classList.remove("hidden");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-upload]").forEach(initUpload);
  // Graphic previews stay blurred until the viewer chooses to see them.
  document.querySelectorAll("[data-reveal]").forEach((el) => {
    el.addEventListener("click", (ev) => {
      ev.preventDefault();
      const figure = el.closest("figure");
      figure.querySelectorAll("img").forEach((img) => img.classList.remove("graphic-cover"));
      el.closest("figcaption").remove();
    });
  });
  // Long server-side work (building a dossier): show that it is under way.
  document.querySelectorAll("form[data-busy]").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelector("button[type=submit]").disabled = true;
      const busy = form.querySelector(".busy");
      if (busy) busy.classList.remove("hidden");
    });
  });
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (ev) => {
      if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  });
});
