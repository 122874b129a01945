// The clinician viewer in a real browser: playwright-core drives Debian's Chromium (headless) through a user's
// journey (sign in, choose a role profile if asked, find a person by NHS number, open their record), runs axe-core on
// every page it passes through (WCAG 2.2 AA and the levels below it), fails on any console error, script error or
// request the Content-Security-Policy blocked, and saves full-page screenshots of the main pages for the README.
//
// The journey runs three times, each in a fresh browser context: with the pointer (and the screenshots), by keyboard
// alone (Tab, arrow keys, typing and Enter after the first page load), and with JavaScript switched off.
//
// Usage (each option may be given by its environment variable instead):
//   node journey.mjs --base-url http://127.0.0.1:PORT    KMCR_VIEWER_BASE_URL
//                    --username social-worker            KMCR_VIEWER_USERNAME
//                    --password demo-password-change-me  KMCR_VIEWER_PASSWORD
//                    --nhs-number 9995325373             KMCR_VIEWER_NHS_NUMBER (a person the user may see)
//                    [--safeguarding-flag TEXT]          KMCR_VIEWER_SAFEGUARDING_FLAG (a flag the person has)
//                    --record-nhs-numbers A,B,...        people with a repeated test and a document; the GP and the
//                                                        paramedic each take the first they have no relationship with
//                    [--gp-username gp]                  a user who declares a relationship
//                    [--break-glass-username paramedic]  a user who may break glass (B0168), who does
//                    [--ig-username ig-officer]          the IG officer who reviews that use
//                    --screenshots DIR                   KMCR_VIEWER_SCREENSHOTS
//                    [--chromium /usr/bin/chromium]      KMCR_CHROMIUM
//                    [--variants pointer,keyboard,no-script]
// It prints one line per step and exits 1 at the first failure, saying which step, on which page, and why (with a
// screenshot of that page in the screenshots folder, named failure-*.png).
//
// A step is a small async function of the journey's state ({ page, options, variant }). After the first user's part
// (sign in, find, open, safeguarding first), a GP without a relationship is refused, declares one, reads the results
// with their trend chart and a document; a paramedic breaks glass; the IG officer reviews that use.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

import { AxeBuilder } from "@axe-core/playwright";
import { chromium } from "playwright-core";

/** The axe rule tags checked on every page: WCAG 2.0, 2.1 and 2.2, levels A and AA. */
const AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
/** How long one action or wait may take before the step fails, in milliseconds. */
const ACTION_TIMEOUT_MS = 10_000;
/** How many Tab presses the keyboard journey allows to reach one control. */
const MAX_TABS_TO_REACH = 60;
const VIEWPORT = { width: 1280, height: 900 };
/** The whole run's limit: a browser that hangs fails the run instead of holding up the test suite. */
const RUN_TIMEOUT_MS = 180_000;

class JourneyFailure extends Error {}

function fail(message) {
  throw new JourneyFailure(message);
}

// ---------------------------------------------------------------------------------------------------------------
// Options

function readOptions() {
  const { values } = parseArgs({
    options: {
      "base-url": { type: "string" },
      username: { type: "string" },
      password: { type: "string" },
      "nhs-number": { type: "string" },
      "safeguarding-flag": { type: "string" },
      "record-nhs-numbers": { type: "string" },
      "gp-username": { type: "string" },
      "break-glass-username": { type: "string" },
      "ig-username": { type: "string" },
      screenshots: { type: "string" },
      chromium: { type: "string" },
      variants: { type: "string" },
    },
  });
  const option = (name, environment, fallback) => {
    const value = values[name] ?? process.env[environment] ?? fallback;
    if (value === undefined || value === "") {
      fail(`missing --${name} (or ${environment})`);
    }
    return value;
  };
  const nhsNumber = option("nhs-number", "KMCR_VIEWER_NHS_NUMBER").replace(/\s+/g, "");
  if (!/^\d{10}$/.test(nhsNumber)) {
    fail(`--nhs-number must be 10 digits, not ${JSON.stringify(nhsNumber)}`);
  }
  const variants = option("variants", "KMCR_VIEWER_VARIANTS", "pointer,keyboard,no-script").split(",");
  for (const variant of variants) {
    if (!(variant in journeys)) {
      fail(`unknown variant ${JSON.stringify(variant)}: the variants are ${Object.keys(journeys).join(", ")}`);
    }
  }
  return {
    baseUrl: option("base-url", "KMCR_VIEWER_BASE_URL").replace(/\/+$/, ""),
    username: option("username", "KMCR_VIEWER_USERNAME"),
    password: option("password", "KMCR_VIEWER_PASSWORD"),
    nhsNumber,
    safeguardingFlag: values["safeguarding-flag"] ?? process.env.KMCR_VIEWER_SAFEGUARDING_FLAG ?? null,
    recordNhsNumbers: option("record-nhs-numbers", "KMCR_VIEWER_RECORD_NHS_NUMBERS")
      .split(",")
      .map((number) => number.replace(/\s+/g, ""))
      .filter((number) => number !== ""),
    gpUsername: option("gp-username", "KMCR_VIEWER_GP_USERNAME", "gp"),
    breakGlassUsername: option("break-glass-username", "KMCR_VIEWER_BREAK_GLASS_USERNAME", "paramedic"),
    igUsername: option("ig-username", "KMCR_VIEWER_IG_USERNAME", "ig-officer"),
    screenshots: option("screenshots", "KMCR_VIEWER_SCREENSHOTS"),
    chromium: option("chromium", "KMCR_CHROMIUM", "/usr/bin/chromium"),
    variants,
  };
}

/** 9995325373 as the NHS shows it: 999 532 5373. */
function nhsNumberDisplay(digits) {
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Checks on every page

/**
 * Records, for each page, what went wrong outside the steps' own assertions: console errors (where Chromium reports
 * what the Content-Security-Policy refused, a script or a style, and every answer of 400 or more, the page's own or
 * a stylesheet's, script's, image's or favicon's), uncaught script errors, and requests that failed or were blocked.
 */
function watchPage(page) {
  const problems = [];
  page.on("console", (message) => {
    if (message.type() === "error") {
      problems.push(`console error: ${message.text()}${describeLocation(message.location())}`);
    }
  });
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  page.on("requestfailed", (request) => {
    const errorText = request.failure()?.errorText ?? "failed";
    // A navigation that a later one replaced is not a fault of the page.
    if (errorText !== "net::ERR_ABORTED") {
      problems.push(`request failed (${errorText}): ${request.method()} ${request.url()}`);
    }
  });
  page.problems = problems;
  return page;
}

function describeLocation(location) {
  return location?.url ? ` (at ${location.url}:${location.lineNumber})` : "";
}

/**
 * The checks every page passes: no console error, script error or blocked request since the last check, and no axe
 * violation of WCAG 2.2 AA. Fails listing each one. axe is a script: with JavaScript off it cannot run, and the same
 * pages have been checked with it on.
 */
async function checkPage(page, name) {
  await page.waitForLoadState("load");
  const scriptsRun = page.context().kmcrScriptsRun;
  const results = scriptsRun ? await new AxeBuilder({ page }).withTags(AXE_TAGS).analyze() : null;
  const faults = page.problems.splice(0);
  for (const violation of results?.violations ?? []) {
    for (const node of violation.nodes) {
      faults.push(`axe ${violation.id} (${violation.impact}) at ${node.target.join(" ")}: ${violation.help} [${violation.helpUrl}]`);
    }
  }
  if (faults.length > 0) {
    fail(`the ${name} page (${page.url()}) has ${faults.length} problem(s):\n  - ${faults.join("\n  - ")}`);
  }
  return results ? `${results.passes.length} axe rules passed` : "no console errors (axe needs JavaScript)";
}

async function screenshot(state, name) {
  if (state.variant !== "pointer") {
    return;
  }
  await state.page.screenshot({ path: join(state.options.screenshots, `${name}.png`), fullPage: true });
}

// ---------------------------------------------------------------------------------------------------------------
// What the pages must show

function pathOf(page) {
  return new URL(page.url()).pathname;
}

async function expectHeading(page, name) {
  const heading = page.getByRole("heading", { name, exact: true });
  try {
    await heading.first().waitFor({ state: "visible" });
  } catch {
    const headings = await page.getByRole("heading").allInnerTexts().catch(() => []);
    fail(`expected a heading "${name}" on ${page.url()}; the page's headings: ${JSON.stringify(headings)}`);
  }
}

async function isHeadingShown(page, name) {
  return (await page.getByRole("heading", { name, exact: true }).count()) > 0;
}

async function expectVisible(locator, what) {
  try {
    await locator.first().waitFor({ state: "visible" });
  } catch {
    fail(`expected ${what} on ${locator.page().url()}`);
  }
}

/** The error summary's text, if the page shows one (a form sent back with a fault). */
async function errorSummary(page) {
  const summary = page.locator(".nhsuk-error-summary");
  return (await summary.count()) > 0 ? normaliseSpace(await summary.first().innerText()) : null;
}

/** Where a step submitted a form: it must have moved on from `path`, or the error summary says why not. */
async function expectLeft(page, path, what) {
  await page.waitForLoadState("load");
  if (pathOf(page) === path) {
    const summary = await errorSummary(page);
    fail(`${what}: still on ${page.url()}${summary ? `, which says: ${summary}` : ""}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Controls, by pointer or by keyboard alone

const controls = {
  username: (page) => page.getByLabel("Username", { exact: true }),
  password: (page) => page.getByLabel("Password", { exact: true }),
  signIn: (page) => page.getByRole("button", { name: "Sign in", exact: true }),
  firstRole: (page) => page.getByRole("radio").first(),
  continue: (page) => page.getByRole("button", { name: "Continue", exact: true }),
  nhsNumber: (page) => page.getByLabel("NHS number", { exact: true }),
  searchByNhsNumber: (page) => page.getByRole("button", { name: "Search by NHS number", exact: true }),
  firstResult: (page) => page.getByTestId("search-results").getByRole("link").first(),
  signOut: (page) => page.getByRole("button", { name: "Sign out", exact: true }),
  declareLink: (page) => page.getByRole("link", { name: "Declare a legitimate relationship", exact: true }),
  breakGlassLink: (page) => page.getByRole("link", { name: "Emergency access (break glass)", exact: true }),
  reason: (page) => page.getByLabel("Reason", { exact: true }),
  declareButton: (page) => page.getByRole("button", { name: "Declare relationship", exact: true }),
  useEmergencyAccess: (page) => page.getByRole("button", { name: "Use emergency access", exact: true }),
  resultsLink: (page) => page.getByTestId("record-sections").getByRole("link", { name: "Results", exact: true }),
  documentsLink: (page) =>
    page.getByTestId("record-sections").getByRole("link", { name: "Letters and documents", exact: true }),
  firstDocument: (page) => page.getByTestId("documents").getByRole("link").first(),
  timelineLink: (page) => page.getByTestId("record-sections").getByRole("link", { name: "Timeline", exact: true }),
  medicationsLink: (page) =>
    page.getByTestId("record-sections").getByRole("link", { name: "Medication history", exact: true }),
  socialCareLink: (page) => page.getByTestId("record-sections").getByRole("link", { name: "Social care", exact: true }),
  accessLink: (page) => page.getByRole("link", { name: "Who accessed this record", exact: true }).first(),
  objectionsLink: (page) => page.getByRole("link", { name: "Objections", exact: true }).first(),
  findPerson: (page) => page.getByRole("link", { name: "Find a person", exact: true }).first(),
  breakGlassReview: (page) => page.getByRole("link", { name: "Break-glass review", exact: true }).first(),
  recordReview: (page) => page.getByRole("button", { name: "Record review", exact: true }).first(),
};

/** Presses Tab until `locator`'s element has the focus, and checks that the focus can be seen there. */
async function tabTo(page, locator, what) {
  const passed = [];
  for (let nTabs = 1; nTabs <= MAX_TABS_TO_REACH; nTabs += 1) {
    await page.keyboard.press("Tab");
    if (await hasFocus(locator)) {
      await expectFocusVisible(page, what);
      return;
    }
    passed.push(await describeFocused(page));
  }
  fail(`${what} could not be reached with ${MAX_TABS_TO_REACH} presses of Tab on ${page.url()}; focus went to: ${passed.join(", ")}`);
}

async function hasFocus(locator) {
  return (await locator.count()) > 0 && (await locator.first().evaluate((element) => element === document.activeElement));
}

async function describeFocused(page) {
  return page.evaluate(() => {
    const element = document.activeElement;
    if (!element || element === document.body) {
      return "(the page)";
    }
    const text = (element.getAttribute("aria-label") || element.innerText || element.id || "").trim().slice(0, 30);
    return `<${element.tagName.toLowerCase()}${element.type ? ` type=${element.type}` : ""}> ${JSON.stringify(text)}`;
  });
}

/** WCAG 2.4.7: the focused control shows an outline or a box shadow (the NHS.UK focus style uses either). */
async function expectFocusVisible(page, what) {
  const visible = await page.evaluate(() => {
    const style = getComputedStyle(document.activeElement);
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
    return outline || style.boxShadow !== "none";
  });
  if (!visible) {
    fail(`${what} has the focus on ${page.url()} but shows no focus indicator (no outline, no box shadow)`);
  }
}

/** Fills a text field: clicks and types with the pointer, or tabs to it and types with the keyboard. */
async function enterText(state, control, what, text) {
  const locator = controls[control](state.page);
  if (state.variant === "keyboard") {
    await tabTo(state.page, locator, what);
    await state.page.keyboard.type(text);
  } else {
    await expectVisible(locator, what);
    await locator.fill(text);
  }
}

/** Presses a button or follows a link that loads another page (a click, or Tab to it and Enter), and waits for it. */
async function activate(state, control, what) {
  const { page } = state;
  const locator = controls[control](page);
  if (state.variant === "keyboard") {
    await tabTo(page, locator, what);
  } else {
    await expectVisible(locator, what);
  }
  // Set up before the action: Enter, unlike a click, does not wait for the navigation it starts.
  const loaded = page.waitForEvent("load").catch(() => fail(`${what} loaded no page within ${ACTION_TIMEOUT_MS} ms`));
  if (state.variant === "keyboard") {
    await page.keyboard.press("Enter");
  } else {
    await locator.click();
  }
  await loaded;
}

/** Picks the first radio: a click, or Tab into the group and the up arrow until the first is selected. */
async function pickFirstRadio(state, what) {
  const first = controls.firstRole(state.page);
  if (state.variant !== "keyboard") {
    await expectVisible(first, what);
    await first.check();
    return;
  }
  const anyRadio = state.page.getByRole("radio");
  const passed = [];
  for (let nTabs = 1; nTabs <= MAX_TABS_TO_REACH && !(await anyRadioFocused(anyRadio)); nTabs += 1) {
    await state.page.keyboard.press("Tab");
    passed.push(await describeFocused(state.page));
  }
  if (!(await anyRadioFocused(anyRadio))) {
    fail(`no radio could be reached with Tab on ${state.page.url()}; focus went to: ${passed.join(", ")}`);
  }
  for (let nPresses = 0; nPresses < 20 && !(await hasFocus(first)); nPresses += 1) {
    await state.page.keyboard.press("ArrowUp");
  }
  if (!(await hasFocus(first)) || !(await first.isChecked())) {
    fail(`${what}: the arrow keys did not select the first radio on ${state.page.url()}`);
  }
  await expectFocusVisible(state.page, what);
}

async function anyRadioFocused(radios) {
  return radios.evaluateAll((elements) => elements.includes(document.activeElement));
}

// ---------------------------------------------------------------------------------------------------------------
// Steps: each returns a short note for its line, or nothing

async function openViewer(state) {
  const { page, options } = state;
  const response = await page.goto(`${options.baseUrl}/viewer`);
  if (!response) {
    fail(`no answer from ${options.baseUrl}/viewer`);
  }
  if (!pathOf(page).startsWith("/viewer/sign-in")) {
    fail(`GET /viewer (signed out) should redirect to the sign-in page, but it ended at ${page.url()} (HTTP ${response.status()})`);
  }
  await expectVisible(controls.username(page), 'a field labelled "Username"');
  const note = await checkPage(page, "sign-in");
  await screenshot(state, "sign-in");
  return note;
}

async function signIn(state) {
  return signInAs(state, state.options.username);
}

async function signInAs(state, username) {
  const { page, options } = state;
  const signInPath = pathOf(page);
  await enterText(state, "username", 'the "Username" field', username);
  await enterText(state, "password", 'the "Password" field', options.password);
  await activate(state, "signIn", 'the "Sign in" button');
  await expectLeft(page, signInPath, `signing in as ${username}`);
  return `signed in as ${username}, now at ${pathOf(page)}`;
}

async function chooseRoleIfAsked(state) {
  const { page } = state;
  if (!(await isHeadingShown(page, "Choose a role profile"))) {
    return "not asked (one role profile)";
  }
  const note = await checkPage(page, "choose-role");
  await screenshot(state, "choose-role");
  const rolePath = pathOf(page);
  await pickFirstRadio(state, "the first role profile");
  await activate(state, "continue", 'the "Continue" button');
  await expectLeft(page, rolePath, "choosing a role profile");
  return `chose the first role profile; ${note}`;
}

async function searchPage(state) {
  const { page } = state;
  await expectHeading(page, "Find a person");
  const activeRole = page.getByTestId("active-role");
  await expectVisible(activeRole, 'the active role profile ([data-testid="active-role"]) in the header');
  const activeRoleText = (await activeRole.first().innerText()).trim();
  if (activeRoleText === "") {
    fail(`[data-testid="active-role"] is empty on ${page.url()}: the header must show the role profile and organisation`);
  }
  const note = await checkPage(page, "find-a-person");
  return `${JSON.stringify(activeRoleText)}; ${note}`;
}

async function searchByNhsNumber(state) {
  const { page, options } = state;
  await enterText(state, "nhsNumber", 'the "NHS number" field', options.nhsNumber);
  await activate(state, "searchByNhsNumber", 'the "Search by NHS number" button');
  const summary = await errorSummary(page);
  if (summary) {
    fail(`searching for NHS number ${options.nhsNumber} was refused: ${summary}`);
  }
  await expectVisible(controls.firstResult(page), 'a link in the results ([data-testid="search-results"])');
  const nResults = await page.getByTestId("search-results").getByRole("link").count();
  const note = await checkPage(page, "search-results");
  await screenshot(state, "find-a-person");
  return `${nResults} result link(s); ${note}`;
}

async function openFirstResult(state) {
  const { page } = state;
  const resultsPath = pathOf(page);
  await activate(state, "firstResult", "the first result's link");
  await expectLeft(page, resultsPath, "opening the first result");
  return `opened ${pathOf(page)}`;
}

async function personSummary(state) {
  const { page, options } = state;
  const banner = page.getByTestId("person-banner");
  await expectVisible(banner, 'the person banner ([data-testid="person-banner"])');
  const bannerText = normaliseSpace(await banner.first().innerText());
  const shown = nhsNumberDisplay(options.nhsNumber);
  if (!bannerText.includes(shown)) {
    fail(`the person banner should show the NHS number as ${shown}; it reads: ${bannerText.slice(0, 300)}`);
  }
  const safeguarding = page.getByTestId("safeguarding");
  await expectVisible(safeguarding, 'the safeguarding section ([data-testid="safeguarding"])');
  const mainText = normaliseSpace(await page.locator("main").first().innerText());
  const safeguardingText = normaliseSpace(await safeguarding.first().innerText());
  if (!mainText.startsWith(safeguardingText)) {
    const before = mainText.split(safeguardingText)[0];
    fail(`the safeguarding section must come first in <main>, but this comes before it: ${JSON.stringify(before.slice(0, 200))}`);
  }
  if (options.safeguardingFlag !== null) {
    if (!safeguardingText.includes(options.safeguardingFlag)) {
      fail(`the safeguarding section should show the flag "${options.safeguardingFlag}"; it reads: ${safeguardingText.slice(0, 300)}`);
    }
  }
  const note = await checkPage(page, "person-summary");
  await screenshot(state, "person-summary");
  return `banner shows ${shown}, safeguarding first; ${note}`;
}

async function signOut(state) {
  const { page } = state;
  await activate(state, "signOut", 'the "Sign out" button in the header');
  if (!pathOf(page).startsWith("/viewer/sign-in")) {
    fail(`signing out should end at the sign-in page, not ${page.url()}`);
  }
  return "signed out";
}

/**
 * Signs in as `username` and opens the first of the record people whose record that user may not see yet (a
 * relationship declared in an earlier run of the journey lasts: each run takes the next person).
 */
function openUnrelatedPersonAs(usernameOf) {
  return async (state) => {
    const { page, options } = state;
    const username = usernameOf(options);
    await signInAs(state, username);
    await chooseRoleIfAsked(state);
    const tried = [];
    for (const nhsNumber of options.recordNhsNumbers) {
      await expectHeading(page, "Find a person");
      await enterText(state, "nhsNumber", 'the "NHS number" field', nhsNumber);
      await activate(state, "searchByNhsNumber", 'the "Search by NHS number" button');
      await activate(state, "firstResult", "the first result's link");
      if ((await page.getByTestId("no-relationship").count()) > 0) {
        state.recordNhsNumber = nhsNumber;
        return `as ${username}, opened ${nhsNumberDisplay(nhsNumber)} (after ${tried.length} with a relationship)`;
      }
      tried.push(nhsNumber);
      await activate(state, "findPerson", 'the "Find a person" link in the header');
    }
    fail(`${username} already has a relationship with every record person (${tried.join(", ")}): pass more`);
  };
}

/** Without a relationship: the banner, no clinical data, and the ways in. */
async function refusedWithoutRelationship(state) {
  const { page } = state;
  await expectVisible(page.getByTestId("no-relationship"), "the notice that the record cannot be seen yet");
  const bannerText = normaliseSpace(await page.getByTestId("person-banner").first().innerText());
  if (!bannerText.includes(nhsNumberDisplay(state.recordNhsNumber))) {
    fail(`without a relationship the banner should still show the NHS number; it reads: ${bannerText.slice(0, 200)}`);
  }
  if ((await page.getByTestId("safeguarding").count()) > 0) {
    fail("without a relationship no clinical data (not even the flags) may be shown");
  }
  await expectVisible(controls.declareLink(page), 'the link "Declare a legitimate relationship"');
  const note = await checkPage(page, "no-relationship");
  await screenshot(state, "no-relationship");
  return `banner only, with the ways in; ${note}`;
}

/** Follows `link`, gives a reason, presses `button`: the record opens, safeguarding first. */
function declare(link, button, name) {
  return async (state) => {
    const { page } = state;
    await activate(state, link, `the ${name} link`);
    const note = await checkPage(page, name);
    await screenshot(state, name);
    await enterText(state, "reason", 'the "Reason" field', "Seeing this person in clinic today about their care");
    const formPath = pathOf(page);
    await activate(state, button, `the ${name} button`);
    await expectLeft(page, formPath, name);
    await expectVisible(page.getByTestId("safeguarding"), "the record, safeguarding first");
    return `the record opened; ${note}`;
  };
}

async function resultsWithChart(state) {
  const { page } = state;
  await activate(state, "resultsLink", 'the "Results" link');
  await expectHeading(page, "Results");
  const charts = page.getByTestId("trend-chart");
  const nCharts = await charts.count();
  if (nCharts === 0) {
    fail("the person's results should include a trend chart of a repeated test");
  }
  await expectVisible(charts.first().locator('svg[role="img"]'), "a chart drawn as an SVG image with a text alternative");
  const nTables = await page.locator("table").count();
  if (nTables < nCharts) {
    fail(`each chart needs a table beside it for screen readers: ${nCharts} charts, ${nTables} tables`);
  }
  const note = await checkPage(page, "results");
  await screenshot(state, "results");
  return `${nCharts} chart(s), each with its table; ${note}`;
}

async function readDocument(state) {
  const { page } = state;
  await activate(state, "documentsLink", 'the "Letters and documents" link');
  await activate(state, "firstDocument", "the first document's link");
  const article = page.getByTestId("document");
  await expectVisible(article, "the document, read in the page");
  const text = normaliseSpace(await article.first().innerText());
  if (text.length < 40) {
    fail(`the document shows almost nothing: ${JSON.stringify(text)}`);
  }
  const note = await checkPage(page, "document");
  await screenshot(state, "document");
  return `read ${text.length} characters; ${note}`;
}

/** The record's other parts: each opens, with the record's header, and passes the checks. */
async function otherParts(state) {
  const { page } = state;
  const notes = [];
  for (const [control, heading] of [
    ["timelineLink", "Timeline"],
    ["medicationsLink", "Medication history"],
    ["socialCareLink", "Social care"],
  ]) {
    await activate(state, control, `the "${heading}" link`);
    await expectHeading(page, heading);
    await expectVisible(page.getByTestId("safeguarding"), `the safeguarding section on the ${heading} page`);
    notes.push(`${heading}: ${await checkPage(page, heading.toLowerCase())}`);
  }
  return notes.join("; ");
}

/** From the review queue: who accessed the person's record, and their objections. */
async function accessLogAndObjections(state) {
  const { page } = state;
  await activate(state, "accessLink", 'the "Who accessed this record" link');
  await expectHeading(page, "Who accessed this record");
  await expectVisible(page.getByTestId("access-log"), "the table of accesses");
  const nAccesses = await page.getByTestId("access-log").locator("tbody tr").count();
  const accessNote = await checkPage(page, "access-log");
  await screenshot(state, "access-log");
  await activate(state, "objectionsLink", 'the "Objections" link');
  await expectHeading(page, "Objections");
  const objectionsNote = await checkPage(page, "objections");
  return `${nAccesses} accesses listed; ${accessNote}; objections: ${objectionsNote}`;
}

async function reviewBreakGlass(state) {
  const { page } = state;
  await activate(state, "breakGlassReview", 'the "Break-glass review" link in the header');
  await expectHeading(page, "Break-glass review");
  const waiting = await page.getByTestId("break-glass-use").count();
  if (waiting === 0) {
    fail("the break-glass use just made should be waiting for review");
  }
  const note = await checkPage(page, "break-glass-review");
  await screenshot(state, "break-glass-review");
  await activate(state, "recordReview", 'the first "Record review" button (outcome: appropriate)');
  await expectHeading(page, "Break-glass review");
  const after = await page.getByTestId("break-glass-use").count();
  if (after !== waiting - 1) {
    fail(`after the review ${after} uses wait, not ${waiting - 1}`);
  }
  return `${waiting} waiting, one reviewed; ${note}`;
}

function normaliseSpace(text) {
  return text.replace(/\s+/g, " ").trim();
}

// ---------------------------------------------------------------------------------------------------------------
// Journeys: the steps each variant goes through, in order

const signInToRecord = [
  ["open /viewer (signed out)", openViewer],
  ["sign in", signIn],
  ["choose a role profile", chooseRoleIfAsked],
  ["the search page", searchPage],
  ["search by NHS number", searchByNhsNumber],
  ["open the first result", openFirstResult],
  ["the person's summary", personSummary],
];

/** Then: a GP with no relationship is refused, declares one, reads the results and a document; a paramedic breaks
 * glass; the IG officer reviews that use. */
const relationshipBreakGlassAndReview = [
  ["sign out", signOut],
  ["open a person's record as the GP", openUnrelatedPersonAs((options) => options.gpUsername)],
  ["refused without a relationship", refusedWithoutRelationship],
  ["declare a legitimate relationship", declare("declareLink", "declareButton", "declare-relationship")],
  ["results and a trend chart", resultsWithChart],
  ["read a document", readDocument],
  ["the record's other parts", otherParts],
  ["sign out", signOut],
  ["open a person's record as the paramedic", openUnrelatedPersonAs((options) => options.breakGlassUsername)],
  ["break glass", declare("breakGlassLink", "useEmergencyAccess", "break-glass")],
  ["sign out", signOut],
  ["sign in as the IG officer", (state) => signInAs(state, state.options.igUsername)],
  ["review the break-glass use", reviewBreakGlass],
  ["who accessed the record, and objections", accessLogAndObjections],
];

const wholeJourney = [...signInToRecord, ...relationshipBreakGlassAndReview];

const journeys = {
  pointer: { contextOptions: {}, steps: wholeJourney },
  keyboard: { contextOptions: {}, steps: wholeJourney },
  "no-script": { contextOptions: { javaScriptEnabled: false }, steps: wholeJourney },
};

// ---------------------------------------------------------------------------------------------------------------

async function runVariant(browser, options, variant) {
  const { contextOptions, steps } = journeys[variant];
  const context = await browser.newContext({ viewport: VIEWPORT, ...contextOptions });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.kmcrScriptsRun = contextOptions.javaScriptEnabled !== false;
  const page = watchPage(await context.newPage());
  const state = { page, options, variant };
  try {
    for (const [name, step] of steps) {
      const started = Date.now();
      try {
        const note = await step(state);
        console.log(`[${variant}] ok   ${name} (${Date.now() - started} ms)${note ? `: ${note}` : ""}`);
      } catch (error) {
        const failurePath = join(options.screenshots, `failure-${variant}.png`);
        await page.screenshot({ path: failurePath, fullPage: true }).catch(() => {});
        const reason = error instanceof JourneyFailure ? error.message : error.stack;
        throw new JourneyFailure(`[${variant}] FAILED at "${name}" on ${page.url()} (screenshot ${failurePath}):\n${reason}`);
      }
    }
    // Anything that went wrong after the last page's check.
    if (page.problems.length > 0) {
      fail(`[${variant}] after the last step, on ${page.url()}:\n  - ${page.problems.join("\n  - ")}`);
    }
  } finally {
    await context.close();
  }
}

async function main() {
  setTimeout(() => {
    console.error(`the journey did not finish within ${RUN_TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, RUN_TIMEOUT_MS).unref();
  const options = readOptions();
  await mkdir(options.screenshots, { recursive: true });
  const runningAsRoot = typeof process.getuid === "function" && process.getuid() === 0;
  let browser;
  try {
    browser = await chromium.launch({
      executablePath: options.chromium,
      headless: true,
      // Chromium's sandbox refuses to run as root; a test machine's /dev/shm may be small.
      args: [...(runningAsRoot ? ["--no-sandbox"] : []), "--disable-dev-shm-usage"],
    });
  } catch (error) {
    fail(`Chromium did not start from ${options.chromium} (on Debian: apt-get install chromium):\n${error.message}`);
  }
  console.log(`Chromium ${browser.version()} at ${options.chromium}; viewer at ${options.baseUrl}`);
  try {
    for (const variant of options.variants) {
      await runVariant(browser, options, variant);
    }
  } finally {
    await browser.close();
  }
  console.log(`all ${options.variants.length} variant(s) of the journey passed; screenshots in ${options.screenshots}`);
}

main().catch((error) => {
  console.error(error instanceof JourneyFailure ? error.message : error.stack);
  process.exit(1);
});
