/**
 * Lab images: Debian releases built by lab/build-image.sh and cached on this machine. The jest
 * global setup builds them once per run and hands the directories to the tests through the
 * environment (PVE_DUALNET_LAB_IMAGE_<RELEASE>); a script outside jest builds on first use.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { runTool } from "../__tests__/lab/tools";

/** Debian 12 is the base of Proxmox VE 8, Debian 13 of Proxmox VE 9. */
export const RELEASES = ["bookworm", "trixie"] as const;
export type Release = (typeof RELEASES)[number];

export interface LabImage {
  readonly release: Release;
  /** Debian point release, e.g. 13.8. */
  readonly version: string;
  readonly dir: string;
  /** The read-only qcow2 base; every boot gets an overlay on it. */
  readonly disk: string;
  readonly kernel: string;
  readonly initrd: string;
  /** Kernel arguments the image needs (its root file system). */
  readonly append: string;
  readonly buildSeconds: number;
}

const envName = (release: Release) => `PVE_DUALNET_LAB_IMAGE_${release.toUpperCase()}`;
const built = new Map<Release, Promise<LabImage>>();

function readImage(dir: string): LabImage {
  const json = JSON.parse(readFileSync(path.join(dir, "image.json"), "utf8"));
  return { ...json, dir, disk: path.join(dir, json.disk), kernel: path.join(dir, json.kernel), initrd: path.join(dir, json.initrd) };
}

/** The image of `release`, built if the cache has none for the suite's current packages. */
export function labImage(release: Release, options: { log?: (line: string) => void } = {}): Promise<LabImage> {
  const known = process.env[envName(release)];
  if (known) return Promise.resolve(readImage(known));
  let image = built.get(release);
  if (!image) {
    image = (async () => {
      const script = path.join(__dirname, "build-image.sh");
      const result = await runTool("bash", [script, release]);
      if (result.status !== 0) throw new Error(`build-image.sh ${release} failed (${result.status}):\n${result.stderr.slice(-4000)}`);
      for (const line of result.stderr.split("\n").filter((l) => l.startsWith("build-image:"))) options.log?.(line);
      const dir = result.stdout.trim().split("\n").pop()!;
      process.env[envName(release)] = dir;
      return readImage(dir);
    })();
    built.set(release, image);
  }
  return image;
}
