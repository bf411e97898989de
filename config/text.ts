/**
 * What a value of the description may hold as text, whatever field it is in.
 *
 * Every value is data: it lands in interfaces files, inventories, Jinja templates, Terraform
 * strings, shell lines and terminals, and each of those has characters that make data act as
 * code or hide what a reviewer reads. The rules here hold for every string of the description
 * (config/load.ts screens the whole input before the schema sees it); each destination's writer
 * escapes or refuses what is special to it on top.
 */

/**
 * Characters no value may hold: control characters (C0, DEL, C1: line breaks, escape sequences,
 * NUL), Unicode line and paragraph separators (Python's str.splitlines breaks lines there), and
 * format characters (bidirectional overrides and invisible characters that make text read
 * differently in a review than it is).
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
/** The same, but a line feed is allowed (multi-line free text such as a VM's description). */
const UNPRINTABLE_MULTILINE = /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const NAMES: Record<number, string> = {
  0x00: "NUL",
  0x09: "a tab",
  0x0a: "a line break",
  0x0b: "a vertical tab",
  0x0c: "a form feed",
  0x0d: "a carriage return",
  0x1b: "an escape character",
  0x7f: "DEL",
  0x85: "a next-line character",
  0x2028: "a line separator",
  0x2029: "a paragraph separator",
};

/** `U+000D (a carriage return)`: how a message names a character without printing it. */
export function describeCharacter(char: string): string {
  const code = char.codePointAt(0)!;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return NAMES[code] ? `${NAMES[code]} (${hex})` : hex;
}

/** The first character a value may not hold, if it holds one. */
export function unprintableCharacter(value: string, options: { multiline?: boolean } = {}): string | undefined {
  return (options.multiline ? UNPRINTABLE_MULTILINE : UNPRINTABLE).exec(value)?.[0];
}

/**
 * Text that cdktf reads as its own in-band token markers (`${TfToken[...]}`, `#{TfToken[...]}`,
 * `&{TfToken[...]}`, and numbers whose bits are those of an encoded token): in a value it would be
 * replaced by another value of the stack (a secret variable, say), or stop the synth. No value
 * may hold it. The bit patterns are cdktf 0.21's (lib/tokens/private/encoding.js); a test checks
 * this rule against cdktf's own tokenizer.
 */
export function cdktfTokenMarker(value: string): string | undefined {
  const marker = /[$#&]\{TfToken\[/.exec(value);
  if (marker) return marker[0];
  // cdktf's NUMBER_TOKEN_REGEX, started only where its first class starts (linear, the same matches);
  // it needs an "e", which most values (names, addresses) lack.
  if (!value.includes("e")) return undefined;
  for (const [number] of value.matchAll(/(?<![-|\d.+])[-|\d.+]+e[-|\d.eE+]+/g)) {
    const bits = new Uint32Array(new Float64Array([parseFloat(number)]).buffer)[1]! >>> 16;
    if (bits === 0xfdff || bits === 0xfbff) return number;
  }
  return undefined;
}

/**
 * What ifupdown2 reads as code in /etc/network/interfaces: with templates enabled (its default
 * ifupdown2.conf: template_enable=1, template_engine=mako) Mako evaluates `${...}` and `<% %>` blocks
 * anywhere in the file, comments included, and a line ending in a backslash continues on the next
 * one (in Mako and in ifupdown2's own parser), swallowing it.
 */
export function interfacesFileCode(value: string): string | undefined {
  if (/\\\s*$/.test(value)) return "a trailing backslash (it joins the next line of the file to this one)";
  const mako = /\$\{|<%|%>|<\/%/.exec(value);
  if (mako) return `'${mako[0]}' (ifupdown2 evaluates Mako templates in the file)`;
  if (/^\s*%/.test(value)) return "a leading '%' (a Mako control line)";
  return undefined;
}
