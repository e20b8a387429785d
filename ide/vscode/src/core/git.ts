/**
 * The committed versions of files, for the change a lens shows ("+$36.79" against the last commit) and the diff
 * against main: `git` as a child process, every blob of a revision read in one `git cat-file --batch`, written to
 * a snapshot directory that keeps the repository's layout (so `source = "../modules/x"` still resolves).
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Runner } from "./cli";

export class Git {
  private readonly roots = new Map<string, Promise<string | null>>();

  constructor(
    private readonly runner: Runner,
    private readonly git = "git",
  ) {}

  /** The repository's top directory for `dir`, or null outside a repository (or without git). */
  root(dir: string): Promise<string | null> {
    let found = this.roots.get(dir);
    if (found === undefined) {
      found = this.runner(this.git, ["rev-parse", "--show-toplevel"], { cwd: dir })
        .then((r) => (r.code === 0 ? r.stdout.trim() : null))
        .catch(() => null);
      this.roots.set(dir, found);
    }
    return found;
  }

  /** The commit `rev` names, or null (no such revision, no commits yet). */
  async commit(root: string, rev: string): Promise<string | null> {
    const r = await this.runner(this.git, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`], { cwd: root }).catch(() => null);
    return r?.code === 0 ? r.stdout.trim() : null;
  }

  /** Paths (relative to the root, with "/") of the files at `commit` that `wanted` accepts. */
  async files(root: string, commit: string, wanted: (path: string) => boolean): Promise<string[]> {
    const r = await this.runner(this.git, ["ls-tree", "-r", "-z", "--name-only", commit], { cwd: root });
    if (r.code !== 0) throw new Error(`git ls-tree ${commit}: ${r.stderr.trim()}`);
    return r.stdout.split("\0").filter((p) => p && wanted(p));
  }

  /** The contents of `paths` at `commit`; a path not in it is missing from the answer. */
  async blobs(root: string, commit: string, paths: string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (paths.length === 0) return out;
    const r = await this.runner(this.git, ["cat-file", "--batch"], {
      cwd: root,
      stdin: paths.map((p) => `${commit}:${p}\n`).join(""),
    });
    const bytes = r.stdoutBytes ?? Buffer.from(r.stdout, "utf8");
    let at = 0;
    for (const path of paths) {
      const newline = bytes.indexOf(10, at);
      if (newline === -1) break;
      const header = bytes.subarray(at, newline).toString("utf8");
      at = newline + 1;
      const match = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (match === null) continue; // "<object> missing"
      const size = Number(match[2]);
      if (match[1] === "blob") out.set(path, Buffer.from(bytes.subarray(at, at + size)));
      at += size + 1;
    }
    return out;
  }
}

/** Directories holding files as they were at a commit, one per commit, removed on dispose. */
export class Snapshots {
  private readonly dirs = new Map<string, { dir: string; written: Set<string> }>();

  constructor(private readonly git: Git) {}

  /** The snapshot directory of `commit` with `paths` (relative to the root) written into it. */
  async ensure(root: string, commit: string, paths: string[]): Promise<{ dir: string; present: Set<string> }> {
    const key = `${root}\0${commit}`;
    let entry = this.dirs.get(key);
    if (entry === undefined) {
      entry = { dir: mkdtempSync(join(tmpdir(), `outlay-vscode-${commit.slice(0, 12)}-`)), written: new Set() };
      this.dirs.set(key, entry);
    }
    const missing = paths.filter((p) => !entry.written.has(p));
    const blobs = await this.git.blobs(root, commit, missing);
    for (const [path, content] of blobs) {
      const target = join(entry.dir, path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
      entry.written.add(path);
    }
    return { dir: entry.dir, present: entry.written };
  }

  dispose(): void {
    for (const { dir } of this.dirs.values()) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}
