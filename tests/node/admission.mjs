// node admission.mjs <host:port> <token>
//
// What the npm capnweb client sees from a server that admits only requests with
// `Authorization: Bearer <token>`: prints one JSON object with, for WebSocket and for HTTP
// batch, the outcome of `add(1, 2)` without the header and with it.

import "./ws-global.mjs";
import WebSocket from "ws";
import { newHttpBatchRpcSession, newWebSocketRpcSession } from "capnweb";

const [address, token] = process.argv.slice(2);
const authorization = { authorization: `Bearer ${token}` };

async function outcome(api) {
  try {
    return { value: await api.add(1, 2) };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  } finally {
    api[Symbol.dispose]();
  }
}

const result = {
  wsRefused: await outcome(newWebSocketRpcSession(`ws://${address}/`)),
  wsAdmitted: await outcome(
    newWebSocketRpcSession(new WebSocket(`ws://${address}/`, { headers: authorization })),
  ),
  batchRefused: await outcome(newHttpBatchRpcSession(`http://${address}/`)),
  batchAdmitted: await outcome(
    newHttpBatchRpcSession(new Request(`http://${address}/`, { headers: authorization })),
  ),
};
console.log(JSON.stringify(result));
process.exit(0);
