/**
 * Placement that survives a host: where the node VMs go (config/plan.ts, vmPlacement), what the
 * control planes' spread means for etcd when a Proxmox node fails (warnings, and errors with
 * proxmox.ha), and Proxmox HA (HA resources, with rules on Proxmox VE 9 and groups on 8).
 */
import { dualBridgeNode, issuesOf, planWith, resourcesOf } from "./helpers";
import { synthAll } from "./synth";

type Edit = (c: any) => void;

/** The example with `nodes` Proxmox nodes, `cps` control planes and `workers` workers, control planes listed first. */
const cluster = (nodes: number, cps: number, workers: number, more: Edit = () => {}): Edit => (c) => {
  for (let n = 2; n <= nodes; n++) c.proxmox.nodes.push(dualBridgeNode(`pve${n}`, `192.168.0.${n + 1}`, `10.0.0.${n + 1}`));
  const vm = (name: string, id: number, role: string) => ({ name, id, role, ip: { external: `192.168.0.${id - 100}`, internal: `10.0.0.${id - 100}` } });
  c.vms = [...Array.from({ length: cps }, (_, i) => vm(`master-${i + 1}`, 111 + i, "control-plane")), ...Array.from({ length: workers }, (_, i) => vm(`worker-${i + 1}`, 131 + i, "worker"))];
  more(c);
};
const ha = (version: 8 | 9): Edit => (c) => ((c.proxmox.ha = { enabled: true }), (c.proxmox.version = version));
const nodesOf = (edit: Edit) => planWith(edit).vms.map((vm) => vm.node);
/** The warnings of a description, without the ones about SSH keys and the datacenter firewall (every test description has them). */
const warningsOf = (edit: Edit) => planWith(edit).warnings.filter((w) => !w.startsWith("no SSH public key") && !w.includes("datacenter firewall"));

/** The placement of earlier versions: VMs without node: round-robin over proxmox.nodes in list order. */
function roundRobin(edit: Edit): string[] {
  const plan = planWith(edit);
  const names = plan.config.proxmox.nodes.map((n) => n.name);
  let next = 0;
  return plan.config.vms.map((vm) => vm.node ?? names[next++ % names.length]!);
}

describe("placement of VMs without node:", () => {
  const matrix = [1, 2, 3].flatMap((nodes) => [1, 3, 5].map((cps) => [nodes, cps] as const));

  it.each(matrix)("%i Proxmox node(s), %i control plane(s): control planes as far apart as the nodes allow, workers after them, as round-robin placed them", (nodes, cps) => {
    const edit = cluster(nodes, cps, 3);
    const placed = nodesOf(edit);
    expect(placed).toEqual(roundRobin(edit));
    const perNode = (role: string) => [...planWith(edit).vms.filter((vm) => vm.role === role).reduce((m, vm) => m.set(vm.node, (m.get(vm.node) ?? 0) + 1), new Map<string, number>()).values()];
    expect(Math.max(...perNode("control-plane"))).toBe(Math.ceil(cps / nodes));
    const all = [...placed.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>()).values()];
    expect(Math.max(...all) - Math.min(...all)).toBeLessThanOrEqual(1);
    expect(all).toHaveLength(Math.min(nodes, cps + 3));
  });

  it("places the example's four VMs where earlier versions did, on one, two and three nodes", () => {
    expect(nodesOf(() => {})).toEqual(["pve", "pve", "pve", "pve"]);
    const two = (c: any) => c.proxmox.nodes.push(dualBridgeNode("pve2", "192.168.0.3", "10.0.0.3"));
    expect(nodesOf(two)).toEqual(["pve", "pve2", "pve", "pve2"]);
    const three = (c: any) => (two(c), c.proxmox.nodes.push(dualBridgeNode("pve3", "192.168.0.4", "10.0.0.4")));
    expect(nodesOf(three)).toEqual(["pve", "pve2", "pve3", "pve"]);
  });

  it("keeps control planes apart where round-robin stacked them (a worker listed between them)", () => {
    const interleaved = cluster(2, 0, 0, (c) => {
      const vm = (name: string, id: number, role: string) => ({ name, id, role, ip: { external: `192.168.0.${id - 100}`, internal: `10.0.0.${id - 100}` } });
      c.vms = [vm("master-1", 111, "control-plane"), vm("worker-1", 131, "worker"), vm("master-2", 112, "control-plane")];
    });
    expect(roundRobin(interleaved)).toEqual(["pve", "pve2", "pve"]);
    expect(nodesOf(interleaved)).toEqual(["pve", "pve2", "pve2"]);
  });

  it("balances workers by count, counting the VMs pinned with node:", () => {
    expect(nodesOf(cluster(3, 3, 4))).toEqual(["pve", "pve2", "pve3", "pve", "pve2", "pve3", "pve"]);
    // Two workers pinned to pve3: the unpinned ones fill pve and pve2 first.
    const pinned = cluster(3, 3, 4, (c) => ((c.vms[3].node = "pve3"), (c.vms[4].node = "pve3")));
    expect(nodesOf(pinned)).toEqual(["pve", "pve2", "pve3", "pve3", "pve3", "pve", "pve2"]);
  });

  it("keeps a node: as written, and places the other control planes around pinned ones, wherever those are in the list", () => {
    const lastPinned = cluster(3, 3, 1, (c) => (c.vms[2].node = "pve"));
    expect(nodesOf(lastPinned)).toEqual(["pve2", "pve3", "pve", "pve"]);
    expect(warningsOf(lastPinned)).toEqual([]);
  });
});

describe("what a failed host costs: warnings", () => {
  const matrix: [number, number, RegExp[]][] = [
    [1, 1, []],
    [1, 3, [/^all 3 control planes \(master-1, master-2 and master-3\) run on the one Proxmox node pve: they survive a failed VM, not a failed host; losing pve takes every etcd member and quorum with them\. For a cluster that survives a host, add Proxmox nodes: on 3 or more, none needs more than 1/]],
    [1, 5, [/^all 5 control planes .* on the one Proxmox node pve: .* add Proxmox nodes: on 3 or more, none needs more than 2/]],
    [2, 1, []],
    [2, 3, [/^2 Proxmox nodes for 3 control planes: pve holds master-1 and master-3, and losing pve takes 2 of 3 etcd members and quorum with them \(the Kubernetes API stops\)\. Add Proxmox nodes: on 3 or more, none needs more than 1/]],
    [2, 5, [/^2 Proxmox nodes for 5 control planes: pve holds master-1, master-3 and master-5, and losing pve takes 3 of 5 etcd members/]],
    [3, 1, []],
    [3, 3, []],
    // 2 + 2 + 1: losing any node leaves 3 of 5, a majority.
    [3, 5, []],
  ];

  it.each(matrix)("%i Proxmox node(s), %i control plane(s)", (nodes, cps, expected) => {
    expect(warningsOf(cluster(nodes, cps, 2))).toEqual(expected.map((e) => expect.stringMatching(e)));
  });

  it.each([
    [2, /^2 control planes: etcd needs 2 of them for quorum, so 2 tolerate no failure, as 1 do, with one more member to lose\. Use 1 or 3 control planes\.$/],
    [4, /^4 control planes: etcd needs 3 of them for quorum, so 4 tolerate 1 failure, as 3 do, with one more member to lose\. Use 3 or 5 control planes\.$/],
  ])("warns of an even number of control planes: %i", (cps, message) => {
    // Four on four nodes: apart, so the even number is the only warning.
    expect(warningsOf(cluster(4, cps, 1))).toEqual([expect.stringMatching(message)]);
    expect(warningsOf(cluster(3, 3, 1))).toEqual([]);
  });

  it("warns of one control plane when the description expects HA of Proxmox", () => {
    expect(warningsOf(cluster(3, 1, 2, ha(9)))).toEqual([expect.stringMatching(/^one control plane with proxmox\.ha: when its host fails, the Kubernetes API and etcd are down until Proxmox HA has recovered master-1 on another node/)]);
    expect(warningsOf(cluster(3, 1, 2))).toEqual([]);
  });

  it("names the pinned control planes that share a node, and where to move them", () => {
    const two = cluster(3, 3, 1, (c) => ((c.vms[0].node = "pve"), (c.vms[1].node = "pve")));
    expect(warningsOf(two)).toEqual([
      "control planes master-1 and master-2 share Proxmox node pve while pve3 has none: losing pve takes 2 of 3 etcd members and quorum with them (the Kubernetes API stops). Set vms[1].node: pve3 (master-2), or remove node: from it to let pve-dualnet place it.",
    ]);
    // The fix works: moved as told, nothing to warn of.
    expect(warningsOf(cluster(3, 3, 1, (c) => ((c.vms[0].node = "pve"), (c.vms[1].node = "pve3"))))).toEqual([]);
    expect(warningsOf(cluster(3, 3, 1, (c) => (c.vms[0].node = "pve")))).toEqual([]);
    const all = cluster(3, 3, 1, (c) => c.vms.slice(0, 3).forEach((vm: any) => (vm.node = "pve")));
    expect(warningsOf(all)[0]).toMatch(/^control planes master-1, master-2 and master-3 share Proxmox node pve while pve2, pve3 have none: losing pve takes 3 of 3 .* Set vms\[1\]\.node: pve2 \(master-2\) and vms\[2\]\.node: pve3 \(master-3\), or remove node: from them/);
    // Five on three, pinned 3 + 1 + 1 where 2 + 2 + 1 would survive.
    const five = cluster(3, 5, 0, (c) => ["pve", "pve", "pve", "pve2", "pve3"].forEach((node, i) => (c.vms[i].node = node)));
    expect(warningsOf(five)).toEqual([expect.stringMatching(/^control planes master-1, master-2 and master-3 share Proxmox node pve while other nodes have fewer: losing pve takes 3 of 5 .* Set vms\[2\]\.node: pve2 \(master-3\)/)]);
  });

  it("never warns of workers sharing a node", () => {
    expect(warningsOf(cluster(3, 3, 3, (c) => c.vms.slice(3).forEach((vm: any) => (vm.node = "pve"))))).toEqual([]);
  });
});

describe("with proxmox.ha, control planes pinned together are an error", () => {
  it.each([9, 8] as const)("Proxmox VE %i: the second one, with the move that fixes it", (version) => {
    const issues = issuesOf(cluster(3, 3, 1, (c) => (ha(version)(c), (c.vms[0].node = "pve"), (c.vms[1].node = "pve"))));
    expect(issues).toEqual([
      {
        path: "vms[1].node",
        message: "control planes master-1 and master-2 are both on Proxmox node pve, but proxmox.ha keeps control planes on separate nodes and pve3 has none",
        fix: "set vms[1].node: pve3 (master-2), or remove node: from it to let pve-dualnet place it",
      },
    ]);
  });

  it("accepts them apart, and more control planes than nodes (no rule can keep those apart; a warning says so)", () => {
    expect(() => planWith(cluster(3, 3, 1, (c) => (ha(9)(c), (c.vms[0].node = "pve"), (c.vms[1].node = "pve2"))))).not.toThrow();
    expect(warningsOf(cluster(2, 3, 1, ha(9)))).toEqual([expect.stringMatching(/^2 Proxmox nodes for 3 control planes/), expect.stringMatching(/^proxmox\.ha: no anti-affinity rule for the 3 control planes: 2 Proxmox nodes cannot keep them apart/)]);
  });
});

describe("Proxmox HA resources", () => {
  const vmsStack = (edit: Edit) => synthAll(planWith(edit)).vms;
  const byVm = (stack: any, type: string) => Object.fromEntries(resourcesOf(stack, type).map((r) => [r.resource_id ?? r.resources?.join(","), r]));

  it("writes none without proxmox.ha", () => {
    const stack = vmsStack(cluster(3, 3, 2));
    expect(Object.keys(stack.resource).filter((t) => t.startsWith("proxmox_ha"))).toEqual([]);
  });

  const matrix = [1, 2, 3].flatMap((nodes) => [1, 3, 5].map((cps) => [nodes, cps] as const));

  it.each(matrix)("Proxmox VE 9, %i node(s), %i control plane(s): an HA resource and a node-affinity rule per VM; the control planes kept apart when there is a node for each", (nodes, cps) => {
    const edit = cluster(nodes, cps, 2, ha(9));
    const plan = planWith(edit);
    const stack = vmsStack(edit);
    const resources = resourcesOf(stack, "proxmox_haresource");
    expect(resources.map((r) => r.resource_id).sort()).toEqual(plan.vms.map((vm) => `vm:${vm.id}`).sort());
    for (const r of resources) expect(r).toMatchObject({ state: "started", comment: expect.stringMatching(/ of detectviz \(pve-dualnet\)$/) });
    for (const r of resources) expect(r).not.toHaveProperty("group");
    expect(resourcesOf(stack, "proxmox_hagroup")).toEqual([]);
    const rules = resourcesOf(stack, "proxmox_harule");
    const affinity = rules.filter((r) => r.type === "node-affinity");
    expect(affinity.map((r) => [r.rule, r.resources, r.nodes, r.strict]).sort()).toEqual(plan.vms.map((vm) => [`pve-dualnet_detectviz_vm${vm.id}`, [`vm:${vm.id}`], { [vm.node]: 1 }, false]).sort());
    const apart = rules.filter((r) => r.type === "resource-affinity");
    const controlPlanes = plan.vms.filter((vm) => vm.role === "control-plane");
    if (cps >= 2 && cps <= nodes) {
      expect(apart).toEqual([
        {
          rule: "pve-dualnet_detectviz_control-planes",
          type: "resource-affinity",
          affinity: "negative",
          resources: controlPlanes.map((vm) => `vm:${vm.id}`),
          comment: expect.any(String),
          depends_on: expect.arrayContaining([expect.stringMatching(/^proxmox_haresource\.ha_resource-master-1_/)]),
        },
      ]);
    } else {
      expect(apart).toEqual([]);
    }
    // Proxmox (pve-ha-manager, Rules.pm) drops a negative rule whose resources' node-affinity rules name fewer nodes than it has resources.
    for (const rule of apart) expect(new Set(affinity.filter((a) => rule.resources.includes(a.resources[0])).flatMap((a) => Object.keys(a.nodes))).size).toBe(rule.resources.length);
  });

  it.each(matrix)("Proxmox VE 8, %i node(s), %i control plane(s): an HA resource per VM in its node's group, restricted for control planes", (nodes, cps) => {
    const edit = cluster(nodes, cps, 2, ha(8));
    const plan = planWith(edit);
    const stack = vmsStack(edit);
    expect(resourcesOf(stack, "proxmox_harule")).toEqual([]);
    const resources = byVm(stack, "proxmox_haresource");
    const groupOf = (vm: (typeof plan.vms)[number]) => `pve-dualnet_detectviz_${vm.node}${vm.role === "control-plane" ? "_only" : ""}`;
    for (const vm of plan.vms) expect(resources[`vm:${vm.id}`]).toMatchObject({ state: "started", group: groupOf(vm), depends_on: expect.arrayContaining([expect.stringMatching(/^proxmox_hagroup\./)]) });
    const expected = [...new Set(plan.vms.map(groupOf))].sort();
    const written = resourcesOf(stack, "proxmox_hagroup");
    expect(written.map((g) => g.group).sort()).toEqual(expected);
    for (const g of written) expect(g).toMatchObject({ nodes: { [g.group.split("_")[2]]: 1 }, restricted: g.group.endsWith("_only"), no_failback: false });
  });
});

describe("adding or removing a worker at the end moves nothing else", () => {
  const worker = { name: "worker-9", id: 139, role: "worker", ip: { external: "192.168.0.39", internal: "10.0.0.39" } };
  /** Each resource of every stack, as text, by stack, type and name. */
  const resources = (edit: Edit) =>
    new Map(Object.entries(synthAll(planWith(edit))).flatMap(([stack, json]: [string, any]) => Object.entries<any>(json.resource ?? {}).flatMap(([type, byName]) => Object.entries(byName).map(([name, r]) => [`${stack} ${type}.${name}`, JSON.stringify(r)] as const))));
  /** What differs between two syntheses: added, removed and changed resources. */
  const difference = (before: Map<string, string>, after: Map<string, string>) => ({
    added: [...after.keys()].filter((k) => !before.has(k)),
    removed: [...before.keys()].filter((k) => !after.has(k)),
    changed: [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k)),
  });
  const image = (c: any) => (c.vmDefaults.source = { image: { url: "https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img", fileName: "noble.qcow2" } });
  const variants: [string, Edit][] = [
    ["one Proxmox node", cluster(1, 3, 2)],
    ["three nodes, snippets, a cloud image, Proxmox HA (9)", cluster(3, 3, 2, (c) => (ha(9)(c), image(c), (c.vmDefaults.cloudInit.networkData = { enabled: true })))],
    ["three nodes, Proxmox HA (8)", cluster(3, 3, 2, ha(8))],
    ["two nodes, five control planes, a pinned worker", cluster(2, 5, 2, (c) => (c.vms[5].node = "pve2"))],
  ];
  // Only the inventory lists every node; everything else added or removed is the worker's own.
  const ownOrInventory = (d: ReturnType<typeof difference>, added: "added" | "removed") => {
    expect(d.changed).toEqual([expect.stringMatching(/^vms local_file\.node-setup_inventoryini_file_/)]);
    expect(d[added === "added" ? "removed" : "added"]).toEqual([]);
    expect(d[added].length).toBeGreaterThanOrEqual(3); // the VM and its firewall options and rules, at least
    for (const key of d[added]) expect(key).toMatch(/worker-9|^vms proxmox_hagroup\.ha_group-pve\d*_|^vms proxmox_download_file\.image-pve\d*-\d+_/);
  };

  it.each(variants)("%s", (_name, edit) => {
    const before = resources(edit);
    const after = resources((c) => (edit(c), c.vms.push(structuredClone(worker))));
    ownOrInventory(difference(before, after), "added");
    ownOrInventory(difference(after, before), "removed");
    expect(nodesOf((c) => (edit(c), c.vms.push(structuredClone(worker)))).slice(0, -1)).toEqual(nodesOf(edit));
  });

  it("would notice a moved VM (the comparison can fail): a worker inserted first moves the workers after it", () => {
    const edit = variants[1]![1];
    const before = resources(edit);
    const after = resources((c) => (edit(c), c.vms.splice(3, 0, structuredClone(worker))));
    expect(difference(before, after).changed).toEqual(expect.arrayContaining([expect.stringMatching(/proxmox_virtual_environment_vm\.vm-worker-1_/)]));
  });
});
