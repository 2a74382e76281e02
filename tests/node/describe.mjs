// node describe.mjs <ws-url>
//
// What a TypeScript client learns from a server with introspection: prints the JSON of
// `await api.$meta()` (the reserved member `#[rpc_interface(introspect)]` answers), or
// `{"error": "<name>: <message>"}` when the server does not offer it.

import "./ws-global.mjs";
import { newWebSocketRpcSession } from "capnweb";

const api = newWebSocketRpcSession(process.argv[2]);
try {
  console.log(JSON.stringify(await api.$meta()));
} catch (e) {
  console.log(JSON.stringify({ error: `${e.name}: ${e.message}` }));
}
process.exit(0);
