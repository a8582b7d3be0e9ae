// Passwords come from stdin (piped, or typed at a terminal without echo) or from the
// environment, never from an argument: arguments end up in shell history and `ps`.
import { CliError, UsageError } from './errors.js';
import { readStdin } from './input.js';

function promptWithoutEcho(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    function finish(): void {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    }
    function onData(chunk: string): void {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          resolve(typed);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new CliError('interrupted'));
          return;
        }
        typed = char === '\u007f' || char === '\b' ? [...typed].slice(0, -1).join('') : typed + char;
      }
    }
    stdin.on('data', onData);
  });
}

/** The password on stdin, without the one line ending `echo` adds. */
export async function readPasswordFromStdin(helpFor: string): Promise<string> {
  const password = process.stdin.isTTY ? await promptWithoutEcho('Password: ') : (await readStdin()).replace(/\r?\n$/, '');
  if (!password) throw new UsageError('--password-stdin: no password on stdin', helpFor);
  return password;
}

/** For `users create`: --password-stdin, else PORTCULLIS_USER_PASSWORD. */
export async function readNewUserPassword(fromStdin: boolean, env: NodeJS.ProcessEnv, helpFor: string): Promise<string> {
  if (fromStdin) return readPasswordFromStdin(helpFor);
  const fromEnv = env.PORTCULLIS_USER_PASSWORD;
  if (fromEnv) return fromEnv;
  throw new UsageError('a password is required: pipe it with --password-stdin or set PORTCULLIS_USER_PASSWORD', helpFor);
}
