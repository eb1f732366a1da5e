// Starts `smoe serve` for a test on a free port (--port 0; the port is read from its first line)
// and stops it with SIGTERM.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const MODEL = "smoe-mixtral-tiny";

export async function startServer(args = []) {
  const binary = process.env.SMOE_BINARY;
  if (!binary) throw new Error("SMOE_BINARY must name the smoe binary");
  const child = spawn(binary, ["serve", "--port", "0", "-t", "1", ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(signal ? -1 : code)));
  const firstLine = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => { lines.close(); resolve(line); });
    child.once("exit", () => reject(new Error("smoe serve exited before listening")));
  });
  const match = /listening on (http:\/\/\S+)/.exec(firstLine);
  if (!match) throw new Error(`unexpected first line: ${firstLine}`);
  return {
    url: match[1],
    baseURL: match[1] + "/v1",
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
