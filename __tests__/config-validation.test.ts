import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ConfigError } from "../config/errors";
import { checkCluster, loadClusterFile, parseCluster } from "../config/load";
import { exampleInput, issuesOf, planWith } from "./helpers";

/** The issue at `where` (the one matching `pattern`, if given), or a failure listing what was reported. */
function issueAt(issues: { path: string; message: string; fix?: string }[], where: string, pattern?: RegExp) {
  const found = issues.find((i) => i.path === where && (!pattern || pattern.test(i.message)));
  if (!found) throw new Error(`no issue at ${where}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  return found;
}

const bridge = (input: any, name: string) => input.proxmox.nodes[0].interfaces.find((i: any) => i.name === name);

describe("the built-in example", () => {
  it("is valid", () => {
    expect(() => planWith()).not.toThrow();
  });
});

describe("reading the file", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-"));

  it("reports a missing file by name", () => {
    const file = path.join(dir, "missing.yaml");
    expect(() => loadClusterFile(file)).toThrow(ConfigError);
    expect(() => loadClusterFile(file)).toThrow(/missing\.yaml: 1 problem[\s\S]*cannot read the file: file not found/);
  });

  it("reports malformed YAML with its line", () => {
    const file = path.join(dir, "bad.yaml");
    writeFileSync(file, "name: x\nproxmox:\n  endpoint: [unclosed\n");
    expect(() => loadClusterFile(file)).toThrow(/line \d+, column \d+/);
  });

  it("reports malformed JSON", () => {
    expect(() => parseCluster('{"name": "x",', "cluster.json")).toThrow(/fix the JSON syntax/);
  });

  it("rejects duplicate keys instead of silently taking the last", () => {
    expect(() => parseCluster("name: a\nname: b\n")).toThrow(/unique/i);
  });
});

describe("schema problems", () => {
  it("names unknown keys and suggests the right one", () => {
    const issues = issuesOf((c) => {
      bridge(c, "vmbr0").bridgePorts = ["enp4s0"];
      c.networks.internal.mut = 1500;
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[2].bridgePorts").fix).toMatch(/did you mean "ports"/);
    expect(issueAt(issues, "networks.internal.mut").fix).toMatch(/did you mean "mtu"/);
  });

  it("takes a NIC's permanent MAC, once per host, and a malformed one names the format", () => {
    const issues = issuesOf((c) => {
      c.proxmox.nodes[0].interfaces[0].mac = "BC:24:11:00:00:01";
      c.proxmox.nodes[0].interfaces[1].mac = "bc:24:11:00:00:01";
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[1].mac").message).toMatch(/MAC BC:24:11:00:00:01 is also the MAC of interfaces\[0\]/i);
    expect(issueAt(issuesOf((c) => (c.proxmox.nodes[0].interfaces[0].mac = "bc-24-11-00-00-01")), "proxmox.nodes[0].interfaces[0].mac").message).toMatch(/must be a MAC address/);
    const planned = planWith((c) => (c.proxmox.nodes[0].interfaces[0].mac = "BC:24:11:00:00:01")).hosts[0]!.interfaces.find((i) => i.name === "enp4s0");
    expect(planned?.mac).toBe("bc:24:11:00:00:01");
  });

  it("rejects interface names over the 15-character Linux limit", () => {
    const issues = issuesOf((c) => (c.proxmox.nodes[0].interfaces[0].name = "enp4s0verylongname"));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[0].name").message).toMatch(/1 to 15 letters.*IFNAMSIZ/);
  });

  it.each(["vmbr4095", "br0", "vmbr01"])("rejects the bridge name %s", (name) => {
    const issues = issuesOf((c) => (bridge(c, "vmbr1").name = name));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].name").message).toMatch(/vmbrN with N from 0 to 4094/);
  });

  it("rejects an unknown bond mode", () => {
    const issues = issuesOf((c) => c.proxmox.nodes[0].interfaces.push({ kind: "bond", name: "bond0", slaves: ["eno1"], mode: "lacp" }));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[4].mode").message).toMatch(/802\.3ad/);
  });

  it.each([3, -1])("rejects rp_filter %s", (value) => {
    const issues = issuesOf((c) => (c.sysctl = { host: { rpFilter: value } }));
    expect(issueAt(issues, "sysctl.host.rpFilter").message).toMatch(/must be/);
  });

  it.each([9500, 1000, 1500.5])("rejects the underlay MTU %s, naming the whole range", (mtu) => {
    const issue = issueAt(issuesOf((c) => (c.networks.internal.mtu = mtu)), "networks.internal.mtu");
    expect(issue.message).toBe("must be a whole number from 1280 to 9000");
    expect(issue.fix).toBe("use a value from 1280 to 9000");
  });

  it("reports a missing required field", () => {
    const issues = issuesOf((c) => delete c.networks.external.cidr);
    expect(issueAt(issues, "networks.external.cidr").message).toBe("is required");
  });
});

describe("duplicates", () => {
  it("finds duplicate VM ids, names, IPs and MACs", () => {
    const issues = issuesOf((c) => {
      c.vms[1].id = c.vms[0].id;
      c.vms[2].name = c.vms[0].name;
      c.vms[3].ip.internal = c.vms[0].ip.internal;
      c.vms[3].mac = { external: "02:aa:00:00:00:01" };
      c.vms[2].mac = { external: "02:AA:00:00:00:01" };
    });
    expect(issueAt(issues, "vms[1].id").message).toMatch(/111 is already used by vms\[0\]/);
    expect(issueAt(issues, "vms[2].name").message).toMatch(/master-1 is already used/);
    expect(issueAt(issues, "vms[3].ip.internal").message).toMatch(/10\.0\.0\.11 is already used by vms\[0\]/);
    expect(issueAt(issues, "vms[3].mac.external").message).toMatch(/02:AA:00:00:00:01 is already used/);
  });

  it("finds a VM address taken by the Proxmox host", () => {
    const issues = issuesOf((c) => (c.vms[0].ip.internal = "10.0.0.2"));
    expect(issueAt(issues, "vms[0].ip.internal").message).toMatch(/already used by Proxmox node pve \(vmbr1\)/);
  });
});

describe("addresses and gateways", () => {
  it("finds addresses outside their network", () => {
    const issues = issuesOf((c) => {
      c.vms[0].ip.internal = "10.0.1.11";
      bridge(c, "vmbr0").address = "192.168.1.2";
    });
    expect(issueAt(issues, "vms[0].ip.internal").message).toBe("10.0.1.11 is outside the internal network 10.0.0.0/24");
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[2].address").message).toMatch(/outside the external network/);
  });

  it("rejects network and broadcast addresses", () => {
    const issues = issuesOf((c) => (c.vms[0].ip.external = "192.168.0.255"));
    expect(issueAt(issues, "vms[0].ip.external").message).toMatch(/broadcast/);
  });

  it("finds a gateway outside its subnet", () => {
    const issues = issuesOf((c) => (c.networks.external.gateway = "192.168.5.1"));
    expect(issueAt(issues, "networks.external.gateway").message).toMatch(/outside the external network/);
  });

  it("rejects a gateway on the internal network", () => {
    const issues = issuesOf((c) => {
      c.networks.internal.gateway = "10.0.0.1";
      bridge(c, "vmbr1").gateway = "10.0.0.1";
    });
    expect(issueAt(issues, "networks.internal.gateway").fix).toMatch(/only gateway is on the external network/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].gateway").message).toMatch(/internal network must not carry a gateway/);
  });

  it("rejects two default gateways on one host", () => {
    const issues = issuesOf((c) => {
      bridge(c, "vmbr0").gateway = "192.168.0.1";
      c.proxmox.nodes[0].interfaces.push({ kind: "nic", name: "eno9", address: "172.16.0.2/24", gateway: "172.16.0.1" });
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[4].gateway").message).toMatch(/both set a default gateway/);
  });

  it("needs an SSH address when the external bridge has none", () => {
    const issues = issuesOf((c) => delete bridge(c, "vmbr0").address);
    expect(issueAt(issues, "proxmox.nodes[0].ssh.host").fix).toMatch(/management address/);
  });

  it("rejects a CIDR with host bits set", () => {
    const issues = issuesOf((c) => (c.networks.internal.cidr = "10.0.0.5/24"));
    expect(issueAt(issues, "networks.internal.cidr").fix).toMatch(/10\.0\.0\.0\/24/);
  });

  it("rejects a masquerade source with host bits set (iptables lists the network address; the apply's rollback matches rules by it)", () => {
    const issues = issuesOf((c) => (bridge(c, "vmbr1").masquerade = { outInterface: "vmbr0", sourceCidr: "10.0.0.5/24" }));
    const issue = issueAt(issues, "proxmox.nodes[0].interfaces[3].masquerade.sourceCidr");
    expect(issue.message).toBe("10.0.0.5/24 has host bits set");
    expect(issue.fix).toMatch(/write the network address: 10\.0\.0\.0\/24/);
    expect(() => planWith((c) => (bridge(c, "vmbr1").masquerade = { outInterface: "vmbr0", sourceCidr: "10.0.0.0/24" }))).not.toThrow();
  });
});

describe("subnet plan", () => {
  it("finds overlapping external/internal/pod/service ranges", () => {
    const issues = issuesOf((c) => {
      c.kubernetes.podCidr = "10.0.0.0/16";
      c.kubernetes.serviceCidr = "192.168.0.0/16";
    });
    expect(issueAt(issues, "kubernetes.podCidr").message).toMatch(/overlaps networks\.internal\.cidr/);
    expect(issueAt(issues, "kubernetes.serviceCidr").message).toMatch(/overlaps networks\.external\.cidr/);
  });

  it("finds a pod network too small for the nodes at the node mask", () => {
    const issues = issuesOf((c) => {
      c.kubernetes.podCidr = "10.244.0.0/23";
      c.kubernetes.nodeCidrMaskSize = 24;
    });
    expect(issueAt(issues, "kubernetes.podCidr").message).toBe("10.244.0.0/23 holds only 2 node subnets of /24, but there are 4 nodes");
  });
});

describe("MTU chain", () => {
  it("requires jumboFrames for an MTU above 1500", () => {
    const issues = issuesOf((c) => (c.networks.internal.mtu = 9000));
    expect(issueAt(issues, "networks.internal.mtu").fix).toMatch(/jumboFrames: true/);
  });

  it("rejects a VM NIC above its bridge", () => {
    const issues = issuesOf((c) => (c.vms[0].mtu = { internal: 9000 }));
    expect(issueAt(issues, "vms[0].mtu.internal").message).toBe("NIC MTU 9000 is above bridge vmbr1 (MTU 1500) on pve");
  });

  it("rejects a bridge above its NIC", () => {
    const issues = issuesOf((c) => {
      c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true };
      c.proxmox.nodes[0].interfaces[1].mtu = 1500;
    });
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[1].mtu").message).toBe("bridge vmbr1 (MTU 9000) is above its lower interface enp5s0 (MTU 1500)");
  });

  it("rejects a bridge above its network's underlay", () => {
    const issues = issuesOf((c) => (bridge(c, "vmbr1").mtu = 9000));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].mtu", /underlay/).message).toBe("bridge MTU 9000 is above the internal network's underlay MTU 1500");
  });

  it("rejects an overlay above the underlay minus the VXLAN overhead", () => {
    const issues = issuesOf((c) => (c.kubernetes.cni.overlayMtu = 1500));
    expect(issueAt(issues, "kubernetes.cni.overlayMtu").message).toBe("1500 is above the internal NIC MTU minus vxlan overhead (1500 - 50 = 1450)");
  });

  it("plans the overlay from the smallest internal NIC: one VM's lower override bounds every node's overlay", () => {
    const jumbo = (c: any) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true });
    const plan = planWith((c) => (jumbo(c), (c.vms[1].mtu = { internal: 1500 })));
    expect(plan.mtu).toMatchObject({ internalNic: 1500, maxOverlay: 1450, overlay: 1450 });
    expect(planWith((c) => (c.vms[3].mtu = { internal: 1400 })).mtu).toMatchObject({ internalNic: 1400, overlay: 1350 });
    // The override is checked against the smallest NIC too.
    const issues = issuesOf((c) => (jumbo(c), (c.vms[1].mtu = { internal: 1500 }), (c.kubernetes.cni.overlayMtu = 1451)));
    expect(issueAt(issues, "kubernetes.cni.overlayMtu").message).toBe("1451 is above the internal NIC MTU minus vxlan overhead (1500 - 50 = 1450)");
  });

  it.each([
    ["vxlan", () => {}, 1450],
    ["wireguard", (c: any) => (c.kubernetes.cni.flannel = { backend: "wireguard" }), 1420],
    ["Calico IPIP, jumbo", (c: any) => ((c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }), (c.kubernetes.cni = { plugin: "calico", calico: { encapsulation: "IPIP" } })), 8980],
    // Cilium's pkg/mtu: one 50-byte tunnel overhead for VXLAN and Geneve; native routing costs nothing.
    ["Cilium VXLAN", (c: any) => (c.kubernetes.cni = { plugin: "cilium" }), 1450],
    ["Cilium Geneve, jumbo", (c: any) => ((c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }), (c.kubernetes.cni = { plugin: "cilium", cilium: { tunnelProtocol: "geneve" } })), 8950],
    ["Cilium native routing", (c: any) => (c.kubernetes.cni = { plugin: "cilium", cilium: { routingMode: "native" } }), 1500],
  ])("accepts an overlay MTU override equal to the largest the NIC allows (%s), and refuses one more", (_name, edit, max) => {
    expect(planWith((c) => (edit(c), (c.kubernetes.cni.overlayMtu = max))).mtu).toMatchObject({ maxOverlay: max, overlay: max });
    expect(issueAt(issuesOf((c) => (edit(c), (c.kubernetes.cni.overlayMtu = max + 1))), "kubernetes.cni.overlayMtu").fix).toBe(`use at most ${max}, or leave it out to derive it`);
  });

  it("accepts the seeds' jumbo layout and derives 8950 for VXLAN", () => {
    const plan = planWith((c) => (c.networks.internal = { ...c.networks.internal, mtu: 9000, jumboFrames: true }));
    expect(plan.mtu).toMatchObject({ underlay: { internal: 9000 }, overhead: 50, overlay: 8950 });
    expect(plan.hosts[0]!.interfaces.find((i) => i.name === "enp5s0")!.mtu).toBe(9000);
  });
});

describe("VLANs and bonds", () => {
  const withInterfaces = (extra: any[]) => (c: any) => c.proxmox.nodes[0].interfaces.push(...extra);

  it.each([0, 4095])("rejects VLAN id %s", (id) => {
    const issues = issuesOf(withInterfaces([{ kind: "vlan", name: `enp5s0.${id}` }]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[4].id").message).toMatch(/outside 1-4094/);
  });

  it("rejects a VLAN whose parent is not declared", () => {
    const issues = issuesOf(withInterfaces([{ kind: "vlan", name: "vlan7", rawDevice: "eno7", id: 7 }]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[4].rawDevice").message).toMatch(/eno7 is not declared/);
  });

  it("allows xmitHashPolicy only for balance-xor and 802.3ad", () => {
    const issues = issuesOf(withInterfaces([{ kind: "nic", name: "eno1" }, { kind: "bond", name: "bond0", slaves: ["eno1"], mode: "active-backup", xmitHashPolicy: "layer2+3" }]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[5].xmitHashPolicy").message).toMatch(/no effect in mode active-backup/);
  });

  it("allows primary only for active-backup", () => {
    const issues = issuesOf(withInterfaces([{ kind: "nic", name: "eno1" }, { kind: "bond", name: "bond0", slaves: ["eno1"], mode: "802.3ad", primary: "eno1" }]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[5].primary").message).toMatch(/only to active-backup/);
  });

  it("allows only active-backup for the Proxmox cluster network", () => {
    const issues = issuesOf(withInterfaces([{ kind: "nic", name: "eno1" }, { kind: "nic", name: "eno2" }, { kind: "bond", name: "bond1", slaves: ["eno1", "eno2"], mode: "802.3ad", clusterNetwork: true, address: "172.16.0.2/24" }]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[6].mode").message).toMatch(/cluster network supports only active-backup/);
  });

  it("rejects an interface used by two bridges", () => {
    const issues = issuesOf((c) => (bridge(c, "vmbr1").ports = ["enp4s0"]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].ports[0]").message).toMatch(/already used by vmbr0/);
  });

  it("rejects an undeclared bridge port", () => {
    const issues = issuesOf((c) => (bridge(c, "vmbr1").ports = ["enp9s0"]));
    expect(issueAt(issues, "proxmox.nodes[0].interfaces[3].ports[0]").fix).toMatch(/kind: nic, name: enp9s0/);
  });
});

describe("reporting", () => {
  it("reports every problem at once, each with a fix", () => {
    const issues = issuesOf((c) => {
      c.vms[1].id = c.vms[0].id;
      c.vms[0].ip.internal = "10.0.1.11";
      c.kubernetes.podCidr = "10.0.0.0/16";
      c.vms[0].mtu = { internal: 9000 };
    });
    expect(issues.length).toBeGreaterThanOrEqual(4);
    for (const issue of issues) expect(issue.fix).toBeTruthy();
  });

  it("reports typos and cross-field problems in the same run", () => {
    const issues = issuesOf((c) => {
      c.networks.internal.gatway = "10.0.0.1";
      c.vms[1].ip.internal = "10.0.1.12";
    });
    expect(issues.map((i) => i.path)).toEqual(["networks.internal.gatway", "vms[1].ip.internal"]);
  });

  it("formats the list with the source file, paths and fixes", () => {
    expect(() => parseCluster("name: x\n", "my.yaml")).toThrow(/^my\.yaml: \d+ problems in the cluster description\n  - proxmox: is required\n      fix: add proxmox/);
  });
});

describe("API server VIP", () => {
  it("defaults to the internal network's tenth address with two or more control planes", () => {
    expect(planWith().apiServer).toMatchObject({ vip: "10.0.0.10", endpoint: "10.0.0.10:6443" });
  });

  it("defaults for exactly two control planes, and not for one", () => {
    const controlPlanes = (n: number) => (c: any) => (c.vms = c.vms.filter((vm: any) => vm.role === "worker" || ["master-1", "master-2"].slice(0, n).includes(vm.name)));
    expect(planWith(controlPlanes(2)).apiServer).toMatchObject({ vip: "10.0.0.10", host: "10.0.0.10", endpoint: "10.0.0.10:6443" });
    expect(planWith(controlPlanes(1)).apiServer).toMatchObject({ vip: undefined, host: "10.0.0.11", endpoint: "10.0.0.11:6443" });
  });

  it("rejects a default VIP that a VM holds, with a free address as the fix", () => {
    const issue = issueAt(issuesOf((c) => (c.vms[3].ip.internal = "10.0.0.10")), "kubernetes.apiServer.vip");
    expect(issue.message).toMatch(/10\.0\.0\.10 \(the default with two or more control planes\) is already used by vms\[3\]\.ip\.internal/);
    expect(issue.fix).toBe("set kubernetes.apiServer.vip to a free internal address, e.g. 10.0.0.14");
  });

  it.each([
    ["outside the internal network", "192.168.0.50", /outside the internal network 10\.0\.0\.0\/24/],
    ["a Proxmox host's address", "10.0.0.2", /already used by Proxmox node pve \(vmbr1\)/],
    ["a VM's address", "10.0.0.13", /already used by vms\[2\]\.ip\.internal \(master-3\)/],
    ["the broadcast address", "10.0.0.255", /network or broadcast address/],
  ])("rejects a VIP %s", (_what, vip, message) => {
    expect(issueAt(issuesOf((c) => (c.kubernetes.apiServer = { vip })), "kubernetes.apiServer.vip").message).toMatch(message);
  });

  it("points a description that still has controlPlaneEndpoint at its replacement", () => {
    const issue = issueAt(issuesOf((c) => (c.kubernetes.controlPlaneEndpoint = "10.0.0.11:6443")), "kubernetes.controlPlaneEndpoint");
    expect(issue.fix).toMatch(/replaced by kubernetes\.apiServer/);
    expect(issueAt(issuesOf((c) => (c.vmDefaults.firewall = false)), "vmDefaults.firewall").fix).toMatch(/top-level firewall section/);
  });
});

describe("SSH public keys", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-keys-"));
  const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA me@laptop";
  const check = (edit: (c: any) => void, env: NodeJS.ProcessEnv = {}) => {
    const input = exampleInput();
    edit(input);
    return checkCluster(input, "test.yaml", { env, baseDir: dir });
  };
  const issuesFrom = (edit: (c: any) => void, env: NodeJS.ProcessEnv = {}) => {
    try {
      check(edit, env);
    } catch (err) {
      if (err instanceof ConfigError) return [...err.issues];
      throw err;
    }
    throw new Error("accepted");
  };

  it("takes keys inline, from files (relative to the description) and from the environment, once each", () => {
    writeFileSync(path.join(dir, "team.pub"), `# the team\n${KEY}\n${KEY.replace("me@laptop", "ci@runner")}\n`);
    const plan = check((c) => (c.vmDefaults.cloudInit = { sshKeys: [KEY], sshKeyFiles: ["team.pub"] }), { PVE_DUALNET_SSH_PUBLIC_KEYS: KEY.replace("me@laptop", "ops@desk") });
    expect(plan.sshKeys).toEqual([KEY, KEY.replace("me@laptop", "ci@runner"), KEY.replace("me@laptop", "ops@desk")]);
    // The example's other warning (three control planes on one Proxmox node) is placement.test.ts's.
    expect(plan.warnings.filter((w) => /SSH/.test(w))).toEqual([]);
  });

  it("warns, and only warns, when there is no key at all", () => {
    expect(planWith().warnings.filter((w) => /SSH/.test(w))).toEqual([expect.stringMatching(/^no SSH public key for the node VMs: the node setup \(Ansible\) cannot log in/)]);
  });

  it("rejects a missing file, a private key, and lines that are not public keys", () => {
    writeFileSync(path.join(dir, "id_ed25519"), "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
    writeFileSync(path.join(dir, "junk.pub"), "not a key\n");
    const issues = issuesFrom((c) => (c.vmDefaults.cloudInit = { sshKeyFiles: ["nope.pub", "id_ed25519", "junk.pub"] }), { PVE_DUALNET_SSH_PUBLIC_KEYS: "hello" });
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[0]").message).toMatch(/nope\.pub: file not found/);
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[1]").message).toMatch(/holds a private key/);
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[2]").message).toMatch(/line 1 of .*junk\.pub is not an OpenSSH public key/);
    expect(issueAt(issues, "PVE_DUALNET_SSH_PUBLIC_KEYS").message).toMatch(/line 1 is not an OpenSSH public key/);
  });
});

describe("host apply times", () => {
  it("leaves time to confirm after verifying", () => {
    const issue = issueAt(issuesOf((c) => (c.proxmox.apply = { confirmTimeout: 30, verifyTimeout: 25 })), "proxmox.apply.confirmTimeout");
    expect(issue.message).toMatch(/30 s leaves no time to confirm after up to 25 s of verification/);
    expect(issue.fix).toMatch(/at least 40/);
  });

  it("waits long enough for a bridge with STP to forward", () => {
    const issue = issueAt(
      issuesOf((c) => Object.assign(bridge(c, "vmbr1"), { stp: true, forwardDelay: 15 })),
      "proxmox.nodes[0].interfaces[3].forwardDelay",
    );
    expect(issue.message).toMatch(/forwards only after 2 x 15 s, longer than proxmox.apply.verifyTimeout \(30 s\)/);
    expect(issue.fix).toMatch(/at least 35/);
    expect(() => planWith((c) => (Object.assign(bridge(c, "vmbr1"), { stp: true, forwardDelay: 15 }), (c.proxmox.apply = { verifyTimeout: 35 })))).not.toThrow();
  });
});

describe("VM-specific problems", () => {
  it.each([0, 257])("rejects %s cores", (cores) => {
    const issues = issuesOf((c) => (c.vms[0].cpu = { cores }));
    expect(issueAt(issues, "vms[0].cpu.cores").message).toMatch(/must be/);
  });

  it("rejects more vCPUs than Proxmox allows", () => {
    const issues = issuesOf((c) => (c.vms[0].cpu = { cores: 256, sockets: 4 }));
    expect(issueAt(issues, "vms[0].cpu").message).toMatch(/1024 vCPUs .* exceeds Proxmox's limit of 512/);
  });

  it("rejects a VM id outside Proxmox's range", () => {
    const issues = issuesOf((c) => (c.vms[0].id = 99));
    expect(issueAt(issues, "vms[0].id").message).toMatch(/must be/);
  });

  it("rejects a VM on an unknown Proxmox node", () => {
    const issues = issuesOf((c) => (c.vms[0].node = "pve9"));
    expect(issueAt(issues, "vms[0].node").fix).toBe("use one of: pve");
  });

  it("requires a source for every VM", () => {
    const issues = issuesOf((c) => delete c.vmDefaults.source);
    expect(issueAt(issues, "vms[0].source").fix).toMatch(/clone: \{ vmId \}/);
  });

  it("rejects a cloud image whose file name Proxmox would not import, once, with a name that works", () => {
    const issues = issuesOf((c) => (c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img" } }));
    const issue = issueAt(issues, "vmDefaults.source.image.fileName");
    expect(issue.message).toMatch(/"noble-server-cloudimg-amd64\.img" does not end in \.qcow2, \.raw, \.vmdk/);
    expect(issue.fix).toMatch(/noble-server-cloudimg-amd64\.qcow2/);
    expect(issues.filter((i) => i.path.endsWith("fileName"))).toHaveLength(1);
    expect(() => planWith((c) => (c.vmDefaults.source = { image: { url: "https://example.com/x.img", fileName: "x.qcow2" } }))).not.toThrow();
  });

  it("rejects an image checksum that is not sha256", () => {
    const issues = issuesOf((c) => (c.vmDefaults.source = { image: { url: "https://example.com/x.qcow2", checksum: "abc" } }));
    expect(issueAt(issues, "vmDefaults.source.image.checksum").message).toMatch(/64 hexadecimal digits/);
  });

  it("rejects a multicast MAC override", () => {
    const issues = issuesOf((c) => (c.vms[0].mac = { internal: "01:00:5e:00:00:01" }));
    expect(issueAt(issues, "vms[0].mac.internal").message).toMatch(/multicast/);
  });
});

describe("CNI combinations that cannot work", () => {
  const secondNode = (c: any, internalPorts: string[]) => {
    c.proxmox.nodes.push({
      name: "pve2",
      interfaces: [
        { kind: "nic", name: "enp4s0" },
        { kind: "nic", name: "enp5s0" },
        { kind: "vlan", name: "enp5s0.200" },
        { kind: "bridge", name: "vmbr0", network: "external", address: "192.168.0.3", ports: ["enp4s0"] },
        { kind: "bridge", name: "vmbr1", network: "internal", address: "10.0.0.3", ports: internalPorts },
      ],
    });
  };

  it("rejects host-gw when a Proxmox node's internal bridge is local to it", () => {
    const issues = issuesOf((c) => {
      c.kubernetes.cni.flannel = { backend: "host-gw" };
      secondNode(c, []);
    });
    expect(issueAt(issues, "kubernetes.cni.flannel.backend").message).toMatch(/one L2 segment, but the internal bridge vmbr1 of pve2 has no ports/);
  });

  it("rejects host-gw across internal bridges on different VLANs", () => {
    const issues = issuesOf((c) => {
      c.kubernetes.cni.flannel = { backend: "host-gw" };
      secondNode(c, ["enp5s0.200"]);
    });
    expect(issueAt(issues, "kubernetes.cni.flannel.backend").message).toMatch(/different segments \(pve: untagged, pve2: VLAN 200\)/);
  });

  it("accepts host-gw on one L2 segment", () => {
    expect(() => planWith((c) => {
      c.kubernetes.cni.flannel = { backend: "host-gw" };
      secondNode(c, ["enp5s0"]);
    })).not.toThrow();
  });

  it("rejects vxlan DirectRouting where host-gw is rejected: it routes pods like host-gw on the one internal subnet", () => {
    const issues = issuesOf((c) => {
      c.kubernetes.cni.flannel = { directRouting: true };
      secondNode(c, []);
    });
    const issue = issueAt(issues, "kubernetes.cni.flannel.directRouting");
    expect(issue.message).toMatch(/^DirectRouting needs all nodes on one L2 segment, but the internal bridge vmbr1 of pve2 has no ports/);
    expect(issue.fix).toMatch(/^set directRouting: false/);
    expect(() => planWith((c) => {
      c.kubernetes.cni.flannel = { directRouting: true };
      secondNode(c, ["enp5s0"]);
    })).not.toThrow();
    // Encapsulating everything, vxlan needs no common segment.
    expect(() => planWith((c) => secondNode(c, []))).not.toThrow();
  });

  it("rejects Cilium's native routing where host-gw is rejected, and accepts it on one L2 segment", () => {
    const native = (c: any) => (c.kubernetes.cni = { plugin: "cilium", cilium: { routingMode: "native" } });
    const issue = issueAt(issuesOf((c) => (native(c), secondNode(c, []))), "kubernetes.cni.cilium.routingMode");
    expect(issue.message).toMatch(/^native routing \(autoDirectNodeRoutes\) needs all nodes on one L2 segment, but the internal bridge vmbr1 of pve2 has no ports/);
    expect(issue.fix).toMatch(/^use routingMode: tunnel/);
    expect(() => planWith((c) => (native(c), secondNode(c, ["enp5s0"])))).not.toThrow();
    expect(() => planWith((c) => ((c.kubernetes.cni = { plugin: "cilium" }), secondNode(c, [])))).not.toThrow();
  });

  it("accepts NetworkPolicy with Cilium", () => {
    expect(() => planWith((c) => ((c.kubernetes.networkPolicy = true), (c.kubernetes.cni = { plugin: "cilium" })))).not.toThrow();
  });

  it("rejects NetworkPolicy enforcement with Flannel", () => {
    const issues = issuesOf((c) => (c.kubernetes.networkPolicy = true));
    expect(issueAt(issues, "kubernetes.networkPolicy").fix).toMatch(/calico/);
  });

  it("rejects Calico before v3.12 with the loose rp_filter of the node sysctl", () => {
    const issues = issuesOf((c) => (c.kubernetes.cni = { plugin: "calico", calico: { version: "v3.11.2" } }));
    expect(issueAt(issues, "kubernetes.cni.calico.version").message).toMatch(/refuses to start with rp_filter=2/);
    expect(() => planWith((c) => {
      c.kubernetes.cni = { plugin: "calico", calico: { version: "v3.11.2" } };
      c.sysctl = { node: { rpFilter: 1 } };
    })).not.toThrow();
  });

  it("rejects flannel interface selection that points at the external network", () => {
    const issues = issuesOf((c) => (c.kubernetes.cni.flannel.interface = { canReach: "192.168.0.1" }));
    expect(issueAt(issues, "kubernetes.cni.flannel.interface.canReach").message).toMatch(/external network/);
  });

  it("rejects DirectRouting outside vxlan", () => {
    const issues = issuesOf((c) => (c.kubernetes.cni.flannel = { backend: "wireguard", directRouting: true }));
    expect(issueAt(issues, "kubernetes.cni.flannel.directRouting").message).toMatch(/vxlan option/);
  });
});

describe("resolve, then validate (config/resolve.ts): one derivation of every value", () => {
  it("resolves a description validation refuses without failing, and validation reports what could not be resolved, once each", () => {
    const issues = issuesOf((c) => {
      c.vms[0].node = "nowhere";
      c.vms[1].source = undefined;
      c.vmDefaults.source = undefined;
      c.proxmox.nodes[0].interfaces = c.proxmox.nodes[0].interfaces.filter((i: any) => i.network !== "internal");
    });
    expect(issueAt(issues, "vms[0].node").message).toMatch(/nowhere is not in proxmox.nodes/);
    expect(issueAt(issues, "proxmox.nodes[0].interfaces", /no bridge serves the internal network/)).toBeDefined();
    expect(issues.filter((i) => /^vms\[\d+\]\.source$/.test(i.path)).length).toBe(4);
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([...new Set(issues.map((i) => `${i.path}: ${i.message}`))]);
  });

  it("builds the plan from the values validation checked: a VM's MTU, MACs, CPU, disk and source", () => {
    const plan = planWith((c) => {
      c.vms[0].mtu = { internal: 1400 };
      c.vms[0].mac = { external: "bc:24:11:00:00:01" };
      c.vms[0].cpu = { cores: 3 };
      c.vms[0].disk = { size: 64 };
    });
    const vm = plan.vms[0]!;
    expect(vm.nics.map((n) => [n.mac, n.mtu])).toEqual([
      ["BC:24:11:00:00:01", 1500],
      [`02:01:00:00:00:${(plan.config.vms[0]!.id & 0xff).toString(16).padStart(2, "0").toUpperCase()}`, 1400],
    ]);
    expect([vm.cpu.cores, vm.cpu.sockets, vm.vcpus, vm.nics[0].queues]).toEqual([3, plan.config.vmDefaults.cpu.sockets, 3 * plan.config.vmDefaults.cpu.sockets, 3 * plan.config.vmDefaults.cpu.sockets]);
    expect(vm.disk).toEqual({ ...plan.config.vmDefaults.disk, size: 64 });
    expect(vm.source).toEqual(plan.config.vmDefaults.source);
    // The overlay is bounded by the smallest internal NIC the plan has: the one the VM asked for.
    expect(plan.mtu.internalNic).toBe(1400);
  });
});
