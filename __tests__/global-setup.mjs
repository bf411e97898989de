// Before any test: the bundled app and command are current, so tests that run them side by side
// never build them at the same time, and so is the tests' bundle of dependencies (dependency-bundle.mjs); every temporary file of the run (the tests', cdktf's
// Testing outdirs, the tools') goes under one directory that global-teardown.mjs removes.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ensureBundles } from "../bin/bundle.mjs";
import { ensureDependencyBundle } from "./dependency-bundle.mjs";

export const RUN_PREFIX = "pve-dualnet-test-";

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
};

export default async function globalSetup() {
  await Promise.all([ensureBundles(), ensureDependencyBundle()]);
  const top = tmpdir();
  // A run that was killed left its directory: remove it once its jest process is gone.
  for (const name of readdirSync(top)) {
    const pid = Number(name.startsWith(RUN_PREFIX) && name.slice(RUN_PREFIX.length).split("-")[0]);
    if (pid && !alive(pid)) rmSync(path.join(top, name), { recursive: true, force: true });
  }
  const runDir = mkdtempSync(path.join(top, `${RUN_PREFIX}${process.pid}-`));
  // Jest starts its workers after this: they and every tool they run inherit it. Where a path is
  // part of what a judge reads, a test needs one that is the same from run to run: the top.
  process.env.PVE_DUALNET_TMP_TOP = top;
  process.env.TMPDIR = runDir;
  globalThis.__PVE_DUALNET_RUN_DIR__ = runDir;
}
