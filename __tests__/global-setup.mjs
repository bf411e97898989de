// Before any test: the bundled app and command are current, so tests that run them side by side
// never build them at the same time.
import { ensureBundles } from "../scripts/bundle.mjs";

export default async function globalSetup() {
  await ensureBundles();
}
