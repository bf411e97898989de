/** Tests are transpiled by swc (no type-check); `npm run typecheck` runs tsc separately. */
module.exports = async () => {
  const { BUNDLED_MODULES, shimFile } = await import("./__tests__/dependency-bundle.mjs");
  return {
    testEnvironment: "node",
    // Some tests run real tools (ifupdown2 in namespaces, the Mermaid parser); slow CI machines need headroom.
    testTimeout: 30000,
    // Most tests wait on real tools (Terraform, ifupdown2, Ansible) rather than compute: use every
    // core, not jest's default of one less (a single worker on a 2-core machine).
    maxWorkers: "100%",
    roots: ["<rootDir>/__tests__"],
    setupFiles: ["<rootDir>/__tests__/setup.ts"],
    // The project's setup and the Debian 13 judges' root (scripts/judges/debian13.sh), side by side.
    globalSetup: "<rootDir>/__tests__/judges/global-setup.mjs",
    globalTeardown: "<rootDir>/__tests__/global-teardown.mjs",
    testMatch: ["**/*.test.ts"],
    transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }] },
    moduleFileExtensions: ["ts", "js", "json"],
    // cdktf, zod and yaml as one bundle, built by global setup (see __tests__/dependency-bundle.mjs).
    moduleNameMapper: Object.fromEntries(BUNDLED_MODULES.map((name) => [`^${name.replace(/[/.]/g, "\\$&")}$`, shimFile(name)])),
    snapshotFormat: { escapeString: false, printBasicPrototype: false },
  };
};
