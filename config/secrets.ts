/**
 * Credentials never belong in a cluster description: it is committed, reviewed in pull requests,
 * and cdktf copies what it needs of it into cdktf.out. Anything that looks like a private key, a
 * token or a password, anywhere in any value (a whole value, or part of a description, a comment
 * or a URL), is reported with the place it belongs instead; config/load.ts replaces the value
 * before any other check runs, so that no message can echo it.
 */

export interface SecretKind {
  /** What it looks like, for the message: "a private key". */
  readonly what: string;
  /** Where it belongs instead. */
  readonly instead: string;
}

interface SecretPattern extends SecretKind {
  readonly pattern: RegExp;
}

const SSH_KEY = "the SSH agent (SSH_AUTH_SOCK) or the sensitive Terraform variable ssh_private_key (TF_VAR_ssh_private_key)";

/**
 * Each kind is searched for inside the value, not matched against all of it. A pattern that
 * starts with a repeated class starts only where that class does not continue (a lookbehind), so
 * the search stays linear in the length of the value however it is built.
 */
const PATTERNS: readonly SecretPattern[] = [
  {
    // PEM (PKCS#1/#8, OpenSSH, PGP's "PRIVATE KEY BLOCK"), SSH2 (RFC 4716 style, as PuTTYgen and
    // ssh-keygen -e write it), PuTTY, and the body of an OpenSSH key without its armour lines
    // (base64 of "openssh-key-v1").
    what: "a private key",
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|---- BEGIN SSH2 (ENCRYPTED )?PRIVATE KEY ----|PuTTY-User-Key-File-|b3BlbnNzaC1rZXktdjE/,
    instead: SSH_KEY,
  },
  { what: "an encrypted private key", pattern: /Proc-Type: 4,ENCRYPTED/, instead: SSH_KEY },
  {
    what: "a Proxmox API token",
    pattern: /PVEAPIToken=|(?<![\w.-])[\w.-]+@[\w.-]+![\w.-]+[=:]\s*[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/i,
    instead: "the environment variable PROXMOX_VE_API_TOKEN, which the bpg/proxmox provider reads",
  },
  {
    what: "a Terraform Cloud token",
    pattern: /\b[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{40,}/,
    instead: "the environment variable TF_TOKEN_app_terraform_io (or `terraform login`)",
  },
  {
    // kubeadm's format ([a-z0-9]{6}.[a-z0-9]{16}); a DNS name of two such labels without a digit is not one.
    what: "a kubeadm bootstrap token",
    pattern: /(?<![\w.-])[a-z0-9]{6}\.(?=[a-z]*\d)[a-z0-9]{16}(?![\w.-])/,
    instead: "nowhere: the node setup creates join tokens when it runs",
  },
  {
    what: "a bearer token (JWT)",
    pattern: /(?<![\w-])eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/,
    instead: "a kubeconfig file (kubernetes.kubeconfig.path)",
  },
  {
    what: "an access token",
    pattern: /(?<![\w-])(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_\w{40,}|glpat-[\w-]{20}|A(KI|SI)A[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9-]{10,})(?![\w-])/,
    instead: "an environment variable of the tool that needs it",
  },
  {
    what: "an AWS secret access key",
    pattern: /aws_secret_access_key\s*[=:]\s*\S/i,
    instead: "the AWS credentials file or AWS_SECRET_ACCESS_KEY in the environment",
  },
  {
    // scheme://user:password@host: the password is in the URL.
    what: "a password in a URL",
    pattern: /(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:[^\s/?#@]*@/i,
    instead: "the tool's own credential store or environment (a URL in the description never carries user:password@)",
  },
];

/** Keys that name a credential: their value is one, whatever it looks like. */
const SECRET_KEY = /^(password|passwd|secret|token|api[_-]?token|api[_-]?key|private[_-]?key|client[_-]?key|access[_-]?key)s?$/i;

export const REDACTED = "<redacted>";

/** What kind of secret `value` holds (as all of it or part of it), if it holds one; `key` is the key it is the value of. */
export function secretIn(value: string, key?: string | number): SecretKind | undefined {
  const found = PATTERNS.find((kind) => kind.pattern.test(value));
  if (found) return found;
  if (encodedPrivateKey(value)) return { what: "a base64-encoded private key", instead: SSH_KEY };
  if (typeof key === "string" && SECRET_KEY.test(key) && value.length > 0) {
    return { what: `a credential (${key})`, instead: "an environment variable or a sensitive Terraform variable" };
  }
  return undefined;
}

/**
 * A PEM private key in base64, as a kubeconfig's client-key-data holds it: every base64 PEM starts
 * with "LS0tLS1CRUdJTi" ("-----BEGIN"); decoded, its armour line says what it is (a certificate is
 * not a secret).
 */
function encodedPrivateKey(value: string): boolean {
  // The pattern below starts with this text: most values are passed without starting a match.
  if (!value.includes("LS0tLS1CRUdJTi")) return false;
  for (const [encoded] of value.matchAll(/LS0tLS1CRUdJTi[A-Za-z0-9+/]{4,76}/g)) {
    if (/PRIVATE KEY/.test(Buffer.from(encoded.slice(0, encoded.length - (encoded.length % 4)), "base64").toString("latin1"))) return true;
  }
  return false;
}
