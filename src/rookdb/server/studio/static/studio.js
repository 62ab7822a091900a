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

const WHY = {
  401: "log in again", 403: "this key may not write here, or the page is stale: reload it",
  413: "the file is over the server's size limit (--max-body-mb)",
};

// Import: the file is the request's body, so that its upload's progress can be shown.
for (const form of document.querySelectorAll("[data-import-form]")) {
  const bar = form.querySelector("progress");
  const result = form.querySelector("[role=status]");
  const button = form.querySelector("button");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = form.elements.file.files[0];
    if (!file) return;
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.url);
    request.setRequestHeader("Content-Type", "application/x-ndjson");
    request.setRequestHeader("X-Studio-Token", form.dataset.token);
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    result.classList.remove("error");
    result.textContent = "Sending " + file.name + "…";
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
      if (e.loaded === e.total) result.textContent = "Checking and storing " + file.name + "…";
    });
    request.addEventListener("loadend", () => {
      button.disabled = false;
      let answer = {};
      try { answer = JSON.parse(request.responseText); } catch { /* not JSON */ }
      if (request.status === 200) {
        bar.value = 100;
        result.textContent = "Imported " + answer.documents + " documents, " +
          answer.revisions + " revisions and " + answer.attachments + " attachments.";
      } else {
        result.classList.add("error");
        result.textContent = "Not imported (" + (request.status || "no answer") + "): " +
          (answer.error || WHY[request.status] || "the server did not say why");
      }
    });
    request.send(file);
  });
}
