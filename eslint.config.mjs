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
    // Tests and the boot lab read parsed JSON and YAML of every shape.
    files: ["__tests__/**/*.ts", "lab/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off", "@typescript-eslint/no-require-imports": "off" },
  },
);
