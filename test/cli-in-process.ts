/** The alphawatch CLI run in this process through cli/main.ts, its output captured. */
import { main, type Io } from "../cli/main.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `alphawatch ...args`, non-interactive (no progress bars), with stdout and stderr collected. */
export async function runCli(...args: string[]): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: Io = { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text), interactive: false };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
