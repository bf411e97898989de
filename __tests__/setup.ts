/** Every test process synthesizes as the app does (see stacks/fast-synth.ts). */
import { useFastSynth } from "../stacks/fast-synth";

useFastSynth(process.env);
