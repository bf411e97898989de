/**
 * The CNI model: one module per plugin states what it puts on the wire (config/cni/model.ts);
 * the plan, validation, the firewall and the constructs read those facts and decide none of them
 * again. A new plugin is a new module here (and the construct that installs it).
 */
import { calico } from "./calico";
import { cilium } from "./cilium";
import { flannel } from "./flannel";
import { dualStackOf } from "../dual-stack";
import type { ClusterConfig } from "../schema";
import type { CniFacts, CniModule, CniPlan, CniPlugin } from "./model";

export * from "./model";

const MODULES: Readonly<Record<CniPlugin, CniModule>> = { flannel, calico, cilium };

/** What the configured plugin puts on the internal network, from the description alone. */
export function cniFacts(config: ClusterConfig): CniFacts {
  const facts = MODULES[config.kubernetes.cni.plugin].facts(config);
  // Every plugin and mode pve-dualnet allows runs dual-stack (config/validate-ipv6.ts refuses the
  // one that cannot: Calico's IP-in-IP).
  return dualStackOf(config)?.kubernetes ? { ...facts, dualStack: true } : facts;
}

/** The facts, with the underlay MTU sized from the overlay MTU the plan settled on. */
export function planCni(facts: CniFacts, overlayMtu: number): CniPlan {
  return { ...facts, underlayMtu: overlayMtu + facts.overhead };
}
