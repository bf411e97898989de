/**
 * The one writer of shell lines: every word is data. A command is built from words, each quoted
 * for POSIX sh unless it holds only characters sh never treats specially, so a value with a
 * space, a quote, `;`, `$(...)` or a backtick reaches the program as one argument, as written.
 * `ShellCommand` can only be made here: a construct that runs a command on a host cannot be
 * handed a line that was pasted together.
 */

/** A shell command line whose words were quoted by shellCommand. */
export type ShellCommand = string & { readonly __shellCommand: true };

/** Characters sh never treats specially in a word (as Python's shlex.quote decides). */
const PLAIN_WORD = /^[A-Za-z0-9_./:=@%+,-]+$/;

/** A word for sh: as it is when it is plain, else in single quotes (a quote as '\''). */
export const shellQuote = (word: string | number): string => {
  const text = String(word);
  return PLAIN_WORD.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
};

/** One command from its words. */
export const shellCommand = (...words: readonly (string | number)[]): ShellCommand => words.map(shellQuote).join(" ") as ShellCommand;

/** Commands run one after the other, each only if the one before succeeded. */
export const shellAnd = (...commands: readonly ShellCommand[]): ShellCommand => commands.join(" && ") as ShellCommand;
