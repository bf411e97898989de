/**
 * cloud-init's own renderer as a judge of network-data: `cloud-init devel net-convert` renders a
 * network config the way a guest would at boot, by the machine's cloud-init (Debian 12, judged:
 * cached by input) and by Debian 13's (debian13.ts). Shared by the IPv4 and dual-stack tests.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { debian13NetConvert } from "./debian13";
import { judged } from "../lab/judged";
import { runTool } from "../lab/tools";

/** Every file under a directory, as one text with file headers. */
export function tree(dir: string): string {
  const walk = (d: string): string[] =>
    readdirSync(d).flatMap((n) => (statSync(path.join(d, n)).isDirectory() ? walk(path.join(d, n)) : [path.join(d, n)]));
  return walk(dir)
    .sort()
    .map((f) => `==> ${path.relative(dir, f)}\n${readFileSync(f, "utf8")}`)
    .join("\n");
}

/** Renders `yaml` (a network config) for `output` (netplan, eni, networkd, sysconfig, network-manager) as `distro`; the rendered files as one text. */
export type Convert = (yaml: string, name: string, output: string, distro: string) => Promise<string>;

/** The two converters, writing under `work`. */
export function netConverters(work: string): { convert: Convert; convert13: Convert } {
  const convert: Convert = async (yaml, name, output, distro) => {
    const input = path.join(work, `${name}.yaml`);
    writeFileSync(input, yaml);
    const out = path.join(work, `${name}-${output}`);
    const result = await judged({ judge: `cloud-init devel net-convert -k yaml -D ${distro} -O ${output}`, texts: { "network-config": yaml }, outputs: out }, () =>
      runTool("cloud-init", ["devel", "net-convert", "-p", input, "-k", "yaml", "-d", out, "-D", distro, "-O", output]),
    );
    if (result.status !== 0) throw new Error(`cloud-init net-convert -O ${output} failed:\n${result.stderr}`);
    return tree(out);
  };
  /** As convert, by Debian 13's cloud-init. */
  const convert13: Convert = async (yaml, name, output, distro) => {
    const out = path.join(work, `${name}-${output}-debian13`);
    const result = await debian13NetConvert(yaml, out, output, distro);
    if (result.status !== 0) throw new Error(`Debian 13's cloud-init net-convert -O ${output} failed:\n${result.stderr}`);
    return tree(out);
  };
  return { convert, convert13 };
}
