// Casefile's only script. Loaded from 'self' (the CSP forbids inline script); every feature degrades to
// plain HTML forms when JavaScript is off.
"use strict";

document.documentElement.classList.add("js");

function uploadOne(form, file, row, choice) {
  // One request per file, so each file shows its own progress and gets its own result. `choice` answers the
  // question of a file already in the case (on_duplicate), once the uploader has seen the existing item.
  // Large files go by tus (resumable): a dropped connection resumes where it stopped instead of starting over.
  if (window.tus && window.tus.isSupported && form.dataset.tusEndpoint && file.size >= Number(form.dataset.resumableFrom)) {
    return uploadResumable(form, file, row, choice);
  }
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

// The page's field names as the tus metadata names them.
const TUS_NAMES = { incidents: "incident_ids" };

function tusMetadata(form, file, choice) {
  const metadata = { filename: file.name };
  for (const el of form.elements) {
    if (!el.name || el.type === "file" || el.disabled || el.name === "csrf_token" || !el.value) continue;
    if (choice && el.name === "on_duplicate") continue;
    if (el.type === "checkbox") {
      if (el.checked) metadata[el.name] = "true";
      continue;
    }
    const name = TUS_NAMES[el.name] || el.name;
    metadata[name] = el.tagName === "SELECT" && el.multiple ? Array.from(el.selectedOptions, (o) => o.value).join(",") : el.value;
  }
  if (choice) metadata.on_duplicate = choice;
  return metadata;
}

function uploadResumable(form, file, row, choice) {
  const bar = row.querySelector("progress");
  const status = row.querySelector(".status");
  status.textContent = "";
  status.classList.remove("ok", "bad");
  row.dataset.resumable = "true";
  const fail = (message) => {
    status.textContent = message;
    status.classList.add("bad");
  };
  return new Promise((resolve) => {
    const upload = new window.tus.Upload(file, {
      endpoint: form.dataset.tusEndpoint,
      chunkSize: 8 * 1024 * 1024, // each confirmed chunk is a point to resume from
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      metadata: tusMetadata(form, file, choice),
      headers: { "X-CSRFToken": form.elements.csrf_token.value },
      removeFingerprintOnSuccess: true,
      onProgress: (sent, total) => { bar.value = Math.round((sent / total) * 100); },
      onError: (error) => {
        let message = String(error);
        try { message = JSON.parse(error.originalResponse.getBody()).error.message; } catch (e) { /* keep the text */ }
        fail(message);
        resolve();
      },
      onSuccess: () => { recorded(form, file, row, upload.url).then(resolve); },
    });
    // The same file chosen again after a reload continues its earlier upload.
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

async function recorded(form, file, row, url) {
  // Every byte is in: a job records the file. Wait for its item (or its refusal).
  const status = row.querySelector(".status");
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
    const body = await response.json().catch(() => ({}));
    if (body.state === "done") {
      const a = document.createElement("a");
      a.href = form.dataset.itemUrl.replace("ITEM", body.evidence_id);
      a.textContent = body.ern;
      status.textContent = "";
      status.appendChild(a);
      status.classList.add("ok");
      return;
    }
    if (body.state === "failed" || !response.ok) {
      status.textContent = body.error || ("HTTP " + response.status);
      status.classList.add("bad");
      return;
    }
    await new Promise((done) => window.setTimeout(done, delay));
  }
}

function initDropzone(form) {
  // Files dropped anywhere on the form's drop zone become the file input's selection.
  const zone = form.querySelector("[data-dropzone]");
  const input = form.querySelector("input[type=file]");
  if (!zone || !input) return;
  const count = zone.querySelector(".dropzone-count");
  const show = () => {
    count.textContent = input.files.length ? zone.dataset.chosen.replace("N", String(input.files.length)) : "";
  };
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (ev) => { ev.preventDefault(); zone.classList.add("over"); });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (ev) => {
    ev.preventDefault();
    zone.classList.remove("over");
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      input.files = ev.dataTransfer.files;
      show();
    }
  });
  input.addEventListener("change", show);
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
  // On a phone the header's links fold behind a "Menu" button (CSS shows the button only on narrow screens).
  document.querySelectorAll(".menu-toggle").forEach((button) => {
    button.addEventListener("click", () => {
      const open = button.closest(".topbar").classList.toggle("open");
      button.setAttribute("aria-expanded", String(open));
    });
  });
  document.querySelectorAll("form[data-upload]").forEach((form) => {
    initUpload(form);
    initDropzone(form);
  });
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
