/**
 * Child process of tests/hub_memory_test.ts: a Deno.serve WebSocket server
 * that sends each of `clients` sockets one frame of `bytes` bytes, and once
 * every client has acknowledged it prints its RSS growth, in bytes, as one
 * JSON line. With `vectored`, the hub's `useVectoredWrites` runs first.
 *
 * @module
 */
import { useVectoredWrites } from "../services/web/hub_upgrade.ts";

const [clients, bytes, vectored] = [Number(Deno.args[0]), Number(Deno.args[1]), Deno.args[2]];
if (vectored === "vectored") useVectoredWrites();
const rss = () => Deno.memoryUsage().rss;
const frame = new Uint8Array(bytes).fill(7);
const sockets: WebSocket[] = [];
let before = 0;
let acks = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => {
    sockets.push(socket);
    if (sockets.length < clients) return;
    before = rss();
    for (const s of sockets) s.send(frame);
  };
  socket.onmessage = async () => {
    if (++acks < clients) return;
    await new Promise((r) => setTimeout(r, 300));
    console.log(JSON.stringify({ growth: rss() - before }));
    for (const s of sockets) s.close();
    await server.shutdown();
  };
  return response;
});
console.log(JSON.stringify({ port: server.addr.port }));
