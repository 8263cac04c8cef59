// Runs the explorer's verifier (cli/explorer/static/verify.js) under Node.js on the cases
// written by tests/cli/test_explorer_js.py and test_explorer_js_u64.py: reads {verifier,
// cases: [{name, genesis, bundle}], genesis_hashes: [text], documents?: [text], formats?:
// {grams: [text], times_ms: [text]}, canonical?: [text]} from the file named by argv[2] and
// prints one JSON result per case (the proven integers exact: the verifier's BigInts are written
// as integer literals).
"use strict";
const fs = require("fs");

// JSON text of a result, its BigInts (the verifier's exact u64 values) as integer literals.
function toJson(value) {
  if (typeof value === "bigint") return value.toString();
  if (Array.isArray(value)) return `[${value.map(toJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const items = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${items.map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const verifier = require(input.verifier);
  const results = {};
  for (const c of input.cases) {
    try {
      const genesis = await verifier.loadGenesis(c.genesis);
      const proven = await verifier.verifyBundleText(c.bundle, genesis);
      results[c.name] = { ok: true, proven };
    } catch (err) {
      results[c.name] = { ok: false, error: err.message, type: err.name };
    }
  }
  const hashes = [];
  for (const text of input.genesis_hashes) hashes.push((await verifier.loadGenesis(text)).hashHex);
  // Optional: documents to parse with the verifier's exact parser, and u64 values (as decimal
  // text) to format as the page shows them.
  const documents = (input.documents || []).map((text) => {
    try {
      return { ok: true, value: verifier.parseJson(text, "the document") };
    } catch (err) {
      return { ok: false, error: err.message, type: err.name };
    }
  });
  const attempt = (f) => { try { return f(); } catch (err) { return `${err.name}: ${err.message}`; } };
  const formats = input.formats && {
    tco2e: input.formats.grams.map((g) => attempt(() => verifier.formatTco2e(BigInt(g)))),
    time: input.formats.times_ms.map((t) => attempt(() => verifier.formatTime(BigInt(t)))),
  };
  // Optional: documents written back as the canonical JSON a genesis hash covers.
  const canonical = (input.canonical || []).map((text) =>
    attempt(() => verifier.canonicalJson(verifier.parseJson(text, "the document"))));
  process.stdout.write(toJson({ results, hashes, documents, formats, canonical }));
}

main().catch((err) => { process.stderr.write(String(err.stack || err)); process.exit(2); });
