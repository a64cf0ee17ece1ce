import { execFileSync } from 'node:child_process';

/**
 * Tests spawn the built host, doctor and sandbox; building first means a test never runs stale
 * output, whichever way vitest was started (`npm test`, `npx vitest run test/x`, an editor).
 */
export default function build(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
