/**
 * flannel v0.28.9's reading of net-conf.json, transcribed from its source (flannel-io/flannel at
 * tag v0.28.9), for checking the rendered file without flanneld:
 * - pkg/subnet/config.go: the `Config` struct's fields (EnableIPv4 defaults to true in ParseConfig)
 *   and CheckNetworkConfig's rules for each family: a network is required when the family is
 *   enabled; an IPv4 SubnetLen at most 30 and an IPv6 one at most 126; either at least 2 bits
 *   longer than its network ("network must be able to accommodate at least four subnets");
 * - pkg/backend/vxlan/vxlan.go: the vxlan backend's `VXLANConfig` (VNI, Port, MTU, GBP, Learning,
 *   DirectRouting) and pkg/backend/wireguard/wireguard.go's config; host-gw takes none.
 * Go's encoding/json matches keys case-insensitively and ignores unknown ones, so a misspelt key
 * would pass flanneld silently: here every key must be one of its fields, as written in its docs.
 */
import ipaddr from "ipaddr.js";

const CONFIG_KEYS = ["EnableIPv4", "EnableIPv6", "EnableNFTables", "Network", "IPv6Network", "SubnetMin", "SubnetMax", "IPv6SubnetMin", "IPv6SubnetMax", "SubnetLen", "IPv6SubnetLen", "Backend"];
const BACKEND_KEYS: Record<string, string[]> = {
  vxlan: ["Type", "VNI", "Port", "MTU", "GBP", "Learning", "DirectRouting"],
  wireguard: ["Type", "ListenPort", "ListenPortV6", "PSK", "PersistentKeepaliveInterval", "Mode", "MTU"],
  "host-gw": ["Type"],
};

/** What flanneld v0.28.9 would refuse or ignore in a net-conf.json. */
export function flannelConfigProblems(conf: Record<string, any>): string[] {
  const problems = Object.keys(conf).filter((k) => !CONFIG_KEYS.includes(k)).map((k) => `${k}: not a field of flannel's Config`);
  const backend = conf.Backend ?? {};
  const allowed = BACKEND_KEYS[backend.Type];
  if (!allowed) problems.push(`Backend.Type: ${JSON.stringify(backend.Type)} is not a backend flannel has`);
  else problems.push(...Object.keys(backend).filter((k) => !allowed.includes(k)).map((k) => `Backend.${k}: not a field of the ${backend.Type} backend`));
  const family = (enabled: boolean, networkKey: string, lenKey: string, kind: "ipv4" | "ipv6", maxLen: number) => {
    if (!enabled) return;
    const network = conf[networkKey];
    let prefix: number;
    try {
      const [ip, p] = ipaddr.parseCIDR(network);
      if (ip.kind() !== kind) throw new Error();
      prefix = p;
    } catch {
      problems.push(`${networkKey}: please define a correct ${networkKey} parameter in the flannel config`);
      return;
    }
    const len = conf[lenKey];
    if (len === undefined || len === 0) return;
    if (len > maxLen) problems.push(`${lenKey}: SubnetLen must be less than /${maxLen + 1}`);
    else if (len < prefix + 2) problems.push(`${lenKey}: network must be able to accommodate at least four subnets`);
  };
  family(conf.EnableIPv4 ?? true, "Network", "SubnetLen", "ipv4", 30);
  family(conf.EnableIPv6 ?? false, "IPv6Network", "IPv6SubnetLen", "ipv6", 126);
  return problems;
}

/**
 * The MTUs flanneld v0.28.9 derives from the backend's `MTU` (pkg/backend/vxlan/device.go: every
 * VXLAN device, `flannel.<VNI>` and `flannel-v6.<VNI>`, gets `MTU - 50`; vxlan_network.go MTU(),
 * FLANNEL_MTU in subnet.env and so every pod's MTU, is `MTU - encapOverhead`, 50).
 */
export function flannelVxlanMtus(backendMtu: number): { device: number; device6: number; pods: number } {
  return { device: backendMtu - 50, device6: backendMtu - 50, pods: backendMtu - 50 };
}
