/**
 * Credentials never belong in a cluster description: it is committed, reviewed in pull requests,
 * and cdktf copies what it needs of it into cdktf.out. Anything that looks like a private key or
 * a token, anywhere in the description, is reported with the place it belongs instead, and is
 * replaced before any other check runs so that no message can echo it.
 */
import type { ConfigIssue } from "./errors";
import { formatPath } from "./errors";

interface SecretKind {
  readonly what: string;
  readonly test: (value: string) => boolean;
  readonly instead: string;
}

const SSH_KEY = "the SSH agent (SSH_AUTH_SOCK) or the sensitive Terraform variable ssh_private_key (TF_VAR_ssh_private_key)";

const KINDS: readonly SecretKind[] = [
  { what: "a private key", test: (v) => /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(v), instead: SSH_KEY },
  { what: "an encrypted private key", test: (v) => /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(v), instead: SSH_KEY },
  {
    what: "a Proxmox API token",
    test: (v) => /PVEAPIToken=/i.test(v) || /^[\w.-]+@[\w.-]+![\w.-]+[=:][0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(v),
    instead: "the environment variable PROXMOX_VE_API_TOKEN, which the bpg/proxmox provider reads",
  },
  {
    what: "a Terraform Cloud token",
    test: (v) => /\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{40,}/.test(v),
    instead: "the environment variable TF_TOKEN_app_terraform_io (or `terraform login`)",
  },
  {
    what: "a kubeadm bootstrap token",
    test: (v) => /^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(v),
    instead: "nowhere: the node setup creates join tokens when it runs",
  },
  {
    what: "a bearer token (JWT)",
    test: (v) => /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(v),
    instead: "a kubeconfig file (kubernetes.kubeconfig.path)",
  },
  {
    what: "an access token",
    test: (v) => /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,}|glpat-[A-Za-z0-9_-]{20}|AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9-]{10,})\b/.test(v),
    instead: "an environment variable of the tool that needs it",
  },
];

/** Keys that name a credential: their value is one, whatever it looks like. */
const SECRET_KEY = /^(password|passwd|secret|token|api[_-]?token|api[_-]?key|private[_-]?key|client[_-]?key|access[_-]?key)s?$/i;

export const REDACTED = "<redacted>";

/** Every secret-looking value in the input, and the input with them replaced by REDACTED. */
export function findSecrets(input: unknown): { issues: ConfigIssue[]; redacted: unknown } {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    }
    if (typeof value !== "string") return value;
    const key = path[path.length - 1];
    const kind =
      KINDS.find((k) => k.test(value)) ??
      (typeof key === "string" && SECRET_KEY.test(key) && value.length > 0
        ? { what: `a credential (${key})`, instead: "an environment variable or a sensitive Terraform variable" }
        : undefined);
    if (!kind) return value;
    issues.push({
      path: formatPath(path),
      message: `looks like ${kind.what}: credentials never go in the cluster description (it is committed, reviewed, and copied into cdktf.out)`,
      fix: `remove it; use ${kind.instead}`,
    });
    return REDACTED;
  };
  const redacted = walk(input, []);
  return { issues, redacted };
}
