import { renderNetworkApplyScript } from "../renderers/apply-scripts";
import { renderInterfaces } from "../renderers/interfaces";
import { sha256 } from "../constructs/terraform-text";
import { planWith, resourcesOf, synthAll } from "./helpers";

const plan = planWith();
const stack = synthAll(plan).hostNetwork;
const files = resourcesOf(stack, "local_file");
const applies = stack.resource.terraform_data as Record<string, any>;
const fileNamed = (suffix: string) => files.find((f) => f.filename.endsWith(suffix));
/** The terraform_data of one apply, by its construct path (host-pve/<name>/apply). */
const applyIn = (resources: Record<string, any>, name: string) => Object.entries(resources).find(([key]) => key.startsWith(`host-pve_${name}_apply_`))![1];
const applyOf = (name: "network" | "sysctl") => applyIn(applies, name);

describe("host network stack", () => {
  it("synthesizes as before", () => {
    expect(stack).toMatchSnapshot();
  });

  it("writes each host's files into its own directory under the output path", () => {
    expect(files.map((f) => f.filename).sort()).toEqual([
      "../../../generated/hosts/pve/99-proxmox-network.conf",
      "../../../generated/hosts/pve/apply-network.sh",
      "../../../generated/hosts/pve/apply-sysctl.sh",
      "../../../generated/hosts/pve/interfaces",
      "../../../generated/nodes/sysctl.d/99-k8s.conf",
    ]);
    expect(fileNamed("/interfaces").content).toBe(renderInterfaces(plan.hosts[0]!, "detectviz"));
    expect(fileNamed("apply-network.sh").file_permission).toBe("0755");
  });

  it("triggers the network apply on the content hashes of its files only", () => {
    expect(applyOf("network").triggers_replace).toEqual({
      interfaces: sha256(renderInterfaces(plan.hosts[0]!, "detectviz")),
      "apply-network": sha256(renderNetworkApplyScript(plan.hosts[0]!)),
    });
  });

  it("changes the network trigger when the interfaces change, and nothing else", () => {
    const jumbo = synthAll(planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }))).hostNetwork;
    const after = (name: string) => applyIn(jumbo.resource.terraform_data, name);
    expect(after("network").triggers_replace.interfaces).not.toBe(applyOf("network").triggers_replace.interfaces);
    expect(after("sysctl").triggers_replace).toEqual(applyOf("sysctl").triggers_replace);
  });

  it("stages the file as interfaces.new and runs the apply detached with systemd-run", () => {
    const commands = applyOf("network").provisioner.at(-1)["remote-exec"].inline.join("\n");
    expect(commands).toContain("install -m 0644 /root/.pve-dualnet/interfaces /etc/network/interfaces.new");
    expect(commands).toMatch(/systemd-run .*--wait .*apply-network\.sh/);
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
    const again = synthAll(planWith()).hostNetwork;
    expect(JSON.stringify(again)).toBe(JSON.stringify(stack));
  });
});
