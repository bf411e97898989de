import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { clusterJsonSchema } from "../config/json-schema";
import { DUAL_STACK_EXAMPLE, EXAMPLE_CONFIG, loadClusterFile, parseCluster } from "../config/load";
import { secretIn } from "../config/secrets";
import { renderDocs } from "../renderers/docs";
import { renderMermaid } from "../renderers/mermaid";
import { renderReport } from "../renderers/report";
import { App, CloudBackend, NamedCloudWorkspace, TaggedCloudWorkspaces, TerraformStack } from "cdktf";
import { TerraformCloudBackend, type TerraformCloudBackendProps } from "../constructs/terraform-cloud-backend";
import { planWith } from "./helpers";
import { synthAll } from "./synth";
import { judged } from "./lab/judged";
import { runTool } from "./lab/tools";

const root = path.join(__dirname, "..");
const exampleText = readFileSync(EXAMPLE_CONFIG, "utf8");

describe("state backends", () => {
  it("keeps state locally by default", () => {
    for (const stack of Object.values(synthAll(planWith()))) expect(Object.keys(stack.terraform.backend)).toEqual(["local"]);
  });

  it("puts each stack in its own Terraform Cloud workspace by prefix", () => {
    const stacks = synthAll(planWith((c) => (c.terraformCloud = { organization: "homelab", project: "k8s" })));
    expect(stacks.vms.terraform.cloud).toEqual({ organization: "homelab", hostname: "app.terraform.io", workspaces: { name: "detectviz-vms", project: "k8s" } });
    expect(stacks.cni.terraform.cloud.workspaces.name).toBe("detectviz-cni");
    expect(stacks.vms.terraform).not.toHaveProperty("backend");
  });

  it("selects workspaces by tags", () => {
    const stacks = synthAll(planWith((c) => (c.terraformCloud = { organization: "homelab", workspaces: { tags: ["pve"] } })));
    expect(stacks.hostNetwork.terraform.cloud.workspaces).toEqual({ tags: ["pve", "pve-dualnet-host-network"] });
  });

  it("takes Terraform Cloud settings from the environment, and never a token", () => {
    const plan = parseCluster(exampleText, "example", {
      PVE_DUALNET_TFC_ORGANIZATION: "acme",
      PVE_DUALNET_TFC_WORKSPACE_PREFIX: "lab-",
      PVE_DUALNET_TFC_HOSTNAME: "tfe.example.internal",
      TF_TOKEN_app_terraform_io: "secret-token-value",
    });
    const stack = synthAll(plan).vms;
    expect(stack.terraform.cloud).toEqual({ organization: "acme", hostname: "tfe.example.internal", workspaces: { name: "lab-vms" } });
    expect(JSON.stringify(stack)).not.toContain("secret-token-value");
  });

  it.each<[string, () => TerraformCloudBackendProps]>([
    ["a named workspace in a project", () => ({ organization: "homelab", hostname: "app.terraform.io", workspaces: new NamedCloudWorkspace("detectviz-vms", "k8s") })],
    ["tagged workspaces, Terraform Enterprise", () => ({ organization: "acme", hostname: "tfe.example.internal", workspaces: new TaggedCloudWorkspaces(["pve", "pve-dualnet-vms"]) })],
    ["no hostname", () => ({ organization: "acme", workspaces: new NamedCloudWorkspace("lab-vms") })],
  ])("writes the cloud block and the stack metadata cdktf's CloudBackend writes: %s", (_, props) => {
    const stackWith = (backend: (stack: TerraformStack) => void) => {
      const stack = new TerraformStack(new App({ outdir: mkdtempSync(path.join(tmpdir(), "pvdn-cloud-")) }), "vms");
      backend(stack);
      return stack.toTerraform();
    };
    const cdktfs = stackWith((stack) => new CloudBackend(stack, props()));
    expect(stackWith((stack) => new TerraformCloudBackend(stack, props()))).toEqual(cdktfs);
    expect(cdktfs["//"].metadata).toMatchObject({ backend: "cloud", cloud: props().hostname?.startsWith("tfe") ? "tfe" : "tfc" });
  });
});

describe("review report", () => {
  const plan = planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }));

  it("shows bridges, VM NICs, the MTU chain and the CNI as Markdown", () => {
    const md = renderReport(plan, "markdown");
    expect(md).toContain("| pve | vmbr1 | bridge (internal) | enp5s0 | 10.0.0.2/24 |  | 9000 |");
    expect(md).toContain("| master-1 | 111 | control-plane | pve | 4 | 8192 MiB | eth0 (external) | vmbr0 | 1500 | 4 | 02:00:00:00:00:6F | 192.168.0.11/24 via 192.168.0.1 |");
    expect(md).toContain("|  |  |  |  |  |  | eth1 (internal) | vmbr1 | 9000 | 4 | 02:01:00:00:00:6F | 10.0.0.11/24 |");
    expect(md).toContain("| overlay (pods) | 8950 | vxlan costs 50 bytes: 9000 - 50 |");
    expect(md).toContain("| flannel | vxlan | --iface-can-reach=10.0.0.2 | 10.244.0.0/16 | 10.96.0.0/12 | /24 |");
  });

  it("renders the same content as aligned plain text", () => {
    const text = renderReport(plan, "text");
    expect(text).not.toContain("|");
    expect(text).toMatch(/^overlay \(pods\)\s+8950\s+vxlan costs 50 bytes/m);
  });
});

describe("review report, dual-stack (examples/dual-stack.yaml)", () => {
  const md = renderReport(loadClusterFile(DUAL_STACK_EXAMPLE), "markdown");

  it("shows both families of every address, gateway, pod and service network and node mask", () => {
    expect(md).toContain("| pve | vmbr0 | bridge (external) | enp4s0 | 192.168.0.2/24, fd00:192:168::2/64 | 192.168.0.1, fd00:192:168::1 | 1500 |");
    expect(md).toContain("| eth1 (internal) | vmbr1 | 1500 | 4 | 02:01:00:00:00:6F | 10.0.0.11/24, fd00:10::11/64 |");
    expect(md).toContain("| 192.168.0.11/24 via 192.168.0.1, fd00:192:168::11/64 via fd00:192:168::1 |");
    expect(md).toContain("| flannel | vxlan | --iface-can-reach=10.0.0.2 | 10.244.0.0/16, fd00:10:244::/56 | 10.96.0.0/12, fd00:10:96::/112 | /24, /64 |");
  });

  it("shows the CNI's wire facts per family: underlay, encapsulation, overhead, the largest packet, the flows", () => {
    expect(md).toContain("| overlay (pods) | 1430 | vxlan costs 50 bytes over IPv4 and 70 over IPv6, the pods' one MTU fits both: 1500 - 70 |");
    expect(md).toContain("| IPv4 | 10.244.0.0/16 | IPv4 10.0.0.0/24 | vxlan | 50 | 1430 + 50 = 1480 |");
    expect(md).toContain("| IPv6 | fd00:10:244::/56 | IPv6 fd00:10::/64 | vxlan | 70 | 1430 + 70 = 1500 |");
    expect(md).toContain("| flows between nodes | udp 8472 (flannel VXLAN) |");
  });
});

describe("topology diagram", () => {
  const diagram = renderMermaid(planWith());

  it("draws both families with dual-stack: networks, gateway, addresses, and how each family's pods cross the internal network", () => {
    const dual = renderMermaid(loadClusterFile(DUAL_STACK_EXAMPLE));
    expect(dual).toContain('internal[["internal network 10.0.0.0/24 + fd00:10::/64<br/>');
    expect(dual).toContain('gateway(["gateway 192.168.0.1 + fd00:192:168::1"])');
    expect(dual).toContain('overlay{{"pod overlay 10.244.0.0/16 + fd00:10:244::/56, MTU 1430<br/>IPv4 pods: vxlan over IPv4, 50 bytes<br/>IPv6 pods: vxlan over IPv6, 70 bytes"}}');
    expect(dual).toContain('master_1_eth1["eth1 10.0.0.11<br/>fd00:10::11<br/>MTU 1500, 4 queues"]');
  });

  it("draws the hosts, bridges, both NICs of every VM and the overlay", () => {
    expect(diagram).toMatch(/^flowchart TB\n/);
    expect(diagram).toContain("  pve_enp5s0 --- pve_vmbr1");
    expect(diagram).toContain("  master_1_eth0 --- pve_vmbr0");
    expect(diagram).toContain("  master_1_eth1 --- pve_vmbr1");
    expect(diagram).toContain("  pve_enp5s0 === internal");
    expect(diagram).toContain('overlay{{"pod overlay 10.244.0.0/16<br/>vxlan, MTU 1450"}}');
  });

  it.concurrent("is valid Mermaid for the real parser, which rejects a broken diagram beside it (the check can fail)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-mermaid-"));
    writeFileSync(path.join(dir, "topology.mmd"), diagram);
    writeFileSync(path.join(dir, "dual-stack.mmd"), renderMermaid(loadClusterFile(DUAL_STACK_EXAMPLE)));
    writeFileSync(path.join(dir, "broken.mmd"), "flowchart TB\n  a[[x --- ");
    const checker = path.join(root, "scripts", "check-mermaid.mjs");
    const result = await judged({ judge: "check-mermaid.mjs topology.mmd dual-stack.mmd broken.mmd", inputs: [checker, dir] }, () =>
      runTool(process.execPath, [checker, "topology.mmd", "dual-stack.mmd", "broken.mmd"], { cwd: dir }),
    );
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n")[0]).toBe("topology.mmd: valid flowchart-v2");
    expect(result.stdout.split("\n")[1]).toBe("dual-stack.mmd: valid flowchart-v2");
    expect(result.stdout.split("\n")[2]).toMatch(/^broken\.mmd: invalid: /);
    expect(result.status).toBe(1);
  });
});

describe("generated documentation", () => {
  const docs = renderDocs(clusterJsonSchema(), loadClusterFile(EXAMPLE_CONFIG), loadClusterFile(DUAL_STACK_EXAMPLE));

  it("is up to date: cluster.schema.json, docs/config-reference.md, docs/topology.md (run node bin/pve-dualnet.mjs docs)", () => {
    expect(Object.keys(docs).sort()).toEqual(["cluster.schema.json", "docs/config-reference.md", "docs/topology.md"]);
    for (const [file, content] of Object.entries(docs)) expect([file, readFileSync(path.join(root, file), "utf8")]).toEqual([file, content]);
  });

  it("documents every field with its default", () => {
    const rows = docs["docs/config-reference.md"]!.split("\n").filter((l) => l.startsWith("| `"));
    expect(rows.length).toBeGreaterThan(100);
    expect(rows.filter((r) => /\|\s*\|$/.test(r))).toEqual([]);
    expect(rows.find((r) => r.startsWith("| `networks.internal.mtu`"))).toMatch(/Default: 1500/);
  });

  it("shows the example's topology", () => {
    expect(docs["docs/topology.md"]).toContain(renderMermaid(loadClusterFile(EXAMPLE_CONFIG)));
    expect(docs["docs/topology.md"]).toContain(renderMermaid(loadClusterFile(DUAL_STACK_EXAMPLE)));
  });
});

describe("pull-request workflow", () => {
  it("is valid for GitHub's workflow parser", async () => {
    const checker = path.join(root, "scripts", "check-workflows.mjs");
    const result = await judged({ judge: "check-workflows.mjs", inputs: [checker, path.join(root, ".github", "workflows")] }, () =>
      runTool(process.execPath, ["--import", "tsx", checker], { cwd: root }),
    );
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("plan-review.yml: valid");
  });

  it("posts the change impact against the base branch as the base branch synthesizes it, with or without credentials", () => {
    const workflow = parse(readFileSync(path.join(root, ".github", "workflows", "plan-review.yml"), "utf8"));
    const steps: { name?: string; if?: string; run?: string }[] = workflow.jobs.review.steps;
    const at = (name: string) => steps.findIndex((s) => s.name === name);
    const [base, impact, comment, fail] = ["Synthesize the base branch", "Change impact", "Comment on the pull request", "Fail when a resource would be replaced"].map(at);
    expect(Math.min(base!, impact!, comment!, fail!)).toBeGreaterThanOrEqual(0);
    expect(base! < impact! && impact! < comment! && comment! < fail!).toBe(true);
    expect([steps[base!]!.if, steps[impact!]!.if]).toEqual([undefined, undefined]);
    expect(steps[base!]!.run).toContain('(cd ../base && npm ci --no-audit --no-fund && node bin/pve-dualnet.mjs synth "$PVE_DUALNET_CONFIG")');
    expect(steps[impact!]!.run).toContain("node bin/pve-dualnet.mjs plan-impact ../base/cdktf.out cdktf.out --format markdown >> review.md");
    expect(steps[fail!]).toMatchObject({ if: "vars.PVE_DUALNET_FAIL_ON_REPLACE == 'true'", run: expect.stringContaining("plan-impact ../base/cdktf.out cdktf.out --fail-on-replace") });
  });

  it("hands the cni stack its kubeconfig where the stack reads it: the kubeconfig_path variable", () => {
    const workflow = readFileSync(path.join(root, ".github", "workflows", "plan-review.yml"), "utf8");
    const cni = synthAll(planWith()).cni;
    expect(cni.provider.kubernetes[0].config_path).toBe("${var.kubeconfig_path}");
    // Terraform reads TF_VAR_<name> for variable <name>; the workflow writes the secret's file there.
    expect(workflow).toMatch(/export TF_VAR_kubeconfig_path="\$RUNNER_TEMP\/kubeconfig"\n\s+\(umask 077 && printf '%s' "\$KUBECONFIG_CONTENT" > "\$TF_VAR_kubeconfig_path"\)/);
    expect(workflow).not.toMatch(/~\/\.kube\/config/);
  });
});

describe("no secrets in what the project publishes", () => {
  /** Every line of the text, as the description's secret check sees a value. */
  const secretsIn = (text: string) => text.split("\n").flatMap((line) => secretIn(line) ?? []).map((kind) => ({ message: `looks like ${kind.what}` }));
  const published = () =>
    execFileSync("git", ["ls-files", "-z", "--", "__tests__/__snapshots__", "docs", "examples", "README.md", "cluster.schema.json", "ansible", "host"], { cwd: root, encoding: "utf8" })
      .split("\0")
      .filter(Boolean);

  it("no snapshot, document, example or host program holds anything that looks like a key or token", () => {
    const files = published();
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((file) => secretsIn(readFileSync(path.join(root, file), "utf8")).map((issue) => `${file}: ${issue.message}`));
    expect(found).toEqual([]);
  });

  it("would notice one (the scan can fail)", () => {
    expect(secretsIn("token = \"terraform@pve!ci=0123abcd-0123-4567-89ab-0123456789ab\"")).toHaveLength(1);
    expect(secretsIn("  key: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n")).not.toHaveLength(0);
  });
});
