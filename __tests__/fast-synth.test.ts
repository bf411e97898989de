/**
 * stacks/fast-synth.ts: what the shortcuts leave out must never matter. That the whole output
 * stays byte-identical to cdktf's own synth is checked end to end in cli.test.ts; here, the
 * cases the shortcuts must step aside for.
 */
import { Lazy, TerraformOutput, Testing } from "cdktf";
import { PveDualnetStack } from "../stacks/pve-dualnet-stack";
import { fastSynth } from "../stacks/fast-synth";
import { planWith } from "./helpers";

describe("the fast synth", () => {
  it("is what the tests synthesize with (as the app and the command do)", () => {
    expect(fastSynth()).toBe(true);
  });

  it("still resolves a stack's own overrides, which no element resolution covers", () => {
    const app = Testing.app();
    const stack = new PveDualnetStack(app, "overridden", planWith().config);
    new TerraformOutput(stack, "answer", { value: Lazy.numberValue({ produce: () => 42 }) });
    stack.addOverride("locals.greeting", Lazy.stringValue({ produce: () => "hello" }));
    const json = JSON.parse(Testing.synth(stack));
    expect(json.locals).toEqual({ greeting: "hello" });
    expect(json.output.answer.value).toBe(42);
  });
});
