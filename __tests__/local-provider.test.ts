/**
 * hashicorp/local's stand-in (terraform/local-provider.ts) applies for real, judged by the real
 * `terraform` and the real cdktf CLI, offline: host-network's rendered files (the stack as the
 * app synthesizes it, its SSH-only terraform_data resources removed) are written with their
 * exact bytes and permissions, a second plan has nothing to do, a changed content replaces
 * exactly its resource, a file deleted or edited by hand is created again, and destroy removes
 * them; content_base64, source and local_sensitive_file behave as the real provider's; and
 * `cdktf deploy host-network --auto-approve` runs init, plan and apply through the stand-in
 * (a judge the judges' cache replays, as deploy-commands.test.ts's cdktf runs).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { File } from "@cdktf/provider-local/lib/file";
import { SensitiveFile } from "@cdktf/provider-local/lib/sensitive-file";
import { TerraformStack, Testing } from "cdktf";
import { unescapeTemplate } from "../constructs/terraform-text";
import { synthesize } from "../stacks/synthesize";
import { planWith } from "./helpers";
import { judged, settingsIn } from "./lab/judged";
import { startLocalProvider, type CommandResult, type LocalProvider as StandIn } from "./terraform/local-provider";
import { terraformAvailable } from "./terraform/terraform";

/** This process's umask (the stand-in inherits it), read without process.umask()'s deprecated getter. */
const UMASK = parseInt(/^Umask:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]!, 8);
const mode = (file: string) => statSync(file).mode & 0o777;
const expectedMode = (permission: string) => parseInt(permission, 8) & ~UMASK;

/** The checksums the real provider stores (genFileChecksums), computed here independently. */
function checksumsOf(bytes: Buffer) {
  const h = (algorithm: string, encoding: "hex" | "base64") => createHash(algorithm).update(bytes).digest(encoding);
  return {
    id: h("sha1", "hex"),
    content_md5: h("md5", "hex"),
    content_sha1: h("sha1", "hex"),
    content_sha256: h("sha256", "hex"),
    content_base64sha256: h("sha256", "base64"),
    content_sha512: h("sha512", "hex"),
    content_base64sha512: h("sha512", "base64"),
  };
}

const ok = (step: string, result: CommandResult) => {
  if (result.status !== 0) throw new Error(`${step} exited ${result.status}:\n${result.output}`);
  return result;
};

/** `terraform plan -json`: each planned change as "<action> <address>", and the drift Terraform found. */
async function planned(local: StandIn, dir: string): Promise<{ status: number | null; changes: string[]; drift: string[] }> {
  const result = await local.terraform(["plan", "-json", "-input=false", "-lock=false", "-detailed-exitcode"], dir);
  if (result.status === 1) throw new Error(`terraform plan failed:\n${result.output}`);
  const messages = result.output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
  const of = (type: string) =>
    messages
      .filter((m) => m.type === type)
      .map((m) => `${m.change.action} ${m.change.resource.addr}`)
      .sort();
  return { status: result.status, changes: of("planned_change"), drift: of("resource_drift") };
}

/** Resources of a state file by address. */
function stateOf(file: string): Record<string, any> {
  const state = JSON.parse(readFileSync(file, "utf8"));
  return Object.fromEntries(state.resources.map((r: any) => [`${r.type}.${r.name}`, r.instances[0].attributes]));
}

/** The app's synthesized output with host-network's terraform_data (SSH provisioners) removed. */
function hostNetworkOut(outdir: string): any {
  synthesize(planWith(), outdir);
  const file = path.join(outdir, "stacks", "host-network", "cdk.tf.json");
  const stack = JSON.parse(readFileSync(file, "utf8"));
  expect(Object.keys(stack.resource).sort()).toEqual(["local_file", "terraform_data"]);
  delete stack.resource.terraform_data;
  writeFileSync(file, JSON.stringify(stack, null, 2));
  return stack;
}

/** host-network's rendered files: where the stand-in must write them, with what, as Terraform evaluates the stack. */
function renderedFiles(stack: any, stackDir: string) {
  return Object.entries<any>(stack.resource.local_file).map(([name, r]) => ({
    address: `local_file.${name}`,
    file: path.resolve(stackDir, r.filename),
    bytes: Buffer.from(unescapeTemplate(r.content), "utf8"),
    filePermission: r.file_permission as string,
    directoryPermission: r.directory_permission as string,
  }));
}

const available = terraformAvailable();

(available ? describe : describe.skip)("hashicorp/local's stand-in, judged by terraform and cdktf", () => {
  const temp = () => mkdtempSync(path.join(tmpdir(), "pvdn-local-"));

  it.concurrent("host-network's rendered files: apply, nothing more to do, replace on a changed content, recreate what was deleted or edited by hand, destroy", async () => {
    const project = temp();
    const out = path.join(project, "cdktf.out");
    const stack = hostNetworkOut(out);
    const dir = path.join(out, "stacks", "host-network");
    const files = renderedFiles(stack, dir);
    expect(files.length).toBeGreaterThanOrEqual(4);
    const local = await startLocalProvider({ workingDirectory: dir });
    try {
      ok("init", await local.terraform(["init", "-input=false", "-no-color"], dir));
      ok("apply", await local.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], dir));
      // The stack's local backend keeps the state beside cdktf.out, as the app lays it out.
      const stateFile = path.join(project, "terraform.host-network.tfstate");
      const state = stateOf(stateFile);
      for (const f of files) {
        expect(f.file.startsWith(path.join(project, "generated") + path.sep)).toBe(true);
        expect(readFileSync(f.file)).toEqual(f.bytes);
        expect(mode(f.file)).toBe(expectedMode(f.filePermission));
        expect(mode(path.dirname(f.file))).toBe(expectedMode(f.directoryPermission));
        expect(Buffer.from(state[f.address].content, "utf8")).toEqual(f.bytes);
        expect(state[f.address]).toMatchObject({ ...checksumsOf(f.bytes), file_permission: f.filePermission, directory_permission: f.directoryPermission });
      }

      expect(await planned(local, dir)).toEqual({ status: 0, changes: [], drift: [] });

      // A content changed in the configuration replaces exactly its resource; a file deleted or
      // edited by hand is dropped from state when refreshed, so the plan creates it again.
      const [changed, deleted, edited] = files;
      const edit = structuredClone(stack);
      edit.resource.local_file[changed!.address.split(".")[1]!].content += "# one more line\n";
      writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(edit));
      rmSync(deleted!.file);
      writeFileSync(edited!.file, "edited by hand\n");
      expect(await planned(local, dir)).toEqual({
        status: 2,
        changes: [`replace ${changed!.address}`, `create ${deleted!.address}`, `create ${edited!.address}`].sort(),
        drift: [`delete ${deleted!.address}`, `delete ${edited!.address}`].sort(),
      });
      ok("apply", await local.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], dir));
      changed!.bytes = Buffer.concat([changed!.bytes, Buffer.from("# one more line\n")]);
      for (const f of files) expect(readFileSync(f.file)).toEqual(f.bytes);
      expect(stateOf(stateFile)[changed!.address]).toMatchObject(checksumsOf(changed!.bytes));

      const destroyed = ok("destroy", await local.terraform(["destroy", "-auto-approve", "-input=false", "-no-color"], dir));
      expect(destroyed.output).toContain(`Resources: ${files.length} destroyed.`);
      for (const f of files) expect(existsSync(f.file)).toBe(false);
      expect(stateOf(stateFile)).toEqual({});
    } finally {
      await local.stop();
    }
  }, 120_000);

  it.concurrent("content_base64, source and local_sensitive_file, with the real provider's defaults, checksums and validation", async () => {
    const project = temp();
    const dir = path.join(project, "stack");
    mkdirSync(dir);
    const binary = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a, 0x24, 0x7b]);
    writeFileSync(path.join(dir, "source.txt"), "from a source file\n");
    const app = Testing.app();
    const stack = new TerraformStack(app, "local");
    new LocalProvider(stack, "local");
    new File(stack, "binary", { filename: "out/bin/data.bin", contentBase64: binary.toString("base64"), filePermission: "0600", directoryPermission: "0750" });
    new File(stack, "copy", { filename: "out/copy.txt", source: "source.txt" });
    new SensitiveFile(stack, "secret", { filename: "out/secret/key.txt", content: "s3cret\n" });
    writeFileSync(path.join(dir, "cdk.tf.json"), Testing.synth(stack));
    const local = await startLocalProvider({ workingDirectory: dir });
    try {
      ok("init", await local.terraform(["init", "-input=false", "-no-color"], dir));
      const applied = ok("apply", await local.terraform(["apply", "-auto-approve", "-input=false", "-no-color"], dir));
      // The schema marks local_sensitive_file's content sensitive, as the real provider's does.
      expect(applied.output).toMatch(/content\s+= \(sensitive value\)/);
      const at = (file: string) => path.join(dir, file);
      expect(readFileSync(at("out/bin/data.bin"))).toEqual(binary);
      expect(mode(at("out/bin/data.bin"))).toBe(expectedMode("0600"));
      expect(mode(at("out/bin"))).toBe(expectedMode("0750"));
      expect(readFileSync(at("out/copy.txt"), "utf8")).toBe("from a source file\n");
      expect(mode(at("out/copy.txt"))).toBe(expectedMode("0777")); // local_file's default
      expect(readFileSync(at("out/secret/key.txt"), "utf8")).toBe("s3cret\n");
      expect(mode(at("out/secret/key.txt"))).toBe(expectedMode("0700")); // local_sensitive_file's defaults
      expect(mode(at("out/secret"))).toBe(expectedMode("0700"));
      const state = stateOf(path.join(dir, "terraform.tfstate"));
      expect(state["local_file.binary"]).toMatchObject(checksumsOf(binary));
      expect(state["local_file.copy"]).toMatchObject({ ...checksumsOf(Buffer.from("from a source file\n")), content: null, file_permission: "0777", directory_permission: "0777" });
      expect(state["local_sensitive_file.secret"]).toMatchObject({ ...checksumsOf(Buffer.from("s3cret\n")), file_permission: "0700", directory_permission: "0700" });
      expect(await planned(local, dir)).toEqual({ status: 0, changes: [], drift: [] });
      ok("destroy", await local.terraform(["destroy", "-auto-approve", "-input=false", "-no-color"], dir));
      for (const file of ["out/bin/data.bin", "out/copy.txt", "out/secret/key.txt"]) expect(existsSync(at(file))).toBe(false);

      // The provider's own validation: exactly one content argument, octal permissions, and
      // sensitive_content's deprecation.
      const invalid = JSON.parse(readFileSync(path.join(dir, "cdk.tf.json"), "utf8"));
      Object.assign(invalid.resource.local_file.binary, { content: "and text" });
      Object.assign(invalid.resource.local_file.copy, { file_permission: "0999", directory_permission: "07777" });
      invalid.resource.local_file.deprecated = { filename: "out/d.txt", sensitive_content: "x" };
      writeFileSync(path.join(dir, "cdk.tf.json"), JSON.stringify(invalid));
      const validated = await local.terraform(["validate", "-no-color"], dir);
      expect(validated.status).toBe(1);
      expect(validated.output).toContain("2 attributes specified when one (and only one) of\n[content,sensitive_content,content_base64,source] is required");
      expect(validated.output).toContain("bad mode permission: string must be expressed in octal numeric notation: 0999");
      expect(validated.output).toContain("bad mode permission: string length should be 3 or 4 digits: 07777");
      expect(validated.output).toMatch(/Warning: Attribute Deprecated[\s\S]*Use the `local_sensitive_file` resource instead/);
    } finally {
      await local.stop();
    }
  }, 120_000);

  it.concurrent("cdktf deploy host-network --auto-approve (its app synthesizing, terraform_data removed) writes the rendered files through the stand-in", async () => {
    const project = temp();
    // The app: the cdktf.out the project's app synthesizes, copied to where cdktf asks (CDKTF_OUTDIR).
    const staged = path.join(project, "staged");
    const stack = hostNetworkOut(staged);
    writeFileSync(path.join(project, "app.mjs"), 'import { cpSync } from "node:fs";\ncpSync(new URL("./staged", import.meta.url).pathname, process.env.CDKTF_OUTDIR, { recursive: true });\n');
    writeFileSync(path.join(project, "cdktf.json"), JSON.stringify({ language: "typescript", app: "node app.mjs", sendCrashReports: "false" }));
    const dir = path.join(project, "cdktf.out", "stacks", "host-network");
    // --skip-provider-lock: after init cdktf runs `terraform providers lock`, which asks the registry.
    const args = ["deploy", "host-network", "--auto-approve", "--skip-provider-lock", "--no-color"];
    // A judge as deploy-commands.test.ts's cdktf runs are (lab/judged.ts): what it reads is the
    // project, the stand-in (terraform/: its provider, its schema rebuilt from the binding) and
    // Terraform's and cdktf's settings; cdktf, Terraform and Node are the machine's. What it
    // leaves in the project (the rendered files with their modes, the state, cdktf.out) is its
    // answer, replayed when none of that changed; the stand-in starts only when cdktf runs.
    const deployed = await judged(
      { judge: `cdktf ${args.join(" ")} through hashicorp/local's stand-in`, texts: { env: settingsIn(process.env, "TF_", "CDKTF_") }, inputs: [project, path.join(__dirname, "terraform")], outputs: project },
      async () => {
        const local = await startLocalProvider({ workingDirectory: dir });
        try {
          const { status, output } = await local.cdktf(args, project);
          return { status, stdout: output, stderr: "" };
        } finally {
          await local.stop();
        }
      },
    );
    if (deployed.status !== 0) throw new Error(`cdktf deploy exited ${deployed.status}:\n${deployed.stdout}`);
    const files = renderedFiles(stack, dir);
    // Judged by the state and the files, not by cdktf's printout: cdktf runs `terraform apply`
    // in a pty (node-pty) and ends the step at the pty's exit, so the last lines ("Apply
    // complete! …") can be lost (seen in CI, stop 29).
    for (const f of files) {
      expect(readFileSync(f.file)).toEqual(f.bytes);
      expect(mode(f.file)).toBe(expectedMode(f.filePermission));
    }
    expect(Object.keys(stateOf(path.join(project, "terraform.host-network.tfstate"))).sort()).toEqual(files.map((f) => f.address).sort());
  }, 180_000);
});
