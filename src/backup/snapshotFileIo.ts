import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeSnapshotFile, MAX_SNAPSHOT_FILE_BYTES, SnapshotFileError, type SnapshotFile } from './snapshotFile.js';

/**
 * writeFileAtomic writes `bytes` to `path` so that a reader (or a crash) sees
 * either the old file or the whole new one, never a part: write a temp file
 * beside it, fsync it, rename it over `path`, fsync the directory.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd = -1;
  try {
    fd = openSync(temp, 'wx', 0o600);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== -1) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // never created, or already renamed
    }
    throw err;
  }
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** readSnapshotFile reads and verifies a snapshot file (size bound, magic, version, checksums). */
export function readSnapshotFile(path: string): SnapshotFile {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new SnapshotFileError(`cannot read snapshot file ${path}: ${(err as Error).message}`);
  }
  if (size > MAX_SNAPSHOT_FILE_BYTES) throw new SnapshotFileError(`snapshot file ${path} is ${size} bytes; at most ${MAX_SNAPSHOT_FILE_BYTES} are accepted`);
  return decodeSnapshotFile(readFileSync(path), path);
}
