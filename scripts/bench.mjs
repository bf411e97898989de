#!/usr/bin/env node
// The synth benchmark: what a synth costs, next to what it cannot cost less than.
//
//   npm run bench                              sizes 4, 100, 1000, 5000 and 10000 VMs, 5 rounds
//   npm run bench -- --rounds 7 --sizes 4,1000  other rounds or sizes
//   npm run bench -- --ways app,bytes           only these ways of synthesizing (any of floor, cli,
//                                              app, naive, bytes; the app always runs)
//   npm run bench -- --baseline old/main.js    also the app as an earlier bundle of it ran (before),
//                                              paired with the app in the same rounds
//   npm run bench -- --quick                   3 rounds, sizes 4 and 100 (a smoke run)
//   npm run bench -- --plan                    terraform plan of the VMs: one stack against shards
//                                              (1000 VMs on 20 Proxmox nodes, 3 rounds; --sizes,
//                                              --rounds as above)
//   npm run bench -- --validate                terraform validate of the same stack shapes (one `vms`
//                                              stack, one shard, the sharded `vms` stack)
//
// For every size, each round runs every way of synthesizing once, in an order that rotates from
// round to round (so drift on the machine spreads over all of them), and the figures are medians
// over the rounds; ratios and differences are taken within a round (paired), then their median:
//
//   floor   the bare cdktf CLI synthesizing a one-output app: what any cdktf app pays
//   cli     `cdktf synth` of pve-dualnet (the CLI plus the app it runs)
//   app     the app alone, as the CLI runs it (node dist/main.js: the esbuild bundle, run with
//           V8's code cache of it, bin/bundle.mjs)
//   naive   the cdktf template way: ts-node with type-checking, the providers' top-level barrels,
//           cdktf's stack capture for every construct and token
//   bytes   the bytes-out floor: a Node program that reads the description, parses its YAML and
//           writes the bytes the app writes (taken from one synth beforehand) to the same files,
//           what no synth of that description can cost less than
//
// Then the start-up pair, in rounds of their own (the order alternating): the same command,
// `pve-dualnet check examples/cluster.yaml`, started by `npx` and directly
// (`node bin/pve-dualnet.mjs`), as a terminal and the pull-request workflow start it.
//
// CPU is user + system time of the whole process tree (the shell's `times` for its reaped
// children); memory is the largest peak RSS of any Node process in it. A benchmark, never a
// test: it prints figures and never fails on them.
//
// --plan synthesizes the estate twice, the VMs in one `vms` stack and sharded by node
// (vmStacks.shardBy: node), and times `terraform plan -refresh=false` (terraform on PATH, offline:
// the tests' schema-only stub serves the providers, __tests__/terraform/) of: the single stack;
// one shard; the sharded `vms` stack; every stack of step 2 one after another; and the same two
// at a time. CPU and peak RSS are terraform's own (GNU time); the stub's CPU, which stands in
// for the providers' and is not bpg/proxmox's, is counted apart. --validate times `terraform
// validate` of the three stack shapes the same way (what the tests and the workflow run on every
// stack).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { ensureBundles } from "../bin/bundle.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const work = path.join(root, ".bench");
const { values: flags } = parseArgs({
  options: {
    rounds: { type: "string" },
    sizes: { type: "string" },
    ways: { type: "string" },
    baseline: { type: "string" },
    quick: { type: "boolean", default: false },
    plan: { type: "boolean", default: false },
    validate: { type: "boolean", default: false },
  },
});
// --validate is --plan's sibling: the same estates and stub, terraform validate instead of plan.
const terraformMode = flags.validate ? "validate" : flags.plan ? "plan" : undefined;
const rounds = Number(flags.rounds ?? (flags.quick || terraformMode ? 3 : 5));
const sizes = (flags.sizes ?? (terraformMode ? "1000" : flags.quick ? "4,100" : "4,100,1000,5000,10000")).split(",").map(Number);
const ALL_WAYS = ["floor", "cli", "app", "naive", "bytes"];
const chosen = new Set(flags.ways ? ["app", ...flags.ways.split(",")] : ALL_WAYS);
if (flags.baseline) {
  ALL_WAYS.push("before");
  chosen.add("before");
}
// The generated estates hold up to 250 VMs per /24 of a /16 (40000 on each network).
if (!(rounds >= 1) || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 40000) || (terraformMode && sizes.some((n) => n < 5)) || [...chosen].some((w) => !ALL_WAYS.includes(w))) {
  console.error(`usage: npm run bench -- [--rounds N] [--sizes 4,100,1000,5000,10000] [--ways ${ALL_WAYS.join(",")}] [--quick] [--plan | --validate (sizes of 5 VMs or more)]`);
  process.exit(2);
}

rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
// The cdktf CLI runs terraform; one pointed at a missing config file complains at every start.
if (process.env.TF_CLI_CONFIG_FILE && !existsSync(process.env.TF_CLI_CONFIG_FILE)) delete process.env.TF_CLI_CONFIG_FILE;

/**
 * A cluster of `vms` node VMs over `nodes` Proxmox nodes, in the example's shape; 4 is the example
 * itself. `shardBy` sets vmStacks.shardBy and writes each VM's node (where round-robin puts it:
 * the same VMs on the same nodes either way).
 */
function estateFile(vms, { shardBy } = {}) {
  if (vms === 4 && !shardBy) return path.join(root, "examples", "cluster.yaml");
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
      // From 1000 on, past the template the VMs clone (9000).
      id: 1000 + i + (1000 + i >= 9000 ? 1 : 0),
      role: i < 3 ? "control-plane" : "worker",
      ...(shardBy ? { node: `pve${(i % nodes) + 1}` } : {}),
      ip: { external: ip("172.16", i), internal: ip("10.0", i) },
    })),
    ...(shardBy ? { vmStacks: { shardBy } } : {}),
    kubernetes: { podCidr: "10.128.0.0/9", serviceCidr: "10.96.0.0/12", apiServer: { vip: "10.0.254.10" } },
  };
  const file = path.join(work, `estate-${vms}${shardBy ? `-${shardBy}` : ""}.yaml`);
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

// The bytes-out floor: the description read and parsed (by the yaml package, as the app reads it),
// then the app's own output, read from `BENCH_BYTES` (one synth of the same description, made
// beforehand), written to the same files. Reading those bytes costs it a copy from the page cache.
const bytesFloor = path.join(work, "bytes-floor.cjs");
writeFileSync(
  bytesFloor,
  [
    'const fs = require("node:fs");',
    'const path = require("node:path");',
    `const { parse } = require(${JSON.stringify(createRequire(import.meta.url).resolve("yaml"))});`,
    'parse(fs.readFileSync(process.env.PVE_DUALNET_CONFIG, "utf8"));',
    "const from = process.env.BENCH_BYTES;",
    "const to = process.env.CDKTF_OUTDIR;",
    'for (const file of JSON.parse(fs.readFileSync(path.join(from, "..", "files.json"), "utf8"))) {',
    "  fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });",
    "  fs.writeFileSync(path.join(to, file), fs.readFileSync(path.join(from, file)));",
    "}",
    "",
  ].join("\n"),
);

/** Every file of a directory, by its path inside it. */
function filesOf(dir, under = "") {
  return readdirSync(path.join(dir, under), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesOf(dir, path.join(under, e.name)) : [path.join(under, e.name)]));
}

const cdktfCli = path.join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf");
const out = path.join(work, "out");
const reference = path.join(work, "reference", "out");
const WAYS = {
  floor: () => ({ cwd: floorDir, args: [process.execPath, cdktfCli, "synth", "--output", out] }),
  cli: () => ({ cwd: root, args: [process.execPath, cdktfCli, "synth", "--output", out] }),
  app: () => ({ cwd: root, args: [process.execPath, path.join(root, "dist", "main.js")] }),
  naive: () => ({ cwd: root, args: [process.execPath, path.join(root, "node_modules", "ts-node", "dist", "bin.js"), naiveApp], env: { PVE_DUALNET_CREATION_STACKS: "1" } }),
  bytes: () => ({ cwd: root, args: [process.execPath, bytesFloor], env: { BENCH_BYTES: reference } }),
  before: () => ({ cwd: root, args: [process.execPath, path.resolve(flags.baseline)] }),
  // The start-up pair (no synth): one command, started two ways.
  npx: () => ({ cwd: root, args: ["npx", "pve-dualnet", "check", "examples/cluster.yaml"] }),
  direct: () => ({ cwd: root, args: [process.execPath, path.join(root, "bin", "pve-dualnet.mjs"), "check", "examples/cluster.yaml"] }),
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
if (terraformMode) {
  await planBench(terraformMode);
  process.exit(0);
}
const ways = ALL_WAYS.filter((w) => chosen.has(w));
const results = [];
for (const vms of sizes) {
  const config = estateFile(vms);
  // The app's output, once: what the bytes-out floor writes, and its size.
  rmSync(path.dirname(reference), { recursive: true, force: true });
  mkdirSync(path.dirname(reference), { recursive: true });
  const synth = spawnSync(process.execPath, [path.join(root, "dist", "main.js")], { cwd: root, encoding: "utf8", env: { ...process.env, PVE_DUALNET_CONFIG: config, CDKTF_OUTDIR: reference } });
  if (synth.status !== 0) throw new Error(`synth failed (${config}):\n${synth.stderr}`);
  const files = filesOf(reference);
  writeFileSync(path.join(reference, "..", "files.json"), JSON.stringify(files));
  const outputBytes = files.reduce((n, f) => n + statSync(path.join(reference, f)).size, 0);
  const samples = Object.fromEntries(ways.map((w) => [w, []]));
  for (let r = 0; r < rounds; r++) {
    const order = ways.map((_, i) => ways[(i + r) % ways.length]);
    for (const way of order) samples[way].push(run(way, config));
    process.stderr.write(`${vms} VMs: round ${r + 1}/${rounds}\n`);
  }
  const paired = (f, ...need) => (need.every((w) => chosen.has(w)) ? median(samples.app.map((_, i) => f(i))) : undefined);
  results.push({
    vms,
    outputBytes,
    samples,
    medians: Object.fromEntries(ways.map((w) => [w, { cpu: median(samples[w].map((s) => s.cpu)), wall: median(samples[w].map((s) => s.wall)), rss: median(samples[w].map((s) => s.rss)) }])),
    appOverFloor: paired((i) => samples.app[i].cpu / samples.floor[i].cpu, "floor"),
    appOverBytes: paired((i) => samples.app[i].cpu / samples.bytes[i].cpu, "bytes"),
    cliMinusFloor: paired((i) => samples.cli[i].cpu - samples.floor[i].cpu, "cli", "floor"),
    cliMinusFloorWall: paired((i) => samples.cli[i].wall - samples.floor[i].wall, "cli", "floor"),
    naiveOverApp: paired((i) => samples.naive[i].cpu / samples.app[i].cpu, "naive"),
    appOverBefore: paired((i) => samples.app[i].cpu / samples.before[i].cpu, "before"),
    beforeOverBytes: paired((i) => samples.before[i].cpu / samples.bytes[i].cpu, "before", "bytes"),
    beforeOverFloor: paired((i) => samples.before[i].cpu / samples.floor[i].cpu, "before", "floor"),
  });
}

// The start-up pair: `npx pve-dualnet check` against `node bin/pve-dualnet.mjs check`, paired per round.
const startup = { npx: [], direct: [] };
for (let r = 0; r < rounds; r++) {
  for (const way of r % 2 ? ["direct", "npx"] : ["npx", "direct"]) startup[way].push(run(way, path.join(root, "examples", "cluster.yaml")));
  process.stderr.write(`start-up: round ${r + 1}/${rounds}\n`);
}

const f0 = (n) => n.toFixed(0);
const s1 = (ms) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(2)} s`);
const x = (ratio, digits = 2) => (ratio === undefined ? "–" : `${ratio.toFixed(digits)}×`);
const mb = (bytes) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`);
const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? "";
const cpuModel = lscpu.match(/^Model name:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model.trim() ?? "unknown CPU";
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpuModel} (\`nproc\` ${os.availableParallelism()}), ${f0(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}; load average ${os.loadavg()[0].toFixed(1)} at the end; ${rounds} alternating rounds per size, medians.`,
  "",
  "| VMs | output | CLI floor CPU | bytes-out floor CPU | app CPU (wall) | app peak RSS | app ÷ CLI floor | app ÷ bytes-out floor | `cdktf synth` CPU (wall) | `cdktf synth` − CLI floor CPU (wall) | naive CPU (wall) | naive ÷ app |",
  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ...results.map(({ vms, outputBytes, medians: m, appOverFloor, appOverBytes, cliMinusFloor, cliMinusFloorWall, naiveOverApp }) =>
    `| ${vms} | ${mb(outputBytes)} | ${s1(m.floor?.cpu)} | ${s1(m.bytes?.cpu)} | ${s1(m.app.cpu)} (${s1(m.app.wall)}) | ${f0(m.app.rss)} MiB | ${x(appOverFloor)} | ${x(appOverBytes)} | ${s1(m.cli?.cpu)} (${s1(m.cli?.wall)}) | ${s1(cliMinusFloor)} (${s1(cliMinusFloorWall)}) | ${s1(m.naive?.cpu)} (${s1(m.naive?.wall)}) | ${x(naiveOverApp, 1)} |`,
  ),
];
if (flags.baseline) {
  lines.push(
    "",
    `Before (${flags.baseline}), paired with the app in the same rounds:`,
    "",
    "| VMs | before CPU (wall) | before peak RSS | app ÷ before CPU | before ÷ CLI floor | before ÷ bytes-out floor |",
    "|---:|---:|---:|---:|---:|---:|",
    ...results.map(({ vms, medians: m, appOverBefore, beforeOverFloor, beforeOverBytes }) =>
      `| ${vms} | ${s1(m.before.cpu)} (${s1(m.before.wall)}) | ${f0(m.before.rss)} MiB | ${x(appOverBefore)} | ${x(beforeOverFloor)} | ${x(beforeOverBytes)} |`,
    ),
  );
}
if (results.length > 1) {
  lines.push("", "Marginal cost of one more VM (app, between consecutive sizes):", "");
  for (let i = 1; i < results.length; i++) {
    const [a, b] = [results[i - 1], results[i]];
    const per = (key) => (b.medians.app[key] - a.medians.app[key]) / (b.vms - a.vms);
    lines.push(`- ${a.vms} → ${b.vms} VMs: ${per("cpu").toFixed(2)} ms CPU, ${(per("rss") * 1024).toFixed(0)} KiB`);
  }
}
const startupMedian = (way, key) => median(startup[way].map((s) => s[key]));
lines.push(
  "",
  `Start-up, \`pve-dualnet check examples/cluster.yaml\` (${rounds} alternating pairs): \`npx pve-dualnet\` ${s1(startupMedian("npx", "wall"))} wall, ${s1(startupMedian("npx", "cpu"))} CPU; \`node bin/pve-dualnet.mjs\` ${s1(startupMedian("direct", "wall"))} wall, ${s1(startupMedian("direct", "cpu"))} CPU; npx ÷ direct ${x(median(startup.npx.map((s, i) => s.wall / startup.direct[i].wall)), 1)} wall, ${x(median(startup.npx.map((s, i) => s.cpu / startup.direct[i].cpu)), 1)} CPU (paired).`,
);
console.log(lines.join("\n"));
writeFileSync(path.join(work, "results.json"), JSON.stringify({ date: new Date().toISOString(), cpu: cpuModel, cores: os.availableParallelism(), node: process.version, rounds, results, startup }, null, 2));

// ---------------------------------------------------------------------------
// --plan: terraform plan of the VMs, one stack against shards
// ---------------------------------------------------------------------------

/** `terraform <args>` in `cwd`; with `timed`, terraform's CPU (ms), peak RSS (MiB) and wall (ms) by GNU time. */
function terraform(args, cwd, env, { timed = false } = {}) {
  const times = path.join(cwd, "time.txt");
  const log = path.join(cwd, "terraform.log");
  const started = process.hrtime.bigint();
  const command = timed ? ["/usr/bin/time", "-f", "%U %S %M", "-o", times, "terraform", ...args] : ["terraform", ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ["ignore", openSync(log, "w"), openSync(log, "a")] });
    child.on("error", reject);
    child.on("close", (status) => {
      const output = readFileSync(log, "utf8");
      if (status !== 0) return reject(new Error(`terraform ${args.join(" ")} failed in ${cwd}:\n${output.slice(-3000)}`));
      if (!timed) return resolve({ output });
      const [user, system, rss] = readFileSync(times, "utf8").trim().split("\n").at(-1).split(" ").map(Number);
      resolve({ output, cpu: (user + system) * 1000, rss: rss / 1024, wall: Number(process.hrtime.bigint() - started) / 1e6 });
    });
  });
}

/** CPU (ms) a process has used so far (user + system, from /proc). */
function processCpu(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** `mode`: "plan" (the five plan scenarios) or "validate" (terraform validate of the three stack shapes). */
async function planBench(mode) {
  // The tests' own stub and schemas (TypeScript, loaded through tsx as CommonJS, so they find their files).
  const { require: tsxRequire } = await import("tsx/cjs/api");
  const { writeProviderSchemas, startStub, stopStub } = tsxRequire("../__tests__/terraform/terraform.ts", import.meta.url);
  const terraformVersion = spawnSync("terraform", ["version"], { encoding: "utf8" }).stdout.split("\n")[0];
  const results = [];
  for (const vms of sizes) {
    // Both layouts, synthesized as the app does.
    const layouts = {};
    for (const shardBy of ["none", "node"]) {
      const project = path.join(work, `plan-${vms}-${shardBy}`);
      const out = path.join(project, "cdktf.out");
      mkdirSync(project, { recursive: true });
      const synth = spawnSync(process.execPath, [path.join(root, "dist", "main.js")], { cwd: root, encoding: "utf8", env: { ...process.env, PVE_DUALNET_CONFIG: estateFile(vms, { shardBy }), CDKTF_OUTDIR: out } });
      if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stderr}`);
      const stacks = Object.keys(JSON.parse(readFileSync(path.join(out, "manifest.json"), "utf8")).stacks);
      const json = Object.fromEntries(stacks.map((id) => [id, JSON.parse(readFileSync(path.join(out, "stacks", id, "cdk.tf.json"), "utf8"))]));
      const resources = Object.fromEntries(stacks.map((id) => [id, Object.values(json[id].resource ?? {}).reduce((n, byName) => n + Object.keys(byName).length, 0)]));
      layouts[shardBy] = { dir: (id) => path.join(out, "stacks", id), stacks, json, resources };
    }
    const single = layouts.none;
    const sharded = layouts.node;
    const step2 = sharded.stacks.filter((id) => id === "vms" || id.startsWith("vms-"));
    const shards = step2.filter((id) => id !== "vms");
    const totalSharded = step2.reduce((n, id) => n + sharded.resources[id], 0);
    if (totalSharded !== single.resources.vms) throw new Error(`the shards hold ${totalSharded} resources, the single stack ${single.resources.vms}`);

    // The providers' schemas, served by the stub; every stack of step 2 initialized once.
    const stubDir = mkdtempSync(path.join(work, "stub-"));
    const types = [...new Set([single.json.vms, ...step2.map((id) => sharded.json[id])].flatMap((j) => Object.keys(j.resource ?? {})))];
    const { specs } = writeProviderSchemas(stubDir, types, { providers: ["registry.terraform.io/bpg/proxmox", "registry.terraform.io/hashicorp/local"] });
    const stub = await startStub(stubDir, specs);
    try {
      const { env } = stub;
      const dirs = [single.dir("vms"), ...(mode === "plan" ? step2 : ["vms", shards[0]]).map((id) => sharded.dir(id))];
      for (const dir of dirs) await terraform(["init", "-input=false", "-no-color"], dir, env);
      const plan = async (dir) => {
        if (mode === "validate") {
          const result = await terraform(["validate", "-no-color"], dir, env, { timed: true });
          if (!/The configuration is valid/.test(result.output)) throw new Error(`not valid in ${dir}:\n${result.output.slice(-2000)}`);
          return result;
        }
        const result = await terraform(["plan", "-refresh=false", "-lock=false", "-input=false", "-no-color"], dir, env, { timed: true });
        if (!/Plan: \d+ to add|No changes\./.test(result.output)) throw new Error(`no plan in ${dir}:\n${result.output.slice(-2000)}`);
        return result;
      };
      /** Plans `ids` of a layout, `parallel` at a time: terraform CPU summed, peak RSS the largest, wall of the whole, the stub's CPU. */
      const scenario = async (layout, ids, parallel = 1) => {
        const stubBefore = processCpu(stub.process.pid);
        const started = process.hrtime.bigint();
        const queue = [...ids];
        const runs = [];
        await Promise.all(Array.from({ length: parallel }, async () => {
          while (queue.length) runs.push(await plan(layout.dir(queue.shift())));
        }));
        return {
          cpu: runs.reduce((n, r) => n + r.cpu, 0),
          rss: Math.max(...runs.map((r) => r.rss)),
          wall: Number(process.hrtime.bigint() - started) / 1e6,
          stub: processCpu(stub.process.pid) - stubBefore,
        };
      };
      const SCENARIOS = {
        single: { label: "one `vms` stack (every VM)", stacks: 1, resources: single.resources.vms, run: () => scenario(single, ["vms"]) },
        shard: { label: `one shard (\`${shards[0]}\`)`, stacks: 1, resources: sharded.resources[shards[0]], run: () => scenario(sharded, [shards[0]]) },
        common: { label: "the sharded `vms` stack (cluster-wide)", stacks: 1, resources: sharded.resources.vms, run: () => scenario(sharded, ["vms"]) },
        serial: { label: "`vms` and every shard, one after another", stacks: step2.length, resources: totalSharded, run: () => scenario(sharded, step2) },
        parallel: { label: "`vms` and every shard, two at a time", stacks: step2.length, resources: totalSharded, run: () => scenario(sharded, step2, 2) },
      };
      const names = Object.keys(SCENARIOS).filter((name) => mode === "plan" || ["single", "shard", "common"].includes(name));
      const samples = Object.fromEntries(names.map((n) => [n, []]));
      for (let r = 0; r < rounds; r++) {
        const order = names.map((_, i) => names[(i + r) % names.length]);
        for (const name of order) samples[name].push(await SCENARIOS[name].run());
        process.stderr.write(`${mode}, ${vms} VMs: round ${r + 1}/${rounds}\n`);
      }
      const med = (name, key) => median(samples[name].map((s) => s[key]));
      results.push({
        vms,
        nodes: shards.length,
        samples,
        rows: names.map((name) => ({ name, ...SCENARIOS[name], run: undefined, cpu: med(name, "cpu"), wall: med(name, "wall"), rss: med(name, "rss"), stub: med(name, "stub") })),
        // Paired within each round: the single stack's CPU over one shard's.
        singleOverShard: median(samples.single.map((s, i) => s.cpu / samples.shard[i].cpu)),
        serialOverSingle: samples.serial ? median(samples.single.map((s, i) => samples.serial[i].cpu / s.cpu)) : undefined,
      });
    } finally {
      await stopStub(stub);
    }
  }

  const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;
  const lscpu = spawnSync("lscpu", [], { encoding: "utf8" }).stdout ?? "";
  const model = lscpu.match(/^Model name:\s*(.*)$/m)?.[1] ?? os.cpus()[0]?.model.trim() ?? "unknown CPU";
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${model}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${terraformVersion}, linux ${os.release()}; load average ${os.loadavg()[0].toFixed(1)} at the end; ${rounds} alternating rounds, medians.`,
  ];
  for (const r of results) {
    lines.push(
      "",
      mode === "plan"
        ? `${r.vms} VMs on ${r.nodes} Proxmox nodes: \`terraform plan -refresh=false\` (empty state: every resource to add)`
        : `${r.vms} VMs on ${r.nodes} Proxmox nodes: \`terraform validate\``,
      "",
      `| ${mode} | stacks | resources | terraform CPU | wall | terraform peak RSS | stub provider CPU |`,
      "|---|---:|---:|---:|---:|---:|---:|",
      ...r.rows.map((row) => `| ${row.label} | ${row.stacks} | ${row.resources} | ${sec(row.cpu)} | ${sec(row.wall)} | ${row.rss.toFixed(0)} MiB | ${sec(row.stub)} |`),
      "",
      `One stack's terraform CPU ÷ one shard's: ${r.singleOverShard.toFixed(1)}× (paired per round)${r.serialOverSingle === undefined ? "" : `; every stack of step 2 sharded ÷ one stack: ${r.serialOverSingle.toFixed(2)}×`}.`,
    );
  }
  console.log(lines.join("\n"));
  writeFileSync(path.join(work, `${mode}-results.json`), JSON.stringify({ date: new Date().toISOString(), model, cores: os.cpus().length, terraform: terraformVersion, rounds, results }, null, 2));
}
