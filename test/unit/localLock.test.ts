// The lock that keeps parallel credential_process calls on one machine from issuing twice.
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { withLocalLock } from "../../service/store/localLock";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "awslease-lock-"));
  dirs.push(d);
  return d;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("withLocalLock", () => {
  it("runs holders of the same name one after another, other names at once; no file is left", async () => {
    const dir = tempDir();
    const log: string[] = [];
    const job = (name: string, tag: string) =>
      withLocalLock(dir, name, async () => {
        log.push(`${tag}+`);
        await sleep(150);
        log.push(`${tag}-`);
        return tag;
      });
    const results = await Promise.all([job("k", "a"), job("k", "b"), job("other", "c")]);
    expect(results).toEqual(["a", "b", "c"]);
    // a and b never overlap; c ran beside them.
    const a = log.indexOf("a+");
    const b = log.indexOf("b+");
    const [first, second] = a < b ? ["a", "b"] : ["b", "a"];
    expect(log.indexOf(`${first}-`)).toBeLessThan(log.indexOf(`${second}+`));
    expect(log.indexOf("c+")).toBeLessThan(log.indexOf(`${second}+`));
    expect(readdirSync(dir)).toEqual([]);
  });

  it("is released when fn throws", async () => {
    const dir = tempDir();
    await expect(withLocalLock(dir, "k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await withLocalLock(dir, "k", async () => "again")).toBe("again");
  });

  it("takes over a lock whose process is gone, or that is too old", async () => {
    const dir = tempDir();
    let path = "";
    await withLocalLock(dir, "k", async () => {
      path = join(dir, readdirSync(dir)[0]);
    });
    // A dead pid (pid_max is below 2^22 on Linux), then a live one (ours) from long ago.
    writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 1, since: Date.now() }));
    expect(await withLocalLock(dir, "k", async () => "dead holder", 2000)).toBe("dead holder");
    writeFileSync(path, JSON.stringify({ pid: process.pid, since: Date.now() - 6 * 60 * 1000 }));
    expect(await withLocalLock(dir, "k", async () => "old holder", 2000)).toBe("old holder");
  });

  it("waits for a live holder, and gives up after the timeout naming the lock", async () => {
    const dir = tempDir();
    let path = "";
    await withLocalLock(dir, "k", async () => {
      path = join(dir, readdirSync(dir)[0]);
    });
    writeFileSync(path, JSON.stringify({ pid: process.pid, since: Date.now() }));
    await expect(withLocalLock(dir, "k", async () => "never", 300)).rejects.toThrow(/timed out waiting for .*\.lock, held by another awslease process/);
  });
});
