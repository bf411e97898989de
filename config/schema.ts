/**
 * The cluster description: the one source of truth of pve-dualnet.
 *
 * This file is the shape (types, defaults, per-field ranges). Everything that
 * relates two fields (subnets, MTU chains, duplicates) lives in `validate.ts`,
 * and everything derived from the description lives in `plan.ts`.
 *
 * Every field carries a description that states its default: the
 * config reference (docs/config-reference.md) and `cluster.schema.json` are generated from them.
 */
import { z } from "zod";
import { interfacesFileCode } from "./text";

/** A message and its fix, kept beside the field they describe; config/load.ts splits them at FIX. */
export const FIX = "\u0000fix: ";
const say = (message: string, fix: string) => ({ error: `${message}${FIX}${fix}` });

/** A whole number in a range: any violation names the whole range. */
const intBetween = (min: number, max: number) => {
  const rule = say(`must be a whole number from ${min} to ${max}`, `use a value from ${min} to ${max}`);
  return z.number().int(rule).min(min, rule).max(max, rule);
};

/** A DNS label (RFC 1123) of at most `max` characters. */
const dnsLabel = (what: string, max = 63) =>
  z
    .string()
    .regex(
      new RegExp(`^[a-z0-9]([a-z0-9-]{0,${max - 2}}[a-z0-9])?$`),
      say(
        `must be ${what}: 1 to ${max} lower-case letters, digits or '-', starting and ending with a letter or digit`,
        `rename it, e.g. ${what.includes("cluster") ? "lab-k8s" : "master-1"}${max < 63 ? ` (at most ${max} characters)` : " (at most 63 characters, the DNS label limit)"}`,
      ),
    );

// ---------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------

/** A matcher of one format, with the message and fix every field of that format reports. */
const format = (pattern: RegExp, message: string, fix: string, max = 253) => {
  const rule = say(message, fix);
  return z.string().max(max, say(`${message}, at most ${max} characters`, fix)).regex(pattern, rule);
};

/** A login name as useradd(8) accepts it: lower-case letters, digits, '_' and '-', not starting with '-', at most 32. */
const userName = format(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a user name: lower-case letters, digits, '_' or '-', not starting with '-', at most 32 characters", "use e.g. ubuntu or root", 32);

/** A DNS name: labels of letters, digits and '-' (RFC 1123) separated by dots. */
const dnsName = format(
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
  "must be a DNS name: labels of letters, digits or '-' separated by dots",
  "write it like example.com",
);

/** A Proxmox storage id (proxmox-rs pve-api-types, VOLUME_ID: `[a-z][a-z0-9\-_.]*[a-z0-9]`, any case). */
const storageId = format(/^[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]$/, "must be a Proxmox storage id: letters, digits, '-', '_' or '.', starting with a letter", "use the id `pvesm status` shows, e.g. local-lvm", 64);

/** A container image reference with a tag or a digest. */
const imageReference = format(
  /^[\w.-]+(:\d+)?(\/[\w.-]+)+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
  "must be an image reference with a tag or digest",
  "write it like ghcr.io/flannel-io/flannel:v0.28.9",
  512,
);

/** One line of printable text (config/text.ts screens every value for control characters). */
const textLine = (max: number) => z.string().max(max, say(`must be at most ${max} characters`, `shorten it to ${max} characters`));

/** Terraform Cloud organization and workspace names: letters, digits, '_' and '-'. */
const tfcName = format(/^[A-Za-z0-9_-]+$/, "must be a name of letters, digits, '_' or '-'", "use the name as HCP Terraform shows it", 90);

/** A regular expression of one line, that compiles. */
const regexText = textLine(256).refine((pattern) => {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}, say("must be a valid regular expression", "write a pattern such as ^eth1$"));

/** A path on the machine running pve-dualnet: `~/...` or absolute, without `..` components. */
const localPath = format(/^(?!.*(?:^|\/)\.\.(?:\/|$))(?:~\/|\/).+$/, "must be a path starting with ~/ or /, without '..'", "write it like ~/.kube/lab.conf", 1024);

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' or blanks. */
export const interfaceName = z
  .string()
  .regex(/^(?!\.{1,2}$)[A-Za-z0-9_.-]{1,15}$/, say(
    "must be a Linux interface name: 1 to 15 letters, digits, '.', '-' or '_' (the kernel's IFNAMSIZ limit)",
    "use the name `ip link` shows, e.g. enp5s0",
  ));

/** Proxmox bridges are named vmbrN with N in 0..4094. */
export const bridgeName = z.string().regex(/^vmbr(0|[1-9][0-9]{0,3})$/, say("must be a Proxmox bridge name vmbrN with N from 0 to 4094", "name it vmbr0, vmbr1, ...")).refine((name) => Number(name.slice(4)) <= 4094, say("must be a Proxmox bridge name vmbrN with N from 0 to 4094", "name it vmbr0, vmbr1, ..."));

const ipv4 = z.ipv4(say("must be an IPv4 address", "write four numbers from 0 to 255 separated by dots, e.g. 192.168.0.2"));
const ipv4Cidr = z.cidrv4(say("must be an IPv4 network in CIDR form", "write the network address and the prefix length, e.g. 10.0.0.0/24"));
const ipv6 = z.ipv6(say("must be an IPv6 address", "write eight groups of hexadecimal digits separated by ':', '::' for a run of zero groups, without a zone, e.g. fd00:10::2"));
const ipv6Cidr = z.cidrv6(say("must be an IPv6 network in CIDR form", "write the network address and the prefix length, e.g. fd00:10::/64"));
/** An address of either family (DNS servers). */
const ipAny = z.union([ipv4, ipv6], say("must be an IPv4 or IPv6 address", "write e.g. 192.168.0.1 or fd00:10::1"));
/** A network of either family in CIDR form (firewall sources). */
const cidrAny = z.union([ipv4Cidr, ipv6Cidr], say("must be an IPv4 or IPv6 network in CIDR form", "write e.g. 192.168.0.0/24 or fd00:10::/64"));
/** An IPv6 address on an interface: a bare IP (prefix from its network's ipv6.cidr) or IP/prefix. */
const hostAddress6 = z
  .string()
  .max(49, say("must be an IPv6 address, optionally with a prefix length", "write it as fd00:10::2 or fd00:10::2/64"))
  .refine((text) => {
    const [ip, prefix, extra] = text.split("/");
    return extra === undefined && z.ipv6().safeParse(ip).success && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= 128));
  }, say("must be an IPv6 address, optionally with a prefix length", "write it as fd00:10::2 or fd00:10::2/64"));
/** An address on an interface: a bare IP (prefix from its network) or IP/prefix. */
const hostAddress = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, say("must be an IPv4 address, optionally with a prefix length", "write it as 192.168.0.2 or 192.168.0.2/24"));
/** One OpenSSH public key line: type, base64 body, optional comment. */
export const PUBLIC_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+=*( .*)?$/;

/** A file name on a Proxmox datastore: no path, nothing a shell, Terraform or a template reads. */
export const PLAIN_FILE_NAME = /^(?!\.\.?$)[\w.+-]+$/;

const macAddress = z
  .string()
  .regex(/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/, say("must be a MAC address", "write six hexadecimal pairs separated by ':', e.g. 02:00:00:00:01:0b"));

/** Underlay MTU of a physical network. Jumbo (> 1500) needs `jumboFrames: true`. */
const mtu = intBetween(1280, 9000);

export const NETWORK_ROLES = ["external", "internal"] as const;
export type NetworkRole = (typeof NETWORK_ROLES)[number];

// ---------------------------------------------------------------------------
// Physical networks
// ---------------------------------------------------------------------------

const physicalNetwork = (role: NetworkRole) =>
  z.strictObject({
    cidr: ipv4Cidr.describe(`Subnet of the ${role} network. Required.`),
    gateway: ipv4
      .optional()
      .describe(
        role === "external"
          ? "Default gateway of the external network; the only default route of hosts and VMs. Required."
          : "Not allowed: the internal network has no gateway (the single default route is external).",
      ),
    dns: z
      .array(ipAny)
      .default([])
      .describe("DNS servers handed to VMs through cloud-init, of either family (an IPv6 one needs networks.external.ipv6). Default: none."),
    searchDomain: dnsName.optional().describe("DNS search domain for VMs, a DNS name. Default: none."),
    mtu: mtu
      .default(1500)
      .describe(
        "Underlay MTU of this network, the one number every other MTU is derived from. Default: 1500. Values above 1500 need jumboFrames: true.",
      ),
    jumboFrames: z
      .boolean()
      .default(false)
      .describe(
        "Set only when every NIC, switch port and cable on this network carries jumbo frames; allows mtu up to 9000. Default: false.",
      ),
    ipv6: z
      .strictObject({
        cidr: ipv6Cidr.describe(`IPv6 subnet of the ${role} network: global unicast (2000::/3) or unique local (fc00::/7), a prefix from /64 to /120. Required.`),
        gateway: ipv6
          .optional()
          .describe(
            role === "external"
              ? "IPv6 default gateway of the external network, inside ipv6.cidr: the only IPv6 default route of hosts and VMs. Required."
              : "Not allowed: the internal network has no gateway (the single IPv6 default route is external).",
          ),
      })
      .optional()
      .describe(
        role === "external"
          ? "IPv6 on the external network (dual-stack; IPv4 stays the primary family): every VM then needs ip.external6. Default: none (IPv4 only)."
          : "IPv6 on the internal network, which makes Kubernetes dual-stack (node-ip pairs, kubernetes.podCidr6 and serviceCidr6); needs networks.external.ipv6 (the IPv6 default route). Every VM then needs ip.internal6. Default: none (IPv4 only).",
      ),
  });

// ---------------------------------------------------------------------------
// Proxmox host interfaces (one /etc/network/interfaces per Proxmox node)
// ---------------------------------------------------------------------------

const addressing = {
  address: hostAddress
    .optional()
    .describe(
      "Host address. A bare IP takes the prefix of `network`; without `network` give IP/prefix. Default: none (inet manual).",
    ),
  gateway: ipv4
    .optional()
    .describe(
      "Default gateway of the host on this interface. At most one per host; never on the internal network. Default: the external bridge takes networks.external.gateway when no interface names one.",
    ),
  address6: hostAddress6
    .optional()
    .describe(
      "IPv6 host address (an inet6 stanza). A bare IP takes the prefix of `network`'s ipv6.cidr; without `network` give IP/prefix. Default: none.",
    ),
  gateway6: ipv6
    .optional()
    .describe(
      "IPv6 default gateway of the host on this interface. At most one per host; never on the internal network. Default: the external bridge takes networks.external.ipv6.gateway when it has an address6 and no interface names one.",
    ),
  mtu: mtu
    .optional()
    .describe("MTU override, checked against the chain (a bridge never above its ports). Default: derived from the networks carried."),
  comment: textLine(200)
    .superRefine((comment, ctx) => {
      const code = interfacesFileCode(`# ${comment}`);
      if (code) ctx.addIssue({ code: "custom", message: `holds ${code}${FIX}remove it: the comment is written into /etc/network/interfaces` });
    })
    .optional()
    .describe("Comment written above the stanza: one line of printable text, at most 200 characters, without ${, <% or a trailing backslash (ifupdown2 reads those as code). Default: none."),
};

const routing = {
  ipForward: z
    .boolean()
    .default(false)
    .describe("Enable IPv4 forwarding when the interface comes up (routed layout). Default: false."),
  proxyArp: z
    .boolean()
    .default(false)
    .describe("Enable proxy ARP on this interface (routed layout). Default: false."),
};

export const BOND_MODES = [
  "balance-rr",
  "active-backup",
  "balance-xor",
  "broadcast",
  "802.3ad",
  "balance-tlb",
  "balance-alb",
] as const;
export const XMIT_HASH_POLICIES = ["layer2", "layer2+3", "layer3+4", "encap2+3", "encap3+4"] as const;

const nicInterface = z.strictObject({
  kind: z.literal("nic").describe("Interface kind: nic, bond, vlan or bridge."),
  name: interfaceName.describe("Kernel name of the physical NIC, e.g. enp4s0, or nic0 where Proxmox VE 9's pve-network-interface-pinning named it. Required."),
  mac: macAddress
    .optional()
    .describe(
      "The NIC's permanent MAC address (ip link: permaddr, else link/ether). The host apply then checks, before it changes anything, that `name` is the NIC with this address, and refuses when names moved (a new kernel, firmware or udev rule; NIC pinning). Default: not checked.",
    ),
  ...addressing,
  ...routing,
});

const bondInterface = z.strictObject({
  kind: z.literal("bond").describe("Interface kind: nic, bond, vlan or bridge."),
  name: interfaceName.describe("Bond name, e.g. bond0. Required."),
  slaves: z.array(interfaceName).min(1).describe("Member NICs. Required (at least one)."),
  mode: z.enum(BOND_MODES).default("active-backup").describe("Bonding mode (all seven Linux modes). Default: active-backup."),
  miimon: intBetween(0, 255).default(100).describe("MII link monitoring interval in ms. Default: 100."),
  xmitHashPolicy: z
    .enum(XMIT_HASH_POLICIES)
    .optional()
    .describe("Transmit hash policy; only for balance-xor and 802.3ad. Default: kernel default (layer2)."),
  lacpRate: z.enum(["slow", "fast"]).optional().describe("LACPDU rate; only for 802.3ad. Default: kernel default (slow)."),
  primary: interfaceName.optional().describe("Preferred slave; only for active-backup. Default: none."),
  clusterNetwork: z
    .boolean()
    .default(false)
    .describe("This bond carries the Proxmox cluster (corosync) network; Proxmox supports only active-backup there. Default: false."),
  network: z.enum(NETWORK_ROLES).optional().describe("Network this bond's address belongs to. Default: none."),
  ...addressing,
});

const vlanInterface = z.strictObject({
  kind: z.literal("vlan").describe("Interface kind: nic, bond, vlan or bridge."),
  name: interfaceName.describe("VLAN interface name: `<raw>.<id>` (e.g. enp5s0.100) or any name with rawDevice and id. Required."),
  rawDevice: interfaceName.optional().describe("Parent interface. Default: the part of `name` before the dot."),
  id: z.number().int(say("must be a whole number", "write the VLAN id, 1 to 4094")).optional().describe("VLAN id, 1-4094. Default: the part of `name` after the dot."),
  network: z.enum(NETWORK_ROLES).optional().describe("Network this VLAN's address belongs to. Default: none."),
  ...addressing,
});

const bridgeInterface = z.strictObject({
  kind: z.literal("bridge").describe("Interface kind: nic, bond, vlan or bridge."),
  name: bridgeName.describe("Bridge name vmbrN. Required."),
  network: z
    .enum(NETWORK_ROLES)
    .optional()
    .describe("Which network the bridge serves: VMs' first NIC joins the external bridge, the second the internal one. Default: none."),
  ports: z
    .array(interfaceName)
    .default([])
    .describe("Bridge ports (NICs, bonds or VLAN interfaces). Default: none (bridge-ports none, for routed/NAT)."),
  stp: z.boolean().default(false).describe("Spanning tree. Default: false (single-bridge hosts; turn on with LACP/VLAN trunks that can loop)."),
  forwardDelay: intBetween(0, 30).default(0).describe("bridge-fd in seconds. Default: 0."),
  vlanAware: z.boolean().default(false).describe("VLAN-aware bridge (bridge-vlan-aware yes). Default: false."),
  vids: z
    .string()
    .regex(/^\d+(-\d+)?( \d+(-\d+)?)*$/, say("must be VLAN ids or ranges separated by spaces", "write them like '2-4094' or '10 20 30-40'"))
    .optional()
    .describe("VLANs allowed on a VLAN-aware bridge. Default: 2-4094 when vlanAware."),
  masquerade: z
    .strictObject({
      outInterface: interfaceName.describe("Uplink the traffic leaves through. Required."),
      sourceCidr: ipv4Cidr.optional().describe("Source subnet to masquerade. Default: the bridge's subnet."),
    })
    .optional()
    .describe("NAT layout: masquerade this bridge's subnet through an uplink (rules added on post-up, removed on post-down). Default: off."),
  ...addressing,
  ...routing,
});

export const hostInterface = z.discriminatedUnion("kind", [
  nicInterface,
  bondInterface,
  vlanInterface,
  bridgeInterface,
]);

const proxmoxNode = z.strictObject({
  name: dnsLabel("a Proxmox node name").describe("Proxmox node name as in the cluster (pvecm nodes). Required."),
  ssh: z
    .strictObject({
      host: ipv4.optional().describe("Address used for SSH. Default: the node's external bridge address."),
      user: userName.default("root").describe("SSH user (a login name). Default: root."),
      port: intBetween(1, 65535).default(22).describe("SSH port. Default: 22."),
    })
    .prefault({})
    .describe("How Terraform reaches the node over SSH. Credentials never go here: use the SSH agent or the ssh_private_key variable."),
  interfaces: z.array(hostInterface).min(1).describe("The node's /etc/network/interfaces, one entry per stanza. Required."),
});

// ---------------------------------------------------------------------------
// sysctl
// ---------------------------------------------------------------------------

const rpFilter = intBetween(0, 2);
const hostSysctl = z.strictObject({
  ipForward: z.boolean().default(true).describe("net.ipv4.ip_forward. Default: true (bridged and overlay traffic is forwarded)."),
  rpFilter: rpFilter
    .default(2)
    .describe("net.ipv4.conf.{all,default}.rp_filter: 0 off, 1 strict, 2 loose. Default: 2 (asymmetric paths across two bridges)."),
  bridgeNfCallIptables: z
    .boolean()
    .default(true)
    .describe("net.bridge.bridge-nf-call-iptables (loads br_netfilter). Default: true."),
});

const tuning = z.strictObject({
  somaxconn: intBetween(128, 65535).default(32768).describe("net.core.somaxconn. Default: 32768."),
  netdevMaxBacklog: intBetween(1000, 1_000_000).default(16384).describe("net.core.netdev_max_backlog. Default: 16384."),
  tcpMaxSynBacklog: intBetween(128, 1_000_000).default(8096).describe("net.ipv4.tcp_max_syn_backlog. Default: 8096."),
  tcpTwReuse: intBetween(0, 2).default(1).describe("net.ipv4.tcp_tw_reuse (0, 1, 2). Default: 1."),
  tcpFinTimeout: intBetween(1, 120).default(15).describe("net.ipv4.tcp_fin_timeout in seconds. Default: 15."),
});

const sysctl = z.strictObject({
  host: hostSysctl.prefault({}).describe("Proxmox host: /etc/sysctl.d/99-proxmox-network.conf."),
  node: hostSysctl.prefault({}).describe("Kubernetes node VMs: /etc/sysctl.d/99-k8s.conf."),
  disableIpv6: z
    .boolean()
    .default(false)
    .describe("Write /etc/sysctl.d/disable-ipv6.conf on hosts and nodes. Default: false (Proxmox recommends keeping IPv6)."),
  tuning: tuning
    .optional()
    .describe("Kernel network tuning for busy clusters, written as 99-network-tuning.conf. Default: off; `{}` enables the defaults."),
});

// ---------------------------------------------------------------------------
// Kubernetes node VMs
// ---------------------------------------------------------------------------

const vmCpu = z.strictObject({
  cores: intBetween(1, 256).default(4).describe("Cores per socket. Default: 4."),
  sockets: intBetween(1, 8).default(1).describe("Sockets. Default: 1."),
  type: format(/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/, "must be a QEMU CPU type: letters, digits, '_', '.', '+' or '-'", "use e.g. x86-64-v2-AES or host", 64)
    .default("x86-64-v2-AES")
    .describe("QEMU CPU type. Default: x86-64-v2-AES (Proxmox default, migratable)."),
});

const vmDisk = z.strictObject({
  datastore: storageId.default("local-lvm").describe("Datastore of the boot disk. Default: local-lvm."),
  size: intBetween(1, 65536).default(40).describe("Boot disk size in GiB. Default: 40."),
  interface: z
    .string()
    .regex(/^(scsi([0-9]|[1-2][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5])$/, say("must be scsiN (0-30), virtioN (0-15) or sataN (0-5)", "use e.g. scsi0"))
    .default("scsi0")
    .describe("Disk bus and slot. Default: scsi0."),
  iothread: z.boolean().default(true).describe("Dedicated IO thread (scsi/virtio only). Default: true."),
  discard: z.boolean().default(true).describe("Pass discard/TRIM to thin storage. Default: true."),
  ssd: z.boolean().default(true).describe("Present the disk as SSD (not for virtio). Default: true."),
});

const vmSource = z.union([
  z.strictObject({
    clone: z.strictObject({
      vmId: intBetween(100, 999_999_999).describe("VM id of the template to clone. Required."),
      node: dnsLabel("a Proxmox node name").optional().describe("Node holding the template. Default: the target node."),
      full: z.boolean().default(true).describe("Full clone (independent of the template). Default: true."),
    }).describe("Clone a template VM."),
  }),
  z.strictObject({
    image: z.strictObject({
      url: z
        .url({ protocol: /^https?$/, hostname: z.regexes.hostname, ...say("must be an http or https URL", "write the full address with its scheme, e.g. https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img") })
        .max(2048, say("must be at most 2048 characters", "use a shorter address"))
        .describe("Cloud image to download onto each Proxmox node, e.g. an Ubuntu cloud image. Required."),
      datastore: storageId.default("local").describe("Datastore for the downloaded image (content type iso/import). Default: local."),
      fileName: z
        .string()
        .regex(PLAIN_FILE_NAME, say("must be a plain file name of letters, digits, '.', '_', '+' or '-'", "use e.g. noble.qcow2"))
        .optional()
        .describe("File name on the datastore, ending in .qcow2, .raw or .vmdk (the extensions Proxmox imports). Default: the URL's last path segment."),
      checksum: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, say("must be a sha256 checksum: 64 hexadecimal digits", "copy it from the image's SHA256SUMS file"))
        .optional()
        .describe("sha256 checksum of the image, verified by the Proxmox node after the download. Default: not checked."),
    }).describe("Have each Proxmox node download a cloud image (Proxmox VE 8.4 or later) and import it as the boot disk."),
  }),
]);

const cloudInit = z.strictObject({
  user: userName.default("ubuntu").describe("Default user created by cloud-init (a login name). Default: ubuntu."),
  sshKeys: z
    .array(z.string().regex(PUBLIC_KEY, say("must be an OpenSSH public key line", "paste the content of a .pub file, e.g. 'ssh-ed25519 AAAA... user@host', or use sshKeyFiles")))
    .default([])
    .describe("SSH public keys for that user, inline (public keys only). Default: none."),
  sshKeyFiles: z
    .array(textLine(1024).min(1))
    .default([])
    .describe("Files holding SSH public keys (one per line, e.g. ~/.ssh/id_ed25519.pub), relative to the description's directory; PVE_DUALNET_SSH_PUBLIC_KEYS adds more. Default: none."),
  datastore: storageId.default("local-lvm").describe("Datastore of the cloud-init drive. Default: local-lvm."),
  upgrade: z
    .boolean()
    .default(false)
    .describe(
      "Upgrade every package at the VM's first boot (Proxmox's ciupgrade, which defaults to on when unset: minutes of the first boot, and package versions nobody pinned). Default: false: the node setup installs what it needs, pinned.",
    ),
  networkData: z
    .strictObject({
      enabled: z.boolean().default(false).describe("Upload a network-data snippet that pins NIC names and MTUs by MAC. Default: false."),
      interfaceNames: z
        .tuple([interfaceName, interfaceName])
        .default(["eth0", "eth1"])
        .describe("Stable guest names of the external and internal NIC. Default: [eth0, eth1]."),
      datastore: storageId.default("local").describe("Datastore with the 'snippets' content type. Default: local."),
    })
    .prefault({})
    .describe("Cloud-init network-data snippet."),
});

/**
 * A QEMU machine type as qemu-server and bpg/proxmox accept it (bpg v0.111.1,
 * proxmoxtf/resource/vm/validators.go; qemu-server Machine.pm: at most 40 characters).
 */
const machineType = format(
  /^(pc|pc(-i440fx)?-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?|q35(,viommu=(intel|virtio))?|pc-q35-\d+(\.\d+)+(\+pve\d+)?(\.pxe)?)$/,
  "must be a QEMU machine type: pc, q35, or a pinned version such as pc-i440fx-10.0 or pc-q35-10.0",
  "write pc-i440fx-10.0 (the default on Proxmox VE 9), or pc for Proxmox's newest",
  40,
);

const vmSettings = {
  cpu: vmCpu.prefault({}).describe("CPU layout; vCPUs = sockets x cores, and each NIC gets that many queues (max 64)."),
  machine: machineType
    .optional()
    .describe(
      "QEMU machine type. Default: on Proxmox VE 9, pc-i440fx-10.0: machine versions 10.2 and 11.0 turn on virtio's host UDP-tunnel offload, which can break VXLAN leaving the host over a physical NIC (Proxmox bug #7627), and 10.0 is on every Proxmox VE 9 host; on 8, Proxmox's default (pc, the newest).",
    ),
  memory: intBetween(512, 4_194_304).default(8192).describe("Memory in MiB. Default: 8192."),
  disk: vmDisk.prefault({}).describe("Boot disk."),
  source: vmSource.optional().describe("Clone a template VM (`clone`) or import a cloud image (`image`). Required unless every VM sets it."),
  agent: z.boolean().default(true).describe("QEMU guest agent. Default: true."),
  onBoot: z.boolean().default(true).describe("Start with the Proxmox node. Default: true."),
  protection: z.boolean().default(false).describe("Proxmox protection flag (blocks removal). Default: false."),
  tags: z.array(z.string().regex(/^[a-z0-9_+.-]+$/, say("must be a Proxmox tag of lower-case letters, digits, '_', '+', '.' or '-'", "use e.g. k8s"))).default(["k8s"]).describe("Proxmox tags; the role is added. Default: [k8s]."),
  cloudInit: cloudInit.prefault({}).describe("Cloud-init user and network settings."),
};

const vmDefaults = z.strictObject(vmSettings);

/** Per-VM fields: identity plus any of the defaults, overriding them. */
/**
 * Host names that mean something else to Ansible: its implicit localhost (a `delegate_to:
 * localhost` task, such as writing the kubeconfig on this machine, would run on that VM), its
 * built-in groups, and the inventory's own groups (a host named like a group is matched by the
 * group's patterns).
 */
export const RESERVED_INVENTORY_NAMES: ReadonlySet<string> = new Set(["localhost", "all", "ungrouped", "masters", "workers", "k8s_cluster"]);

const vm = z.strictObject({
  name: dnsLabel("a VM and Kubernetes node name")
    .refine((name) => !RESERVED_INVENTORY_NAMES.has(name), say("is a name Ansible reads as its own (localhost, all, ungrouped, or a group of the inventory: masters, workers, k8s_cluster)", "rename the VM, e.g. master-1"))
    .describe("VM and Kubernetes node name; not localhost, all, ungrouped, masters, workers or k8s_cluster (Ansible's own names). Required."),
  id: intBetween(100, 999_999_999).describe("Proxmox VM id (100-999999999). Required."),
  role: z.enum(["control-plane", "worker"]).describe("Kubernetes role. Required."),
  node: dnsLabel("a Proxmox node name").optional().describe("Proxmox node (checked: control planes sharing a node while another has none are a warning, an error with proxmox.ha). Default: placed in list order (docs/vms.md): a control plane on the node with the fewest control planes, a worker on the node with the fewest VMs; a VM added at the end moves no other."),
  ip: z
    .strictObject({
      external: ipv4.describe("Address on the external network (vmbr0). Required."),
      internal: ipv4.describe("Address on the internal network (vmbr1). Required."),
      external6: ipv6.optional().describe("IPv6 address on the external network, inside networks.external.ipv6.cidr. Required exactly when the external network has IPv6; default: none."),
      internal6: ipv6.optional().describe("IPv6 address on the internal network, inside networks.internal.ipv6.cidr; the kubelet's second node-ip. Required exactly when the internal network has IPv6; default: none."),
    })
    .describe("The VM's addresses: IPv4 on both networks, IPv6 on each network that has it. Required."),
  mac: z
    .strictObject({
      external: macAddress.optional().describe("Default: derived from the VM id and NIC index."),
      internal: macAddress.optional().describe("Default: derived from the VM id and NIC index."),
    })
    .optional()
    .describe("MAC overrides. Default: deterministic, locally administered MACs."),
  mtu: z
    .strictObject({
      external: z.number().int(say("must be a whole number", "write an MTU such as 1500")).optional().describe("Default: inherit the bridge MTU."),
      internal: z.number().int(say("must be a whole number", "write an MTU such as 1500")).optional().describe("Default: inherit the bridge MTU."),
    })
    .optional()
    .describe("Guest NIC MTU overrides, never above the bridge. Default: the bridge MTU."),
  description: textLine(8192).optional().describe("Proxmox description (notes), printable text of at most 8192 characters; the only value that may span lines. Default: generated."),
  cpu: vmCpu.partial().optional().describe("Overrides vmDefaults.cpu field by field."),
  memory: vmSettings.memory.unwrap().optional().describe("Overrides vmDefaults.memory."),
  disk: vmDisk.partial().optional().describe("Overrides vmDefaults.disk field by field."),
  source: vmSource.optional().describe("Overrides vmDefaults.source."),
  agent: z.boolean().optional().describe("Overrides vmDefaults.agent."),
  onBoot: z.boolean().optional().describe("Overrides vmDefaults.onBoot."),
  protection: z.boolean().optional().describe("Overrides vmDefaults.protection."),
  tags: vmSettings.tags.unwrap().optional().describe("Overrides vmDefaults.tags."),
  machine: machineType.optional().describe("Overrides vmDefaults.machine."),
});

// ---------------------------------------------------------------------------
// Kubernetes and CNI
// ---------------------------------------------------------------------------

const flannel = z.strictObject({
  backend: z
    .enum(["vxlan", "host-gw", "wireguard"])
    .default("vxlan")
    .describe("Flannel backend. Default: vxlan."),
  vni: intBetween(1, 16_777_215).default(1).describe("VXLAN VNI. Default: 1."),
  port: intBetween(1, 65535).default(8472).describe("VXLAN UDP port. Default: 8472 (Linux kernel default)."),
  directRouting: z.boolean().default(false).describe("vxlan: route pods directly between nodes on the same subnet, like host-gw (all nodes on one L2 segment; the firewall admits the pod network). Default: false."),
  interface: z
    .union([
      z.strictObject({ name: interfaceName.describe("Interface name inside the guest (--iface).") }),
      z.strictObject({ regex: regexText.min(1).describe("Interface name regex (--iface-regex).") }),
      z.strictObject({ canReach: ipv4.describe("Pick the interface that routes to this address (--iface-can-reach).") }),
    ])
    .optional()
    .describe(
      "How flanneld picks the internal NIC. Default: the stable internal name when the network-data snippet pins it, otherwise can-reach of the Proxmox host's internal address.",
    ),
  image: imageReference.default("ghcr.io/flannel-io/flannel:v0.28.9").describe("flanneld image. Default: ghcr.io/flannel-io/flannel:v0.28.9."),
  cniPluginImage: imageReference
    .default("ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3")
    .describe("CNI plugin image. Default: ghcr.io/flannel-io/flannel-cni-plugin:v1.9.1-flannel3."),
});

const calico = z.strictObject({
  version: z
    .string()
    .regex(/^v?\d+\.\d+\.\d+$/, say("must be a Calico version", "write it like v3.33.0"))
    .default("v3.33.0")
    .describe("Calico version the installed Tigera operator deploys; checked against the node sysctl (Felix before v3.12 refuses rp_filter=2). Default: v3.33.0 (docs/versions.md)."),
  encapsulation: z
    .enum(["VXLAN", "IPIP", "None", "VXLANCrossSubnet", "IPIPCrossSubnet"])
    .default("VXLAN")
    .describe("IP pool encapsulation. Default: VXLAN."),
  blockSize: intBetween(20, 32).default(26).describe("IPAM block size. Default: 26."),
  blockSize6: intBetween(116, 128).optional().describe("IPAM block size of the IPv6 pool (dual-stack). Default: 122 (Calico's)."),
  natOutgoing: z.boolean().default(true).describe("NAT pod traffic leaving the pool, to the nodes' addresses too (without it pods reach the API and the kubelets with their own addresses, and the firewall admits the pod network there). Default: true."),
  autodetection: z
    .union([
      z.strictObject({ cidrs: z.array(ipv4Cidr).min(1).describe("Use the address inside these subnets.") }),
      z.strictObject({ interface: regexText.min(1).describe("Use the address of the interface matching this regex.") }),
      z.strictObject({ canReach: ipv4.describe("Use the address of the interface that routes to this address.") }),
    ])
    .optional()
    .describe("Node address autodetection. Default: cidrs = [internal network]."),
});

/**
 * Cilium, installed as its Helm chart renders it at the pinned version (install/kubernetes/cilium
 * of cilium/cilium, the chart cilium-1.20.0.tgz of cilium/charts; constructs/cilium.ts).
 */
export const CILIUM_VERSION = "v1.20.0";

const cilium = z.strictObject({
  image: imageReference
    .default(`quay.io/cilium/cilium:${CILIUM_VERSION}`)
    .describe(`cilium-agent image, the chart's version (values.yaml image). Default: quay.io/cilium/cilium:${CILIUM_VERSION}.`),
  operatorImage: imageReference
    .default(`quay.io/cilium/operator-generic:${CILIUM_VERSION}`)
    .describe(`cilium-operator image (the generic operator, the chart's for a cluster outside a cloud). Default: quay.io/cilium/operator-generic:${CILIUM_VERSION}.`),
  routingMode: z
    .enum(["tunnel", "native"])
    .default("tunnel")
    .describe("tunnel: pods between nodes are encapsulated (tunnelProtocol). native: routed unencapsulated with autoDirectNodeRoutes, which needs every node on one L2 segment (the firewall admits the pod network). Default: tunnel."),
  tunnelProtocol: z
    .enum(["vxlan", "geneve"])
    .default("vxlan")
    .describe("Encapsulation in tunnel mode: vxlan (UDP 8472) or geneve (UDP 6081); both cost 50 bytes of the MTU. Default: vxlan."),
  kubeProxyReplacement: z
    .boolean()
    .default(false)
    .describe("Cilium replaces kube-proxy: kubeadm skips its kube-proxy addon and Cilium reaches the API at the plan's endpoint (the VIP, or the only control plane's internal address). NodePorts are then served only on devices. Default: false."),
  hubble: z.boolean().default(false).describe("Hubble flow observability in every agent, its server on TCP 4244 (opened to the internal network), with the chart's TLS; Hubble Relay and UI stay off (the chart's defaults). Default: false (the chart's is true)."),
  devices: z
    .array(interfaceName.describe("Interface name inside the guest."))
    .min(1)
    .max(1)
    .optional()
    .describe("The NICs Cilium attaches to (its devices: NodePort, masquerading, host firewall): only the internal NIC's pinned name. Default: the internal NIC's name when the network-data snippet pins guest names, otherwise Cilium's own detection. The node IP is the kubelet's internal node-ip either way."),
});

/** Destination ports and ranges, as the Proxmox firewall takes them: '80,443', '8000:8100'. */
const portList = z
  .string()
  .regex(/^\d{1,5}(:\d{1,5})?(,\d{1,5}(:\d{1,5})?)*$/, say("must be ports or port ranges", "write them like '80,443' or '8000:8100'"))
  .superRefine((ports, ctx) => {
    for (const part of ports.split(",")) {
      const [low, high] = part.split(":").map(Number) as [number, number | undefined];
      const problem = [low, high ?? low].some((p) => p < 1 || p > 65535)
        ? `${part} is outside 1-65535`
        : high !== undefined && high <= low
          ? `${part} is not an ascending range`
          : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: `${problem}${FIX}write ports from 1 to 65535, and ranges low:high with low < high (a single port without ':')` });
    }
  });

const kubernetes = z.strictObject({
  version: z
    .string()
    .regex(/^v?1\.\d+\.\d+$/, say("must be a Kubernetes version", "write it like v1.37.1"))
    .default("v1.37.1")
    .describe("Kubernetes version for kubeadm (kubeadm.k8s.io/v1beta4, the only config API 1.37 accepts; 1.31 or later). Default: v1.37.1 (docs/versions.md)."),
  podCidr: ipv4Cidr.default("10.244.0.0/16").describe("Pod network (--cluster-cidr). Default: 10.244.0.0/16."),
  serviceCidr: ipv4Cidr.default("10.96.0.0/12").describe("Service network (--service-cluster-ip-range). Default: 10.96.0.0/12."),
  nodeCidrMaskSize: intBetween(16, 28).default(24).describe("Per-node pod subnet size (--node-cidr-mask-size). Default: 24."),
  podCidr6: ipv6Cidr
    .optional()
    .describe("IPv6 pod network, the second of --cluster-cidr (dual-stack: only with networks.internal.ipv6); at most 16 bits shorter than nodeCidrMaskSize6 (kube-controller-manager's limit). Default with networks.internal.ipv6: fd00:10:244::/56."),
  serviceCidr6: ipv6Cidr
    .optional()
    .describe("IPv6 service network, the second of --service-cluster-ip-range (dual-stack: only with networks.internal.ipv6); /108 or longer (kube-apiserver's limit). Default with networks.internal.ipv6: fd00:10:96::/112."),
  nodeCidrMaskSize6: intBetween(64, 120)
    .optional()
    .describe("Per-node IPv6 pod subnet size (--node-cidr-mask-size-ipv6; dual-stack only). Default: 64 (kube-controller-manager's)."),
  apiServer: z
    .strictObject({
      vip: ipv4
        .optional()
        .describe(
          "Virtual IP of the API server on the internal network, held by one control plane at a time (kube-vip, ARP on the internal NIC); the endpoint every node and certificate uses. Default: with two or more control planes, the internal network's tenth address (10.0.0.10 in 10.0.0.0/24); with one, none (its own address).",
        ),
      port: intBetween(1, 65535).default(6443).describe("API server port. Default: 6443."),
      kubeVipImage: imageReference
        .default("ghcr.io/kube-vip/kube-vip:v1.2.4")
        .describe("kube-vip image (static pod on every control plane when there is a VIP or a kubernetes.loadBalancer pool). Default: ghcr.io/kube-vip/kube-vip:v1.2.4."),
      externalAccess: z
        .strictObject({
          enabled: z
            .boolean()
            .default(true)
            .describe("Allow kubectl from the external network, where the machine running Terraform and Ansible usually is. Default: true."),
          names: z
            .array(z.string().regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/, say("must be a DNS name of labels of 1 to 63 letters, digits or '-'", "write it like k8s.example.com")))
            .default([])
            .describe("DNS names for the API server on the external network, added to its certificate. Default: none."),
        })
        .prefault({})
        .describe("kubectl from the external (management) network: the API port is opened there, and the certificate covers the control planes' external addresses and these names."),
    })
    .prefault({})
    .describe("The API server endpoint: a virtual IP on the internal network for HA control planes."),
  loadBalancer: z
    .strictObject({
      addresses: z
        .array(
          format(
            /^\d{1,3}(\.\d{1,3}){3}(-\d{1,3}(\.\d{1,3}){3}|\/\d{1,2})?$/,
            "must be an IPv4 address, a range first-last or a network in CIDR form",
            "write it like 192.168.0.200-192.168.0.220, 192.168.0.224/28 or 192.168.0.230",
            31,
          ),
        )
        .min(1, say("must list at least one address", "write the pool, e.g. [192.168.0.200-192.168.0.220]"))
        .max(16, say("must have at most 16 entries", "join neighbouring entries into ranges"))
        .describe("Addresses of the external network LoadBalancer services take, each an address, a range first-last (both included) or a network in CIDR form (every address of it); free addresses of the external network, none of a host, VM or the gateway. Required."),
      ports: z
        .array(
          z.strictObject({
            protocol: z.enum(["tcp", "udp"]).describe("tcp or udp. Required."),
            ports: portList.describe("Destination ports from 1 to 65535, e.g. '80,443' or '8000:8100' (ascending). Required."),
            from: z
              .union([z.literal("external"), ipv4Cidr])
              .default("external")
              .describe("Source: external (the external network), or a network in CIDR form, e.g. 0.0.0.0/0 for anywhere through the gateway. Default: external."),
          }),
        )
        .default([])
        .describe("The services' ports the VM firewall admits to the pool's addresses, on the external NIC of the control planes (where kube-vip holds them). Default: none (a warning while firewall.enabled)."),
      cloudProviderImage: imageReference
        .default("ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12")
        .describe("kube-vip-cloud-provider image, the controller that gives each LoadBalancer service an address of the pool (the cni stack runs it). Default: ghcr.io/kube-vip/kube-vip-cloud-provider:v0.0.12."),
    })
    .optional()
    .describe(
      "LoadBalancer services on the external network (docs/load-balancer.md): kube-vip on the control planes announces each service's address by ARP on the external NIC, and kube-vip-cloud-provider hands the addresses out of this pool. Default: off (a LoadBalancer service stays pending).",
    ),
  networkPolicy: z
    .boolean()
    .default(false)
    .describe("The cluster must enforce NetworkPolicy. Flannel cannot; choose Calico or Cilium. Default: false."),
  cni: z
    .strictObject({
      plugin: z.enum(["flannel", "calico", "cilium"]).default("flannel").describe("CNI plugin. Default: flannel."),
      overlayMtu: z.number().int(say("must be a whole number", "write an MTU such as 1450")).optional().describe("Overlay MTU override, checked against the plan. Default: internal NIC MTU minus encapsulation overhead."),
      flannel: flannel.prefault({}).describe("Flannel settings (plugin: flannel)."),
      calico: calico.prefault({}).describe("Calico settings (plugin: calico; needs the Tigera operator on the cluster)."),
      cilium: cilium.prefault({}).describe(`Cilium ${CILIUM_VERSION} settings (plugin: cilium).`),
    })
    .prefault({})
    .describe("The CNI and its overlay."),
  kubeconfig: z
    .strictObject({
      path: localPath
        .optional()
        .describe("kubeconfig the node setup writes and the cni stack reads (TF_VAR_kubeconfig_path overrides). Default: ~/.kube/<cluster name>.conf, so ~/.kube/config is never overwritten."),
      context: textLine(253).optional().describe("kubeconfig context. Default: the current context."),
    })
    .prefault({})
    .describe("How the cni stack reaches the new cluster."),
});

// ---------------------------------------------------------------------------
// The whole cluster
// ---------------------------------------------------------------------------

export const clusterSchema = z.strictObject({
  name: dnsLabel("a cluster name", 32)
    .default("pve-dualnet")
    .describe("Cluster name, used in stack names, tags, the kubeadm config and the firewall security groups; unique within a Proxmox datacenter. Default: pve-dualnet."),
  proxmox: z
    .strictObject({
    endpoint: z
      .url({ protocol: /^https$/, hostname: z.regexes.hostname, ...say("must be an https URL", "write the address of the Proxmox API, e.g. https://192.168.0.2:8006/") })
      .superRefine((endpoint, ctx) => {
        if (!URL.canParse(endpoint)) return; // reported by .url()
        const url = new URL(endpoint);
        const problem =
          url.username || url.password
            ? "holds a user or password: credentials come from PROXMOX_VE_API_TOKEN, never the URL"
            : url.pathname !== "/" || url.search || url.hash || /[?#]/.test(endpoint)
              ? "has a path, query or fragment: the provider adds /api2/json itself"
              : undefined;
        if (problem) ctx.addIssue({ code: "custom", message: `${problem}${FIX}write only https://host:port/, e.g. https://${url.host}/` });
      })
      .describe("Proxmox API endpoint https://host[:port]/, e.g. https://192.168.0.2:8006/ (no path, no user). Required."),
    insecure: z.boolean().default(false).describe("Skip TLS verification (self-signed certificates). Default: false."),
    version: z
      .union([z.literal(9), z.literal(8)], say("must be 9 or 8", "write the major version the nodes run (pveversion), 9 or 8"))
      .default(9)
      .describe("Proxmox VE major version of the nodes: 9 (Debian 13) or 8 (Debian 12; 8.4 or later for cloud images). It selects the VMs' default machine type. Default: 9."),
    firewallBackend: z
      .enum(["iptables", "nftables"])
      .default("iptables")
      .describe("The Proxmox firewall's backend (Datacenter > Firewall > Options > nftables): iptables (pve-firewall) or nftables (proxmox-firewall, which makes no fwbr bridges). Default: iptables."),
    nodes: z.array(proxmoxNode).min(1).describe("The Proxmox nodes and their host networks. Required (at least one)."),
    apply: z
      .strictObject({
        confirmTimeout: intBetween(20, 3600)
          .default(60)
          .describe("Seconds from switching a host's network until the previous file is restored unless Terraform confirms the change over a new SSH connection. Default: 60."),
        verifyTimeout: intBetween(5, 3000)
          .default(30)
          .describe("Seconds a host's new network gets to pass its checks (links, addresses, MTUs, the default route, gateway and peers) before it is rolled back. Default: 30."),
      })
      .prefault({})
      .describe("How host network changes are applied (commit-confirmed, with automatic rollback)."),
    ha: z
      .strictObject({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Make every node VM a Proxmox HA resource (started, restarted when it fails, recovered on another node when its host fails: that needs its disks on shared or replicated storage), placed as planned and control planes kept apart: on Proxmox VE 9 by HA rules (node affinity to its planned node, and one negative resource-affinity rule over the control planes when there is a node for each), on 8 by HA groups (a control plane restricted to its node, a worker preferring its own). Control planes sharing a node while another has none are then an error. Default: false.",
          ),
      })
      .prefault({})
      .describe("Proxmox HA for the node VMs (docs/vms.md, Placement and HA)."),
    })
    .describe("The Proxmox VE cluster. Required."),
  networks: z
    .strictObject({
      external: physicalNetwork("external").describe("Management + application network (vmbr0): the only gateway."),
      internal: physicalNetwork("internal").describe("Kubernetes internal network (vmbr1): node traffic, etcd, pod overlay; no gateway."),
    })
    .describe("The two physical networks. Required."),
  sysctl: sysctl.prefault({}).describe("Kernel parameters for hosts and nodes."),
  vmDefaults: vmDefaults.prefault({}).describe("Settings every VM gets unless it overrides them."),
  vms: z.array(vm).min(1).describe("The Kubernetes node VMs. Required (at least one control-plane node)."),
  vmStacks: z
    .strictObject({
      shardBy: z
        .enum(["none", "node"])
        .default("none")
        .describe(
          "none: every VM in the one `vms` stack. node: one stack `vms-<Proxmox node>` per entry of proxmox.nodes (even one without VMs) holding that node's VMs and their firewalls, so a plan covers one node's VMs and the shards plan and apply side by side; the `vms` stack keeps what is cluster-wide (the firewall security groups, the node setup files, the node_ips output) and comes first. Every VM must then name its node (vms[].node). Default: none.",
        ),
    })
    .prefault({})
    .describe("How the node VMs are split into Terraform stacks (docs/build.md, Large clusters). Default: one `vms` stack."),
  kubernetes: kubernetes.prefault({}).describe("The Kubernetes cluster: subnets, version, CNI."),
  firewall: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe("Proxmox firewall on every VM NIC, input policy DROP, with the rules the cluster needs derived from the plan. It acts only once the datacenter firewall is on (docs/firewall.md); the datacenter and host firewalls are never changed. Default: true."),
      datacenterEnabled: z
        .boolean()
        .default(false)
        .describe(
          "Says that the datacenter firewall is on (Datacenter > Firewall > Options > Firewall: Yes; Proxmox ships it off), so the VM rules act. pve-dualnet never reads or changes it: this only silences the warning of check and synth and the report's note, and changes nothing it synthesizes. Default: false.",
        ),
      ssh: z.array(cidrAny).optional().describe("Networks SSH (22) to the VMs may come from, of either family (IPv6 ones need networks.external.ipv6). Default: the external network."),
      nodePorts: z.boolean().default(false).describe("Open Kubernetes NodePorts 30000-32767 (TCP and UDP) from the external network. Default: false."),
      rules: z
        .array(
          z.strictObject({
            roles: z.array(z.enum(["control-plane", "worker"])).min(1).default(["control-plane", "worker"]).describe("Which VMs get the rule. Default: all."),
            protocol: z.enum(["tcp", "udp"]).describe("tcp or udp. Required."),
            ports: portList
              .describe("Destination ports from 1 to 65535, e.g. '80,443' or '8000:8100' (ascending). Required."),
            from: z
              .union([z.enum(["external", "internal"]), ipv4Cidr, ipv6Cidr])
              .describe("Source: external, internal, or a network in CIDR form of either family (IPv6 needs networks.external.ipv6). Required."),
            comment: textLine(80).optional().describe("Shown in the Proxmox GUI: one line of at most 80 characters. Default: none."),
          }),
        )
        .default([])
        .describe("Extra inbound rules, e.g. an ingress controller's 80/443 from the external network. Default: none."),
    })
    .prefault({})
    .describe("The Proxmox VM firewall."),
  terraformCloud: z
    .strictObject({
      organization: tfcName.describe("Terraform Cloud / HCP Terraform organization. Required."),
      hostname: dnsName.default("app.terraform.io").describe("Terraform Cloud or Enterprise host. Default: app.terraform.io."),
      project: format(/^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$/, "must be a project name: letters, digits, '_', '-' and single inner spaces", "use the project's name as HCP Terraform shows it", 40)
        .optional()
        .describe("Project the workspaces belong to. Default: the organization's default project."),
      workspaces: z
        .union([
          z.strictObject({ prefix: tfcName.describe("Workspace name = prefix + stack name (host-network, vms, cni; with vmStacks.shardBy: node also vms-<node> for each Proxmox node), at most 90 characters in all.") }),
          z.strictObject({
            tags: z
              .array(format(/^[A-Za-z0-9][A-Za-z0-9:_-]*$/, "must be a workspace tag: letters, digits, ':', '_' or '-'", "use e.g. k8s-lab", 255))
              .min(1)
              .describe("Workspaces carrying these tags plus `pve-dualnet-<stack>`."),
          }),
        ])
        .optional()
        .describe("One workspace per stack, by name prefix or by tags. Default: prefix `<cluster name>-`."),
    })
    .optional()
    .describe("Keep state in Terraform Cloud instead of local files (the token comes only from the environment: TF_TOKEN_<host>). Also set by PVE_DUALNET_TFC_* variables. Default: local state."),
  output: z
    .strictObject({
      directory: textLine(1024)
        .min(1)
        .default("generated")
        .describe("Where the local provider writes rendered files, relative to the project and inside it (outsideProject allows an absolute path or one leading out). Default: generated."),
      outsideProject: z
        .boolean()
        .default(false)
        .describe("Allow output.directory outside the project: the rendered files (inventory, kubeconfig path, host files) are written wherever it points. Default: false."),
    })
    .prefault({})
    .describe("Rendered files for review and the node setup step."),
});

/** The cluster description as written by the user (defaults optional). */
export type ClusterInput = z.input<typeof clusterSchema>;
/** The cluster description with every default applied. */
export type ClusterConfig = z.output<typeof clusterSchema>;
export type HostInterface = z.output<typeof hostInterface>;
export type ProxmoxNodeConfig = ClusterConfig["proxmox"]["nodes"][number];
export type VmConfig = ClusterConfig["vms"][number];
export type NetworkConfig = ClusterConfig["networks"]["external"];
export type BondMode = (typeof BOND_MODES)[number];
