/**
 * The warning of check and synth about the datacenter firewall: Proxmox ships it off
 * (pve-firewall 6.0.4, src/PVE/Firewall.pm: the cluster option `enable`, default 0, and no rule of
 * any VM is compiled while it is off), so the VM rules pve-dualnet generates are inert until it is on.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { runCli, type CliIo } from "../cli";
import { renderReport } from "../renderers/report";
import { exampleInput, planWith } from "./helpers";

describe("the datacenter firewall warning", () => {
  const DATACENTER = /^the VM firewall rules act only once the datacenter firewall is on, and Proxmox ships it off.*docs\/firewall\.md, "It acts only once the datacenter firewall is on".*set firewall\.datacenterEnabled: true\.$/;
  const warned = (edit: (c: any) => void = () => {}) => planWith(edit).warnings.filter((w) => w.includes("datacenter firewall"));

  it("is given while the VM firewall is on and nobody said the datacenter's is", () => {
    expect(warned()).toEqual([expect.stringMatching(DATACENTER)]);
    expect(warned((c) => (c.firewall = { datacenterEnabled: true }))).toEqual([]);
    expect(warned((c) => (c.firewall = { enabled: false }))).toEqual([]);
  });

  it("is printed by check and synth, which still succeed", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pvdn-dc-"));
    const write = (name: string, edit: (c: any) => void) => {
      const input = exampleInput();
      edit(input);
      writeFileSync(path.join(dir, name), stringify(input));
      return path.join(dir, name);
    };
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: { PATH: process.env.PATH } };
      return { status: await runCli(args, io), stdout: out.join(""), stderr: err.join("") };
    };
    const off = write("off.yaml", () => {});
    const on = write("on.yaml", (c) => (c.firewall = { datacenterEnabled: true }));
    for (const args of [["check", off], ["synth", off, "--out", path.join(dir, "out")]]) {
      const result = await run(...args);
      expect(result.status).toBe(0);
      expect(result.stderr.split("\n").filter((l) => l.includes("datacenter firewall"))).toEqual([expect.stringMatching(/^warning: the VM firewall rules act only once the datacenter firewall is on/)]);
    }
    const quiet = await run("check", on);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).not.toMatch(/datacenter firewall/);
    expect(renderReport(planWith((c) => (c.firewall = { datacenterEnabled: true })), "text")).toMatch(/the datacenter firewall is on, says firewall\.datacenterEnabled/);
  });
});
