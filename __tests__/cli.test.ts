/**
 * The entry points as users run them: `pve-dualnet` (the bundled command) and the cdktf app,
 * under the real cdktf CLI too. A broken description is reported once, with no stack trace, and
 * nothing is written; a good one synthesizes exactly what `cdktf synth` writes. The bundled
 * command runs as a process for each kind of outcome (a check, a synth compared with cdktf's,
 * a broken description, credentials in the environment, --help, a wrong command line); the
 * rest (parsing, the report's formats, the sharded synth, the other broken descriptions) runs
 * the same runCli in this process.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runCli } from "../cli";
import { stringify } from "yaml";
import { exampleInput, shardByNode, SHARDED_STACKS, tree } from "./helpers";
import { judged, settingsIn } from "./lab/judged";
import { runTool, type ToolResult } from "./lab/tools";

const root = path.join(__dirname, "..");
const dir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-cli-"));
const env: NodeJS.ProcessEnv = { ...process.env, CHECKPOINT_DISABLE: "1", PVE_DUALNET_SSH_PUBLIC_KEYS: "" };
delete env.TF_CLI_CONFIG_FILE;
delete env.PVE_DUALNET_CONFIG;
const cli = (...args: string[]) => cliWith({}, ...args);
const cliWith = (extra: NodeJS.ProcessEnv, ...args: string[]) => runTool(process.execPath, [path.join(root, "bin", "pve-dualnet.mjs"), ...args], { cwd: root, env: { ...env, ...extra } });
/**
 * `cdktf synth --output OUT` with the description CONFIG. Its answer depends on cdktf
 * (package-lock.json), the app bundle, the project's files, what OUT held and the environment the
 * app reads: the judges' cache replays it, OUT included, when none of them changed.
 */
const cdktfSynth = (config: string, out: string) =>
  judged(
    {
      judge: "cdktf synth",
      texts: { env: settingsIn(env, "PVE_DUALNET_", "CDKTF_", "TF_") },
      inputs: [...["dist/main.js", "dist/main.bundle.js", "bin/app.mjs", "bin/bundle.mjs", "cdktf.json", "package.json", "host", "ansible"].map((f) => path.join(root, f)), config, out],
      outputs: out,
    },
    () => runTool(process.execPath, [path.join(root, "node_modules", "cdktf-cli", "bundle", "bin", "cdktf"), "synth", "--output", out], { cwd: root, env: { ...env, PVE_DUALNET_CONFIG: config } }),
  );
/** runCli in this process, with what it printed. */
const inProcess = async (...args: string[]): Promise<ToolResult> => {
  let stdout = "";
  let stderr = "";
  const status = await runCli(args, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env });
  return { status, stdout, stderr };
};
const app = (extra: NodeJS.ProcessEnv) => runTool(process.execPath, [path.join(root, "bin", "app.mjs")], { cwd: root, env: { ...env, ...extra } });
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

const BROKEN = path.join(dir, "broken.yaml");
writeFileSync(
  BROKEN,
  ["name: broken", "proxmox: { endpoint: 'https://pve:8006/', nodes: [] }", "networks: { external: { cidr: 10.0.0.0/24 }, internal: { cidr: 10.0.0.0/24, gatway: 10.0.0.1 } }", "vms: []"].join("\n"),
);
/** The example sharded by node (helpers.ts). */
const SHARDED = path.join(dir, "sharded.yaml");
const shardedInput = exampleInput();
shardByNode(shardedInput);
writeFileSync(SHARDED, stringify(shardedInput));

const HEADLINE = /broken\.yaml: \d+ problems in the cluster description/g;

const reportsOnce = (result: ToolResult, output: string) => {
  expect(output.match(HEADLINE)).toHaveLength(1);
  expect(output).toMatch(/networks\.internal\.gatway: unknown key "gatway"\n\s+fix: did you mean "gateway"\?/);
  expect(output).not.toMatch(/^\s+at /m);
  expect(result.status).not.toBe(0);
};

describe("pve-dualnet", () => {
  it.concurrent("check: a valid description", async () => {
    const result = await cli("check", "examples/cluster.yaml");
    expect(result.stdout).toBe("examples/cluster.yaml: valid: 4 VMs on 1 Proxmox node, API at 10.0.0.10:6443\n");
    expect(result.stderr).toMatch(/^warning: no SSH public key/);
    expect(result.status).toBe(0);
  });

  it.concurrent("check: every problem of a broken description, once, exit 1", async () => {
    const result = await inProcess("check", BROKEN);
    reportsOnce(result, result.stderr);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
  });

  it.concurrent("synth: writes exactly what `cdktf synth` writes, and nothing for a broken description", async () => {
    const ours = path.join(dir, "ours");
    const theirs = path.join(dir, "theirs");
    const [mine, cdk] = await Promise.all([cli("synth", "examples/cluster.yaml", "--out", ours), cdktfSynth(path.join(root, "examples", "cluster.yaml"), theirs)]);
    expect(mine.status).toBe(0);
    expect(cdk.status).toBe(0);
    expect(Object.keys(tree(ours)).sort()).toEqual(["manifest.json", "stacks/cni/cdk.tf.json", "stacks/host-network/cdk.tf.json", "stacks/vms/cdk.tf.json"]);
    expect(tree(ours)).toEqual(tree(theirs));
    const broken = await cli("synth", BROKEN, "--out", path.join(dir, "never"));
    expect(broken.status).toBe(1);
    expect(existsSync(path.join(dir, "never"))).toBe(false);
    // Over an earlier synth: its manifest goes, so `cdktf deploy --skip-synth` cannot deploy it.
    const over = await inProcess("synth", BROKEN, "--out", ours);
    expect(over.status).toBe(1);
    expect(over.stderr).toMatch(/Nothing was synthesized/);
    expect(existsSync(path.join(ours, "manifest.json"))).toBe(false);
  });

  it.concurrent("synth: a description sharded by node, exactly as `cdktf synth` writes it, naming every stack", async () => {
    const ours = path.join(dir, "ours-sharded");
    const theirs = path.join(dir, "theirs-sharded");
    const [mine, cdk] = await Promise.all([inProcess("synth", SHARDED, "--out", ours), cdktfSynth(SHARDED, theirs)]);
    expect([mine.status, cdk.status]).toEqual([0, 0]);
    expect(mine.stdout).toBe(`${SHARDED}: synthesized the stacks ${SHARDED_STACKS.join(", ")} into ${ours}/\n`);
    expect(Object.keys(tree(ours)).sort()).toEqual(["manifest.json", ...SHARDED_STACKS.map((id) => `stacks/${id}/cdk.tf.json`)].sort());
    expect(tree(ours)).toEqual(tree(theirs));
  });

  it.concurrent("stacks: one per line, in build order", async () => {
    const [single, sharded, broken] = await Promise.all([inProcess("stacks", "examples/cluster.yaml"), inProcess("stacks", SHARDED), inProcess("stacks", BROKEN)]);
    expect(single).toMatchObject({ status: 0, stdout: "host-network\nvms\ncni\n" });
    expect(sharded).toMatchObject({ status: 0, stdout: SHARDED_STACKS.map((id) => `${id}\n`).join("") });
    expect(broken.status).toBe(1);
    expect(broken.stdout).toBe("");
  });

  it.concurrent("synth with Terraform Cloud: no credential from the environment reaches cdktf.out or the output; Terraform need not be installed", async () => {
    // Every credential the providers, Terraform and the workflow read, as a recognizable value.
    const credentials = {
      PROXMOX_VE_API_TOKEN: "terraform@pve!ci=sentinel-api-token",
      PROXMOX_VE_PASSWORD: "sentinel-password",
      PROXMOX_VE_SSH_PASSWORD: "sentinel-ssh-password",
      PROXMOX_VE_SSH_PRIVATE_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----sentinel-ssh-key",
      TF_VAR_ssh_private_key: "-----BEGIN OPENSSH PRIVATE KEY-----sentinel-tf-var-key",
      TF_TOKEN_app_terraform_io: "sentinel-tfc-token",
      KUBECONFIG_CONTENT: "sentinel-kubeconfig",
    };
    const out = path.join(dir, "with-credentials");
    // A PATH with Node alone: synth runs no Terraform (cdktf's CloudBackend would, once per stack).
    const nodeOnly = mkdtempSync(path.join(tmpdir(), "pve-dualnet-node-only-"));
    symlinkSync(process.execPath, path.join(nodeOnly, "node"));
    const result = await cliWith({ ...credentials, PVE_DUALNET_TFC_ORGANIZATION: "homelab", PATH: nodeOnly }, "synth", "examples/cluster.yaml", "--out", out);
    expect(result).toMatchObject({ status: 0, stderr: expect.not.stringMatching(/error/i) });
    const written = Object.values(tree(out)).join("\n") + result.stdout + result.stderr;
    expect(written).toContain('"organization": "homelab"');
    expect(written).not.toMatch(/sentinel/);
  });

  it.concurrent("report: markdown by default, text, Mermaid", async () => {
    const [md, text, mermaid] = await Promise.all([inProcess("report", "examples/cluster.yaml"), inProcess("report", "examples/cluster.yaml", "--format", "text"), inProcess("report", "examples/cluster.yaml", "--mermaid")]);
    expect(md.stdout).toMatch(/^## pve-dualnet plan: detectviz/);
    expect(md.status).toBe(0);
    expect(text.stdout).toMatch(/^pve-dualnet plan: detectviz\n#+\n/);
    expect(text.stdout).not.toContain("|");
    expect(mermaid.stdout).toMatch(/^flowchart TB\n/);
  });

  it.concurrent("--help, as a process: usage on stdout, exit status 0", async () => {
    const result = await cli("--help");
    expect(result.stdout).toMatch(/^Usage: pve-dualnet \[options\] \[command\]/);
    expect(result.status).toBe(0);
  });

  it.concurrent("a wrong command line, as a process: the problem on stderr, exit status 2", async () => {
    const result = await cli("deploy");
    expect(result.stderr).toMatch(/unknown command 'deploy'/);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(2);
  });

  it("synth --out: makes a missing directory, and says so when a file is in the way, without a stack trace", async () => {
    const nested = path.join(dir, "missing", "a", "b");
    const made = await inProcess("synth", "examples/cluster.yaml", "--out", nested);
    expect(made.status).toBe(0);
    expect(existsSync(path.join(nested, "manifest.json"))).toBe(true);
    const file = path.join(dir, "a-file");
    writeFileSync(file, "");
    for (const out of [file, path.join(file, "below")]) {
      const refused = await inProcess("synth", "examples/cluster.yaml", "--out", out);
      expect(refused.stderr).toContain(`cannot write to ${out}: a file is in the way\n\nNothing was synthesized.\n`);
      expect(refused.status).toBe(1);
    }
    const broken = await inProcess("synth", BROKEN, "--out", file);
    expect(broken.status).toBe(1);
    expect(broken.stderr).not.toMatch(/internal error|^\s+at /m);
  });

  it("check, synth and report read $PVE_DUALNET_CONFIG when no file is given", async () => {
    let stdout = "";
    const status = await runCli(["check"], { stdout: (text) => (stdout += text), stderr: () => {}, env: { ...env, PVE_DUALNET_CONFIG: "examples/cluster.yaml" } });
    expect(status).toBe(0);
    expect(stdout).toMatch(/^examples\/cluster\.yaml: valid: 4 VMs/);
  });

  it("check of a device, a FIFO or a directory: one clear problem, exit 1, at once", async () => {
    for (const file of ["/dev/zero", dir]) {
      const result = await inProcess("check", file);
      expect(result.stderr).toMatch(/cannot read the file: (it is not a regular file \(a character device\)|it is a directory)/);
      expect(result.status).toBe(1);
    }
  });

  it("an internal fault is one line on stderr and exit status 70, not a stack trace", async () => {
    let stderr = "";
    const brokenStdout = () => {
      throw new Error("stdout is gone");
    };
    const status = await runCli(["check", "examples/cluster.yaml"], { stdout: brokenStdout, stderr: (text) => (stderr += text), env });
    expect(status).toBe(70);
    expect(stderr).toMatch(/\npve-dualnet: internal error: stdout is gone \(PVE_DUALNET_DEBUG=1 shows where\)\n$/);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it.each([["check"], ["synth"], ["report"], ["stacks"], ["plan-impact"], ["docs"]])("--help on %s", async (command) => {
    const result = await inProcess(command, "--help");
    expect(result.stdout).toMatch(new RegExp(`^Usage: pve-dualnet ${command} `));
    expect(result.status).toBe(0);
  });

  it.each([
    [["check"], /no cluster description: give its file \(pve-dualnet check my-cluster\.yaml\) or set PVE_DUALNET_CONFIG/],
    [["check", "a.yaml", "b.yaml"], /too many arguments/],
    [["report", "examples/cluster.yaml", "--bogus"], /unknown option '--bogus'/],
    [["report", "examples/cluster.yaml", "--format", "html"], /argument 'html' is invalid/],
  ])("rejects the command line %j with exit status 2", async (args, message) => {
    const result = await inProcess(...args);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    expect(result.status).toBe(2);
  });
});

describe("the cdktf app", () => {
  it.concurrent("run by itself: reports a broken description once on stderr, exit 1, writes nothing", async () => {
    const out = path.join(dir, "app-broken");
    const result = await app({ PVE_DUALNET_CONFIG: BROKEN, CDKTF_OUTDIR: out });
    reportsOnce(result, result.stderr);
    expect(result.stderr).toMatch(/Nothing was synthesized/);
    expect(existsSync(out)).toBe(false);
  });

  it.concurrent("under the real cdktf CLI: the problems appear once, the old manifest is gone, cdktf fails", async () => {
    const out = path.join(dir, "cdktf-broken");
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, "manifest.json"), '{"version":"0.21.0","stacks":{"vms":{}}}');
    const result = await cdktfSynth(BROKEN, out);
    reportsOnce(result, stripAnsi(result.stdout + result.stderr));
    expect(existsSync(path.join(out, "manifest.json"))).toBe(false);
  });

  it.concurrent("without a description, says loudly that it synthesizes the built-in example", async () => {
    const out = path.join(dir, "example");
    const result = await app({ CDKTF_OUTDIR: out });
    expect(result.stderr).toMatch(/^warning: no cluster description given: synthesizing the BUILT-IN EXAMPLE \(examples\/cluster\.yaml: Proxmox at 192\.168\.0\.2/);
    expect(result.status).toBe(0);
    expect(existsSync(path.join(out, "manifest.json"))).toBe(true);
  });

  it.concurrent("takes the description from cdktf.json's context too", async () => {
    const out = path.join(dir, "context");
    const result = await app({ CDKTF_OUTDIR: out, CDKTF_CONTEXT_JSON: JSON.stringify({ config: BROKEN }) });
    expect(result.stderr.match(HEADLINE)).toHaveLength(1);
  });
});

describe("the bundles' V8 code cache", () => {
  // V8 checks a cache against the source's length only (code-serializer.cc SourceHash): a cache
  // named after the bundle alone would let a rebuilt bundle of the same length run old code.
  it("is named after each bundle's content", () => {
    for (const name of ["main", "cli"]) {
      const loader = readFileSync(path.join(root, "dist", `${name}.js`), "utf8");
      const hash = createHash("sha256").update(readFileSync(path.join(root, "dist", `${name}.bundle.js`))).digest("hex").slice(0, 16);
      expect(loader).toContain(`"${name}.bundle.js.${hash}.cache"`);
    }
  });

  // The loader reads its bundle as Latin-1 (a copy, where UTF-8 decodes): the same text only while every byte is ASCII.
  it("loads a bundle that is ASCII only, byte for byte the text its loader reads", () => {
    for (const name of ["main", "cli"]) {
      const loader = readFileSync(path.join(root, "dist", `${name}.js`), "utf8");
      expect(loader).toContain('fs.readFileSync(file, "latin1")');
      const bytes = readFileSync(path.join(root, "dist", `${name}.bundle.js`));
      expect(bytes.findIndex((byte) => byte > 0x7f)).toBe(-1);
      expect(bytes.toString("latin1")).toBe(bytes.toString("utf8"));
    }
  });
});
