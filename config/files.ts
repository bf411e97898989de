/**
 * Reading a file the user names (the description, a public key file): only a regular file, and
 * at most a bounded number of bytes. A device (/dev/zero), a FIFO or a directory gets a clear
 * error instead of a read that never ends or fills the memory.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

export type ReadResult = { readonly bytes: Buffer } | { readonly problem: string };

/** The file's bytes, or why it cannot be read: a sentence that names no secret. */
export function readBoundedFile(file: string, maxBytes: number): ReadResult {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO nobody writes to returns at once instead of waiting for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { problem: reason(err as NodeJS.ErrnoException) };
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return { problem: "it is a directory" };
    if (!stat.isFile()) return { problem: `it is not a regular file (${kindOf(stat)})` };
    if (stat.size > maxBytes) return { problem: `it is larger than ${sizeText(maxBytes)}` };
    // Sized by what the file holds now (a buffer of the limit, zeroed at every read, cost a small
    // synth more than its whole description); a file that grows while it is read grows the
    // buffer, up to one byte past the limit, so the growth is still caught.
    let buffer = Buffer.allocUnsafe(stat.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) break;
        const larger = Buffer.allocUnsafe(Math.min(2 * length, maxBytes + 1));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) return { problem: `it is larger than ${sizeText(maxBytes)}` };
    return { bytes: buffer.subarray(0, length) };
  } catch (err) {
    return { problem: reason(err as NodeJS.ErrnoException) };
  } finally {
    closeSync(fd);
  }
}

function reason(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case "ENOENT":
      return "file not found";
    case "EISDIR":
      return "it is a directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "ELOOP":
      return "too many symbolic links";
    default:
      return err.code ?? "cannot be read";
  }
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isCharacterDevice()) return "a character device";
  if (stat.isBlockDevice()) return "a block device";
  if (stat.isFIFO()) return "a FIFO";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

const sizeText = (bytes: number) => (bytes >= 1 << 20 ? `${bytes / (1 << 20)} MiB` : `${bytes / 1024} KiB`);
