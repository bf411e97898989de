/**
 * The boot lab (`npm run lab`): guests booted by QEMU from Debian images built on this machine
 * (see lab/). Guests are CPU bound under TCG, so one worker; the global setup builds or finds the
 * images before any test starts its clock, and gives the run a temporary directory the teardown
 * removes (with any guest a failed test left running).
 */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/lab"],
  testMatch: ["**/*.lab.ts"],
  maxWorkers: 1,
  // The default reporter, then every failure's message once more at the very end (CI keeps the tail).
  reporters: ["default", "<rootDir>/lab/failure-summary-reporter.js"],
  // Generous: a guest boots in minutes under TCG on a busy machine.
  testTimeout: 30 * 60 * 1000,
  globalSetup: "<rootDir>/lab/global-setup.ts",
  globalTeardown: "<rootDir>/lab/global-teardown.ts",
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "commonjs" } }] },
  moduleFileExtensions: ["ts", "js", "json"],
};
