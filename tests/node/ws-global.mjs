// Node 20 has no global `WebSocket`, but capnweb's WebSocketTransport reads
// `WebSocket.CONNECTING` from the global scope when it is constructed (and
// `newWebSocketRpcSession(url)` calls `new WebSocket(url)`). Importing this
// module first installs the `ws` implementation as the global. It is installed
// unconditionally (even on Node 22+, which has its own global) so that every
// run uses the same WebSocket implementation, whatever the Node version.
import { WebSocket } from "ws";

globalThis.WebSocket = WebSocket;

export { WebSocket };
