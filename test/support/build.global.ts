import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * Tests that start real processes run what operators run: the bundled build (`npm run build`,
 * dist/). Built once per test run from the current sources (about a second), so a process test
 * can never exercise a stale build.
 */
export default function buildOnce(): void {
  const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: 'inherit' });
}
