/** The app as users run it: a bad description exits non-zero, prints every problem and writes nothing. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const root = path.join(__dirname, "..");
const runApp = (env: Record<string, string>) =>
  spawnSync(process.execPath, ["--import", "tsx", path.join(root, "main.ts")], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } });

describe("main", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pve-dualnet-main-"));

  it("reports a broken description in full, without a stack trace, and writes nothing", () => {
    const config = path.join(dir, "broken.yaml");
    writeFileSync(config, ["name: broken", "proxmox: { endpoint: 'https://pve:8006/', nodes: [] }", "networks: { external: { cidr: 10.0.0.0/24 }, internal: { cidr: 10.0.0.0/24, gatway: 10.0.0.1 } }", "vms: []"].join("\n"));
    const out = path.join(dir, "out-broken");
    const result = runApp({ PVE_DUALNET_CONFIG: config, CDKTF_OUTDIR: out });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/broken\.yaml: \d+ problems in the cluster description/);
    expect(result.stderr).toMatch(/proxmox\.nodes: must (have|be)/);
    expect(result.stderr).toMatch(/networks\.internal\.gatway: unknown key "gatway"\n\s+fix: did you mean "gateway"\?/);
    expect(result.stderr).toMatch(/Nothing was synthesized/);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(existsSync(out)).toBe(false);
  });

  it("synthesizes the built-in example", () => {
    const out = path.join(dir, "out-example");
    const result = runApp({ CDKTF_OUTDIR: out });
    // The example sets no SSH key: said once, as a warning.
    expect(result.stderr).toBe("warning: no SSH public key for the node VMs: the node setup (Ansible) cannot log in. Set vmDefaults.cloudInit.sshKeys or sshKeyFiles, or PVE_DUALNET_SSH_PUBLIC_KEYS.\n");
    expect(result.status).toBe(0);
    expect(readdirSync(path.join(out, "stacks"))).toContain("host-network");
  });
});
