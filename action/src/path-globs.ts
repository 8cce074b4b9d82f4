/**
 * The `paths` input: which changed files are checkpoints. Globs, one per line (or comma-separated):
 * `*` and `?` stay inside one path segment, `**` spans segments, `{a,b}` alternates, a leading `!`
 * excludes. A pattern without a slash matches the file name in any folder.
 */

import { UsageError } from "../../core/errors.js";

/** Extensions of the containers alphawatch reads (docs/formats.md). */
export const DEFAULT_PATH_GLOBS: readonly string[] = [
  "*.safetensors",
  "*.gguf",
  "*.onnx",
  "*.pt",
  "*.pth",
  "*.bin",
  "*.ckpt",
  "*.npz",
  "*.npy",
  "*.h5",
  "*.keras",
];

export interface PathMatcher {
  readonly patterns: readonly string[];
  matches(path: string): boolean;
}

export function parseGlobList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export function pathMatcher(patterns: readonly string[]): PathMatcher {
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  for (const pattern of patterns) {
    if (pattern.startsWith("!")) exclude.push(globToRegExp(pattern.slice(1)));
    else include.push(globToRegExp(pattern));
  }
  return {
    patterns,
    matches: (path) => include.some((r) => r.test(path)) && !exclude.some((r) => r.test(path)),
  };
}

/** Translates one glob to an anchored regular expression over `/`-separated repository paths. */
export function globToRegExp(glob: string): RegExp {
  let pattern = glob.startsWith("/") ? glob.slice(1) : glob.includes("/") ? glob : `**/${glob}`;
  if (pattern.endsWith("/")) pattern += "**";
  let out = "";
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        const atSegmentStart = i === 0 || pattern[i - 1] === "/";
        const slashAfter = pattern[i + 2] === "/";
        i++;
        if (atSegmentStart && slashAfter) {
          out += "(?:[^/]+/)*"; // `**/`: zero or more folders
          i++;
        } else {
          out += ".*";
        }
      } else {
        out += "[^/]*";
      }
    } else if (c === "?") out += "[^/]";
    else if (c === "{") {
      braces++;
      out += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      out += ")";
    } else if (c === "," && braces > 0) out += "|";
    else out += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  if (braces > 0) throw new UsageError(`paths: unbalanced "{" in glob ${JSON.stringify(glob)}`);
  return new RegExp(`^${out}$`);
}
