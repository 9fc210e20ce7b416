// The web page end to end in headless Chromium: add, search, edit, a validation error, delete,
// and the write token. Needs BOOKSTORE_URL (a freshly started bookstore-api with an empty database
// and open writes), BOOKSTORE_PROTECTED_URL and BOOKSTORE_WRITE_TOKEN (another, empty, whose
// writes need that token); CHROMIUM (default /usr/bin/chromium); SCREENSHOT_DIR for screenshots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const baseUrl = process.env.BOOKSTORE_URL;
const protectedUrl = process.env.BOOKSTORE_PROTECTED_URL;
const writeToken = process.env.BOOKSTORE_WRITE_TOKEN;
const screenshots = process.env.SCREENSHOT_DIR ?? "screenshots";
let browser;

before(async () => {
  assert.ok(baseUrl, "BOOKSTORE_URL must point at a running bookstore-api");
  assert.ok(protectedUrl && writeToken, "BOOKSTORE_PROTECTED_URL and BOOKSTORE_WRITE_TOKEN must be set");
  mkdirSync(screenshots, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

test("a person adds, finds, edits and deletes a book", async () => {
  const page = await browser.newPage();
  const failedRequests = [];
  page.on("requestfailed", (request) => failedRequests.push(request.url()));
  await page.goto(baseUrl);

  const status = page.locator("#status");
  await assert.doesNotReject(status.filter({ hasText: "No books yet" }).waitFor());

  // Add two books through the labelled form.
  for (const [title, author, price] of [
    ["The Left Hand of Darkness", "Ursula K. Le Guin", "8.99"],
    ["Dune", "Frank Herbert", "12.5"],
  ]) {
    await page.getByLabel("Title", { exact: true }).fill(title);
    await page.getByLabel("Author", { exact: true }).fill(author);
    await page.getByLabel("Price", { exact: true }).fill(price);
    await page.getByRole("button", { name: "Add book" }).click();
    await page.locator("#books tbody tr", { hasText: title }).waitFor();
  }
  const dune = page.locator("#books tbody tr", { hasText: "Dune" });
  assert.equal(await dune.locator("td.price").textContent(), "12.50", "two decimals");
  await page.screenshot({ path: join(screenshots, "bookstore-list.png"), fullPage: true });

  // A search that finds nothing says so (the catalogue is not empty).
  await page.getByLabel("Search title or author").fill("zzz-nothing");
  await page.getByRole("button", { name: "Search" }).click();
  await status.filter({ hasText: "No books match “zzz-nothing”" }).waitFor();
  assert.equal(await page.locator("#books").isHidden(), true);

  // Find it by search.
  await page.getByLabel("Search title or author").fill("left hand");
  await page.getByRole("button", { name: "Search" }).click();
  await status.filter({ hasText: "1 book" }).waitFor();
  const rows = page.locator("#books tbody tr");
  assert.equal(await rows.count(), 1);
  const book = rows.first();
  assert.match(await book.textContent(), /Ursula K\. Le Guin/);

  // Edit its price.
  await page.getByRole("button", { name: "Edit The Left Hand of Darkness" }).click();
  assert.equal(await page.getByLabel("Title", { exact: true }).inputValue(), "The Left Hand of Darkness");
  await page.getByLabel("Price", { exact: true }).fill("10.5");
  await page.getByRole("button", { name: "Save changes" }).click();
  await book.locator("td.price", { hasText: "10.50" }).waitFor();

  // A bad price shows the API's message next to the field, and nothing is saved.
  await page.getByRole("button", { name: "Edit The Left Hand of Darkness" }).click();
  await page.getByLabel("Price", { exact: true }).fill("1.999");
  await page.getByRole("button", { name: "Save changes" }).click();
  const priceError = page.locator("#price-error");
  await priceError.filter({ hasText: "at most 2 decimal places" }).waitFor();
  assert.equal(await page.getByLabel("Price", { exact: true }).getAttribute("aria-invalid"), "true");
  await page.screenshot({ path: join(screenshots, "bookstore-validation-error.png"), fullPage: true });
  assert.equal(await book.locator("td.price").textContent(), "10.50");
  await page.getByRole("button", { name: "Cancel edit" }).click();
  assert.equal(await priceError.textContent(), "");

  // Delete it, confirming the dialog.
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Delete The Left Hand of Darkness" }).click();
  await status.filter({ hasText: "No books match" }).waitFor();
  assert.equal(await rows.count(), 0);
  const response = await page.request.get(new URL("/api/v1/books?q=left", baseUrl).href);
  assert.equal((await response.json()).total, 0, "deleted in the API too");

  // Dismissing the dialog keeps the book.
  await page.getByLabel("Search title or author").fill("");
  await page.getByRole("button", { name: "Search" }).click();
  page.once("dialog", (dialog) => dialog.dismiss());
  await page.getByRole("button", { name: "Delete Dune" }).click();
  await status.filter({ hasText: "1 book" }).waitFor();
  assert.equal(await dune.count(), 1);
  assert.deepEqual(failedRequests, []);
  await page.close();
});

test("the page is usable on a phone-sized screen and by keyboard", async () => {
  const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
  await page.goto(baseUrl);
  await page.locator("#status").filter({ hasText: "book" }).waitFor();
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `no horizontal scrolling (content is ${width}px wide)`);
  // Tab into the form and submit it empty: the errors come back next to the fields.
  await page.getByLabel("Title", { exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.locator("#title-error").filter({ hasText: "must not be empty" }).waitFor();
  assert.equal(await page.locator("#price-error").textContent(), "must be a decimal number in plain notation, such as 12.50 or \"12.50\"");
  await page.screenshot({ path: join(screenshots, "bookstore-phone.png"), fullPage: true });
  await page.close();
});

test("a failing API leaves the page usable with a visible error", async () => {
  const page = await browser.newPage();
  await page.route("**/api/v1/books?**", (route) => route.abort());
  await page.goto(baseUrl);
  await page.locator("#status.failed").filter({ hasText: "Could not load the books" }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Add book" }).isEnabled(), true);
  await page.close();
});

test("writes to a protected catalogue ask for the token, then work with it", async () => {
  const page = await browser.newPage();
  const requests = [];
  page.on("request", (request) => requests.push(request));
  await page.goto(protectedUrl);
  const status = page.locator("#status");
  await status.filter({ hasText: "No books yet" }).waitFor();

  // Without a token: a clear prompt, the form keeps what was typed, reading still works.
  await page.getByLabel("Title", { exact: true }).fill("Beloved");
  await page.getByLabel("Author", { exact: true }).fill("Toni Morrison");
  await page.getByLabel("Price", { exact: true }).fill("9.75");
  await page.getByRole("button", { name: "Add book" }).click();
  const prompt = page.locator("#token-prompt");
  await prompt.filter({ hasText: "enter the write token" }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), "token-input", "the cursor waits in the token field");
  assert.match(await page.locator("#form-error").textContent(), /needs a write token/);
  assert.equal(await page.getByLabel("Title", { exact: true }).inputValue(), "Beloved");
  await page.screenshot({ path: join(screenshots, "bookstore-token-prompt.png"), fullPage: true });

  // A wrong token is refused and forgotten.
  await page.getByLabel("Write token").fill("not-the-right-token-at-all");
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("button", { name: "Add book" }).click();
  await prompt.filter({ hasText: "not accepted" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("bookstore.writeToken")), null);

  // The right one: the book is added, and later writes use it too.
  await page.getByLabel("Write token").fill(writeToken);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.locator("#token-state").filter({ hasText: "Writes use your token." }).waitFor();
  assert.equal(await prompt.isHidden(), true);
  assert.equal(await page.getByLabel("Write token").inputValue(), "", "the field does not keep it");
  await page.getByRole("button", { name: "Add book" }).click();
  const row = page.locator("#books tbody tr", { hasText: "Beloved" });
  await row.waitFor();
  await page.getByRole("button", { name: "Edit Beloved" }).click();
  await page.getByLabel("Price", { exact: true }).fill("11");
  await page.getByRole("button", { name: "Save changes" }).click();
  await row.locator("td.price", { hasText: "11.00" }).waitFor();

  // It stays in this tab's session, never in a URL, and only writes carry it.
  assert.equal(await page.evaluate(() => sessionStorage.getItem("bookstore.writeToken")), writeToken);
  assert.ok(requests.every((r) => !r.url().includes(writeToken)), "the token is never in a URL");
  const carried = requests.filter((r) => r.headers().authorization === `Bearer ${writeToken}`);
  assert.deepEqual([...new Set(carried.map((r) => r.method()))].sort(), ["POST", "PUT"]);
  assert.ok(requests.filter((r) => r.method() === "GET").every((r) => !r.headers().authorization));

  // Forgotten on request: the next write asks again.
  await page.getByRole("button", { name: "Forget token" }).click();
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Delete Beloved" }).click();
  await prompt.filter({ hasText: "enter the write token" }).waitFor();
  await status.filter({ hasText: "Could not delete" }).waitFor();
  assert.equal(await row.count(), 1, "nothing was deleted");
  await page.close();
});

test("pages are walked forward and back, and a search that pages keeps its filter", async () => {
  for (let i = 1; i <= 12; i++) {
    const response = await fetch(new URL("/api/v1/books", baseUrl), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ title: `Paging volume ${String(i).padStart(2, "0")}`, author: "Pager", price: "1.00" }),
    });
    assert.equal(response.status, 201);
  }
  const page = await browser.newPage();
  await page.goto(baseUrl);
  await page.getByLabel("Search title or author").fill("paging volume");
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator("#status").filter({ hasText: "12 books" }).waitFor();
  const rows = page.locator("#books tbody tr");
  const info = page.locator("#page-info");
  await info.filter({ hasText: "Page 1 of 2" }).waitFor();
  assert.equal(await rows.count(), 10);
  assert.equal(await page.locator("#prev").isDisabled(), true);

  await page.locator("#next").click();
  await info.filter({ hasText: "Page 2 of 2" }).waitFor();
  assert.deepEqual(await rows.locator("td:first-child").allTextContents(),
    ["Paging volume 11", "Paging volume 12"]);
  assert.equal(await page.locator("#next").isDisabled(), true);

  await page.locator("#prev").click();
  await info.filter({ hasText: "Page 1 of 2" }).waitFor();
  assert.equal(await rows.first().locator("td").first().textContent(), "Paging volume 01");
  await page.close();
});
