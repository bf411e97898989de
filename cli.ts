/**
 * pve-dualnet: the command line (package.json "bin"; `node bin/pve-dualnet.mjs --help`).
 *
 *   pve-dualnet check [file]                 validate: every problem at once, exit 1 if any
 *   pve-dualnet synth [file] [--out <dir>]   what `cdktf synth` writes, without the cdktf CLI
 *   pve-dualnet report [file] [--format markdown|text] [--mermaid]
 *   pve-dualnet stacks [file]                the stacks, one per line, in build order
 *                                            (file: default $PVE_DUALNET_CONFIG)
 *   pve-dualnet plan-impact OLD NEW [--format text|markdown|json] [--fail-on-replace]
 *                                            what changing OLD into NEW does to each resource
 *                                            (each a description, or a synth output directory)
 *   pve-dualnet docs [--check]               regenerate (or check) the generated documentation
 *
 * Exit status: 0 done, 1 the description (or the docs check, or a file the command writes) has
 * problems, 2 the command line itself is wrong, 3 plan-impact --fail-on-replace found a resource
 * that would be replaced, 70 a fault of pve-dualnet itself. A problem is
 * printed once, on stderr, without a stack trace (PVE_DUALNET_DEBUG=1 adds it to an internal
 * fault); results go to stdout.
 *
 * `runCli` runs one command line and returns its exit status; bin/pve-dualnet.mjs runs it on the
 * process's arguments, the tests also in their own process.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, Option } from "commander";
import { ConfigError, visible } from "./config/errors";
import type { ClusterPlan } from "./config/plan";
import type { ImpactFormat } from "./renderers/impact";
import type { ReportFormat } from "./renderers/report";

// Each command loads what it needs when it runs: --help and a wrong command line answer at once.
const loading = () => import("./config/load");

/** The project: beside dist/ in the bundle, this directory in the sources. */
const root = path.basename(__dirname) === "dist" ? path.dirname(__dirname) : __dirname;
const version = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;

/** Where a command line writes and what it reads of the environment. */
export interface CliIo {
  /** Default: the process's standard output. */
  readonly stdout: (text: string) => void;
  /** Default: the process's standard error. */
  readonly stderr: (text: string) => void;
  /** Default: the process's environment. */
  readonly env: NodeJS.ProcessEnv;
}

const processIo: CliIo = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text), env: process.env };

/** Ends a command with this exit status (its message is already printed). */
class Exit {
  constructor(readonly status: number) {}
}

/** Runs one command line (the arguments after `pve-dualnet`); resolves to its exit status. */
export async function runCli(args: readonly string[], io: CliIo = processIo): Promise<number> {
  try {
    await program(io).parseAsync([...args], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof Exit) return err.status;
    // --help and --version end here too (status 0); a wrong command line ends with 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    const detail = io.env.PVE_DUALNET_DEBUG === "1" && err instanceof Error ? `\n${err.stack}` : " (PVE_DUALNET_DEBUG=1 shows where)";
    io.stderr(`pve-dualnet: internal error: ${err instanceof Error ? err.message : String(err)}${detail}\n`);
    return 70;
  }
}

/** Makes the directory a command writes into (and its parents), or says why it cannot, and ends with 1. */
function makeOutputDirectory(io: CliIo, dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error(), { code: "ENOTDIR" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code === "EACCES" || code === "EPERM" ? "permission denied" : code === "EROFS" ? "the file system is read-only" : (code ?? "it cannot be made");
    io.stderr(`cannot write to ${dir}: ${reason}\n\nNothing was synthesized.\n`);
    throw new Exit(1);
  }
}

/**
 * Reads a description, or prints its problems once and ends with status 1. `staleOutput`: a
 * synth output directory whose manifest must go, so no later `cdktf deploy --skip-synth` takes
 * an earlier synth for this one.
 */
async function load(io: CliIo, file: string, staleOutput?: string): Promise<ClusterPlan> {
  const { loadClusterFile } = await loading();
  try {
    if (!file) {
      io.stderr("no cluster description: give its file (pve-dualnet check my-cluster.yaml) or set PVE_DUALNET_CONFIG\n");
      throw new Exit(2);
    }
    const plan = loadClusterFile(path.resolve(file), io.env);
    for (const warning of plan.warnings) io.stderr(`warning: ${warning}\n`);
    return plan;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (staleOutput) (await import("./stacks/synthesize")).removeStaleManifest(staleOutput);
    io.stderr(`${err.message}\n${staleOutput ? "\nNothing was synthesized.\n" : ""}`);
    throw new Exit(1);
  }
}

const FILE_HELP = "cluster description (YAML or JSON); default: $PVE_DUALNET_CONFIG";

/**
 * One side of plan-impact: a synth output directory (its manifest.json names the stacks) is read
 * as it is; a description is checked and synthesized here. Problems end with status 1.
 */
async function synthesizedSide(io: CliIo, given: string): Promise<Record<string, unknown>> {
  const { readSynthesized, synthesizeStacks } = await import("./stacks/synthesize");
  let directory = false;
  try {
    directory = statSync(given).isDirectory();
  } catch {
    // Not there: load() says so, with the description's own wording.
  }
  if (directory) {
    if (!existsSync(path.join(given, "manifest.json"))) {
      io.stderr(`${visible(given)}: a directory without manifest.json: give a cluster description, or a directory that pve-dualnet synth or cdktf synth wrote\n`);
      throw new Exit(1);
    }
    try {
      return readSynthesized(given);
    } catch (err) {
      // JSON.parse quotes the file's text in its message: shown, never sent raw to the terminal.
      io.stderr(visible(`${given}: cannot read the synthesized stacks: ${err instanceof Error ? err.message : String(err)}`) + "\n");
      throw new Exit(1);
    }
  }
  const plan = await load(io, given);
  (await import("./patches/cdktf-fast-synth")).useFastSynth(io.env);
  return synthesizeStacks(plan);
}

/** The commands, writing to `io` (commander keeps state per parse: one program per command line). */
function program(io: CliIo): Command {
  const program = new Command("pve-dualnet")
    .description("Dual-network Kubernetes on Proxmox VE: check, synthesize and review a cluster description.")
    .version(version)
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  program
    .command("check")
    .description("Validate a cluster description: report every problem with its field and fix.")
    .argument("[file]", FILE_HELP)
    .action(async (given?: string) => {
      const file = given ?? io.env.PVE_DUALNET_CONFIG ?? "";
      const plan = await load(io, file);
      const hosts = plan.hosts.length;
      io.stdout(`${file}: valid: ${plan.vms.length} VMs on ${hosts} Proxmox node${hosts === 1 ? "" : "s"}, API at ${plan.apiServer.endpoint}\n`);
    });

  program
    .command("synth")
    .description("Write the Terraform JSON of every stack, exactly as `cdktf synth` does, without the cdktf CLI.")
    .argument("[file]", FILE_HELP)
    .option("-o, --out <dir>", "output directory", "cdktf.out")
    .action(async (given: string | undefined, options: { out: string }) => {
      const file = given ?? io.env.PVE_DUALNET_CONFIG ?? "";
      const out = path.resolve(options.out);
      const plan = await load(io, file, out);
      makeOutputDirectory(io, out);
      const [{ useFastSynth }, { synthesize }] = await Promise.all([import("./patches/cdktf-fast-synth"), import("./stacks/synthesize")]);
      useFastSynth(io.env);
      synthesize(plan, out);
      io.stdout(`${file}: synthesized the stacks ${plan.stacks.all.join(", ")} into ${options.out}/\n`);
    });

  program
    .command("report")
    .description("Print what a reviewer needs to see: host bridges, VMs and NICs, the MTU chain, the CNI, the API and firewall.")
    .argument("[file]", FILE_HELP)
    .addOption(new Option("-f, --format <format>", "report format").choices(["markdown", "text"]).default("markdown"))
    .option("--mermaid", "print the topology as a Mermaid diagram instead")
    .action(async (given: string | undefined, options: { format: ReportFormat; mermaid?: boolean }) => {
      const file = given ?? io.env.PVE_DUALNET_CONFIG ?? "";
      const plan = await load(io, file);
      if (options.mermaid) io.stdout((await import("./renderers/mermaid")).renderMermaid(plan));
      else io.stdout((await import("./renderers/report")).renderReport(plan, options.format));
    });

  program
    .command("stacks")
    .description("Print the description's stacks, one per line, in build order (with vmStacks.shardBy: node, vms-<node> after vms).")
    .argument("[file]", FILE_HELP)
    .action(async (given?: string) => {
      const plan = await load(io, given ?? io.env.PVE_DUALNET_CONFIG ?? "");
      io.stdout(plan.stacks.all.map((id) => `${id}\n`).join(""));
    });

  program
    .command("plan-impact")
    .description(
      "Say what turning OLD into NEW does to each VM and host resource: what changes in place, what is replaced (by the providers' own ForceNew rules), added or removed.",
    )
    .argument("<old>", "the cluster as it is: a description, or a synth output directory (e.g. the base branch's cdktf.out)")
    .argument("<new>", "the cluster as it will be: a description, or a synth output directory")
    .addOption(new Option("-f, --format <format>", "output format").choices(["text", "markdown", "json"]).default("text"))
    .option("--fail-on-replace", "exit with status 3 when a resource would be destroyed and created again")
    .action(async (oldSide: string, newSide: string, options: { format: ImpactFormat; failOnReplace?: boolean }) => {
      // Both sides usually share their warnings (no SSH key, say): each is said once.
      const said = new Set<string>();
      const once: CliIo = { ...io, stderr: (text) => void (said.has(text) || (said.add(text), io.stderr(text))) };
      const before = await synthesizedSide(once, oldSide);
      const after = await synthesizedSide(once, newSide);
      const { parseReplacementFacts, planImpact, renderImpact, replacesAnything } = await import("./renderers/impact");
      const facts = parseReplacementFacts(readFileSync(path.join(root, "schemas", "replacement-facts.yaml"), "utf8"));
      const impact = planImpact(before, after, facts, { old: oldSide, new: newSide });
      io.stdout(renderImpact(impact, options.format));
      if (options.failOnReplace && replacesAnything(impact)) {
        io.stderr("plan-impact: a resource would be replaced (--fail-on-replace)\n");
        throw new Exit(3);
      }
    });

  program
    .command("docs")
    .description("Regenerate cluster.schema.json, docs/config-reference.md and docs/topology.md (--check: only check them).")
    .option("--check", "fail if a generated file is out of date, change nothing")
    .action(async (options: { check?: boolean }) => {
      const [{ DUAL_STACK_EXAMPLE, EXAMPLE_CONFIG, loadClusterFile }, { clusterJsonSchema }, { renderDocs }] = await Promise.all([loading(), import("./config/json-schema"), import("./renderers/docs")]);
      const files = renderDocs(clusterJsonSchema(), loadClusterFile(EXAMPLE_CONFIG), loadClusterFile(DUAL_STACK_EXAMPLE));
      const stale = Object.entries(files).filter(([file, content]) => !existsSync(path.join(root, file)) || readFileSync(path.join(root, file), "utf8") !== content);
      if (options.check) {
        for (const [file] of stale) io.stderr(`${file} is out of date: run node bin/pve-dualnet.mjs docs\n`);
        if (stale.length) throw new Exit(1);
        io.stdout("docs: up to date\n");
        return;
      }
      for (const [file, content] of stale) {
        mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
        writeFileSync(path.join(root, file), content);
      }
      io.stdout(stale.length ? `docs: wrote ${stale.map(([f]) => f).join(", ")}\n` : "docs: up to date\n");
    });

  return program;
}
