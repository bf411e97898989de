/**
 * `npm run test:host`: the host network program (host/pve-dualnet-network.sh) in labs of network
 * namespaces, with its faults injected (SIGKILL after the switch, a stranding gateway, a full
 * disk, concurrent runs, a reboot in the window, …). Root, ifupdown2 and iproute2; CI runs it
 * after `npm test`. Each file runs its scenarios side by side itself (it.concurrent, up to
 * maxConcurrency at once), so a worker per file.
 */
module.exports = async () => {
  const { default: base } = await import("./jest.config.js");
  const config = await base();
  return { ...config, testPathIgnorePatterns: ["/node_modules/"], testRegex: base.HOST_SCENARIOS, testMatch: undefined, maxWorkers: 2, maxConcurrency: 8 };
};
