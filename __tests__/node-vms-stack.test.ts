import { parse } from "yaml";
import { dualBridgeNode, planWith, resourcesOf, withShippedFilesByName } from "./helpers";
import { synthAll } from "./synth";
import { unescapeTemplate } from "../constructs/terraform-text";
import { networkDeviceElement } from "../constructs/kubernetes-node-vm";
import { proxmoxSchema } from "./terraform/provider-schemas";

const plan = planWith();
const stack = synthAll(plan).vms;
/** VMs in VM id order (Terraform JSON orders resources by name). */
const vmsOf = (s: any) => resourcesOf(s, "proxmox_virtual_environment_vm").sort((a, b) => a.vm_id - b.vm_id);
const vms = vmsOf(stack);
const vmNamed = (name: string, s = stack) => resourcesOf(s, "proxmox_virtual_environment_vm").find((v) => v.name === name);
const file = (s: any, suffix: string) => resourcesOf(s, "local_file").find((f) => f.filename.endsWith(suffix))?.content as string;

describe("node VM stack", () => {
  it("synthesizes as before (the playbook stands in by name: it has tests of its own)", () => {
    expect(withShippedFilesByName(stack)).toMatchSnapshot();
  });

  it("pins bpg/proxmox 0.111.1 (terraform.test.ts has Terraform judge the stack against its schema)", () => {
    expect(stack.terraform.required_providers.proxmox).toEqual({ source: "bpg/proxmox", version: "0.111.1" });
  });

  it("writes every network_device element with exactly the provider's eleven keys (Terraform drops unknown keys silently)", () => {
    const type = proxmoxSchema().resource_schemas.proxmox_virtual_environment_vm.block.attributes.network_device.type;
    expect(type[0]).toBe("list");
    const keys = Object.keys(type[1][1]).sort();
    expect(keys).toHaveLength(11);
    for (const vm of vms) for (const nic of vm.network_device) expect(Object.keys(nic).sort()).toEqual(keys);
    // Unset keys are null, and the deprecated `enabled` is never set.
    expect(vms[0].network_device[0]).toMatchObject({ enabled: null, disconnected: null, vlan_id: null, trunks: null, rate_limit: null });
  });

  it("fails loudly if the binding ever stops naming a key (the element helper is the only writer)", () => {
    expect(Object.keys(networkDeviceElement({})).sort()).toEqual(Object.keys(vms[0].network_device[0]).sort());
  });

  it("builds three control-plane nodes and one worker with the seeds' addresses", () => {
    expect(vms.map((v) => [v.name, v.vm_id, v.initialization.ip_config.map((c: any) => c.ipv4.address)])).toEqual([
      ["master-1", 111, ["192.168.0.11/24", "10.0.0.11/24"]],
      ["master-2", 112, ["192.168.0.12/24", "10.0.0.12/24"]],
      ["master-3", 113, ["192.168.0.13/24", "10.0.0.13/24"]],
      ["app-worker", 114, ["192.168.0.14/24", "10.0.0.14/24"]],
    ]);
  });

  it("gives every VM two virtio NICs: external on vmbr0 first, internal on vmbr1 second", () => {
    for (const vm of vms) {
      expect(vm.network_device.map((n: any) => [n.bridge, n.model])).toEqual([["vmbr0", "virtio"], ["vmbr1", "virtio"]]);
    }
  });

  it("puts the gateway only on the first ip_config", () => {
    for (const vm of vms) {
      expect(vm.initialization.ip_config[0].ipv4.gateway).toBe("192.168.0.1");
      expect(vm.initialization.ip_config[1].ipv4).not.toHaveProperty("gateway");
    }
  });

  it("sets queues to the vCPUs, capped at 64", () => {
    expect(vmNamed("master-1").network_device.map((n: any) => n.queues)).toEqual([4, 4]);
    const big = synthAll(planWith((c) => (c.vms[0].cpu = { cores: 48, sockets: 2 }))).vms;
    expect(vmNamed("master-1", big).network_device.map((n: any) => n.queues)).toEqual([64, 64]);
    const two = synthAll(planWith((c) => (c.vms[0].cpu = { cores: 1, sockets: 2 }))).vms;
    expect(vmNamed("master-1", two).network_device.map((n: any) => n.queues)).toEqual([2, 2]);
  });

  it("takes NIC MTUs from the plan", () => {
    expect(vmNamed("master-1").network_device.map((n: any) => n.mtu)).toEqual([1500, 1500]);
    const jumbo = synthAll(planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }))).vms;
    expect(vmNamed("master-1", jumbo).network_device.map((n: any) => n.mtu)).toEqual([1500, 9000]);
  });

  it("gives a VM's own MTU override to that VM's NIC, and to no other", () => {
    const lowered = synthAll(planWith((c) => (c.vms[1].mtu = { internal: 1400 }))).vms;
    expect(vmsOf(lowered).map((v) => [v.name, v.network_device.map((n: any) => n.mtu)])).toEqual([
      ["master-1", [1500, 1500]],
      ["master-2", [1500, 1400]],
      ["master-3", [1500, 1500]],
      ["app-worker", [1500, 1500]],
    ]);
    const external = synthAll(planWith((c) => (c.vms[3].mtu = { external: 1400 }))).vms;
    expect(vmNamed("app-worker", external).network_device.map((n: any) => n.mtu)).toEqual([1400, 1500]);
  });

  it("derives stable, distinct, locally administered MACs from the VM id and NIC index", () => {
    expect(vmNamed("master-1").network_device.map((n: any) => n.mac_address)).toEqual(["02:00:00:00:00:6F", "02:01:00:00:00:6F"]);
    const macs = vms.flatMap((v) => v.network_device.map((n: any) => n.mac_address));
    expect(new Set(macs).size).toBe(8);
  });

  it("never reboots or replaces a node for benign changes", () => {
    for (const vm of vms) {
      expect(vm.reboot_after_update).toBe(false);
      expect(vm.migrate).toBe(true);
      expect(vm.lifecycle).toEqual({ ignore_changes: ["clone"] });
    }
  });

  it("holds no credentials: the provider block has only the endpoint and TLS setting", () => {
    expect(stack.provider.proxmox).toEqual([{ endpoint: "https://192.168.0.2:8006/", insecure: true }]);
    expect(JSON.stringify(stack)).not.toMatch(/api_token|password|PRIVATE KEY|PVEAPIToken/i);
  });

  it("outputs each node's external and internal IP", () => {
    expect(stack.output.node_ips.value["master-2"]).toEqual({ external: "192.168.0.12", internal: "10.0.0.12", role: "control-plane", node: "pve" });
  });

  it("pins the machine type on Proxmox VE 9 to a version without virtio's UDP-tunnel offload, and leaves 8's default", () => {
    for (const vm of vms) expect(vm.machine).toBe("pc-i440fx-10.0");
    const eight = vmsOf(synthAll(planWith((c) => (c.proxmox.version = 8))).vms);
    for (const vm of eight) expect(vm.machine).toBeUndefined();
    const chosen = planWith((c) => ((c.vmDefaults.machine = "q35"), (c.vms[0].machine = "pc-q35-10.1")));
    expect(chosen.vms.map((vm) => vm.machine)).toEqual(["pc-q35-10.1", "q35", "q35", "q35"]);
  });

  it("says whether cloud-init upgrades every package at first boot: off unless the description asks (Proxmox's own default is on)", () => {
    for (const vm of vms) expect(vm.initialization.upgrade).toBe(false);
    const upgrading = vmsOf(synthAll(planWith((c) => (c.vmDefaults.cloudInit.upgrade = true))).vms);
    for (const vm of upgrading) expect(vm.initialization.upgrade).toBe(true);
  });

  it("warns when a machine version with the offload carries the VXLAN overlay", () => {
    const offloaded = planWith((c) => (c.vmDefaults.machine = "pc-i440fx-10.2"));
    expect(offloaded.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^machine pc-i440fx-10\.2 \(master-1, master-2, master-3, app-worker\) turns on virtio's host UDP-tunnel offload.*bug #7627/)]));
    expect(planWith((c) => ((c.vmDefaults.machine = "pc-i440fx-10.2"), (c.kubernetes.cni.flannel.backend = "host-gw"))).warnings.filter((w) => w.includes("7627"))).toEqual([]);
    expect(planWith().warnings.filter((w) => w.includes("7627"))).toEqual([]);
  });

  it("spreads VMs over the Proxmox nodes unless placed (placement.test.ts has the rules)", () => {
    const two = synthAll(
      planWith((c) => {
        c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"));
        c.vms[3].node = "pve";
      }),
    ).vms;
    expect(vmsOf(two).map((v) => v.node_name)).toEqual(["pve", "pve2", "pve", "pve"]);
  });
});

describe("what replaces a VM stays put when users tune it", () => {
  /** The attributes bpg/proxmox 0.111.1 marks ForceNew (clone.*, initialization.*_file_id, disk.file_id) or replaces on (vm_id). */
  const replacing = (stack: any) =>
    vmsOf(stack).map((vm) => ({
      vm_id: vm.vm_id,
      node_name: vm.node_name,
      clone: vm.clone,
      file_ids: Object.fromEntries(Object.entries(vm.initialization).filter(([k]) => k.endsWith("_file_id"))),
      disk_file_ids: vm.disk.map((d: any) => d.file_id ?? null),
    }));
  const snippet = (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true });
  const base = JSON.stringify(replacing(synthAll(planWith(snippet)).vms));

  it.each<[string, (c: any) => void]>([
    ["memory", (c) => (c.vmDefaults.memory = 16384)],
    ["tags", (c) => (c.vmDefaults.tags = ["k8s", "prod"])],
    ["MTUs (jumbo frames)", (c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true })],
    ["the snippet's content (DNS servers)", (c) => (c.networks.external.dns = ["1.1.1.1"])],
    ["vCPUs and queues", (c) => (c.vmDefaults.cpu = { cores: 8 })],
  ])("changing %s leaves them byte-identical", (_what, edit) => {
    const changed = synthAll(planWith((c) => (snippet(c), edit(c)))).vms;
    expect(JSON.stringify(replacing(changed))).toBe(base);
    expect(JSON.stringify(changed)).not.toBe(JSON.stringify(synthAll(planWith(snippet)).vms));
  });
});

describe("cloud-init network-data snippet", () => {
  const withSnippet = synthAll(planWith((c) => (c.vmDefaults.cloudInit.networkData = { enabled: true }))).vms;
  const snippets = resourcesOf(withSnippet, "proxmox_virtual_environment_file");
  const master1 = vmNamed("master-1", withSnippet);

  it("pins each NIC's name and MTU by MAC, with the gateway on the external NIC only", () => {
    const snippet = snippets.find((f) => f.source_raw.file_name === "pve-dualnet-master-1-network.yaml");
    const data = parse(snippet.source_raw.data);
    expect(data).toEqual({
      version: 2,
      ethernets: {
        eth0: { match: { macaddress: "02:00:00:00:00:6f" }, "set-name": "eth0", mtu: 1500, addresses: ["192.168.0.11/24"], routes: [{ to: "0.0.0.0/0", via: "192.168.0.1" }], nameservers: { addresses: ["8.8.8.8"] } },
        eth1: { match: { macaddress: "02:01:00:00:00:6f" }, "set-name": "eth1", mtu: 1500, addresses: ["10.0.0.11/24"] },
      },
    });
    expect(snippet).toMatchObject({ content_type: "snippets", datastore_id: "local", node_name: "pve" });
  });

  it("is referenced by a literal id, so a changed snippet never forces the VM to be replaced", () => {
    expect(master1.initialization.network_data_file_id).toBe("local:snippets/pve-dualnet-master-1-network.yaml");
    expect(master1.depends_on).toEqual([expect.stringMatching(/^proxmox_virtual_environment_file\.network-data-master-1_snippet_/)]);
  });
});

describe("cloud image source", () => {
  const imaged = synthAll(
    planWith((c) => (c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } })),
  ).vms;

  it("has each Proxmox node download the image once (download-url) and imports it as the boot disk", () => {
    const images = resourcesOf(imaged, "proxmox_download_file");
    expect(images).toHaveLength(1);
    expect(images[0]).toEqual({ content_type: "import", datastore_id: "local", node_name: "pve", file_name: "noble.qcow2", url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img" });
    const vm = vmNamed("master-1", imaged);
    // A literal id, like the snippet's: import_from is read only at creation.
    expect(vm.disk[0].import_from).toBe("local:import/noble.qcow2");
    expect(vm.depends_on).toEqual([expect.stringMatching(/^proxmox_download_file\.image-pve-0_image_[0-9A-F]+$/)]);
    expect(vm).not.toHaveProperty("clone");
  });
});

describe("files for the node setup step", () => {
  it("writes the playbooks, their inventory and variables, node sysctl, one kubeadm template per part and kube-vip into one directory", () => {
    const files = resourcesOf(stack, "local_file").map((f) => f.filename).sort();
    expect(files).toEqual([
      "../../../generated/ansible/files/sysctl/99-k8s.conf",
      "../../../generated/ansible/group_vars/all.yml",
      "../../../generated/ansible/inventory.ini",
      "../../../generated/ansible/remove-node.yml",
      "../../../generated/ansible/site.yml",
      "../../../generated/ansible/templates/kube-vip.yaml.j2",
      "../../../generated/ansible/templates/kubeadm/init.yaml.j2",
      "../../../generated/ansible/templates/kubeadm/join-control-plane.yaml.j2",
      "../../../generated/ansible/templates/kubeadm/join-worker.yaml.j2",
      "../../../generated/ansible/upgrade.yml",
    ]);
  });

  it("writes the inventory: groups, external SSH addresses, the cloud-init user, planned addresses and MTUs", () => {
    const inventory = file(stack, "ansible/inventory.ini");
    expect(inventory).toContain("[masters]\nmaster-1 ansible_host=192.168.0.11 ansible_user=ubuntu external_ip=192.168.0.11 external_mtu=1500 internal_ip=10.0.0.11 internal_mtu=1500\n");
    expect(inventory).toContain("[workers]\napp-worker ansible_host=192.168.0.14 ansible_user=ubuntu external_ip=192.168.0.14 external_mtu=1500 internal_ip=10.0.0.14 internal_mtu=1500\n");
  });

  it("copies the playbooks as they are in the tree (what Terraform writes): the node setup and the day-two plays", () => {
    for (const playbook of ["site.yml", "remove-node.yml", "upgrade.yml"]) {
      // Terraform reads `$${` and `%%{` in the JSON as `${` and `%{`: the file is the playbook as written.
      expect(unescapeTemplate(file(stack, `ansible/${playbook}`))).toBe(require("node:fs").readFileSync(require("node:path").join(__dirname, "..", "ansible", playbook), "utf8"));
    }
  });
});
