/**
 * lab/judged.ts, the judges' cache: an answer is replayed only for exactly the inputs it was
 * given for, everything else asks the judge, and CI always asks.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { digestOf, judged, judgedSync, type Judgement, type JudgedRun } from "./lab/judged";

const work = mkdtempSync(path.join(tmpdir(), "pvdn-judged-"));
const saved = { ...process.env };
beforeEach(() => {
  process.env.PVE_DUALNET_JUDGE_CACHE = "on";
  process.env.PVE_DUALNET_JUDGE_CACHE_DIR = mkdtempSync(path.join(work, "cache-"));
});
afterEach(() => {
  for (const name of ["PVE_DUALNET_JUDGE_CACHE", "PVE_DUALNET_JUDGE_CACHE_DIR", "CI"]) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

/** A judge that counts how often it is asked and answers with its count. */
function countingJudge(answer: Partial<Judgement> = {}) {
  const judge = { asked: 0, ask: async (): Promise<Judgement> => ({ status: 0, stdout: `answer ${++judge.asked}`, stderr: "", ...answer }) };
  return judge;
}

describe("the judges' cache", () => {
  it("replays an answer for the same judge, texts and input bytes, without asking again", async () => {
    const input = path.join(work, "same.txt");
    writeFileSync(input, "x");
    const judge = countingJudge();
    const run: JudgedRun = { judge: "lint --strict", texts: { stdin: "a" }, inputs: [input] };
    expect(await judged(run, judge.ask)).toEqual({ status: 0, stdout: "answer 1", stderr: "" });
    expect(await judged(run, judge.ask)).toEqual({ status: 0, stdout: "answer 1", stderr: "" });
    expect(judgedSync(run, () => ({ status: 0, stdout: "never", stderr: "" }))).toEqual({ status: 0, stdout: "answer 1", stderr: "" });
    expect(judge.asked).toBe(1);
  });

  it("asks again when a byte of an input file, a text, the arguments or an input directory changes", async () => {
    const dir = path.join(work, "inputs");
    mkdirSync(path.join(dir, "sub"), { recursive: true });
    writeFileSync(path.join(dir, "sub", "a.yml"), "a: 1\n");
    const judge = countingJudge();
    const base: JudgedRun = { judge: "check", texts: { stdin: "a" }, inputs: [dir] };
    await judged(base, judge.ask);
    writeFileSync(path.join(dir, "sub", "a.yml"), "a: 2\n");
    await judged(base, judge.ask);
    writeFileSync(path.join(dir, "sub", "b.yml"), "");
    await judged(base, judge.ask);
    await judged({ ...base, texts: { stdin: "b" } }, judge.ask);
    await judged({ ...base, judge: "check --strict" }, judge.ask);
    expect(judge.asked).toBe(5);
    // Tools' own state directories are not inputs.
    mkdirSync(path.join(dir, ".ansible"));
    writeFileSync(path.join(dir, ".ansible", "state"), "anything");
    await judged({ ...base, judge: "check --strict" }, judge.ask);
    expect(judge.asked).toBe(5);
  });

  it("digests a tree anew for a byte of a file, a file's name, a new file or the inputs' order (digestOf, a text of a key)", () => {
    const [a, b] = ["digest-a", "digest-b"].map((name) => path.join(work, name));
    for (const dir of [a, b]) mkdirSync(path.join(dir, "sub"), { recursive: true });
    writeFileSync(path.join(a, "sub", "x.ts"), "x");
    writeFileSync(path.join(b, "y.ts"), "y");
    const seen = new Set([digestOf([a, b])]);
    expect(digestOf([a, b])).toBe([...seen][0]);
    const changes = [
      () => writeFileSync(path.join(a, "sub", "x.ts"), "z"),
      () => renameSync(path.join(a, "sub", "x.ts"), path.join(a, "sub", "w.ts")),
      () => writeFileSync(path.join(b, "new.ts"), ""),
    ];
    for (const change of changes) {
      change();
      seen.add(digestOf([a, b]));
    }
    seen.add(digestOf([b, a]));
    expect(seen.size).toBe(5);
  });

  it("writes back what the judge wrote, and removes what it removed", async () => {
    const out = path.join(work, "out");
    mkdirSync(out);
    writeFileSync(path.join(out, "stale"), "from before");
    const run: JudgedRun = { judge: "render", inputs: [out], outputs: out };
    const render = async (): Promise<Judgement> => {
      writeFileSync(path.join(out, "rendered.txt"), "rendered");
      rmSync(path.join(out, "stale"));
      return { status: 0, stdout: "", stderr: "" };
    };
    await judged(run, render);
    // The same starting point again: the answer and the directory come from the cache.
    rmSync(path.join(out, "rendered.txt"));
    writeFileSync(path.join(out, "stale"), "from before");
    await judged(run, async () => {
      throw new Error("the judge was asked again");
    });
    expect(readdirSync(out)).toEqual(["rendered.txt"]);
    expect(readFileSync(path.join(out, "rendered.txt"), "utf8")).toBe("rendered");
  });

  it("writes back each file with the mode the judge gave it", async () => {
    const out = path.join(work, "modes");
    mkdirSync(out);
    const run: JudgedRun = { judge: "install", inputs: [out], outputs: out };
    await judged(run, async () => {
      writeFileSync(path.join(out, "run.sh"), "#!/bin/sh\n");
      writeFileSync(path.join(out, "key"), "secret");
      chmodSync(path.join(out, "key"), 0o600);
      chmodSync(path.join(out, "run.sh"), 0o750);
      return { status: 0, stdout: "", stderr: "" };
    });
    rmSync(out, { recursive: true });
    mkdirSync(out);
    await judged(run, async () => {
      throw new Error("the judge was asked again");
    });
    expect([statSync(path.join(out, "run.sh")).mode & 0o777, statSync(path.join(out, "key")).mode & 0o777]).toEqual([0o750, 0o600]);
  });

  it("never remembers a judge that was killed or not found", async () => {
    for (const status of [null, 127]) {
      const judge = countingJudge({ status });
      await judged({ judge: `gone ${status}` }, judge.ask);
      await judged({ judge: `gone ${status}` }, judge.ask);
      expect([status, judge.asked]).toEqual([status, 2]);
    }
  });

  it("always asks in CI, and when turned off", async () => {
    for (const env of [{ CI: "true", PVE_DUALNET_JUDGE_CACHE: undefined }, { CI: undefined, PVE_DUALNET_JUDGE_CACHE: "off" }]) {
      for (const [name, value] of Object.entries(env)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      const judge = countingJudge();
      await judged({ judge: "always" }, judge.ask);
      await judged({ judge: "always" }, judge.ask);
      expect([env, judge.asked]).toEqual([env, 2]);
    }
  });
});
