/**
 * Step 3, the node setup: the files the vms stack writes for Ansible (playbook, inventory,
 * variables, kubeadm configurations, kube-vip manifest), judged by Ansible itself
 * (ansible-playbook --syntax-check, ansible-lint, ansible-inventory) and by the kubeadm v1beta4
 * API (kubeadm/v1beta4.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, parseAllDocuments, stringify } from "yaml";
import type { ClusterPlan } from "../config/plan";
import { unescapeTemplate } from "../constructs/terraform-text";
import { JOIN_SECRETS, KUBEADM_TEMPLATES, NODE_VARS, renderKubeadmConfigs } from "../renderers/kubeadm";
import { renderKubeVipManifest } from "../renderers/kube-vip";
import { renderGroupVars, renderInventory } from "../renderers/node-setup";
import { PLAYBOOKS } from "../constructs/node-setup-files";
import { planFrom, planWith } from "./helpers";
import { synthAll } from "./synth";
import { kubeadmProblems } from "./kubeadm/v1beta4";
import { judged, settingsIn } from "./lab/judged";
import { hasTool, runTool } from "./lab/tools";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF admin@laptop";
const plan = planWith((c) => (c.vmDefaults.cloudInit.sshKeys = [KEY]));
const single = planWith((c) => (c.vms = c.vms.filter((vm: any) => vm.name !== "master-2" && vm.name !== "master-3")));
/** One control plane with a LoadBalancer pool: kube-vip runs for the services alone. */
const servicesOnly = planWith((c) => ((c.vms = c.vms.filter((vm: any) => vm.name !== "master-2" && vm.name !== "master-3")), (c.kubernetes.loadBalancer = { addresses: ["192.168.0.200-192.168.0.210"] })));

/** What the playbook substitutes at run time (realistic shapes, not secrets). */
const SAMPLE_SECRETS: Record<string, string> = {
  [JOIN_SECRETS.token.text]: "abcdef.0123456789abcdef",
  [JOIN_SECRETS.caCertHash.text]: `sha256:${"ab".repeat(32)}`,
  [JOIN_SECRETS.certificateKey.text]: "cd".repeat(32),
};
const filled = (text: string, values: Record<string, string>) => Object.entries(values).reduce((t, [k, v]) => t.split(k).join(v), text);
/** What the playbook writes on each node: the template of the part it plays, filled in from the inventory. */
function configs(p: ClusterPlan): Record<string, any[]> {
  const templates = renderKubeadmConfigs(p);
  const firstControlPlane = p.vms.find((vm) => vm.role === "control-plane")!;
  return Object.fromEntries(
    p.vms.map((vm) => {
      const template = vm === firstControlPlane ? KUBEADM_TEMPLATES.init : vm.role === "control-plane" ? KUBEADM_TEMPLATES.joinControlPlane : KUBEADM_TEMPLATES.joinWorker;
      const text = filled(templates[template]!, { ...SAMPLE_SECRETS, [NODE_VARS.name.text]: vm.name, [NODE_VARS.internalIp.text]: vm.nics[1].ip, [NODE_VARS.nodeIps.text]: vm.nodeIps.join(",") });
      return [vm.name, parseAllDocuments(text).map((d) => d.toJS())];
    }),
  );
}

describe("kubeadm configuration", () => {
  const files = configs(plan);

  it("is valid kubeadm.k8s.io/v1beta4 for every node, once the playbook fills in the join secrets", () => {
    for (const [name, docs] of Object.entries(files)) expect([name, docs.flatMap(kubeadmProblems)]).toEqual([name, []]);
  });

  it("the check can fail: an unknown field, a wrong type, a malformed endpoint", () => {
    const [init, cluster] = files["master-1"]!;
    expect(kubeadmProblems({ ...init, nodeRegistation: {} })).toEqual([expect.stringMatching(/InitConfiguration\.: Unrecognized key: "nodeRegistation"/)]);
    expect(kubeadmProblems({ ...cluster, networking: { podSubnet: 10 } })).not.toEqual([]);
    expect(kubeadmProblems({ ...cluster, controlPlaneEndpoint: "https://10.0.0.10:6443" })).toEqual([expect.stringMatching(/controlPlaneEndpoint: must be host\[:port\]/)]);
  });

  it("skips kubeadm's kube-proxy addon exactly when Cilium replaces kube-proxy", () => {
    const initOf = (edit: (c: any) => void) => configs(planWith(edit))["master-1"]![0];
    const kpr = initOf((c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true } }));
    // The phase of `kubeadm init phase addon kube-proxy`, as InitConfiguration.skipPhases names it.
    expect(kpr.skipPhases).toEqual(["addon/kube-proxy"]);
    expect(kubeadmProblems(kpr)).toEqual([]);
    expect(initOf((c) => (c.kubernetes.cni = { plugin: "cilium" }))).not.toHaveProperty("skipPhases");
    expect(files["master-1"]![0]).not.toHaveProperty("skipPhases");
  });

  it("tells the upgrade to skip kube-proxy's addon exactly when Cilium replaces kube-proxy (k8s_kube_proxy: false in group_vars)", () => {
    const varsOf = (edit: (c: any) => void) => parse(renderGroupVars(planWith(edit)).replace(/!unsafe /g, ""));
    expect(varsOf((c) => (c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true } })).k8s_kube_proxy).toBe(false);
    expect(varsOf((c) => (c.kubernetes.cni = { plugin: "cilium" }))).not.toHaveProperty("k8s_kube_proxy");
    expect(varsOf(() => {})).not.toHaveProperty("k8s_kube_proxy");
    // Both upgrade commands add the phase when it is false.
    const upgrade = readFileSync(path.join(__dirname, "..", "ansible", "upgrade.yml"), "utf8");
    expect(upgrade).toContain(`k8s_skip_kube_proxy: "{{ [] if k8s_kube_proxy | default(true) else ['--skip-phases', 'addon/kube-proxy'] }}"`);
    expect(upgrade.match(/\+ k8s_skip_kube_proxy \}\}"/g)).toHaveLength(2);
  });

  it("puts every node behind the VIP, initializes on the first control plane and uploads certs for the others", () => {
    const [init, cluster, kubelet] = files["master-1"]!;
    expect(init).toMatchObject({ kind: "InitConfiguration", localAPIEndpoint: { advertiseAddress: "10.0.0.11", bindPort: 6443 } });
    expect(cluster).toMatchObject({ kind: "ClusterConfiguration", controlPlaneEndpoint: "10.0.0.10:6443", networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" } });
    expect(kubelet).toEqual({ apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration", cgroupDriver: "systemd" });
    const [joinCp] = files["master-2"]!;
    expect(joinCp).toMatchObject({
      kind: "JoinConfiguration",
      discovery: { bootstrapToken: { apiServerEndpoint: "10.0.0.10:6443" } },
      controlPlane: { localAPIEndpoint: { advertiseAddress: "10.0.0.12" }, certificateKey: "cd".repeat(32) },
    });
    const [joinWorker] = files["app-worker"]!;
    expect(joinWorker.discovery.bootstrapToken.apiServerEndpoint).toBe("10.0.0.10:6443");
    expect(joinWorker).not.toHaveProperty("controlPlane");
  });

  it("registers every node with its internal address", () => {
    for (const vm of plan.vms) {
      const first = files[vm.name]![0];
      expect(first.nodeRegistration).toMatchObject({ name: vm.name, kubeletExtraArgs: [{ name: "node-ip", value: vm.nics[1].ip }] });
    }
  });

  it("signs the API certificate for the VIP, every control plane, and the external addresses kubectl uses", () => {
    const cluster = files["master-1"]![1];
    expect(cluster.apiServer.certSANs).toEqual(["10.0.0.10", "10.0.0.11", "master-1", "10.0.0.12", "master-2", "10.0.0.13", "master-3", "192.168.0.11", "192.168.0.12", "192.168.0.13"]);
    const named = configs(planWith((c) => (c.kubernetes.apiServer = { externalAccess: { names: ["k8s.lab.example"] } })))["master-1"]![1];
    expect(named.apiServer.certSANs).toContain("k8s.lab.example");
    const internalOnly = configs(planWith((c) => (c.kubernetes.apiServer = { externalAccess: { enabled: false } })))["master-1"]![1];
    expect(internalOnly.apiServer.certSANs).not.toContain("192.168.0.11");
  });

  it("with one control plane uses its own address and no VIP (a VIP stays possible)", () => {
    expect(configs(single)["master-1"]![1].controlPlaneEndpoint).toBe("10.0.0.11:6443");
    expect(single.apiServer.vip).toBeUndefined();
    const withVip = planWith((c) => {
      c.vms = c.vms.filter((vm: any) => vm.role === "worker" || vm.name === "master-1");
      c.kubernetes.apiServer = { vip: "10.0.0.50" };
    });
    expect(configs(withVip)["master-1"]![1].controlPlaneEndpoint).toBe("10.0.0.50:6443");
  });

  it("is one template per part a node plays, each of them one the playbook uses", () => {
    const playbook = readFileSync(path.join(__dirname, "..", "ansible", "site.yml"), "utf8");
    expect(Object.keys(renderKubeadmConfigs(plan))).toEqual(["init.yaml", "join-control-plane.yaml", "join-worker.yaml"]);
    expect(Object.keys(renderKubeadmConfigs(single))).toEqual(["init.yaml", "join-worker.yaml"]);
    for (const name of Object.values(KUBEADM_TEMPLATES)) expect(playbook).toContain(`src: kubeadm/${name}.j2`);
  });

  it("renders no secret: join files hold only the playbook's placeholders", () => {
    for (const text of Object.values(renderKubeadmConfigs(plan))) {
      expect(text).not.toMatch(/[a-z0-9]{6}\.[a-z0-9]{16}|sha256:[0-9a-f]{64}|\b[0-9a-f]{64}\b/);
    }
  });
});

describe("kube-vip", () => {
  const pod = parse(renderKubeVipManifest(plan)!);
  const env = Object.fromEntries(pod.spec.containers[0].env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));

  it("holds the VIP in ARP mode on the internal NIC, for the control-plane lease", () => {
    expect(env).toMatchObject({
      address: "10.0.0.10",
      port: "6443",
      vip_arp: "true",
      cp_enable: "true",
      vip_leaderelection: "true",
      vip_leasename: "plndr-cp-lock",
      vip_interface: "{{ k8s_internal_interface }}",
    });
    expect(pod.spec.containers[0].image).toBe("ghcr.io/kube-vip/kube-vip:v1.2.4");
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.spec.containers[0].securityContext.capabilities.add).toEqual(["NET_ADMIN", "NET_RAW"]);
    expect(pod.spec.volumes[0].hostPath.path).toBe("{{ kube_vip_kubeconfig }}");
  });

  it("keeps the lease timings of kube-vip's generator (cmd/kube-vip.go flag defaults, unchanged from v1.2.3 to v1.2.4)", () => {
    expect([env.vip_leaseduration, env.vip_renewdeadline, env.vip_retryperiod]).toEqual(["15", "10", "2"]);
  });

  it("is not rendered without a VIP", () => {
    expect(renderKubeVipManifest(single)).toBeUndefined();
  });
});

/** examples/dual-stack.yaml: IPv6 beside IPv4 on both networks, so Kubernetes runs dual-stack. */
const dualStack = planFrom("examples/dual-stack.yaml", (c) => (c.vmDefaults.cloudInit = { sshKeys: [KEY] }));

describe("kubeadm configuration, dual-stack", () => {
  const files = configs(dualStack);

  it("is valid kubeadm.k8s.io/v1beta4 for every node, by kubeadm's networking rules and the kubelet's node-ip parser", () => {
    for (const [name, docs] of Object.entries(files)) expect([name, docs.flatMap(kubeadmProblems)]).toEqual([name, []]);
  });

  it("pairs the pod and service subnets IPv4 first, with kube-controller-manager's per-family node masks", () => {
    const cluster = files["master-1"]![1];
    expect(cluster.networking).toEqual({ podSubnet: "10.244.0.0/16,fd00:10:244::/56", serviceSubnet: "10.96.0.0/12,fd00:10:96::/112", dnsDomain: "cluster.local" });
    expect(cluster.controllerManager.extraArgs).toEqual([
      { name: "node-cidr-mask-size-ipv4", value: "24" },
      { name: "node-cidr-mask-size-ipv6", value: "64" },
    ]);
  });

  it("registers every node with both internal addresses, IPv4 first, and advertises the API on IPv4", () => {
    for (const vm of dualStack.vms) {
      const first = files[vm.name]![0];
      expect(first.nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: `${vm.nics[1].ip},${vm.nics[1].ip6}` }]);
    }
    expect(files["master-1"]![0].localAPIEndpoint.advertiseAddress).toBe("10.0.0.11");
    expect(files["master-2"]![0].controlPlane.localAPIEndpoint.advertiseAddress).toBe("10.0.0.12");
  });

  it("the checks can fail: one family twice, the single-stack mask flag, a node mask the pod subnet cannot hold, an oversized service range, a node-ip kubelet would drop", () => {
    const [init, cluster] = files["master-1"]!;
    expect(kubeadmProblems({ ...cluster, networking: { ...cluster.networking, podSubnet: "10.244.0.0/16,10.245.0.0/16" } })).toEqual([expect.stringMatching(/podSubnet: .*two CIDRs from each family/)]);
    expect(kubeadmProblems({ ...cluster, controllerManager: { extraArgs: [{ name: "node-cidr-mask-size", value: "24" }] } })).toEqual([expect.stringMatching(/node-cidr-mask-size is not allowed with dual-stack/)]);
    expect(kubeadmProblems({ ...cluster, controllerManager: { extraArgs: [{ name: "node-cidr-mask-size-ipv6", value: "80" }] } })).toEqual([expect.stringMatching(/fd00:10:244::\/56: pod subnet mask \(56\) and node-mask \(80\) difference is greater than 16/)]);
    expect(kubeadmProblems({ ...cluster, networking: { ...cluster.networking, serviceSubnet: "10.96.0.0/12,fd00:10:96::/104" } })).toEqual([expect.stringMatching(/serviceSubnet: .*the mask must be >= 108/)]);
    const nodeIp = (value: string) => kubeadmProblems({ ...init, nodeRegistration: { ...init.nodeRegistration, kubeletExtraArgs: [{ name: "node-ip", value }] } });
    expect(nodeIp("10.0.0.11,10.0.0.12")).toEqual([expect.stringMatching(/dual-stack pair/)]);
    expect(nodeIp("10.0.0.11,fd00:10::11::")).toEqual([expect.stringMatching(/could not parse/)]);
    expect(nodeIp("10.0.0.11,fd00:10::11")).toEqual([]);
  });

  it("lists the internal IPv6 address in the inventory only with dual-stack", () => {
    expect(renderInventory(dualStack)).toContain("master-1 ansible_host=192.168.0.11 ansible_user=ubuntu external_ip=192.168.0.11 external_mtu=1500 internal_ip=10.0.0.11 internal_mtu=1500 internal_ip6=fd00:10::11\n");
    expect(renderInventory(plan)).not.toContain("internal_ip6");
  });
});

const ansibleAvailable = hasTool("ansible-playbook", "ansible") && hasTool("ansible-lint", "ansible-lint");

/** Writes the vms stack's local files for Ansible into a directory, as Terraform would. */
function writeNodeSetup(p: ClusterPlan): string {
  const dir = mkdtempSync(path.join(tmpdir(), "pvdn-ansible-"));
  for (const file of Object.values<any>(synthAll(p).vms.resource.local_file)) {
    const relative = (file.filename as string).replace(/^\.\.\/\.\.\/\.\.\/generated\/ansible\//, "");
    mkdirSync(path.join(dir, path.dirname(relative)), { recursive: true });
    writeFileSync(path.join(dir, relative), unescapeTemplate(file.content));
  }
  return dir;
}

/** What etcdctl prints (member list / endpoint health --cluster, -w json) for the example's three control planes. */
function etcdOutputs(down: readonly string[]): object {
  const masters = plan.vms.filter((vm) => vm.role === "control-plane");
  // Member IDs are uint64; JSON carries them as numbers above 2^53.
  const ids = ["1745019576122129704", "11079763743628337343", "3371025550612238833"];
  const members = masters.map((vm, i) => `{"ID":${ids[i]},"name":"${vm.name}","peerURLs":["https://${vm.nics[1].ip}:2380"],"clientURLs":["https://${vm.nics[1].ip}:2379"]}`);
  const health = masters.map((vm) =>
    down.includes(vm.name)
      ? { endpoint: `https://${vm.nics[1].ip}:2379`, health: false, took: "5.000912s", error: "failed to commit proposal: context deadline exceeded" }
      : { endpoint: `https://${vm.nics[1].ip}:2379`, health: true, took: "9.321ms" },
  );
  return {
    k8s_etcd_member_list: { rc: 0, stdout: `{"header":{"cluster_id":17344006751478806447,"member_id":1745019576122129704,"raft_term":7},"members":[${members.join(",")}]}` },
    k8s_etcd_health: { rc: down.length ? 1 : 0, stdout: JSON.stringify(health) },
  };
}

/** Beside the day-two plays: what their guards are fed, and copies with a guard broken on purpose. */
function writeDayTwoFixtures(dir: string): void {
  writeFileSync(path.join(dir, "etcd-healthy.json"), JSON.stringify(etcdOutputs([])));
  writeFileSync(path.join(dir, "etcd-one-down.json"), JSON.stringify(etcdOutputs(["master-3"])));
  writeFileSync(path.join(dir, "joined-but-app-worker.yml"), stringify({ all: { hosts: { "master-1": { k8s_joined: true }, "master-2": { k8s_joined: true }, "master-3": { k8s_joined: true }, "app-worker": { k8s_joined: false } } } }));
  const broken = (playbook: string, copy: string, good: string, bad: string) => {
    const text = readFileSync(path.join(dir, playbook), "utf8");
    if (text.split(good).length !== 2) throw new Error(`${playbook} no longer holds ${JSON.stringify(good)} once: update the broken copy`);
    writeFileSync(path.join(dir, copy), text.replace(good, bad));
  };
  broken("upgrade.yml", "upgrade-broken.yml", "- k8s_to.split('.')[1] | int <= k8s_from.split('.')[1] | int + 1", "- k8s_to.split('.')[1] | int <= k8s_from.split('.')[1] | int + 2");
  broken("remove-node.yml", "remove-broken.yml", "- k8s_etcd_members | difference(k8s_remove) | difference(k8s_etcd_healthy) | length == 0", "- true");
  writeFileSync(path.join(dir, "etcd-two-down.json"), JSON.stringify(etcdOutputs(["master-2", "master-3"])));
}

(ansibleAvailable ? describe : describe.skip)("the node setup playbook, judged by Ansible", () => {
  const dir = writeNodeSetup(plan);
  const env = { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: path.join(dir, ".ansible-tmp"), HOME: dir };
  // What the tests add beside the playbook is written before any of them runs: every judge sees
  // the same directory (and the judges' cache the same inputs).
  writeFileSync(path.join(dir, "lax.yml"), "- hosts: all\n  tasks:\n    - shell: kubeadm init\n");
  writeFileSync(path.join(dir, "broken.yml"), "- hosts: all\n  tasks:\n    - command: kubeadm init\n      creates: /etc/kubernetes/admin.conf\n");
  writeDayTwoFixtures(dir);
  // kube-vip for LoadBalancer services alone (one control plane, a pool): Ansible fills in the external NIC.
  writeFileSync(path.join(dir, "templates", "kube-vip-services.yaml.j2"), renderKubeVipManifest(servicesOnly)!);
  const renderedDir = mkdtempSync(path.join(tmpdir(), "pvdn-rendered-"));
  /** An Ansible command in the playbook's directory, judged once per content of that directory. */
  const ansible = (command: string, args: string[], outputs?: string) =>
    judged(
      {
        judge: [command, ...args].join(" ").replace(renderedDir, "RENDERED"),
        // Ansible's own settings from the environment (ANSIBLE_CONFIG and the like) change its answers too.
        texts: { env: settingsIn(process.env, "ANSIBLE_") },
        inputs: [dir],
        outputs,
      },
      () => runTool(command, args, { cwd: dir, env }),
    );
  // The playbook's template tasks, run locally for every host: Jinja itself fills in the
  // inventory's values and (sample) join secrets.
  const secrets = { kubeadm_token: SAMPLE_SECRETS[JOIN_SECRETS.token.text], kubeadm_ca_cert_hash: SAMPLE_SECRETS[JOIN_SECRETS.caCertHash.text], kubeadm_certificate_key: SAMPLE_SECRETS[JOIN_SECRETS.certificateKey.text] };
  writeFileSync(
    path.join(dir, "render.yml"),
    stringify([
      {
        name: "Render what each node gets",
        hosts: "k8s_cluster",
        connection: "local",
        gather_facts: false,
        vars: { ...secrets, k8s_internal_interface: "eth1", k8s_external_interface: "eth0", kube_vip_kubeconfig: "/etc/kubernetes/admin.conf" },
        tasks: [
          {
            name: "Kubeadm",
            "ansible.builtin.template": {
              src: "kubeadm/{{ 'init' if inventory_hostname == groups['masters'][0] else ('join-control-plane' if inventory_hostname in groups['masters'] else 'join-worker') }}.yaml.j2",
              dest: "{{ rendered_dir }}/{{ inventory_hostname }}.yaml",
              mode: "0600",
            },
          },
          { name: "Kube-vip", "ansible.builtin.template": { src: "kube-vip.yaml.j2", dest: "{{ rendered_dir }}/{{ inventory_hostname }}-kube-vip.yaml", mode: "0600" }, when: "inventory_hostname in groups['masters']" },
          { name: "Kube-vip for services alone", "ansible.builtin.template": { src: "kube-vip-services.yaml.j2", dest: "{{ rendered_dir }}/{{ inventory_hostname }}-kube-vip-services.yaml", mode: "0600" }, when: "inventory_hostname == groups['masters'][0]" },
        ],
      },
    ]),
  );

  it.concurrent("passes ansible-playbook --syntax-check, the day-two plays too", async () => {
    const result = await ansible("ansible-playbook", ["--syntax-check", "-i", "inventory.ini", ...PLAYBOOKS]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it.concurrent("passes ansible-lint (production profile), the day-two plays too, and flags a lax playbook beside them (the check can fail)", async () => {
    // One run for all: ansible-lint's start-up is most of its cost.
    const result = await ansible("ansible-lint", ["--offline", "--nocolor", "--profile", "production", "-p", ...PLAYBOOKS, "lax.yml"]);
    const findings = result.stdout.split("\n").filter(Boolean);
    expect(findings.filter((line) => !line.startsWith("lax.yml:"))).toEqual([]);
    expect(findings).toEqual(expect.arrayContaining([expect.stringMatching(/^lax\.yml:3: command-instead-of-shell/), expect.stringMatching(/^lax\.yml:3: no-changed-when/)]));
    expect(result.status).toBe(2);
    // Three playbooks take ansible-lint some 10 s of one core; beside the other judges, longer.
  }, 180_000);

  it.concurrent("has an inventory Ansible reads: groups, SSH addresses, planned addresses and MTUs, variables", async () => {
    const result = await ansible("ansible-inventory", ["-i", "inventory.ini", "--list"]);
    expect(result.status).toBe(0);
    const inventory = JSON.parse(result.stdout);
    expect(inventory.masters.hosts).toEqual(["master-1", "master-2", "master-3"]);
    expect(inventory.workers.hosts).toEqual(["app-worker"]);
    expect(inventory.k8s_cluster.children).toEqual(["masters", "workers"]);
    // Ansible shows a variable it will never template as {"__ansible_unsafe": value}.
    const unsafe = (value: unknown) => ({ __ansible_unsafe: value });
    expect(inventory._meta.hostvars["master-2"]).toMatchObject({
      ansible_host: "192.168.0.12",
      ansible_user: "ubuntu",
      internal_ip: "10.0.0.12",
      internal_mtu: 1500,
      k8s_api_vip: unsafe("10.0.0.10"),
      k8s_version: unsafe("1.37.1"),
      k8s_minor: unsafe("v1.37"),
      k8s_kubeconfig_path: unsafe("~/.kube/detectviz.conf"),
      k8s_sysctl_values: { "net.ipv4.ip_forward": 1, "net.bridge.bridge-nf-call-iptables": 1 },
    });
  });

  it.concurrent("renders every node's kubeadm configuration and kube-vip manifest from the templates, as the playbook would", async () => {
    const result = await ansible("ansible-playbook", ["-i", "inventory.ini", "-e", `rendered_dir=${renderedDir}`, "render.yml"], renderedDir);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const expected = configs(plan);
    for (const vm of plan.vms) {
      const rendered = parseAllDocuments(readFileSync(path.join(renderedDir, `${vm.name}.yaml`), "utf8")).map((d) => d.toJS());
      expect([vm.name, rendered]).toEqual([vm.name, expected[vm.name]]);
      expect([vm.name, rendered.flatMap(kubeadmProblems)]).toEqual([vm.name, []]);
    }
    const kubeVip = parse(readFileSync(path.join(renderedDir, "master-2-kube-vip.yaml"), "utf8"));
    expect(kubeVip.spec.containers[0].env).toContainEqual({ name: "vip_interface", value: "eth1" });
    expect(kubeVip.spec.volumes[0].hostPath.path).toBe("/etc/kubernetes/admin.conf");
    const services = parse(readFileSync(path.join(renderedDir, "master-1-kube-vip-services.yaml"), "utf8"));
    expect(services.spec.containers[0].env).toEqual(expect.arrayContaining([{ name: "vip_servicesinterface", value: "eth0" }, { name: "vip_interface", value: "eth0" }, { name: "svc_enable", value: "true" }]));
  });

  it.concurrent("would reject a broken playbook (the syntax check can fail)", async () => {
    const syntax = await ansible("ansible-playbook", ["--syntax-check", "-i", "inventory.ini", "broken.yml"]);
    expect(syntax.status).not.toBe(0);
  });

  /** A playbook's tagged tasks, run for real: only their pure logic (assert, set_fact, debug), which never connects to a node. */
  const tagged = (playbook: string, tag: string, ...extra: string[]) =>
    ansible("ansible-playbook", ["-i", "inventory.ini", ...extra.flatMap((e) => (e.startsWith("-i") ? ["-i", e.slice(2)] : ["-e", e])), playbook, "--tags", tag]);
  /** The message of the first failed assertion, or the last debug message of a run that passed. */
  const said = (stdout: string) => [...stdout.matchAll(/"msg": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);

  describe("upgrade.yml refuses what kubeadm does not upgrade (tag version-guard, run for real)", () => {
    const guard = (current: string, target?: string, ...extra: string[]) =>
      tagged("upgrade.yml", "version-guard", `k8s_cluster_version=${current}`, ...(target ? [`k8s_version=${target}`] : []), ...extra);

    it.concurrent.each([
      ["1.36.2", "1.37.1", "the next minor version"],
      ["1.36.2", "1.36.5", "a patch release"],
      ["1.36.2", "1.36.2", "the version it runs (a second run)"],
      ["v1.36.2", "v1.37.0", "versions written with a v"],
      ["1.9.3", "1.10.0", "1.9 to 1.10 (numbers, not text)"],
    ])("accepts %s -> %s: %s", async (current, target) => {
      const result = await guard(current, target);
      expect(said(result.stdout).at(-1)).toMatch(/^(Upgrading the cluster from|The cluster is at)/);
      expect(result.status).toBe(0);
    });

    it.concurrent.each([
      ["1.36.2", "1.38.0", /more than one minor version above the cluster's 1\.36\.2: kubeadm upgrades one minor version at a time\. Set kubernetes\.version to the newest 1\.37\.x first/],
      ["1.36.2", "2.0.0", /more than one minor version above/],
      ["1.36.2", "1.36.1", /1\.36\.1 is older than the cluster's 1\.36\.2: kubeadm upgrades, it does not downgrade/],
      ["1.36.2", "1.35.9", /does not downgrade/],
      ["1.36.2", "1.37", /both must be X\.Y\.Z/],
    ])("refuses %s -> %s", async (current, target, message) => {
      const result = await guard(current, target);
      expect(said(result.stdout)[0]).toMatch(message);
      expect(result.status).toBe(2);
    });

    it.concurrent("reads the target from the variables file (kubernetes.version, !unsafe): 1.36.2 -> 1.37.1", async () => {
      const result = await guard("1.36.2");
      expect(said(result.stdout).at(-1)).toBe("Upgrading the cluster from 1.36.2 to 1.37.1.");
      expect(result.status).toBe(0);
    });

    it.concurrent("refuses a node whose kubelet would skip a minor version, and passes kubelets one behind", async () => {
      const behind = await guard("1.36.2", "1.37.1", JSON.stringify({ k8s_kubelet_versions: { "master-1": "v1.36.2", "app-worker": "v1.35.4" } }));
      expect(said(behind.stdout)[0]).toMatch(/^app-worker runs kubelet v1\.35\.4: upgrading it to 1\.37\.1 would skip a minor version/);
      expect(behind.status).toBe(2);
      const halfway = await guard("1.37.1", "1.37.1", JSON.stringify({ k8s_kubelet_versions: { "master-1": "v1.37.1", "app-worker": "v1.36.2" } }));
      expect(halfway.status).toBe(0);
    });

    it.concurrent("the check can fail: a guard allowing two minor versions lets 1.36.2 -> 1.38.0 through", async () => {
      const result = await tagged("upgrade-broken.yml", "version-guard", "k8s_cluster_version=1.36.2", "k8s_version=1.38.0");
      expect(said(result.stdout).at(-1)).toBe("Upgrading the cluster from 1.36.2 to 1.38.0.");
      expect(result.status).toBe(0);
    });
  });

  describe("remove-node.yml refuses what would break the cluster (tag remove-guard, run for real)", () => {
    const guard = (nodes: string | string[], etcd = "@etcd-healthy.json") =>
      tagged("remove-node.yml", "remove-guard", typeof nodes === "string" ? `remove_nodes=${nodes}` : JSON.stringify({ remove_nodes: nodes }), etcd);

    it.concurrent.each([
      ["app-worker", "etcd-healthy", /^Removing app-worker\. No control plane is removed\.$/],
      ["master-3", "etcd-healthy", /^Removing master-3\. etcd keeps the members master-1, master-2; 2 members tolerate no failure, like 1: add a third control plane\.$/],
      [["master-2", "master-3"], "etcd-healthy", /^Removing master-2, master-3\. etcd keeps the members master-1\.$/],
      ["app-worker", "etcd-one-down", /^Removing app-worker\. No control plane is removed\.$/],
      // The member that is down goes: the two left are up.
      ["master-3", "etcd-one-down", /^Removing master-3\. etcd keeps the members master-1, master-2; 2 members tolerate no failure/],
      // The first control plane too: the plays then run kubectl and etcdctl on master-2.
      ["master-1", "etcd-healthy", /^Removing master-1\. etcd keeps the members master-2, master-3; 2 members tolerate no failure/],
    ])("removes %j with %s", async (nodes, etcd, message) => {
      const result = await guard(nodes, `@${etcd}.json`);
      expect(said(result.stdout).at(-1)).toMatch(message);
      expect(result.status).toBe(0);
    });

    it.concurrent.each([
      ["master-1,master-2,master-3", "etcd-healthy", /^Cannot remove master-1, master-2, master-3\. .* a cluster keeps at least one control plane/],
      ["worker-9", "etcd-healthy", /^Cannot remove worker-9\. Nodes of the inventory: master-1, master-2, master-3, app-worker;/],
      ["", "etcd-healthy", /^Cannot remove nothing \(name the nodes: -e remove_nodes=name,name\)/],
      ["master-2", "etcd-one-down", /^Refusing to remove the control plane\(s\) master-2: .* these are not healthy: master-3\./],
      // Two of three members down: etcd has no quorum to commit a removal.
      ["master-3", "etcd-two-down", /these are not healthy: master-2, master-3\./],
      // Both that are down, leaving the one that is up: still no quorum of the three to commit it.
      ["master-2,master-3", "etcd-two-down", /these are not healthy: master-2, master-3\./],
    ])("refuses %j with %s", async (nodes, etcd, message) => {
      const result = await guard(nodes, `@${etcd}.json`);
      expect(said(result.stdout)[0]).toMatch(message);
      expect(result.status).toBe(2);
    });

    it.concurrent("the check can fail: a guard without the health check removes one of 3 control planes while another is down", async () => {
      const result = await tagged("remove-broken.yml", "remove-guard", "remove_nodes=master-2", "@etcd-one-down.json");
      expect(said(result.stdout).at(-1)).toMatch(/^Removing master-2\./);
      expect(result.status).toBe(0);
    });
  });

  describe("remove-node.yml and a node that does not answer (tags remove-guard and remove-reach, run for real against a closed port)", () => {
    // Every node's SSH is a port nothing listens on: Ansible finds each one unreachable at once.
    const unreachable = JSON.stringify({ ansible_host: "127.0.0.1", ansible_port: 9, k8s_reach_timeout: 2 });
    const run = (...extra: string[]) => tagged("remove-node.yml", "remove-guard,remove-reach", "remove_nodes=app-worker", "@etcd-healthy.json", unreachable, ...extra);

    it.concurrent("refuses it unless remove_unreachable names it: a node that lost only SSH would register again", async () => {
      const result = await run();
      expect(said(result.stdout)).toContainEqual(expect.stringMatching(/^app-worker does not answer over SSH\. If it is gone for good .* run again with -e remove_unreachable=app-worker/));
      expect(result.status).toBe(2);
    });

    it.concurrent("removes it, named in remove_unreachable, without draining or resetting it", async () => {
      const result = await run("remove_unreachable=app-worker");
      expect(said(result.stdout).at(-1)).toBe("app-worker is gone: removing its Node object without draining or resetting it.");
      expect(result.status).toBe(0);
    });
  });

  (hasTool("openssl", "openssl") ? describe : describe.skip)("site.yml finds the names a control plane's API server certificate lacks (tag cert-names, run for real on certificates openssl signs)", () => {
    const certs = mkdtempSync(path.join(tmpdir(), "pvdn-apiserver-certs-"));
    /** A self-signed certificate with these subject alternative names, as kubeadm's carries them. */
    const certificate = (name: string, sans: readonly string[]) => {
      const file = path.join(certs, `${name}.crt`);
      const san = sans.map((x) => (/^[0-9.]+$/.test(x) ? `IP:${x}` : `DNS:${x}`)).join(",");
      return runTool("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", path.join(certs, `${name}.key`), "-out", file, "-days", "1", "-subj", "/CN=kube-apiserver", "-addext", `subjectAltName=${san}`]).then((r) => {
        expect(r.status).toBe(0);
        return file;
      });
    };
    /**
     * Only the cert-names tasks run, on this machine: openssl reads a certificate it signed with
     * these names, nothing changes. The answer depends on the names, not on the certificate's
     * fresh key: a judge of its own (openssl and Ansible, ten module runs, some 5 s of CPU) that
     * the judges' cache remembers by the names, the playbook and the tools.
     */
    const check = (name: string, sans: readonly string[]) =>
      judged(
        { judge: "openssl req -x509 -addext subjectAltName=SANS; ansible-playbook site.yml --tags cert-names --limit master-1", texts: { sans: sans.join(","), env: settingsIn(process.env, "ANSIBLE_") }, inputs: [dir] },
        async () => {
          const cert = await certificate(name, sans);
          return runTool("ansible-playbook", ["-i", "inventory.ini", "site.yml", "--tags", "cert-names", "--limit", "master-1", "-e", "ansible_connection=local", "-e", "ansible_become=false", "-e", `k8s_apiserver_cert=${cert}`], { cwd: dir, env });
        },
      );

    it.concurrent("names what a certificate signed before the other control planes were added lacks", async () => {
      const result = await check("before", ["10.0.0.10", "10.0.0.11", "master-1", "192.168.0.11"]);
      expect(said(result.stdout).at(-1)).toBe("master-1: the API server certificate lacks 10.0.0.12, master-2, 10.0.0.13, master-3, 192.168.0.12, 192.168.0.13");
      expect(result.status).toBe(0);
    });

    it.concurrent("finds nothing lacking in a certificate with every name (one more is no harm)", async () => {
      const result = await check("complete", [...planWith().apiServer.certSans, "kubernetes.default"]);
      expect(said(result.stdout).at(-1)).toBe("master-1: the API server certificate has every name");
      expect(result.status).toBe(0);
    });
  });

  describe("site.yml joins new nodes only (tags join-plan and joined-guard, run for real)", () => {
    it.concurrent("joins only the node without kubelet.conf (a worker added to the description), and nobody on a second run", async () => {
      const added = await tagged("site.yml", "join-plan", "-ijoined-but-app-worker.yml");
      expect(said(added.stdout)).toEqual(["Nodes to set up in the cluster on this run: app-worker"]);
      const again = await tagged("site.yml", "join-plan", JSON.stringify({ k8s_joined: true }));
      expect(said(again.stdout)).toEqual(["Nodes to set up in the cluster on this run: none"]);
      const fresh = await tagged("site.yml", "join-plan", JSON.stringify({ k8s_joined: false }));
      expect(said(fresh.stdout)).toEqual(["Nodes to set up in the cluster on this run: master-1 master-2 master-3 app-worker"]);
    });

    it.concurrent("refuses to move a node that has joined to another version (that is upgrade.yml's), for the whole run", async () => {
      const installed = (v: string) => ({ kubeadm: `${v}-1.1`, kubelet: `${v}-1.1`, kubectl: `${v}-1.1` });
      const behind = await tagged("site.yml", "joined-guard", JSON.stringify({ k8s_joined: true, k8s_installed: installed("1.36.2") }));
      expect(said(behind.stdout)[0]).toMatch(/^master-\d has joined the cluster with kubeadm 1\.36\.2-1\.1, but kubernetes\.version is 1\.37\.1\. .*run upgrade\.yml/);
      expect(behind.status).toBe(2);
      const same = await tagged("site.yml", "joined-guard", JSON.stringify({ k8s_joined: true, k8s_installed: installed("1.37.1") }));
      expect(same.status).toBe(0);
    });
  });

  it("site.yml and upgrade.yml write the same package repository line (one minor version per file)", () => {
    const line = (playbook: string) => [...readFileSync(path.join(dir, playbook), "utf8").matchAll(/content: "(deb \[signed-by=[^"]*)"/g)].map((m) => m[1]);
    expect(line("site.yml")).toEqual(["deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/{{ k8s_minor }}/deb/ /\\n"]);
    expect(line("upgrade.yml")).toEqual(line("site.yml"));
  });

  it("gives the VMs the SSH keys the inventory logs in with", () => {
    const vm = Object.values<any>(synthAll(plan).vms.resource.proxmox_virtual_environment_vm)[0];
    expect(vm.initialization.user_account.keys).toEqual([KEY]);
  });
});

(ansibleAvailable ? describe : describe.skip)("dual-stack kubeadm configuration, rendered by Ansible from the inventory", () => {
  it("fills in each node's node-ip pair from internal_ip and internal_ip6, and kubeadm's rules take every file", async () => {
    const dir = writeNodeSetup(dualStack);
    const renderedDir = mkdtempSync(path.join(tmpdir(), "pvdn-rendered6-"));
    const secrets = { kubeadm_token: SAMPLE_SECRETS[JOIN_SECRETS.token.text], kubeadm_ca_cert_hash: SAMPLE_SECRETS[JOIN_SECRETS.caCertHash.text], kubeadm_certificate_key: SAMPLE_SECRETS[JOIN_SECRETS.certificateKey.text] };
    const task = {
      name: "Kubeadm",
      "ansible.builtin.template": {
        src: "kubeadm/{{ 'init' if inventory_hostname == groups['masters'][0] else ('join-control-plane' if inventory_hostname in groups['masters'] else 'join-worker') }}.yaml.j2",
        dest: "{{ rendered_dir }}/{{ inventory_hostname }}.yaml",
        mode: "0600",
      },
    };
    writeFileSync(path.join(dir, "render6.yml"), stringify([{ name: "Render kubeadm", hosts: "k8s_cluster", connection: "local", gather_facts: false, vars: secrets, tasks: [task] }]));
    const env = { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: path.join(dir, ".ansible-tmp"), HOME: dir };
    // Judged as the IPv4 render is: by the directory's bytes (the rendered directory named by a
    // variable, not in the playbook), Ansible's settings and the tools; replayed with its files.
    const result = await judged(
      { judge: "ansible-playbook -i inventory.ini -e rendered_dir=RENDERED render6.yml", texts: { env: settingsIn(process.env, "ANSIBLE_") }, inputs: [dir], outputs: renderedDir },
      () => runTool("ansible-playbook", ["-i", "inventory.ini", "-e", `rendered_dir=${renderedDir}`, "render6.yml"], { cwd: dir, env }),
    );
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const expected = configs(dualStack);
    for (const vm of dualStack.vms) {
      const rendered = parseAllDocuments(readFileSync(path.join(renderedDir, `${vm.name}.yaml`), "utf8")).map((d) => d.toJS());
      expect([vm.name, rendered]).toEqual([vm.name, expected[vm.name]]);
      expect(rendered[0].nodeRegistration.kubeletExtraArgs).toEqual([{ name: "node-ip", value: `${vm.nics[1].ip},${vm.nics[1].ip6}` }]);
      expect([vm.name, rendered.flatMap(kubeadmProblems)]).toEqual([vm.name, []]);
    }
  }, 120_000);
});
