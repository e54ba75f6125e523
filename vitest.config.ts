import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Workspace packages (packages/*) run from their sources, never a stale dist/ (tsconfig.json too).
  // Vitest's own default otherwise; without 'module', which Node (given these conditions too) must not
  // follow into packages whose ESM builds omit file extensions.
  ssr: {
    resolve: { conditions: ['spx-source', ...defaultServerConditions.filter((c) => c !== 'module')] },
  },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only adds contention for the embedded databases.
    maxWorkers: 2,
  },
});
