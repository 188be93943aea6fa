// A raw HTTP/1.1 client that behaves like Python's urllib and most scripts: it writes the request
// line, the headers and the whole body (read from stdin), waiting for each write, and reads nothing
// of the answer until its last byte is written. It runs in its own process: the same client inside
// the test process (which shares the server's event loop, and has nock loaded) never saw the
// server reset it, so it could not fail on the bug it is for.
//
// usage: node write-whole-request-then-read.mjs '{"port":3000,"path":"/x","headers":{},"framing":"content-length|chunked"}' < body
// prints one JSON line: {"status":"HTTP/1.1 413 Payload Too Large","error":null,"written":<body bytes written>}
// With "fillBytes": N the body is N spaces instead of stdin, and with "readEarly": true the answer is
// read while the body is written (as curl does): for a sender that goes on after its answer.
import { connect } from 'node:net';

const { port, path, headers, framing, fillBytes, readEarly = false } = JSON.parse(process.argv[2]);
const chunks = [];
if (fillBytes === undefined) for await (const chunk of process.stdin) chunks.push(chunk);
const body = fillBytes === undefined ? Buffer.concat(chunks) : Buffer.alloc(fillBytes, 0x20);

const socket = connect(port, '127.0.0.1');
let error = null;
let response = '';
let writing = true;
socket.on('error', (e) => {
  error ??= e.code ?? e.message;
});
socket.on('data', (chunk) => {
  response += chunk.toString('latin1');
  if (!writing) finishIfComplete();
});
socket.on('close', finish);
if (!readEarly) socket.pause();
await new Promise((resolve) => socket.once('connect', resolve));

const write = (data) => new Promise((resolve, reject) => socket.write(data, (e) => (e ? reject(e) : resolve())));
const head = [`POST ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`];
let written = 0;
try {
  await write(`${head.join('\r\n')}\r\n\r\n`);
  for (let at = 0; at < body.length; at += 64 * 1024) {
    const piece = body.subarray(at, at + 64 * 1024);
    await write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
    written += piece.length;
  }
  if (framing === 'chunked') await write('0\r\n\r\n');
} catch (e) {
  error ??= e.code ?? e.message;
}
writing = false;
const timer = setTimeout(finish, 15_000);
socket.resume();
if (socket.closed) finish();
else finishIfComplete();

/** The answer is small: complete once its headers and its Content-Length bytes are in. */
function finishIfComplete() {
  const end = response.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(response)?.[1];
  if (end >= 0 && length !== undefined && response.length >= end + 4 + Number(length)) finish();
}

function finish() {
  if (writing) return;
  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify({ status: response.split('\r\n')[0] ?? '', error, written })}\n`);
  socket.destroy();
  process.exit(0);
}
