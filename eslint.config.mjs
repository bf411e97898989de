// Lint: typescript-eslint's recommended rules; generated bindings and build output are not ours to lint.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".gen/", "cdktf.out/", "dist/", "generated/", "coverage/", ".bench/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // Every value derived from the description is decided once, in config/ (resolve.ts, plan.ts):
    // renderers, constructs and stacks read the plan's hosts, VMs, networks and MTUs, never the
    // raw description's, where a second derivation could drift from the first (issue 21).
    files: ["renderers/**/*.ts", "constructs/**/*.ts", "stacks/**/*.ts", "main.ts", "cli.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        ...["vms", "vmDefaults", "networks"].map((field) => ({
          selector: `MemberExpression[object.property.name='config'][property.name='${field}'], MemberExpression[object.name='config'][property.name='${field}']`,
          message: `read the plan (plan.vms, plan.hosts, plan.subnets, plan.mtu, plan.dns, plan.gateway), not the description's ${field}: config/plan.ts decides it once`,
        })),
        {
          selector: "MemberExpression[object.property.name='proxmox'][property.name='nodes']",
          message: "read plan.hosts, not the description's proxmox.nodes: config/plan.ts decides each host once",
        },
      ],
    },
  },
  {
    // Tests and the boot lab read parsed JSON and YAML of every shape.
    files: ["__tests__/**/*.ts", "lab/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
);
