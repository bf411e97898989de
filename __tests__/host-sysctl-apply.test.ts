/**
 * host/pve-dualnet-sysctl.sh for real: `sysctl --system` in a network namespace (the net.*
 * keys are per namespace) with private /etc/sysctl.d, /usr/lib/sysctl.d, /etc/sysctl.conf and
 * /etc/modules-load.d, so the machine's own settings are never read or changed.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { sysctlFiles, sysctlIpv6, type SysctlFile } from "../renderers/sysctl";
import { planFrom, planWith } from "./helpers";
import { canRunLabs } from "./lab/netlab";
import { PveHost } from "./lab/pve-host";

const canRun = canRunLabs();
const sysctlOf = (edit: (c: any) => void = () => {}) => sysctlFiles(planWith(edit).config.sysctl, "host");

async function withHost(run: (host: PveHost) => Promise<void>): Promise<void> {
  const host = await PveHost.create();
  try {
    await run(host);
  } finally {
    await host.destroy();
  }
}

const value = async (host: PveHost, key: string) => (await host.lab.run(`sysctl -n ${key}`)).stdout.trim();
const installed = (host: PveHost) => readdirSync(host.lab.sandbox.dir("/etc/sysctl.d")).sort();

(canRun ? describe : describe.skip)("host/pve-dualnet-sysctl.sh in a network namespace", () => {
  it.concurrent("installs the files, applies them with sysctl --system and reads every value back", () =>
    withHost(async (host) => {
      expect(await value(host, "net.ipv4.conf.all.rp_filter")).not.toBe("2");
      const files = sysctlOf((c) => (c.sysctl = { disableIpv6: true }));
      const result = await host.applySysctl(host.stageSysctl("pve", files));
      expect(result.stdout).toMatch(/sysctl verified: 6 values read back/);
      expect(result.status).toBe(0);
      expect(installed(host)).toEqual(["99-proxmox-network.conf", "disable-ipv6.conf"]);
      expect(await value(host, "net.ipv4.conf.all.rp_filter")).toBe("2");
      expect(await value(host, "net.ipv4.ip_forward")).toBe("1");
      expect(await value(host, "net.ipv6.conf.all.disable_ipv6")).toBe("1");
      expect(readFileSync(host.lab.sandbox.file("/etc/modules-load.d", "pve-dualnet.conf"), "utf8")).toMatch(/^br_netfilter$/m);
    }));

  it.concurrent("the dual-stack nodes' file: the kernel takes IPv6 forwarding and ip6tables bridge netfilter, and /proc reads 1 where kubeadm's preflight looks", () =>
    withHost(async (host) => {
      const plan = planFrom("examples/dual-stack.yaml");
      const files = sysctlFiles(plan.config.sysctl, "node", sysctlIpv6(plan));
      const result = await host.applySysctl(host.stageSysctl("node", files));
      expect(result.stdout).toMatch(/sysctl verified: 7 values read back/);
      expect(result.status).toBe(0);
      expect(await value(host, "net.ipv6.conf.all.forwarding")).toBe("1");
      expect(await value(host, "net.bridge.bridge-nf-call-ip6tables")).toBe("1");
      // kubeadm's preflight (addIPv6Checks) reads this file once a pod or service subnet is IPv6.
      expect((await host.lab.run("cat /proc/sys/net/ipv6/conf/default/forwarding")).stdout.trim()).toBe("1");
    }));

  it.concurrent("removes a file it wrote earlier that the description no longer has", () =>
    withHost(async (host) => {
      expect((await host.applySysctl(host.stageSysctl("pve", sysctlOf((c) => (c.sysctl = { disableIpv6: true }))))).status).toBe(0);
      const result = await host.applySysctl(host.stageSysctl("pve", sysctlOf()));
      expect(result.stdout).toMatch(/removed \/etc\/sysctl\.d\/disable-ipv6\.conf/);
      expect(result.status).toBe(0);
      expect(installed(host)).toEqual(["99-proxmox-network.conf"]);
    }));

  it.concurrent("a key the kernel refuses: rolls back the files and the values", () =>
    withHost(async (host) => {
      writeFileSync(host.lab.sandbox.file("/etc/sysctl.d", "50-local.conf"), "net.ipv4.ip_forward = 0\n");
      await host.lab.run("sysctl -q -w net.ipv4.ip_forward=0 net.ipv4.conf.all.rp_filter=0");
      const [file] = sysctlOf();
      const broken: SysctlFile = { ...file!, entries: [...file!.entries, { key: "net.ipv4.pve_dualnet_no_such_key", value: 1, why: "a key this kernel does not have" }] };
      const result = await host.applySysctl(host.stageSysctl("pve", [broken]));
      expect(result.stdout).toMatch(/net\.ipv4\.pve_dualnet_no_such_key does not exist in this kernel/);
      expect(result.stdout).toMatch(/rolled back: [\s\S]* The previous files and values are back/);
      expect(result.status).toBe(2);
      expect(installed(host)).toEqual(["50-local.conf"]);
      expect(await value(host, "net.ipv4.ip_forward")).toBe("0");
      expect(await value(host, "net.ipv4.conf.all.rp_filter")).toBe("0");
      expect(existsSync(host.lab.sandbox.file("/etc/modules-load.d", "pve-dualnet.conf"))).toBe(false);
    }));

  it.concurrent("a value another file overrides: noticed on read-back and rolled back", () =>
    withHost(async (host) => {
      // sysctl --system applies files in name order: 99-zzz wins over 99-proxmox-network.
      writeFileSync(host.lab.sandbox.file("/etc/sysctl.d", "99-zzz-local.conf"), "net.ipv4.conf.all.rp_filter = 1\n");
      const result = await host.applySysctl(host.stageSysctl("pve", sysctlOf()));
      expect(result.stdout).toMatch(/net\.ipv4\.conf\.all\.rp_filter is '1', expected '2' \(a later file in sysctl's order may set it\)/);
      expect(result.status).toBe(2);
      expect(installed(host)).toEqual(["99-zzz-local.conf"]);
    }));

  it.concurrent("a kernel module that cannot be loaded: a clear error with the fix, nothing changed", () =>
    withHost(async (host) => {
      // br_netfilter is built into this kernel, so its key cannot go missing here: the same path
      // is taken with a key and module this kernel lacks.
      const files = sysctlOf();
      const dir = host.stageSysctl("pve", files, (env) =>
        env.replace("br_netfilter net.bridge.bridge-nf-call-iptables", "pve_dualnet_missing_module net.pve_dualnet.missing_key"),
      );
      const result = await host.applySysctl(dir);
      expect(result.stdout).toMatch(/net\.pve_dualnet\.missing_key needs the kernel module pve_dualnet_missing_module, which could not be loaded/);
      expect(result.stdout).toMatch(/Fix: install the running kernel's modules/);
      expect(result.stdout).toMatch(/Nothing changed/);
      expect(result.status).toBe(1);
      expect(installed(host)).toEqual([]);
    }));

  it.concurrent("a lock file that cannot be opened: refused, nothing changed (not dash's exit 2, \"rolled back\")", () =>
    withHost(async (host) => {
      const result = await host.applySysctl(host.stageSysctl("pve", sysctlOf()), "mkdir /run/pve-dualnet/sysctl.lock && ");
      expect(result.stdout).toMatch(/refused: cannot open the lock \/run\/pve-dualnet\/sysctl\.lock .*; nothing changed/);
      expect(result.status).toBe(1);
      expect(installed(host)).toEqual([]);
      expect(existsSync(host.lab.sandbox.file("/etc/modules-load.d", "pve-dualnet.conf"))).toBe(false);
    }));

  it.concurrent("a disk that fills up: refused before anything changes", () =>
    withHost(async (host) => {
      const result = await host.applySysctl(host.stageSysctl("pve", sysctlOf()), "mount -t tmpfs -o size=4k tmpfs /var/lib/pve-dualnet && ");
      expect(result.stdout).toMatch(/\(disk full\?\); nothing changed/);
      expect(result.status).toBe(1);
      expect(installed(host)).toEqual([]);
    }));
});
