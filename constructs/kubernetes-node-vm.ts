import type { ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import type { VmPlan } from "../config/plan";
import { fastSynth } from "../patches/cdktf-fast-synth";
import { PlainResource, type PlainSpec } from "./plain-resource";
import type { CloudImage } from "./cloud-image";
import type { NetworkDataSnippet } from "./network-data-snippet";
import {
  VirtualEnvironmentVm,
  virtualEnvironmentVmNetworkDeviceToTerraform,
  type VirtualEnvironmentVmConfig,
  type VirtualEnvironmentVmDisk,
  type VirtualEnvironmentVmNetworkDevice,
} from "../.gen/providers/proxmox/virtual-environment-vm";

export interface KubernetesNodeVmProps {
  /** The planned VM: placement, CPU, memory, disk, NICs, cloud-init. */
  readonly vm: VmPlan;
  /**
   * SSH public keys for the cloud-init user.
   * @default none (the node setup cannot log in)
   */
  readonly sshKeys?: readonly string[];
  /**
   * DNS servers and search domain for cloud-init.
   * @default none
   */
  readonly dns?: { readonly servers: readonly string[]; readonly domain?: string };
  /**
   * The downloaded cloud image the boot disk is imported from (`image` sources).
   * @default none (clone)
   */
  readonly image?: CloudImage;
  /**
   * The cloud-init network-data snippet.
   * @default none (Proxmox derives network config from ip_config)
   */
  readonly networkData?: NetworkDataSnippet;
}

/**
 * One Kubernetes node VM: two virtio NICs in fixed order (external on the first bridge,
 * internal on the second), multiqueue = vCPUs, MTUs from the plan, and cloud-init addressing
 * with the only gateway on the external NIC.
 */
export class KubernetesNodeVm extends Construct {
  /** The VM resource: the binding, or with the fast synth its plain JSON (constructs/plain-resource.ts). */
  readonly resource: ITerraformDependable;

  constructor(scope: Construct, id: string, props: KubernetesNodeVmProps) {
    super(scope, id);
    const { vm } = props;
    const clone = "clone" in vm.source ? vm.source.clone : undefined;
    // Files the VM names by literal id (so their replacement never replaces the VM) come first.
    const dependencies = [props.image?.file, props.networkData?.file].filter((f) => f !== undefined);

    const config: VirtualEnvironmentVmConfig = {
      nodeName: vm.node,
      vmId: vm.id,
      name: vm.name,
      description: vm.description,
      tags: [...vm.tags],
      onBoot: vm.onBoot,
      started: true,
      protection: vm.protection,
      // Moving a VM to another Proxmox node migrates it instead of replacing it.
      migrate: true,
      // Never reboot a Kubernetes node behind the operator's back: changes that need a restart
      // (cloud-init) are applied and reported; ones that need the VM off fail instead.
      rebootAfterUpdate: false,
      agent: { enabled: vm.agent, trim: vm.disk.discard },
      cpu: { cores: vm.cpu.cores, sockets: vm.cpu.sockets, type: vm.cpu.type },
      memory: { dedicated: vm.memory },
      operatingSystem: { type: "l26" },
      machine: vm.machine,
      // iothread on SCSI needs one controller per disk.
      scsiHardware: "virtio-scsi-single",
      clone: clone && { vmId: clone.vmId, nodeName: clone.node, full: clone.full },
      disk: [bootDisk(vm, props.image?.fileId)],
      initialization: {
        datastoreId: vm.cloudInit.datastore,
        // Said every time: left unset, Proxmox upgrades every package at first boot (ciupgrade=1).
        upgrade: vm.cloudInit.upgrade,
        // One ip_config per NIC, in NIC order: the provider matches them by position.
        // Dual-stack: the NIC's IPv6 address (CIDR form) beside it, and the IPv6 gateway on the external NIC.
        ipConfig: vm.nics.map((nic) => ({
          ipv4: { address: `${nic.ip}/${nic.prefix}`, gateway: nic.gateway },
          ...(nic.ip6 ? { ipv6: { address: `${nic.ip6}/${nic.prefix6}`, gateway: nic.gateway6 } } : {}),
        })),
        dns: props.dns && props.dns.servers.length ? { servers: [...props.dns.servers], domain: props.dns.domain } : undefined,
        userAccount: { username: vm.cloudInit.user, keys: [...(props.sshKeys ?? [])] },
        networkDataFileId: props.networkData?.fileId,
      },
      // A new template must not silently rebuild running nodes: replace a node on purpose
      // (terraform apply -replace=...).
      lifecycle: clone ? { ignoreChanges: ["clone"] } : undefined,
      dependsOn: dependencies.length ? dependencies : undefined,
    };
    // Both NICs, always, in this order: leaving network_device out would keep a cloned
    // template's NICs, and removing a middle NIC would shift the later ones.
    const networkDevice = vm.nics.map((nic) =>
      networkDeviceElement({ bridge: nic.bridge, model: "virtio", macAddress: nic.mac, mtu: nic.mtu, queues: nic.queues, firewall: nic.firewall }),
    );
    if (fastSynth()) {
      this.resource = new PlainResource(this, "vm", { type: "proxmox_virtual_environment_vm", config, spec: VM_SPEC, overrides: { network_device: networkDevice } });
    } else {
      const resource = new VirtualEnvironmentVm(this, "vm", config);
      resource.addOverride("network_device", networkDevice);
      this.resource = resource;
    }
  }
}

/**
 * One element of `network_device`. In bpg/proxmox 0.111.1 it is an attribute of type
 * list(object) (the SDK's attribute config mode), not a block: in Terraform JSON every element
 * needs all eleven keys, null where unset, and an unknown key would be dropped without a word.
 * The binding's own converter names the keys; unset ones (and the deprecated `enabled`) are null.
 */
export function networkDeviceElement(nic: VirtualEnvironmentVmNetworkDevice): Record<string, unknown> {
  const element = virtualEnvironmentVmNetworkDeviceToTerraform(nic) as Record<string, unknown>;
  for (const key of Object.keys(element)) element[key] ??= null;
  return element;
}

function bootDisk(vm: VmPlan, imageFileId: string | undefined): VirtualEnvironmentVmDisk {
  const { disk } = vm;
  const bus = disk.interface.replace(/\d+$/, "");
  return {
    interface: disk.interface,
    datastoreId: disk.datastore,
    size: disk.size,
    discard: disk.discard ? "on" : "ignore",
    // iothread exists on scsi and virtio, SSD emulation on scsi and sata.
    iothread: bus !== "sata" ? disk.iothread : undefined,
    ssd: bus !== "virtio" ? disk.ssd : undefined,
    importFromAttribute: imageFileId,
  };
}

/**
 * The Terraform names of what KubernetesNodeVm sets, as the binding's converters write them
 * (.gen/providers/proxmox/virtual-environment-vm: synthesizeAttributes and the
 * virtualEnvironmentVm*ToTerraform functions), for the fast synth.
 */
const VM_SPEC: PlainSpec = {
  nodeName: "node_name",
  vmId: "vm_id",
  name: "name",
  description: "description",
  tags: "tags",
  onBoot: "on_boot",
  started: "started",
  protection: "protection",
  migrate: "migrate",
  rebootAfterUpdate: "reboot_after_update",
  machine: "machine",
  scsiHardware: "scsi_hardware",
  agent: ["agent", { enabled: "enabled", trim: "trim" }],
  cpu: ["cpu", { cores: "cores", sockets: "sockets", type: "type" }],
  memory: ["memory", { dedicated: "dedicated" }],
  operatingSystem: ["operating_system", { type: "type" }],
  clone: ["clone", { vmId: "vm_id", nodeName: "node_name", full: "full" }],
  disk: [
    "disk",
    { interface: "interface", datastoreId: "datastore_id", size: "size", discard: "discard", iothread: "iothread", ssd: "ssd", importFromAttribute: "import_from" },
    "list",
  ],
  initialization: [
    "initialization",
    {
      datastoreId: "datastore_id",
      upgrade: "upgrade",
      networkDataFileId: "network_data_file_id",
      ipConfig: ["ip_config", { ipv4: ["ipv4", { address: "address", gateway: "gateway" }], ipv6: ["ipv6", { address: "address", gateway: "gateway" }] }, "list"],
      dns: ["dns", { servers: "servers", domain: "domain" }],
      userAccount: ["user_account", { username: "username", keys: "keys" }],
    },
  ],
};
