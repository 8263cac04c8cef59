/*
 * The certificate and verify pages: fetch (or read from a dropped file) a proof bundle, check it
 * with verify.js against the genesis this explorer serves, and say what was proven or what
 * failed. The verdict goes to #verification's data-state ("verified" or "refused").
 */
(function () {
  "use strict";

  const section = document.getElementById("verification");
  if (!section) return;
  const verdict = document.getElementById("verdict");
  const proven = document.getElementById("proven");

  // The proven integers are BigInt (exact to 2^64 - 1): verify.js formats them.
  const tco2e = CarbonVerify.formatTco2e;
  const utc = CarbonVerify.formatTime;

  function item(textContent, cls) {
    const li = document.createElement("li");
    li.textContent = textContent;
    if (cls) li.className = cls;
    proven.appendChild(li);
  }

  function show(state, message) {
    section.className = state;
    section.dataset.state = state;
    verdict.textContent = message;
  }

  function showProven(p, source) {
    const c = p.certificate;
    proven.textContent = "";
    show("verified", `✔ Verified in your browser: certificate ${c.certificate_id} is valid.`);
    item(`${c.account} retired ${tco2e(c.amount_grams)} tCO2e of batch ${c.batch_id} ` +
      `(project ${c.project_id}, vintage ${c.vintage})`);
    item(`for ${c.beneficiary}: ${c.reason}`);
    item(`jurisdiction ${c.jurisdiction}` + (c.event ? `, event ${c.event}` : "") +
      (c.period ? `, claim period ${c.period}` : ""));
    const adjustment = c.corresponding_adjustment ? "yes" : "no";
    item(c.use === "compliance_offset"
      ? `use: compliance offset under ${c.scheme} for emitter account ${c.emitter_account}; ` +
        `corresponding adjustment: ${adjustment}`
      : `use: voluntary claim; corresponding adjustment: ${adjustment}`);
    if (c.serial) item(`serial ${c.serial}`);
    item(`at height ${p.height}, ${utc(c.time_ms)}, in block ${p.blockHash}`);
    item(`tx ${c.tx_hash}: validly signed by ${c.account}, included in the block (tx proof), ` +
      "its successful receipt included too (receipt proof)");
    item(`final: signed by ${p.signedPower} of ${p.totalPower} voting power (` +
      `${p.signers.join(", ")}), each Ed25519 signature checked`);
    item(p.setChanges
      ? `by the validator set ${p.validatorsHash.slice(0, 16)}… reached from the genesis set ` +
        `through ${p.setChanges} signed set changes`
      : `by the genesis validator set ${p.validatorsHash.slice(0, 16)}… (no set change before)`);
    item(`trust anchor: genesis ${p.genesisHash}, recomputed by your browser from ${source}`,
      "anchor");
  }

  function showError(err) {
    proven.textContent = "";
    const reason = err && err.name === "BundleError" ? err.message : `unexpected error: ${err}`;
    show("refused", `✘ NOT verified: ${reason}`);
  }

  let genesisPromise = null;
  function genesis() {
    // The genesis is fetched once; its hash is recomputed here, never taken from the server.
    if (!genesisPromise) {
      genesisPromise = fetch(section.dataset.genesis, { cache: "no-store" })
        .then((r) => {
          if (!r.ok) throw new Error(`cannot fetch the genesis (HTTP ${r.status})`);
          return r.text();
        })
        .then(async (text) => {
          const g = await CarbonVerify.loadGenesis(text);
          const shown = document.getElementById("genesis-hash");
          if (shown && shown.dataset.served !== g.hashHex) {
            shown.textContent = `${g.hashHex} (the page said ${shown.dataset.served})`;
          }
          return g;
        });
    }
    return genesisPromise;
  }

  async function check(bundleText, source, expectedId) {
    show("checking", "Verifying…");
    try {
      const g = await genesis();
      const p = await CarbonVerify.verifyBundleText(bundleText, g);
      if (expectedId && p.certificate.certificate_id !== expectedId) {
        throw new CarbonVerify.BundleError(`the bundle proves certificate ` +
          `${p.certificate.certificate_id}, not ${expectedId} shown on this page`);
      }
      showProven(p, source);
    } catch (err) {
      showError(err);
    }
  }

  // The certificate page: its own bundle, fetched from this explorer.
  if (section.dataset.bundle) {
    fetch(section.dataset.bundle, { cache: "no-store" })
      .then((r) => {
        if (!r.ok) throw new CarbonVerify.BundleError(`cannot fetch the bundle (HTTP ${r.status})`);
        return r.text();
      })
      .then((text) => check(text, "/genesis.json", section.dataset.certificate))
      .catch(showError);
  }

  // The verify page: a file dropped or chosen.
  function readFile(file) {
    if (!file) return;
    file.text().then((text) => check(text, "/genesis.json", null), showError);
  }
  const input = document.getElementById("bundle-file");
  if (input) input.addEventListener("change", () => readFile(input.files[0]));
  const zone = document.getElementById("dropzone");
  if (zone) {
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("over");
      readFile(e.dataTransfer.files[0]);
    });
  }
})();
