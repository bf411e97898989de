import { hostProgram } from "../constructs/host-programs";
import { renderNetworkEnv } from "../renderers/host-apply-env";
import { renderInterfaces } from "../renderers/interfaces";
import { sha256 } from "../constructs/terraform-text";
import { planWith, resourcesOf, withShippedFilesByName } from "./helpers";
import { synthAll } from "./synth";

const plan = planWith();
const stack = synthAll(plan).hostNetwork;
const files = resourcesOf(stack, "local_file");
const applies = stack.resource.terraform_data as Record<string, any>;
const fileNamed = (suffix: string) => files.find((f) => f.filename.endsWith(suffix));
/** The terraform_data of one apply, by its construct path (host-pve/<name>/apply). */
const applyIn = (resources: Record<string, any>, name: string) => Object.entries(resources).find(([key]) => key.startsWith(`host-pve_${name}_apply_`))![1];
const applyOf = (name: "network" | "sysctl") => applyIn(applies, name);

describe("host network stack", () => {
  it("synthesizes as before (the host programs stand in by name: they have tests of their own)", () => {
    const shown = withShippedFilesByName(stack);
    expect(JSON.stringify(shown).match(/<the content of host\/[^>]+>/g)).toHaveLength(5);
    expect(shown).toMatchSnapshot();
  });

  it("writes each host's files into its own directory under the output path", () => {
    expect(files.map((f) => f.filename).sort()).toEqual([
      "../../../generated/hosts/pve/99-proxmox-network.conf",
      "../../../generated/hosts/pve/interfaces",
      "../../../generated/hosts/pve/network.env",
      "../../../generated/hosts/pve/sysctl.env",
    ]);
    expect(fileNamed("/interfaces").content).toBe(renderInterfaces(plan.hosts[0]!, "detectviz"));
    expect(fileNamed("/network.env").content).toBe(renderNetworkEnv(plan.hosts[0]!, { confirmTimeout: 60, verifyTimeout: 30 }));
  });

  it("triggers the network apply on the content hashes of what it uploads only", () => {
    expect(applyOf("network").triggers_replace).toEqual({
      "pve-dualnet-network.sh": sha256(hostProgram("pve-dualnet-network.sh").content),
      "pve-dualnet-lib.sh": sha256(hostProgram("pve-dualnet-lib.sh").content),
      "pve-dualnet-network-guard.service": sha256(hostProgram("pve-dualnet-network-guard.service").content),
      "network.env": sha256(fileNamed("/network.env").content),
      interfaces: sha256(renderInterfaces(plan.hosts[0]!, "detectviz")),
    });
  });

  it("changes the network trigger when the interfaces change, and nothing else", () => {
    const jumbo = synthAll(planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }))).hostNetwork;
    const after = (name: string) => applyIn(jumbo.resource.terraform_data, name);
    expect(after("network").triggers_replace.interfaces).not.toBe(applyOf("network").triggers_replace.interfaces);
    expect(after("sysctl").triggers_replace).toEqual(applyOf("sysctl").triggers_replace);
  });

  it("uploads into a directory named by the content, applies, then confirms over a second connection", () => {
    const provisioners = applyOf("network").provisioner;
    const uploads = provisioners.filter((p: any) => p.file).map((p: any) => p.file.destination);
    const dir = uploads[0].slice(0, uploads[0].lastIndexOf("/"));
    expect(dir).toMatch(/^\/root\/\.pve-dualnet\/network-[0-9a-f]{16}$/);
    expect(uploads.map((u: string) => u.slice(dir.length + 1))).toEqual(["pve-dualnet-network.sh", "pve-dualnet-lib.sh", "pve-dualnet-network-guard.service", "network.env", "interfaces"]);
    const commands = provisioners.filter((p: any) => p["remote-exec"]).map((p: any) => p["remote-exec"].inline);
    expect(commands).toEqual([
      [`umask 077 && mkdir -p ${dir}`],
      [`/bin/sh ${dir}/pve-dualnet-network.sh apply ${dir}/network.env ${dir}/interfaces`],
      [expect.stringMatching(new RegExp(`^/bin/sh ${dir}/pve-dualnet-network.sh confirm ${dir}/network.env ${sha256(renderInterfaces(plan.hosts[0]!, "detectviz"))} && find /root/.pve-dualnet `))],
    ]);
  });

  it("uses sudo for a non-root SSH user, and that user's staging directory", () => {
    const stack2 = synthAll(planWith((c) => (c.proxmox.nodes[0].ssh = { user: "deploy" }))).hostNetwork;
    const commands = applyIn(stack2.resource.terraform_data, "network").provisioner.filter((p: any) => p["remote-exec"]).map((p: any) => p["remote-exec"].inline[0]);
    expect(commands[1]).toMatch(/^sudo -n \/bin\/sh \/home\/deploy\/\.pve-dualnet\/network-/);
  });

  it("applies sysctl after the network", () => {
    expect(applyOf("sysctl").depends_on).toEqual([expect.stringMatching(/^terraform_data\.host-pve_network_apply_/)]);
  });

  it("connects over SSH with the agent or the sensitive variable, never a literal key", () => {
    expect(applyOf("network").connection).toEqual({
      type: "ssh",
      host: "192.168.0.2",
      user: "root",
      port: 22,
      timeout: "2m",
      agent: "${(var.ssh_private_key == null)}",
      private_key: "${var.ssh_private_key}",
    });
    expect(stack.variable.ssh_private_key).toMatchObject({ sensitive: true, default: null });
    expect(JSON.stringify(stack)).not.toMatch(/PRIVATE KEY|PVEAPIToken|api_token/);
  });

  it("escapes shell ${...} so Terraform does not interpolate rendered files", () => {
    const raw = JSON.stringify(stack);
    const interpolations = raw.match(/(?<!\$)\$\{[^}]*\}/g) ?? [];
    expect([...new Set(interpolations)].sort()).toEqual(["${(var.ssh_private_key == null)}", "${var.ssh_private_key}"]);
  });

  it("keeps state in the project under a relative path", () => {
    expect(stack.terraform.backend).toEqual({ local: { path: "../../../terraform.host-network.tfstate" } });
  });

  it("is deterministic: two synths are byte-identical", () => {
    const again = synthAll(planWith(), { fresh: true }).hostNetwork;
    expect(JSON.stringify(again)).toBe(JSON.stringify(stack));
  });
});
