/*
 * The explorer's certificate verifier: checks a certificate proof bundle (format
 * carbon-ticket/certificate-proof/v2, docs/api.md) against a genesis document, in the browser,
 * with nothing trusted from the server that served the page but that genesis (its hash is shown
 * so that a reader can compare it with the one the bureau publishes).
 *
 * It implements docs/spec.md byte for byte, in the order and with the messages of the Python
 * verifier (cli/verify.py): genesis hash, the chain of validator set changes from the genesis
 * set, header hash, commit certificate (> 2/3 of the power, each Ed25519 signature over the vote
 * sign bytes), the signed transaction that made the certificate (a Retire, the ConfirmPayment of
 * a purchase that retires on delivery, or a Redeem paid in tickets) and its id in tx_root, its
 * receipt in results_root, and every certificate field against the signed transaction, the
 * receipt and the header. Every u64 (grams, heights, times, power) is exact: documents are read
 * by parseJson, integers as BigInt, not by JSON.parse, which rounds them above 2^53.
 * SHA-256 and Ed25519 come from WebCrypto (crypto.subtle), present in Chromium and Node.js 20.
 *
 * Usable as a browser script (window.CarbonVerify) and as a CommonJS module (tests under Node).
 */
(function (root) {
  "use strict";

  const BUNDLE_FORMAT = "carbon-ticket/certificate-proof/v2";
  const enc = new TextEncoder();
  const TAGS = {
    genesis: "carbonticket/genesis/v1\u0000",
    header: "carbonticket/header/v3\u0000",
    valset: "carbonticket/valset/v1\u0000",
    vote: "carbonticket/vote/v1\u0000",
    tx: "carbonticket/tx/v1\u0000",
    receipt: "carbonticket/receipt/v1\u0000",
  };
  const PRECOMMIT = 2;
  const TOP = ["format", "chain_id", "genesis_hash", "validators", "set_changes", "certificate",
    "tx", "receipt", "header", "commit"];
  const CHANGE = ["header", "commit", "validators"];
  const CERTIFICATE = ["certificate_id", "batch_id", "project_id", "vintage", "amount_grams",
    "beneficiary", "reason", "jurisdiction", "event", "account", "period", "height", "time_ms",
    "tx_hash"];
  const HEADER_HASHES = ["prev_hash", "tx_root", "results_root", "envelopes_root", "app_hash",
    "proposer", "validators_hash", "next_validators_hash"];
  // TxBody's oneof msg, by field number (proto/carbonticket/v1/ledger.proto).
  const MESSAGES = {
    10: "register_account", 11: "register_project", 12: "anchor_data", 13: "attest_report",
    14: "issue_batch", 15: "transfer", 16: "retire", 17: "cancel", 18: "reversal",
    19: "grant_role", 20: "revoke_role", 21: "report_evidence", 22: "appoint_issuer",
    23: "award_points", 24: "exchange_points", 25: "register_offer", 26: "redeem",
    27: "submit_proposal", 28: "cast_vote", 29: "sell", 30: "buy", 31: "confirm_payment",
    32: "cancel_order", 33: "export", 34: "import_batch",
  };
  // The transactions whose success makes a retirement certificate (chain/ record_retirement).
  const CERTIFYING = ["retire", "confirm_payment", "redeem"];
  // chain/rules/merchants.py REDEMPTION_REASON.
  const REDEMPTION_REASON = "merchant redemption";
  // Retire.use (proto RetirementUse); 0 reads as voluntary.
  const USES = ["voluntary", "voluntary", "compliance_offset"];

  class BundleError extends Error {
    constructor(message) {
      super(message);
      this.name = "BundleError";
    }
  }

  function subtle() {
    const c = root.crypto || (typeof globalThis !== "undefined" ? globalThis.crypto : undefined);
    if (!c || !c.subtle) {
      // Browsers give crypto.subtle only to secure contexts (HTTPS or localhost).
      throw new BundleError("this browser offers no WebCrypto here (serve the explorer over " +
        "HTTPS or from localhost): nothing was verified");
    }
    return c.subtle;
  }

  // ------------------------------------------------------------ bytes

  function concat(parts) {
    let size = 0;
    for (const p of parts) size += p.length;
    const out = new Uint8Array(size);
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function uint(value, width) {
    // Big-endian, `width` bytes, of a Number (a count or length) or a BigInt (a u64 field).
    const out = new Uint8Array(width);
    let v = BigInt(value);
    for (let i = width - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
    return out;
  }

  function text(value) { return enc.encode(value); }

  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  async function sha256(bytes) {
    return new Uint8Array(await subtle().digest("SHA-256", bytes));
  }

  async function ed25519Verify(publicKey, message, signature) {
    let key;
    try {
      key = await subtle().importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    } catch (err) {
      if (err && err.name === "NotSupportedError") {
        throw new BundleError("this browser's WebCrypto has no Ed25519: nothing was verified");
      }
      return false; // not a valid Ed25519 public key
    }
    return subtle().verify({ name: "Ed25519" }, key, signature, message);
  }

  // ------------------------------------------------------------ exact JSON parsing

  // JSON.parse reads every number as a double, exact only up to 2^53: a bundle's u64 fields
  // (grams, heights, times, voting power) go up to 2^64 - 1, and a rounded one would rebuild
  // other bytes than were signed, or show another amount. So documents are parsed here with every
  // integer literal (no fraction, no exponent) as a BigInt. Other numbers stay Numbers and are
  // refused where an integer is due, as Python's json reads them as floats (cli/verify.py).
  const MAX_DEPTH = 512;
  const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
  const LONE_SURROGATE = /\p{Surrogate}/u;

  /** Parse JSON text as JSON.parse does, but integers as BigInt; BundleError naming `what`. */
  function parseJson(source, what) {
    let at = 0;
    const fail = (reason) => {
      throw new BundleError(`${what} is not JSON: ${reason} at position ${at}`);
    };
    const space = () => { while (at < source.length && " \t\n\r".includes(source[at])) at++; };
    const expect = (c) => { if (source[at] !== c) fail(`expected '${c}'`); at++; };

    function string() {
      // Find the closing quote (one not escaped), then let JSON.parse decode the escapes.
      let end = at;
      for (;;) {
        end = source.indexOf('"', end + 1);
        if (end < 0) fail("unterminated string");
        let slashes = 0;
        while (source[end - 1 - slashes] === "\\") slashes++;
        if (slashes % 2 === 0) break;
      }
      let value;
      try {
        value = JSON.parse(source.slice(at, end + 1));
      } catch {
        fail("bad string");
      }
      // Python refuses these too: valid escapes, but no text (they cannot be encoded as UTF-8).
      if (LONE_SURROGATE.test(value)) fail("text that is not valid Unicode (a lone surrogate)");
      at = end + 1;
      return value;
    }

    function number() {
      NUMBER.lastIndex = at;
      const m = NUMBER.exec(source);
      if (!m) fail("bad number");
      at = NUMBER.lastIndex;
      return m[1] === undefined && m[2] === undefined ? BigInt(m[0]) : Number(m[0]);
    }

    function word(w, value) {
      if (source.startsWith(w, at)) { at += w.length; return value; }
      return fail("unexpected character");
    }

    function value(depth) {
      if (depth > MAX_DEPTH) fail("nested too deeply");
      space();
      const c = source[at];
      if (c === "{") return members(depth);
      if (c === "[") return items(depth);
      if (c === '"') return string();
      if (c === "-" || (c >= "0" && c <= "9")) return number();
      if (c === "t") return word("true", true);
      if (c === "f") return word("false", false);
      if (c === "n") return word("null", null);
      return fail(c === undefined ? "unexpected end" : "unexpected character");
    }

    function members(depth) {
      const out = {};
      at++;
      space();
      if (source[at] === "}") { at++; return out; }
      for (;;) {
        space();
        if (source[at] !== '"') fail("expected a string key");
        const key = string();
        space();
        expect(":");
        // An own property even for "__proto__", as JSON.parse makes it.
        Object.defineProperty(out, key, { value: value(depth + 1), writable: true,
          enumerable: true, configurable: true });
        space();
        if (source[at] === "}") { at++; return out; }
        expect(",");
      }
    }

    function items(depth) {
      const out = [];
      at++;
      space();
      if (source[at] === "]") { at++; return out; }
      for (;;) {
        out.push(value(depth + 1));
        space();
        if (source[at] === "]") { at++; return out; }
        expect(",");
      }
    }

    const doc = value(0);
    space();
    if (at < source.length) fail("unexpected text after the document");
    return doc;
  }

  // ------------------------------------------------------------ texts in a refusal

  // Invisible or terminal-steering characters, escaped as \uXXXX beside JSON's own escapes:
  // exactly cli/verify.py's _HIDDEN (a listed range, as the two runtimes know different Unicode
  // versions). Each is one UTF-16 code unit, so the replacement below sees whole characters.
  const HIDDEN = /[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;

  /** A text from a document in a refusal, exactly as cli/verify.py's quoted writes it. */
  function quoted(text) {
    return JSON.stringify(text).replace(HIDDEN,
      (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
  }

  /** A value of a bundle in a refusal, as cli/verify.py's _shown writes it. */
  function shown(value) {
    if (typeof value === "string") return quoted(value);
    if (typeof value === "bigint" || typeof value === "boolean" || value === null) return String(value);
    if (typeof value === "number") return "a number with a fraction or exponent";
    return Array.isArray(value) ? "a list" : "an object";
  }

  // ------------------------------------------------------------ strict JSON reading

  // Python sorts keys by code point (canonical JSON, the first unknown field named).
  // JavaScript's default sort compares UTF-16 code units, which order a character above U+FFFF
  // (a surrogate pair, D800-DFFF) before one in U+E000..U+FFFF: the other way round.
  function byCodePoint(a, b) {
    for (let i = 0; i < a.length && i < b.length; ) {
      const x = a.codePointAt(i);
      const y = b.codePointAt(i);
      if (x !== y) return x - y;
      i += x > 0xffff ? 2 : 1; // equal so far: the same number of code units in both
    }
    return a.length - b.length;
  }

  function object(value, what, keys, optional) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new BundleError(`${what} must be a JSON object`);
    }
    const allowed = new Set([...keys, ...(optional || [])]);
    const unknown = Object.keys(value).filter((k) => !allowed.has(k)).sort(byCodePoint);
    if (unknown.length) throw new BundleError(`${what} has unknown field ${quoted(unknown[0])}`);
    const missing = keys.filter((k) => !(k in value)).sort(byCodePoint);
    if (missing.length) throw new BundleError(`${what} lacks field ${quoted(missing[0])}`);
    return value;
  }

  const U32 = 1n << 32n;
  const U64 = 1n << 64n;

  function int(value, what, limitBits) {
    // An integer literal (parseJson's BigInt), of 32 bits (an index or count: returned as a
    // Number) or 64 (returned as a BigInt, exact); 1.5, 1e3, -1 and true are refused as Python
    // refuses them, with its message.
    const limit = limitBits === 32 ? U32 : U64;
    if (typeof value !== "bigint" || value < 0n || value >= limit) {
      throw new BundleError(`${what} must be an integer from 0 to ${limit - 1n}`);
    }
    return limitBits === 32 ? Number(value) : value;
  }

  function str(value, what) {
    if (typeof value !== "string") throw new BundleError(`${what} must be a string`);
    return value;
  }

  function hex(value, what, size) {
    const s = str(value, what);
    if (s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) throw new BundleError(`${what} is not hex`);
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
    if (size !== null && size !== undefined && out.length !== size) {
      throw new BundleError(`${what} must be ${size} bytes, got ${out.length}`);
    }
    return out;
  }

  function list(value, what) {
    if (!Array.isArray(value)) throw new BundleError(`${what} must be a JSON list`);
    return value;
  }

  function path(value, what) {
    return list(value, what).map((v, i) => hex(v, `${what}[${i}]`, 32));
  }

  function base64(value, what) {
    const s = str(value, what);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4) {
      throw new BundleError(`${what} is not base64`);
    }
    const bin = atob(s);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  // ------------------------------------------------------------ the genesis (trust anchor)

  function canonicalJson(value) {
    // Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False).
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    if (value !== null && typeof value === "object") {
      const keys = Object.keys(value).sort(byCodePoint);
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
    }
    if (typeof value === "bigint") return value.toString();
    return JSON.stringify(value);
  }

  /** The trusted genesis: its hash (the page shows it), chain id and validator set. */
  async function loadGenesis(genesisText) {
    const doc = parseJson(genesisText, "the genesis file");
    // The served genesis is Genesis.to_json(): its canonical form is what Genesis.hash() covers.
    const hash = await sha256(concat([text(TAGS.genesis), text(canonicalJson(doc))]));
    const g = object(doc, "genesis", ["chain_id", "genesis_time_ms", "validators"],
      ["accounts", "params"]);
    const validators = list(g.validators, "genesis validators").map((v, i) => {
      const item = object(v, `genesis validator ${i}`, ["name", "public_key", "network_address"],
        ["power", "operator"]);
      return {
        name: str(item.name, `genesis validator ${i} name`),
        publicKey: hex(item.public_key, `genesis validator ${i} public_key`, 32),
        power: "power" in item ? int(item.power, `genesis validator ${i} power`) : 1n,
      };
    });
    return { hash, hashHex: toHex(hash), chainId: str(g.chain_id, "genesis chain_id"),
      validators: await validatorSet(validators, "genesis validators") };
  }

  // ------------------------------------------------------------ validator sets

  async function validatorSet(validators, what) {
    if (!validators.length) throw new BundleError(`${what}: validator set is empty`);
    const seen = new Set();
    validators.forEach((v, i) => {
      if (v.power <= 0n) {
        throw new BundleError(`${what}: validator ${i} ('${v.name}') has power ${v.power}`);
      }
      const k = toHex(v.publicKey);
      if (seen.has(k)) throw new BundleError(`${what}: validator ${i} ('${v.name}') duplicates a key`);
      seen.add(k);
    });
    const parts = [text(TAGS.valset), uint(validators.length, 4)];
    for (const v of validators) {
      const name = text(v.name);
      parts.push(uint(name.length, 2), name, v.publicKey, uint(v.power, 8));
    }
    const total = validators.reduce((s, v) => s + v.power, 0n);
    return { validators, hash: await sha256(concat(parts)), total, quorum: (total * 2n) / 3n + 1n };
  }

  async function listedSet(value, what) {
    const listed = list(value, what).map((item, i) => {
      const v = object(item, `${what}[${i}]`, ["name", "public_key", "power"]);
      return {
        name: str(v.name, `${what}[${i}] name`),
        publicKey: hex(v.public_key, `${what}[${i}] public_key`, 32),
        power: int(v.power, `${what}[${i}] power`),
      };
    });
    return validatorSet(listed, what);
  }

  function sameSet(a, b) {
    return a.validators.length === b.validators.length && a.validators.every((v, i) =>
      v.name === b.validators[i].name && v.power === b.validators[i].power &&
      equal(v.publicKey, b.validators[i].publicKey));
  }

  // ------------------------------------------------------------ headers and commits

  function header(value, what) {
    const h = object(value, what, ["chain_id", "height", "time_ms", "tx_count", ...HEADER_HASHES]);
    const out = {
      chainId: str(h.chain_id, `${what} chain_id`),
      height: int(h.height, `${what} height`),
      timeMs: int(h.time_ms, `${what} time_ms`),
      txCount: int(h.tx_count, `${what} tx_count`, 32),
    };
    for (const name of HEADER_HASHES) out[name] = hex(h[name], `${what} ${name}`, 32);
    const cid = text(out.chainId);
    if (cid.length === 0 || cid.length > 64) {
      throw new BundleError(`${what}: chain id must be 1 to 64 bytes`);
    }
    return out;
  }

  async function headerHash(h) {
    const cid = text(h.chainId);
    return sha256(concat([text(TAGS.header), uint(cid.length, 2), cid, uint(h.height, 8),
      uint(h.timeMs, 8), ...HEADER_HASHES.map((n) => h[n]), uint(h.txCount, 4)]));
  }

  function voteSignBytes(chainId, height, round, blockHash) {
    const cid = text(chainId);
    return concat([text(TAGS.vote), uint(cid.length, 2), cid, Uint8Array.of(PRECOMMIT),
      uint(height, 8), uint(round, 4), Uint8Array.of(blockHash.length), blockHash]);
  }

  async function commit(value, h, set, what) {
    const c = object(value, what, ["height", "round", "block_hash", "precommits"]);
    const height = int(c.height, `${what} height`);
    const round = int(c.round, `${what} round`, 32);
    const blockHash = hex(c.block_hash, `${what} block_hash`, 32);
    const votes = list(c.precommits, `${what} precommits`).map((item, i) => {
      const v = object(item, `${what} precommit ${i}`, ["validator_index", "signature"]);
      return {
        index: int(v.validator_index, `${what} precommit ${i} validator_index`, 32),
        signature: hex(v.signature, `${what} precommit ${i} signature`, 64),
      };
    });
    // Verify the certificate is for this very header, then that it holds.
    if (height !== h.height) {
      throw new BundleError(`the ${what} certificate is for height ${height}, the header ${h.height}`);
    }
    if (!equal(blockHash, await headerHash(h))) {
      throw new BundleError(`the header does not hash to the block the validators signed (${what}: ` +
        "a header field was changed)");
    }
    const seen = new Set();
    let power = 0n;
    for (const vote of votes) {
      const where = `height ${height}: precommit of validator ${vote.index}`;
      if (vote.index >= set.validators.length) {
        throw new BundleError(`${what} certificate: ${where}: unknown validator index`);
      }
      if (seen.has(vote.index)) throw new BundleError(`${what} certificate: ${where}: duplicate signer`);
      seen.add(vote.index);
      power += set.validators[vote.index].power;
    }
    if (power < set.quorum) {
      throw new BundleError(`${what} certificate: height ${height}: precommits carry power ` +
        `${power}, need ${set.quorum} (more than 2/3 of ${set.total})`);
    }
    const message = voteSignBytes(h.chainId, height, round, blockHash);
    for (const vote of votes) {
      const v = set.validators[vote.index];
      if (!(await ed25519Verify(v.publicKey, message, vote.signature))) {
        throw new BundleError(`${what} certificate: height ${height}: bad signature from ` +
          `validator ${vote.index}`);
      }
    }
    return { signers: votes.map((v) => set.validators[v.index]), power, round };
  }

  async function followSetChanges(chainId, start, changes, below) {
    let current = start;
    let last = 0n;
    const items = list(changes, "set_changes");
    for (let i = 0; i < items.length; i++) {
      const what = `set_changes[${i}]`;
      const change = object(items[i], what, CHANGE);
      const h = header(change.header, `${what} header`);
      // Verify the change is of this chain, in order, and before the certificate.
      if (h.chainId !== chainId) throw new BundleError(`${what}: the header is for chain ${quoted(h.chainId)}`);
      if (!(last < h.height && h.height < below)) {
        throw new BundleError(`${what}: height ${h.height} is not after the change before it ` +
          `(${last}) and before the certificate's block (${below})`);
      }
      // Verify it is a change at all: another header would only add to the count shown.
      if (equal(h.next_validators_hash, h.validators_hash)) {
        throw new BundleError(`${what}: the header of height ${h.height} names no new ` +
          "validator set (its next set is its own)");
      }
      // Verify the set reached so far signed it, and it names the new set as the next one.
      if (!equal(h.validators_hash, current.hash)) {
        throw new BundleError(`${what}: the header of height ${h.height} names another validator ` +
          "set than the chain of changes reaches there");
      }
      await commit(change.commit, h, current, `${what} commit`);
      const next = await listedSet(change.validators, `${what} validators`);
      if (!equal(next.hash, h.next_validators_hash)) {
        throw new BundleError(`${what}: the listed validators are not the set the header of ` +
          `height ${h.height} names as the next one`);
      }
      current = next;
      last = h.height;
    }
    return current;
  }

  // ------------------------------------------------------------ Merkle proofs (RFC 9162)

  async function verifyProof(rootHash, leaf, index, size, siblings) {
    if (!(index >= 0 && index < size)) return false;
    let fn = index;
    let sn = size - 1;
    let r = await sha256(concat([Uint8Array.of(0), leaf]));
    for (const p of siblings) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat([Uint8Array.of(1), p, r]));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(concat([Uint8Array.of(1), r, p]));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && equal(r, rootHash);
  }

  // ------------------------------------------------------------ protobuf, canonical only

  function reader(bytes, what) {
    let at = 0;
    function varint() {
      let value = 0n;
      let shift = 0n;
      for (let i = 0; i < 10; i++) {
        if (at >= bytes.length) throw new BundleError(`${what}: truncated varint`);
        const b = bytes[at++];
        value |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) {
          if (b === 0 && i > 0) throw new BundleError(`${what}: varint is not minimal`);
          return value;
        }
        shift += 7n;
      }
      throw new BundleError(`${what}: varint too long`);
    }
    return {
      done: () => at >= bytes.length,
      // Fields in ascending order, each once: the canonical encoding (docs/spec.md, section 3).
      fields() {
        const out = [];
        let previous = 0;
        while (at < bytes.length) {
          const key = varint();
          const number = Number(key >> 3n);
          const wire = Number(key & 7n);
          if (number < previous || number === 0) {
            throw new BundleError(`${what}: fields out of order (not canonically encoded)`);
          }
          previous = number;
          if (wire === 0) {
            out.push({ number, wire, value: varint() });
          } else if (wire === 2) {
            const size = Number(varint());
            if (at + size > bytes.length) throw new BundleError(`${what}: truncated field ${number}`);
            out.push({ number, wire, value: bytes.subarray(at, at + size) });
            at += size;
          } else {
            throw new BundleError(`${what}: unexpected wire type ${wire}`);
          }
        }
        return out;
      },
    };
  }

  function fieldsOf(bytes, what, spec) {
    // spec: number -> [name, kind, repeated]; kind is "string", "bytes", "uint" or "message"
    // (a set message is written even when empty).
    const out = {};
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for (const f of reader(bytes, what).fields()) {
      const s = spec[f.number];
      if (!s) throw new BundleError(`${what}: unknown field ${f.number}`);
      const [name, kind, repeated] = s;
      if (!repeated && name in out) throw new BundleError(`${what}: field ${name} appears twice`);
      if ((kind === "uint") !== (f.wire === 0)) throw new BundleError(`${what}: field ${name} has the wrong type`);
      let value = f.value;
      if (kind === "string") {
        try { value = decoder.decode(f.value); } catch (err) {
          throw new BundleError(`${what}: field ${name} is not UTF-8`);
        }
      }
      // A default scalar is never written in the canonical encoding.
      if ((kind === "uint" && value === 0n) || ((kind === "string" || kind === "bytes") && !value.length)) {
        throw new BundleError(`${what}: field ${name} carries its default (not canonically encoded)`);
      }
      if (repeated) (out[name] = out[name] || []).push(value); else out[name] = value;
    }
    return out;
  }

  function period(bytes) {
    const p = fieldsOf(bytes, "retire period", { 1: ["start", "uint"], 2: ["end", "uint"] });
    const d = (v) => String(v === undefined ? 0n : v).padStart(8, "0");
    return `${d(p.start)}-${d(p.end)}`;
  }

  // ------------------------------------------------------------ bech32m addresses (BIP-350)

  const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

  function polymod(values) {
    const gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    let chk = 1;
    for (const v of values) {
      const top = chk >>> 25;
      chk = ((chk & 0x1ffffff) << 5) ^ v;
      for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= gen[i];
    }
    return chk >>> 0;
  }

  function bech32m(hrp, bytes) {
    const data = [];
    let acc = 0;
    let bits = 0;
    for (const b of bytes) {
      acc = (acc << 8) | b;
      bits += 8;
      while (bits >= 5) { bits -= 5; data.push((acc >>> bits) & 31); }
    }
    if (bits) data.push((acc << (5 - bits)) & 31);
    const expanded = [...hrp].map((c) => c.charCodeAt(0) >> 5).concat([0],
      [...hrp].map((c) => c.charCodeAt(0) & 31));
    const mod = polymod(expanded.concat(data, [0, 0, 0, 0, 0, 0])) ^ 0x2bc830a3;
    const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
    return hrp + "1" + data.concat(checksum).map((d) => CHARSET[d]).join("");
  }

  async function addressOf(publicKey) {
    return bech32m("ct", (await sha256(publicKey)).subarray(0, 20));
  }

  // ------------------------------------------------------------ the retirement transaction

  async function transaction(value, h) {
    const t = object(value, "tx", ["index", "envelope", "proof"]);
    const index = int(t.index, "tx index", 32);
    const raw = base64(t.envelope, "tx envelope");
    let tx;
    try {
      tx = await signedCertifying(raw, h.chainId);
    } catch (err) {
      if (err instanceof BundleError && !err.kind) {
        throw new BundleError(`the retirement transaction is not validly signed: ${err.message}`);
      }
      throw err;
    }
    if (index >= h.txCount) {
      throw new BundleError(`the transaction is not in the block: tx index ${index} is outside a ` +
        `block of ${h.txCount} txs`);
    }
    if (!(await verifyProof(h.tx_root, tx.id, index, h.txCount, path(t.proof, "tx proof")))) {
      throw new BundleError("the transaction is not in the block (tx proof does not lead to tx_root)");
    }
    return { tx, index };
  }

  async function signedCertifying(raw, chainId) {
    const env = fieldsOf(raw, "envelope", { 1: ["body", "bytes"], 2: ["signatures", "message", true] });
    if (!env.body) throw new BundleError("envelope carries no body");
    const body = fieldsOf(env.body, "body", Object.assign({
      1: ["chain_id", "string"], 2: ["signer", "string"], 3: ["nonce", "uint"], 4: ["memo", "string"],
    }, Object.fromEntries(Object.entries(MESSAGES).map(([n, name]) => [n, [name, "message"]]))));
    if (body.chain_id !== chainId) {
      throw new BundleError(`transaction is for chain '${body.chain_id || ""}', this is '${chainId}'`);
    }
    const kinds = Object.values(MESSAGES).filter((name) => name in body);
    if (kinds.length !== 1) throw new BundleError("transaction carries no single ledger message");
    // Every signature covers the sign bytes; the id is their SHA-256 (docs/spec.md, section 4).
    const cid = text(chainId);
    const signBytes = concat([text(TAGS.tx), uint(cid.length, 2), cid, env.body]);
    const signatures = (env.signatures || []).map((s) =>
      fieldsOf(s, "signature", { 1: ["public_key", "bytes"], 2: ["signature", "bytes"] }));
    // A certifying transaction is signed by its signer alone.
    if (signatures.length !== 1) {
      throw new BundleError(`a ${kinds[0]} carries exactly one signature, this one ${signatures.length}`);
    }
    const sig = signatures[0];
    if (!sig.public_key || sig.public_key.length !== 32 || !sig.signature || sig.signature.length !== 64) {
      throw new BundleError("the signature is malformed");
    }
    if ((await addressOf(sig.public_key)) !== body.signer) {
      throw new BundleError(`the signature is not by the signer ${body.signer}`);
    }
    if (!(await ed25519Verify(sig.public_key, signBytes, sig.signature))) {
      throw new BundleError("bad signature");
    }
    if (!CERTIFYING.includes(kinds[0])) {
      const err = new BundleError(`the transaction is a ${kinds[0]}, which makes no retirement certificate`);
      err.kind = true;
      throw err;
    }
    const id = await sha256(signBytes);
    if (kinds[0] === "confirm_payment") {
      const c = fieldsOf(body.confirm_payment, "confirm_payment", { 1: ["trade_id", "uint"] });
      return { id, signer: body.signer, kind: kinds[0],
        confirm_payment: { trade_id: c.trade_id === undefined ? 0n : c.trade_id } };
    }
    if (kinds[0] === "redeem") {
      const d = fieldsOf(body.redeem, "redeem", {
        1: ["merchant", "string"], 2: ["offer_id", "string"], 3: ["voucher_ref", "string"],
        4: ["batch_id", "string"],
      });
      return { id, signer: body.signer, kind: kinds[0],
        redeem: { merchant: d.merchant || "", offer_id: d.offer_id || "", batch_id: d.batch_id || "" } };
    }
    const r = fieldsOf(body.retire, "retire", {
      1: ["batch_id", "string"], 2: ["amount_grams", "uint"], 3: ["beneficiary", "string"],
      4: ["reason", "string"], 5: ["jurisdiction", "string"], 6: ["event", "string"],
      7: ["period", "message"], 8: ["use", "uint"], 9: ["scheme", "string"],
      10: ["emitter_account", "string"], 11: ["corresponding_adjustment", "uint"],
    });
    const use = r.use === undefined ? 0 : Number(r.use);
    if (use >= USES.length) throw new BundleError(`retire: unknown use ${use}`);
    const amount = r.amount_grams === undefined ? 0n : r.amount_grams;
    return {
      id,
      signer: body.signer,
      kind: kinds[0],
      retire: {
        batch_id: r.batch_id || "", amount_grams: amount, beneficiary: r.beneficiary || "",
        reason: r.reason || "", jurisdiction: r.jurisdiction || "", event: r.event || "",
        period: r.period === undefined ? "" : period(r.period),
        use: USES[use], scheme: r.scheme || "", emitter_account: r.emitter_account || "",
        corresponding_adjustment: r.corresponding_adjustment === 1n,
      },
    };
  }

  // ------------------------------------------------------------ the receipt

  function receiptBytes(txId, code, errorCode, events) {
    const parts = [text(TAGS.receipt), txId, uint(code, 4)];
    const field = (value, width) => { const b = text(value); parts.push(uint(b.length, width), b); };
    field(errorCode, 2);
    parts.push(uint(events.length, 2));
    for (const e of events) {
      field(e.type, 2);
      parts.push(uint(e.attributes.length, 2));
      for (const [k, v] of e.attributes) { field(k, 2); field(v, 4); }
    }
    return concat(parts);
  }

  async function receipt(value, tx, index, h) {
    const r = object(value, "receipt", ["code", "error_code", "events", "proof"]);
    const events = list(r.events, "receipt events").map((item, i) => {
      const e = object(item, `receipt event ${i}`, ["type", "attributes"]);
      const attributes = list(e.attributes, `receipt event ${i} attributes`).map((pair) => {
        if (!(Array.isArray(pair) && pair.length === 2)) {
          throw new BundleError(`receipt event ${i} attributes must be [key, value] pairs`);
        }
        return [str(pair[0], "attribute key"), str(pair[1], "attribute value")];
      });
      return { type: str(e.type, "event type"), attributes };
    });
    const code = int(r.code, "receipt code", 32);
    const errorCode = str(r.error_code, "receipt error_code");
    const leaf = receiptBytes(tx.id, code, errorCode, events);
    if (!(await verifyProof(h.results_root, leaf, index, h.txCount, path(r.proof, "receipt proof")))) {
      throw new BundleError("the receipt is not the block's (receipt proof does not lead to results_root)");
    }
    if (code !== 0) throw new BundleError(`the retirement failed on chain: ${errorCode}`);
    return events;
  }

  function oneEvent(events, kind) {
    const found = events.filter((e) => e.type === kind);
    if (found.length !== 1) throw new BundleError(`the receipt carries no ${kind} event`);
    return Object.fromEntries(found[0].attributes);
  }

  function grams(value, what) {
    if (typeof value !== "string" || !/^[0-9]+$/.test(value) || BigInt(value) >= 1n << 64n) {
      throw new BundleError(`the receipt's ${what} is not a gram count`);
    }
    return BigInt(value);
  }

  // What a certifying transaction retired, for whom, as chain/ builds it (cli/verify.py
  // _terms_of): a Retire states it all; a purchase's claim (kept in its trade) and a
  // redemption's jurisdiction (its offer's) come from the proven receipt.
  function termsOf(tx, events, retired) {
    const claim = (beneficiary, reason, jurisdiction, event) => ({ beneficiary, reason,
      jurisdiction, event, use: "voluntary", scheme: "", emitter_account: "",
      corresponding_adjustment: false });
    if (tx.kind === "retire") {
      const m = tx.retire;
      return { account: tx.signer, batch_id: m.batch_id, amount_grams: m.amount_grams,
        period: m.period, claim: { beneficiary: m.beneficiary, reason: m.reason,
          jurisdiction: m.jurisdiction, event: m.event, use: m.use, scheme: m.scheme,
          emitter_account: m.emitter_account, corresponding_adjustment: m.corresponding_adjustment } };
    }
    if (tx.kind === "confirm_payment") {
      const paid = oneEvent(events, "confirm_payment");
      if (paid.trade_id !== String(tx.confirm_payment.trade_id)) {
        throw new BundleError("the receipt's confirm_payment event is for another trade");
      }
      if (paid.delivery !== "retired") {
        throw new BundleError("the confirmed trade delivered tradable grams, no certificate");
      }
      return { account: paid.buyer || "", batch_id: paid.batch_id || "",
        amount_grams: grams(paid.amount_grams, "confirm_payment amount_grams"), period: "",
        claim: claim(retired.beneficiary || "", retired.reason || "", retired.jurisdiction || "",
          retired.event || "") };
    }
    const d = tx.redeem;
    const redeemed = oneEvent(events, "redeem");
    if (redeemed.payment !== "grams") {
      throw new BundleError("the redemption was paid in points, no certificate");
    }
    return { account: tx.signer, batch_id: d.batch_id,
      amount_grams: grams(redeemed.amount, "redeem amount"), period: "",
      claim: claim(tx.signer, REDEMPTION_REASON, retired.jurisdiction || "",
        `merchant ${d.merchant} offer ${d.offer_id}`) };
  }

  // ------------------------------------------------------------ the certificate record

  function expectedCertificate(tx, events, h) {
    const event = oneEvent(events, "retire");
    const t = termsOf(tx, events, event);
    const c = t.claim;
    return {
      certificate_id: "RC-" + toHex(tx.id.subarray(0, 12)).toUpperCase(),
      batch_id: t.batch_id,
      project_id: event.project_id || "",
      vintage: event.vintage || "",
      amount_grams: t.amount_grams,
      beneficiary: c.beneficiary,
      reason: c.reason,
      jurisdiction: c.jurisdiction,
      event: c.event,
      account: t.account,
      period: t.period,
      height: h.height,
      time_ms: h.timeMs,
      tx_hash: toHex(tx.id),
      // Beyond the bundle's record: the use and serial range (proven receipt).
      use: c.use,
      scheme: c.scheme,
      emitter_account: c.emitter_account,
      corresponding_adjustment: c.corresponding_adjustment,
      serial: event.serial || "",
    };
  }

  function checkCertificate(value, expected, event) {
    const record = object(value, "certificate", CERTIFICATE);
    for (const name of [...CERTIFICATE].sort()) {
      const want = expected[name];
      const got = record[name];
      // A u64 (BigInt) equals only the same integer literal: 1.0 or "1" is not 1.
      if (got !== want) {
        throw new BundleError(`certificate field ${name} is ${shown(got)}, but the signed ` +
          `transaction, its receipt and the header give ${shown(want)}`);
      }
    }
    // The receipt's event must tell the same story as the signed transaction.
    for (const name of ["certificate_id", "batch_id", "beneficiary", "reason", "account"]) {
      if (event[name] !== expected[name]) {
        throw new BundleError(`the receipt's retire event disagrees on ${name}`);
      }
    }
    if (event.amount_grams !== String(expected.amount_grams)) {
      throw new BundleError("the receipt's retire event disagrees on amount_grams");
    }
  }

  // ------------------------------------------------------------ the whole bundle

  /**
   * Check a bundle parsed by parseJson (integers as BigInt; JSON.parse's Numbers are refused
   * where an integer is due) against the trusted genesis (from loadGenesis); resolve to what it
   * proves, or reject with a BundleError whose message says what failed.
   */
  async function verifyBundle(bundle, genesis) {
    const top = object(bundle, "bundle", TOP);
    if (top.format !== BUNDLE_FORMAT) {
      throw new BundleError(`unknown bundle format ${shown(top.format)}; expected ${quoted(BUNDLE_FORMAT)}`);
    }
    // Verify the bundle comes from this genesis.
    if (!equal(hex(top.genesis_hash, "genesis_hash", 32), genesis.hash)) {
      throw new BundleError(`wrong genesis: the bundle is for genesis ${top.genesis_hash.slice(0, 16)}..., ` +
        `the given genesis hashes to ${genesis.hashHex.slice(0, 16)}...`);
    }
    if (str(top.chain_id, "chain_id") !== genesis.chainId) {
      throw new BundleError(`the bundle is for chain ${quoted(top.chain_id)}, not ${quoted(genesis.chainId)}`);
    }
    const h = header(top.header, "header");
    if (h.chainId !== genesis.chainId) throw new BundleError(`the header is for chain ${quoted(h.chainId)}`);
    // Verify the chain of set changes from genesis leads to the bundle's validator set.
    const reached = await followSetChanges(genesis.chainId, genesis.validators, top.set_changes, h.height);
    const listed = await listedSet(top.validators, "validators");
    if (!sameSet(listed, reached)) {
      throw new BundleError("the bundle's validator set is not the one the genesis set and the " +
        "chain of set changes lead to");
    }
    if (!equal(h.validators_hash, reached.hash)) {
      throw new BundleError("the header names another validator set than the one of its height");
    }
    const signed = await commit(top.commit, h, reached, "commit");
    const { tx, index } = await transaction(top.tx, h);
    const events = await receipt(top.receipt, tx, index, h);
    const expected = expectedCertificate(tx, events, h);
    checkCertificate(top.certificate, expected, oneEvent(events, "retire"));
    // Integers stay BigInt (amount_grams, height, time_ms, the powers): formatTco2e and
    // formatTime show them exactly.
    return {
      certificate: expected,
      height: h.height,
      blockHash: toHex(await headerHash(h)),
      signers: signed.signers.map((v) => v.name),
      signedPower: signed.power,
      totalPower: reached.total,
      setChanges: top.set_changes.length,
      genesisHash: genesis.hashHex,
      validatorsHash: toHex(reached.hash),
    };
  }

  /** Parse bundle text (a file dropped on the page) and verify it; BundleError on any failure. */
  async function verifyBundleText(bundleText, genesis) {
    return verifyBundle(parseJson(bundleText, "the bundle"), genesis);
  }

  // ------------------------------------------------------------ showing what was proven

  const GRAMS_PER_TONNE = 1000000n;
  const YEAR_10000_MS = 253402300800000n;

  /** Grams as tCO2e text, exactly, with no trailing zeros (chain/amounts.py format_tco2e). */
  function formatTco2e(grams) {
    const g = BigInt(grams);
    const whole = g / GRAMS_PER_TONNE;
    const frac = g % GRAMS_PER_TONNE;
    if (!frac) return String(whole);
    return `${whole}.${String(frac).padStart(6, "0").replace(/0+$/, "")}`;
  }

  /** A block time as a person reads it; a header may hold any u64 (cli/verify.py _when). */
  function formatTime(timeMs) {
    const ms = BigInt(timeMs);
    if (ms >= YEAR_10000_MS) return `time_ms ${ms} (after 9999)`;
    return new Date(Number(ms)).toISOString().replace("T", " ").replace(/\.\d+Z$/, "") + " UTC";
  }

  const api = { BUNDLE_FORMAT, BundleError, loadGenesis, verifyBundle, verifyBundleText,
    parseJson, canonicalJson, addressOf, formatTco2e, formatTime };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  else root.CarbonVerify = api;
})(typeof window !== "undefined" ? window : globalThis);
