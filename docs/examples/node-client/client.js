#!/usr/bin/env node
// A Carbon Ticket Ledger client in plain Node.js (20+): it builds and signs a transfer exactly
// as docs/spec.md describes (canonical protobuf written by hand, Ed25519 from node:crypto,
// bech32m addresses), submits it over gRPC and reads it back. Nothing here comes from the
// Python code: it is a second implementation of the spec, checked against the spec's vectors.
//
//   node client.js check-spec ../../spec.md
//       recompute the spec's address and transfer vectors (needs no node and no npm packages)
//   CARBON_TICKET_SEED=<64 hex> node client.js transfer --node HOST:PORT --to ct1... \
//       --batch BATCH_ID --amount GRAMS [--memo TEXT]
//       sign with that key's account, submit, wait for the commit, read the transaction back
//       and print one JSON object. The seed comes from the environment, never the command line.
//
// The .proto files import each other as "carbonticket/v1/ledger.proto", so the repository's
// proto/ folder is the only include directory (CARBON_TICKET_PROTO_ROOT, by default
// ../../../proto from here).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

// ---------------------------------------------------------------- bech32m (BIP-350), spec 2

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32M_CONST = 0x2bc830a3;
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values) {
  let chk = 1;
  for (const value of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ value) >>> 0;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk = (chk ^ GENERATORS[i]) >>> 0;
    }
  }
  return chk;
}

function hrpExpand(hrp) {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

function toFiveBits(bytes) {
  const out = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

function bech32mEncode(hrp, bytes) {
  const data = toFiveBits(bytes);
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (mod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...checksum].map((d) => CHARSET[d]).join("");
}

// ---------------------------------------------------------------- keys, spec 1 and 2

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

function sha256(bytes) {
  return crypto.createHash("sha256").update(bytes).digest();
}

function keyFromSeed(seedHex) {
  const seed = Buffer.from(seedHex, "hex");
  if (seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes (64 hex digits)");
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  // The SPKI encoding of an Ed25519 key ends with the 32-byte public key.
  const spki = crypto.createPublicKey(privateKey).export({ format: "der", type: "spki" });
  const publicKey = Buffer.from(spki.subarray(spki.length - 32));
  return { privateKey, publicKey, address: addressOf(publicKey) };
}

function addressOf(publicKey) {
  return bech32mEncode("ct", sha256(publicKey).subarray(0, 20));
}

// ---------------------------------------------------------------- canonical protobuf, spec 3

function varint(value) {
  let n = BigInt(value);
  const out = [];
  do {
    const low = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n > 0n ? low | 0x80 : low);
  } while (n > 0n);
  return Buffer.from(out);
}

// A scalar field: omitted when it holds its default ("" or 0); integers are varints (wire
// type 0), strings and bytes length-delimited (wire type 2).
function field(number, value) {
  if (typeof value === "bigint" || typeof value === "number") {
    if (BigInt(value) === 0n) return Buffer.alloc(0);
    return Buffer.concat([varint(number << 3), varint(value)]);
  }
  const data = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  if (data.length === 0) return Buffer.alloc(0);
  return Buffer.concat([varint((number << 3) | 2), varint(data.length), data]);
}

// A message field: written when set, even when empty.
function message(number, content) {
  return Buffer.concat([varint((number << 3) | 2), varint(content.length), content]);
}

function transferBody({ chainId, signer, nonce, memo, to, batchId, amountGrams }) {
  const entry = Buffer.concat([field(1, to), field(2, batchId), field(3, BigInt(amountGrams))]);
  return Buffer.concat([
    field(1, chainId),
    field(2, signer),
    field(3, BigInt(nonce)),
    field(4, memo || ""),
    message(15, message(1, entry)), // TxBody.transfer = 15, Transfer.entries = 1
  ]);
}

// ---------------------------------------------------------------- signing and ids, spec 4

const TX_SIGN_DOMAIN = Buffer.from("carbonticket/tx/v1\0", "latin1");

function signBytes(chainId, body) {
  const cid = Buffer.from(chainId, "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(cid.length);
  return Buffer.concat([TX_SIGN_DOMAIN, length, cid, body]);
}

function signedEnvelope(chainId, body, keys) {
  const message_ = signBytes(chainId, body);
  const signatures = keys
    .map((k) => ({ publicKey: k.publicKey, signature: crypto.sign(null, message_, k.privateKey) }))
    .sort((a, b) => Buffer.compare(a.publicKey, b.publicKey)); // ascending public key
  const parts = [field(1, body)];
  for (const s of signatures) {
    parts.push(message(2, Buffer.concat([field(1, s.publicKey), field(2, s.signature)])));
  }
  return { envelope: Buffer.concat(parts), signatures, txId: sha256(message_) };
}

// ---------------------------------------------------------------- check-spec

function parseVectors(text) {
  const vectors = [];
  for (const match of text.matchAll(/^```vector\n([\s\S]*?)^```/gm)) {
    const vector = {};
    for (const line of match[1].split("\n").filter((l) => l.length > 0)) {
      const colon = line.indexOf(":");
      vector[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    vectors.push(vector);
  }
  return vectors;
}

function checkSpec(specPath) {
  const vectors = parseVectors(fs.readFileSync(specPath, "utf8"));
  const failures = [];
  let checked = 0;
  const expect = (vector, key, actual) => {
    checked += 1;
    if (vector[key] !== actual) {
      failures.push(`${vector.vector} ${key}: spec ${vector[key]}, this client ${actual}`);
    }
  };
  for (const v of vectors) {
    if (v.vector === "address") {
      const key = keyFromSeed(v.seed);
      expect(v, "public_key", key.publicKey.toString("hex"));
      expect(v, "address", key.address);
    } else if (v.vector === "transfer") {
      const key = keyFromSeed(v.seed);
      expect(v, "signer", key.address);
      const body = transferBody({
        chainId: v.chain_id, signer: v.signer, nonce: v.nonce, memo: v.memo,
        to: v.to, batchId: v.batch_id, amountGrams: v.amount_grams,
      });
      expect(v, "body", body.toString("hex"));
      expect(v, "sign_bytes", signBytes(v.chain_id, body).toString("hex"));
      const signed = signedEnvelope(v.chain_id, body, [key]);
      expect(v, "signature", signed.signatures[0].signature.toString("hex"));
      expect(v, "envelope", signed.envelope.toString("hex"));
      expect(v, "tx_id", signed.txId.toString("hex"));
    }
  }
  if (checked === 0) failures.push(`no address or transfer vector in ${specPath}`);
  if (failures.length > 0) {
    for (const f of failures) console.error(`mismatch: ${f}`);
    return 1;
  }
  console.log(JSON.stringify({ spec: specPath, values_checked: checked, ok: true }));
  return 0;
}

// ---------------------------------------------------------------- gRPC: submit and read back

function ledgerClient(endpoint) {
  // Required here, so check-spec runs without the npm packages installed.
  const grpc = require("@grpc/grpc-js");
  const protoLoader = require("@grpc/proto-loader");
  const root =
    process.env.CARBON_TICKET_PROTO_ROOT || path.resolve(__dirname, "..", "..", "..", "proto");
  const definition = protoLoader.loadSync("carbonticket/v1/services.proto", {
    includeDirs: [root],
    keepCase: true, // the API's own field names (tx_hash, wait_for_commit, ...)
    longs: String, // 64-bit integers as decimal strings: no digit is lost
    enums: String,
    bytes: Buffer, // bytes fields are Buffers; send Buffers too, never hex strings
    defaults: true,
    oneofs: true,
  });
  const api = grpc.loadPackageDefinition(definition).carbonticket.v1;
  const stub = new api.LedgerService(endpoint, grpc.credentials.createInsecure());
  const call = (method, request, timeoutMs = 30_000) =>
    new Promise((resolve, reject) => {
      const deadline = new Date(Date.now() + timeoutMs);
      stub[method](request, { deadline }, (error, reply) => (error ? reject(error) : resolve(reply)));
    });
  return { call, close: () => stub.close() };
}

// ---------------------------------------------------------------- errors: the rich status

// Reads a protobuf message into {fieldNumber: [values]}: varints as BigInt, length-delimited
// fields as Buffers. Enough for google.rpc.Status, Any and ErrorInfo.
function readFields(buffer) {
  const fields = {};
  let offset = 0;
  const readVarint = () => {
    let value = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const byte = buffer[offset++];
      if (byte === undefined) throw new Error("truncated protobuf");
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value;
    }
  };
  while (offset < buffer.length) {
    const key = Number(readVarint());
    let value;
    if ((key & 7) === 0) value = readVarint();
    else if ((key & 7) === 2) {
      const length = Number(readVarint());
      value = buffer.subarray(offset, offset + length);
      offset += length;
    } else throw new Error(`unexpected wire type ${key & 7}`);
    (fields[key >> 3] ||= []).push(value);
  }
  return fields;
}

// The google.rpc.ErrorInfo in the standard "grpc-status-details-bin" trailer (docs/api.md,
// "Errors"): reason is the ledger's error code, metadata names a committed tx that failed.
function errorInfo(metadata) {
  const raw = metadata ? metadata.get("grpc-status-details-bin")[0] : undefined;
  if (!raw) return undefined;
  for (const any of readFields(Buffer.from(raw))[3] || []) {
    const anyFields = readFields(any);
    if (String(anyFields[1]) !== "type.googleapis.com/google.rpc.ErrorInfo") continue;
    const info = readFields(anyFields[2][0]);
    const entries = (info[3] || []).map((entry) => readFields(entry));
    return {
      reason: String(info[1] || ""),
      domain: String(info[2] || ""),
      metadata: Object.fromEntries(entries.map((e) => [String(e[1]), String(e[2])])),
    };
  }
  return undefined;
}

function describeError(error) {
  // The ledger's code, from the standard rich status; the custom "ledger-error-code" trailer
  // carries the same code for clients without a google.rpc.Status decoder.
  const info = errorInfo(error.metadata);
  const code = info ? info.reason : error.metadata && error.metadata.get("ledger-error-code")[0];
  const tx = info && info.metadata.tx_hash
    ? `; tx ${info.metadata.tx_hash} failed at height ${info.metadata.height}` : "";
  return `${error.details || error.message}${code ? ` [${code}]` : ""}${tx}`;
}

function options(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) {
      throw new Error(`expected --name value pairs, got ${argv.slice(i).join(" ")}`);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const required of ["node", "to", "batch", "amount"]) {
    if (!out[required]) throw new Error(`--${required} is required`);
  }
  if (!/^[1-9][0-9]*$/.test(out.amount)) throw new Error("--amount is a positive integer of grams");
  return out;
}

async function transfer(argv) {
  const opts = options(argv);
  const seed = process.env.CARBON_TICKET_SEED;
  if (!seed) throw new Error("set CARBON_TICKET_SEED to the sender's 32-byte seed (hex)");
  const key = keyFromSeed(seed);
  const client = ledgerClient(opts.node);
  try {
    const status = await client.call("GetStatus", {});
    const account = await client.call("GetAccount", { address: key.address });
    // next_nonce counts this node's pending transactions; an old node sends 0 for it.
    const nonce = [account.nonce, account.next_nonce].map(BigInt).reduce((a, b) => (a > b ? a : b));
    const body = transferBody({
      chainId: status.chain_id, signer: key.address, nonce, memo: opts.memo,
      to: opts.to, batchId: opts.batch, amountGrams: opts.amount,
    });
    const { envelope, txId } = signedEnvelope(status.chain_id, body, [key]);
    const reply = await client.call("SubmitTx", { tx: envelope, wait_for_commit: true });
    if (!reply.committed) throw new Error(`not committed in time; look up tx ${txId.toString("hex")}`);
    if (!reply.tx_hash.equals(txId)) throw new Error("the node computed another tx id");
    const info = await client.call("GetTx", { tx_hash: txId });
    // The committed envelope holds the body exactly as signed here.
    if (!info.envelope.body.equals(body)) throw new Error("GetTx returned another body");
    const entry = info.body.transfer.entries[0];
    console.log(JSON.stringify({
      tx_id: txId.toString("hex"),
      chain_id: status.chain_id,
      signer: key.address,
      nonce: nonce.toString(),
      committed: reply.committed,
      height: reply.height,
      read_back: {
        height: info.height,
        index: info.index,
        kind: info.body.msg,
        receipt_code: info.receipt.code,
        to: entry.to,
        batch_id: entry.batch_id,
        amount_grams: entry.amount_grams,
      },
    }));
  } finally {
    client.close();
  }
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === "check-spec" && rest.length === 1) return checkSpec(rest[0]);
  if (command === "transfer") {
    await transfer(rest);
    return 0;
  }
  console.error("usage: client.js check-spec SPEC.md | client.js transfer --node HOST:PORT " +
    "--to ADDRESS --batch BATCH_ID --amount GRAMS [--memo TEXT]");
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error) => {
      if (process.env.CARBON_TICKET_DEBUG) console.error(error.stack);
      console.error(`error: ${error.code !== undefined ? describeError(error) : error.message}`);
      process.exitCode = 1;
    },
  );
}

module.exports = { addressOf, bech32mEncode, keyFromSeed, signBytes, signedEnvelope, transferBody };
