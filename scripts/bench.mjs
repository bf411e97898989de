#!/usr/bin/env node
// The synth benchmark: what a synth costs, next to what it cannot cost less than.
//
//   npm run bench                              sizes 4, 100, 1000 and 5000 VMs, 5 rounds
//   npm run bench -- --rounds 7 --sizes 4,1000  other rounds or sizes
//   npm run bench -- --quick                   3 rounds, sizes 4 and 100 (a smoke run)
//
// For every size, each round runs every way of synthesizing once, in an order that rotates from
// round to round (so drift on the machine spreads over all of them), and the figures are medians
// over the rounds; ratios and differences are taken within a round (paired), then their median:
//
//   floor   the bare cdktf CLI synthesizing a one-output app: what any cdktf app pays
//   cli     `cdktf synth` of pve-dualnet (the CLI plus the app it runs)
//   app     the app alone, as the CLI runs it (node dist/main.js, the esbuild bundle)
//   naive   the cdktf template way: ts-node with type-checking, the providers' top-level barrels,
//           cdktf's stack capture for every construct and token
//
// CPU is user + system time of the whole process tree (the shell's `times` for its reaped
// children); memory is the largest peak RSS of any Node process in it. A benchmark, never a
// test: it prints figures and never fails on them.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { ensureBundles } from "./bundle.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = path.join(root, ".bench");
const { values: flags } = parseArgs({
  options: { rounds: { type: "string" }, sizes: { type: "string" }, quick: { type: "boolean", default: false } },
});
const rounds = Number(flags.rounds ?? (flags.quick ? 3 : 5));
const sizes = (flags.sizes ?? (flags.quick ? "4,100" : "4,100,1000,5000")).split(",").map(Number);
if (!(rounds >= 1) || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
  console.error("usage: npm run bench -- [--rounds N] [--sizes 4,100,1000,5000] [--quick]");
  process.exit(2);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// The cdktf CLI runs terraform; one pointed at a missing config file complains at every start.
if (process.env.TF_CLI_CONFIG_FILE && !existsSync(process.env.TF_CLI_CONFIG_FILE)) delete process.env.TF_CLI_CONFIG_FILE;

/** A cluster of `vms` node VMs over `nodes` Proxmox nodes, in the example's shape; 4 is the example itself. */
function estateFile(vms) {
  if (vms === 4) return path.join(root, "examples", "cluster.yaml");
  const nodes = Math.min(20, Math.ceil(vms / 5));
  const ip = (base, i) => `${base}.${Math.floor(i / 250)}.${(i % 250) + 2}`;
  const estate = {
    name: `bench-${vms}`,
    proxmox: {
      endpoint: "https://172.16.255.2:8006/",
      nodes: Array.from({ length: nodes }, (_, n) => ({
        name: `pve${n + 1}`,
        interfaces: [
          { kind: "nic", name: "enp4s0" },
          { kind: "nic", name: "enp5s0" },
          { kind: "bridge", name: "vmbr0", network: "external", address: `172.16.255.${n + 2}`, ports: ["enp4s0"] },
          { kind: "bridge", name: "vmbr1", network: "internal", address: `10.0.255.${n + 2}`, ports: ["enp5s0"] },
        ],
      })),
    },
    networks: {
      external: { cidr: "172.16.0.0/16", gateway: "172.16.255.1", dns: ["172.16.255.1"] },
      internal: { cidr: "10.0.0.0/16", mtu: 9000, jumboFrames: true },
    },
    vmDefaults: { source: { clone: { vmId: 9000 } } },
    vms: Array.from({ length: vms }, (_, i) => ({
      name: `node-${i + 1}`,
      id: 1000 + i,
      role: i < 3 ? "control-plane" : "worker",
      ip: { external: ip("172.16", i), internal: ip("10.0", i) },
    })),
    kubernetes: { podCidr: "10.128.0.0/9", serviceCidr: "10.96.0.0/12", apiServer: { vip: "10.0.254.10" } },
  };
  const file = path.join(work, `estate-${vms}.yaml`);
  writeFileSync(file, stringify(estate));
  return file;
}

// Peak RSS of every Node process of a run: a preload appends its maxRSS (KiB) at exit.
const rssProbe = path.join(work, "rss-probe.cjs");
writeFileSync(rssProbe, 'process.on("exit", () => require("fs").appendFileSync(process.env.BENCH_RSS_FILE, process.resourceUsage().maxRSS + "\\n"));\n');

// The floor: a one-output cdktf app, synthesized by the same CLI.
const floorDir = path.join(work, "floor");
mkdirSync(floorDir);
writeFileSync(path.join(floorDir, "cdktf.json"), JSON.stringify({ language: "typescript", app: "node floor.js", sendCrashReports: "false" }));
writeFileSync(
  path.join(floorDir, "floor.js"),
  'const { App, TerraformOutput, TerraformStack } = require("cdktf");\nconst app = new App();\nnew TerraformOutput(new TerraformStack(app, "floor"), "hello", { value: "world" });\napp.synth();\n',
);

// The naive app: what the cdktf TypeScript template runs, with pve-dualnet's stacks.
const naiveApp = path.join(root, "naive-main.bench.ts");
writeFileSync(naiveApp, ["// Written by scripts/bench.mjs for one run: the cdktf template way.", 'import "@cdktf/provider-kubernetes";', 'import "@cdktf/provider-local";', 'import "./.gen/providers/proxmox";', 'import "./main";', ""].join("\n"));
process.on("exit", () => rmSync(naiveApp, { force: true }));

const cdktfCli = path.join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf");
const out = path.join(work, "out");
const WAYS = {
  floor: () => ({ cwd: floorDir, args: [process.execPath, cdktfCli, "synth", "--output", out] }),
  cli: () => ({ cwd: root, args: [process.execPath, cdktfCli, "synth", "--output", out] }),
  app: () => ({ cwd: root, args: [process.execPath, path.join(root, "dist", "main.js")] }),
  naive: () => ({ cwd: root, args: [process.execPath, path.join(root, "node_modules", "ts-node", "dist", "bin.js"), naiveApp], env: { PVE_DUALNET_CREATION_STACKS: "1" } }),
};

/** One run: CPU (ms) of the process tree, wall (ms), largest peak RSS (MiB). */
function run(way, config) {
  const { cwd, args, env = {} } = WAYS[way]();
  const rssFile = path.join(work, "rss");
  rmSync(rssFile, { force: true });
  rmSync(out, { recursive: true, force: true });
  const started = process.hrtime.bigint();
  // `times` prints the shell's CPU, then its reaped children's: the command's whole tree.
  const result = spawnSync("bash", ["-c", '"$@" >"$BENCH_LOG" 2>&1; status=$?; times; exit $status', "bench", ...args], {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      ...env,
      PVE_DUALNET_CONFIG: config,
      CDKTF_OUTDIR: out,
      BENCH_RSS_FILE: rssFile,
      BENCH_LOG: path.join(work, "log"),
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${rssProbe}`.trim(),
      CHECKPOINT_DISABLE: "1",
    },
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${way} failed (${config}):\n${readFileSync(path.join(work, "log"), "utf8").slice(-4000)}`);
  const seconds = (m) => Number(m[1]) * 60 + Number(m[2]);
  const children = result.stdout.trim().split("\n").at(-1).match(/(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s/);
  const cpu = (seconds([, children[1], children[2]]) + seconds([, children[3], children[4]])) * 1000;
  const rss = Math.max(...readFileSync(rssFile, "utf8").trim().split("\n").map(Number)) / 1024;
  return { cpu, wall, rss };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

await ensureBundles();
const ways = Object.keys(WAYS);
const results = [];
for (const vms of sizes) {
  const config = estateFile(vms);
  const samples = Object.fromEntries(ways.map((w) => [w, []]));
  for (let r = 0; r < rounds; r++) {
    const order = ways.map((_, i) => ways[(i + r) % ways.length]);
    for (const way of order) samples[way].push(run(way, config));
    process.stderr.write(`${vms} VMs: round ${r + 1}/${rounds}\n`);
  }
  const paired = (f) => median(samples.app.map((_, i) => f(i)));
  results.push({
    vms,
    samples,
    medians: Object.fromEntries(ways.map((w) => [w, { cpu: median(samples[w].map((s) => s.cpu)), wall: median(samples[w].map((s) => s.wall)), rss: median(samples[w].map((s) => s.rss)) }])),
    appOverFloor: paired((i) => samples.app[i].cpu / samples.floor[i].cpu),
    cliMinusFloor: paired((i) => samples.cli[i].cpu - samples.floor[i].cpu),
    cliMinusFloorWall: paired((i) => samples.cli[i].wall - samples.floor[i].wall),
    naiveOverApp: paired((i) => samples.naive[i].cpu / samples.app[i].cpu),
  });
}

const f0 = (n) => n.toFixed(0);
const s1 = (ms) => `${(ms / 1000).toFixed(2)} s`;
const cpuModel = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${cpuModel}, ${f0(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; ${rounds} alternating rounds per size, medians.`,
  "",
  "| VMs | floor CPU | `cdktf synth` CPU (wall) | app CPU (wall) | app peak RSS | app ÷ floor CPU | `cdktf synth` − floor CPU (wall) | naive CPU (wall) | naive ÷ app CPU |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(({ vms, medians: m, appOverFloor, cliMinusFloor, cliMinusFloorWall, naiveOverApp }) =>
    `| ${vms} | ${s1(m.floor.cpu)} | ${s1(m.cli.cpu)} (${s1(m.cli.wall)}) | ${s1(m.app.cpu)} (${s1(m.app.wall)}) | ${f0(m.app.rss)} MiB | ${appOverFloor.toFixed(2)}× | ${s1(cliMinusFloor)} (${s1(cliMinusFloorWall)}) | ${s1(m.naive.cpu)} (${s1(m.naive.wall)}) | ${naiveOverApp.toFixed(1)}× |`,
  ),
];
if (results.length > 1) {
  lines.push("", "Marginal cost of one more VM (app, between consecutive sizes):", "");
  for (let i = 1; i < results.length; i++) {
    const [a, b] = [results[i - 1], results[i]];
    const per = (key) => (b.medians.app[key] - a.medians.app[key]) / (b.vms - a.vms);
    lines.push(`- ${a.vms} → ${b.vms} VMs: ${per("cpu").toFixed(2)} ms CPU, ${(per("rss") * 1024).toFixed(0)} KiB`);
  }
}
console.log(lines.join("\n"));
writeFileSync(path.join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), cpu: cpuModel, cores: os.cpus().length, node: process.version, rounds, results }, null, 2));
