"use strict";
// The genealogy page. Every string from the data reaches the screen through textContent or an
// attribute value, never as markup. Rows are created when their parent is first expanded, so
// a page of many thousand units opens as fast as one of a hundred. The tree is one flat list of
// the rows on show, in display order (the ARIA tree pattern with aria-level): nesting elements
// per level would crash the browser's layout on an assembly thousands of levels deep. A closed
// row's descendants are taken out of the document (kept for reopening): Chromium takes seconds
// to lay out thousands of rows hidden at once, and milliseconds when they are removed.
(() => {
  const byId = (id) => document.getElementById(id);
  const data = JSON.parse(byId("genealogy-data").textContent);
  const units = data.units;
  const count = units.length;
  const LABELS = new Map(data.classes.map((c) => [c.key, c.label]));
  const INITIAL_ROWS = 400; // levels are opened at start while the rows shown stay under this
  const OPEN_ALWAYS = 5000; // rows the start unit and the top rows may add when they open at start
  const MAX_CHIPS = 200;
  const FINDINGS_AT_ONCE = 200; // findings listed at first, and more on each "show more"
  const EMPTY_SERIAL = "(empty serial number)";
  const REVEAL_ALL = 200; // a search with at most this many matches opens the way to each
  const MAX_RUNS = 200; // runs of one unit's history listed in its details, latest first
  const BELOW_KINDS = ["failed", "errored", "missing"]; // what a collapsed row counts below it

  const tree = byId("tree");
  const searchBox = byId("search");
  const searchStatus = byId("search-status");
  const detailsBody = byId("details-body");

  // --- the placed tree ----------------------------------------------------------------------
  const treeParent = new Int32Array(count).fill(-1);
  units.forEach((unit, i) => (unit.kids || []).forEach((kid) => { treeParent[kid] = i; }));
  const preorder = [];
  {
    const stack = data.roots.slice().reverse();
    while (stack.length) {
      const i = stack.pop();
      preorder.push(i);
      const kids = units[i].kids || [];
      for (let k = kids.length - 1; k >= 0; k--) stack.push(kids[k]);
    }
  }
  const treeRank = new Int32Array(count);
  preorder.forEach((i, rank) => { treeRank[i] = rank; });

  const rows = new Array(count); // the placed row (li) of each unit, once created
  const childRowsOf = new Array(count); // the rows under a placed row (kids, then links), once made
  const linkRows = new Map(); // unit -> link rows (li) pointing at it
  const markedWith = new WeakMap(); // row -> the search its texts were marked for

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  const classOf = (unit) => (LABELS.has(unit.class) ? unit.class : "unknown");
  const childRows = (unit) => (unit.kids ? unit.kids.length : 0) + (unit.links ? unit.links.length : 0);

  /** The unit's state as every other format words it (genealogy.nodes.state_text). */
  const badgeText = (unit) => unit.state;

  /** "2 failed · 1 missing": the problems below a unit in the placed tree (page_data's `below`). */
  function belowText(below) {
    if (!below || typeof below !== "object") return "";
    const parts = [];
    for (const kind of BELOW_KINDS) {
      const n = below[kind];
      if (Number.isInteger(n) && n > 0) parts.push(n + " " + kind);
    }
    return parts.join(" \u00b7 ");
  }

  function placedUnder(i) {
    const parent = treeParent[i];
    return parent < 0 ? "shown at the top" : "shown under " + units[parent].serial;
  }

  function makeRow(i, level, isLink, parent, position, siblings) {
    const unit = units[i];
    const indent = " lv-" + Math.min(level - 1, data.indent_levels);
    const li = el("li", "c-" + classOf(unit) + (isLink ? " link" : "") + indent);
    li.setAttribute("role", "treeitem");
    li.setAttribute("aria-level", String(level));
    li.setAttribute("aria-posinset", String(position));
    li.setAttribute("aria-setsize", String(siblings));
    li.dataset.parent = String(parent);
    li.setAttribute("aria-selected", selected.has(i) ? "true" : "false");
    li.tabIndex = -1;
    li.dataset.unit = String(i);
    li.dataset.serial = unit.serial;
    const row = el("div", "row");
    const twisty = el("span", "twisty");
    twisty.setAttribute("aria-hidden", "true");
    row.append(twisty, el("span", "swatch"));
    const serial = el("span", "serial");
    row.append(serial);
    if (unit.start) row.append(el("span", "start-mark", "start"));
    if (unit.diff) { // `genealogy diff`: this unit differs from the reference
      li.classList.add("differs");
      const mark = el("span", "diff-mark", "\u2260");
      mark.title = "Differs from the reference: " + unit.diff;
      row.append(mark);
    }
    const part = el("span", "part");
    row.append(part);
    if (unit.revision) {
      const revision = el("span", "rev", "rev " + unit.revision);
      revision.title = "revision " + unit.revision;
      row.append(revision);
    }
    row.append(el("span", "badge", badgeText(unit)));
    const name = el("span", "name");
    if (unit.part_name) row.append(name);
    if (isLink) row.append(el("span", "more", "\u2197 also listed here; " + placedUnder(i)));
    li.append(row);
    const inside = childRows(unit);
    if (!isLink && inside > 0) {
      markOpen(li, false);
      row.append(el("span", "more kids-count", inside + (inside === 1 ? " part" : " parts")));
      const below = belowText(unit.below);
      if (below) { // shown while the row is closed (page.css hides it on an open row)
        const badge = el("span", "below", below);
        badge.title = "Below this unit: " + below;
        row.append(badge);
      }
    } else {
      li.classList.add("leaf");
    }
    if (!isLink) {
      rows[i] = li;
      if (query && matchSet.has(i)) li.classList.add("match");
    } else {
      if (!linkRows.has(i)) linkRows.set(i, []);
      linkRows.get(i).push(li);
    }
    serial.title = unit.serial;
    part.title = unit.part_number || "";
    name.title = unit.part_name || "";
    if (!unit.serial) serial.classList.add("empty");
    writeRowText(li, i);
    return li;
  }

  /** A row's open state: its aria-expanded and the arrow in front of it. */
  function markOpen(li, open) {
    li.setAttribute("aria-expanded", String(open));
    li.firstChild.firstChild.textContent = open ? "\u25be" : "\u25b8";
  }

  function expand(i) {
    const li = rows[i];
    if (!li || li.getAttribute("aria-expanded") !== "false") return;
    markOpen(li, true);
    if (!childRowsOf[i]) {
      const level = Number(li.getAttribute("aria-level")) + 1;
      const unit = units[i];
      const kids = unit.kids || [];
      const links = unit.links || [];
      const siblings = kids.length + links.length;
      const made = kids.map((kid, k) => makeRow(kid, level, false, i, k + 1, siblings));
      links.forEach((link, k) => made.push(makeRow(link, level, true, i, kids.length + k + 1, siblings)));
      childRowsOf[i] = made;
    }
    const fragment = document.createDocumentFragment();
    for (const row of openRowsBelow(i)) {
      if (markedWith.get(row) !== query && !row.classList.contains("link")) {
        writeRowText(row, Number(row.dataset.unit));
      }
      fragment.append(row);
    }
    li.after(fragment);
  }

  /** The rows below unit i that its open rows show, in display order. */
  function openRowsBelow(i) {
    const shown = [];
    const stack = (childRowsOf[i] || []).slice().reverse();
    while (stack.length) {
      const row = stack.pop();
      shown.push(row);
      if (row.getAttribute("aria-expanded") === "true") {
        const below = childRowsOf[Number(row.dataset.unit)] || [];
        for (let k = below.length - 1; k >= 0; k--) stack.push(below[k]);
      }
    }
    return shown;
  }

  function collapse(i) {
    const li = rows[i];
    if (!li || li.getAttribute("aria-expanded") !== "true") return;
    markOpen(li, false);
    const hadFocus = focused !== null && focused === document.activeElement;
    for (const row of openRowsBelow(i)) row.remove();
    if (focused && !focused.isConnected) choose(li, { focus: hadFocus }); // it was inside
  }

  function toggle(i) {
    if (rows[i] && rows[i].getAttribute("aria-expanded") === "true") collapse(i);
    else expand(i);
  }

  /** The units above unit i in the placed tree: its parent first, its top-level unit last. */
  function ancestors(i) {
    const chain = [];
    for (let p = treeParent[i]; p >= 0 && chain.length < count; p = treeParent[p]) chain.push(p);
    return chain;
  }

  /** The placed row of unit i, with every ancestor expanded. */
  function reveal(i) {
    const chain = ancestors(i);
    for (let k = chain.length - 1; k >= 0; k--) expand(chain[k]);
    return rows[i];
  }

  // --- selection and focus --------------------------------------------------------------------
  let selected = new Set();
  let focused = null; // the row with tabindex 0: keyboard position and details
  let activeFinding = null;

  function markSelected(i, on) {
    const value = on ? "true" : "false";
    if (rows[i]) rows[i].setAttribute("aria-selected", value);
    for (const li of linkRows.get(i) || []) li.setAttribute("aria-selected", value);
  }

  function setSelection(list) {
    for (const i of selected) markSelected(i, false);
    selected = new Set(list);
    for (const i of selected) markSelected(i, true);
  }

  /** Make `li` the current row: selected alone unless `keep`, scrolled to, details shown. */
  function choose(li, { focus = true, keep = false, center = false } = {}) {
    if (!li) return;
    const i = Number(li.dataset.unit);
    if (!keep) {
      setSelection([i]);
      if (activeFinding) pressFinding(null);
    }
    if (focused) focused.tabIndex = -1;
    focused = li;
    li.tabIndex = 0;
    if (focus) li.focus({ preventScroll: true });
    li.firstChild.scrollIntoView({ block: center ? "center" : "nearest" });
    showDetails(i);
  }

  /** Reveal unit i's placed row and make it current. */
  function goToUnit(i, options) {
    choose(reveal(i), { center: true, ...options });
  }

  const visibleNext = (li) => li.nextElementSibling;
  const visiblePrevious = (li) => li.previousElementSibling;

  function parentRow(li) {
    const parent = Number(li.dataset.parent);
    return parent >= 0 ? rows[parent] : null;
  }

  const lastVisible = () => tree.lastElementChild;

  // A click selects a row and opens it; a click on the row already current, or on its arrow,
  // closes it again. A link row stands for a unit placed elsewhere: a click goes there.
  tree.addEventListener("click", (event) => {
    const li = event.target.closest('[role="treeitem"]');
    if (!li) return;
    const i = Number(li.dataset.unit);
    if (li.classList.contains("link")) {
      goToUnit(i);
      return;
    }
    const state = li.getAttribute("aria-expanded");
    const current = li === focused && selected.size === 1 && selected.has(i);
    if (state === "false" || (state === "true" && (current || event.target.closest(".twisty")))) {
      toggle(i);
    }
    choose(li);
  });

  tree.addEventListener("keydown", (event) => {
    const li = event.target.closest('[role="treeitem"]');
    if (!li || event.altKey || event.ctrlKey || event.metaKey) return;
    const i = Number(li.dataset.unit);
    const state = li.getAttribute("aria-expanded");
    switch (event.key) {
      case "ArrowDown":
        choose(visibleNext(li));
        break;
      case "ArrowUp":
        choose(visiblePrevious(li));
        break;
      case "ArrowRight":
        if (state === "false") expand(i);
        else if (state === "true") choose(childRowsOf[i][0]);
        break;
      case "ArrowLeft":
        if (state === "true") collapse(i);
        else choose(parentRow(li));
        break;
      case "Enter":
        if (li.classList.contains("link")) goToUnit(i);
        else toggle(i);
        break;
      case " ":
        choose(li);
        break;
      case "Home":
        choose(tree.firstElementChild);
        break;
      case "End":
        choose(lastVisible());
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // --- details ---------------------------------------------------------------------------------
  function duration(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return null;
    if (seconds < 1) return Math.round(seconds * 1000) + " ms";
    if (seconds < 60) return (Math.round(seconds * 10) / 10) + " s";
    const whole = Math.round(seconds);
    if (whole < 3600) return Math.floor(whole / 60) + " min " + String(whole % 60).padStart(2, "0") + " s";
    return Math.floor(whole / 3600) + " h " + String(Math.floor((whole % 3600) / 60)).padStart(2, "0") + " min";
  }

  function statusText(unit) {
    switch (unit.status) {
      case "ok": return "fetched";
      case "not_found": return "not found: the API has no unit with this serial number";
      case "error": return "could not be fetched";
      case "unexplored": return "not fetched: a crawl limit or an interruption stopped before it";
      default: return String(unit.status);
    }
  }

  function unitButton(i) {
    const button = el("button", "chip", units[i].serial || EMPTY_SERIAL);
    button.type = "button";
    button.dataset.unit = String(i);
    button.addEventListener("click", () => goToUnit(i));
    return button;
  }

  function chipList(list) {
    const box = el("div", "chips");
    for (const i of list.slice(0, MAX_CHIPS)) box.append(unitButton(i));
    if (list.length > MAX_CHIPS) box.append(el("span", "more", "and " + (list.length - MAX_CHIPS) + " more"));
    return box;
  }

  function showDetails(i) {
    const unit = units[i];
    const body = [];
    if (selected.size > 1) {
      const many = el("div", "selected-many");
      many.append(el("p", null, selected.size + " units selected:"));
      many.append(chipList([...selected]));
      body.push(many);
    }
    const list = el("dl");
    const add = (label, value, field) => {
      const term = el("dt", null, label);
      const description = el("dd");
      description.dataset.field = field;
      if (value instanceof Node) description.append(value);
      else description.textContent = value === undefined || value === null || value === "" ? "\u2014" : String(value);
      list.append(term, description);
    };
    add("Serial number", unit.serial || EMPTY_SERIAL, "serial");
    if (unit.diff) add("Differs from " + (data.reference || "the reference"), unit.diff, "diff");
    if (unit.reported_serial) add("Record says", unit.reported_serial, "reported_serial");
    if (unit.warnings) add("Repaired fields", unit.warnings.join("; "), "warnings");
    add("Part number", unit.part_number, "part_number");
    add("Part name", unit.part_name, "part_name");
    add("Revision", unit.revision, "revision");
    add("Batch", unit.batch, "batch");
    add("Sample class", unit.sample, "sample");
    // The unit's present outcome, in its colour (the tree's): its latest run's where the run
    // history or the list endpoint gives it, else its creating run's. Only a per-unit lookup
    // names the creating run: its outcome and details are shown when it is known.
    const history = Array.isArray(unit.runs) ? unit.runs : null;
    const runCount = history ? (Number.isInteger(unit.run_count) ? unit.run_count : history.length) : 0;
    const latest = history !== null || unit.latest_outcome !== undefined;
    const creating = unit.run_id !== undefined;
    const outcome = el("span", "outcome-line c-" + classOf(unit));
    const verdict = unit.status === "ok" ? unit.state : "unknown (" + badgeText(unit) + ")";
    outcome.append(el("span", "swatch"), el("span", null, verdict));
    add(latest ? "Latest outcome" : "Run outcome", outcome, "run_outcome");
    if (history && creating) {
      const created = el("span", "outcome-line c-" + (LABELS.has(unit.run_class) ? unit.run_class : "unknown"));
      created.append(el("span", "swatch"), el("span", null, unit.run_outcome || "unknown"));
      add("Creating run", created, "created_outcome");
    }
    if (creating) add("Procedure", unit.run_procedure, "run_procedure");
    const madeBy = [];
    if (unit.created_by_station) madeBy.push("station " + unit.created_by_station);
    if (unit.created_by_user) madeBy.push("user " + unit.created_by_user);
    add("Station or user", madeBy.join(" \u00b7 "), "made_by");
    if (creating) {
      add("Run started", unit.run_started_at, "run_started_at");
      add("Run duration", duration(unit.run_duration_s), "run_duration");
      add("Run ID", unit.run_id, "run_id");
    }
    add("Unit created", unit.created_at, "created_at");
    add("Children", unit.children_count, "children_count");
    add("Fetch status", statusText(unit), "status");
    if (unit.reason) add("Why", unit.reason, "reason");
    if (unit.lists_itself) add("Its record", "names this unit as its own parent or child", "lists_itself");
    const parents = unit.parents || [];
    if (parents.length > 1) add("Listed by", chipList(parents), "parents");
    if (unit.parent_serial && !parents.some((p) => units[p].serial === unit.parent_serial)) {
      add("Declared parent", unit.parent_serial + " (not in this graph)", "parent_serial");
    }
    add("Path to top", pathToTop(i), "path");
    body.push(list);
    if (history && history.length) body.push(...runHistory(history, runCount));
    const metadata = Object.entries(unit.metadata || {});
    if (metadata.length) {
      body.push(el("h3", null, "Metadata"));
      const extra = el("dl", "metadata");
      for (const [key, value] of metadata) {
        const description = el("dd", null, typeof value === "string" ? value : JSON.stringify(value));
        description.dataset.field = "metadata";
        extra.append(el("dt", "mono", key), description);
      }
      body.push(extra);
    }
    detailsBody.replaceChildren(...body);
  }

  /** The "Run history" section: one line per run, latest first (outcome with its colour,
   *  procedure, start, duration; the run ID as a tooltip). */
  function runHistory(history, total) {
    const heading = "Run history (" + total + (total === 1 ? " run" : " runs") + ", latest first)";
    const list = el("ol", "runs");
    list.dataset.field = "runs";
    for (const run of history.slice(-MAX_RUNS).reverse()) {
      const item = el("li", "run c-" + (LABELS.has(run.class) ? run.class : "unknown"));
      item.append(
        el("span", "swatch"),
        el("span", "run-outcome", run.outcome || "?"),
        el("span", "run-procedure", run.procedure || "\u2014"),
        el("span", "run-started", run.started_at || "\u2014"),
        el("span", "run-duration", duration(run.duration_s) || "\u2014"),
      );
      if (run.id) item.title = "Run ID " + run.id;
      list.append(item);
    }
    const section = [el("h3", null, heading), list];
    const earlier = history.length - Math.min(history.length, MAX_RUNS);
    if (earlier) section.push(el("p", "hint", earlier + " earlier runs not listed"));
    if (total > history.length) section.push(el("p", "hint", (total - history.length) + " runs not in the data"));
    return section;
  }

  function pathToTop(i) {
    const chain = [i, ...ancestors(i)];
    const list = el("ol", "path");
    for (let k = chain.length - 1; k >= 0; k--) {
      const item = el("li");
      item.append(k === 0 ? el("span", "mono", units[chain[k]].serial) : unitButton(chain[k]));
      list.append(item);
    }
    return list;
  }

  // --- search and outcome stepping -----------------------------------------------------------
  const lowered = (key) => units.map((unit) => (unit[key] || "").toLowerCase());
  const serialText = lowered("serial");
  const partText = lowered("part_number");
  const nameText = lowered("part_name");
  let query = ""; // the text search in effect (lower case), for <mark>
  let matches = [];
  let matchSet = new Set();
  let matchAt = -1;
  let matchLabel = "";
  let pending = null;

  function writeMarked(span, text, query) {
    if (!span) return;
    const at = query ? text.toLowerCase().indexOf(query) : -1;
    if (at < 0 || text.toLowerCase().length !== text.length) {
      span.textContent = text;
      return;
    }
    span.replaceChildren(
      text.slice(0, at), el("mark", null, text.slice(at, at + query.length)), text.slice(at + query.length),
    );
  }

  function find(q) {
    const buckets = [[], [], [], [], []];
    for (let i = 0; i < count; i++) {
      if (serialText[i] === q) buckets[0].push(i);
      else if (partText[i] === q) buckets[1].push(i);
      else if (serialText[i].includes(q)) buckets[2].push(i);
      else if (partText[i].includes(q)) buckets[3].push(i);
      else if (nameText[i].includes(q)) buckets[4].push(i);
    }
    return buckets.flatMap((bucket) => bucket.sort((a, b) => treeRank[a] - treeRank[b]));
  }

  function setMatches(list, q, label) {
    const previous = matches;
    for (const i of matchSet) if (rows[i]) rows[i].classList.remove("match");
    query = q;
    matches = list;
    matchSet = new Set(list);
    matchAt = -1;
    matchLabel = label;
    if (q) for (const i of matchSet) if (rows[i]) rows[i].classList.add("match");
    for (const i of previous.concat(list)) {
      const li = rows[i];
      if (li && li.isConnected && markedWith.get(li) !== q) writeRowText(li, i); // others: on return
    }
  }

  /** The row's texts, with the current search marked (link rows are never marked). */
  function writeRowText(li, i) {
    const unit = units[i];
    const marked = li.classList.contains("link") ? "" : query;
    const row = li.firstChild;
    writeMarked(row.querySelector(".serial"), unit.serial || EMPTY_SERIAL, marked);
    writeMarked(row.querySelector(".part"), unit.part_number || "", marked);
    writeMarked(row.querySelector(".name"), unit.part_name || "", marked);
    markedWith.set(li, marked);
  }

  function step(delta) {
    if (!matches.length) return;
    matchAt = (matchAt + delta + matches.length) % matches.length;
    goToUnit(matches[matchAt], { focus: false });
    searchStatus.className = "";
    searchStatus.textContent = (matchAt + 1) + " of " + matches.length + " " + matchLabel;
  }

  function cancelPendingSearch() {
    clearTimeout(pending);
    pending = null;
  }

  function runSearch(backwards = false) {
    cancelPendingSearch();
    const text = searchBox.value.trim();
    const q = text.toLowerCase();
    searchStatus.dataset.query = text; // which search the status is about
    pressLegend(null);
    if (!q) {
      setMatches([], "", "");
      searchStatus.textContent = "";
      return;
    }
    const found = find(q);
    setMatches(found, q, found.length === 1 ? "match" : "matches");
    if (found.length <= REVEAL_ALL) for (const i of found) reveal(i);
    if (found.length) {
      step(backwards ? -1 : 1);
    } else {
      searchStatus.className = "none";
      const shownText = text.length > 40 ? text.slice(0, 39) + "\u2026" : text;
      searchStatus.textContent = "No serial, part number or name contains \u201c" + shownText + "\u201d";
    }
  }

  searchBox.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(runSearch, count > 2000 ? 200 : 80);
  });
  searchBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      const fresh = pending !== null || searchBox.value.trim().toLowerCase() !== query;
      if (fresh) runSearch(event.shiftKey);
      else step(event.shiftKey ? -1 : 1);
    } else if (event.key === "Escape") {
      clearSearch();
    } else if (event.key === "ArrowDown" && focused) {
      event.preventDefault();
      choose(focused);
    }
  });
  byId("search-next").addEventListener("click", () => step(1));
  byId("search-prev").addEventListener("click", () => step(-1));
  /** Escape anywhere: no search, no legend stepping, no finding pressed. */
  function clearSearch() {
    searchBox.value = "";
    runSearch();
    pressFinding(null);
  }

  document.addEventListener("keydown", (event) => {
    const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "/") {
      event.preventDefault();
      searchBox.focus();
      searchBox.select();
    } else if (event.key === "Escape") {
      clearSearch();
    }
  });

  // --- legend ----------------------------------------------------------------------------------
  const legendButtons = [];
  function pressLegend(button) {
    for (const other of legendButtons) other.setAttribute("aria-pressed", String(other === button));
  }
  {
    const legend = byId("legend");
    const tally = new Map();
    for (const unit of units) tally.set(classOf(unit), (tally.get(classOf(unit)) || 0) + 1);
    for (const { key, label } of data.classes) {
      const members = tally.get(key) || 0;
      if (!members) continue;
      const item = el("li", "c-" + key);
      const button = el("button");
      button.type = "button";
      button.dataset.outcome = key;
      button.setAttribute("aria-pressed", "false");
      button.title = "Go to the " + label + " units, one per click (Escape stops)";
      button.append(el("span", "swatch"), el("span", null, label), el("span", "count", members));
      button.addEventListener("click", () => {
        cancelPendingSearch();
        if (button.getAttribute("aria-pressed") === "true") {
          step(1);
          return;
        }
        searchBox.value = "";
        pressLegend(button);
        pressFinding(null);
        const list = preorder.filter((i) => classOf(units[i]) === key);
        setMatches(list, "", label + (list.length === 1 ? " unit" : " units"));
        searchStatus.dataset.query = "";
        step(1);
      });
      legendButtons.push(button);
      item.append(button);
      legend.append(item);
    }
  }

  // --- findings --------------------------------------------------------------------------------
  function pressFinding(button) {
    if (activeFinding) activeFinding.setAttribute("aria-pressed", "false");
    activeFinding = button;
    if (button) button.setAttribute("aria-pressed", "true");
  }

  function findingButton(finding) {
    const button = el("button", "finding");
    button.type = "button";
    button.dataset.code = finding.code;
    button.dataset.severity = finding.severity;
    button.setAttribute("aria-pressed", "false");
    const severity = ["error", "warning", "info"].includes(finding.severity) ? finding.severity : "info";
    button.append(
      el("span", "severity severity-" + severity, finding.severity),
      el("span", "code", finding.code),
      el("span", "message", finding.message),
    );
    button.addEventListener("click", () => {
      const involved = finding.units.filter((i) => Number.isInteger(i) && i >= 0 && i < count);
      clearSearch(); // a finding's units replace any search or legend stepping
      pressFinding(button);
      if (!involved.length) return;
      for (const i of involved) reveal(i);
      setSelection(involved);
      choose(rows[involved[0]], { focus: false, keep: true, center: true });
    });
    return button;
  }

  {
    const list = byId("findings-list");
    const findings = data.findings;
    const bySeverity = { error: 0, warning: 0, info: 0 };
    for (const finding of findings) bySeverity[finding.severity] = (bySeverity[finding.severity] || 0) + 1;
    const counted = ["error", "warning", "info"].filter((s) => bySeverity[s]).map((s) => {
      const plural = s !== "info" && bySeverity[s] !== 1 ? "s" : "";
      return bySeverity[s] + " " + s + plural;
    });
    if (data.reference) { // `genealogy diff`: the differences are the findings
      byId("findings-title").textContent = "Differences from " + data.reference + " (" + findings.length + ")";
      if (!findings.length) list.append(el("li", "hint", "No differences: built like the reference."));
    } else {
      if (counted.length) byId("findings-title").textContent = "Audit findings (" + counted.join(", ") + ")";
      if (!findings.length) list.append(el("li", "hint", "No findings: every check passed."));
    }
    let listed = 0;
    const more = el("button", "more-findings");
    more.type = "button";
    const showMore = () => {
      const next = findings.slice(listed, listed + FINDINGS_AT_ONCE);
      const fragment = document.createDocumentFragment();
      for (const finding of next) {
        const item = el("li");
        item.append(findingButton(finding));
        fragment.append(item);
      }
      list.append(fragment);
      listed += next.length;
      more.textContent = "Show " + Math.min(FINDINGS_AT_ONCE, findings.length - listed) + " more of " +
        (findings.length - listed);
      more.hidden = listed >= findings.length;
    };
    more.addEventListener("click", showMore);
    showMore();
    list.after(more);
  }

  // --- header, toolbar and first view -------------------------------------------------------------
  {
    const tally = (test) => units.reduce((n, unit) => n + (test(unit) ? 1 : 0), 0);
    const failed = tally((u) => u.class === "fail");
    const notFound = tally((u) => u.status === "not_found");
    const missing = tally((u) => u.status !== "ok" && u.status !== "not_found");
    const crawl = data.crawl || {};
    const parts = [
      count + (count === 1 ? " unit" : " units"),
      data.roots.length + " top-level",
      failed + " failed",
    ];
    if (notFound) parts.push(notFound + " not found");
    if (missing) parts.push(missing + " not fetched");
    if (crawl.direction) parts.push("crawled " + crawl.direction);
    byId("crawl-summary").textContent = parts.join(" \u00b7 ");
    const unexplored = tally((u) => u.status === "unexplored");
    const notes = [];
    if (crawl.interrupted) notes.push("the crawl was interrupted");
    if (unexplored) {
      const limits = [];
      if (crawl.max_depth !== null && crawl.max_depth !== undefined) limits.push("max depth " + crawl.max_depth);
      if (crawl.max_units !== null && crawl.max_units !== undefined) limits.push("max units " + crawl.max_units);
      notes.push(unexplored + " referenced units were not fetched" + (limits.length ? " (" + limits.join(", ") + ")" : ""));
    }
    if (notes.length) {
      const banner = byId("incomplete");
      banner.textContent = "Incomplete: " + notes.join("; ") + ".";
      banner.hidden = false;
    }
  }

  byId("expand-all").addEventListener("click", () => {
    for (const i of preorder) if (units[i].kids || units[i].links) expand(i);
  });
  byId("collapse-all").addEventListener("click", () => {
    rows.forEach((li) => { // every row made, also those out of the document now
      if (li.getAttribute("aria-expanded") === "true") markOpen(li, false);
    });
    for (const li of [...tree.children]) if (li.dataset.parent !== "-1") li.remove();
    if (focused && !focused.isConnected) {
      const unit = Number(focused.dataset.unit);
      const above = ancestors(unit);
      choose(rows[above.length ? above[above.length - 1] : unit], { focus: false });
    }
  });

  data.roots.forEach((i, k) => tree.append(makeRow(i, 1, false, -1, k + 1, data.roots.length)));
  if (!count) tree.append(el("li", "hint", "No units."));
  let level = data.roots.slice();
  let shown = level.length;
  while (level.length) {
    const next = level.flatMap((i) => units[i].kids || []);
    const extra = level.reduce((n, i) => n + childRows(units[i]), 0);
    if (shown + extra > INITIAL_ROWS) break;
    for (const i of level) expand(i);
    shown += extra;
    level = next;
  }
  const first = Number.isInteger(data.start) ? data.start : data.roots[0];
  let budget = OPEN_ALWAYS; // a wide assembly still shows its first level, within reason
  for (const i of [first, ...data.roots]) {
    if (i === undefined || childRows(units[i]) > budget) continue;
    budget -= childRows(units[i]);
    reveal(i);
    expand(i);
  }
  if (first !== undefined) goToUnit(first, { focus: false });
})();
