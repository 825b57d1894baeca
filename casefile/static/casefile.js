// Casefile's only script. Loaded from 'self' (the CSP forbids inline script); every feature degrades to
// plain HTML forms when JavaScript is off.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Confirmation on buttons that ask for it.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (ev) => {
      if (!window.confirm(el.dataset.confirm)) ev.preventDefault();
    });
  });
});
