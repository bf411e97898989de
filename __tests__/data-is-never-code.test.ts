/**
 * Data is never code: hostile values in the free-text fields of the description, each either
 * refused by the description's checks with an error at its field, or carried as data all the way
 * to the tool that reads it, and handed to that tool: ifupdown2 with its Mako templates on,
 * Terraform, Ansible, sh. A value that ran would leave a sentinel file; none may.
 *
 * The writers (renderers/interfaces.ts, renderers/ansible.ts, renderers/shell.ts,
 * constructs/terraform-text.ts) are also handed the values directly, so a field added later
 * meets the same rules however the schema treats it.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as cdktf from "cdktf";
import { parse, parseAllDocuments, stringify } from "yaml";
import { ConfigError, visible } from "../config/errors";
import { checkCluster, parseCluster } from "../config/load";
import { cdktfTokenMarker } from "../config/text";
import { ansibleVariables, inventoryHostLine, jinja, jinjaTemplate } from "../renderers/ansible";
import { interfacesFile, renderInterfaces } from "../renderers/interfaces";
import { markdownText, renderReport } from "../renderers/report";
import { shellCommand } from "../renderers/shell";
import { HelmProvider } from "@cdktf/provider-helm/lib/provider";
import { Cilium } from "../constructs/cilium";
import { unescapeTemplate } from "../constructs/terraform-text";
import { CILIUM_CHART_REPOSITORY, CILIUM_CHART_VERSION } from "../renderers/cilium";
import { PveDualnetStack } from "../stacks/pve-dualnet-stack";
import { exampleInput } from "./helpers";
import { ifupdown2 } from "./ifupdown2";
import { toHtml } from "./judges/markdown";
import { judged, settingsIn } from "./lab/judged";
import { Sandbox } from "./lab/sandbox";
import { hasTool, runTool } from "./lab/tools";
import { synthAll } from "./synth";
import { resourceTypes, TerraformJudge, terraformAvailable } from "./terraform/terraform";

/**
 * A directory of this checkout's own, emptied when the file starts and removed when it ends: its
 * path is part of what the judges read (the hostile values name the sentinel), so it is the same
 * from run to run (not under the run's TMPDIR) and the judges' cache (lab/judged.ts) can replay
 * their answers on a warm run.
 */
function freshDirOfThisCheckout(name: string): string {
  const top = process.env.PVE_DUALNET_TMP_TOP ?? tmpdir();
  const dir = path.join(top, `${name}-${createHash("sha256").update(path.resolve(__dirname)).digest("hex").slice(0, 12)}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const sentinelDir = freshDirOfThisCheckout("pvdn-sentinel");
const SENTINEL = path.join(sentinelDir, "ran");
const touch = `touch ${SENTINEL}`;
const sentinelAppeared = () => existsSync(SENTINEL);

const { createTokenDouble } = require("cdktf/lib/tokens/private/encoding") as { createTokenDouble: (x: number, list: boolean) => number };

/** Values a reviewer might wave through, each aimed at one of the interpreters the description reaches. */
const HOSTILE: Record<string, string> = {
  "a carriage return": `note\rpost-up ${touch}`,
  "a line feed": `note\npost-up ${touch}`,
  NUL: "note\u0000more",
  "a trailing backslash": "note \\",
  "a lone backslash": "a\\b",
  "Terraform interpolation": "${var.ssh_private_key}",
  "a Terraform directive": "%{ if true }yes%{ endif }",
  "an unbalanced ${": "cost ${ 5",
  "a Jinja expression": `{{ lookup('pipe', '${touch}') }}`,
  "a Jinja statement": "{% for x in range(3) %}x{% endfor %}",
  "a Jinja comment": "{# hidden #}",
  "a Mako expression": `100% \${__import__('os').system('${touch}')}`,
  "a Mako tag": `<% __import__('os').system('${touch}') %>`,
  "quotes": `it's "quoted"`,
  "a semicolon": `a; ${touch}`,
  "command substitution": `$(${touch})`,
  "backticks": "`" + touch + "`",
  "spaces": "a b  c",
  "an INI variable": `x ansible_ssh_common_args='-o ProxyCommand=${touch}'`,
  "a YAML document": "key: [value, {a: 1}] # comment",
  "a very long string": "x".repeat(100_000),
  "a cdktf token marker": "${TfToken[TOKEN.1]}",
  "a cdktf number token": `port ${createTokenDouble(1, false)}`,
  "an escape sequence": "\u001b]0;owned\u0007\u001b[2J",
  "a bidirectional override": "admin\u202Egnp.exe",
  "a line separator": "a\u2028b",
  "a percent sign": "100% done",
};
const entries = Object.entries(HOSTILE);

/** The description with `edit` applied: its plan, or the issues `check` reports. */
function attempt(edit: (c: any) => void): { plan?: ReturnType<typeof checkCluster>; issues?: readonly { path: string; message: string; fix?: string }[] } {
  const input = exampleInput();
  edit(input);
  try {
    return { plan: checkCluster(input, "hostile.yaml") };
  } catch (err) {
    if (err instanceof ConfigError) return { issues: err.issues };
    throw err;
  }
}

/** A refusal names the field, says how to fix it, and never prints what it refuses. */
function expectRefusedAt(issues: readonly { path: string; message: string; fix?: string }[], where: string, value: string) {
  const issue = issues.find((i) => i.path === where);
  if (!issue) throw new Error(`no issue at ${where}; got ${JSON.stringify(issues.map((i) => i.path))}`);
  expect(issue.fix).toBeTruthy();
  expect(issue.message).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
  if (value.length > 40 || /[\p{Cc}\p{Cf}]/u.test(value)) expect(issue.message).not.toContain(value);
}

/** Every value of a field: accepted ones (with their plans) and the ones refused at `where`. */
function sortValues(where: (i: number) => string, edit: (c: any, value: string, i: number) => void) {
  const accepted: [string, string][] = [];
  entries.forEach(([name, value], i) => {
    const result = attempt((c) => edit(c, value, i));
    if (result.issues) expectRefusedAt(result.issues, where(i), value);
    else accepted.push([name, value]);
  });
  return accepted;
}

/** One more VM of the example per value, numbered from 0. */
const vmFor = (i: number) => ({ name: `n${i}`, id: 200 + i, role: "worker", ip: { external: `192.168.0.${100 + i}`, internal: `10.0.0.${100 + i}` } });

describe("every string of the description", () => {
  it("holds no control, format or separator character, anywhere: refused at its field, never echoed", () => {
    for (const value of ["a\rb", "a\nb", "a\u0000b", "\u001b[2J", "a\u202Eb", "a\u2028b", "a\u0085b"]) {
      const { issues } = attempt((c) => (c.vms[0].tags = ["k8s", value]));
      expectRefusedAt(issues!, "vms[0].tags[1]", value);
      expect(issues!.find((i) => i.path === "vms[0].tags[1]")!.message).toMatch(/^holds (.* \()?U\+[0-9A-F]{4}\)?: values are printable text$/);
    }
  });

  it("holds no cdktf token marker: cdktf would replace it by another value of the stack, or fail", () => {
    expectRefusedAt(attempt((c) => (c.vms[0].description = "${TfToken[TOKEN.1]}")).issues!, "vms[0].description", "");
  });

  it("the marker rule catches everything cdktf's own tokenizer would not leave as it is", () => {
    const app = cdktf.Testing.app();
    const stack = new cdktf.TerraformStack(app, "tokens");
    cdktf.Token.asString(cdktf.Lazy.stringValue({ produce: () => "a string token" }));
    cdktf.Token.asNumber(cdktf.Lazy.numberValue({ produce: () => 7 }));
    const resolve = (value: string) => cdktf.Tokenization.resolve(value, { scope: stack, resolver: new cdktf.DefaultTokenResolver(new cdktf.StringConcat()) });
    const probes = [...Object.values(HOSTILE), "${TfToken[TOKEN.0]}", "#{TfToken[TOKEN.0]}", `${createTokenDouble(0, false)}`, `${createTokenDouble(2, true)}`, "1e5", "-1.5e+10", "${x}"];
    for (const value of probes) {
      let untouched: boolean;
      try {
        untouched = resolve(value) === value;
      } catch {
        untouched = false;
      }
      if (!untouched) expect([value, cdktfTokenMarker(value)]).toEqual([value, expect.any(String)]);
    }
    // It fails when it should: the probes include tokens cdktf replaces.
    expect(probes.filter((v) => cdktfTokenMarker(v)).length).toBeGreaterThanOrEqual(4);
  });

  it("names the place of a secret inside a longer value, and never repeats it", () => {
    const token = "terraform@pve!ci=0123abcd-0123-4567-89ab-0123456789ab";
    const cases: [string, (c: any) => void][] = [
      ["vms[0].description", (c) => (c.vms[0].description = `notes: the token is ${token}, keep it safe`)],
      ["firewall.rules[0].comment", (c) => (c.firewall = { rules: [{ protocol: "tcp", ports: "443", from: "external", comment: `kubeadm join abcdef.0123456789abcdef` }] })],
      ["proxmox.endpoint", (c) => (c.proxmox.endpoint = "https://root:hunter2@192.168.0.2:8006/")],
      ["vmDefaults.source.image.url", (c) => (c.vmDefaults.source = { image: { url: "https://user:pass@images.example.com/noble.qcow2" } })],
    ];
    for (const [where, edit] of cases) {
      const { issues } = attempt(edit);
      const issue = issues!.find((i) => i.path === where)!;
      expect(issue.message).toMatch(/^looks like /);
      expect(JSON.stringify(issues)).not.toMatch(/0123456789ab|hunter2|pass@|0123456789abcdef/);
    }
  });

  it("keeps a secret out of every later message, even of the checks that quote the value it was in", () => {
    const token = `ghp_${"A1b2C3d4E5".repeat(4)}`;
    const cases: [string, (c: any) => void][] = [
      // The output check quotes the directory; the flannel check quotes the pattern.
      ["output.directory", (c) => (c.output = { directory: `../${token}` })],
      ["kubernetes.cni.flannel.interface.regex", (c) => (c.kubernetes.cni.flannel.interface = { regex: `^eth1$|${token}` })],
    ];
    for (const [where, edit] of cases) {
      const input = exampleInput();
      edit(input);
      let error: unknown;
      try {
        checkCluster(input, "hostile.yaml");
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const { issues, message } = error as ConfigError;
      expect(issues.find((i) => i.path === where)?.message).toMatch(/^looks like an access token/);
      // What the command prints (the message) and every issue.
      expect(message).not.toContain(token.slice(4));
      expect(JSON.stringify(issues)).not.toContain(token.slice(4));
    }
  });
});

describe("fields with a format refuse every hostile value", () => {
  const fields: [string, (c: any, v: string) => void][] = [
    ["vmDefaults.cloudInit.user", (c, v) => (c.vmDefaults.cloudInit.user = v)],
    ["proxmox.nodes[0].ssh.user", (c, v) => (c.proxmox.nodes[0].ssh = { user: v })],
    ["networks.external.searchDomain", (c, v) => (c.networks.external.searchDomain = v)],
    ["vmDefaults.cpu.type", (c, v) => (c.vmDefaults.cpu.type = v)],
    ["vmDefaults.disk.datastore", (c, v) => (c.vmDefaults.disk.datastore = v)],
    ["vmDefaults.cloudInit.datastore", (c, v) => (c.vmDefaults.cloudInit.datastore = v)],
    ["vmDefaults.source.clone.node", (c, v) => (c.vmDefaults.source.clone.node = v)],
    ["vms[0].node", (c, v) => (c.vms[0].node = v)],
    ["kubernetes.cni.flannel.image", (c, v) => (c.kubernetes.cni.flannel.image = v)],
    ["kubernetes.cni.cilium.image", (c, v) => (c.kubernetes.cni = { plugin: "cilium", cilium: { image: v } })],
    ["kubernetes.cni.cilium.operatorImage", (c, v) => (c.kubernetes.cni = { plugin: "cilium", cilium: { operatorImage: v } })],
    ["kubernetes.cni.cilium.devices[0]", (c, v) => ((c.vmDefaults.cloudInit.networkData = { enabled: true }), (c.kubernetes.cni = { plugin: "cilium", cilium: { devices: [v] } }))],
    ["terraformCloud.organization", (c, v) => (c.terraformCloud = { organization: v })],
    ["terraformCloud.workspaces.prefix", (c, v) => (c.terraformCloud = { organization: "acme", workspaces: { prefix: v } })],
    ["proxmox.endpoint", (c, v) => (c.proxmox.endpoint = `https://${v}:8006/`)],
    ["kubernetes.loadBalancer.addresses[0]", (c, v) => (c.kubernetes.loadBalancer = { addresses: [v] })],
    ["kubernetes.loadBalancer.ports[0].ports", (c, v) => (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"], ports: [{ protocol: "tcp", ports: v }] })],
    ["kubernetes.loadBalancer.ports[0].from", (c, v) => (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"], ports: [{ protocol: "tcp", ports: "80", from: v }] })],
    ["kubernetes.loadBalancer.cloudProviderImage", (c, v) => (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200"], cloudProviderImage: v })],
  ];
  it.each(fields)("%s", (where, edit) => {
    expect(sortValues(() => where, edit)).toEqual([]);
  });
});

describe("/etc/network/interfaces: comments, judged by ifupdown2 with its Mako templates on", () => {
  const accepted = sortValues(
    () => "proxmox.nodes[0].interfaces[0].comment",
    (c, v) => (c.proxmox.nodes[0].interfaces[0].comment = v),
  );

  it("refuses what ifupdown2 or Mako would read as more than a comment", () => {
    const names = accepted.map(([name]) => name);
    for (const refused of ["a carriage return", "a line feed", "a trailing backslash", "a Mako expression", "a Mako tag", "Terraform interpolation", "a line separator"]) {
      expect(names).not.toContain(refused);
    }
    expect(names).toEqual(expect.arrayContaining(["a Jinja expression", "quotes", "a semicolon", "a percent sign", "a Terraform directive"]));
  });

  (ifupdown2() ? it : it.skip)("ifupdown2 parses every accepted comment as a comment: the same stanzas as without it, and nothing runs", async () => {
    // Every accepted value on a NIC of its own, and a '%' in the file: ifupdown2 renders the file
    // through Mako only when it holds one.
    const { plan } = attempt((c) => {
      c.proxmox.nodes[0].interfaces.push(...accepted.map(([, v], i) => ({ kind: "nic", name: `eth${i}`, comment: v })));
      c.proxmox.nodes[0].interfaces[0].comment = "100% of the traffic";
    });
    const file = renderInterfaces(plan!.hosts[0]!, plan!.config.name);
    const bare = file.split("\n").filter((line) => !line.startsWith("#")).join("\n");
    for (const [, value] of accepted) expect(file).toContain(`\n# ${value}\n`);
    const sandbox = new Sandbox("pvdn-hostile-");
    try {
      writeFileSync(sandbox.file("/etc/network", "hostile"), file);
      writeFileSync(sandbox.file("/etc/network", "bare"), bare);
      // Mako must be there for the test to mean anything (python3-mako, as .ci/run installs it).
      const [mako, withComments, without] = await Promise.all([
        sandbox.runAsync("python3 -c 'import mako'"),
        sandbox.runAsync("ifquery -a -i /etc/network/hostile"),
        sandbox.runAsync("ifquery -a -i /etc/network/bare"),
      ]);
      expect(mako.status).toBe(0);
      expect(withComments.stderr).toBe("");
      expect(withComments.stdout).toBe(without.stdout);
      expect(withComments.stdout).toMatch(/iface eth0 inet manual/);
    } finally {
      sandbox.remove();
    }
    expect(sentinelAppeared()).toBe(false);
  });

  (ifupdown2() ? it : it.skip)("the check can fail: a Mako expression slipped past the writer runs in ifupdown2", async () => {
    const sandbox = new Sandbox("pvdn-hostile-");
    const probe = path.join(sentinelDir, "probe");
    try {
      writeFileSync(sandbox.file("/etc/network", "probe"), `auto lo\niface lo inet loopback\n# 100% \${__import__('os').system('touch ${probe}')}\n`);
      await sandbox.runAsync("ifquery -a -i /etc/network/probe");
    } finally {
      sandbox.remove();
    }
    expect(existsSync(probe)).toBe(true);
  });

  it("the writer refuses a line with any of them, whatever put it there", () => {
    for (const value of [HOSTILE["a carriage return"]!, HOSTILE["a Mako expression"]!, "# ok \\", "\tpost-up x\u2028y", "% for x in y:"]) {
      expect(() => interfacesFile(["auto lo", value])).toThrow(/refusing to write an interfaces line/);
    }
    expect(interfacesFile(["# {{ fine }} 100%", "auto lo"])).toBe("# {{ fine }} 100%\nauto lo\n");
  });
});

(terraformAvailable() ? describe : describe.skip)("Terraform strings, judged by terraform plan", () => {
  const descriptions = sortValues(
    () => "vms[4].description",
    (c, v, i) => c.vms.push({ ...vmFor(i), description: v }),
  );
  const comments = sortValues(
    () => "firewall.rules[0].comment",
    (c, v) => (c.firewall = { rules: [{ protocol: "tcp", ports: "443", from: "external", comment: v }] }),
  );
  const keyComments = sortValues(
    () => "vmDefaults.cloudInit.sshKeys[0]",
    (c, v) => (c.vmDefaults.cloudInit.sshKeys = [`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF ${v}`]),
  );
  const contexts = sortValues(
    () => "kubernetes.kubeconfig.context",
    (c, v) => (c.kubernetes.kubeconfig = { context: v }),
  );
  const paths = sortValues(
    () => "kubernetes.kubeconfig.path",
    (c, v) => (c.kubernetes.kubeconfig = { path: `~/.kube/${v}.conf` }),
  );

  let judge: Promise<TerraformJudge> | undefined;
  const judgeOf = (stacks: any[]) => (judge ??= TerraformJudge.start(stacks.flatMap(resourceTypes)));
  afterAll(async () => (await judge)?.stop());

  it("accepts what Terraform can carry as data: a description may span lines and hold ${...}, %{...}, {{ }} and quotes", () => {
    expect(descriptions.map(([name]) => name)).toEqual(expect.arrayContaining(["Terraform interpolation", "a Terraform directive", "an unbalanced ${", "a Jinja expression", "a line feed", "quotes", "a lone backslash"]));
    expect(comments.map(([name]) => name)).toEqual(expect.arrayContaining(["Terraform interpolation", "a Terraform directive"]));
    expect(contexts.map(([name]) => name)).toEqual(expect.arrayContaining(["Terraform interpolation", "a Jinja expression", "quotes"]));
    expect(paths.map(([name]) => name)).toEqual(expect.arrayContaining(["Terraform interpolation", "a Jinja expression", "command substitution"]));
  });

  it("plans every accepted value verbatim: no interpolation, no directive, no other value put in its place", async () => {
    const { plan } = attempt((c) => {
      descriptions.forEach(([, v], i) => c.vms.push({ ...vmFor(i), description: v }));
      c.firewall = {};
      c.firewall.rules = comments.map(([, v]) => ({ protocol: "tcp", ports: "443", from: "external", comment: v }));
      c.vmDefaults.cloudInit.sshKeys = keyComments.map(([, v], i) => `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF${String(i).padStart(2, "0")}FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF ${v}`);
      c.kubernetes.kubeconfig = { path: `~/.kube/${paths[0]![1]}.conf`, context: contexts[0]![1] };
    });
    const stacks = synthAll(plan!);
    const j = await judgeOf([stacks.vms, stacks.cni]);
    const [vms, cni] = await Promise.all([j.showPlan(j.stackDir("hostile-vms", stacks.vms)), j.showPlan(j.stackDir("hostile-cni", stacks.cni))]);
    const resources = vms.planned_values.root_module.resources as any[];
    const vm = (name: string) => resources.find((r) => r.type === "proxmox_virtual_environment_vm" && r.values.name === name).values;
    descriptions.forEach(([, v], i) => expect(vm(`n${i}`).description).toBe(v));
    const group = resources.find((r) => r.type === "proxmox_virtual_environment_cluster_firewall_security_group" && r.values.name.endsWith("-wk")).values;
    const ruleComments = group.rule.map((r: any) => r.comment);
    for (const [, v] of comments) expect(ruleComments).toContain(v);
    expect(vm("master-1").initialization[0].user_account[0].keys).toEqual(plan!.sshKeys);
    // Variables are literal values: Terraform never interpolates them.
    expect(cni.variables.kubeconfig_path.value).toBe(`~/.kube/${paths[0]![1]}.conf`);
    expect(cni.variables.kubeconfig_context.value).toBe(contexts[0]![1]);
  });

  /**
   * Cilium's Helm values reach Terraform as one string, helm_release's `values`. What the
   * description can put in them (images, device names) has a format that refuses every hostile
   * value (above), so the values text is handed every one directly, in the Cilium construct of a
   * pve-dualnet stack: the Helm release Terraform plans must carry it as written.
   */
  const ciliumStack = (values: string) => {
    const { plan } = attempt((c) => (c.kubernetes.cni = { plugin: "cilium" }));
    const stack = new PveDualnetStack(cdktf.Testing.app(), "hostile-cilium", plan!.config);
    new HelmProvider(stack, "helm", { kubernetes: { configPath: "~/.kube/config" } });
    new Cilium(stack, "cilium", { values, chartVersion: CILIUM_CHART_VERSION, repository: CILIUM_CHART_REPOSITORY });
    return JSON.parse(cdktf.Testing.synth(stack));
  };
  // A judge of its own: the shared one serves the resource types of the first stacks it judged.
  let helmJudge: Promise<TerraformJudge> | undefined;
  afterAll(async () => (await helmJudge)?.stop());
  const plannedValues = async (name: string, json: any) => {
    const j = await (helmJudge ??= TerraformJudge.start(resourceTypes(json)));
    const shown = await j.showPlan(j.stackDir(name, json));
    return shown.planned_values.root_module.resources.find((r: any) => r.type === "helm_release").values.values;
  };

  it("plans Cilium's Helm values verbatim: every hostile value in them comes back from Terraform as data", async () => {
    const hostile = entries.filter(([, v]) => !cdktfTokenMarker(v)).map(([, v]) => v);
    const values = stringify({ devices: hostile, image: { override: HOSTILE["Terraform interpolation"] }, [HOSTILE["a Terraform directive"]!]: HOSTILE["an unbalanced ${"] });
    for (const marker of ["${", "%{"]) expect(values).toContain(marker);
    const planned = await plannedValues("hostile-cilium", ciliumStack(values));
    expect(planned).toEqual([values]);
    expect(parse(planned[0]).devices).toEqual(hostile);
  });

  it("the check can fail: Cilium's values without the escaping are interpolated by Terraform", async () => {
    const values = stringify({ devices: [HOSTILE["a Terraform directive"]] });
    const raw = JSON.parse(unescapeTemplate(JSON.stringify(ciliumStack(values))));
    expect(await plannedValues("unescaped-cilium", raw)).toEqual([values.replace(HOSTILE["a Terraform directive"]!, "yes")]);
  });

  it("the check can fail: the same stack without the escaping is interpolated by Terraform", async () => {
    const { plan } = attempt((c) => (c.vms[0].description = "%{ if true }yes%{ endif }"));
    const stacks = synthAll(plan!);
    const raw = JSON.parse(unescapeTemplate(JSON.stringify(stacks.vms)));
    const j = await judgeOf([stacks.vms]);
    const shown = await j.showPlan(j.stackDir("unescaped-vms", raw));
    const vm = shown.planned_values.root_module.resources.find((r: any) => r.values.name === "master-1").values;
    expect(vm.description).toBe("yes");
  });
});

const ansibleAvailable = hasTool("ansible-playbook", "ansible");

(ansibleAvailable ? describe : describe.skip)("what Ansible reads, judged by Ansible", () => {
  const dir = freshDirOfThisCheckout("pvdn-hostile-ansible");
  const env = { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: path.join(dir, ".tmp"), ANSIBLE_HOME: path.join(dir, ".ansible"), HOME: dir };
  /**
   * ansible-playbook in `cwd` (a directory of `dir`, which is HOME), judged: the playbook, its
   * files and what it writes there are what the judges' cache remembers.
   */
  const ansible = (cwd: string, args: string[]) =>
    judged({ judge: `ansible-playbook ${args.join(" ")}`, texts: { cwd, home: dir, settings: settingsIn(process.env, "ANSIBLE_") }, inputs: [cwd], outputs: cwd }, () => runTool("ansible-playbook", args, { cwd, env }));
  const accepted = entries.filter(([, v]) => !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(v) && !cdktfTokenMarker(v));

  it("variables files: every value comes back as written, none is templated", async () => {
    const work = path.join(dir, "vars");
    mkdirSync(work);
    const vars = Object.fromEntries(accepted.map(([, v], i) => [`hostile_${i}`, v]));
    writeFileSync(path.join(work, "vars.yml"), ansibleVariables("# hostile values", { ...vars, nested: { list: [HOSTILE["a Jinja expression"]] } }));
    writeFileSync(
      path.join(work, "vars-play.yml"),
      stringify([
        {
          hosts: "localhost",
          connection: "local",
          gather_facts: false,
          vars_files: ["vars.yml"],
          tasks: [{ "ansible.builtin.copy": { dest: `${work}/vars-out.json`, content: "{{ {'flat': [" + accepted.map((_, i) => `hostile_${i}`).join(", ") + "], 'nested': nested} | to_json }}", mode: "0600" } }],
        },
      ]),
    );
    const result = await ansible(work, ["-i", "localhost,", "vars-play.yml"]);
    expect(result.status).toBe(0);
    const out = JSON.parse(readFileSync(path.join(work, "vars-out.json"), "utf8"));
    expect(out.flat).toEqual(accepted.map(([, v]) => v));
    expect(out.nested.list).toEqual([HOSTILE["a Jinja expression"]]);
    expect(sentinelAppeared()).toBe(false);
  });

  it("Jinja templates: the data in them is printed as written, only the placed expressions are evaluated", async () => {
    const work = path.join(dir, "template");
    mkdirSync(path.join(work, "templates"), { recursive: true });
    const doc = { data: accepted.map(([, v]) => v), placed: jinja("inventory_hostname"), [HOSTILE["a Jinja statement"]!]: "key" };
    writeFileSync(path.join(work, "templates", "hostile.yaml.j2"), jinjaTemplate(`# header {{ ${touch} }}`, [doc, { second: "{% raw %}" }]));
    writeFileSync(
      path.join(work, "template-play.yml"),
      stringify([{ hosts: "localhost", connection: "local", gather_facts: false, tasks: [{ "ansible.builtin.template": { src: "templates/hostile.yaml.j2", dest: `${work}/rendered.yaml`, mode: "0600" } }] }]),
    );
    const result = await ansible(work, ["-i", "localhost,", "template-play.yml"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const rendered = readFileSync(path.join(work, "rendered.yaml"), "utf8");
    expect(rendered.split("\n")[0]).toBe(`# header {{ ${touch} }}`);
    const [first, second] = parseAllDocuments(rendered).map((d) => d.toJS());
    expect(first).toEqual({ data: accepted.map(([, v]) => v), placed: "localhost", [HOSTILE["a Jinja statement"]!]: "key" });
    expect(second).toEqual({ second: "{% raw %}" });
    expect(sentinelAppeared()).toBe(false);
  });

  it("the INI inventory: the writer refuses every value that is not a plain word", () => {
    for (const [, value] of entries) {
      if (/^[\w.:/@+-]+$/.test(value)) expect(inventoryHostLine("n1", { v: value })).toBe(`n1 v=${value}`);
      else expect(() => inventoryHostLine("n1", { ansible_user: value })).toThrow(/refusing to write/);
    }
    expect(() => inventoryHostLine(HOSTILE["an INI variable"]!, {})).toThrow(/refusing to write/);
    expect(inventoryHostLine("n1", { ansible_host: "192.168.0.11", internal_mtu: 1500 })).toBe("n1 ansible_host=192.168.0.11 internal_mtu=1500");
  });

  it("the node setup, run for real in check mode, carries a hostile kubeconfig path as a path and runs nothing", async () => {
    const hostilePath = `~/.kube/{{ lookup('pipe', '${touch}') }} $(${touch}).conf`;
    const { plan } = attempt((c) => (c.kubernetes.kubeconfig = { path: hostilePath }));
    const setup = path.join(dir, "node-setup");
    for (const file of Object.values<any>(synthAll(plan!).vms.resource.local_file)) {
      const relative = (file.filename as string).replace(/^\.\.\/\.\.\/\.\.\/generated\/ansible\//, "");
      mkdirSync(path.join(setup, path.dirname(relative)), { recursive: true });
      writeFileSync(path.join(setup, relative), unescapeTemplate(file.content));
    }
    const vars = parse(readFileSync(path.join(setup, "group_vars", "all.yml"), "utf8").replace(/!unsafe /g, ""));
    expect(vars.k8s_kubeconfig_path).toBe(hostilePath);
    // The play that writes the kubeconfig on this machine, in check mode, with every node local.
    const result = await ansible(setup, ["-i", "inventory.ini", "site.yml", "--check", "--start-at-task", "Look for the kubeconfig's directory on this machine", "-e", "ansible_connection=local", "-v"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`"path": "${dir}/.kube/{{ lookup('pipe', 'touch ${sentinelDir}`);
    expect(sentinelAppeared()).toBe(false);
  });
});

describe("shell lines, judged by sh", () => {
  it("every word reaches the program as one argument, as written", async () => {
    const words = entries.map(([, v]) => v).filter((v) => !v.includes("\u0000"));
    const result = await runTool("sh", ["-c", shellCommand("printf", "%s\\0", ...words)]);
    expect(result.status).toBe(0);
    expect(result.stdout.split("\u0000").slice(0, -1)).toEqual(words);
    expect(sentinelAppeared()).toBe(false);
  });

  it("the commands Terraform runs on the hosts parse (sh -n) and quote what needs quoting", async () => {
    const { plan } = attempt(() => {});
    const commands = Object.values<any>(synthAll(plan!).hostNetwork.resource.terraform_data).flatMap((r) => r.provisioner.flatMap((p: any) => p["remote-exec"]?.inline ?? []));
    expect(commands.length).toBeGreaterThan(2);
    for (const command of commands) expect((await runTool("sh", ["-n", "-c", unescapeTemplate(command)])).status).toBe(0);
    expect(commands.join("\n")).toContain("-name 'network-*' '!' -name network-");
  });
});

describe("values the description does not hold as written: decoded, quoted in messages, shown in the review", () => {
  it("an image URL's file name is screened after percent-decoding: what decodes to code or a path is refused at the URL", () => {
    const urls = [
      "x%24%7BTfToken%5BTOKEN.0%5D%7D.qcow2", // cdktf's token marker: another value of the stack in its place
      "x%24%7Bvar.ssh_private_key%7D.qcow2", // Terraform interpolation
      "x%0Apost-up%20id.qcow2", // a line break
      "%2F..%2F..%2Fx.qcow2", // a path out of the datastore
      "x%1B%5B2J.qcow2", // an escape sequence
      "%67hp_A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5A1b2C3d4E5.qcow2", // a token the screen of the raw URL cannot see
      "x%zz.qcow2", // a malformed escape
      "x%.qcow2",
      "..",
    ];
    for (const name of urls) {
      const { issues } = attempt((c) => (c.vmDefaults.source = { image: { url: `https://images.example.com/${name}` } }));
      expect([name, issues?.find((i) => i.path === "vmDefaults.source.image.url")?.message]).toEqual([name, expect.stringMatching(/not a plain file name/)]);
      expect(JSON.stringify(issues)).not.toMatch(/TfToken|ssh_private_key|post-up|\u001b|ghp_/);
    }
    // A plain name, encoded or not, is the file name; a fileName of its own makes the URL's irrelevant.
    expect(attempt((c) => (c.vmDefaults.source = { image: { url: "https://images.example.com/noble%2Bv1.qcow2" } })).plan).toBeDefined();
    expect(attempt((c) => (c.vmDefaults.source = { image: { url: "https://images.example.com/x%24%7By%7D", fileName: "noble.qcow2" } })).plan).toBeDefined();
  });

  it("the check can fail: the file name of an accepted URL reaches the stack decoded", () => {
    const { plan } = attempt((c) => (c.vmDefaults.source = { image: { url: "https://images.example.com/noble%2Bv1.qcow2" } }));
    const download = Object.values(synthAll(plan!).vms.resource.proxmox_download_file as Record<string, any>)[0];
    expect(download.file_name).toBe("noble+v1.qcow2");
  });

  it("messages never carry a terminal control sequence, even from the YAML parser", () => {
    const error = (() => {
      try {
        parseCluster("%YAML 1.3\u001b]0;owned\u0007\u001b[2J\nname: x\n", "hostile.yaml");
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error("accepted");
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).not.toMatch(/(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
    expect(error.message).toContain("<U+001B>");
    expect(visible("a\u202Eb\u0007")).toBe("a<U+202E>b<U+0007>");
  });

  it("the review report shows every value as text: Markdown and HTML in it never render (judged by marked, GitHub-flavoured)", () => {
    const regex = "^eth1$|<img src=x onerror=alert(1)>|<!-- x -->|[l](javascript:alert(1))|_e_|`c`|&lt;";
    const { plan } = attempt((c) => {
      c.vmDefaults.cloudInit.networkData = { enabled: true };
      c.kubernetes.cni.flannel.interface = { regex };
    });
    const html = toHtml(renderReport(plan!, "markdown"));
    expect(html).not.toMatch(/<img|<!--|<a |<em>|<code>/);
    // The cell reads as written: marked's HTML of the text, entities for < > & and the quotes.
    const cell = [...html.matchAll(/<td>([^<]*eth1[^<]*)<\/td>/g)].map((m) => m[1]!.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&"));
    expect(cell).toContain(`--iface-regex=${regex}`);
    // The check can fail: the same cell without escaping renders.
    expect(toHtml(`| a |\n|---|\n| ${regex.replace(/\|/g, "\\|")} |\n`)).toMatch(/<img/);
    expect(markdownText("a|b<c")).toBe("a\\|b\\<c");
  });

  it("no VM takes a name Ansible reads as its own: localhost would receive the kubeconfig meant for this machine", () => {
    for (const name of ["localhost", "all", "ungrouped", "masters", "workers", "k8s_cluster"]) {
      const { issues } = attempt((c) => (c.vms[1].name = name));
      if (name === "k8s_cluster") {
        expect(issues?.find((i) => i.path === "vms[1].name")?.message).toMatch(/lower-case letters/); // not even a DNS label
      } else {
        expect([name, issues?.find((i) => i.path === "vms[1].name")?.message]).toEqual([name, expect.stringMatching(/a name Ansible reads as its own/)]);
      }
      expect(() => inventoryHostLine(name, { ansible_host: "192.168.0.12" })).toThrow(/Ansible reads that name as its own/);
    }
  });

  it("the output directory is never the project itself, however it is written", () => {
    for (const directory of ["./", "a/../", "a/..//", ".//", "./."]) {
      const { issues } = attempt((c) => (c.output = { directory }));
      expect([directory, issues?.find((i) => i.path === "output.directory")?.message]).toEqual([directory, "is the project directory itself"]);
    }
  });

  it("a local path never climbs with '..', also right after its start", () => {
    for (const path of ["/../etc/x", "~/../x", "/a/..", "/a/../b"]) {
      const { issues } = attempt((c) => (c.kubernetes.kubeconfig = { path }));
      expect([path, issues?.find((i) => i.path === "kubernetes.kubeconfig.path")?.message]).toEqual([path, expect.stringMatching(/without '\.\.'/)]);
    }
    expect(attempt((c) => (c.kubernetes.kubeconfig = { path: "/a/b..c/x.conf" })).plan).toBeDefined();
  });

  it("finds private keys and cloud secrets in their other forms, inside longer text, and not certificates", () => {
    const pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n";
    const secrets = [
      "-----BEGIN PGP PRIVATE KEY BLOCK-----",
      "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----",
      `client-key-data: ${Buffer.from("-----BEGIN RSA PRIVATE KEY-----\nMIIEow==\n").toString("base64")}`,
      `the key, base64: ${Buffer.from(pem).toString("base64")}`,
      "body only: b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "ASIAIOSFODNN7EXAMPLE",
    ];
    for (const secret of secrets) {
      const { issues } = attempt((c) => (c.vms[0].description = `notes\n${secret}\nmore notes`));
      expect([secret, issues?.find((i) => i.path === "vms[0].description")?.message]).toEqual([secret, expect.stringMatching(/^looks like /)]);
      expect(issues!.filter((i) => i.path === "vms[0].description")).toHaveLength(1);
    }
    const certificate = `certificate-authority-data: ${Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n").toString("base64")}`;
    expect(attempt((c) => (c.vms[0].description = certificate)).plan).toBeDefined();
  });

  it("says plainly what is wrong with odd YAML: keys named like Object's own, an alias without anchor, a non-mapping with the environment's settings", () => {
    const nested = attempt((c) => {
      c.networks.internal = { ...c.networks.internal, ...JSON.parse('{"__proto__": 1, "constructor": 2, "toString": 3}') };
    }).issues!;
    for (const key of ["__proto__", "constructor", "toString"]) {
      const issue = nested.find((i) => i.path === `networks.internal.${key}`);
      expect([key, issue?.message]).toEqual([key, `unknown key "${key}"`]);
      expect(issue!.fix).not.toMatch(/object Object|native code|function/);
    }
    expect(() => parseCluster("name: *nosuch\n")).toThrow(/uses the YAML alias \*nosuch, but no anchor &nosuch comes before it/);
    const { proxmox, networks, vms } = exampleInput();
    let error: ConfigError | undefined;
    try {
      parseCluster(stringify({ name: "x", proxmox, networks, vms, terraformCloud: "abc" }), "c.yaml", { PVE_DUALNET_TFC_ORGANIZATION: "acme" });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error!.issues.map((i) => i.path)).toContain("terraformCloud");
    expect(error!.issues.map((i) => i.path)).not.toContain("terraformCloud.0");
  });

  it("reports a refused value once, not again as the <redacted> that stands in its place", () => {
    const { issues } = attempt((c) => {
      c.proxmox.endpoint = "https://192.168.0.2:8006/\u001b";
      c.vmDefaults.cloudInit.user = "ubuntu\r";
    });
    expect(issues!.filter((i) => i.path === "proxmox.endpoint")).toHaveLength(1);
    expect(issues!.filter((i) => i.path === "vmDefaults.cloudInit.user")).toHaveLength(1);
    expect(JSON.stringify(issues)).not.toContain("<redacted>");
  });
});
