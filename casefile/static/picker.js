// Searchable pickers (the item page's "Evidence of", the element matrix's "link evidence"). Loaded from 'self' only
// (the CSP forbids inline script); without JavaScript each picker is a plain <select> that a GET search form
// narrows on the server, so the page works the same way, one step slower.
//
// Markup: <div data-picker data-source="URL" data-search-form="ID" data-empty=… data-choose=… data-count=…>
//           <label for="S">…</label><select id="S" name=…>…</select></div>
// The script hides the select (it still carries the value the form posts) and the search form, and puts an ARIA
// combobox in their place (WAI-ARIA 1.2 pattern: role=combobox with aria-expanded, aria-controls and
// aria-activedescendant, and a role=listbox of role=option). Suggestions come as JSON from data-source?q=…
// ({items: [{value, text, group?, snippet?}]}); every text goes into the page as text (textContent), never as HTML,
// and a snippet's found words are wrapped in <mark> elements built here from its character offsets.
"use strict";

(function () {
  let counter = 0;

  // The snippet's text with its highlights ([start, end) in code points) as <mark>, as DOM nodes.
  function snippetNodes(snippet) {
    const chars = Array.from(snippet.text);
    const out = document.createDocumentFragment();
    let at = 0;
    if (snippet.truncated_start) out.append("…");
    for (const [start, end] of snippet.highlights || []) {
      if (start < at || end <= start) continue;
      out.append(chars.slice(at, start).join(""));
      const mark = document.createElement("mark");
      mark.textContent = chars.slice(start, end).join("");
      out.append(mark);
      at = end;
    }
    out.append(chars.slice(at).join(""));
    if (snippet.truncated_end) out.append("…");
    return out;
  }

  function initPicker(root) {
    const select = root.querySelector("select");
    const label = root.querySelector("label");
    const form = root.closest("form");
    if (!select || !form) return;
    counter += 1;
    const id = select.id || `picker-${counter}`;
    const input = document.createElement("input");
    input.type = "text";
    input.id = `${id}-picker`;
    input.className = "picker-input";
    input.autocomplete = "off";
    input.spellcheck = false;
    input.dir = "auto";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", `${id}-listbox`);
    if (root.dataset.placeholder) input.placeholder = root.dataset.placeholder;
    const list = document.createElement("ul");
    list.id = `${id}-listbox`;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    const status = document.createElement("p");
    status.id = `${id}-status`;
    status.className = "hint picker-status";
    status.setAttribute("aria-live", "polite");
    const chosen = document.createElement("p");
    chosen.className = "picker-chosen";
    chosen.dir = "auto";
    chosen.hidden = true;
    input.setAttribute("aria-describedby", status.id);
    if (label) {
      label.htmlFor = input.id;
      list.setAttribute("aria-labelledby", label.id || (label.id = `${id}-label`));
    }
    // Nothing is chosen until the user chooses: the select's first option must not be posted by default.
    const blank = new Option("", "");
    select.prepend(blank);
    select.value = "";
    select.hidden = true;
    select.tabIndex = -1;
    select.after(input, list, chosen, status);
    const searchForm = root.dataset.searchForm && document.getElementById(root.dataset.searchForm);
    if (searchForm) searchForm.hidden = true;

    let items = [];
    let active = -1;
    let asked = 0;
    let timer = 0;

    function open(isOpen) {
      list.hidden = !isOpen;
      input.setAttribute("aria-expanded", String(isOpen));
      if (!isOpen) setActive(-1);
    }

    function setActive(index) {
      const options = list.querySelectorAll("[role=option]");
      options.forEach((el, i) => el.setAttribute("aria-selected", String(i === index)));
      active = index;
      if (index >= 0 && options[index]) {
        input.setAttribute("aria-activedescendant", options[index].id);
        options[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function choose(index) {
      const item = items[index];
      if (!item) return;
      let option = Array.from(select.options).find((o) => o.value === item.value);
      if (!option) {
        option = new Option(item.text, item.value);
        select.append(option);
      }
      select.value = item.value;
      input.value = item.text;
      chosen.textContent = (item.group ? item.group + " · " : "") + item.text;
      chosen.hidden = false;
      root.classList.remove("has-error");
      status.textContent = "";
      open(false);
    }

    function render(found) {
      items = found;
      list.textContent = "";
      found.forEach((item, i) => {
        const li = document.createElement("li");
        li.id = `${id}-option-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.value = item.value;
        if (item.group) {
          const group = document.createElement("span");
          group.className = "picker-group";
          group.textContent = item.group;
          li.append(group);
        }
        const text = document.createElement("span");
        text.className = "picker-text";
        text.dir = "auto";
        text.textContent = item.text;
        li.append(text);
        if (item.snippet && item.snippet.field !== "title" && item.snippet.field !== "ern") {
          const snippet = document.createElement("span");
          snippet.className = "picker-snippet";
          snippet.dir = "auto";
          snippet.append(snippetNodes(item.snippet));
          li.append(snippet);
        }
        // mousedown keeps the focus in the input; the click then chooses.
        li.addEventListener("mousedown", (ev) => ev.preventDefault());
        li.addEventListener("click", () => choose(i));
        list.append(li);
      });
      status.textContent = found.length ? (root.dataset.count || "N").replace("N", String(found.length)) : (root.dataset.empty || "");
      open(found.length > 0);
    }

    async function ask() {
      const mine = ++asked;
      const url = new URL(root.dataset.source, window.location.href);
      url.searchParams.set("q", input.value.trim());
      let body;
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) {
          if (mine === asked) { render([]); }
          return;
        }
        body = await response.json();
      } catch (e) {
        return;
      }
      if (mine === asked) render(body.items || []);
    }

    function askSoon() {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 150);
    }

    input.addEventListener("input", () => {
      // Typing after a choice starts over: nothing is chosen until an option is.
      select.value = "";
      chosen.hidden = true;
      askSoon();
    });
    input.addEventListener("focus", () => { if (!items.length || select.value === "") askSoon(); });
    input.addEventListener("blur", () => { window.setTimeout(() => open(false), 150); });
    input.addEventListener("keydown", (ev) => {
      const count = items.length;
      if (ev.key === "ArrowDown") {
        ev.preventDefault();
        if (list.hidden) { if (count) { open(true); setActive(0); } else { askSoon(); } return; }
        setActive(count ? (active + 1) % count : -1);
      } else if (ev.key === "ArrowUp") {
        ev.preventDefault();
        if (list.hidden && count) open(true);
        setActive(count ? (active - 1 + count) % count : -1);
      } else if (ev.key === "Enter") {
        if (!list.hidden && active >= 0) {
          ev.preventDefault();
          choose(active);
        } else if (select.value === "") {
          ev.preventDefault();
          askSoon();
        }
      } else if (ev.key === "Escape") {
        if (!list.hidden) { ev.preventDefault(); open(false); }
      } else if (ev.key === "Home" && !list.hidden && count) {
        ev.preventDefault();
        setActive(0);
      } else if (ev.key === "End" && !list.hidden && count) {
        ev.preventDefault();
        setActive(count - 1);
      }
    });
    form.addEventListener("submit", (ev) => {
      if (select.value === "") {
        ev.preventDefault();
        root.classList.add("has-error");
        status.textContent = root.dataset.choose || "";
        input.focus();
      }
    });
  }

  function start() {
    document.querySelectorAll("[data-picker]").forEach(initPicker);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
