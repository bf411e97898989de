/**
 * Bad input gets a clear error: every problem at once, each naming the field and the fix, no
 * stack trace, and no credential ever repeated back. Broken descriptions of every kind a user
 * writes (wrong types, hostile YAML, pasted secrets, conflicting ids, unsafe interface choices).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ConfigError, type ConfigIssue } from "../config/errors";
import { readBoundedFile } from "../config/files";
import { loadClusterFile, parseCluster } from "../config/load";
import { issuesOf, planWith, shardByNode } from "./helpers";

const dir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-bad-"));
const issueAt = (issues: ConfigIssue[], where: string) => {
  const found = issues.find((i) => i.path === where);
  if (!found) throw new Error(`no issue at ${where}; got:\n${issues.map((i) => `${i.path}: ${i.message}`).join("\n")}`);
  return found;
};
const fileIssues = (name: string, content: string | Buffer): ConfigIssue[] => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  try {
    loadClusterFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      expect(err.message).toContain(file);
      return [...err.issues];
    }
    throw err;
  }
  throw new Error("accepted");
};

describe("wrong types are wrong types, not missing fields", () => {
  it("says what was expected and what was found", () => {
    const issue = issueAt(issuesOf((c) => (c.vmDefaults.memory = "lots")), "vmDefaults.memory");
    expect(issue.message).toBe('must be a number, not a string ("lots")');
    expect(issue.fix).toBe("write a number");
  });

  it("reports a list where a mapping belongs, and a mapping where a list belongs", () => {
    const issues = issuesOf((c) => {
      c.networks.external = ["192.168.0.0/24"];
      c.vms = { master: 1 };
    });
    expect(issueAt(issues, "networks.external").message).toBe("must be an object, not a list");
    expect(issueAt(issues, "vms").message).toBe("must be an array, not a mapping");
  });
});

describe("files that are not cluster descriptions", () => {
  it("rejects a binary file by name", () => {
    const [issue] = fileIssues("image.qcow2", Buffer.from([0x51, 0x46, 0x49, 0xfb, 0x00, 0x00, 0x00, 0x03, 0xff, 0xfe]));
    expect(issue).toEqual({ path: "", message: "is not a text file", fix: expect.stringMatching(/YAML or JSON/) });
  });

  it("rejects a YAML alias bomb without expanding it", () => {
    const levels = ["a: &a [x,x,x,x,x,x,x,x,x]"];
    for (let i = 1; i < 9; i++) levels.push(`${"abcdefghi"[i]}: &${"abcdefghi"[i]} [${Array(9).fill(`*${"abcdefghi"[i - 1]}`).join(",")}]`);
    const [issue] = fileIssues("bomb.yaml", levels.join("\n"));
    expect(issue!.message).toMatch(/expands YAML aliases \(\*name\) too many times/);
    expect(issue!.fix).toBeTruthy();
  });

  it.each([
    ["flow", `a: ${"[".repeat(20000)}${"]".repeat(20000)}`],
    ["nested lists", `a: ${"[".repeat(40)}1${"]".repeat(40)}`],
  ])("rejects a file nested too deeply (%s) with a message, not a stack overflow", (_kind, text) => {
    const issues = fileIssues("deep.yaml", text);
    expect(issues.some((i) => /nests deeper than 32 levels/.test(i.message))).toBe(true);
  });

  it("rejects a document that is not a mapping, and an empty one", () => {
    expect(fileIssues("list.yaml", "- a\n- b\n")[0]!.message).toBe("holds a list, not a mapping of settings");
    expect(fileIssues("empty.yaml", "# nothing\n")[0]!.message).toBe("is empty");
  });

  it("names the file and suggests a path when it does not exist", () => {
    const issues = (() => {
      try {
        loadClusterFile(path.join(dir, "nope.yaml"));
      } catch (err) {
        return (err as ConfigError).issues;
      }
      return [];
    })();
    expect(issues[0]).toEqual({ path: "", message: "cannot read the file: file not found", fix: expect.stringMatching(/examples\/cluster\.yaml/) });
    expect(issues[0]!.fix).not.toMatch(/--context/);
  });
});

describe("credentials pasted into the description", () => {
  const PRIVATE = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----";
  const TOKEN = "root@pam!terraform=0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";

  it.each<[string, (c: any) => void, string, RegExp]>([
    ["a private key in sshKeys", (c) => (c.vmDefaults.cloudInit.sshKeys = [PRIVATE]), "vmDefaults.cloudInit.sshKeys[0]", /TF_VAR_ssh_private_key/],
    ["a Proxmox API token in a description", (c) => (c.vms[0].description = `token ${TOKEN.replace("!", "!x")} PVEAPIToken=${TOKEN}`), "vms[0].description", /PROXMOX_VE_API_TOKEN/],
    ["a Proxmox API token under an unknown key", (c) => (c.proxmox.apiToken = TOKEN), "proxmox.apiToken", /PROXMOX_VE_API_TOKEN/],
    ["a password", (c) => (c.proxmox.password = "hunter2"), "proxmox.password", /environment variable/],
    ["a Terraform Cloud token", (c) => (c.terraformCloud = { organization: "x", project: `${"A".repeat(14)}.atlasv1.${"b".repeat(60)}` }), "terraformCloud.project", /TF_TOKEN_app_terraform_io/],
    // Where the schema and the checks would quote the value: a node name and an IPv4 address (issue 21's mutant: reported, not redacted).
    ["a Proxmox API token as a VM's node", (c) => (c.vms[0].node = TOKEN), "vms[0].node", /PROXMOX_VE_API_TOKEN/],
    ["a Proxmox API token as an address", (c) => (c.vms[0].ip.external = TOKEN), "vms[0].ip.external", /PROXMOX_VE_API_TOKEN/],
  ])("rejects %s, naming the field and where it belongs, without repeating it", (_what, edit, where, instead) => {
    let message = "";
    try {
      planWith(edit);
    } catch (err) {
      message = (err as ConfigError).message;
      // Once: the checks after the screen see <redacted> where the value was, and say nothing more of it.
      expect((err as ConfigError).issues.filter((i) => i.path === where)).toHaveLength(1);
      const issue = issueAt([...(err as ConfigError).issues], where);
      expect(issue.message).toMatch(/^looks like .*: credentials never go in the cluster description/);
      expect(issue.fix).toMatch(instead);
    }
    expect(message).not.toBe("");
    expect(message).not.toMatch(/PRIVATE KEY-----\n|hunter2|0f1e2d3c|atlasv1/);
  });
});

describe("a refused value is redacted, not only reported", () => {
  it("never reaches a message of another field: a token as the workspace prefix, which the sharded stacks' names would quote", () => {
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    const node = "n".repeat(60);
    let error: ConfigError | undefined;
    try {
      planWith((c) => {
        shardByNode(c);
        c.proxmox.nodes[2].name = node;
        c.terraformCloud = { organization: "homelab", workspaces: { prefix: token } };
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error!.issues.map((i) => i.path)).toEqual(["terraformCloud.workspaces.prefix"]);
    expect(JSON.stringify(error!.issues)).not.toContain(token.slice(4, 20));
    expect(error!.message).not.toContain(token.slice(4, 20));
  });

  it("reports a key that breaks a rule wherever it stands, and redacts each (the same key under two VMs)", () => {
    const token = `ghp_${"a1B2c3D4e5".repeat(4)}`;
    let error: ConfigError | undefined;
    try {
      planWith((c) => {
        c.vms[0][token] = "x";
        c.vms[1][token] = "y";
      });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error!.issues.map((i) => [i.path, i.message])).toEqual([
      ["vms[0]", "a key looks like an access token: credentials never go in the cluster description (it is committed, reviewed, and copied into cdktf.out)"],
      ["vms[1]", "a key looks like an access token: credentials never go in the cluster description (it is committed, reviewed, and copied into cdktf.out)"],
    ]);
    expect(error!.message).not.toContain(token.slice(4, 20));
  });
});

describe("VM ids", () => {
  it("rejects a VM whose id is the id of the template it clones", () => {
    const issue = issueAt(issuesOf((c) => (c.vms[1].id = 9000)), "vms[1].id");
    expect(issue.message).toMatch(/9000 is the id of the template the VMs clone/);
    expect(issue.fix).toMatch(/give the VM its own id/);
  });

  it("reports a duplicate id once, without derived-MAC noise", () => {
    const issues = issuesOf((c) => (c.vms[1].id = c.vms[0].id));
    expect(issues.map((i) => i.path)).toEqual(["vms[1].id"]);
  });
});

describe("messages name the limits and the fix", () => {
  it("says the 63-character DNS limit", () => {
    const issue = issueAt(issuesOf((c) => (c.vms[0].name = "a".repeat(64))), "vms[0].name");
    expect(issue.message).toMatch(/1 to 63 lower-case letters/);
    expect(issue.fix).toMatch(/at most 63 characters/);
  });

  it.each<[string, (c: any) => void, string, RegExp]>([
    ["an IPv4 address", (c) => (c.vms[0].ip.external = "192.168.0.300"), "vms[0].ip.external", /four numbers from 0 to 255/],
    ["a CIDR", (c) => (c.networks.internal.cidr = "10.0.0.0"), "networks.internal.cidr", /prefix length, e\.g\. 10\.0\.0\.0\/24/],
    ["a URL", (c) => (c.proxmox.endpoint = "192.168.0.2:8006"), "proxmox.endpoint", /https:\/\/192\.168\.0\.2:8006\//],
    ["a range", (c) => (c.vmDefaults.cpu.cores = 0), "vmDefaults.cpu.cores", /from 1 to 256/],
  ])("gives %s a fix", (_what, edit, where, fix) => {
    expect(issueAt(issuesOf(edit), where).fix).toMatch(fix);
  });

  it("every problem of a badly broken description has a field and a fix", () => {
    const issues = issuesOf((c) => {
      c.name = "Bad Name";
      c.proxmox.endpoint = "nope";
      c.proxmox.nodes[0].interfaces[0].mtu = 99999;
      c.networks.external.dns = ["8.8.8"];
      c.vmDefaults.cpu = { cores: "four" };
      c.vms[0].role = "master";
      c.vms[1].ip = {};
      c.kubernetes.cni.plugin = "weave";
      c.firewall = { rules: [{ protocol: "icmp", ports: "x", from: "everywhere" }] };
    });
    expect(issues.length).toBeGreaterThanOrEqual(9);
    for (const issue of issues) {
      expect(issue.path).not.toBe("");
      expect(issue.fix ?? "").not.toBe("");
    }
  });
});

describe("interface selection that could put pod traffic on the external network", () => {
  const pinned = (c: any) => (c.vmDefaults.cloudInit.networkData = { enabled: true });

  it("rejects a Flannel interface name that is the external NIC", () => {
    const issue = issueAt(issuesOf((c) => (pinned(c), (c.kubernetes.cni.flannel.interface = { name: "eth0" }))), "kubernetes.cni.flannel.interface.name");
    expect(issue.message).toMatch(/eth0 is the external NIC/);
    expect(issue.fix).toMatch(/eth1/);
  });

  it("rejects a name-based choice when the guest NIC names are not pinned", () => {
    const issue = issueAt(issuesOf((c) => (c.kubernetes.cni.flannel.interface = { name: "eth1" })), "kubernetes.cni.flannel.interface.name");
    expect(issue.message).toMatch(/guest NIC names are not pinned/);
    expect(issue.fix).toMatch(/canReach|networkData/);
    expect(issueAt(issuesOf((c) => (c.kubernetes.cni = { plugin: "calico", calico: { autodetection: { interface: "eth1" } } })), "kubernetes.cni.calico.autodetection.interface").message).toMatch(/not pinned/);
  });

  it("rejects a regex that matches the external NIC, and accepts one that picks the internal NIC only", () => {
    expect(issueAt(issuesOf((c) => (pinned(c), (c.kubernetes.cni.flannel.interface = { regex: "eth.*" }))), "kubernetes.cni.flannel.interface.regex").message).toMatch(/matches the external NIC eth0/);
    expect(issueAt(issuesOf((c) => (pinned(c), (c.kubernetes.cni = { plugin: "calico", calico: { autodetection: { interface: "^eth0$" } } }))), "kubernetes.cni.calico.autodetection.interface").message).toMatch(/matches the external NIC eth0/);
    expect(() => planWith((c) => (pinned(c), (c.kubernetes.cni.flannel.interface = { regex: "^eth1$" })))).not.toThrow();
  });

  it("rejects Cilium devices other than the internal NIC, and names only when they are pinned", () => {
    const cilium = (devices: string[]) => (c: any) => (c.kubernetes.cni = { plugin: "cilium", cilium: { devices } });
    expect(issueAt(issuesOf((c) => (pinned(c), cilium(["eth0"])(c))), "kubernetes.cni.cilium.devices[0]").message).toMatch(/eth0 is the external NIC/);
    expect(issueAt(issuesOf((c) => (pinned(c), cilium(["ens18"])(c))), "kubernetes.cni.cilium.devices[0]").message).toMatch(/not a NIC of the VMs/);
    expect(issueAt(issuesOf(cilium(["eth1"])), "kubernetes.cni.cilium.devices[0]").message).toMatch(/not pinned/);
    expect(planWith((c) => (pinned(c), cilium(["eth1"])(c))).cni.ciliumDevices).toEqual(["eth1"]);
    // Pinned names give the internal NIC by default; unpinned, Cilium detects its devices itself.
    expect(planWith((c) => (pinned(c), (c.kubernetes.cni = { plugin: "cilium" }))).cni.ciliumDevices).toEqual(["eth1"]);
    expect(planWith((c) => (c.kubernetes.cni = { plugin: "cilium" })).cni.ciliumDevices).toBeUndefined();
  });

  it("rejects Cilium's kube-proxy replacement pinned to the internal NIC while the firewall opens NodePorts on the external one", () => {
    const kpr = (c: any) => (pinned(c), (c.kubernetes.cni = { plugin: "cilium", cilium: { kubeProxyReplacement: true } }));
    const issue = issueAt(issuesOf((c) => (kpr(c), (c.firewall = { ...c.firewall, nodePorts: true }))), "kubernetes.cni.cilium.kubeProxyReplacement");
    expect(issue.message).toMatch(/NodePorts only on its devices \(eth1, the internal NIC\)/);
    expect(issue.fix).toMatch(/firewall.nodePorts: false/);
    expect(() => planWith(kpr)).not.toThrow();
  });

  it("rejects Calico can-reach of an external address", () => {
    expect(issueAt(issuesOf((c) => (c.kubernetes.cni = { plugin: "calico", calico: { autodetection: { canReach: "192.168.0.1" } } })), "kubernetes.cni.calico.autodetection.canReach").message).toMatch(/external network/);
  });

  it("keeps the defaults safe: can-reach an internal address, or the pinned internal name", () => {
    expect(planWith().cni.flannelInterface).toEqual({ canReach: "10.0.0.2" });
    expect(planWith(pinned).cni.flannelInterface).toEqual({ name: "eth1" });
  });
});

describe("a JSON description", () => {
  it("is read like YAML and reports JSON syntax errors as JSON", () => {
    expect(() => parseCluster('{"name": "x",', "cluster.json")).toThrow(/fix the JSON syntax/);
  });
});

describe("what a free-text field may hold", () => {
  it.each<[string, string, RegExp]>([
    ["https://root:secret@192.168.0.2:8006/", "proxmox.endpoint", /looks like a password in a URL/],
    ["https://root@192.168.0.2:8006/", "proxmox.endpoint", /holds a user or password/],
    ["https://192.168.0.2:8006/api2/json", "proxmox.endpoint", /has a path, query or fragment/],
    ["https://192.168.0.2:8006/?a=1", "proxmox.endpoint", /has a path, query or fragment/],
    ["http://192.168.0.2:8006/", "proxmox.endpoint", /must be an https URL/],
    ["file:///etc/passwd", "proxmox.endpoint", /must be an https URL/],
    ["javascript:alert(1)", "proxmox.endpoint", /must be an https URL/],
  ])("refuses the endpoint %s", (endpoint, where, message) => {
    const issue = issueAt(issuesOf((c) => (c.proxmox.endpoint = endpoint)), where);
    expect(issue.message).toMatch(message);
    expect(issue.fix).toMatch(/https:\/\/|user:password@/);
    expect(JSON.stringify(issue)).not.toContain("secret");
  });

  it("accepts the endpoint forms a user writes: an address or a name, with or without a port", () => {
    for (const endpoint of ["https://192.168.0.2:8006/", "https://pve.example.com:8006", "https://pve.example.com/"]) expect(() => planWith((c) => (c.proxmox.endpoint = endpoint))).not.toThrow();
  });

  it.each([
    ["99999", /99999 is outside 1-65535/],
    ["0", /0 is outside 1-65535/],
    ["9000:80", /9000:80 is not an ascending range/],
    ["80:80", /80:80 is not an ascending range/],
    ["80,443,70000:70001", /70000:70001 is outside/],
  ])("refuses the firewall ports %s", (ports, message) => {
    const issue = issueAt(issuesOf((c) => (c.firewall = { rules: [{ protocol: "tcp", ports, from: "external" }] })), "firewall.rules[0].ports");
    expect(issue.message).toMatch(message);
    expect(issue.fix).toMatch(/1 to 65535/);
  });

  it("accepts ports from 1 to 65535 and ascending ranges", () => {
    expect(() => planWith((c) => (c.firewall = { rules: [{ protocol: "tcp", ports: "1,80,443,8000:8100,65535", from: "external" }] }))).not.toThrow();
  });

  it.each(["/etc", "../elsewhere", "generated/../../up", "~/out", "."])("keeps output.directory %s inside the project unless told otherwise", (directory) => {
    const issue = issueAt(issuesOf((c) => (c.output = { directory })), "output.directory");
    expect(issue.fix).toMatch(/relative to the project|a directory of its own/);
    if (directory !== ".") expect(() => planWith((c) => (c.output = { directory, outsideProject: true }))).not.toThrow();
  });

  it("refuses a search domain that is not a DNS name, and a line break in any value", () => {
    expect(issueAt(issuesOf((c) => (c.networks.external.searchDomain = "lan\nnameserver 6.6.6.6")), "networks.external.searchDomain").message).toMatch(/a line break \(U\+000A\)/);
    expect(issueAt(issuesOf((c) => (c.networks.external.searchDomain = "lan; rm")), "networks.external.searchDomain").message).toMatch(/must be a DNS name/);
  });

  it("refuses a value longer than any value takes before any pattern reads it", () => {
    const issue = issueAt(issuesOf((c) => (c.vms[0].description = "-".repeat(200_000))), "vms[0].description");
    expect(issue.message).toBe("is 200000 characters long, more than any value takes (8192)");
  });
});

describe("files the description names, read with bounds", () => {
  const fifo = path.join(dir, "fifo.yaml");
  beforeAll(() => execFileSync("mkfifo", [fifo]));

  it.each<[string, string, RegExp]>([
    ["a character device", "/dev/zero", /not a regular file \(a character device\)/],
    ["a FIFO", fifo, /not a regular file \(a FIFO\)/],
    ["a directory", dir, /it is a directory/],
  ])("refuses %s as the description at once", (_what, file, message) => {
    let issues: readonly ConfigIssue[] = [];
    try {
      loadClusterFile(file);
    } catch (err) {
      issues = (err as ConfigError).issues;
    }
    expect(issues[0]!.message).toMatch(message);
  });

  it("refuses a description over 16 MiB without reading it all", () => {
    const big = path.join(dir, "big.yaml");
    writeFileSync(big, "");
    truncateSync(big, (16 << 20) + 1);
    expect(() => loadClusterFile(big)).toThrow(/larger than 16 MiB/);
  });

  // A file may hold more than its size said when it was opened (it grew; procfs says 0 for all).
  it("reads a file past the size it had at the open, and still refuses it past the limit", () => {
    const status = readBoundedFile("/proc/self/status", 1 << 20);
    expect("bytes" in status && status.bytes.toString("utf8")).toMatch(/^Name:.*\n[^]*\nPid:\s+\d+\n/);
    expect(readBoundedFile("/proc/self/status", 64)).toEqual({ problem: expect.stringMatching(/larger than/) });
  });

  it("refuses a key file that is a device, a FIFO, or too large", () => {
    const large = path.join(dir, "large.pub");
    writeFileSync(large, `ssh-ed25519 ${"A".repeat(70_000)}\n`);
    const issues = issuesOf((c) => (c.vmDefaults.cloudInit.sshKeyFiles = ["/dev/zero", fifo, large]));
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[0]").message).toMatch(/not a regular file \(a character device\)/);
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[1]").message).toMatch(/not a regular file \(a FIFO\)/);
    expect(issueAt(issues, "vmDefaults.cloudInit.sshKeyFiles[2]").message).toMatch(/larger than 64 KiB/);
  });

  it("refuses a key whose comment is not printable text", () => {
    const keyFile = path.join(dir, "escape.pub");
    writeFileSync(keyFile, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF a\u001b[2Jb ${TfToken[TOKEN.1]}\n");
    const issue = issueAt(issuesOf((c) => (c.vmDefaults.cloudInit.sshKeyFiles = [keyFile])), "vmDefaults.cloudInit.sshKeyFiles[0]");
    expect(issue.message).toMatch(/line 1 of .* has a comment that is not printable text/);
    expect(issue.message).not.toContain("\u001b");
  });
});
