/** Every test process synthesizes as the app does (see patches/cdktf-fast-synth.ts). */
import { useFastSynth } from "../patches/cdktf-fast-synth";

useFastSynth(process.env);
