import { execFile } from 'node:child_process';

/**
 * Where the local runner puts a command: a plain `/bin/sh -c` under a clean env, as
 * an unprivileged uid when this process is root, inside Linux namespaces when the
 * machine allows them (README "Runner"). Detected once, at the runner's first use.
 */
export interface Sandbox {
  /** The uid/gid the command runs as; undefined: this process's own. */
  uid?: number;
  gid?: number;
  /** Namespaces the command gets (empty: none; the machine does not allow them). */
  namespaces: string[];
  /** The program and argv that run `/bin/sh -c <command>` inside the sandbox. */
  argv(command: string): [string, string[]];
}

export interface SandboxOptions {
  /** Drop to this uid/gid when running as root; default 65534 (`nobody`). */
  uid?: number;
  gid?: number;
  /** Try namespaces at all; default true. */
  namespaces?: boolean;
  /** A network namespace of its own (no network, not even the host's loopback); default true. */
  isolateNetwork?: boolean;
}

export const NOBODY = 65534;

/**
 * user: the step is nobody inside, with no capability over the host; pid + mount-proc:
 * it sees only its own processes in /proc, and when its shell (pid 1 inside) dies the
 * kernel kills every process it left; ipc, uts: no shared memory or hostname with the
 * host; net: no network at all (not the host's loopback, where Redis listens).
 */
function unshareFlags(isolateNetwork: boolean): string[] {
  const flags = ['--user', '--pid', '--fork', '--mount-proc', '--kill-child', '--ipc', '--uts'];
  return isolateNetwork ? [...flags, '--net'] : flags;
}

const SHELL = '/bin/sh';
const WRAPPER = `${SHELL} -c "$1"; exit $?`;
const NAMESPACES = ['user', 'pid', 'mount', 'ipc', 'uts', 'net'];

function probe(
  file: string,
  args: string[],
  ids: { uid?: number; gid?: number },
): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(file, args, { ...ids, env: {}, timeout: 5_000 }, (err) => resolve(err === null));
  });
}

/** What isolation this machine gives a command; never throws (fails towards less isolation, and says so). */
export async function detectSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? { uid: options.uid ?? NOBODY, gid: options.gid ?? NOBODY } : {};
  const flags = unshareFlags(options.isolateNetwork ?? true);
  const namespaced =
    (options.namespaces ?? true) &&
    process.platform === 'linux' &&
    (await probe('unshare', [...flags, SHELL, '-c', 'exit 0'], ids));
  if (namespaced) {
    return {
      ...ids,
      // --mount-proc implies a mount namespace of its own.
      namespaces: NAMESPACES.filter((ns) => ns === 'mount' || flags.includes(`--${ns}`)),
      // The command's shell is not pid 1 of the namespace (pid 1 ignores signals it
      // has no handler for, so `kill $$` would not work); a wrapper shell is, and its
      // exit ends every process the command left behind.
      argv: (command) => ['unshare', [...flags, SHELL, '-c', WRAPPER, 'flowline-init', command]],
    };
  }
  return { ...ids, namespaces: [], argv: (command) => [SHELL, ['-c', command]] };
}
