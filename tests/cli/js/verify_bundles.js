// Runs the explorer's verifier (cli/explorer/static/verify.js) under Node.js on the cases
// written by tests/cli/test_explorer_js.py: reads {verifier, cases: [{name, genesis, bundle}],
// genesis_hashes: [text]} from the file named by argv[2] and prints one JSON result per case.
"use strict";
const fs = require("fs");

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
  process.stdout.write(JSON.stringify({ results, hashes }));
}

main().catch((err) => { process.stderr.write(String(err.stack || err)); process.exit(2); });
