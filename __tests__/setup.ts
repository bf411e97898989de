/** Every test process synthesizes as the app does: without cdktf's creation stacks (see stacks/creation-stacks.ts). */
import { skipCreationStacks } from "../stacks/creation-stacks";

skipCreationStacks(process.env);
