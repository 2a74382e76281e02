// node depart.mjs <ws-url>
//
// A browser tab that closes: hands the server's `watch(callback)` a callback, prints the
// answer, then exits without disposing anything or closing the socket. The server must learn
// that the callback's client left (`Stub::closed` / `on_broken`) without calling it.

import "./ws-global.mjs";
import { newWebSocketRpcSession } from "capnweb";

const api = newWebSocketRpcSession(process.argv[2]);
const answer = await api.watch((x) => x * 2);
console.log(JSON.stringify({ answer }));
process.exit(0);
