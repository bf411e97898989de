/**
 * Comments in /etc/network/interfaces, judged by Debian 13's ifupdown2 with its Mako templates on
 * (Mako 1.3 on Proxmox VE 9, where Debian 12 has 1.2): every comment the description accepts is
 * read as a comment, and nothing in it runs. data-is-never-code.test.ts asks Debian 12's the same.
 */
import { checkCluster } from "../config/load";
import { ConfigError } from "../config/errors";
import { renderInterfaces } from "../renderers/interfaces";
import { exampleInput } from "./helpers";
import { debian13Available, debian13Ifquery, inDebian13 } from "./judges/debian13";

const RAN = "pvdn-ran";
const run = `echo ${RAN}`;

/** Comments a reviewer might wave through; the description refuses some of them (that is its test's business). */
const COMMENTS: Record<string, string> = {
  "a trailing backslash": "note \\",
  "a lone backslash": "a\\b",
  "Terraform interpolation": "${var.ssh_private_key}",
  "a Terraform directive": "%{ if true }yes%{ endif }",
  "an unbalanced ${": "cost ${ 5",
  "a Jinja expression": `{{ lookup('pipe', '${run}') }}`,
  "a Jinja statement": "{% for x in range(3) %}x{% endfor %}",
  "a Mako expression": `100% \${__import__('os').system('${run}')}`,
  "a Mako tag": `<% __import__('os').system('${run}') %>`,
  "a Mako comment": "## hidden",
  "a Mako control line": "% for x in range(3):",
  quotes: `it's "quoted"`,
  "a semicolon": `a; ${run}`,
  "command substitution": `$(${run})`,
  "a percent sign": "100% done",
};

/** The example's first node with `comment` on its first interface: the plan, or undefined when refused. */
function planWithComment(edit: (c: any) => void) {
  const input = exampleInput();
  edit(input);
  try {
    return checkCluster(input, "comments.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return undefined;
    throw error;
  }
}

const accepted = Object.entries(COMMENTS).filter(([, value]) => planWithComment((c) => (c.proxmox.nodes[0].interfaces[0].comment = value)));

(debian13Available() ? describe : describe.skip)("Debian 13's ifupdown2 with Mako on", () => {
  it("has Mako to render with (python3-mako)", async () => {
    expect((await inDebian13("python3 -c 'import mako; print(mako.__version__)'")).status).toBe(0);
  });

  it("reads every accepted comment as a comment: the same interfaces as without it, and nothing runs", async () => {
    expect(accepted.length).toBeGreaterThan(3);
    const plan = planWithComment((c) => {
      c.proxmox.nodes[0].interfaces.push(...accepted.map(([, v], i) => ({ kind: "nic", name: `eth${i}`, comment: v })));
      // ifupdown2 renders a file through Mako only when it holds a '%'.
      c.proxmox.nodes[0].interfaces[0].comment = "100% of the traffic";
    })!;
    const file = renderInterfaces(plan.hosts[0]!, plan.config.name);
    const bare = file.split("\n").filter((line) => !line.startsWith("#")).join("\n");
    for (const [, value] of accepted) expect(file).toContain(`\n# ${value}\n`);
    const [withComments, without] = await Promise.all([debian13Ifquery(file), debian13Ifquery(bare)]);
    expect(withComments.stderr).toBe("");
    expect(withComments.stdout).toBe(without.stdout);
    expect(withComments.stdout).toMatch(/iface eth0 inet manual/);
    expect(withComments.stdout).not.toContain(RAN);
  });

  it("the check can fail: a Mako expression slipped past the writer runs", async () => {
    const probe = await debian13Ifquery(`auto lo\niface lo inet loopback\n# 100% \${__import__('os').system('${run}')}\n`);
    expect(`${probe.stdout}${probe.stderr}`).toContain(RAN);
  });
});
