"use strict";

// The API base URL comes from config.js; empty means the origin that served this page.
const API = (window.BOOKSTORE_API_URL || "").replace(/\/+$/, "");
const PAGE_SIZE = 10;
// Pages are walked with the API's cursor (`after_id`), which costs the same at any depth:
// `cursors` holds the cursor of every page up to the one shown.
const state = { q: "", cursors: [0], nextAfterId: null, total: 0, editing: null };
// The write token lives in this tab's session storage: never in the URL, gone with the tab.
const TOKEN_KEY = "bookstore.writeToken";
const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(code, message, fields) {
    super(message);
    this.code = code;
    this.fields = fields || [];
  }
}

function storedToken() {
  try {
    return window.sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return ""; // Storage disabled: the token is asked for again.
  }
}

function storeToken(token) {
  try {
    if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
    else window.sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: nothing is kept.
  }
  showTokenState();
}

/** Calls the API; resolves to the JSON body (null for 204), rejects with an ApiError. Writes carry
 *  the write token, when one was given. */
async function api(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const token = method === "GET" ? "" : storedToken();
  if (token) init.headers.authorization = "Bearer " + token;
  let response;
  try {
    response = await fetch(API + path, init);
  } catch {
    throw new ApiError("network", "The API cannot be reached. Check the connection and try again.");
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON: fall through to a generic message.
  }
  if (!response.ok) {
    const error = data && data.error;
    if (response.status === 401) {
      askForToken(Boolean(token));
      throw new ApiError("unauthorized", token
        ? "The write token was not accepted: enter a valid one, then try again."
        : "Changing the catalogue needs a write token: enter it, then try again.");
    }
    if (error) throw new ApiError(error.code, error.message, error.fields);
    throw new ApiError("http_" + response.status, `The API answered ${response.status}.`);
  }
  return data;
}

/** A refused write: show why, next to the token field, and put the cursor there. */
function askForToken(rejected) {
  if (rejected) storeToken("");
  const prompt = $("token-prompt");
  prompt.textContent = rejected
    ? "That write token was not accepted. Enter a valid one to add, change or delete books."
    : "This catalogue is protected: enter the write token to add, change or delete books.";
  prompt.hidden = false;
  $("token-input").focus();
}

function showTokenState() {
  const has = storedToken() !== "";
  $("token-state").textContent = has ? "Writes use your token." : "";
  $("token-forget").hidden = !has;
  $("token-save").textContent = has ? "Replace token" : "Use token";
}

function useToken(event) {
  event.preventDefault();
  const token = $("token-input").value.trim();
  if (!token) {
    $("token-input").focus();
    return;
  }
  $("token-input").value = "";
  $("token-prompt").hidden = true;
  storeToken(token);
}

function forgetToken() {
  storeToken("");
  $("token-input").focus();
}

function setStatus(text, failed = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("failed", failed);
}

async function loadBooks() {
  setStatus("Loading…");
  $("books").setAttribute("aria-busy", "true");
  const afterId = state.cursors[state.cursors.length - 1];
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), after_id: String(afterId) });
  if (state.q) params.set("q", state.q);
  try {
    const page = await api("GET", "/api/v1/books?" + params);
    if (page.items.length === 0 && state.cursors.length > 1) {
      // The last page emptied (a delete): show the one before.
      state.cursors.pop();
      return loadBooks();
    }
    state.total = page.total;
    state.nextAfterId = page.next_after_id;
    $("books").querySelector("tbody").replaceChildren(...page.items.map(bookRow));
    $("books").hidden = page.items.length === 0;
    if (page.total === 0) {
      setStatus(state.q ? `No books match “${state.q}”.` : "No books yet: add the first one.");
    } else {
      setStatus(`${page.total} book${page.total === 1 ? "" : "s"}`);
    }
  } catch (error) {
    setStatus("Could not load the books: " + error.message, true);
  } finally {
    $("books").removeAttribute("aria-busy");
    updatePager();
  }
}

function updatePager() {
  const current = state.cursors.length;
  // The total may lag a few seconds behind writes made elsewhere: never show "page 3 of 2".
  const pages = Math.max(current, Math.ceil(state.total / PAGE_SIZE));
  $("page-info").textContent = `Page ${current} of ${pages}`;
  $("prev").disabled = current === 1;
  $("next").disabled = state.nextAfterId === null;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function actionButton(label, name, className, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.className = className;
  button.setAttribute("aria-label", `${label} ${name}`);
  button.addEventListener("click", onClick);
  return button;
}

function bookRow(book) {
  const row = document.createElement("tr");
  row.dataset.id = String(book.id);
  // Prices arrive as exact strings with two decimals ("12.50"): shown as they are.
  row.append(cell(book.title), cell(book.author), cell(book.price, "price"));
  const actions = cell("", "actions");
  actions.append(
    actionButton("Edit", book.title, "secondary", () => startEdit(book)),
    actionButton("Delete", book.title, "danger", () => removeBook(book)),
  );
  row.append(actions);
  return row;
}

function clearErrors() {
  for (const field of ["title", "author", "price"]) {
    $(field + "-error").textContent = "";
    $(field).removeAttribute("aria-invalid");
  }
  $("form-error").textContent = "";
}

function showErrors(error) {
  let placed = false;
  for (const { field, message } of error.fields) {
    const slot = $(field + "-error");
    if (!slot) continue;
    slot.textContent = message;
    $(field).setAttribute("aria-invalid", "true");
    if (!placed) $(field).focus();
    placed = true;
  }
  if (!placed) $("form-error").textContent = error.message;
}

function startEdit(book) {
  state.editing = book.id;
  clearErrors();
  $("title").value = book.title;
  $("author").value = book.author;
  $("price").value = book.price;
  $("form-heading").textContent = `Edit “${book.title}”`;
  $("save").textContent = "Save changes";
  $("cancel").hidden = false;
  $("title").focus();
}

function resetForm() {
  state.editing = null;
  $("book-form").reset();
  clearErrors();
  $("form-heading").textContent = "Add a book";
  $("save").textContent = "Add book";
  $("cancel").hidden = true;
}

async function saveBook(event) {
  event.preventDefault();
  clearErrors();
  const book = {
    title: $("title").value,
    author: $("author").value,
    // Sent as the string typed: the API parses it exactly.
    price: $("price").value.trim(),
  };
  $("save").disabled = true;
  try {
    if (state.editing === null) {
      await api("POST", "/api/v1/books", book);
      setStatus(`Added “${book.title.trim()}”.`);
    } else {
      await api("PUT", `/api/v1/books/${state.editing}`, book);
      setStatus(`Saved “${book.title.trim()}”.`);
    }
    resetForm();
    await loadBooks();
  } catch (error) {
    showErrors(error);
  } finally {
    $("save").disabled = false;
  }
}

async function removeBook(book) {
  if (!window.confirm(`Delete “${book.title}”? This cannot be undone.`)) return;
  let failure = null;
  try {
    await api("DELETE", `/api/v1/books/${book.id}`);
    if (state.editing === book.id) resetForm();
  } catch (error) {
    failure = error;
  }
  // The list is reloaded either way (the book may be gone already); a failure is said last.
  await loadBooks();
  if (failure) setStatus("Could not delete: " + failure.message, true);
}

document.addEventListener("DOMContentLoaded", () => {
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = $("search-input").value.trim();
    state.cursors = [0];
    loadBooks();
  });
  $("prev").addEventListener("click", () => {
    if (state.cursors.length > 1) state.cursors.pop();
    loadBooks();
  });
  $("next").addEventListener("click", () => {
    if (state.nextAfterId === null) return;
    state.cursors.push(state.nextAfterId);
    loadBooks();
  });
  $("book-form").addEventListener("submit", saveBook);
  $("token-form").addEventListener("submit", useToken);
  $("token-forget").addEventListener("click", forgetToken);
  showTokenState();
  $("cancel").addEventListener("click", resetForm);
  loadBooks();
});
