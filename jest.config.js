/** Tests are transpiled by swc (no type-check); `npm run typecheck` runs tsc separately. */
module.exports = {
  testEnvironment: "node",
  // Some tests run real tools (ifupdown2 in namespaces, the Mermaid parser); slow CI machines need headroom.
  testTimeout: 30000,
  roots: ["<rootDir>/__tests__"],
  setupFiles: ["<rootDir>/__tests__/setup.ts"],
  globalSetup: "<rootDir>/__tests__/global-setup.mjs",
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }] },
  moduleFileExtensions: ["ts", "js", "json"],
  snapshotFormat: { escapeString: false, printBasicPrototype: false },
};
