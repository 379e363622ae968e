/**
 * examples/flaky_upstream.conf driven by curl, one request per connection, one after another:
 * each request meets a good reply, a slow one, a reset, a half-close or a truncated reply, and
 * curl reports which (exit code, message, timing). The seed makes the sequence the same on
 * every run, and it meets all five within 20 requests.
 */
import assert from "node:assert/strict";
import { clientTest, runClient, serveExample } from "./real_clients.ts";

type Outcome = "good" | "slow" | "reset" | "half-close" | "truncated";

/** What curl's exit code, message, body and timing say happened. */
function classify(code: number, stdout: string, stderr: string): { outcome: Outcome; s: number } {
  const [body, time] = stdout.split("|");
  const s = Number(time);
  if (code === 0 && body === "ok\n") return { outcome: "good", s };
  if (code === 0 && body === "slow, but complete.\n") return { outcome: "slow", s };
  if (code === 56 && /reset by peer/i.test(stderr)) return { outcome: "reset", s };
  if (code === 52 && /Empty reply from server/.test(stderr)) return { outcome: "half-close", s };
  if (code === 18 && /900 bytes remaining/.test(stderr)) return { outcome: "truncated", s };
  throw new Error(`unexpected curl result: exit ${code}, stdout ${stdout}, stderr ${stderr}`);
}

clientTest(
  "curl meets every fault of the flaky upstream, and reports each",
  ["curl"],
  async (bin) => {
    await using ex = await serveExample("flaky_upstream.conf");
    const seen: Outcome[] = [];
    for (let i = 1; i <= 20; i++) {
      const out = await runClient(bin.curl, [
        "-sS",
        "--max-time",
        "5",
        "-w",
        "|%{time_total}",
        `http://127.0.0.1:${ex.port}/`,
      ]);
      const { outcome, s } = classify(out.code, out.stdout, out.stderr.trim());
      console.log(`request ${i}: ${outcome} (curl exit ${out.code}, ${s.toFixed(3)} s)`);
      if (outcome === "slow") assert.ok(s >= 0.75, `a slow reply took ${s} s`);
      if (outcome === "good") assert.ok(s < 0.3, `a good reply took ${s} s`);
      seen.push(outcome);
    }
    for (const outcome of ["good", "slow", "reset", "half-close", "truncated"] as const) {
      assert.ok(seen.includes(outcome), `${outcome} never happened in ${seen.join(", ")}`);
    }
    const transcripts = await ex.sessions();
    assert.equal(transcripts.length, 20);
    assert.equal(
      transcripts.filter((t) => t.end === "reset").length,
      seen.filter((o) => o === "reset").length,
    );
  },
);
