// A raw HTTP/1.1 client in its own process, for request lines fetch (and nock's socket interceptor,
// loaded in every test process) will not pass through as they are: nock parses what the test
// process writes to any socket and itself throws on a target such as `http://[`.
//
// usage: node raw-request-client.mjs PORT, then one JSON line per request on stdin:
//   {"id":1,"bytes":"<base64 of the exact request bytes>","end":false}
// With "end": true the client half-closes after writing, so a server waiting for the rest of an
// incomplete request sees the end of it instead of waiting for its header timeout.
// answers one JSON line each, in any order: {"id":1,"text":"<latin1 answer until close>","error":null}
// A request gets its answer once the server closes the connection (send Connection: close), or
// after 5 s with error "timeout".
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2]);
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, bytes, end = false } = JSON.parse(line);
  const socket = connect(port, '127.0.0.1');
  const chunks = [];
  let error = null;
  let answered = false;
  const answer = () => {
    if (answered) return;
    answered = true;
    clearTimeout(timer);
    socket.destroy();
    process.stdout.write(`${JSON.stringify({ id, text: Buffer.concat(chunks).toString('latin1'), error })}\n`);
  };
  const timer = setTimeout(() => {
    error ??= 'timeout';
    answer();
  }, 5_000);
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', (e) => {
    error ??= e.code ?? e.message;
  });
  socket.on('close', answer);
  if (end) socket.end(Buffer.from(bytes, 'base64'));
  else socket.write(Buffer.from(bytes, 'base64'));
}
