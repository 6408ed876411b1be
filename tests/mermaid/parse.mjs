// Parse Mermaid flowcharts with Mermaid's own parser and print, as JSON, what it understood:
// vertices (id, classes, the label as an HTML label would show it), edges and class definitions.
//
//   node tests/mermaid/parse.mjs < chart.mmd          one chart; exit 1 if Mermaid rejects it
//   node tests/mermaid/parse.mjs --json < charts.json  a JSON list of charts -> a list of results
//
// A rejected chart gives {"error": "..."}. Set up once with: npm ci --prefix tests/mermaid
import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

// Mermaid sanitises labels with DOMPurify, which needs a DOM: jsdom stands in for a browser.
const { window } = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = window;
globalThis.document = window.document;
const { default: mermaid } = await import("mermaid");

// Mermaid's own decodeEntities: entity codes (#quot; #35;) are kept as markers until rendering.
const decodeEntities = (text) =>
  text.replace(/ﬂ°°/g, "&#").replace(/ﬂ°/g, "&").replace(/¶ß/g, ";");

// What an HTML label shows: Mermaid puts the decoded label into the label's innerHTML
// (nonMarkdownToHTML turns a newline and a literal backslash-n into <br />), then swaps
// `fa:fa-name` for an icon.
function shown(text) {
  const html = decodeEntities(text).replace(/\\n|\n/g, "<br />");
  const div = window.document.createElement("div");
  div.innerHTML = html;
  const tags = [...div.querySelectorAll("*")].map((el) => el.tagName.toLowerCase());
  for (const br of div.querySelectorAll("br")) br.replaceWith("\n");
  return { html, text: div.textContent, tags, icon: /(fa[bklrs]?):fa-([\w-]+)/.test(html) };
}

async function parse(source) {
  try {
    await mermaid.parse(source);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(source);
    const db = diagram.db;
    return {
      type: diagram.type,
      direction: db.getDirection(),
      vertices: [...db.getVertices().values()].map((v) => ({
        id: v.id,
        classes: v.classes,
        styles: v.styles,
        labelType: v.labelType,
        label: shown(v.text ?? ""),
      })),
      edges: db.getEdges().map((e) => [e.start, e.end]),
      classDefs: Object.fromEntries([...db.getClasses()].map(([name, c]) => [name, c.styles])),
    };
  } catch (error) {
    return { error: String(error?.message ?? error) };
  }
}

const input = readFileSync(0, "utf8");
if (process.argv.includes("--json")) {
  const results = [];
  for (const source of JSON.parse(input)) results.push(await parse(source));
  process.stdout.write(JSON.stringify(results));
} else {
  const result = await parse(input);
  process.stdout.write(JSON.stringify(result));
  if (result.error) process.exit(1);
}
