// rookdb Studio's own script: small, no libraries. It only ever sets textContent (never
// innerHTML): document content is data, not markup.
"use strict";

function showError(form, message) {
  const box = form.querySelector("[data-json-error]");
  if (!box) return;
  box.textContent = message;
  box.hidden = !message;
}

// A document's JSON (and a query's parameters) are checked before they are sent.
function checkJson(form, field, what, wantObject) {
  const text = field.value.trim();
  if (!text && !wantObject) return true;
  try {
    const value = JSON.parse(text || "null");
    if (wantObject && (value === null || typeof value !== "object" || Array.isArray(value))) {
      showError(form, what + " must be a JSON object");
      return false;
    }
  } catch (error) {
    showError(form, what + " is not valid JSON: " + error.message);
    return false;
  }
  showError(form, "");
  return true;
}

for (const form of document.querySelectorAll("[data-json-form]")) {
  form.addEventListener("submit", (event) => {
    if (!checkJson(form, form.elements.document, "The document", true)) {
      event.preventDefault();
      form.elements.document.focus();
    }
  });
}

for (const form of document.querySelectorAll("[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

// Deleting a database: the button works once its name is typed (the server checks too).
for (const form of document.querySelectorAll("[data-confirm-name]")) {
  const button = form.querySelector("button");
  const input = form.elements.confirm;
  const update = () => { button.disabled = input.value !== form.dataset.confirmName; };
  input.addEventListener("input", update);
  update();
}

// Queries: the parameters checked, and the last ones remembered in this browser.
const RECENT_MAX = 10;
for (const form of document.querySelectorAll("[data-query-form]")) {
  const key = "rookdb-studio-recent:" + form.dataset.database;
  const list = document.querySelector("[data-recent]");
  const load = () => {
    try { return JSON.parse(window.localStorage.getItem(key) || "[]"); } catch { return []; }
  };
  const show = () => {
    const recent = load();
    if (!list || recent.length === 0) return;
    list.replaceChildren();
    for (const item of recent) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "recent-query";
      button.textContent = item.q + (item.params && item.params !== "{}" ? "  " + item.params : "");
      button.addEventListener("click", () => {
        form.elements.q.value = item.q;
        form.elements.params.value = item.params;
        form.elements.q.focus();
      });
      li.append(button);
      list.append(li);
    }
  };
  form.addEventListener("submit", (event) => {
    if (!checkJson(form, form.elements.params, "The parameters", false)) {
      event.preventDefault();
      return;
    }
    const entry = { q: form.elements.q.value, params: form.elements.params.value.trim() || "{}" };
    const recent = load().filter((r) => r.q !== entry.q || r.params !== entry.params);
    recent.unshift(entry);
    try { window.localStorage.setItem(key, JSON.stringify(recent.slice(0, RECENT_MAX))); } catch { /* full or off */ }
  });
  show();
}
